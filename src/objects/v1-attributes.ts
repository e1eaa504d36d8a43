/**
 * KMIP 1.x attributes ⇄ the 2.1 model. A 1.x Attribute (1.4 §2.1.1) names the attribute by its
 * spec title and carries the value under the Attribute Value tag:
 *
 *   Attribute{AttributeName "Cryptographic Algorithm", AttributeValue(Enumeration) AES}
 *     ⇄ CryptographicAlgorithm(Enumeration) AES
 *   Attribute{AttributeName "Name", AttributeValue{NameValue, NameType}} ⇄ Name{NameValue, NameType}
 *
 * Custom attributes `x-name` / `y-name` (1.4 §3.39) are the 2.x vendor attributes of Vendor
 * Identification "x" / "y" (2.1 §4.60). A Template-Attribute (1.4 §2.1.8) is the 2.x Attributes
 * structure (2.1 §5.1), its Common / Private Key / Public Key variants likewise. Attribute Indexes
 * are positions among an object's instances of one attribute; they are not stored.
 */
import { type Item, type StructureItem, item, registry, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Tag } from '../kmip/registry.generated.js';
import { type AttributeRef, child, refOf, sameRef, vendorAttribute } from './items.js';
import { ATTRIBUTE_RULES, type AttributeRule, ruleFor } from './attribute-rules.js';

const isV1 = (rule: AttributeRule): boolean => rule.versions.some((v) => v.startsWith('1.'));

function titleOfRule(rule: AttributeRule): string {
  return registry.tag(Tag[rule.tag])?.title ?? rule.tag;
}

const V1_RULES_BY_NAME = new Map<string, AttributeRule>(ATTRIBUTE_RULES.filter(isV1).map((r) => [titleOfRule(r), r]));

const CUSTOM_NAME = /^([xy])-(.+)$/s;

/** The 1.x Attribute Name of an attribute, or undefined if 1.x has no such attribute. */
export function v1Name(ref: AttributeRef): string | undefined {
  if ('vendor' in ref) return ref.vendor === 'x' || ref.vendor === 'y' ? `${ref.vendor}-${ref.name}` : undefined;
  const rule = ruleFor(ref);
  return rule !== undefined && isV1(rule) ? titleOfRule(rule) : undefined;
}

/** The attribute a 1.x Attribute Name names; an unknown name is an Invalid Field (1.4 §11.10). */
export function refFromV1Name(name: string): AttributeRef {
  const custom = CUSTOM_NAME.exec(name);
  if (custom) return { vendor: custom[1]!, name: custom[2]! };
  const rule = V1_RULES_BY_NAME.get(name);
  if (rule === undefined) throw new KmipError('InvalidField', `"${name}" is not a KMIP 1.x attribute name (custom attributes start with x- or y-)`);
  return { tag: Tag[rule.tag] };
}

export interface V1Attribute {
  /** The attribute in its 2.1 form. */
  readonly item: Item;
  /** The Attribute Index the client gave, if any (1.4 §2.1.1: absent means 0). */
  readonly index: number | undefined;
}

/** A 1.x Attribute structure → the 2.1 item, and the index it carried. */
export function fromV1Attribute(attr: Item): V1Attribute {
  if (attr.tag !== Tag.Attribute) throw new KmipError('InvalidMessage', `expected an Attribute, not ${registry.tagName(attr.tag)}`);
  const fields = Fields.of(attr, 'Attribute');
  const name = fields.need(Tag.AttributeName, 'TextString');
  const index = fields.get(Tag.AttributeIndex, 'Integer');
  const value = fields.required(Tag.AttributeValue);
  const ref = refFromV1Name(name);
  if ('vendor' in ref) return { item: vendorAttribute(ref.vendor, ref.name, value), index };
  const types = registry.tag(ref.tag)?.types ?? [];
  if (types.length > 0 && !types.includes(value.type)) {
    throw new KmipError('InvalidMessage', `the Attribute Value of ${name} must be a ${types.join(' or ')}, not a ${value.type}`);
  }
  return { item: { ...value, tag: ref.tag }, index };
}

/** The 2.1 item as a 1.x Attribute, with an Attribute Index if one is given; undefined if 1.x has no such attribute. */
export function toV1Attribute(attr: Item, index?: number): StructureItem | undefined {
  const ref = refOf(attr);
  const name = v1Name(ref);
  if (name === undefined) return undefined;
  const value = 'vendor' in ref ? child(attr, Tag.AttributeValue) : { ...attr, tag: Tag.AttributeValue };
  if (value === undefined) throw new KmipError('InvalidMessage', `the vendor attribute ${name} has no Attribute Value`);
  const children: Item[] = [item(Tag.AttributeName, 'TextString', name)];
  if (index !== undefined) children.push(item(Tag.AttributeIndex, 'Integer', index));
  children.push(value);
  return structure(Tag.Attribute, children);
}

/** A request's list of 1.x Attributes (Locate, Template-Attribute contents) → 2.1 items. */
export function fromV1Attributes(list: readonly Item[]): Item[] {
  return list.map((a) => fromV1Attribute(a).item);
}

/**
 * 2.1 items → 1.x Attributes for a response, each instance with its Attribute Index (written only
 * when not 0, as 1.4 §4.12 allows). Attributes 1.x does not have are left out.
 */
export function toV1Attributes(attrs: readonly Item[]): StructureItem[] {
  const out: StructureItem[] = [];
  attrs.forEach((attr, i) => {
    const ref = refOf(attr);
    const index = attrs.slice(0, i).filter((a) => sameRef(refOf(a), ref)).length;
    const converted = toV1Attribute(attr, index > 0 ? index : undefined);
    if (converted !== undefined) out.push(converted);
  });
  return out;
}

/** 1.4 §2.1.8 Template-Attribute variants and their 2.1 §5.1–5.4 counterparts. */
const TEMPLATE_TAGS: readonly (readonly [number, number])[] = [
  [Tag.TemplateAttribute, Tag.Attributes],
  [Tag.CommonTemplateAttribute, Tag.CommonAttributes],
  [Tag.PrivateKeyTemplateAttribute, Tag.PrivateKeyAttributes],
  [Tag.PublicKeyTemplateAttribute, Tag.PublicKeyAttributes],
];

/**
 * A 1.x Template-Attribute (or its Common / Private Key / Public Key variant) → the 2.1 Attributes
 * structure. A template Name is refused as Item Not Found (1.4 §11.2 "Templates that do not
 * exist"): Templates were deprecated in 1.3 and kmipd keeps none.
 */
export function fromV1TemplateAttribute(templateAttribute: Item): StructureItem {
  const pair = TEMPLATE_TAGS.find(([v1]) => v1 === templateAttribute.tag);
  if (pair === undefined || templateAttribute.type !== 'Structure') {
    throw new KmipError('InvalidMessage', `expected a Template-Attribute, not ${registry.tagName(templateAttribute.tag)}`);
  }
  const items = templateAttribute.value.map((c) => {
    if (c.tag === Tag.Name) {
      const name = child(c, Tag.NameValue);
      throw new KmipError('ItemNotFound', `no Template named ${JSON.stringify(name?.value ?? '')}: kmipd keeps no Template objects (deprecated in KMIP 1.3)`);
    }
    return fromV1Attribute(c).item;
  });
  return structure(pair[1], items);
}

/** The 2.1 Attributes (or Common / Private Key / Public Key Attributes) → the 1.x Template-Attribute for a response. */
export function toV1TemplateAttribute(attributes: Item): StructureItem {
  const pair = TEMPLATE_TAGS.find(([, v2]) => v2 === attributes.tag);
  if (pair === undefined || attributes.type !== 'Structure') {
    throw new KmipError('InvalidMessage', `expected an Attributes structure, not ${registry.tagName(attributes.tag)}`);
  }
  return structure(pair[0], toV1Attributes(attributes.value));
}

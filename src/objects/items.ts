/**
 * Small helpers over attribute items in their KMIP 2.1 form, shared by the attribute rules, the
 * lifecycle and the 1.x adapter: which attribute an item is, finding instances, comparing values.
 */
import { type Item, type LeafItem, item, registry, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';

/**
 * Which attribute an item is: its own tag, or for a vendor attribute (KMIP 2.1 §4.60, encoded as an
 * `Attribute` structure) its Vendor Identification and Attribute Name.
 */
export type AttributeRef = { readonly tag: number } | { readonly vendor: string; readonly name: string };

export function refOf(attr: Item): AttributeRef {
  if (attr.tag !== Tag.Attribute) return { tag: attr.tag };
  const vendor = child(attr, Tag.VendorIdentification);
  const name = child(attr, Tag.AttributeName);
  if (vendor?.type !== 'TextString' || name?.type !== 'TextString') {
    throw new KmipError('InvalidMessage', 'a vendor Attribute needs a Vendor Identification and an Attribute Name (KMIP 2.1 §4.60)');
  }
  return { vendor: vendor.value, name: name.value };
}

export function sameRef(a: AttributeRef, b: AttributeRef): boolean {
  if ('tag' in a) return 'tag' in b && a.tag === b.tag;
  return 'vendor' in b && a.vendor === b.vendor && a.name === b.name;
}

/** How an attribute is named in messages for the operator: its spec title, or `x-name` for a vendor attribute. */
export function refTitle(ref: AttributeRef): string {
  if ('tag' in ref) return registry.tag(ref.tag)?.title ?? registry.tagName(ref.tag);
  return `${ref.vendor}-${ref.name}`;
}

/** Positions in `attrs` of the instances of one attribute, in order (their 1.x Attribute Indexes). */
export function positionsOf(attrs: readonly Item[], ref: AttributeRef): number[] {
  const out: number[] = [];
  attrs.forEach((a, i) => {
    if (sameRef(refOf(a), ref)) out.push(i);
  });
  return out;
}

/** The first instance of a tag-named attribute. */
export function find(attrs: readonly Item[], tag: number): Item | undefined {
  return attrs.find((a) => a.tag === tag);
}

/** The value of a Date-Time attribute (seconds), if the object has one. */
export function dateOf(attrs: readonly Item[], tag: number): number | undefined {
  const found = find(attrs, tag);
  return found?.type === 'DateTime' ? found.value : undefined;
}

export function child(it: Item, tag: number): Item | undefined {
  return it.type === 'Structure' ? it.value.find((c) => c.tag === tag) : undefined;
}

/** Tag, type and value equal, structures child by child (placeholders are not compared). */
export function sameItem(a: Item, b: Item): boolean {
  if (a.tag !== b.tag || a.type !== b.type) return false;
  if (a.type === 'Structure') {
    const bs = (b as typeof a).value;
    return a.value.length === bs.length && a.value.every((c, i) => sameItem(c, bs[i]!));
  }
  const bv = (b as LeafItem).value;
  if (a.value instanceof Uint8Array) return bv instanceof Uint8Array && Buffer.compare(a.value, bv) === 0;
  return a.value === bv;
}

/** `attrs` with every instance of each given attribute replaced by the given one (single-valued updates). */
export function withReplaced(attrs: readonly Item[], updates: readonly Item[]): Item[] {
  const refs = updates.map(refOf);
  return [...attrs.filter((a) => !refs.some((r) => sameRef(refOf(a), r))), ...updates];
}

export function dateItem(tag: number, seconds: number): Item {
  return item(tag, 'DateTime', seconds);
}

export function vendorAttribute(vendor: string, name: string, value: Item): Item {
  return structure(Tag.Attribute, [
    item(Tag.VendorIdentification, 'TextString', vendor),
    item(Tag.AttributeName, 'TextString', name),
    { ...value, tag: Tag.AttributeValue },
  ]);
}

/** A 2.x Attribute Reference (2.1 §5.5): an Enumeration holding the attribute's tag, or a vendor's Vendor Identification and Attribute Name. */
export function refFromAttributeReference(reference: Item): AttributeRef {
  if (reference.type === 'Enumeration') return { tag: reference.value };
  if (reference.type === 'Structure') return refOf({ ...reference, tag: Tag.Attribute });
  throw new KmipError('InvalidMessage', 'an Attribute Reference is a tag Enumeration or a Vendor Identification and Attribute Name');
}

export function attributeReference(ref: AttributeRef): Item {
  if ('tag' in ref) return item(Tag.AttributeReference, 'Enumeration', ref.tag);
  return structure(Tag.AttributeReference, [item(Tag.VendorIdentification, 'TextString', ref.vendor), item(Tag.AttributeName, 'TextString', ref.name)]);
}

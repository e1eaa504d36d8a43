/**
 * KMIP 1.x Attribute{Name, Index, Value} ⇄ the 2.1 attribute items: every Attribute in the OASIS
 * 1.4 test cases, every 1.x attribute of the table, custom x-/y- names ⇄ vendor attributes, and
 * Template-Attribute ⇄ Attributes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type Item, fromXmlDocument, item, registry, structure } from '../../src/ttlv/index.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { ATTRIBUTE_RULES } from '../../src/objects/attribute-rules.js';
import { vendorAttribute } from '../../src/objects/items.js';
import {
  fromV1Attribute,
  fromV1Attributes,
  fromV1TemplateAttribute,
  refFromV1Name,
  toV1Attribute,
  toV1Attributes,
  toV1TemplateAttribute,
  v1Name,
} from '../../src/objects/v1-attributes.js';
import { sharedDir, testcaseFiles, testcasesDir } from '../support/shared.js';
import { refused } from './refusal.js';

const text = (tag: number, value: string): Item => item(tag, 'TextString', value);
const name = (value: string): Item => structure(Tag.Name, [text(Tag.NameValue, value), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)]);

function v1(attributeName: string, value: Item, index?: number): Item {
  const children: Item[] = [text(Tag.AttributeName, attributeName)];
  if (index !== undefined) children.push(item(Tag.AttributeIndex, 'Integer', index));
  children.push({ ...value, tag: Tag.AttributeValue });
  return structure(Tag.Attribute, children);
}

/** Every structure with this tag anywhere in the tree. */
function collect(it: Item, tag: number, out: Item[] = []): Item[] {
  if (it.type !== 'Structure') return out;
  if (it.tag === tag) out.push(it);
  for (const c of it.value) collect(c, tag, out);
  return out;
}

const v14Messages = testcaseFiles(`${testcasesDir}/v1.4`).flatMap((f) => fromXmlDocument(readFileSync(f, 'utf8')));

t.test('every Attribute in the OASIS 1.4 test cases converts to 2.1 and back unchanged', async (t) => {
  const attributes = v14Messages.flatMap((m) => collect(m, Tag.Attribute));
  t.equal(attributes.length, 665, 'all 665 Attribute structures');
  const names = new Set<string>();
  for (const attr of attributes) {
    const { item: converted, index } = fromV1Attribute(attr);
    const attributeName = (attr.type === 'Structure' && attr.value[0]?.type === 'TextString' && attr.value[0].value) || '?';
    names.add(attributeName);
    if (converted.tag !== Tag.Attribute) t.equal(registry.tag(converted.tag)?.title, attributeName, 'the 2.1 item has the named attribute\'s tag');
    t.same(toV1Attribute(converted, index), attr, `${attributeName} round-trips`);
  }
  t.equal(names.size, 40, 'carrying 40 different Attribute Names');
});

t.test('every Attribute Name in the OASIS 1.4 test cases names an attribute and is named back', async (t) => {
  const names = new Set<string>();
  const walk = (it: Item): void => {
    if (it.type !== 'Structure') return;
    for (const c of it.value) {
      if (c.tag === Tag.AttributeName && c.type === 'TextString') names.add(c.value);
      walk(c);
    }
  };
  v14Messages.forEach(walk);
  t.equal(names.size, 44, 'in Attributes, Get Attributes and Delete Attribute requests');
  for (const attributeName of names) t.equal(v1Name(refFromV1Name(attributeName)), attributeName, attributeName);
});

t.test('the 1.4 test cases\' custom attributes become x vendor attributes', async (t) => {
  const [barcode] = v14Messages.flatMap((m) => collect(m, Tag.Attribute)).filter((a) => a.type === 'Structure' && a.value[0]?.type === 'TextString' && a.value[0].value === 'x-Barcode');
  t.ok(barcode);
  const { item: converted } = fromV1Attribute(barcode!);
  t.same(converted, vendorAttribute('x', 'Barcode', text(Tag.AttributeValue, 'XXA012A1')), 'x-Barcode ⇄ Vendor Identification "x", Attribute Name "Barcode" (as TL-M-3-21)');
});

t.test('every Template-Attribute in the 1.4 test cases becomes Attributes and back', async (t) => {
  const kinds: [number, number][] = [
    [Tag.TemplateAttribute, Tag.Attributes],
    [Tag.CommonTemplateAttribute, Tag.CommonAttributes],
    [Tag.PrivateKeyTemplateAttribute, Tag.PrivateKeyAttributes],
    [Tag.PublicKeyTemplateAttribute, Tag.PublicKeyAttributes],
  ];
  for (const [v1Tag, v2Tag] of kinds) {
    const found = v14Messages.flatMap((m) => collect(m, v1Tag));
    t.ok(found.length > 0, `${registry.tagName(v1Tag)} appears`);
    for (const ta of found) {
      const attributes = fromV1TemplateAttribute(ta);
      t.equal(attributes.tag, v2Tag);
      t.same(toV1TemplateAttribute(attributes), ta);
    }
  }
});

/** A value of the attribute's registry type; structures get a child, which the adapter carries as it is. */
function sampleValue(tag: number): Item {
  const type = registry.tag(tag)?.types[0];
  switch (type) {
    case 'Structure':
      return structure(tag, [text(Tag.NameValue, 'v'), item(Tag.NameType, 'Enumeration', 1)]);
    case 'Integer':
    case 'Enumeration':
    case 'Interval':
    case 'DateTime':
      return item(tag, type, 7);
    case 'LongInteger':
    case 'BigInteger':
    case 'DateTimeExtended':
      return item(tag, type, 7n);
    case 'Boolean':
      return item(tag, type, true);
    case 'ByteString':
      return item(tag, type, Buffer.from('0102', 'hex'));
    default:
      return item(tag, 'TextString', 'v');
  }
}

t.test('every 1.x attribute of the table round-trips 2.1 → 1.x → 2.1 under its spec title', async (t) => {
  let count = 0;
  for (const rule of ATTRIBUTE_RULES) {
    const tag = Tag[rule.tag];
    const title = registry.tag(tag)!.title;
    const attr = sampleValue(tag);
    if (!rule.versions.some((v) => v.startsWith('1.'))) {
      t.equal(toV1Attribute(attr), undefined, `${title} is not a 1.x attribute`);
      refused(t, () => refFromV1Name(title), 'InvalidField');
      continue;
    }
    count++;
    const lowered = toV1Attribute(attr, 2)!;
    t.same(lowered, v1(title, attr, 2), `${title} as a 1.x Attribute`);
    t.same(fromV1Attribute(lowered), { item: attr, index: 2 }, `${title} back`);
    t.same(refFromV1Name(title), { tag });
    t.equal(v1Name({ tag }), title);
  }
  t.equal(count, 50, '46 attributes shared with 2.x and 4 of 1.x only');
});

t.test('the 1.x attributes are exactly those of KMIP 1.4 §3, Custom Attribute aside', async (t) => {
  const lines = readFileSync(join(sharedDir, 'kmip-spec', 'kmip-spec-v1.4-os.txt'), 'utf8').split(/\r?\n/);
  const headings = new Set(lines.filter((l) => /^3\.\d+ \S/.test(l) && !/\d\s*$/.test(l)).map((l) => l.replace(/^3\.\d+ /, '').trim()));
  t.equal(headings.size, 51, '1.4 §3.1–§3.51');
  headings.delete('Custom Attribute');
  const ours = new Set(ATTRIBUTE_RULES.filter((r) => r.versions.includes('1.4')).map((r) => registry.tag(Tag[r.tag])!.title));
  t.same([...ours].sort(), [...headings].sort());
});

t.test('custom attribute names map to vendor attributes, keeping dashes after the prefix', async (t) => {
  t.same(refFromV1Name('x-my-attr'), { vendor: 'x', name: 'my-attr' });
  t.same(refFromV1Name('y-audit'), { vendor: 'y', name: 'audit' });
  const lowered = v1('x-my-attr', item(Tag.AttributeValue, 'DateTime', 5));
  const lifted = fromV1Attribute(lowered).item;
  t.same(lifted, vendorAttribute('x', 'my-attr', item(Tag.AttributeValue, 'DateTime', 5)));
  t.same(toV1Attribute(lifted), lowered);
  t.equal(v1Name({ vendor: 'acme', name: 'tag' }), undefined, 'another vendor\'s attribute has no 1.x name');
  t.equal(toV1Attribute(vendorAttribute('acme', 'tag', text(Tag.AttributeValue, 'v'))), undefined);
});

t.test('unknown names and mistyped values are refused', async (t) => {
  refused(t, () => refFromV1Name('Colour'), 'InvalidField', /"Colour" is not a KMIP 1\.x attribute name/);
  refused(t, () => refFromV1Name('x-'), 'InvalidField');
  refused(t, () => refFromV1Name('Short Unique Identifier'), 'InvalidField', /not a KMIP 1\.x attribute name/);
  refused(t, () => fromV1Attribute(v1('Cryptographic Length', text(0, '256'))), 'InvalidMessage', /must be a Integer, not a TextString/);
  refused(t, () => fromV1Attribute(structure(Tag.Attribute, [text(Tag.AttributeName, 'Name')])), 'InvalidMessage', /missing Attribute Value/);
  refused(t, () => fromV1Attribute(name('n')), 'InvalidMessage', /expected an Attribute/);
});

t.test('responses number each attribute\'s instances and leave out what 1.x lacks', async (t) => {
  const attrs = [name('a'), item(Tag.ShortUniqueIdentifier, 'ByteString', new Uint8Array(32)), name('b'), text(Tag.Description, 'd')];
  t.same(toV1Attributes(attrs), [v1('Name', name('a')), v1('Name', name('b'), 1), v1('Description', text(Tag.Description, 'd'))]);
  t.same(fromV1Attributes(toV1Attributes(attrs)), [name('a'), name('b'), text(Tag.Description, 'd')]);
});

t.test('a Template-Attribute naming a template is refused: kmipd keeps no Templates', async (t) => {
  const ta = structure(Tag.TemplateAttribute, [name('AES-256 template'), v1('Cryptographic Length', item(0, 'Integer', 256))]);
  refused(t, () => fromV1TemplateAttribute(ta), 'ItemNotFound', /no Template named "AES-256 template"/);
  refused(t, () => fromV1TemplateAttribute(structure(Tag.Attributes, [])), 'InvalidMessage');
  refused(t, () => toV1TemplateAttribute(structure(Tag.TemplateAttribute, [])), 'InvalidMessage');
});

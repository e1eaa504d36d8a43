/** Attribute identity and value comparison over 2.1 attribute items. */
import t from 'tap';
import { item, structure } from '../../src/ttlv/index.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { attributeReference, positionsOf, refFromAttributeReference, refOf, refTitle, sameItem, vendorAttribute, withReplaced } from '../../src/objects/items.js';
import { refused } from './refusal.js';

const x = vendorAttribute('x', 'ID', item(Tag.AttributeValue, 'TextString', 'TL-M-2-21'));

t.test('an attribute is known by its tag, a vendor attribute by vendor and name', async (t) => {
  t.same(refOf(item(Tag.State, 'Enumeration', 1)), { tag: Tag.State });
  t.same(refOf(x), { vendor: 'x', name: 'ID' });
  t.equal(refTitle(refOf(x)), 'x-ID');
  t.equal(refTitle({ tag: Tag.CryptographicAlgorithm }), 'Cryptographic Algorithm');
  refused(t, () => refOf(structure(Tag.Attribute, [item(Tag.AttributeName, 'TextString', 'x-ID')])), 'InvalidMessage', /Vendor Identification/);
});

t.test('Attribute References (2.1 §5.5) name tag and vendor attributes both ways', async (t) => {
  for (const ref of [{ tag: Tag.Name }, { vendor: 'x', name: 'Barcode' }]) t.same(refFromAttributeReference(attributeReference(ref)), ref);
  t.same(attributeReference({ tag: Tag.Name }), item(Tag.AttributeReference, 'Enumeration', Tag.Name));
  refused(t, () => refFromAttributeReference(item(Tag.AttributeReference, 'TextString', 'Name')), 'InvalidMessage');
});

t.test('values compare by tag, type and value, byte strings by content', async (t) => {
  const name = (v: string) => structure(Tag.Name, [item(Tag.NameValue, 'TextString', v), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)]);
  t.ok(sameItem(name('a'), name('a')));
  t.notOk(sameItem(name('a'), name('b')));
  t.ok(sameItem(item(Tag.DigestValue, 'ByteString', Buffer.from('0102', 'hex')), item(Tag.DigestValue, 'ByteString', new Uint8Array([1, 2]))));
  t.notOk(sameItem(item(Tag.CryptographicLength, 'Integer', 1), item(Tag.CryptographicLength, 'LongInteger', 1n)));
});

t.test('instances are found by identity and single-valued updates replace them', async (t) => {
  const attrs = [x, item(Tag.State, 'Enumeration', 1), vendorAttribute('x', 'ID', item(Tag.AttributeValue, 'TextString', 'other'))];
  t.same(positionsOf(attrs, { vendor: 'x', name: 'ID' }), [0, 2]);
  t.same(withReplaced(attrs, [item(Tag.State, 'Enumeration', 2)]), [attrs[0], attrs[2], item(Tag.State, 'Enumeration', 2)]);
});

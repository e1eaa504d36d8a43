/**
 * The attribute operations and Revoke end to end over real mutual TLS, in KMIP 2.1 and 1.4 form:
 * Add / Modify / Delete / Set / Adjust Attribute, Get Attribute List, Revoke, and their refusals.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { KmipClient } from '../../src/client/client.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';
import { type Credentials, type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-attributes-', 'attr-someone-else');
});
t.teardown(() => env.close());
const connect = (version = V21, who?: Credentials) => env.connect(version, who);

const newAttribute = (attr: Item): Item => structure(Tag.NewAttribute, [attr]);
const currentAttribute = (attr: Item): Item => structure(Tag.CurrentAttribute, [attr]);
const reference = (tag: number): Item => enumeration(Tag.AttributeReference, tag);
const v1Attr = (n: string, value: Item, index?: number): Item =>
  structure(Tag.Attribute, [text(Tag.AttributeName, n), ...(index === undefined ? [] : [integer(Tag.AttributeIndex, index)]), { ...value, tag: Tag.AttributeValue }]);
const revocationReason = (code: number): Item => structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, code), text(Tag.RevocationMessage, 'test')]);

async function registerKey(c: KmipClient, label: string): Promise<string> {
  const material = randomBytes(32);
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [name(label), integer(Tag.CryptographicUsageMask, 0x0c)]),
    aesKey(material),
  ]);
  return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

async function attributes21(c: KmipClient, id: string): Promise<Item[]> {
  const got = await c.call('GetAttributes', [uid(id)]);
  return got.payload!.needStruct(Tag.Attributes).item.value;
}

const namesOf = (attrs: Item[]): string[] =>
  attrs.filter((a) => a.tag === Tag.Name).map((a) => ((a.value as Item[]).find((x) => x.tag === Tag.NameValue)!.value as string));

/** A 1.x Attribute's Attribute Index (undefined when omitted) and Attribute Value. */
function v1Parts(attr: Item | undefined): { name: unknown; index: unknown; value: Item | undefined } {
  const children = (attr?.value ?? []) as Item[];
  return {
    name: children.find((x) => x.tag === Tag.AttributeName)?.value,
    index: children.find((x) => x.tag === Tag.AttributeIndex)?.value,
    value: children.find((x) => x.tag === Tag.AttributeValue),
  };
}

t.test('2.1: Add, Modify, Set, Adjust, Delete Attribute and Get Attribute List', async (t) => {
  const c = await connect();
  const id = await registerKey(c, 'attr-21');

  const added = await c.call('AddAttribute', [uid(id), newAttribute(name('attr-21-alias'))]);
  t.same(added.payload!.item.value.map((i) => i.tag), [Tag.UniqueIdentifier], 'Add answers the Unique Identifier only');
  t.equal(added.payload!.need(Tag.UniqueIdentifier, 'TextString'), id);
  t.same(namesOf(await attributes21(c, id)).sort(), ['attr-21', 'attr-21-alias'], 'a second Name instance');

  await c.call('AddAttribute', [uid(id), newAttribute(text(Tag.ContactInformation, 'ops@example.com'))]);
  const single = await refusal(c.call('AddAttribute', [uid(id), newAttribute(text(Tag.ContactInformation, 'env.other@example.com'))]));
  t.equal(single.reason, 'AttributeSingleValued', 'a second Contact Information is refused');
  const dupName = await refusal(c.call('AddAttribute', [uid(id), newAttribute(name('attr-21'))]));
  t.equal(dupName.reason, 'NonUniqueNameAttribute', 'a Name in use is refused');

  const modified = await c.call('ModifyAttribute', [uid(id), currentAttribute(name('attr-21-alias')), newAttribute(name('attr-21-renamed'))]);
  t.same(modified.payload!.item.value.map((i) => i.tag), [Tag.UniqueIdentifier], 'Modify answers the Unique Identifier only');
  t.same(namesOf(await attributes21(c, id)).sort(), ['attr-21', 'attr-21-renamed'], 'the selected Name instance changed');
  const ambiguous = await refusal(c.call('ModifyAttribute', [uid(id), newAttribute(name('attr-21-x'))]));
  t.equal(ambiguous.reason, 'MultiValuedAttribute', 'Modify without Current Attribute of a multi-instance attribute is refused');
  const missingInstance = await refusal(c.call('ModifyAttribute', [uid(id), currentAttribute(name('nope')), newAttribute(name('attr-21-y'))]));
  t.equal(missingInstance.reason, 'AttributeInstanceNotFound');
  t.equal((await refusal(c.call('ModifyAttribute', [uid(id), newAttribute(enumeration(Tag.State, Enum.State.Active))]))).reason, 'AttributeReadOnly', 'State is read-only');
  t.equal((await refusal(c.call('ModifyAttribute', [uid(id), newAttribute(uid('env.other-id'))]))).reason, 'AttributeReadOnly', 'Unique Identifier is read-only');

  await c.call('SetAttribute', [uid(id), newAttribute(text(Tag.Description, 'first'))]);
  await c.call('SetAttribute', [uid(id), newAttribute(text(Tag.Description, 'second'))]);
  const descriptions = (await attributes21(c, id)).filter((a) => a.tag === Tag.Description);
  t.same(descriptions.map((a) => a.value), ['second'], 'Set adds, then replaces the one instance');
  t.equal((await refusal(c.call('SetAttribute', [uid(id), newAttribute(name('attr-21-z'))]))).reason, 'MultiValuedAttribute', 'Set of an attribute with two instances');

  const counter = structure(Tag.AttributeReference, [text(Tag.VendorIdentification, 'x'), text(Tag.AttributeName, 'counter')]);
  await c.call('AdjustAttribute', [uid(id), counter, enumeration(Tag.AdjustmentType, Enum.AdjustmentType.Increment), integer(Tag.AdjustmentValue, 5)]);
  await c.call('AdjustAttribute', [uid(id), counter, enumeration(Tag.AdjustmentType, Enum.AdjustmentType.Decrement), integer(Tag.AdjustmentValue, 2)]);
  const vendor = (await attributes21(c, id)).find((a) => a.tag === Tag.Attribute);
  t.equal(((vendor?.value ?? []) as Item[]).find((x) => x.tag === Tag.AttributeValue)?.value, 3, 'Adjust: absent counts as 0, +5 −2 = 3');
  t.equal((await refusal(c.call('AdjustAttribute', [uid(id), reference(Tag.CryptographicLength), enumeration(Tag.AdjustmentType, Enum.AdjustmentType.Increment)]))).reason, 'AttributeReadOnly');

  const list = await c.call('GetAttributeList', [uid(id)]);
  const refs = list.payload!.all(Tag.AttributeReference);
  const tags = refs.filter((r) => r.type === 'Enumeration').map((r) => r.value as number);
  t.ok([Tag.UniqueIdentifier, Tag.State, Tag.Name, Tag.Description, Tag.ContactInformation].every((x) => tags.includes(x)), 'Get Attribute List names the attributes');
  t.equal(tags.filter((x) => x === Tag.Name).length, 1, 'each attribute once');
  t.ok(refs.some((r) => r.type === 'Structure'), 'the vendor attribute as a structured Attribute Reference');

  await c.call('DeleteAttribute', [uid(id), reference(Tag.Description)]);
  t.equal((await refusal(c.call('DeleteAttribute', [uid(id), reference(Tag.Description)]))).reason, 'AttributeNotFound', 'deleting a missing attribute');
  await c.call('DeleteAttribute', [uid(id), currentAttribute(name('attr-21-renamed'))]);
  t.same(namesOf(await attributes21(c, id)), ['attr-21'], 'Delete by Current Attribute removes that instance');
  t.equal((await refusal(c.call('DeleteAttribute', [uid(id), reference(Tag.CryptographicAlgorithm)]))).reason, 'AttributeReadOnly', 'a required attribute cannot be deleted');

  // ID Placeholder: Locate sets it for the Add Attribute that follows.
  const batch = await c.request({
    items: [
      { operation: Enum.Operation.Locate, payload: [structure(Tag.Attributes, [name('attr-21')])] },
      { operation: Enum.Operation.AddAttribute, payload: [newAttribute(text(Tag.Comment, 'by placeholder'))] },
    ],
  });
  t.same(batch.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success], 'Add Attribute through the ID Placeholder');
  t.ok((await attributes21(c, id)).some((a) => a.tag === Tag.Comment && a.value === 'by placeholder'));

  const stranger = await connect(V21, env.other);
  t.equal((await refusal(stranger.call('AddAttribute', [uid(id), newAttribute(text(Tag.Comment, 'x'))]))).reason, 'ObjectNotFound', "another env.owner's object is not found");
  t.equal((await refusal(stranger.call('GetAttributeList', [uid(id)]))).reason, 'ObjectNotFound');
  await stranger.close();
  await c.close();
});

t.test('2.1: Revoke', async (t) => {
  const c = await connect();
  const compromised = await registerKey(c, 'revoke-compromise-21');
  await c.call('Activate', [uid(compromised)]);
  const revoked = await c.call('Revoke', [uid(compromised), revocationReason(Enum.RevocationReasonCode.KeyCompromise), item(Tag.CompromiseOccurrenceDate, 'DateTime', 1_700_000_000)]);
  t.equal(revoked.payload!.need(Tag.UniqueIdentifier, 'TextString'), compromised);
  let attrs = await attributes21(c, compromised);
  t.equal(attrs.find((a) => a.tag === Tag.State)?.value, Enum.State.Compromised, 'Key Compromise → Compromised');
  t.ok(attrs.some((a) => a.tag === Tag.CompromiseDate), 'a Compromise Date');
  t.equal(attrs.find((a) => a.tag === Tag.CompromiseOccurrenceDate)?.value, 1_700_000_000, 'the given Compromise Occurrence Date');
  t.ok(attrs.some((a) => a.tag === Tag.RevocationReason), 'the Revocation Reason is kept');
  await c.call('Destroy', [uid(compromised)]);
  attrs = await attributes21(c, compromised);
  t.equal(attrs.find((a) => a.tag === Tag.State)?.value, Enum.State.DestroyedCompromised, 'Destroy → Destroyed Compromised');

  const ceased = await registerKey(c, 'revoke-cessation-21');
  const notActive = await refusal(c.call('Revoke', [uid(ceased), revocationReason(Enum.RevocationReasonCode.CessationOfOperation)]));
  t.equal(notActive.reason, 'WrongKeyLifecycleState', 'a non-compromise Revoke needs an Active object');
  await c.call('Activate', [uid(ceased)]);
  await c.call('Revoke', [uid(ceased), revocationReason(Enum.RevocationReasonCode.CessationOfOperation)]);
  attrs = await attributes21(c, ceased);
  t.equal(attrs.find((a) => a.tag === Tag.State)?.value, Enum.State.Deactivated, 'Cessation of Operation → Deactivated');
  t.ok(attrs.some((a) => a.tag === Tag.DeactivationDate), 'a Deactivation Date');
  await c.call('Destroy', [uid(ceased)]);

  const active = await registerKey(c, 'revoke-active-21');
  await c.call('Activate', [uid(active)]);
  await c.call('Revoke', [uid(active), revocationReason(Enum.RevocationReasonCode.KeyCompromise)]);
  const state = await c.call('GetAttributes', [uid(active), reference(Tag.State), reference(Tag.CompromiseOccurrenceDate), reference(Tag.InitialDate)]);
  const s = state.payload!.needStruct(Tag.Attributes);
  t.equal(s.get(Tag.State, 'Enumeration'), Enum.State.Compromised, 'Get Attributes shows the State');
  t.equal(s.get(Tag.CompromiseOccurrenceDate, 'DateTime'), s.get(Tag.InitialDate, 'DateTime'), 'Compromise Occurrence Date defaults to the Initial Date');
  t.equal((await refusal(c.call('Revoke', [uid(active), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, 0x7777)])]))).reason, 'InvalidField', 'an unknown reason code');
  await c.close();
});

t.test('1.4: Add, Modify, Delete Attribute, Get Attribute List and Revoke', async (t) => {
  const c21 = await connect();
  const id = await registerKey(c21, 'attr-14');
  await c21.close();
  const c = await connect(V14);

  const added = await c.call('AddAttribute', [uid(id), v1Attr('Name', name('attr-14-alias'))]);
  t.equal(added.payload!.need(Tag.UniqueIdentifier, 'TextString'), id);
  const addedAttr = v1Parts(added.payload!.optional(Tag.Attribute));
  t.equal(addedAttr.name, 'Name');
  t.equal(addedAttr.index, 1, 'Add answers the Attribute with its Attribute Index');

  await c.call('AddAttribute', [uid(id), v1Attr('Contact Information', text(Tag.ContactInformation, 'ops@example.com'))]);
  const single = await refusal(c.call('AddAttribute', [uid(id), v1Attr('Contact Information', text(Tag.ContactInformation, 'x@example.com'))]));
  t.equal(single.reason, 'IllegalOperation', '1.x: a second single-instance attribute');

  const modified = await c.call('ModifyAttribute', [uid(id), v1Attr('Name', name('attr-14-renamed'), 1)]);
  const modifiedAttr = v1Parts(modified.payload!.optional(Tag.Attribute));
  t.equal(modifiedAttr.index, 1, 'Modify answers the Attribute with its Attribute Index');
  t.equal(((modifiedAttr.value?.value ?? []) as Item[]).find((x) => x.tag === Tag.NameValue)?.value, 'attr-14-renamed');
  const readOnly = await refusal(c.call('ModifyAttribute', [uid(id), v1Attr('State', enumeration(Tag.State, Enum.State.Active))]));
  t.equal(readOnly.reason, 'PermissionDenied', '1.x: State is read-only');
  const uidReadOnly = await refusal(c.call('ModifyAttribute', [uid(id), v1Attr('Unique Identifier', uid('x'))]));
  t.equal(uidReadOnly.reason, 'PermissionDenied', '1.x: Unique Identifier is read-only');
  const absent = await refusal(c.call('ModifyAttribute', [uid(id), v1Attr('Description', text(Tag.Description, 'd'))]));
  t.equal(absent.reason, 'InvalidField', '1.x: Modify of an absent attribute');

  const list = await c.call('GetAttributeList', [uid(id)]);
  const names = list.payload!.values(Tag.AttributeName, 'TextString');
  t.ok(['Unique Identifier', 'Name', 'State', 'Contact Information', 'Cryptographic Algorithm'].every((n) => names.includes(n)), 'Get Attribute List answers Attribute Names');
  t.equal(names.filter((n) => n === 'Name').length, 1, 'each name once');

  const deleted = await c.call('DeleteAttribute', [uid(id), text(Tag.AttributeName, 'Name'), integer(Tag.AttributeIndex, 1)]);
  const deletedAttr = v1Parts(deleted.payload!.optional(Tag.Attribute));
  t.equal(deletedAttr.index, 1, 'Delete answers the deleted Attribute');
  t.equal(((deletedAttr.value?.value ?? []) as Item[]).find((x) => x.tag === Tag.NameValue)?.value, 'attr-14-renamed');
  await c.call('DeleteAttribute', [uid(id), text(Tag.AttributeName, 'Contact Information')]);
  const missing = await refusal(c.call('DeleteAttribute', [uid(id), text(Tag.AttributeName, 'Contact Information')]));
  t.equal(missing.reason, 'ItemNotFound', '1.x: deleting a missing attribute');
  const required = await refusal(c.call('DeleteAttribute', [uid(id), text(Tag.AttributeName, 'Object Type')]));
  t.equal(required.reason, 'PermissionDenied', '1.x: a required attribute cannot be deleted');

  await c.call('Activate', [uid(id)]);
  await c.call('Revoke', [uid(id), revocationReason(Enum.RevocationReasonCode.KeyCompromise), item(Tag.CompromiseOccurrenceDate, 'DateTime', 1_600_000_000)]);
  const stateOf = async (): Promise<unknown> => {
    const got = await c.call('GetAttributes', [uid(id), text(Tag.AttributeName, 'State')]);
    return v1Parts(got.payload!.optional(Tag.Attribute)).value?.value;
  };
  t.equal(await stateOf(), Enum.State.Compromised, '1.x Revoke(Key Compromise) → Compromised');
  const dates = await c.call('GetAttributes', [uid(id), text(Tag.AttributeName, 'Compromise Date')]);
  t.ok(v1Parts(dates.payload!.optional(Tag.Attribute)).value, 'a Compromise Date');
  await c.call('Destroy', [uid(id)]);
  t.equal(await stateOf(), Enum.State.DestroyedCompromised, 'Destroy → Destroyed Compromised');
  await c.close();
});

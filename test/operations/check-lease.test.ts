/**
 * Check, Obtain Lease and Get Usage Allocation end to end over real mutual TLS, in KMIP 2.1 and
 * 1.4 form, with each refusal's Result Reason and the Usage Limits Count persisted between requests.
 */
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { Fields } from '../../src/kmip/fields.js';
import type { KmipClient } from '../../src/client/client.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-check-lease-', 'lease-someone-else');
});
t.teardown(() => env.close());

const U = Mask.CryptographicUsageMask;
const now = (): number => Math.floor(Date.now() / 1000);
const units = (n: bigint): Item => item(Tag.UsageLimitsCount, 'LongInteger', n);
const limits = (total: bigint): Item => structure(Tag.UsageLimits, [item(Tag.UsageLimitsTotal, 'LongInteger', total), enumeration(Tag.UsageLimitsUnit, Enum.UsageLimitsUnit.Object)]);
const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);

/** An AES key owned by the test client, Active from a minute ago unless told otherwise. */
async function key(c: KmipClient, attrs: Item[], active = true): Promise<string> {
  const created = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [
      enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
      integer(Tag.CryptographicLength, 128),
      ...(active ? [item(Tag.ActivationDate, 'DateTime', now() - 60)] : []),
      ...attrs,
    ]),
  ]);
  return created.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

async function attributesOf(c: KmipClient, id: string): Promise<Fields> {
  return (await c.call('GetAttributes', [uid(id)])).payload!.needStruct(Tag.Attributes);
}

async function remaining(c: KmipClient, id: string): Promise<bigint | undefined> {
  return (await attributesOf(c, id)).struct(Tag.UsageLimits)?.get(Tag.UsageLimitsCount, 'LongInteger');
}

t.test('2.1 Check answers the Unique Identifier when the mask, count and lease are allowed', async (t) => {
  const c = await env.connect(V21);
  const id = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt | U.Decrypt), limits(100n)]);
  const ok = await c.call('Check', [uid(id), units(100n), integer(Tag.CryptographicUsageMask, U.Encrypt), item(Tag.LeaseTime, 'Interval', 3600)]);
  t.same(ok.payload!.item.value.map((i) => i.tag), [Tag.UniqueIdentifier], 'only the Unique Identifier is answered');
  t.equal(ok.payload!.need(Tag.UniqueIdentifier, 'TextString'), id);
  t.equal(await remaining(c, id), 100n, 'Check takes no allocation: the Count is still the Total');
  await c.close();
});

t.test('2.1 Check refusals name the refused value and empty the ID Placeholder', async (t) => {
  const c = await env.connect(V21);
  const id = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt), limits(10n), name('check-refusals')]);
  const mask = await refusal(c.call('Check', [uid(id), integer(Tag.CryptographicUsageMask, U.Encrypt | U.Sign)]));
  t.equal(mask.reason, 'IncompatibleCryptographicUsageMask');
  t.match(mask.message, /Cryptographic Usage Mask/);
  t.equal((await refusal(c.call('Check', [uid(id), units(11n)]))).reason, 'UsageLimitExceeded', 'more units than remain');
  const lease = await refusal(c.call('Check', [uid(id), item(Tag.LeaseTime, 'Interval', 3601)]));
  t.equal(lease.reason, 'PermissionDenied', 'a lease longer than the server grants');
  t.match(lease.message, /Lease Time 3601/);
  // A refused Check carries no Response Payload (2.1 §8.6; BL-M-2-21 request 2, BL-M-3-21 request 5):
  // its Result Message names every refused value instead.
  const both = await c.request({ items: [{ operation: Enum.Operation.Check, payload: [uid(id), units(11n), integer(Tag.CryptographicUsageMask, U.Encrypt | U.Sign)] }] });
  const refused = both.items[0]!;
  t.equal(refused.resultStatus, Enum.ResultStatus.OperationFailed);
  t.equal(refused.payload, undefined, 'no payload on failure');
  t.match(refused.resultMessage, /Cryptographic Usage Mask/, 'the message names the refused mask');
  t.match(refused.resultMessage, /Usage Limits Count 11/, 'and the refused count');
  t.equal((await refusal(c.call('Check', [uid('no-such-key')]))).reason, 'ObjectNotFound');

  // Locate sets the ID Placeholder; a refused Check empties it, so the Get after it has no object.
  const batch = await c.request({
    batchErrorContinuationOption: 'Continue',
    items: [
      { operation: Enum.Operation.Locate, payload: [structure(Tag.Attributes, [name('check-refusals')])] },
      { operation: Enum.Operation.Check, payload: [integer(Tag.CryptographicUsageMask, U.Decrypt)] },
      { operation: Enum.Operation.Get, payload: [] },
    ],
  });
  t.same(batch.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.OperationFailed, Enum.ResultStatus.OperationFailed]);
  t.equal(batch.items[2]!.resultReason, Enum.ResultReason.InvalidField, 'the Get finds the ID Placeholder empty');

  const passing = await c.request({
    items: [
      { operation: Enum.Operation.Locate, payload: [structure(Tag.Attributes, [name('check-refusals')])] },
      { operation: Enum.Operation.Check, payload: [integer(Tag.CryptographicUsageMask, U.Encrypt)] },
      { operation: Enum.Operation.Get, payload: [] },
    ],
  });
  t.same(passing.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success, Enum.ResultStatus.Success], 'Locate → Check → Get, as 2.1 §6.1.7 suggests');
  t.equal(passing.items[2]!.payload!.need(Tag.UniqueIdentifier, 'TextString'), id);

  const gone = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt)], false);
  await c.call('Destroy', [uid(gone)]);
  t.equal((await refusal(c.call('Check', [uid(gone), integer(Tag.CryptographicUsageMask, U.Encrypt)]))).reason, 'WrongKeyLifecycleState', 'a destroyed key cannot be used');
  await c.close();
});

t.test('2.1 Obtain Lease: the server lease and the Last Change Date; none for a destroyed key', async (t) => {
  const c = await env.connect(V21);
  const id = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt)]);
  const lease = await c.call('ObtainLease', [uid(id)]);
  t.equal(lease.payload!.need(Tag.UniqueIdentifier, 'TextString'), id);
  t.equal(lease.payload!.need(Tag.LeaseTime, 'Interval'), 3600, 'the default lease: one hour');
  t.equal(lease.payload!.need(Tag.LastChangeDate, 'DateTime'), (await attributesOf(c, id)).need(Tag.LastChangeDate, 'DateTime'), "the object's Last Change Date");

  const batch = await c.request({ items: [{ operation: Enum.Operation.Create, payload: [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 128)])] }, { operation: Enum.Operation.ObtainLease, payload: [] }] });
  t.equal(batch.items[1]!.resultStatus, Enum.ResultStatus.Success, 'Obtain Lease through the ID Placeholder');
  t.equal(batch.items[1]!.payload!.need(Tag.UniqueIdentifier, 'TextString'), batch.items[0]!.payload!.need(Tag.UniqueIdentifier, 'TextString'));

  const gone = await key(c, [], false);
  await c.call('Destroy', [uid(gone)]);
  t.equal((await refusal(c.call('ObtainLease', [uid(gone)]))).reason, 'PermissionDenied', 'no lease for a destroyed key');
  const other = await env.connect(V21, env.other);
  t.equal((await refusal(other.call('ObtainLease', [uid(id)]))).reason, 'ObjectNotFound', "another client's key");
  await other.close();
  await c.close();
});

t.test('2.1 Get Usage Allocation takes units from the Usage Limits and refuses more than remain', async (t) => {
  const c = await env.connect(V21);
  const id = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt), limits(10n)]);
  await c.call('GetUsageAllocation', [uid(id), units(4n)]);
  t.equal(await remaining(c, id), 6n, '10 − 4 remain, persisted');
  const refused = await refusal(c.call('GetUsageAllocation', [uid(id), units(7n)]));
  t.equal(refused.reason, 'UsageLimitExceeded');
  t.equal(await remaining(c, id), 6n, 'a refused allocation takes nothing');
  t.equal((await refusal(c.call('Check', [uid(id), units(7n)]))).reason, 'UsageLimitExceeded', 'Check sees what remains');
  await c.call('GetUsageAllocation', [uid(id), units(6n)]);
  t.equal(await remaining(c, id), 0n);
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(id), units(1n)]))).reason, 'UsageLimitExceeded', 'exhausted');

  const unlimited = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt)]);
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(unlimited), units(1n)]))).reason, 'AttributeNotFound', 'no Usage Limits attribute');
  const preActive = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt), limits(5n)], false);
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(preActive), units(1n)]))).reason, 'WrongKeyLifecycleState', 'before its Activation Date');
  t.equal(await remaining(c, preActive), 5n, 'nothing taken');
  const protectStopped = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt), limits(5n), item(Tag.ProtectStopDate, 'DateTime', now() - 1)]);
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(protectStopped), units(1n)]))).reason, 'WrongKeyLifecycleState', 'after its Protect Stop Date');
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(id)]))).reason, 'InvalidMessage', 'no Usage Limits Count');
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(id), units(0n)]))).reason, 'InvalidField', 'zero units');
  const secret = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
    structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, U.Encrypt), limits(5n), item(Tag.ActivationDate, 'DateTime', now() - 60)]),
    structure(Tag.SecretData, [enumeration(Tag.SecretDataType, Enum.SecretDataType.Password), structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', Buffer.from('pw'))])])]),
  ]);
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(secret.payload!.need(Tag.UniqueIdentifier, 'TextString')), units(1n)]))).reason, 'InvalidObjectType', 'Secret Data applies no protection');
  await c.close();
});

t.test('2.1 §4.59 Usage Limits: the server sets the Count; after an allocation the attribute is fixed', async (t) => {
  const c = await env.connect(V21);
  const withCount = structure(Tag.UsageLimits, [item(Tag.UsageLimitsTotal, 'LongInteger', 10n), item(Tag.UsageLimitsCount, 'LongInteger', 3n), enumeration(Tag.UsageLimitsUnit, Enum.UsageLimitsUnit.Object)]);
  const id = await key(c, [integer(Tag.CryptographicUsageMask, U.Encrypt), withCount]);
  t.equal(await remaining(c, id), 10n, 'a Count given at creation is ignored: it starts at the Total');
  await c.call('ModifyAttribute', [uid(id), structure(Tag.NewAttribute, [limits(20n)])]);
  t.equal(await remaining(c, id), 20n, 'before any allocation the Total can be corrected, and the Count follows');
  await c.call('GetUsageAllocation', [uid(id), units(1n)]);
  t.equal((await refusal(c.call('ModifyAttribute', [uid(id), structure(Tag.NewAttribute, [limits(30n)])]))).reason, 'AttributeReadOnly', 'no change after an allocation');
  t.equal((await refusal(c.call('DeleteAttribute', [uid(id), enumeration(Tag.AttributeReference, Tag.UsageLimits)]))).reason, 'AttributeReadOnly', 'no deletion after an allocation');
  t.equal(await remaining(c, id), 19n, 'the allocation stands');
  await c.close();
});

t.test('1.4 forms: Check, Obtain Lease and Get Usage Allocation with the 1.x Result Reasons', async (t) => {
  const c = await env.connect(V14);
  const created = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.TemplateAttribute, [
      v1Attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.AES)),
      v1Attr('Cryptographic Length', integer(0, 256)),
      v1Attr('Cryptographic Usage Mask', integer(0, U.Encrypt)),
      v1Attr('Activation Date', item(0, 'DateTime', now() - 60)),
      v1Attr('Usage Limits', limits(3n)),
    ]),
  ]);
  const id = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const ok = await c.call('Check', [uid(id), units(3n), integer(Tag.CryptographicUsageMask, U.Encrypt)]);
  t.equal(ok.payload!.need(Tag.UniqueIdentifier, 'TextString'), id);
  t.equal((await refusal(c.call('Check', [uid(id), integer(Tag.CryptographicUsageMask, U.Decrypt)]))).reason, 'PermissionDenied', '1.4 §11.11: not allowed to use the object');

  const lease = await c.call('ObtainLease', [uid(id)]);
  t.equal(lease.payload!.need(Tag.LeaseTime, 'Interval'), 3600);
  t.ok(lease.payload!.need(Tag.LastChangeDate, 'DateTime') > 0);

  await c.call('GetUsageAllocation', [uid(id), units(2n)]);
  const c21 = await env.connect(V21);
  t.equal(await remaining(c21, id), 1n, 'the 1.4 allocation persisted');
  await c21.close();
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(id), units(2n)]))).reason, 'PermissionDenied', '1.4 §11.19: the amount cannot be granted');
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(id)]))).reason, 'InvalidMessage', '1.4 §11.19: no Usage Limits Count');

  const plain = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.TemplateAttribute, [v1Attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.AES)), v1Attr('Cryptographic Length', integer(0, 128)), v1Attr('Activation Date', item(0, 'DateTime', now() - 60))]),
  ]);
  const plainId = plain.payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.equal((await refusal(c.call('GetUsageAllocation', [uid(plainId), units(1n)]))).reason, 'IllegalOperation', '1.4 §11.19: no Usage Limits attribute');
  await c.call('Revoke', [uid(plainId), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.KeyCompromise)])]);
  t.equal((await refusal(c.call('ObtainLease', [uid(plainId)]))).reason, 'PermissionDenied', '1.4 §11.18: no lease for a compromised key');
  await c.close();
});

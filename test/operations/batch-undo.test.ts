/**
 * Batch Error Continuation Option Undo (KMIP 2.1 §9.6, Table 434) end to end: a batch that
 * changes objects commits as a whole or not at all, against the real SQLite store.
 */
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { KmipClient } from '../../src/client/client.js';
import { type Item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-undo-', 'someone-else');
});
t.teardown(() => env.close());

const createPayload = (label: string): Item[] => [
  enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
  structure(Tag.Attributes, [
    enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
    integer(Tag.CryptographicLength, 256),
    integer(Tag.CryptographicUsageMask, Mask.CryptographicUsageMask.Encrypt | Mask.CryptographicUsageMask.Decrypt),
    name(label),
  ]),
];

async function located(c: KmipClient, label: string): Promise<string[]> {
  const found = await c.call('Locate', [structure(Tag.Attributes, [name(label)])]);
  return found.payload!.values(Tag.UniqueIdentifier, 'TextString');
}

const undo = { batchErrorContinuationOption: 'Undo' as const };

t.test('Undo: a failing item rolls back the Create and Activate before it', async (t) => {
  const c = await env.connect(V21);
  const response = await c.request({
    ...undo,
    items: [
      { operation: Enum.Operation.Create, payload: createPayload('undo-rolled-back') },
      { operation: Enum.Operation.Activate, payload: [] },
      { operation: Enum.Operation.Destroy, payload: [uid('no-such-object')] },
      { operation: Enum.Operation.Get, payload: [] },
    ],
  });
  t.same(
    response.items.map((i) => i.resultStatus),
    [Enum.ResultStatus.OperationUndone, Enum.ResultStatus.OperationUndone, Enum.ResultStatus.OperationFailed],
    'earlier items Operation Undone, the failed one answered, later ones not run',
  );
  t.equal(response.items[2]!.resultReason, Enum.ResultReason.ObjectNotFound);
  // OASIS BL-M-2-21 expects the undone items to keep their Response Payloads: the undone Create
  // still names the Unique Identifier it had, and the rollback leaves no object behind it.
  const undoneUid = response.items[0]!.payload?.get(Tag.UniqueIdentifier, 'TextString');
  t.type(undoneUid, 'string', 'an undone Create keeps its payload and Unique Identifier');
  t.equal(response.items[1]!.payload?.get(Tag.UniqueIdentifier, 'TextString'), undoneUid, 'so does the undone Activate');
  t.same(await located(c, 'undo-rolled-back'), [], 'the created key does not exist');
  t.equal((await refusal(c.call('Get', [uid(undoneUid!)]))).reason, 'ObjectNotFound', 'the undone Unique Identifier names no object');
  await c.close();
});

t.test('Undo: a batch that succeeds commits every item, and later items see earlier ones', async (t) => {
  const c = await env.connect(V14);
  const response = await c.request({
    ...undo,
    items: [
      { operation: Enum.Operation.Create, payload: [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), v1Template('undo-committed')] },
      { operation: Enum.Operation.Activate, payload: [] },
      { operation: Enum.Operation.GetAttributes, payload: [] },
    ],
  });
  t.same(response.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success, Enum.ResultStatus.Success]);
  const created = response.items[0]!.payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.same(await located(c, 'undo-committed'), [created], 'the key exists after the batch');
  await c.close();
  const c21 = await env.connect(V21);
  const attrs = await c21.call('GetAttributes', [uid(created), enumeration(Tag.AttributeReference, Tag.State)]);
  t.equal(attrs.payload!.struct(Tag.Attributes)?.get(Tag.State, 'Enumeration'), Enum.State.Active, 'and the Activate in the same batch took effect');
  await c21.close();
});

t.test('Undo: a Name clash inside the batch rolls back both Creates', async (t) => {
  const c = await env.connect(V21);
  const response = await c.request({
    ...undo,
    items: [
      { operation: Enum.Operation.Create, payload: createPayload('undo-clash') },
      { operation: Enum.Operation.Create, payload: createPayload('undo-clash') },
    ],
  });
  t.same(response.items.map((i) => i.resultStatus), [Enum.ResultStatus.OperationUndone, Enum.ResultStatus.OperationFailed]);
  t.equal(response.items[1]!.resultReason, Enum.ResultReason.NonUniqueNameAttribute, 'the second Create sees the first one inside the batch');
  t.same(await located(c, 'undo-clash'), [], 'neither key exists');
  await c.close();
});

t.test('Query reports Batch Undo Capability', async (t) => {
  const c = await env.connect(V21);
  const q = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryCapabilities)]);
  const caps = q.payload!.struct(Tag.CapabilityInformation);
  t.equal(caps?.get(Tag.BatchUndoCapability, 'Boolean'), true);
  await c.close();
});

/** A 1.x Template-Attribute for an AES-256 key with a Name. */
function v1Template(label: string): Item {
  const attr = (attrName: string, value: Item): Item => structure(Tag.Attribute, [{ tag: Tag.AttributeName, type: 'TextString', value: attrName }, { ...value, tag: Tag.AttributeValue }]);
  return structure(Tag.TemplateAttribute, [
    attr('Cryptographic Algorithm', enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES)),
    attr('Cryptographic Length', integer(Tag.CryptographicLength, 256)),
    attr('Name', name(label)),
  ]);
}

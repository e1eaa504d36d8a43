/**
 * Poll and Cancel (KMIP 2.1 §6.1.38 / §6.1.5; 1.4 §4.28 / §4.27) on a server that answers every
 * request synchronously: Query lists them and says Asynchronous Capability false, and a
 * correlation value never names an outstanding operation — refused with the Result Reason each
 * protocol version prescribes.
 */
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { Item } from '../../src/ttlv/index.js';
import { type TestKmipd, V14, V21, startTestKmipd } from '../support/kmipd.js';

let kmipd: TestKmipd;
t.before(async () => {
  kmipd = await startTestKmipd('kmipd-async-', 'async-other', { keyring: 'software' });
});
t.teardown(() => kmipd.close());

const correlation = (hex: string): Item => ({ tag: Tag.AsynchronousCorrelationValue, type: 'ByteString', value: Buffer.from(hex, 'hex') });

t.test('Query lists Poll and Cancel and says the server never answers asynchronously', async (t) => {
  for (const version of [V14, V21]) {
    const c = await kmipd.connect(version);
    t.teardown(() => c.close());
    const fn = (value: number): Item => ({ tag: Tag.QueryFunction, type: 'Enumeration', value });
    const item = await c.call('Query', [fn(Enum.QueryFunction.QueryOperations), fn(Enum.QueryFunction.QueryCapabilities)]);
    const ops = item.payload!.values(Tag.Operation, 'Enumeration');
    t.ok(ops.includes(Enum.Operation.Poll) && ops.includes(Enum.Operation.Cancel), `${version.major}.${version.minor}: Poll and Cancel are listed`);
    t.equal(item.payload!.needStruct(Tag.CapabilityInformation).get(Tag.AsynchronousCapability, 'Boolean'), false, 'Asynchronous Capability false');
  }
});

t.test('KMIP 2.1: Poll and Cancel of any correlation value fail with Invalid Asynchronous Correlation Value', async (t) => {
  const c = await kmipd.connect(V21);
  t.teardown(() => c.close());
  for (const name of ['Poll', 'Cancel'] as const) {
    const [item] = (await c.request({ items: [{ operation: Enum.Operation[name], payload: [correlation('00112233')] }] })).items;
    if (!item) throw new Error('no batch item');
    t.equal(item.resultStatus, Enum.ResultStatus.OperationFailed, `${name} failed`);
    t.equal(item.resultReason, Enum.ResultReason.InvalidAsynchronousCorrelationValue, `${name}: Invalid Asynchronous Correlation Value`);
    t.match(item.resultMessage, /synchronously/, `${name}: the message says why`);
  }
});

t.test('KMIP 1.4: Poll fails with Item Not Found; Cancel answers Unavailable', async (t) => {
  const c = await kmipd.connect(V14);
  t.teardown(() => c.close());
  const [poll] = (await c.request({ items: [{ operation: Enum.Operation.Poll, payload: [correlation('abcd')] }] })).items;
  const [cancel] = (await c.request({ items: [{ operation: Enum.Operation.Cancel, payload: [correlation('abcd')] }] })).items;
  t.equal(poll?.resultStatus, Enum.ResultStatus.OperationFailed);
  t.equal(poll?.resultReason, Enum.ResultReason.ItemNotFound, 'Poll: Item Not Found (1.4 §11.29)');
  t.equal(cancel?.resultStatus, Enum.ResultStatus.Success, 'Cancel succeeds (1.4 §11.28 lists no errors)');
  t.same(Buffer.from(cancel!.payload!.need(Tag.AsynchronousCorrelationValue, 'ByteString')), Buffer.from('abcd', 'hex'), 'the correlation value is echoed');
  t.equal(cancel!.payload!.need(Tag.CancellationResult, 'Enumeration'), Enum.CancellationResult.Unavailable, 'Cancellation Result Unavailable');
});

t.test('Poll and Cancel without a correlation value are Invalid Message', async (t) => {
  const c = await kmipd.connect(V21);
  t.teardown(() => c.close());
  for (const name of ['Poll', 'Cancel'] as const) {
    const [item] = (await c.request({ items: [{ operation: Enum.Operation[name], payload: [] }] })).items;
    t.equal(item?.resultReason, Enum.ResultReason.InvalidMessage, name);
  }
});

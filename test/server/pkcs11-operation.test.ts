/**
 * The PKCS#11 operation (KMIP 2.1 §6.1.37) end to end: a client opens a PKCS#11 application
 * context, reads the server's library information (SoftHSM2 behind the pkcs11 keyring) and closes
 * it; functions that would reach kmipd's token are not offered, and a server on the software
 * keyring has no PKCS#11 interface at all.
 */
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { softHsmInstalled } from '../../src/keys/softhsm.js';
import type { KmipClient } from '../../src/client/client.js';
import type { ParsedResponseItem } from '../../src/kmip/message.js';
import type { Item } from '../../src/ttlv/index.js';
import { type TestKmipd, V14, V21, startTestKmipd } from '../support/kmipd.js';

const RC = Enum.PKCS_11ReturnCode;
const F = Enum.PKCS_11Function;
const noSoftHsm = softHsmInstalled() ? false : 'SoftHSM2 is not installed';

let hsm: TestKmipd;
let software: TestKmipd;
t.before(async () => {
  software = await startTestKmipd('kmipd-pkcs11-op-sw-', 'pkcs11-other', { keyring: 'software' });
  if (!noSoftHsm) hsm = await startTestKmipd('kmipd-pkcs11-op-', 'pkcs11-other', { keyring: 'pkcs11' });
});
t.teardown(async () => {
  await software.close();
  await hsm?.close();
});

interface Pkcs11Call {
  fn: number | { vendor: number };
  correlation?: Uint8Array;
  input?: Uint8Array;
  iface?: string;
}

async function pkcs11(c: KmipClient, call: Pkcs11Call): Promise<ParsedResponseItem> {
  const payload: Item[] = [];
  if (call.iface !== undefined) payload.push({ tag: Tag.PKCS_11Interface, type: 'TextString', value: call.iface });
  payload.push(typeof call.fn === 'number' ? { tag: Tag.PKCS_11Function, type: 'Enumeration', value: call.fn } : { tag: Tag.PKCS_11Function, type: 'Integer', value: call.fn.vendor });
  if (call.correlation) payload.push({ tag: Tag.CorrelationValue, type: 'ByteString', value: call.correlation });
  if (call.input) payload.push({ tag: Tag.PKCS_11InputParameters, type: 'ByteString', value: call.input });
  const [item] = (await c.request({ items: [{ operation: Enum.Operation.PKCS_11, payload }] })).items;
  if (!item) throw new Error('no batch item');
  return item;
}

const returnCode = (item: ParsedResponseItem): number | undefined => item.payload?.get(Tag.PKCS_11ReturnCode, 'Enumeration');

t.test('C_Initialize, C_GetInfo and C_Finalize answer from the HSM library', { skip: noSoftHsm }, async (t) => {
  const c = await hsm.connect(V21);
  t.teardown(() => c.close());
  const init = await pkcs11(c, { fn: F.C_Initialize, input: Buffer.from('01', 'hex') });
  t.equal(init.resultStatus, Enum.ResultStatus.Success);
  t.equal(returnCode(init), RC.OK, 'C_Initialize: CKR_OK');
  const correlation = init.payload!.need(Tag.CorrelationValue, 'ByteString');
  t.ok(correlation.length >= 16, 'a correlation value to send back');

  const info = await pkcs11(c, { fn: F.C_GetInfo, correlation });
  t.equal(returnCode(info), RC.OK, 'C_GetInfo: CKR_OK');
  t.equal(info.payload!.get(Tag.PKCS_11Function, 'Enumeration'), F.C_GetInfo, 'the function is named in the answer');
  t.notOk(info.payload!.has(Tag.CorrelationValue), 'no new correlation value after C_Initialize');
  const ckInfo = Buffer.from(info.payload!.need(Tag.PKCS_11OutputParameters, 'ByteString'));
  t.equal(ckInfo.length, 76, 'CK_INFO in the profile encoding: 2 + 32 + 8 + 32 + 2 bytes');
  t.same([ckInfo[0], ckInfo[1]], [2, 40], 'Cryptoki version 2.40 (SoftHSM2)');
  t.equal(ckInfo.subarray(2, 34).toString('latin1').trimEnd(), 'SoftHSM', 'manufacturerID, blank padded');
  t.equal(ckInfo.readBigUInt64BE(34), 0n, 'flags: an 8-byte CK_ULONG, zero');
  t.match(ckInfo.subarray(42, 74).toString('latin1'), /^Implementation of PKCS11 +$/, 'libraryDescription, blank padded');

  const fin = await pkcs11(c, { fn: F.C_Finalize, correlation });
  t.equal(returnCode(fin), RC.OK, 'C_Finalize: CKR_OK');
  const after = await pkcs11(c, { fn: F.C_GetInfo, correlation });
  t.equal(returnCode(after), RC.CRYPTOKI_NOT_INITIALIZED, 'after C_Finalize the context is gone');

  // kmipd's own use of the token is untouched by the client's C_Finalize.
  const key = await c.call('Create', [
    { tag: Tag.ObjectType, type: 'Enumeration', value: Enum.ObjectType.SymmetricKey },
    {
      tag: Tag.Attributes,
      type: 'Structure',
      value: [
        { tag: Tag.CryptographicAlgorithm, type: 'Enumeration', value: Enum.CryptographicAlgorithm.AES },
        { tag: Tag.CryptographicLength, type: 'Integer', value: 256 },
        { tag: Tag.CryptographicUsageMask, type: 'Integer', value: 12 },
      ],
    },
  ]);
  t.ok(key.payload?.get(Tag.UniqueIdentifier, 'TextString'), 'the server still creates keys');
});

t.test('a context is its opener\'s: another client, or none, gets CKR_CRYPTOKI_NOT_INITIALIZED', { skip: noSoftHsm }, async (t) => {
  const owner = await hsm.connect(V21);
  const other = await hsm.connect(V21, hsm.other);
  t.teardown(async () => {
    await owner.close();
    await other.close();
  });
  const correlation = (await pkcs11(owner, { fn: F.C_Initialize })).payload!.need(Tag.CorrelationValue, 'ByteString');
  t.equal(returnCode(await pkcs11(other, { fn: F.C_GetInfo, correlation })), RC.CRYPTOKI_NOT_INITIALIZED, 'another identity');
  t.equal(returnCode(await pkcs11(owner, { fn: F.C_GetInfo })), RC.CRYPTOKI_NOT_INITIALIZED, 'no correlation value');
  t.equal(returnCode(await pkcs11(owner, { fn: F.C_Initialize, correlation })), RC.CRYPTOKI_ALREADY_INITIALIZED, 'C_Initialize twice');
  t.equal(returnCode(await pkcs11(owner, { fn: F.C_Finalize, correlation, input: Buffer.from('00', 'hex') })), RC.ARGUMENTS_BAD, 'C_Finalize with a pReserved');
  t.equal(returnCode(await pkcs11(owner, { fn: F.C_Finalize, correlation })), RC.OK);
});

t.test('functions that would reach kmipd\'s token answer CKR_FUNCTION_NOT_SUPPORTED', { skip: noSoftHsm }, async (t) => {
  const c = await hsm.connect(V21);
  t.teardown(() => c.close());
  const correlation = (await pkcs11(c, { fn: F.C_Initialize })).payload!.need(Tag.CorrelationValue, 'ByteString');
  for (const fn of [F.C_GetSlotList, F.C_OpenSession, F.C_Login, F.C_FindObjectsInit, F.C_Decrypt]) {
    const item = await pkcs11(c, { fn, correlation });
    t.equal(item.resultStatus, Enum.ResultStatus.Success);
    t.equal(returnCode(item), RC.FUNCTION_NOT_SUPPORTED, `function ${fn}`);
  }
});

t.test('an unknown interface or a vendor function is refused with its PKCS#11 Result Reason', { skip: noSoftHsm }, async (t) => {
  const c = await hsm.connect(V21);
  t.teardown(() => c.close());
  const iface = await pkcs11(c, { fn: F.C_Initialize, iface: 'Vendor NSS' });
  t.equal(iface.resultReason, Enum.ResultReason.PKCS_11InvalidInterface);
  const named = await pkcs11(c, { fn: F.C_Initialize, iface: 'PKCS 11' });
  t.equal(returnCode(named), RC.OK, 'the default interface by its name');
  t.equal(named.payload!.get(Tag.PKCS_11Interface, 'TextString'), 'PKCS 11', 'and named in the answer');
  const vendor = await pkcs11(c, { fn: { vendor: 0x1234 } });
  t.equal(vendor.resultReason, Enum.ResultReason.PKCS_11InvalidFunction);
});

t.test('on the software keyring there is no PKCS#11 interface', async (t) => {
  const c = await software.connect(V21);
  t.teardown(() => c.close());
  const item = await pkcs11(c, { fn: F.C_Initialize });
  t.equal(item.resultStatus, Enum.ResultStatus.OperationFailed);
  t.equal(item.resultReason, Enum.ResultReason.PKCS_11InvalidInterface);
  t.match(item.resultMessage, /software keyring/);
});

t.test('KMIP 1.4 has no PKCS#11 operation', async (t) => {
  const c = await software.connect(V14);
  t.teardown(() => c.close());
  const [item] = (await c.request({ items: [{ operation: Enum.Operation.PKCS_11, payload: [] }] })).items;
  t.equal(item?.resultReason, Enum.ResultReason.OperationNotSupported);
});

t.test('Query lists PKCS#11 only where it works: KMIP 2.x on the pkcs11 keyring', async (t) => {
  const listed = async (server: TestKmipd, version: typeof V21): Promise<boolean> => {
    const c = await server.connect(version);
    try {
      const item = await c.call('Query', [{ tag: Tag.QueryFunction, type: 'Enumeration', value: Enum.QueryFunction.QueryOperations }]);
      return item.payload!.values(Tag.Operation, 'Enumeration').includes(Enum.Operation.PKCS_11);
    } finally {
      await c.close();
    }
  };
  t.notOk(await listed(software, V21), 'software keyring, 2.1: not listed');
  if (!noSoftHsm) {
    t.ok(await listed(hsm, V21), 'pkcs11 keyring, 2.1: listed');
    t.notOk(await listed(hsm, V14), 'pkcs11 keyring, 1.4: not listed (no such operation)');
  }
});

t.test('a context unused for an hour is forgotten', { skip: noSoftHsm }, async (t) => {
  let now = Math.floor(Date.now() / 1000);
  const timed = await startTestKmipd('kmipd-pkcs11-op-clock-', 'pkcs11-other', { keyring: 'pkcs11', clock: { now: () => now } });
  t.teardown(() => timed.close());
  const c = await timed.connect(V21);
  t.teardown(() => c.close());
  const correlation = (await pkcs11(c, { fn: F.C_Initialize })).payload!.need(Tag.CorrelationValue, 'ByteString');
  now += 3000;
  t.equal(returnCode(await pkcs11(c, { fn: F.C_GetInfo, correlation })), RC.OK, 'used after 50 minutes');
  now += 3000;
  t.equal(returnCode(await pkcs11(c, { fn: F.C_GetInfo, correlation })), RC.OK, 'the use counts: 50 minutes since the last call');
  now += 3601;
  t.equal(returnCode(await pkcs11(c, { fn: F.C_GetInfo, correlation })), RC.CRYPTOKI_NOT_INITIALIZED, 'over an hour idle: gone');
});

/**
 * The message processor, driven with item trees (no sockets): version negotiation, batches,
 * refusals and their Result Reasons, Discover Versions and Query in each protocol version.
 */
import t from 'tap';
import pino from 'pino';
import { type Item, TtlvError, structure, fromXml, toXml } from '../../src/ttlv/index.js';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { SUPPORTED_VERSIONS, type ProtocolVersion } from '../../src/kmip/version.js';
import { KmipError } from '../../src/kmip/errors.js';
import { OperationRegistry } from '../../src/operations/registry.js';
import { discoverVersions } from '../../src/operations/discover-versions.js';
import { query } from '../../src/operations/query.js';
import { Processor } from '../../src/server/processor.js';
import type { RequestContext } from '../../src/server/types.js';

const ctx: RequestContext = {
  identity: { name: 'tester', subject: 'CN=tester', fingerprint256: 'AA' },
  peer: '127.0.0.1:1',
  transport: 'tls',
  encoding: 'binary',
  log: pino({ level: 'silent' }),
  signal: new AbortController().signal,
};

function makeProcessor(extra: (r: OperationRegistry) => void = () => {}): Processor {
  const operations = new OperationRegistry().register(discoverVersions).register(query);
  extra(operations);
  return new Processor({
    operations,
    server: { vendor: 'kmipd', product: 'kmipd', version: '0.1.0', nodeId: 'n1', warnings: [] },
    clock: { now: () => 1_700_000_000 },
    maxBatchItems: 4,
  });
}

const int = (tag: number, value: number): Item => ({ tag, type: 'Integer', value });
const en = (tag: number, value: number): Item => ({ tag, type: 'Enumeration', value });
const version = (v: ProtocolVersion): Item => structure(Tag.ProtocolVersion, [int(Tag.ProtocolVersionMajor, v.major), int(Tag.ProtocolVersionMinor, v.minor)]);

function request(v: ProtocolVersion, items: Item[][], header: Item[] = []): Item {
  return structure(Tag.RequestMessage, [
    structure(Tag.RequestHeader, [version(v), ...header, int(Tag.BatchCount, items.length)]),
    ...items.map((children) => structure(Tag.BatchItem, children)),
  ]);
}

const op = (operation: number, payload: Item[] = []): Item[] => [en(Tag.Operation, operation), structure(Tag.RequestPayload, payload)];

interface Answer {
  version: string;
  items: { op?: number; status: number; reason?: number; message?: string; payload?: Fields }[];
  header: Fields;
}

function read(response: Item): Answer {
  const msg = Fields.of(response, 'Response Message');
  t.equal(response.tag, Tag.ResponseMessage);
  const header = msg.needStruct(Tag.ResponseHeader);
  const pv = header.needStruct(Tag.ProtocolVersion);
  const items = msg.all(Tag.BatchItem).map((it) => {
    const f = Fields.of(it, 'Batch Item');
    const out: Answer['items'][number] = { status: f.need(Tag.ResultStatus, 'Enumeration') };
    const o = f.get(Tag.Operation, 'Enumeration');
    const reason = f.get(Tag.ResultReason, 'Enumeration');
    const message = f.get(Tag.ResultMessage, 'TextString');
    const payload = f.struct(Tag.ResponsePayload);
    if (o !== undefined) out.op = o;
    if (reason !== undefined) out.reason = reason;
    if (message !== undefined) out.message = message;
    if (payload) out.payload = payload;
    return out;
  });
  t.equal(header.need(Tag.BatchCount, 'Integer'), items.length, 'Batch Count matches the items');
  return { version: `${pv.need(Tag.ProtocolVersionMajor, 'Integer')}.${pv.need(Tag.ProtocolVersionMinor, 'Integer')}`, items, header };
}

t.test('Discover Versions in every supported version', async (t) => {
  const p = makeProcessor();
  for (const v of SUPPORTED_VERSIONS) {
    if (v.major === 1 && v.minor === 0) continue; // Discover Versions exists from KMIP 1.1 on
    const all = read(await p.handle(request(v, [op(Enum.Operation.DiscoverVersions)]), ctx));
    t.equal(all.version, `${v.major}.${v.minor}`, 'answered in the request version');
    const listed = all.items[0]!.payload!.all(Tag.ProtocolVersion).map((it) => {
      const f = Fields.of(it, 'pv');
      return `${f.need(Tag.ProtocolVersionMajor, 'Integer')}.${f.need(Tag.ProtocolVersionMinor, 'Integer')}`;
    });
    t.same(listed, ['2.1', '2.0', '1.4', '1.3', '1.2', '1.1', '1.0'], 'no client list: every version, most preferred first');
  }
  const some = read(await p.handle(request({ major: 1, minor: 2 }, [op(Enum.Operation.DiscoverVersions, [version({ major: 1, minor: 0 }), version({ major: 1, minor: 2 }), version({ major: 3, minor: 0 })])]), ctx));
  t.equal(some.items[0]!.payload!.all(Tag.ProtocolVersion).length, 2, 'only the versions both sides speak');
  const none = read(await p.handle(request({ major: 1, minor: 1 }, [op(Enum.Operation.DiscoverVersions, [version({ major: 3, minor: 0 })])]), ctx));
  t.same(none.items[0]!.payload!.all(Tag.ProtocolVersion), [], 'nothing shared: an empty list');
});

t.test('Query Operations lists exactly the registered operations that exist in the version', async (t) => {
  const p = makeProcessor();
  for (const v of SUPPORTED_VERSIONS) {
    const a = read(await p.handle(request(v, [op(Enum.Operation.Query, [en(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)])]), ctx));
    const ops = a.items[0]!.payload!.values(Tag.Operation, 'Enumeration');
    t.same(ops.sort(), [Enum.Operation.Query, Enum.Operation.DiscoverVersions].filter((o) => o !== Enum.Operation.DiscoverVersions || v.major > 1 || v.minor >= 1).sort(), `KMIP ${v.major}.${v.minor}`);
  }
});

t.test('Query Server Information, Capabilities and RNGs answer in the shape of the version', async (t) => {
  const p = makeProcessor();
  const q = (v: ProtocolVersion) =>
    p.handle(
      request(v, [
        op(Enum.Operation.Query, [
          en(Tag.QueryFunction, Enum.QueryFunction.QueryServerInformation),
          en(Tag.QueryFunction, Enum.QueryFunction.QueryCapabilities),
          en(Tag.QueryFunction, Enum.QueryFunction.QueryRNGs),
        ]),
      ]),
      ctx,
    );
  const v21 = read(await q({ major: 2, minor: 1 })).items[0]!.payload!;
  t.equal(v21.need(Tag.VendorIdentification, 'TextString'), 'kmipd');
  t.equal(v21.needStruct(Tag.ServerInformation).need(Tag.ProductName, 'TextString'), 'kmipd');
  t.ok(v21.struct(Tag.CapabilityInformation), 'capabilities in 2.1');
  t.same(v21.all(Tag.RNGParameters).map((r) => Fields.of(r, 'RNG Parameters').need(Tag.RNGAlgorithm, 'Enumeration')), [Enum.RNGAlgorithm.DRBG, Enum.RNGAlgorithm.DRBG], 'the HMAC_DRBG of RNG Retrieve and the CTR_DRBG of key generation');
  const v12 = read(await q({ major: 1, minor: 2 })).items[0]!.payload!;
  t.ok(v12.has(Tag.VendorIdentification));
  t.notOk(v12.has(Tag.CapabilityInformation), 'KMIP 1.2 has no Capability Information');
  t.notOk(v12.has(Tag.RNGParameters), 'KMIP 1.2 has no Query RNGs');
});

t.test('an unknown Query Function is an Invalid Field', async (t) => {
  const a = read(await makeProcessor().handle(request({ major: 2, minor: 1 }, [op(Enum.Operation.Query, [en(Tag.QueryFunction, 0x7fff)])]), ctx));
  t.equal(a.items[0]!.reason, Enum.ResultReason.InvalidField);
});

t.test('an operation kmipd does not implement gets Operation Not Supported, with the operation echoed', async (t) => {
  const a = read(await makeProcessor().handle(request({ major: 1, minor: 4 }, [op(Enum.Operation.Create)]), ctx));
  t.equal(a.items[0]!.status, Enum.ResultStatus.OperationFailed);
  t.equal(a.items[0]!.reason, Enum.ResultReason.OperationNotSupported);
  t.equal(a.items[0]!.op, Enum.Operation.Create);
  t.match(a.items[0]!.message, /Create is not supported/);
});

t.test('an operation that does not exist in the request version is not supported there', async (t) => {
  const p = makeProcessor((r) => r.register({ name: 'Hash', mutates: false, permission: 'read', handler: () => [] }));
  t.equal(read(await p.handle(request({ major: 1, minor: 4 }, [op(Enum.Operation.Hash)]), ctx)).items[0]!.status, Enum.ResultStatus.Success);
  t.equal(read(await p.handle(request({ major: 1, minor: 0 }, [op(Enum.Operation.Hash)]), ctx)).items[0]!.reason, Enum.ResultReason.OperationNotSupported);
});

t.test('protocol versions: newer minor answered in our highest minor, unknown major refused', async (t) => {
  const p = makeProcessor();
  t.equal(read(await p.handle(request({ major: 1, minor: 9 }, [op(Enum.Operation.DiscoverVersions)]), ctx)).version, '1.4');
  const v3 = read(await p.handle(request({ major: 3, minor: 0 }, [op(Enum.Operation.DiscoverVersions)], [{ tag: Tag.ClientCorrelationValue, type: 'TextString', value: 'c-1' }]), ctx));
  t.equal(v3.version, '2.1', 'answered in the newest version kmipd speaks');
  t.equal(v3.items[0]!.reason, Enum.ResultReason.UnsupportedProtocolVersion);
  t.equal(v3.items[0]!.op, undefined, 'a message-level failure has no Operation');
  t.equal(v3.header.get(Tag.ClientCorrelationValue, 'TextString'), 'c-1', 'the client correlation value is echoed');
  const v0 = read(await p.handle(request({ major: 0, minor: 9 }, [op(Enum.Operation.DiscoverVersions)]), ctx));
  t.equal(v0.version, '1.0');
  t.equal(v0.items[0]!.reason, Enum.ResultReason.InvalidMessage, 'KMIP 1.0 has no Unsupported Protocol Version: Invalid Message (1.4 §11.1)');
});

t.test('malformed messages are Invalid Message, echoing what the header said', async (t) => {
  const p = makeProcessor();
  const notRequest = read(await p.handle(structure(Tag.ResponseMessage, []), ctx));
  t.equal(notRequest.items[0]!.reason, Enum.ResultReason.InvalidMessage);
  const wrongCount = request({ major: 2, minor: 1 }, [op(Enum.Operation.Query)], [{ tag: Tag.ClientCorrelationValue, type: 'TextString', value: 'abc' }]);
  (((wrongCount as { value: Item[] }).value[0] as { value: Item[] }).value.at(-1) as { value: number }).value = 2;
  const a = read(await p.handle(wrongCount, ctx));
  t.equal(a.items[0]!.reason, Enum.ResultReason.InvalidMessage);
  t.match(a.items[0]!.message, /Batch Count says 2/);
  t.equal(a.version, '2.1');
  t.equal(a.header.get(Tag.ClientCorrelationValue, 'TextString'), 'abc');
  const missingPayload = read(await p.handle(request({ major: 2, minor: 1 }, [[en(Tag.Operation, Enum.Operation.Query)]]), ctx));
  t.equal(missingPayload.items[0]!.reason, Enum.ResultReason.InvalidMessage, 'a batch item without payload fails alone');
  t.equal(missingPayload.items[0]!.op, Enum.Operation.Query);
  const undecodable = read(p.undecodable(new TtlvError('BAD_PADDING', 'non-zero padding byte', 12), ctx));
  t.equal(undecodable.items[0]!.reason, Enum.ResultReason.InvalidMessage);
});

t.test('too many batch items is refused as a whole', async (t) => {
  const p = makeProcessor();
  const a = read(await p.handle(request({ major: 2, minor: 1 }, Array.from({ length: 5 }, () => op(Enum.Operation.Query))), ctx));
  t.equal(a.items.length, 1);
  t.equal(a.items[0]!.reason, Enum.ResultReason.ServerLimitExceeded);
  const v12 = read(await p.handle(request({ major: 1, minor: 2 }, Array.from({ length: 5 }, () => op(Enum.Operation.Query))), ctx));
  t.equal(v12.items[0]!.reason, Enum.ResultReason.GeneralFailure, 'a reason 1.2 lacks falls back to General Failure');
});

t.test('Batch Error Continuation Option: Stop, Continue and Undo', async (t) => {
  const p = makeProcessor();
  const items = [op(Enum.Operation.Query), op(Enum.Operation.Create), op(Enum.Operation.DiscoverVersions)];
  const option = (value: number): Item[] => [en(Tag.BatchErrorContinuationOption, value)];
  const stop = read(await p.handle(request({ major: 1, minor: 4 }, items, option(Enum.BatchErrorContinuationOption.Stop)), ctx));
  t.same(stop.items.map((i) => i.status), [Enum.ResultStatus.Success, Enum.ResultStatus.OperationFailed], 'Stop: nothing after the failure');
  const dflt = read(await p.handle(request({ major: 1, minor: 4 }, items), ctx));
  t.equal(dflt.items.length, 2, 'Stop is the default');
  const cont = read(await p.handle(request({ major: 1, minor: 4 }, items, option(Enum.BatchErrorContinuationOption.Continue)), ctx));
  t.same(cont.items.map((i) => i.status), [Enum.ResultStatus.Success, Enum.ResultStatus.OperationFailed, Enum.ResultStatus.Success], 'Continue: every item answered');
  const undo = read(await p.handle(request({ major: 1, minor: 4 }, items, option(Enum.BatchErrorContinuationOption.Undo)), ctx));
  t.same(undo.items.map((i) => i.status), [Enum.ResultStatus.OperationUndone, Enum.ResultStatus.OperationFailed], 'Undo: earlier items undone');
  t.not(undo.items[0]!.payload, undefined, 'an undone item keeps its payload (OASIS BL-M-2-21)');
});

t.test('the ID Placeholder is carried from one batch item to the next and not beyond', async (t) => {
  const seen: (string | undefined)[] = [];
  const p = makeProcessor((r) =>
    r
      .register({ name: 'Create', mutates: true, permission: 'write', handler: () => [{ tag: Tag.UniqueIdentifier, type: 'TextString', value: 'uid-1' }], placeholder: (resp) => (resp[0]?.type === 'TextString' ? resp[0].value : undefined) })
      .register({ name: 'Activate', mutates: true, permission: 'write', handler: (_p, c) => (seen.push(c.idPlaceholder), []) }),
  );
  await p.handle(request({ major: 2, minor: 1 }, [op(Enum.Operation.Activate), op(Enum.Operation.Create), op(Enum.Operation.Activate)]), ctx);
  await p.handle(request({ major: 2, minor: 1 }, [op(Enum.Operation.Activate)]), ctx);
  t.same(seen, [undefined, 'uid-1', undefined]);
});

t.test('Maximum Response Size turns a large answer into Response Too Large', async (t) => {
  const p = makeProcessor();
  const q = (max: number) => p.handle(request({ major: 2, minor: 1 }, [op(Enum.Operation.Query, [en(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)])], [int(Tag.MaximumResponseSize, max)]), ctx);
  const small = read(await q(64));
  t.equal(small.items[0]!.reason, Enum.ResultReason.ResponseTooLarge);
  t.equal(small.items[0]!.op, Enum.Operation.Query);
  t.equal(read(await q(4096)).items[0]!.status, Enum.ResultStatus.Success);
});

t.test('a handler that throws something unexpected yields General Failure with an incident id, and nothing internal', async (t) => {
  const logged: string[] = [];
  const log = pino({ level: 'error' }, { write: (s: string) => void logged.push(s) });
  const p = makeProcessor((r) =>
    r
      .register({ name: 'Get', mutates: false, permission: 'read', handler: () => { throw new Error('secret internals at /src/x.ts:10'); } })
      .register({ name: 'Check', mutates: false, permission: 'read', handler: () => { throw new KmipError('ItemNotFound', 'no object with that identifier'); } }),
  );
  const a = read(await p.handle(request({ major: 2, minor: 1 }, [op(Enum.Operation.Get)]), { ...ctx, log }));
  t.equal(a.items[0]!.reason, Enum.ResultReason.GeneralFailure);
  const incident = /incident ([0-9a-f-]{36})/.exec(a.items[0]!.message ?? '')?.[1];
  t.ok(incident, 'the message names an incident id');
  t.notMatch(a.items[0]!.message, /secret|\.ts/, 'no internals on the wire');
  t.ok(logged.some((l) => l.includes(incident!) && l.includes('secret internals')), 'the log has the incident and the error');
  const b = read(await p.handle(request({ major: 2, minor: 1 }, [op(Enum.Operation.Check)]), ctx));
  t.equal(b.items[0]!.reason, Enum.ResultReason.ItemNotFound);
  t.equal(b.items[0]!.message, 'no object with that identifier');
});

t.test('a payload that cannot be encoded fails its own item with an incident id; the batch goes on', async (t) => {
  const p = makeProcessor((r) => r.register({ name: 'Check', mutates: false, permission: 'read', handler: () => [{ tag: Tag.UniqueIdentifier, type: 'Integer', value: 2 ** 40 }] }));
  const response = await p.handle(request({ major: 2, minor: 1 }, [op(Enum.Operation.Check), op(Enum.Operation.DiscoverVersions)], [en(Tag.BatchErrorContinuationOption, Enum.BatchErrorContinuationOption.Continue)]), ctx);
  const a = read(response);
  t.equal(a.items[0]!.reason, Enum.ResultReason.GeneralFailure);
  t.match(a.items[0]!.message, /incident [0-9a-f-]{36}/);
  t.equal(a.items[1]!.status, Enum.ResultStatus.Success);
});

t.test('the OASIS MSGENC Query step in KMIP XML: Response Too Large under a small limit, success at 2048', async (t) => {
  const p = makeProcessor();
  const xml = (max: number) => `<RequestMessage><RequestHeader><ProtocolVersion><ProtocolVersionMajor type="Integer" value="2"/><ProtocolVersionMinor type="Integer" value="1"/></ProtocolVersion>
    <MaximumResponseSize type="Integer" value="${max}"/><BatchCount type="Integer" value="1"/></RequestHeader>
    <BatchItem><Operation type="Enumeration" value="Query"/><RequestPayload><QueryFunction type="Enumeration" value="QueryOperations"/><QueryFunction type="Enumeration" value="QueryObjects"/></RequestPayload></BatchItem></RequestMessage>`;
  const tooLarge = toXml(await p.handle(fromXml(xml(128)), ctx));
  t.match(tooLarge, /ResultReason type="Enumeration" value="ResponseTooLarge"/);
  t.match(toXml(await p.handle(fromXml(xml(2048)), ctx)), /ResultStatus type="Enumeration" value="Success"/);
});

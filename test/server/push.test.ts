/**
 * Server-to-client operations over real mutual TLS: a client makes kmipd take the Client endpoint
 * role (Set Endpoint Role, KMIP 2.1 §6.1.54) and then receives Notify and Put (§6.2.2, §6.2.3) as
 * request messages for the objects of its identity that other connections change.
 */
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type KmipClient, acknowledge } from '../../src/client/client.js';
import { Fields } from '../../src/kmip/fields.js';
import { parseBatchItem, parseRequestHeader, parseResponse, writeRequest } from '../../src/kmip/message.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, decode, encode, item, structure } from '../../src/ttlv/index.js';
import { V14, V21, refusal, startTestKmipd, type TestKmipd } from '../support/kmipd.js';
import { enumeration, integer, uid } from '../support/items.js';
import { runKmipctl } from '../support/kmipctl.js';

let env: TestKmipd;

t.before(async () => {
  env = await startTestKmipd('kmipd-push-', 'push-other', { https: true });
});

t.teardown(() => env.close());

interface Pushed {
  operation: number;
  ccv: string | undefined;
  payload: Fields;
}

/** A connection in the Client role that records what kmipd pushes and acknowledges it. */
async function listener(who = env.owner): Promise<{ client: KmipClient; next(): Promise<Pushed>; received: Pushed[] }> {
  const client = await env.connect(V21, who);
  const received: Pushed[] = [];
  const waiting: ((p: Pushed) => void)[] = [];
  client.onRequest((request) => {
    const { header, items } = parseRequestHeader(request);
    const batch = parseBatchItem(items[0]!);
    const pushed = { operation: batch.operation, ccv: header.clientCorrelationValue, payload: batch.payload };
    const waiter = waiting.shift();
    if (waiter) waiter(pushed);
    else received.push(pushed);
    return acknowledge(request);
  });
  const answer = await client.call('SetEndpointRole', [enumeration(Tag.EndpointRole, Enum.EndpointRole.Client)]);
  if (answer.payload!.need(Tag.EndpointRole, 'Enumeration') !== Enum.EndpointRole.Client) throw new Error('kmipd did not take the Client role');
  return {
    client,
    received,
    next: () =>
      new Promise((resolve, reject) => {
        const first = received.shift();
        if (first) return resolve(first);
        const timer = setTimeout(() => reject(new Error('no push within 5 s')), 5000);
        waiting.push((p) => {
          clearTimeout(timer);
          resolve(p);
        });
      }),
  };
}

async function createKey(c: KmipClient): Promise<string> {
  const created = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [
      enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
      integer(Tag.CryptographicLength, 256),
      integer(Tag.CryptographicUsageMask, 0x0000000c /* Encrypt | Decrypt */),
    ]),
  ]);
  return created.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

function changedAttributes(p: Pushed): Item[] {
  return p.payload.struct(Tag.Attributes)?.item.value ?? [];
}

t.test('Query lists Set Endpoint Role, Notify and Put only in the versions that have them', async (t) => {
  for (const [version, hasRole] of [[V21, true], [V14, false]] as const) {
    const c = await env.connect(version);
    const ops = (await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)])).payload!.values(Tag.Operation, 'Enumeration');
    t.ok(ops.includes(Enum.Operation.Notify) && ops.includes(Enum.Operation.Put), `${version.major}.${version.minor}: Notify and Put are listed`);
    t.equal(ops.includes(Enum.Operation.SetEndpointRole), hasRole, `${version.major}.${version.minor}: Set Endpoint Role ${hasRole ? 'is' : 'is not'} listed`);
    await c.close();
  }
});

t.test('a change made on another connection of the same identity arrives as a Notify request', async (t) => {
  const push = await listener();
  const worker = await env.connect(V21);
  const id = await createKey(worker);
  await worker.call('Activate', [uid(id)]);
  const notify = await push.next();
  t.equal(notify.operation, Enum.Operation.Notify, 'a Notify request message');
  t.match(notify.ccv, /^kmipd-push-\d+$/, 'carrying kmipd\'s Client Correlation Value');
  t.equal(notify.payload.need(Tag.UniqueIdentifier, 'TextString'), id, 'for the activated key');
  const attrs = changedAttributes(notify);
  t.ok(attrs.some((a) => a.tag === Tag.State && a.value === Enum.State.Active), 'State Active is among the changed attributes');
  t.ok(attrs.some((a) => a.tag === Tag.ActivationDate), 'so is the Activation Date');
  t.ok(attrs.some((a) => a.tag === Tag.LastChangeDate), 'and Last Change Date (KMIP 2.1 §6.2.2)');

  await worker.call('SetAttribute', [uid(id), structure(Tag.NewAttribute, [item(Tag.ContactInformation, 'TextString', 'ops@example.com')])]);
  let contact = await push.next();
  while (!changedAttributes(contact).some((a) => a.tag === Tag.ContactInformation)) contact = await push.next();
  await worker.call('DeleteAttribute', [uid(id), item(Tag.AttributeReference, 'Enumeration', Tag.ContactInformation)]);
  const deleted = await push.next();
  t.same(deleted.payload.values(Tag.AttributeReference, 'Enumeration'), [Tag.ContactInformation], 'a deleted attribute is named by Attribute Reference');
  await worker.close();
  await push.client.close();
});

t.test('Re-key pushes the replacement key with Put Function Replace', async (t) => {
  const push = await listener();
  const worker = await env.connect(V21);
  const id = await createKey(worker);
  const replacement = (await worker.call('ReKey', [uid(id)])).payload!.need(Tag.UniqueIdentifier, 'TextString');
  const pushed = [await push.next(), await push.next()];
  const put = pushed.find((p) => p.operation === Enum.Operation.Put);
  const notify = pushed.find((p) => p.operation === Enum.Operation.Notify);
  t.ok(put, 'a Put request message');
  t.equal(put?.payload.need(Tag.UniqueIdentifier, 'TextString'), replacement, 'of the new key');
  t.equal(put?.payload.need(Tag.PutFunction, 'Enumeration'), Enum.PutFunction.Replace, 'as a replacement');
  t.equal(put?.payload.need(Tag.ReplacedUniqueIdentifier, 'TextString'), id, 'of the re-keyed one');
  const key = put?.payload.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
  const got = (await worker.call('Get', [uid(replacement)])).payload!.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
  t.same(key && Buffer.from(key), Buffer.from(got), 'the pushed key is the key Get returns');
  t.equal(notify?.payload.need(Tag.UniqueIdentifier, 'TextString'), id, 'and the old key gets a Notify (its Replacement Object Link)');
  await worker.close();
  await push.client.close();
});

t.test('another identity\'s changes are not pushed', async (t) => {
  const push = await listener();
  const stranger = await env.connect(V21, env.other);
  const theirs = await createKey(stranger);
  await stranger.call('Activate', [uid(theirs)]);
  const worker = await env.connect(V21);
  const mine = await createKey(worker);
  await worker.call('Activate', [uid(mine)]);
  const first = await push.next();
  t.equal(first.payload.need(Tag.UniqueIdentifier, 'TextString'), mine, 'the first push is about the listener\'s own object');
  await Promise.all([stranger.close(), worker.close(), push.client.close()]);
});

t.test('a bad answer to a push is ignored: the connection keeps working and pushes go on', async (t) => {
  const client = await env.connect(V21);
  let count = 0;
  const seen: string[] = [];
  let resolveSecond: () => void = () => {};
  const second = new Promise<void>((resolve) => (resolveSecond = resolve));
  client.onRequest((request) => {
    const batch = parseBatchItem(parseRequestHeader(request).items[0]!);
    seen.push(batch.payload.need(Tag.UniqueIdentifier, 'TextString'));
    if (++count === 2) resolveSecond();
    // The first answer is a Response Message without a header, the second a failure.
    if (count === 1) return structure(Tag.ResponseMessage, [structure(Tag.BatchItem, [])]);
    return writeResponseFailure(request);
  });
  await client.call('SetEndpointRole', [enumeration(Tag.EndpointRole, Enum.EndpointRole.Client)]);
  const worker = await env.connect(V21);
  const id = await createKey(worker);
  await worker.call('Activate', [uid(id)]);
  await worker.call('Revoke', [uid(id), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.CessationOfOperation)])]);
  await second;
  t.same(seen, [id, id], 'both changes were pushed');
  const query = await client.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)]);
  t.equal(query.resultStatus, Enum.ResultStatus.Success, 'the listener\'s own requests are still answered');
  await worker.close();
  await client.close();
});

t.test('Set Endpoint Role Server stops the pushes', async (t) => {
  const push = await listener();
  const answer = await push.client.call('SetEndpointRole', [enumeration(Tag.EndpointRole, Enum.EndpointRole.Server)]);
  t.equal(answer.payload!.need(Tag.EndpointRole, 'Enumeration'), Enum.EndpointRole.Server);
  const worker = await env.connect(V21);
  await worker.call('Activate', [uid(await createKey(worker))]);
  await push.client.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)]);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same(push.received, [], 'nothing was pushed');
  await worker.close();
  await push.client.close();
});

t.test('Set Endpoint Role refuses what kmipd cannot do', async (t) => {
  const c = await env.connect(V21);
  t.equal((await refusal(c.call('SetEndpointRole', [enumeration(Tag.EndpointRole, 7)]))).reason, 'InvalidField', 'an undefined role');
  t.equal((await refusal(c.call('SetEndpointRole', [enumeration(Tag.EndpointRole, 0x80000001)]))).reason, 'FeatureNotSupported', 'an extension role');
  t.equal((await refusal(c.call('Notify', [uid('x')]))).reason, 'OperationNotSupported', 'a Notify sent to kmipd');
  t.equal((await refusal(c.call('Put', [uid('x')]))).reason, 'OperationNotSupported', 'a Put sent to kmipd');
  await c.close();
  const v14 = await env.connect(V14);
  t.equal((await refusal(v14.call('SetEndpointRole', [enumeration(Tag.EndpointRole, Enum.EndpointRole.Client)]))).reason, 'OperationNotSupported', 'KMIP 1.4 has no Set Endpoint Role');
  await v14.close();

  const message = writeRequest({ protocolVersion: V21, items: [{ operation: Enum.Operation.SetEndpointRole, payload: [enumeration(Tag.EndpointRole, Enum.EndpointRole.Client)] }] });
  const response = parseResponse(decode(await post(encode(message))));
  t.equal(response.items[0]!.resultReason, Enum.ResultReason.FeatureNotSupported, 'HTTPS cannot carry pushes: the Client role is refused there');
});

t.test('kmipctl listen prints a pushed Notify as a JSON line', async (t) => {
  const worker = await env.connect(V21);
  const id = await createKey(worker);
  let done = false;
  const listening = runKmipctl(['listen', '--count', '1'], { dataDir: env.dir, port: env.server.tlsAddress.port }).finally(() => (done = true));
  // kmipctl takes the role at some point after it starts: change the key until it has heard of it.
  for (let i = 0; !done && i < 50; i++) {
    await worker.call('SetAttribute', [uid(id), structure(Tag.NewAttribute, [item(Tag.ContactInformation, 'TextString', `change ${i}`)])]);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const run = await listening;
  t.equal(run.code, 0, run.err);
  const line = JSON.parse(run.out.trim()) as { operation: string; uniqueIdentifier: string; payload: unknown[] };
  t.equal(line.operation, 'Notify');
  t.equal(line.uniqueIdentifier, id, 'about the changed key');
  t.match(run.out, /ContactInformation/, 'with the changed attribute');
  await worker.close();
});

function writeResponseFailure(request: Item): Item {
  const ok = acknowledge(request);
  if (ok.type !== 'Structure') return ok;
  return {
    ...ok,
    value: ok.value.map((c) =>
      c.tag === Tag.BatchItem && c.type === 'Structure'
        ? { ...c, value: c.value.map((f) => (f.tag === Tag.ResultStatus ? item(Tag.ResultStatus, 'Enumeration', Enum.ResultStatus.OperationFailed) : f)).concat([item(Tag.ResultReason, 'Enumeration', Enum.ResultReason.GeneralFailure)]) }
        : c,
    ),
  };
}

function post(body: Buffer): Promise<Buffer> {
  const files = { ca: readFileSync(join(env.dir, 'ca.pem')), cert: env.owner.cert, key: env.owner.key };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: env.server.httpsAddress!.port, path: '/kmip', method: 'POST', ...files, servername: 'localhost', headers: { 'content-type': 'application/octet-stream' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

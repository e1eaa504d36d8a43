/**
 * kmipd end to end, in-process: a data directory made by `kmipd init`, the server started from
 * its config, and real clients over mutual TLS and HTTPS.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import pino from 'pino';
import { connect } from 'node:tls';
import { KmipClient } from '../../src/client/client.js';
import { runInit } from '../../src/cli/init.js';
import { loadConfig } from '../../src/config/config.js';
import { Fields } from '../../src/kmip/fields.js';
import { readVersion, writeRequest, parseResponse } from '../../src/kmip/message.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { SUPPORTED_VERSIONS, versionString } from '../../src/kmip/version.js';
import { startKmipd, type Kmipd } from '../../src/server/kmipd.js';
import { decode, encode, fromJsonText, fromXml, toJsonText, toXml, type Item } from '../../src/ttlv/index.js';

const dir = mkdtempSync(join(tmpdir(), 'kmipd-e2e-'));
const silent = { stdout: { write: () => true }, stderr: { write: () => true } };
const logLines: string[] = [];
let server: Kmipd;
let files: { ca: Buffer; cert: Buffer; key: Buffer };

t.before(async () => {
  t.equal(await runInit(['--data-dir', dir], silent), 0, 'kmipd init');
  const config = loadConfig({ dataDir: dir, overrides: ['listen.port=0', 'https.port=0', 'log.level=debug'] });
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  server = await startKmipd({ config, logger });
  files = { ca: readFileSync(join(dir, 'ca.pem')), cert: readFileSync(join(dir, 'client-kmipctl.pem')), key: readFileSync(join(dir, 'client-kmipctl-key.pem')) };
});

t.teardown(async () => {
  await server.close(1000);
  rmSync(dir, { recursive: true, force: true });
});

const client = (version = SUPPORTED_VERSIONS[0]!) => KmipClient.connect({ host: '127.0.0.1', port: server.tlsAddress.port, ...files, version });

t.test('Discover Versions and Query answer in every protocol version', async (t) => {
  for (const version of SUPPORTED_VERSIONS) {
    const c = await client(version);
    const response = await c.request({
      items: [
        ...(version.major === 1 && version.minor === 0 ? [] : [{ operation: Enum.Operation.DiscoverVersions, payload: [] }]),
        { operation: Enum.Operation.Query, payload: [Enum.QueryFunction.QueryOperations, Enum.QueryFunction.QueryServerInformation].map((value): Item => ({ tag: Tag.QueryFunction, type: 'Enumeration', value })) },
      ],
    });
    t.equal(versionString(response.protocolVersion), versionString(version), `answered in ${versionString(version)}`);
    t.ok(response.items.every((i) => i.resultStatus === Enum.ResultStatus.Success), 'every item succeeded');
    const query = response.items.at(-1)!.payload!;
    const ops = query.values(Tag.Operation, 'Enumeration');
    t.ok(ops.includes(Enum.Operation.Query), 'Query lists Query');
    t.equal(ops.includes(Enum.Operation.DiscoverVersions), !(version.major === 1 && version.minor === 0), 'Discover Versions is listed where it exists (1.1 on)');
    t.equal(query.get(Tag.VendorIdentification, 'TextString'), 'kmipd');
    if (response.items.length === 2) {
      const versions = response.items[0]!.payload!.all(Tag.ProtocolVersion).map((it) => versionString(readVersion(Fields.of(it, 'pv'))));
      t.same(versions, SUPPORTED_VERSIONS.map(versionString));
    }
    await c.close();
  }
});

t.test('an operation not implemented is refused with Operation Not Supported, and the connection stays usable', async (t) => {
  const c = await client();
  const refused = await c.request({ items: [{ operation: Enum.Operation.Notify, payload: [] }] });
  t.equal(refused.items[0]!.resultReason, Enum.ResultReason.OperationNotSupported);
  const ok = await c.request({ items: [{ operation: Enum.Operation.DiscoverVersions, payload: [] }] });
  t.equal(ok.items[0]!.resultStatus, Enum.ResultStatus.Success);
  await c.close();
});

t.test('pipelined requests on one connection are answered in order', async (t) => {
  const c = await client();
  const answers = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      c.request({ clientCorrelationValue: `req-${i}`, items: [{ operation: i % 2 ? Enum.Operation.Query : Enum.Operation.DiscoverVersions, payload: [] }] }),
    ),
  );
  t.same(
    answers.map((a) => a.clientCorrelationValue),
    Array.from({ length: 30 }, (_, i) => `req-${i}`),
  );
  await c.close();
});

t.test('a well-framed but undecodable message is answered Invalid Message', async (t) => {
  const socket = connect({ host: '127.0.0.1', port: server.tlsAddress.port, ...files, servername: 'localhost' });
  await new Promise((resolve) => socket.once('secureConnect', resolve));
  const bad = Buffer.from('42007801000000104200770100000008420069050000000400000001ffffffff', 'hex');
  socket.write(bad);
  const answer = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
  const response = parseResponse(decode(answer));
  t.equal(response.items[0]!.resultReason, Enum.ResultReason.InvalidMessage);
  socket.destroy();
});

function post(path: string, contentType: string, body: Buffer | string): Promise<{ status: number; type: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: server.httpsAddress!.port, path, method: 'POST', ...files, servername: 'localhost', headers: { 'content-type': contentType } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

t.test('the HTTPS transport answers TTLV, JSON and XML in kind (KMIP HTTPS profile)', async (t) => {
  const message = writeRequest({ protocolVersion: { major: 1, minor: 4 }, items: [{ operation: Enum.Operation.DiscoverVersions, payload: [] }] });
  const binary = await post('/kmip', 'application/octet-stream', encode(message));
  t.equal(binary.status, 200);
  t.equal(parseResponse(decode(binary.body)).items[0]!.resultStatus, Enum.ResultStatus.Success);
  const json = await post('/kmip', 'application/json', toJsonText(message));
  t.match(json.type, /application\/json/);
  t.equal(parseResponse(fromJsonText(json.body.toString())).items[0]!.resultStatus, Enum.ResultStatus.Success);
  const xml = await post('/kmip', 'text/xml', toXml(message));
  t.match(xml.type, /xml/);
  t.match(xml.body.toString(), /<ResultStatus type="Enumeration" value="Success"\/>/);
  t.equal(parseResponse(fromXml(xml.body.toString())).items[0]!.resultStatus, Enum.ResultStatus.Success);
});

t.test('the log has one line per request with identity and operation, and never the key material sent', async (t) => {
  const secret = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const c = await client();
  await c.request({
    items: [
      {
        operation: Enum.Operation.Register,
        payload: [
          { tag: Tag.ObjectType, type: 'Enumeration', value: Enum.ObjectType.SymmetricKey },
          { tag: Tag.SymmetricKey, type: 'Structure', value: [{ tag: Tag.KeyBlock, type: 'Structure', value: [{ tag: Tag.KeyFormatType, type: 'Enumeration', value: Enum.KeyFormatType.Raw }, { tag: Tag.KeyValue, type: 'Structure', value: [{ tag: Tag.KeyMaterial, type: 'ByteString', value: secret }] }] }] },
        ],
      },
    ],
  });
  await c.close();
  const all = logLines.join('');
  const line = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'request' && l.op === 'Register');
  t.ok(line, 'the Register request was logged');
  t.equal(line?.identity, 'kmipctl', 'with the identity from the client certificate');
  for (const form of [secret.toString('hex'), secret.toString('base64'), secret.toString('hex').toUpperCase(), JSON.stringify([...secret])]) {
    t.notOk(all.includes(form), `the key bytes appear in no log line (${form.slice(0, 12)}…)`);
  }
});

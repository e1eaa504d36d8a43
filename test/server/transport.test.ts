/**
 * The transports over real sockets on 127.0.0.1: mutual TLS, identity, session resumption,
 * framing abuse, pipelining, limits, graceful close, and the HTTPS encodings. A stub processor
 * echoes the request's first child, names the caller, and can be told to take its time.
 */
import t, { type Test } from 'tap';
import { request as httpsRequest, Agent } from 'node:https';
import { X509Certificate } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ConnectionOptions, type TLSSocket, connect } from 'node:tls';
import pino from 'pino';
import {
  FrameReader,
  type Item,
  type TtlvError,
  decode,
  encode,
  fromJsonText,
  fromXml,
  structure,
  toJsonText,
  toXml,
} from '../../src/ttlv/index.js';
import { startServers } from '../../src/server/tls-server.js';
import type { IdentityMode, TransportLimits } from '../../src/server/tls-options.js';
import type { KmipProcessor, RequestContext } from '../../src/server/types.js';
import { type KeyAndCert, createCa } from '../support/pki.js';

// Extension tags (KMIP 2.1 §10.1.1: 0x54xxxx) so the stub needs no registry entries.
const REQUEST = 0x540000;
const RESPONSE = 0x540010;
const SEQ = 0x540001;
const DELAY = 0x540002;
const WHO = 0x540003;
const ERROR = 0x540004;
const ABORTED = 0x540005;

const int = (tag: number, value: number): Item => ({ tag, type: 'Integer', value });
const text = (tag: number, value: string): Item => ({ tag, type: 'TextString', value });
const message = (seq: number, delayMs = 0): Item => structure(REQUEST, [int(SEQ, seq), int(DELAY, delayMs)]);
const wire = (seq: number, delayMs = 0): Buffer => encode(message(seq, delayMs));

function field(response: Item, tag: number): unknown {
  if (response.type !== 'Structure') return undefined;
  return response.value.find((c) => c.tag === tag)?.value;
}

class StubProcessor implements KmipProcessor {
  readonly seen: RequestContext[] = [];

  async handle(request: Item, ctx: RequestContext): Promise<Item> {
    this.seen.push(ctx);
    const delay = field(request, DELAY);
    let aborted = false;
    if (typeof delay === 'number' && delay > 0) {
      aborted = await sleep(delay, false, { signal: ctx.signal }).catch(() => true);
    }
    const first = request.type === 'Structure' ? request.value[0] : undefined;
    return structure(RESPONSE, [...(first ? [first] : []), text(WHO, ctx.identity.name), { tag: ABORTED, type: 'Boolean', value: aborted }]);
  }

  undecodable(error: TtlvError, _ctx: RequestContext): Item {
    return structure(RESPONSE, [text(ERROR, error.code)]);
  }
}

// ---- PKI -------------------------------------------------------------------------------------

const DAY = 86_400_000;
const ca = await createCa();
const otherCa = await createCa('another CA');
const serverCreds = await ca.issue({ cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'server' });
const rsaServerCreds = await ca.issue({ cn: 'localhost', ips: ['127.0.0.1'], usage: 'server', rsa: true });
const alice = await ca.issue({ cn: 'alice', dns: ['alice.example'], emails: ['alice@example.com'], usage: 'client' });
const bob = await ca.issue({ cn: 'bob', usage: 'client' });
const noCn = await ca.issue({ o: 'nameless', dns: ['nameless.example'], usage: 'client' });
const stranger = await otherCa.issue({ cn: 'mallory', usage: 'client' });
const expired = await ca.issue({ cn: 'old', usage: 'client', notBefore: new Date(Date.now() - 10 * DAY), notAfter: new Date(Date.now() - DAY) });

// ---- server and clients ----------------------------------------------------------------------

interface Started {
  port: number;
  httpsPort: number;
  processor: StubProcessor;
  logs: Record<string, unknown>[];
  close(graceMs?: number): Promise<void>;
}

interface StartOptions {
  limits?: Partial<TransportLimits>;
  identity?: IdentityMode;
  creds?: KeyAndCert;
}

async function start(tt: Test, options: StartOptions = {}): Promise<Started> {
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const processor = new StubProcessor();
  const creds = options.creds ?? serverCreds;
  const servers = await startServers({
    host: '127.0.0.1',
    port: 0,
    https: { enabled: true, host: '127.0.0.1', port: 0 },
    tls: { cert: creds.cert, key: creds.key, ca: ca.cert, identity: options.identity ?? 'cn' },
    limits: { idleTimeoutMs: 5_000, ...options.limits },
    logger,
    processor,
  });
  let closed = false;
  const close = async (graceMs?: number): Promise<void> => {
    if (closed) return;
    closed = true;
    await servers.close(graceMs);
  };
  tt.teardown(() => close(0));
  return { port: servers.tlsAddress.port, httpsPort: servers.httpsAddress!.port, processor, logs, close };
}

const hasLog = (logs: Record<string, unknown>[], msg: string): boolean => logs.some((l) => l.msg === msg);

/** A KMIP client on one TLS socket: send bytes, await responses in order, see when it closes. */
class Client {
  readonly closed: Promise<void>;
  error: NodeJS.ErrnoException | undefined;
  private readonly reader = new FrameReader();
  private readonly responses: Item[] = [];
  private waiter: (() => void) | undefined;
  private isClosed = false;

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.reader.push(chunk)) this.responses.push(decode(frame));
      this.waiter?.();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => (this.error = err));
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.isClosed = true;
        this.waiter?.();
        resolve();
      }),
    );
  }

  /** Connects and completes the handshake (a refused client certificate may still show up later). */
  static open(port: number, creds: Partial<KeyAndCert> | undefined, extra: ConnectionOptions = {}): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca: ca.cert, ...(creds ?? {}), ...extra });
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        resolve(new Client(socket));
      });
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The next response; rejects if the connection closes first or nothing comes in time. */
  async next(timeoutMs = 3_000): Promise<Item> {
    const deadline = Date.now() + timeoutMs;
    while (this.responses.length === 0) {
      if (this.isClosed) throw new Error(`connection closed before a response (${this.error?.code ?? 'clean close'})`);
      if (Date.now() > deadline) throw new Error('no response in time');
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.responses.shift()!;
  }

  async roundTrip(seq: number, delayMs = 0): Promise<Item> {
    this.send(wire(seq, delayMs));
    return this.next();
  }

  end(): void {
    this.socket.end();
  }
}

/** Whether the server refuses this client: no response, connection closed. Returns the client's error code. */
async function refused(port: number, creds: Partial<KeyAndCert> | undefined, extra: ConnectionOptions = {}): Promise<string> {
  let client: Client;
  try {
    client = await Client.open(port, creds, extra);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'handshake failed';
  }
  // TLS 1.3: the server checks the client certificate after the client considers the handshake done.
  client.send(wire(1));
  await client.next().then(
    () => {
      throw new Error('the server answered a client it should have refused');
    },
    () => undefined,
  );
  await client.closed;
  return client.error?.code ?? 'closed';
}

/** A second, well-behaved client gets answered while something else is going on. */
async function goodClientServed(tt: Test, port: number, label: string): Promise<void> {
  const good = await Client.open(port, bob);
  const answer = await good.roundTrip(42);
  tt.equal(field(answer, SEQ), 42, `a second client is served ${label}`);
  good.end();
}

// ---- TLS: authentication and identity --------------------------------------------------------

t.test('a client with a valid certificate is answered, named by its subject CN', async (tt) => {
  const s = await start(tt);
  const client = await Client.open(s.port, alice);
  const answer = await client.roundTrip(7);
  tt.equal(field(answer, SEQ), 7);
  tt.equal(field(answer, WHO), 'alice');
  const ctx = s.processor.seen[0]!;
  tt.match(ctx, { transport: 'tls', encoding: 'binary', peer: /^127\.0\.0\.1:\d+$/ });
  tt.match(ctx.identity.subject, /CN=alice/);
  tt.equal(client.socket.getProtocol(), 'TLSv1.3');
  client.end();
});

t.test('identity can be the first DNS/email/URI SAN or the certificate fingerprint', async (tt) => {
  const bySan = await start(tt, { identity: 'san' });
  const c1 = await Client.open(bySan.port, alice);
  tt.equal(field(await c1.roundTrip(1), WHO), 'alice.example');
  c1.end();

  const byPrint = await start(tt, { identity: 'fingerprint' });
  const c2 = await Client.open(byPrint.port, alice);
  tt.equal(field(await c2.roundTrip(1), WHO), new X509Certificate(alice.cert).fingerprint256);
  c2.end();
});

t.test('a certificate without a subject CN is refused in cn mode, with a log line', async (tt) => {
  const s = await start(tt);
  await refused(s.port, noCn);
  tt.ok(hasLog(s.logs, 'client refused'));
  tt.equal(s.processor.seen.length, 0);
  await goodClientServed(tt, s.port, 'after a refusal');
});

t.test('session resumption: a reconnecting client resumes its TLS session and keeps its identity', async (tt) => {
  const s = await start(tt);
  const first = await Client.open(s.port, alice);
  const ticket = new Promise<Buffer>((resolve) => first.socket.once('session', resolve));
  await first.roundTrip(1);
  const session = await ticket;
  first.end();
  await first.closed;

  const second = await Client.open(s.port, alice, { session });
  tt.ok(second.socket.isSessionReused(), 'the session was resumed');
  tt.equal(field(await second.roundTrip(2), WHO), 'alice', 'the resumed session still carries the client certificate');
  second.end();
});

t.test('refused handshakes: no certificate, another CA, expired; a good client is still served', async (tt) => {
  const s = await start(tt);
  await refused(s.port, undefined);
  await refused(s.port, stranger);
  await refused(s.port, expired);
  tt.equal(s.processor.seen.length, 0, 'no refused client reached the processor');
  tt.ok(s.logs.filter((l) => l.msg === 'TLS handshake failed').length >= 3, 'each failure is logged');
  await goodClientServed(tt, s.port, 'after refused handshakes');
});

t.test('protocol and cipher policy: TLS 1.1 and non-profile suites are refused; AES256-SHA256 is accepted', async (tt) => {
  const s = await start(tt, { creds: rsaServerCreds });
  const old = await Client.open(s.port, alice, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' }).then(
    () => 'connected',
    (err: NodeJS.ErrnoException) => err.code ?? 'refused',
  );
  tt.not(old, 'connected', 'TLS 1.1 is refused');
  const weak = await Client.open(s.port, alice, { maxVersion: 'TLSv1.2', ciphers: 'AES128-SHA' }).then(
    () => 'connected',
    (err: NodeJS.ErrnoException) => err.code ?? 'refused',
  );
  tt.not(weak, 'connected', 'TLS_RSA_WITH_AES_128_CBC_SHA (not in the profile) is refused');
  for (const cipher of ['AES256-SHA256', 'AES128-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384']) {
    const c = await Client.open(s.port, alice, { maxVersion: 'TLSv1.2', ciphers: cipher });
    tt.equal(c.socket.getCipher().name, cipher === 'AES256-SHA256' ? 'AES256-SHA256' : cipher);
    tt.equal(field(await c.roundTrip(3), SEQ), 3, `TLS 1.2 with ${cipher} is served`);
    c.end();
  }
});

// ---- TLS: framing abuse ----------------------------------------------------------------------

t.test('a TCP client that never starts its handshake is dropped after the handshake timeout', async (tt) => {
  const s = await start(tt, { limits: { handshakeTimeoutMs: 200 } });
  const started = Date.now();
  const silent = netConnect(s.port, '127.0.0.1');
  silent.on('error', () => undefined);
  await goodClientServed(tt, s.port, 'while a silent client holds a socket');
  await Promise.race([new Promise((resolve) => silent.once('close', resolve)), sleep(3_000)]);
  silent.destroy();
  const elapsed = Date.now() - started;
  tt.ok(elapsed >= 150 && elapsed < 1_500, `dropped after ${elapsed} ms`);
});

t.test('an oversized length header is answered as undecodable and the connection ends', async (tt) => {
  const s = await start(tt, { limits: { maxMessageSize: 4096 } });
  const bad = await Client.open(s.port, alice);
  const header = Buffer.from([0x54, 0x00, 0x00, 0x01, 0x00, 0x10, 0x00, 0x00]); // a 1 MiB Structure
  bad.send(header);
  await goodClientServed(tt, s.port, 'while the oversized message is refused');
  tt.equal(field(await bad.next(), ERROR), 'TOO_LARGE');
  await bad.closed;
  tt.pass('the server closed the connection');
});

t.test('garbage bytes (an HTTP request line) are answered as undecodable and the connection ends', async (tt) => {
  const s = await start(tt);
  const bad = await Client.open(s.port, alice);
  bad.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  tt.equal(field(await bad.next(), ERROR), 'UNKNOWN_TYPE');
  await goodClientServed(tt, s.port, 'while garbage is refused');
  await bad.closed;
});

t.test('a truncated message followed by a close does not disturb the server', async (tt) => {
  const s = await start(tt);
  const bad = await Client.open(s.port, alice);
  bad.send(wire(1).subarray(0, 20));
  bad.end();
  await bad.closed;
  await goodClientServed(tt, s.port, 'after a truncated message');
  tt.ok(hasLog(s.logs, 'peer closed in the middle of a message; the partial message is dropped'));
});

t.test('a slow client sending one byte at a time is answered', async (tt) => {
  const s = await start(tt);
  const slow = await Client.open(s.port, alice);
  slow.socket.setNoDelay(true);
  const bytes = wire(9);
  const good = goodClientServed(tt, s.port, 'while a slow client trickles');
  for (const byte of bytes) {
    slow.send(Buffer.from([byte]));
    await sleep(2);
  }
  tt.equal(field(await slow.next(), SEQ), 9);
  await good;
  slow.end();
});

t.test('a client that stalls mid-message is disconnected after the idle timeout', async (tt) => {
  const s = await start(tt, { limits: { idleTimeoutMs: 400 } });
  const stalled = await Client.open(s.port, alice);
  const started = Date.now();
  const closedAt = stalled.closed.then(() => Date.now());
  stalled.send(wire(1).subarray(0, 12));
  // Meanwhile a busy client keeps being served (each request resets its own idle clock).
  const good = await Client.open(s.port, bob);
  for (let i = 0; i < 6; i++) {
    tt.equal(field(await good.roundTrip(i), SEQ), i);
    await sleep(100);
  }
  const elapsed = (await closedAt) - started;
  tt.ok(elapsed >= 350 && elapsed < 2_000, `closed after ${elapsed} ms`);
  tt.ok(hasLog(s.logs, 'client stalled in the middle of a message; closing'));
  tt.equal(field(await good.roundTrip(99), SEQ), 99, 'the busy client is still connected');
  good.end();
});

t.test('an idle connection is closed after the idle timeout, a slow request is not idleness', async (tt) => {
  const s = await start(tt, { limits: { idleTimeoutMs: 200 } });
  const c = await Client.open(s.port, alice);
  tt.equal(field(await c.roundTrip(1, 400), SEQ), 1, 'a request slower than the idle timeout is answered');
  const started = Date.now();
  await c.closed;
  tt.ok(Date.now() - started < 1_000);
});

t.test('a client that sends its requests and shuts its side still gets every answer', async (tt) => {
  const s = await start(tt);
  const c = await Client.open(s.port, alice);
  c.send(Buffer.concat([wire(1, 100), wire(2), wire(3, 50)]));
  c.end();
  const order: unknown[] = [];
  for (let i = 0; i < 3; i++) order.push(field(await c.next(), SEQ));
  tt.same(order, [1, 2, 3]);
  await c.closed;
});

t.test('a well-framed but undecodable message is answered and the connection stays usable', async (tt) => {
  const s = await start(tt);
  const c = await Client.open(s.port, alice);
  // A Structure holding a 1-byte Text String whose padding is not zero.
  const badPadding = Buffer.from('5400000100000010' + '5400030700000001' + '41ffffffffffffff', 'hex');
  c.send(badPadding);
  tt.equal(field(await c.next(), ERROR), 'BAD_PADDING');
  tt.equal(field(await c.roundTrip(2), SEQ), 2, 'the next message on the same connection is answered');
  c.end();
});

// ---- TLS: pipelining, timeouts, limits, shutdown ---------------------------------------------

t.test('pipelining: 20 requests back to back are answered in request order, slowest first', async (tt) => {
  const s = await start(tt);
  const c = await Client.open(s.port, alice);
  const n = 20;
  c.send(Buffer.concat(Array.from({ length: n }, (_, i) => wire(i, (n - i) * 10))));
  const order: unknown[] = [];
  for (let i = 0; i < n; i++) order.push(field(await c.next(), SEQ));
  tt.same(order, Array.from({ length: n }, (_, i) => i));
  c.end();
});

t.test('backpressure: more pipelined requests than the pending limit are all answered, in order', async (tt) => {
  const s = await start(tt);
  const c = await Client.open(s.port, alice);
  const n = 100;
  c.send(Buffer.concat(Array.from({ length: n }, (_, i) => wire(i, i % 3))));
  const order: unknown[] = [];
  for (let i = 0; i < n; i++) order.push(field(await c.next(), SEQ));
  tt.same(order, Array.from({ length: n }, (_, i) => i));
  tt.ok(hasLog(s.logs, 'reading paused'), 'the connection stopped reading while responses piled up');
  c.end();
});

t.test('a request running past the request timeout sees its signal aborted and is still answered', async (tt) => {
  const s = await start(tt, { limits: { requestTimeoutMs: 100 } });
  const c = await Client.open(s.port, alice);
  const started = Date.now();
  const answer = await c.roundTrip(1, 10_000);
  tt.equal(field(answer, ABORTED), true);
  tt.ok(Date.now() - started < 1_500);
  c.end();
});

t.test('maxConnections: the connection above the limit is closed at once and logged', async (tt) => {
  const s = await start(tt, { limits: { maxConnections: 2 } });
  const a = await Client.open(s.port, alice);
  const b = await Client.open(s.port, bob);
  const code = await refused(s.port, alice);
  tt.ok(code, `third connection refused (${code})`);
  tt.ok(hasLog(s.logs, 'connection refused: too many connections'));
  tt.equal(field(await a.roundTrip(1), SEQ), 1, 'the connections within the limit still work');
  a.end();
  await a.closed;
  await sleep(50);
  const c = await Client.open(s.port, alice);
  tt.equal(field(await c.roundTrip(2), SEQ), 2, 'a slot freed up is usable again');
  b.end();
  c.end();
});

t.test('graceful close lets an in-flight request finish, then cuts what is left after the grace period', async (tt) => {
  const s = await start(tt);
  const slow = await Client.open(s.port, alice);
  slow.send(wire(1, 300));
  await sleep(50);
  const closing = s.close(3_000);
  tt.equal(field(await slow.next(), SEQ), 1, 'the in-flight request is answered');
  await slow.closed;
  await closing;
  const after = await Client.open(s.port, alice).then(
    () => 'connected',
    () => 'refused',
  );
  tt.equal(after, 'refused', 'no new connections after close');

  const s2 = await start(tt);
  const stuck = await Client.open(s2.port, alice);
  stuck.send(wire(1, 60_000));
  await sleep(50);
  const started = Date.now();
  await s2.close(200);
  await stuck.closed;
  tt.ok(Date.now() - started < 1_500, 'a request longer than the grace period is cut off');
});

// ---- HTTPS -----------------------------------------------------------------------------------

interface HttpAnswer {
  status: number;
  type: string | undefined;
  body: Buffer;
}

function post(port: number, path: string, contentType: string | undefined, body: Buffer | string, agent?: Agent, method = 'POST'): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'content-length': Buffer.byteLength(body) };
    if (contentType !== undefined) headers['content-type'] = contentType;
    const req = httpsRequest(
      { host: '127.0.0.1', port, path, method, ca: ca.cert, cert: alice.cert, key: alice.key, headers, agent: agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

t.test('HTTPS: binary, JSON and XML requests are answered in their own encoding over one keep-alive connection', async (tt) => {
  const s = await start(tt);
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, cert: alice.cert, key: alice.key });
  tt.teardown(() => agent.destroy());

  const bin = await post(s.httpsPort, '/kmip', 'application/octet-stream', wire(1), agent);
  tt.equal(bin.status, 200);
  tt.equal(bin.type, 'application/octet-stream');
  tt.equal(field(decode(bin.body), SEQ), 1);

  const json = await post(s.httpsPort, '/kmip', 'application/json; charset=utf-8', toJsonText(message(2)), agent);
  tt.equal(json.status, 200);
  tt.equal(json.type, 'application/json');
  tt.equal(field(fromJsonText(json.body.toString()), SEQ), 2);

  for (const type of ['text/xml', 'application/xml']) {
    const xml = await post(s.httpsPort, '/kmip', type, toXml(message(3)), agent);
    tt.equal(xml.status, 200);
    tt.equal(xml.type, type);
    const answer = fromXml(xml.body.toString());
    tt.equal(field(answer, SEQ), 3);
    tt.equal(field(answer, WHO), 'alice');
  }
  tt.same(
    s.processor.seen.map((c) => [c.transport, c.encoding]),
    [
      ['https', 'binary'],
      ['https', 'json'],
      ['https', 'xml'],
      ['https', 'xml'],
    ],
  );
  tt.equal(new Set(s.processor.seen.map((c) => c.peer)).size, 1, 'keep-alive: one connection served all four');
});

t.test('HTTPS: an undecodable body gets a 200 with the undecodable response in its encoding', async (tt) => {
  const s = await start(tt);
  const json = await post(s.httpsPort, '/kmip', 'application/json', '{"tag":"NoSuchTag","type":"Integer","value":1}');
  tt.equal(json.status, 200);
  tt.equal(field(fromJsonText(json.body.toString()), ERROR), 'UNKNOWN_NAME');
  const xml = await post(s.httpsPort, '/kmip', 'text/xml', '<not-closed>');
  tt.equal(xml.status, 200);
  tt.equal(field(fromXml(xml.body.toString()), ERROR), 'SYNTAX');
  const bin = await post(s.httpsPort, '/kmip', 'application/octet-stream', Buffer.from('0102030405', 'hex'));
  tt.equal(field(decode(bin.body), ERROR), 'TRUNCATED');
});

t.test('HTTPS: 415, 400, 404, 405, 413 and /health', async (tt) => {
  const s = await start(tt, { limits: { maxMessageSize: 1024 } });
  tt.equal((await post(s.httpsPort, '/kmip', 'text/plain', 'hello')).status, 415);
  tt.equal((await post(s.httpsPort, '/kmip', undefined, 'hello')).status, 400);
  tt.equal((await post(s.httpsPort, '/elsewhere', 'application/json', '{}')).status, 404);
  tt.equal((await post(s.httpsPort, '/kmip', 'application/json', '', undefined, 'GET')).status, 405);
  const big = await post(s.httpsPort, '/kmip', 'application/octet-stream', Buffer.alloc(64 * 1024));
  tt.equal(big.status, 413);
  const health = await post(s.httpsPort, '/health', undefined, '', undefined, 'GET');
  tt.equal(health.status, 200);
  tt.same(JSON.parse(health.body.toString()), { status: 'ok' });
  tt.equal(s.processor.seen.length, 0);
});

t.test('HTTPS: a chunked body growing past the limit is refused with 413', async (tt) => {
  const s = await start(tt, { limits: { maxMessageSize: 1024 } });
  const status = await new Promise<number>((resolve, reject) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port: s.httpsPort, path: '/kmip', method: 'POST', ca: ca.cert, cert: alice.cert, key: alice.key, headers: { 'content-type': 'application/octet-stream' }, agent: false },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    for (let i = 0; i < 8; i++) req.write(Buffer.alloc(512));
    req.end();
  });
  tt.equal(status, 413);
});

t.test('HTTPS: graceful close answers the request in flight and closes its keep-alive connection', async (tt) => {
  const s = await start(tt);
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: ca.cert, cert: alice.cert, key: alice.key });
  tt.teardown(() => agent.destroy());
  const pending = post(s.httpsPort, '/kmip', 'application/octet-stream', wire(5, 300), agent);
  await sleep(100);
  const started = Date.now();
  const closing = s.close(3_000);
  const answer = await pending;
  tt.equal(answer.status, 200);
  tt.equal(field(decode(answer.body), SEQ), 5);
  await closing;
  tt.ok(Date.now() - started < 1_000, 'close did not wait for the keep-alive timeout');
});

t.test('HTTPS: clients without a valid certificate are refused', async (tt) => {
  const s = await start(tt);
  const outcome = await new Promise<string>((resolve) => {
    const req = httpsRequest({ host: '127.0.0.1', port: s.httpsPort, path: '/health', ca: ca.cert, cert: stranger.cert, key: stranger.key, agent: false }, (res) => {
      res.resume();
      resolve(`status ${res.statusCode}`);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    req.end();
  });
  tt.notMatch(outcome, /^status/, `refused (${outcome})`);
});

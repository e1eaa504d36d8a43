/**
 * The HTTPS transport (KMIP Profiles 2.1 §5.3 HTTPS, §5.4 JSON/XML message encodings):
 * `POST /kmip` with a binary TTLV, KMIP JSON or KMIP XML body is answered in the same encoding.
 *
 * Same TLS settings and client-certificate authentication as the TLS listener: every path,
 * `GET /health` included, is behind mutual TLS, so a load balancer's health probe needs a client
 * certificate too (or can probe the TCP port instead).
 *
 * A body that does not decode gets a 200 with the processor's Invalid Message response in the
 * request's encoding, which is what KMIP clients expect; HTTP errors are kept for what is not
 * KMIP at all (unknown path 404, wrong method 405, no content type 400, other content type 415,
 * too large 413).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type Item, TtlvError, decode, fromJson, fromXml, registry, toJsonText, toXml } from '../ttlv/index.js';
import { encodeMessage } from './encoded.js';
import { type Client, onClient } from './identity.js';
import {
  type Listener,
  type TransportLimits,
  type TransportOptions,
  closeGracefully,
  listen,
  serverTlsOptions,
  trackSockets,
  watchTransport,
  refusedHook,
} from './tls-options.js';
import type { RequestContext } from './types.js';

type Encoding = RequestContext['encoding'];

/** After a refused body, how long the client gets to read the answer and go. */
const END_GRACE_MS = 2_000;

const ENCODINGS: Readonly<Record<string, Encoding>> = {
  'application/octet-stream': 'binary',
  'application/json': 'json',
  'text/xml': 'xml',
  'application/xml': 'xml',
};


export async function startHttpsServer(options: TransportOptions, limits: TransportLimits): Promise<Listener> {
  const https = options.https;
  if (!https) throw new Error('startHttpsServer needs the https options');
  const log = options.logger.child({ transport: 'https' });
  const mode = options.tls.identity ?? 'cn';
  // HTTP keep-alive is Node's default; `keepAlive` here is TCP keep-alive, to notice dead peers.
  const server = createServer({ ...serverTlsOptions(options.tls, limits), keepAlive: true });
  server.keepAliveTimeout = limits.idleTimeoutMs;
  server.headersTimeout = limits.idleTimeoutMs;
  server.requestTimeout = limits.idleTimeoutMs;
  const sockets = trackSockets(server);
  const peers = new WeakMap<TLSSocket, Client>();
  const inFlight = new Set<ServerResponse>();
  let closing = false;

  const refused = refusedHook(options, 'https');
  watchTransport(server, limits, log, refused);
  onClient(server, mode, log, (socket, client) => peers.set(socket, client), refused);

  const handler = new Handler(options, limits);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const peer = peers.get(req.socket as TLSSocket);
    if (!peer) {
      req.socket.destroy();
      return;
    }
    // Once shutting down, every response closes its connection (keep-alive clients must go).
    if (closing) res.shouldKeepAlive = false;
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    handler.serve(req, res, peer).catch((err: unknown) => {
      peer.log.error({ incident: randomUUID(), err }, 'unexpected error serving an HTTPS request');
      if (!res.headersSent) reply(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });

  const address = await listen(server, https.host, https.port);
  log.info({ address: address.address, port: address.port }, 'listening');
  return {
    address,
    close: (graceMs) =>
      closeGracefully(server, sockets, graceMs, () => {
        closing = true;
        for (const res of inFlight) if (!res.headersSent) res.shouldKeepAlive = false;
        server.closeIdleConnections();
      }),
  };
}

class Handler {
  constructor(
    private readonly options: TransportOptions,
    private readonly limits: TransportLimits,
  ) {}

  async serve(req: IncomingMessage, res: ServerResponse, peer: Client): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return methodNotAllowed(res, 'GET, HEAD');
      return reply(res, 200, 'application/json', '{"status":"ok"}');
    }
    if (path !== '/kmip') return reply(res, 404, 'text/plain', 'not found\n');
    if (req.method !== 'POST') return methodNotAllowed(res, 'POST');

    const mediaType = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (mediaType === '') return reply(res, 400, 'text/plain', 'a Content-Type is required\n');
    const encoding = ENCODINGS[mediaType];
    if (!encoding) return reply(res, 415, 'text/plain', `unsupported content type; use one of ${Object.keys(ENCODINGS).join(', ')}\n`);

    const body = await readBody(req, this.limits.maxMessageSize);
    if (body === 'too-large') {
      peer.log.warn({ limit: this.limits.maxMessageSize }, 'request body too large');
      // Discard (never buffer) the rest while the 413 goes out: closing with unread input would
      // reset the connection and could lose the answer. A client that keeps sending is cut off.
      req.resume();
      res.shouldKeepAlive = false;
      res.once('finish', () => setTimeout(() => req.socket.destroy(), END_GRACE_MS).unref());
      return reply(res, 413, 'text/plain', `the body exceeds ${this.limits.maxMessageSize} bytes\n`);
    }
    if (body === 'aborted') return;

    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('the request timed out', 'TimeoutError')), this.limits.requestTimeoutMs);
    res.once('close', () => {
      if (!res.writableFinished) controller.abort(new DOMException('the client went away', 'AbortError'));
    });
    const ctx: RequestContext = { identity: peer.identity, peer: peer.peer, transport: 'https', encoding, log: peer.log, signal: controller.signal };
    let response: Item;
    try {
      let request: Item;
      try {
        request = this.decode(body, encoding);
      } catch (err) {
        if (!(err instanceof TtlvError)) throw err;
        response = this.options.processor.undecodable(err, ctx);
        return this.send(res, mediaType, encoding, response, peer, started);
      }
      response = await this.options.processor.handle(request, ctx);
    } finally {
      clearTimeout(timer);
    }
    return this.send(res, mediaType, encoding, response, peer, started);
  }

  private decode(body: Buffer, encoding: Encoding): Item {
    const maxDepth = this.limits.maxDepth;
    if (encoding === 'binary') return decode(body, { maxDepth });
    const text = utf8(body);
    if (encoding === 'xml') return fromXml(text, { maxDepth });
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new TtlvError('SYNTAX', `not JSON: ${(err as Error).message}`, 0);
    }
    return fromJson(parsed, registry, 1, maxDepth);
  }

  private send(res: ServerResponse, mediaType: string, encoding: Encoding, response: Item, peer: Client, started: number): void {
    const bytes = encoding === 'binary' ? encodeMessage(response) : Buffer.from(encoding === 'json' ? toJsonText(response) : toXml(response), 'utf8');
    reply(res, 200, mediaType, bytes);
    peer.log.debug({ encoding, bytesOut: bytes.length, ms: Math.round(performance.now() - started) }, 'response written');
  }
}

function utf8(body: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new TtlvError('BAD_UTF8', 'the body is not valid UTF-8', 0);
  }
}

/**
 * The body, or 'too-large' as soon as it passes `max` (checked against Content-Length first, so a
 * declared oversize body is refused before any of it is read), or 'aborted' if the client left.
 */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too-large' | 'aborted'> {
  const declared = Number(req.headers['content-length']);
  if (declared > max) return Promise.resolve('too-large');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too-large' | 'aborted'): void => {
      req.off('data', onData).off('end', onEnd).off('error', onAbort).off('close', onAbort);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        finish('too-large');
      } else chunks.push(chunk);
    };
    const onEnd = (): void => finish(Buffer.concat(chunks, size));
    const onAbort = (): void => finish('aborted');
    req.on('data', onData).on('end', onEnd).on('error', onAbort).on('close', onAbort);
  });
}

function reply(res: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  reply(res, 405, 'text/plain', 'method not allowed\n');
}

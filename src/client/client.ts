/**
 * A KMIP client over mutual TLS and binary TTLV: the one kmipctl, the tests and the load
 * generator use. Requests may be pipelined on one connection; answers are matched in order.
 * Requests the server sends (Notify, Put after Set Endpoint Role, KMIP 2.1 §6.2) go to `onRequest`.
 */
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { type Item, FrameReader, decode, encode } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { type OutgoingRequest, type ParsedResponse, parseBatchItem, parseRequestHeader, parseResponse, writeRequest, writeResponse } from '../kmip/message.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { LATEST, type ProtocolVersion } from '../kmip/version.js';

export interface ClientOptions {
  host: string;
  port: number;
  /** CA bundle the server certificate must chain to (PEM). */
  ca: string | Buffer;
  /** Client certificate and key (PEM). */
  cert: string | Buffer;
  key: string | Buffer;
  /** Name to check the server certificate against; defaults to host. */
  servername?: string;
  /** Protocol version of the requests; default 2.1. */
  version?: ProtocolVersion;
  /** A TLS session from an earlier connection, for resumption. */
  session?: Buffer;
  timeoutMs?: number;
  maxMessageSize?: number;
}

/** Answers a request the server sent; the returned Response Message is written back. */
export type ServerRequestHandler = (request: Item) => Item | Promise<Item>;

interface Pending {
  resolve(item: Item): void;
  reject(err: Error): void;
}

export class KmipClient {
  private readonly reader: FrameReader;
  private readonly pending: Pending[] = [];
  private closed: Error | null = null;
  private requestHandler: ServerRequestHandler = acknowledge;
  readonly version: ProtocolVersion;

  private constructor(
    readonly socket: TLSSocket,
    options: ClientOptions,
  ) {
    this.version = options.version ?? LATEST;
    this.reader = new FrameReader({ maxMessageSize: options.maxMessageSize ?? 64 * 1024 * 1024 });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the server')));
  }

  static connect(options: ClientOptions): Promise<KmipClient> {
    const tlsOptions: ConnectionOptions = {
      host: options.host,
      port: options.port,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      servername: options.servername ?? (isIp(options.host) ? undefined : options.host),
      minVersion: 'TLSv1.2',
      ...(options.session ? { session: options.session } : {}),
    } as ConnectionOptions;
    return new Promise((resolve, reject) => {
      const socket = connect(tlsOptions);
      const timer = setTimeout(() => socket.destroy(new Error(`TLS handshake with ${options.host}:${options.port} timed out`)), options.timeoutMs ?? 10_000);
      socket.once('secureConnect', () => {
        clearTimeout(timer);
        socket.setNoDelay(true);
        resolve(new KmipClient(socket, options));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Sends one request message and resolves with the response message tree. */
  send(message: Item): Promise<Item> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(encode(message));
    });
  }

  /** Sends a request built from batch items and parses the response. */
  async request(req: Omit<OutgoingRequest, 'protocolVersion'> & { protocolVersion?: ProtocolVersion }): Promise<ParsedResponse> {
    return parseResponse(await this.send(writeRequest({ protocolVersion: this.version, ...req })));
  }

  /** One operation; a failed result becomes a KmipError carrying the server's reason and message. */
  async call(operation: keyof typeof Enum.Operation, payload: Item[] = []): Promise<ParsedResponse['items'][number]> {
    const response = await this.request({ items: [{ operation: Enum.Operation[operation], payload }] });
    const item = response.items[0];
    if (!item) throw new KmipError('InvalidMessage', 'the server answered with no batch item');
    if (item.resultStatus !== Enum.ResultStatus.Success) {
      const reasons = Object.entries(Enum.ResultReason) as [keyof typeof Enum.ResultReason, number][];
      const name = reasons.find(([, v]) => v === item.resultReason)?.[0] ?? 'GeneralFailure';
      throw new KmipError(name, item.resultMessage ?? `operation failed (${name})`);
    }
    return item;
  }

  /**
   * How to answer the requests the server sends on this connection once it has the Client endpoint
   * role (KMIP 2.1 §6.1.54). By default each is acknowledged with an empty Success (§6.2.2, §6.2.3).
   */
  onRequest(handler: ServerRequestHandler): void {
    this.requestHandler = handler;
  }

  get session(): Buffer | undefined {
    return this.socket.getSession();
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  private onData(chunk: Buffer): void {
    let frames: Buffer[];
    try {
      frames = this.reader.push(chunk);
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      let message: Item | undefined;
      let error: Error | undefined;
      try {
        message = decode(frame);
      } catch (err) {
        error = err as Error;
      }
      if (message?.tag === Tag.RequestMessage) {
        void this.answerServer(message);
        continue;
      }
      const waiter = this.pending.shift();
      if (!waiter) continue;
      if (message) waiter.resolve(message);
      else waiter.reject(error ?? new Error('undecodable message'));
    }
  }

  private async answerServer(request: Item): Promise<void> {
    try {
      const response = await this.requestHandler(request);
      if (!this.socket.destroyed) this.socket.write(encode(response));
    } catch (err) {
      this.fail(err as Error);
      this.socket.destroy();
    }
  }

  private fail(err: Error): void {
    this.closed ??= err;
    for (const waiter of this.pending.splice(0)) waiter.reject(err);
  }
}

function isIp(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':');
}

/** The empty Success Response Message that answers a Notify or Put (KMIP 2.1 §6.2.2, §6.2.3). */
export function acknowledge(request: Item): Item {
  const { header, items } = parseRequestHeader(request);
  return writeResponse(
    {
      protocolVersion: header.protocolVersion,
      timeStamp: Math.floor(Date.now() / 1000),
      ...(header.clientCorrelationValue !== undefined ? { clientCorrelationValue: header.clientCorrelationValue } : {}),
    },
    items.map((raw) => {
      const item = parseBatchItem(raw);
      return { operation: item.operation, resultStatus: 'Success' as const, ...(item.uniqueBatchItemId ? { uniqueBatchItemId: item.uniqueBatchItemId } : {}) };
    }),
  );
}

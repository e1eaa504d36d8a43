/**
 * What both listeners (KMIP over TLS, HTTPS) share: the transport options, the TLS settings
 * (mutual TLS against one CA, TLS 1.2/1.3 only, the KMIP profile's cipher suites, session
 * tickets), and the listener plumbing (connection cap, logging, listen, graceful close).
 */
import { constants, randomBytes } from 'node:crypto';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { TLSSocket, TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { peerOf } from './identity.js';
import { DEFAULT_MAX_DEPTH, DEFAULT_MAX_MESSAGE_SIZE } from '../ttlv/index.js';
import type { KmipProcessor } from './types.js';

export type IdentityMode = 'cn' | 'san' | 'fingerprint';

export interface TlsSettings {
  /** Server certificate chain and key, and the CA(s) client certificates must chain to (PEM). */
  cert: string | Buffer;
  key: string | Buffer;
  ca: string | Buffer | (string | Buffer)[];
  /** What in the client certificate names the client (default `cn`). */
  identity?: IdentityMode;
  /** Lowest protocol accepted (default TLSv1.2); TLS 1.3 is always the highest. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Session resumption by tickets (default on; off means every connection pays a full handshake). */
  sessionTickets?: boolean;
  /**
   * 48 bytes of ticket keys. Random per process when absent, which is right for one process;
   * several workers or nodes behind one balancer must share the same keys, or a client that
   * reconnects to another worker pays a full handshake.
   */
  ticketKeys?: Buffer;
}

export interface TransportLimits {
  /** Largest message accepted, header included, in bytes (TLS frames and HTTPS bodies). */
  maxMessageSize: number;
  /** Open connections per listener; the next one is closed at once. */
  maxConnections: number;
  /** A connection with no request pending that sends nothing for this long is closed (also mid-message). */
  idleTimeoutMs: number;
  /** After this long a request's signal is aborted; the processor then answers. */
  requestTimeoutMs: number;
  /** A TLS handshake not finished by then is abandoned. */
  handshakeTimeoutMs: number;
  /** Structure nesting depth accepted by the decoders. */
  maxDepth: number;
}

export const DEFAULT_LIMITS: TransportLimits = {
  maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
  maxConnections: 1024,
  idleTimeoutMs: 120_000,
  requestTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  maxDepth: DEFAULT_MAX_DEPTH,
};

export interface TransportOptions {
  /** KMIP over TLS (KMIP's registered port is 5696). */
  host: string;
  port: number;
  https?: { enabled: boolean; host: string; port: number };
  tls: TlsSettings;
  limits?: Partial<TransportLimits>;
  logger: Logger;
  processor: KmipProcessor;
  /** Told of every client refused before it could send a request (the audit log records it). */
  refused?: (client: RefusedClient) => void;
}

/** A client refused at the TLS layer: a failed handshake, or a verified certificate that names nobody. */
export interface RefusedClient {
  peer: string;
  transport: 'tls' | 'https';
  reason: string;
  /** The certificate the client presented, when it got that far. */
  subject?: string;
  fingerprint?: string;
}

/** Peers of refused sockets whose address was gone by the time they failed. */
const peers = new WeakMap<Socket, string>();

function peerOfRefused(socket: Socket): string {
  return peers.get(socket) ?? peerOf(socket);
}

/** The callback watchTransport and onClient call for a refused socket, when the options ask to hear of them. */
export function refusedHook(options: TransportOptions, transport: 'tls' | 'https'): ((socket: TLSSocket, reason: string) => void) | undefined {
  const tell = options.refused;
  if (!tell) return undefined;
  return (socket, reason) => tell({ peer: peerOfRefused(socket), transport, reason, ...presented(socket) });
}

/** What a socket's peer certificate says, if it presented one (also after a failed verification). */
export function presented(socket: TLSSocket): { subject?: string; fingerprint?: string } {
  try {
    const cert = socket.getPeerX509Certificate();
    if (!cert) return {};
    return { subject: cert.subject.replace(/\n/g, ','), fingerprint: cert.fingerprint256 };
  } catch {
    return {};
  }
}

/**
 * KMIP Profiles 2.1 §3.1 (authentication suites): TLS 1.3 SHALL offer TLS_AES_256_GCM_SHA384 and
 * TLS_CHACHA20_POLY1305_SHA256 (TLS_AES_128_GCM_SHA256 is listed too); for TLS 1.2,
 * TLS_RSA_WITH_AES_256_CBC_SHA256 and TLS_RSA_WITH_AES_128_CBC_SHA256 are required, and the
 * ECDHE AEAD suites are in the profile's list. Nothing outside these lists is offered. Order is
 * the server's preference: forward-secret AEAD first; the two RSA-key-exchange CBC suites last,
 * kept because storage arrays and PyKMIP-based clients still negotiate them (they need an RSA
 * server certificate).
 */
export const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'] as const;
export const TLS12_SUITES = [
  'ECDHE-ECDSA-AES256-GCM-SHA384', // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
  'ECDHE-RSA-AES256-GCM-SHA384', // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
  'ECDHE-ECDSA-CHACHA20-POLY1305', // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
  'ECDHE-RSA-CHACHA20-POLY1305', // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
  'ECDHE-ECDSA-AES128-GCM-SHA256', // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
  'ECDHE-RSA-AES128-GCM-SHA256', // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
  'AES256-SHA256', // TLS_RSA_WITH_AES_256_CBC_SHA256 (profile-required)
  'AES128-SHA256', // TLS_RSA_WITH_AES_128_CBC_SHA256 (profile-required)
] as const;

export function resolveLimits(limits: Partial<TransportLimits> = {}): TransportLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof TransportLimits)[]) {
    const value = limits[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The options given to `tls.createServer` and `https.createServer`: mutual TLS, nothing weaker. */
export function serverTlsOptions(tls: TlsSettings, limits: TransportLimits): TlsOptions {
  const options: TlsOptions = {
    cert: tls.cert,
    key: tls.key,
    ca: tls.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: tls.minVersion ?? 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    // Node takes the TLS 1.3 suites (TLS_*) and the TLS 1.2 list in one string.
    ciphers: [...TLS13_SUITES, ...TLS12_SUITES].join(':'),
    honorCipherOrder: true,
    handshakeTimeout: limits.handshakeTimeoutMs,
    // Node derives the default from process.argv; a fixed value lets nodes that share ticket
    // keys resume each other's sessions whatever their command lines.
    sessionIdContext: 'kmipd',
  };
  if (tls.sessionTickets === false) {
    options.secureOptions = constants.SSL_OP_NO_TICKET;
  } else {
    options.ticketKeys = tls.ticketKeys ?? randomBytes(48);
  }
  return options;
}

// Listener plumbing shared by both transports.

export interface Listener {
  readonly address: AddressInfo;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

/** Limits and logging common to both listeners: connection cap, handshake failures, server errors. */
export function watchTransport(server: Server, limits: TransportLimits, log: Logger, refused?: (socket: TLSSocket, reason: string) => void): void {
  server.maxConnections = limits.maxConnections;
  server.on('drop', (data?: { remoteAddress?: string; remotePort?: number }) => {
    log.warn({ peer: `${data?.remoteAddress}:${data?.remotePort}`, maxConnections: limits.maxConnections }, 'connection refused: too many connections');
  });
  // A failed handshake's socket may already be closed, its address gone: remember each peer on arrival.
  const arrived = new WeakMap<Socket, string>();
  server.on('connection', (raw: Socket) => arrived.set(raw, peerOf(raw)));
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    const raw = (socket as TLSSocket & { _parent?: Socket })._parent;
    if (socket.remoteAddress === undefined && raw !== undefined) peers.set(socket, arrived.get(raw) ?? peerOf(socket));
    log.info({ peer: peerOfRefused(socket), code: err.code, reason: err.message }, 'TLS handshake failed');
    refused?.(socket, `TLS handshake failed: ${err.code ?? err.message}`);
    // Node reports a handshake timeout here but leaves the socket open (seen on Node 20): close it.
    socket.destroy();
  });
  server.on('error', (err) => log.error({ err }, 'listener error'));
}

export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Every socket the server accepted and that is still open, handshaking or not. */
export function trackSockets(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return sockets;
}

/**
 * Stops accepting, asks open connections to finish (`shutdown`), and after `graceMs` destroys
 * every socket still open, including ones still in their handshake.
 */
export async function closeGracefully(server: Server, sockets: Set<Socket>, graceMs: number, shutdown: () => void): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  shutdown();
  const timer = setTimeout(() => {
    for (const socket of sockets) socket.destroy();
  }, graceMs);
  await closed;
  clearTimeout(timer);
}

/**
 * The client's identity, read from the certificate it proved in the mutual-TLS handshake.
 * The handshake already checked the chain to our CA and the validity dates; here we only pick
 * the name that ownership and policy will use.
 */
import type { Socket } from 'node:net';
import type { PeerCertificate, Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { IdentityMode } from './tls-options.js';
import type { ClientIdentity } from './types.js';

/** A certificate that carries no usable name for the configured mode: the connection is refused. */
export class IdentityError extends Error {
  override readonly name = 'IdentityError';
}

export function identityFromCertificate(cert: PeerCertificate, mode: IdentityMode): ClientIdentity {
  if (!cert || !cert.fingerprint256) throw new IdentityError('the client presented no certificate');
  const subject = formatSubject(cert);
  const fingerprint256 = cert.fingerprint256;
  return { name: pickName(cert, mode, fingerprint256), subject, fingerprint256 };
}

function pickName(cert: PeerCertificate, mode: IdentityMode, fingerprint256: string): string {
  switch (mode) {
    case 'cn': {
      const cn = first(cert.subject?.CN);
      if (!cn) throw new IdentityError('the client certificate has no subject CN');
      return cn;
    }
    case 'san': {
      const san = parseSubjectAltName(cert.subjectaltname ?? '').find((n) => n.type === 'DNS' || n.type === 'email' || n.type === 'URI');
      if (!san) throw new IdentityError('the client certificate has no DNS, email or URI subject alternative name');
      return san.value;
    }
    case 'fingerprint':
      return fingerprint256;
  }
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** `CN=backup-1,O=Example` from Node's subject object, values escaped as in RFC 4514 §2.4. */
function formatSubject(cert: PeerCertificate): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(cert.subject ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) parts.push(`${key}=${String(v).replace(/[,+"\\<>;=]/g, '\\$&')}`);
  }
  return parts.join(',');
}

export interface GeneralName {
  /** Node's labels: `DNS`, `email`, `URI`, `IP Address`, `othername`, … */
  type: string;
  value: string;
}

/**
 * Splits Node's `subjectaltname` string (`DNS:a.example, email:x@y, URI:spiffe://t/w`).
 * Node quotes a value JSON-style when it contains a comma or quote, so a crafted SAN cannot
 * pose as two names.
 */
export function parseSubjectAltName(text: string): GeneralName[] {
  const out: GeneralName[] = [];
  const entry = /([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/y;
  while (entry.lastIndex < text.length) {
    const m = entry.exec(text);
    if (!m) break;
    const raw = m[2] ?? '';
    out.push({ type: (m[1] ?? '').trim(), value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return out;
}

/**
 * Identities by certificate fingerprint and mode. Clients that reconnect for every operation
 * present the same certificate each time; building Node's certificate object for it (every
 * field, the public key decoded) cost more than the request itself. Bounded: the oldest entry
 * goes first.
 */
const identities = new Map<string, ClientIdentity>();
const MAX_CACHED_IDENTITIES = 4096;

/** The client's identity, or `undefined` after closing a connection whose certificate names nobody. */
export function authenticate(socket: TLSSocket, mode: IdentityMode, log: () => Logger, refused?: (socket: TLSSocket, reason: string) => void): ClientIdentity | undefined {
  try {
    if (!socket.authorized) throw new IdentityError(`the client certificate was not verified: ${String(socket.authorizationError)}`);
    const fingerprint = socket.getPeerX509Certificate()?.fingerprint256;
    if (fingerprint === undefined) throw new IdentityError('the client presented no certificate');
    const key = `${mode} ${fingerprint}`;
    let identity = identities.get(key);
    if (identity === undefined) {
      identity = identityFromCertificate(socket.getPeerCertificate(), mode);
      if (identities.size >= MAX_CACHED_IDENTITIES) identities.delete(identities.keys().next().value!);
      identities.set(key, identity);
    }
    return identity;
  } catch (err) {
    const reason = err instanceof IdentityError ? err.message : `unreadable client certificate: ${String(err)}`;
    log().warn({ reason, subject: socket.getPeerCertificate()?.subject }, 'client refused');
    refused?.(socket, reason);
    socket.destroy();
    return undefined;
  }
}

/** An authenticated client connection, numbered per listener, with its own child logger. */
export interface Client {
  readonly identity: ClientIdentity;
  readonly peer: string;
  readonly log: Logger;
}

/** Calls `accept` for every connection whose certificate names a client; refuses (and logs) the others. */
export function onClient(
  server: TlsServer,
  mode: IdentityMode,
  log: Logger,
  accept: (socket: TLSSocket, client: Client) => void,
  refused?: (socket: TLSSocket, reason: string) => void,
): void {
  let nextId = 0;
  server.on('secureConnection', (socket: TLSSocket) => {
    const conn = ++nextId;
    const peer = peerOf(socket);
    const identity = authenticate(socket, mode, () => log.child({ conn, peer }), refused);
    if (identity) accept(socket, { identity, peer, log: log.child({ conn, peer, identity: identity.name }) });
  });
}

export function peerOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}

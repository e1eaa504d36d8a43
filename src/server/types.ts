/**
 * The seam between the transports (TLS socket, HTTPS) and the KMIP message processor.
 * Transports own bytes, encodings, connections and limits; the processor owns KMIP meaning.
 */
import type { Logger } from 'pino';
import type { Item, TtlvError } from '../ttlv/index.js';

/** Who is asking, as proven by the client certificate of the mutual-TLS handshake. */
export interface ClientIdentity {
  /** The identity used for ownership and policy: subject CN, a SAN, or the fingerprint (config `tls.identity`). */
  readonly name: string;
  /** The certificate subject, e.g. `CN=backup-appliance-1,O=Example`. */
  readonly subject: string;
  /** SHA-256 fingerprint of the client certificate, upper-case hex with colons (Node's format). */
  readonly fingerprint256: string;
}

export interface RequestContext {
  readonly identity: ClientIdentity;
  /** `address:port` of the peer. */
  readonly peer: string;
  readonly transport: 'tls' | 'https';
  /** The wire encoding the request came in, and the response must go out in. */
  readonly encoding: 'binary' | 'json' | 'xml';
  /** A child logger bound to this connection. */
  readonly log: Logger;
  /** Aborted when the request timeout fires or the connection closes; long operations should stop. */
  readonly signal: AbortSignal;
}

export interface KmipProcessor {
  /** Answers one decoded request message with a response message. Never throws. */
  handle(request: Item, ctx: RequestContext): Promise<Item>;
  /** The response for bytes that could not be decoded as a message at all (Invalid Message). */
  undecodable(error: TtlvError, ctx: RequestContext): Item;
}

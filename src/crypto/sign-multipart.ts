/**
 * Multi-part ("streaming") cryptographic operations (KMIP 2.1 §6.1, after Table 190): Sign,
 * Signature Verify, MAC, MAC Verify and Hash take their data across several requests. The first
 * carries Init Indicator true and answers a Correlation Value; the next ones carry that Correlation
 * Value and more Data; the one with Final Indicator true gets the result.
 *
 * kmipd keeps the parts in memory, in this process, keyed by the client identity and the
 * Correlation Value (16 random bytes), and computes the result over their concatenation on the
 * final request — the key is loaded and checked again then, so a key revoked mid-stream is refused.
 * Bounds: at most MAX_PER_IDENTITY open streams per identity and MAX_STREAMS in all, MAX_BYTES of
 * data per stream, and a stream untouched for IDLE_MS is dropped (its Correlation Value then
 * answers Invalid Correlation Value). Streams do not survive a restart and are not shared between
 * cluster workers or nodes: a client must send every part over the same connection's node.
 */
import { randomBytes } from 'node:crypto';
import { KmipError } from '../kmip/errors.js';
import type { Item } from '../ttlv/index.js';
import type { Fields } from '../kmip/fields.js';
import { Tag } from '../kmip/registry.generated.js';

export const MAX_PER_IDENTITY = 16;
export const MAX_STREAMS = 1024;
export const MAX_BYTES = 4 * 1024 * 1024;
export const IDLE_MS = 5 * 60 * 1000;

/** The multi-part fields of a request. */
export interface Parts {
  readonly init: boolean;
  readonly final: boolean;
  readonly correlation: Uint8Array | undefined;
  readonly data: Uint8Array | undefined;
  /** The request's Cryptographic Parameters; a stream keeps its first part's. */
  readonly params: Item | undefined;
}

export function partsOf(payload: Fields): Parts {
  return {
    init: payload.get(Tag.InitIndicator, 'Boolean') === true,
    final: payload.get(Tag.FinalIndicator, 'Boolean') === true,
    correlation: payload.get(Tag.CorrelationValue, 'ByteString'),
    data: payload.get(Tag.Data, 'ByteString'),
    params: payload.optional(Tag.CryptographicParameters),
  };
}

/** What the operation does with a request. */
export type Step =
  /** Single-part, or the final part: compute over `data` (absent only if no part had any). */
  | { readonly kind: 'compute'; readonly uid: string | undefined; readonly data: Uint8Array | undefined; readonly params: Item | undefined; readonly multipart: boolean }
  /** A first or middle part was kept: answer the Correlation Value. */
  | { readonly kind: 'kept'; readonly uid: string | undefined; readonly correlation: Uint8Array };

interface Stream {
  readonly owner: string;
  readonly operation: string;
  readonly uid: string | undefined;
  readonly params: Item | undefined;
  readonly chunks: Uint8Array[];
  bytes: number;
  touched: number;
}

export class Multipart {
  private readonly streams = new Map<string, Stream>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * The step a request makes. `uid` is the key a request without a Correlation Value names
   * (already checked by the caller); later parts use the stream's. `v2` picks the 1.x reason (Invalid Field) for a bad
   * Correlation Value, which 1.4 has no reason for.
   */
  step(owner: string, operation: string, parts: Parts, uid: string | undefined, v2: boolean): Step {
    this.expire();
    if (parts.correlation === undefined) {
      if (parts.final && !parts.init) throw new KmipError('InvalidField', 'a Final Indicator needs the Correlation Value of the first part');
      // 2.1 §6.1: "provide an Init indicator and Final Indicator but no Correlation Value" is single-part.
      if (!parts.init || parts.final) return { kind: 'compute', uid, data: parts.data, params: parts.params, multipart: false };
      return this.open(owner, operation, uid, parts);
    }
    if (parts.init) throw new KmipError('InvalidField', 'an Init Indicator starts a new stream and takes no Correlation Value');
    const id = Buffer.from(parts.correlation).toString('hex');
    const stream = this.streams.get(id);
    if (stream === undefined || stream.owner !== owner || stream.operation !== operation) {
      throw new KmipError(v2 ? 'InvalidCorrelationValue' : 'InvalidField', `no open ${operation} stream has this Correlation Value (streams are dropped after ${IDLE_MS / 1000} s idle)`);
    }
    if (parts.data !== undefined) this.append(stream, id, parts.data);
    stream.touched = this.now();
    if (!parts.final) return { kind: 'kept', uid: stream.uid, correlation: parts.correlation };
    this.streams.delete(id);
    const data = Buffer.concat(stream.chunks);
    for (const chunk of stream.chunks) chunk.fill(0);
    return { kind: 'compute', uid: stream.uid, data, params: parts.params ?? stream.params, multipart: true };
  }

  /** Open streams (for tests and Query-style reporting). */
  get size(): number {
    return this.streams.size;
  }

  private open(owner: string, operation: string, uid: string | undefined, parts: Parts): Step {
    const mine = [...this.streams.values()].filter((s) => s.owner === owner).length;
    if (mine >= MAX_PER_IDENTITY || this.streams.size >= MAX_STREAMS) {
      throw new KmipError('PermissionDenied', `too many open multi-part operations (at most ${MAX_PER_IDENTITY} per client): finish some with a Final Indicator`);
    }
    const correlation = randomBytes(16);
    const id = correlation.toString('hex');
    const stream: Stream = { owner, operation, uid, params: parts.params, chunks: [], bytes: 0, touched: this.now() };
    if (parts.data !== undefined) this.append(stream, id, parts.data);
    this.streams.set(id, stream);
    return { kind: 'kept', uid, correlation };
  }

  private append(stream: Stream, id: string, data: Uint8Array): void {
    if (stream.bytes + data.length > MAX_BYTES) {
      this.streams.delete(id);
      throw new KmipError('InvalidField', `a multi-part operation takes at most ${MAX_BYTES} bytes of data; the stream is closed`);
    }
    stream.chunks.push(Buffer.from(data));
    stream.bytes += data.length;
  }

  private expire(): void {
    const cutoff = this.now() - IDLE_MS;
    for (const [id, s] of this.streams) if (s.touched < cutoff) this.streams.delete(id);
  }
}

/** The process's streams. */
export const multipart = new Multipart();

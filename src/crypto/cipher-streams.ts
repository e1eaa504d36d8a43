/**
 * Multi-part Encrypt and Decrypt (KMIP 2.1 §6.1.11, §6.1.17; 1.4 §4.29, §4.30): a request with
 * Init Indicator true opens a stream and is answered a Correlation Value; later requests give that
 * value to continue it, and the one with Final Indicator true ends it.
 *
 * Streams live in this process's memory only, keyed by the client identity, so one client cannot
 * continue another's. Bounds: at most MAX_PER_IDENTITY open streams per identity and MAX_STREAMS in
 * all; a stream idle for IDLE_MS is dropped (a later request with its Correlation Value is
 * refused). A stream does not survive a restart, and with several nodes or cluster workers every
 * part must reach the same process (one TLS connection does).
 */
import { randomBytes } from 'node:crypto';
import type { SymmetricSession } from './cipher.js';

export const MAX_PER_IDENTITY = 32;
export const MAX_STREAMS = 1024;
export const IDLE_MS = 5 * 60 * 1000;

export interface CipherStream {
  readonly identity: string;
  readonly uid: string;
  readonly operation: 'Encrypt' | 'Decrypt';
  readonly session: SymmetricSession;
  lastUsed: number;
}

/** Why a stream could not be opened or found; the operation turns it into its Result Reason. */
export type StreamRefusal = 'limit' | 'unknown';

export class CipherStreams {
  private readonly streams = new Map<string, CipherStream>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Registers a stream; answers its Correlation Value, or 'limit' when the bounds are reached. */
  open(stream: Omit<CipherStream, 'lastUsed'>): Uint8Array | 'limit' {
    this.sweep();
    const mine = [...this.streams.values()].filter((s) => s.identity === stream.identity).length;
    if (mine >= MAX_PER_IDENTITY || this.streams.size >= MAX_STREAMS) return 'limit';
    const correlation = randomBytes(16);
    this.streams.set(correlation.toString('hex'), { ...stream, lastUsed: this.now() });
    return correlation;
  }

  /** The identity's stream with this Correlation Value for this operation, or 'unknown'. */
  find(identity: string, correlation: Uint8Array, operation: CipherStream['operation']): CipherStream | 'unknown' {
    this.sweep();
    const stream = this.streams.get(Buffer.from(correlation).toString('hex'));
    if (stream === undefined || stream.identity !== identity || stream.operation !== operation) return 'unknown';
    stream.lastUsed = this.now();
    return stream;
  }

  close(correlation: Uint8Array): void {
    this.streams.delete(Buffer.from(correlation).toString('hex'));
  }

  get size(): number {
    return this.streams.size;
  }

  private sweep(): void {
    const cutoff = this.now() - IDLE_MS;
    for (const [key, stream] of this.streams) if (stream.lastUsed < cutoff) this.streams.delete(key);
  }
}

/** The process's streams (Encrypt and Decrypt share them; a Correlation Value belongs to one operation). */
export const cipherStreams = new CipherStreams();

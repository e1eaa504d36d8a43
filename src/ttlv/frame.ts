/**
 * Streaming frame reader: socket chunks of any size in, whole TTLV messages out.
 *
 * A KMIP message is one top-level Structure; its 8-byte header says how long it is. The size
 * limit is checked from that header before a single body byte is buffered, and the body buffer is
 * allocated once at its final size. Whole messages that arrive inside one chunk are handed out as
 * views of that chunk, without copying. After an error the reader refuses further input: the
 * stream has lost its framing and the connection should be closed. The error carries the
 * messages the same chunk completed before the bad header, so a client that pipelined good
 * requests ahead of garbage still gets its answers.
 */
import { HEADER_LENGTH } from './binary.js';
import { TtlvError } from './errors.js';
import { ItemType } from './types.js';

export const DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024;

/** A framing error, with the whole messages that the failing push completed before it. */
export class FrameError extends TtlvError {
  constructor(
    cause: TtlvError,
    readonly completed: Buffer[],
  ) {
    super(cause.code, cause.message.replace(/ \(at offset \d+\)$/, ''), cause.offset);
  }
}

export interface FrameReaderOptions {
  /** Largest message accepted, header included, in bytes. */
  maxMessageSize?: number;
}

export class FrameReader {
  readonly maxMessageSize: number;
  private readonly header = Buffer.alloc(HEADER_LENGTH);
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  /** Bytes consumed since the stream started, for error offsets. */
  private consumed = 0;
  private failed: TtlvError | null = null;

  constructor(options: FrameReaderOptions = {}) {
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
  }

  /** Bytes held for a message not yet complete. */
  get buffered(): number {
    return this.body === null ? this.headerFill : this.bodyFill;
  }

  /** Feeds one chunk; returns the messages it completed, in order. Throws TtlvError on a bad header. */
  push(chunk: Uint8Array): Buffer[] {
    if (this.failed) throw this.failed;
    const data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    let pos = 0;
    try {
      while (pos < data.length) {
        if (this.body !== null) {
          pos += this.fillBody(data, pos, out);
        } else if (this.headerFill === 0 && data.length - pos >= HEADER_LENGTH) {
          const total = this.check(data, pos);
          if (data.length - pos >= total) {
            out.push(data.subarray(pos, pos + total));
            pos += total;
            this.consumed += total;
          } else {
            this.body = Buffer.allocUnsafe(total);
            this.bodyFill = 0;
            pos += this.fillBody(data, pos, out);
          }
        } else {
          const n = Math.min(HEADER_LENGTH - this.headerFill, data.length - pos);
          data.copy(this.header, this.headerFill, pos, pos + n);
          this.headerFill += n;
          pos += n;
          if (this.headerFill === HEADER_LENGTH) {
            this.body = Buffer.allocUnsafe(this.check(this.header, 0));
            this.header.copy(this.body);
            this.bodyFill = HEADER_LENGTH;
            this.headerFill = 0;
            this.completeIfFull(out);
          }
        }
      }
    } catch (err) {
      if (!(err instanceof TtlvError)) throw err;
      this.failed = err;
      throw new FrameError(err, out);
    }
    return out;
  }

  /** Validates a message header at `at` and returns the message's total size. */
  private check(buf: Buffer, at: number): number {
    const offset = this.consumed;
    if (buf[at + 3] !== ItemType.Structure) {
      throw new TtlvError('UNKNOWN_TYPE', `a KMIP message is a Structure, this one has item type 0x${buf[at + 3]!.toString(16)}`, offset + 3);
    }
    const length = buf.readUInt32BE(at + 4);
    if (length % 8 !== 0) {
      throw new TtlvError('BAD_LENGTH', `message length ${length} is not a multiple of 8`, offset + 4);
    }
    const total = HEADER_LENGTH + length;
    if (total > this.maxMessageSize) {
      throw new TtlvError('TOO_LARGE', `message of ${total} bytes exceeds the limit of ${this.maxMessageSize}`, offset + 4);
    }
    return total;
  }

  private fillBody(data: Buffer, pos: number, out: Buffer[]): number {
    const body = this.body!;
    const n = Math.min(body.length - this.bodyFill, data.length - pos);
    data.copy(body, this.bodyFill, pos, pos + n);
    this.bodyFill += n;
    this.completeIfFull(out);
    return n;
  }

  private completeIfFull(out: Buffer[]): void {
    const body = this.body!;
    if (this.bodyFill < body.length) return;
    out.push(body);
    this.consumed += body.length;
    this.body = null;
    this.bodyFill = 0;
  }
}

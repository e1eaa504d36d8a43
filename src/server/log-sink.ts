/**
 * Where kmipd's log lines go: a file or a file descriptor (stdout).
 *
 * One line per request is logged, so the sink is on the hot path. Lines are collected and written
 * with one system call when FLUSH_BYTES are pending or FLUSH_MS after the first of them, so a
 * busy server writes a few hundred times a second, not once per request. A regular file is
 * written synchronously (appending to the page cache does not wait for the disk, and a hand-off
 * to libuv's thread pool costs two context switches); a pipe or terminal, which can block, is
 * written through the thread pool with `fs.write`, lines queuing while a write is in flight.
 * Graceful shutdown awaits `flush`; on any other exit the pending lines are written synchronously. (pino's own sonic-boom re-measures its whole pending buffer on every
 * line, which cost more than answering a Discover Versions.) If the disk cannot keep up, at most
 * `maxPendingBytes` wait; beyond that lines are dropped and counted, and a line saying how many
 * were lost is written once the backlog clears. `flushSync` empties the queue before exit.
 */
import { closeSync, fstatSync, mkdirSync, openSync, write, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const DEFAULT_MAX_PENDING = 64 * 1024 * 1024;
/** Pending size that triggers a write at once. */
const FLUSH_BYTES = 32 * 1024;
/** Longest a line waits for company before it is written. */
const FLUSH_MS = 20;
/** How long to wait before retrying a write to a non-blocking pipe that is full. */
const EAGAIN_RETRY_MS = 10;

export class LogSink {
  private pending: string[] = [];
  private pendingLength = 0;
  /** A write is in flight or scheduled. */
  private busy = false;
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private idle: (() => void)[] = [];
  /** Regular files are written synchronously, once per event-loop turn. */
  private readonly direct: boolean;

  constructor(
    private readonly fd: number,
    private readonly maxPendingBytes = DEFAULT_MAX_PENDING,
  ) {
    this.direct = fstatSync(fd).isFile();
    process.once('exit', () => this.flushSync());
  }

  /** A sink appending to `path` (its directory is created), or writing to a descriptor (1 = stdout). */
  static open(dest: string | number): LogSink {
    if (typeof dest === 'number') return new LogSink(dest);
    mkdirSync(dirname(dest), { recursive: true });
    return new LogSink(openSync(dest, 'a'));
  }

  /** pino's stream interface: one serialized line, newline included. */
  write(line: string): boolean {
    // Lengths in UTF-16 units: exact for ASCII, which log lines nearly always are, and only a bound otherwise.
    if (this.pendingLength + line.length > this.maxPendingBytes) {
      this.dropped++;
      return false;
    }
    this.pending.push(line);
    this.pendingLength += line.length;
    if (this.pendingLength >= FLUSH_BYTES && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.writeNext();
    } else if (!this.busy) {
      this.busy = true;
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.writeNext();
      }, FLUSH_MS);
      this.timer.unref();
    }
    return true;
  }

  /** Resolves once every line written so far has reached the file (graceful shutdown). */
  flush(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.writeNext();
    }
    if (!this.busy) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Writes every pending line now, synchronously, for a fatal exit. A chunk already handed to the
   * thread pool may land after these lines; graceful shutdown uses `flush` instead.
   */
  flushSync(): void {
    const chunk = this.take();
    if (chunk === undefined) return;
    let offset = 0;
    while (offset < chunk.length) {
      try {
        offset += writeSync(this.fd, chunk, offset);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, EAGAIN_RETRY_MS);
      }
    }
  }

  /** Flushes and closes a sink opened on a file (not stdout). */
  close(): void {
    this.flushSync();
    if (this.fd > 2) closeSync(this.fd);
  }

  private take(): Buffer | undefined {
    if (this.dropped > 0) {
      const lost = this.dropped;
      this.dropped = 0;
      this.pending.push(`${JSON.stringify({ level: 40, time: Date.now(), msg: `the log could not keep up: ${lost} lines were dropped` })}\n`);
    }
    if (this.pending.length === 0) return undefined;
    const chunk = Buffer.from(this.pending.length === 1 ? this.pending[0]! : this.pending.join(''));
    this.pending = [];
    this.pendingLength = 0;
    return chunk;
  }

  private writeNext(): void {
    if (this.direct) {
      try {
        this.flushSync();
      } catch (err) {
        process.stderr.write(`kmipd: writing the log failed: ${(err as Error).message}\n`);
      }
    }
    const chunk = this.take();
    if (chunk === undefined) {
      this.busy = false;
      for (const resolve of this.idle.splice(0)) resolve();
      return;
    }
    this.writeFrom(chunk, 0);
  }

  private writeFrom(chunk: Buffer, offset: number): void {
    write(this.fd, chunk, offset, chunk.length - offset, null, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.writeFrom(chunk, offset), EAGAIN_RETRY_MS);
          return;
        }
        // The log itself failed (disk full, closed pipe): say so once on stderr and keep serving.
        process.stderr.write(`kmipd: writing the log failed: ${err.message}\n`);
        this.writeNext();
        return;
      }
      if (offset + written < chunk.length) this.writeFrom(chunk, offset + written);
      else this.writeNext();
    });
  }
}

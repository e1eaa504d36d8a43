/**
 * The audit log of one kmipd node: writes the rows, chains them, signs checkpoints.
 *
 * Writing. A batch item that changes objects gets its row inside the store transaction of the
 * change (`inTransaction`, costing no round trip of its own on SQLite: StoreTransaction.append),
 * so the change commits if and only if its row does; a failed item's transaction rolled back and
 * its row, recording the failure, is written afterwards. Items that changed nothing, refused
 * messages and refused TLS clients are written by `record`: urgent rows (a Get's, which the
 * processor waits for) at the end of the event-loop turn in a durable commit, the others gathered
 * for LAZY_FLUSH_MS into one INSERT in a commit that does not wait for its own disk sync.
 *
 * Chaining. On SQLite the store calls `sequenceRows` just before each commit group's COMMIT,
 * holding the write lock (across processes too): the group's rows get their `seq`, `prev_hash`
 * and `hash` (record.ts) in the very commit that writes them. On PostgreSQL rows are inserted
 * without a place, and the chainer (every `chainIntervalMs` while rows arrive, every second
 * otherwise, to pick up other nodes' rows) takes the committed unchained rows in insertion order
 * and gives them theirs, under an advisory lock that every node's chainer takes: several nodes
 * sharing one database build one chain, in the order the chainer found the rows committed, and
 * their business transactions stay concurrent. The price there is that a row is protected by the
 * chain only once chained (normally within `chainIntervalMs`; after a crash, at the next start); on
 * both stores a row is protected by a signature only at the next checkpoint, which is why the
 * checkpoint interval is short by default.
 *
 * Checkpoints. After chaining, when `checkpointRows` rows were chained since the last checkpoint
 * or `checkpointSeconds` passed (even without new rows: a heartbeat), the chain head (seq, hash) is signed with the
 * node's audit signing key (ECDSA P-256, in the HSM with the pkcs11 keyring): one signature per
 * checkpoint, never per row. A new key generation (`kmipd audit rotate-key`) is announced by a
 * checkpoint signed with the old key carrying the new public key, so a verifier who trusts the
 * first key can follow every rotation.
 */
import type { Logger } from 'pino';
import type { SigningKey, SigningKeys } from '../keys/types.js';
import { detached } from '../store/index.js';
import type { ObjectStore, Sequenced, StoreTransaction } from '../store/types.js';
import { type Checkpoint, checkpointMessage } from './checkpoint.js';
import { type AuditFields, type AuditRow, COLUMN, SEQUENCED_COLUMNS, GENESIS_HASH, chainHash, INSERT_COLUMNS, insertRows } from './record.js';

export interface AuditLogOptions {
  store: ObjectStore;
  node: string;
  signing: SigningKeys;
  log: Logger;
  /** Sign a checkpoint after this many chained rows (default 1000). */
  checkpointRows?: number;
  /** …or after this many seconds with new rows (default 10). */
  checkpointSeconds?: number;
  /**
   * How soon after rows are written they are chained (PostgreSQL; default 250 ms). Each pass is a
   * transaction with fixed costs (the lock, the head, the last checkpoint): every 20 ms those cost
   * PostgreSQL more than the rows did (audited Creates at 0.75 of unaudited instead of about 0.86).
   */
  chainIntervalMs?: number;
  /** Current time (tests move it). */
  now?: () => Date;
}

const AUDIT_TABLE = 'audit_log';
/** pg_advisory_xact_lock key of the chainer: 'audt'. */
const CHAIN_LOCK = 0x61756474;
/** Rows chained per transaction. */
const CHAIN_BATCH = 1000;
/**
 * Rows per appendRows of `record` (INSERT_COLUMNS each), and the pending rows that are written at
 * once instead of waiting for LAZY_FLUSH_MS. A write renders its rows on the main thread in one
 * go (~16 µs each, npm run bench:audit), every connection waiting meanwhile: 500 rows made Discover
 * Versions' p99 latency 8.5–8.8 ms, 100 make it 5.3–6.8 ms (3 ms without audit), and cost the
 * same per row (bench:audit: 15.6 against 15.9 µs of main thread, 23.9 against 24.5 µs of CPU).
 */
const INSERT_BATCH = 100;
const IDLE_POLL_MS = 1000;
/**
 * How long rows nobody waits for may wait for company before they are written. Each write is a
 * commit with fixed costs (on SQLite a few WAL pages, whatever the number of rows): at 10 ms a
 * server answering a few hundred clients that reconnect for every request spent more on these
 * commits than on the rows. Written rows are safe from a crash of kmipd; only the unwritten ones
 * of the last LAZY_FLUSH_MS are not.
 */
const LAZY_FLUSH_MS = 50;

interface Pending {
  rows: AuditFields[];
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
  started: boolean;
  /** Someone waits for these rows: the commit must be durable before they resolve. */
  urgent: boolean;
  /** A flush is scheduled for the end of this turn. */
  soon: boolean;
  timer: NodeJS.Timeout | undefined;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

export class AuditLog {
  readonly node: string;
  private readonly store: ObjectStore;
  private readonly signing: SigningKeys;
  private readonly log: Logger;
  private readonly checkpointRows: number;
  private readonly checkpointMs: number;
  private readonly chainIntervalMs: number;
  private readonly now: () => Date;
  private pending: Pending | undefined;
  /** Batches being written. */
  private readonly flushing = new Set<Promise<void>>();
  private signer: SigningKey | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private dirty = false;
  /** The store chains rows as it commits them (SQLite): no chainer cycle per write. */
  private sequenced = false;
  /** The chain head after the last commit group this node sequenced (SQLite), if it committed. */
  private head: ChainHead | undefined;
  /** Rows sequenced since the last checkpoint this node signed (an estimate: a failed commit's count too). */
  private sinceCheckpoint = 0;
  private closed = false;
  private started = Date.now();

  constructor(options: AuditLogOptions) {
    this.store = options.store;
    this.node = options.node;
    this.signing = options.signing;
    this.log = options.log;
    this.checkpointRows = options.checkpointRows ?? 1000;
    this.checkpointMs = (options.checkpointSeconds ?? 10) * 1000;
    this.chainIntervalMs = options.chainIntervalMs ?? 250;
    this.now = options.now ?? (() => new Date());
    // SQLite: rows get their places in the chain in the very commit that writes them (the store
    // holds the write lock then, across processes too). PostgreSQL: the chainer does it after.
    if (this.store.sequence) {
      this.store.sequence(AUDIT_TABLE, (db, rows, fresh) => this.sequenceRows(db, rows, fresh), SEQUENCED_COLUMNS);
      this.sequenced = true;
    }
  }

  /**
   * Gives a commit group's rows (insertRows rows) their seq, prev_hash and hash. The chain head is
   * remembered from the last group this node committed, so that a group need not wait to read it
   * (the store checks the assumption in the COMMIT: another process or the chainer may have moved
   * it); only a head that is a row of the table is remembered.
   */
  private async sequenceRows(db: { query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> }, rows: unknown[][], fresh: boolean): Promise<Sequenced> {
    const remembered = fresh ? undefined : this.head;
    const from = remembered ?? (await chainHead(db));
    let { seq, hash } = from;
    this.sinceCheckpoint += rows.length;
    if (this.sinceCheckpoint >= this.checkpointRows && !this.dirty) {
      this.dirty = true;
      this.schedule(0);
    }
    for (const row of rows) {
      const prev = hash;
      seq += 1;
      hash = chainHash(prev, seq, row[COLUMN.digest] as string);
      row[COLUMN.seq] = seq;
      row[COLUMN.prevHash] = prev;
      row[COLUMN.hash] = hash;
    }
    const next = { seq, hash };
    this.head = undefined;
    return {
      // seq and hash are digits and hex: nothing to quote.
      ...(remembered ? { assume: `(SELECT seq || ':' || hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1) = '${remembered.seq}:${remembered.hash}'` } : {}),
      settle: (committed) => {
        this.head = committed ? next : undefined;
      },
    };
  }

  /** Loads (or creates) the signing key, chains what a previous run left unchained, and starts the chainer. */
  async start(): Promise<void> {
    this.signer = await this.signing.newest();
    this.started = this.now().getTime();
    await this.cycle();
    this.schedule(IDLE_POLL_MS);
  }

  /** The PEM of the key that signs this node's checkpoints (after `start`). */
  currentPublicKey(): string | undefined {
    return this.signer?.publicKeyPem;
  }

  /** The row of a change, in the change's transaction. */
  async inTransaction(tx: StoreTransaction, fields: AuditFields): Promise<void> {
    await tx.appendRows(AUDIT_TABLE, INSERT_COLUMNS, insertRows([fields]));
    this.wrote();
  }

  /**
   * Rows of items that changed nothing; resolves once they are durable. `urgent` rows (someone
   * waits for them: a response) are written at the end of this event-loop turn, with whatever else
   * is pending; the others wait up to LAZY_FLUSH_MS to share one INSERT and one commit with more.
   */
  record(rows: readonly AuditFields[], urgent = true): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('the audit log is closed'));
    let pending = this.pending;
    if (!pending) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const done = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      pending = { rows: [], done, resolve, reject, started: false, urgent: false, soon: false, timer: undefined };
      this.pending = pending;
    }
    pending.rows.push(...rows);
    if (urgent) pending.urgent = true;
    const batch = pending;
    if ((urgent || pending.rows.length >= INSERT_BATCH) && !pending.soon) {
      pending.soon = true;
      clearTimeout(pending.timer);
      setImmediate(() => void this.flush(batch));
    } else if (!pending.soon && pending.timer === undefined) {
      pending.timer = detached(() => setTimeout(() => void this.flush(batch), LAZY_FLUSH_MS));
    }
    return pending.done;
  }

  /** Writes the rows recorded so far, chains every committed row, and signs a checkpoint if one is due (or `force`d and there are new rows). */
  async sync(force = false): Promise<ChainHead> {
    const pending = this.pending;
    if (pending) void this.flush(pending);
    await Promise.all([pending?.done, ...this.flushing].map((p) => p?.catch(() => undefined)));
    await this.running;
    const run = this.chainAndSign(force);
    this.running = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Writes what is pending, chains it, and signs a last checkpoint. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    const pending = this.pending;
    if (pending) {
      void this.flush(pending);
      await pending.done.catch(() => undefined);
    }
    try {
      await this.sync(true);
    } catch (err) {
      this.log.error({ err }, 'audit: could not chain and sign the last rows at shutdown; the next start will');
    }
  }

  private wrote(): void {
    // Rows the store sequences need no chainer: only a checkpoint when enough of them were written
    // (sequenceRows counts them) or at the next idle poll (which checks checkpointSeconds).
    if (this.sequenced || this.dirty || this.closed) return;
    this.dirty = true;
    this.schedule(this.chainIntervalMs);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    clearTimeout(this.timer);
    // Often scheduled from inside a store transaction (wrote): the cycle runs on its own.
    this.timer = detached(() => setTimeout(() => void this.cycle().finally(() => this.schedule(this.dirty ? this.chainIntervalMs : IDLE_POLL_MS)), ms));
    this.timer.unref();
  }

  private async cycle(): Promise<void> {
    this.dirty = false;
    try {
      await this.sync();
    } catch (err) {
      this.log.error({ err }, 'audit: chaining or signing failed; retrying');
    }
  }

  private async flush(pending: Pending): Promise<void> {
    if (pending.started) return;
    pending.started = true;
    clearTimeout(pending.timer);
    if (this.pending === pending) this.pending = undefined;
    this.flushing.add(pending.done);
    void pending.done.catch(() => undefined).finally(() => this.flushing.delete(pending.done));
    try {
      await this.store.transaction(
        async (tx) => {
          for (let i = 0; i < pending.rows.length; i += INSERT_BATCH) await tx.appendRows(AUDIT_TABLE, INSERT_COLUMNS, insertRows(pending.rows.slice(i, i + INSERT_BATCH)));
        },
        { durable: pending.urgent },
      );
      pending.resolve();
      this.wrote();
    } catch (err) {
      pending.reject(err);
    }
  }

  private async chainAndSign(force: boolean): Promise<ChainHead> {
    let head: ChainHead;
    let chained: number;
    let lastCheckpoint: { seq: number; time: number } | undefined;
    do {
      ({ head, chained, lastCheckpoint } = await this.chainBatch());
    } while (chained === CHAIN_BATCH);
    const since = head.seq - (lastCheckpoint?.seq ?? 0);
    const age = this.now().getTime() - (lastCheckpoint?.time ?? this.started);
    // Also with no new rows once checkpointSeconds passed: a recent checkpoint is how a verifier
    // (kmipctl audit verify --max-age) knows the tail was not removed with its checkpoints.
    if ((since > 0 && (force || since >= this.checkpointRows)) || age >= this.checkpointMs) await this.checkpoint(head);
    return head;
  }

  /** One transaction: the head, up to CHAIN_BATCH unchained rows given their places. */
  private chainBatch(): Promise<{ head: ChainHead; chained: number; lastCheckpoint: { seq: number; time: number } | undefined }> {
    // Not durable on its own: a checkpoint over these places is a durable commit after it, and the
    // WAL is append-only, so its sync covers this one; lost in a crash before that, the rows are
    // simply chained again at the next start.
    return this.store.transaction(async (tx) => {
      if (this.store.client === 'pg') await tx.query('SELECT pg_advisory_xact_lock(?)', [CHAIN_LOCK]);
      const head = await chainHead(tx);
      // Only the content digests: the fields were digested when the rows were written.
      const rows = await tx.query<Pick<AuditRow, 'id' | 'digest'>>('SELECT id, digest FROM audit_log WHERE seq IS NULL ORDER BY id LIMIT ?', [CHAIN_BATCH]);
      const values: unknown[] = [];
      let { seq, hash } = head;
      for (const row of rows) {
        const prev = hash;
        seq += 1;
        hash = chainHash(prev, seq, row.digest);
        values.push(row.id, seq, prev, hash);
      }
      if (rows.length > 0) {
        this.head = undefined; // moved by this transaction (its own check would catch it too)
        await tx.append(chainUpdate(this.store.client, values, rows.length));
      }
      const [cp] = await tx.query<{ seq: number | string; time: string }>('SELECT seq, time FROM audit_checkpoints ORDER BY seq DESC, id DESC LIMIT 1');
      const lastCheckpoint = cp ? { seq: Number(cp.seq), time: Date.parse(cp.time) } : undefined;
      return { head: { seq, hash }, chained: rows.length, lastCheckpoint };
    }, { durable: false });
  }

  private async checkpoint(head: ChainHead): Promise<void> {
    let signer = this.signer ?? (await this.signing.newest());
    const newest = await this.signing.newest();
    let nextKey: string | null = null;
    if (newest.generation > signer.generation) nextKey = newest.publicKeyPem;
    const checkpoint: Omit<Checkpoint, 'signature'> = {
      seq: head.seq,
      hash: head.hash,
      time: this.now().toISOString(),
      node: this.node,
      keyId: signer.keyId,
      algorithm: 'ECDSA-P256-SHA256',
      nextKey,
    };
    const signature = (await signer.sign(checkpointMessage(checkpoint))).toString('base64');
    await this.store.transaction((tx) =>
      tx.append({
        sql: 'INSERT INTO audit_checkpoints (seq, hash, time, node, key_id, algorithm, next_key, signature) VALUES (?,?,?,?,?,?,?,?)',
        params: [checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.node, checkpoint.keyId, checkpoint.algorithm, checkpoint.nextKey, signature],
      }),
    );
    this.sinceCheckpoint = 0;
    if (nextKey !== null) {
      this.log.info({ from: signer.keyId, to: newest.keyId }, 'audit: signing key rotated');
      signer = newest;
    }
    this.signer = signer;
  }
}

/**
 * The UPDATE giving `count` rows their places (values: id, seq, prev_hash, hash per row). On
 * PostgreSQL one statement joining a VALUES list; on SQLite one statement per row, each a rowid
 * lookup (SQLite plans UPDATE … FROM a VALUES list as a scan of the whole table, which made
 * chaining cost more the longer the log grew).
 */
function chainUpdate(client: 'sqlite3' | 'pg', values: unknown[], count: number): { sql: string; params: unknown[] } {
  if (client === 'pg') {
    const tuple = '(CAST(? AS BIGINT), CAST(? AS BIGINT), ?, ?)';
    const list = Array.from({ length: count }, () => tuple).join(',');
    return { sql: `UPDATE audit_log SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash FROM (VALUES ${list}) AS v (id, seq, prev_hash, hash) WHERE audit_log.id = v.id`, params: values };
  }
  const one = 'UPDATE audit_log SET seq = ?, prev_hash = ?, hash = ? WHERE id = ?';
  const params: unknown[] = [];
  for (let i = 0; i < count; i++) params.push(values[4 * i + 1], values[4 * i + 2], values[4 * i + 3], values[4 * i]);
  return { sql: Array.from({ length: count }, () => one).join(';\n'), params };
}

/** The last place in the chain: the newest chained row, else the newest checkpoint (rows archived), else the start. */
export async function chainHead(tx: { query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> }): Promise<ChainHead> {
  const [row] = await tx.query<{ seq: number | string; hash: string }>('SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1');
  if (row) return { seq: Number(row.seq), hash: row.hash };
  const [cp] = await tx.query<{ seq: number | string; hash: string }>('SELECT seq, hash FROM audit_checkpoints ORDER BY seq DESC LIMIT 1');
  if (cp) return { seq: Number(cp.seq), hash: cp.hash };
  return { seq: 0, hash: GENESIS_HASH };
}

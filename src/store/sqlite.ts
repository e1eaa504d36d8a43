/**
 * The SQLite store: one file in WAL mode; a commit is on disk (the WAL fsynced) before a client
 * hears "created", so it survives kill -9 and power loss.
 *
 * Durability with the fsync off the writer's path. With `synchronous=FULL` SQLite fsyncs the WAL
 * inside COMMIT, and the one write connection can do nothing else meanwhile: a group's fsync and
 * the next group's statements took turns. Instead the writer runs `synchronous=NORMAL` (COMMIT
 * only write()s the WAL frames) and the store itself fdatasyncs the WAL file after each COMMIT,
 * while the next group already runs; a group's items resolve only once a sync that started after
 * its COMMIT has finished. That is FULL's guarantee: fsync acts on the file, whichever descriptor
 * asks, and the WAL is append-only between checkpoints, so the sync covers the group's frames
 * (and every earlier group's). Checkpoints are unchanged: in NORMAL, SQLite still syncs the WAL
 * before a checkpoint and the database file after it (sqlite.org/pragma.html#pragma_synchronous),
 * and restarts the WAL only after a complete checkpoint, so older frames are never needed again.
 * One sync runs at a time; groups that commit during it share the next one. Reads wait for the
 * sync covering the last commit before they answer, so no client is shown an object that a
 * power cut could still take back. If a sync fails, the store fails every write after it: the
 * kernel may have dropped the unwritten pages, and no later commit can be vouched for.
 *
 * Group commit. A durable commit costs one fsync, and one SQLite connection commits one
 * transaction at a time: one transaction per batch item would cap Creates at fsyncs per second.
 * So item transactions are queued and run by one writer loop on the one write connection:
 *
 *   BEGIN IMMEDIATE
 *     SAVEPOINT item1; fn₁(tx) → RELEASE item1                  fn₁ resolved: kept
 *     SAVEPOINT item2; fn₂(tx) throws → ROLLBACK TO item2; RELEASE item2
 *                                                               fn₂'s changes undone, fn₂ rejected
 *     SAVEPOINT item3; fn₃(tx) → RELEASE item3
 *     … items queued meanwhile join, up to maxGroupSize …
 *   COMMIT                                                      one fsync, then fn₁ and fn₃ resolve
 *
 * The functions of a group run one after another (savepoints nest, they do not interleave), so
 * each item sees the items before it, as if it ran alone after them: serializable. If BEGIN, a
 * savepoint or COMMIT fails (disk full, I/O error), the whole group is rolled back and every item
 * in it rejects.
 *
 * Round trips to the database thread are then the cost (tens of µs each, and the writer waits for
 * the main thread between them), so statements are sent as late as possible:
 *   - A write nothing waits for (StoreTransaction.append, appendRows, and the insert of a record
 *     whose uid was just generated: InsertOptions.uidGenerated) is held back and sent with the next
 *     statement the group must send, or with its COMMIT. A group of Creates is one call: BEGIN,
 *     every item's INSERTs, the audit rows, COMMIT.
 *   - An item's SAVEPOINT is set only if something of it is sent before the COMMIT (a read, or a
 *     statement whose result it needs), in front of its held-back writes; an item whose writes are
 *     all held back needs none, and if it fails they are simply dropped. Each savepoint has its own
 *     name, so if the call carrying it fails before it ran, the ROLLBACK TO finds no such savepoint
 *     and the whole group fails — never an earlier item's work.
 *   - Commits overlap the next group: while SQLite executes a group's COMMIT script, the next group
 *     runs its items (their writes held back) and takes in the jobs that arrive; whatever it sends
 *     waits for that COMMIT, and it commits only once that one has ended, so one COMMIT is in flight
 *     and groups stay as large as the load makes them.
 *
 * Reads (`read`) run on separate read-only connections inside a deferred transaction: a WAL
 * snapshot of committed data, never the writer's uncommitted group, and never waiting for it
 * (only, before answering, for the WAL sync of what they saw).
 */
import { type FileHandle, open } from 'node:fs/promises';
import createKnex, { type Knex } from 'knex';
import type sqlite3 from 'sqlite3';
import { migrationSource } from './migrations/index.js';
import { type Executor, nestedError, Repository, type Statement, inTransactionScope, insideTransaction } from './repository.js';
import { ConnectionPool, SqliteConnection, literal, toScript } from './sqlite-connection.js';
import { type ObjectStore, type Sequencer, type SqliteStoreConfig, StoreError, type StoreReader, type StoreStats, type StoreTransaction, type TransactionOptions } from './types.js';

/** WAL frames (pages) at which the writer checkpoints itself so the WAL starts over (default of SqliteStoreConfig.walRestartPages): 64 MiB of SQLite's default 4 KiB pages. */
const RESTART_FRAMES = 16_384;

const WRITER_PRAGMAS = [
  'journal_mode = WAL',
  // NORMAL: COMMIT does not fsync the WAL; WalSync does, before anyone is told (see above).
  // Without WAL (a database that cannot have one) openSqliteStore sets FULL instead.
  'synchronous = NORMAL',
  'foreign_keys = ON',
  'busy_timeout = 5000',
  // Savepoint journals in memory, not temporary files: each item of a group writes one.
  'temp_store = MEMORY',
  // 32 MiB of page cache (the default is 2 MiB): the index pages a Create touches stay cached.
  'cache_size = -32768',
]
  .map((p) => `PRAGMA ${p};`)
  .join(' ');
const READER_PRAGMAS = ['query_only = ON', 'busy_timeout = 5000', 'cache_size = -16384'].map((p) => `PRAGMA ${p};`).join(' ');

const DEFAULT_READERS = 4;
/** The writer's temporary table checking sequencers' assumptions (Writer.appendedSql): a row is inserted only when one failed, and the CHECK refuses it. */
const ASSUMPTIONS = 'kmipd_assumptions';
const ASSUMPTION_FAILED = 'sequencer_assumption_failed';
/** Commits between WAL checkpoints (see Checkpointer): a group writes a few pages, so about SQLite's 1,000-page default. */
const CHECKPOINT_EVERY_COMMITS = 200;
/** Or after this long, at the first commit: big commits (a bulk import of 10,000 objects each) come a few a second, and each can add tens of MB to the WAL. */
const CHECKPOINT_EVERY_MS = 1000;
const DEFAULT_MAX_GROUP_SIZE = 512;

interface Job {
  fn: (tx: StoreTransaction) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  settled: boolean;
  durable: boolean;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

export async function openSqliteStore(config: SqliteStoreConfig): Promise<ObjectStore> {
  // knex runs the migrations (on a connection of its own) and builds other modules' queries,
  // which run on the store's connections through `.connection(…)`.
  const knex = createKnex({
    client: 'sqlite3',
    connection: { filename: config.filename },
    useNullAsDefault: true,
    pool: { min: 0, max: 1, afterCreate: (conn: sqlite3.Database, done: (err: Error | null) => void) => conn.exec('PRAGMA busy_timeout = 5000', done) },
  });
  const opened: SqliteConnection[] = [];
  try {
    const writer = await SqliteConnection.open(config.filename, WRITER_PRAGMAS);
    opened.push(writer);
    const [mode] = await writer.all<{ journal_mode: string }>('PRAGMA journal_mode', []);
    const wal = mode?.journal_mode.toLowerCase() === 'wal';
    // No WAL to sync on the side (an in-memory database): SQLite syncs in COMMIT, as it would in FULL.
    if (!wal) await writer.exec('PRAGMA synchronous = FULL');
    await writer.exec(`CREATE TEMP TABLE ${ASSUMPTIONS} (held INTEGER CONSTRAINT ${ASSUMPTION_FAILED} CHECK (held))`);
    await knex.migrate.latest({ migrationSource });
    for (let i = 0; i < (config.readers ?? DEFAULT_READERS); i++) opened.push(await SqliteConnection.open(config.filename, READER_PRAGMAS));
    const sync = wal ? new WalSync(`${config.filename}-wal`) : undefined;
    let checkpointer: Checkpointer | undefined;
    if (wal) {
      // Checkpoints leave the writer's path: it stops checkpointing in COMMIT, a connection of their own does it.
      await writer.exec('PRAGMA wal_autocheckpoint = 0');
      const restartPages = config.walRestartPages ?? RESTART_FRAMES;
      // A WAL that grew past the restart point before it could start over is cut back to that size
      // (a frame is a page and a 24-byte header; the WAL's own header is 32 bytes).
      const [page] = await writer.all<{ page_size: number }>('PRAGMA page_size', []);
      await writer.exec(`PRAGMA journal_size_limit = ${32 + restartPages * ((page?.page_size ?? 4096) + 24)}`);
      const conn = await SqliteConnection.open(config.filename, 'PRAGMA busy_timeout = 5000;');
      opened.push(conn);
      checkpointer = new Checkpointer(conn, restartPages);
    }
    return new SqliteStore(knex, writer, new ConnectionPool(opened.slice(1, 1 + (config.readers ?? DEFAULT_READERS))), config.maxGroupSize ?? DEFAULT_MAX_GROUP_SIZE, sync, checkpointer);
  } catch (err) {
    await Promise.all(opened.map((c) => c.close()));
    await knex.destroy();
    throw err;
  }
}

function readExecutor(knex: Knex, conn: SqliteConnection): Executor {
  return {
    dialect: 'sqlite3',
    all: (sql, params) => conn.all(sql, params),
    run: (sql, params) => conn.run(sql, params),
    script: (statements) => conn.script(statements),
    table: (name) => knex(name).connection(conn.db),
    raw: (sql, bindings = []) => knex.raw(sql, bindings).connection(conn.db),
  };
}

/** A table's Sequencer and how many leading columns of its rows it fills in (ObjectStore.sequence). */
interface SequencerOf {
  sequencer: Sequencer;
  columns: number;
}

/**
 * Rows appended for one INSERT prefix, in append order: each tuple its parameters, and all but
 * the columns a Sequencer may fill in already rendered as SQL when appended (during the item, not
 * between two COMMITs), so that only those are rendered at the COMMIT.
 */
interface AppendedRows {
  table: string;
  /** The first columns of each row, which the table's Sequencer may fill in, are rendered at the COMMIT. */
  lead: number;
  tuples: unknown[][];
  /** The rest of each row, rendered once when it was appended: `,'a',1,…` (no comma when lead is 0). */
  tails: string[];
}

/**
 * The write connection as an Executor that sends deferred savepoint statements along with the
 * next statement. knex queries (other modules' tables) go through `viaDeferred`, a stand-in for
 * the node-sqlite3 connection that sends the deferred statements first.
 */
class Writer implements Executor {
  readonly dialect = 'sqlite3';
  private deferred = '';
  /** Rows the current item appended, by INSERT prefix (see append). */
  private readonly itemRows = new Map<string, AppendedRows>();
  /** Rows the group's finished items appended, sent with its COMMIT. */
  private readonly groupRows = new Map<string, AppendedRows>();
  /** The end of the previous commit group (see `after`). */
  private previous: Promise<void> = Promise.resolve();
  /** The current item: its savepoint, whether it was set, where its deferred statements start. */
  private item: { savepoint: string; mark: number; set: boolean } | undefined;
  private readonly viaDeferred: Pick<sqlite3.Database, 'all' | 'run'>;

  constructor(
    private readonly knex: Knex,
    readonly conn: SqliteConnection,
    /** The store's sequencers, by table (ObjectStore.sequence). */
    private readonly sequencers: ReadonlyMap<string, SequencerOf>,
  ) {
    type Callback = (err: Error | null) => void;
    const db = conn.db;
    this.viaDeferred = {
      all: ((sql: string, params: unknown[], callback: Callback) => {
        this.flush().then(() => db.all(sql, params, callback), callback);
        return db;
      }) as sqlite3.Database['all'],
      run: ((sql: string, params: unknown[], callback: Callback) => {
        this.flush().then(() => db.run(sql, params, callback), callback);
        return db;
      }) as sqlite3.Database['run'],
    };
  }

  /** Queues `sql` (statements ending in ';') to be sent with the next statement. */
  defer(sql: string): void {
    this.deferred += sql;
  }

  /** A statement sent with the next one, or with the group's COMMIT (the item's savepoint goes before it if it is sent earlier). */
  append(statement: Statement): Promise<void> {
    this.deferred += `${toScript([statement])};`;
    return Promise.resolve();
  }

  /**
   * Appended rows wait for the group's COMMIT, merged with the other items' rows for the same table
   * into one multi-row INSERT: SQLite compiles one statement per group instead of one per item (an
   * audit row per Create cost ~12% of Creates/s when each was its own statement). The item's rows
   * join the group only if the item succeeds (keepAppended), and a table's Sequencer
   * (ObjectStore.sequence) may fill them in just before the COMMIT.
   */
  appendRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    const prefix = `INSERT INTO ${table} (${columns.join(',')})`;
    let appended = this.itemRows.get(prefix);
    if (!appended) {
      // Without a sequencer nothing changes before the COMMIT; with one, what it may fill in.
      const lead = Math.min(this.sequencers.get(table)?.columns ?? 0, columns.length);
      this.itemRows.set(prefix, (appended = { table, lead, tuples: [], tails: [] }));
    }
    const lead = appended.lead;
    for (const row of rows) {
      // The tuple is the copy a Sequencer may fill in (none: nothing writes it); the caller's row
      // (read-only) is what is rendered.
      appended.tuples.push(lead === 0 ? row : [...row]);
      // One flat string per row (join makes it flat; += would keep a tree of pieces), not one per
      // value: what stays alive until the COMMIT, and what the garbage collector copies meanwhile.
      const tail = (lead === 0 ? row : row.slice(lead)).map(literal).join(',');
      appended.tails.push(lead === 0 ? tail : `,${tail}`);
    }
    return Promise.resolve();
  }

  /** The item succeeded: its appended rows go in with the group's COMMIT. */
  keepAppended(): void {
    for (const [prefix, rows] of this.itemRows) {
      const group = this.groupRows.get(prefix);
      if (group) {
        for (const tuple of rows.tuples) group.tuples.push(tuple);
        for (const tail of rows.tails) group.tails.push(tail);
      }
      else this.groupRows.set(prefix, rows);
    }
    this.itemRows.clear();
  }

  /** The item failed, or the group did: its appended rows are forgotten. */
  dropAppended(group: boolean): void {
    this.itemRows.clear();
    if (group) this.groupRows.clear();
  }

  /**
   * The group's appended rows as INSERT statements, after their sequencers filled them in, with the
   * checks of what the sequencers assumed in front (see Sequenced.assume).
   */
  private async appendedSql(
    rows: readonly [string, AppendedRows][],
    fresh: boolean,
    db: { query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> },
  ): Promise<{ sql: string; settle: ((committed: boolean) => void)[] }> {
    let checks = '';
    let inserts = '';
    const settle: ((committed: boolean) => void)[] = [];
    for (const [prefix, appended] of rows) {
      const sequencer = this.sequencers.get(appended.table)?.sequencer;
      if (sequencer) {
        const sequenced = await sequencer(db, appended.tuples, fresh);
        if (sequenced?.assume) checks += `INSERT INTO temp.${ASSUMPTIONS} (held) SELECT 0 WHERE NOT coalesce((${sequenced.assume}), 0);`;
        if (sequenced?.settle) settle.push(sequenced.settle);
      }
      const { lead, tuples, tails } = appended;
      const values = new Array<string>(tuples.length);
      for (let i = 0; i < tuples.length; i++) {
        const tuple = tuples[i]!;
        values[i] = lead === 0 ? `(${tails[i]!})` : `(${tuple.slice(0, lead).map(literal).join(',')}${tails[i]!})`;
      }
      inserts += `${prefix} VALUES ${values.join(',')};`;
    }
    return { sql: checks + inserts, settle };
  }

  /**
   * Starts an item. Its savepoint is set only if something of the item reaches the database before
   * the COMMIT (a read, or a statement whose result it waits for): it goes in front of the item's
   * deferred statements then. An item whose writes all wait for the COMMIT needs none: they stay in
   * the group's script, and if the item fails they are simply dropped (endItem).
   */
  startItem(savepoint: string): void {
    this.item = { savepoint, mark: this.deferred.length, set: false };
  }

  /**
   * Ends the current item: kept (its savepoint, if set, released with the next statement), or
   * undone (rolled back to its savepoint, or its unsent statements dropped).
   */
  async endItem(ok: boolean): Promise<void> {
    const item = this.item;
    this.item = undefined;
    if (!item) return;
    if (!item.set) {
      if (!ok) this.deferred = this.deferred.slice(0, item.mark);
    } else if (ok) {
      this.defer(`RELEASE ${item.savepoint};`);
    } else {
      await this.exec(`ROLLBACK TO ${item.savepoint}; RELEASE ${item.savepoint}`);
    }
  }

  discardDeferred(): void {
    this.deferred = '';
    this.item = undefined;
  }

  /** The deferred statements to send now, the current item's savepoint set in front of its own. */
  private take(): string {
    let sql = this.deferred;
    const item = this.item;
    if (item && !item.set) {
      sql = `${sql.slice(0, item.mark)}SAVEPOINT ${item.savepoint};${sql.slice(item.mark)}`;
      item.set = true;
    }
    this.deferred = '';
    if (item) item.mark = 0;
    return sql;
  }

  /**
   * Sends the deferred statements (after the previous group's end), and the current item's
   * savepoint if it is not set yet: whatever is sent next is part of the item and must roll back
   * with it, even when nothing was deferred.
   */
  async flush(): Promise<void> {
    await this.previous;
    if (this.deferred !== '' || (this.item !== undefined && !this.item.set)) await this.conn.exec(this.take());
  }

  /** Sends the deferred statements and `sql` in one call. */
  async exec(sql: string): Promise<void> {
    await this.previous;
    await this.conn.exec(this.take() + sql);
  }

  /**
   * Sends the group's deferred statements and its COMMIT (no item is running), after the previous
   * group's end. The next group may start its items before this resolves: see `after`.
   */
  commit(): Promise<void> {
    const sql = this.deferred;
    this.deferred = '';
    const rows = [...this.groupRows];
    this.groupRows.clear();
    return this.previous.then(async () => {
      // A sequencer that reads must read under the write lock, after the group's own statements:
      // they (BEGIN IMMEDIATE first, unless sent already) go before its first query.
      let unsent = sql;
      const db = {
        query: async <T>(q: string, params: readonly unknown[] = []): Promise<T[]> => {
          if (unsent !== '') await this.conn.exec(unsent);
          unsent = '';
          return this.conn.all<T>(q, params);
        },
      };
      let appended = await this.appendedSql(rows, false, db);
      try {
        try {
          await this.conn.exec(`${unsent}${appended.sql}COMMIT`);
        } catch (err) {
          // A sequencer's assumption failed (another connection wrote its table): the statements
          // before the check ran, nothing after it did. Sequenced again from what is committed.
          if (!(err instanceof Error && err.message.includes(ASSUMPTION_FAILED))) throw err;
          appended.settle.forEach((settle) => settle(false));
          unsent = '';
          appended = await this.appendedSql(rows, true, db);
          await this.conn.exec(`${appended.sql}COMMIT`);
        }
      } catch (err) {
        appended.settle.forEach((settle) => settle(false));
        throw err;
      }
      appended.settle.forEach((settle) => settle(true));
    });
  }

  /** Rolls the current group back (SQLite may have done so already). */
  async rollback(): Promise<void> {
    await this.previous;
    await this.conn.exec('ROLLBACK').catch(() => undefined);
  }

  /** Everything sent from now on waits for `end`: the previous group's COMMIT, or its ROLLBACK if that failed (never rejects). */
  after(end: Promise<void>): void {
    this.previous = end;
  }

  /** Resolves when the last group sent has ended. */
  idle(): Promise<void> {
    return this.previous;
  }

  async all<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    await this.flush();
    return this.conn.all<T>(sql, params);
  }

  async run(sql: string, params: readonly unknown[]): Promise<number> {
    await this.flush();
    return this.conn.run(sql, params);
  }

  /**
   * The first statement goes with the deferred savepoint statements; the others run as cached
   * prepared statements. SQLite compiles a script's text on every call, and a Create's attribute
   * INSERT is ~19 rows, each with its object-id subquery: compiling that cost more than the
   * extra round trip (measured: ~10% more Creates/s, and less CPU per Create).
   */
  async script(statements: readonly Statement[]): Promise<void> {
    const [first, ...rest] = statements;
    if (!first) return;
    await this.exec(toScript([first]));
    for (const s of rest) await this.conn.run(s.sql, s.params); // after exec: the previous group has ended
  }

  table(name: string): Knex.QueryBuilder {
    return this.knex(name).connection(this.viaDeferred);
  }

  raw(sql: string, bindings: readonly Knex.RawBinding[] = []): Knex.Raw {
    return this.knex.raw(sql, bindings).connection(this.viaDeferred);
  }
}

/**
 * fdatasync of the WAL file, one at a time. `afterCommit()` resolves once a sync that started
 * after the call has finished: a sync already running may have started before the COMMIT, so
 * the caller gets the next one, shared with every group that commits before it starts.
 */
class WalSync {
  private fd: Promise<FileHandle> | undefined;
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** The sync covering the latest commit (resolved when there was none). */
  latest: Promise<void> = Promise.resolve();
  /** Set when a sync failed: nothing committed since can be vouched for. */
  failure: Error | undefined;

  constructor(private readonly path: string) {}

  afterCommit(): Promise<void> {
    let sync: Promise<void>;
    if (!this.running) sync = this.start();
    else sync = this.next ??= this.running.then(() => this.start(), () => this.start());
    this.latest = sync;
    // Readers and the writer loop watch `latest`; an unobserved rejection must not crash the process.
    sync.catch(() => undefined);
    return sync;
  }

  private start(): Promise<void> {
    this.next = undefined;
    const running: Promise<void> = this.datasync().finally(() => {
      if (this.running === running) this.running = undefined;
    });
    this.running = running;
    return running;
  }

  private async datasync(): Promise<void> {
    // After a failed sync a later one may succeed without the lost pages: recovery would stop at
    // the hole in the WAL and drop every commit after it. So nothing is vouched for again.
    if (this.failure) throw this.failure;
    try {
      // The WAL exists: the connection that just committed holds it open.
      this.fd ??= open(this.path, 'r');
      await (await this.fd).datasync();
    } catch (err) {
      this.failure ??= new Error(`the object store could not sync its write-ahead log (${(err as Error).message}); writes are refused until kmipd restarts`);
      throw this.failure;
    }
  }

  async close(): Promise<void> {
    await this.latest.catch(() => undefined);
    const fd = this.fd;
    this.fd = undefined;
    if (fd) await (await fd).close();
  }
}

/**
 * WAL checkpoints, mostly on a connection of their own. With SQLite's automatic checkpoint the
 * COMMIT that crosses 1,000 WAL pages copies them into the database file and fsyncs it, and the one
 * writer does nothing else meanwhile: every item queued behind that group waited for it. Here a
 * PASSIVE checkpoint (it never blocks the writer or readers; it copies what no reader still needs)
 * runs beside the writer every CHECKPOINT_EVERY_COMMITS commits, or at the first commit after
 * CHECKPOINT_EVERY_MS (a bulk import commits rarely, but each commit is large: seeding 1,000,000
 * objects in 100 commits once left a 3.2 GB WAL, and reads that have to look pages up in a WAL that
 * size took twice as long).
 *
 * A checkpoint beside a busy writer never finishes, though: frames are appended while it copies,
 * and SQLite starts the WAL over (writes it from the beginning again) only once every frame has
 * been copied. Under a steady stream of Creates the WAL grew by ~90 MB/s, without bound, and each
 * commit extended the file, so each WAL fdatasync also had to commit the file's new size. So once
 * the WAL holds RESTART_FRAMES frames (SqliteStoreConfig.walRestartPages), the writer checkpoints
 * itself between two groups (after one COMMIT, before the next BEGIN): nothing is appended
 * meanwhile, so it copies the rest (little, measured 1 to 9 ms: the checkpoints beside it did most)
 * and the next commit starts the WAL over, in the file's existing blocks; `journal_size_limit`
 * cuts a WAL that grew past that size back to it.
 *
 * Durability is unchanged: a checkpoint only copies committed, synced frames (SQLite syncs the WAL
 * before and the database after, in NORMAL as in FULL).
 */
class Checkpointer {
  private running: Promise<void> | undefined;
  private commitsSince = 0;
  /** When the last checkpoint beside the writer started (performance.now()). */
  private last = performance.now();
  /** The WAL has `restartFrames` frames or more: the writer should catch up (catchUp). */
  wanted = false;

  constructor(
    private readonly conn: SqliteConnection,
    /** WAL frames at which the writer should catch up. */
    private readonly restartFrames: number,
  ) {}

  /** Called after each COMMIT. */
  committed(): void {
    this.commitsSince++;
    if (this.running) return;
    const now = performance.now();
    if (this.commitsSince < CHECKPOINT_EVERY_COMMITS && now - this.last < CHECKPOINT_EVERY_MS) return;
    this.commitsSince = 0;
    this.last = now;
    this.running = this.conn
      .all<{ log: number }>('PRAGMA wal_checkpoint(PASSIVE)', [])
      .then(([result]) => {
        if ((result?.log ?? 0) >= this.restartFrames) this.wanted = true;
      })
      .catch(() => undefined) // retried after the next commits; the WAL only grows meanwhile
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Checkpoints on the writer's connection, which must be between two groups (nothing sent, nothing in flight). */
  async catchUp(writer: SqliteConnection): Promise<void> {
    this.wanted = false;
    await this.running; // one checkpoint at a time: a second would find the checkpoint lock taken
    await writer.exec('PRAGMA wal_checkpoint(PASSIVE)').catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.running;
    await this.conn.close();
  }
}

class SqliteStore implements ObjectStore {
  readonly client = 'sqlite3';
  private queue: Job[] = [];
  private writing: Promise<void> = Promise.resolve();
  private draining = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private items = 0;
  private readonly counters: StoreStats = { transactions: 0, failed: 0, commits: 0 };
  private readonly writer: Writer;
  private readonly sequencers = new Map<string, SequencerOf>();
  /** Wakes a group waiting for the previous COMMIT when a job arrives (see group). */
  private arrived: (() => void) | undefined;

  constructor(
    private readonly knex: Knex,
    writer: SqliteConnection,
    private readonly readers: ConnectionPool,
    private readonly maxGroupSize: number,
    /** Syncs the WAL after each COMMIT (the writer runs synchronous=NORMAL); none without WAL. */
    private readonly sync: WalSync | undefined,
    private readonly checkpointer: Checkpointer | undefined,
  ) {
    this.writer = new Writer(knex, writer, this.sequencers);
  }

  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(new StoreError('CLOSED', 'the object store is closed'));
    if (insideTransaction()) return Promise.reject(nestedError('transaction'));
    if (this.sync?.failure) return Promise.reject(this.sync.failure);
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject, settled: false, durable: options.durable !== false });
      this.arrived?.();
      if (!this.draining) this.writing = this.drain();
    });
  }

  async read<T>(fn: (reader: StoreReader) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('CLOSED', 'the object store is closed');
    if (insideTransaction()) throw nestedError('read');
    const result = await this.readers.use(async (conn) => {
      const repo = new Repository(readExecutor(this.knex, conn), false);
      await conn.exec('BEGIN');
      try {
        return await fn(repo);
      } finally {
        repo.finish();
        await conn.exec('COMMIT');
      }
    });
    // The snapshot may hold a group whose WAL sync is still running: answer once it is durable.
    // (A COMMIT's continuation, which requests its sync, runs before any later callback.)
    await this.sync?.latest;
    return result;
  }

  stats(): StoreStats {
    return { ...this.counters };
  }

  sequence(table: string, sequencer: Sequencer, columns: number): void {
    this.sequencers.set(table, { sequencer, columns });
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await this.writing;
      await this.writer.idle();
      await this.checkpointer?.close();
      await this.sync?.close();
      await Promise.all([this.writer.conn.close(), this.readers.close()]);
      await this.knex.destroy();
    })();
    return this.closing;
  }

  /**
   * The writer loop: one group after another until the queue is empty. `draining` is cleared in
   * the same synchronous step that finds the queue empty, so a job queued later starts a new loop.
   */
  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) await this.group();
    } finally {
      this.draining = false;
    }
  }

  private async group(): Promise<void> {
    const group: Job[] = [];
    const kept: [Job, unknown][] = [];
    let committing: Promise<void>;
    const take = (): Job[] => {
      const jobs = this.queue.splice(0, this.maxGroupSize - group.length);
      group.push(...jobs);
      return jobs;
    };
    // One COMMIT in flight at a time: while the previous group's runs, this one takes in the jobs
    // that arrive, so groups stay as large as the load makes them.
    let previousEnded = false;
    if (this.checkpointer?.wanted) {
      await this.writer.idle();
      await this.checkpointer.catchUp(this.writer.conn);
    }
    const previous = this.writer.idle().then(() => {
      previousEnded = true;
    });
    try {
      let jobs = take();
      this.writer.defer('BEGIN IMMEDIATE;');
      for (;;) {
        while (jobs.length > 0) {
          for (const job of jobs) {
            const outcome = await this.item(job);
            if (outcome.ok) kept.push([job, outcome.value]);
            else this.settle(job, outcome);
          }
          jobs = take();
        }
        if (previousEnded || group.length >= this.maxGroupSize) break;
        await new Promise<void>((resolve) => {
          this.arrived = resolve;
          void previous.then(resolve);
        });
        this.arrived = undefined;
        jobs = take();
      }
      committing = this.writer.commit();
    } catch (err) {
      // SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR), or BEGIN never ran.
      this.writer.discardDeferred();
      this.writer.dropAppended(true);
      await this.writer.rollback();
      for (const job of group) this.settle(job, { ok: false, error: err });
      return;
    }
    // Not awaited: the next group runs its items (whose writes mostly wait for their own COMMIT)
    // while SQLite executes this one's; whatever the next group sends waits for this end.
    this.writer.after(
      committing.then(
        () => this.committed(kept),
        async (err: unknown) => {
          await this.writer.conn.exec('ROLLBACK').catch(() => undefined);
          for (const job of group) this.settle(job, { ok: false, error: err });
        },
      ),
    );
  }

  /** A group's COMMIT succeeded: its items resolve once it is on disk. */
  private committed(kept: readonly [Job, unknown][]): void {
    this.counters.commits++;
    this.checkpointer?.committed();
    // A group of non-durable items only (audit rows nobody waits for) requests no sync.
    if (!this.sync || !kept.some(([job]) => job.durable)) {
      for (const [job, value] of kept) this.settle(job, { ok: true, value });
      return;
    }
    // Not awaited: the next group runs while this one's WAL is synced; its items resolve after.
    // Items that failed were settled already; their rollback needs no sync.
    this.sync.afterCommit().then(
      () => kept.forEach(([job, value]) => this.settle(job, { ok: true, value })),
      (err: unknown) => kept.forEach(([job]) => this.settle(job, { ok: false, error: err })),
    );
  }

  /** Runs one item in its savepoint; throws only if the database fails. */
  private async item(job: Job): Promise<Outcome> {
    const savepoint = `item${++this.items}`;
    this.writer.startItem(savepoint);
    const repo = new Repository(this.writer, false);
    let outcome: Outcome;
    try {
      outcome = { ok: true, value: await inTransactionScope(() => job.fn(repo)) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    repo.finish();
    if (outcome.ok) this.writer.keepAppended();
    else this.writer.dropAppended(false);
    await this.writer.endItem(outcome.ok);
    return outcome;
  }

  private settle(job: Job, outcome: Outcome): void {
    if (job.settled) return;
    job.settled = true;
    this.counters.transactions++;
    if (outcome.ok) {
      job.resolve(outcome.value);
    } else {
      this.counters.failed++;
      job.reject(outcome.error);
    }
  }
}

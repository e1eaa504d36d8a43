/**
 * The SQLite store: one file in WAL mode with `synchronous=FULL`, so a commit is on disk (the
 * WAL fsynced) before a client hears "created", and survives kill -9 and power loss.
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
 * each item sees the items before it, as if it ran alone after them: serializable. While the
 * COMMIT's fsync runs in libuv's thread pool, new items queue up and form the next group, so the
 * fsync rate no longer bounds the item rate. If BEGIN, a savepoint or COMMIT fails (disk full,
 * I/O error), the whole group is rolled back and every item in it rejects.
 *
 * Round trips to the database thread are then the cost (tens of µs each), so the savepoint
 * statements do not get their own: `SAVEPOINT itemN` (and the previous item's RELEASE) are sent
 * with the item's first statement, and an item that touched nothing needs none. Each item's
 * savepoint has its own name, so if that combined call fails before the SAVEPOINT ran, the
 * ROLLBACK TO finds no such savepoint and the whole group fails — never an earlier item's work.
 * A Create is thus one round trip (Repository.insert sends its statements as one script).
 *
 * Reads (`read`) run on separate read-only connections inside a deferred transaction: a WAL
 * snapshot of committed data, never the writer's uncommitted group, and never waiting for it.
 */
import createKnex, { type Knex } from 'knex';
import type sqlite3 from 'sqlite3';
import { migrationSource } from './migrations/index.js';
import { type Executor, nestedError, Repository, type Statement, transactionScope } from './repository.js';
import { ConnectionPool, SqliteConnection, toScript } from './sqlite-connection.js';
import { type ObjectStore, type SqliteStoreConfig, StoreError, type StoreReader, type StoreStats, type StoreTransaction } from './types.js';

const WRITER_PRAGMAS = [
  'journal_mode = WAL',
  // FULL: the WAL is fsynced at every commit (NORMAL would only at checkpoints, losing the
  // latest commits to a power cut).
  'synchronous = FULL',
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

const DEFAULT_READERS = 2;
const DEFAULT_MAX_GROUP_SIZE = 512;

interface Job {
  fn: (tx: StoreTransaction) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  settled: boolean;
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
    await knex.migrate.latest({ migrationSource });
    for (let i = 0; i < (config.readers ?? DEFAULT_READERS); i++) opened.push(await SqliteConnection.open(config.filename, READER_PRAGMAS));
    return new SqliteStore(knex, writer, new ConnectionPool(opened.slice(1)), config.maxGroupSize ?? DEFAULT_MAX_GROUP_SIZE);
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

/**
 * The write connection as an Executor that sends deferred savepoint statements along with the
 * next statement. knex queries (other modules' tables) go through `viaDeferred`, a stand-in for
 * the node-sqlite3 connection that sends the deferred statements first.
 */
class Writer implements Executor {
  readonly dialect = 'sqlite3';
  private deferred = '';
  /** Whether the deferred statements of the current item have been sent. */
  private sent = false;
  private readonly viaDeferred: Pick<sqlite3.Database, 'all' | 'run'>;

  constructor(
    private readonly knex: Knex,
    readonly conn: SqliteConnection,
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

  /** Starts an item: its savepoint is deferred. */
  startItem(savepoint: string): void {
    this.defer(`SAVEPOINT ${savepoint};`);
    this.sent = false;
  }

  /** Whether the item's savepoint reached the database (it ran a statement). */
  get itemStarted(): boolean {
    return this.sent;
  }

  /** Forgets an item that ran no statement: its savepoint was never sent. */
  dropItem(savepoint: string): void {
    this.deferred = this.deferred.slice(0, this.deferred.length - `SAVEPOINT ${savepoint};`.length);
  }

  discardDeferred(): void {
    this.deferred = '';
  }

  private take(): string {
    const sql = this.deferred;
    this.deferred = '';
    this.sent = true;
    return sql;
  }

  async flush(): Promise<void> {
    if (this.deferred !== '') await this.conn.exec(this.take());
  }

  /** Sends the deferred statements and `sql` in one call. */
  exec(sql: string): Promise<void> {
    return this.conn.exec(this.take() + sql);
  }

  async all<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    await this.flush();
    return this.conn.all<T>(sql, params);
  }

  async run(sql: string, params: readonly unknown[]): Promise<number> {
    await this.flush();
    return this.conn.run(sql, params);
  }

  script(statements: readonly Statement[]): Promise<void> {
    return this.exec(toScript(statements));
  }

  table(name: string): Knex.QueryBuilder {
    return this.knex(name).connection(this.viaDeferred);
  }

  raw(sql: string, bindings: readonly Knex.RawBinding[] = []): Knex.Raw {
    return this.knex.raw(sql, bindings).connection(this.viaDeferred);
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

  constructor(
    private readonly knex: Knex,
    writer: SqliteConnection,
    private readonly readers: ConnectionPool,
    private readonly maxGroupSize: number,
  ) {
    this.writer = new Writer(knex, writer);
  }

  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StoreError('CLOSED', 'the object store is closed'));
    if (transactionScope.getStore()) return Promise.reject(nestedError('transaction'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (value: unknown) => void, reject, settled: false });
      if (!this.draining) this.writing = this.drain();
    });
  }

  async read<T>(fn: (reader: StoreReader) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('CLOSED', 'the object store is closed');
    if (transactionScope.getStore()) throw nestedError('read');
    return this.readers.use(async (conn) => {
      const repo = new Repository(readExecutor(this.knex, conn), false);
      await conn.exec('BEGIN');
      try {
        return await fn(repo);
      } finally {
        repo.finish();
        await conn.exec('COMMIT');
      }
    });
  }

  stats(): StoreStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      await this.writing;
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
    const take = (): Job[] => {
      const jobs = this.queue.splice(0, this.maxGroupSize - group.length);
      group.push(...jobs);
      return jobs;
    };
    try {
      let jobs = take();
      this.writer.defer('BEGIN IMMEDIATE;');
      while (jobs.length > 0) {
        for (const job of jobs) {
          const outcome = await this.item(job);
          if (outcome.ok) kept.push([job, outcome.value]);
          else this.settle(job, outcome);
        }
        jobs = take();
      }
      await this.writer.exec('COMMIT');
      this.counters.commits++;
    } catch (err) {
      // SQLite may already have rolled back (SQLITE_FULL, SQLITE_IOERR), or BEGIN never ran.
      this.writer.discardDeferred();
      await this.writer.conn.exec('ROLLBACK').catch(() => undefined);
      for (const job of group) this.settle(job, { ok: false, error: err });
      return;
    }
    for (const [job, value] of kept) this.settle(job, { ok: true, value });
  }

  /** Runs one item in its savepoint; throws only if the database fails. */
  private async item(job: Job): Promise<Outcome> {
    const savepoint = `item${++this.items}`;
    this.writer.startItem(savepoint);
    const repo = new Repository(this.writer, false);
    let outcome: Outcome;
    try {
      outcome = { ok: true, value: await transactionScope.run(true, () => job.fn(repo)) };
    } catch (error) {
      outcome = { ok: false, error };
    }
    repo.finish();
    if (!this.writer.itemStarted) this.writer.dropItem(savepoint);
    else if (outcome.ok) this.writer.defer(`RELEASE ${savepoint};`);
    else await this.writer.exec(`ROLLBACK TO ${savepoint}; RELEASE ${savepoint}`);
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

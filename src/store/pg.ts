/**
 * The PostgreSQL store, for several kmipd nodes sharing one database. Each item transaction is
 * a PostgreSQL transaction on a pooled connection; concurrent commits share WAL flushes in the
 * server, so no grouping is needed here. Writes run at READ COMMITTED with `get` taking the
 * object's row lock (SELECT … FOR UPDATE), so read-modify-write of one object serializes across
 * nodes; reads run in a READ ONLY, REPEATABLE READ transaction: one snapshot per `read`.
 */
import createKnex, { type Knex } from 'knex';
import { migrationSource } from './migrations/index.js';
import { type Executor, nestedError, Repository, inTransactionScope, insideTransaction } from './repository.js';
import { type ObjectStore, type PgStoreConfig, StoreError, type StoreReader, type StoreStats, type StoreTransaction, type TransactionOptions } from './types.js';

const DEFAULT_POOL_SIZE = 10;
/** pg_advisory_lock key held while migrating, so nodes starting together migrate one at a time. */
const MIGRATION_LOCK = 0x6b6d6970; // 'kmip'

export async function openPgStore(config: PgStoreConfig): Promise<ObjectStore> {
  const knex = createKnex({
    client: 'pg',
    connection: config.connection,
    ...(config.schema === undefined ? {} : { searchPath: [config.schema] }),
    pool: { min: 0, max: Math.max(2, config.poolSize ?? DEFAULT_POOL_SIZE) },
  });
  try {
    await migrate(knex, config.schema);
  } catch (err) {
    await knex.destroy();
    throw err;
  }
  return new PgStore(knex);
}

async function migrate(knex: Knex, schema: string | undefined): Promise<void> {
  const conn: unknown = await knex.client.acquireConnection();
  try {
    await knex.raw('SELECT pg_advisory_lock(?)', [MIGRATION_LOCK]).connection(conn);
    try {
      await knex.migrate.latest({ migrationSource, ...(schema === undefined ? {} : { schemaName: schema }) });
    } finally {
      await knex.raw('SELECT pg_advisory_unlock(?)', [MIGRATION_LOCK]).connection(conn);
    }
  } finally {
    await knex.client.releaseConnection(conn);
  }
}

interface PgResult {
  rows: unknown[];
  rowCount: number | null;
}

function executor(trx: Knex.Transaction): Executor {
  return {
    dialect: 'pg',
    all: async <T>(sql: string, params: readonly unknown[]) => ((await trx.raw(sql, params as Knex.RawBinding[])) as PgResult).rows as T[],
    run: async (sql, params) => ((await trx.raw(sql, params as Knex.RawBinding[])) as PgResult).rowCount ?? 0,
    script: async (statements) => {
      for (const { sql, params } of statements) await trx.raw(sql, params as Knex.RawBinding[]);
    },
    table: (name) => trx(name),
    raw: (sql, bindings = []) => trx.raw(sql, bindings),
  };
}

class PgStore implements ObjectStore {
  readonly client = 'pg';
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counters: StoreStats = { transactions: 0, failed: 0, commits: 0 };

  constructor(private readonly knex: Knex) {}

  async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    if (this.closed) throw new StoreError('CLOSED', 'the object store is closed');
    if (insideTransaction()) throw nestedError('transaction');
    try {
      const value = await this.knex.transaction(async (trx) => {
        // Not durable: COMMIT returns without waiting for the WAL flush; a later synchronous
        // commit's flush covers it (PostgreSQL flushes the WAL in order).
        if (options.durable === false) await trx.raw('SET LOCAL synchronous_commit = off');
        const repo = new Repository(executor(trx), true);
        try {
          return await inTransactionScope(() => fn(repo));
        } finally {
          repo.finish();
        }
      });
      this.counters.commits++;
      return value;
    } catch (err) {
      this.counters.failed++;
      throw err;
    } finally {
      this.counters.transactions++;
    }
  }

  async read<T>(fn: (reader: StoreReader) => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('CLOSED', 'the object store is closed');
    if (insideTransaction()) throw nestedError('read');
    return this.knex.transaction(
      async (trx) => {
        const repo = new Repository(executor(trx), false);
        try {
          return await fn(repo);
        } finally {
          repo.finish();
        }
      },
      { isolationLevel: 'repeatable read', readOnly: true },
    );
  }

  stats(): StoreStats {
    return { ...this.counters };
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= this.knex.destroy();
    return this.closing;
  }
}

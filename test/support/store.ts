/**
 * Throw-away object stores for tests: a SQLite file in a temporary directory, and a fresh
 * schema in the PostgreSQL at KMIPD_TEST_PG (default postgres://postgres@127.0.0.1:5432/test),
 * dropped at teardown. PostgreSQL is skipped, with the reason, when it cannot be reached.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createKnex from 'knex';
import type { Test } from 'tap';
import { openStore, type ObjectStore, type StoreConfig } from '../../src/store/index.js';

export const pgUrl = process.env.KMIPD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestStore {
  store: ObjectStore;
  config: StoreConfig;
  /** Closes the store and removes its file or schema. */
  cleanup(): Promise<void>;
}

export async function sqliteTestStore(options: { maxGroupSize?: number; walRestartPages?: number } = {}): Promise<TestStore> {
  const dir = await mkdtemp(join(tmpdir(), 'kmipd-store-'));
  const config: StoreConfig = { client: 'sqlite3', filename: join(dir, 'kmipd.sqlite'), ...options };
  const store = await openStore(config);
  return {
    store,
    config,
    cleanup: async () => {
      try {
        await store.close();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Why PostgreSQL is unavailable, or undefined when it answers. */
export async function pgUnavailable(): Promise<string | undefined> {
  try {
    await pgAdmin('SELECT 1');
    return undefined;
  } catch (err) {
    return `PostgreSQL at ${pgUrl} is unreachable (${(err as Error).message}); set KMIPD_TEST_PG`;
  }
}

async function pgAdmin(sql: string): Promise<void> {
  const knex = createKnex({ client: 'pg', connection: { connectionString: pgUrl, connectionTimeoutMillis: 2000 }, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 3000 });
  try {
    await knex.raw(sql);
  } finally {
    await knex.destroy();
  }
}

/** A new, empty schema in the test PostgreSQL (`${prefix}_<random>`), dropped with all it holds at the test's teardown. */
export async function scratchPgSchema(t: Pick<Test, 'teardown'>, prefix: string): Promise<string> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  await pgAdmin(`CREATE SCHEMA ${schema}`);
  t.teardown(() => pgAdmin(`DROP SCHEMA ${schema} CASCADE`));
  return schema;
}

export async function pgTestStore(options: { poolSize?: number } = {}): Promise<TestStore> {
  const schema = `kmipd_test_${randomBytes(6).toString('hex')}`;
  await pgAdmin(`CREATE SCHEMA ${schema}`);
  const config: StoreConfig = { client: 'pg', connection: pgUrl, schema, ...options };
  try {
    const store = await openStore(config);
    return {
      store,
      config,
      cleanup: async () => {
        await store.close();
        await pgAdmin(`DROP SCHEMA ${schema} CASCADE`);
      },
    };
  } catch (err) {
    await pgAdmin(`DROP SCHEMA ${schema} CASCADE`);
    throw err;
  }
}

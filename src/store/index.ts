/**
 * The object store: managed objects persisted through knex, in a SQLite file (default) or in
 * PostgreSQL shared by several kmipd nodes. See types.ts for the interface, sqlite.ts for group
 * commit, migrations/ for the schema.
 */
import { openPgStore } from './pg.js';
import { openSqliteStore } from './sqlite.js';
import type { ObjectStore, StoreConfig } from './types.js';

export * from './types.js';
export { filterFor, indexKeys, attributeName } from './keys.js';
export { seed, type SeedOptions } from './seed.js';
export { detached } from './repository.js';

/** Opens the store and brings its schema up to date (knex migrations). */
export function openStore(config: StoreConfig): Promise<ObjectStore> {
  return config.client === 'pg' ? openPgStore(config) : openSqliteStore(config);
}

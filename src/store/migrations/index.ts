/**
 * The migrations, in order, as imported modules: a knex migration source that works the same
 * from tsx and from the compiled dist (no directory scanning, no file extensions to guess).
 * A new migration is a new module here; a released one is never edited.
 */
import type { Knex } from 'knex';
import * as objects from './001_objects.js';
import * as lifecycle from './002_lifecycle.js';
import * as audit from './003_audit.js';
import * as unindexed from './004_unindexed.js';

const MIGRATIONS: readonly [string, Knex.Migration][] = [
  ['001_objects', objects],
  ['002_lifecycle', lifecycle],
  ['003_audit', audit],
  ['004_unindexed', unindexed],
];

export const migrationSource: Knex.MigrationSource<[string, Knex.Migration]> = {
  getMigrations: () => Promise.resolve([...MIGRATIONS]),
  getMigrationName: ([name]) => name,
  getMigration: ([, migration]) => Promise.resolve(migration),
};

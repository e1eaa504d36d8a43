/**
 * Managed objects and their attribute instances.
 *
 * `objects.id` is a surrogate key: it orders objects by creation (Locate answers newest first)
 * and keeps the attribute rows and their indexes small. `owner` is the identity that may see
 * the object; richer access (roles, grants to other identities) will add a `grants` table
 * (object_id, grantee, permission) and widen the owner condition, not change these tables.
 *
 * `attributes` holds one row per attribute instance, in the record's order (`position`): the
 * canonical TTLV bytes plus the indexed keys from keys.ts. Object Type and State are columns of
 * `objects` as well, since nearly every Locate filters on them.
 */
import type { Knex } from 'knex';

const SQLITE = [
  `CREATE TABLE objects (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    object_type INTEGER NOT NULL,
    state INTEGER NOT NULL,
    sealed_value BLOB
  )`,
  // Clustered by object: reading an object's attributes is one range scan.
  `CREATE TABLE attributes (
    object_id INTEGER NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value BLOB NOT NULL,
    text_key TEXT,
    num_key INTEGER,
    PRIMARY KEY (object_id, position)
  ) WITHOUT ROWID`,
];

const POSTGRES = [
  `CREATE TABLE objects (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    object_type INTEGER NOT NULL,
    state INTEGER NOT NULL,
    sealed_value BYTEA
  )`,
  `CREATE TABLE attributes (
    object_id BIGINT NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value BYTEA NOT NULL,
    text_key TEXT,
    num_key BIGINT,
    PRIMARY KEY (object_id, position)
  )`,
];

const INDEXES = [
  // Locate without attribute filters: the owner's objects, newest first.
  'CREATE INDEX objects_owner_id ON objects (owner, id)',
  'CREATE INDEX objects_owner_type_state ON objects (owner, object_type, state, id)',
  // Locate by an attribute's text or numeric key; object_id makes them covering.
  'CREATE INDEX attributes_text ON attributes (name, text_key, object_id) WHERE text_key IS NOT NULL',
  'CREATE INDEX attributes_num ON attributes (name, num_key, object_id) WHERE num_key IS NOT NULL',
];

export async function up(knex: Knex): Promise<void> {
  const tables = knex.client.config.client === 'pg' ? POSTGRES : SQLITE;
  for (const sql of [...tables, ...INDEXES]) await knex.raw(sql);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE attributes');
  await knex.raw('DROP TABLE objects');
}

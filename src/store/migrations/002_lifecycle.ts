/**
 * Date-driven state, storage status and Name uniqueness.
 *
 * - `objects.activation_date` / `objects.deactivation_date` mirror the Activation and Deactivation
 *   Date attributes (seconds; NULL when absent), written with every insert and update, so Locate by
 *   State can evaluate the state at the request's time as a predicate on the object's own row
 *   (see stateCondition in locate.ts) instead of reading attribute rows.
 * - `objects.storage` is the storage status as Locate's Storage Status Mask bit (KMIP 2.1 §6.1.28):
 *   1 on-line, 2 archived (Archive / Recover). Destroyed is told by the state.
 * - `object_names` holds each Name's value once per owner: KMIP 2.1 §4.32 makes Names unique, and
 *   only a constraint in the database holds when several kmipd nodes create concurrently on one
 *   PostgreSQL (a read-then-insert check cannot). Rows are derived from the Name attribute rows.
 */
import type { Knex } from 'knex';
import { Tag } from '../../kmip/registry.generated.js';

const hex = (tag: number): string => `'0x${tag.toString(16).toUpperCase().padStart(6, '0')}'`;

export async function up(knex: Knex): Promise<void> {
  const pg = knex.client.config.client === 'pg';
  const id = pg ? 'BIGINT' : 'INTEGER';
  await knex.raw(`ALTER TABLE objects ADD COLUMN activation_date ${id}`);
  await knex.raw(`ALTER TABLE objects ADD COLUMN deactivation_date ${id}`);
  await knex.raw('ALTER TABLE objects ADD COLUMN storage INTEGER NOT NULL DEFAULT 1');
  for (const [column, tag] of [
    ['activation_date', Tag.ActivationDate],
    ['deactivation_date', Tag.DeactivationDate],
  ] as const) {
    await knex.raw(`UPDATE objects SET ${column} = (SELECT max(a.num_key) FROM attributes a WHERE a.object_id = objects.id AND a.name = ${hex(tag)})`);
  }
  // Locate by State alone: the owner's objects of those states, newest first.
  await knex.raw('CREATE INDEX objects_owner_state ON objects (owner, state, id)');
  await knex.raw(`CREATE TABLE object_names (
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    object_id ${id} NOT NULL REFERENCES objects (id) ON DELETE CASCADE,
    PRIMARY KEY (owner, name)
  )`);
  await knex.raw('CREATE INDEX object_names_object ON object_names (object_id)');
  // Names already stored: the first holder keeps a value held twice (possible before this constraint).
  const insert = pg ? 'INSERT INTO' : 'INSERT OR IGNORE INTO';
  const conflict = pg ? ' ON CONFLICT DO NOTHING' : '';
  await knex.raw(
    `${insert} object_names (owner, name, object_id) SELECT o.owner, a.text_key, o.id FROM attributes a JOIN objects o ON o.id = a.object_id WHERE a.name = ${hex(Tag.Name)} AND a.text_key IS NOT NULL ORDER BY o.id${conflict}`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE object_names');
  await knex.raw('DROP INDEX objects_owner_state');
  for (const column of ['storage', 'deactivation_date', 'activation_date']) await knex.raw(`ALTER TABLE objects DROP COLUMN ${column}`);
}

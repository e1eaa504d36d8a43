/**
 * The audit table (src/audit): one row per batch item of every request, and the signed
 * checkpoints of its hash chain.
 *
 * - `audit_log` rows are inserted without `seq` (and with `prev_hash` and `hash` as 64 blanks, so that
 *   chaining them later rewrites the row in place instead of growing it): in the transaction of the
 *   change they record, or batched for items that changed nothing. The chainer (src/audit/chain.ts)
 *   then gives the committed rows their place in the one chain, in commit order, under a lock every
 *   node takes. `id` only says insertion order on one node; `seq` is the chain's order.
 * - `audit_checkpoints` hold the chain head signed by a node's audit signing key.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  const pg = knex.client.config.client === 'pg';
  const id = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY AUTOINCREMENT';
  const big = pg ? 'BIGINT' : 'INTEGER';
  await knex.raw(`CREATE TABLE audit_log (
    id ${id},
    seq ${big} UNIQUE,
    prev_hash TEXT,
    hash TEXT,
    digest TEXT NOT NULL,
    time TEXT NOT NULL,
    node TEXT NOT NULL,
    event TEXT NOT NULL,
    identity TEXT,
    subject TEXT,
    fingerprint TEXT,
    peer TEXT,
    transport TEXT,
    version TEXT,
    batch_index INTEGER,
    batch_item_id TEXT,
    operation TEXT,
    uids_requested TEXT NOT NULL,
    uids TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    message TEXT,
    ccv TEXT,
    scv TEXT,
    request_digest TEXT
  )`);
  // The chainer's queue, committed rows without a place in the chain yet (seq IS NULL), is read
  // through the seq index: SQLite and PostgreSQL index NULLs too, in row order. No second index to
  // maintain on every Create.
  await knex.raw(`CREATE TABLE audit_checkpoints (
    id ${id},
    seq ${big} NOT NULL,
    hash TEXT NOT NULL,
    time TEXT NOT NULL,
    node TEXT NOT NULL,
    key_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    next_key TEXT,
    signature TEXT NOT NULL
  )`);
  await knex.raw('CREATE INDEX audit_checkpoints_seq ON audit_checkpoints (seq)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('DROP TABLE audit_checkpoints');
  await knex.raw('DROP TABLE audit_log');
}

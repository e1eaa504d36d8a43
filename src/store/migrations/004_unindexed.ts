/**
 * Attributes that are no longer indexed (keys.ts UNINDEXED): their rows lose their text and
 * numeric keys, which takes their entries out of attributes_text and attributes_num. Unique
 * Identifier, Object Type and State are columns of `objects` with their own indexes; the others
 * (Sensitive, Fresh, Key Format Type, Lease Time…) take a handful of values across a store, so no
 * Locate is narrowed by their index entries, and every Create paid for them (18 index entries for
 * a new AES key's 20 attributes, 7 without these).
 *
 * The list is this migration's own copy: a released migration never changes, whatever keys.ts
 * says later. Every kmipd node on one database must run this version or a later one: an older
 * node would look these attributes up by keys that are no longer there.
 */
import type { Knex } from 'knex';
import { decode } from '../../ttlv/index.js';

/** Unique Identifier, Object Type, State, Sensitive, Always Sensitive, Extractable, Never Extractable, Fresh, Key Format Type, Lease Time, Protection Storage Mask. */
const NAMES = ['0x420094', '0x420057', '0x42008D', '0x420120', '0x420121', '0x420122', '0x420123', '0x4200A8', '0x420042', '0x420049', '0x42015E'];

const IN_NAMES = `name IN (${NAMES.map(() => '?').join(', ')})`;

export async function up(knex: Knex): Promise<void> {
  // Two statements, so each can find its rows through the partial index it empties.
  await knex.raw(`UPDATE attributes SET text_key = NULL WHERE ${IN_NAMES} AND text_key IS NOT NULL`, NAMES);
  await knex.raw(`UPDATE attributes SET num_key = NULL WHERE ${IN_NAMES} AND num_key IS NOT NULL`, NAMES);
}

/** The keys back, as keys.ts made them before: a text's value, a number's (a Boolean's as 0/1). */
export async function down(knex: Knex): Promise<void> {
  const PAGE = 10_000;
  for (let after = { id: -1, position: -1 }; ; ) {
    const rows = (await knex.raw(
      `SELECT object_id, position, value FROM attributes WHERE ${IN_NAMES} AND (object_id > ? OR (object_id = ? AND position > ?)) ORDER BY object_id, position LIMIT ${PAGE}`,
      [...NAMES, after.id, after.id, after.position],
    )) as unknown;
    const list = (Array.isArray(rows) ? rows : (rows as { rows: unknown[] }).rows) as { object_id: number | string; position: number; value: Uint8Array }[];
    for (const row of list) {
      const it = decode(row.value);
      let text: string | null = null;
      let num: number | null = null;
      if (it.type === 'TextString' && it.value.length <= 256) text = it.value;
      else if (it.type === 'Integer' || it.type === 'Enumeration' || it.type === 'Interval') num = it.value;
      else if (it.type === 'Boolean') num = it.value ? 1 : 0;
      if (text !== null || num !== null) await knex.raw('UPDATE attributes SET text_key = ?, num_key = ? WHERE object_id = ? AND position = ?', [text, num, row.object_id, row.position]);
    }
    const last = list[list.length - 1];
    if (!last || list.length < PAGE) return;
    after = { id: Number(last.object_id), position: last.position };
  }
}

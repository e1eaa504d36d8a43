/**
 * Attributes without index keys (keys.ts UNINDEXED, migration 004): a database written before
 * migration 004, with keys on Unique Identifier, State, Fresh and Sensitive, is upgraded in place
 * (their keys dropped, the others kept) and Locate still finds objects by each of them, old and
 * new; migrating down puts the keys back as they were.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createKnex, { type Knex } from 'knex';
import t, { type Test } from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { UniqueIdentifier } from '../../src/objects/types.js';
import { attributeName, filterFor, openStore, type StoreConfig } from '../../src/store/index.js';
import { migrationSource } from '../../src/store/migrations/index.js';
import { encode, item, type Item, structure } from '../../src/ttlv/index.js';
import { pgUnavailable, pgUrl, scratchPgSchema } from '../support/store.js';

const pgMissing = await pgUnavailable();
const OWNER = 'unindexed';

/** The migrations before 004. */
const before004: Knex.MigrationSource<[string, Knex.Migration]> = {
  ...migrationSource,
  getMigrations: async () => (await migrationSource.getMigrations([])).filter(([name]) => name < '004'),
};

interface Row {
  name: string;
  text_key: string | null;
  num_key: number | string | null;
}

async function keysOf(knex: Knex, uid: string): Promise<Row[]> {
  return (await knex('attributes').join('objects', 'objects.id', 'attributes.object_id').where('objects.uid', uid).orderBy('position').select('name', 'text_key', 'num_key')) as Row[];
}

const plain = (rows: Row[]): Row[] => rows.map((r) => ({ name: r.name, text_key: r.text_key, num_key: r.num_key === null ? null : Number(r.num_key) }));

async function upgrade(t: Test, connect: () => Knex, config: StoreConfig): Promise<void> {
  let knex = connect();
  await knex.migrate.latest({ migrationSource: before004 });
  // An object as kmipd wrote it before 004: every leaf attribute keyed.
  const uid = randomUUID() as UniqueIdentifier;
  const old: [Item, string | null, number | null][] = [
    [structure(Tag.Name, [item(Tag.NameValue, 'TextString', 'old-key'), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)]), 'old-key', Enum.NameType.UninterpretedTextString],
    [item(Tag.UniqueIdentifier, 'TextString', uid), uid, null],
    [item(Tag.State, 'Enumeration', Enum.State.Active), null, Enum.State.Active],
    [item(Tag.Fresh, 'Boolean', true), null, 1],
    [item(Tag.Sensitive, 'Boolean', true), null, 1],
    [item(Tag.ObjectGroup, 'TextString', 'g'), 'g', null],
    [item(Tag.CryptographicLength, 'Integer', 256), null, 256],
  ];
  await knex.raw('INSERT INTO objects (uid, owner, object_type, state, sealed_value) VALUES (?, ?, ?, ?, ?)', [uid, OWNER, Enum.ObjectType.SymmetricKey, Enum.State.Active, randomBytes(8)]);
  const [row] = (await knex('objects').where({ uid }).select('id')) as { id: number }[];
  for (const [position, [a, text, num]] of old.entries()) {
    await knex('attributes').insert({ object_id: row!.id, position, name: attributeName(a), value: encode(a), text_key: text, num_key: num });
  }
  await knex('object_names').insert({ owner: OWNER, name: 'old-key', object_id: row!.id });
  const keyed = plain(await keysOf(knex, uid));
  await knex.destroy();

  const store = await openStore(config);
  let fresh: UniqueIdentifier;
  try {
    fresh = await store.transaction(async (tx) => {
      const r = { uid: tx.nextUid(), objectType: 'SymmetricKey' as const, state: 'Active' as const, owner: OWNER, attributes: [] as Item[], sealedValue: Buffer.from('s') };
      r.attributes.push(item(Tag.UniqueIdentifier, 'TextString', r.uid), item(Tag.Fresh, 'Boolean', true), item(Tag.ObjectGroup, 'TextString', 'g'), item(Tag.Sensitive, 'Boolean', false));
      await tx.insert(r);
      return r.uid;
    });
    await store.read(async (r) => {
      t.same(await r.locate({ attributes: [filterFor(item(Tag.UniqueIdentifier, 'TextString', uid))] }, OWNER), [uid], 'an old object by Unique Identifier');
      t.same(await r.locate({ attributes: [filterFor(item(Tag.UniqueIdentifier, 'TextString', fresh))] }, OWNER), [fresh], 'a new object by Unique Identifier');
      t.same(await r.locate({ attributes: [filterFor(item(Tag.UniqueIdentifier, 'TextString', uid))] }, 'someone else'), [], "not another owner's object");
      t.same(await r.locate({ attributes: [{ attribute: 'ObjectGroup', text: 'g' }], groupMember: 'Fresh' }, OWNER), [fresh, uid], 'Group Member Fresh finds old and new');
      t.same(await r.locate({ attributes: [filterFor(item(Tag.Sensitive, 'Boolean', true))] }, OWNER), [uid], 'by Sensitive true');
      t.same(await r.locate({ attributes: [filterFor(item(Tag.Sensitive, 'Boolean', false))] }, OWNER), [fresh], 'by Sensitive false');
      t.same(await r.locate({ attributes: [{ attribute: 'Name', text: 'old-key' }] }, OWNER), [uid], 'Names keep their keys');
      t.same(await r.locate({ attributes: [{ attribute: 'CryptographicLength', number: 256 }] }, OWNER), [uid], 'so do numbers that are still indexed');
    });
  } finally {
    await store.close();
  }

  knex = connect();
  try {
    const upgraded = plain(await keysOf(knex, uid));
    const dropped = new Set([Tag.UniqueIdentifier, Tag.State, Tag.Fresh, Tag.Sensitive].map((tag) => attributeName(item(tag, 'Boolean', true))));
    t.same(
      upgraded,
      keyed.map((r) => (dropped.has(r.name) ? { ...r, text_key: null, num_key: null } : r)),
      'migration 004 drops the keys of the unindexed attributes only',
    );
    t.same(plain(await keysOf(knex, fresh)).filter((r) => r.text_key !== null || r.num_key !== null).map((r) => r.name), [attributeName(item(Tag.ObjectGroup, 'TextString', ''))], 'a new object: only Object Group keyed');
    await knex.migrate.down({ migrationSource });
    t.same(plain(await keysOf(knex, uid)), keyed, 'migrating down puts the keys back');
  } finally {
    await knex.destroy();
  }
}

t.test('SQLite: a database from before migration 004 is upgraded in place', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kmipd-unindexed-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const filename = join(dir, 'old.sqlite');
  await upgrade(t, () => createKnex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true }), { client: 'sqlite3', filename });
});

t.test('PostgreSQL: a database from before migration 004 is upgraded in place', { skip: pgMissing ?? false }, async (t) => {
  const schema = await scratchPgSchema(t, 'kmipd_unindexed');
  await upgrade(t, () => createKnex({ client: 'pg', connection: pgUrl, searchPath: [schema], pool: { min: 0, max: 2 } }), { client: 'pg', connection: pgUrl, schema });
});

/**
 * The store's part of the date-driven lifecycle, storage status and Name uniqueness, one suite run
 * against SQLite and PostgreSQL: Locate by State evaluated at a given time, the Storage Status
 * Mask, and Names unique per owner enforced by the database, also between two stores (two kmipd
 * nodes) on one PostgreSQL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createKnex, { type Knex } from 'knex';
import t, { type Test } from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { ManagedObjectRecord, StateName, UniqueIdentifier } from '../../src/objects/types.js';
import { attributeName, indexKeys, openStore, type ObjectStore, type StoreConfig } from '../../src/store/index.js';
import * as objects001 from '../../src/store/migrations/001_objects.js';
import { encode, item, type Item, structure } from '../../src/ttlv/index.js';
import { pgTestStore, pgUnavailable, pgUrl, sqliteTestStore, type TestStore, scratchPgSchema } from '../support/store.js';

const HOUR = 3600;
const T0 = Date.UTC(2026, 0, 1) / 1000;

function name(value: string): Item {
  return structure(Tag.Name, [item(Tag.NameValue, 'TextString', value), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)]);
}

interface Spec {
  owner?: string;
  state?: StateName;
  names?: string[];
  activation?: number;
  deactivation?: number;
  archived?: boolean;
}

async function create(store: ObjectStore, spec: Spec): Promise<UniqueIdentifier> {
  return store.transaction(async (tx) => {
    const state = spec.state ?? 'PreActive';
    const r: ManagedObjectRecord = {
      uid: tx.nextUid(),
      objectType: 'SymmetricKey',
      state,
      owner: spec.owner ?? 'dates',
      attributes: [
        ...(spec.names ?? []).map(name),
        item(Tag.State, 'Enumeration', Enum.State[state]),
        ...(spec.activation === undefined ? [] : [item(Tag.ActivationDate, 'DateTime', spec.activation)]),
        ...(spec.deactivation === undefined ? [] : [item(Tag.DeactivationDate, 'DateTime', spec.deactivation)]),
      ],
      sealedValue: Buffer.from('sealed'),
      ...(spec.archived ? { archived: true } : {}),
    };
    await tx.insert(r);
    return r.uid;
  });
}

async function suite(t: Test, open: () => Promise<TestStore>): Promise<void> {
  const target = await open();
  const { store } = target;
  t.teardown(() => target.cleanup());

  t.test('Locate by State sees Activation and Deactivation Dates take effect at the time asked', async (t) => {
    const owner = 'dates';
    const plain = await create(store, { owner });
    const activating = await create(store, { owner, activation: T0 + HOUR });
    const window = await create(store, { owner, activation: T0 + HOUR, deactivation: T0 + 3 * HOUR });
    const active = await create(store, { owner, state: 'Active', deactivation: T0 + 2 * HOUR });
    const compromised = await create(store, { owner, state: 'Compromised', activation: T0, deactivation: T0 });
    const at = (now: number, ...states: StateName[]) => store.read((r) => r.locate({ states, now }, owner));
    t.same(await at(T0, 'PreActive'), [window, activating, plain], 'before any date: Pre-Active as stored');
    t.same(await at(T0, 'Active'), [active]);
    t.same(await at(T0 + HOUR - 1, 'Active'), [active], 'one second before the Activation Date: not yet');
    t.same(await at(T0 + HOUR, 'Active'), [active, window, activating], 'on the Activation Date: Active');
    t.same(await at(T0 + HOUR, 'PreActive'), [plain]);
    t.same(await at(T0 + 2 * HOUR, 'Deactivated'), [active], 'on the Deactivation Date: Deactivated');
    t.same(await at(T0 + 3 * HOUR, 'Deactivated'), [active, window], 'both dates passed: Deactivated');
    t.same(await at(T0 + 3 * HOUR, 'Active', 'PreActive'), [activating, plain], 'two states at once');
    t.same(await at(T0 + 9 * HOUR, 'Compromised'), [compromised], 'dates never move a Compromised object');
    t.same(await store.read((r) => r.locate({ states: ['PreActive'] }, owner)), [window, activating, plain], 'without a time: the stored state');
    t.equal(await store.read((r) => r.count({ states: ['Active'], now: T0 + HOUR }, owner)), 3, 'count agrees');
  });

  t.test('an update moves the mirrored dates: a Deactivation Date set later takes effect', async (t) => {
    const owner = 'dates-update';
    const uid = await create(store, { owner, state: 'Active' });
    await store.transaction(async (tx) => {
      const r = (await tx.get(uid, owner))!;
      r.attributes = [...r.attributes, item(Tag.DeactivationDate, 'DateTime', T0)];
      await tx.update(r);
    });
    t.same(await store.read((r) => r.locate({ states: ['Deactivated'], now: T0 }, owner)), [uid]);
    t.same(await store.read((r) => r.locate({ states: ['Active'], now: T0 - 1 }, owner)), [uid]);
  });

  t.test('Storage Status Mask: on-line, archived and destroyed objects apart', async (t) => {
    const owner = 'storage';
    const online = await create(store, { owner });
    const archived = await create(store, { owner, archived: true });
    const destroyed = await create(store, { owner, state: 'Destroyed' });
    const mask = (storageStatusMask: number) => store.read((r) => r.locate({ storageStatusMask }, owner));
    t.same(await mask(1), [online], 'on-line only');
    t.same(await mask(2), [archived], 'archived only');
    t.same(await mask(4), [destroyed], 'destroyed only');
    t.same(await mask(7), [destroyed, archived, online], 'all three');
    t.same(await mask(0), [], 'an empty mask matches nothing');
    t.equal((await store.read((r) => r.get(archived, owner)))?.archived, true, 'get reports the archived flag');
    await store.transaction(async (tx) => {
      const r = (await tx.get(archived, owner))!;
      delete r.archived;
      await tx.update(r);
    });
    t.same(await mask(1), [archived, online], 'back on-line after an update without the flag');
  });

  t.test('a Name is unique per owner in the database: insert and update refuse a taken one', async (t) => {
    await create(store, { owner: 'names', names: ['shared'] });
    await t.rejects(create(store, { owner: 'names', names: ['other', 'shared'] }), { name: 'StoreError', code: 'NAME_TAKEN' }, 'a second object with the Name');
    t.equal(await store.read((r) => r.count({ attributes: [{ attribute: 'Name', text: 'other' }] }, 'names')), 0, 'the refused insert left nothing');
    await create(store, { owner: 'someone-else', names: ['shared'] });
    t.pass('another owner may use the same Name');
    const second = await create(store, { owner: 'names', names: ['second'] });
    await t.rejects(
      store.transaction(async (tx) => {
        const r = (await tx.get(second, 'names'))!;
        r.attributes = [...r.attributes, name('shared')];
        await tx.update(r);
      }),
      { name: 'StoreError', code: 'NAME_TAKEN' },
      'an update adding a taken Name',
    );
    await store.transaction(async (tx) => {
      const r = (await tx.get(second, 'names'))!;
      r.attributes = [...r.attributes.filter((a) => a.tag !== Tag.Name), name('renamed')];
      await tx.update(r);
    });
    await create(store, { owner: 'names', names: ['second'] });
    t.pass('a Name an update removed is free again');
    const gone = await create(store, { owner: 'names', names: ['deleted'] });
    await store.transaction((tx) => tx.delete(gone, 'names'));
    await create(store, { owner: 'names', names: ['deleted'] });
    t.pass('a deleted object frees its Name');
  });
}

t.test('SQLite', async (t) => {
  await suite(t, () => sqliteTestStore());
});

const pgMissing = await pgUnavailable();
t.test('PostgreSQL', { skip: pgMissing ?? false }, async (t) => {
  await suite(t, () => pgTestStore());

  t.test('two nodes checking then inserting the same Name at once: exactly one commits', async (t) => {
    const first = await pgTestStore();
    t.teardown(first.cleanup);
    const second = await openStore(first.config);
    t.teardown(() => second.close());
    for (let round = 0; round < 5; round++) {
      const label = `race-${round}`;
      let checked = 0;
      let bothChecked!: () => void;
      const barrier = new Promise<void>((resolve) => (bothChecked = resolve));
      // Both transactions see the Name free (as checkNamesUnique would) before either inserts.
      const attempt = (store: ObjectStore) =>
        store.transaction(async (tx) => {
          const taken = await tx.count({ attributes: [{ attribute: 'Name', text: label }] }, 'racer');
          if (++checked === 2) bothChecked();
          await barrier;
          if (taken > 0) throw new Error('the Name was already taken before the race');
          const r: ManagedObjectRecord = { uid: tx.nextUid(), objectType: 'SymmetricKey', state: 'PreActive', owner: 'racer', attributes: [name(label)] };
          await tx.insert(r);
        });
      const results = await Promise.allSettled([attempt(first.store), attempt(second)]);
      t.same(results.map((r) => r.status).sort(), ['fulfilled', 'rejected'], `round ${round}: one commits, one is refused`);
      t.match(results.find((r) => r.status === 'rejected'), { reason: { name: 'StoreError', code: 'NAME_TAKEN' } });
      t.equal(await first.store.read((r) => r.count({ attributes: [{ attribute: 'Name', text: label }] }, 'racer')), 1, 'one object holds the Name');
    }
  });
});

/**
 * A database as it was before migration 002 (only 001 applied), with objects written the old way,
 * then opened by the current store: the dates are mirrored, existing Names reserved (the older
 * holder keeps a Name two objects shared), and Locate by State at a time works on old rows.
 */
async function upgrade(t: Test, knex: Knex, config: StoreConfig): Promise<void> {
  const only001: Knex.MigrationSource<string> = {
    getMigrations: () => Promise.resolve(['001_objects']),
    getMigrationName: (n) => n,
    getMigration: () => Promise.resolve(objects001),
  };
  await knex.migrate.latest({ migrationSource: only001, ...('schema' in config && config.schema ? { schemaName: config.schema } : {}) });
  const insertOld = async (state: StateName, attributes: Item[]): Promise<UniqueIdentifier> => {
    const uid = randomUUID() as UniqueIdentifier;
    await knex.raw('INSERT INTO objects (uid, owner, object_type, state, sealed_value) VALUES (?, ?, ?, ?, ?)', [uid, 'old', Enum.ObjectType.SymmetricKey, Enum.State[state], randomBytes(8)]);
    const [row] = (await knex('objects').where({ uid }).select('id')) as { id: number }[];
    for (const [position, a] of attributes.entries()) {
      const keys = indexKeys(a);
      await knex('attributes').insert({ object_id: row!.id, position, name: attributeName(a), value: encode(a), text_key: keys.text, num_key: keys.num });
    }
    return uid;
  };
  const later = await insertOld('PreActive', [name('legacy'), item(Tag.ActivationDate, 'DateTime', T0 + HOUR)]);
  const twin = await insertOld('Active', [name('legacy')]);
  await knex.destroy();

  const store = await openStore(config);
  t.teardown(() => store.close());
  t.same(await store.read((r) => r.locate({ states: ['Active'], now: T0 + HOUR }, 'old')), [twin, later], "an old row's Activation Date takes effect");
  t.same(await store.read((r) => r.locate({ states: ['PreActive'], now: T0 }, 'old')), [later]);
  await t.rejects(create(store, { owner: 'old', names: ['legacy'] }), { name: 'StoreError', code: 'NAME_TAKEN' }, 'an old Name is reserved');
  // The second holder's row comes with its next write (operations also check Names by reading
  // the attributes, which still sees it in between).
  await store.transaction((tx) => tx.delete(later, 'old'));
  await store.transaction(async (tx) => tx.update((await tx.get(twin, 'old'))!));
  await t.rejects(create(store, { owner: 'old', names: ['legacy'] }), { name: 'StoreError', code: 'NAME_TAKEN' }, 'the second holder reserves the Name once it is written');
}

t.test('SQLite: a database from before migration 002 is upgraded in place', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kmipd-upgrade-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const filename = join(dir, 'old.sqlite');
  await upgrade(t, createKnex({ client: 'sqlite3', connection: { filename }, useNullAsDefault: true }), { client: 'sqlite3', filename });
});

t.test('PostgreSQL: a database from before migration 002 is upgraded in place', { skip: pgMissing ?? false }, async (t) => {
  const schema = await scratchPgSchema(t, 'kmipd_upgrade');
  await upgrade(t, createKnex({ client: 'pg', connection: pgUrl, searchPath: [schema], pool: { min: 0, max: 2 } }), { client: 'pg', connection: pgUrl, schema });
});

/**
 * The object store, one suite run against SQLite (a temporary file) and PostgreSQL (a fresh
 * schema, dropped afterwards; skipped with the reason when the server is unreachable).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { ManagedObjectRecord, ObjectTypeName, StateName, UniqueIdentifier } from '../../src/objects/types.js';
import { filterFor, openStore, type ObjectStore, StoreError, type StoreTransaction } from '../../src/store/index.js';
import { encode, item, type Item, structure } from '../../src/ttlv/index.js';
import { pgTestStore, pgUnavailable, sqliteTestStore, type TestStore } from '../support/store.js';

const DAY = 86_400;
const T0 = Date.UTC(2025, 0, 1) / 1000;

function name(value: string): Item {
  return structure(Tag.Name, [item(Tag.NameValue, 'TextString', value), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)]);
}

function vendor(vendorId: string, attributeName: string, value: Item): Item {
  return structure(Tag.Attribute, [item(Tag.VendorIdentification, 'TextString', vendorId), item(Tag.AttributeName, 'TextString', attributeName), value]);
}

interface Spec {
  owner?: string;
  name?: string;
  objectType?: ObjectTypeName;
  state?: StateName;
  extra?: Item[];
  initialDate?: number;
}

function record(tx: StoreTransaction, spec: Spec): ManagedObjectRecord {
  const objectType = spec.objectType ?? 'SymmetricKey';
  const state = spec.state ?? 'Active';
  return {
    uid: tx.nextUid(),
    objectType,
    state,
    owner: spec.owner ?? 'alice',
    attributes: [
      ...(spec.name === undefined ? [] : [name(spec.name)]),
      item(Tag.ObjectType, 'Enumeration', Enum.ObjectType[objectType]),
      item(Tag.State, 'Enumeration', Enum.State[state]),
      item(Tag.InitialDate, 'DateTime', spec.initialDate ?? T0),
      ...(spec.extra ?? []),
    ],
    sealedValue: Buffer.from('sealed:' + (spec.name ?? '')),
  };
}

async function create(store: ObjectStore, spec: Spec): Promise<UniqueIdentifier> {
  return store.transaction(async (tx) => {
    const r = record(tx, spec);
    await tx.insert(r);
    return r.uid;
  });
}

/** Resolves when `release()` is called: holds a transaction open for as long as a test wants. */
function gate(): { wait: Promise<void>; release: () => void } {
  let release!: () => void;
  const wait = new Promise<void>((resolve) => (release = resolve));
  return { wait, release };
}

async function suite(t: Test, open: () => Promise<TestStore>): Promise<void> {
  const target = await open();
  const { store } = target;
  t.teardown(() => target.cleanup());

  t.test('an inserted object reads back whole: attributes of every item type and the sealed bytes', async (t) => {
    const attributes: Item[] = [
      name('round-trip'),
      item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey),
      item(Tag.CryptographicLength, 'Integer', 256),
      item(Tag.CryptographicUsageMask, 'Integer', -1),
      item(Tag.UsageLimitsTotal, 'LongInteger', -(1n << 62n)),
      item(Tag.Fresh, 'Boolean', true),
      item(Tag.ObjectGroup, 'TextString', 'ünïcödé ✓'),
      item(Tag.Description, 'TextString', 'x'.repeat(5000)),
      item(Tag.InitialDate, 'DateTime', T0),
      item(Tag.LeaseTime, 'Interval', 3600),
      item(Tag.LastChangeDate, 'DateTimeExtended', 1_735_689_600_123_456n),
      item(0x540001, 'BigInteger', -(1n << 100n)),
      vendor('x', 'Department', item(Tag.AttributeValue, 'ByteString', Buffer.from([0, 1, 2, 255]))),
      name('second instance'),
    ];
    const sealedValue = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    const uid = await store.transaction(async (tx) => {
      const r: ManagedObjectRecord = { uid: tx.nextUid(), objectType: 'SymmetricKey', state: 'PreActive', owner: 'alice', attributes, sealedValue };
      await tx.insert(r);
      return r.uid;
    });
    t.match(uid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const got = await store.read((r) => r.get(uid, 'alice'));
    t.ok(got);
    t.equal(got?.uid, uid);
    t.equal(got?.objectType, 'SymmetricKey');
    t.equal(got?.state, 'PreActive');
    t.equal(got?.owner, 'alice');
    t.strictSame(got?.attributes, attributes);
    t.strictSame(got?.attributes.map((a) => encode(a)), attributes.map((a) => encode(a)), 'canonical bytes');
    t.ok(got?.sealedValue && Buffer.from(got.sealedValue).equals(sealedValue), 'sealed bytes');
  });

  t.test("another owner sees nothing of alice's objects and cannot change them", async (t) => {
    const uid = await create(store, { name: 'isolated', extra: [item(Tag.ObjectGroup, 'TextString', 'isolation')] });
    await store.read(async (r) => {
      t.equal(await r.get(uid, 'bob'), undefined);
      t.same(await r.locate({ attributes: [{ attribute: 'Name', text: 'isolated' }] }, 'bob'), []);
      t.same(await r.locate({}, 'bob'), []);
      t.equal(await r.count({ attributes: [{ attribute: 'ObjectGroup', text: 'isolation' }] }, 'bob'), 0);
      t.same(await r.locate({ attributes: [{ attribute: 'Name', text: 'isolated' }] }, 'alice'), [uid]);
    });
    const stolen = await store.read((r) => r.get(uid, 'alice'));
    await t.rejects(
      store.transaction((tx) => tx.update({ ...stolen!, owner: 'bob', state: 'Compromised' })),
      { name: 'StoreError', code: 'NOT_FOUND' },
    );
    t.equal(await store.transaction((tx) => tx.delete(uid, 'bob')), false);
    t.equal((await store.read((r) => r.get(uid, 'alice')))?.state, 'Active');
  });

  t.test('a transaction that throws leaves nothing behind', async (t) => {
    let uid: UniqueIdentifier | undefined;
    const boom = new Error('boom');
    await t.rejects(
      store.transaction(async (tx) => {
        const r = record(tx, { name: 'never-stored' });
        uid = r.uid;
        await tx.insert(r);
        t.ok(await tx.get(r.uid, 'alice'), 'visible inside its own transaction');
        throw boom;
      }),
      boom,
    );
    t.equal(await store.read((r) => r.get(uid!, 'alice')), undefined);
    t.same(await store.read((r) => r.locate({ attributes: [{ attribute: 'Name', text: 'never-stored' }] }, 'alice')), []);
  });

  t.test('200 concurrent transactions all commit (grouped into fewer commits on SQLite)', async (t) => {
    const before = store.stats();
    const uids = await Promise.all(Array.from({ length: 200 }, (_, i) => create(store, { name: `concurrent-${i}`, owner: 'carol' })));
    const after = store.stats();
    t.equal(new Set(uids).size, 200);
    t.equal(await store.read((r) => r.count({}, 'carol')), 200);
    t.equal(after.transactions - before.transactions, 200);
    if (store.client === 'sqlite3') t.ok(after.commits - before.commits < 200, `${after.commits - before.commits} commits for 200 transactions`);
    else t.equal(after.commits - before.commits, 200);
  });

  t.test('a transaction queued the moment another resolves still runs', async (t) => {
    // The writer loop winds down over a few microtasks; queue the next transaction at each of them.
    for (let hops = 0; hops < 8; hops++) {
      const second = store.transaction(async () => 1).then(async () => {
        for (let i = 0; i < hops; i++) await null;
        return store.transaction(async () => 2);
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise((resolve) => (timer = setTimeout(resolve, 2000, 'stranded')));
      t.equal(await Promise.race([second, timeout]), 2, `queued ${hops} microtasks after`);
      clearTimeout(timer);
    }
  });

  t.test('one failing transaction among concurrent ones changes nothing and fails no other', async (t) => {
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) =>
        store.transaction(async (tx) => {
          const r = record(tx, { name: `batch-${i}`, owner: 'dave' });
          await tx.insert(r);
          if (i === 30) throw new StoreError('NOT_FOUND', 'item 30 fails after writing');
          return r.uid;
        }),
      ),
    );
    t.equal(results.filter((r) => r.status === 'rejected').length, 1);
    t.equal(results[30]?.status, 'rejected');
    t.equal(await store.read((r) => r.count({}, 'dave')), 59);
    t.same(await store.read((r) => r.locate({ attributes: [{ attribute: 'Name', text: 'batch-30' }] }, 'dave')), []);
  });

  t.test('records with generated uids (written with the COMMIT on SQLite): one group, each item on its own', async (t) => {
    const fresh = (tx: StoreTransaction, spec: Spec): Promise<UniqueIdentifier> => {
      const r = record(tx, spec);
      return tx.insert(r, { uidGenerated: true }).then(() => r.uid);
    };
    const taken = await create(store, { name: 'gen-taken', owner: 'gina' });
    const failedAfterInsert = new Error('the item fails after its insert');
    let seenByLater: boolean | undefined;
    // Submitted together: on SQLite they share one commit group, in this order.
    const results = await Promise.allSettled([
      store.transaction((tx) => fresh(tx, { name: 'gen-1', owner: 'gina' })),
      store.transaction(async (tx) => {
        await fresh(tx, { name: 'gen-undone', owner: 'gina' });
        throw failedAfterInsert;
      }),
      store.transaction((tx) => fresh(tx, { name: 'gen-taken', owner: 'gina' })),
      store.transaction((tx) => fresh(tx, { name: 'gen-1', owner: 'gina' })),
      store.transaction(async (tx) => {
        // A later item reads what an earlier one wrote, though it has not been sent on its own.
        seenByLater = (await tx.count({ attributes: [{ attribute: 'Name', text: 'gen-1' }] }, 'gina')) === 1;
        return fresh(tx, { owner: 'gina', extra: [item(Tag.ObjectGroup, 'TextString', 'gen-group')] });
      }),
    ]);
    const status = results.map((r) => r.status);
    t.same([status[1], status[2], status[4]], ['rejected', 'rejected', 'fulfilled']);
    t.equal((results[1] as PromiseRejectedResult).reason, failedAfterInsert);
    t.match((results[2] as PromiseRejectedResult).reason, { name: 'StoreError', code: 'NAME_TAKEN' }, 'a Name held before the group');
    if (store.client === 'sqlite3') {
      t.same([status[0], status[3]], ['fulfilled', 'rejected']);
      t.match((results[3] as PromiseRejectedResult).reason, { name: 'StoreError', code: 'NAME_TAKEN' }, 'a Name taken by an earlier item of the same group');
      t.equal(seenByLater, true, 'a later item sees an earlier item’s record');
    } else {
      // Side by side on PostgreSQL: whichever commits first has the Name.
      t.same(status.filter((st, i) => (i === 0 || i === 3) && st === 'fulfilled').length, 1, 'one of the two gets the Name');
    }
    t.same(await store.read((r) => r.locate({ attributes: [{ attribute: 'Name', text: 'gen-undone' }] }, 'gina')), [], 'the failed item left nothing');
    t.same(await store.read((r) => r.locate({ attributes: [{ attribute: 'Name', text: 'gen-taken' }] }, 'gina')), [taken]);
    const [first] = await store.read((r) => r.locate({ attributes: [{ attribute: 'Name', text: 'gen-1' }] }, 'gina'));
    const got = await store.read((r) => r.get(first!, 'gina'));
    t.same(got?.attributes.map((a) => a.tag), [Tag.Name, Tag.ObjectType, Tag.State, Tag.InitialDate], 'attribute rows belong to their own object');
    t.same(Buffer.from(got!.sealedValue!), Buffer.from('sealed:gen-1'));
    const grouped = await store.read((r) => r.locate({ attributes: [{ attribute: 'ObjectGroup', text: 'gen-group' }] }, 'gina'));
    t.equal(grouped.length, 1);
    t.same((await store.read((r) => r.get(grouped[0]!, 'gina')))?.attributes.map((a) => a.tag), [Tag.ObjectType, Tag.State, Tag.InitialDate, Tag.ObjectGroup]);
    t.equal(await store.read((r) => r.count({}, 'gina')), 3);
  });

  t.test('an item that fails after an update leaves the object as it was, whatever the item before it did', async (t) => {
    const uid = await create(store, { name: 'unchanged', owner: 'hana' });
    const failed = new Error('fails after its write');
    // On SQLite one group: the first item reads and fails (its rollback is sent at once), then the
    // second reads, updates and fails: its update must be undone with it.
    const results = await Promise.allSettled([
      store.transaction(async (tx) => {
        await tx.count({}, 'hana');
        throw failed;
      }),
      store.transaction(async (tx) => {
        const current = await tx.get(uid, 'hana');
        await tx.update({ ...current!, state: 'Deactivated', attributes: [...current!.attributes, item(Tag.ObjectGroup, 'TextString', 'changed')] });
        throw failed;
      }),
      create(store, { name: 'after-the-failures', owner: 'hana' }),
    ]);
    t.same(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'fulfilled'],
    );
    const after = await store.read((r) => r.get(uid, 'hana'));
    t.equal(after?.state, 'Active');
    t.notOk(after?.attributes.some((a) => a.tag === Tag.ObjectGroup), 'the update was rolled back');
  });

  t.test('a duplicate Unique Identifier fails only its own transaction', async (t) => {
    const uid = await create(store, { name: 'original', owner: 'erin' });
    const results = await Promise.allSettled([
      create(store, { name: 'before', owner: 'erin' }),
      store.transaction(async (tx) => tx.insert({ ...record(tx, { name: 'copy', owner: 'erin' }), uid })),
      create(store, { name: 'after', owner: 'erin' }),
    ]);
    t.same(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    t.match((results[1] as PromiseRejectedResult).reason, { name: 'StoreError', code: 'DUPLICATE' });
    t.equal(await store.read((r) => r.count({}, 'erin')), 3);
  });

  t.test('update replaces state, attributes and sealed value; delete removes the object', async (t) => {
    const uid = await create(store, { name: 'to-change', owner: 'frank' });
    await store.transaction(async (tx) => {
      const r = await tx.get(uid, 'frank');
      if (!r) throw new Error('missing');
      r.state = 'Deactivated';
      r.attributes = [name('changed'), item(Tag.State, 'Enumeration', Enum.State.Deactivated)];
      delete r.sealedValue;
      await tx.update(r);
    });
    const changed = await store.read((r) => r.get(uid, 'frank'));
    t.equal(changed?.state, 'Deactivated');
    t.strictSame(changed?.attributes, [name('changed'), item(Tag.State, 'Enumeration', Enum.State.Deactivated)]);
    t.equal(changed?.sealedValue, undefined);
    t.same(await store.read((r) => r.locate({ attributes: [{ attribute: 'Name', text: 'to-change' }] }, 'frank')), []);
    t.same(await store.read((r) => r.locate({ attributes: [{ attribute: 'Name', text: 'changed' }] }, 'frank')), [uid]);
    t.equal(await store.transaction((tx) => tx.delete(uid, 'frank')), true);
    t.equal(await store.read((r) => r.get(uid, 'frank')), undefined);
    t.equal(await store.read((r) => r.count({}, 'frank')), 0);
  });

  t.test('locate', async (t) => {
    const owner = 'grace';
    const usage = (mask: number): Item => item(Tag.CryptographicUsageMask, 'Integer', mask);
    const { Encrypt, Decrypt, Sign } = Mask.CryptographicUsageMask;
    // Created in this order: Locate answers newest first.
    const specs: Spec[] = [
      { name: 'db-key-0', initialDate: T0, extra: [usage(Encrypt | Decrypt), item(Tag.ObjectGroup, 'TextString', 'db'), item(Tag.Fresh, 'Boolean', false)] },
      { name: 'db-key-1', initialDate: T0 + DAY, extra: [usage(Encrypt), item(Tag.ObjectGroup, 'TextString', 'db'), item(Tag.Fresh, 'Boolean', true)] },
      { name: 'signer', objectType: 'PrivateKey', initialDate: T0 + 2 * DAY, extra: [usage(Sign)] },
      { name: 'old', state: 'Deactivated', initialDate: T0 + 3 * DAY, extra: [vendor('x', 'Department', item(Tag.AttributeValue, 'TextString', 'finance'))] },
      { name: 'cert', objectType: 'Certificate', state: 'PreActive', initialDate: T0 + 4 * DAY, extra: [vendor('x', 'Department', item(Tag.AttributeValue, 'TextString', 'hr'))] },
      { name: 'db-key', initialDate: T0 + 5 * DAY, extra: [usage(Encrypt | Decrypt | Sign), item(Tag.ObjectGroup, 'TextString', 'db'), item(Tag.Fresh, 'Boolean', true)] },
    ];
    const uids: UniqueIdentifier[] = [];
    for (const spec of specs) uids.push(await create(store, { ...spec, owner }));
    await create(store, { name: 'db-key', owner: 'mallory' });
    const twice = await create(store, { owner, objectType: 'OpaqueObject', state: 'Compromised', initialDate: T0 - DAY, extra: [item(Tag.ObjectGroup, 'TextString', 'twice'), item(Tag.ObjectGroup, 'TextString', 'twice')] });
    const [db0, db1, signer, old, cert, db5] = uids as [UniqueIdentifier, ...UniqueIdentifier[]];

    await store.read(async (r) => {
      t.same(await r.locate({}, owner), [twice, ...[...uids].reverse()], 'all of the owner, newest first');
      t.same(await r.locate({ attributes: [{ attribute: 'Name', text: 'db-key' }] }, owner), [db5], 'by NameValue text');
      t.same(await r.locate({ attributes: [filterFor(structure(Tag.Name, [item(Tag.NameValue, 'TextString', 'signer')]))] }, owner), [signer], 'by a Name structure with only NameValue');
      t.same(await r.locate({ attributes: [filterFor(name('signer'))] }, owner), [signer], 'by a whole Name structure (bytes)');
      t.same(await r.locate({ attributes: [{ attribute: 'Name', equals: structure(Tag.Name, [item(Tag.NameValue, 'TextString', 'signer'), item(Tag.NameType, 'Enumeration', Enum.NameType.URI)]) }] }, owner), [], 'bytes must match exactly');
      t.same(await r.locate({ objectTypes: ['SymmetricKey'], states: ['Active'] }, owner), [db5, db1, db0], 'by type and state');
      t.same(await r.locate({ objectTypes: ['PrivateKey', 'Certificate'] }, owner), [cert, signer], 'by either of two types');
      t.same(await r.locate({ states: ['Deactivated', 'PreActive'] }, owner), [cert, old], 'by either of two states');
      t.same(await r.locate({ attributes: [{ attribute: { vendor: 'x', name: 'Department' }, text: 'finance' }] }, owner), [old], 'by a vendor attribute text');
      t.same(await r.locate({ attributes: [filterFor(vendor('x', 'Department', item(Tag.AttributeValue, 'TextString', 'hr')))] }, owner), [cert], 'by a whole vendor attribute');
      t.same(await r.locate({ attributes: [{ attribute: { vendor: 'x', name: 'Department' } }] }, owner), [cert, old], 'by presence of an attribute');
      t.same(await r.locate({ attributes: [filterFor(item(Tag.ObjectGroup, 'TextString', 'db'))], maxItems: 2 }, owner), [db5, db1], 'maxItems');
      t.same(await r.locate({ attributes: [{ attribute: 'ObjectGroup', text: 'db' }], maxItems: 2, offsetItems: 2 }, owner), [db0], 'maxItems and offsetItems');
      t.same(await r.locate({ attributes: [{ attribute: 'ObjectGroup', text: 'db' }], offsetItems: 1 }, owner), [db1, db0], 'offsetItems alone');
      t.same(await r.locate({ maxItems: 0 }, owner), [], 'maxItems 0');
      t.same(await r.locate({ objectTypes: [] }, owner), [], 'an empty list of types matches nothing');
      t.equal(await r.count({ attributes: [{ attribute: 'ObjectGroup', text: 'db' }], maxItems: 1 }, owner), 3, 'count ignores paging');
      t.same(await r.locate({ attributes: [{ attribute: 'InitialDate', from: T0 + DAY, to: T0 + 3 * DAY }] }, owner), [old, signer, db1], 'by a date range, both ends inclusive');
      t.same(await r.locate({ attributes: [{ attribute: 'InitialDate', from: T0 + 4 * DAY }] }, owner), [db5, cert], 'from a date on');
      t.same(await r.locate({ attributes: [filterFor(item(Tag.InitialDate, 'DateTime', T0 + 2 * DAY))] }, owner), [signer], 'by one date');
      t.same(await r.locate({ attributes: [{ attribute: 'CryptographicUsageMask', maskAll: Encrypt | Decrypt }] }, owner), [db5, db0], 'usage mask: every requested bit set');
      t.same(
        await r.locate({ attributes: [{ attribute: 'Name', text: 'db-key' }, { attribute: 'CryptographicUsageMask', maskAll: Sign }] }, owner),
        [db5],
        'two filters AND together',
      );
      t.same(await r.locate({ attributes: [{ attribute: 'ObjectGroup', text: 'db' }], groupMember: 'Fresh' }, owner), [db5, db1], 'Group Member Fresh');
      t.same(await r.locate({ attributes: [{ attribute: 'ObjectGroup', text: 'db' }], groupMember: 'Default' }, owner), [db5], 'Group Member Default: the newest');
      t.same(await r.locate({ attributes: [{ attribute: 'Name', text: 'nothing' }] }, owner), []);
      t.same(await r.locate({ attributes: [{ attribute: 'ObjectGroup', text: 'twice' }] }, owner), [twice], 'two matching instances: one result');
      t.equal(await r.count({ attributes: [{ attribute: 'ObjectGroup', text: 'twice' }] }, owner), 1);
    });
  });

  t.test('reads see committed data only and do not wait for an open write', async (t) => {
    const open = gate();
    let uid: UniqueIdentifier | undefined;
    const inserted = gate();
    const writing = store.transaction(async (tx) => {
      const r = record(tx, { name: 'in-flight', owner: 'heidi' });
      uid = r.uid;
      await tx.insert(r);
      inserted.release();
      await open.wait;
    });
    await inserted.wait;
    t.equal(await store.read((r) => r.get(uid!, 'heidi')), undefined, 'not visible before commit');
    open.release();
    await writing;
    t.ok(await store.read((r) => r.get(uid!, 'heidi')), 'visible after commit');
  });

  t.test('misuse is refused: nested transactions and reads, a handle used after its transaction', async (t) => {
    await t.rejects(
      store.transaction(() => store.transaction(async () => undefined)),
      { name: 'StoreError', code: 'NESTED_TRANSACTION' },
    );
    await t.rejects(
      store.transaction(() => store.read(async () => undefined)),
      { name: 'StoreError', code: 'NESTED_TRANSACTION' },
    );
    const leaked = await store.transaction(async (tx) => tx);
    await t.rejects(async () => leaked.get('x' as UniqueIdentifier, 'alice'), { name: 'StoreError', code: 'FINISHED' });
  });

  t.test('other modules can use their own tables in the same transaction', async (t) => {
    await store.transaction(async (tx) => {
      await tx.raw('CREATE TABLE side_effects (note TEXT NOT NULL)');
    });
    await t.rejects(
      store.transaction(async (tx) => {
        await tx.table('side_effects').insert({ note: 'rolled back' });
        throw new Error('undo');
      }),
    );
    await store.transaction(async (tx) => tx.table('side_effects').insert({ note: 'kept' }));
    const rows = await store.read(async (r) => (await r.table('side_effects').select('note')) as { note: string }[]);
    t.same(
      rows.map((r) => r.note),
      ['kept'],
    );
  });
}

t.test('SQLite', async (t) => {
  await suite(t, () => sqliteTestStore());

  t.test('commits are durable: WAL journal, synchronous=NORMAL with the WAL fdatasynced by the store', async (t) => {
    const { store, cleanup } = await sqliteTestStore();
    t.teardown(cleanup);
    const [journal] = (await store.transaction((tx) => tx.raw('PRAGMA journal_mode'))) as { journal_mode: string }[];
    const [sync] = (await store.transaction((tx) => tx.raw('PRAGMA synchronous'))) as { synchronous: number }[];
    t.equal(journal?.journal_mode, 'wal');
    t.equal(sync?.synchronous, 1, 'NORMAL: the store fdatasyncs the WAL itself before a commit resolves (test/store/sqlite.test.ts)');
  });

  t.test('every acknowledged transaction survives kill -9 of the writer', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'kmipd-crash-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const filename = join(dir, 'kmipd.sqlite');
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('fixtures/crash-writer.ts', import.meta.url)), filename], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acknowledged: string[] = [];
    let partial = '';
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`the writer exited early (${code})`)));
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        acknowledged.push(...lines);
        if (acknowledged.length >= 500) resolve();
      });
    });
    child.removeAllListeners('exit');
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    acknowledged.push(...[partial].filter((l) => l.length === 36));
    const store = await openStore({ client: 'sqlite3', filename });
    t.teardown(() => store.close());
    const missing = await store.read(async (r) => {
      const gone: string[] = [];
      for (const uid of acknowledged) if (!(await r.get(uid as UniqueIdentifier, 'crash'))) gone.push(uid);
      return gone;
    });
    t.same(missing, [], `all ${acknowledged.length} acknowledged objects are in the database`);
  });

  t.test('objects survive closing and reopening the file', async (t) => {
    const first = await sqliteTestStore();
    t.teardown(first.cleanup);
    const uid = await create(first.store, { name: 'persistent' });
    await first.store.close();
    const again = await openStore(first.config);
    t.teardown(() => again.close());
    t.equal((await again.read((r) => r.get(uid, 'alice')))?.uid, uid);
    // cleanup() closes the first store again: harmless.
  });
});

const pgMissing = await pgUnavailable();
t.test('PostgreSQL', { skip: pgMissing ?? false }, async (t) => {
  await suite(t, () => pgTestStore());
});

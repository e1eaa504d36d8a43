/**
 * The SQLite store's durability contract (src/store/sqlite.ts): the writer commits with
 * synchronous=NORMAL and the store fdatasyncs the WAL itself, off the writer's path. A
 * transaction resolves, and a read answers, only after a sync of the WAL file that started after
 * the COMMIT has finished; a failed sync fails the transaction and every write after it. The
 * syncs are observed by wrapping FileHandle.datasync (the store's only way to sync).
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { Tag } from '../../src/kmip/registry.generated.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../../src/objects/types.js';
import { item } from '../../src/ttlv/index.js';
import { sqliteTestStore } from '../support/store.js';

interface Gate {
  path: string;
  release(): void;
  fail(err: Error): void;
}

/** Wraps FileHandle.prototype.datasync: each call waits until the test releases (or fails) it. */
async function holdSyncs(dir: string): Promise<{ gates: Gate[]; restore(): void; auto(on: boolean): void }> {
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const original = proto.datasync;
  const gates: Gate[] = [];
  let automatic = true;
  proto.datasync = async function (this: FileHandle): Promise<void> {
    if (automatic) return original.call(this);
    const path = await pathOf(this);
    await new Promise<void>((resolve, reject) => gates.push({ path, release: resolve, fail: reject }));
    return original.call(this);
  };
  return { gates, restore: () => (proto.datasync = original), auto: (on) => (automatic = on) };
}

async function pathOf(handle: FileHandle): Promise<string> {
  const { readlink } = await import('node:fs/promises');
  return readlink(`/proc/self/fd/${handle.fd}`).catch(() => '?');
}

function record(label: string): ManagedObjectRecord {
  return {
    uid: randomUUID() as UniqueIdentifier,
    owner: 'alice',
    objectType: 'SecretData',
    state: 'Active',
    attributes: [item(Tag.Name, 'TextString', label)],
  };
}

const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  return done;
};

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

t.test('a transaction resolves only after the WAL file is synced, and a read waits for it too', async (t) => {
  const { store, config, cleanup } = await sqliteTestStore();
  const filename = (config as { filename: string }).filename;
  const syncs = await holdSyncs(join(filename, '..'));
  t.teardown(async () => {
    syncs.restore();
    await cleanup();
  });
  const [journal] = (await store.read((r) => r.raw('PRAGMA journal_mode'))) as { journal_mode: string }[];
  t.equal(journal?.journal_mode, 'wal', 'WAL journal');

  syncs.auto(false);
  const first = record('first');
  const created = store.transaction((tx) => tx.insert(first));
  await until('the WAL sync', () => syncs.gates.length === 1);
  t.equal(syncs.gates[0]!.path, `${filename}-wal`, 'the store syncs the WAL file');
  t.notOk(await settled(created), 'not resolved while the sync runs');
  const read = store.read((r) => r.get(first.uid, 'alice'));
  t.notOk(await settled(read), 'a read that could see the commit does not answer before the sync');

  // A group committing during the sync shares the next one, which starts after the first.
  const second = store.transaction((tx) => tx.insert(record('second')));
  t.notOk(await settled(second), 'a later group waits as well');
  t.equal(syncs.gates.length, 1, 'one sync at a time');
  syncs.gates[0]!.release();
  await created;
  t.ok(await read, 'the read answers once the sync finished');
  await until('the second sync', () => syncs.gates.length === 2);
  t.notOk(await settled(second), 'the later group waits for a sync that started after its commit');
  syncs.gates[1]!.release();
  await second;
  syncs.auto(true);
  t.equal(store.stats().commits, 2);
});

t.test('a failed WAL sync fails its transaction and every write after it', async (t) => {
  const { store, config, cleanup } = await sqliteTestStore();
  const syncs = await holdSyncs(join((config as { filename: string }).filename, '..'));
  t.teardown(async () => {
    syncs.restore();
    await cleanup().catch(() => undefined); // the store's close reports the failed sync again; the directory goes anyway
  });
  syncs.auto(false);
  const created = store.transaction((tx) => tx.insert(record('lost')));
  await until('the WAL sync', () => syncs.gates.length === 1);
  // A group that commits while that sync runs waits for the next sync, which comes after the failure.
  const queued = store.transaction((tx) => tx.insert(record('queued')));
  await until('the second commit', () => store.stats().commits === 2);
  syncs.gates[0]!.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
  await t.rejects(created, /could not sync its write-ahead log/, 'the Create is not acknowledged');
  syncs.auto(true);
  await t.rejects(queued, /could not sync its write-ahead log/, 'a group committed after the failure is not acknowledged either');
  await t.rejects(store.transaction((tx) => tx.insert(record('later'))), /writes are refused until kmipd restarts/, 'later writes are refused');
  await t.rejects(store.read((r) => r.get(randomUUID() as UniqueIdentifier, 'alice')), /could not sync/, 'reads are refused: they could show what may be lost');
});

t.test('under a steady stream of writes the WAL starts over instead of growing', async (t) => {
  // 64 pages instead of 16,384: the same mechanism at a size a test reaches in a second.
  const restartPages = 64;
  const { store, config, cleanup } = await sqliteTestStore({ walRestartPages: restartPages });
  t.teardown(cleanup);
  const wal = `${(config as { filename: string }).filename}-wal`;
  const { stat } = await import('node:fs/promises');
  let largest = 0;
  // Two writers: groups of about two items, so the 200 commits between checkpoints come quickly.
  await Promise.all(
    Array.from({ length: 2 }, async (_, w) => {
      for (let i = 0; i < 1000; i++) {
        await store.transaction(async (tx) => {
          const r = record(`w${w}-${i}`);
          r.attributes.push(item(Tag.ObjectGroup, 'TextString', 'x'.repeat(600)), item(Tag.Description, 'TextString', 'y'.repeat(600)));
          await tx.insert(r);
        });
        largest = Math.max(largest, (await stat(wal)).size);
      }
    }),
  );
  t.ok(store.stats().commits > 200, `${store.stats().commits} commits, enough for the checkpoints to run`);
  // Without starting over every commit's frames stay: these ~1,000 commits made a 90 MiB WAL here.
  // With it the WAL grows until a checkpoint beside the writer (every 200 commits) sees it is
  // past the restart point, ~20 MiB here, then starts over.
  t.ok(largest < 40 * 1024 * 1024, `the WAL stayed small (largest ${(largest / 1024 / 1024).toFixed(1)} MiB)`);
});

t.test('a few large commits a second apart (a bulk import) are checkpointed too', async (t) => {
  const { store, config, cleanup } = await sqliteTestStore({ walRestartPages: 64 });
  t.teardown(cleanup);
  const wal = `${(config as { filename: string }).filename}-wal`;
  const { stat } = await import('node:fs/promises');
  const sizes: number[] = [];
  for (let batch = 0; batch < 5; batch++) {
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await store.transaction(async (tx) => {
      for (let i = 0; i < 1500; i++) {
        const r = record(`b${batch}-${i}`);
        r.attributes.push(item(Tag.Description, 'TextString', 'z'.repeat(500)));
        await tx.insert(r);
      }
    });
    sizes.push((await stat(wal)).size);
  }
  t.comment(`WAL after each commit: ${sizes.map((s) => (s / 1024 / 1024).toFixed(1)).join(', ')} MiB`);
  // Each commit adds a few MiB; without the checkpoints they pile up, with them the WAL starts over.
  t.ok(sizes[4]! < sizes[0]! * 2.5, 'the WAL does not hold every commit');
});

t.test('appended rows: the columns a sequencer fills in are rendered at the COMMIT, every other value exactly as appended', async (t) => {
  const { store, cleanup } = await sqliteTestStore();
  t.teardown(cleanup);
  const columns = ['seq', 'prev_hash', 'hash', 'digest', 'time', 'node', 'event', 'identity', 'message', 'batch_index', 'uids_requested', 'uids', 'status'];
  // Values that need quoting, a NUL (rendered as hex), non-ASCII text, a number and NULL, after the
  // three columns the sequencer fills in.
  const tricky = ["O'Brien's key", 'nul\0inside', 'clé – ключ – 鍵', "''", ''];
  const rows = tricky.map((message, i) => [null, 'before', 'before', `digest-${i}`, '2026-11-29T00:00:00.000Z', 'node-a', 'request', i === 0 ? null : `id-${i}`, message, i, '[]', '["x"]', 'Success']);
  let calls = 0;
  store.sequence!(
    'audit_log',
    async (_db, tuples) => {
      calls++;
      for (const [i, tuple] of tuples.entries()) {
        tuple[0] = 1000 + i;
        tuple[1] = `prev-${i}`;
        tuple[2] = `hash-${i}`;
      }
    },
    3,
  );
  await Promise.all(rows.map((row) => store.transaction((tx) => tx.appendRows('audit_log', columns, [row]))));
  t.ok(calls >= 1, 'the sequencer ran');
  for (const row of rows) t.equal(row[0], null, "the caller's rows are not written into");
  const read = (await store.read((r) => r.raw(`SELECT ${columns.join(',')} FROM audit_log ORDER BY seq`))) as Record<string, unknown>[];
  t.equal(read.length, rows.length, 'every row is in');
  const byDigest = new Map(read.map((r) => [r.digest as string, r]));
  for (const [i, message] of tricky.entries()) {
    const got = byDigest.get(`digest-${i}`);
    t.ok(got, `row ${i} is in`);
    t.match(got, { prev_hash: /^prev-\d$/, hash: /^hash-\d$/ }, `row ${i}: the sequencer's values`);
    t.equal(got!.message, message, `row ${i}: the text exactly as appended`);
    t.equal(got!.identity, i === 0 ? null : `id-${i}`, `row ${i}: NULL stays NULL`);
    t.equal(got!.batch_index, i, `row ${i}: a number stays a number`);
  }
});

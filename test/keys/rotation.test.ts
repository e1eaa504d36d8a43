/**
 * Master-key rotation online: a running kmipd (SoftHSM2 keyring, SQLite) keeps serving Create
 * and Get in KMIP 2.1 and 1.4 while the rotation job, with its own keyring session and its own
 * store connection (as `kmipd rotate-master-key` has), re-seals every blob under a new master key.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import t, { type Test } from 'tap';
import { main } from '../../src/cli/kmipd.js';
import { loadConfig } from '../../src/config/config.js';
import { openPkcs11Keyring } from '../../src/keys/index.js';
import { Pkcs11Keyring } from '../../src/keys/pkcs11.js';
import { ROTATION_STATE_FILE, rotateMasterKey } from '../../src/keys/rotation.js';
import { storeConfig } from '../../src/server/kmipd.js';
import { openStore } from '../../src/store/index.js';
import { type TestKmipd, V14, V21, startTestKmipd } from '../support/kmipd.js';
import { createKey, getKey, registerKey } from './requests.js';
import { pgTestStore, pgUnavailable, pgUrl } from '../support/store.js';

async function seed(env: TestKmipd, n: number): Promise<Map<string, Buffer>> {
  const keys = new Map<string, Buffer>();
  const c = await env.connect();
  for (let i = 0; i < n; i++) {
    const material = randomBytes(32);
    keys.set(await registerKey(c, true, `rotation-${i}`, material), material);
  }
  await c.close();
  return keys;
}

/** The master-key generation of every stored blob, read from the SQLite file. */
async function generations(env: TestKmipd): Promise<Map<number, number>> {
  const db = new sqlite3.Database(join(env.dir, 'kmipd.sqlite'), sqlite3.OPEN_READONLY);
  try {
    const rows = await new Promise<{ sealed_value: Buffer }[]>((resolve, reject) =>
      db.all('SELECT sealed_value FROM objects WHERE sealed_value IS NOT NULL', (err, r) => (err ? reject(err) : resolve(r as { sealed_value: Buffer }[]))),
    );
    const count = new Map<number, number>();
    for (const r of rows) {
      const g = Pkcs11Keyring.generationOf(r.sealed_value);
      count.set(g, (count.get(g) ?? 0) + 1);
    }
    return count;
  } finally {
    await new Promise((resolve) => db.close(resolve));
  }
}

async function rotationJob(t: Test, env: TestKmipd) {
  const config = loadConfig({ dataDir: env.dir, env: {} });
  const keyring = await openPkcs11Keyring(config, undefined, { refreshMs: 0 });
  const store = await openStore(storeConfig(config));
  t.teardown(async () => {
    keyring.close();
    await store.close();
  });
  return { keyring, store, stateFile: join(env.dir, ROTATION_STATE_FILE) };
}

async function readAll(env: TestKmipd, keys: Map<string, Buffer>): Promise<number> {
  const c = await env.connect(V14);
  let wrong = 0;
  for (const [id, material] of keys) if (!(await getKey(c, id)).equals(material)) wrong++;
  await c.close();
  return wrong;
}

t.test('rotating the master key while clients Create and Get: zero failed requests, every key readable after, every blob under the new key', async (t) => {
  const env = await startTestKmipd('kmipd-rotation-', 'someone');
  t.teardown(() => env.close());
  const keys = await seed(env, 60);
  t.same([...(await generations(env)).keys()], [1], 'before: every blob under generation 1');

  let stop = false;
  let requests = 0;
  const failures: string[] = [];
  const known = [...keys.entries()];
  const client = async (v2: boolean) => {
    const c = await env.connect(v2 ? V21 : V14);
    while (!stop) {
      try {
        const id = await createKey(c, v2);
        keys.set(id, await getKey(c, id));
        const [old, material] = known[Math.floor(Math.random() * known.length)]!;
        if (!(await getKey(c, old)).equals(material)) failures.push(`${old}: wrong bytes`);
        requests += 3;
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
    await c.close();
  };
  const load = [client(true), client(true), client(false), client(false)];

  const job = await rotationJob(t, env);
  const result = await rotateMasterKey({ ...job, pageSize: 10, settleMs: 2500 });
  stop = true;
  await Promise.all(load);

  t.same(failures, [], 'no request failed');
  t.ok(requests > 100, `clients were served throughout (${requests} requests)`);
  t.equal(result.generation, 2);
  t.equal(result.resumed, false);
  t.ok(result.resealed >= 60, `every blob was re-sealed (${result.resealed})`);
  t.same(result.unreadable, []);
  t.notOk(existsSync(job.stateFile), 'the rotation record is removed when done');
  t.same([...(await generations(env)).keys()], [2], 'after: every blob under generation 2');
  t.equal(await readAll(env, keys), 0, `all ${keys.size} keys read back with their bytes`);

  const c = await env.connect();
  const fresh = await createKey(c, true);
  await c.close();
  t.same([...(await generations(env)).keys()], [2], `the server seals new keys (${fresh}) under generation 2`);
});

t.test('an interrupted rotation resumes with the same new master key (kmipd rotate-master-key), and no key is lost meanwhile', async (t) => {
  const env = await startTestKmipd('kmipd-rotation-resume-', 'someone');
  t.teardown(() => env.close());
  const keys = await seed(env, 30);
  const job = await rotationJob(t, env);
  await t.rejects(
    rotateMasterKey({
      ...job,
      pageSize: 10,
      settleMs: 0,
      afterPage: ({ resealed }) => {
        if (resealed > 0) throw new Error('interrupted');
      },
    }),
    { message: 'interrupted' },
  );
  t.same(JSON.parse(readFileSync(job.stateFile, 'utf8')).generation, 2, 'the record names generation 2');
  const mixed = await generations(env);
  t.same([...mixed.keys()].sort(), [1, 2], `half-way: blobs under both generations (${JSON.stringify([...mixed])})`);
  t.equal(await readAll(env, keys), 0, 'every key reads back half-way through');

  const out: string[] = [];
  const io = { stdin: process.stdin, stdout: { write: (s: string) => out.push(s) }, stderr: { write: () => true } } as unknown as Parameters<typeof main>[1];
  t.equal(await main(['rotate-master-key', '--data-dir', env.dir], io), 0);
  t.match(out.join(''), /Resumed and finished the rotation to master key generation 2: \d+ keys re-sealed/);
  t.equal(job.keyring.newestGeneration(), 2, 'no third master key was made');
  t.same([...(await generations(env)).keys()], [2], 'every blob under generation 2');
  t.equal(await readAll(env, keys), 0, 'every key reads back');

  const again = out.length;
  t.equal(await main(['rotate-master-key', '--data-dir', env.dir], io), 0);
  t.match(out.slice(again).join(''), /Finished the rotation to master key generation 3 \(was 2\)/, 'a new run after a finished one rotates again');
});

const pgMissing = await pgUnavailable();
t.test('rotation on PostgreSQL re-seals every row under the new key while a client keeps reading', { skip: pgMissing ?? false }, async (t) => {
  const db = await pgTestStore();
  t.teardown(() => db.cleanup());
  const schema = (db.config as { schema: string }).schema;
  const env = await startTestKmipd('kmipd-rotation-pg-', 'someone', { overrides: ['store.client=pg', `store.connection=${pgUrl}`, `store.schema=${schema}`] });
  t.teardown(() => env.close());
  const keys = await seed(env, 25);
  let stop = false;
  let failures = 0;
  const reader = (async () => {
    const c = await env.connect(V14);
    while (!stop) for (const [id, material] of keys) if (!(await getKey(c, id).catch(() => Buffer.alloc(0))).equals(material)) failures++;
    await c.close();
  })();
  const config = loadConfig({ dataDir: env.dir, env: {}, overrides: ['store.client=pg', `store.connection=${pgUrl}`, `store.schema=${schema}`] });
  const keyring = await openPkcs11Keyring(config, undefined, { refreshMs: 0 });
  const store = await openStore(storeConfig(config));
  t.teardown(async () => {
    keyring.close();
    await store.close();
  });
  const stateFile = join(env.dir, ROTATION_STATE_FILE);
  const first = await rotateMasterKey({ keyring, store, stateFile, pageSize: 7, settleMs: 1500 });
  stop = true;
  await reader;
  t.equal(failures, 0, 'every Get during the rotation answered the right bytes');
  t.equal(first.generation, 2);
  t.equal(first.resealed, 25, 'all 25 rows re-sealed');
  const second = await rotateMasterKey({ keyring, store, stateFile, pageSize: 7, settleMs: 0 });
  t.equal(second.resealed, 25, 'a second rotation finds exactly those 25 rows, all under generation 2, and moves them to 3');
  t.equal(await readAll(env, keys), 0, 'every key reads back');
});

/**
 * Key material at rest, end to end: a kmipd from `kmipd init` with the SoftHSM2 keyring, clients
 * over mutual TLS in KMIP 2.1 and 1.4, and then the database itself (the SQLite files, a pg_dump
 * of the PostgreSQL schema) searched for every key's bytes. Also: tampered and moved blobs, the
 * software keyring's warning, and a server that refuses to start without its HSM.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import t, { type Test } from 'tap';
import { main } from '../../src/cli/kmipd.js';
import { runInit } from '../../src/cli/init.js';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { enumeration, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { pgTestStore, pgUnavailable, pgUrl } from '../support/store.js';
import { createKey, getKey, registerKey } from './requests.js';

/** Registers two known keys and creates two per protocol version; answers every key's bytes, and a label stored in clear. */
async function storeKeys(env: TestKmipd): Promise<{ keys: Buffer[]; label: string }> {
  const keys: Buffer[] = [];
  const label = `at-rest-${randomBytes(4).toString('hex')}`;
  for (const [version, v2] of [
    [V21, true],
    [V14, false],
  ] as const) {
    const c = await env.connect(version);
    for (let i = 0; i < 2; i++) {
      const material = randomBytes(32);
      const id = await registerKey(c, v2, `${label}-${v2 ? 2 : 1}-${i}`, material);
      t.same(await getKey(c, id), material, 'Get answers the registered bytes');
      keys.push(material);
      keys.push(await getKey(c, await createKey(c, v2)));
    }
    await c.close();
  }
  return { keys, label };
}

/** Every key's bytes, raw or as hex (a pg_dump writes bytea as hex), found in `haystack`. */
function leaks(haystack: Buffer, keys: Buffer[]): number {
  const text = haystack.toString('latin1').toLowerCase();
  return keys.filter((k) => haystack.includes(k) || text.includes(k.toString('hex')) || text.includes(k.subarray(0, 16).toString('hex'))).length;
}

t.test('SQLite: no key registered or created through the server appears in the database files', async (t) => {
  const env = await startTestKmipd('kmipd-at-rest-', 'intruder');
  t.teardown(() => env.close());
  const { keys, label } = await storeKeys(env);
  t.equal(keys.length, 8);
  const files = ['kmipd.sqlite', 'kmipd.sqlite-wal'].map((f) => join(env.dir, f)).filter(existsSync);
  const all = Buffer.concat(files.map((f) => readFileSync(f)));
  t.ok(all.includes(Buffer.from(label)), 'the scan sees stored data: the Names are there in clear');
  t.equal(leaks(all, keys), 0, `none of the ${keys.length} keys is in ${files.join(', ')}`);
  t.notOk(existsSync(join(env.dir, 'master.key')), 'no master key file');
  t.equal(statSync(join(env.dir, 'hsm.pin')).mode & 0o777, 0o600, 'the HSM PIN file is 0600');
});

const pgMissing = await pgUnavailable();
t.test('PostgreSQL: no key registered or created through the server appears in a pg_dump of its schema', { skip: pgMissing ?? false }, async (t) => {
  const db = await pgTestStore();
  t.teardown(() => db.cleanup());
  const schema = (db.config as { schema: string }).schema;
  const env = await startTestKmipd('kmipd-at-rest-pg-', 'intruder', { overrides: ['store.client=pg', `store.connection=${pgUrl}`, `store.schema=${schema}`] });
  t.teardown(() => env.close());
  const { keys, label } = await storeKeys(env);
  const dump = execFileSync('pg_dump', ['--schema', schema, '--data-only', pgUrl], { maxBuffer: 64 << 20 });
  t.ok(dump.includes(Buffer.from(label).toString('hex')), 'the scan sees stored data: the Names are in the dump (hex bytea)');
  t.ok(/COPY .*objects/.test(dump.toString()), 'the dump holds the objects table');
  t.equal(leaks(dump, keys), 0, `none of the ${keys.length} keys is in the dump`);
});

function sql<T>(db: sqlite3.Database, method: 'get' | 'run', query: string, params: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    db[method](query, params, function (this: unknown, err: Error | null, row?: unknown) {
      if (err) reject(err);
      else resolve(row as T);
    });
  });
}

t.test('a blob altered in its generation, data key, IV, ciphertext or tag, or moved to another row, makes Get fail with Cryptographic Failure (2.1 and 1.4)', async (t) => {
  const env = await startTestKmipd('kmipd-at-rest-tamper-', 'intruder');
  t.teardown(() => env.close());
  const c2 = await env.connect(V21);
  const c1 = await env.connect(V14);
  t.teardown(async () => {
    await c2.close();
    await c1.close();
  });
  const db = new sqlite3.Database(join(env.dir, 'kmipd.sqlite'));
  db.configure('busyTimeout', 5000);
  t.teardown(() => new Promise((resolve) => db.close(resolve)));
  const blobOf = async (id: string): Promise<Buffer> => (await sql<{ sealed_value: Buffer }>(db, 'get', 'SELECT sealed_value FROM objects WHERE uid = ?', [id])).sealed_value;
  const setBlob = (id: string, blob: Buffer) => sql(db, 'run', 'UPDATE objects SET sealed_value = ? WHERE uid = ?', [blob, id]);

  for (const [what, at] of [
    ['generation', 4],
    ['wrapped data key', 20],
    ['IV', 70],
    ['ciphertext', 85],
    ['tag', -1],
  ] as const) {
    const material = randomBytes(32);
    const id = await registerKey(c2, true, `tamper-${what}`, material);
    const blob = await blobOf(id);
    const altered = Buffer.from(blob);
    altered[at < 0 ? altered.length + at : at]! ^= 0x01;
    await setBlob(id, altered);
    for (const [c, v] of [
      [c2, '2.1'],
      [c1, '1.4'],
    ] as const) {
      const refused = await refusal(c.call('Get', [uid(id)]));
      t.equal(refused.reason, 'CryptographicFailure', `${v}: altered ${what} is refused`);
      t.match(refused.message, /could not be unsealed/);
      t.notMatch(refused.message, new RegExp(material.toString('hex').slice(0, 8)), 'the message holds no key bytes');
    }
    await setBlob(id, blob);
    t.same(await getKey(c2, id), material, `restored, the ${what} opens again`);
  }

  const a = await registerKey(c2, true, 'moved-from', randomBytes(32));
  const b = await registerKey(c2, true, 'moved-into', randomBytes(32));
  await setBlob(b, await blobOf(a));
  for (const c of [c2, c1]) t.equal((await refusal(c.call('Get', [uid(b)]))).reason, 'CryptographicFailure', 'a blob moved to another row is refused');
});

t.test('the software keyring (kmipd init --keyring software): master.key 0600 and a warning in Query → Server Information', async (t) => {
  const env = await startTestKmipd('kmipd-at-rest-sw-', 'intruder', { keyring: 'software' });
  t.teardown(() => env.close());
  const c = await env.connect();
  const material = randomBytes(32);
  t.same(await getKey(c, await registerKey(c, true, 'sw', material)), material);
  const q = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryServerInformation)]);
  t.match(q.payload!.needStruct(Tag.ServerInformation).values(Tag.Description, 'TextString'), [/software keystore.*development only/]);
  t.equal(statSync(join(env.dir, 'master.key')).mode & 0o777, 0o600);
  t.notOk(existsSync(join(env.dir, 'hsm.pin')));
  await c.close();
});

async function serve(dir: string, sets: string[] = []): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const io = { stdin: process.stdin, stdout: { write: () => true }, stderr: { write: (s: string) => err.push(s) } } as unknown as Parameters<typeof main>[1];
  const args = ['serve', '--data-dir', dir, '--set', 'listen.port=0', '--set', 'https.enabled=false', '--set', 'log.level=silent'];
  for (const s of sets) args.push('--set', s);
  const code = await main(args, io);
  return { code, stderr: err.join('') };
}

async function initDir(t: Test): Promise<string> {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-at-rest-start-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const silent = { stdout: { write: () => true }, stderr: { write: () => true } };
  t.equal(await runInit(['--data-dir', dir], silent), 0);
  return dir;
}

t.test('kmipd serve refuses to start, saying why, with a wrong PIN, without the HSM module, or with a PIN in the config', async (t) => {
  const dir = await initDir(t);
  const pin = readFileSync(join(dir, 'hsm.pin'));
  writeFileSync(join(dir, 'hsm.pin'), 'wrong-pin\n');
  const wrong = await serve(dir);
  t.equal(wrong.code, 1);
  t.match(wrong.stderr, /could not start: the HSM token '.*' refused the PIN \(CKR_PIN_INCORRECT\)/);
  writeFileSync(join(dir, 'hsm.pin'), pin);

  const missing = await serve(dir, ['keyring.module=/usr/lib/no-such-hsm.so']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /could not start: cannot load the PKCS#11 module \/usr\/lib\/no-such-hsm\.so/);

  const noPin = await serve(dir, ['keyring.pinFile=null']);
  t.equal(noPin.code, 1);
  t.match(noPin.stderr, /keyring needs exactly one of pinFile and pinEnv/);
  t.throws(() => loadConfig({ dataDir: dir, env: {}, overrides: ['keyring.pin=1234'] }), ConfigError, 'a PIN in the config is an unknown field');

  const env = await serve(dir, ['keyring.pinFile=null', 'keyring.pinEnv=KMIPD_TEST_NO_SUCH_PIN']);
  t.match(env.stderr, /environment variable KMIPD_TEST_NO_SUCH_PIN .* is not set/);
});

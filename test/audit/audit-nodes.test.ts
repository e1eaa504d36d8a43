/**
 * Two `kmipd serve` processes on one PostgreSQL schema, each with its own data directory, HSM token
 * and audit signing key, serving Creates and Gets at the same time: their rows form one chain, with no gap and no
 * duplicate, that `kmipctl audit verify` accepts given the two nodes' public keys — and rejects
 * given only one of them. The same with two processes on one SQLite file, where each node chains
 * its rows from the head it remembers and must notice when the other moved it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createKnex from 'knex';
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { structure } from '../../src/ttlv/index.js';
import { enumeration, integer, uid } from '../support/items.js';
import { KmipClient } from '../../src/client/client.js';
import { runInit } from '../../src/cli/init.js';
import { type ServeProcess, killServeProcesses, startServe, stopServe } from '../support/serve.js';
import { pgUnavailable, pgUrl } from '../support/store.js';
import { runKmipctl, runKmipd, sql } from './support.js';

const pgMissing = await pgUnavailable();
const PER_CLIENT = 60;

t.test('two processes on one SQLite file keep one verifiable chain', async (t) => {
  const shared = mkdtempSync(join(tmpdir(), 'kmipd-audit-shared-'));
  const file = join(shared, 'kmipd.sqlite');
  const nodes: { dir: string; server: ServeProcess }[] = [];
  t.teardown(() => {
    killServeProcesses();
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
    rmSync(shared, { recursive: true, force: true });
  });
  const silent = { stdin: process.stdin, stdout: { write: () => true }, stderr: { write: () => true } };
  const keys: string[] = [];
  for (const name of ['node-a', 'node-b']) {
    const dir = mkdtempSync(join(tmpdir(), `kmipd-audit-${name}-`));
    if ((await runInit(['--data-dir', dir], silent)) !== 0) throw new Error('kmipd init failed');
    const key = await runKmipd(['audit', 'public-key', '--data-dir', dir]);
    t.equal(key.code, 0, key.err);
    keys.push(join(dir, 'audit-public.pem'));
    writeFileSync(keys[keys.length - 1]!, key.out);
    nodes.push({ dir, server: await startServe(dir, [`store.filename=${file}`, `nodeId=${name}`, 'audit.checkpointRows=50']) });
  }
  const requests = await createAndGet(nodes);
  await Promise.all(nodes.map((n) => stopServe(n.server)));

  const rows = await sql<{ seq: number; node: string }>(file, 'SELECT seq, node FROM audit_log ORDER BY id');
  t.equal(rows.length, requests, `one row per request: ${requests}`);
  t.same(
    rows.map((r) => r.seq),
    rows.map((_, i) => i + 1),
    'one chain, in the order the rows were committed: seq 1..n without gap or duplicate',
  );
  t.ok(
    rows.some((r, i) => i > 0 && r.node !== rows[i - 1]!.node),
    'the processes wrote in turns: their rows interleave',
  );
  const verified = await runKmipctl(['audit', 'verify', '--db', file, '--public-key', keys[0]!, '--public-key', keys[1]!]);
  t.equal(verified.code, 0, verified.out + verified.err);
  t.match(verified.out, new RegExp(`audit chain OK: ${requests} records`));
});

/** Two clients per node, each a stream of Create + Get, all at once; resolves to the number of requests. */
async function createAndGet(nodes: readonly { dir: string; server: ServeProcess }[]): Promise<number> {
  let requests = 0;
  await Promise.all(
    nodes.flatMap((node) =>
      [0, 1].map(async () => {
        const c = await connect(node);
        for (let i = 0; i < PER_CLIENT; i++) {
          const created = await c.call('Create', [
            enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
            structure(Tag.Attributes, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 128), integer(Tag.CryptographicUsageMask, 0x0c)]),
          ]);
          await c.call('Get', [uid(created.payload!.need(Tag.UniqueIdentifier, 'TextString'))]); // throws unless Success
          requests += 2;
        }
        await c.close();
      }),
    ),
  );
  return requests;
}

function connect(node: { dir: string; server: ServeProcess }): Promise<KmipClient> {
  return KmipClient.connect({
    host: '127.0.0.1',
    port: node.server.port,
    ca: readFileSync(join(node.dir, 'ca.pem')),
    cert: readFileSync(join(node.dir, 'client-kmipctl.pem')),
    key: readFileSync(join(node.dir, 'client-kmipctl-key.pem')),
  });
}

t.test('two nodes on one PostgreSQL keep one verifiable chain', { skip: pgMissing ?? false }, async (t) => {
  const schema = `kmipd_audit_${randomBytes(6).toString('hex')}`;
  const admin = createKnex({ client: 'pg', connection: pgUrl, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE SCHEMA ${schema}`);
  const nodes: { dir: string; server: ServeProcess }[] = [];
  t.teardown(async () => {
    killServeProcesses();
    await admin.raw(`DROP SCHEMA ${schema} CASCADE`);
    await admin.destroy();
    for (const n of nodes) rmSync(n.dir, { recursive: true, force: true });
  });
  const silent = { stdin: process.stdin, stdout: { write: () => true }, stderr: { write: () => true } };
  const keys: string[] = [];
  for (const name of ['node-a', 'node-b']) {
    const dir = mkdtempSync(join(tmpdir(), `kmipd-audit-${name}-`));
    if ((await runInit(['--data-dir', dir], silent)) !== 0) throw new Error('kmipd init failed');
    // A short checkpoint interval: both nodes sign checkpoints while both write.
    const sets = ['store.client=pg', `store.connection=${pgUrl}`, `store.schema=${schema}`, `nodeId=${name}`, 'audit.checkpointRows=50'];
    const key = await runKmipd(['audit', 'public-key', '--data-dir', dir]);
    t.equal(key.code, 0, key.err);
    const file = join(dir, 'audit-public.pem');
    writeFileSync(file, key.out);
    keys.push(file);
    nodes.push({ dir, server: await startServe(dir, sets) });
  }
  t.not(readFileSync(keys[0]!, 'utf8'), readFileSync(keys[1]!, 'utf8'), 'each node has its own signing key');
  const requests = await createAndGet(nodes);
  // A clean stop chains the last rows and signs the head.
  await Promise.all(nodes.map((n) => stopServe(n.server)));

  const rows = (await admin.raw(`SELECT seq, node FROM ${schema}.audit_log ORDER BY seq`)) as { rows: { seq: string; node: string }[] };
  const seqs = rows.rows.map((r) => Number(r.seq));
  t.equal(seqs.length, requests, `one row per request: ${requests}`);
  t.same(seqs, seqs.map((_, i) => i + 1), 'one chain: seq 1..n without gap or duplicate');
  const byNode = new Map<string, number>();
  for (const r of rows.rows) byNode.set(r.node, (byNode.get(r.node) ?? 0) + 1);
  t.same(Object.fromEntries(byNode), { 'node-a': requests / 2, 'node-b': requests / 2 }, 'both nodes’ rows are in it');
  const interleaved = rows.rows.some((r, i) => i > 0 && r.node !== rows.rows[i - 1]!.node);
  t.ok(interleaved, 'the nodes wrote concurrently: their rows interleave');

  const where = ['--pg', pgUrl, '--schema', schema];
  const both = await runKmipctl(['audit', 'verify', ...where, '--public-key', keys[0]!, '--public-key', keys[1]!]);
  t.equal(both.code, 0, both.out + both.err);
  t.match(both.out, new RegExp(`audit chain OK: ${requests} records`));
  const cps = (await admin.raw(`SELECT DISTINCT node FROM ${schema}.audit_checkpoints`)) as { rows: { node: string }[] };
  t.ok(cps.rows.length >= 1, `checkpoints signed by ${cps.rows.map((r) => r.node).join(', ')}`);
  if (cps.rows.length === 2) {
    const one = await runKmipctl(['audit', 'verify', ...where, '--public-key', keys[0]!]);
    t.equal(one.code, 1, 'with one node’s key only, the other node’s checkpoints are not trusted');
    t.match(one.out, /not trusted/);
  }
});

/**
 * Crash safety: a real `kmipd serve` child process (data directory from `kmipd init`) is killed
 * with SIGKILL while several clients stream Creates at it, in KMIP 2.1 and 1.4 form. After a
 * restart on the same data directory every Create the server acknowledged must be there, intact:
 * Get returns key material of the requested length whose SHA-256 is the object's Digest
 * attribute, Locate finds it by its Name, and the SQLite file passes `PRAGMA integrity_check`.
 * A Create the server did not acknowledge may or may not have happened, never half.
 * One more round runs on PostgreSQL (a fresh schema) when it is reachable.
 *
 * The audit chain survives too: after each restart `kmipctl audit verify` passes on the store,
 * and every acknowledged Create has its row (written in the Create's own transaction).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import t, { type Test } from 'tap';
import { KmipClient } from '../../src/client/client.js';
import { runInit } from '../../src/cli/init.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { type Item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text, uid } from '../support/items.js';
import { V14, V21 } from '../support/kmipd.js';
import { type ServeProcess, killServeProcesses, startServe, stopServe } from '../support/serve.js';
import { pgUnavailable, pgUrl, scratchPgSchema } from '../support/store.js';
import { runKmipctl, runKmipd } from '../audit/support.js';
import { writeFileSync } from 'node:fs';

/** Clients streaming Creates, each with this many requests in flight: enough to fill commit groups. */
const CLIENTS: { version: ProtocolVersion; bits: number }[] = [
  { version: V21, bits: 256 },
  { version: V21, bits: 128 },
  { version: V14, bits: 256 },
  { version: V14, bits: 192 },
];
const PIPELINE = 4;

interface Acknowledged {
  uid: string;
  name: string;
  bytes: number;
}

const dir = mkdtempSync(join(tmpdir(), 'kmipd-crash-'));
t.teardown(() => {
  killServeProcesses();
  rmSync(dir, { recursive: true, force: true });
});

const silent = { stdin: process.stdin, stdout: { write: () => true }, stderr: { write: () => true } };
const ca = (): Buffer => readFileSync(join(dir, 'ca.pem'));
const credentials = (): { cert: Buffer; key: Buffer } => ({ cert: readFileSync(join(dir, 'client-kmipctl.pem')), key: readFileSync(join(dir, 'client-kmipctl-key.pem')) });

type Server = ServeProcess;
const startServer = (sets: string[] = []): Promise<Server> => startServe(dir, sets);
const stopServer = stopServe;

function connect(port: number, version: ProtocolVersion = V21): Promise<KmipClient> {
  return KmipClient.connect({ host: '127.0.0.1', port, ca: ca(), ...credentials(), version, timeoutMs: 30_000 });
}

function createPayload(version: ProtocolVersion, label: string, bits: number): Item[] {
  const attributes = [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, bits), integer(Tag.CryptographicUsageMask, 0x0c), name(label)];
  const objectType = enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey);
  if (version.major >= 2) return [objectType, structure(Tag.Attributes, attributes)];
  // KMIP 1.4 §2.1.8: a Template-Attribute holds Attribute {Attribute Name, Attribute Value}.
  const names = ['Cryptographic Algorithm', 'Cryptographic Length', 'Cryptographic Usage Mask', 'Name'];
  return [objectType, structure(Tag.TemplateAttribute, attributes.map((a, i) => structure(Tag.Attribute, [text(Tag.AttributeName, names[i]!), { ...a, tag: Tag.AttributeValue } as Item])))];
}

/**
 * Clients stream Creates (names `<prefix>-<client>-<n>`) until the server dies. `onAck` is
 * called for each Create answered Success, before the client sends its next one.
 */
async function streamCreates(port: number, prefix: string, onAck: (ack: Acknowledged) => void): Promise<{ refused: string[] }> {
  const refused: string[] = [];
  const clients = await Promise.all(CLIENTS.map((c) => connect(port, c.version)));
  await Promise.all(
    CLIENTS.flatMap((spec, c) =>
      Array.from({ length: PIPELINE }, async (_, lane) => {
        for (let n = lane; ; n += PIPELINE) {
          const label = `${prefix}-${c}-${n}`;
          let answer;
          try {
            answer = await clients[c]!.call('Create', createPayload(spec.version, label, spec.bits));
          } catch (err) {
            // The connection died with the server; anything else is a real refusal.
            if (!/closed|ECONNRESET|EPIPE|socket/i.test((err as Error).message)) refused.push(`${label}: ${(err as Error).message}`);
            return;
          }
          onAck({ uid: answer.payload!.need(Tag.UniqueIdentifier, 'TextString'), name: label, bytes: spec.bits / 8 });
        }
      }),
    ),
  );
  await Promise.all(clients.map((c) => c.close()));
  return { refused };
}

/** Streams Creates and SIGKILLs the server once `killAfter` of them were acknowledged. */
async function crashRound(server: Server, prefix: string, killAfter: number, acked: Acknowledged[]): Promise<{ refused: string[]; inRound: number }> {
  let inRound = 0;
  const stream = streamCreates(server.port, prefix, (ack) => {
    acked.push(ack);
    if (++inRound === killAfter) server.child.kill('SIGKILL');
  });
  const { refused } = await stream;
  await server.exited;
  return { refused, inRound };
}

/** Every acknowledged object, read back through a restarted server; the problems found. */
async function verify(port: number, acked: readonly Acknowledged[]): Promise<string[]> {
  const problems: string[] = [];
  const clients = await Promise.all(Array.from({ length: 4 }, () => connect(port)));
  let next = 0;
  await Promise.all(
    clients.map(async (client) => {
      while (next < acked.length) {
        const ack = acked[next++]!;
        try {
          const got = await client.call('Get', [uid(ack.uid)]);
          const material = got.payload!.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
          const attrs = (await client.call('GetAttributes', [uid(ack.uid), enumeration(Tag.AttributeReference, Tag.Digest), enumeration(Tag.AttributeReference, Tag.Name)])).payload!.needStruct(Tag.Attributes);
          const digest = attrs.needStruct(Tag.Digest).need(Tag.DigestValue, 'ByteString');
          if (material.length !== ack.bytes) problems.push(`${ack.name}: ${material.length} bytes of key, expected ${ack.bytes}`);
          if (!Buffer.from(digest).equals(createHash('sha256').update(material).digest())) problems.push(`${ack.name}: key material does not match its Digest`);
          if (attrs.needStruct(Tag.Name).need(Tag.NameValue, 'TextString') !== ack.name) problems.push(`${ack.name}: wrong Name`);
        } catch (err) {
          problems.push(`${ack.name} (${ack.uid}): ${(err as Error).message}`);
        }
      }
    }),
  );
  // Locate by Name reads the attribute index rows: a sample of them, in 1.4 form.
  const v14 = await connect(port, V14);
  for (const ack of acked.filter((_, i) => i % 25 === 0)) {
    const found = await v14.call('Locate', [structure(Tag.Attribute, [text(Tag.AttributeName, 'Name'), { ...name(ack.name), tag: Tag.AttributeValue }])]);
    const uids = found.payload!.values(Tag.UniqueIdentifier, 'TextString');
    if (uids.length !== 1 || uids[0] !== ack.uid) problems.push(`Locate of ${ack.name} found ${JSON.stringify(uids)}`);
  }
  await Promise.all([...clients, v14].map((c) => c.close()));
  return problems;
}

/**
 * `PRAGMA integrity_check` and `foreign_key_check` of the SQLite file, opened after the crash,
 * and the objects with no attribute rows: half a Create, which must never be.
 */
function checkDatabase(filename: string): Promise<{ integrity: string[]; orphans: number; objects: number; halves: number }> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(filename, (err) => {
      if (err) return reject(err);
      db.all<{ integrity_check: string }>('PRAGMA integrity_check', (err1, rows) => {
        if (err1) return reject(err1);
        db.all('PRAGMA foreign_key_check', (err2, orphans) => {
          if (err2) return reject(err2);
          const counts = 'SELECT count(*) AS n, count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM attributes a WHERE a.object_id = o.id)) AS halves FROM objects o';
          db.get<{ n: number; halves: number }>(counts, (err3, row) => {
            if (err3) return reject(err3);
            db.close(() => resolve({ integrity: rows.map((r) => r.integrity_check), orphans: orphans.length, objects: row!.n, halves: row!.halves }));
          });
        });
      });
    });
  });
}

t.before(async () => {
  if ((await runInit(['--data-dir', dir], silent)) !== 0) throw new Error('kmipd init failed');
});

/**
 * The audit chain after a crash and a clean restart-and-stop: `kmipctl audit verify` passes, and
 * every acknowledged Create has its Success row naming the key.
 */
async function checkAudit(t: Test, where: string[], acked: readonly Acknowledged[], sets: string[] = []): Promise<void> {
  const key = await runKmipd(['audit', 'public-key', '--data-dir', dir, ...sets.flatMap((s) => ['--set', s])]);
  t.equal(key.code, 0, key.err);
  const pem = join(dir, 'audit-public.pem');
  writeFileSync(pem, key.out);
  const verified = await runKmipctl(['audit', 'verify', ...where, '--public-key', pem, '--json']);
  const report = JSON.parse(verified.out) as { ok: boolean; problems: unknown[]; rows: number; unsigned: number; unchained: number };
  t.equal(verified.code, 0, `audit verify passes after the crash: ${JSON.stringify(report.problems.slice(0, 3))}`);
  t.equal(report.unchained, 0, 'every row was chained by the restarted server');
  t.equal(report.unsigned, 0, 'and signed at its clean stop');
  const exported = await runKmipctl(['audit', 'export', ...where]);
  const created = new Set<string>();
  for (const line of exported.out.trim().split('\n')) {
    const r = JSON.parse(line) as { type: string; operation?: string; status?: string; uids?: string[] };
    if (r.type === 'record' && r.operation === 'Create' && r.status === 'Success') for (const u of r.uids ?? []) created.add(u);
  }
  const missing = acked.filter((a) => !created.has(a.uid)).map((a) => a.name);
  t.same(missing, [], `every one of the ${acked.length} acknowledged Creates has its audit row`);
}

// Kill points: in the first few groups, mid-stream, and after a random number of Creates.
const KILL_POINTS = [5, 300, 150 + Math.floor(Math.random() * 500)];

t.test('SQLite: after SIGKILL during a stream of Creates, every acknowledged key survives intact', async (t) => {
  const acked: Acknowledged[] = [];
  const filename = join(dir, 'kmipd.sqlite');
  for (const [round, killAfter] of KILL_POINTS.entries()) {
    const server = await startServer();
    const { refused, inRound } = await crashRound(server, `crash${round}`, killAfter, acked);
    t.same(refused, [], `round ${round + 1}: no Create was refused before the kill`);
    t.ok(inRound >= killAfter, `round ${round + 1}: killed after ${killAfter} acknowledged Creates (${inRound} acknowledged in all)`);
    t.equal(server.child.signalCode, 'SIGKILL', 'the server died of SIGKILL');

    const db = await checkDatabase(filename);
    t.same(db.integrity, ['ok'], 'PRAGMA integrity_check after the crash: ok');
    t.equal(db.orphans, 0, 'no attribute row without its object');
    t.equal(db.halves, 0, 'no object without its attribute rows');
    t.ok(db.objects >= acked.length, `the database holds at least the ${acked.length} acknowledged objects (${db.objects})`);

    const restarted = await startServer();
    t.same(await verify(restarted.port, acked), [], `after restart, all ${acked.length} acknowledged keys are present with intact key material, Digest and Name`);
    await stopServer(restarted);
    await checkAudit(t, ['--db', filename], acked);
  }
  const db = await checkDatabase(filename);
  t.same(db.integrity, ['ok'], 'PRAGMA integrity_check after the last clean stop: ok');
});

const pgMissing = await pgUnavailable();
t.test('PostgreSQL: after SIGKILL during a stream of Creates, every acknowledged key survives intact', { skip: pgMissing ?? false }, async (t) => {
  const schema = await scratchPgSchema(t, 'kmipd_crash');
  const sets = ['store.client=pg', `store.connection=${pgUrl}`, `store.schema=${schema}`];
  const acked: Acknowledged[] = [];
  const server = await startServer(sets);
  const { refused, inRound } = await crashRound(server, 'pgcrash', 200, acked);
  t.same(refused, [], 'no Create was refused before the kill');
  t.ok(inRound >= 200, `killed after 200 acknowledged Creates (${inRound} acknowledged in all)`);
  const restarted = await startServer(sets);
  t.same(await verify(restarted.port, acked), [], `after restart, all ${acked.length} acknowledged keys are present with intact key material, Digest and Name`);
  await stopServer(restarted);
  await checkAudit(t, ['--pg', pgUrl, '--schema', schema], acked, sets);
});

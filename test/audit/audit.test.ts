/**
 * The signed audit table end to end: a kmipd (SQLite, the keyring init picks: SoftHSM2 when
 * installed) serving real mutual-TLS clients; the rows each request leaves; `kmipctl audit verify`
 * on the untouched store and on copies tampered with in SQL; export, tail and key rotation.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { createCa, issueCertificate } from '../../src/pki/devpki.js';
import { type Item, structure } from '../../src/ttlv/index.js';
import type { AuditRow } from '../../src/audit/record.js';
import { aesKey, enumeration, integer, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { runKmipctl, runKmipd, sql } from './support.js';
import { repoRoot } from '../support/shared.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { AuditDatabase } from '../../src/audit/source.js';
import { verifyChain } from '../../src/audit/verify.js';

let env: TestKmipd;
let db: string;
let publicKey: string;
const secret = randomBytes(32);
const plaintext = Buffer.from('4111111111111111 card holder data');

t.before(async () => {
  env = await startTestKmipd('kmipd-audit-', 'someone-else');
  db = join(env.dir, 'kmipd.sqlite');
  const key = await runKmipd(['audit', 'public-key', '--data-dir', env.dir]);
  if (key.code !== 0) throw new Error(key.err);
  publicKey = join(env.dir, 'audit-public.pem');
  writeFileSync(publicKey, key.out);
});
t.teardown(() => env.close());

const createPayload = (): Item[] => [
  enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
  structure(Tag.Attributes, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 256), integer(Tag.CryptographicUsageMask, 0x0c)]),
];

/**
 * The rows written since `after` (by id), once chained, in the order the requests were answered
 * (the server correlation value's counter, then the batch position): rows of requests that involved
 * no object are written a few milliseconds late, so insertion order is not request order.
 */
async function rowsAfter(after: number): Promise<AuditRow[]> {
  await env.server.audit!.sync();
  const rows = await sql(db, 'SELECT * FROM audit_log WHERE id > ? ORDER BY id', [after]);
  const order = (r: AuditRow): number => (r.scv === null ? Infinity : parseInt(r.scv.split('-')[1]!, 16) * 1000 + (r.batch_index ?? 0));
  return rows.sort((a, b) => order(a) - order(b));
}

async function lastId(): Promise<number> {
  await env.server.audit!.sync();
  const [row] = await sql<{ n: number | null }>(db, 'SELECT max(id) AS n FROM audit_log');
  return row?.n ?? 0;
}

const brief = (r: AuditRow): string => `${r.operation} ${r.status}${r.reason ? ` ${r.reason}` : ''}`;

t.test('each batch item leaves exactly one row: who, what, which key, how it ended', async (t) => {
  const start = await lastId();
  const c = await env.connect(V21);
  await c.call('DiscoverVersions');
  const created = await c.call('Create', createPayload());
  const id = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  await c.call('Get', [uid(id)]);
  const missing = await refusal(c.call('Get', [uid('no-such-key')]));
  t.equal(missing.reason, 'ObjectNotFound');
  const destroyActive = await refusal(c.call('Destroy', [uid(id)]));
  t.equal(destroyActive.reason, 'WrongKeyLifecycleState');
  await c.close();

  const rows = await rowsAfter(start);
  t.same(rows.map(brief), [
    'DiscoverVersions Success',
    'Create Success',
    'Activate Success',
    'Get Success',
    'Get OperationFailed ObjectNotFound',
    'Destroy OperationFailed WrongKeyLifecycleState',
  ]);
  for (const r of rows) {
    t.equal(r.identity, 'kmipctl', 'the client identity');
    t.equal(r.subject, 'CN=kmipctl');
    t.match(r.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'the certificate fingerprint');
    t.match(r.peer, /^127\.0\.0\.1:\d+$/);
    t.equal(r.version, '2.1');
    t.match(r.request_digest, /^[0-9a-f]{64}$/);
    t.match(r.scv, /^[0-9A-F]+-[0-9A-F]+$/, 'the server correlation value of the response');
    t.type(Number(r.seq), 'number');
    t.match(r.hash, /^[0-9a-f]{64}$/, 'chained');
  }
  t.same(JSON.parse(rows[1]!.uids), [id], 'Create records the new key');
  t.same(JSON.parse(rows[3]!.uids_requested), [id], 'Get records the key asked for');
  t.same(JSON.parse(rows[4]!.uids_requested), ['no-such-key'], 'a failing Get records what was asked');
  t.match(rows[4]!.message, /no-such-key/);
  const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
  t.same(seqs, seqs.map((_, i) => seqs[0]! + i), 'consecutive places in the chain');
});

t.test('ID Placeholder: the row says the uid before and after resolution; Undo records the rolled-back items as undone', async (t) => {
  const start = await lastId();
  const c = await env.connect(V14);
  const ok = await c.request({
    items: [
      { operation: Enum.Operation.Create, payload: [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), v1Template()] },
      { operation: Enum.Operation.Activate, payload: [] },
    ],
  });
  const id = ok.items[0]!.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const undone = await c.request({
    batchErrorContinuationOption: 'Undo',
    items: [
      { operation: Enum.Operation.Create, payload: [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), v1Template()] },
      { operation: Enum.Operation.Destroy, payload: [uid('no-such-object')] },
    ],
  });
  t.same(undone.items.map((i) => i.resultStatus), [Enum.ResultStatus.OperationUndone, Enum.ResultStatus.OperationFailed]);
  await c.close();
  const rows = await rowsAfter(start);
  t.same(rows.map(brief), ['Create Success', 'Activate Success', 'Create OperationUndone', 'Destroy OperationFailed ItemNotFound'], 'no Success row for the rolled-back Create');
  const activate = rows[1]!;
  t.same(JSON.parse(activate.uids_requested), [], 'Activate named no uid: it used the placeholder');
  t.same(JSON.parse(activate.uids), [id], 'resolved to the created key');
  t.equal(activate.batch_index, 1);
  t.equal(activate.version, '1.4');
  const [count] = await sql<{ n: number }>(db, `SELECT count(*) AS n FROM audit_log WHERE status = 'Success' AND operation = 'Create' AND id > ?`, [start]);
  t.equal(count!.n, 1, 'one successful Create recorded, as one happened');
});

function v1Template(): ReturnType<typeof structure> {
  const attr = (name: string, value: ReturnType<typeof structure>['value'][number]): ReturnType<typeof structure> =>
    structure(Tag.Attribute, [text(Tag.AttributeName, name), { ...value, tag: Tag.AttributeValue } as ReturnType<typeof structure>]);
  return structure(Tag.TemplateAttribute, [
    attr('Cryptographic Algorithm', enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES)),
    attr('Cryptographic Length', integer(Tag.CryptographicLength, 128)),
    attr('Cryptographic Usage Mask', integer(Tag.CryptographicUsageMask, 0x0c)),
  ]);
}

t.test('a refused TLS client and a garbage message from a known client are recorded', async (t) => {
  const start = await lastId();
  const stranger = await createCa({ commonName: 'Stranger CA' });
  const cert = await issueCertificate(stranger, { commonName: 'intruder', eku: 'client' });
  const ca = readFileSync(join(env.dir, 'ca.pem'));
  await new Promise<void>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: env.server.tlsAddress.port, ca, cert: cert.cert, key: cert.key, servername: 'localhost' });
    s.on('error', () => resolve());
    s.on('close', () => resolve());
    s.on('secureConnect', () => s.write(Buffer.alloc(8)));
  });
  await new Promise<void>((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: env.server.tlsAddress.port, ca, cert: env.owner.cert, key: env.owner.key, servername: 'localhost' });
    s.on('secureConnect', () => s.write(Buffer.from('42007801000000104200770f000000040000000000000000', 'hex')));
    s.on('data', () => s.end());
    s.on('error', () => resolve());
    s.on('close', () => resolve());
  });
  let rows: AuditRow[] = [];
  for (let i = 0; i < 50 && rows.length < 2; i++) {
    rows = await rowsAfter(start);
    if (rows.length < 2) await new Promise((r) => setTimeout(r, 50));
  }
  const refused = rows.find((r) => r.event === 'connection');
  t.ok(refused, 'the refused handshake has a row');
  t.equal(refused?.status, 'Refused');
  t.match(refused?.message, /handshake|certificate/i, `saying why: ${refused?.message}`);
  t.match(refused?.peer, /^127\.0\.0\.1:/);
  const garbage = rows.find((r) => r.event === 'request');
  t.equal(garbage?.identity, 'kmipctl', 'the undecodable message is recorded under the client that sent it');
  t.equal(garbage?.reason, 'InvalidMessage');
  t.equal(garbage?.operation, null);
});

t.test('no key material, no plaintext, no ciphertext in any row', async (t) => {
  const c = await env.connect(V21);
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, 0x0c)]),
    aesKey(secret),
  ]);
  const id = reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  const enc = await c.call('Encrypt', [
    uid(id),
    structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.GCM), integer(Tag.TagLength, 16), { tag: Tag.RandomIV, type: 'Boolean', value: true }]),
    { tag: Tag.Data, type: 'ByteString', value: plaintext },
  ]);
  const ciphertext = Buffer.from(enc.payload!.need(Tag.Data, 'ByteString'));
  await c.call('Get', [uid(id)]);
  await c.close();
  await env.server.audit!.sync(true);
  const everything = JSON.stringify(await sql(db, 'SELECT * FROM audit_log')) + JSON.stringify(await sql(db, 'SELECT * FROM audit_checkpoints'));
  for (const [what, bytes] of [
    ['key', secret],
    ['plaintext', plaintext],
    ['ciphertext', ciphertext],
  ] as const) {
    for (const form of [bytes.toString('hex'), bytes.toString('hex').toUpperCase(), bytes.toString('base64'), bytes.toString('latin1')]) {
      t.notOk(everything.includes(form), `the ${what} is not in the audit table`);
    }
  }
  const rows = await sql(db, `SELECT * FROM audit_log WHERE operation = 'Encrypt'`);
  t.equal(rows.length, 1, 'the Encrypt is recorded');
});

t.test('Query publishes the audit public key', async (t) => {
  const c = await env.connect(V21);
  const q = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryServerInformation)]);
  await c.close();
  const info = q.payload!.needStruct(Tag.ServerInformation);
  const pems = info.values(0x540001, 'TextString');
  t.same(pems, [readFileSync(publicKey, 'utf8')], 'the PEM kmipd audit public-key prints');
});

t.test('kmipctl audit verify, export, tail on the live store', async (t) => {
  const c = await env.connect(V21);
  for (let i = 0; i < 5; i++) await c.call('Create', createPayload());
  await c.close();
  await env.server.audit!.sync(true);
  const ok = await runKmipctl(['audit', 'verify', '--db', db, '--public-key', publicKey]);
  t.equal(ok.code, 0, ok.out + ok.err);
  t.match(ok.out, /^audit chain OK: \d+ records \(seq 1 to \d+\), \d+ checkpoints/);

  const out = join(env.dir, 'export.jsonl');
  const exported = await runKmipctl(['audit', 'export', '--db', db, '--out', out]);
  t.equal(exported.code, 0, exported.err);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; seq: number });
  t.ok(lines.some((l) => l.type === 'checkpoint'), 'checkpoints are exported');
  const ajv = new Ajv2020({ allowUnionTypes: true, strict: false, validateFormats: false });
  const valid = ajv.compile(JSON.parse(readFileSync(join(repoRoot, 'schemas/audit-record.schema.json'), 'utf8')) as object);
  const invalid = lines.filter((l) => !valid(l)).map((l) => `${JSON.stringify(l).slice(0, 120)}: ${ajv.errorsText(valid.errors)}`);
  t.same(invalid, [], `all ${lines.length} exported lines match schemas/audit-record.schema.json`);
  const fromFile = await runKmipctl(['audit', 'verify', '--file', out, '--public-key', publicKey]);
  t.equal(fromFile.code, 0, `the export verifies on its own: ${fromFile.out}`);
  const last = lines.filter((l) => l.type === 'record').at(-1)!.seq;
  t.match(exported.err, new RegExp(`next: --since ${last}`), 'the next cursor');

  const cursor = last - 3;
  const partial = join(env.dir, 'partial.jsonl');
  await runKmipctl(['audit', 'export', '--db', db, '--since', String(cursor), '--out', partial]);
  const partialRecords = readFileSync(partial, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; seq: number }).filter((l) => l.type === 'record');
  t.same(partialRecords.map((r) => r.seq), [cursor + 1, cursor + 2, cursor + 3], 'only records after the cursor');
  const partialOk = await runKmipctl(['audit', 'verify', '--file', partial, '--public-key', publicKey]);
  t.equal(partialOk.code, 0, `a --since export verifies against its checkpoints: ${partialOk.out}`);

  const tail = runKmipctl(['audit', 'tail', '--db', db, '--count', '2', '--interval', '50']);
  await new Promise((r) => setTimeout(r, 200));
  const c2 = await env.connect(V21);
  await c2.call('DiscoverVersions');
  await c2.call('DiscoverVersions');
  await c2.close();
  const tailed = await tail;
  t.equal(tailed.code, 0);
  t.same(
    tailed.out.trim().split('\n').map((l) => (JSON.parse(l) as { operation: string }).operation),
    ['DiscoverVersions', 'DiscoverVersions'],
    'tail prints the new records as they are chained',
  );
});

t.test('verify names the first broken sequence number for each kind of tampering', async (t) => {
  const c = await env.connect(V21);
  for (let i = 0; i < 6; i++) await c.call('DiscoverVersions');
  await c.close();
  await env.server.audit!.sync(true);
  const [{ n: last }] = (await sql<{ n: number }>(db, 'SELECT max(seq) AS n FROM audit_log')) as [{ n: number }];
  const target = last - 3;
  const cases: [string, string[], RegExp][] = [
    ['update a field', [`UPDATE audit_log SET identity = 'someone-else' WHERE seq = ${target}`], new RegExp(`BROKEN at seq ${target}: .*edited`)],
    ['delete a row', [`DELETE FROM audit_log WHERE seq = ${target}`], new RegExp(`BROKEN at seq ${target}: .*missing.*deleted`)],
    [
      'insert a row',
      [
        `UPDATE audit_log SET seq = -seq WHERE seq > ${target}`,
        `UPDATE audit_log SET seq = -seq + 1 WHERE seq < 0`,
        `INSERT INTO audit_log (seq, prev_hash, hash, digest, time, node, event, identity, uids_requested, uids, status, operation) SELECT ${target + 1}, hash, hash, digest, time, node, event, 'forged', '[]', '[]', 'Success', 'Get' FROM audit_log WHERE seq = ${target}`,
      ],
      new RegExp(`BROKEN at seq ${target + 1}: `),
    ],
    [
      'swap two rows',
      [`UPDATE audit_log SET seq = -1 WHERE seq = ${target}`, `UPDATE audit_log SET seq = ${target} WHERE seq = ${target + 1}`, `UPDATE audit_log SET seq = ${target + 1} WHERE seq = -1`],
      new RegExp(`BROKEN at seq ${target}: .*hashed as seq ${target + 1}.*reordered`),
    ],
    ['truncate the tail before a checkpoint', [`DELETE FROM audit_log WHERE seq > ${target}`], new RegExp(`BROKEN at seq ${target + 1}: .*checkpoint.*removed`)],
    [
      'edit a row and recompute every hash after it',
      [`UPDATE audit_log SET operation = 'Register' WHERE seq = ${target}`],
      new RegExp(`BROKEN at seq \\d+: .*(edited|changed)`),
    ],
  ];
  for (const [what, statements, expected] of cases) {
    const copy = join(env.dir, `tampered-${what.replace(/\W+/g, '-')}.sqlite`);
    await copyDatabase(copy);
    for (const s of statements) await sql(copy, s);
    const run = await runKmipctl(['audit', 'verify', '--db', copy, '--public-key', publicKey]);
    t.equal(run.code, 1, `${what}: verify fails`);
    t.match(run.out, expected, `${what}: ${run.out.split('\n')[0]}`);
  }
});

t.test('a tail removed with its checkpoints is caught by the age of the newest checkpoint (--max-age)', async (t) => {
  const c = await env.connect(V21);
  for (let i = 0; i < 3; i++) await c.call('DiscoverVersions');
  await c.close();
  await env.server.audit!.sync(true);
  const copy = join(env.dir, 'tail-and-checkpoints.sqlite');
  await copyDatabase(copy);
  const [{ n: last }] = (await sql<{ n: number }>(copy, 'SELECT max(seq) AS n FROM audit_log')) as [{ n: number }];
  await sql(copy, `DELETE FROM audit_checkpoints WHERE seq > ${last - 3}`);
  await sql(copy, `DELETE FROM audit_log WHERE seq > ${last - 3}`);
  const plain = await runKmipctl(['audit', 'verify', '--db', copy, '--public-key', publicKey]);
  t.equal(plain.code, 0, 'without --max-age the shorter chain verifies: nothing in it can tell');
  const live = await runKmipctl(['audit', 'verify', '--db', db, '--public-key', publicKey, '--max-age', '3600']);
  t.equal(live.code, 0, `the live store's newest checkpoint is recent: ${live.out}`);
  // An hour later, the copy's newest checkpoint is an hour old: what a monitor running --max-age sees.
  const source = await AuditDatabase.open({ sqlite: copy });
  const checkpoints = await source.checkpoints();
  const report = await verifyChain({ records: source.records(), checkpoints, trustedKeys: [readFileSync(publicKey, 'utf8')], fromGenesis: true, maxAgeSeconds: 60, now: new Date(Date.now() + 3_600_000) });
  await source.close();
  t.notOk(report.ok);
  t.match(report.problems[0]?.message, /newest checkpoint .* older than 60 s/);
});

/** A consistent copy of the live store's database (VACUUM INTO reads one snapshot). */
async function copyDatabase(to: string): Promise<void> {
  await sql(db, `VACUUM INTO '${to.replace(/'/g, "''")}'`);
}

t.test('a rotated signing key is announced by the old one: verify needs only the first key', async (t) => {
  const rotated = await runKmipd(['audit', 'rotate-key', '--data-dir', env.dir]);
  t.equal(rotated.code, 0, rotated.err);
  t.match(rotated.err, /generation 2/);
  const c = await env.connect(V21);
  await c.call('DiscoverVersions');
  await c.close();
  await env.server.audit!.sync(true); // the rotation checkpoint, signed by generation 1
  const c2 = await env.connect(V21);
  await c2.call('DiscoverVersions');
  await c2.close();
  await env.server.audit!.sync(true); // signed by generation 2
  const cps = await sql<{ key_id: string; next_key: string | null }>(db, 'SELECT key_id, next_key FROM audit_checkpoints ORDER BY id');
  t.ok(cps.some((cp) => cp.next_key === rotated.out), 'a checkpoint carries the new public key');
  t.not(cps.at(-1)!.key_id, cps[0]!.key_id, 'later checkpoints are signed by the new key');
  const run = await runKmipctl(['audit', 'verify', '--db', db, '--public-key', publicKey]);
  t.equal(run.code, 0, run.out);
  t.match(run.out, /signed by 2 key\(s\)/);
  const stale = join(env.dir, 'new-only.pem');
  writeFileSync(stale, rotated.out);
  const onlyNew = await runKmipctl(['audit', 'verify', '--db', db, '--public-key', stale]);
  t.equal(onlyNew.code, 1, 'the old checkpoints need the old key');
  t.match(onlyNew.out, /not trusted/);
});

t.test('the signing key is in the HSM, not on disk', { skip: !existsSync('/usr/lib/softhsm/libsofthsm2.so') && 'SoftHSM2 not installed' }, async (t) => {
  t.notOk(existsSync(join(env.dir, 'audit-signing-1.pem')), 'no key file with the pkcs11 keyring');
  copyFileSync(publicKey, join(env.dir, 'copy.pem'));
});

t.test('archive: old records move to a file that verifies, and what stays still verifies', async (t) => {
  const c = await env.connect(V21);
  for (let i = 0; i < 4; i++) await c.call('DiscoverVersions');
  await c.close();
  await env.server.audit!.sync(true);
  const [cp] = await sql<{ seq: number }>(db, 'SELECT max(seq) AS seq FROM audit_checkpoints WHERE seq < (SELECT max(seq) FROM audit_log)');
  const through = cp!.seq;
  const file = join(env.dir, 'archive-1.jsonl');
  const run = await runKmipd(['audit', 'archive', '--data-dir', env.dir, '--through', String(through + 1), '--out', file]);
  t.equal(run.code, 0, run.err);
  t.match(run.out, new RegExp(`archived ${through} records \\(seq 1 to ${through},`), 'rounded down to the checkpoint');
  const [first] = await sql<{ n: number }>(db, 'SELECT min(seq) AS n FROM audit_log');
  t.equal(first!.n, through + 1, 'the archived records left the database');
  const archived = await runKmipctl(['audit', 'verify', '--file', file, '--public-key', publicKey]);
  t.equal(archived.code, 0, `the archive verifies: ${archived.out}`);
  const rest = await runKmipctl(['audit', 'verify', '--db', db, '--public-key', publicKey]);
  t.equal(rest.code, 0, `the database verifies from the checkpoint: ${rest.out}`);
  t.match(rest.out, new RegExp(`seq ${through + 1} to`));
  const again = await runKmipd(['audit', 'archive', '--data-dir', env.dir, '--through', String(through), '--out', file]);
  t.equal(again.code, 1, 'an existing archive file is never overwritten');

  // Deleting the anchor checkpoint leaves the remaining records unanchored: verify says so.
  const copy = join(env.dir, 'no-anchor.sqlite');
  await copyDatabase(copy);
  await sql(copy, `DELETE FROM audit_checkpoints WHERE seq = ${through}`);
  const unanchored = await runKmipctl(['audit', 'verify', '--db', copy, '--public-key', publicKey]);
  t.equal(unanchored.code, 1);
  t.match(unanchored.out, /BROKEN at seq 1: .*missing/);
});

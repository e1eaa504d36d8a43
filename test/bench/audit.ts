/**
 * Audit-row benchmark (`npm run bench:audit`): what writing one audit row costs kmipd, against the
 * bare SQLite insert of the same row, in the same run.
 *
 * The rows are those of a Discover Versions from a mutual-TLS client (every field a real request
 * fills), the kind the processor does not wait for. `audit` hands them to AuditLog.record as the
 * processor does, 16 per event-loop turn, on a fresh SQLite store: content digest, rendering, the
 * chain hashes in the commit, the commit itself. `bare` is the floor: the same rows already hashed,
 * rendered as one multi-row INSERT per 500 and executed on a connection of its own to a fresh
 * store's audit_log. Each is measured BENCH_ROUNDS times (default 3, interleaved); the median is
 * printed as main-thread time per row (the thread that answers requests; event-loop utilisation),
 * process CPU per row (every thread: SQLite's, the garbage collector's) and rows per second.
 *
 *   npm run bench:audit [-- --rows 100000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { AuditLog } from '../../src/audit/log.js';
import { type AuditFields, INSERT_COLUMNS, contentDigest, insertRows } from '../../src/audit/record.js';
import { SoftwareSigningKeys } from '../../src/keys/signing.js';
import { openStore } from '../../src/store/index.js';
import { SqliteConnection, literal } from '../../src/store/sqlite-connection.js';
import { median } from './stats.js';

const { values: args } = parseArgs({ options: { rows: { type: 'string', default: '100000' }, help: { type: 'boolean' } } });
if (args.help) {
  process.stdout.write('usage: npm run bench:audit [-- --rows N]   (BENCH_ROUNDS, default 3)\n');
  process.exit(0);
}
const ROWS = Math.max(1000, Number(args.rows));
const ROUNDS = Math.max(1, Math.round(Number(process.env.BENCH_ROUNDS ?? 3)));
const PER_TURN = 16;
const BARE_BATCH = 500;
const NODE = '3f2a1c9e-51d0-4c2e-9a59-0c5b8e7d1f42';

function row(i: number): AuditFields {
  return {
    time: new Date().toISOString(),
    node: NODE,
    event: 'request',
    identity: 'kmipctl',
    subject: 'CN=kmipctl,O=kmipd development',
    fingerprint: '9c1f0e7a5b3d2c4e6f8a0b1c3d5e7f9a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e',
    peer: '127.0.0.1:51234',
    transport: 'tls',
    version: '2.1',
    batchIndex: 0,
    batchItemId: null,
    operation: 'DiscoverVersions',
    uidsRequested: [],
    uids: [],
    status: 'Success',
    reason: null,
    message: null,
    ccv: null,
    scv: `c0ffee00-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    requestDigest: 'd2a84f4b8b650937ec8f73cd8be2c74add5a911ba64df27458ed8229da804a26',
  };
}

interface Measured {
  mainUs: number;
  cpuUs: number;
  perSecond: number;
}

/** Runs `work` and measures it per row. */
async function measure(work: () => Promise<void>): Promise<Measured> {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await work();
  const wall = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { mainUs: (performance.eventLoopUtilization(elu).active * 1000) / ROWS, cpuUs: (used.user + used.system) / ROWS, perSecond: ROWS / (wall / 1000) };
}

async function withStore<T>(fn: (filename: string, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-bench-audit-'));
  try {
    return await fn(join(dir, 'kmipd.sqlite'), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function audit(): Promise<Measured> {
  return withStore(async (filename, dir) => {
    const store = await openStore({ client: 'sqlite3', filename });
    const log = new AuditLog({ store, node: NODE, signing: new SoftwareSigningKeys(dir), log: pino({ level: 'silent' }), checkpointSeconds: 3600, checkpointRows: 1_000_000 });
    await log.start();
    try {
      return await measure(async () => {
        let last: Promise<void> = Promise.resolve();
        for (let i = 0; i < ROWS; i += PER_TURN) {
          for (let j = i; j < Math.min(i + PER_TURN, ROWS); j++) last = log.record([row(j)], false);
          await new Promise((resolve) => setImmediate(resolve));
        }
        await last;
        await log.sync();
      });
    } finally {
      await log.close();
      await store.close();
    }
  });
}

function bare(): Promise<Measured> {
  return withStore(async (filename) => {
    await (await openStore({ client: 'sqlite3', filename })).close();
    const conn = await SqliteConnection.open(filename, 'PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
    // Hashed beforehand: the floor is the insert alone.
    const rows = insertRows(Array.from({ length: ROWS }, (_, i) => row(i)));
    let seq = 0;
    for (const r of rows) {
      r[0] = ++seq;
      r[1] = contentDigest(row(seq));
      r[2] = r[1];
    }
    const prefix = `INSERT INTO audit_log (${INSERT_COLUMNS.join(',')}) VALUES `;
    try {
      return await measure(async () => {
        for (let i = 0; i < ROWS; i += BARE_BATCH) {
          const values = rows.slice(i, i + BARE_BATCH).map((r) => `(${r.map(literal).join(',')})`);
          await conn.exec(`BEGIN IMMEDIATE; ${prefix}${values.join(',')}; COMMIT`);
        }
      });
    } finally {
      await conn.close();
    }
  });
}

const results: Record<'audit' | 'bare', Measured[]> = { audit: [], bare: [] };
for (let round = 0; round < ROUNDS; round++) {
  results.bare.push(await bare());
  results.audit.push(await audit());
}
const summary = (ms: Measured[]): Measured => ({ mainUs: median(ms.map((m) => m.mainUs)), cpuUs: median(ms.map((m) => m.cpuUs)), perSecond: median(ms.map((m) => m.perSecond)) });
const a = summary(results.audit);
const b = summary(results.bare);
process.stdout.write(`audit rows: ${ROWS} Discover Versions rows per case, median of ${ROUNDS} rounds\n\n`);
process.stdout.write('case    main µs/row  cpu µs/row    rows/s\n');
for (const [name, m] of [['audit', a], ['bare', b]] as const) {
  process.stdout.write(`${name.padEnd(6)}  ${m.mainUs.toFixed(2).padStart(11)}  ${m.cpuUs.toFixed(2).padStart(10)}  ${Math.round(m.perSecond).toString().padStart(8)}\n`);
}
process.stdout.write(`\nratio audit/bare main-thread time per row: ${(a.mainUs / b.mainUs).toFixed(2)}\n`);
process.stdout.write(`ratio audit/bare CPU per row: ${(a.cpuUs / b.cpuUs).toFixed(2)}\n`);

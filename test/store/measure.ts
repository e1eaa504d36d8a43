/**
 * Measures the object store (not a test): seeding N objects, Locate by Name at that size, and
 * concurrent durable insert throughput on SQLite and PostgreSQL.
 *   npx tsx test/store/measure.ts [--objects 1000000] [--writers 16] [--per-writer 500] [--keep file]
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Tag } from '../../src/kmip/registry.generated.js';
import type { ManagedObjectRecord } from '../../src/objects/types.js';
import type { Knex } from 'knex';
import { openStore, seed, type LocateQuery, type ObjectStore } from '../../src/store/index.js';
import { locateSql } from '../../src/store/locate.js';
import { syntheticAttributes } from '../../src/store/seed.js';
import { item } from '../../src/ttlv/index.js';
import { pgTestStore, pgUnavailable } from '../support/store.js';

const { values: args } = parseArgs({
  options: {
    objects: { type: 'string', default: '1000000' },
    writers: { type: 'string', default: '16' },
    'per-writer': { type: 'string', default: '500' },
    lookups: { type: 'string', default: '1000' },
    file: { type: 'string' },
  },
});
const objects = Number(args.objects);
const writers = Number(args.writers);
const perWriter = Number(args['per-writer']);
const lookups = Number(args.lookups);

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function locateByName(store: ObjectStore, count: number): Promise<void> {
  const times: number[] = [];
  let found = 0;
  for (let i = 0; i < lookups; i++) {
    const n = Math.floor(Math.random() * count);
    const t0 = performance.now();
    const uids = await store.read((r) => r.locate({ attributes: [{ attribute: 'Name', text: `seed-key-${n}` }] }, 'seed'));
    times.push(performance.now() - t0);
    found += uids.length;
  }
  times.sort((a, b) => a - b);
  console.log(`locate by Name ×${lookups}: p50 ${percentile(times, 0.5).toFixed(2)} ms, p95 ${percentile(times, 0.95).toFixed(2)} ms, p99 ${percentile(times, 0.99).toFixed(2)} ms, found ${found}`);
  const t0 = performance.now();
  const page = await store.read((r) => r.locate({ objectTypes: ['SymmetricKey'], states: ['Active'], maxItems: 10, offsetItems: 1000 }, 'seed'));
  console.log(`locate by type+state, 10 items at offset 1000: ${(performance.now() - t0).toFixed(2)} ms (${page.length})`);
  const t1 = performance.now();
  const group = await store.read((r) => r.locate({ attributes: [{ attribute: 'ObjectGroup', text: 'group-7' }], maxItems: 10 }, 'seed'));
  console.log(`locate by ObjectGroup, 10 of ${count / 100}: ${(performance.now() - t1).toFixed(2)} ms (${group.length})`);
  const t2 = performance.now();
  const range = await store.read((r) => r.locate({ attributes: [{ attribute: 'InitialDate', from: Date.UTC(2024, 0, 1) / 1000 + 5000, to: Date.UTC(2024, 0, 1) / 1000 + 5099 }] }, 'seed'));
  console.log(`locate by InitialDate range of 100: ${(performance.now() - t2).toFixed(2)} ms (${range.length})`);
  const t3 = performance.now();
  const get = await store.read(async (r) => r.get(page[0]!, 'seed'));
  console.log(`get: ${(performance.now() - t3).toFixed(2)} ms (${get?.attributes.length} attributes)`);
}

async function plans(store: ObjectStore): Promise<void> {
  const queries: Record<string, LocateQuery> = {
    name: { attributes: [{ attribute: 'Name', text: 'seed-key-5' }], maxItems: 10 },
    'type+state': { objectTypes: ['SymmetricKey'], states: ['Active'], maxItems: 10 },
    group: { attributes: [{ attribute: 'ObjectGroup', text: 'group-7' }], maxItems: 10 },
    'date range': { attributes: [{ attribute: 'InitialDate', from: 0, to: 1 }], maxItems: 10 },
  };
  for (const [label, query] of Object.entries(queries)) {
    const { body, params, id } = locateSql(query, 'seed');
    const plan = (await store.read(async (r) => r.raw(`EXPLAIN QUERY PLAN SELECT o.uid ${body} ORDER BY ${id} DESC LIMIT 10`, params as Knex.RawBinding[]))) as { detail: string }[];
    console.log(`  plan ${label}: ${plan.map((p) => p.detail).join(' | ')}`);
  }
}

async function throughput(store: ObjectStore, label: string): Promise<void> {
  const epoch = Date.now() / 1000;
  const before = store.stats();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        await store.transaction(async (tx) => {
          const r: ManagedObjectRecord = {
            uid: tx.nextUid(),
            objectType: 'SymmetricKey',
            state: 'Active',
            owner: `writer-${w}`,
            attributes: [item(Tag.UniqueIdentifier, 'TextString', 'x'), ...syntheticAttributes(w * perWriter + i, 'tp-', Math.floor(epoch))],
            sealedValue: Buffer.alloc(60, 7),
          };
          await tx.insert(r);
        });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const after = store.stats();
  const n = writers * perWriter;
  console.log(`${label}: ${writers} writers × ${perWriter} durable Creates: ${(n / seconds).toFixed(0)}/s (${n} in ${seconds.toFixed(2)} s, ${after.commits - before.commits} commits)`);
}

const dir = await mkdtemp(join(tmpdir(), 'kmipd-measure-'));
const filename = args.file ?? join(dir, 'kmipd.sqlite');
try {
  const fresh = await openStore({ client: 'sqlite3', filename: join(dir, 'fresh.sqlite') });
  await throughput(fresh, 'SQLite (empty database)');
  await fresh.close();

  const store = await openStore({ client: 'sqlite3', filename });
  const existing = await store.read((r) => r.count({}, 'seed'));
  if (existing < objects) {
    const t0 = performance.now();
    let last = 0;
    await seed(store, {
      count: objects - existing,
      start: existing,
      batchSize: 20_000,
      onProgress: (n) => {
        if (n - last >= 100_000) {
          last = n;
          console.log(`  seeded ${n} in ${((performance.now() - t0) / 1000).toFixed(1)} s, rss ${mb(process.memoryUsage().rss)}`);
        }
      },
    });
    console.log(`seed ${objects - existing} objects: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const size = (await stat(filename)).size;
  console.log(`database file ${mb(size)}; rss ${mb(process.memoryUsage().rss)}`);
  const total = Math.max(objects, existing);
  for (const analyzed of [false, true]) {
    if (analyzed) {
      const t0 = performance.now();
      await store.transaction(async (tx) => tx.raw('PRAGMA analysis_limit = 1000; ANALYZE'));
      console.log(`ANALYZE (analysis_limit 1000): ${(performance.now() - t0).toFixed(0)} ms`);
    }
    console.log(analyzed ? 'with statistics:' : 'without statistics:');
    await plans(store);
    await locateByName(store, total);
  }
  console.log(`rss after lookups ${mb(process.memoryUsage().rss)}`);
  await throughput(store, `SQLite (${total} objects)`);
  await store.close();

  const why = await pgUnavailable();
  if (why) console.log(`PostgreSQL skipped: ${why}`);
  else {
    const pg = await pgTestStore({ poolSize: writers });
    try {
      await throughput(pg.store, 'PostgreSQL');
    } finally {
      await pg.cleanup();
    }
  }
} finally {
  if (!args.file) await rm(dir, { recursive: true, force: true });
}

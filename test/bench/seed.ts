/**
 * Seeds a kmipd store with synthetic objects for benchmarks (`npm run seed -- [options]`): Active
 * AES-256 Symmetric Keys named `<prefix><i>` (src/store/seed.ts), bulk-inserted in big
 * transactions. The store is the one the data directory's config names (SQLite file or
 * PostgreSQL), so it can run beside a serving kmipd. Their key material is random bytes, not
 * sealed keys: Locate finds them, Get of one fails to unseal. Benchmarks only.
 *
 *   npm run seed -- --data-dir ./data --count 1000000 --owner kmipctl
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config/config.js';
import { storeConfig } from '../../src/server/kmipd.js';
import { openStore, seed } from '../../src/store/index.js';

const HELP = `Usage: npm run seed -- [options]

  --data-dir DIR       kmipd data directory whose store is seeded (default ./data)
  --set PATH=VALUE     config override, as for kmipd serve (e.g. store.filename=/tmp/x.sqlite)
  --count N            objects to add (default 1000000)
  --start I            index of the first object (default 0): extend an earlier seed
  --owner NAME         owning identity, a client certificate's CN (default kmipctl)
  --name-prefix P      Name of object i is P<i> (default seed-key-)
`;

const { values: v } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: './data' },
    set: { type: 'string', multiple: true, default: [] },
    count: { type: 'string', default: '1000000' },
    start: { type: 'string', default: '0' },
    owner: { type: 'string', default: 'kmipctl' },
    'name-prefix': { type: 'string', default: 'seed-key-' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (v.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const count = Number(v.count);
const start = Number(v.start);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(start) || start < 0) {
  process.stderr.write(`seed: --count and --start are whole numbers\n\n${HELP}`);
  process.exit(2);
}

const config = loadConfig({ dataDir: v['data-dir'], overrides: v.set });
const store = await openStore(storeConfig(config));
const t0 = performance.now();
let reported = 0;
try {
  await seed(store, {
    count,
    start,
    owner: v.owner,
    namePrefix: v['name-prefix'],
    onProgress: (n) => {
      if (n - reported < 100_000 && n < count) return;
      reported = n;
      const rss = (process.memoryUsage().rss / 1048576).toFixed(0);
      process.stderr.write(`seed: ${n} of ${count} objects in ${((performance.now() - t0) / 1000).toFixed(1)} s (seeder rss ${rss} MiB)\n`);
    },
  });
} finally {
  await store.close();
}

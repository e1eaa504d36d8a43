/**
 * Keyring benchmark (`npm run bench:keyring`): Get and Create through a real kmipd over mutual TLS,
 * with the pkcs11 keyring (SoftHSM2) against the software keyring, in the same run; and the bare
 * keyrings' seal and unseal. Target (issue 5): Get through pkcs11 at least 80% of software.
 *
 * Method: two servers from `kmipd init` (one per keyring, SQLite), in this process; BENCH_CLIENTS
 * connections (default 8) each send one request at a time. Each case is timed for BENCH_SECONDS
 * (default 2) per round over BENCH_ROUNDS rounds (default 3), the two keyrings interleaved in every
 * round; the median round is reported. Get reads a set of 200 keys created beforehand.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openSoftwareKeyring } from '../../src/keys/software.js';
import { Pkcs11Keyring } from '../../src/keys/pkcs11.js';
import { provisionSoftHsm } from '../../src/keys/softhsm.js';
import type { Keyring } from '../../src/keys/types.js';
import { type TestKmipd, startTestKmipd } from '../support/kmipd.js';
import { createKey, getKey } from '../keys/requests.js';
import { median } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Math.max(1, Math.round(Number(process.env.BENCH_ROUNDS ?? 3)));
const CLIENTS = Math.max(1, Math.round(Number(process.env.BENCH_CLIENTS ?? 8)));
const KEYS = 200;

type Provider = 'pkcs11' | 'software';
const PROVIDERS: Provider[] = ['software', 'pkcs11'];

/** Requests per second: `clients` loops of `op` for SECONDS. */
async function timed(clients: number, op: (worker: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      while (performance.now() < end) {
        await op(w);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

async function serverCase(env: TestKmipd) {
  const conns = await Promise.all(Array.from({ length: CLIENTS }, () => env.connect()));
  const ids: string[] = [];
  for (let i = 0; i < KEYS; i++) ids.push(await createKey(conns[i % CLIENTS]!, true));
  let next = 0;
  return {
    get: () => timed(CLIENTS, (w) => getKey(conns[w]!, ids[next++ % ids.length]!)),
    create: () => timed(CLIENTS, (w) => createKey(conns[w]!, true)),
    close: async () => {
      for (const c of conns) await c.close();
    },
  };
}

async function keyringCase(keyring: Keyring) {
  const plain = randomBytes(64);
  const sealed = await keyring.seal('bench-uid', plain);
  return {
    seal: () => timed(1, () => keyring.seal('bench-uid', plain)),
    unseal: () => timed(1, () => keyring.unseal('bench-uid', sealed)),
  };
}

async function main(): Promise<void> {
  const envs = {} as Record<Provider, TestKmipd>;
  for (const p of PROVIDERS) envs[p] = await startTestKmipd(`kmipd-bench-${p}-`, 'bench-other', { keyring: p });
  const servers = {} as Record<Provider, Awaited<ReturnType<typeof serverCase>>>;
  for (const p of PROVIDERS) servers[p] = await serverCase(envs[p]);

  const dir = mkdtempSync(join(tmpdir(), 'kmipd-bench-keyring-'));
  const hsm = await provisionSoftHsm(dir);
  const pkcs11 = await Pkcs11Keyring.open({ module: hsm.module, softhsm2Conf: hsm.softhsm2Conf, tokenLabel: hsm.tokenLabel, pin: readFileSync(hsm.pinFile, 'utf8').trim(), refreshMs: 0 });
  const bare = { software: await keyringCase(openSoftwareKeyring(dir)), pkcs11: await keyringCase(pkcs11) };

  const cases = ['Get', 'Create', 'keyring unseal', 'keyring seal'] as const;
  const samples = new Map<string, number[]>();
  const run = async (name: string, fn: () => Promise<number>) => {
    const ops = await fn();
    samples.set(name, [...(samples.get(name) ?? []), ops]);
  };
  for (const p of PROVIDERS) await servers[p].get(); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of round % 2 === 0 ? PROVIDERS : [...PROVIDERS].reverse()) {
      await run(`Get ${p}`, servers[p].get);
      await run(`Create ${p}`, servers[p].create);
      await run(`keyring unseal ${p}`, bare[p].unseal);
      await run(`keyring seal ${p}`, bare[p].seal);
    }
  }

  process.stdout.write(`kmipd keyring benchmark: ${CLIENTS} clients over mutual TLS, ${ROUNDS} rounds of ${SECONDS}s, median round\n\n`);
  process.stdout.write(`${'case'.padEnd(16)}${'software ops/s'.padStart(16)}${'pkcs11 ops/s'.padStart(16)}${'pkcs11/software'.padStart(18)}\n`);
  let getRatio = 0;
  for (const c of cases) {
    const sw = median(samples.get(`${c} software`) ?? []);
    const hw = median(samples.get(`${c} pkcs11`) ?? []);
    const ratio = hw / sw;
    if (c === 'Get') getRatio = ratio;
    process.stdout.write(`${c.padEnd(16)}${sw.toFixed(0).padStart(16)}${hw.toFixed(0).padStart(16)}${`${(ratio * 100).toFixed(1)}%`.padStart(18)}\n`);
  }
  process.stdout.write(`\nGet through pkcs11 is ${(getRatio * 100).toFixed(1)}% of software (target >= 80%): ${getRatio >= 0.8 ? 'met' : 'NOT met'}\n`);

  for (const p of PROVIDERS) {
    await servers[p].close();
    await envs[p].close();
  }
  pkcs11.close();
  rmSync(dir, { recursive: true, force: true });
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

/**
 * RNG Retrieve and RNG Seed (src/operations/rng-retrieve.ts, rng-seed.ts) through real kmipds over
 * mutual TLS, one per RNG Seed policy of config `rng` (KMIP 2.1 §6.1.50): ignore (the default),
 * accept up to rng.seedMaxBytes, and refuse. Query → RNGs names the generators.
 */
import t from 'tap';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { enumeration, integer } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

/** The seed all four OASIS CS-RNG-O cases send. */
const OASIS_SEED = Buffer.from('333c06587706225099a67438f263f8f932f64b860c3a7dbb21bc2bd56685d8bc', 'hex');

const data = (value: Buffer): Item => item(Tag.Data, 'ByteString', value);

let ignoring: TestKmipd;
let accepting: TestKmipd;
let refusing: TestKmipd;
t.before(async () => {
  [ignoring, accepting, refusing] = await Promise.all([
    startTestKmipd('kmipd-rng-ignore-', 'someone-else'),
    startTestKmipd('kmipd-rng-accept-', 'someone-else', { overrides: ['rng.seed=accept', 'rng.seedMaxBytes=32'] }),
    startTestKmipd('kmipd-rng-refuse-', 'someone-else', { overrides: ['rng.seed=refuse'] }),
  ]);
});
t.teardown(() => Promise.all([ignoring.close(), accepting.close(), refusing.close()]));

async function retrieve(c: KmipClient, length: number): Promise<Buffer> {
  return Buffer.from((await c.call('RNGRetrieve', [integer(Tag.DataLength, length)])).payload!.need(Tag.Data, 'ByteString'));
}

async function seed(c: KmipClient, value: Buffer): Promise<number> {
  return (await c.call('RNGSeed', [data(value)])).payload!.need(Tag.DataLength, 'Integer');
}

t.test('RNG Retrieve answers exactly the bytes asked for, different each time, up to 64 KiB', async (t) => {
  const c = await ignoring.connect(V21);
  t.teardown(() => c.close());
  for (const n of [1, 31, 32, 33, 1000, 65536]) t.equal((await retrieve(c, n)).length, n, `${n} bytes`);
  const outputs = [await retrieve(c, 32), await retrieve(c, 32), await retrieve(c, 32)];
  t.equal(new Set(outputs.map((o) => o.toString('hex'))).size, 3, 'three retrievals of 32 bytes all differ');
  t.equal((await refusal(retrieve(c, 65537))).reason, 'ResponseTooLarge', 'more than one HMAC_DRBG request (2^19 bits) is refused');
  t.equal((await refusal(retrieve(c, 0))).reason, 'InvalidField', 'zero bytes is refused');
});

t.test('rng.seed ignore (the default): RNG Seed succeeds with Data Length 0, in 2.1 and 1.4', async (t) => {
  for (const version of [V21, V14]) {
    const c = await ignoring.connect(version);
    t.equal(await seed(c, OASIS_SEED), 0, `KMIP ${version.major}.${version.minor}: nothing used (CS-RNG-O-3)`);
    await c.close();
  }
});

t.test('rng.seed accept: Data Length is the bytes used, at most rng.seedMaxBytes', async (t) => {
  const c = await accepting.connect(V21);
  t.teardown(() => c.close());
  t.equal(await seed(c, OASIS_SEED), 32, 'all 32 bytes of the OASIS seed (CS-RNG-O-1)');
  t.equal(await seed(c, Buffer.alloc(48, 7)), 32, 'a 48-byte seed is partly accepted: its first 32 bytes');
  t.equal(await seed(c, Buffer.alloc(5, 7)), 5, 'a short seed is used whole');
  t.equal(await seed(c, Buffer.alloc(0)), 0, 'an empty seed uses nothing');
  const c14 = await accepting.connect(V14);
  t.equal(await seed(c14, OASIS_SEED), 32, 'the same in KMIP 1.4');
  await c14.close();
});

t.test('rng.seed accept: a seed adds to the generator, never decides its output', async (t) => {
  const c = await accepting.connect(V21);
  t.teardown(() => c.close());
  await seed(c, OASIS_SEED);
  const a = await retrieve(c, 32);
  await seed(c, OASIS_SEED);
  const b = await retrieve(c, 32);
  t.notSame(a, b, 'the same seed twice, and still two different outputs');
  t.equal((await retrieve(c, 100)).length, 100, 'RNG Retrieve keeps answering after seeds');
});

t.test('rng.seed accept with seedMaxBytes 16: half of the OASIS seed is used (CS-RNG-O-2)', async (t) => {
  const half = await startTestKmipd('kmipd-rng-accept16-', 'someone-else', { overrides: ['rng.seed=accept', 'rng.seedMaxBytes=16'] });
  t.teardown(() => half.close());
  const c = await half.connect(V21);
  t.equal(await seed(c, OASIS_SEED), 16);
  await c.close();
});

t.test('rng.seed refuse: RNG Seed is Permission Denied with a message naming the policy; RNG Retrieve still works', async (t) => {
  for (const version of [V21, V14]) {
    const c = await refusing.connect(version);
    const err = await refusal(seed(c, OASIS_SEED));
    t.equal(err.reason, 'PermissionDenied', `KMIP ${version.major}.${version.minor} (CS-RNG-O-4)`);
    t.match(err.message, /refuses seed material .*rng\.seed policy is refuse/);
    t.equal((await retrieve(c, 16)).length, 16);
    await c.close();
  }
});

t.test('Query RNGs names the HMAC_DRBG SHA-256 of RNG Retrieve, with prediction resistance, and the CTR_DRBG of key generation', async (t) => {
  const c = await ignoring.connect(V21);
  t.teardown(() => c.close());
  const answer = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryRNGs)]);
  const rngs = answer.payload!.all(Tag.RNGParameters).map((r) => Fields.of(r, 'RNG Parameters'));
  t.equal(rngs.length, 2);
  const [hmacDrbg, ctrDrbg] = rngs;
  t.equal(hmacDrbg?.need(Tag.RNGAlgorithm, 'Enumeration'), Enum.RNGAlgorithm.DRBG);
  t.equal(hmacDrbg?.need(Tag.DRBGAlgorithm, 'Enumeration'), Enum.DRBGAlgorithm.HMAC);
  t.equal(hmacDrbg?.need(Tag.HashingAlgorithm, 'Enumeration'), Enum.HashingAlgorithm.SHA_256);
  t.equal(hmacDrbg?.need(Tag.PredictionResistance, 'Boolean'), true);
  t.equal(ctrDrbg?.need(Tag.DRBGAlgorithm, 'Enumeration'), Enum.DRBGAlgorithm.CTR);
});

/**
 * HMAC_DRBG with SHA-256 (src/crypto/drbg.ts) against NIST CAVP vectors and an independent
 * computation. The CAVP vectors are from HMAC_DRBG.rsp, [SHA-256], of the SP 800-90A DRBG test
 * vectors (drbgvectors_pr_false and drbgvectors_pr_true), as quoted by cifra's src/testdrbg.c and
 * BoringSSL's HMAC_DRBG test; the first one with the intermediate Key and V its .rsp entry lists.
 */
import t from 'tap';
import { type DrbgState, HmacDrbg, MAX_BYTES_PER_REQUEST, hmacDrbgGenerate, hmacDrbgInstantiate, hmacDrbgReseed } from '../../src/crypto/drbg.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const state = (s: DrbgState): { key: string; v: string } => ({ key: s.key.toString('hex'), v: s.v.toString('hex') });

/** An entropy source that hands out the given inputs in order, and fails when asked for more. */
function fixedEntropy(...inputs: string[]): { source: (n: number) => Buffer; calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    source(n) {
      const next = inputs[calls.length];
      calls.push(n);
      if (next === undefined) throw new Error('the test ran out of entropy input');
      return hex(next);
    },
  };
}

t.test('CAVP SHA-256, no prediction resistance, a reseed: Key and V after each step and the returned bits', async (t) => {
  const s = hmacDrbgInstantiate(hex('06032cd5eed33f39265f49ecb142c511da9aff2af71203bffaf34a9ca5bd9c0d'), hex('0e66f71edc43e42a45ad3c6fc6cdc4df'));
  t.same(state(s), { key: '17dc11c2389f5eeb9d0f6a5148a1ea83ee8a828f4f140ac78272a0da435fa121', v: '81e0d8830ed2d16f9b288a1cb289c5fab3f3c5c28131be7cafedcc7734604d34' }, 'instantiate');
  hmacDrbgReseed(s, hex('01920a4e669ed3a85ae8a33b35a74ad7fb2a6bb4cf395ce00334a9c9a5a5d552'));
  t.same(state(s), { key: 'ca43e73325de43c41d7e0a7a3163fb04061b09fcee4c7b8884e969e3bdfdff9a', v: 'c246fa97570ba2b9d9e5b453fe4632366f146fbd8491146563eb463c9eafe50c' }, 'reseed');
  hmacDrbgGenerate(s, 128);
  t.same(state(s), { key: '8be4c7f9f249d5af2c6345a8f07af14be1d7adc2b9892286ffe37760d8aa5a1b', v: 'df67d0816d6a8f3b73ba7638ea113bef0e33a1da451272ef1472211fb31c1cd6' }, 'first generate');
  const out = hmacDrbgGenerate(s, 128);
  t.equal(
    out.toString('hex'),
    '76fc79fe9b50beccc991a11b5635783a83536add03c157fb30645e611c2898bb2b1bc215000209208cd506cb28da2a51bdb03826aaf2bd2335d576d519160842e7158ad0949d1a9ec3e66ea1b1a064b005de914eac2e9d4f2d72a8616a80225422918250ff66a41bd2f864a6a38cc5b6499dc43f7f2bd09e1e0f8f5885935124',
    'returned bits',
  );
  t.same(state(s), { key: '5ed31bc06cc4f3a97f7f34929b0558b0c34de1f4bd1cef456a8364140e2d9f41', v: '80524881711e89a61e6fe7169581e50fb9ad642f3dff48fba5773352fa04cec3' }, 'second generate');
  t.equal(s.reseedCounter, 3);
});

t.test('CAVP SHA-256, no prediction resistance, additional input on reseed and on each generate', async (t) => {
  const s = hmacDrbgInstantiate(hex('05ac9fc4c62a02e3f90840da5616218c6de5743d66b8e0fbf833759c5928b53d'), hex('2b89a17904922ed8f017a63044848545'));
  hmacDrbgReseed(s, hex('2791126b8b52ee1fd9392a0a13e0083bed4186dc649b739607ac70ec8dcecf9b'), hex('43bac13bae715092cf7eb280a2e10a962faf7233c41412f69bc74a35a584e54c'));
  hmacDrbgGenerate(s, 128, hex('3f2fed4b68d506ecefa21f3f5bb907beb0f17dbc30f6ffbba5e5861408c53a1e'));
  const out = hmacDrbgGenerate(s, 128, hex('529030df50f410985fde068df82b935ec23d839cb4b269414c0ede6cffea5b68'));
  t.equal(
    out.toString('hex'),
    '02ddff5173da2fcffa10215b030d660d61179e61ecc22609b1151a75f1cbcbb4363c3a89299b4b63aca5e581e73c860491010aa35de3337cc6c09ebec8c91a6287586f3a74d9694b462d2720ea2e11bbd02af33adefb4a16e6b370fa0effd57d607547bdcfbb7831f54de7073ad2a7da987a0016a82fa958779a168674b56524',
  );
});

t.test('CAVP SHA-256 with prediction resistance, through HmacDrbg: each generate reseeds from the entropy source first', async (t) => {
  const entropy = fixedEntropy(
    '6c1f4bffc476e488fb57eb80dc106cf2b417bad22b196baa6346958256db490f', // EntropyInput
    '5f1b92223e3909e43677da2f588a6d19', // Nonce
    'abaca65695bd5d289880453850fc8289b76f78b43f970ed32f4125a941165515', // EntropyInputPR
    '4a39b666cf861816d7d82ef6e23f70f149d74d9bd499eea19b622e751c43d839', // EntropyInputPR
  );
  const drbg = new HmacDrbg(entropy.source);
  drbg.generate(32, hex('e6cd940610375e504fa80406120b34d498b022393436e910c0ba2560603fd066'));
  const out = drbg.generate(32, hex('d20082c5bdf6f6711af391e7d01046b9d3610827de63aa2671a5f5ad07b90841'));
  t.equal(out.toString('hex'), 'd3c36e4ae25ff21a95a157a89f13eb976362a695ea755f0465ed4a7bb20c5cb3');
  t.same(entropy.calls, [32, 16, 32, 32], '256 bits of entropy input, a 128-bit nonce, then 256 fresh bits per generate');
});

// Computed independently with python3's hmac module (SP 800-90A §10.1.2 written out in Python,
// itself checked against the prediction-resistance CAVP vector above): instantiate from E and N,
// an RNG Seed of the first 16 bytes of the OASIS CS-RNG-O seed, then a 40-byte generate (not a
// whole number of SHA-256 blocks) with prediction resistance.
t.test('an RNG Seed is additional input of a reseed beside fresh entropy: known answer', async (t) => {
  const E = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex');
  const N = Buffer.from(Array.from({ length: 16 }, (_, i) => 0x20 + i)).toString('hex');
  const E2 = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x40 + i)).toString('hex');
  const E3 = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x60 + i)).toString('hex');
  const seed = hex('333c06587706225099a67438f263f8f932f64b860c3a7dbb21bc2bd56685d8bc').subarray(0, 16);

  const s = hmacDrbgInstantiate(hex(E), hex(N));
  t.same(state(s), { key: '345c7f099d0c4adce91379b6e2e03edfd4c2fa0b874e7a5b3cf24fb11f6ed4f1', v: '976b4836a5b3d828293e26900371f2d49e5a11754c0a45c9cc4c8fe921014a03' }, 'instantiate');
  hmacDrbgReseed(s, hex(E2), seed);
  t.same(state(s), { key: 'b12a728bf7af06c5cc42ea08b6fc991c0c3b43477a81c7dd8cc031fe6ead4f35', v: '3f6cfd3ab94c74481fa2320a2f72929918b2aa1000ca3941dd0e27fe79463c78' }, 'reseed with the seed');

  const drbg = new HmacDrbg(fixedEntropy(E, N, E2, E3).source);
  drbg.reseed(seed);
  t.equal(drbg.generate(40).toString('hex'), '82692d011304f38b206d791f3c698a8dbd7218f737032af37ace5b8e46ee97e5231ee02be4784261', 'generate after the seed');
});

t.test('the same seed and the same entropy source never give the same output twice', async (t) => {
  const constant = (n: number): Buffer => Buffer.alloc(n, 0x5a);
  const drbg = new HmacDrbg(constant);
  const seed = Buffer.alloc(32, 1);
  drbg.reseed(seed);
  const a = drbg.generate(32);
  drbg.reseed(seed);
  const b = drbg.generate(32);
  t.notSame(a, b, 'the state carries forward: a seed adds to it, never resets it');
  const fresh = new HmacDrbg();
  t.notSame(fresh.generate(32), new HmacDrbg().generate(32), 'two generators instantiated from randomBytes differ');
});

t.test('requests outside SP 800-90A Table 2 and short entropy input are refused', async (t) => {
  const drbg = new HmacDrbg();
  t.equal(drbg.generate(MAX_BYTES_PER_REQUEST).length, 65536, '2^19 bits is the most one request may ask');
  t.throws(() => drbg.generate(MAX_BYTES_PER_REQUEST + 1), RangeError);
  t.throws(() => drbg.generate(-1), RangeError);
  t.throws(() => hmacDrbgInstantiate(Buffer.alloc(31), Buffer.alloc(16)), RangeError, 'less than 256 bits of entropy input');
  t.throws(() => hmacDrbgInstantiate(Buffer.alloc(32), Buffer.alloc(15)), RangeError, 'a nonce shorter than 128 bits');
  t.throws(() => new HmacDrbg((n) => Buffer.alloc(n - 1)), RangeError, 'an entropy source that gives too little');
});

/**
 * The field arithmetic of src/crypto/shamir.ts: GF(2^8) against the worked example of FIPS 197
 * §4.2 ({57} • {83} = {c1}), and split / join round trips for every method, with too few or
 * altered shares failing to give the secret back.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { gfDiv, gfMul, joinGf256, joinPrime, joinXor, splitGf256, splitPrime, splitXor } from '../../src/crypto/shamir.js';

t.test('GF(2^8) multiplication is the AES field (FIPS 197 §4.2)', async (t) => {
  t.equal(gfMul(0x57, 0x83), 0xc1, '{57} • {83} = {c1}');
  t.equal(gfMul(0x57, 0x13), 0xfe, '{57} • {13} = {fe}');
  const bad = Array.from({ length: 255 }, (_, i) => i + 1).filter((a) => gfMul(gfDiv(1, a), a) !== 1);
  t.same(bad, [], 'every non-zero element has an inverse');
});

t.test('GF(2^8) sharing: any threshold of the shares gives the secret, fewer do not', async (t) => {
  const secret = randomBytes(32);
  const shares = splitGf256(secret, 5, 3);
  t.same(shares.map((s) => s.x), [1, 2, 3, 4, 5]);
  for (const pick of [[0, 1, 2], [4, 2, 0], [1, 3, 4], [0, 1, 2, 3, 4]]) {
    t.same(joinGf256(pick.map((i) => shares[i]!)), secret, `shares ${pick.join(',')}`);
  }
  t.not(joinGf256([shares[0]!, shares[1]!]).toString('hex'), secret.toString('hex'), 'two of three do not');
  const threshold1 = splitGf256(secret, 3, 1);
  t.same(threshold1[2]!.y, secret, 'threshold 1: every share is the secret');
  t.throws(() => splitGf256(secret, 256, 2), RangeError, 'at most 255 shares');
  t.throws(() => joinGf256([shares[0]!, shares[0]!]), RangeError, 'duplicate shares');
});

t.test('XOR sharing needs every share', async (t) => {
  const secret = randomBytes(24);
  const shares = splitXor(secret, 4);
  t.same(joinXor(shares), secret);
  t.not(joinXor(shares.slice(1)).toString('hex'), secret.toString('hex'));
});

t.test('prime-field sharing over 2^130 − 5', async (t) => {
  const p = (1n << 130n) - 5n;
  const secret = randomBytes(16);
  const shares = splitPrime(secret, 4, 2, p);
  t.equal(shares[0]!.y.length, 17, 'shares are as wide as p');
  t.same(joinPrime([shares[3]!, shares[1]!], p, 16), secret);
  t.same(joinPrime(shares, p, 16), secret, 'more than the threshold works too');
  t.throws(() => splitPrime(Buffer.alloc(17, 0xff), 2, 2, p), RangeError, 'a secret not below p');
});

/**
 * Key splitting for Create Split Key and Join Split Key (KMIP 2.1 §6.1.10, §6.1.27; Split Key
 * Method, 2.1 §11.56). Three methods:
 *
 *   - XOR: n parts, all needed: n − 1 random parts and the secret XOR them all.
 *   - Polynomial Sharing GF(2^8): Shamir's secret sharing byte by byte over GF(2^8) with the AES
 *     reduction polynomial x^8 + x^4 + x^3 + x + 1 (0x11B); part i is f(i) for a random polynomial
 *     f of degree threshold − 1 whose constant term is the secret byte.
 *   - Polynomial Sharing Prime Field: the same over GF(p) with the secret read as one big-endian
 *     integer below p.
 *
 * This is field arithmetic, not a cipher: randomness comes from node:crypto, and the polynomial
 * coefficients are zeroed once the parts are made. Joining interpolates f at 0 (Lagrange).
 */
import { randomBytes } from 'node:crypto';

export interface Share {
  /** The Key Part Identifier: the x coordinate, 1 … parts. */
  readonly x: number;
  readonly y: Buffer;
}

// ——— GF(2^8) ———

const EXP = new Uint8Array(510);
const LOG = new Uint8Array(256);
{
  // 0x03 generates the multiplicative group of GF(2^8) mod 0x11B.
  let v = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = v;
    LOG[v] = i;
    v ^= (v << 1) ^ (v & 0x80 ? 0x11b : 0); // v · 3 = v · 2 ⊕ v, reduced
    v &= 0xff;
  }
  for (let i = 255; i < 510; i++) EXP[i] = EXP[i - 255]!;
}

export function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : EXP[LOG[a]! + LOG[b]!]!;
}

export function gfDiv(a: number, b: number): number {
  if (b === 0) throw new RangeError('division by zero in GF(2^8)');
  return a === 0 ? 0 : EXP[LOG[a]! + 255 - LOG[b]!]!;
}

/** Shamir over GF(2^8): `parts` shares of `secret`, any `threshold` of which give it back. */
export function splitGf256(secret: Uint8Array, parts: number, threshold: number): Share[] {
  checkCounts(parts, threshold, 255);
  const coefficients = randomBytes(secret.length * (threshold - 1));
  const shares = Array.from({ length: parts }, (_, i) => ({ x: i + 1, y: Buffer.alloc(secret.length) }));
  for (let b = 0; b < secret.length; b++) {
    for (const share of shares) {
      // Horner: f(x) = s + c1·x + … + c(t−1)·x^(t−1)
      let y = 0;
      for (let k = threshold - 2; k >= 0; k--) y = gfMul(y, share.x) ^ coefficients[b * (threshold - 1) + k]!;
      share.y[b] = gfMul(y, share.x) ^ secret[b]!;
    }
  }
  coefficients.fill(0);
  return shares;
}

/** The secret from `threshold` or more distinct GF(2^8) shares of equal length. */
export function joinGf256(shares: readonly Share[]): Buffer {
  checkShares(shares, 255);
  const length = shares[0]!.y.length;
  const out = Buffer.alloc(length);
  // Lagrange basis at 0: l_i = Π_{j≠i} x_j / (x_j − x_i); in characteristic 2, − is ⊕.
  const basis = shares.map((si) => shares.reduce((acc, sj) => (sj === si ? acc : gfMul(acc, gfDiv(sj.x, sj.x ^ si.x))), 1));
  for (let b = 0; b < length; b++) {
    let s = 0;
    shares.forEach((share, i) => (s ^= gfMul(share.y[b]!, basis[i]!)));
    out[b] = s;
  }
  return out;
}

// ——— XOR ———

export function splitXor(secret: Uint8Array, parts: number): Share[] {
  checkCounts(parts, parts, Number.MAX_SAFE_INTEGER);
  const shares: Share[] = [];
  const last = Buffer.from(secret);
  for (let i = 1; i < parts; i++) {
    const y = randomBytes(secret.length);
    for (let b = 0; b < y.length; b++) last[b]! ^= y[b]!;
    shares.push({ x: i, y });
  }
  shares.push({ x: parts, y: last });
  return shares;
}

export function joinXor(shares: readonly Share[]): Buffer {
  checkShares(shares, Number.MAX_SAFE_INTEGER);
  const out = Buffer.alloc(shares[0]!.y.length);
  for (const share of shares) for (let b = 0; b < out.length; b++) out[b]! ^= share.y[b]!;
  return out;
}

// ——— prime field ———

/** Shamir over GF(p): the secret, big-endian, must be below p; each share is as long as p. */
export function splitPrime(secret: Uint8Array, parts: number, threshold: number, p: bigint): Share[] {
  checkCounts(parts, threshold, Number.MAX_SAFE_INTEGER);
  const s = toBigInt(secret);
  if (s >= p) throw new RangeError('the secret is not below the prime');
  if (BigInt(parts) >= p) throw new RangeError('the prime is too small for that many parts');
  const width = byteLength(p);
  const coefficients = [s, ...Array.from({ length: threshold - 1 }, () => randomBelow(p))];
  return Array.from({ length: parts }, (_, i) => {
    const x = BigInt(i + 1);
    let y = 0n;
    for (let k = coefficients.length - 1; k >= 0; k--) y = (y * x + coefficients[k]!) % p;
    return { x: i + 1, y: fromBigInt(y, width) };
  });
}

/** The secret from `threshold` or more GF(p) shares, as `length` big-endian bytes. */
export function joinPrime(shares: readonly Share[], p: bigint, length: number): Buffer {
  checkShares(shares, Number.MAX_SAFE_INTEGER);
  let s = 0n;
  for (const si of shares) {
    let num = 1n;
    let den = 1n;
    for (const sj of shares) {
      if (sj === si) continue;
      num = (num * BigInt(sj.x)) % p;
      den = (den * mod(BigInt(sj.x) - BigInt(si.x), p)) % p;
    }
    s = (s + toBigInt(si.y) * num * modPow(den, p - 2n, p)) % p;
  }
  if (s >= 1n << BigInt(8 * length)) throw new RangeError('the parts do not give a secret of the expected length');
  return fromBigInt(s, length);
}

// ——— helpers ———

function checkCounts(parts: number, threshold: number, max: number): void {
  if (!Number.isInteger(parts) || !Number.isInteger(threshold) || threshold < 1 || parts < threshold || parts > max) {
    throw new RangeError(`cannot make ${parts} parts with threshold ${threshold}`);
  }
}

function checkShares(shares: readonly Share[], max: number): void {
  if (shares.length === 0) throw new RangeError('no shares');
  const xs = new Set(shares.map((s) => s.x));
  if (xs.size !== shares.length || [...xs].some((x) => !Number.isInteger(x) || x < 1 || x > max)) throw new RangeError('share identifiers must be distinct and in range');
  if (shares.some((s) => s.y.length !== shares[0]!.y.length)) throw new RangeError('shares differ in length');
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes).toString('hex')}`);
}

function fromBigInt(value: bigint, length: number): Buffer {
  const hex = value.toString(16).padStart(length * 2, '0');
  if (hex.length > length * 2) throw new RangeError('value does not fit');
  return Buffer.from(hex, 'hex');
}

function byteLength(value: bigint): number {
  return Math.ceil(value.toString(16).length / 2);
}

function mod(a: bigint, p: bigint): bigint {
  return ((a % p) + p) % p;
}

function modPow(base: bigint, exponent: bigint, p: bigint): bigint {
  let result = 1n;
  let b = mod(base, p);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % p;
    b = (b * b) % p;
  }
  return result;
}

/** Uniform in [0, p) by rejection from random bytes of p's width, top bits masked. */
function randomBelow(p: bigint): bigint {
  const bits = p.toString(2).length;
  const bytes = Math.ceil(bits / 8);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const r = toBigInt(randomBytes(bytes)) & mask;
    if (r < p) return r;
  }
}

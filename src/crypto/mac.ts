/**
 * Message authentication codes on node:crypto: HMAC (RFC 2104) with SHA-1, SHA-2 and SHA-3, and
 * AES-CMAC (RFC 4493 / NIST SP 800-38B), and the choice between them from Cryptographic
 * Parameters (KMIP 2.1 §6.1.32: request fields over the key's Cryptographic Parameters attribute).
 *
 * The MAC algorithm is the Cryptographic Algorithm given (request, else the key's parameters),
 * else the key's own Cryptographic Algorithm: an HMAC_* key computes that HMAC; an AES key
 * computes CMAC (Block Cipher Mode CMAC, or none). An HMAC named for another symmetric key (an AES
 * key whose Cryptographic Parameters say HMAC_SHA256, as OASIS CS-AC-M-4..6 register) runs over
 * that key's bytes: RFC 2104 §2 takes a key of any length, and the MAC Generate / MAC Verify usage
 * bits are what allow MACing with it. An algorithm that contradicts the key's (HMAC-SHA512 of an
 * HMAC-SHA256 key, AES-CMAC of an HMAC key) is a wrong parameter.
 *
 * node:crypto has no CMAC call, so CMAC is RFC 4493 §2.3–2.4 written over node's AES: subkeys
 * from AES-ECB of the zero block, the message as AES-CBC with a zero IV, the tag its last block.
 * The block cipher itself is OpenSSL's.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import type { Reasons } from './sign.js';

const A = Enum.CryptographicAlgorithm;

const HMACS: ReadonlyMap<number, string> = new Map([
  [A.HMAC_SHA1, 'sha1'],
  [A.HMAC_SHA224, 'sha224'],
  [A.HMAC_SHA256, 'sha256'],
  [A.HMAC_SHA384, 'sha384'],
  [A.HMAC_SHA512, 'sha512'],
  [A.HMAC_SHA3_224, 'sha3-224'],
  [A.HMAC_SHA3_256, 'sha3-256'],
  [A.HMAC_SHA3_384, 'sha3-384'],
  [A.HMAC_SHA3_512, 'sha3-512'],
]);

export type MacScheme = { readonly kind: 'hmac'; readonly hash: string } | { readonly kind: 'cmac' };

export function macScheme(keyAlgorithm: number | undefined, request: Fields | undefined, keyParams: Fields | undefined, reasons: Reasons): MacScheme {
  const asked = request?.get(Tag.CryptographicAlgorithm, 'Enumeration') ?? keyParams?.get(Tag.CryptographicAlgorithm, 'Enumeration');
  const mode = request?.get(Tag.BlockCipherMode, 'Enumeration') ?? keyParams?.get(Tag.BlockCipherMode, 'Enumeration');
  const algorithm = asked ?? keyAlgorithm;
  if (algorithm === undefined) throw new KmipError(reasons.bad, 'the key has no Cryptographic Algorithm and the request names none: no MAC algorithm to use');
  const hash = HMACS.get(algorithm);
  if (hash !== undefined) {
    // An HMAC key is bound to its hash; any other symmetric key is just key bytes to HMAC.
    if (keyAlgorithm !== undefined && keyAlgorithm !== algorithm && HMACS.has(keyAlgorithm)) throw new KmipError(reasons.bad, `${name(algorithm)} was asked of a ${name(keyAlgorithm)} key`);
    return { kind: 'hmac', hash };
  }
  if (algorithm === A.AES) {
    if (keyAlgorithm !== undefined && keyAlgorithm !== A.AES) throw new KmipError(reasons.bad, `AES-CMAC was asked of a ${name(keyAlgorithm)} key`);
    if (mode !== undefined && mode !== Enum.BlockCipherMode.CMAC) throw new KmipError(reasons.bad, 'an AES key MACs with Block Cipher Mode CMAC only');
    return { kind: 'cmac' };
  }
  throw new KmipError(reasons.unsupported, `kmipd does not compute a MAC with ${name(algorithm)}`);
}

function name(algorithm: number): string {
  return Object.entries(A).find(([, v]) => v === algorithm)?.[0] ?? `0x${algorithm.toString(16)}`;
}

export function computeMac(scheme: MacScheme, key: Uint8Array, data: Uint8Array): Buffer {
  if (scheme.kind === 'hmac') {
    // RFC 2104 allows any key length, but an empty key is no key.
    if (key.length === 0) throw new KmipError('CryptographicFailure', 'the HMAC key is empty');
    return createHmac(scheme.hash, key).update(data).digest();
  }
  return cmac(key, data);
}

/** Constant-time comparison of the MAC computed with the one given; a different length is simply invalid. */
export function macMatches(scheme: MacScheme, key: Uint8Array, data: Uint8Array, given: Uint8Array): boolean {
  const computed = computeMac(scheme, key, data);
  return computed.length === given.length && timingSafeEqual(computed, given);
}

const BLOCK = 16;
const RB = 0x87;

/** RFC 4493 §2.3 Generate_Subkey's doubling: shift left one bit, XOR Rb if the top bit was set. */
function double(block: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i]! << 1) | (i + 1 < BLOCK ? block[i + 1]! >> 7 : 0)) & 0xff;
  if ((block[0]! & 0x80) !== 0) out[BLOCK - 1] = out[BLOCK - 1]! ^ RB;
  return out;
}

function aes(key: Uint8Array, mode: 'ecb' | 'cbc'): string {
  if (![16, 24, 32].includes(key.length)) throw new KmipError('CryptographicFailure', `an AES key is 16, 24 or 32 bytes, not ${key.length}`);
  return `aes-${key.length * 8}-${mode}`;
}

/** RFC 4493 §2.4 AES-CMAC. */
export function cmac(key: Uint8Array, message: Uint8Array): Buffer {
  const ecb = createCipheriv(aes(key, 'ecb'), key, null).setAutoPadding(false);
  const l = Buffer.concat([ecb.update(Buffer.alloc(BLOCK)), ecb.final()]);
  const k1 = double(l);
  const k2 = double(k1);
  const n = Math.max(1, Math.ceil(message.length / BLOCK));
  const complete = message.length > 0 && message.length % BLOCK === 0;
  const last = Buffer.alloc(BLOCK);
  Buffer.from(message.subarray((n - 1) * BLOCK)).copy(last);
  if (!complete) last[message.length - (n - 1) * BLOCK] = 0x80;
  const subkey = complete ? k1 : k2;
  for (let i = 0; i < BLOCK; i++) last[i] = last[i]! ^ subkey[i]!;
  const cbc = createCipheriv(aes(key, 'cbc'), key, Buffer.alloc(BLOCK)).setAutoPadding(false);
  const out = Buffer.concat([cbc.update(message.subarray(0, (n - 1) * BLOCK)), cbc.update(last), cbc.final()]);
  const tag = Buffer.from(out.subarray(out.length - BLOCK));
  for (const b of [l, k1, k2, last, out]) b.fill(0);
  return tag;
}

/**
 * Digital signatures on node:crypto: RSA PKCS#1 v1.5 and PSS, ECDSA (P-256/384/521, DER
 * signatures), DSA (FIPS 186-4, DER signatures), Ed25519 and Ed448; and the resolution of the signature scheme from Cryptographic
 * Parameters (KMIP 2.1 §4.12 / 1.4 §3.6) as Sign and Signature Verify take them (2.1 §6.1.55–56):
 *
 *   each field of the request's Cryptographic Parameters, else the same field of the key's
 *   Cryptographic Parameters attribute; a Digital Signature Algorithm names padding and hash
 *   together: one in the request sets aside the key's Padding Method and Hashing Algorithm, and a
 *   request's Padding Method or Hashing Algorithm sets aside the key's Digital Signature Algorithm
 *   (its parameters' or its attribute). Within one source they must agree.
 *
 * RSA needs a Padding Method (PKCS1 v1.5 or PSS) and a Hashing Algorithm, or a Digital Signature
 * Algorithm: §6.1.55 "the algorithm requires parameters" and none are given is a failure. ECDSA
 * defaults its hash to the curve's size (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512), DSA to
 * SHA-256 (FIPS 186-4 §4.6 uses the leftmost N bits of a longer hash); EdDSA takes
 * no hash (pure Ed25519 / Ed448, RFC 8032; the pre-hashed Ed25519ph is not offered). PSS salt: the Salt Length given, else the hash length when signing and any length when
 * verifying; MGF1 with the signature's hash is the only mask generator node:crypto offers.
 *
 * Digested Data is signed as given only for RSA PKCS#1 v1.5 (DigestInfo ‖ digest through
 * node's RSA private-key operation); node:crypto has no sign-a-digest call for ECDSA, PSS or EdDSA,
 * so those refuse Digested Data with Feature Not Supported rather than hash it a second time.
 */
import { type KeyObject, constants, privateEncrypt, publicDecrypt, sign, timingSafeEqual, verify } from 'node:crypto';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';

const A = Enum.CryptographicAlgorithm;
const H = Enum.HashingAlgorithm;
const P = Enum.PaddingMethod;
const D = Enum.DigitalSignatureAlgorithm;

/** Hashing Algorithm → node:crypto digest name and output length. */
export const HASHES: ReadonlyMap<number, { readonly node: string; readonly bytes: number }> = new Map([
  [H.MD5, { node: 'md5', bytes: 16 }],
  [H.SHA_1, { node: 'sha1', bytes: 20 }],
  [H.SHA_224, { node: 'sha224', bytes: 28 }],
  [H.SHA_256, { node: 'sha256', bytes: 32 }],
  [H.SHA_384, { node: 'sha384', bytes: 48 }],
  [H.SHA_512, { node: 'sha512', bytes: 64 }],
  [H.SHA_512_224, { node: 'sha512-224', bytes: 28 }],
  [H.SHA_512_256, { node: 'sha512-256', bytes: 32 }],
  [H.SHA3_224, { node: 'sha3-224', bytes: 28 }],
  [H.SHA3_256, { node: 'sha3-256', bytes: 32 }],
  [H.SHA3_384, { node: 'sha3-384', bytes: 48 }],
  [H.SHA3_512, { node: 'sha3-512', bytes: 64 }],
]);

/** RFC 8017 §9.2 note 1: the DER DigestInfo prefix before the digest, for PKCS#1 v1.5 over Digested Data. */
const DIGEST_INFO: ReadonlyMap<number, string> = new Map([
  [H.SHA_1, '3021300906052b0e03021a05000414'],
  [H.SHA_224, '302d300d06096086480165030402040500041c'],
  [H.SHA_256, '3031300d060960864801650304020105000420'],
  [H.SHA_384, '3041300d060960864801650304020205000430'],
  [H.SHA_512, '3051300d060960864801650304020305000440'],
]);

/** Digital Signature Algorithm → the padding and hash it stands for. */
const DSA: ReadonlyMap<number, { readonly family: 'rsa' | 'ecdsa' | 'dsa'; readonly padding?: number; readonly hash?: number }> = new Map([
  [D.SHA_1WithRSAEncryption, { family: 'rsa', padding: P.PKCS1V1_5, hash: H.SHA_1 }],
  [D.SHA_224WithRSAEncryption, { family: 'rsa', padding: P.PKCS1V1_5, hash: H.SHA_224 }],
  [D.SHA_256WithRSAEncryption, { family: 'rsa', padding: P.PKCS1V1_5, hash: H.SHA_256 }],
  [D.SHA_384WithRSAEncryption, { family: 'rsa', padding: P.PKCS1V1_5, hash: H.SHA_384 }],
  [D.SHA_512WithRSAEncryption, { family: 'rsa', padding: P.PKCS1V1_5, hash: H.SHA_512 }],
  [D.SHA3_256WithRSAEncryption, { family: 'rsa', padding: P.PKCS1V1_5, hash: H.SHA3_256 }],
  [D.SHA3_384WithRSAEncryption, { family: 'rsa', padding: P.PKCS1V1_5, hash: H.SHA3_384 }],
  [D.SHA3_512WithRSAEncryption, { family: 'rsa', padding: P.PKCS1V1_5, hash: H.SHA3_512 }],
  [D.RSASSA_PSS, { family: 'rsa', padding: P.PSS }],
  [D.ECDSAWithSHA_1, { family: 'ecdsa', hash: H.SHA_1 }],
  [D.ECDSAWithSHA224, { family: 'ecdsa', hash: H.SHA_224 }],
  [D.ECDSAWithSHA256, { family: 'ecdsa', hash: H.SHA_256 }],
  [D.ECDSAWithSHA384, { family: 'ecdsa', hash: H.SHA_384 }],
  [D.ECDSAWithSHA512, { family: 'ecdsa', hash: H.SHA_512 }],
  [D.DSAWithSHA_1, { family: 'dsa', hash: H.SHA_1 }],
  [D.DSAWithSHA224, { family: 'dsa', hash: H.SHA_224 }],
  [D.DSAWithSHA256, { family: 'dsa', hash: H.SHA_256 }],
]);

const CURVE_HASH: Record<string, number> = { prime256v1: H.SHA_256, secp384r1: H.SHA_384, secp521r1: H.SHA_512 };

export type SignScheme =
  | { readonly kind: 'rsa-pkcs1'; readonly hash: number }
  | { readonly kind: 'rsa-pss'; readonly hash: number; readonly saltLength: number | undefined }
  | { readonly kind: 'ecdsa'; readonly hash: number }
  | { readonly kind: 'dsa'; readonly hash: number }
  | { readonly kind: 'eddsa' };

/** How refusals are worded per protocol version: 1.x has neither Bad nor Unsupported Cryptographic Parameters. */
export interface Reasons {
  readonly bad: ResultReasonName;
  readonly unsupported: ResultReasonName;
}

export function reasonsFor(v2: boolean): Reasons {
  return v2 ? { bad: 'BadCryptographicParameters', unsupported: 'UnsupportedCryptographicParameters' } : { bad: 'InvalidField', unsupported: 'InvalidField' };
}

/** The fields of Cryptographic Parameters that choose a signature scheme, request over key. */
interface Chosen {
  algorithm?: number;
  padding?: number;
  hash?: number;
  dsa?: number;
  saltLength?: number;
  maskGenerator?: number;
  maskHash?: number;
}

function pick(request: Fields | undefined, key: Fields | undefined, tag: number): number | undefined {
  const type = tag === Tag.SaltLength ? 'Integer' : 'Enumeration';
  return request?.get(tag, type) ?? key?.get(tag, type);
}

function chosen(request: Fields | undefined, key: Fields | undefined, keyDsa: number | undefined): Chosen {
  const out: Chosen = {};
  const set = (k: keyof Chosen, v: number | undefined): void => {
    if (v !== undefined) out[k] = v;
  };
  // A Digital Signature Algorithm in the request names padding and hash itself: the key's do not apply.
  const requestDsa = request?.get(Tag.DigitalSignatureAlgorithm, 'Enumeration');
  const fallback = requestDsa === undefined ? key : undefined;
  set('algorithm', pick(request, key, Tag.CryptographicAlgorithm));
  set('padding', pick(request, fallback, Tag.PaddingMethod));
  set('hash', pick(request, fallback, Tag.HashingAlgorithm));
  // A Padding Method or Hashing Algorithm in the request likewise sets aside the key's Digital Signature Algorithm.
  const requestChoosesScheme = request?.has(Tag.PaddingMethod) === true || request?.has(Tag.HashingAlgorithm) === true;
  set('dsa', requestDsa ?? (requestChoosesScheme ? undefined : (key?.get(Tag.DigitalSignatureAlgorithm, 'Enumeration') ?? keyDsa)));
  set('saltLength', pick(request, key, Tag.SaltLength));
  set('maskGenerator', pick(request, key, Tag.MaskGenerator));
  set('maskHash', pick(request, key, Tag.MaskGeneratorHashingAlgorithm));
  return out;
}

/**
 * The signature scheme for `key` from the request's Cryptographic Parameters, the key's
 * Cryptographic Parameters attribute and its Digital Signature Algorithm attribute.
 */
export function signScheme(key: KeyObject, request: Fields | undefined, keyParams: Fields | undefined, keyDsa: number | undefined, reasons: Reasons): SignScheme {
  const c = chosen(request, keyParams, keyDsa);
  const type = key.asymmetricKeyType;
  const family = type === 'rsa' ? 'rsa' : type === 'ec' ? 'ecdsa' : type === 'dsa' ? 'dsa' : type === 'ed25519' || type === 'ed448' ? 'eddsa' : undefined;
  if (family === undefined) throw new KmipError(reasons.unsupported, `kmipd does not sign with a ${type ?? 'unknown'} key`);
  const bad = (message: string): KmipError => new KmipError(reasons.bad, message);
  const keyName = family === 'eddsa' ? (type === 'ed448' ? 'Ed448' : 'Ed25519') : family.toUpperCase();

  const allowed: readonly number[] = { rsa: [A.RSA], ecdsa: [A.EC, A.ECDSA], dsa: [A.DSA], eddsa: [type === 'ed448' ? A.Ed448 : A.Ed25519] }[family];
  if (c.algorithm !== undefined && !allowed.includes(c.algorithm)) throw bad(`the Cryptographic Algorithm asked for (${title('CryptographicAlgorithm', c.algorithm)}) does not fit this ${keyName} key`);

  if (c.dsa !== undefined) {
    const dsa = DSA.get(c.dsa);
    if (dsa === undefined) throw new KmipError(reasons.unsupported, `kmipd does not support the Digital Signature Algorithm ${title('DigitalSignatureAlgorithm', c.dsa)}`);
    if (dsa.family !== family) throw bad(`the Digital Signature Algorithm ${title('DigitalSignatureAlgorithm', c.dsa)} does not fit this ${keyName} key`);
    if (dsa.padding !== undefined && c.padding !== undefined && c.padding !== dsa.padding) throw bad('the Padding Method contradicts the Digital Signature Algorithm');
    if (dsa.hash !== undefined && c.hash !== undefined && c.hash !== dsa.hash) throw bad('the Hashing Algorithm contradicts the Digital Signature Algorithm');
    if (dsa.padding !== undefined) c.padding = dsa.padding;
    if (dsa.hash !== undefined) c.hash = dsa.hash;
  }

  if (family === 'eddsa') {
    // RFC 8032 §5.1.6 / §5.2.6: pure EdDSA signs the message itself and hashes inside the scheme.
    // A Hashing Algorithm asks for a pre-hash: SHA-512 for Ed25519 would be Ed25519ph (§5.1), which
    // node:crypto does not offer, so it is unsupported rather than silently signed as pure Ed25519;
    // any other hash fits no EdDSA variant at all (Ed448ph pre-hashes with SHAKE256, §5.2).
    if (c.hash === H.SHA_512 && type === 'ed25519') throw new KmipError(reasons.unsupported, 'kmipd signs pure Ed25519 only, not the pre-hashed Ed25519ph: send no Hashing Algorithm');
    if (c.hash !== undefined) throw bad(`${keyName} takes no Hashing Algorithm: it hashes the Data itself (RFC 8032)`);
    if (c.padding !== undefined && c.padding !== P.None) throw bad(`${keyName} takes no Padding Method`);
    return { kind: 'eddsa' };
  }

  if (family === 'ecdsa') {
    if (c.padding !== undefined && c.padding !== P.None) throw bad('ECDSA takes no Padding Method');
    const hash = c.hash ?? CURVE_HASH[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (hash === undefined) throw bad('ECDSA on this curve needs a Hashing Algorithm');
    return { kind: 'ecdsa', hash: knownHash(hash, reasons) };
  }

  if (family === 'dsa') {
    if (c.padding !== undefined && c.padding !== P.None) throw bad('DSA takes no Padding Method');
    return { kind: 'dsa', hash: knownHash(c.hash ?? H.SHA_256, reasons) };
  }

  if (c.padding === undefined) throw bad('RSA signing needs a Padding Method (PKCS1 v1.5 or PSS) or a Digital Signature Algorithm, in the request or the key\'s Cryptographic Parameters (KMIP 2.1 §6.1.55)');
  if (c.hash === undefined) throw bad('RSA signing needs a Hashing Algorithm, in the request or the key\'s Cryptographic Parameters (KMIP 2.1 §6.1.55)');
  const hash = knownHash(c.hash, reasons);
  if (c.padding === P.PKCS1V1_5) return { kind: 'rsa-pkcs1', hash };
  if (c.padding !== P.PSS) throw bad(`the Padding Method ${title('PaddingMethod', c.padding)} is not a signature padding (PKCS1 v1.5 or PSS)`);
  if (c.maskGenerator !== undefined && c.maskGenerator !== Enum.MaskGenerator.MGF1) throw new KmipError(reasons.unsupported, 'PSS is supported with MGF1 only');
  if (c.maskHash !== undefined && c.maskHash !== hash) throw new KmipError(reasons.unsupported, 'kmipd runs PSS with MGF1 over the signature\'s own Hashing Algorithm only');
  if (c.saltLength !== undefined && c.saltLength < 0) throw bad('the Salt Length must not be negative');
  return { kind: 'rsa-pss', hash, saltLength: c.saltLength };
}

function knownHash(hash: number, reasons: Reasons): number {
  if (!HASHES.has(hash) || hash === H.MD5) throw new KmipError(reasons.unsupported, `kmipd does not sign with the Hashing Algorithm ${title('HashingAlgorithm', hash)}`);
  return hash;
}

function title(enumName: keyof typeof Enum, value: number): string {
  const found = Object.entries(Enum[enumName] as Record<string, number>).find(([, v]) => v === value);
  return found?.[0] ?? `0x${value.toString(16)}`;
}

function hashName(hash: number): string {
  return HASHES.get(hash)!.node;
}

function keyInput(scheme: SignScheme, key: KeyObject, signing: boolean): KeyObject | { key: KeyObject; padding: number; saltLength: number; dsaEncoding?: 'der' } {
  if (scheme.kind !== 'rsa-pss') return key;
  const saltLength = scheme.saltLength ?? (signing ? HASHES.get(scheme.hash)!.bytes : constants.RSA_PSS_SALTLEN_AUTO);
  return { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength };
}

/** OpenSSL refusals (a salt too long for the modulus, a key too small for the hash) as Cryptographic Failure; never its text. */
function failure(what: string): KmipError {
  return new KmipError('CryptographicFailure', `${what} failed with these parameters and this key`);
}

export function signData(scheme: SignScheme, key: KeyObject, data: Uint8Array): Buffer {
  try {
    return sign(scheme.kind === 'eddsa' ? null : hashName(scheme.hash), data, keyInput(scheme, key, true));
  } catch {
    throw failure('signing');
  }
}

export function verifyData(scheme: SignScheme, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(scheme.kind === 'eddsa' ? null : hashName(scheme.hash), data, keyInput(scheme, key, false), signature);
  } catch {
    // A signature that does not even parse (wrong length, bad DER) is an invalid signature, not an error.
    return false;
  }
}

function digestInfo(scheme: SignScheme, digest: Uint8Array, reasons: Reasons): Buffer {
  if (scheme.kind !== 'rsa-pkcs1') throw new KmipError('FeatureNotSupported', 'kmipd signs Digested Data with RSA PKCS#1 v1.5 only: node:crypto has no sign-a-digest call for ECDSA, PSS or EdDSA; send the Data instead');
  const prefix = DIGEST_INFO.get(scheme.hash);
  if (prefix === undefined) throw new KmipError(reasons.unsupported, `kmipd signs Digested Data with SHA-1 or SHA-2 only, not ${title('HashingAlgorithm', scheme.hash)}`);
  if (digest.length !== HASHES.get(scheme.hash)!.bytes) throw new KmipError(reasons.bad, `the Digested Data is ${digest.length} bytes; a ${title('HashingAlgorithm', scheme.hash)} digest is ${HASHES.get(scheme.hash)!.bytes}`);
  return Buffer.concat([Buffer.from(prefix, 'hex'), digest]);
}

/** RFC 8017 §8.2.1 over a given digest: EMSA-PKCS1-v1_5 encoding is DigestInfo under block-type-1 padding, which OpenSSL's private-key operation applies. */
export function signDigest(scheme: SignScheme, key: KeyObject, digest: Uint8Array, reasons: Reasons): Buffer {
  const info = digestInfo(scheme, digest, reasons);
  try {
    return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, info);
  } catch {
    throw failure('signing');
  } finally {
    info.fill(0);
  }
}

export function verifyDigest(scheme: SignScheme, key: KeyObject, digest: Uint8Array, signature: Uint8Array, reasons: Reasons): boolean {
  const info = digestInfo(scheme, digest, reasons);
  let recovered: Buffer;
  try {
    recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
  } catch {
    return false;
  }
  return recovered.length === info.length && timingSafeEqual(recovered, info);
}

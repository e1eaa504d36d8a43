/**
 * Key Format Types (KMIP 2.1 §11.25, §3.1–3.12; 1.4 §9.1.3.2.3) for asymmetric and symmetric keys:
 * reading a Key Block's Key Material into a node:crypto KeyObject, and writing a KeyObject back as
 * Key Material in any format it can take, with the Key Compression Type for EC public keys.
 *
 * How kmipd holds keys it generates (what Get answers when no format is asked for), following the
 * OASIS test cases (AKLC-M-1-21: an RSA pair is PKCS#1 on both sides):
 *   RSA private → PKCS#1 · RSA public → PKCS#1 · EC, DSA and EdDSA private → PKCS#8 · EC, DSA and
 *   EdDSA public → X.509 (SPKI) · symmetric → Raw. A registered key is held in the format it came in.
 *
 * Conversions: RSA private ⇄ PKCS#1, PKCS#8, Transparent RSA Private Key (all CRT fields); RSA
 * public ⇄ PKCS#1, X.509, Transparent RSA Public Key; EC private ⇄ PKCS#8, ECPrivateKey (SEC 1),
 * Transparent EC Private Key (and for 1.x the Transparent ECDSA/ECDH/ECMQV variants); EC public ⇄
 * X.509, Transparent EC Public Key (1.x: ECDSA/ECDH/ECMQV), uncompressed or X9.62 compressed;
 * symmetric ⇄ Raw, Transparent Symmetric Key; DSA private ⇄ PKCS#8, Transparent DSA Private Key;
 * DSA public ⇄ X.509, Transparent DSA Public Key; EdDSA (Ed25519, Ed448): see EDWARDS below.
 * Nothing else: Key Format Type Not Supported.
 */
import { ECDH, type KeyObject, createECDH, createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import { type Item, type StructureItem, item, registry, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';

const F = Enum.KeyFormatType;
const C = Enum.KeyCompressionType;

export interface Curve {
  /** The Recommended Curve enumeration value (2.1 §11.45). */
  readonly recommended: number;
  /** OpenSSL's name, as node:crypto's ECDH and `namedCurve` use it. */
  readonly openssl: string;
  readonly jwk: string;
  /** The bit length of Q, which is the EC key's Cryptographic Length (2.1 §6.1.9). */
  readonly bits: number;
}

export const CURVES: readonly Curve[] = [
  { recommended: Enum.RecommendedCurve.P_256, openssl: 'prime256v1', jwk: 'P-256', bits: 256 },
  { recommended: Enum.RecommendedCurve.P_384, openssl: 'secp384r1', jwk: 'P-384', bits: 384 },
  { recommended: Enum.RecommendedCurve.P_521, openssl: 'secp521r1', jwk: 'P-521', bits: 521 },
];

const EC_ALGORITHMS: readonly number[] = [Enum.CryptographicAlgorithm.EC, Enum.CryptographicAlgorithm.ECDSA, Enum.CryptographicAlgorithm.ECDH];

export function isEcAlgorithm(algorithm: number): boolean {
  return EC_ALGORITHMS.includes(algorithm);
}

/**
 * EdDSA keys (RFC 8032; Cryptographic Algorithm Ed25519 / Ed448 and Recommended Curve CURVE25519 /
 * CURVE448 exist from KMIP 2.0 on, 2.1 §11.7 and §11.45; 1.4 has neither). KMIP 2.1 says nothing
 * more about them, so kmipd's choices are:
 *   - Cryptographic Length: the bit size of the curve's field, as kmipd states it for EC keys (P-521
 *     → 521): 255 for Ed25519, 448 for Ed448.
 *   - Formats: PKCS#8 (RFC 8410 §7) and X.509 SubjectPublicKeyInfo (RFC 8410 §4), the held formats
 *     of generated keys; Raw, the RFC 8032 encoding (the 32/57-byte private key seed, or the encoded
 *     public point), read only when the key block names the algorithm; and Transparent EC Public
 *     Key (2.1 §3.12) with Recommended Curve CURVE25519 / CURVE448 and the encoded public point as
 *     Q String. Transparent EC Private Key is refused: its D (2.1 §3.11) is the private scalar,
 *     and an EdDSA private key is a seed the scalar is hashed from (RFC 8032 §5.1.5), not D.
 */
export interface Edwards {
  readonly type: 'ed25519' | 'ed448';
  readonly title: string;
  readonly algorithm: number;
  readonly curve: number;
  readonly bits: number;
  /** Bytes of the RFC 8032 private seed and of the encoded public point. */
  readonly bytes: number;
  /** RFC 8410 DER prefixes: the key's bytes follow them to make a PKCS#8 or SubjectPublicKeyInfo. */
  readonly pkcs8: Buffer;
  readonly spki: Buffer;
}

export const EDWARDS: readonly Edwards[] = [
  {
    type: 'ed25519', title: 'Ed25519', algorithm: Enum.CryptographicAlgorithm.Ed25519, curve: Enum.RecommendedCurve.CURVE25519, bits: 255, bytes: 32,
    pkcs8: Buffer.from('302e020100300506032b657004220420', 'hex'), spki: Buffer.from('302a300506032b6570032100', 'hex'),
  },
  {
    type: 'ed448', title: 'Ed448', algorithm: Enum.CryptographicAlgorithm.Ed448, curve: Enum.RecommendedCurve.CURVE448, bits: 448, bytes: 57,
    pkcs8: Buffer.from('3047020100300506032b6571043b0439', 'hex'), spki: Buffer.from('3043300506032b6571033a00', 'hex'),
  },
];

export function edwardsOf(key: KeyObject): Edwards | undefined {
  return EDWARDS.find((e) => e.type === key.asymmetricKeyType);
}

function edwardsBy(field: 'algorithm' | 'curve', value: number | undefined): Edwards | undefined {
  return EDWARDS.find((e) => e[field] === value);
}

/** An EdDSA key from its RFC 8032 bytes, through its RFC 8410 DER. */
function edwardsKey(ed: Edwards, priv: boolean, raw: Uint8Array): KeyObject {
  if (raw.length !== ed.bytes) throw new KmipError('InvalidField', `an ${ed.title} ${priv ? 'private' : 'public'} key is ${ed.bytes} bytes, not ${raw.length}`);
  const der = Buffer.concat([priv ? ed.pkcs8 : ed.spki, raw]);
  try {
    return priv ? createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) : createPublicKey({ key: der, format: 'der', type: 'spki' });
  } finally {
    der.fill(0);
  }
}

/** The held format of a key kmipd generates. */
export function defaultFormat(key: KeyObject): number {
  if (key.asymmetricKeyType === 'rsa') return F.PKCS_1;
  return key.type === 'private' ? F.PKCS_8 : F.X_509;
}

const TRANSPARENT_EC_PRIVATE: readonly number[] = [F.TransparentECPrivateKey, F.TransparentECDSAPrivateKey, F.TransparentECDHPrivateKey, F.TransparentECMQVPrivateKey];
const TRANSPARENT_EC_PUBLIC: readonly number[] = [F.TransparentECPublicKey, F.TransparentECDSAPublicKey, F.TransparentECDHPublicKey, F.TransparentECMQVPublicKey];
const FORMAT_VALUES = registry.tagByName('KeyFormatType')?.enumeration;

/** Whether a Key Format Type exists in KMIP 2.x: 2.0 dropped the Transparent ECDSA/ECDH/ECMQV variants (2.1 §11.25). */
function inV2(format: number): boolean {
  const name = FORMAT_VALUES?.byValue.get(format);
  return name !== undefined && (FORMAT_VALUES?.versions.get(name) ?? []).includes('2.0');
}

export function formatTitle(format: number): string {
  return (Object.entries(F).find(([, v]) => v === format)?.[0] ?? `0x${format.toString(16)}`).replace(/_/g, '#').replace('X#509', 'X.509');
}

function notSupported(what: string): KmipError {
  return new KmipError('KeyFormatTypeNotSupported', what);
}

// ——— big integers and base64url (JWK) ———

function toBig(b64url: string | undefined): bigint {
  if (b64url === undefined) throw new KmipError('CryptographicFailure', 'a key parameter is missing');
  const hex = Buffer.from(b64url, 'base64url').toString('hex');
  return hex === '' ? 0n : BigInt(`0x${hex}`);
}

function fromBig(value: bigint, size?: number): Buffer {
  if (value < 0n) throw new KmipError('InvalidField', 'a key parameter is negative');
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = Buffer.from(hex, 'hex');
  if (size === undefined || bytes.length >= size) return bytes;
  return Buffer.concat([Buffer.alloc(size - bytes.length), bytes]);
}

const b64 = (buf: Uint8Array): string => Buffer.from(buf).toString('base64url');

// ——— a little DER: enough to read a certificate's fields and re-encode an SPKI ———

export interface Tlv {
  readonly tag: number;
  /** Offset of the content and of the next element. */
  readonly start: number;
  readonly end: number;
  /** Offset of the tag byte: `der.subarray(at, end)` is the whole element. */
  readonly at: number;
}

export function readTlv(der: Uint8Array, at: number): Tlv {
  if (at + 2 > der.length) throw new KmipError('InvalidField', 'truncated DER');
  const tag = der[at]!;
  let len = der[at + 1]!;
  let start = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) throw new KmipError('InvalidField', 'bad DER length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  const end = start + len;
  if (end > der.length) throw new KmipError('InvalidField', 'truncated DER');
  return { tag, start, end, at };
}

/** The elements inside a constructed element. */
export function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(der, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

function derElement(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), content]);
}

/** A non-negative DER INTEGER: minimal big-endian bytes, with a leading zero when the top bit is set. */
function derInteger(value: bigint): Buffer {
  const bytes = fromBig(value);
  const body = bytes.length === 0 ? Buffer.alloc(1) : bytes[0]! & 0x80 ? Buffer.concat([Buffer.alloc(1), bytes]) : bytes;
  return derElement(0x02, body);
}

function integerAt(der: Uint8Array, t: Tlv | undefined): bigint {
  if (t?.tag !== 0x02) throw new KmipError('InvalidField', 'bad DER: an INTEGER was expected');
  const hex = Buffer.from(der.subarray(t.start, t.end)).toString('hex');
  return hex === '' ? 0n : BigInt(`0x${hex}`);
}

// ——— DSA (FIPS 186-4): node:crypto reads and writes DSA keys as DER only, not as JWK ———

/** id-dsa, 1.2.840.10040.4.1 (RFC 3279 §2.3.2), as a DER OBJECT IDENTIFIER. */
const ID_DSA = Buffer.from('06072a8648ce380401', 'hex');

interface DsaDomain {
  readonly p: bigint;
  readonly q: bigint;
  readonly g: bigint;
}

function dsaAlgorithm(d: DsaDomain): Buffer {
  return derElement(0x30, Buffer.concat([ID_DSA, derElement(0x30, Buffer.concat([derInteger(d.p), derInteger(d.q), derInteger(d.g)]))]));
}

/** SubjectPublicKeyInfo of a DSA public key (RFC 3279 §2.3.2: the key is the INTEGER y in the BIT STRING). */
function dsaSpki(d: DsaDomain, y: bigint): Buffer {
  return derElement(0x30, Buffer.concat([dsaAlgorithm(d), derElement(0x03, Buffer.concat([Buffer.alloc(1), derInteger(y)]))]));
}

/** PKCS#8 PrivateKeyInfo of a DSA private key (RFC 5958; the key is the INTEGER x in the OCTET STRING). */
function dsaPkcs8(d: DsaDomain, x: bigint): Buffer {
  return derElement(0x30, Buffer.concat([derInteger(0n), dsaAlgorithm(d), derElement(0x04, derInteger(x))]));
}

/** p, q, g and the key value (y of an SPKI, x of a PKCS#8) of a node:crypto DSA key. */
function dsaParts(key: KeyObject): DsaDomain & { value: bigint } {
  const priv = key.type === 'private';
  const der = key.export({ format: 'der', type: priv ? 'pkcs8' : 'spki' });
  try {
    const top = children(der, readTlv(der, 0));
    const algorithm = top[priv ? 1 : 0];
    const holder = top[priv ? 2 : 1];
    const [, params] = children(der, algorithm!);
    const [p, q, g] = children(der, params!);
    // The BIT STRING's content starts with its unused-bits byte; the OCTET STRING's does not.
    const inner = readTlv(der, holder!.start + (priv ? 0 : 1));
    return { p: integerAt(der, p), q: integerAt(der, q), g: integerAt(der, g), value: integerAt(der, inner) };
  } finally {
    der.fill(0);
  }
}

// ——— reading Key Material ———

function curveByRecommended(value: number): Curve {
  const curve = CURVES.find((c) => c.recommended === value);
  if (curve === undefined) throw new KmipError('InvalidField', 'kmipd supports the curves P-256, P-384 and P-521');
  return curve;
}

export function curveOf(key: KeyObject): Curve | undefined {
  const name = key.asymmetricKeyDetails?.namedCurve;
  return CURVES.find((c) => c.openssl === name);
}

/** The uncompressed point 04‖X‖Y of a point given compressed or uncompressed. */
function uncompressed(curve: Curve, q: Uint8Array): Buffer {
  try {
    return convertPoint(curve, q, 'uncompressed');
  } catch {
    throw new KmipError('InvalidField', `the Q String is not a point on ${curve.jwk}`);
  }
}

function convertPoint(curve: Curve, q: Uint8Array, format: 'uncompressed' | 'compressed'): Buffer {
  // ECDH.convertKey validates that the point is on the curve.
  return ECDH.convertKey(q, curve.openssl, undefined, undefined, format) as Buffer;
}

function ecPublicJwk(curve: Curve, q: Uint8Array): { kty: 'EC'; crv: string; x: string; y: string } {
  const point = uncompressed(curve, q);
  const size = (point.length - 1) / 2;
  return { kty: 'EC', crv: curve.jwk, x: b64(point.subarray(1, 1 + size)), y: b64(point.subarray(1 + size)) };
}

function big(fields: Fields, tag: number): bigint {
  return fields.need(tag, 'BigInteger');
}

/**
 * The key a Private Key or Public Key block holds (plaintext, any supported format). Material that
 * does not parse as its Key Format Type says is Invalid Field; the message never quotes it.
 */
/**
 * Parsed asymmetric keys by the SHA-256 of their DER bytes. OpenSSL 3 takes a few hundred
 * microseconds to decode a key, more than the Sign it is for, so the KeyObjects of the most recently
 * used keys are kept: at most DER_KEY_CACHE of them, the least recently used dropped first. The
 * cache holds no key bytes of its own (the digest is the index; the KeyObject lives in OpenSSL),
 * and a key is found only by presenting the same DER, which only an unseal of its object yields.
 */
const DER_KEY_CACHE = 1024;
const derKeys = {
  map: new Map<string, KeyObject>(),
  id(priv: boolean, format: number, der: Uint8Array): string {
    return `${priv ? 'private' : 'public'}:${format}:${createHash('sha256').update(der).digest('base64')}`;
  },
  get(priv: boolean, format: number, der: Uint8Array): KeyObject | undefined {
    const id = this.id(priv, format, der);
    const key = this.map.get(id);
    if (key !== undefined) {
      this.map.delete(id);
      this.map.set(id, key);
    }
    return key;
  },
  put(priv: boolean, format: number, der: Uint8Array, key: KeyObject): KeyObject {
    if (this.map.size >= DER_KEY_CACHE) this.map.delete(this.map.keys().next().value!);
    this.map.set(this.id(priv, format, der), key);
    return key;
  },
};

export function keyFromBlock(objectType: 'PublicKey' | 'PrivateKey', block: Fields): KeyObject {
  const format = block.need(Tag.KeyFormatType, 'Enumeration');
  const material = block.needStruct(Tag.KeyValue).required(Tag.KeyMaterial);
  const priv = objectType === 'PrivateKey';
  const title = formatTitle(format);
  try {
    if (material.type === 'ByteString') {
      const parsed = derKeys.get(priv, format, material.value);
      if (parsed !== undefined) return parsed;
      const der = Buffer.from(material.value);
      let key: KeyObject | undefined;
      if (priv && format === F.PKCS_1) key = createPrivateKey({ key: der, format: 'der', type: 'pkcs1' });
      if (priv && format === F.PKCS_8) key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      if (priv && format === F.ECPrivateKey) key = createPrivateKey({ key: der, format: 'der', type: 'sec1' });
      if (!priv && format === F.PKCS_1) key = createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
      if (!priv && format === F.X_509) key = createPublicKey({ key: der, format: 'der', type: 'spki' });
      if (format === F.Raw) {
        const ed = edwardsBy('algorithm', block.get(Tag.CryptographicAlgorithm, 'Enumeration'));
        if (ed === undefined) throw notSupported(`kmipd reads a Raw ${priv ? 'Private' : 'Public'} Key only for Ed25519 and Ed448, named by the key block's Cryptographic Algorithm`);
        key = edwardsKey(ed, priv, der);
      }
      der.fill(0);
      if (key !== undefined) return derKeys.put(priv, format, material.value, key);
    } else if (material.type === 'Structure') {
      const m = new Fields(material);
      if (priv && format === F.TransparentRSAPrivateKey) {
        const jwk = { kty: 'RSA', n: big(m, Tag.Modulus), e: big(m, Tag.PublicExponent), d: big(m, Tag.PrivateExponent), p: big(m, Tag.P), q: big(m, Tag.Q), dp: big(m, Tag.PrimeExponentP), dq: big(m, Tag.PrimeExponentQ), qi: big(m, Tag.CRTCoefficient) };
        const out: Record<string, string> = { kty: 'RSA' };
        for (const [k, v] of Object.entries(jwk)) if (k !== 'kty') out[k] = b64(fromBig(v as bigint));
        return createPrivateKey({ key: out, format: 'jwk' });
      }
      if (!priv && format === F.TransparentRSAPublicKey) {
        return createPublicKey({ key: { kty: 'RSA', n: b64(fromBig(big(m, Tag.Modulus))), e: b64(fromBig(big(m, Tag.PublicExponent))) }, format: 'jwk' });
      }
      const ed = TRANSPARENT_EC_PRIVATE.includes(format) || TRANSPARENT_EC_PUBLIC.includes(format) ? edwardsBy('curve', m.get(Tag.RecommendedCurve, 'Enumeration')) : undefined;
      if (ed !== undefined) {
        if (priv) throw notSupported(`an ${ed.title} private key is a seed, not the scalar D of a Transparent EC Private Key: send it as PKCS#8 or Raw`);
        if (format !== F.TransparentECPublicKey) throw notSupported(`an ${ed.title} public key is read as Transparent EC Public Key, not ${title}`);
        return edwardsKey(ed, false, m.need(Tag.QString, 'ByteString'));
      }
      if (priv && TRANSPARENT_EC_PRIVATE.includes(format)) {
        const curve = curveByRecommended(m.need(Tag.RecommendedCurve, 'Enumeration'));
        const d = fromBig(big(m, Tag.D), Math.ceil(curve.bits / 8));
        const ecdh = createECDH(curve.openssl);
        ecdh.setPrivateKey(d);
        return createPrivateKey({ key: { ...ecPublicJwk(curve, ecdh.getPublicKey()), d: b64(d) }, format: 'jwk' });
      }
      if (format === (priv ? F.TransparentDSAPrivateKey : F.TransparentDSAPublicKey)) {
        // 2.1 §3.4–3.5: P, Q, G and X (private) or Y (public).
        const domain = { p: big(m, Tag.P), q: big(m, Tag.Q), g: big(m, Tag.G) };
        if (!priv) return createPublicKey({ key: dsaSpki(domain, big(m, Tag.Y)), format: 'der', type: 'spki' });
        const der = dsaPkcs8(domain, big(m, Tag.X));
        try {
          return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
        } finally {
          der.fill(0);
        }
      }
      if (!priv && TRANSPARENT_EC_PUBLIC.includes(format)) {
        const curve = curveByRecommended(m.need(Tag.RecommendedCurve, 'Enumeration'));
        return createPublicKey({ key: ecPublicJwk(curve, m.need(Tag.QString, 'ByteString')), format: 'jwk' });
      }
    }
  } catch (err) {
    if (err instanceof KmipError && err.reason !== 'InvalidMessage') throw err;
    throw new KmipError('InvalidField', `the Key Material of the ${objectType === 'PrivateKey' ? 'Private' : 'Public'} Key does not parse as ${title}`);
  }
  throw notSupported(`kmipd does not read a ${objectType === 'PrivateKey' ? 'Private' : 'Public'} Key in ${title} format`);
}

// ——— writing Key Material ———

function formatsFor(key: KeyObject, v2: boolean): number[] {
  if (edwardsOf(key) !== undefined) return key.type === 'private' ? [F.PKCS_8, F.Raw] : [F.X_509, F.Raw, F.TransparentECPublicKey];
  if (key.asymmetricKeyType === 'dsa') return key.type === 'private' ? [F.PKCS_8, F.TransparentDSAPrivateKey] : [F.X_509, F.TransparentDSAPublicKey];
  const rsa = key.asymmetricKeyType === 'rsa';
  const all =
    key.type === 'private'
      ? rsa
        ? [F.PKCS_1, F.PKCS_8, F.TransparentRSAPrivateKey]
        : [F.PKCS_8, F.ECPrivateKey, ...TRANSPARENT_EC_PRIVATE]
      : rsa
        ? [F.PKCS_1, F.X_509, F.TransparentRSAPublicKey]
        : [F.X_509, ...TRANSPARENT_EC_PUBLIC];
  return v2 ? all.filter(inV2) : all;
}

/** The EC public point in the wanted compression (default uncompressed, 2.1 §3.1). */
function ecPoint(key: KeyObject, curve: Curve, compression: number | undefined): Buffer {
  const jwk = key.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  if (compression === undefined || compression === C.ECPublicKeyTypeUncompressed) return point;
  if (compression === C.ECPublicKeyTypeX9_62CompressedPrime) return convertPoint(curve, point, 'compressed');
  throw new KmipError('KeyCompressionTypeNotSupported', 'kmipd gives EC public keys uncompressed or X9.62 compressed (prime curves)');
}

/** An SPKI whose BIT STRING is the compressed point: the same AlgorithmIdentifier, re-encoded. */
function compressedSpki(key: KeyObject, point: Buffer): Buffer {
  const der = key.export({ format: 'der', type: 'spki' });
  const [algorithm] = children(der, readTlv(der, 0));
  return derElement(0x30, Buffer.concat([der.subarray(algorithm!.at, algorithm!.end), derElement(0x03, Buffer.concat([Buffer.from([0]), point]))]));
}

export interface Exported {
  readonly material: Item;
  /** The Key Compression Type to state in the key block, for EC public keys. */
  readonly compression?: number;
}

/**
 * The Key Material of `key` in `format`, and for EC public keys in `compression`. A format the key
 * cannot take (or one the request's protocol version does not have) is Key Format Type Not Supported.
 */
export function exportKey(key: KeyObject, format: number, compression: number | undefined, v2: boolean): Exported {
  const curve = curveOf(key);
  const ec = key.asymmetricKeyType === 'ec';
  if (!formatsFor(key, v2).includes(format) || (ec && curve === undefined)) {
    const kind = ec ? 'EC' : (edwardsOf(key)?.title ?? (key.asymmetricKeyType ?? '').toUpperCase());
    throw notSupported(`a${/^[AEIOU]/.test(kind) ? 'n' : ''} ${kind} ${key.type} key is not available as ${formatTitle(format)}`);
  }
  const ecPublic = ec && key.type === 'public';
  if (compression !== undefined && !ecPublic) throw new KmipError('KeyCompressionTypeNotSupported', 'a Key Compression Type applies to EC public keys only');
  const material = exportMaterial(key, format, curve, compression);
  return ecPublic ? { material, compression: compression ?? C.ECPublicKeyTypeUncompressed } : { material };
}

function exportMaterial(key: KeyObject, format: number, curve: Curve | undefined, compression: number | undefined): Item {
  const bytes = (b: Buffer): Item => item(Tag.KeyMaterial, 'ByteString', b);
  const ed = edwardsOf(key);
  if (ed !== undefined && (format === F.Raw || format === F.TransparentECPublicKey)) {
    // RFC 8037 §2: an OKP JWK's d is the RFC 8032 private key (the seed) and x the encoded public point.
    const jwk = key.export({ format: 'jwk' });
    if (format === F.Raw) return bytes(Buffer.from((key.type === 'private' ? jwk.d : jwk.x)!, 'base64url'));
    return structure(Tag.KeyMaterial, [item(Tag.RecommendedCurve, 'Enumeration', ed.curve), item(Tag.QString, 'ByteString', Buffer.from(jwk.x!, 'base64url'))]);
  }
  if (format === F.TransparentDSAPrivateKey || format === F.TransparentDSAPublicKey) {
    const { p, q, g, value } = dsaParts(key);
    const valueTag = format === F.TransparentDSAPrivateKey ? Tag.X : Tag.Y;
    return structure(Tag.KeyMaterial, [item(Tag.P, 'BigInteger', p), item(Tag.Q, 'BigInteger', q), item(Tag.G, 'BigInteger', g), item(valueTag, 'BigInteger', value)]);
  }
  if (key.type === 'private') {
    if (format === F.PKCS_1) return bytes(key.export({ format: 'der', type: 'pkcs1' }));
    if (format === F.PKCS_8) return bytes(key.export({ format: 'der', type: 'pkcs8' }));
    if (format === F.ECPrivateKey) return bytes(key.export({ format: 'der', type: 'sec1' }));
    const jwk = key.export({ format: 'jwk' });
    if (format === F.TransparentRSAPrivateKey) {
      const fields: [number, string | undefined][] = [
        [Tag.Modulus, jwk.n], [Tag.PrivateExponent, jwk.d], [Tag.PublicExponent, jwk.e], [Tag.P, jwk.p],
        [Tag.Q, jwk.q], [Tag.PrimeExponentP, jwk.dp], [Tag.PrimeExponentQ, jwk.dq], [Tag.CRTCoefficient, jwk.qi],
      ];
      return structure(Tag.KeyMaterial, fields.map(([tag, v]) => item(tag, 'BigInteger', toBig(v))));
    }
    // Transparent EC Private Key (2.1 §3.11; 1.4's ECDSA/ECDH/ECMQV forms alike): Recommended Curve and D.
    return structure(Tag.KeyMaterial, [item(Tag.RecommendedCurve, 'Enumeration', curve!.recommended), item(Tag.D, 'BigInteger', toBig(jwk.d))]);
  }
  if (format === F.PKCS_1) return bytes(key.export({ format: 'der', type: 'pkcs1' }));
  if (format === F.X_509) {
    const compressed = curve !== undefined && compression !== undefined && compression !== C.ECPublicKeyTypeUncompressed;
    return bytes(compressed ? compressedSpki(key, ecPoint(key, curve, compression)) : key.export({ format: 'der', type: 'spki' }));
  }
  if (format === F.TransparentRSAPublicKey) {
    const jwk = key.export({ format: 'jwk' });
    return structure(Tag.KeyMaterial, [item(Tag.Modulus, 'BigInteger', toBig(jwk.n)), item(Tag.PublicExponent, 'BigInteger', toBig(jwk.e))]);
  }
  return structure(Tag.KeyMaterial, [item(Tag.RecommendedCurve, 'Enumeration', curve!.recommended), item(Tag.QString, 'ByteString', ecPoint(key, curve!, compression))]);
}

// ——— key blocks ———

/** Cryptographic Algorithm and Length of a key, from the key itself. */
export function describeKey(key: KeyObject): { algorithm: number; length: number } {
  if (key.asymmetricKeyType === 'rsa') return { algorithm: Enum.CryptographicAlgorithm.RSA, length: key.asymmetricKeyDetails?.modulusLength ?? 0 };
  const curve = curveOf(key);
  if (key.asymmetricKeyType === 'ec' && curve !== undefined) return { algorithm: Enum.CryptographicAlgorithm.EC, length: curve.bits };
  // A DSA key's Cryptographic Length is the bit length of P (as the OASIS BL-M-12/13 keys state: 512).
  if (key.asymmetricKeyType === 'dsa') return { algorithm: Enum.CryptographicAlgorithm.DSA, length: key.asymmetricKeyDetails?.modulusLength ?? 0 };
  const ed = edwardsOf(key);
  if (ed !== undefined) return { algorithm: ed.algorithm, length: ed.bits };
  throw new KmipError('InvalidField', 'kmipd holds RSA, DSA, Ed25519 and Ed448 keys and EC keys on P-256, P-384 and P-521 only');
}

/** A plaintext key block for `key` in `format`, stating the given algorithm and length. */
export function keyBlockOf(key: KeyObject, format: number, compression: number | undefined, algorithm: Item, length: Item, v2: boolean): StructureItem {
  const out = exportKey(key, format, compression, v2);
  const children: Item[] = [item(Tag.KeyFormatType, 'Enumeration', format)];
  if (out.compression !== undefined) children.push(item(Tag.KeyCompressionType, 'Enumeration', out.compression));
  children.push(structure(Tag.KeyValue, [out.material]), algorithm, length);
  return structure(Tag.KeyBlock, children);
}

function blockField(block: StructureItem, tag: number): Item | undefined {
  return block.value.find((c) => c.tag === tag);
}

/**
 * Get's conversion (2.1 §6.1.19: "Key Format Type … determines the key format type to be
 * returned"; Key Compression Type likewise): the object's key block in the wanted format, or as
 * held when nothing is asked for. Symmetric keys convert Raw ⇄ Transparent Symmetric Key; other
 * objects (Secret Data, Opaque, Split Key, PGP Key) come only as held.
 */
export function convertKeyBlock(objectType: string, block: StructureItem, wanted: number | undefined, compression: number | undefined, v2: boolean): StructureItem {
  const fields = new Fields(block);
  const held = fields.need(Tag.KeyFormatType, 'Enumeration');
  const heldCompression = fields.get(Tag.KeyCompressionType, 'Enumeration');
  if ((wanted === undefined || wanted === held) && (compression === undefined || compression === heldCompression)) return block;
  const target = wanted ?? held;
  if (objectType === 'PublicKey' || objectType === 'PrivateKey') {
    const key = keyFromBlock(objectType, fields);
    const algorithm = blockField(block, Tag.CryptographicAlgorithm);
    const length = blockField(block, Tag.CryptographicLength);
    const d = describeKey(key);
    return keyBlockOf(key, target, compression, algorithm ?? item(Tag.CryptographicAlgorithm, 'Enumeration', d.algorithm), length ?? item(Tag.CryptographicLength, 'Integer', d.length), v2);
  }
  if (compression !== undefined) throw new KmipError('KeyCompressionTypeNotSupported', 'a Key Compression Type applies to EC public keys only');
  if (objectType === 'SymmetricKey') {
    const raw = symmetricBytes(fields, held);
    if (raw !== undefined && (target === F.Raw || target === F.TransparentSymmetricKey)) {
      const material = target === F.Raw ? item(Tag.KeyMaterial, 'ByteString', raw) : structure(Tag.KeyMaterial, [item(Tag.Key, 'ByteString', raw)]);
      return structure(Tag.KeyBlock, block.value.map((c) => (c.tag === Tag.KeyFormatType ? item(Tag.KeyFormatType, 'Enumeration', target) : c.tag === Tag.KeyValue ? structure(Tag.KeyValue, [material]) : c)));
    }
  }
  throw notSupported(`this ${objectType} is held as ${formatTitle(held)} and is not available as ${formatTitle(target)}`);
}

/** The bytes of a Raw or Transparent Symmetric Key block (an Opaque one is not interpreted). */
export function symmetricBytes(block: Fields, format: number): Uint8Array | undefined {
  const material = block.needStruct(Tag.KeyValue).required(Tag.KeyMaterial);
  if (format === F.Raw && material.type === 'ByteString') return material.value;
  if (format === F.TransparentSymmetricKey && material.type === 'Structure') return new Fields(material).need(Tag.Key, 'ByteString');
  return undefined;
}

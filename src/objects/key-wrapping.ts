/**
 * Key wrapping (KMIP 2.1 §3.3 Key Wrapping Data, §7.18 Key Wrapping Specification; 1.4 §2.1.5,
 * §2.1.6): a key block's Key Value encrypted under another managed key, for Get (wrap) and for
 * Register of a key the client brings wrapped (unwrap). Wrapping Method Encrypt only, with
 *   - an AES Symmetric Key: Block Cipher Mode NIST Key Wrap (RFC 3394) or AES Key Wrap Padding (RFC 5649);
 *   - an RSA Public Key (wrap) / Private Key (unwrap): Padding Method OAEP with MGF1 (RFC 8017 §7.1),
 *     whose hash may differ from the OAEP Hashing Algorithm (src/crypto/oaep.ts runs that case).
 * Encoding Option No Encoding wraps the Key Material bytes; TTLV Encoding (the default, 2.1 §3.3
 * Table 15) wraps the TTLV encoding of the whole Key Value structure.
 *
 * Pure: the caller loads the wrapping key and hands in its record and unsealed value.
 */
import { type KeyObject, constants, createCipheriv, createDecipheriv, privateDecrypt, publicEncrypt } from 'node:crypto';
import { type Item, type StructureItem, decode, encode, item, structure } from '../ttlv/index.js';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { type ProtocolVersion, atLeast, isV2 } from '../kmip/version.js';
import { type OaepHashes, oaepDecrypt, oaepEncrypt } from '../crypto/oaep.js';
import { child, find, sameItem } from './items.js';
import { keyFromBlock, symmetricBytes } from './key-formats.js';
import { assertUsable } from './lifecycle.js';
import type { ManagedObjectRecord, ObjectTypeName } from './types.js';

function pick(version: ProtocolVersion, v2: ResultReasonName, v1: ResultReasonName): ResultReasonName {
  return isV2(version) ? v2 : v1;
}

/** What a Key Wrapping Specification (Get) or Key Wrapping Data (Register) asks for. */
export interface WrappingRequest {
  /** The Unique Identifier of the wrapping key (Encryption Key Information). */
  readonly keyUid: string;
  /** The Cryptographic Parameters of the Encryption Key Information, if the client gave them. */
  readonly parameters: StructureItem | undefined;
  readonly encoding: 'NoEncoding' | 'TTLVEncoding';
  /** Whether the client named the Encoding Option (only then does the wrapped key's Key Wrapping Data repeat it). */
  readonly encodingGiven?: boolean;
}

export type Direction = 'wrap' | 'unwrap';

/** Reads a Key Wrapping Specification or Key Wrapping Data; anything kmipd cannot honour is refused here. */
export function parseWrapping(spec: Item, version: ProtocolVersion): WrappingRequest {
  if (spec.type !== 'Structure') throw new KmipError('InvalidMessage', 'a Key Wrapping Specification or Key Wrapping Data is a Structure');
  const unsupported = pick(version, 'KeyWrapTypeNotSupported', 'FeatureNotSupported');
  const method = child(spec, Tag.WrappingMethod);
  if (method?.type !== 'Enumeration') throw new KmipError('InvalidMessage', 'the Wrapping Method is missing');
  if (method.value !== Enum.WrappingMethod.Encrypt) {
    throw new KmipError(unsupported, 'kmipd wraps keys with Wrapping Method Encrypt only; MAC/sign wrapping methods are not supported');
  }
  if (child(spec, Tag.MACSignatureKeyInformation) !== undefined || child(spec, Tag.MACSignature) !== undefined) {
    throw new KmipError(unsupported, 'MAC/Signature Key Information is not supported: kmipd wraps with Wrapping Method Encrypt only');
  }
  if (child(spec, Tag.IVCounterNonce) !== undefined) {
    throw new KmipError(unsupported, 'an IV/Counter/Nonce is not used by the key wrap modes kmipd supports (RFC 3394 / 5649 default IVs, RSA-OAEP)');
  }
  const info = child(spec, Tag.EncryptionKeyInformation);
  if (info?.type !== 'Structure') throw new KmipError('InvalidField', 'Wrapping Method Encrypt needs Encryption Key Information naming the wrapping key');
  const uid = child(info, Tag.UniqueIdentifier);
  if (uid?.type !== 'TextString') throw new KmipError('InvalidMessage', 'the Encryption Key Information is missing its Unique Identifier');
  const parameters = child(info, Tag.CryptographicParameters);
  if (parameters !== undefined && parameters.type !== 'Structure') throw new KmipError('InvalidMessage', 'Cryptographic Parameters is a Structure');

  const option = child(spec, Tag.EncodingOption);
  if (option !== undefined && option.type !== 'Enumeration') throw new KmipError('InvalidMessage', 'Encoding Option is an Enumeration');
  const value = option?.value ?? Enum.EncodingOption.TTLVEncoding;
  if (value !== Enum.EncodingOption.NoEncoding && value !== Enum.EncodingOption.TTLVEncoding) {
    throw new KmipError('EncodingOptionError', `Encoding Option 0x${value.toString(16)} is not supported; use No Encoding or TTLV Encoding`);
  }
  const encoding = value === Enum.EncodingOption.NoEncoding ? 'NoEncoding' : 'TTLVEncoding';
  if (spec.value.some((c) => c.tag === Tag.AttributeName)) {
    // 1.4 §11.12: attribute names with No Encoding are an Encoding Option Error.
    if (encoding === 'NoEncoding') throw new KmipError('EncodingOptionError', 'attributes cannot be wrapped with the key when the Encoding Option is No Encoding (KMIP 2.1 §7.18)');
    throw new KmipError(unsupported, 'wrapping attributes together with the key material (Attribute Name in the Key Wrapping Specification) is not supported');
  }
  return { keyUid: uid.value, parameters: parameters as StructureItem | undefined, encoding, encodingGiven: option !== undefined };
}

/**
 * Whether `kek` may wrap (an AES Symmetric Key or an RSA Public Key, Active, before its Protect
 * Stop Date, with the Wrap Key usage) or unwrap (an AES Symmetric Key or an RSA Private Key,
 * usable to process, with the Unwrap Key usage).
 */
export function checkWrappingKey(kek: ManagedObjectRecord, direction: Direction, now: number, version: ProtocolVersion): void {
  const types: readonly ObjectTypeName[] = direction === 'wrap' ? ['SymmetricKey', 'PublicKey'] : ['SymmetricKey', 'PrivateKey'];
  if (!types.includes(kek.objectType)) {
    // 1.4 §11.12: "Object with Encryption Key Information exists, but it is not a key" → Illegal Operation.
    throw new KmipError(pick(version, 'InvalidObjectType', 'IllegalOperation'), `object ${kek.uid} is a ${title(kek.objectType)}; a key is ${direction}ped with a ${types.map(title).join(' or a ')}`);
  }
  if (kek.state === 'Destroyed' || kek.state === 'DestroyedCompromised') {
    throw new KmipError(pick(version, 'WrappingObjectDestroyed', 'PermissionDenied'), `the wrapping key ${kek.uid} has been destroyed`);
  }
  assertUsable(kek, direction === 'wrap' ? 'protect' : 'process', now, { version });
  const bit = direction === 'wrap' ? Mask.CryptographicUsageMask.WrapKey : Mask.CryptographicUsageMask.UnwrapKey;
  const mask = find(kek.attributes, Tag.CryptographicUsageMask);
  if (mask?.type !== 'Integer' || (mask.value & bit) === 0) {
    // 1.4 §11.12: a key that exists but "is not able to be used for wrapping" → Permission Denied.
    throw new KmipError(
      pick(version, 'IncompatibleCryptographicUsageMask', 'PermissionDenied'),
      `the Cryptographic Usage Mask of ${kek.uid} does not allow ${direction === 'wrap' ? 'Wrap Key' : 'Unwrap Key'}`,
    );
  }
}

/** "PublicKey" → "Public Key", for messages. */
function title(type: ObjectTypeName): string {
  return type.replace(/([a-z])([A-Z])/g, '$1 $2');
}

/** The Cryptographic Parameters fields that decide a key wrap; the others are not compared or used. */
const WRAP_FIELDS: readonly number[] = [
  Tag.BlockCipherMode,
  Tag.PaddingMethod,
  Tag.HashingAlgorithm,
  Tag.CryptographicAlgorithm,
  Tag.MaskGenerator,
  Tag.MaskGeneratorHashingAlgorithm,
  Tag.PSource,
];

function wrapFields(params: StructureItem): StructureItem {
  return structure(Tag.CryptographicParameters, params.value.filter((c) => WRAP_FIELDS.includes(c.tag)));
}

/**
 * The parameters to wrap with. KMIP 2.1 §7.18 (1.4 §2.1.6): parameters the client names SHALL match
 * one of the key's Cryptographic Parameters attribute instances, and a key without any is an error
 * (2.x Bad Cryptographic Parameters, 1.4 §11.12 Item Not Found). Without client parameters the
 * key's first instance applies (2.1 §3.3), else kmipd's default: RFC 3394 for an AES key,
 * OAEP with SHA-1 (2.1 §4.16's MGF1 default) for an RSA key.
 */
export function resolveParameters(kek: Pick<ManagedObjectRecord, 'uid' | 'objectType' | 'attributes'>, requested: StructureItem | undefined, version: ProtocolVersion): StructureItem {
  const instances = kek.attributes.filter((a): a is StructureItem => a.tag === Tag.CryptographicParameters && a.type === 'Structure');
  if (requested !== undefined) {
    const wanted = wrapFields(requested);
    const match = instances.find((inst) => wanted.value.every((w) => inst.value.some((c) => sameItem(c, w))));
    if (match === undefined) {
      const why = instances.length === 0 ? 'has no Cryptographic Parameters attribute' : 'has no Cryptographic Parameters attribute instance that matches them';
      throw new KmipError(pick(version, 'BadCryptographicParameters', 'ItemNotFound'), `Cryptographic Parameters were given for the wrapping key, but ${kek.uid} ${why} (KMIP 2.1 §7.18)`);
    }
    return structure(Tag.CryptographicParameters, [...wanted.value, ...wrapFields(match).value.filter((c) => !wanted.value.some((w) => w.tag === c.tag))]);
  }
  const first = instances[0];
  if (first !== undefined) return wrapFields(first);
  return kek.objectType === 'SymmetricKey'
    ? structure(Tag.CryptographicParameters, [item(Tag.BlockCipherMode, 'Enumeration', Enum.BlockCipherMode.NISTKeyWrap)])
    : structure(Tag.CryptographicParameters, [item(Tag.PaddingMethod, 'Enumeration', Enum.PaddingMethod.OAEP), item(Tag.HashingAlgorithm, 'Enumeration', Enum.HashingAlgorithm.SHA_1)]);
}

// ---------------------------------------------------------------------------------------------
// The ciphers, on node:crypto (OpenSSL).

/** RFC 3394 §2.2.3.1 default IV; RFC 5649 §3 Alternative IV prefix (the length is OpenSSL's to add). */
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');
const KWP_IV = Buffer.from('A65959A6', 'hex');

function aesWrapCipher(kek: Uint8Array, padded: boolean): string {
  if (![16, 24, 32].includes(kek.length)) throw new KmipError('CryptographicFailure', 'the wrapping key is not an AES-128, -192 or -256 key');
  return `id-aes${kek.length * 8}-wrap${padded ? '-pad' : ''}`;
}

/** AES Key Wrap (RFC 3394), or with padding (RFC 5649) for any length of at least one byte. */
export function aesKeyWrap(kek: Uint8Array, plain: Uint8Array, padded: boolean): Buffer {
  if (!padded && (plain.length < 16 || plain.length % 8 !== 0)) {
    throw new KmipError('BadCryptographicParameters', `NIST Key Wrap (RFC 3394) wraps a multiple of 8 bytes, at least 16; this is ${plain.length} bytes: use AES Key Wrap Padding (RFC 5649)`);
  }
  if (plain.length === 0) throw new KmipError('InvalidField', 'there is nothing to wrap');
  const cipher = createCipheriv(aesWrapCipher(kek, padded), kek, padded ? KWP_IV : KW_IV);
  return Buffer.concat([cipher.update(plain), cipher.final()]);
}

/** The key an AES Key Wrap protects; a failed integrity check is a Cryptographic Failure, never wrong bytes. */
export function aesKeyUnwrap(kek: Uint8Array, wrapped: Uint8Array, padded: boolean): Buffer {
  if (wrapped.length < (padded ? 16 : 24) || wrapped.length % 8 !== 0) {
    throw new KmipError('InvalidField', `a key wrapped with ${padded ? 'RFC 5649' : 'RFC 3394'} is a multiple of 8 bytes, at least ${padded ? 16 : 24}; this is ${wrapped.length}`);
  }
  const decipher = createDecipheriv(aesWrapCipher(kek, padded), kek, padded ? KWP_IV : KW_IV);
  try {
    return Buffer.concat([decipher.update(wrapped), decipher.final()]);
  } catch {
    throw new KmipError('CryptographicFailure', 'the wrapped key failed its integrity check: it was wrapped under another key or with other parameters, or it was altered');
  }
}

export interface OaepParameters {
  readonly hash: string;
  /** The MGF1 hash when it is not `hash` (2.1 Table 59 lets them differ); absent, MGF1 uses `hash`. */
  readonly mgf1Hash?: string;
  readonly label?: Uint8Array;
}

const OAEP_HASHES: Partial<Record<number, string>> = {
  [Enum.HashingAlgorithm.SHA_1]: 'sha1',
  [Enum.HashingAlgorithm.SHA_224]: 'sha224',
  [Enum.HashingAlgorithm.SHA_256]: 'sha256',
  [Enum.HashingAlgorithm.SHA_384]: 'sha384',
  [Enum.HashingAlgorithm.SHA_512]: 'sha512',
};

export function rsaOaepWrap(publicKey: KeyObject, plain: Uint8Array, oaep: OaepParameters): Buffer {
  try {
    // node:crypto's oaepHash is the label hash and the MGF1 hash at once; src/crypto/oaep.ts runs them apart.
    if (oaep.mgf1Hash !== undefined && oaep.mgf1Hash !== oaep.hash) return oaepEncrypt(publicKey, plain, oaepHashes(oaep, oaep.mgf1Hash));
    return publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaep.hash, ...(oaep.label ? { oaepLabel: oaep.label } : {}) }, plain);
  } catch {
    throw new KmipError('BadCryptographicParameters', `${plain.length} bytes are too long to wrap with RSA-OAEP (${oaep.hash}) under this key; wrap with an AES key instead`);
  }
}

export function rsaOaepUnwrap(privateKey: KeyObject, wrapped: Uint8Array, oaep: OaepParameters): Buffer {
  try {
    if (oaep.mgf1Hash !== undefined && oaep.mgf1Hash !== oaep.hash) return oaepDecrypt(privateKey, wrapped, oaepHashes(oaep, oaep.mgf1Hash));
    return privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaep.hash, ...(oaep.label ? { oaepLabel: oaep.label } : {}) }, wrapped);
  } catch {
    throw new KmipError('CryptographicFailure', 'the wrapped key could not be decrypted: it was wrapped under another key or with other OAEP parameters, or it was altered');
  }
}

function oaepHashes(oaep: OaepParameters, mgf1Hash: string): OaepHashes {
  return oaep.label ? { hash: oaep.hash, mgf1Hash, label: oaep.label } : { hash: oaep.hash, mgf1Hash };
}

// ---------------------------------------------------------------------------------------------
// From a wrapping key and its parameters to one wrap/unwrap function.

/** A wrapping key as the caller loaded it: its record and its unsealed value structure. */
export interface WrappingKey {
  readonly record: Pick<ManagedObjectRecord, 'uid' | 'objectType' | 'attributes'>;
  readonly value: Item;
}

type Cipher = (input: Uint8Array) => Buffer;

function enumOf(params: StructureItem, tag: number): number | undefined {
  const found = child(params, tag);
  return found?.type === 'Enumeration' ? found.value : undefined;
}

function algorithmOf(key: WrappingKey, block: Item): number | undefined {
  const inBlock = child(block, Tag.CryptographicAlgorithm);
  const attr = inBlock ?? find(key.record.attributes, Tag.CryptographicAlgorithm);
  return attr?.type === 'Enumeration' ? attr.value : undefined;
}

function keyBlockOf(value: Item, what: string): StructureItem {
  const block = child(value, Tag.KeyBlock);
  if (block?.type !== 'Structure') throw new KmipError('InvalidField', `${what} has no Key Block`);
  return block;
}

/** The one function that wraps (or unwraps) with this key and these parameters. */
export function cipherFor(key: WrappingKey, params: StructureItem, direction: Direction, version: ProtocolVersion): Cipher {
  const cipher = inVersion(version, () => chooseCipher(key, params, direction));
  return (input) => inVersion(version, () => cipher(input));
}

/** 1.x has no Bad Cryptographic Parameters: the ciphers' refusals become Invalid Field there. */
function inVersion<T>(version: ProtocolVersion, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof KmipError && err.reason === 'BadCryptographicParameters' && !isV2(version)) throw new KmipError('InvalidField', err.message);
    throw err;
  }
}

function chooseCipher(key: WrappingKey, params: StructureItem, direction: Direction): Cipher {
  const bad = 'BadCryptographicParameters';
  const block = keyBlockOf(key.value, `the wrapping key ${key.record.uid}`);
  const algorithm = algorithmOf(key, block);
  const requestedAlgorithm = enumOf(params, Tag.CryptographicAlgorithm);
  if (requestedAlgorithm !== undefined && requestedAlgorithm !== algorithm) {
    throw new KmipError(bad, 'the Cryptographic Algorithm in the Cryptographic Parameters is not the wrapping key\'s');
  }
  if (key.record.objectType === 'SymmetricKey') {
    if (algorithm !== Enum.CryptographicAlgorithm.AES) throw new KmipError(bad, `the wrapping key ${key.record.uid} is not an AES key; kmipd wraps with AES keys and RSA keys`);
    const mode = enumOf(params, Tag.BlockCipherMode) ?? Enum.BlockCipherMode.NISTKeyWrap;
    if (mode !== Enum.BlockCipherMode.NISTKeyWrap && mode !== Enum.BlockCipherMode.AESKeyWrapPadding) {
      throw new KmipError(bad, 'an AES key wraps with Block Cipher Mode NIST Key Wrap (RFC 3394) or AES Key Wrap Padding (RFC 5649); other modes are not key wrap modes');
    }
    const padding = enumOf(params, Tag.PaddingMethod);
    if (padding !== undefined && padding !== Enum.PaddingMethod.None) throw new KmipError(bad, 'AES key wrap takes no Padding Method (RFC 5649 pads by itself)');
    const kek = symmetricMaterial(block);
    const padded = mode === Enum.BlockCipherMode.AESKeyWrapPadding;
    return direction === 'wrap' ? (plain) => aesKeyWrap(kek, plain, padded) : (wrapped) => aesKeyUnwrap(kek, wrapped, padded);
  }
  if (algorithm !== undefined && algorithm !== Enum.CryptographicAlgorithm.RSA) throw new KmipError(bad, `the wrapping key ${key.record.uid} is not an RSA key`);
  const oaep = oaepParameters(params);
  if (direction === 'wrap') {
    const publicKey = asymmetricKey(block, 'public');
    return (plain) => rsaOaepWrap(publicKey, plain, oaep);
  }
  const privateKey = asymmetricKey(block, 'private');
  return (wrapped) => rsaOaepUnwrap(privateKey, wrapped, oaep);
}

function oaepParameters(params: StructureItem): OaepParameters {
  const bad = 'BadCryptographicParameters';
  const padding = enumOf(params, Tag.PaddingMethod) ?? Enum.PaddingMethod.OAEP;
  if (padding !== Enum.PaddingMethod.OAEP) throw new KmipError(bad, 'an RSA key wraps with Padding Method OAEP only');
  if ((enumOf(params, Tag.MaskGenerator) ?? Enum.MaskGenerator.MGF1) !== Enum.MaskGenerator.MGF1) throw new KmipError(bad, 'OAEP uses the MGF1 mask generator');
  const hashing = enumOf(params, Tag.HashingAlgorithm) ?? Enum.HashingAlgorithm.SHA_1;
  const hash = OAEP_HASHES[hashing];
  if (hash === undefined) throw new KmipError(bad, 'OAEP takes a Hashing Algorithm of SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512');
  // 2.1 Table 59, §4.16: the MGF1 hash defaults to SHA-1, whatever the Hashing Algorithm.
  const mgf1Hash = OAEP_HASHES[enumOf(params, Tag.MaskGeneratorHashingAlgorithm) ?? Enum.HashingAlgorithm.SHA_1];
  if (mgf1Hash === undefined) throw new KmipError(bad, 'OAEP takes a Mask Generator Hashing Algorithm of SHA-1, SHA-224, SHA-256, SHA-384 or SHA-512');
  const source = child(params, Tag.PSource);
  const label = source?.type === 'ByteString' && source.value.length > 0 ? source.value : undefined;
  return { hash, ...(mgf1Hash === hash ? {} : { mgf1Hash }), ...(label ? { label } : {}) };
}

function symmetricMaterial(block: StructureItem): Uint8Array {
  const fields = new Fields(block);
  const bytes = symmetricBytes(fields, fields.need(Tag.KeyFormatType, 'Enumeration'));
  if (bytes === undefined) throw new KmipError('KeyFormatTypeNotSupported', 'the wrapping key is not held as Raw or Transparent Symmetric Key material');
  return bytes;
}

/** An RSA key object from a Public or Private Key block, in any format key-formats.ts reads. */
export function asymmetricKey(block: StructureItem, kind: 'public' | 'private'): KeyObject {
  const key = keyFromBlock(kind === 'public' ? 'PublicKey' : 'PrivateKey', new Fields(block));
  if (key.asymmetricKeyType !== 'rsa') throw new KmipError('BadCryptographicParameters', 'kmipd wraps with RSA keys only (RSA-OAEP)');
  return key;
}

// ---------------------------------------------------------------------------------------------
// Key blocks.

const ENCODING_VALUES = { NoEncoding: Enum.EncodingOption.NoEncoding, TTLVEncoding: Enum.EncodingOption.TTLVEncoding } as const;

function withChild(parent: StructureItem, tag: number, replacement: Item | undefined): StructureItem {
  const value = parent.value.flatMap((c) => (c.tag !== tag ? [c] : replacement === undefined ? [] : [replacement]));
  return { ...parent, value };
}

/**
 * The object value (Symmetric Key, Private Key, Secret Data…) with its Key Value wrapped: the Key
 * Block keeps its Key Format Type, algorithm and length, its Key Value becomes the wrapped Byte
 * String, and Key Wrapping Data records how (KMIP 2.1 §3.1 Table 12, §3.3, test case AX-M-2-21).
 */
export function wrapObject(value: Item, key: WrappingKey, request: WrappingRequest, params: StructureItem, version: ProtocolVersion): StructureItem {
  if (value.type !== 'Structure' || child(value, Tag.KeyBlock)?.type !== 'Structure') {
    throw new KmipError(pick(version, 'InvalidObjectType', 'IllegalOperation'), 'only objects with a Key Block (keys and Secret Data) can be returned wrapped');
  }
  const block = keyBlockOf(value, 'the object');
  if (child(block, Tag.KeyWrappingData) !== undefined) throw new KmipError(pick(version, 'KeyWrapTypeNotSupported', 'FeatureNotSupported'), 'the key is already wrapped');
  const keyValue = child(block, Tag.KeyValue);
  if (keyValue?.type !== 'Structure') throw new KmipError('KeyValueNotPresent', 'the object has no Key Value to wrap');
  const plain = plaintextOf(keyValue, request.encoding);
  try {
    const wrapped = cipherFor(key, params, 'wrap', version)(plain);
    const data = structure(Tag.KeyWrappingData, [
      item(Tag.WrappingMethod, 'Enumeration', Enum.WrappingMethod.Encrypt),
      structure(Tag.EncryptionKeyInformation, [item(Tag.UniqueIdentifier, 'TextString', key.record.uid), params]),
      // 2.1 §3.3 Table 15 (1.4 §2.1.5): Encoding Option is optional, "If not present, the wrapped Key
      // Value structure SHALL be TTLV encoded"; so it is repeated only when the client named one (as in
      // AX-M-2-21, whose Get names none and is answered none). It exists from KMIP 1.1.
      ...(request.encodingGiven === true && atLeast(version, 1, 1) ? [item(Tag.EncodingOption, 'Enumeration', ENCODING_VALUES[request.encoding])] : []),
    ]);
    const wrappedBlock = withChild(block, Tag.KeyValue, item(Tag.KeyValue, 'ByteString', wrapped));
    return withChild(value, Tag.KeyBlock, { ...wrappedBlock, value: [...wrappedBlock.value, data] });
  } finally {
    if (request.encoding === 'TTLVEncoding') plain.fill(0);
  }
}

function plaintextOf(keyValue: StructureItem, encoding: WrappingRequest['encoding']): Uint8Array {
  if (encoding === 'TTLVEncoding') return encode(keyValue);
  // 2.1 §3.3: with No Encoding the Key Value SHALL NOT contain attributes; only Byte String material has bytes to wrap.
  const material = child(keyValue, Tag.KeyMaterial);
  if (material?.type !== 'ByteString' || child(keyValue, Tag.Attributes) !== undefined) {
    throw new KmipError('EncodingOptionError', 'No Encoding wraps Byte String key material without attributes; this key needs TTLV Encoding');
  }
  return material.value;
}

/**
 * The object value with its wrapped Key Value replaced by the plain one and the Key Wrapping Data
 * removed, as Register stores it. With TTLV Encoding the unwrapped bytes must be a Key Value
 * structure; with No Encoding they are the Key Material.
 */
export function unwrapObject(value: StructureItem, key: WrappingKey, request: WrappingRequest, params: StructureItem, version: ProtocolVersion): StructureItem {
  const block = keyBlockOf(value, 'the object');
  const wrapped = child(block, Tag.KeyValue);
  if (wrapped?.type !== 'ByteString') throw new KmipError('InvalidField', 'the Key Value of a wrapped key block is a Byte String');
  const plain = cipherFor(key, params, 'unwrap', version)(wrapped.value);
  let keyValue: Item;
  if (request.encoding === 'NoEncoding') {
    keyValue = structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', plain)]);
  } else {
    try {
      keyValue = decode(plain);
    } catch {
      throw new KmipError('EncodingOptionError', 'the unwrapped bytes are not a TTLV-encoded Key Value; if the Key Material alone was wrapped, say Encoding Option No Encoding');
    } finally {
      plain.fill(0);
    }
    if (keyValue.tag !== Tag.KeyValue || keyValue.type !== 'Structure' || child(keyValue, Tag.KeyMaterial) === undefined) {
      throw new KmipError('EncodingOptionError', 'the unwrapped bytes are not a TTLV-encoded Key Value with Key Material');
    }
  }
  return withChild(value, Tag.KeyBlock, withChild(withChild(block, Tag.KeyValue, keyValue), Tag.KeyWrappingData, undefined));
}

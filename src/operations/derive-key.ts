/**
 * Derive Key (KMIP 2.1 §6.1.14, §7.12; 1.4 §4.6): a new Symmetric Key or Secret Data computed
 * from objects the caller owns. The first Unique Identifier is the derivation key (its Key
 * Material is the PBKDF2 password, the HKDF input key material, the HMAC or AES key, or what HASH
 * hashes); a further Secret Data object may supply the Derivation Data instead of the request's
 * Derivation Data field. Every base object needs the Derive Key usage bit and must be Active. The
 * base objects get a Derived Key Link to the result, the result a Derivation Base Object Link to
 * each of them, all in one store transaction.
 *
 * Methods: PBKDF2 (HMAC with the Hashing Algorithm of the Cryptographic Parameters, default
 * SHA-1 as in PKCS#5), HKDF (RFC 5869; Salt, Derivation Data as info, default SHA-256), HMAC over
 * the Derivation Data (the hash from the key's HMAC algorithm, else the Cryptographic Parameters),
 * HASH of the derivation key's value (Hashing Algorithm required), and ENCRYPT of the Derivation
 * Data with an AES key in CBC or ECB mode. The NIST SP 800-108 and AWS methods are not supported.
 */
import { createCipheriv, createHash, createHmac, hkdfSync, pbkdf2, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { type Item, type StructureItem, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { checkCreationAttributes, initialAttributes, stampLastChange } from '../objects/attribute-rules.js';
import { child, find } from '../objects/items.js';
import { effectiveState, stateTitle, wrongState } from '../objects/lifecycle.js';
import type { ManagedObjectRecord, ObjectTypeName, UniqueIdentifier } from '../objects/types.js';
import type { StoreReader } from '../store/types.js';
import {
  checkNamesUnique,
  creationAttributes,
  firstUid,
  linkItem,
  objectTypeOf,
  ownObject,
  protectionStorageMask,
  reason,
  sealObject,
  uidItem,
  unsealObject,
} from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const DERIVABLE: readonly ObjectTypeName[] = ['SymmetricKey', 'SecretData'];
const AES_LENGTHS = [128, 192, 256];

const HASHES: Partial<Record<number, string>> = {
  [Enum.HashingAlgorithm.SHA_1]: 'sha1',
  [Enum.HashingAlgorithm.SHA_224]: 'sha224',
  [Enum.HashingAlgorithm.SHA_256]: 'sha256',
  [Enum.HashingAlgorithm.SHA_384]: 'sha384',
  [Enum.HashingAlgorithm.SHA_512]: 'sha512',
  [Enum.HashingAlgorithm.SHA_512_224]: 'sha512-224',
  [Enum.HashingAlgorithm.SHA_512_256]: 'sha512-256',
  [Enum.HashingAlgorithm.SHA3_224]: 'sha3-224',
  [Enum.HashingAlgorithm.SHA3_256]: 'sha3-256',
  [Enum.HashingAlgorithm.SHA3_384]: 'sha3-384',
  [Enum.HashingAlgorithm.SHA3_512]: 'sha3-512',
};

/** The hash an HMAC key's Cryptographic Algorithm names (2.1 §6.1.14: "the attributes of the derivation key provide enough information about the PRF"). */
const HMAC_HASHES: Partial<Record<number, string>> = {
  [Enum.CryptographicAlgorithm.HMAC_SHA1]: 'sha1',
  [Enum.CryptographicAlgorithm.HMAC_SHA224]: 'sha224',
  [Enum.CryptographicAlgorithm.HMAC_SHA256]: 'sha256',
  [Enum.CryptographicAlgorithm.HMAC_SHA384]: 'sha384',
  [Enum.CryptographicAlgorithm.HMAC_SHA512]: 'sha512',
  [Enum.CryptographicAlgorithm.HMAC_SHA3_224]: 'sha3-224',
  [Enum.CryptographicAlgorithm.HMAC_SHA3_256]: 'sha3-256',
  [Enum.CryptographicAlgorithm.HMAC_SHA3_384]: 'sha3-384',
  [Enum.CryptographicAlgorithm.HMAC_SHA3_512]: 'sha3-512',
};

/** PBKDF2 iteration counts above this are refused: one request must not hold a core for minutes. */
const MAX_ITERATIONS = 10_000_000;
/** The longest object Derive Key makes, in bits: a bound on what one request allocates and computes. */
const MAX_BITS = 8192;
const pbkdf2Async = promisify(pbkdf2);

type MethodName = keyof typeof Enum.DerivationMethod;
const SUPPORTED: readonly MethodName[] = ['PBKDF2', 'HASH', 'HMAC', 'ENCRYPT', 'HKDF'];

interface Derivation {
  readonly method: MethodName;
  /** The derivation key's value. */
  readonly key: Buffer;
  /** The derivation key's attributes (for HMAC's PRF and ENCRYPT's algorithm). */
  readonly keyAttributes: readonly Item[];
  readonly data: Buffer | undefined;
  readonly params: Fields;
  /** Bytes wanted. */
  readonly length: number;
}

export const deriveKey: OperationDefinition = {
  name: 'DeriveKey',
  mutates: true,
  permission: 'write',
  objectTypes: DERIVABLE,
  placeholder: firstUid,
  async handler(payload, ctx) {
    const objectType = objectTypeOf(payload);
    if (!DERIVABLE.includes(objectType)) {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `Derive Key makes a Symmetric Key or Secret Data, not a ${objectType}`);
    }
    // 2.1 Table 205: "the current value of the ID Placeholder SHALL NOT be used in place of a Unique Identifier".
    const uids = [...new Set(payload.values(Tag.UniqueIdentifier, 'TextString'))] as UniqueIdentifier[];
    if (uids.length === 0) throw new KmipError('InvalidMessage', 'Derive Key needs the Unique Identifier of at least one base object; the ID Placeholder is not used');
    const method = methodOf(payload.need(Tag.DerivationMethod, 'Enumeration'), ctx);
    const params = payload.needStruct(Tag.DerivationParameters);
    const requested = creationAttributes(payload, ctx);
    checkCreationAttributes(objectType, requested, 'create', { version: ctx.version });
    const bits = outputBits(objectType, requested, ctx);

    const bases = await ctx.store.read((reader) => baseObjects(reader, uids, ctx));
    const [keyObject, ...others] = bases;
    const dataObject = others.find((o) => o.objectType === 'SecretData');
    const given = params.get(Tag.DerivationData, 'ByteString');
    if (given !== undefined && dataObject !== undefined) {
      // 2.1 §7.12: "If both are provided, then an error SHALL be returned"; 1.4 §11.7: Invalid Message.
      throw new KmipError('InvalidMessage', 'the Derivation Data is given both in the request and as a Secret Data object; give one');
    }
    const key = await materialOf(keyObject!, ctx);
    const dataBytes = dataObject === undefined ? given : await materialOf(dataObject, ctx);
    let derived: Buffer;
    try {
      derived = await derive({ method, key, keyAttributes: keyObject!.attributes, data: dataBytes === undefined ? undefined : Buffer.from(dataBytes), params, length: bits / 8 }, ctx);
    } finally {
      key.fill(0);
    }

    const uid = randomUUID();
    const keyMaterial = item(Tag.KeyMaterial, 'ByteString', derived);
    const format = objectType === 'SymmetricKey' ? Enum.KeyFormatType.Raw : Enum.KeyFormatType.Opaque;
    const value = valueStructure(objectType, format, keyMaterial, requested);
    try {
      const sealedValue = await sealObject(ctx, uid, value);
      await ctx.store.transaction(async (tx) => {
        const now = ctx.clock.now();
        const current = await baseObjects(tx, uids, ctx);
        const { state, attributes } = initialAttributes({
          objectType,
          uid,
          now,
          origin: 'generated',
          requested: [...requested, ...current.map((b) => linkItem(Enum.LinkType.DerivationBaseObjectLink, b.uid))],
          digestOf: [{ value: keyMaterial, keyFormatType: format }],
          keyFormatType: format,
          protectionStorageMask: protectionStorageMask(ctx),
        });
        await checkNamesUnique(tx, requested, ctx);
        await tx.insert({ uid: uid as UniqueIdentifier, objectType, state, owner: ctx.identity.name, attributes, sealedValue }, { uidGenerated: true });
        for (const base of current) {
          base.attributes = stampLastChange([...base.attributes, linkItem(Enum.LinkType.DerivedKeyLink, uid)], now);
          await tx.update(base);
        }
      });
    } finally {
      // The digest above was computed from these bytes: they are zeroed only once the object is stored.
      derived.fill(0);
    }
    return [uidItem(uid)];
  },
};

function methodOf(value: number, ctx: OperationContext): MethodName {
  const found = (Object.entries(Enum.DerivationMethod) as [MethodName, number][]).find(([, v]) => v === value);
  // 1.4 §11.7: "Invalid Derivation Method" → Invalid Field.
  if (found === undefined) throw new KmipError('InvalidField', `Derivation Method 0x${value.toString(16)} is not known`);
  if (!SUPPORTED.includes(found[0])) {
    throw new KmipError(reason(ctx, 'FeatureNotSupported', 'InvalidField'), `kmipd derives with PBKDF2, HKDF, HMAC, HASH and ENCRYPT, not ${found[0]}`);
  }
  return found[0];
}

/** The Cryptographic Length the client asked for, in bits: required, a whole number of bytes, and a valid AES length for an AES key. */
function outputBits(objectType: ObjectTypeName, requested: readonly Item[], ctx: OperationContext): number {
  const length = find(requested, Tag.CryptographicLength);
  const algorithm = find(requested, Tag.CryptographicAlgorithm);
  if (length?.type !== 'Integer') throw new KmipError('InvalidField', 'Derive Key needs the Cryptographic Length of the new object among its attributes (KMIP 2.1 §6.1.14)');
  if (objectType === 'SymmetricKey' && algorithm === undefined) {
    throw new KmipError('InvalidField', 'deriving a Symmetric Key needs its Cryptographic Algorithm among the attributes (KMIP 2.1 §6.1.14)');
  }
  if (length.value <= 0 || length.value % 8 !== 0 || length.value > MAX_BITS) {
    throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), `the Cryptographic Length must be a whole number of bytes up to ${MAX_BITS} bits, not ${length.value} bits`);
  }
  if (objectType === 'SymmetricKey' && algorithm?.type === 'Enumeration' && algorithm.value === Enum.CryptographicAlgorithm.AES && !AES_LENGTHS.includes(length.value)) {
    throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), `an AES key is 128, 192 or 256 bits long, not ${length.value}`);
  }
  return length.value;
}

/** The caller's base objects, each a Symmetric Key or Secret Data with the Derive Key bit, Active, with its value. */
async function baseObjects(reader: StoreReader, uids: readonly UniqueIdentifier[], ctx: OperationContext): Promise<ManagedObjectRecord[]> {
  const out: ManagedObjectRecord[] = [];
  for (const uid of uids) {
    const record = await ownObject(reader, uid, ctx);
    if (!DERIVABLE.includes(record.objectType)) {
      // 1.4 §11.7: "not of the correct type" → Invalid Field.
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `object ${uid} is a ${record.objectType}; keys are derived from Symmetric Keys and Secret Data`);
    }
    const mask = find(record.attributes, Tag.CryptographicUsageMask);
    if (mask?.type !== 'Integer' || (mask.value & Mask.CryptographicUsageMask.DeriveKey) === 0) {
      // 2.1 §6.1.14: the server SHALL return an error for an object without the Derive Key bit.
      throw new KmipError(reason(ctx, 'IncompatibleCryptographicUsageMask', 'InvalidField'), `object ${uid} does not have the Derive Key bit in its Cryptographic Usage Mask`);
    }
    const state = effectiveState(record, ctx.clock.now());
    if (state !== 'Active') throw wrongState(`object ${uid} is ${stateTitle(state)}; only an Active object is used to derive keys`, ctx.version);
    if (record.sealedValue === undefined) throw new KmipError('KeyValueNotPresent', `object ${uid} has no value on this server`);
    out.push(record);
  }
  return out;
}

/** The Key Material bytes of a Raw or Opaque key block; the caller zeroes them. */
async function materialOf(record: ManagedObjectRecord, ctx: OperationContext): Promise<Buffer> {
  const value = await unsealObject(ctx, record);
  const block = child(value, Tag.KeyBlock);
  const material = block === undefined ? undefined : child(child(block, Tag.KeyValue) ?? block, Tag.KeyMaterial);
  if (material?.type !== 'ByteString') {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `object ${record.uid} is not held as plain key bytes and cannot be used to derive keys`);
  }
  return Buffer.from(material.value);
}

function valueStructure(objectType: ObjectTypeName, format: number, keyMaterial: Item, requested: readonly Item[]): StructureItem {
  const block: Item[] = [item(Tag.KeyFormatType, 'Enumeration', format), structure(Tag.KeyValue, [keyMaterial])];
  if (objectType === 'SecretData') {
    // A derived secret is keying material, not a password (2.1 §11.46 Secret Data Type).
    return structure(Tag.SecretData, [item(Tag.SecretDataType, 'Enumeration', Enum.SecretDataType.Seed), structure(Tag.KeyBlock, block)]);
  }
  const algorithm = find(requested, Tag.CryptographicAlgorithm);
  const length = find(requested, Tag.CryptographicLength);
  return structure(Tag.SymmetricKey, [structure(Tag.KeyBlock, [...block, ...(algorithm ? [algorithm] : []), ...(length ? [length] : [])])]);
}

function bad(ctx: OperationContext, message: string): KmipError {
  // 1.4 §11.7: "Invalid Derivation Parameters" → Invalid Field.
  return new KmipError(reason(ctx, 'BadCryptographicParameters', 'InvalidField'), message);
}

function hashFrom(params: Fields, fallback: string | undefined, ctx: OperationContext, method: string): string {
  const value = params.struct(Tag.CryptographicParameters)?.get(Tag.HashingAlgorithm, 'Enumeration');
  if (value === undefined) {
    if (fallback !== undefined) return fallback;
    throw bad(ctx, `${method} needs a Hashing Algorithm in the Cryptographic Parameters of the Derivation Parameters`);
  }
  const name = HASHES[value];
  if (name === undefined) throw new KmipError(reason(ctx, 'UnsupportedCryptographicParameters', 'InvalidField'), `Hashing Algorithm 0x${value.toString(16)} is not supported for ${method}`);
  return name;
}

function needData(d: Derivation, ctx: OperationContext): Buffer {
  if (d.data === undefined) throw bad(ctx, `${d.method} needs Derivation Data (in the Derivation Parameters or as a Secret Data object)`);
  return d.data;
}

/** Runs the method and cuts its output to the requested length; asking for more than it gives is a Cryptographic Failure (1.4 §11.7). */
async function derive(d: Derivation, ctx: OperationContext): Promise<Buffer> {
  const out = await run(d, ctx);
  if (out.length < d.length) {
    out.fill(0);
    throw new KmipError('CryptographicFailure', `${d.method} gives ${out.length * 8} bits here; ${d.length * 8} were asked for`);
  }
  const cut = Buffer.from(out.subarray(0, d.length));
  out.fill(0);
  return cut;
}

async function run(d: Derivation, ctx: OperationContext): Promise<Buffer> {
  switch (d.method) {
    case 'PBKDF2': {
      const salt = d.params.get(Tag.Salt, 'ByteString');
      const iterations = d.params.get(Tag.IterationCount, 'Integer');
      if (salt === undefined || iterations === undefined) throw bad(ctx, 'PBKDF2 needs a Salt and an Iteration Count (KMIP 1.4 Table 183)');
      if (iterations < 1 || iterations > MAX_ITERATIONS) throw bad(ctx, `the Iteration Count must be between 1 and ${MAX_ITERATIONS}`);
      if (d.data !== undefined) throw bad(ctx, 'PBKDF2 takes its password from the base object; Derivation Data is not used');
      // PKCS#5 §5.2: PBKDF2 gives up to (2^32 − 1) · hLen bytes, so any length asked for here.
      // In the libuv thread pool: a large Iteration Count does not stall other clients' requests.
      return pbkdf2Async(d.key, salt, iterations, d.length, hashFrom(d.params, 'sha1', ctx, 'PBKDF2'));
    }
    case 'HKDF': {
      // 2.1 §7.12: salt from Salt, info from Derivation Data, SHA-256 unless a Hashing Algorithm is given.
      const hash = hashFrom(d.params, 'sha256', ctx, 'HKDF');
      const max = 255 * createHash(hash).digest().length;
      if (d.length > max) throw new KmipError('CryptographicFailure', `HKDF with ${hash} gives at most ${max * 8} bits`);
      return Buffer.from(hkdfSync(hash, d.key, d.params.get(Tag.Salt, 'ByteString') ?? Buffer.alloc(0), d.data ?? Buffer.alloc(0), d.length));
    }
    case 'HMAC': {
      const algorithm = find(d.keyAttributes, Tag.CryptographicAlgorithm);
      const own = algorithm?.type === 'Enumeration' ? HMAC_HASHES[algorithm.value] : undefined;
      const hash = own ?? hashFrom(d.params, undefined, ctx, 'HMAC with a key that is not an HMAC key');
      return createHmac(hash, d.key).update(needData(d, ctx)).digest();
    }
    case 'HASH': {
      // 2.1 §7.12: HASH needs "either a derivation key or derivation data" — here the key is always given.
      if (d.data !== undefined) throw new KmipError('InvalidMessage', 'HASH hashes the base object; give no Derivation Data');
      return createHash(hashFrom(d.params, undefined, ctx, 'HASH')).update(d.key).digest();
    }
    case 'ENCRYPT':
      return encrypt(d, ctx);
    default:
      throw new KmipError('FeatureNotSupported', `${d.method} is not supported`);
  }
}

/** ENCRYPT: the Derivation Data encrypted with the AES derivation key in ECB or CBC mode (IV from the parameters, zeros if absent). */
function encrypt(d: Derivation, ctx: OperationContext): Buffer {
  const cp = d.params.struct(Tag.CryptographicParameters);
  if (cp === undefined) throw bad(ctx, 'ENCRYPT needs Cryptographic Parameters with a Block Cipher Mode');
  const algorithm = cp.get(Tag.CryptographicAlgorithm, 'Enumeration') ?? (find(d.keyAttributes, Tag.CryptographicAlgorithm)?.value as number | undefined);
  if (algorithm !== Enum.CryptographicAlgorithm.AES || ![16, 24, 32].includes(d.key.length)) {
    throw new KmipError(reason(ctx, 'UnsupportedCryptographicParameters', 'InvalidField'), 'ENCRYPT derivation uses an AES key of 128, 192 or 256 bits');
  }
  const mode = cp.get(Tag.BlockCipherMode, 'Enumeration');
  if (mode !== Enum.BlockCipherMode.CBC && mode !== Enum.BlockCipherMode.ECB) {
    throw new KmipError(reason(ctx, 'UnsupportedCryptographicParameters', 'InvalidField'), 'ENCRYPT derivation uses the CBC or ECB Block Cipher Mode');
  }
  const padding = cp.get(Tag.PaddingMethod, 'Enumeration') ?? Enum.PaddingMethod.None;
  if (padding !== Enum.PaddingMethod.None && padding !== Enum.PaddingMethod.PKCS5) {
    throw new KmipError(reason(ctx, 'UnsupportedCryptographicParameters', 'InvalidField'), 'ENCRYPT derivation pads with PKCS5 or not at all');
  }
  const data = needData(d, ctx);
  if (padding === Enum.PaddingMethod.None && data.length % 16 !== 0) throw bad(ctx, 'without padding the Derivation Data must be a whole number of 16-byte blocks');
  const ivGiven = d.params.get(Tag.InitializationVector, 'ByteString');
  const iv = mode === Enum.BlockCipherMode.ECB ? null : ivGiven === undefined || ivGiven.length === 0 ? Buffer.alloc(16) : Buffer.from(ivGiven);
  if (iv !== null && iv.length !== 16) throw bad(ctx, 'the Initialization Vector for AES-CBC is 16 bytes');
  const cipher = createCipheriv(`aes-${d.key.length * 8}-${mode === Enum.BlockCipherMode.CBC ? 'cbc' : 'ecb'}`, d.key, iv);
  cipher.setAutoPadding(padding === Enum.PaddingMethod.PKCS5);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

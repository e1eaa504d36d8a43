/**
 * Create Split Key (KMIP 2.1 §6.1.10; 1.4 §4.38): a secret split into Split Key Parts objects,
 * any Split Key Threshold of which give it back (Join Split Key, join-split-key.ts). The secret is
 * a Symmetric Key or Secret Data the caller names by Unique Identifier (its algorithm and length
 * take precedence over the request's), or a new symmetric key generated as Create would.
 *
 * Methods (src/crypto/shamir.ts): XOR (threshold = parts), Polynomial Sharing GF(2^8) (Shamir per
 * byte, polynomial 0x11B) and Polynomial Sharing Prime Field (a Prime Field Size above the key).
 * Polynomial Sharing GF(2^16) is not supported.
 *
 * Links: part k has a Previous Link to part k − 1 and a Next Link to part k + 1, so Join Split Key
 * can tell parts of one split from parts of another; a key that was split gets a Child Link to
 * each part and each part a Parent Link to it. All parts (and the key's new links) are stored in
 * one transaction; the response lists the parts in Key Part Identifier order, so the ID
 * Placeholder becomes part 1's Unique Identifier as 2.1 §6.1.10 requires.
 */
import { checkPrimeSync, randomBytes, randomUUID } from 'node:crypto';
import { type Item, type StructureItem, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { checkCreationAttributes, initialAttributes, stampLastChange } from '../objects/attribute-rules.js';
import { child, find, withReplaced } from '../objects/items.js';
import { symmetricBytes } from '../objects/key-formats.js';
import type { ManagedObjectRecord, ObjectTypeName, UniqueIdentifier } from '../objects/types.js';
import { type Share, splitGf256, splitPrime, splitXor } from '../crypto/shamir.js';
import { checkQuantumSafe, generatedKind, symmetricKeyBytes } from './create.js';
import { RNG } from './generation.js';
import { isNotExtractable, notExtractable } from './hsm-resident.js';
import { checkNamesUnique, creationAttributes, firstUid, linkItem, objectTypeOf, ownObject, protectionStorageMask, reason, sealObject, uidItem, unsealObject } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const M = Enum.SplitKeyMethod;
/** GF(2^8) has 255 non-zero points; the same bound keeps the other methods' part lists small. */
export const MAX_PARTS = 255;
/** Prime Field Sizes kmipd accepts, in bits: enough for a 4096-bit secret, small enough to test for primality at once. */
const MAX_PRIME_BITS = 4160;
/** The objects whose value can be split (and that Join Split Key makes). */
export const SPLITTABLE: readonly ObjectTypeName[] = ['SymmetricKey', 'SecretData'];

/** What a split is: its method and counts, and the algorithm and length of the secret each part carries. */
export interface SplitSpec {
  readonly parts: number;
  readonly threshold: number;
  readonly method: number;
  readonly prime?: bigint;
}

export const createSplitKey: OperationDefinition = {
  name: 'CreateSplitKey',
  mutates: true,
  permission: 'write',
  objectTypes: ['SplitKey'],
  placeholder: firstUid,
  async handler(payload, ctx) {
    const objectType = objectTypeOf(payload);
    if (objectType !== 'SplitKey' && !SPLITTABLE.includes(objectType)) {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `Create Split Key makes Split Key objects from a Symmetric Key or Secret Data, not from a ${objectType}`);
    }
    const spec = splitSpec(payload, ctx);
    const requested = creationAttributes(payload, ctx);
    checkCreationAttributes('SplitKey', requested, 'create', { version: ctx.version });
    if (spec.parts > 1 && requested.some((a) => a.tag === Tag.Name)) {
      // 2.1 §4.32: Names are unique, and every part would carry the request's.
      throw new KmipError(reason(ctx, 'NonUniqueNameAttribute', 'InvalidField'), 'every part of a split would carry that Name, and Names are unique (KMIP 2.1 §4.32): name the parts afterwards with Add Attribute');
    }

    const baseUid = payload.get(Tag.UniqueIdentifier, 'TextString') as UniqueIdentifier | undefined;
    const secret = baseUid === undefined ? generateSecret(objectType, requested, ctx) : await existingSecret(baseUid, ctx);
    let shares: Share[];
    try {
      shares = split(secret.bytes, spec, ctx);
    } finally {
      secret.bytes.fill(0);
    }

    const uids = shares.map(() => randomUUID());
    const keyAttributes = withReplaced(requested, secret.describe);
    const records: ManagedObjectRecord[] = [];
    const now = ctx.clock.now();
    try {
      for (const [i, share] of shares.entries()) {
        const material = item(Tag.KeyMaterial, 'ByteString', share.y);
        const value = splitKeyValue(spec, share.x, material, secret.describe);
        const sealedValue = await sealObject(ctx, uids[i]!, value);
        const links = [
          ...(i > 0 ? [linkItem(Enum.LinkType.PreviousLink, uids[i - 1]!)] : []),
          ...(i < uids.length - 1 ? [linkItem(Enum.LinkType.NextLink, uids[i + 1]!)] : []),
          ...(baseUid === undefined ? [] : [linkItem(Enum.LinkType.ParentLink, baseUid)]),
        ];
        const { state, attributes } = initialAttributes({
          objectType: 'SplitKey',
          uid: uids[i]!,
          now,
          origin: 'generated',
          requested: [...keyAttributes, ...links],
          digestOf: [{ value: material, keyFormatType: Enum.KeyFormatType.Raw }],
          keyFormatType: Enum.KeyFormatType.Raw,
          rng: RNG,
          protectionStorageMask: protectionStorageMask(ctx),
        });
        records.push({ uid: uids[i] as UniqueIdentifier, objectType: 'SplitKey', state, owner: ctx.identity.name, attributes, sealedValue });
      }
    } finally {
      for (const share of shares) share.y.fill(0);
    }

    await ctx.store.transaction(async (tx) => {
      await checkNamesUnique(tx, requested, ctx);
      for (const record of records) await tx.insert(record, { uidGenerated: true });
      if (baseUid !== undefined) {
        const base = await ownObject(tx, baseUid, ctx);
        base.attributes = stampLastChange([...base.attributes, ...uids.map((u) => linkItem(Enum.LinkType.ChildLink, u))], now);
        await tx.update(base);
      }
    });
    return uids.map(uidItem);
  },
};

/** The Split Key Parts, Threshold, Method and Prime Field Size of the request, checked (2.1 §2.8). */
function splitSpec(payload: Fields, ctx: OperationContext): SplitSpec {
  const parts = payload.need(Tag.SplitKeyParts, 'Integer');
  const threshold = payload.need(Tag.SplitKeyThreshold, 'Integer');
  const method = payload.need(Tag.SplitKeyMethod, 'Enumeration');
  const prime = payload.get(Tag.PrimeFieldSize, 'BigInteger');
  const badValue = reason(ctx, 'InvalidAttributeValue', 'InvalidField');
  if (parts < 2 || parts > MAX_PARTS) throw new KmipError(badValue, `a key is split into 2 to ${MAX_PARTS} parts, not ${parts}`);
  if (threshold < 1 || threshold > parts) throw new KmipError(badValue, `the Split Key Threshold is between 1 and the Split Key Parts (${parts}), not ${threshold} (KMIP 2.1 §2.8)`);
  switch (method) {
    case M.XOR:
      if (threshold !== parts) throw new KmipError(badValue, 'an XOR split needs every part: its Split Key Threshold equals its Split Key Parts');
      return { parts, threshold, method };
    case M.PolynomialSharingGF2_8:
      return { parts, threshold, method };
    case M.PolynomialSharingPrimeField:
      if (prime === undefined) throw new KmipError('InvalidField', 'Polynomial Sharing Prime Field needs a Prime Field Size (KMIP 2.1 §2.8)');
      if (prime <= BigInt(parts) || prime.toString(2).length > MAX_PRIME_BITS || !checkPrimeSync(prime)) {
        throw new KmipError(badValue, `the Prime Field Size must be a prime above the number of parts and at most ${MAX_PRIME_BITS} bits`);
      }
      return { parts, threshold, method, prime };
    case M.PolynomialSharingGF2_16:
      // 1.4 §11.39: "Split Key Method not supported" → Invalid Field.
      throw new KmipError(reason(ctx, 'FeatureNotSupported', 'InvalidField'), 'kmipd splits keys by XOR, Polynomial Sharing GF(2^8) and Polynomial Sharing Prime Field, not GF(2^16)');
    default:
      throw new KmipError('InvalidField', `Split Key Method 0x${method.toString(16)} is not known`);
  }
}

interface Secret {
  readonly bytes: Buffer;
  /** Cryptographic Algorithm (if any) and Length of the secret: in each part's key block and attributes. */
  readonly describe: Item[];
}

/** A new symmetric key, as Create makes one, from the request's Cryptographic Algorithm and Length. */
function generateSecret(objectType: ObjectTypeName, requested: readonly Item[], ctx: OperationContext): Secret {
  const algorithm = find(requested, Tag.CryptographicAlgorithm);
  const length = find(requested, Tag.CryptographicLength);
  const badValue = reason(ctx, 'InvalidAttributeValue', 'InvalidField');
  if (length?.type !== 'Integer') throw new KmipError('InvalidField', 'Create Split Key without a Unique Identifier generates a key: give its Cryptographic Length (and Algorithm)');
  if (algorithm === undefined && objectType === 'SecretData') {
    if (length.value <= 0 || length.value % 8 !== 0 || length.value > 8192) throw new KmipError(badValue, 'a secret is a whole number of bytes up to 8192 bits');
    return { bytes: randomBytes(length.value / 8), describe: [length] };
  }
  const kind = algorithm?.type === 'Enumeration' ? generatedKind(algorithm.value) : undefined;
  if (algorithm?.type !== 'Enumeration' || kind === undefined) throw new KmipError(badValue, 'Create Split Key generates AES, Triple DES, ChaCha20 and HMAC keys (give the Cryptographic Algorithm)');
  if (!kind.accepts(length.value)) throw new KmipError(badValue, `that key is ${kind.lengths} long, not ${length.value}`);
  checkQuantumSafe(requested, algorithm.value, length.value);
  return { bytes: symmetricKeyBytes(algorithm.value, length.value), describe: [algorithm, length] };
}

/** The value of the caller's Symmetric Key or Secret Data: it must exist here and be one the caller may take out. */
async function existingSecret(uid: UniqueIdentifier, ctx: OperationContext): Promise<Secret> {
  const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
  if (!SPLITTABLE.includes(record.objectType)) {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `object ${uid} is a ${record.objectType}; kmipd splits Symmetric Keys and Secret Data`);
  }
  // Every part can be fetched with Get: splitting a key the caller may not take out would let it out.
  if (isNotExtractable(record)) throw notExtractable(ctx, record);
  const value = await unsealObject(ctx, record);
  const block = Fields.of(child(value, Tag.KeyBlock), 'Key Block');
  const format = block.need(Tag.KeyFormatType, 'Enumeration');
  const wrapped = block.has(Tag.KeyWrappingData);
  const material = wrapped ? undefined : block.struct(Tag.KeyValue)?.optional(Tag.KeyMaterial);
  const bytes = wrapped ? undefined : format === Enum.KeyFormatType.Opaque && material?.type === 'ByteString' ? material.value : symmetricBytes(block, format);
  if (bytes === undefined) {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `object ${uid} is not held as plain key bytes and cannot be split`);
  }
  const algorithm = find(record.attributes, Tag.CryptographicAlgorithm);
  return { bytes: Buffer.from(bytes), describe: [...(algorithm ? [algorithm] : []), item(Tag.CryptographicLength, 'Integer', bytes.length * 8)] };
}

function split(secret: Buffer, spec: SplitSpec, ctx: OperationContext): Share[] {
  if (secret.length === 0) throw new KmipError('CryptographicFailure', 'there is no key material to split');
  switch (spec.method) {
    case M.XOR:
      return splitXor(secret, spec.parts);
    case M.PolynomialSharingGF2_8:
      return splitGf256(secret, spec.parts, spec.threshold);
    default:
      if (spec.prime! <= 1n << BigInt(8 * secret.length)) {
        throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), `the Prime Field Size must be larger than 2^${8 * secret.length} to share a ${8 * secret.length}-bit key`);
      }
      return splitPrime(secret, spec.parts, spec.threshold, spec.prime!);
  }
}

/** One part (2.1 Table 9): the split's fields and a Raw key block with the part's bytes and the secret's algorithm and length. */
function splitKeyValue(spec: SplitSpec, part: number, material: Item, describe: readonly Item[]): StructureItem {
  return structure(Tag.SplitKey, [
    item(Tag.SplitKeyParts, 'Integer', spec.parts),
    item(Tag.KeyPartIdentifier, 'Integer', part),
    item(Tag.SplitKeyThreshold, 'Integer', spec.threshold),
    item(Tag.SplitKeyMethod, 'Enumeration', spec.method),
    ...(spec.prime === undefined ? [] : [item(Tag.PrimeFieldSize, 'BigInteger', spec.prime)]),
    structure(Tag.KeyBlock, [item(Tag.KeyFormatType, 'Enumeration', Enum.KeyFormatType.Raw), structure(Tag.KeyValue, [material]), ...describe]),
  ]);
}

/**
 * Join Split Key (KMIP 2.1 §6.1.27; 1.4 §4.39): the Symmetric Key or Secret Data that Split Key
 * parts the caller owns combine to. The parts must come from one split (same method, counts,
 * algorithm and length, and joined by the Previous / Next Links Create Split Key made; parts
 * registered without such links are taken as one split), carry distinct Key Part Identifiers, and
 * number at least the Split Key Threshold: fewer is a Cryptographic Failure (1.4 §11.40). The new
 * object has a Derivation Base Object Link to each part and each part a Derived Key Link to it.
 */
import { randomUUID } from 'node:crypto';
import { type Item, type StructureItem, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { checkCreationAttributes, initialAttributes, stampLastChange } from '../objects/attribute-rules.js';
import { find, withReplaced } from '../objects/items.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import type { StoreReader } from '../store/types.js';
import { type Share, joinGf256, joinPrime, joinXor } from '../crypto/shamir.js';
import { MAX_PARTS, SPLITTABLE } from './create-split-key.js';
import { checkNamesUnique, creationAttributes, firstUid, linkItem, objectTypeOf, ownObject, protectionStorageMask, reason, sealObject, uidItem, unsealObject } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const M = Enum.SplitKeyMethod;

/** One part as read from its sealed value. */
interface Part {
  readonly record: ManagedObjectRecord;
  readonly parts: number;
  readonly threshold: number;
  readonly method: number;
  readonly prime: bigint | undefined;
  readonly share: Share;
  /** Cryptographic Algorithm (if any) and Length of the secret, from the part's key block. */
  readonly describe: Item[];
  /** The uid of the first part of its split, found by Previous Links; undefined for a part without links. */
  readonly splitId: string | undefined;
}

export const joinSplitKey: OperationDefinition = {
  name: 'JoinSplitKey',
  mutates: true,
  permission: 'write',
  objectTypes: SPLITTABLE,
  placeholder: firstUid,
  async handler(payload, ctx) {
    const objectType = objectTypeOf(payload);
    if (!SPLITTABLE.includes(objectType)) {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `Join Split Key makes a Symmetric Key or Secret Data, not a ${objectType}`);
    }
    const uids = [...new Set(payload.values(Tag.UniqueIdentifier, 'TextString'))] as UniqueIdentifier[];
    if (uids.length === 0) throw new KmipError('InvalidMessage', 'Join Split Key needs the Unique Identifiers of the parts to join');
    if (uids.length > MAX_PARTS) throw new KmipError('InvalidField', `a split has at most ${MAX_PARTS} parts`);
    const secretDataType = payload.get(Tag.SecretDataType, 'Enumeration');
    if (secretDataType !== undefined && objectType !== 'SecretData') throw new KmipError('InvalidField', 'a Secret Data Type is given only when joining into Secret Data');
    const requested = creationAttributes(payload, ctx);
    checkCreationAttributes(objectType, requested, 'create', { version: ctx.version });

    const records = await ctx.store.read(async (reader) => Promise.all(uids.map((uid) => ownObject(reader, uid, ctx))));
    const parts: Part[] = [];
    for (const record of records) parts.push(await readPart(record, ctx));
    const first = checkOneSplit(parts, ctx);
    const describe = first.describe;
    if (objectType === 'SymmetricKey' && find(describe, Tag.CryptographicAlgorithm) === undefined && find(requested, Tag.CryptographicAlgorithm) === undefined) {
      throw new KmipError('InvalidField', 'the parts do not say what algorithm the key is for: give its Cryptographic Algorithm among the attributes');
    }
    const secret = combine(parts, first, ctx);
    for (const part of parts) part.share.y.fill(0);

    const uid = randomUUID();
    const attrs = withReplaced(requested, describe);
    const material = item(Tag.KeyMaterial, 'ByteString', secret);
    const format = objectType === 'SymmetricKey' ? Enum.KeyFormatType.Raw : Enum.KeyFormatType.Opaque;
    try {
      const sealedValue = await sealObject(ctx, uid, valueOf(objectType, format, material, attrs, secretDataType));
      await ctx.store.transaction(async (tx) => {
        const now = ctx.clock.now();
        const { state, attributes } = initialAttributes({
          objectType,
          uid,
          now,
          origin: 'generated',
          requested: [...attrs, ...uids.map((u) => linkItem(Enum.LinkType.DerivationBaseObjectLink, u))],
          digestOf: [{ value: material, keyFormatType: format }],
          keyFormatType: format,
          protectionStorageMask: protectionStorageMask(ctx),
        });
        await checkNamesUnique(tx, requested, ctx);
        await tx.insert({ uid: uid as UniqueIdentifier, objectType, state, owner: ctx.identity.name, attributes, sealedValue }, { uidGenerated: true });
        for (const partUid of uids) {
          const part = await ownObject(tx, partUid, ctx);
          part.attributes = stampLastChange([...part.attributes, linkItem(Enum.LinkType.DerivedKeyLink, uid)], now);
          await tx.update(part);
        }
      });
    } finally {
      secret.fill(0);
    }
    return [uidItem(uid)];
  },
};

async function readPart(record: ManagedObjectRecord, ctx: OperationContext): Promise<Part> {
  if (record.objectType !== 'SplitKey') {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `object ${record.uid} is a ${record.objectType}, not a Split Key`);
  }
  const value = new Fields((await unsealObject(ctx, record)) as StructureItem);
  const block = value.needStruct(Tag.KeyBlock);
  const material = block.has(Tag.KeyWrappingData) ? undefined : block.struct(Tag.KeyValue)?.optional(Tag.KeyMaterial);
  if (material?.type !== 'ByteString') throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `Split Key ${record.uid} is not held as plain bytes and cannot be joined`);
  const algorithm = block.optional(Tag.CryptographicAlgorithm);
  const length = block.optional(Tag.CryptographicLength) ?? find(record.attributes, Tag.CryptographicLength);
  return {
    record,
    parts: value.need(Tag.SplitKeyParts, 'Integer'),
    threshold: value.need(Tag.SplitKeyThreshold, 'Integer'),
    method: value.need(Tag.SplitKeyMethod, 'Enumeration'),
    prime: value.get(Tag.PrimeFieldSize, 'BigInteger'),
    share: { x: value.need(Tag.KeyPartIdentifier, 'Integer'), y: Buffer.from(material.value) },
    describe: [algorithm, length].filter((x): x is Item => x !== undefined),
    splitId: await ctx.store.read((reader) => firstPartOf(reader, record, ctx)),
  };
}

/** The first part of a split: Previous Links followed back from `record`, at most MAX_PARTS steps. */
async function firstPartOf(reader: StoreReader, record: ManagedObjectRecord, ctx: OperationContext): Promise<string | undefined> {
  if (linkOf(record, Enum.LinkType.PreviousLink) === undefined && linkOf(record, Enum.LinkType.NextLink) === undefined) return undefined;
  let current = record;
  for (let steps = 0; steps < MAX_PARTS; steps++) {
    const previous = linkOf(current, Enum.LinkType.PreviousLink);
    if (previous === undefined) return current.uid;
    const found = await reader.get(previous as UniqueIdentifier, ctx.identity.name);
    if (found === undefined) return previous; // a deleted part still names its split
    current = found;
  }
  return current.uid;
}

function linkOf(record: ManagedObjectRecord, linkType: number): string | undefined {
  for (const link of record.attributes) {
    if (link.tag !== Tag.Link || link.type !== 'Structure') continue;
    const type = link.value.find((c) => c.tag === Tag.LinkType);
    const target = link.value.find((c) => c.tag === Tag.LinkedObjectIdentifier);
    if (type?.value === linkType && target?.type === 'TextString') return target.value;
  }
  return undefined;
}

/** The parts agree on their split and are enough to join it; answers the first. */
function checkOneSplit(parts: readonly Part[], ctx: OperationContext): Part {
  const first = parts[0]!;
  const sameDescription = (p: Part): boolean => p.describe.length === first.describe.length && p.describe.every((d, i) => d.tag === first.describe[i]!.tag && d.value === first.describe[i]!.value);
  for (const p of parts) {
    if (p.parts !== first.parts || p.threshold !== first.threshold || p.method !== first.method || p.prime !== first.prime || p.splitId !== first.splitId || !sameDescription(p)) {
      throw new KmipError('InvalidField', `Split Keys ${first.record.uid} and ${p.record.uid} are parts of different splits`);
    }
  }
  if (new Set(parts.map((p) => p.share.x)).size !== parts.length) throw new KmipError('InvalidField', 'two of the Split Keys have the same Key Part Identifier');
  if (parts.some((p) => p.share.y.length !== first.share.y.length || p.share.x < 1 || p.share.x > first.parts)) {
    throw new KmipError('InvalidField', 'the Split Keys are not consistent parts of one split');
  }
  if (parts.length < first.threshold) {
    // 1.4 §11.40: "Number of Unique Identifiers given in request is less than Split Key Threshold".
    throw new KmipError('CryptographicFailure', `this split needs ${first.threshold} of its ${first.parts} parts; ${parts.length} given`);
  }
  if (!([M.XOR, M.PolynomialSharingGF2_8, M.PolynomialSharingPrimeField] as number[]).includes(first.method)) {
    throw new KmipError(reason(ctx, 'FeatureNotSupported', 'InvalidField'), 'kmipd joins XOR, Polynomial Sharing GF(2^8) and Polynomial Sharing Prime Field splits only');
  }
  return first;
}

function combine(parts: readonly Part[], first: Part, ctx: OperationContext): Buffer {
  const shares = parts.map((p) => p.share);
  try {
    if (first.method === M.XOR) return joinXor(shares);
    if (first.method === M.PolynomialSharingGF2_8) return joinGf256(shares);
    const bits = find(first.describe, Tag.CryptographicLength);
    if (first.prime === undefined || bits?.type !== 'Integer' || bits.value % 8 !== 0) throw new RangeError('no prime or length');
    return joinPrime(shares, first.prime, bits.value / 8);
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    ctx.log.warn({ parts: parts.map((p) => p.record.uid) }, 'split key parts did not join');
    throw new KmipError('CryptographicFailure', 'the Split Keys do not join into a key: they are not consistent parts of one split');
  }
}

function valueOf(objectType: string, format: number, material: Item, attrs: readonly Item[], secretDataType: number | undefined): StructureItem {
  const block: Item[] = [item(Tag.KeyFormatType, 'Enumeration', format), structure(Tag.KeyValue, [material])];
  if (objectType === 'SecretData') {
    return structure(Tag.SecretData, [item(Tag.SecretDataType, 'Enumeration', secretDataType ?? Enum.SecretDataType.Seed), structure(Tag.KeyBlock, block)]);
  }
  const algorithm = find(attrs, Tag.CryptographicAlgorithm);
  const length = find(attrs, Tag.CryptographicLength);
  return structure(Tag.SymmetricKey, [structure(Tag.KeyBlock, [...block, ...(algorithm ? [algorithm] : []), ...(length ? [length] : [])])]);
}

/**
 * Create Key Pair (KMIP 2.1 §6.1.9; 1.4 §4.2): a server-generated RSA (1024–4096 bits), DSA (1024,
 * 2048, 3072 bits), EC (P-256, P-384, P-521) or, in KMIP 2.x, Ed25519 / Ed448 key pair, made with node:crypto. The request's Common Attributes apply to
 * both keys, the Private / Public Key Attributes to one each and take precedence (1.x: the Common /
 * Private Key / Public Key Template-Attribute). The two keys are linked to each other, sealed before
 * the store sees them and stored in one transaction; the ID Placeholder becomes the Private Key's
 * Unique Identifier. Held formats: see src/objects/key-formats.ts.
 */
import { type KeyObject, generateKeyPair, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { checkCreationAttributes, initialAttributes, isMultiInstance, ruleFor } from '../objects/attribute-rules.js';
import { child, find, refOf, sameItem, sameRef, withReplaced } from '../objects/items.js';
import { CURVES, type Curve, EDWARDS, type Edwards, defaultFormat, isEcAlgorithm, keyBlockOf } from '../objects/key-formats.js';
import { fromV1TemplateAttribute } from '../objects/v1-attributes.js';
import type { ManagedObjectRecord, ObjectTypeName } from '../objects/types.js';
import { checkNamesUnique, linkItem, protectionStorageMask, reason, sealObject } from './managed.js';
import { RNG } from './generation.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const generate = promisify(generateKeyPair);

export const RSA_LENGTHS: readonly number[] = [1024, 2048, 3072, 4096];

/**
 * DSA: the (L, N) pairs of FIPS 186-4 §4.2, by L (the Cryptographic Length, the bit length of P);
 * for L = 2048 kmipd takes N = 256. OpenSSL generates the domain parameters with the key.
 */
export const DSA_DIVISORS: ReadonlyMap<number, number> = new Map([
  [1024, 160],
  [2048, 256],
  [3072, 256],
]);


export interface PairAttributes {
  readonly common: readonly Item[];
  readonly privateKey: readonly Item[];
  readonly publicKey: readonly Item[];
}

/** The three attribute lists of a Create Key Pair or Re-key Key Pair, in 2.1 form whatever the request's version. */
export function pairAttributes(payload: Fields, ctx: OperationContext): PairAttributes {
  const v2 = isV2(ctx.version);
  const read = (v2tag: number, v1tag: number): Item[] => {
    if (v2) return payload.struct(v2tag)?.item.value ?? [];
    const template = payload.optional(v1tag);
    return template === undefined ? [] : fromV1TemplateAttribute(template).value;
  };
  return {
    common: read(Tag.CommonAttributes, Tag.CommonTemplateAttribute),
    privateKey: read(Tag.PrivateKeyAttributes, Tag.PrivateKeyTemplateAttribute),
    publicKey: read(Tag.PublicKeyAttributes, Tag.PublicKeyTemplateAttribute),
  };
}

/**
 * One key's attributes: its own, then the common ones it does not override. 2.1 §6.1.9: the
 * Private / Public Key Attributes "take precedence over the Common Attributes"; for multi-instance
 * attributes "the union of the values … SHALL be used".
 */
export function merge(objectType: ObjectTypeName, own: readonly Item[], common: readonly Item[]): Item[] {
  const out = [...own];
  for (const attr of common) {
    const ref = refOf(attr);
    const rule = ruleFor(ref);
    const multi = rule !== undefined && isMultiInstance(rule, objectType);
    if (multi ? !out.some((a) => sameItem(a, attr)) : !out.some((a) => sameRef(refOf(a), ref))) out.push(attr);
  }
  return out;
}

export interface KeySpec {
  readonly kind: 'rsa' | 'ec' | 'dsa' | 'eddsa';
  readonly length: number;
  readonly curve?: Curve;
  readonly edwards?: Edwards;
}

/** 2.1 Table 191: these SHALL be the same for both keys. */
const SAME_FOR_BOTH: readonly number[] = [Tag.CryptographicAlgorithm, Tag.CryptographicLength, Tag.CryptographicDomainParameters, Tag.CryptographicParameters];

/**
 * What to generate, from the merged attributes: the algorithm and length, and for EC the curve from
 * the Cryptographic Domain Parameters' Recommended Curve or else from the length. Adds the length
 * (or curve length) to both lists where the client left it out.
 */
export function keySpec(priv: Item[], pub: Item[], ctx: OperationContext): KeySpec {
  const badValue = reason(ctx, 'InvalidAttributeValue', 'InvalidField');
  for (const tag of SAME_FOR_BOTH) {
    const a = find(priv, tag);
    const b = find(pub, tag);
    if (a !== undefined && b !== undefined && !sameItem(a, b)) {
      throw new KmipError(badValue, 'the private and public key must have the same Cryptographic Algorithm, Length, Domain Parameters and Parameters (KMIP 2.1 §6.1.9, Table 191)');
    }
  }
  const algorithm = find(priv, Tag.CryptographicAlgorithm) ?? find(pub, Tag.CryptographicAlgorithm);
  if (algorithm?.type !== 'Enumeration') throw new KmipError('InvalidField', 'Create Key Pair needs a Cryptographic Algorithm (RSA, DSA, EC, ECDSA, ECDH, Ed25519 or Ed448)');
  const lengthItem = find(priv, Tag.CryptographicLength) ?? find(pub, Tag.CryptographicLength);
  const length = lengthItem?.type === 'Integer' ? lengthItem.value : undefined;
  const params = find(priv, Tag.CryptographicDomainParameters) ?? find(pub, Tag.CryptographicDomainParameters);
  const named = params === undefined ? undefined : child(params, Tag.RecommendedCurve);
  const edwards = EDWARDS.find((e) => e.algorithm === algorithm.value);
  if (edwards !== undefined) return edwardsSpec(edwards, length, named, ctx);
  if (algorithm.value === Enum.CryptographicAlgorithm.RSA) {
    if (length === undefined || !RSA_LENGTHS.includes(length)) {
      throw new KmipError(badValue, `kmipd generates RSA keys of 1024, 2048, 3072 or 4096 bits, not ${length === undefined ? 'an unspecified length' : String(length)}`);
    }
    return { kind: 'rsa', length };
  }
  if (algorithm.value === Enum.CryptographicAlgorithm.DSA) {
    if (length === undefined || !DSA_DIVISORS.has(length)) {
      throw new KmipError(badValue, `kmipd generates DSA keys of 1024, 2048 or 3072 bits (FIPS 186-4), not ${length === undefined ? 'an unspecified length' : String(length)}`);
    }
    return { kind: 'dsa', length };
  }
  if (!isEcAlgorithm(algorithm.value)) throw new KmipError(badValue, 'kmipd generates RSA, DSA, EC (ECDSA, ECDH), Ed25519 and Ed448 key pairs only');
  let curve: Curve | undefined;
  if (named !== undefined) {
    curve = named.type === 'Enumeration' ? CURVES.find((c) => c.recommended === named.value) : undefined;
    if (curve === undefined) throw new KmipError(badValue, 'kmipd generates EC keys on the Recommended Curves P-256, P-384 and P-521 only');
    if (length !== undefined && length !== curve.bits) throw new KmipError(badValue, `a key on that curve is ${curve.bits} bits long, not ${length}`);
  } else {
    curve = CURVES.find((c) => c.bits === length);
    if (curve === undefined) {
      throw new KmipError(badValue, 'an EC key pair needs a Recommended Curve (P-256, P-384, P-521) in its Cryptographic Domain Parameters, or a Cryptographic Length of 256, 384 or 521');
    }
  }
  return { kind: 'ec', length: curve.bits, curve };
}

/**
 * Ed25519 / Ed448 (KMIP 2.0 on; 1.4 has no such Cryptographic Algorithm). The curve is fixed by the
 * algorithm: a Recommended Curve, if given, is CURVE25519 / CURVE448, and a Cryptographic Length, if
 * given, is the curve's 255 / 448 (see EDWARDS in src/objects/key-formats.ts).
 */
function edwardsSpec(edwards: Edwards, length: number | undefined, named: Item | undefined, ctx: OperationContext): KeySpec {
  if (!isV2(ctx.version)) throw new KmipError('InvalidField', `${edwards.title} is a KMIP 2.0 Cryptographic Algorithm: create it over KMIP 2.0 or later`);
  if (named !== undefined && (named.type !== 'Enumeration' || named.value !== edwards.curve)) {
    throw new KmipError('InvalidAttributeValue', `an ${edwards.title} key is on the Recommended Curve ${edwards.type === 'ed25519' ? 'CURVE25519' : 'CURVE448'} only`);
  }
  if (length !== undefined && length !== edwards.bits) throw new KmipError('InvalidAttributeValue', `an ${edwards.title} key is ${edwards.bits} bits long, not ${length}`);
  return { kind: 'eddsa', length: edwards.bits, edwards };
}

export async function generatePair(spec: KeySpec): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  if (spec.kind === 'rsa') return generate('rsa', { modulusLength: spec.length, publicExponent: 0x10001 });
  if (spec.kind === 'dsa') return generate('dsa', { modulusLength: spec.length, divisorLength: DSA_DIVISORS.get(spec.length)! });
  if (spec.kind === 'eddsa') return spec.edwards!.type === 'ed25519' ? generate('ed25519', {}) : generate('ed448', {});
  return generate('ec', { namedCurve: spec.curve!.openssl });
}

/** The client's Key Format Type for one key, if it asked for one (2.1 §4.26), else kmipd's held format. */
function formatFor(attrs: readonly Item[], key: KeyObject): number {
  const given = find(attrs, Tag.KeyFormatType);
  return given?.type === 'Enumeration' ? given.value : defaultFormat(key);
}

export interface NewPair {
  readonly privateRecord: ManagedObjectRecord;
  readonly publicRecord: ManagedObjectRecord;
}

/**
 * Builds both records of a new pair: key blocks in their formats, sealed; the server attributes
 * dated `now`; the Links between them and any `extra` ones (Re-key Key Pair's Replaced Object Links).
 */
export async function buildPair(
  ctx: OperationContext,
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  attrs: { privateKey: Item[]; publicKey: Item[] },
  extra: { privateKey: Item[]; publicKey: Item[] } = { privateKey: [], publicKey: [] },
  now: number = ctx.clock.now(),
): Promise<NewPair> {
  const v2 = isV2(ctx.version);
  const uids = { privateKey: randomUUID(), publicKey: randomUUID() };
  const build = async (side: 'privateKey' | 'publicKey'): Promise<ManagedObjectRecord> => {
    const objectType: ObjectTypeName = side === 'privateKey' ? 'PrivateKey' : 'PublicKey';
    const requested = attrs[side];
    const key = keys[side];
    const format = formatFor(requested, key);
    const block = keyBlockOf(key, format, undefined, find(requested, Tag.CryptographicAlgorithm)!, find(requested, Tag.CryptographicLength)!, v2);
    const material = child(child(block, Tag.KeyValue)!, Tag.KeyMaterial)!;
    const value = structure(Tag[objectType], [block]);
    const sealedValue = await sealObject(ctx, uids[side], value);
    const { state, attributes } = initialAttributes({
      objectType,
      uid: uids[side],
      now,
      origin: 'generated',
      requested,
      digestOf: [{ value: material, keyFormatType: format }],
      keyFormatType: format,
      rng: RNG,
      protectionStorageMask: protectionStorageMask(ctx),
    });
    // The plaintext DER is sealed and digested: it is not kept past this request.
    if (material.type === 'ByteString') material.value.fill(0);
    // 2.1 §6.1.9: the private key links to the public key and the public key to the private key.
    const link = side === 'privateKey' ? linkItem(Enum.LinkType.PublicKeyLink, uids.publicKey) : linkItem(Enum.LinkType.PrivateKeyLink, uids.privateKey);
    return { uid: uids[side] as ManagedObjectRecord['uid'], objectType, state, owner: ctx.identity.name, attributes: [...attributes, link, ...extra[side]], sealedValue };
  };
  return { privateRecord: await build('privateKey'), publicRecord: await build('publicKey') };
}

/** Both keys' final attribute lists, checked: what each may be given, and the same algorithm and length on both. */
export function checkedPairAttributes(given: PairAttributes, ctx: OperationContext): { privateKey: Item[]; publicKey: Item[]; spec: KeySpec } {
  const privateKey = merge('PrivateKey', given.privateKey, given.common);
  const publicKey = merge('PublicKey', given.publicKey, given.common);
  checkCreationAttributes('PrivateKey', privateKey, 'create', { version: ctx.version });
  checkCreationAttributes('PublicKey', publicKey, 'create', { version: ctx.version });
  const spec = keySpec(privateKey, publicKey, ctx);
  const algorithm = find(privateKey, Tag.CryptographicAlgorithm) ?? find(publicKey, Tag.CryptographicAlgorithm)!;
  const length = item(Tag.CryptographicLength, 'Integer', spec.length);
  return { privateKey: withReplaced(privateKey, [algorithm, length]), publicKey: withReplaced(publicKey, [algorithm, length]), spec };
}

/** A Name given to both keys of one request would be held twice (2.1 §4.32). */
export function checkPairNames(privateKey: readonly Item[], publicKey: readonly Item[], ctx: OperationContext): void {
  for (const name of privateKey.filter((a) => a.tag === Tag.Name)) {
    if (publicKey.some((b) => sameItem(b, name))) {
      throw new KmipError(reason(ctx, 'NonUniqueNameAttribute', 'InvalidField'), 'the private and public key cannot have the same Name (KMIP 2.1 §4.32)');
    }
  }
}

/**
 * 2.1 §6.1.9 / §6.1.47: the Common / Private / Public Protection Storage Masks list where each key
 * may be kept; kmipd keeps keys where its keyring is, so a list without that place is refused.
 */
export function checkPairStorageMasks(payload: Fields, ctx: OperationContext): void {
  const ours = protectionStorageMask(ctx);
  const sides: [number, 'PrivateProtectionStorageUnavailable' | 'PublicProtectionStorageUnavailable' | undefined][] = [
    [Tag.CommonProtectionStorageMasks, undefined],
    [Tag.PrivateProtectionStorageMasks, 'PrivateProtectionStorageUnavailable'],
    [Tag.PublicProtectionStorageMasks, 'PublicProtectionStorageUnavailable'],
  ];
  for (const [tag, unavailable] of sides) {
    const masks = payload.struct(tag)?.values(Tag.ProtectionStorageMask, 'Integer');
    if (masks !== undefined && !masks.some((m) => (m & ours) !== 0)) {
      throw new KmipError(unavailable ?? 'PrivateProtectionStorageUnavailable', 'none of the requested Protection Storage Masks is where this server keeps keys');
    }
  }
}

export function pairResponse(pair: NewPair): Item[] {
  return [item(Tag.PrivateKeyUniqueIdentifier, 'TextString', pair.privateRecord.uid), item(Tag.PublicKeyUniqueIdentifier, 'TextString', pair.publicRecord.uid)];
}

/** 2.1 §6.1.9: "The ID Placeholder value SHALL be set to the Unique Identifier of the Private Key." */
export function privateKeyUid(response: Item[]): string | undefined {
  const found = response.find((it) => it.tag === Tag.PrivateKeyUniqueIdentifier);
  return found?.type === 'TextString' ? found.value : undefined;
}

export const createKeyPair: OperationDefinition = {
  name: 'CreateKeyPair',
  mutates: true,
  permission: 'write',
  objectTypes: ['PublicKey', 'PrivateKey'],
  placeholder: privateKeyUid,
  async handler(payload, ctx) {
    const { privateKey, publicKey, spec } = checkedPairAttributes(pairAttributes(payload, ctx), ctx);
    checkPairStorageMasks(payload, ctx);
    checkPairNames(privateKey, publicKey, ctx);
    const keys = await generatePair(spec);
    const pair = await buildPair(ctx, keys, { privateKey, publicKey });
    await ctx.store.transaction(async (tx) => {
      await checkNamesUnique(tx, [...privateKey, ...publicKey], ctx);
      await tx.insert(pair.privateRecord, { uidGenerated: true });
      await tx.insert(pair.publicRecord, { uidGenerated: true });
    });
    return pairResponse(pair);
  },
};

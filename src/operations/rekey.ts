/**
 * Re-key (KMIP 2.1 §6.1.46; 1.4 §4.4): a replacement for an existing Symmetric Key: fresh key
 * bytes of the same algorithm and length, the existing key's attributes except those of the
 * spec's "Re-key Attribute Requirements" table (2.1 Table 304, 1.4 Table 173), its Names moved to
 * the replacement, and Replacement Object / Replaced Object Links between the two. The existing
 * key is updated and the replacement inserted in one store transaction.
 */
import { randomUUID } from 'node:crypto';
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { type DigestSource, checkCreationAttributes, initialAttributes, isMultiInstance, ruleFor, stampLastChange } from '../objects/attribute-rules.js';
import { dateItem, dateOf, find, refOf, sameItem, withReplaced } from '../objects/items.js';
import { effectiveState, stateTitle, wrongState } from '../objects/lifecycle.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import {
  checkNamesUnique,
  creationAttributes,
  firstUid,
  linkItem,
  ownObject,
  protectionStorageMask,
  reason,
  sealObject,
  targetUid,
  uidItem,
} from './managed.js';
import { checkQuantumSafe, generatedKind, symmetricKeyBytes } from './create.js';
import { RNG, replacementUsageLimits } from './generation.js';
import { discardResident, generateResident, residentAttributes, residentRefOf, wantsResident } from './hsm-resident.js';
import type { OperationContext, OperationDefinition } from './registry.js';

/**
 * Symmetric algorithms whose keys are uniformly random bytes, so a replacement is
 * `randomBytes(length / 8)` whatever whole-byte length the existing key has; Triple DES replacements
 * are three-key TDEA with odd parity (create.ts `tripleDesKeyBytes`).
 */
const RANDOM_KEY_ALGORITHMS: readonly number[] = [
  Enum.CryptographicAlgorithm.AES,
  Enum.CryptographicAlgorithm.ChaCha20,
  Enum.CryptographicAlgorithm.ChaCha20Poly1305,
  Enum.CryptographicAlgorithm.HMAC_SHA1,
  Enum.CryptographicAlgorithm.HMAC_SHA224,
  Enum.CryptographicAlgorithm.HMAC_SHA256,
  Enum.CryptographicAlgorithm.HMAC_SHA384,
  Enum.CryptographicAlgorithm.HMAC_SHA512,
  Enum.CryptographicAlgorithm.HMAC_SHA3_224,
  Enum.CryptographicAlgorithm.HMAC_SHA3_256,
  Enum.CryptographicAlgorithm.HMAC_SHA3_384,
  Enum.CryptographicAlgorithm.HMAC_SHA3_512,
];

/** Whether a replacement of this algorithm and length can be generated. */
function renewable(algorithm: number, length: number): boolean {
  if (algorithm === Enum.CryptographicAlgorithm.DES3) return generatedKind(algorithm)?.accepts(length) === true;
  return RANDOM_KEY_ALGORITHMS.includes(algorithm) && length > 0 && length % 8 === 0;
}

/** The dates an Offset moves (2.1 Table 303), Activation Date first. */
const SHIFTED_DATES: readonly number[] = [Tag.ActivationDate, Tag.ProcessStartDate, Tag.ProtectStopDate, Tag.DeactivationDate];

/**
 * Attributes of the existing key the replacement does not take over: the server sets them afresh
 * (Table 304: Initial Date, Unique Identifier, State, Digest, Link, Last Change Date, Random Number
 * Generator; Fresh, Original Creation Date and Key Format Type (Raw) as for any generated key), Usage Limits are rebuilt,
 * and the dates come from `replacementDates`.
 */
const NOT_CARRIED: readonly number[] = [Tag.Fresh, Tag.KeyFormatType, Tag.Link, Tag.OriginalCreationDate, Tag.RandomNumberGenerator, Tag.UsageLimits, ...SHIFTED_DATES];

export const rekey: OperationDefinition = {
  name: 'ReKey',
  mutates: true,
  permission: 'write',
  objectTypes: ['SymmetricKey'],
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    const offset = payload.get(Tag.Offset, 'Interval');
    const requested = creationAttributes(payload, ctx);
    checkCreationAttributes('SymmetricKey', requested, 'create', { version: ctx.version });
    if (offset !== undefined && requested.some((a) => SHIFTED_DATES.includes(a.tag))) {
      // 1.4 §11.5: "Offset field is not permitted to be specified at the same time as any of the … dates".
      throw new KmipError('InvalidMessage', 'an Offset cannot be given together with an Activation, Process Start, Protect Stop or Deactivation Date (KMIP 1.4 §11.5)');
    }
    checkStorageMasks(payload, ctx);

    // The key bytes are generated and sealed before the transaction, from the algorithm and length the existing key has.
    const existing = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    const { algorithm, length } = rekeyable(existing, requested, ctx);
    // The replacement is required to be Quantum Safe if the request or the existing key says so (2.1 §4.45).
    checkQuantumSafe(find(requested, Tag.QuantumSafe) === undefined ? existing.attributes : requested, algorithm, length);
    const newUid = randomUUID();
    // The replacement of an HSM-resident key is made in the HSM too, as is one the request asks to be resident.
    if (residentRefOf(existing) !== undefined || wantsResident(requested, ctx)) {
      if (algorithm !== Enum.CryptographicAlgorithm.AES) throw new KmipError('FeatureNotSupported', 'kmipd generates AES keys only inside the HSM');
      await rekeyResident(ctx, uid, newUid, residentAttributes(requested, ctx), offset, { algorithm, length });
      return [uidItem(newUid)];
    }
    const material = symmetricKeyBytes(algorithm, length);
    const keyMaterial = item(Tag.KeyMaterial, 'ByteString', material);
    const value = structure(Tag.SymmetricKey, [
      structure(Tag.KeyBlock, [
        item(Tag.KeyFormatType, 'Enumeration', Enum.KeyFormatType.Raw),
        structure(Tag.KeyValue, [keyMaterial]),
        item(Tag.CryptographicAlgorithm, 'Enumeration', algorithm),
        item(Tag.CryptographicLength, 'Integer', length),
      ]),
    ]);
    try {
      const sealedValue = await sealObject(ctx, newUid, value);
      await storeReplacement(ctx, uid, newUid, requested, offset, { algorithm, length }, { sealedValue, digestOf: [{ value: keyMaterial, keyFormatType: Enum.KeyFormatType.Raw }], rng: RNG });
    } finally {
      material.fill(0);
    }
    return [uidItem(newUid)];
  },
};

/** What the replacement is made of: its sealed value and digest, or (HSM-resident) the reference attribute in `extra`. */
interface Replacement {
  sealedValue?: Uint8Array;
  digestOf?: DigestSource[];
  rng?: Item;
  extra?: Item[];
}

/**
 * Stores the replacement and updates the existing key in one transaction (2.1 Table 304): carried
 * attributes, dates, Usage Limits, Links both ways, Names moved.
 */
async function storeReplacement(
  ctx: OperationContext,
  uid: UniqueIdentifier,
  newUid: string,
  requested: readonly Item[],
  offset: number | undefined,
  expected: { algorithm: number; length: number },
  made: Replacement,
): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const old = await ownObject(tx, uid, ctx);
    const again = rekeyable(old, requested, ctx);
    if (again.algorithm !== expected.algorithm || again.length !== expected.length) throw new KmipError('CryptographicFailure', `object ${uid} changed during the Re-key; retry`);
    const now = ctx.clock.now();
    const carried = withRequested(
      [...old.attributes.filter(carriedOver), ...replacementDates(old.attributes, offset, now), ...replacementUsageLimits(old.attributes), linkItem(Enum.LinkType.ReplacedObjectLink, uid)],
      requested,
    );
    const lease = find(old.attributes, Tag.LeaseTime);
    const { state, attributes } = initialAttributes({
      objectType: 'SymmetricKey',
      uid: newUid,
      now,
      origin: 'generated',
      requested: carried,
      ...(made.digestOf ? { digestOf: made.digestOf } : {}),
      keyFormatType: Enum.KeyFormatType.Raw,
      ...(made.rng ? { rng: made.rng } : {}),
      protectionStorageMask: protectionStorageMask(ctx),
      ...(lease?.type === 'Interval' ? { leaseTime: lease.value } : {}),
    });
    // Table 304, Name: "all name attributes are removed from the existing key". The existing key
    // gives up its Names before the replacement is stored, so no Name is ever held twice.
    old.attributes = stampLastChange([...old.attributes.filter((a) => a.tag !== Tag.Name), linkItem(Enum.LinkType.ReplacementObjectLink, newUid)], now);
    await tx.update(old);
    await checkNamesUnique(tx, requested, ctx);
    const record: ManagedObjectRecord = { uid: newUid as ManagedObjectRecord['uid'], objectType: 'SymmetricKey', state, owner: ctx.identity.name, attributes: [...attributes, ...(made.extra ?? [])] };
    if (made.sealedValue !== undefined) record.sealedValue = made.sealedValue;
    await tx.insert(record, { uidGenerated: true });
  });
}

/** Re-key of an HSM-resident key: the replacement is generated in the HSM and removed again if it cannot be stored. */
async function rekeyResident(
  ctx: OperationContext,
  uid: UniqueIdentifier,
  newUid: string,
  requested: Item[],
  offset: number | undefined,
  expected: { algorithm: number; length: number },
): Promise<void> {
  const refAttr = await generateResident(ctx, newUid, expected.length);
  try {
    // The HSM's generator made the key: no RNG kmipd can describe, and no Digest (2.1 §4.21: the server has no access to the Key Material).
    await storeReplacement(ctx, uid, newUid, requested, offset, expected, { extra: [refAttr] });
  } catch (err) {
    await discardResident(ctx, refAttr);
    throw err;
  }
}

/** The existing key's algorithm and length, if it can be re-keyed; the refusal otherwise. */
function rekeyable(record: ManagedObjectRecord, requested: readonly Item[], ctx: OperationContext): { algorithm: number; length: number } {
  if (record.objectType !== 'SymmetricKey') {
    // 1.4 §11.5: "Object specified is not able to be re-keyed" → Permission Denied.
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'PermissionDenied'), `Re-key replaces Symmetric Keys only, not a ${record.objectType} (KMIP 2.1 §6.1.46)`);
  }
  const state = effectiveState(record, ctx.clock.now());
  if (state === 'Destroyed' || state === 'DestroyedCompromised') {
    throw wrongState(`the key is ${stateTitle(state)}; a destroyed key is not re-keyed`, ctx.version);
  }
  const algorithm = find(record.attributes, Tag.CryptographicAlgorithm);
  const length = find(record.attributes, Tag.CryptographicLength);
  if (algorithm?.type !== 'Enumeration' || length?.type !== 'Integer') {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'PermissionDenied'), `object ${record.uid} has no Cryptographic Algorithm and Length to re-key with`);
  }
  if (!renewable(algorithm.value, length.value)) {
    throw new KmipError('FeatureNotSupported', 'kmipd re-keys AES, ChaCha20 and HMAC keys whose length is a whole number of bytes, and three-key Triple DES keys');
  }
  for (const given of [find(requested, Tag.CryptographicAlgorithm), find(requested, Tag.CryptographicLength)]) {
    const held = given?.tag === Tag.CryptographicAlgorithm ? algorithm : length;
    if (given !== undefined && (given.type !== held.type || given.value !== held.value)) {
      throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), 'a replacement key has the Cryptographic Algorithm and Length of the key it replaces');
    }
  }
  return { algorithm: algorithm.value, length: length.value };
}

/** 2.1 Table 305: the permissible Protection Storage Masks; kmipd stores where its keyring is. */
function checkStorageMasks(payload: Fields, ctx: OperationContext): void {
  const masks = payload.struct(Tag.ProtectionStorageMasks)?.values(Tag.ProtectionStorageMask, 'Integer');
  if (masks === undefined) return;
  const ours = protectionStorageMask(ctx);
  if (!masks.some((m) => (m & ours) !== 0)) {
    throw new KmipError('ProtectionStorageUnavailable', 'none of the requested Protection Storage Masks is where this server keeps keys');
  }
}

/** Client-visible attributes of the existing key that the replacement keeps (server-only ones are set afresh). */
function carriedOver(attr: Item): boolean {
  if (NOT_CARRIED.includes(attr.tag)) return false;
  const rule = ruleFor(refOf(attr));
  return rule !== undefined && (rule.initiallySetBy !== 'server' || rule.inRequest.includes('create'));
}

/**
 * 2.1 §6.1.46 / Table 303: without an Offset the dates are copied; with one, the replacement's
 * Activation Date is its Initial Date (now) plus the Offset, and the other dates keep their distance
 * to it. An Offset cannot place them when the existing key has them but no Activation Date (1.4 §11.5).
 */
function replacementDates(attrs: readonly Item[], offset: number | undefined, now: number): Item[] {
  const present = SHIFTED_DATES.flatMap((tag) => {
    const value = dateOf(attrs, tag);
    return value === undefined ? [] : [{ tag, value }];
  });
  if (offset === undefined) return present.map((d) => dateItem(d.tag, d.value));
  const at1 = dateOf(attrs, Tag.ActivationDate);
  const at2 = now + offset;
  if (at1 === undefined) {
    if (present.length > 0) {
      throw new KmipError('IllegalOperation', 'the existing key has no Activation Date, so an Offset cannot place its Process Start, Protect Stop or Deactivation Date (KMIP 1.4 §11.5)');
    }
    return [dateItem(Tag.ActivationDate, at2)];
  }
  return present.map((d) => dateItem(d.tag, d.value + (at2 - at1)));
}


/** The carried attributes with the client's requested ones on top: a single-instance one replaces, a multi-instance one is added. */
function withRequested(carried: Item[], requested: readonly Item[]): Item[] {
  let out = carried;
  for (const attr of requested) {
    const ref = refOf(attr);
    const rule = ruleFor(ref);
    if (rule !== undefined && isMultiInstance(rule, 'SymmetricKey')) {
      if (!out.some((a) => sameItem(a, attr))) out = [...out, attr];
    } else out = withReplaced(out, [attr]);
  }
  return out;
}

/**
 * Loading the caller's key for a cryptographic operation (Sign, Signature Verify, MAC, MAC Verify,
 * Encrypt, Decrypt…): the object must be the caller's (Item Not Found otherwise), of a type the
 * operation takes, usable for its purpose at the current time (KMIP 2.1 §4.57: protect needs
 * Active, process needs Active or policy's leave), its Cryptographic Usage Mask must hold the
 * operation's bit (2.1 §4.20), and it must still have key material. Refusals use the 2.x Result
 * Reasons, and the 1.x ones the 1.4 test cases expect (Permission Denied: CS-AC-M-8-14).
 */
import { type Item, item, structure } from '../ttlv/index.js';
import { isV2 } from '../kmip/version.js';
import { multipart, partsOf } from '../crypto/sign-multipart.js';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { stampLastChange } from '../objects/attribute-rules.js';
import { child, find, withReplaced } from '../objects/items.js';
import { type Purpose, assertUsable } from '../objects/lifecycle.js';
import type { ManagedObjectRecord, ObjectTypeName, UniqueIdentifier } from '../objects/types.js';
import { ownObject, reason, targetUid, uidItem, unsealObject } from './managed.js';
import type { OperationContext } from './registry.js';
import { usageAllowance } from './get-usage-allocation.js';

export interface KeyNeed {
  /** The object types the operation takes, e.g. ['PrivateKey'] for Sign. */
  readonly objectTypes: readonly ObjectTypeName[];
  readonly purpose: Purpose;
  /** The Cryptographic Usage Mask bit the key must hold (Mask.CryptographicUsageMask.Sign…). */
  readonly usage: number;
  /** The operation, for messages: 'Sign'. */
  readonly operation: string;
}

export interface UsableKey {
  readonly record: ManagedObjectRecord;
  /** The object's value structure (Private Key, Symmetric Key…), plaintext: zero its key bytes with `wipe` when done. */
  readonly value: Item;
  readonly block: Fields;
  /** The Cryptographic Algorithm attribute (or the key block's), if any. */
  readonly algorithm: number | undefined;
  /** The object's Cryptographic Parameters attribute, if it has one. */
  readonly parameters: Fields | undefined;
}

/** The caller's key for `need`, checked and unsealed. */
export async function usableKey(uid: UniqueIdentifier, ctx: OperationContext, need: KeyNeed): Promise<UsableKey> {
  return unsealedKey(await ctx.store.read((reader) => ownObject(reader, uid, ctx)), ctx, need);
}

/** Refuses a key that cannot serve `need`: its type, state, dates and usage mask (2.x / 1.x reasons). */
export function assertKeyFor(record: ManagedObjectRecord, ctx: OperationContext, need: KeyNeed): void {
  const uid = record.uid;
  if (!need.objectTypes.includes(record.objectType)) {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'PermissionDenied'), `${need.operation} takes a ${need.objectTypes.join(' or ')}, and object ${uid} is a ${record.objectType}`);
  }
  assertUsable(record, need.purpose, ctx.clock.now(), { version: ctx.version });
  const mask = find(record.attributes, Tag.CryptographicUsageMask);
  const held = mask?.type === 'Integer' ? mask.value : 0;
  if ((held & need.usage) !== need.usage) {
    throw new KmipError(
      reason(ctx, 'IncompatibleCryptographicUsageMask', 'PermissionDenied'),
      `the Cryptographic Usage Mask of ${uid} (0x${held.toString(16)}) does not permit ${need.operation} (KMIP 2.1 §4.20)`,
    );
  }
}

/** An already-read key for `need`: checked, then unsealed. */
export async function unsealedKey(record: ManagedObjectRecord, ctx: OperationContext, need: KeyNeed): Promise<UsableKey> {
  const uid = record.uid;
  assertKeyFor(record, ctx, need);
  if (record.sealedValue === undefined) throw new KmipError('KeyValueNotPresent', `object ${uid} has no key material`);
  const value = await unsealObject(ctx, record);
  const block = Fields.of(value, record.objectType).needStruct(Tag.KeyBlock);
  if (block.has(Tag.KeyWrappingData)) throw new KmipError('CryptographicFailure', `the key material of ${uid} is held wrapped; kmipd cannot use it for ${need.operation}`);
  const attr = find(record.attributes, Tag.CryptographicAlgorithm) ?? block.optional(Tag.CryptographicAlgorithm);
  const params = find(record.attributes, Tag.CryptographicParameters);
  return {
    record,
    value,
    block,
    algorithm: attr?.type === 'Enumeration' ? attr.value : undefined,
    parameters: params?.type === 'Structure' ? new Fields(params) : undefined,
  };
}

/** Zeroes every Byte String and Big Integer leaf under a plaintext value (ARCHITECTURE: plaintext lives one request). */
export function wipe(value: Item): void {
  if (value.type === 'Structure') value.value.forEach(wipe);
  else if (value.type === 'ByteString') value.value.fill(0);
}

/** A cryptographic request after its multi-part step: either answered already (a part kept), or to compute. */
export type CryptoRequest =
  | { readonly kind: 'kept'; readonly response: Item[] }
  | {
      readonly kind: 'compute';
      readonly uid: UniqueIdentifier | undefined;
      /** The checked, unsealed key (undefined for Hash); `wipe(key.value)` when done. */
      readonly key: UsableKey | undefined;
      readonly data: Uint8Array | undefined;
      readonly params: Fields | undefined;
      readonly multipart: boolean;
    };

/**
 * The common front of Sign, Signature Verify, MAC, MAC Verify and Hash: the multi-part step (see
 * src/crypto/sign-multipart.ts) and, when there is something to compute or a stream to open, the
 * caller's key checked against `need` — on the first part and again on the final one.
 */
export async function cryptoRequest(payload: Fields, ctx: OperationContext, operation: string, need: KeyNeed | undefined): Promise<CryptoRequest> {
  const parts = partsOf(payload);
  let key: UsableKey | undefined;
  let uid: UniqueIdentifier | undefined;
  if (parts.correlation === undefined && need !== undefined) {
    uid = targetUid(payload, ctx);
    key = await usableKey(uid, ctx, need);
  }
  let step;
  try {
    step = multipart.step(ctx.identity.name, operation, parts, uid, isV2(ctx.version));
  } catch (err) {
    if (key !== undefined) wipe(key.value);
    throw err;
  }
  if (step.kind === 'kept') {
    if (key !== undefined) wipe(key.value);
    return { kind: 'kept', response: [...(step.uid === undefined ? [] : [uidItem(step.uid)]), item(Tag.CorrelationValue, 'ByteString', step.correlation)] };
  }
  const streamUid = step.uid as UniqueIdentifier | undefined;
  if (key === undefined && need !== undefined && streamUid !== undefined) key = await usableKey(streamUid, ctx, need);
  return { kind: 'compute', uid: streamUid, key, data: step.data, params: step.params === undefined ? undefined : Fields.of(step.params, 'Cryptographic Parameters'), multipart: step.multipart };
}

/** Data, required for a single-part request (2.1 §6.1: "Data is always required … except when either Init Indicator or Final Indicator is true"). */
export function needData(data: Uint8Array | undefined, operation: string): Uint8Array {
  if (data === undefined) throw new KmipError('InvalidMessage', `${operation} needs Data`);
  return data;
}

/**
 * Takes the allocation a protecting operation needs from the key's Usage Limits (KMIP 2.1 §4.59),
 * if it has them: one unit when the Usage Limits Unit is Object, the data's length when it is Byte.
 * 2.1 §6.1.55: "If the Managed Cryptographic Object referenced has a Usage Limits attribute then
 * the server SHALL obtain an allocation from the current Usage Limits value prior to performing
 * the signing operation" — refused with Permission Denied there; MAC (§6.1.32) lists Usage Limit
 * Exceeded. The units are spent in their own write, before the operation runs.
 */
export async function takeUsage(key: ManagedObjectRecord, ctx: OperationContext, dataBytes: number, refusal: ResultReasonName): Promise<void> {
  if (usageAllowance(key.attributes) === undefined) return;
  await ctx.store.transaction(async (tx) => {
    const record = await ownObject(tx, key.uid, ctx);
    const allowance = usageAllowance(record.attributes);
    if (allowance === undefined) return;
    const unit = child(allowance.attribute, Tag.UsageLimitsUnit);
    const wanted = unit?.type === 'Enumeration' && unit.value === Enum.UsageLimitsUnit.Byte ? BigInt(dataBytes) : 1n;
    if (wanted > allowance.remaining) {
      throw new KmipError(refusal, `the key's Usage Limits have ${allowance.remaining} of ${allowance.total} units left; this request needs ${wanted}`);
    }
    const rest = allowance.attribute.type === 'Structure' ? allowance.attribute.value.filter((c) => c.tag !== Tag.UsageLimitsCount) : [];
    const updated = structure(Tag.UsageLimits, [...rest, item(Tag.UsageLimitsCount, 'LongInteger', allowance.remaining - wanted)]);
    record.attributes = stampLastChange(withReplaced(record.attributes, [updated]), ctx.clock.now());
    await tx.update(record);
  });
}

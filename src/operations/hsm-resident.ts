/**
 * HSM-resident keys on the operations side (the HSM side is src/keys/resident.ts): which Create
 * or Re-key asks for one, the reference its record keeps instead of a sealed value, and the
 * refusals with their Result Reasons.
 *
 * A client asks for a resident key with Extractable = false (KMIP 2.1 §4.23, 1.4 §3.50), or in any
 * version with the custom attribute `x-kmipd-hsm-resident` = true (1.0 to 1.3 have no Extractable).
 * The record carries the server's read-only `y-kmipd-hsm-key` (the token object's label) and
 * Extractable false, Sensitive true, so Never Extractable and Always Sensitive true.
 */
import { type Item, item } from '../ttlv/index.js';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { atLeast, isV2 } from '../kmip/version.js';
import { KeyringError, type ResidentKeys } from '../keys/types.js';
import { child, find, refOf, vendorAttribute } from '../objects/items.js';
import type { ManagedObjectRecord } from '../objects/types.js';
import type { OperationContext } from './registry.js';

/** The client's request for a resident key, in any protocol version. */
export const RESIDENT_REQUEST = { vendor: 'x', name: 'kmipd-hsm-resident' } as const;
/** The server's record of where the key is: the reference of src/keys/resident.ts. */
export const RESIDENT_REF = { vendor: 'y', name: 'kmipd-hsm-key' } as const;

/** The 2.x reason, or the 1.x one (as managed.ts `reason`, which this module cannot import: managed.ts imports it). */
function reason(ctx: OperationContext, v2: ResultReasonName, v1: ResultReasonName): ResultReasonName {
  return isV2(ctx.version) ? v2 : v1;
}

function isVendor(attr: Item, ref: { vendor: string; name: string }): boolean {
  if (attr.tag !== Tag.Attribute) return false;
  const r = refOf(attr);
  return 'vendor' in r && r.vendor === ref.vendor && r.name === ref.name;
}

function booleanOf(attrs: readonly Item[], tag: number): boolean | undefined {
  const found = find(attrs, tag);
  return found?.type === 'Boolean' ? found.value : undefined;
}

/** Whether the request's attributes ask for a key that never leaves the HSM. */
export function wantsResident(requested: readonly Item[], ctx: OperationContext): boolean {
  const custom = requested.find((a) => isVendor(a, RESIDENT_REQUEST));
  let asked: boolean | undefined;
  if (custom !== undefined) {
    const value = child(custom, Tag.AttributeValue);
    // A Boolean, or the text "true" / "false" (kmipctl and many clients send custom attributes as Text Strings).
    if (value?.type === 'Boolean') asked = value.value;
    else if (value?.type === 'TextString' && /^(true|false)$/i.test(value.value)) asked = value.value.toLowerCase() === 'true';
    else throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), 'x-kmipd-hsm-resident is true or false: true asks for a key generated and kept in the HSM');
  }
  const extractable = booleanOf(requested, Tag.Extractable);
  if (asked === true && extractable === true) {
    throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), 'an HSM-resident key (x-kmipd-hsm-resident) cannot be Extractable');
  }
  return asked === true || extractable === false;
}

/**
 * The requested attributes of a resident key: Extractable false and Sensitive true added when the
 * client left them out (initialAttributes then sets Never Extractable and Always Sensitive true).
 */
export function residentAttributes(requested: readonly Item[], ctx: OperationContext): Item[] {
  if (booleanOf(requested, Tag.Sensitive) === false) {
    throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), 'an HSM-resident key is always Sensitive: its value cannot be read out of the HSM, even wrapped');
  }
  const out = [...requested];
  if (find(out, Tag.Extractable) === undefined) out.push(item(Tag.Extractable, 'Boolean', false));
  if (find(out, Tag.Sensitive) === undefined) out.push(item(Tag.Sensitive, 'Boolean', true));
  return out;
}

/** The HSM's resident keys; refused on a keyring without an HSM (the software keyring). */
export function residentKeys(ctx: OperationContext): ResidentKeys {
  const keys = ctx.keyring.resident;
  if (keys === undefined) {
    // 2.1 §11.1 Protection Storage Unavailable: "could not be completed with the protections requested"; 1.x has no such reason.
    throw new KmipError(
      reason(ctx, 'ProtectionStorageUnavailable', 'FeatureNotSupported'),
      'this server keeps keys in a software keystore, so it cannot make a key that never leaves an HSM (Extractable false, x-kmipd-hsm-resident); use the pkcs11 keyring',
    );
  }
  return keys;
}

/** Generates object `uid`'s AES key inside the HSM; answers the attribute that records its reference. */
export async function generateResident(ctx: OperationContext, uid: string, length: number): Promise<Item> {
  const keys = residentKeys(ctx);
  let ref: string;
  try {
    ref = await keys.generate(uid, { algorithm: 'AES', length });
  } catch (err) {
    if (!(err instanceof KeyringError)) throw err;
    throw new KmipError('CryptographicFailure', `the HSM could not generate the key: ${err.message}`);
  }
  return vendorAttribute(RESIDENT_REF.vendor, RESIDENT_REF.name, item(Tag.AttributeValue, 'TextString', ref));
}

/** Removes a resident key whose object was not stored after all; a failure is logged, not thrown (the key is unreachable anyway). */
export async function discardResident(ctx: OperationContext, refAttr: Item): Promise<void> {
  const value = child(refAttr, Tag.AttributeValue);
  if (value?.type !== 'TextString') return;
  try {
    await residentKeys(ctx).destroy(value.value);
  } catch (err) {
    ctx.log.warn({ ref: value.value, err: (err as Error).message }, 'could not remove an HSM-resident key whose object was not stored');
  }
}

/** The reference of the record's resident key, if it has one. */
export function residentRefOf(record: ManagedObjectRecord): string | undefined {
  const attr = record.attributes.find((a) => isVendor(a, RESIDENT_REF));
  const value = attr === undefined ? undefined : child(attr, Tag.AttributeValue);
  return value?.type === 'TextString' ? value.value : undefined;
}

/**
 * Get's refusal for a key whose value does not leave the server (2.1 §4.23, §6.1.19.1 and 1.4
 * §3.50, Table 338: Not Extractable); 1.0 to 1.3 have no such reason, and Permission Denied is theirs.
 */
export function notExtractable(ctx: OperationContext, record: ManagedObjectRecord): KmipError {
  const where = residentRefOf(record) !== undefined ? 'is kept in the HSM and never leaves it' : 'is not Extractable';
  return new KmipError(atLeast(ctx.version, 1, 4) ? 'NotExtractable' : 'PermissionDenied', `the value of object ${record.uid} ${where}; Get cannot return it, wrapped or not`);
}

/** Whether Get must refuse the record's value: an HSM-resident key, or Extractable false (2.1 §4.23). */
export function isNotExtractable(record: ManagedObjectRecord): boolean {
  return residentRefOf(record) !== undefined || booleanOf(record.attributes, Tag.Extractable) === false;
}

/** Destroy of a resident key: the token object goes too (PKCS#11 C_DestroyObject); a key already gone is fine. */
export async function destroyResident(ctx: OperationContext, record: ManagedObjectRecord): Promise<void> {
  const ref = residentRefOf(record);
  if (ref === undefined) return;
  try {
    await residentKeys(ctx).destroy(ref);
  } catch (err) {
    if (!(err instanceof KeyringError)) throw err;
    throw new KmipError('CryptographicFailure', `the HSM could not destroy the key of ${record.uid}: ${err.message}`);
  }
}

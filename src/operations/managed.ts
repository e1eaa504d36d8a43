/**
 * What the managed-object operations share: the Unique Identifier of a request (or the ID
 * Placeholder), owner-scoped reads, the attributes of a creation request in either protocol
 * form, sealing and unsealing an object's value, and the refusals whose Result Reason differs
 * between KMIP 1.x and 2.x.
 */
import { type Item, type StructureItem, decode, encode, item, structure } from '../ttlv/index.js';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { KeyringError } from '../keys/types.js';
import { stampLastChange } from '../objects/attribute-rules.js';
import { find } from '../objects/items.js';
import { type Transition, applyTransition } from '../objects/lifecycle.js';
import { fromV1TemplateAttribute } from '../objects/v1-attributes.js';
import type { ManagedObjectRecord, ObjectTypeName, UniqueIdentifier } from '../objects/types.js';
import type { StoreReader } from '../store/types.js';
import { residentRefOf } from './hsm-resident.js';
import type { OperationContext } from './registry.js';

/**
 * The object types Register and Get handle (KMIP 2.1 §2; Template is 1.x only, Certificate
 * Request 2.x only: see `objectTypeExistsIn`).
 */
export const MANAGED_OBJECT_TYPES: readonly ObjectTypeName[] = [
  'Certificate',
  'SymmetricKey',
  'PublicKey',
  'PrivateKey',
  'SplitKey',
  'Template',
  'SecretData',
  'OpaqueObject',
  'PGPKey',
  'CertificateRequest',
];

/** The structure tag that carries each object type's value in Register and Get. */
export const OBJECT_TAGS: Partial<Record<ObjectTypeName, number>> = {
  Certificate: Tag.Certificate,
  SymmetricKey: Tag.SymmetricKey,
  PublicKey: Tag.PublicKey,
  PrivateKey: Tag.PrivateKey,
  SplitKey: Tag.SplitKey,
  Template: Tag.Template,
  SecretData: Tag.SecretData,
  OpaqueObject: Tag.OpaqueObject,
  PGPKey: Tag.PGPKey,
  CertificateRequest: Tag.CertificateRequest,
};

/** Whether an Object Type exists in the request's protocol version: Template only in 1.x, Certificate Request only in 2.x. */
export function objectTypeExistsIn(objectType: ObjectTypeName, ctx: OperationContext): boolean {
  if (objectType === 'Template') return !isV2(ctx.version);
  if (objectType === 'CertificateRequest') return isV2(ctx.version);
  return true;
}

/** The 2.x reason, or the 1.x one where the request's version has no such reason. */
export function reason(ctx: OperationContext, v2: ResultReasonName, v1: ResultReasonName): ResultReasonName {
  return isV2(ctx.version) ? v2 : v1;
}

/** The request's Unique Identifier, else the ID Placeholder (KMIP 2.1 §6.1: "If omitted, then the ID Placeholder value is used"). */
export function targetUid(payload: Fields, ctx: OperationContext): UniqueIdentifier {
  const given = payload.get(Tag.UniqueIdentifier, 'TextString') ?? ctx.idPlaceholder;
  // An empty ID Placeholder is one a Locate emptied (2.1 §6.1.28: it matched more than one object).
  if (given === undefined || given === '') throw new KmipError('InvalidField', 'the request names no Unique Identifier and no earlier batch item set the ID Placeholder');
  return given as UniqueIdentifier;
}

/**
 * The caller's object; another owner's object or none at all is the same Item Not Found. An
 * archived object answers Object Archived (1.4 §11: every operation on an object lists "Object is
 * archived"; 2.1 §6.1.28: "the Recover and Get operations are REQUIRED"); only Recover
 * (`archived: 'allow'`) reaches it.
 */
export async function ownObject(reader: StoreReader, uid: UniqueIdentifier, ctx: OperationContext, archived: 'refuse' | 'allow' = 'refuse'): Promise<ManagedObjectRecord> {
  const record = await reader.get(uid, ctx.identity.name);
  if (record === undefined) throw new KmipError(reason(ctx, 'ObjectNotFound', 'ItemNotFound'), `no object with Unique Identifier ${uid}`);
  if (record.archived === true && archived === 'refuse') throw new KmipError('ObjectArchived', `object ${uid} is archived: Recover it first`);
  return record;
}

export function objectTypeOf(payload: Fields): ObjectTypeName {
  const value = payload.need(Tag.ObjectType, 'Enumeration');
  const found = (Object.entries(Enum.ObjectType) as [ObjectTypeName, number][]).find(([, v]) => v === value);
  if (found === undefined) throw new KmipError('InvalidField', `Object Type 0x${value.toString(16)} is not known`);
  return found[0];
}

/** The client's attributes of a Create or Register: 2.x Attributes, 1.x Template-Attribute, both in 2.1 form. */
export function creationAttributes(payload: Fields, ctx: OperationContext): Item[] {
  if (isV2(ctx.version)) return payload.struct(Tag.Attributes)?.item.value ?? [];
  const template = payload.optional(Tag.TemplateAttribute);
  return template === undefined ? [] : fromV1TemplateAttribute(template).value;
}

/** The first Unique Identifier of a response: what Create, Register and Locate put in the ID Placeholder. */
export function firstUid(response: Item[]): string | undefined {
  const found = response.find((it) => it.tag === Tag.UniqueIdentifier && it.type === 'TextString');
  return found?.type === 'TextString' ? found.value : undefined;
}

export function uidItem(uid: string): Item {
  return item(Tag.UniqueIdentifier, 'TextString', uid);
}

/** A Link attribute (2.1 §4.31) of the given Link Type to another object. */
export function linkItem(linkType: number, uid: string): Item {
  return structure(Tag.Link, [item(Tag.LinkType, 'Enumeration', linkType), item(Tag.LinkedObjectIdentifier, 'TextString', uid)]);
}

/** KMIP 2.1 §4.32: Names are unique within the server; kmipd scopes that to the owner, since owners cannot see each other's objects. */
export async function checkNamesUnique(reader: StoreReader, attrs: readonly Item[], ctx: OperationContext): Promise<void> {
  for (const name of attrs.filter((a) => a.tag === Tag.Name)) {
    const value = name.type === 'Structure' ? name.value.find((c) => c.tag === Tag.NameValue) : undefined;
    if (value?.type !== 'TextString') continue;
    const count = await reader.count({ attributes: [{ attribute: 'Name', text: value.value }] }, ctx.identity.name);
    if (count > 0) {
      throw new KmipError(reason(ctx, 'NonUniqueNameAttribute', 'InvalidField'), `the Name ${JSON.stringify(value.value)} is already used by another object (KMIP 2.1 §4.32)`);
    }
  }
}

/**
 * KMIP 2.1 §4.55, 1.4 §3.48 (Sensitive): "If True then the server SHALL prevent the object value
 * being retrieved (via the Get operation) unless it is wrapped by another key". Get and Export both
 * return the value, so both ask here before they unseal it.
 */
export function checkMayLeave(payload: Fields, record: ManagedObjectRecord, operation: 'Get' | 'Export'): void {
  const sensitive = find(record.attributes, Tag.Sensitive);
  if (sensitive?.type === 'Boolean' && sensitive.value && !payload.has(Tag.KeyWrappingSpecification)) {
    throw new KmipError('Sensitive', `object ${record.uid} is Sensitive: ${operation} it wrapped (give a Key Wrapping Specification)`);
  }
}

/** Where the keyring keeps keys, as a Protection Storage Mask (2.1 §4.44). */
export function protectionStorageMask(ctx: OperationContext): number {
  return ctx.keyring.kind === 'software' ? Mask.ProtectionStorageMask.Software : Mask.ProtectionStorageMask.Hardware;
}

/** Seals an object's value structure (Symmetric Key, Secret Data…) as its TTLV encoding. */
export function sealObject(ctx: OperationContext, uid: string, value: StructureItem): Promise<Uint8Array> {
  return ctx.keyring.seal(uid, encode(value));
}

/** The object's value structure; a blob that fails to unseal is a Cryptographic Failure, never wrong bytes. */
export async function unsealObject(ctx: OperationContext, record: ManagedObjectRecord): Promise<Item> {
  if (residentRefOf(record) !== undefined) {
    throw new KmipError('FeatureNotSupported', `the key of ${record.uid} is kept in the HSM and never leaves it; kmipd does not run this operation inside the HSM`);
  }
  if (record.sealedValue === undefined) throw new KmipError('KeyValueNotPresent', `object ${record.uid} has no value`);
  let plain: Uint8Array;
  try {
    plain = await ctx.keyring.unseal(record.uid, record.sealedValue);
  } catch (err) {
    if (!(err instanceof KeyringError)) throw err;
    ctx.log.error({ uid: record.uid, err: err.message }, 'sealed key material failed to unseal');
    throw new KmipError('CryptographicFailure', `the stored key material of ${record.uid} could not be unsealed: it was altered or does not belong to this object`);
  }
  // decode copies Byte Strings out of `plain`, so the plaintext can be zeroed at once.
  let value: Item;
  try {
    value = decode(plain);
  } finally {
    plain.fill(0);
  }
  const expected = OBJECT_TAGS[record.objectType];
  if (value.tag !== expected) throw new KmipError('CryptographicFailure', `the stored value of ${record.uid} is not a ${record.objectType}`);
  return value;
}

/**
 * The body of a lifecycle operation (Activate, Destroy, later Revoke…): in one transaction, load the
 * caller's object, apply the state transition at the current time, stamp Last Change Date, let
 * `alter` make the operation's own change, and store it. Answers the Unique Identifier.
 */
export async function transitionObject(
  payload: Fields,
  ctx: OperationContext,
  transition: (record: ManagedObjectRecord, now: number) => Transition,
  alter: (record: ManagedObjectRecord) => void | Promise<void> = () => {},
): Promise<Item[]> {
  const uid = targetUid(payload, ctx);
  await ctx.store.transaction(async (tx) => {
    const record = await ownObject(tx, uid, ctx);
    const now = ctx.clock.now();
    const t = transition(record, now);
    record.state = t.state;
    record.attributes = stampLastChange(applyTransition(record.attributes, t), now);
    await alter(record);
    await tx.update(record);
  });
  return [uidItem(uid)];
}

/**
 * Import (KMIP 2.1 §6.1.25; 1.4 §4.41): an object with the Unique Identifier and the attributes
 * it had on the server that exported it (src/operations/export.ts). Unlike Register, "Initially
 * set by" and "When implicitly set" are not enforced: the client's values of server-set
 * attributes (Initial Date, State, Digest…) are kept, and kmipd fills in only those it was not
 * given. An attribute must still be a KMIP attribute of the right type, apply to the object type
 * and appear once if single-instance.
 *
 * A key block wrapped under one of the caller's keys (Key Wrap Type Not Wrapped: "the server SHALL
 * unwrap the object before storing it") is unwrapped in memory and sealed by the keyring, so the
 * plaintext never reaches the store. Replace Existing replaces the caller's object of that Unique
 * Identifier; without it an existing one is Object Already Exists.
 */
import { X509Certificate } from 'node:crypto';
import { type Item, type StructureItem, item, registry } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields, name } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { type DigestSource, appliesTo, existsIn, initialAttributes, isMultiInstance, refusalReason, ruleFor } from '../objects/attribute-rules.js';
import { child, dateOf, find, refOf, refTitle, sameRef } from '../objects/items.js';
import { describeKey, isEcAlgorithm, keyFromBlock, symmetricBytes } from '../objects/key-formats.js';
import { fromV1Attributes } from '../objects/v1-attributes.js';
import type { ManagedObjectRecord, ObjectTypeName, StateName, UniqueIdentifier } from '../objects/types.js';
import { StoreError } from '../store/types.js';
import { MANAGED_OBJECT_TYPES, OBJECT_TAGS, checkNamesUnique, firstUid, objectTypeExistsIn, protectionStorageMask, reason, sealObject, uidItem } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';
import { RESIDENT_REF, discardResident } from './hsm-resident.js';
import { unwrapAsWrapped } from './wrapping.js';

export const importObject: OperationDefinition = {
  name: 'Import',
  mutates: true,
  permission: 'write',
  objectTypes: MANAGED_OBJECT_TYPES,
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = payload.need(Tag.UniqueIdentifier, 'TextString') as UniqueIdentifier;
    if (uid.length === 0) throw new KmipError('InvalidField', 'Import needs a non-empty Unique Identifier for the object');
    const objectType = importedType(payload, ctx);
    const replace = payload.get(Tag.ReplaceExisting, 'Boolean') === true;
    const given = importedAttributes(payload, ctx);
    checkAttributes(objectType, uid, given, ctx);

    const wireValue = payload.required(OBJECT_TAGS[objectType]!);
    const value = await unwrapAsAsked(payload, wireValue, ctx);
    let record: ManagedObjectRecord;
    try {
      record = await sealedRecord(objectType, uid, value, given, ctx);
    } finally {
      if (value !== wireValue) forget(value); // the unwrapped plaintext lives no longer than this
    }

    const replaced = await ctx.store.transaction(async (tx) => {
      const existing = await tx.get(uid, ctx.identity.name);
      if (existing !== undefined) {
        if (!replace) throw new KmipError('ObjectAlreadyExists', `object ${uid} already exists; set Replace Existing to replace it (KMIP 2.1 §6.1.25)`);
        await tx.delete(uid, ctx.identity.name);
      }
      await checkNamesUnique(tx, given, ctx);
      try {
        await tx.insert(record);
      } catch (err) {
        // Another owner's object holds the identifier: it cannot be replaced, and is not described.
        if (err instanceof StoreError && err.code === 'DUPLICATE') throw new KmipError('ObjectAlreadyExists', `the Unique Identifier ${uid} is taken by an object you cannot replace`);
        throw err;
      }
      return existing;
    });
    // A replaced HSM-resident key leaves the token too, once the replacement is committed.
    const residentRef = replaced?.attributes.find((a) => sameRef(refOf(a), RESIDENT_REF));
    if (residentRef !== undefined) await discardResident(ctx, residentRef);
    return [uidItem(uid)];
  },
};

/** The object to store: its value checked and sealed, the given attributes with the server's for those not given. */
async function sealedRecord(objectType: ObjectTypeName, uid: UniqueIdentifier, value: Item, given: Item[], ctx: OperationContext): Promise<ManagedObjectRecord> {
  if (value.type !== 'Structure') throw new KmipError('InvalidMessage', `${objectType} must be a Structure`);
  const inspection = inspect(objectType, value, given, ctx);
  const server = initialAttributes({
    objectType,
    uid,
    now: ctx.clock.now(),
    origin: 'registered',
    requested: given,
    digestOf: inspection.digestOf,
    ...(inspection.keyFormatType === undefined ? {} : { keyFormatType: inspection.keyFormatType }),
    protectionStorageMask: protectionStorageMask(ctx),
  });
  // 2.1 §6.1.25: "all attributes MUST be set to the supplied values rather than any server generated values".
  const attributes = [...given, ...server.attributes.filter((a) => !given.some((g) => sameRef(refOf(g), refOf(a))))];
  const sealedValue = await sealObject(ctx, uid, value);
  return { uid, objectType, state: stateOf(given) ?? server.state, owner: ctx.identity.name, attributes, sealedValue };
}

/** The Object Type: required in 2.x; 1.4 §4.41's table has none, so there the object's own tag tells it. */
function importedType(payload: Fields, ctx: OperationContext): ObjectTypeName {
  const value = isV2(ctx.version) || payload.has(Tag.ObjectType) ? payload.need(Tag.ObjectType, 'Enumeration') : inferredType(payload);
  const found = (Object.entries(Enum.ObjectType) as [ObjectTypeName, number][]).find(([, v]) => v === value)?.[0];
  if (found === undefined || OBJECT_TAGS[found] === undefined || !objectTypeExistsIn(found, ctx)) {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `kmipd cannot import an Object Type 0x${value.toString(16)} in KMIP ${ctx.version.major}.${ctx.version.minor}`);
  }
  if (!payload.has(OBJECT_TAGS[found]!)) throw new KmipError('InvalidField', `the Object Type is ${found}, but the request carries no ${found} object`);
  return found;
}

function inferredType(payload: Fields): number {
  const present = MANAGED_OBJECT_TYPES.filter((t) => payload.has(OBJECT_TAGS[t]!));
  if (present.length !== 1) throw new KmipError('InvalidField', 'an Import carries exactly one object (Symmetric Key, Certificate, …)');
  return Enum.ObjectType[present[0]!];
}

/** 2.x: the Attributes structure; 1.4: the repeated Attribute structures. */
function importedAttributes(payload: Fields, ctx: OperationContext): Item[] {
  if (isV2(ctx.version)) return payload.needStruct(Tag.Attributes).item.value;
  return fromV1Attributes(payload.all(Tag.Attribute));
}

function refuse(kind: Parameters<typeof refusalReason>[0], ctx: OperationContext, message: string): KmipError {
  return new KmipError(refusalReason(kind, 'register', ctx.version), message);
}

/**
 * What Import still checks of the given attributes (2.1 §6.1.25.1: Invalid Attribute, Invalid
 * Attribute Value, Attribute Single Valued): each is a KMIP attribute of this version, of its
 * registry type, that applies to the object type; single-instance ones appear once; the Unique
 * Identifier and Object Type attributes agree with the request.
 */
function checkAttributes(objectType: ObjectTypeName, uid: string, attrs: readonly Item[], ctx: OperationContext): void {
  attrs.forEach((attr, i) => {
    const ref = refOf(attr);
    const rule = ruleFor(ref);
    if (rule === undefined || !existsIn(rule, ctx.version)) throw refuse('unknown', ctx, `${refTitle(ref)} is not an attribute in KMIP ${ctx.version.major}.${ctx.version.minor}`);
    if (!appliesTo(rule, objectType)) throw refuse('notApplicable', ctx, `${refTitle(ref)} does not apply to a ${objectType} (KMIP ${rule.spec})`);
    const types = attr.tag === Tag.Attribute ? [] : (registry.tag(attr.tag)?.types ?? []);
    if (types.length > 0 && !types.includes(attr.type)) throw refuse('badValue', ctx, `${refTitle(ref)} must be a ${types.join(' or ')}, not a ${attr.type}`);
    if (!isMultiInstance(rule, objectType) && attrs.slice(0, i).some((a) => sameRef(refOf(a), ref))) {
      throw refuse('singleValued', ctx, `${refTitle(ref)} is single-instance but given more than once (KMIP ${rule.spec})`);
    }
  });
  // The reference to a key inside this server's HSM is the server's alone: an imported one could name another object's key.
  const resident = attrs.find((a) => sameRef(refOf(a), RESIDENT_REF));
  if (resident !== undefined) throw refuse('readOnly', ctx, `${refTitle(RESIDENT_REF)} is set by the server only; an imported key is sealed, not HSM-resident`);
  const uidAttr = find(attrs, Tag.UniqueIdentifier);
  if (uidAttr !== undefined && uidAttr.value !== uid) throw refuse('badValue', ctx, 'the Unique Identifier attribute differs from the Unique Identifier being imported');
  const typeAttr = find(attrs, Tag.ObjectType);
  if (typeAttr !== undefined && typeAttr.value !== Enum.ObjectType[objectType]) throw refuse('badValue', ctx, `the Object Type attribute differs from the ${objectType} being imported`);
  const state = stateOf(attrs);
  if (state === 'Destroyed' || state === 'DestroyedCompromised') throw refuse('badValue', ctx, 'a destroyed object has no value to import');
  const activation = dateOf(attrs, Tag.ActivationDate);
  const deactivation = dateOf(attrs, Tag.DeactivationDate);
  if (activation !== undefined && deactivation !== undefined && deactivation < activation) throw refuse('badValue', ctx, 'the Deactivation Date precedes the Activation Date');
}

function stateOf(attrs: readonly Item[]): StateName | undefined {
  const state = find(attrs, Tag.State);
  if (state?.type !== 'Enumeration') return undefined;
  return (Object.entries(Enum.State) as [StateName, number][]).find(([, v]) => v === state.value)?.[0];
}

/**
 * 2.1 §6.1.25 Key Wrap Type, "If and only if the key object is wrapped": Not Wrapped → unwrap with
 * the caller's key named in the Key Wrapping Data ("return an error if the wrapping key is not
 * available"); As Registered → store as provided, which kmipd does not do (it seals plaintext
 * under its keyring and could not use a key it cannot read).
 */
async function unwrapAsAsked(payload: Fields, value: Item, ctx: OperationContext): Promise<Item> {
  const wrapType = payload.get(Tag.KeyWrapType, 'Enumeration');
  const wrapped = value.type === 'Structure' && child(child(value, Tag.KeyBlock) ?? value, Tag.KeyWrappingData) !== undefined;
  if (!wrapped) {
    if (wrapType !== undefined) throw new KmipError('InvalidField', 'Key Wrap Type is given only for a wrapped object (KMIP 2.1 §6.1.25), and this one is not wrapped');
    return value;
  }
  if (wrapType === undefined) throw new KmipError('InvalidField', 'a wrapped object needs Key Wrap Type Not Wrapped, so that the server unwraps it (KMIP 2.1 §6.1.25)');
  if (wrapType !== Enum.KeyWrapType.NotWrapped) {
    throw new KmipError(reason(ctx, 'KeyWrapTypeNotSupported', 'FeatureNotSupported'), 'kmipd stores keys unwrapped, sealed by its keyring: import with Key Wrap Type Not Wrapped');
  }
  return unwrapAsWrapped(value, ctx);
}

/** Zeroes the Key Material bytes of an unwrapped key block. */
function forget(value: Item): void {
  const material = child(child(child(value, Tag.KeyBlock) ?? value, Tag.KeyValue) ?? value, Tag.KeyMaterial);
  if (material?.type === 'ByteString') material.value.fill(0);
}

interface Inspection {
  readonly digestOf: readonly DigestSource[];
  readonly keyFormatType?: number;
}

/**
 * Enough of the value to refuse garbage and a value its attributes contradict (Invalid Attribute
 * Value): an asymmetric key must parse and be the algorithm and length its attributes say, a
 * symmetric key's bytes must be its Cryptographic Length, an X.509 certificate must parse.
 */
function inspect(objectType: ObjectTypeName, value: StructureItem, attrs: readonly Item[], ctx: OperationContext): Inspection {
  const object = new Fields(value);
  const block = object.struct(Tag.KeyBlock);
  if (block === undefined) {
    if (objectType === 'Certificate') {
      const der = object.need(Tag.CertificateValue, 'ByteString');
      if (object.need(Tag.CertificateType, 'Enumeration') === Enum.CertificateType.X_509) {
        try {
          void new X509Certificate(der);
        } catch {
          throw new KmipError('InvalidField', 'the Certificate Value is not a DER X.509 certificate');
        }
      }
      return { digestOf: [{ value: object.required(Tag.CertificateValue) }] };
    }
    const bytes = value.value.find((c) => c.tag === Tag.OpaqueDataValue || c.tag === Tag.CertificateRequestValue);
    if (['SymmetricKey', 'PublicKey', 'PrivateKey', 'SplitKey', 'SecretData', 'PGPKey'].includes(objectType)) throw new KmipError('InvalidField', `a ${objectType} has a Key Block`);
    return { digestOf: bytes === undefined ? [] : [{ value: bytes }] };
  }
  const format = block.need(Tag.KeyFormatType, 'Enumeration');
  const material = block.needStruct(Tag.KeyValue).required(Tag.KeyMaterial);
  const disagree = (tag: number, actual: number): void => {
    const given = find(attrs, tag) ?? block.optional(tag);
    const same = given?.type === 'Enumeration' && tag === Tag.CryptographicAlgorithm && isEcAlgorithm(given.value) && isEcAlgorithm(actual);
    if (given !== undefined && given.value !== actual && !same) throw refuse('badValue', ctx, `the ${name(tag)} given does not match the imported key`);
  };
  if (objectType === 'PublicKey' || objectType === 'PrivateKey') {
    const actual = describeKey(keyFromBlock(objectType, block));
    disagree(Tag.CryptographicAlgorithm, actual.algorithm);
    disagree(Tag.CryptographicLength, actual.length);
  } else if (objectType === 'SymmetricKey') {
    const bytes = symmetricBytes(block, format);
    if (bytes === undefined) throw new KmipError('KeyFormatTypeNotSupported', 'kmipd imports a Symmetric Key as Raw, Opaque or Transparent Symmetric Key');
    disagree(Tag.CryptographicLength, bytes.length * 8);
    if (bytes.length === 0) throw new KmipError('InvalidField', 'the Symmetric Key is empty');
  }
  // 2.1 §4.21: a Transparent Symmetric Key is digested as its Raw bytes, as Register does.
  const transparent = format === Enum.KeyFormatType.TransparentSymmetricKey ? symmetricBytes(block, format) : undefined;
  const digestOf = transparent === undefined ? { value: material, keyFormatType: format } : { value: item(Tag.KeyMaterial, 'ByteString', transparent), keyFormatType: Enum.KeyFormatType.Raw };
  return { digestOf: [digestOf], keyFormatType: format };
}

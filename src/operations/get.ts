/**
 * Get (KMIP 2.1 §6.1.19; 1.4 §4.11): the object's value, unsealed for this response only, as held
 * or converted to the Key Format Type / Key Compression Type the client asks for. Another owner's
 * object is Item Not Found; a destroyed one has no value left, and a Sensitive one leaves only
 * wrapped (2.1 §4.55).
 */
import { type Item, item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { convertKeyBlock } from '../objects/key-formats.js';
import { find, withReplaced } from '../objects/items.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import { MANAGED_OBJECT_TYPES, checkMayLeave, firstUid, objectTypeExistsIn, ownObject, reason, targetUid, uidItem, unsealObject } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';
import { wrapIfRequested } from './wrapping.js';
import { isNotExtractable, notExtractable } from './hsm-resident.js';

export const get: OperationDefinition = {
  name: 'Get',
  mutates: false,
  permission: 'read',
  objectTypes: MANAGED_OBJECT_TYPES,
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    const destroyed = record.state === 'Destroyed' || record.state === 'DestroyedCompromised';
    // 2.1 §4.23, 1.4 §3.50: an Extractable false key (an HSM-resident one among them) is not returned, wrapped or not.
    if (!destroyed && isNotExtractable(record)) throw notExtractable(ctx, record);
    if (destroyed || record.sealedValue === undefined) {
      throw new KmipError(reason(ctx, 'ObjectDestroyed', 'ItemNotFound'), `object ${uid} has been destroyed; its key material is gone`);
    }
    checkMayLeave(payload, record, 'Get');
    const value = await unsealObject(ctx, record);
    const returned = await wrapIfRequested(payload, ctx, record, inRequestedFormat(payload, ctx, record, value));
    if (isFresh(record)) await markServed(uid, ctx);
    return [item(Tag.ObjectType, 'Enumeration', Enum.ObjectType[record.objectType]), uidItem(uid), returned];
  },
};

/**
 * The value in the Key Format Type and Key Compression Type the request asks for (2.1 §6.1.19), as
 * held when it asks for none; see src/objects/key-formats.ts for the conversions.
 */
/** The object's value in the Key Format Type and Key Compression Type the request asks for (Get, Export). */
export function inRequestedFormat(payload: Fields, ctx: OperationContext, record: ManagedObjectRecord, value: Item): Item {
  if (!objectTypeExistsIn(record.objectType, ctx)) {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `a ${record.objectType} cannot be returned in KMIP ${ctx.version.major}.${ctx.version.minor}`);
  }
  const wanted = payload.get(Tag.KeyFormatType, 'Enumeration');
  const compression = payload.get(Tag.KeyCompressionType, 'Enumeration');
  const block = value.type === 'Structure' ? value.value.find((c) => c.tag === Tag.KeyBlock) : undefined;
  if (block?.type !== 'Structure' || value.type !== 'Structure') {
    if (wanted !== undefined) throw new KmipError('KeyFormatTypeNotSupported', `a ${record.objectType} has no key block to give in a Key Format Type`);
    if (compression !== undefined) throw new KmipError('KeyCompressionTypeNotSupported', 'a Key Compression Type applies to EC public keys only');
    return value;
  }
  const converted = convertKeyBlock(record.objectType, block, wanted, compression, isV2(ctx.version));
  return converted === block ? value : { ...value, value: value.value.map((c) => (c === block ? converted : c)) };
}

function isFresh(record: ManagedObjectRecord): boolean {
  const fresh = find(record.attributes, Tag.Fresh);
  return fresh?.type === 'Boolean' && fresh.value;
}

/**
 * KMIP 2.1 §4.24: "The server SHALL change the attribute value to False as soon as the object has
 * been served via the Get operation". Only the first Get of a fresh object writes; Last Change
 * Date is not stamped (§4.29 does not list Get among the operations that set it).
 */
async function markServed(uid: UniqueIdentifier, ctx: OperationContext): Promise<void> {
  await ctx.store.transaction(async (tx) => {
    const record = await ownObject(tx, uid, ctx);
    if (!isFresh(record)) return;
    record.attributes = withReplaced(record.attributes, [item(Tag.Fresh, 'Boolean', false)]);
    await tx.update(record);
  });
}

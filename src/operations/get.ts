/**
 * Get (KMIP 2.1 §6.1.22; 1.4 §4.11): the object's value as it was stored (Raw or Opaque key
 * block), unsealed for this response only. Another owner's object is Item Not Found; a destroyed
 * one has no value left.
 */
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { MANAGED_OBJECT_TYPES, firstUid, ownObject, reason, targetUid, uidItem, unsealObject } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const get: OperationDefinition = {
  name: 'Get',
  mutates: false,
  permission: 'read',
  objectTypes: MANAGED_OBJECT_TYPES,
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    if (payload.has(Tag.KeyWrappingSpecification)) throw new KmipError(reason(ctx, 'KeyWrapTypeNotSupported', 'FeatureNotSupported'), 'wrapping on Get is not supported yet');
    const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    if (record.state === 'Destroyed' || record.state === 'DestroyedCompromised' || record.sealedValue === undefined) {
      throw new KmipError(reason(ctx, 'ObjectDestroyed', 'ItemNotFound'), `object ${uid} has been destroyed; its key material is gone`);
    }
    const value = await unsealObject(ctx, record);
    const wanted = payload.get(Tag.KeyFormatType, 'Enumeration');
    if (wanted !== undefined && value.type === 'Structure') {
      const block = value.value.find((c) => c.tag === Tag.KeyBlock);
      const held = block?.type === 'Structure' ? block.value.find((c) => c.tag === Tag.KeyFormatType) : undefined;
      if (held?.type !== 'Enumeration' || held.value !== wanted) {
        throw new KmipError('KeyFormatTypeNotSupported', 'kmipd returns a key in the Key Format Type it holds it in; conversion is not supported yet');
      }
    }
    return [item(Tag.ObjectType, 'Enumeration', Enum.ObjectType[record.objectType]), uidItem(uid), value];
  },
};

/**
 * Export (KMIP 2.1 §6.1.18; 1.4 §4.40): Get's answer plus every attribute of the object, so that
 * another server can Import it (src/operations/import.ts). Key Format Type, Key Compression Type
 * and Key Wrapping Specification work as for Get; the usual use is to export a key wrapped under a
 * key-encryption key both servers hold. An object that is not Extractable never leaves, and a
 * Sensitive one leaves only wrapped (2.1 §4.23, §4.55).
 */
import { item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { currentAttributes } from '../objects/lifecycle.js';
import { toV1Attributes } from '../objects/v1-attributes.js';
import { MANAGED_OBJECT_TYPES, checkMayLeave, firstUid, ownObject, reason, targetUid, uidItem, unsealObject } from './managed.js';
import { inRequestedFormat } from './get.js';
import type { OperationContext, OperationDefinition } from './registry.js';
import { isNotExtractable } from './hsm-resident.js';
import { wrapIfRequested } from './wrapping.js';

export const exportObject: OperationDefinition = {
  name: 'Export',
  mutates: false,
  permission: 'read',
  objectTypes: MANAGED_OBJECT_TYPES,
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    const destroyed = record.state === 'Destroyed' || record.state === 'DestroyedCompromised';
    // 2.1 §4.23: an Extractable false key (an HSM-resident one among them) never leaves, wrapped or not.
    if (!destroyed && isNotExtractable(record)) throw new KmipError('NotExtractable', `object ${uid} is not Extractable (or is kept in the HSM), so it cannot be exported, even wrapped`);
    // 2.1 §6.1.18: "If the Managed Object has been Destroyed then the key material … SHALL not be returned".
    if (destroyed || record.sealedValue === undefined) {
      throw new KmipError(reason(ctx, 'ObjectDestroyed', 'ItemNotFound'), `object ${uid} has been destroyed; its key material is gone and cannot be exported`);
    }
    checkKeyWrapType(payload, ctx);
    checkMayLeave(payload, record, 'Export');
    const value = await unsealObject(ctx, record);
    const returned = await wrapIfRequested(payload, ctx, record, inRequestedFormat(payload, ctx, record, value));
    const attributes = currentAttributes(record, ctx.clock.now());
    return [
      item(Tag.ObjectType, 'Enumeration', Enum.ObjectType[record.objectType]),
      uidItem(uid),
      ...(isV2(ctx.version) ? [structure(Tag.Attributes, attributes)] : toV1Attributes(attributes)),
      returned,
    ];
  },
};

/**
 * Key Wrap Type (2.1 §11.29) as for Get: Not Wrapped is what kmipd holds (a key registered or
 * imported wrapped is unwrapped before it is sealed), so "As Registered" cannot be honoured.
 */
function checkKeyWrapType(payload: Fields, ctx: OperationContext): void {
  const wrapType = payload.get(Tag.KeyWrapType, 'Enumeration');
  if (wrapType === undefined || wrapType === Enum.KeyWrapType.NotWrapped) {
    if (wrapType !== undefined && payload.has(Tag.KeyWrappingSpecification)) {
      throw new KmipError('InvalidField', 'Key Wrap Type Not Wrapped contradicts the Key Wrapping Specification');
    }
    return;
  }
  throw new KmipError(
    reason(ctx, 'KeyWrapTypeNotSupported', 'FeatureNotSupported'),
    'kmipd holds keys unwrapped (sealed by its keyring), so it cannot return them As Registered; ask for Not Wrapped or give a Key Wrapping Specification',
  );
}


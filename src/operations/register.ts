/**
 * Register (KMIP 2.1 §6.1.43; 1.4 §4.3): a Symmetric Key or Secret Data the client brings, as a
 * Raw or Opaque key block (wrapped key blocks are not accepted yet). The value is sealed before
 * the store sees it; the digest and server attributes are recorded as for a generated object.
 */
import { randomUUID } from 'node:crypto';
import { type Item, item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { checkCreationAttributes, initialAttributes } from '../objects/attribute-rules.js';
import { find } from '../objects/items.js';
import type { ManagedObjectRecord } from '../objects/types.js';
import {
  MANAGED_OBJECT_TYPES,
  OBJECT_TAGS,
  checkNamesUnique,
  creationAttributes,
  firstUid,
  objectTypeOf,
  protectionStorageMask,
  reason,
  sealObject,
  uidItem,
} from './managed.js';
import type { OperationDefinition } from './registry.js';

const FORMATS: readonly number[] = [Enum.KeyFormatType.Raw, Enum.KeyFormatType.Opaque];

export const register: OperationDefinition = {
  name: 'Register',
  mutates: true,
  permission: 'write',
  objectTypes: MANAGED_OBJECT_TYPES,
  placeholder: firstUid,
  async handler(payload, ctx) {
    const objectType = objectTypeOf(payload);
    const tag = OBJECT_TAGS[objectType];
    if (tag === undefined || !MANAGED_OBJECT_TYPES.includes(objectType)) {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `kmipd registers Symmetric Keys and Secret Data, not a ${objectType}`);
    }
    const value = payload.required(tag);
    const object = Fields.of(value, objectType);
    if (value.type !== 'Structure') throw new KmipError('InvalidMessage', `${objectType} must be a Structure`);
    const keyBlock = object.needStruct(Tag.KeyBlock);
    const format = keyBlock.need(Tag.KeyFormatType, 'Enumeration');
    if (!FORMATS.includes(format)) throw new KmipError('KeyFormatTypeNotSupported', 'kmipd registers Raw and Opaque key blocks only');
    if (keyBlock.has(Tag.KeyWrappingData)) throw new KmipError(reason(ctx, 'KeyWrapTypeNotSupported', 'FeatureNotSupported'), 'wrapped key blocks are not supported yet');
    if (objectType === 'SecretData') object.need(Tag.SecretDataType, 'Enumeration');
    const keyValue = keyBlock.needStruct(Tag.KeyValue);
    const material = keyValue.required(Tag.KeyMaterial);
    if (material.type !== 'ByteString') throw new KmipError('InvalidField', 'the Key Material of a Raw or Opaque key block is a Byte String');

    const requested = creationAttributes(payload, ctx);
    // The key block's Cryptographic Algorithm and Length are the object's, unless the client also gave them as attributes.
    for (const t of [Tag.CryptographicAlgorithm, Tag.CryptographicLength]) {
      const inBlock = keyBlock.optional(t);
      const given = find(requested, t);
      if (inBlock !== undefined && given === undefined) requested.push(inBlock);
      else if (inBlock !== undefined && given !== undefined && (inBlock.type !== given.type || (inBlock as { value: unknown }).value !== (given as { value: unknown }).value)) {
        throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), 'the key block and the attributes disagree on the Cryptographic Algorithm or Length');
      }
    }
    if (objectType === 'SymmetricKey' && find(requested, Tag.CryptographicAlgorithm) === undefined) {
      throw new KmipError('InvalidField', 'a Symmetric Key needs a Cryptographic Algorithm (in its key block or its attributes)');
    }
    if (find(requested, Tag.CryptographicLength) === undefined) requested.push(item(Tag.CryptographicLength, 'Integer', material.value.length * 8));
    checkCreationAttributes(objectType, requested, 'register', { version: ctx.version });

    const uid = randomUUID();
    const sealedValue = await sealObject(ctx, uid, value);
    const { state, attributes } = initialAttributes({
      objectType,
      uid,
      now: ctx.clock.now(),
      origin: 'registered',
      requested,
      digestOf: [{ value: material, keyFormatType: format }],
      keyFormatType: format,
      protectionStorageMask: protectionStorageMask(ctx),
    });
    const record: ManagedObjectRecord = { uid: uid as ManagedObjectRecord['uid'], objectType, state, owner: ctx.identity.name, attributes, sealedValue };
    await ctx.store.transaction(async (tx) => {
      await checkNamesUnique(tx, requested, ctx);
      await tx.insert(record);
    });
    const out: Item[] = [uidItem(uid)];
    return out;
  },
};

/**
 * Create (KMIP 2.1 §6.1.8; 1.4 §4.1): a server-generated Symmetric Key. kmipd generates AES keys
 * of 128, 192 or 256 bits from the Cryptographic Algorithm and Length the client gives, holds
 * them in Raw format, and seals the key before the store sees it. 1.x carries the attributes in a
 * Template-Attribute.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { checkCreationAttributes, initialAttributes } from '../objects/attribute-rules.js';
import { find } from '../objects/items.js';
import type { ManagedObjectRecord } from '../objects/types.js';
import { checkNamesUnique, creationAttributes, firstUid, objectTypeOf, protectionStorageMask, reason, sealObject, uidItem } from './managed.js';
import { RNG } from './generation.js';
import { discardResident, generateResident, residentAttributes, wantsResident } from './hsm-resident.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const AES_LENGTHS = [128, 192, 256];


export const create: OperationDefinition = {
  name: 'Create',
  mutates: true,
  permission: 'write',
  objectTypes: ['SymmetricKey'],
  placeholder: firstUid,
  async handler(payload, ctx) {
    const objectType = objectTypeOf(payload);
    if (objectType !== 'SymmetricKey') {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `Create makes Symmetric Keys only, not a ${objectType}; use Register to bring other objects`);
    }
    const requested = creationAttributes(payload, ctx);
    checkCreationAttributes(objectType, requested, 'create', { version: ctx.version });
    const algorithm = find(requested, Tag.CryptographicAlgorithm);
    const length = find(requested, Tag.CryptographicLength);
    if (algorithm === undefined || length === undefined) {
      throw new KmipError('InvalidField', 'Create of a Symmetric Key needs a Cryptographic Algorithm and a Cryptographic Length attribute');
    }
    if (algorithm.type !== 'Enumeration' || algorithm.value !== Enum.CryptographicAlgorithm.AES) {
      throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), 'kmipd generates AES symmetric keys only');
    }
    if (length.type !== 'Integer' || !AES_LENGTHS.includes(length.value)) {
      throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), `an AES key is 128, 192 or 256 bits long, not ${String(length.value)}`);
    }
    const format = find(requested, Tag.KeyFormatType);
    if (format !== undefined && (format.type !== 'Enumeration' || format.value !== Enum.KeyFormatType.Raw)) {
      throw new KmipError('KeyFormatTypeNotSupported', 'kmipd holds symmetric keys in Raw format');
    }

    // Generation and sealing happen before the transaction: the uid is random, so it is known up front.
    const uid = randomUUID();
    if (wantsResident(requested, ctx)) return createResident(ctx, uid, residentAttributes(requested, ctx), length.value);
    const keyMaterial = item(Tag.KeyMaterial, 'ByteString', randomBytes(length.value / 8));
    const value = structure(Tag.SymmetricKey, [
      structure(Tag.KeyBlock, [
        item(Tag.KeyFormatType, 'Enumeration', Enum.KeyFormatType.Raw),
        structure(Tag.KeyValue, [keyMaterial]),
        algorithm,
        length,
      ]),
    ]);
    const sealedValue = await sealObject(ctx, uid, value);
    const now = ctx.clock.now();
    const { state, attributes } = initialAttributes({
      objectType,
      uid,
      now,
      origin: 'generated',
      requested,
      digestOf: [{ value: keyMaterial, keyFormatType: Enum.KeyFormatType.Raw }],
      keyFormatType: Enum.KeyFormatType.Raw,
      rng: RNG,
      protectionStorageMask: protectionStorageMask(ctx),
    });
    const record: ManagedObjectRecord = { uid: uid as ManagedObjectRecord['uid'], objectType, state, owner: ctx.identity.name, attributes, sealedValue };
    await ctx.store.transaction(async (tx) => {
      await checkNamesUnique(tx, requested, ctx);
      await tx.insert(record);
    });
    const out: Item[] = [item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey), uidItem(uid)];
    return out;
  },
};

/**
 * A key generated inside the HSM and never taken out (src/keys/resident.ts): the record holds its
 * reference and no value, not even sealed. If the record cannot be stored, the token object goes.
 */
async function createResident(ctx: OperationContext, uid: string, requested: Item[], length: number): Promise<Item[]> {
  const refAttr = await generateResident(ctx, uid, length);
  const { state, attributes } = initialAttributes({
    objectType: 'SymmetricKey',
    uid,
    now: ctx.clock.now(),
    origin: 'generated',
    requested,
    keyFormatType: Enum.KeyFormatType.Raw,
    // No Digest: 2.1 §4.21 asks for one only "if the server has access to the Key Material". No RNG
    // either: the HSM's generator made the key, not node:crypto's (the attribute says Unspecified).
    protectionStorageMask: protectionStorageMask(ctx),
  });
  const record: ManagedObjectRecord = { uid: uid as ManagedObjectRecord['uid'], objectType: 'SymmetricKey', state, owner: ctx.identity.name, attributes: [...attributes, refAttr] };
  try {
    await ctx.store.transaction(async (tx) => {
      await checkNamesUnique(tx, requested, ctx);
      await tx.insert(record);
    });
  } catch (err) {
    await discardResident(ctx, refAttr);
    throw err;
  }
  return [item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey), uidItem(uid)];
}

/**
 * Destroy (KMIP 2.1 §6.1.15; 1.4 §4.21): the key material is erased (the sealed value is removed
 * from the store) and the object becomes Destroyed; its metadata stays. An Active object is
 * refused: it must be revoked first.
 */
import { stampLastChange } from '../objects/attribute-rules.js';
import { applyTransition, destroy as destroyTransition } from '../objects/lifecycle.js';
import { firstUid, ownObject, targetUid, uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const destroy: OperationDefinition = {
  name: 'Destroy',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    await ctx.store.transaction(async (tx) => {
      const record = await ownObject(tx, uid, ctx);
      const now = ctx.clock.now();
      const transition = destroyTransition(record, now, { version: ctx.version });
      record.state = transition.state;
      record.attributes = stampLastChange(applyTransition(record.attributes, transition), now);
      delete record.sealedValue;
      await tx.update(record);
    });
    return [uidItem(uid)];
  },
};

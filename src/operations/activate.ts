/** Activate (KMIP 2.1 §6.1.1; 1.4 §4.19): a Pre-Active object becomes Active, its Activation Date now. */
import { stampLastChange } from '../objects/attribute-rules.js';
import { activate as activateTransition, applyTransition } from '../objects/lifecycle.js';
import { firstUid, ownObject, targetUid, uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const activate: OperationDefinition = {
  name: 'Activate',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    await ctx.store.transaction(async (tx) => {
      const record = await ownObject(tx, uid, ctx);
      const now = ctx.clock.now();
      const transition = activateTransition(record, now, { version: ctx.version });
      record.state = transition.state;
      record.attributes = stampLastChange(applyTransition(record.attributes, transition), now);
      await tx.update(record);
    });
    return [uidItem(uid)];
  },
};

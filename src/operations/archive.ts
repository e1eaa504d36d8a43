/**
 * Archive (KMIP 2.1 §6.1.4; 1.4 §4.22): the client tells the server the object may be archived.
 * kmipd archives at once: the object leaves on-line storage, a default Locate no longer finds it,
 * and every operation on it but Recover answers Object Archived (1.4 §11.23: archiving an archived
 * object too). It has no placeholder: 2.1 §6.1 does not list Archive among the operations that
 * set the ID Placeholder. Its key material stays sealed in the store; Recover brings it back on-line.
 */
import { stampLastChange } from '../objects/attribute-rules.js';
import { ownObject, targetUid, uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const archive: OperationDefinition = {
  name: 'Archive',
  mutates: true,
  permission: 'write',
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    await ctx.store.transaction(async (tx) => {
      const record = await ownObject(tx, uid, ctx);
      record.archived = true;
      // 2.1 §4.29: Archive and Recover set Last Change Date.
      record.attributes = stampLastChange(record.attributes, ctx.clock.now());
      await tx.update(record);
    });
    return [uidItem(uid)];
  },
};

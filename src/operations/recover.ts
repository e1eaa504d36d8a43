/**
 * Recover (KMIP 2.1 §6.1.42; 1.4 §4.23): an archived object comes back on-line, so Get and the
 * other operations reach it again. Recovering an object that is on-line changes nothing and
 * succeeds (1.4 §11.24 lists no error for it). Sets the ID Placeholder (2.1 §6.1).
 */
import { stampLastChange } from '../objects/attribute-rules.js';
import { firstUid, ownObject, targetUid, uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const recover: OperationDefinition = {
  name: 'Recover',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    await ctx.store.transaction(async (tx) => {
      const record = await ownObject(tx, uid, ctx, 'allow');
      if (record.archived !== true) return;
      delete record.archived;
      record.attributes = stampLastChange(record.attributes, ctx.clock.now());
      await tx.update(record);
    });
    return [uidItem(uid)];
  },
};

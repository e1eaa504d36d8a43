/**
 * Destroy (KMIP 2.1 §6.1.15; 1.4 §4.21): the key material is erased (the sealed value is removed
 * from the store, an HSM-resident key from the token) and the object becomes Destroyed; its
 * metadata stays. An Active object is refused: it must be revoked first.
 */
import { destroy as destroyTransition } from '../objects/lifecycle.js';
import { destroyResident } from './hsm-resident.js';
import { firstUid, transitionObject } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const destroy: OperationDefinition = {
  name: 'Destroy',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  handler: (payload, ctx) =>
    transitionObject(
      payload,
      ctx,
      (record, now) => destroyTransition(record, now, { version: ctx.version }),
      async (record) => {
        delete record.sealedValue;
        // An HSM-resident key leaves the token in the same transaction: if the HSM refuses, nothing changes.
        await destroyResident(ctx, record);
      },
    ),
};

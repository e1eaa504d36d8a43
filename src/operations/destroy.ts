/**
 * Destroy (KMIP 2.1 §6.1.15; 1.4 §4.21): the key material is erased (the sealed value is removed
 * from the store) and the object becomes Destroyed; its metadata stays. An Active object is
 * refused: it must be revoked first.
 */
import { destroy as destroyTransition } from '../objects/lifecycle.js';
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
      (record) => delete record.sealedValue,
    ),
};

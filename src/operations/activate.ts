/** Activate (KMIP 2.1 §6.1.1; 1.4 §4.19): a Pre-Active object becomes Active, its Activation Date now. */
import { activate as activateTransition } from '../objects/lifecycle.js';
import { firstUid, transitionObject } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const activate: OperationDefinition = {
  name: 'Activate',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  handler: (payload, ctx) => transitionObject(payload, ctx, (record, now) => activateTransition(record, now, { version: ctx.version })),
};

/**
 * Revoke (KMIP 2.1 §6.1.44; 1.4 §4.20): a Key or CA Compromise makes the object Compromised (its
 * Compromise Date now, its Compromise Occurrence Date as given or else the Initial Date); any other
 * Revocation Reason makes an Active object Deactivated. The Revocation Reason is kept as the
 * object's attribute.
 */
import { Tag } from '../kmip/registry.generated.js';
import { revoke as revokeTransition } from '../objects/lifecycle.js';
import { firstUid, transitionObject } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const revoke: OperationDefinition = {
  name: 'Revoke',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  handler(payload, ctx) {
    const reasonItem = payload.required(Tag.RevocationReason);
    const occurred = payload.get(Tag.CompromiseOccurrenceDate, 'DateTime');
    return transitionObject(payload, ctx, (record, now) =>
      revokeTransition(record, reasonItem, now, { version: ctx.version, ...(occurred === undefined ? {} : { compromiseOccurrenceDate: occurred }) }),
    );
  },
};

/**
 * Check (KMIP 2.1 §6.1.7; 1.4 §4.10): may the client use the object for what it says, with no
 * change to the object. Each value the request gives is checked: a Cryptographic Usage Mask whose
 * bits the object's mask does not all hold, a Usage Limits Count larger than what remains of the
 * object's Usage Limits (an object without them is not limited), a Lease Time longer than the
 * server grants (see obtain-lease.ts). A usable object answers its Unique Identifier. Otherwise the
 * ID Placeholder is emptied (2.1 §6.1.7) and the item fails; its Result Message names every value
 * that was refused.
 *
 * The failed item carries no Response Payload. §6.1.7's prose says the refused attributes are
 * returned, but Table 184 makes each of them optional ("REQUIRED: No"), §8.6 requires a payload
 * only "if not a failure", and the mandatory Baseline cases BL-M-2-21 (request 2) and BL-M-3-21
 * (request 5) expect a refused Check with Result Reason and Message and no payload, which Profiles
 * 2.1 §4.1 does not let a server vary.
 */
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { find } from '../objects/items.js';
import { stateTitle, effectiveState, wrongState } from '../objects/lifecycle.js';
import { firstUid, ownObject, reason, targetUid, uidItem } from './managed.js';
import { maximumLease, whyNoLease } from './obtain-lease.js';
import { requestedUnits, usageAllowance } from './get-usage-allocation.js';
import type { OperationDefinition } from './registry.js';

export const check: OperationDefinition = {
  name: 'Check',
  mutates: false,
  permission: 'read',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    const units = payload.get(Tag.UsageLimitsCount, 'LongInteger');
    const mask = payload.get(Tag.CryptographicUsageMask, 'Integer');
    const lease = payload.get(Tag.LeaseTime, 'Interval');
    if (units !== undefined) requestedUnits(units);
    const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    const now = ctx.clock.now();

    const refusals: { reason: ResultReasonName; message: string }[] = [];
    const state = effectiveState(record, now);
    if (state === 'Destroyed' || state === 'DestroyedCompromised') {
      ctx.idPlaceholder = undefined;
      throw wrongState(`the object is ${stateTitle(state)} and cannot be used`, ctx.version);
    }
    if (mask !== undefined) {
      const held = find(record.attributes, Tag.CryptographicUsageMask);
      const allowed = held?.type === 'Integer' ? held.value : 0;
      if ((mask & ~allowed) !== 0) {
        refusals.push({
          reason: reason(ctx, 'IncompatibleCryptographicUsageMask', 'PermissionDenied'),
          message: `Cryptographic Usage Mask 0x${mask.toString(16)} asks for 0x${(mask & ~allowed).toString(16)}, which the object's mask 0x${allowed.toString(16)} does not permit`,
        });
      }
    }
    if (units !== undefined) {
      const allowance = usageAllowance(record.attributes);
      if (allowance !== undefined && units > allowance.remaining) {
        refusals.push({ reason: reason(ctx, 'UsageLimitExceeded', 'PermissionDenied'), message: `Usage Limits Count ${units} exceeds the ${allowance.remaining} units that remain` });
      }
    }
    if (lease !== undefined) {
      const noLease = whyNoLease(record, now);
      const max = maximumLease(record);
      if (noLease !== undefined || lease > max) {
        refusals.push({ reason: 'PermissionDenied', message: noLease !== undefined ? `Lease Time: ${noLease}` : `Lease Time ${lease} s exceeds the ${max} s this server grants` });
      }
    }
    const first = refusals[0];
    if (first !== undefined) {
      // 2.1 §6.1.7: "the server empties the ID Placeholder and does not return the Unique Identifier".
      ctx.idPlaceholder = undefined;
      throw new KmipError(first.reason, `Check refused: ${refusals.map((r) => r.message).join('; ')}`);
    }
    return [uidItem(uid)];
  },
};

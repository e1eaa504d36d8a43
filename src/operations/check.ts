/**
 * Check (KMIP 2.1 §6.1.7; 1.4 §4.10): may the client use the object for what it says, with no
 * change to the object. Each value the request gives is checked: a Cryptographic Usage Mask whose
 * bits the object's mask does not all hold, a Usage Limits Count larger than what remains of the
 * object's Usage Limits (an object without them is not limited), a Lease Time longer than the
 * server grants (see obtain-lease.ts). A usable object answers its Unique Identifier. Otherwise the
 * ID Placeholder is emptied (2.1 §6.1.7) and the item fails; its message names every value that
 * was refused. (kmipd answers a failed item without a payload, so the refused values are not
 * echoed as fields.)
 */
import { type Item, item } from '../ttlv/index.js';
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

    const refusals: { reason: ResultReasonName; message: string; field: Item }[] = [];
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
          field: item(Tag.CryptographicUsageMask, 'Integer', mask),
          reason: reason(ctx, 'IncompatibleCryptographicUsageMask', 'PermissionDenied'),
          message: `Cryptographic Usage Mask 0x${mask.toString(16)} asks for 0x${(mask & ~allowed).toString(16)}, which the object's mask 0x${allowed.toString(16)} does not permit`,
        });
      }
    }
    if (units !== undefined) {
      const allowance = usageAllowance(record.attributes);
      if (allowance !== undefined && units > allowance.remaining) {
        refusals.push({ field: item(Tag.UsageLimitsCount, 'LongInteger', units), reason: reason(ctx, 'UsageLimitExceeded', 'PermissionDenied'), message: `Usage Limits Count ${units} exceeds the ${allowance.remaining} units that remain` });
      }
    }
    if (lease !== undefined) {
      const noLease = whyNoLease(record, now);
      const max = maximumLease(record);
      if (noLease !== undefined || lease > max) {
        refusals.push({ field: item(Tag.LeaseTime, 'Interval', lease), reason: 'PermissionDenied', message: noLease !== undefined ? `Lease Time: ${noLease}` : `Lease Time ${lease} s exceeds the ${max} s this server grants` });
      }
    }
    const first = refusals[0];
    if (first !== undefined) {
      // 2.1 §6.1.7: "the server empties the ID Placeholder and does not return the Unique Identifier".
      ctx.idPlaceholder = undefined;
      throw new KmipError(first.reason, `Check refused: ${refusals.map((r) => r.message).join('; ')}`, refusals.map((r) => r.field));
    }
    return [uidItem(uid)];
  },
};

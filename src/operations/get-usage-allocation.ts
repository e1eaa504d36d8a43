/**
 * Get Usage Allocation (KMIP 2.1 §6.1.23; 1.4 §4.18): the client takes Usage Limits Count units
 * from a key's Usage Limits (2.1 §4.59) before applying protection with it. The allocation is
 * taken from the remaining Count and persisted in the same transaction; more than remains is
 * refused and changes nothing. Only a Symmetric Key that can apply protection now (Active, before
 * its Protect Stop Date: 2.1 §6.1.23) and has Usage Limits gets an allocation.
 */
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { stampLastChange } from '../objects/attribute-rules.js';
import { child, find, withReplaced } from '../objects/items.js';
import { assertUsable } from '../objects/lifecycle.js';
import type { ManagedObjectRecord } from '../objects/types.js';
import { firstUid, ownObject, reason, targetUid, uidItem } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

/** What remains of an object's Usage Limits. */
export interface UsageAllowance {
  readonly total: bigint;
  /** The remaining Count: the Total until the first allocation sets a Count (2.1 §4.59). */
  readonly remaining: bigint;
  readonly attribute: Item;
}

export function usageAllowance(attrs: readonly Item[]): UsageAllowance | undefined {
  const attribute = find(attrs, Tag.UsageLimits);
  if (attribute === undefined) return undefined;
  const total = child(attribute, Tag.UsageLimitsTotal);
  const count = child(attribute, Tag.UsageLimitsCount);
  const totalValue = total?.type === 'LongInteger' ? total.value : 0n;
  return { total: totalValue, remaining: count?.type === 'LongInteger' ? count.value : totalValue, attribute };
}

/** The amount a request asks for: a positive Long Integer. */
export function requestedUnits(value: bigint): bigint {
  if (value <= 0n) throw new KmipError('InvalidField', `the Usage Limits Count asked for must be positive, not ${value}`);
  return value;
}

export const getUsageAllocation: OperationDefinition = {
  name: 'GetUsageAllocation',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    // 1.4 §11.19: "No Usage Limits Count is specified" → Invalid Message (Fields.need's refusal).
    const wanted = requestedUnits(payload.need(Tag.UsageLimitsCount, 'LongInteger'));
    await ctx.store.transaction(async (tx) => {
      const record = await ownObject(tx, uid, ctx);
      const now = ctx.clock.now();
      const allowance = allocatable(record, now, ctx);
      if (wanted > allowance.remaining) {
        throw new KmipError(
          reason(ctx, 'UsageLimitExceeded', 'PermissionDenied'),
          `${wanted} units were asked for; ${allowance.remaining} of the Usage Limits Total ${allowance.total} remain`,
        );
      }
      const rest = allowance.attribute.type === 'Structure' ? allowance.attribute.value.filter((c) => c.tag !== Tag.UsageLimitsCount) : [];
      const updated = structure(Tag.UsageLimits, [...rest, item(Tag.UsageLimitsCount, 'LongInteger', allowance.remaining - wanted)]);
      record.attributes = stampLastChange(withReplaced(record.attributes, [updated]), now);
      await tx.update(record);
    });
    return [uidItem(uid)];
  },
};

/** The object's allowance, if it is one that allocations apply to at `now`; the refusal otherwise. */
function allocatable(record: ManagedObjectRecord, now: number, ctx: OperationContext): UsageAllowance {
  if (record.objectType !== 'SymmetricKey') {
    // 1.4 §11.19: "not able to be used for applying cryptographic protection" → Illegal Operation.
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'IllegalOperation'), `a ${record.objectType} is not used to apply cryptographic protection, so it has no usage allocation`);
  }
  const allowance = usageAllowance(record.attributes);
  if (allowance === undefined) {
    throw new KmipError(reason(ctx, 'AttributeNotFound', 'IllegalOperation'), `object ${record.uid} has no Usage Limits attribute (KMIP 2.1 §6.1.23)`);
  }
  // 2.1 §6.1.23: only "after the Activation Date and before the Protect Stop Date".
  assertUsable(record, 'protect', now, { version: ctx.version });
  return allowance;
}

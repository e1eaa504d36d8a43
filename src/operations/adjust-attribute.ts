/**
 * Adjust Attribute (KMIP 2.1 §6.1.3; 2.x only): Increment, Decrement (by the Adjustment Value,
 * default 1) or Negate the attribute named by the Attribute Reference; an absent one counts as 0
 * or false.
 */
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { type AdjustmentName, applyAdjust } from '../objects/attribute-rules.js';
import { refFromAttributeReference } from '../objects/items.js';
import { editObject } from './attribute-edits.js';
import { firstUid } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const adjustAttribute: OperationDefinition = {
  name: 'AdjustAttribute',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  handler(payload, ctx) {
    const ref = refFromAttributeReference(payload.required(Tag.AttributeReference));
    const type = payload.need(Tag.AdjustmentType, 'Enumeration');
    const found = (Object.entries(Enum.AdjustmentType) as [AdjustmentName, number][]).find(([, v]) => v === type);
    if (found === undefined) throw new KmipError('InvalidField', `Adjustment Type 0x${type.toString(16)} is not known`);
    const amount = payload.optional(Tag.AdjustmentValue);
    return editObject(payload, ctx, (record, now) => ({ attributes: applyAdjust(record, ref, found[0], amount, { now, version: ctx.version }).attributes }));
  },
};

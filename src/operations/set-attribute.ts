/**
 * Set Attribute (KMIP 2.1 §6.1.51; 2.x only): adds the New Attribute if the object has none,
 * replaces its one instance, refuses one with several instances.
 */
import { Tag } from '../kmip/registry.generated.js';
import { applySet } from '../objects/attribute-rules.js';
import { checkNewNames, editObject, wrappedAttribute } from './attribute-edits.js';
import { firstUid } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const setAttribute: OperationDefinition = {
  name: 'SetAttribute',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  handler(payload, ctx) {
    const attr = wrappedAttribute(payload, Tag.NewAttribute, true);
    return editObject(payload, ctx, async (record, now, reader) => {
      const result = applySet(record, attr, { now, version: ctx.version });
      await checkNewNames(reader, record.attributes, result.attributes, [attr], ctx);
      return { attributes: result.attributes };
    });
  },
};

/**
 * Delete Attribute (KMIP 2.1 §6.1.13; 1.4 §4.16). 2.x: the instance equal to the Current
 * Attribute, or every instance of the Attribute Reference; answered the Unique Identifier. 1.x:
 * the Attribute Name's instance at the Attribute Index (default 0); answered the deleted Attribute.
 */
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { type DeleteTarget, applyDelete } from '../objects/attribute-rules.js';
import { refFromAttributeReference } from '../objects/items.js';
import { refFromV1Name, toV1Attribute } from '../objects/v1-attributes.js';
import { editObject, wrappedAttribute } from './attribute-edits.js';
import { firstUid } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const deleteAttribute: OperationDefinition = {
  name: 'DeleteAttribute',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  handler(payload, ctx) {
    const v2 = isV2(ctx.version);
    let target: DeleteTarget;
    if (v2) {
      const current = wrappedAttribute(payload, Tag.CurrentAttribute, false);
      const reference = payload.optional(Tag.AttributeReference);
      if (current !== undefined) target = { current };
      else if (reference !== undefined) target = { ref: refFromAttributeReference(reference) };
      else throw new KmipError('InvalidMessage', 'Delete Attribute needs a Current Attribute or an Attribute Reference');
    } else {
      const index = payload.get(Tag.AttributeIndex, 'Integer');
      target = { ref: refFromV1Name(payload.need(Tag.AttributeName, 'TextString')), index: index ?? 0 };
    }
    return editObject(payload, ctx, (record, now) => {
      const result = applyDelete(record, target, { now, version: ctx.version });
      if (v2) return { attributes: result.attributes };
      const deleted = result.deleted[0];
      const v1 = deleted === undefined ? undefined : toV1Attribute(deleted.item, deleted.index > 0 ? deleted.index : undefined);
      return { attributes: result.attributes, ...(v1 === undefined ? {} : { respond: [v1] }) };
    });
  },
};

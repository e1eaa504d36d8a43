/**
 * Add Attribute (KMIP 2.1 §6.1.2; 1.4 §4.14): a new instance of an attribute. 2.x sends it in a
 * New Attribute and is answered the Unique Identifier; 1.x sends an Attribute and is answered the
 * Attribute with the Attribute Index the new instance got, left out when it is 0 (1.4 §4.14: "the
 * Attribute Index MAY be omitted if the index of the added attribute instance is 0"; the OASIS
 * cases, e.g. AX-M-1-14, omit it, as Get Attributes and Delete Attribute do here).
 */
import { type Item } from '../ttlv/index.js';
import { Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { applyAdd } from '../objects/attribute-rules.js';
import { fromV1Attribute, toV1Attribute } from '../objects/v1-attributes.js';
import { checkNewNames, editObject, wrappedAttribute } from './attribute-edits.js';
import { firstUid } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const addAttribute: OperationDefinition = {
  name: 'AddAttribute',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  handler(payload, ctx) {
    const v2 = isV2(ctx.version);
    const attr: Item = v2 ? wrappedAttribute(payload, Tag.NewAttribute, true) : fromV1Attribute(payload.required(Tag.Attribute)).item;
    return editObject(payload, ctx, async (record, now, reader) => {
      const result = applyAdd(record, attr, { now, version: ctx.version });
      await checkNewNames(reader, record.attributes, result.attributes, [attr], ctx);
      const v1 = v2 ? undefined : toV1Attribute(attr, result.index > 0 ? result.index : undefined);
      return { attributes: result.attributes, ...(v1 === undefined ? {} : { respond: [v1] }) };
    });
  },
};

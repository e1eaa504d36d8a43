/**
 * Modify Attribute (KMIP 2.1 §6.1.34; 1.4 §4.15): replaces one existing instance. 2.x names it by
 * its Current Attribute value (or, absent, the only instance) and gives the New Attribute; 1.x
 * gives an Attribute whose Attribute Index (default 0) picks the instance, and is answered the
 * modified Attribute with its index, left out when it is 0 (1.4 §4.15: "MAY be omitted if the
 * index of the modified attribute instance is 0").
 */
import { Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { type Selector, applyModify } from '../objects/attribute-rules.js';
import { fromV1Attribute, toV1Attribute } from '../objects/v1-attributes.js';
import { checkNewNames, editObject, wrappedAttribute } from './attribute-edits.js';
import { firstUid } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const modifyAttribute: OperationDefinition = {
  name: 'ModifyAttribute',
  mutates: true,
  permission: 'write',
  placeholder: firstUid,
  handler(payload, ctx) {
    const v2 = isV2(ctx.version);
    let attr;
    let selector: Selector | undefined;
    if (v2) {
      attr = wrappedAttribute(payload, Tag.NewAttribute, true);
      const current = wrappedAttribute(payload, Tag.CurrentAttribute, false);
      selector = current === undefined ? undefined : { current };
    } else {
      const given = fromV1Attribute(payload.required(Tag.Attribute));
      attr = given.item;
      selector = { index: given.index ?? 0 };
    }
    const newAttr = attr;
    return editObject(payload, ctx, async (record, now, reader) => {
      const result = applyModify(record, newAttr, selector, { now, version: ctx.version });
      await checkNewNames(reader, record.attributes, result.attributes, [newAttr], ctx);
      const v1 = v2 ? undefined : toV1Attribute(newAttr, result.index > 0 ? result.index : undefined);
      return { attributes: result.attributes, ...(v1 === undefined ? {} : { respond: [v1] }) };
    });
  },
};

/**
 * Get Attributes (KMIP 2.1 §6.1.20; 1.4 §4.12): all of an object's attributes, or those named.
 * 2.x names them by Attribute Reference and answers an Attributes structure; 1.x names them by
 * Attribute Name and answers Attribute structures (attributes 1.x lacks are left out). An
 * attribute the object does not have is simply absent from the answer.
 */
import { type Item, structure } from '../ttlv/index.js';
import { Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { type AttributeRef, refFromAttributeReference, refOf, sameRef } from '../objects/items.js';
import { currentAttributes } from '../objects/lifecycle.js';
import { refFromV1Name, toV1Attributes } from '../objects/v1-attributes.js';
import { firstUid, ownObject, targetUid, uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const getAttributes: OperationDefinition = {
  name: 'GetAttributes',
  mutates: false,
  permission: 'read',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    const v2 = isV2(ctx.version);
    const refs: AttributeRef[] = v2
      ? payload.all(Tag.AttributeReference).map(refFromAttributeReference)
      : payload.values(Tag.AttributeName, 'TextString').map(refFromV1Name);
    const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    const all = currentAttributes(record, ctx.clock.now());
    const selected = refs.length === 0 ? all : all.filter((a) => refs.some((r) => sameRef(refOf(a), r)));
    const out: Item[] = [uidItem(uid)];
    if (v2) out.push(structure(Tag.Attributes, selected));
    else out.push(...toV1Attributes(selected));
    return out;
  },
};

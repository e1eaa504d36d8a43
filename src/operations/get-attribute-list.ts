/**
 * Get Attribute List (KMIP 2.1 §6.1.21; 1.4 §4.13): which attributes an object has, each once.
 * 2.x answers Attribute References; 1.x answers Attribute Names (attributes 1.x lacks are left out).
 */
import type { Item } from '../ttlv/index.js';
import { item } from '../ttlv/index.js';
import { Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { type AttributeRef, attributeReference, refOf, sameRef } from '../objects/items.js';
import { currentAttributes } from '../objects/lifecycle.js';
import { v1Name } from '../objects/v1-attributes.js';
import { firstUid, ownObject, targetUid, uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const getAttributeList: OperationDefinition = {
  name: 'GetAttributeList',
  mutates: false,
  permission: 'read',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    const refs: AttributeRef[] = [];
    for (const attr of currentAttributes(record, ctx.clock.now())) {
      const ref = refOf(attr);
      if (!refs.some((r) => sameRef(r, ref))) refs.push(ref);
    }
    const out: Item[] = [uidItem(uid)];
    if (isV2(ctx.version)) out.push(...refs.map(attributeReference));
    else {
      for (const ref of refs) {
        const name = v1Name(ref);
        if (name !== undefined) out.push(item(Tag.AttributeName, 'TextString', name));
      }
    }
    return out;
  },
};

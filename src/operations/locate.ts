/**
 * Locate (KMIP 2.1 §6.1.28; 1.4 §4.9): the Unique Identifiers of the caller's objects whose
 * attributes match every one given, newest first, paged by Maximum Items and Offset Items. Object
 * Type and State filter on the object's own columns; a Name given by its Name Value alone matches
 * any Name Type. 2.x gives the attributes in an Attributes structure, 1.x as Attribute structures.
 */
import { type Item, item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { atLeast, isV2 } from '../kmip/version.js';
import { fromV1Attributes } from '../objects/v1-attributes.js';
import type { ObjectTypeName, StateName } from '../objects/types.js';
import { type AttributeFilter, type LocateQuery, filterFor } from '../store/index.js';
import { firstUid, uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

/** The most Unique Identifiers one Locate answers, whatever Maximum Items asks (bounded everything). */
export const LOCATE_PAGE_LIMIT = 1000;

function nameOf<K extends string>(values: Record<K, number>, value: number, what: string): K {
  const found = (Object.entries(values) as [K, number][]).find(([, v]) => v === value);
  if (found === undefined) throw new KmipError('InvalidField', `${what} 0x${value.toString(16)} is not known`);
  return found[0];
}

export const locate: OperationDefinition = {
  name: 'Locate',
  mutates: false,
  permission: 'read',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const attrs = isV2(ctx.version) ? (payload.struct(Tag.Attributes)?.item.value ?? []) : fromV1Attributes(payload.all(Tag.Attribute));
    const objectTypes: ObjectTypeName[] = [];
    const states: StateName[] = [];
    const attributes: AttributeFilter[] = [];
    for (const attr of attrs) {
      if (attr.tag === Tag.ObjectType && attr.type === 'Enumeration') objectTypes.push(nameOf(Enum.ObjectType, attr.value, 'Object Type'));
      else if (attr.tag === Tag.State && attr.type === 'Enumeration') states.push(nameOf(Enum.State, attr.value, 'State'));
      else attributes.push(filterFor(attr));
    }
    // Two different Object Types (or States) can never both hold: nothing matches.
    if (new Set(objectTypes).size > 1 || new Set(states).size > 1) return isV2(ctx.version) || atLeast(ctx.version, 1, 3) ? [item(Tag.LocatedItems, 'Integer', 0)] : [];
    const maxItems = payload.get(Tag.MaximumItems, 'Integer');
    const offsetItems = payload.get(Tag.OffsetItems, 'Integer');
    if (maxItems !== undefined && maxItems < 0) throw new KmipError('InvalidField', 'Maximum Items cannot be negative');
    if (offsetItems !== undefined && offsetItems < 0) throw new KmipError('InvalidField', 'Offset Items cannot be negative');
    const query: LocateQuery = {
      ...(objectTypes.length > 0 ? { objectTypes } : {}),
      ...(states.length > 0 ? { states } : {}),
      ...(attributes.length > 0 ? { attributes } : {}),
      maxItems: Math.min(maxItems ?? LOCATE_PAGE_LIMIT, LOCATE_PAGE_LIMIT),
      ...(offsetItems !== undefined ? { offsetItems } : {}),
    };
    const owner = ctx.identity.name;
    const { uids, count } = await ctx.store.read(async (reader) => ({ uids: await reader.locate(query, owner), count: await reader.count(query, owner) }));
    const out: Item[] = [];
    // Located Items exists from 1.3 on; it is the number of matches before paging.
    if (atLeast(ctx.version, 1, 3)) out.push(item(Tag.LocatedItems, 'Integer', count));
    for (const uid of uids) out.push(uidItem(uid));
    return out;
  },
};

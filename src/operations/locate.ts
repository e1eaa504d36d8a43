/**
 * Locate (KMIP 2.1 §6.1.28; 1.4 §4.9): the Unique Identifiers of the caller's objects whose
 * attributes match every one given, newest first, paged by Maximum Items and Offset Items. Object
 * Type and State filter on the object's own columns, the State as it is at the request's time
 * (a reached Activation or Deactivation Date counts); a Name given by its Name Value alone matches
 * any Name Type; two instances of one date attribute are a range, both ends inclusive; custom
 * attributes (1.x `x-…`, 2.x vendor attributes) match like any other. Storage Status Mask picks
 * on-line, archived and destroyed objects (on-line only by default); Object Group Member with an
 * Object Group picks the fresh members or the default one (the newest). 2.x gives the attributes
 * in an Attributes structure, 1.x as Attribute structures.
 */
import { type Item, item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { atLeast, isV2 } from '../kmip/version.js';
import { fromV1Attributes } from '../objects/v1-attributes.js';
import type { ObjectTypeName, StateName } from '../objects/types.js';
import { type AttributeFilter, type LocateQuery, filterFor } from '../store/index.js';
import { uidItem } from './managed.js';
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
  placeholder: locatedPlaceholder,
  async handler(payload, ctx) {
    const attrs = isV2(ctx.version) ? (payload.struct(Tag.Attributes)?.item.value ?? []) : fromV1Attributes(payload.all(Tag.Attribute));
    const objectTypes: ObjectTypeName[] = [];
    const states: StateName[] = [];
    const dates: Item[] = [];
    const attributes: AttributeFilter[] = [];
    for (const attr of attrs) {
      if (attr.tag === Tag.ObjectType && attr.type === 'Enumeration') objectTypes.push(nameOf(Enum.ObjectType, attr.value, 'Object Type'));
      else if (attr.tag === Tag.State && attr.type === 'Enumeration') states.push(nameOf(Enum.State, attr.value, 'State'));
      else if (attr.type === 'DateTime') dates.push(attr);
      else attributes.push(filterFor(attr));
    }
    attributes.push(...dateFilters(dates));
    const groupMember = objectGroupMember(payload.get(Tag.ObjectGroupMember, 'Enumeration'), attrs);
    const storageStatusMask = payload.get(Tag.StorageStatusMask, 'Integer') ?? Mask.StorageStatusMask.OnLineStorage;
    if (storageStatusMask < 0 || (storageStatusMask & ~ALL_STORAGE) !== 0) throw new KmipError('InvalidField', `Storage Status Mask 0x${storageStatusMask.toString(16)} has bits KMIP does not define`);
    // Two different Object Types (or States) can never both hold: nothing matches.
    if (new Set(objectTypes).size > 1 || new Set(states).size > 1) return isV2(ctx.version) || atLeast(ctx.version, 1, 3) ? [item(Tag.LocatedItems, 'Integer', 0)] : [];
    const maxItems = payload.get(Tag.MaximumItems, 'Integer');
    const offsetItems = payload.get(Tag.OffsetItems, 'Integer');
    if (maxItems !== undefined && maxItems < 0) throw new KmipError('InvalidField', 'Maximum Items cannot be negative');
    if (offsetItems !== undefined && offsetItems < 0) throw new KmipError('InvalidField', 'Offset Items cannot be negative');
    const pageSize = Math.min(maxItems ?? LOCATE_PAGE_LIMIT, LOCATE_PAGE_LIMIT);
    const query: LocateQuery = {
      ...(objectTypes.length > 0 ? { objectTypes } : {}),
      ...(states.length > 0 ? { states } : {}),
      ...(attributes.length > 0 ? { attributes } : {}),
      ...(groupMember !== undefined ? { groupMember } : {}),
      now: ctx.clock.now(),
      storageStatusMask,
      maxItems: pageSize,
      ...(offsetItems !== undefined ? { offsetItems } : {}),
    };
    const owner = ctx.identity.name;
    // Located Items exists from 1.3 on; it is the number of matches before paging.
    const counted = atLeast(ctx.version, 1, 3);
    const offset = offsetItems ?? 0;
    const { uids, count } = await ctx.store.read(async (reader) => {
      const uids = await reader.locate(query, owner);
      // A page that is not full holds the last match, so the matches are the ones skipped plus
      // these, unless the page is empty (Offset Items may have skipped past the end): no second
      // query for most Locates, a lookup by Name among them.
      if (!counted || (uids.length < pageSize && (offset === 0 || uids.length > 0))) return { uids, count: offset + uids.length };
      return { uids, count: await reader.count(query, owner) };
    });
    const out: Item[] = [];
    if (counted) out.push(item(Tag.LocatedItems, 'Integer', count));
    for (const uid of uids) out.push(uidItem(uid));
    return out;
  },
};

const ALL_STORAGE = Mask.StorageStatusMask.OnLineStorage | Mask.StorageStatusMask.ArchivalStorage | Mask.StorageStatusMask.DestroyedStorage;

/**
 * KMIP 2.1 §6.1.28: "If a single Unique Identifier is returned … copy [it] into the ID
 * Placeholder"; if more matched and were returned, "the server SHALL empty the ID Placeholder" so
 * batched operations without a Unique Identifier fail rather than act on one of many. kmipd also
 * empties it when nothing matched, for the same reason.
 */
function locatedPlaceholder(response: Item[]): string {
  const uids = response.filter((it) => it.tag === Tag.UniqueIdentifier && it.type === 'TextString');
  const only = uids.length === 1 ? uids[0] : undefined;
  return only?.type === 'TextString' ? only.value : '';
}

/**
 * KMIP 2.1 §6.1.28: one instance of a date attribute matches that date exactly; two instances of
 * the same one are a range, "inside or at a limit of the range". A third has no meaning.
 */
function dateFilters(dates: readonly Item[]): AttributeFilter[] {
  const byTag = new Map<number, number[]>();
  for (const d of dates) if (d.type === 'DateTime') byTag.set(d.tag, [...(byTag.get(d.tag) ?? []), d.value]);
  const filters: AttributeFilter[] = [];
  for (const [tag, values] of byTag) {
    if (values.length > 2) throw new KmipError('InvalidField', 'a date attribute is given at most twice in a Locate: once for a date, twice for a range');
    if (values.length === 1) filters.push(filterFor(item(tag, 'DateTime', values[0]!)));
    else filters.push({ attribute: tag, from: Math.min(...values), to: Math.max(...values) });
  }
  return filters;
}

/**
 * KMIP 2.1 §6.1.28: Object Group Member applies "when the Object Group attribute and the Object
 * Group Member flag are specified"; without an Object Group it is ignored. Default is, by kmipd's
 * policy, the group's most recently created member.
 */
function objectGroupMember(value: number | undefined, attrs: readonly Item[]): LocateQuery['groupMember'] {
  if (value === undefined) return undefined;
  const member = nameOf(Enum.ObjectGroupMember, value, 'Object Group Member');
  if (!attrs.some((a) => a.tag === Tag.ObjectGroup)) return undefined;
  return member === 'GroupMemberFresh' ? 'Fresh' : 'Default';
}

/**
 * Obtain Lease (KMIP 2.1 §6.1.35; 1.4 §4.17): how long the client may use its cached copy of an
 * object before asking again, and the object's Last Change Date so it can tell whether its cached
 * attributes are stale. The lease is the object's Lease Time attribute (2.1 §4.30: the maximum the
 * server serves for it) or, without one, the server's default of one hour. No lease is issued for
 * an object that may no longer be used at all: Compromised, Destroyed or Destroyed Compromised.
 */
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { dateOf, find } from '../objects/items.js';
import { effectiveState, stateTitle } from '../objects/lifecycle.js';
import type { ManagedObjectRecord, StateName } from '../objects/types.js';
import { MAXIMUM_LEASE_TIME } from '../objects/server-attributes.js';
import { firstUid, ownObject, targetUid, uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

/** Seconds of lease for an object without a Lease Time attribute: the most kmipd serves. */
export const DEFAULT_LEASE_TIME = MAXIMUM_LEASE_TIME;

const NO_LEASE: readonly StateName[] = ['Compromised', 'Destroyed', 'DestroyedCompromised'];

/** The longest lease the server grants for this object (2.1 §4.30). */
export function maximumLease(record: ManagedObjectRecord): number {
  const attr = find(record.attributes, Tag.LeaseTime);
  return attr?.type === 'Interval' ? attr.value : DEFAULT_LEASE_TIME;
}

/** Why no lease is issued for the object at `now`, if so. */
export function whyNoLease(record: ManagedObjectRecord, now: number): string | undefined {
  const state = effectiveState(record, now);
  return NO_LEASE.includes(state) ? `the object is ${stateTitle(state)}; no lease is issued for it` : undefined;
}

export const obtainLease: OperationDefinition = {
  name: 'ObtainLease',
  mutates: false,
  permission: 'read',
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    const record = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    const refused = whyNoLease(record, ctx.clock.now());
    // 2.1 §6.1.35 and 1.4 §11.18: a lease the server will not issue is Permission Denied.
    if (refused !== undefined) throw new KmipError('PermissionDenied', refused);
    const lastChange = dateOf(record.attributes, Tag.LastChangeDate) ?? dateOf(record.attributes, Tag.InitialDate) ?? 0;
    return [uidItem(uid), item(Tag.LeaseTime, 'Interval', maximumLease(record)), item(Tag.LastChangeDate, 'DateTime', lastChange)];
  },
};

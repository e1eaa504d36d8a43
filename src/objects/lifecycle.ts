/**
 * The lifecycle of a managed object (KMIP 2.1 §4.57 and its Figure 1; 1.4 §3.22):
 *
 *   Pre-Active ──4──▶ Active ──6──▶ Deactivated
 *       │ 2,3          │ 5            │ 7,8
 *       ▼              ▼              ▼
 *   Destroyed ─10─▶ Destroyed Compromised ◀──9── Compromised
 *
 * Operations drive transitions (Activate, Revoke, Destroy); dates drive the rest. The store keeps
 * the state last written and the dates; `effectiveState` applies the Activation and Deactivation
 * Dates against the clock, so a date set in the future takes effect when it passes without any
 * request touching the object. Compromise Date and Destroy Date are only ever set by Revoke and
 * Destroy, to the moment of the request, so they never drive a transition on their own. Process
 * Start and Protect Stop Dates limit use, not state (§4.57 Active, §4.40, §4.41: `whyUnusable`).
 *
 * Nothing rewrites a stored state when a date passes: every reader evaluates it at its own time —
 * Get Attributes through `currentAttributes`, the operations' checks through `effectiveState`, and
 * Locate by State through the same rule as SQL on the dates mirrored into the objects table
 * (store/locate.ts `stateCondition`). An operation's transition stores the state it computed.
 */
import { type Item, item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { LATEST, type ProtocolVersion, isV2 } from '../kmip/version.js';
import type { StateName } from './types.js';
import { child, dateItem, dateOf, withReplaced } from './items.js';

/** What the lifecycle reads of an object (a ManagedObjectRecord is one). */
export interface LifecycleView {
  readonly state: StateName;
  readonly attributes: readonly Item[];
}

export interface LifecycleOptions {
  /** The request's protocol version: 1.x has no Wrong Key Lifecycle State and answers Permission Denied. */
  readonly version?: ProtocolVersion;
}

/** What an operation does to an object's lifecycle. */
export interface Transition {
  readonly state: StateName;
  /** Attributes to set, each replacing any instance of the same attribute (all are single-instance). */
  readonly set: readonly Item[];
}

const STATE_TITLES: Record<StateName, string> = {
  PreActive: 'Pre-Active',
  Active: 'Active',
  Deactivated: 'Deactivated',
  Compromised: 'Compromised',
  Destroyed: 'Destroyed',
  DestroyedCompromised: 'Destroyed Compromised',
};

export function stateTitle(state: StateName): string {
  return STATE_TITLES[state];
}

export function stateItem(state: StateName): Item {
  return item(Tag.State, 'Enumeration', Enum.State[state]);
}

/** The refusal for an object in the wrong state: KMIP 2.x has a reason for it, 1.x (1.4 §11.20, §11.22) answers Permission Denied. */
export function wrongState(message: string, version: ProtocolVersion = LATEST): KmipError {
  return new KmipError(isV2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', message);
}

/** A date takes effect once reached: "a date in the past, or the current date" (2.1 §4.57, transitions 4 and 6). */
export function reached(date: number | undefined, now: number): boolean {
  return date !== undefined && date <= now;
}

/** The state at `now`: Pre-Active → Active once the Activation Date is reached, Active → Deactivated once the Deactivation Date is. */
export function effectiveState(record: LifecycleView, now: number): StateName {
  let state = record.state;
  if (state === 'PreActive' && reached(dateOf(record.attributes, Tag.ActivationDate), now)) state = 'Active';
  if (state === 'Active' && reached(dateOf(record.attributes, Tag.DeactivationDate), now)) state = 'Deactivated';
  return state;
}

/** The attributes as a read at `now` reports them: the State attribute is the effective state. */
export function currentAttributes(record: LifecycleView, now: number): Item[] {
  const state = effectiveState(record, now);
  return record.attributes.map((a) => (a.tag === Tag.State ? stateItem(state) : a));
}

/** The attributes after a transition. */
export function applyTransition(attributes: readonly Item[], transition: Transition): Item[] {
  return withReplaced(attributes, transition.set);
}

/** KMIP 2.1 §6.1.1: only a Pre-Active object is activated; its Activation Date becomes now. */
export function activate(record: LifecycleView, now: number, options: LifecycleOptions = {}): Transition {
  const state = effectiveState(record, now);
  if (state !== 'PreActive') {
    throw wrongState(`Activate needs a Pre-Active object; this one is ${stateTitle(state)} (KMIP 2.1 §6.1.1)`, options.version);
  }
  return { state: 'Active', set: [stateItem('Active'), dateItem(Tag.ActivationDate, now)] };
}

export interface RevokeOptions extends LifecycleOptions {
  /** When the compromise is believed to have happened; only with a compromise reason (2.1 §6.1.44). */
  readonly compromiseOccurrenceDate?: number;
}

const COMPROMISE_CODES: readonly number[] = [Enum.RevocationReasonCode.KeyCompromise, Enum.RevocationReasonCode.CACompromise];
const KNOWN_CODES = new Set<number>(Object.values(Enum.RevocationReasonCode));

/**
 * KMIP 2.1 §6.1.44 / §4.57: a Key or CA Compromise moves Pre-Active, Active and Deactivated objects
 * to Compromised (transitions 3, 5, 8) and Destroyed ones to Destroyed Compromised (10); any other
 * reason deactivates an Active object (6). `reason` is the request's Revocation Reason structure,
 * kept as the object's Revocation Reason attribute.
 */
export function revoke(record: LifecycleView, reason: Item, now: number, options: RevokeOptions = {}): Transition {
  const code = child(reason, Tag.RevocationReasonCode);
  if (reason.tag !== Tag.RevocationReason || code?.type !== 'Enumeration' || !KNOWN_CODES.has(code.value)) {
    throw new KmipError('InvalidField', 'Revocation Reason is not recognized: it needs a known Revocation Reason Code');
  }
  const state = effectiveState(record, now);
  if (COMPROMISE_CODES.includes(code.value)) {
    const next: StateName | undefined = state === 'Destroyed' ? 'DestroyedCompromised' : ['PreActive', 'Active', 'Deactivated'].includes(state) ? 'Compromised' : undefined;
    if (next === undefined) throw wrongState(`the object is already ${stateTitle(state)}; a compromise cannot be recorded again (KMIP 2.1 §4.57)`, options.version);
    // 2.1 §6.1.44: without a Compromise Occurrence Date it SHOULD be the Initial Date.
    const occurred = options.compromiseOccurrenceDate ?? dateOf(record.attributes, Tag.InitialDate) ?? now;
    return {
      state: next,
      set: [stateItem(next), dateItem(Tag.CompromiseDate, now), dateItem(Tag.CompromiseOccurrenceDate, occurred), reason],
    };
  }
  if (options.compromiseOccurrenceDate !== undefined) {
    throw new KmipError('InvalidField', 'a Compromise Occurrence Date is only given with a Key Compromise or CA Compromise reason (KMIP 2.1 §6.1.44)');
  }
  if (state !== 'Active') {
    throw wrongState(`Revoke for a reason other than a compromise needs an Active object; this one is ${stateTitle(state)} (KMIP 2.1 §4.57)`, options.version);
  }
  return { state: 'Deactivated', set: [stateItem('Deactivated'), dateItem(Tag.DeactivationDate, now), reason] };
}

/**
 * KMIP 2.1 §6.1.15 and §4.57 transitions 2, 7, 9: Pre-Active and Deactivated objects become
 * Destroyed, Compromised ones Destroyed Compromised. An Active object is refused: revoke it first.
 * The caller drops the key material; the metadata stays.
 */
export function destroy(record: LifecycleView, now: number, options: LifecycleOptions = {}): Transition {
  const state = effectiveState(record, now);
  let next: StateName;
  switch (state) {
    case 'PreActive':
    case 'Deactivated':
      next = 'Destroyed';
      break;
    case 'Compromised':
      next = 'DestroyedCompromised';
      break;
    case 'Active':
      throw wrongState('Destroy of an Active object is refused: revoke it first (KMIP 2.1 §6.1.15)', options.version);
    case 'Destroyed':
    case 'DestroyedCompromised': {
      const message = `the object is already ${stateTitle(state)}`;
      // 1.4 §11.22: "Object exists, but has already been destroyed" → Permission Denied.
      throw new KmipError(isV2(options.version ?? LATEST) ? 'ObjectDestroyed' : 'PermissionDenied', message);
    }
  }
  return { state: next, set: [stateItem(next), dateItem(Tag.DestroyDate, now)] };
}

/** Applying protection (encrypt, sign, wrap, MAC) or processing protected data (decrypt, verify, unwrap). */
export type Purpose = 'protect' | 'process';

export interface UseOptions extends LifecycleOptions {
  /**
   * Whether a Deactivated or Compromised object may still process protected data. 2.1 §4.57 says it
   * SHOULD only under extraordinary circumstances and with special permission: off unless policy grants it.
   */
  readonly processWhenRevoked?: boolean;
}

/**
 * Why the object cannot be used for `purpose` at `now`, or undefined if it can. Protect needs an
 * Active object before its Protect Stop Date (2.1 §4.41); process needs an Active object (or a
 * revoked one, by policy) on or after its Process Start Date (§4.40).
 */
export function whyUnusable(record: LifecycleView, purpose: Purpose, now: number, options: UseOptions = {}): string | undefined {
  const state = effectiveState(record, now);
  const revoked = state === 'Deactivated' || state === 'Compromised';
  if (purpose === 'protect') {
    if (state !== 'Active') return `the object is ${stateTitle(state)} and cannot apply protection (KMIP 2.1 §4.57)`;
    if (reached(dateOf(record.attributes, Tag.ProtectStopDate), now)) return 'the Protect Stop Date has passed (KMIP 2.1 §4.41)';
    return undefined;
  }
  if (state !== 'Active' && !(revoked && options.processWhenRevoked === true)) {
    return `the object is ${stateTitle(state)} and cannot process protected data (KMIP 2.1 §4.57)`;
  }
  const start = dateOf(record.attributes, Tag.ProcessStartDate);
  if (start !== undefined && !reached(start, now)) return 'the Process Start Date has not been reached (KMIP 2.1 §4.40)';
  return undefined;
}

export function canUse(record: LifecycleView, purpose: Purpose, now: number, options: UseOptions = {}): boolean {
  return whyUnusable(record, purpose, now, options) === undefined;
}

/** Throws Wrong Key Lifecycle State (Permission Denied in 1.x, as the 1.4 test cases expect) when the object cannot be used. */
export function assertUsable(record: LifecycleView, purpose: Purpose, now: number, options: UseOptions = {}): void {
  const why = whyUnusable(record, purpose, now, options);
  if (why !== undefined) throw wrongState(why, options.version);
}

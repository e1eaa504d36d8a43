/**
 * The lifecycle state machine of KMIP 2.1 §4.57 (Figure 1), driven by operations and by dates
 * against an injected clock, and the use checks the cryptographic operations make.
 */
import t from 'tap';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import type { ResultReasonName } from '../../src/kmip/errors.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import {
  type LifecycleView,
  type Transition,
  activate,
  applyTransition,
  assertUsable,
  canUse,
  currentAttributes,
  destroy,
  effectiveState,
  revoke,
  whyUnusable,
} from '../../src/objects/lifecycle.js';
import type { StateName } from '../../src/objects/types.js';
import { refused } from './refusal.js';

const V14: ProtocolVersion = { major: 1, minor: 4 };
const NOW = 1_700_000_000;
const HOUR = 3600;

const date = (tag: number, value: number): Item => item(tag, 'DateTime', value);
const reason = (code: keyof typeof Enum.RevocationReasonCode, message?: string): Item =>
  structure(Tag.RevocationReason, [item(Tag.RevocationReasonCode, 'Enumeration', Enum.RevocationReasonCode[code]), ...(message ? [item(Tag.RevocationMessage, 'TextString', message)] : [])]);

function obj(state: StateName, attributes: Item[] = []): LifecycleView {
  return { state, attributes: [date(Tag.InitialDate, NOW - 10 * HOUR), ...attributes] };
}


function dateIn(transition: Transition, tag: number): number | undefined {
  const found = transition.set.find((a) => a.tag === tag);
  return found?.type === 'DateTime' ? found.value : undefined;
}

// ——— dates ———

t.test('a future Activation Date takes effect when it passes, with no request', async (t) => {
  const key = obj('PreActive', [date(Tag.ActivationDate, NOW + HOUR)]);
  t.equal(effectiveState(key, NOW), 'PreActive');
  t.equal(effectiveState(key, NOW + HOUR - 1), 'PreActive');
  t.equal(effectiveState(key, NOW + HOUR), 'Active', 'reached on the second itself');
  t.equal(effectiveState(key, NOW + 2 * HOUR), 'Active');
});

t.test('a Deactivation Date deactivates an Active object once reached', async (t) => {
  const key = obj('Active', [date(Tag.ActivationDate, NOW - HOUR), date(Tag.DeactivationDate, NOW + HOUR)]);
  t.equal(effectiveState(key, NOW), 'Active');
  t.equal(effectiveState(key, NOW + HOUR), 'Deactivated');
});

t.test('both dates passed take a stored Pre-Active object through Active to Deactivated', async (t) => {
  const key = obj('PreActive', [date(Tag.ActivationDate, NOW + HOUR), date(Tag.DeactivationDate, NOW + 2 * HOUR)]);
  t.equal(effectiveState(key, NOW + HOUR), 'Active');
  t.equal(effectiveState(key, NOW + 2 * HOUR), 'Deactivated');
});

t.test('a Deactivation Date does not deactivate an object that was never activated', async (t) => {
  // 2.1 §4.57: Active → Deactivated (6) is the only transition a Deactivation Date drives.
  t.equal(effectiveState(obj('PreActive', [date(Tag.DeactivationDate, NOW - HOUR)]), NOW), 'PreActive');
});

t.test('dates do not move revoked or destroyed objects', async (t) => {
  for (const state of ['Compromised', 'Destroyed', 'DestroyedCompromised', 'Deactivated'] as const) {
    t.equal(effectiveState(obj(state, [date(Tag.ActivationDate, NOW - HOUR)]), NOW), state);
  }
});

t.test('a read reports the effective state in the State attribute', async (t) => {
  const key = obj('PreActive', [item(Tag.State, 'Enumeration', Enum.State.PreActive), date(Tag.ActivationDate, NOW - 1)]);
  const state = currentAttributes(key, NOW).find((a) => a.tag === Tag.State);
  t.same(state, item(Tag.State, 'Enumeration', Enum.State.Active));
});

// ——— operations: Figure 1 as a table ———

type Op = 'activate' | 'revoke compromise' | 'revoke other' | 'destroy';
const ops: Record<Op, (o: LifecycleView) => Transition> = {
  activate: (o) => activate(o, NOW),
  'revoke compromise': (o) => revoke(o, reason('KeyCompromise'), NOW),
  'revoke other': (o) => revoke(o, reason('CessationOfOperation'), NOW),
  destroy: (o) => destroy(o, NOW),
};

/** Each state × operation: the next state, or the 2.x Result Reason of the refusal. 2.1 §4.57 transitions in brackets. */
const FIGURE_1: Record<StateName, Record<Op, StateName | ResultReasonName>> = {
  PreActive: { activate: 'Active' /* 4 */, 'revoke compromise': 'Compromised' /* 3 */, 'revoke other': 'WrongKeyLifecycleState', destroy: 'Destroyed' /* 2 */ },
  Active: { activate: 'WrongKeyLifecycleState', 'revoke compromise': 'Compromised' /* 5 */, 'revoke other': 'Deactivated' /* 6 */, destroy: 'WrongKeyLifecycleState' },
  Deactivated: { activate: 'WrongKeyLifecycleState', 'revoke compromise': 'Compromised' /* 8 */, 'revoke other': 'WrongKeyLifecycleState', destroy: 'Destroyed' /* 7 */ },
  Compromised: { activate: 'WrongKeyLifecycleState', 'revoke compromise': 'WrongKeyLifecycleState', 'revoke other': 'WrongKeyLifecycleState', destroy: 'DestroyedCompromised' /* 9 */ },
  Destroyed: { activate: 'WrongKeyLifecycleState', 'revoke compromise': 'DestroyedCompromised' /* 10 */, 'revoke other': 'WrongKeyLifecycleState', destroy: 'ObjectDestroyed' },
  DestroyedCompromised: { activate: 'WrongKeyLifecycleState', 'revoke compromise': 'WrongKeyLifecycleState', 'revoke other': 'WrongKeyLifecycleState', destroy: 'ObjectDestroyed' },
};

t.test('only the transitions of 2.1 §4.57 Figure 1 are permitted', async (t) => {
  for (const [from, row] of Object.entries(FIGURE_1) as [StateName, Record<Op, string>][]) {
    for (const [op, expected] of Object.entries(row) as [Op, string][]) {
      if (expected in Enum.State) {
        const transition = ops[op](obj(from));
        t.equal(transition.state, expected, `${op} takes ${from} to ${expected}`);
        t.same(transition.set.find((a) => a.tag === Tag.State), item(Tag.State, 'Enumeration', Enum.State[expected as StateName]), 'and sets the State attribute');
      } else {
        refused(t, () => ops[op](obj(from)), expected as ResultReasonName);
      }
    }
  }
});

t.test('Destroy of an Active key is refused and the key stays Active', async (t) => {
  const key = obj('Active');
  refused(t, () => destroy(key, NOW), 'WrongKeyLifecycleState', /revoke it first/);
  refused(t, () => destroy(key, NOW, { version: V14 }), 'PermissionDenied', /revoke it first/);
  t.equal(effectiveState(key, NOW), 'Active');
  refused(t, () => destroy(obj('PreActive', [date(Tag.ActivationDate, NOW - 1)]), NOW), 'WrongKeyLifecycleState', /revoke it first/);
});

t.test('Destroy of a destroyed object is refused as Object Destroyed (Permission Denied in 1.x)', async (t) => {
  refused(t, () => destroy(obj('Destroyed'), NOW), 'ObjectDestroyed');
  refused(t, () => destroy(obj('Destroyed'), NOW, { version: V14 }), 'PermissionDenied');
});

t.test('Destroy records the Destroy Date', async (t) => {
  const transition = destroy(obj('Deactivated'), NOW);
  t.equal(dateIn(transition, Tag.DestroyDate), NOW);
});

t.test('Activate sets the Activation Date to now and refuses a non-Pre-Active object', async (t) => {
  const key = obj('PreActive', [date(Tag.ActivationDate, NOW + HOUR)]);
  const transition = activate(key, NOW);
  t.equal(dateIn(transition, Tag.ActivationDate), NOW, 'the planned date is replaced by the moment of activation');
  const after = applyTransition(key.attributes, transition);
  t.equal(after.filter((a) => a.tag === Tag.ActivationDate).length, 1);
  t.equal(effectiveState({ state: transition.state, attributes: after }, NOW), 'Active');
  refused(t, () => activate(obj('Active'), NOW), 'WrongKeyLifecycleState', /this one is Active/);
  refused(t, () => activate(obj('Active'), NOW, { version: V14 }), 'PermissionDenied');
  refused(t, () => activate(obj('PreActive', [date(Tag.ActivationDate, NOW - 1)]), NOW), 'WrongKeyLifecycleState', /this one is Active/);
});

t.test('Revoke for a compromise records the Compromise Date, Occurrence Date and reason', async (t) => {
  const why = reason('KeyCompromise', 'Laptop stolen');
  const transition = revoke(obj('Active'), why, NOW);
  t.equal(transition.state, 'Compromised');
  t.equal(dateIn(transition, Tag.CompromiseDate), NOW);
  t.equal(dateIn(transition, Tag.CompromiseOccurrenceDate), NOW - 10 * HOUR, 'the Initial Date when none is given (2.1 §6.1.44)');
  t.same(transition.set.find((a) => a.tag === Tag.RevocationReason), why);
  const given = revoke(obj('Active'), reason('CACompromise'), NOW, { compromiseOccurrenceDate: NOW - HOUR });
  t.equal(dateIn(given, Tag.CompromiseOccurrenceDate), NOW - HOUR);
  t.equal(given.state, 'Compromised', 'a CA Compromise is a compromise');
});

t.test('Revoke for another reason deactivates an Active object and records the Deactivation Date', async (t) => {
  const transition = revoke(obj('Active', [date(Tag.DeactivationDate, NOW + HOUR)]), reason('Unspecified'), NOW);
  t.equal(transition.state, 'Deactivated');
  t.equal(dateIn(transition, Tag.DeactivationDate), NOW);
  t.notOk(transition.set.some((a) => a.tag === Tag.CompromiseDate));
  refused(t, () => revoke(obj('PreActive'), reason('Superseded'), NOW, { version: V14 }), 'PermissionDenied');
});

t.test('Revoke refuses a Compromise Occurrence Date without a compromise, and unknown reasons', async (t) => {
  refused(t, () => revoke(obj('Active'), reason('Unspecified'), NOW, { compromiseOccurrenceDate: NOW }), 'InvalidField', /only given with/);
  refused(t, () => revoke(obj('Active'), structure(Tag.RevocationReason, [item(Tag.RevocationReasonCode, 'Enumeration', 99)]), NOW), 'InvalidField', /not recognized/);
  refused(t, () => revoke(obj('Active'), structure(Tag.RevocationReason, []), NOW), 'InvalidField');
});

t.test('the lifecycle of SKLC-M-2: create, activate, refused destroy, compromise, destroy', async (t) => {
  let key: LifecycleView = obj('PreActive');
  const step = (tr: Transition): void => {
    key = { state: tr.state, attributes: applyTransition(key.attributes, tr) };
  };
  step(activate(key, NOW));
  refused(t, () => destroy(key, NOW + 1), 'WrongKeyLifecycleState');
  step(revoke(key, reason('KeyCompromise'), NOW + 2));
  t.equal(key.state, 'Compromised');
  step(destroy(key, NOW + 3));
  t.equal(key.state, 'DestroyedCompromised');
  const dates = Object.fromEntries(key.attributes.filter((a) => a.type === 'DateTime').map((a) => [a.tag, a.value]));
  t.same(dates, {
    [Tag.InitialDate]: NOW - 10 * HOUR,
    [Tag.ActivationDate]: NOW,
    [Tag.CompromiseDate]: NOW + 2,
    [Tag.CompromiseOccurrenceDate]: NOW - 10 * HOUR,
    [Tag.DestroyDate]: NOW + 3,
  });
});

// ——— use ———

t.test('a key past its Protect Stop Date and before its Process Start Date can neither encrypt nor decrypt (CS-BC-M-14)', async (t) => {
  const key = obj('PreActive', [date(Tag.ActivationDate, NOW - HOUR), date(Tag.ProcessStartDate, NOW + HOUR), date(Tag.ProtectStopDate, NOW - HOUR)]);
  t.equal(effectiveState(key, NOW), 'Active');
  t.notOk(canUse(key, 'protect', NOW), 'Encrypt refused');
  t.notOk(canUse(key, 'process', NOW), 'Decrypt refused');
  refused(t, () => assertUsable(key, 'protect', NOW), 'WrongKeyLifecycleState', /Protect Stop Date has passed/);
  refused(t, () => assertUsable(key, 'process', NOW), 'WrongKeyLifecycleState', /Process Start Date has not been reached/);
  refused(t, () => assertUsable(key, 'protect', NOW, { version: V14 }), 'PermissionDenied');
  t.ok(canUse(key, 'process', NOW + HOUR), 'decrypt once the Process Start Date arrives');
  t.notOk(canUse(key, 'protect', NOW + HOUR));
});

t.test('an Active key with no use dates protects and processes', async (t) => {
  const key = obj('Active');
  t.ok(canUse(key, 'protect', NOW));
  t.ok(canUse(key, 'process', NOW));
  t.equal(whyUnusable(key, 'protect', NOW), undefined);
  t.ok(canUse(obj('Active', [date(Tag.ProtectStopDate, NOW + 1)]), 'protect', NOW), 'before the Protect Stop Date');
});

t.test('Encrypt with a Deactivated key is refused; decrypt only where policy allows it', async (t) => {
  const key = obj('Active', [date(Tag.DeactivationDate, NOW - 1)]);
  t.notOk(canUse(key, 'protect', NOW));
  refused(t, () => assertUsable(key, 'protect', NOW), 'WrongKeyLifecycleState', /Deactivated and cannot apply protection/);
  t.notOk(canUse(key, 'process', NOW), 'not by default (2.1 §4.57: only with special permission)');
  t.ok(canUse(key, 'process', NOW, { processWhenRevoked: true }));
  t.ok(canUse(obj('Compromised'), 'process', NOW, { processWhenRevoked: true }));
  t.notOk(canUse(obj('Compromised'), 'protect', NOW, { processWhenRevoked: true }));
});

t.test('Pre-Active and destroyed keys cannot be used at all', async (t) => {
  for (const state of ['PreActive', 'Destroyed', 'DestroyedCompromised'] as const) {
    for (const purpose of ['protect', 'process'] as const) {
      t.notOk(canUse(obj(state), purpose, NOW, { processWhenRevoked: true }), `${state} cannot ${purpose}`);
    }
  }
  t.notOk(canUse(obj('PreActive', [date(Tag.ActivationDate, NOW + 1)]), 'protect', NOW), 'not before the Activation Date');
  t.ok(canUse(obj('PreActive', [date(Tag.ActivationDate, NOW + 1)]), 'protect', NOW + 1), 'from the Activation Date on');
});

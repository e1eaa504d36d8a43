/**
 * The lifecycle driven by dates, end to end over mutual TLS with an injected clock: an Activation or
 * Deactivation Date takes effect when the clock reaches it, without any request touching the
 * object, and Locate by State, Get Attributes and the state checks of Activate, Revoke and Destroy
 * all see it. Process Start and Protect Stop Dates limit use only, never the state (KMIP 2.1 §4.57).
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

const HOUR = 3600;
const T0 = Math.floor(Date.now() / 1000);
let now = T0;
const clock = { now: () => now };

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-dates-', 'someone-else', { clock });
});
t.teardown(() => env.close());

const date = (tag: number, value: number): Item => item(tag, 'DateTime', value);
const v1 = (attrName: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, attrName), { ...value, tag: Tag.AttributeValue }]);
const V1_NAMES: Record<number, string> = {
  [Tag.Name]: 'Name',
  [Tag.CryptographicUsageMask]: 'Cryptographic Usage Mask',
  [Tag.ActivationDate]: 'Activation Date',
  [Tag.DeactivationDate]: 'Deactivation Date',
  [Tag.ProcessStartDate]: 'Process Start Date',
  [Tag.ProtectStopDate]: 'Protect Stop Date',
  [Tag.State]: 'State',
};

/** Attributes in the request's form: a 2.x Attributes structure or 1.x Attribute structures. */
function attributes(version: ProtocolVersion, attrs: Item[], wrapper: number = Tag.TemplateAttribute): Item[] {
  if (version.major >= 2) return [structure(Tag.Attributes, attrs)];
  const v1Attrs = attrs.map((a) => v1(V1_NAMES[a.tag]!, a));
  return wrapper === Tag.Attribute ? v1Attrs : [structure(wrapper, v1Attrs)];
}

async function register(c: KmipClient, version: ProtocolVersion, label: string, dates: Item[]): Promise<string> {
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    ...attributes(version, [name(label), integer(Tag.CryptographicUsageMask, 0x0c), ...dates]),
    aesKey(randomBytes(16)),
  ]);
  return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

async function locateByState(c: KmipClient, version: ProtocolVersion, label: string, state: number): Promise<string[]> {
  const found = await c.call('Locate', attributes(version, [name(label), enumeration(Tag.State, state)], Tag.Attribute));
  return found.payload!.values(Tag.UniqueIdentifier, 'TextString');
}

async function stateOf(c: KmipClient, version: ProtocolVersion, id: string): Promise<number | undefined> {
  if (version.major >= 2) {
    const got = await c.call('GetAttributes', [uid(id), enumeration(Tag.AttributeReference, Tag.State)]);
    return got.payload!.needStruct(Tag.Attributes).get(Tag.State, 'Enumeration');
  }
  const got = await c.call('GetAttributes', [uid(id), text(Tag.AttributeName, 'State')]);
  const value = (got.payload!.all(Tag.Attribute)[0]?.value as Item[] | undefined)?.find((x) => x.tag === Tag.AttributeValue);
  return value?.type === 'Enumeration' ? value.value : undefined;
}

const revocation = (code: number): Item => structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, code)]);

for (const [label, version, wrongState] of [
  ['2.1', V21, 'WrongKeyLifecycleState'],
  ['1.4', V14, 'PermissionDenied'],
] as const) {
  t.test(`${label}: a key with a future Activation Date turns Active when the clock reaches it, and Destroy is then refused`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const key = `activates-later-${label}`;
    const id = await register(c, version, key, [date(Tag.ActivationDate, now + HOUR)]);
    t.same(await locateByState(c, version, key, Enum.State.PreActive), [id], 'Locate State=Pre-Active finds it before the date');
    t.same(await locateByState(c, version, key, Enum.State.Active), [], 'and State=Active does not');
    t.equal(await stateOf(c, version, id), Enum.State.PreActive);

    now += HOUR;
    t.same(await locateByState(c, version, key, Enum.State.Active), [id], 'on the Activation Date Locate State=Active finds it, no request having touched it');
    t.same(await locateByState(c, version, key, Enum.State.PreActive), [], 'and State=Pre-Active no longer does');
    t.equal(await stateOf(c, version, id), Enum.State.Active, 'Get Attributes says Active');
    t.equal((await refusal(c.call('Destroy', [uid(id)]))).reason, wrongState, 'Destroy is refused as for an Active key');
    t.equal((await refusal(c.call('Activate', [uid(id)]))).reason, wrongState, 'Activate is refused: it is not Pre-Active any more');
    t.equal(await stateOf(c, version, id), Enum.State.Active, 'the refusals changed nothing');
    const got = await c.call('Get', [uid(id)]);
    t.ok(got.payload!.has(Tag.SymmetricKey), 'the key material survives');
  });

  t.test(`${label}: a Deactivation Date reached deactivates an Active key; Destroy then succeeds`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const key = `deactivates-${label}`;
    const id = await register(c, version, key, [date(Tag.ActivationDate, now - HOUR), date(Tag.DeactivationDate, now + 2 * HOUR)]);
    t.equal(await stateOf(c, version, id), Enum.State.Active, 'an Activation Date in the past makes it Active at once (2.1 §4.57 transition 1)');
    t.same(await locateByState(c, version, key, Enum.State.Active), [id]);

    now += 2 * HOUR;
    t.same(await locateByState(c, version, key, Enum.State.Deactivated), [id], 'Locate State=Deactivated finds it once the date passed');
    t.same(await locateByState(c, version, key, Enum.State.Active), []);
    t.equal(await stateOf(c, version, id), Enum.State.Deactivated, 'Get Attributes says Deactivated');
    t.equal((await refusal(c.call('Revoke', [uid(id), revocation(Enum.RevocationReasonCode.CessationOfOperation)]))).reason, wrongState, 'Revoke for cessation needs an Active key');
    await c.call('Destroy', [uid(id)]);
    t.equal(await stateOf(c, version, id), Enum.State.Destroyed, 'a Deactivated key is destroyed');
  });

  t.test(`${label}: Process Start and Protect Stop Dates do not change the state`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const key = `usage-dates-${label}`;
    const id = await register(c, version, key, [date(Tag.ActivationDate, now - HOUR), date(Tag.ProcessStartDate, now + HOUR), date(Tag.ProtectStopDate, now + 2 * HOUR)]);
    now += 3 * HOUR;
    t.equal(await stateOf(c, version, id), Enum.State.Active, 'still Active after both dates passed');
    t.same(await locateByState(c, version, key, Enum.State.Active), [id]);
  });
}

t.test('2.1: a date-driven Active key is revoked and compromised from its effective state', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const id = await register(c, V21, 'revoked-after-activation', [date(Tag.ActivationDate, now + 10)]);
  t.equal((await refusal(c.call('Revoke', [uid(id), revocation(Enum.RevocationReasonCode.Superseded)]))).reason, 'WrongKeyLifecycleState', 'a Pre-Active key cannot be deactivated');
  now += 10;
  await c.call('Revoke', [uid(id), revocation(Enum.RevocationReasonCode.Superseded)]);
  t.equal(await stateOf(c, V21, id), Enum.State.Deactivated, 'once Active by date, Revoke deactivates it');
  t.same(await locateByState(c, V21, 'revoked-after-activation', Enum.State.Deactivated), [id]);
});

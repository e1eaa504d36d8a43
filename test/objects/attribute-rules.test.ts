/**
 * The attribute table against the spec's rules tables (KMIP 2.1 §4, 1.4 §3, read from the shared
 * specification text), and the rules the operations apply with it: who may set what when,
 * single- and multi-instance edits, deletion, Set and Adjust, with each version's Result Reason.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type Item, item, registry, structure } from '../../src/ttlv/index.js';
import { Enum, Tag, TagVersions } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import {
  ATTRIBUTE_RULES,
  type AttributeRule,
  type ObjectView,
  applyAdd,
  applyAdjust,
  applyDelete,
  applyModify,
  applySet,
  checkClientSettable,
  checkCreationAttributes,
  requiredAttributes,
  ruleFor,
  ruleForTag,
  stampLastChange,
} from '../../src/objects/attribute-rules.js';
import { effectiveState } from '../../src/objects/lifecycle.js';
import { vendorAttribute } from '../../src/objects/items.js';
import type { ObjectTypeName, StateName } from '../../src/objects/types.js';
import { sharedDir } from '../support/shared.js';
import { refused } from './refusal.js';

const V14: ProtocolVersion = { major: 1, minor: 4 };
const NOW = 1_700_000_000;
const HOUR = 3600;


const text = (tag: number, value: string): Item => item(tag, 'TextString', value);
const date = (tag: number, value: number): Item => item(tag, 'DateTime', value);
const name = (value: string): Item => structure(Tag.Name, [text(Tag.NameValue, value), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)]);

function key(attributes: Item[], state: StateName = 'PreActive', objectType: ObjectTypeName = 'SymmetricKey'): ObjectView {
  return { objectType, state, attributes };
}

// ——— the table against the specification text ———

const SPEC_FILES = { '2.1': 'kmip-spec-v2.1-os.txt', '1.4': 'kmip-spec-v1.4-os.txt' } as const;
const specLines = new Map<string, string[]>();

/** The rows of a section's rules table: "| Modifiable by client | Yes |" → key → value. */
function rulesTable(spec: '2.1' | '1.4', section: string): Map<string, string> {
  let lines = specLines.get(spec);
  if (!lines) {
    lines = readFileSync(join(sharedDir, 'kmip-spec', SPEC_FILES[spec]), 'utf8').split(/\r?\n/);
    specLines.set(spec, lines);
  }
  // The body heading is "4.13 Cryptographic Algorithm"; the table of contents adds a page number.
  const start = lines.findLastIndex((l) => l.startsWith(`${section} `) && !/\d\s*$/.test(l));
  const rows = new Map<string, string>();
  for (let i = start + 1; i < lines.length && !/^\d+\.\d+(\.\d+)* \S/.test(lines[i]!); i++) {
    const m = /^\| ([^|]+?) \| ([^|]*?) \|$/.exec(lines[i]!);
    if (m) rows.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  return rows;
}

const OBJECT_TYPES_TEXT: Record<string, 'all' | ObjectTypeName[]> = {
  'All Objects': 'all',
  Certificates: ['Certificate'],
  'X.509 Certificates': ['Certificate'],
  'Public Keys, Private Keys': ['PublicKey', 'PrivateKey'],
  'Certificates, PGP keys': ['Certificate', 'PGPKey'],
  'Opaque Objects': ['OpaqueObject'],
};

/** What the spec's rules table says, in the table's terms. */
function fromSpec(rows: Map<string, string>): Omit<AttributeRule, 'tag' | 'spec' | 'versions' | 'inRequest'> {
  const yes = (key: string): boolean => /^yes/i.test(rows.get(key) ?? 'missing');
  const required = rows.get('shall always have a value') ?? '';
  const except = /\(except for (.*)\)/i.exec(required);
  const initial = rows.get('initially set by') ?? '';
  const multi = rows.get('multiple instances permitted') ?? '';
  const modifiable = rows.get('modifiable by client') ?? '';
  const out = {
    required: except ? { except: except[1]!.split(' and ').map((s) => s.replace(/ /g, '') as ObjectTypeName) } : /^yes/i.test(required),
    initiallySetBy: /client/i.test(initial) && /server/i.test(initial) ? 'either' : /client/i.test(initial) ? 'client' : 'server',
    serverModifiable: yes('modifiable by server'),
    clientModifiable: yes('modifiable by client'),
    clientDeletable: yes('deletable by client'),
    multi: multi.startsWith('Yes for PGP keys') ? ['PGPKey'] : /^yes/i.test(multi),
    appliesTo: OBJECT_TYPES_TEXT[rows.get('applies to object types') ?? ''] ?? `unmapped: ${rows.get('applies to object types')}`,
  } as Omit<AttributeRule, 'tag' | 'spec' | 'versions' | 'inRequest'> & { modifiableWhile?: StateName[]; untilReached?: boolean };
  if (/only while in Pre-Active or Active/i.test(modifiable)) out.modifiableWhile = ['PreActive', 'Active'];
  else if (/only while in Pre-Active state/i.test(modifiable)) out.modifiableWhile = ['PreActive'];
  if (/not been reached|been not reached/.test(modifiable)) out.untilReached = true;
  return out;
}

t.test('every row of the table says what its section of the specification says', async (t) => {
  for (const rule of ATTRIBUTE_RULES) {
    const [, spec, section] = /^(2\.1|1\.4) §(\S+)$/.exec(rule.spec) ?? [];
    t.ok(spec && section, `${rule.tag} cites a section`);
    const rows = rulesTable(spec as '2.1' | '1.4', section!);
    t.ok(rows.size >= 7, `${rule.spec} has a rules table`);
    const { tag: _tag, spec: _spec, versions: _versions, inRequest: _inRequest, ...ours } = rule;
    t.same(ours, fromSpec(rows), `${rule.tag} matches KMIP ${rule.spec}`);
  }
});

t.test('the table holds every attribute of KMIP 2.1 §4 and the four 1.x-only ones', async (t) => {
  const lines = readFileSync(join(sharedDir, 'kmip-spec', SPEC_FILES['2.1']), 'utf8').split(/\r?\n/);
  const sections = new Set(lines.filter((l) => /^4\.\d+ \S/.test(l) && !/\d\s*$/.test(l)).map((l) => l.split(' ')[0]!));
  t.equal(sections.size, 63, 'KMIP 2.1 §4.1–§4.63');
  const cited = new Set(ATTRIBUTE_RULES.map((r) => r.spec.replace('2.1 §', '')));
  for (const s of sections) if (s !== '4.60') t.ok(cited.has(s), `§${s} has a row`);
  t.ok(ruleFor({ vendor: 'x', name: 'anything' }), '§4.60 Vendor Attribute is a rule per Vendor Identification');
  t.equal(ATTRIBUTE_RULES.length, 62 - 1 + 24 + 4, '61 sections, §4.6 as its 24 certificate fields, 4 attributes of 1.x only');
  t.equal(new Set(ATTRIBUTE_RULES.map((r) => r.tag)).size, ATTRIBUTE_RULES.length, 'one row per tag');
});

t.test('each attribute exists only in versions whose registry has its tag', async (t) => {
  for (const rule of ATTRIBUTE_RULES) {
    const tagVersions: readonly string[] = TagVersions[rule.tag];
    t.ok(rule.versions.every((v) => tagVersions.includes(v)), `${rule.tag}: ${rule.versions.join(',')} ⊆ ${tagVersions.join(',')}`);
    t.ok(rule.versions.length > 0);
  }
  t.same(ruleForTag('OperationPolicyName')?.versions, ['1.0', '1.1', '1.2', '1.3', '1.4'], 'Operation Policy Name ends with 1.4');
  t.same(ruleForTag('RotateDate')?.versions, ['2.1'], 'the Rotate attributes begin with 2.1');
});

t.test('requiredAttributes lists what each object type SHALL always have', async (t) => {
  const symmetric = requiredAttributes('SymmetricKey');
  for (const tag of ['UniqueIdentifier', 'ObjectType', 'CryptographicAlgorithm', 'CryptographicLength', 'CryptographicUsageMask', 'State', 'InitialDate', 'LastChangeDate', 'Digest'] as const) {
    t.ok(symmetric.includes(tag), `a Symmetric Key always has ${tag}`);
  }
  t.notOk(requiredAttributes('SecretData').includes('CryptographicAlgorithm'), 'Secret Data needs no Cryptographic Algorithm');
  t.notOk(requiredAttributes('OpaqueObject').includes('CryptographicUsageMask'), 'an Opaque Object needs no Cryptographic Usage Mask');
  t.ok(requiredAttributes('Certificate').includes('CertificateLength'), 'a Certificate always has a Certificate Length');
  t.notOk(symmetric.includes('CertificateLength'), 'a Symmetric Key has none');
  t.notOk(symmetric.includes('OperationPolicyName' as never), 'no 1.x-only attribute is required of the 2.1 model');
});

// ——— who may set what ———

t.test('a client cannot give a server-only attribute in any request', async (t) => {
  const serverOnly = ATTRIBUTE_RULES.filter((r) => r.initiallySetBy === 'server' && r.inRequest.length === 0 && r.versions.includes('2.1'));
  t.ok(serverOnly.length >= 20);
  for (const rule of serverOnly) {
    const tag = Tag[rule.tag];
    const types = registry.tag(tag)?.types ?? [];
    const attr: Item = types[0] === 'Structure' ? structure(tag, []) : item(tag, 'TextString', 'x');
    const objectType: ObjectTypeName = rule.appliesTo === 'all' ? 'SymmetricKey' : rule.appliesTo[0]!;
    for (const phase of ['create', 'register', 'add', 'modify', 'set'] as const) {
      refused(t, () => checkClientSettable(objectType, attr, phase), 'AttributeReadOnly');
    }
  }
  refused(t, () => checkClientSettable('SymmetricKey', text(Tag.UniqueIdentifier, 'u'), 'register'), 'AttributeReadOnly', /Unique Identifier is set by the server only/);
});

t.test('1.x refuses a read-only attribute with the 1.4 §11 reasons', async (t) => {
  const state = item(Tag.State, 'Enumeration', Enum.State.Active);
  refused(t, () => checkClientSettable('SymmetricKey', state, 'create', { version: V14 }), 'InvalidField');
  refused(t, () => checkClientSettable('SymmetricKey', state, 'add', { version: V14 }), 'PermissionDenied');
  refused(t, () => checkClientSettable('SymmetricKey', state, 'modify', { version: V14 }), 'PermissionDenied');
});

t.test('Cryptographic Algorithm is accepted in a Create but a client cannot add or modify it', async (t) => {
  const alg = item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES);
  t.equal(checkClientSettable('SymmetricKey', alg, 'create').tag, 'CryptographicAlgorithm');
  t.ok(checkClientSettable('SymmetricKey', alg, 'register'));
  refused(t, () => checkClientSettable('SymmetricKey', alg, 'add'), 'AttributeReadOnly');
  refused(t, () => checkClientSettable('SymmetricKey', alg, 'modify'), 'AttributeReadOnly');
});

t.test('Fresh and Original Creation Date may be given when registering, not when the server creates', async (t) => {
  for (const attr of [item(Tag.Fresh, 'Boolean', false), date(Tag.OriginalCreationDate, NOW - HOUR)]) {
    t.ok(checkClientSettable('SymmetricKey', attr, 'register'));
    refused(t, () => checkClientSettable('SymmetricKey', attr, 'create'), 'AttributeReadOnly');
  }
  refused(t, () => checkClientSettable('SymmetricKey', item(Tag.Fresh, 'Boolean', true), 'modify'), 'AttributeReadOnly', /cannot modify Fresh/);
  t.ok(checkClientSettable('SymmetricKey', date(Tag.OriginalCreationDate, NOW), 'add'), 'Original Creation Date may be added later (2.1 §4.38)');
});

t.test('an attribute that does not apply to the object type is refused', async (t) => {
  const length = item(Tag.CertificateLength, 'Integer', 1043);
  t.ok(checkClientSettable('Certificate', length, 'register'));
  refused(t, () => checkClientSettable('SymmetricKey', length, 'register'), 'InvalidAttribute', /does not apply to a SymmetricKey/);
  refused(t, () => checkClientSettable('SymmetricKey', length, 'register', { version: V14 }), 'InvalidField');
  const domain = structure(Tag.CryptographicDomainParameters, [item(Tag.RecommendedCurve, 'Enumeration', 3)]);
  t.ok(checkClientSettable('PrivateKey', domain, 'create'), 'Cryptographic Domain Parameters apply to key pairs');
  refused(t, () => checkClientSettable('SymmetricKey', domain, 'add', { version: V14 }), 'PermissionDenied', /does not apply/);
});

t.test('an attribute is refused in a protocol version that does not have it', async (t) => {
  const sui = item(Tag.ShortUniqueIdentifier, 'ByteString', new Uint8Array(32));
  refused(t, () => checkClientSettable('SymmetricKey', item(Tag.ProtectionLevel, 'Enumeration', 1), 'create', { version: V14 }), 'InvalidField', /not an attribute in KMIP 1\.4/);
  refused(t, () => checkClientSettable('SymmetricKey', sui, 'create', { version: V14 }), 'InvalidField');
  refused(t, () => checkClientSettable('SymmetricKey', text(Tag.OperationPolicyName, 'default'), 'create'), 'InvalidAttribute', /not an attribute in KMIP 2\.1/);
  t.ok(checkClientSettable('SymmetricKey', text(Tag.OperationPolicyName, 'default'), 'create', { version: V14 }), 'but 1.4 has Operation Policy Name');
  refused(t, () => checkClientSettable('SymmetricKey', structure(Tag.KeyBlock, []), 'create'), 'InvalidAttribute', /Key Block is not a KMIP attribute/);
});

t.test('a value of the wrong item type is an invalid attribute value', async (t) => {
  refused(t, () => checkClientSettable('SymmetricKey', text(Tag.CryptographicLength, '256'), 'create'), 'InvalidAttributeValue', /must be a Integer, not a TextString/);
});

t.test('x- vendor attributes are the client\'s, y- ones the server\'s', async (t) => {
  const mine = vendorAttribute('x', 'Barcode', text(Tag.AttributeValue, 'XXA012A1'));
  const theirs = vendorAttribute('y', 'Policy', text(Tag.AttributeValue, 'p'));
  for (const phase of ['create', 'register', 'add', 'modify', 'set'] as const) {
    t.ok(checkClientSettable('SymmetricKey', mine, phase), `x-Barcode in ${phase}`);
    refused(t, () => checkClientSettable('SymmetricKey', theirs, phase), 'AttributeReadOnly');
  }
  t.ok(checkClientSettable('SymmetricKey', vendorAttribute('acme', 'tag', text(Tag.AttributeValue, 'v')), 'add'), 'another vendor\'s attribute in 2.x');
  refused(t, () => checkClientSettable('SymmetricKey', vendorAttribute('acme', 'tag', text(Tag.AttributeValue, 'v')), 'add', { version: V14 }), 'InvalidField');
});

t.test('a creation request may not repeat a single-instance attribute', async (t) => {
  const usage = item(Tag.CryptographicUsageMask, 'Integer', 12);
  refused(t, () => checkCreationAttributes('SymmetricKey', [usage, usage], 'create'), 'AttributeSingleValued', /single-instance but given more than once/);
  refused(t, () => checkCreationAttributes('SymmetricKey', [usage, usage], 'create', { version: V14 }), 'InvalidField');
  t.doesNotThrow(() => checkCreationAttributes('SymmetricKey', [name('a'), name('b'), usage], 'create'), 'Name is multi-instance');
  const rng = (alg: number): Item => structure(Tag.RandomNumberGenerator, [item(Tag.RNGAlgorithm, 'Enumeration', alg)]);
  t.doesNotThrow(() => checkCreationAttributes('SymmetricKey', [rng(3), rng(5)], 'create'), 'several generators are alternatives in a Create (2.1 §4.46)');
  refused(t, () => checkCreationAttributes('SymmetricKey', [rng(3), rng(5)], 'register'), 'AttributeSingleValued');
});

t.test('a creation request with the Process Start Date before the Activation Date is refused', async (t) => {
  refused(t, () => checkCreationAttributes('SymmetricKey', [date(Tag.ActivationDate, NOW), date(Tag.ProcessStartDate, NOW - 1)], 'register'), 'InvalidAttributeValue', /Process Start Date/);
  refused(t, () => checkCreationAttributes('SymmetricKey', [date(Tag.DeactivationDate, NOW), date(Tag.ProtectStopDate, NOW + 1)], 'register'), 'InvalidAttributeValue', /Protect Stop Date/);
  // CS-BC-M-14: Activation now-1h, Process Start now+1h, Protect Stop now-1h is consistent.
  t.doesNotThrow(() =>
    checkCreationAttributes('SymmetricKey', [date(Tag.ActivationDate, NOW - HOUR), date(Tag.ProcessStartDate, NOW + HOUR), date(Tag.ProtectStopDate, NOW - HOUR)], 'register'),
  );
});

// ——— Add ———

t.test('adding a second Description is refused: it is single-valued (BL-M-5)', async (t) => {
  const obj = key([text(Tag.Description, 'This is opaque')], 'PreActive', 'OpaqueObject');
  refused(t, () => applyAdd(obj, text(Tag.Description, 'This is opaque duplicate'), { now: NOW }), 'AttributeSingleValued', /already has a Description/);
  refused(t, () => applyAdd(obj, text(Tag.Description, 'duplicate'), { now: NOW, version: V14 }), 'IllegalOperation');
});

t.test('adding instances of a multi-instance attribute gives each the next index', async (t) => {
  let obj = key([name('first')]);
  const second = applyAdd(obj, name('second'), { now: NOW });
  t.equal(second.index, 1);
  obj = key(second.attributes);
  const third = applyAdd(obj, name('third'), { now: NOW });
  t.equal(third.index, 2);
  t.equal(third.attributes.filter((a) => a.tag === Tag.Name).length, 3);
  t.equal(applyAdd(key([]), text(Tag.ContactInformation, 'ops'), { now: NOW }).index, 0, 'the first instance is index 0');
});

t.test('adding a read-only attribute is refused', async (t) => {
  refused(t, () => applyAdd(key([]), date(Tag.InitialDate, NOW), { now: NOW }), 'AttributeReadOnly');
  refused(t, () => applyAdd(key([]), date(Tag.InitialDate, NOW), { now: NOW, version: V14 }), 'PermissionDenied');
});

t.test('adding an Activation Date to an object no longer Pre-Active is refused', async (t) => {
  refused(t, () => applyAdd(key([], 'Deactivated'), date(Tag.ActivationDate, NOW), { now: NOW }), 'WrongKeyLifecycleState', /only be set while the object is Pre-Active/);
  t.equal(applyAdd(key([]), date(Tag.ActivationDate, NOW + HOUR), { now: NOW }).index, 0);
});

// ——— Modify ———

t.test('modifying the State is refused: it is read-only (BL-M-7)', async (t) => {
  const obj = key([item(Tag.State, 'Enumeration', Enum.State.PreActive)]);
  refused(t, () => applyModify(obj, item(Tag.State, 'Enumeration', Enum.State.Compromised), undefined, { now: NOW }), 'AttributeReadOnly', /State is set by the server only/);
});

t.test('modifying a certificate\'s Certificate Length is refused (BL-M-10)', async (t) => {
  const cert = key([item(Tag.CertificateLength, 'Integer', 1043)], 'PreActive', 'Certificate');
  refused(t, () => applyModify(cert, item(Tag.CertificateLength, 'Integer', 123), undefined, { now: NOW }), 'AttributeReadOnly');
});

t.test('the Activation Date of an Active key cannot be modified (SKLC-M-3)', async (t) => {
  const active = key([date(Tag.ActivationDate, NOW - HOUR)], 'Active');
  refused(t, () => applyModify(active, date(Tag.ActivationDate, NOW), undefined, { now: NOW }), 'WrongKeyLifecycleState', /Activation Date can only be set while the object is Pre-Active; it is Active/);
  refused(t, () => applyModify(active, date(Tag.ActivationDate, NOW), undefined, { now: NOW, version: V14 }), 'PermissionDenied');
  const reachedByDate = key([date(Tag.ActivationDate, NOW - HOUR)], 'PreActive');
  refused(t, () => applyModify(reachedByDate, date(Tag.ActivationDate, NOW + HOUR), undefined, { now: NOW }), 'WrongKeyLifecycleState', /it is Active/);
});

t.test('modifying a Pre-Active key\'s Activation Date to the past activates it (2.1 §4.57 transition 4)', async (t) => {
  const obj = key([date(Tag.ActivationDate, NOW + HOUR)]);
  const result = applyModify(obj, date(Tag.ActivationDate, NOW - 1), undefined, { now: NOW });
  t.same(result.attributes, [date(Tag.ActivationDate, NOW - 1)]);
  t.equal(effectiveState({ state: 'PreActive', attributes: result.attributes }, NOW), 'Active');
});

t.test('a Process Start Date that has been reached cannot change', async (t) => {
  const obj = key([date(Tag.ProcessStartDate, NOW - 1)], 'Active');
  refused(t, () => applyModify(obj, date(Tag.ProcessStartDate, NOW + HOUR), undefined, { now: NOW }), 'WrongKeyLifecycleState', /has been reached/);
  const later = key([date(Tag.ProcessStartDate, NOW + HOUR)], 'Active');
  t.ok(applyModify(later, date(Tag.ProcessStartDate, NOW + 2 * HOUR), undefined, { now: NOW }));
  refused(t, () => applyModify(key([date(Tag.DeactivationDate, NOW - HOUR)], 'Deactivated'), date(Tag.DeactivationDate, NOW), undefined, { now: NOW }), 'WrongKeyLifecycleState');
});

t.test('a modification that puts the Process Start Date before the Activation Date is refused', async (t) => {
  const obj = key([date(Tag.ActivationDate, NOW + HOUR), date(Tag.ProcessStartDate, NOW + 2 * HOUR)]);
  refused(t, () => applyModify(obj, date(Tag.ProcessStartDate, NOW + 1), undefined, { now: NOW }), 'InvalidAttributeValue');
  refused(t, () => applyModify(obj, date(Tag.ProcessStartDate, NOW + 1), undefined, { now: NOW, version: V14 }), 'InvalidField');
});

t.test('modifying an attribute the object lacks is refused', async (t) => {
  refused(t, () => applyModify(key([]), text(Tag.ContactInformation, 'ops'), undefined, { now: NOW }), 'AttributeNotFound', /has no Contact Information/);
  refused(t, () => applyModify(key([]), text(Tag.ContactInformation, 'ops'), undefined, { now: NOW, version: V14 }), 'InvalidField');
});

t.test('Modify picks the instance by Current Attribute, by 1.x index, or the only one', async (t) => {
  const obj = key([name('a'), text(Tag.Description, 'd'), name('b')]);
  refused(t, () => applyModify(obj, name('c'), undefined, { now: NOW }), 'MultiValuedAttribute', /2 instances of Name/);
  const byValue = applyModify(obj, name('c'), { current: name('b') }, { now: NOW });
  t.same(byValue.attributes, [name('a'), text(Tag.Description, 'd'), name('c')]);
  t.equal(byValue.index, 1);
  refused(t, () => applyModify(obj, name('c'), { current: name('zzz') }, { now: NOW }), 'AttributeInstanceNotFound');
  refused(t, () => applyModify(obj, name('c'), { current: text(Tag.Description, 'd') }, { now: NOW }), 'InvalidAttributeValue', /different attributes/);
  t.same(applyModify(obj, name('c'), undefined, { now: NOW, version: V14 }).attributes[0], name('c'), '1.x without an index means index 0');
  t.same(applyModify(obj, name('c'), { index: 1 }, { now: NOW, version: V14 }).attributes[2], name('c'));
  refused(t, () => applyModify(obj, name('c'), { index: 2 }, { now: NOW, version: V14 }), 'ItemNotFound');
  t.same(applyModify(obj, text(Tag.Description, 'e'), undefined, { now: NOW }).attributes[1], text(Tag.Description, 'e'), 'a single instance needs no selector');
});

t.test('a client modifies its own x- vendor attributes', async (t) => {
  const attr = (v: number): Item => vendorAttribute('x', 'VendorAttribute2', item(Tag.AttributeValue, 'Integer', v));
  const obj = key([attr(0)]);
  t.same(applyModify(obj, attr(1), undefined, { now: NOW }).attributes, [attr(1)]);
});

// ——— Delete ———

t.test('deleting an attribute that SHALL always have a value is refused', async (t) => {
  const obj = key([text(Tag.UniqueIdentifier, 'u'), date(Tag.ActivationDate, NOW + HOUR)]);
  refused(t, () => applyDelete(obj, { ref: { tag: Tag.UniqueIdentifier } }, { now: NOW }), 'AttributeReadOnly', /SHALL always have a value/);
  refused(t, () => applyDelete(obj, { ref: { tag: Tag.UniqueIdentifier } }, { now: NOW, version: V14 }), 'PermissionDenied');
  refused(t, () => applyDelete(obj, { current: date(Tag.ActivationDate, NOW + HOUR) }, { now: NOW }), 'AttributeReadOnly', /cannot delete Activation Date/);
});

t.test('deleting an attribute the object lacks is refused', async (t) => {
  refused(t, () => applyDelete(key([]), { ref: { tag: Tag.Description } }, { now: NOW }), 'AttributeNotFound');
  refused(t, () => applyDelete(key([]), { ref: { tag: Tag.Description } }, { now: NOW, version: V14 }), 'ItemNotFound');
  refused(t, () => applyDelete(key([name('a')]), { current: name('b') }, { now: NOW }), 'AttributeInstanceNotFound');
  refused(t, () => applyDelete(key([name('a')]), { ref: { tag: Tag.Name }, index: 1 }, { now: NOW, version: V14 }), 'ItemNotFound');
});

t.test('an Attribute Reference alone deletes every instance in 2.x, index 0 in 1.x', async (t) => {
  const obj = key([name('a'), text(Tag.Description, 'd'), name('b')]);
  const all = applyDelete(obj, { ref: { tag: Tag.Name } }, { now: NOW });
  t.same(all.attributes, [text(Tag.Description, 'd')]);
  t.same(all.deleted.map((d) => d.index), [0, 1]);
  const first = applyDelete(obj, { ref: { tag: Tag.Name } }, { now: NOW, version: V14 });
  t.same(first.attributes, [text(Tag.Description, 'd'), name('b')]);
  t.same(first.deleted, [{ item: name('a'), index: 0 }]);
  const second = applyDelete(obj, { ref: { tag: Tag.Name }, index: 1 }, { now: NOW, version: V14 });
  t.same(second.deleted, [{ item: name('b'), index: 1 }]);
  t.same(applyDelete(obj, { current: name('b') }, { now: NOW }).attributes, [name('a'), text(Tag.Description, 'd')]);
});

t.test('a client deletes its x- attribute but not the server\'s y- one', async (t) => {
  const x = vendorAttribute('x', 'attribute1', text(Tag.AttributeValue, 'Value1'));
  const y = vendorAttribute('y', 'audit', text(Tag.AttributeValue, 'v'));
  t.same(applyDelete(key([x, y]), { ref: { vendor: 'x', name: 'attribute1' } }, { now: NOW }).attributes, [y]);
  refused(t, () => applyDelete(key([x, y]), { ref: { vendor: 'y', name: 'audit' } }, { now: NOW }), 'AttributeReadOnly');
});

// ——— Set ———

t.test('Set adds an absent attribute and replaces a single one', async (t) => {
  const added = applySet(key([]), text(Tag.Comment, 'one'), { now: NOW });
  t.same(added.attributes, [text(Tag.Comment, 'one')]);
  const replaced = applySet(key(added.attributes), text(Tag.Comment, 'two'), { now: NOW });
  t.same(replaced.attributes, [text(Tag.Comment, 'two')]);
});

t.test('Set of an attribute with several instances is refused', async (t) => {
  refused(t, () => applySet(key([name('a'), name('b')]), name('c'), { now: NOW }), 'MultiValuedAttribute');
});

t.test('Set cannot touch read-only attributes, nor modify add-only ones', async (t) => {
  refused(t, () => applySet(key([]), date(Tag.LastChangeDate, NOW), { now: NOW }), 'AttributeReadOnly');
  const mask = item(Tag.CryptographicUsageMask, 'Integer', 12);
  t.ok(applySet(key([], 'PreActive', 'OpaqueObject'), mask, { now: NOW }), 'a usage mask may be added where absent');
  refused(t, () => applySet(key([mask]), item(Tag.CryptographicUsageMask, 'Integer', 4), { now: NOW }), 'AttributeReadOnly', /cannot modify Cryptographic Usage Mask/);
});

// ——— Adjust ———

t.test('Adjust increments, decrements and negates', async (t) => {
  const period = (v: number): Item => item(Tag.ProtectionPeriod, 'Interval', v);
  t.same(applyAdjust(key([period(10)]), { tag: Tag.ProtectionPeriod }, 'Increment', undefined, { now: NOW }).attributes, [period(11)], 'by 1 by default');
  t.same(applyAdjust(key([period(10)]), { tag: Tag.ProtectionPeriod }, 'Decrement', item(Tag.AdjustmentValue, 'Interval', 4), { now: NOW }).attributes, [period(6)]);
  t.same(applyAdjust(key([item(Tag.QuantumSafe, 'Boolean', false)]), { tag: Tag.QuantumSafe }, 'Negate', undefined, { now: NOW }).attributes, [item(Tag.QuantumSafe, 'Boolean', true)]);
  const x = (v: number): Item => vendorAttribute('x', 'counter', item(Tag.AttributeValue, 'Integer', v));
  t.same(applyAdjust(key([x(41)]), { vendor: 'x', name: 'counter' }, 'Increment', undefined, { now: NOW }).attributes, [x(42)]);
  t.same(applyAdjust(key([date(Tag.ActivationDate, NOW + HOUR)]), { tag: Tag.ActivationDate }, 'Increment', item(Tag.AdjustmentValue, 'Interval', HOUR), { now: NOW }).attributes, [date(Tag.ActivationDate, NOW + 2 * HOUR)], 'a Date-Time moves by seconds');
});

t.test('Adjust of an absent attribute starts from 0 or false', async (t) => {
  t.same(applyAdjust(key([]), { tag: Tag.ProtectionPeriod }, 'Increment', item(Tag.AdjustmentValue, 'Interval', 5), { now: NOW }).attributes, [item(Tag.ProtectionPeriod, 'Interval', 5)]);
  t.same(applyAdjust(key([]), { tag: Tag.QuantumSafe }, 'Negate', undefined, { now: NOW }).attributes, [item(Tag.QuantumSafe, 'Boolean', true)]);
  refused(t, () => applyAdjust(key([]), { tag: Tag.Description }, 'Increment', undefined, { now: NOW }), 'InvalidDataType', /no number or Boolean/);
});

t.test('Adjust refusals: several instances, wrong type, overflow, read-only', async (t) => {
  const x = (v: number): Item => vendorAttribute('x', 'n', item(Tag.AttributeValue, 'Integer', v));
  refused(t, () => applyAdjust(key([x(1), x(2)]), { vendor: 'x', name: 'n' }, 'Increment', undefined, { now: NOW }), 'MultiValuedAttribute');
  refused(t, () => applyAdjust(key([item(Tag.QuantumSafe, 'Boolean', true)]), { tag: Tag.QuantumSafe }, 'Increment', undefined, { now: NOW }), 'InvalidDataType');
  refused(t, () => applyAdjust(key([x(2 ** 31 - 1)]), { vendor: 'x', name: 'n' }, 'Increment', undefined, { now: NOW }), 'NumericRange');
  refused(t, () => applyAdjust(key([item(Tag.ProtectionPeriod, 'Interval', 0)]), { tag: Tag.ProtectionPeriod }, 'Decrement', undefined, { now: NOW }), 'NumericRange', /outside what a Interval holds/);
  refused(t, () => applyAdjust(key([item(Tag.CryptographicLength, 'Integer', 128)]), { tag: Tag.CryptographicLength }, 'Increment', undefined, { now: NOW }), 'AttributeReadOnly');
  refused(t, () => applyAdjust(key([item(Tag.State, 'Enumeration', 1)]), { tag: Tag.State }, 'Increment', undefined, { now: NOW }), 'AttributeReadOnly', /State is set by the server only/);
  refused(t, () => applyAdjust(key([item(Tag.ProtectionPeriod, 'Interval', 1)]), { tag: Tag.ProtectionPeriod }, 'Increment', text(Tag.AdjustmentValue, '1'), { now: NOW }), 'InvalidDataType');
});

t.test('every change stamps the Last Change Date', async (t) => {
  const before = [date(Tag.LastChangeDate, NOW - HOUR), text(Tag.Comment, 'c')];
  t.same(stampLastChange(before, NOW), [text(Tag.Comment, 'c'), date(Tag.LastChangeDate, NOW)]);
});

/**
 * The attribute rules of KMIP 2.1 §4 as one table (each row from the attribute's "Rules" table,
 * cited by section; the 1.x-only attributes from KMIP 1.4 §3), and the checks and edits the
 * operations make with it: what a client may set at creation or change later, single- and
 * multi-instance semantics, what may be deleted. Refusals carry the spec's Result Reason for the
 * request's protocol version (2.x reasons where they exist, the 1.4 §11 equivalents otherwise).
 */
import { type Item, type LeafItem, type ItemTypeName, item, registry } from '../ttlv/index.js';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import { Enum, Tag, type KmipVersion, type TagName, Versions } from '../kmip/registry.generated.js';
import { LATEST, type ProtocolVersion, isV2, versionString } from '../kmip/version.js';
import type { ObjectTypeName, StateName } from './types.js';
import { type AttributeRef, child, dateItem, dateOf, positionsOf, refOf, refTitle, sameItem, sameRef, vendorAttribute, withReplaced } from './items.js';
import { withFullUsageCount } from './server-attributes.js';
import { effectiveState, reached, stateTitle, wrongState } from './lifecycle.js';

export type Setter = 'server' | 'client' | 'either';
export type CreationPhase = 'create' | 'register';
/** What a client request does with an attribute. */
export type Phase = CreationPhase | 'add' | 'modify' | 'set' | 'adjust' | 'delete';

export interface AttributeRule {
  /** The registry tag name; its title is the 1.x Attribute Name ("Cryptographic Algorithm"). */
  readonly tag: TagName;
  /** Where the row comes from, e.g. "2.1 §4.13". */
  readonly spec: string;
  /** "SHALL always have a value": for every object type, none, or all but some. */
  readonly required: boolean | { readonly except: readonly ObjectTypeName[] };
  readonly initiallySetBy: Setter;
  readonly serverModifiable: boolean;
  readonly clientModifiable: boolean;
  readonly clientDeletable: boolean;
  /** "Multiple instances permitted": for every object type, none, or only these. */
  readonly multi: boolean | readonly ObjectTypeName[];
  readonly appliesTo: 'all' | readonly ObjectTypeName[];
  /** The protocol versions in which it is an attribute. */
  readonly versions: readonly KmipVersion[];
  /** The creation requests in which a client may give it (Create/Create Key Pair/Derive Key/Re-key; Register/Import). */
  readonly inRequest: readonly CreationPhase[];
  /** Set or changed only while the object is in one of these states ("Yes, only while in Pre-Active state"). */
  readonly modifiableWhile?: readonly StateName[];
  /** …and only until the date it holds has been reached (Process Start Date, Protect Stop Date). */
  readonly untilReached?: boolean;
}

interface Extra {
  /** Overrides who may give it at creation (default: every creation request if a client may initially set it). */
  readonly request?: readonly CreationPhase[];
  readonly while?: readonly StateName[];
  readonly untilReached?: boolean;
  /** The last version it exists in (the 1.x-only attributes). */
  readonly until?: KmipVersion;
}

type Required = AttributeRule['required'];
type Multi = AttributeRule['multi'];
type Applies = AttributeRule['appliesTo'];

function versionsFrom(since: KmipVersion, until: KmipVersion = '2.1'): KmipVersion[] {
  return Versions.slice(Versions.indexOf(since), Versions.indexOf(until) + 1);
}

/** One row, its columns in the order of the spec's rules tables. */
function row(
  tag: TagName,
  spec: string,
  required: Required,
  initiallySetBy: Setter,
  serverModifiable: boolean,
  clientModifiable: boolean,
  clientDeletable: boolean,
  multi: Multi,
  appliesTo: Applies,
  since: KmipVersion,
  extra: Extra = {},
): AttributeRule {
  const rule: AttributeRule = {
    tag,
    spec,
    required,
    initiallySetBy,
    serverModifiable,
    clientModifiable,
    clientDeletable,
    multi,
    appliesTo,
    versions: versionsFrom(since, extra.until),
    inRequest: extra.request ?? (initiallySetBy === 'server' ? [] : ['create', 'register']),
  };
  return {
    ...rule,
    ...(extra.while ? { modifiableWhile: extra.while } : {}),
    ...(extra.untilReached ? { untilReached: true } : {}),
  };
}

const Y = true;
const N = false;
const ALL = 'all';
const CERT: readonly ObjectTypeName[] = ['Certificate'];
const CREATION: readonly CreationPhase[] = ['create', 'register'];
const PRE_ACTIVE: readonly StateName[] = ['PreActive'];
const NOT_YET_DEACTIVATED: readonly StateName[] = ['PreActive', 'Active'];

/** KMIP 2.1 §4.6: the certificate's RFC 2253 fields, one attribute each, all under one rules table. */
const CERTIFICATE_FIELDS: readonly TagName[] = (['Subject', 'Issuer'] as const).flatMap((who) =>
  (['CN', 'O', 'OU', 'Email', 'C', 'ST', 'L', 'UID', 'SerialNumber', 'Title', 'DC', 'DNQualifier'] as const).map((f) => `Certificate${who}${f}` as const),
);

/**
 * Every KMIP attribute. Columns: SHALL always have a value · Initially set by · Modifiable by
 * server · Modifiable by client · Deletable by client · Multiple instances · Applies to · since.
 * Attributes the server sets but a client states in its request (Cryptographic Algorithm in a
 * Create, Certificate Length in a Register) list the requests in `request`.
 */
export const ATTRIBUTE_RULES: readonly AttributeRule[] = [
  row('ActivationDate', '2.1 §4.1', N, 'either', Y, Y, N, N, ALL, '1.0', { while: PRE_ACTIVE }),
  row('AlternativeName', '2.1 §4.2', N, 'client', Y, Y, Y, Y, ALL, '1.2'),
  row('AlwaysSensitive', '2.1 §4.3', Y, 'server', Y, N, N, N, ALL, '1.4'),
  row('ApplicationSpecificInformation', '2.1 §4.4', N, 'either', Y, Y, Y, Y, ALL, '1.0'),
  row('ArchiveDate', '2.1 §4.5', N, 'server', N, N, N, N, ALL, '1.0'),
  ...CERTIFICATE_FIELDS.map((tag) => row(tag, '2.1 §4.6', N, 'server', N, N, N, Y, CERT, '2.0')),
  row('CertificateType', '2.1 §4.7', Y, 'server', N, N, N, N, CERT, '1.0', { request: ['register'] }),
  row('CertificateLength', '2.1 §4.8', Y, 'server', N, N, N, N, CERT, '1.1', { request: ['register'] }),
  row('Comment', '2.1 §4.9', N, 'either', Y, Y, Y, N, ALL, '1.4'),
  row('CompromiseDate', '2.1 §4.10', N, 'server', N, N, N, N, ALL, '1.0'),
  row('CompromiseOccurrenceDate', '2.1 §4.11', N, 'server', N, N, N, N, ALL, '1.0'),
  row('ContactInformation', '2.1 §4.12', N, 'either', Y, Y, Y, N, ALL, '1.0'),
  row('CryptographicAlgorithm', '2.1 §4.13', { except: ['SecretData', 'OpaqueObject'] }, 'server', N, N, N, N, ALL, '1.0', { request: CREATION }),
  row('CryptographicDomainParameters', '2.1 §4.14', N, 'client', N, N, N, N, ['PublicKey', 'PrivateKey'], '1.0'),
  row('CryptographicLength', '2.1 §4.15', { except: ['OpaqueObject'] }, 'server', N, N, N, N, ALL, '1.0', { request: CREATION }),
  row('CryptographicParameters', '2.1 §4.16', N, 'client', N, Y, Y, Y, ALL, '1.0'),
  row('CryptographicUsageMask', '2.1 §4.17', { except: ['OpaqueObject'] }, 'either', Y, N, N, N, ALL, '1.0'),
  row('DeactivationDate', '2.1 §4.18', N, 'either', Y, Y, N, N, ALL, '1.0', { while: NOT_YET_DEACTIVATED }),
  row('Description', '2.1 §4.19', N, 'either', Y, Y, Y, N, ALL, '1.4'),
  row('DestroyDate', '2.1 §4.20', N, 'server', N, N, N, N, ALL, '1.0'),
  // "Yes, if the server has access to the Digest Value or the Key Material…"
  row('Digest', '2.1 §4.21', Y, 'server', N, N, N, Y, ALL, '1.0'),
  row('DigitalSignatureAlgorithm', '2.1 §4.22', Y, 'server', N, N, N, ['PGPKey'], ['Certificate', 'PGPKey'], '1.1', { request: ['register'] }),
  row('Extractable', '2.1 §4.23', Y, 'either', Y, Y, N, N, ALL, '1.4'),
  // "SHALL be set to True … unless the client provides a False value in Register or Import."
  row('Fresh', '2.1 §4.24', Y, 'either', Y, N, N, N, ALL, '1.1', { request: ['register'] }),
  row('InitialDate', '2.1 §4.25', Y, 'server', N, N, N, N, ALL, '1.0'),
  // "a particular Key Format Type MAY be requested by the client" when the server makes the key.
  row('KeyFormatType', '2.1 §4.26', Y, 'server', N, N, N, N, ALL, '2.0', { request: CREATION }),
  row('KeyValueLocation', '2.1 §4.27', N, 'client', N, Y, Y, Y, ALL, '1.2'),
  row('KeyValuePresent', '2.1 §4.28', N, 'server', N, N, N, N, ALL, '1.2'),
  row('LastChangeDate', '2.1 §4.29', Y, 'server', Y, N, N, N, ALL, '1.0'),
  row('LeaseTime', '2.1 §4.30', N, 'server', Y, N, N, N, ALL, '1.0'),
  row('Link', '2.1 §4.31', N, 'either', Y, Y, Y, Y, ALL, '1.0'),
  row('Name', '2.1 §4.32', N, 'client', Y, Y, Y, Y, ALL, '1.0'),
  row('NeverExtractable', '2.1 §4.33', Y, 'server', Y, N, N, N, ALL, '1.4'),
  row('NISTKeyType', '2.1 §4.34', N, 'client', N, N, N, Y, ALL, '2.0'),
  row('ObjectGroup', '2.1 §4.35', N, 'either', Y, Y, Y, Y, ALL, '1.0'),
  row('ObjectType', '2.1 §4.36', Y, 'server', N, N, N, N, ALL, '1.0', { request: CREATION }),
  row('OpaqueDataType', '2.1 §4.37', Y, 'server', N, N, N, N, ['OpaqueObject'], '2.0', { request: ['register'] }),
  // "Client or Server (when object is generated by Server)": a client gives it only for what it registers.
  row('OriginalCreationDate', '2.1 §4.38', N, 'either', N, N, N, N, ALL, '1.2', { request: ['register'] }),
  row('PKCS_12FriendlyName', '2.1 §4.39', N, 'either', N, Y, Y, N, ALL, '1.4'),
  row('ProcessStartDate', '2.1 §4.40', N, 'either', Y, Y, N, N, ALL, '1.0', { while: NOT_YET_DEACTIVATED, untilReached: true }),
  row('ProtectStopDate', '2.1 §4.41', N, 'either', Y, Y, N, N, ALL, '1.0', { while: NOT_YET_DEACTIVATED, untilReached: true }),
  row('ProtectionLevel', '2.1 §4.42', N, 'client', N, Y, Y, N, ALL, '2.0'),
  row('ProtectionPeriod', '2.1 §4.43', N, 'client', N, Y, Y, N, ALL, '2.0'),
  row('ProtectionStorageMask', '2.1 §4.44', Y, 'server', N, N, N, N, ALL, '2.0'),
  row('QuantumSafe', '2.1 §4.45', N, 'client', N, Y, Y, N, ALL, '2.0'),
  // In a Create the client's values are the generators the server must choose from (§4.46).
  row('RandomNumberGenerator', '2.1 §4.46', N, 'either', N, N, N, N, ALL, '1.3'),
  row('RevocationReason', '2.1 §4.47', N, 'server', Y, N, N, N, ALL, '1.0'),
  row('RotateAutomatic', '2.1 §4.48', N, 'either', Y, N, N, N, ALL, '2.1'),
  row('RotateDate', '2.1 §4.49', N, 'server', N, N, N, N, ALL, '2.1'),
  row('RotateGeneration', '2.1 §4.50', N, 'server', N, N, N, N, ALL, '2.1'),
  row('RotateInterval', '2.1 §4.51', N, 'either', Y, N, N, N, ALL, '2.1'),
  row('RotateLatest', '2.1 §4.52', N, 'server', Y, N, N, N, ALL, '2.1'),
  row('RotateName', '2.1 §4.53', N, 'client', N, Y, Y, N, ALL, '2.1'),
  row('RotateOffset', '2.1 §4.54', N, 'either', Y, N, N, N, ALL, '2.1'),
  row('Sensitive', '2.1 §4.55', Y, 'either', Y, Y, N, N, ALL, '1.4'),
  row('ShortUniqueIdentifier', '2.1 §4.56', Y, 'server', N, N, N, N, ALL, '2.0'),
  row('State', '2.1 §4.57', Y, 'server', Y, N, N, N, ALL, '1.0'),
  row('UniqueIdentifier', '2.1 §4.58', Y, 'server', N, N, N, N, ALL, '1.0'),
  row('UsageLimits', '2.1 §4.59', N, 'either', Y, Y, Y, N, ALL, '1.0'),
  row('X_509CertificateIdentifier', '2.1 §4.61', Y, 'server', N, N, N, N, CERT, '1.1'),
  row('X_509CertificateIssuer', '2.1 §4.62', Y, 'server', N, N, N, N, CERT, '1.1'),
  row('X_509CertificateSubject', '2.1 §4.63', Y, 'server', N, N, N, N, CERT, '1.1'),
  // KMIP 1.x only: deprecated in 1.1 / 1.3 and gone from 2.0.
  row('CertificateIdentifier', '1.4 §3.13', Y, 'server', N, N, N, N, CERT, '1.0', { until: '1.4' }),
  row('CertificateSubject', '1.4 §3.14', Y, 'server', N, N, N, N, CERT, '1.0', { until: '1.4' }),
  row('CertificateIssuer', '1.4 §3.15', Y, 'server', N, N, N, N, CERT, '1.0', { until: '1.4' }),
  row('OperationPolicyName', '1.4 §3.18', N, 'either', Y, N, N, N, ALL, '1.0', { until: '1.4' }),
];

/**
 * Vendor attributes (2.1 §4.60) and 1.x Custom Attributes (1.4 §3.39): "x" (`x-name` in 1.x) is the
 * client's, never touched by the server; "y" (`y-name`) is the server's, read-only to clients;
 * other Vendor Identifications exist only in 2.x and are treated like the client's.
 */
function vendorRule(vendor: string): AttributeRule {
  const server = vendor === 'y';
  return {
    tag: 'Attribute',
    spec: '2.1 §4.60, 1.4 §3.39',
    required: false,
    initiallySetBy: server ? 'server' : 'client',
    serverModifiable: server,
    clientModifiable: !server,
    clientDeletable: !server,
    multi: true,
    appliesTo: ALL,
    versions: vendor === 'x' || vendor === 'y' ? Versions : versionsFrom('2.0'),
    inRequest: server ? [] : CREATION,
  };
}

const RULES_BY_TAG = new Map<number, AttributeRule>(ATTRIBUTE_RULES.map((r) => [Tag[r.tag], r]));

export function ruleFor(ref: AttributeRef): AttributeRule | undefined {
  return 'tag' in ref ? RULES_BY_TAG.get(ref.tag) : vendorRule(ref.vendor);
}

export function ruleForTag(tag: TagName): AttributeRule | undefined {
  return RULES_BY_TAG.get(Tag[tag]);
}

export function existsIn(rule: AttributeRule, version: ProtocolVersion): boolean {
  return (rule.versions as readonly string[]).includes(versionString(version));
}

export function appliesTo(rule: AttributeRule, objectType: ObjectTypeName): boolean {
  return rule.appliesTo === ALL || rule.appliesTo.includes(objectType);
}

export function isMultiInstance(rule: AttributeRule, objectType: ObjectTypeName): boolean {
  return typeof rule.multi === 'boolean' ? rule.multi : rule.multi.includes(objectType);
}

export function isRequired(rule: AttributeRule, objectType: ObjectTypeName): boolean {
  return typeof rule.required === 'boolean' ? rule.required : !rule.required.except.includes(objectType);
}

/** The attributes an object of this type SHALL always have in KMIP 2.1 (Digest only where the server holds the value). */
export function requiredAttributes(objectType: ObjectTypeName): TagName[] {
  return ATTRIBUTE_RULES.filter((r) => r.versions.includes('2.1') && appliesTo(r, objectType) && isRequired(r, objectType)).map((r) => r.tag);
}

// ——— refusals ———

export type Refusal = 'unknown' | 'readOnly' | 'notApplicable' | 'singleValued' | 'multiValued' | 'notFound' | 'instanceNotFound' | 'badValue' | 'badType' | 'range';

/**
 * The Result Reason for each refusal: the 2.1 §6.1.x error tables, and for 1.x the 1.4 §11 tables
 * (Create/Register "Incorrect attribute value(s)" → Invalid Field; Add/Modify/Delete of a read-only
 * attribute → Permission Denied; Add of an existing attribute → Illegal Operation; Modify of an
 * absent one → Invalid Field; a missing instance → Item Not Found).
 */
const REASONS: { readonly [K in Refusal]: { readonly v2: ResultReasonName; readonly v1: ResultReasonName; readonly v1ByPhase?: Partial<Record<Phase, ResultReasonName>> } } = {
  unknown: { v2: 'InvalidAttribute', v1: 'InvalidField' },
  readOnly: { v2: 'AttributeReadOnly', v1: 'PermissionDenied', v1ByPhase: { create: 'InvalidField', register: 'InvalidField' } },
  notApplicable: { v2: 'InvalidAttribute', v1: 'PermissionDenied', v1ByPhase: { create: 'InvalidField', register: 'InvalidField' } },
  singleValued: { v2: 'AttributeSingleValued', v1: 'IllegalOperation', v1ByPhase: { create: 'InvalidField', register: 'InvalidField' } },
  multiValued: { v2: 'MultiValuedAttribute', v1: 'InvalidField' },
  notFound: { v2: 'AttributeNotFound', v1: 'ItemNotFound', v1ByPhase: { modify: 'InvalidField' } },
  instanceNotFound: { v2: 'AttributeInstanceNotFound', v1: 'ItemNotFound' },
  badValue: { v2: 'InvalidAttributeValue', v1: 'InvalidField' },
  badType: { v2: 'InvalidDataType', v1: 'InvalidField' },
  range: { v2: 'NumericRange', v1: 'InvalidField' },
};

export function refusalReason(kind: Refusal, phase: Phase, version: ProtocolVersion = LATEST): ResultReasonName {
  const reasons = REASONS[kind];
  return isV2(version) ? reasons.v2 : (reasons.v1ByPhase?.[phase] ?? reasons.v1);
}

function refuse(kind: Refusal, phase: Phase, version: ProtocolVersion, message: string): KmipError {
  return new KmipError(refusalReason(kind, phase, version), message);
}

export interface RuleOptions {
  /** The request's protocol version, for the Result Reasons (default 2.1). */
  readonly version?: ProtocolVersion;
}

function knownRule(ref: AttributeRef, phase: Phase, version: ProtocolVersion): AttributeRule {
  const rule = ruleFor(ref);
  if (rule === undefined) throw refuse('unknown', phase, version, `${refTitle(ref)} is not a KMIP attribute`);
  if (!existsIn(rule, version)) throw refuse('unknown', phase, version, `${refTitle(ref)} is not an attribute in KMIP ${versionString(version)}`);
  return rule;
}

/** Whether a client may do `action` with an attribute of this rule at all (state and instances aside). */
function clientMay(rule: AttributeRule, action: CreationPhase | 'add' | 'modify' | 'delete'): boolean {
  switch (action) {
    case 'create':
    case 'register':
      return rule.inRequest.includes(action);
    case 'add':
      return rule.initiallySetBy !== 'server';
    case 'modify':
      return rule.clientModifiable;
    case 'delete':
      return rule.clientDeletable;
  }
}

function readOnlyMessage(rule: AttributeRule, ref: AttributeRef, action: string, objectType: ObjectTypeName): string {
  const title = refTitle(ref);
  if (action === 'delete' && isRequired(rule, objectType)) return `${title} SHALL always have a value and cannot be deleted (KMIP ${rule.spec})`;
  if (rule.initiallySetBy === 'server' && rule.inRequest.length === 0) return `${title} is set by the server only (KMIP ${rule.spec})`;
  const doing = action === 'create' ? `give ${title} in a Create request` : action === 'register' ? `give ${title} in a Register request` : `${action} ${title}`;
  return `a client cannot ${doing} (KMIP ${rule.spec})`;
}

/** Leaf item types each attribute tag may carry, from the registry (empty where it varies). */
function checkType(attr: Item, phase: Phase, version: ProtocolVersion): void {
  if (attr.tag === Tag.Attribute) return;
  const types = registry.tag(attr.tag)?.types ?? [];
  if (types.length > 0 && !types.includes(attr.type)) {
    throw refuse('badValue', phase, version, `${refTitle({ tag: attr.tag })} must be a ${types.join(' or ')}, not a ${attr.type}`);
  }
}

/** The rule of `ref`, if a client may do `action` with it on an object of this type. */
function permitRef(objectType: ObjectTypeName, ref: AttributeRef, action: CreationPhase | 'add' | 'modify', phase: Phase, version: ProtocolVersion): AttributeRule {
  const rule = knownRule(ref, phase, version);
  if (!appliesTo(rule, objectType)) throw refuse('notApplicable', phase, version, `${refTitle(ref)} does not apply to a ${objectType} (KMIP ${rule.spec})`);
  if (!clientMay(rule, action)) throw refuse('readOnly', phase, version, readOnlyMessage(rule, ref, action, objectType));
  return rule;
}

function permit(objectType: ObjectTypeName, attr: Item, action: CreationPhase | 'add' | 'modify', phase: Phase, version: ProtocolVersion): AttributeRule {
  const rule = permitRef(objectType, refOf(attr), action, phase, version);
  checkType(attr, phase, version);
  return rule;
}

/**
 * Whether a client may give this attribute (2.1 form) for an object of this type in a request of
 * this kind; throws the refusal otherwise. For Set and Adjust, which add or modify depending on
 * what the object holds, only whether either could ever be allowed; the apply functions decide.
 */
export function checkClientSettable(objectType: ObjectTypeName, attr: Item, phase: Exclude<Phase, 'delete'>, options: RuleOptions = {}): AttributeRule {
  const version = options.version ?? LATEST;
  if (phase !== 'set' && phase !== 'adjust') return permit(objectType, attr, phase, phase, version);
  const rule = ruleFor(refOf(attr));
  const action = rule !== undefined && !clientMay(rule, 'add') && clientMay(rule, 'modify') ? 'modify' : 'add';
  return permit(objectType, attr, action, phase, version);
}

/**
 * Checks the attributes of a creation request (Create, Register, one side of Create Key Pair):
 * each settable, no second instance of a single-instance attribute, dates in order. In a Create
 * several Random Number Generators are alternatives, not instances (2.1 §4.46).
 */
export function checkCreationAttributes(objectType: ObjectTypeName, attrs: readonly Item[], phase: CreationPhase, options: RuleOptions = {}): void {
  const version = options.version ?? LATEST;
  attrs.forEach((attr, i) => {
    const rule = checkClientSettable(objectType, attr, phase, options);
    if (isMultiInstance(rule, objectType) || (phase === 'create' && rule.tag === 'RandomNumberGenerator')) return;
    const ref = refOf(attr);
    if (attrs.slice(0, i).some((a) => sameRef(refOf(a), ref))) {
      throw refuse('singleValued', phase, version, `${refTitle(ref)} is single-instance but given more than once (KMIP ${rule.spec})`);
    }
  });
  checkDateOrder(attrs, phase, version);
}

const ORDERED_DATES: readonly number[] = [Tag.ActivationDate, Tag.ProcessStartDate, Tag.DeactivationDate, Tag.ProtectStopDate];

/** 2.1 §4.40: Process Start Date SHALL NOT precede the Activation Date; §4.41: Protect Stop Date SHALL NOT be later than the Deactivation Date. */
function checkDateOrder(attrs: readonly Item[], phase: Phase, version: ProtocolVersion): void {
  const activation = dateOf(attrs, Tag.ActivationDate);
  const processStart = dateOf(attrs, Tag.ProcessStartDate);
  if (activation !== undefined && processStart !== undefined && processStart < activation) {
    throw refuse('badValue', phase, version, 'the Process Start Date SHALL NOT precede the Activation Date (KMIP 2.1 §4.40)');
  }
  const deactivation = dateOf(attrs, Tag.DeactivationDate);
  const protectStop = dateOf(attrs, Tag.ProtectStopDate);
  if (deactivation !== undefined && protectStop !== undefined && protectStop > deactivation) {
    throw refuse('badValue', phase, version, 'the Protect Stop Date SHALL NOT be later than the Deactivation Date (KMIP 2.1 §4.41)');
  }
}

// ——— edits of an existing object ———

/** What the edits read of an object (a ManagedObjectRecord is one). */
export interface ObjectView {
  readonly objectType: ObjectTypeName;
  readonly state: StateName;
  readonly attributes: readonly Item[];
}

export interface EditOptions extends RuleOptions {
  /** The request's clock (seconds): state windows and "until reached" dates are judged at this moment. */
  readonly now: number;
}

/** The instance an edit targets: by value (2.x Current Attribute) or by 1.x Attribute Index. */
export type Selector = { readonly current: Item } | { readonly index: number };

export interface EditResult {
  readonly attributes: Item[];
  /** The 1.x Attribute Index of the instance added or changed. */
  readonly index: number;
}

export interface DeleteResult {
  readonly attributes: Item[];
  readonly deleted: readonly { readonly item: Item; readonly index: number }[];
}

/** "Only while in Pre-Active state", "as long as the Process Start Date has not been reached". */
function checkWindow(rule: AttributeRule, ref: AttributeRef, obj: ObjectView, existing: Item | undefined, options: EditOptions): void {
  if (rule.modifiableWhile === undefined) return;
  const state = effectiveState(obj, options.now);
  const title = refTitle(ref);
  if (!rule.modifiableWhile.includes(state)) {
    const allowed = rule.modifiableWhile.map(stateTitle).join(' or ');
    throw wrongState(`${title} can only be set while the object is ${allowed}; it is ${stateTitle(state)} (KMIP ${rule.spec})`, options.version);
  }
  if (rule.untilReached && existing?.type === 'DateTime' && reached(existing.value, options.now)) {
    throw wrongState(`${title} has been reached and can no longer change (KMIP ${rule.spec})`, options.version);
  }
}

function finish(attrs: Item[], ref: AttributeRef, index: number, phase: Phase, version: ProtocolVersion): EditResult {
  if ('tag' in ref && ORDERED_DATES.includes(ref.tag)) checkDateOrder(attrs, phase, version);
  return { attributes: attrs, index };
}

/** KMIP 2.1 §4.59: once Get Usage Allocation has lowered the Count, Usage Limits can no longer change or go. */
function checkNoAllocation(existing: Item | undefined, action: string, phase: Phase, version: ProtocolVersion): void {
  if (existing?.type !== 'Structure') return;
  const total = existing.value.find((c) => c.tag === Tag.UsageLimitsTotal);
  const count = existing.value.find((c) => c.tag === Tag.UsageLimitsCount);
  if (total?.type === 'LongInteger' && count?.type === 'LongInteger' && count.value !== total.value) {
    throw refuse('readOnly', phase, version, `Usage Limits cannot be ${action} once Get Usage Allocation has used some of it (KMIP 2.1 §4.59)`);
  }
}

function addInstance(obj: ObjectView, given: Item, phase: Phase, options: EditOptions): EditResult {
  const version = options.version ?? LATEST;
  const attr = withFullUsageCount(given);
  const rule = permit(obj.objectType, attr, 'add', phase, version);
  const ref = refOf(attr);
  const positions = positionsOf(obj.attributes, ref);
  if (positions.length > 0 && !isMultiInstance(rule, obj.objectType)) {
    throw refuse('singleValued', phase, version, `the object already has a ${refTitle(ref)}, a single-instance attribute (KMIP ${rule.spec})`);
  }
  checkWindow(rule, ref, obj, undefined, options);
  return finish([...obj.attributes, attr], ref, positions.length, phase, version);
}

function modifyAt(obj: ObjectView, position: number, index: number, given: Item, phase: Phase, options: EditOptions): EditResult {
  const version = options.version ?? LATEST;
  const attr = withFullUsageCount(given);
  const rule = permit(obj.objectType, attr, 'modify', phase, version);
  const ref = refOf(attr);
  checkWindow(rule, ref, obj, obj.attributes[position], options);
  if (attr.tag === Tag.UsageLimits) checkNoAllocation(obj.attributes[position], 'changed', phase, version);
  const attrs = [...obj.attributes];
  attrs[position] = attr;
  return finish(attrs, ref, index, phase, version);
}

/** Which of the instances of `ref` (at `positions`) the selector picks, as its index among them; or a refusal. */
function select(obj: ObjectView, ref: AttributeRef, positions: number[], selector: Selector | undefined, phase: Phase, version: ProtocolVersion): number {
  const title = refTitle(ref);
  if (positions.length === 0) throw refuse('notFound', phase, version, `the object has no ${title}`);
  let index: number;
  if (selector === undefined) {
    // 1.x: "If no Attribute Index is specified … assumed to be 0" (1.4 §4.15). 2.x: only if there is one instance (2.1 §6.1.34).
    if (isV2(version) && positions.length > 1) throw refuse('multiValued', phase, version, `the object has ${positions.length} instances of ${title}: say which one`);
    index = 0;
  } else if ('index' in selector) {
    index = selector.index;
  } else {
    if (!sameRef(refOf(selector.current), ref)) throw refuse('badValue', phase, version, `the current and new attributes are different attributes`);
    index = positions.findIndex((p) => sameItem(obj.attributes[p]!, selector.current));
  }
  if (index < 0 || index >= positions.length) throw refuse('instanceNotFound', phase, version, `the object has no such instance of ${title}`);
  return index;
}

/** Add Attribute (2.1 §6.1.2, 1.4 §4.14): a new instance; a second instance of a single-instance attribute is refused. */
export function applyAdd(obj: ObjectView, attr: Item, options: EditOptions): EditResult {
  return addInstance(obj, attr, 'add', options);
}

/**
 * Modify Attribute (2.1 §6.1.34, 1.4 §4.15): replaces the selected instance: by Current Attribute
 * value, by 1.x Attribute Index, or (none given) the only instance (2.x) / index 0 (1.x).
 */
export function applyModify(obj: ObjectView, attr: Item, selector: Selector | undefined, options: EditOptions): EditResult {
  const version = options.version ?? LATEST;
  const ref = refOf(attr);
  knownRule(ref, 'modify', version);
  const positions = positionsOf(obj.attributes, ref);
  const index = select(obj, ref, positions, selector, 'modify', version);
  return modifyAt(obj, positions[index]!, index, attr, 'modify', options);
}

/** Set Attribute (2.1 §6.1.51): adds the attribute if absent, replaces its one instance, refuses if it has several. */
export function applySet(obj: ObjectView, attr: Item, options: EditOptions): EditResult {
  const version = options.version ?? LATEST;
  const ref = refOf(attr);
  knownRule(ref, 'set', version);
  const positions = positionsOf(obj.attributes, ref);
  if (positions.length === 0) return addInstance(obj, attr, 'set', options);
  if (positions.length > 1) throw refuse('multiValued', 'set', version, `the object has ${positions.length} instances of ${refTitle(ref)}; Set needs at most one`);
  return modifyAt(obj, positions[0]!, 0, attr, 'set', options);
}

export type DeleteTarget = { readonly current: Item } | { readonly ref: AttributeRef; readonly index?: number };

/**
 * Delete Attribute (2.1 §6.1.13, 1.4 §4.16): the instance equal to a Current Attribute, the 1.x
 * Attribute Index (default 0), or — an Attribute Reference alone in 2.x — every instance.
 */
export function applyDelete(obj: ObjectView, target: DeleteTarget, options: EditOptions): DeleteResult {
  const version = options.version ?? LATEST;
  const ref = 'current' in target ? refOf(target.current) : target.ref;
  const rule = knownRule(ref, 'delete', version);
  if (!rule.clientDeletable) throw refuse('readOnly', 'delete', version, readOnlyMessage(rule, ref, 'delete', obj.objectType));
  const positions = positionsOf(obj.attributes, ref);
  let chosen: number[];
  if ('current' in target) chosen = [select(obj, ref, positions, { current: target.current }, 'delete', version)];
  else if (target.index !== undefined || !isV2(version)) chosen = [select(obj, ref, positions, { index: target.index ?? 0 }, 'delete', version)];
  else if (positions.length === 0) throw refuse('notFound', 'delete', version, `the object has no ${refTitle(ref)}`);
  else chosen = positions.map((_, i) => i);
  for (const i of chosen) if ('tag' in ref && ref.tag === Tag.UsageLimits) checkNoAllocation(obj.attributes[positions[i]!], 'deleted', 'delete', version);
  const gone = new Set(chosen.map((i) => positions[i]!));
  return {
    attributes: obj.attributes.filter((_, p) => !gone.has(p)),
    deleted: chosen.map((i) => ({ item: obj.attributes[positions[i]!]!, index: i })),
  };
}

export type AdjustmentName = keyof typeof Enum.AdjustmentType;

const RANGES: Partial<Record<ItemTypeName, readonly [bigint, bigint]>> = {
  Integer: [-(2n ** 31n), 2n ** 31n - 1n],
  Interval: [0n, 2n ** 32n - 1n],
  DateTime: [BigInt(Number.MIN_SAFE_INTEGER), BigInt(Number.MAX_SAFE_INTEGER)],
  LongInteger: [-(2n ** 63n), 2n ** 63n - 1n],
  DateTimeExtended: [-(2n ** 63n), 2n ** 63n - 1n],
};
const NUMERIC: readonly ItemTypeName[] = ['Integer', 'LongInteger', 'BigInteger', 'Interval', 'DateTime', 'DateTimeExtended'];
const NEGATABLE: readonly ItemTypeName[] = ['Integer', 'LongInteger', 'BigInteger', 'Boolean'];

/** The value an absent attribute is assumed to hold: 0 for numbers and intervals, false for Booleans (2.1 §6.1.3). */
function zeroLeaf(tag: number, type: ItemTypeName | undefined): LeafItem | undefined {
  switch (type) {
    case 'Integer':
    case 'Interval':
    case 'DateTime':
      return item(tag, type, 0);
    case 'LongInteger':
    case 'BigInteger':
    case 'DateTimeExtended':
      return item(tag, type, 0n);
    case 'Boolean':
      return item(tag, type, false);
    default:
      return undefined;
  }
}

function adjustLeaf(leaf: LeafItem, adjustment: AdjustmentName, amount: Item | undefined, title: string, version: ProtocolVersion): LeafItem {
  const allowed = adjustment === 'Negate' ? NEGATABLE : NUMERIC;
  if (!allowed.includes(leaf.type)) throw refuse('badType', 'adjust', version, `${adjustment} does not apply to ${title}, a ${leaf.type} (KMIP 2.1 §11.1)`);
  if (leaf.type === 'Boolean') return { ...leaf, value: !leaf.value };
  if (amount !== undefined && (amount.type === 'Structure' || !NUMERIC.includes(amount.type))) {
    throw refuse('badType', 'adjust', version, `the Adjustment Value for ${title} must be a number, not a ${amount.type}`);
  }
  const current = BigInt(leaf.value as number | bigint);
  const step = amount === undefined ? 1n : BigInt((amount as LeafItem).value as number | bigint);
  const next = adjustment === 'Negate' ? -current : adjustment === 'Increment' ? current + step : current - step;
  const range = RANGES[leaf.type];
  if (range && (next < range[0] || next > range[1])) throw refuse('range', 'adjust', version, `${adjustment} would take ${title} outside what a ${leaf.type} holds`);
  return typeof leaf.value === 'bigint' ? ({ ...leaf, value: next } as LeafItem) : ({ ...leaf, value: Number(next) } as LeafItem);
}

/**
 * Adjust Attribute (2.1 §6.1.3): Increment / Decrement by the Adjustment Value (default 1, one
 * second for a Date-Time, one microsecond for a Date-Time Extended) or Negate. An absent attribute
 * counts as 0 or false; one with several instances is refused.
 */
export function applyAdjust(obj: ObjectView, ref: AttributeRef, adjustment: AdjustmentName, amount: Item | undefined, options: EditOptions): EditResult {
  const version = options.version ?? LATEST;
  const title = refTitle(ref);
  const positions = positionsOf(obj.attributes, ref);
  const existing = positions.length === 1 ? obj.attributes[positions[0]!] : undefined;
  permitRef(obj.objectType, ref, positions.length === 0 ? 'add' : 'modify', 'adjust', version);
  if (positions.length > 1) throw refuse('multiValued', 'adjust', version, `the object has ${positions.length} instances of ${title}; Adjust needs at most one`);
  const current = existing === undefined ? absentValue(ref, amount) : 'tag' in ref ? existing : child(existing, Tag.AttributeValue);
  if (current === undefined || current.type === 'Structure') throw refuse('badType', 'adjust', version, `${title} holds no number or Boolean to adjust (KMIP 2.1 §6.1.3)`);
  const adjusted = adjustLeaf(current, adjustment, amount, title, version);
  const attr = 'tag' in ref ? adjusted : vendorAttribute(ref.vendor, ref.name, adjusted);
  return existing === undefined ? addInstance(obj, attr, 'adjust', options) : modifyAt(obj, positions[0]!, 0, attr, 'adjust', options);
}

function absentValue(ref: AttributeRef, amount: Item | undefined): LeafItem | undefined {
  if ('tag' in ref) return zeroLeaf(ref.tag, registry.tag(ref.tag)?.types[0]);
  return amount === undefined ? undefined : zeroLeaf(Tag.AttributeValue, amount.type);
}

/** 2.1 §4.29: every change to an object sets its Last Change Date. */
export function stampLastChange(attrs: readonly Item[], now: number): Item[] {
  return withReplaced(attrs, [dateItem(Tag.LastChangeDate, now)]);
}

export { serverAttributes, initialAttributes, withFullUsageCount, digest, type CreationInput, type DigestSource, type ServerAttributes } from './server-attributes.js';

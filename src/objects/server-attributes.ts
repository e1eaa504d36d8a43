/**
 * The attributes the server sets when an object is created or registered (KMIP 2.1 §4: every
 * attribute "implicitly set" by Create, Create Key Pair, Register, Derive Key, Re-key…), and the
 * object's first state (§4.57 transition 1: Active at once if the Activation Date has passed).
 */
import { createHash } from 'node:crypto';
import { type Item, encode, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import type { ObjectTypeName, StateName } from './types.js';
import { dateItem, find } from './items.js';
import { effectiveState, stateItem } from './lifecycle.js';

/** What one Digest is computed over (2.1 §4.21). */
export interface DigestSource {
  /** Key Material (Byte String, or a Structure digested as its TTLV encoding), Certificate Value or Opaque Data Value. */
  readonly value: Item;
  /** The Key Format Type of that Key Material (keys and Secret Data only). */
  readonly keyFormatType?: number;
}

export interface CreationInput {
  readonly objectType: ObjectTypeName;
  readonly uid: string;
  /** The request's clock, seconds since the epoch. */
  readonly now: number;
  /** `generated`: the server made the key (Create, Create Key Pair, Derive Key, Re-key); `registered`: the client brought it (Register, Import). */
  readonly origin: 'generated' | 'registered';
  /** The client's attributes, already accepted by `checkCreationAttributes`. */
  readonly requested: readonly Item[];
  /**
   * The digests to record, the mandatory SHA-256 one over the default Key Format Type first, then
   * one per other format the client asked for. Empty or absent when the server has no value.
   */
  readonly digestOf?: readonly DigestSource[];
  /** The Key Format Type the key is held in (2.1 §4.26), for keys and Secret Data. */
  readonly keyFormatType?: number;
  /** False for a Register without a Key Value (2.1 §4.28); the attribute exists only then. */
  readonly keyValuePresent?: boolean;
  /** The generator that made a generated key, as a Random Number Generator structure; default RNG Algorithm Unspecified (§4.46). */
  readonly rng?: Item;
  /** Where the key is kept (2.1 §4.44, a Protection Storage Mask value): it SHALL always have a value. */
  readonly protectionStorageMask: number;
  /** The maximum lease the server grants for the object (2.1 §4.30); default `MAXIMUM_LEASE_TIME`. */
  readonly leaseTime?: number;
}

export interface ServerAttributes {
  readonly state: StateName;
  /** The server-set attributes, none of which the client's `requested` list already holds. */
  readonly attributes: Item[];
}

/**
 * Seconds: the longest lease kmipd serves for an object (also what Obtain Lease grants an object
 * without the attribute). 2.1 §4.30 (1.4 §3.20): "A server SHALL store
 * in this attribute the maximum Lease Time it is able to serve", implicitly set by Create, Create
 * Key Pair, Register, Derive Key, Certify, Re-certify, Re-key and Re-key Key Pair.
 */
export const MAXIMUM_LEASE_TIME = 3600;

function sha256(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

/** 2.1 §4.21: SHA-256 over the Key Material Byte String, or over the TTLV encoding of a Key Material structure. */
export function digest(source: DigestSource): Item {
  const { value } = source;
  if (value.type !== 'ByteString' && value.type !== 'Structure') {
    throw new KmipError('InvalidField', 'a Digest is computed over a Byte String or a Key Material structure');
  }
  const bytes = value.type === 'ByteString' ? value.value : encode(value);
  const children: Item[] = [item(Tag.HashingAlgorithm, 'Enumeration', Enum.HashingAlgorithm.SHA_256), item(Tag.DigestValue, 'ByteString', sha256(bytes))];
  if (source.keyFormatType !== undefined) children.push(item(Tag.KeyFormatType, 'Enumeration', source.keyFormatType));
  return structure(Tag.Digest, children);
}

const UNSPECIFIED_RNG = structure(Tag.RandomNumberGenerator, [item(Tag.RNGAlgorithm, 'Enumeration', Enum.RNGAlgorithm.Unspecified)]);

function booleanOf(attrs: readonly Item[], tag: number): boolean | undefined {
  const found = find(attrs, tag);
  return found?.type === 'Boolean' ? found.value : undefined;
}

/**
 * The attributes the server adds to a new object, and its first state. Defaults apply only where
 * the client gave nothing: Sensitive false (§4.55), Extractable true (§4.23), Fresh true (§4.24).
 * For a generated object the client's Random Number Generators were requirements, not values: the
 * one used is recorded (see `initialAttributes`).
 */
export function serverAttributes(input: CreationInput): ServerAttributes {
  const { requested, now } = input;
  const generated = input.origin === 'generated';
  const out: Item[] = [item(Tag.UniqueIdentifier, 'TextString', input.uid)];
  // 2.1 §4.56: SHOULD be the SHA-256 of the Unique Identifier, 32 bytes.
  out.push(item(Tag.ShortUniqueIdentifier, 'ByteString', sha256(Buffer.from(input.uid, 'utf8'))));

  const typeGiven = find(requested, Tag.ObjectType);
  if (typeGiven === undefined) out.push(item(Tag.ObjectType, 'Enumeration', Enum.ObjectType[input.objectType]));
  else if (typeGiven.type !== 'Enumeration' || typeGiven.value !== Enum.ObjectType[input.objectType]) {
    throw new KmipError('InvalidField', `the Object Type attribute does not match the ${input.objectType} being created`);
  }

  out.push(dateItem(Tag.InitialDate, now), dateItem(Tag.LastChangeDate, now));
  // 2.1 §4.38: the server sets it, equal to the Initial Date, for what it generates; a registering client may give it.
  if (generated) out.push(dateItem(Tag.OriginalCreationDate, now));

  const state = effectiveState({ state: 'PreActive', attributes: requested }, now);
  out.push(stateItem(state));

  if (generated || find(requested, Tag.Fresh) === undefined) out.push(item(Tag.Fresh, 'Boolean', true));
  if (input.keyValuePresent === false) out.push(item(Tag.KeyValuePresent, 'Boolean', false));
  if (input.keyFormatType !== undefined && find(requested, Tag.KeyFormatType) === undefined) {
    out.push(item(Tag.KeyFormatType, 'Enumeration', input.keyFormatType));
  }
  for (const source of input.digestOf ?? []) out.push(digest(source));
  if (generated) out.push(input.rng ?? UNSPECIFIED_RNG);

  // 2.1 §4.3, §4.33: Always Sensitive / Never Extractable follow the first Sensitive / Extractable values.
  const sensitive = booleanOf(requested, Tag.Sensitive);
  const extractable = booleanOf(requested, Tag.Extractable);
  if (sensitive === undefined) out.push(item(Tag.Sensitive, 'Boolean', false));
  if (extractable === undefined) out.push(item(Tag.Extractable, 'Boolean', true));
  out.push(item(Tag.AlwaysSensitive, 'Boolean', sensitive ?? false), item(Tag.NeverExtractable, 'Boolean', !(extractable ?? true)));

  out.push(item(Tag.LeaseTime, 'Interval', input.leaseTime ?? MAXIMUM_LEASE_TIME));
  out.push(item(Tag.ProtectionStorageMask, 'Integer', input.protectionStorageMask));
  return { state, attributes: out };
}

/** The new object's whole attribute list: what the client asked for (less RNG requirements for a generated key) and the server's. */
/**
 * KMIP 2.1 §4.59 Usage Limits: the client gives the Total (and Unit); the server sets the Count to
 * the Total and only Get Usage Allocation lowers it. So a Count from a client is replaced, and
 * once an allocation has been made (Count below Total) the attribute can no longer change or go.
 */
export function withFullUsageCount(attr: Item): Item {
  if (attr.tag !== Tag.UsageLimits || attr.type !== 'Structure') return attr;
  const total = attr.value.find((c) => c.tag === Tag.UsageLimitsTotal);
  if (total === undefined) return attr;
  const rest = attr.value.filter((c) => c.tag !== Tag.UsageLimitsTotal && c.tag !== Tag.UsageLimitsCount);
  return { ...attr, value: [total, { ...total, tag: Tag.UsageLimitsCount }, ...rest] };
}

export function initialAttributes(input: CreationInput): ServerAttributes {
  const server = serverAttributes(input);
  // 2.1 §4.59: a Usage Limits Count given at creation is ignored; the Count starts at the Total.
  const kept = (input.origin === 'generated' ? input.requested.filter((a) => a.tag !== Tag.RandomNumberGenerator) : input.requested).map(withFullUsageCount);
  return { state: server.state, attributes: [...kept, ...server.attributes] };
}

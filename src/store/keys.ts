/**
 * How an attribute instance is named and indexed in the `attributes` table. Each row keeps the
 * instance's canonical TTLV bytes (the truth) and up to two keys extracted from it for indexed
 * lookups: a text key and a numeric key. Pure functions; the SQL lives in repository.ts.
 */
import { createHash } from 'node:crypto';
import { Tag, type TagName } from '../kmip/registry.generated.js';
import type { Item, LeafItem } from '../ttlv/index.js';
import type { AttributeFilter, AttributeRef } from './types.js';

const tagNames = new Map<number, TagName>(Object.entries(Tag).map(([name, value]) => [value, name as TagName]));

/**
 * A tag as the `name` column holds it: its number in hex (`0x420053` for Name), not its registry
 * name, so a renamed or newly added registry entry never changes what is stored.
 */
function tagKey(tag: number): string {
  return `0x${tag.toString(16).toUpperCase().padStart(6, '0')}`;
}

/**
 * KMIP 2.1 §4.60: a vendor attribute is an `Attribute` structure {Vendor Identification,
 * Attribute Name, Attribute Value}. Vendor Identification is limited to [A-Za-z0-9_.], so
 * `vendor:name` cannot be confused with a tag or with another vendor's attribute.
 */
function vendorParts(it: Item): { vendor: string; name: string; value: Item | undefined } | undefined {
  if (it.type !== 'Structure' || it.tag !== Tag.Attribute) return undefined;
  const vendor = child(it.value, Tag.VendorIdentification);
  const name = child(it.value, Tag.AttributeName);
  if (vendor?.type !== 'TextString' || name?.type !== 'TextString') return undefined;
  return { vendor: vendor.value, name: name.value, value: child(it.value, Tag.AttributeValue) };
}

function child(children: Item[], tag: number): Item | undefined {
  return children.find((c) => c.tag === tag);
}

/** The `name` column of an attribute instance. */
export function attributeName(it: Item): string {
  const vendor = vendorParts(it);
  return vendor ? `${vendor.vendor}:${vendor.name}` : tagKey(it.tag);
}

export function refName(ref: AttributeRef): string {
  if (typeof ref === 'number') return tagKey(ref);
  if (typeof ref === 'string') return tagKey(Tag[ref]);
  return `${ref.vendor}:${ref.name}`;
}

/**
 * The fields that key a structured attribute: Locate by Name looks at NameValue, by Link at
 * LinkedObjectIdentifier (KMIP 2.1 §6.1.28 lets a request give only some of a structure's
 * fields). Structures not listed here are found by their whole encoding only.
 */
const STRUCTURE_KEYS: Partial<Record<TagName, { text?: number; num?: number }>> = {
  Name: { text: Tag.NameValue, num: Tag.NameType },
  Link: { text: Tag.LinkedObjectIdentifier, num: Tag.LinkType },
  AlternativeName: { text: Tag.AlternativeNameValue, num: Tag.AlternativeNameType },
  ApplicationSpecificInformation: { text: Tag.ApplicationNamespace },
  Digest: { num: Tag.HashingAlgorithm },
};

function structureKeys(it: Item): { text?: number; num?: number } | undefined {
  const name = tagNames.get(it.tag);
  return name === undefined ? undefined : STRUCTURE_KEYS[name];
}

/**
 * Text longer than this is indexed by its SHA-256 (PostgreSQL's b-tree refuses entries over
 * ~2.7 kB); equality still holds, since the query's text is reduced the same way.
 */
const MAX_TEXT_KEY = 256;

export function textKey(text: string): string {
  return text.length <= MAX_TEXT_KEY ? text : `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export interface IndexKeys {
  text: string | null;
  num: number | null;
}

function leafKeys(it: LeafItem): IndexKeys {
  switch (it.type) {
    case 'TextString':
      return { text: textKey(it.value), num: null };
    case 'Integer':
    case 'Enumeration':
    case 'Interval':
    case 'DateTime':
      return { text: null, num: it.value };
    case 'Boolean':
      return { text: null, num: it.value ? 1 : 0 };
    case 'LongInteger':
      return { text: null, num: safeNumber(it.value) };
    case 'DateTimeExtended':
      // Indexed in seconds, like Date-Time, so one date range finds both.
      return { text: null, num: safeNumber(it.value / 1_000_000n - (it.value < 0n && it.value % 1_000_000n !== 0n ? 1n : 0n)) };
    case 'BigInteger':
    case 'ByteString':
      return { text: null, num: null };
  }
}

function safeNumber(value: bigint): number | null {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : null;
}

const NO_KEYS: IndexKeys = { text: null, num: null };

/**
 * Attributes whose instances get no keys, so no index entries: each key is an entry in
 * attributes_text or attributes_num, and those entries were most of what a Create cost SQLite
 * (18 of a new AES key's 20 attributes had one; without these 11, 7 do).
 * None of them is worth an index scan: Unique Identifier, Object Type and State are columns of
 * `objects` with indexes of their own (Locate uses those: locate.ts, operations/locate.ts); the
 * others take two or a handful of values across a whole store (Sensitive, Fresh, Key Format Type,
 * Lease Time…), so an index on them could not narrow a Locate. Their instances are still matched
 * exactly, by their encoding, object by object (`equals`); `text`, `number`, ranges and masks,
 * which compare keys, match none of them.
 */
const UNINDEXED: ReadonlySet<number> = new Set([
  Tag.UniqueIdentifier,
  Tag.ObjectType,
  Tag.State,
  Tag.Sensitive,
  Tag.AlwaysSensitive,
  Tag.Extractable,
  Tag.NeverExtractable,
  Tag.Fresh,
  Tag.KeyFormatType,
  Tag.LeaseTime,
  Tag.ProtectionStorageMask,
]);

/** The indexed keys of one attribute instance (none for the attributes in UNINDEXED). */
export function indexKeys(it: Item): IndexKeys {
  if (UNINDEXED.has(it.tag)) return NO_KEYS;
  if (it.type !== 'Structure') return leafKeys(it);
  const vendor = vendorParts(it);
  if (vendor) return vendor.value ? indexKeys(vendor.value) : NO_KEYS;
  const keyTags = structureKeys(it);
  if (!keyTags) return NO_KEYS;
  const text = keyTags.text === undefined ? undefined : child(it.value, keyTags.text);
  const num = keyTags.num === undefined ? undefined : child(it.value, keyTags.num);
  return {
    text: text && text.type !== 'Structure' ? leafKeys(text).text : null,
    num: num && num.type !== 'Structure' ? leafKeys(num).num : null,
  };
}

/**
 * The filter for one attribute as a Locate request gives it. A leaf, a vendor attribute or a
 * full structure matches by its encoding; a structure that gives only key fields (Name with just
 * NameValue, Link with just LinkedObjectIdentifier) matches on those fields.
 */
export function filterFor(it: Item): AttributeFilter {
  const vendor = vendorParts(it);
  if (vendor) return { attribute: { vendor: vendor.vendor, name: vendor.name }, equals: it };
  const keyTags = structureKeys(it);
  if (it.type !== 'Structure' || !keyTags || !it.value.every((c) => c.tag === keyTags.text || c.tag === keyTags.num)) return { attribute: it.tag, equals: it };
  const keys = indexKeys(it);
  const filter: AttributeFilter = { attribute: it.tag };
  if (keys.text !== null) filter.text = keys.text;
  if (keys.num !== null) filter.number = keys.num;
  return filter;
}

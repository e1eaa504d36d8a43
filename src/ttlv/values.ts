/**
 * Leaf values as text, shared by the JSON and XML encodings (KMIP Profiles 2.1 §5.4–5.5 /
 * KMIP Additional Message Encodings 1.0 §4.1.5, §6.1.5): enumerations and masks by name
 * (unknown values as `0x` hex), Byte Strings and Big Integers as hex, Date-Times as ISO 8601.
 */
import { bigIntegerBytes } from './binary.js';
import { TtlvError } from './errors.js';
import { type Registry, hex32 } from './registry.js';
import type { ItemTypeName, LeafItem } from './types.js';

/** A symbolic value as used by the OASIS test cases: `$NOW`, `$NOW-3600`, `$KEY_MATERIAL_0`. */
const PLACEHOLDER = /^\$[A-Z][A-Z0-9_]*([+-]\d+)?$/;

export function isPlaceholder(text: string): boolean {
  return PLACEHOLDER.test(text);
}

/**
 * The text form of a leaf's value. `maskSeparator` is ' ' in XML and '|' in JSON; `nameTag` is
 * the tag whose enumeration or mask names the value (see Registry.siblingContext).
 */
export function formatValue(registry: Registry, it: LeafItem, maskSeparator: string, nameTag = it.tag): string {
  if (it.placeholder !== undefined) return it.placeholder;
  switch (it.type) {
    case 'Integer': {
      const mask = registry.tag(nameTag)?.mask;
      return mask ? formatMask(mask.bits, it.value, maskSeparator) : String(it.value);
    }
    case 'Enumeration':
      return registry.tag(nameTag)?.enumeration?.byValue.get(it.value) ?? hex32(it.value);
    case 'LongInteger':
    case 'Interval':
      return String(it.value);
    case 'BigInteger':
      return bigIntegerBytes(it.value).toString('hex');
    case 'Boolean':
      return it.value ? 'true' : 'false';
    case 'TextString':
      return it.value;
    case 'ByteString':
      return Buffer.from(it.value.buffer, it.value.byteOffset, it.value.byteLength).toString('hex');
    case 'DateTime':
      return formatDateTime(it.value);
    case 'DateTimeExtended':
      return formatDateTimeExtended(it.value);
  }
}

function formatMask(bits: readonly [number, string][], value: number, separator: string): string {
  const names: string[] = [];
  let rest = value >>> 0;
  for (const [bit, name] of bits) {
    if (bit !== 0 && (rest & bit) === bit) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) names.push(hex32(rest));
  return names.length > 0 ? names.join(separator) : '0';
}

/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the years ISO 8601 writes with four digits. */
const ISO_MIN_SECONDS = -62167219200;
const ISO_MAX_SECONDS = 253402300799;

/** A 64-bit value as `0x` and 16 hex digits, two's complement: how a Date-Time outside years 0–9999 is written. */
function hex64(value: bigint): string {
  return '0x' + BigInt.asUintN(64, value).toString(16).toUpperCase().padStart(16, '0');
}

function formatDateTime(seconds: number): string {
  if (seconds < ISO_MIN_SECONDS || seconds > ISO_MAX_SECONDS) return hex64(BigInt(seconds));
  const iso = new Date(seconds * 1000).toISOString();
  return iso.replace(/\.\d{3}Z$/, '+00:00');
}

function formatDateTimeExtended(micros: bigint): string {
  const seconds = micros / 1_000_000n - (micros < 0n && micros % 1_000_000n !== 0n ? 1n : 0n);
  if (seconds < BigInt(ISO_MIN_SECONDS) || seconds > BigInt(ISO_MAX_SECONDS)) return hex64(micros);
  const fraction = micros - seconds * 1_000_000n;
  return formatDateTime(Number(seconds)).replace('+00:00', `.${fraction.toString().padStart(6, '0')}+00:00`);
}

/** Mask names are joined by '|' in JSON and by spaces in XML; either is accepted on input. */
export const MASK_SEPARATOR = /[|\s]+/;

const HEX = /^0x[0-9a-fA-F]+$/;
const ISO = /^(\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

/**
 * Parses the text form of a leaf value. Every type also accepts `0x` hex of its binary value;
 * a `$PLACEHOLDER` becomes a placeholder item for the non-text types.
 */
export function parseValue(registry: Registry, tag: number, type: Exclude<ItemTypeName, 'Structure'>, text: string, offset: number, nameTag = tag): LeafItem {
  if (type !== 'TextString' && isPlaceholder(text)) {
    return placeholderItem(tag, type, text);
  }
  const bad = (why: string): TtlvError => new TtlvError('BAD_VALUE', `${registry.tagName(tag)}: ${why}: ${JSON.stringify(text.slice(0, 80))}`, offset);
  switch (type) {
    case 'TextString':
      return { tag, type, value: text };
    case 'Integer': {
      const mask = registry.tag(nameTag)?.mask;
      const value = mask && !/^-?\d+$/.test(text) && !HEX.test(text) ? parseMask(mask.byName, text, bad) : parseInteger(text, bad);
      if (value < -0x80000000 || value > 0xffffffff) throw bad('does not fit in 32 bits');
      return { tag, type, value: value > 0x7fffffff ? value - 0x100000000 : value };
    }
    case 'Enumeration': {
      const named = registry.tag(nameTag)?.enumeration?.byName.get(text);
      const value = named ?? (HEX.test(text) || /^\d+$/.test(text) ? parseInteger(text, bad) : undefined);
      if (value === undefined) throw new TtlvError('UNKNOWN_NAME', `${registry.tagName(tag)}: unknown enumeration value ${JSON.stringify(text)}`, offset);
      if (value < 0 || value > 0xffffffff) throw bad('does not fit in 32 bits');
      return { tag, type, value };
    }
    case 'Interval': {
      const value = parseInteger(text, bad);
      if (value < 0 || value > 0xffffffff) throw bad('an Interval is 0..2^32-1 seconds');
      return { tag, type, value };
    }
    case 'LongInteger':
    case 'DateTimeExtended': {
      if (type === 'DateTimeExtended' && ISO.test(text)) return { tag, type, value: parseIsoMicros(text, bad) };
      const value = HEX.test(text) ? signed64(BigInt(text), bad) : /^-?\d+$/.test(text) ? BigInt(text) : undefined;
      if (value === undefined) throw bad(`not a ${type}`);
      if (value < -(1n << 63n) || value >= 1n << 63n) throw bad('does not fit in 64 bits');
      return { tag, type, value } as LeafItem;
    }
    case 'BigInteger': {
      const digits = text.startsWith('0x') ? text.slice(2) : text;
      if (!/^[0-9a-fA-F]*$/.test(digits) || digits.length % 2 !== 0) throw bad('a Big Integer is written as hex');
      if (digits.length === 0) return { tag, type, value: 0n };
      let value = BigInt('0x' + digits);
      if (Number.parseInt(digits[0]!, 16) >= 8) value -= 1n << BigInt(digits.length * 4);
      return { tag, type, value };
    }
    case 'Boolean':
      if (text === 'true' || text === '0x0000000000000001') return { tag, type, value: true };
      if (text === 'false' || text === '0x0000000000000000') return { tag, type, value: false };
      throw bad('a Boolean is true or false');
    case 'ByteString': {
      const digits = text.startsWith('0x') ? text.slice(2) : text;
      if (!/^[0-9a-fA-F]*$/.test(digits) || digits.length % 2 !== 0) throw bad('a Byte String is written as hex');
      return { tag, type, value: Buffer.from(digits, 'hex') };
    }
    case 'DateTime': {
      if (HEX.test(text)) {
        const value = signed64(BigInt(text), bad);
        if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw bad('Date-Time beyond ±2^53 seconds');
        return { tag, type, value: Number(value) };
      }
      if (!ISO.test(text)) throw bad('a Date-Time is ISO 8601 with a UTC offset, e.g. 2024-01-31T12:00:00+00:00');
      return { tag, type, value: Number(parseIsoMicros(text, bad) / 1_000_000n) };
    }
  }
}

function placeholderItem(tag: number, type: Exclude<ItemTypeName, 'Structure' | 'TextString'>, placeholder: string): LeafItem {
  const zero: Record<typeof type, LeafItem['value']> = {
    Integer: 0,
    LongInteger: 0n,
    BigInteger: 0n,
    Enumeration: 0,
    Boolean: false,
    ByteString: new Uint8Array(0),
    DateTime: 0,
    Interval: 0,
    DateTimeExtended: 0n,
  };
  return { tag, type, value: zero[type], placeholder } as LeafItem;
}

function parseInteger(text: string, bad: (why: string) => TtlvError): number {
  if (HEX.test(text)) {
    if (text.length > 10) throw bad('more than 8 hex digits');
    return Number.parseInt(text, 16);
  }
  if (!/^-?\d+$/.test(text)) throw bad('not a whole number');
  return Number(text);
}

function signed64(unsigned: bigint, bad: (why: string) => TtlvError): bigint {
  if (unsigned >= 1n << 64n) throw bad('more than 16 hex digits');
  return unsigned >= 1n << 63n ? unsigned - (1n << 64n) : unsigned;
}

function parseMask(byName: ReadonlyMap<string, number>, text: string, bad: (why: string) => TtlvError): number {
  let value = 0;
  for (const part of text.split(MASK_SEPARATOR)) {
    if (part === '') continue;
    const bit = byName.get(part) ?? (HEX.test(part) ? parseInteger(part, bad) : undefined);
    if (bit === undefined) throw bad(`unknown mask name ${JSON.stringify(part)}`);
    value = (value | bit) >>> 0;
  }
  return value;
}

/** ISO 8601 with an explicit offset → microseconds since the epoch (sub-microsecond digits refused). */
function parseIsoMicros(text: string, bad: (why: string) => TtlvError): bigint {
  const m = ISO.exec(text)!;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  // Not Date.UTC: it reads years 0–99 as 1900–1999.
  const check = new Date(0);
  check.setUTCFullYear(Number(y), Number(mo) - 1, Number(d));
  check.setUTCHours(Number(h), Number(mi), Number(s), 0);
  const ms = check.getTime();
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(d) || check.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw bad('not a calendar date and time');
  }
  let offsetSeconds = 0;
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    offsetSeconds = sign * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  }
  const digits = (frac ?? '.').slice(1);
  if (/[1-9]/.test(digits.slice(6))) throw bad('finer than a microsecond');
  const micros = BigInt(digits.slice(0, 6).padEnd(6, '0'));
  return (BigInt(ms / 1000) - BigInt(offsetSeconds)) * 1_000_000n + micros;
}

/**
 * Binary TTLV, KMIP 2.1 §10.1: strict decode and encode of one item tree.
 * Every item is an 8-byte header (tag 3, type 1, length 4, big-endian) and a value padded
 * with zero bytes to a multiple of 8. Structures' lengths count their children with padding.
 */
import { isUtf8 } from 'node:buffer';
import { TtlvError } from './errors.js';
import { type Item, type ItemTypeName, ItemType, MAX_TAG, itemTypeName } from './types.js';

export const HEADER_LENGTH = 8;
export const DEFAULT_MAX_DEPTH = 64;

/** Fixed value lengths (KMIP 2.1 Table 427); the variable-length types are absent. */
const FIXED_LENGTH: Partial<Record<ItemTypeName, number>> = {
  Integer: 4,
  LongInteger: 8,
  Enumeration: 4,
  Boolean: 8,
  DateTime: 8,
  Interval: 4,
  DateTimeExtended: 8,
};

/** FIXED_LENGTH indexed by type code, 0 for the variable-length types: a lookup per item. */
const FIXED_BY_CODE: readonly number[] = Array.from({ length: 256 }, (_, code) => {
  const name = itemTypeName(code);
  return name === undefined ? 0 : (FIXED_LENGTH[name] ?? 0);
});

export interface DecodeOptions {
  /** Structures nested deeper than this are refused (the top-level item is depth 1). */
  maxDepth?: number;
}

/**
 * The length rounded up to a multiple of 8. Plain arithmetic, not `(length + 7) & ~7`: lengths
 * are 32-bit unsigned and bitwise operators would wrap those ≥ 2^31 to negative values.
 */
const padded = (length: number): number => length + ((8 - (length % 8)) % 8);

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Node's Buffer has latin1Slice/utf8Write methods (what toString('latin1')/write(…, 'utf8') call),
 * without the argument checking that costs as much as the work for short strings. They are not in
 * @types/node, so they are looked up once, with the public calls as a fallback.
 */
interface NodeBufferMethods {
  latin1Slice(start: number, end: number): string;
  utf8Write(text: string, offset: number, length: number): number;
}
const bufferProto = Buffer.prototype as Buffer & Partial<NodeBufferMethods>;
const latin1Slice: (buf: Buffer, start: number, end: number) => string =
  typeof bufferProto.latin1Slice === 'function'
    ? (buf, start, end) => (buf as Buffer & NodeBufferMethods).latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end);
const utf8Write: (buf: Buffer, text: string, offset: number, length: number) => number =
  typeof bufferProto.utf8Write === 'function'
    ? (buf, text, offset, length) => (buf as Buffer & NodeBufferMethods).utf8Write(text, offset, length)
    : (buf, text, offset, length) => buf.write(text, offset, length, 'utf8');

/** Text up to this many bytes is checked for ASCII in JS; longer text goes to Node's UTF-8 routines at once. */
const SHORT_TEXT = 64;
/** Text up to this many UTF-16 units is encoded without measuring it first (see Writer.text). */
const MEASURE_TEXT_OVER = 4096;

/** Decodes exactly one item spanning the whole input; anything after it is an error. */
export function decode(bytes: Uint8Array, options: DecodeOptions = {}): Item {
  const buf = asBuffer(bytes);
  const decoder = new Decoder(buf, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const root = decoder.item(0, buf.length, 1);
  const next = decoder.next;
  if (next !== buf.length) {
    throw new TtlvError('TRAILING', `${buf.length - next} bytes after the top-level item`, next);
  }
  return root;
}

class Decoder {
  /** The offset after the padding of the item `item` last returned. */
  next = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly maxDepth: number,
  ) {}

  /** Decodes the item at `offset`, which must end by `end`; sets `next` to the offset after its padding. */
  item(offset: number, end: number, depth: number): Item {
    const buf = this.buf;
    if (end - offset < HEADER_LENGTH) {
      throw new TtlvError('TRUNCATED', `an item header needs 8 bytes, ${end - offset} remain`, offset);
    }
    const tag = (buf[offset]! << 16) | (buf[offset + 1]! << 8) | buf[offset + 2]!;
    const typeCode = buf[offset + 3]!;
    const type = itemTypeName(typeCode);
    if (type === undefined) {
      throw new TtlvError('UNKNOWN_TYPE', `unknown item type 0x${hex2(typeCode)} for tag 0x${tag.toString(16)}`, offset + 3);
    }
    const length = buf[offset + 4]! * 0x1000000 + ((buf[offset + 5]! << 16) | (buf[offset + 6]! << 8) | buf[offset + 7]!);
    const start = offset + HEADER_LENGTH;
    const fixed = FIXED_BY_CODE[typeCode]!;
    if (fixed !== 0 && length !== fixed) {
      throw new TtlvError('BAD_LENGTH', `${type} must have length ${fixed}, not ${length}`, offset + 4);
    }
    if ((typeCode === STRUCTURE || typeCode === BIG_INTEGER) && length % 8 !== 0) {
      throw new TtlvError('BAD_LENGTH', `${type} length ${length} is not a multiple of 8`, offset + 4);
    }
    const stop = start + padded(length);
    if (stop > end) {
      throw new TtlvError('OVERRUN', `${type} of length ${length} runs ${stop - end} bytes past its container`, offset + 4);
    }
    for (let i = start + length; i < stop; i++) {
      if (buf[i] !== 0) throw new TtlvError('BAD_PADDING', 'non-zero padding byte', i);
    }
    const it = this.value(tag, typeCode, start, length, depth);
    this.next = stop;
    return it;
  }

  private value(tag: number, typeCode: number, start: number, length: number, depth: number): Item {
    const buf = this.buf;
    switch (typeCode) {
      case STRUCTURE: {
        if (depth >= this.maxDepth) {
          throw new TtlvError('TOO_DEEP', `structures nested deeper than ${this.maxDepth}`, start - HEADER_LENGTH);
        }
        const children: Item[] = [];
        const end = start + length;
        let at = start;
        while (at < end) {
          children.push(this.item(at, end, depth + 1));
          at = this.next;
        }
        return { tag, type: 'Structure', value: children };
      }
      case ItemType.Integer:
        return { tag, type: 'Integer', value: buf.readInt32BE(start) };
      case ItemType.Enumeration:
        return { tag, type: 'Enumeration', value: buf.readUInt32BE(start) };
      case ItemType.Interval:
        return { tag, type: 'Interval', value: buf.readUInt32BE(start) };
      case ItemType.LongInteger:
        return { tag, type: 'LongInteger', value: buf.readBigInt64BE(start) };
      case ItemType.DateTimeExtended:
        return { tag, type: 'DateTimeExtended', value: buf.readBigInt64BE(start) };
      case ItemType.DateTime: {
        const high = buf.readInt32BE(start);
        const low = buf.readUInt32BE(start + 4);
        // Seconds are kept as a JS number: a safe integer, as the encoder requires. Beyond ±(2^53 - 1) s
        // (285 million years) is refused, not rounded.
        if (high >= 0x200000 || high < -0x200000 || (high === -0x200000 && low === 0)) {
          throw new TtlvError('OUT_OF_RANGE', 'Date-Time beyond ±2^53 seconds', start);
        }
        return { tag, type: 'DateTime', value: high * 0x100000000 + low };
      }
      case ItemType.Boolean: {
        if (buf.readUInt32BE(start) !== 0 || buf[start + 7]! > 1 || buf.readUInt16BE(start + 4) !== 0 || buf[start + 6] !== 0) {
          throw new TtlvError('BAD_BOOLEAN', 'a Boolean must be 0 or 1', start);
        }
        return { tag, type: 'Boolean', value: buf[start + 7] === 1 };
      }
      case ItemType.TextString:
        return { tag, type: 'TextString', value: this.text(start, length) };
      case ItemType.ByteString:
        // A copy, so the tree never pins (or exposes) the socket's receive buffer.
        return { tag, type: 'ByteString', value: Buffer.from(buf.subarray(start, start + length)) };
      default: // ItemType.BigInteger, the one code left
        return { tag, type: 'BigInteger', value: readBigInteger(buf, start, length) };
    }
  }

  /** A Text String's value: strict UTF-8, with a fast path for short ASCII (identifiers, names). */
  private text(start: number, length: number): string {
    const buf = this.buf;
    const end = start + length;
    if (length <= SHORT_TEXT) {
      let i = start;
      while (i < end && buf[i]! < 0x80) i++;
      if (i === end) return latin1Slice(buf, start, end);
    }
    const bytes = buf.subarray(start, end);
    if (!isUtf8(bytes)) throw new TtlvError('BAD_UTF8', 'Text String is not valid UTF-8', start);
    return bytes.toString('utf8');
  }
}

const STRUCTURE = ItemType.Structure;
const BIG_INTEGER = ItemType.BigInteger;

/** Two's-complement big-endian bytes → bigint. */
function readBigInteger(buf: Buffer, start: number, length: number): bigint {
  if (length === 0) return 0n;
  let value = BigInt('0x' + buf.toString('hex', start, start + length));
  if (buf[start]! & 0x80) value -= 1n << BigInt(length * 8);
  return value;
}

/** bigint → two's-complement big-endian, sign-extended to the minimal multiple of 8 bytes (§10.1.2). */
export function bigIntegerBytes(value: bigint): Buffer {
  let bytes = 8;
  // The smallest multiple of 8 bytes whose signed range holds the value.
  while (value >= 1n << BigInt(bytes * 8 - 1) || value < -(1n << BigInt(bytes * 8 - 1))) bytes += 8;
  const unsigned = value < 0n ? (1n << BigInt(bytes * 8)) + value : value;
  return Buffer.from(unsigned.toString(16).padStart(bytes * 2, '0'), 'hex');
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/**
 * The encoder writes into one scratch buffer, reused from call to call (encoding is synchronous),
 * and copies the result out at its exact size: no growth-and-copy per message. A scratch buffer
 * grown past SCRATCH_KEEP for a big message is dropped afterwards rather than kept.
 */
const SCRATCH_INITIAL = 16 * 1024;
const SCRATCH_KEEP = 1024 * 1024;
let scratch: Buffer = Buffer.allocUnsafeSlow(SCRATCH_INITIAL);

/** Encodes one item tree to binary TTLV. Values out of their type's range are refused. */
export function encode(root: Item): Buffer {
  const writer = new Writer(scratch);
  try {
    writer.item(root);
    return writer.finish();
  } finally {
    scratch = writer.buf.length <= SCRATCH_KEEP ? writer.buf : Buffer.allocUnsafeSlow(SCRATCH_INITIAL);
  }
}

class Writer {
  private at = 0;

  constructor(public buf: Buffer) {}

  /** A copy of what was written, exactly its size (from Node's pool when small, like any Buffer). */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.at);
    this.buf.copy(out, 0, 0, this.at);
    return out;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = Buffer.allocUnsafeSlow(size);
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  /** Writes the 8-byte header (room for the padded value reserved) and returns the offset of its length field. */
  private header(tag: number, typeCode: number, length: number): number {
    if (!Number.isInteger(tag) || tag < 0 || tag > MAX_TAG) {
      throw new TtlvError('OUT_OF_RANGE', `tag ${tag} does not fit in 3 bytes`, this.at);
    }
    this.reserve(HEADER_LENGTH + padded(length));
    const buf = this.buf;
    const at = this.at;
    buf[at] = tag >>> 16;
    buf[at + 1] = tag >>> 8;
    buf[at + 2] = tag;
    buf[at + 3] = typeCode;
    writeU32(buf, at + 4, length);
    this.at = at + HEADER_LENGTH;
    return at + 4;
  }

  /** Zero-fills from the current position up to the next multiple of 8. */
  private pad(): void {
    const buf = this.buf;
    let at = this.at;
    while (at % 8 !== 0) buf[at++] = 0;
    this.at = at;
  }

  item(it: Item): void {
    const placeholder = (it as { placeholder?: string }).placeholder;
    if (placeholder !== undefined) {
      throw new TtlvError('UNRESOLVED_PLACEHOLDER', `placeholder ${placeholder} cannot be encoded as ${it.type}`, this.at);
    }
    switch (it.type) {
      case 'Structure': {
        const lengthAt = this.header(it.tag, ItemType.Structure, 0);
        const start = this.at;
        const children = it.value;
        for (let i = 0; i < children.length; i++) this.item(children[i]!);
        writeU32(this.buf, lengthAt, this.at - start);
        return;
      }
      case 'Integer':
        this.int32(it.tag, ItemType.Integer, it.type, it.value, INT32_MIN, INT32_MAX);
        return;
      case 'Enumeration':
        this.int32(it.tag, ItemType.Enumeration, it.type, it.value, 0, UINT32_MAX);
        return;
      case 'Interval':
        this.int32(it.tag, ItemType.Interval, it.type, it.value, 0, UINT32_MAX);
        return;
      case 'LongInteger':
      case 'DateTimeExtended':
        if (it.value < INT64_MIN || it.value > INT64_MAX) {
          throw new TtlvError('OUT_OF_RANGE', `${it.type} ${it.value} does not fit in 64 bits`, this.at);
        }
        this.header(it.tag, ItemType[it.type], 8);
        this.buf.writeBigInt64BE(it.value, this.at);
        this.at += 8;
        return;
      case 'DateTime': {
        if (!Number.isSafeInteger(it.value)) {
          throw new TtlvError('OUT_OF_RANGE', `Date-Time ${it.value} is not a whole number of seconds within ±2^53`, this.at);
        }
        this.header(it.tag, ItemType.DateTime, 8);
        writeU32(this.buf, this.at, Math.floor(it.value / 0x100000000));
        writeU32(this.buf, this.at + 4, it.value >>> 0);
        this.at += 8;
        return;
      }
      case 'Boolean': {
        this.header(it.tag, ItemType.Boolean, 8);
        const buf = this.buf;
        const at = this.at;
        for (let i = 0; i < 7; i++) buf[at + i] = 0;
        buf[at + 7] = it.value ? 1 : 0;
        this.at = at + 8;
        return;
      }
      case 'TextString':
        this.text(it.tag, it.value);
        return;
      case 'ByteString':
        this.bytes(it.tag, ItemType.ByteString, it.value);
        return;
      case 'BigInteger':
        this.bytes(it.tag, ItemType.BigInteger, bigIntegerBytes(it.value));
        return;
    }
  }

  private int32(tag: number, typeCode: number, type: ItemTypeName, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TtlvError('OUT_OF_RANGE', `${type} ${value} is outside ${min}..${max}`, this.at);
    }
    this.header(tag, typeCode, 4);
    const buf = this.buf;
    const at = this.at;
    writeU32(buf, at, value); // two's complement for negative Integers: the low 32 bits
    buf[at + 4] = 0;
    buf[at + 5] = 0;
    buf[at + 6] = 0;
    buf[at + 7] = 0;
    this.at = at + 8;
  }

  /**
   * UTF-8 (a lone surrogate becomes U+FFFD, as Buffer.byteLength counts it). A UTF-16 unit is at
   * most 3 UTF-8 bytes, so text that is not huge is written straight into room for 3 bytes a unit
   * and its length filled in after: one pass over the string instead of two.
   */
  private text(tag: number, value: string): void {
    const n = value.length;
    if (n <= MEASURE_TEXT_OVER) {
      const lengthAt = this.header(tag, ItemType.TextString, n * 3);
      const written = utf8Write(this.buf, value, this.at, n * 3);
      writeU32(this.buf, lengthAt, written);
      this.at += written;
      this.pad();
      return;
    }
    const length = Buffer.byteLength(value, 'utf8');
    this.header(tag, ItemType.TextString, length);
    this.at += utf8Write(this.buf, value, this.at, length);
    this.pad();
  }

  private bytes(tag: number, typeCode: number, value: Uint8Array): void {
    this.header(tag, typeCode, value.length);
    this.buf.set(value, this.at);
    this.at += value.length;
    this.pad();
  }
}

/** Big-endian 32-bit store of the value's low 32 bits (typed-array stores keep the low 8 bits of each). */
function writeU32(buf: Buffer, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = value >>> 16;
  buf[at + 2] = value >>> 8;
  buf[at + 3] = value;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

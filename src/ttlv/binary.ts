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

/** Decodes exactly one item spanning the whole input; anything after it is an error. */
export function decode(bytes: Uint8Array, options: DecodeOptions = {}): Item {
  const buf = asBuffer(bytes);
  const decoder = new Decoder(buf, options.maxDepth ?? DEFAULT_MAX_DEPTH);
  const [root, next] = decoder.item(0, buf.length, 1);
  if (next !== buf.length) {
    throw new TtlvError('TRAILING', `${buf.length - next} bytes after the top-level item`, next);
  }
  return root;
}

class Decoder {
  constructor(
    private readonly buf: Buffer,
    private readonly maxDepth: number,
  ) {}

  /** Decodes the item at `offset`, which must end by `end`; returns it and the offset after its padding. */
  item(offset: number, end: number, depth: number): [Item, number] {
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
    const length = buf.readUInt32BE(offset + 4);
    const start = offset + HEADER_LENGTH;
    const fixed = FIXED_LENGTH[type];
    if (fixed !== undefined && length !== fixed) {
      throw new TtlvError('BAD_LENGTH', `${type} must have length ${fixed}, not ${length}`, offset + 4);
    }
    if ((type === 'Structure' || type === 'BigInteger') && length % 8 !== 0) {
      throw new TtlvError('BAD_LENGTH', `${type} length ${length} is not a multiple of 8`, offset + 4);
    }
    const stop = start + padded(length);
    if (stop > end) {
      throw new TtlvError('OVERRUN', `${type} of length ${length} runs ${stop - end} bytes past its container`, offset + 4);
    }
    for (let i = start + length; i < stop; i++) {
      if (buf[i] !== 0) throw new TtlvError('BAD_PADDING', 'non-zero padding byte', i);
    }
    return [this.value(tag, type, start, length, depth), stop];
  }

  private value(tag: number, type: ItemTypeName, start: number, length: number, depth: number): Item {
    const buf = this.buf;
    switch (type) {
      case 'Structure': {
        if (depth >= this.maxDepth) {
          throw new TtlvError('TOO_DEEP', `structures nested deeper than ${this.maxDepth}`, start - HEADER_LENGTH);
        }
        const children: Item[] = [];
        const end = start + length;
        let at = start;
        while (at < end) {
          const [child, next] = this.item(at, end, depth + 1);
          children.push(child);
          at = next;
        }
        return { tag, type, value: children };
      }
      case 'Integer':
        return { tag, type, value: buf.readInt32BE(start) };
      case 'Enumeration':
        return { tag, type, value: buf.readUInt32BE(start) };
      case 'Interval':
        return { tag, type, value: buf.readUInt32BE(start) };
      case 'LongInteger':
        return { tag, type, value: buf.readBigInt64BE(start) };
      case 'DateTimeExtended':
        return { tag, type, value: buf.readBigInt64BE(start) };
      case 'DateTime': {
        const high = buf.readInt32BE(start);
        const low = buf.readUInt32BE(start + 4);
        // Seconds are kept as a JS number: a safe integer, as the encoder requires. Beyond ±(2^53 - 1) s
        // (285 million years) is refused, not rounded.
        if (high >= 0x200000 || high < -0x200000 || (high === -0x200000 && low === 0)) {
          throw new TtlvError('OUT_OF_RANGE', 'Date-Time beyond ±2^53 seconds', start);
        }
        return { tag, type, value: high * 0x100000000 + low };
      }
      case 'Boolean': {
        if (buf.readUInt32BE(start) !== 0 || buf[start + 7]! > 1 || buf.readUInt16BE(start + 4) !== 0 || buf[start + 6] !== 0) {
          throw new TtlvError('BAD_BOOLEAN', 'a Boolean must be 0 or 1', start);
        }
        return { tag, type, value: buf[start + 7] === 1 };
      }
      case 'TextString': {
        const bytes = buf.subarray(start, start + length);
        if (!isUtf8(bytes)) throw new TtlvError('BAD_UTF8', 'Text String is not valid UTF-8', start);
        return { tag, type, value: bytes.toString('utf8') };
      }
      case 'ByteString':
        // A copy, so the tree never pins (or exposes) the socket's receive buffer.
        return { tag, type, value: Buffer.from(buf.subarray(start, start + length)) };
      case 'BigInteger':
        return { tag, type, value: readBigInteger(buf, start, length) };
    }
  }
}

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

/** Encodes one item tree to binary TTLV. Values out of their type's range are refused. */
export function encode(root: Item): Buffer {
  const writer = new Writer();
  writer.item(root);
  return writer.finish();
}

class Writer {
  private buf = Buffer.allocUnsafe(1024);
  private at = 0;

  finish(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.at + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  /** Writes the 8-byte header and returns the offset of its length field. */
  private header(tag: number, type: ItemTypeName, length: number): number {
    if (!Number.isInteger(tag) || tag < 0 || tag > MAX_TAG) {
      throw new TtlvError('OUT_OF_RANGE', `tag ${tag} does not fit in 3 bytes`, this.at);
    }
    this.reserve(HEADER_LENGTH + padded(length));
    const buf = this.buf;
    const at = this.at;
    buf[at] = tag >>> 16;
    buf[at + 1] = (tag >>> 8) & 0xff;
    buf[at + 2] = tag & 0xff;
    buf[at + 3] = ItemType[type];
    buf.writeUInt32BE(length, at + 4);
    this.at = at + HEADER_LENGTH;
    return at + 4;
  }

  /** Zero-fills from the current position up to the next multiple of 8. */
  private pad(): void {
    const end = padded(this.at);
    this.buf.fill(0, this.at, end);
    this.at = end;
  }

  item(it: Item): void {
    if ('placeholder' in it && it.placeholder !== undefined) {
      throw new TtlvError('UNRESOLVED_PLACEHOLDER', `placeholder ${it.placeholder} cannot be encoded as ${it.type}`, this.at);
    }
    switch (it.type) {
      case 'Structure': {
        const lengthAt = this.header(it.tag, 'Structure', 0);
        const start = this.at;
        for (const child of it.value) this.item(child);
        this.buf.writeUInt32BE(this.at - start, lengthAt);
        return;
      }
      case 'Integer':
        this.int32(it.tag, it.type, it.value, INT32_MIN, INT32_MAX);
        return;
      case 'Enumeration':
      case 'Interval':
        this.int32(it.tag, it.type, it.value, 0, UINT32_MAX);
        return;
      case 'LongInteger':
      case 'DateTimeExtended':
        if (it.value < INT64_MIN || it.value > INT64_MAX) {
          throw new TtlvError('OUT_OF_RANGE', `${it.type} ${it.value} does not fit in 64 bits`, this.at);
        }
        this.header(it.tag, it.type, 8);
        this.buf.writeBigInt64BE(it.value, this.at);
        this.at += 8;
        return;
      case 'DateTime': {
        if (!Number.isSafeInteger(it.value)) {
          throw new TtlvError('OUT_OF_RANGE', `Date-Time ${it.value} is not a whole number of seconds within ±2^53`, this.at);
        }
        this.header(it.tag, it.type, 8);
        this.buf.writeInt32BE(Math.floor(it.value / 0x100000000), this.at);
        this.buf.writeUInt32BE(it.value >>> 0, this.at + 4);
        this.at += 8;
        return;
      }
      case 'Boolean':
        this.header(it.tag, it.type, 8);
        this.buf.fill(0, this.at, this.at + 7);
        this.buf[this.at + 7] = it.value ? 1 : 0;
        this.at += 8;
        return;
      case 'TextString': {
        const length = Buffer.byteLength(it.value, 'utf8');
        this.header(it.tag, it.type, length);
        this.at += this.buf.write(it.value, this.at, 'utf8');
        this.pad();
        return;
      }
      case 'ByteString':
        this.bytes(it.tag, it.type, it.value);
        return;
      case 'BigInteger':
        this.bytes(it.tag, it.type, bigIntegerBytes(it.value));
        return;
    }
  }

  private int32(tag: number, type: ItemTypeName, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new TtlvError('OUT_OF_RANGE', `${type} ${value} is outside ${min}..${max}`, this.at);
    }
    this.header(tag, type, 4);
    if (min < 0) this.buf.writeInt32BE(value, this.at);
    else this.buf.writeUInt32BE(value, this.at);
    this.buf.writeUInt32BE(0, this.at + 4);
    this.at += 8;
  }

  private bytes(tag: number, type: ItemTypeName, value: Uint8Array): void {
    this.header(tag, type, value.length);
    this.buf.set(value, this.at);
    this.at += value.length;
    this.pad();
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/**
 * Golden TTLV vectors, written as the specification prints them (`42 00 20 | 02 | …`).
 * Each names its source; each is checked both ways (decode and encode) and through the frame
 * reader split at every offset.
 */
import { type Item, structure } from '../../src/ttlv/index.js';

export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/[^0-9a-fA-F]/g, ''), 'hex');
}

export interface Vector {
  name: string;
  source: string;
  bytes: Buffer;
  item: Item;
}

const SPEC_14 = 'KMIP 1.4 §9.1.2 Examples';
const TAG = 0x420020;

export const itemVectors: Vector[] = [
  {
    name: 'Integer 8',
    source: SPEC_14,
    bytes: hex('42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00'),
    item: { tag: TAG, type: 'Integer', value: 8 },
  },
  {
    name: 'Long Integer 123456789000000000',
    source: SPEC_14,
    bytes: hex('42 00 20 | 03 | 00 00 00 08 | 01 B6 9B 4B A5 74 92 00'),
    item: { tag: TAG, type: 'LongInteger', value: 123456789000000000n },
  },
  {
    name: 'Big Integer 1234567890000000000000000000 (sign-extended to 16 bytes)',
    source: SPEC_14,
    bytes: hex('42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 03 FD 35 EB 6B C2 DF 46 18 08 00 00'),
    item: { tag: TAG, type: 'BigInteger', value: 1234567890000000000000000000n },
  },
  {
    name: 'Enumeration 255',
    source: SPEC_14,
    bytes: hex('42 00 20 | 05 | 00 00 00 04 | 00 00 00 FF 00 00 00 00'),
    item: { tag: TAG, type: 'Enumeration', value: 255 },
  },
  {
    name: 'Boolean true',
    source: SPEC_14,
    bytes: hex('42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 01'),
    item: { tag: TAG, type: 'Boolean', value: true },
  },
  {
    name: 'Text String "Hello World" (11 bytes, 5 of padding)',
    source: SPEC_14,
    bytes: hex('42 00 20 | 07 | 00 00 00 0B | 48 65 6C 6C 6F 20 57 6F 72 6C 64 00 00 00 00 00'),
    item: { tag: TAG, type: 'TextString', value: 'Hello World' },
  },
  {
    name: 'Byte String 01 02 03 (5 bytes of padding)',
    source: SPEC_14,
    bytes: hex('42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00'),
    item: { tag: TAG, type: 'ByteString', value: Buffer.from([1, 2, 3]) },
  },
  {
    name: 'Date-Time Friday, March 14, 2008, 11:56:40 GMT',
    source: SPEC_14,
    bytes: hex('42 00 20 | 09 | 00 00 00 08 | 00 00 00 00 47 DA 67 F8'),
    item: { tag: TAG, type: 'DateTime', value: Date.UTC(2008, 2, 14, 11, 56, 40) / 1000 },
  },
  {
    name: 'Interval of 10 days',
    source: SPEC_14,
    bytes: hex('42 00 20 | 0A | 00 00 00 04 | 00 0D 2F 00 00 00 00 00'),
    item: { tag: TAG, type: 'Interval', value: 864000 },
  },
  {
    name: 'Structure of an Enumeration 254 and an Integer 255',
    source: SPEC_14,
    bytes: hex(
      '42 00 20 | 01 | 00 00 00 20 | 42 00 04 | 05 | 00 00 00 04 | 00 00 00 FE 00 00 00 00 | 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00',
    ),
    item: structure(TAG, [
      { tag: 0x420004, type: 'Enumeration', value: 254 },
      { tag: 0x420005, type: 'Integer', value: 255 },
    ]),
  },
  // Types and padding cases the spec's examples do not show.
  {
    name: 'Date-Time Extended 1 microsecond after the epoch',
    source: 'KMIP 2.1 §10.1.2 (signed 64-bit microseconds)',
    bytes: hex('42 00 20 | 0B | 00 00 00 08 | 00 00 00 00 00 00 00 01'),
    item: { tag: TAG, type: 'DateTimeExtended', value: 1n },
  },
  {
    name: 'Integer -1 (two’s complement)',
    source: 'KMIP 2.1 §10.1.2',
    bytes: hex('42 00 20 | 02 | 00 00 00 04 | FF FF FF FF 00 00 00 00'),
    item: { tag: TAG, type: 'Integer', value: -1 },
  },
  {
    name: 'Big Integer -1 (sign-extended with FF)',
    source: 'KMIP 2.1 §10.1.2',
    bytes: hex('42 00 20 | 04 | 00 00 00 08 | FF FF FF FF FF FF FF FF'),
    item: { tag: TAG, type: 'BigInteger', value: -1n },
  },
  {
    name: 'Big Integer 2^63 needs a second 8-byte block for its sign',
    source: 'KMIP 2.1 §10.1.2',
    bytes: hex('42 00 20 | 04 | 00 00 00 10 | 00 00 00 00 00 00 00 00 80 00 00 00 00 00 00 00'),
    item: { tag: TAG, type: 'BigInteger', value: 1n << 63n },
  },
  {
    name: 'empty Text String (no value, no padding)',
    source: 'KMIP 2.1 §10.1.5',
    bytes: hex('42 00 20 | 07 | 00 00 00 00'),
    item: { tag: TAG, type: 'TextString', value: '' },
  },
  {
    name: 'Byte String of exactly 8 bytes (no padding)',
    source: 'KMIP 2.1 §10.1.5',
    bytes: hex('42 00 20 | 08 | 00 00 00 08 | 01 02 03 04 05 06 07 08'),
    item: { tag: TAG, type: 'ByteString', value: hex('0102030405060708') },
  },
  {
    name: 'Text String of multi-byte UTF-8 ("é€" is 5 bytes)',
    source: 'KMIP 2.1 §10.1.2 (RFC 3629)',
    bytes: hex('42 00 20 | 07 | 00 00 00 05 | C3 A9 E2 82 AC 00 00 00'),
    item: { tag: TAG, type: 'TextString', value: 'é€' },
  },
  {
    name: 'empty Structure',
    source: 'KMIP 2.1 §10.1.3',
    bytes: hex('42 00 20 | 01 | 00 00 00 00'),
    item: structure(TAG, []),
  },
  {
    name: 'unknown extension tag 0x540001 round-trips by number',
    source: 'KMIP 2.1 §11.56 (extension tags start 0x54)',
    bytes: hex('54 00 01 | 02 | 00 00 00 04 | 00 00 00 07 00 00 00 00'),
    item: { tag: 0x540001, type: 'Integer', value: 7 },
  },
];

/**
 * A complete Locate request (KMIP 1.1), as printed in KMIP Test Cases 1.1 §3.1.3: Locate a
 * Symmetric Key named "Key1", with 1.x Attribute Name / Attribute Value pairs.
 */
export const locateRequest: Vector = {
  name: 'KMIP 1.1 Locate request (Object Type and Name)',
  source: 'KMIP Test Cases 1.1 §3.1.3',
  bytes: hex(`
    42 00 78 | 01 | 00 00 00 D0
      42 00 77 | 01 | 00 00 00 38
        42 00 69 | 01 | 00 00 00 20
          42 00 6A | 02 | 00 00 00 04 | 00 00 00 01 00 00 00 00
          42 00 6B | 02 | 00 00 00 04 | 00 00 00 01 00 00 00 00
        42 00 0D | 02 | 00 00 00 04 | 00 00 00 01 00 00 00 00
      42 00 0F | 01 | 00 00 00 88
        42 00 5C | 05 | 00 00 00 04 | 00 00 00 08 00 00 00 00
        42 00 79 | 01 | 00 00 00 70
          42 00 08 | 01 | 00 00 00 28
            42 00 0A | 07 | 00 00 00 0B | 4F 62 6A 65 63 74 20 54 79 70 65 00 00 00 00 00
            42 00 0B | 05 | 00 00 00 04 | 00 00 00 02 00 00 00 00
          42 00 08 | 01 | 00 00 00 38
            42 00 0A | 07 | 00 00 00 04 | 4E 61 6D 65 00 00 00 00
            42 00 0B | 01 | 00 00 00 20
              42 00 55 | 07 | 00 00 00 04 | 4B 65 79 31 00 00 00 00
              42 00 54 | 05 | 00 00 00 04 | 00 00 00 01 00 00 00 00`),
  item: structure(0x420078, [
    structure(0x420077, [
      structure(0x420069, [
        { tag: 0x42006a, type: 'Integer', value: 1 },
        { tag: 0x42006b, type: 'Integer', value: 1 },
      ]),
      { tag: 0x42000d, type: 'Integer', value: 1 },
    ]),
    structure(0x42000f, [
      { tag: 0x42005c, type: 'Enumeration', value: 8 },
      structure(0x420079, [
        structure(0x420008, [
          { tag: 0x42000a, type: 'TextString', value: 'Object Type' },
          { tag: 0x42000b, type: 'Enumeration', value: 2 },
        ]),
        structure(0x420008, [
          { tag: 0x42000a, type: 'TextString', value: 'Name' },
          structure(0x42000b, [
            { tag: 0x420055, type: 'TextString', value: 'Key1' },
            { tag: 0x420054, type: 'Enumeration', value: 1 },
          ]),
        ]),
      ]),
    ]),
  ]),
};

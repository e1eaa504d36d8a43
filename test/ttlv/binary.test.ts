import t, { type Test } from 'tap';
import { TtlvError, decode, encode, type Item } from '../../src/ttlv/index.js';
import { hex, itemVectors, locateRequest } from './vectors.js';

for (const v of [...itemVectors, locateRequest]) {
  t.test(`${v.name} (${v.source})`, async (t) => {
    t.same(decode(v.bytes), v.item, 'decodes to the expected item');
    t.equal(encode(v.item).toString('hex'), v.bytes.toString('hex'), 'encodes to the same bytes');
  });
}

/** Decoding `bytes` fails with this code at this offset. */
function refuses(t: Test, bytes: Buffer, code: string, offset: number, options = {}): void {
  t.throws(() => decode(bytes, options), { name: 'TtlvError', code, offset }, `${code} at ${offset}`);
}

t.test('strict decoding names the fault and its byte offset', async (t) => {
  refuses(t, hex('42 00 20 | 0C | 00 00 00 04 | 00 00 00 08 00 00 00 00'), 'UNKNOWN_TYPE', 3);
  refuses(t, hex('42 00 20 | 00 | 00 00 00 04 | 00 00 00 08 00 00 00 00'), 'UNKNOWN_TYPE', 3);
  refuses(t, hex('42 00 20 | 02 | 00 00 00 08 | 00 00 00 08 00 00 00 00'), 'BAD_LENGTH', 4);
  refuses(t, hex('42 00 20 | 06 | 00 00 00 04 | 00 00 00 01 00 00 00 00'), 'BAD_LENGTH', 4);
  refuses(t, hex('42 00 20 | 01 | 00 00 00 0C | 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF'), 'BAD_LENGTH', 4);
  refuses(t, hex('42 00 20 | 04 | 00 00 00 04 | 00 00 00 01 00 00 00 00'), 'BAD_LENGTH', 4);
  refuses(t, hex('42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 01 00'), 'BAD_PADDING', 14);
  refuses(t, hex('42 00 20 | 07 | 00 00 00 01 | 41 00 00 00 00 00 00 FF'), 'BAD_PADDING', 15);
  refuses(t, hex('42 00 20 | 07 | 00 00 00 02 | C3 28 00 00 00 00 00 00'), 'BAD_UTF8', 8);
  refuses(t, hex('42 00 20 | 06 | 00 00 00 08 | 00 00 00 00 00 00 00 02'), 'BAD_BOOLEAN', 8);
  refuses(t, hex('42 00 20 | 08 | 00 00 00 10 | 01 02 03 04 05 06 07 08'), 'OVERRUN', 4);
  refuses(t, hex('42 00 20 | 08 | 00 00 00 03'), 'OVERRUN', 4);
  refuses(t, hex('42 00 20 | 02 | 00 00'), 'TRUNCATED', 0);
  refuses(t, hex('42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00 | 00'), 'TRAILING', 16);
  // A child whose value runs past its parent structure's length, though not past the buffer.
  refuses(t, hex('42 00 20 | 01 | 00 00 00 08 | 42 00 05 | 02 | 00 00 00 04 | 00 00 00 FF 00 00 00 00'), 'OVERRUN', 12);
  refuses(t, hex('42 00 20 | 01 | 00 00 00 10 | 42 00 05 | 08 | 00 00 00 10 | 00 00 00 FF 00 00 00 00'), 'OVERRUN', 12);
  t.end();
});

t.test('nesting deeper than the limit is refused before recursing further', async (t) => {
  let item: Item = { tag: 0x420020, type: 'Integer', value: 1 };
  for (let i = 0; i < 10; i++) item = { tag: 0x420020, type: 'Structure', value: [item] };
  const bytes = encode(item);
  t.same(decode(bytes, { maxDepth: 11 }), item, 'within the limit it decodes');
  refuses(t, bytes, 'TOO_DEEP', 72, { maxDepth: 10 });
  // 100,000 nested empty-ish structures: refused quickly, no stack overflow.
  const deep = Buffer.alloc(8 * 100_000);
  for (let i = 0; i < 100_000; i++) {
    deep.writeUIntBE(0x420020, i * 8, 3);
    deep[i * 8 + 3] = 1;
    deep.writeUInt32BE(8 * (100_000 - i - 1), i * 8 + 4);
  }
  t.throws(() => decode(deep), { code: 'TOO_DEEP' });
});

t.test('the encoder refuses values that do not fit their type', async (t) => {
  const bad: Item[] = [
    { tag: 0x420020, type: 'Integer', value: 2 ** 31 },
    { tag: 0x420020, type: 'Integer', value: 1.5 },
    { tag: 0x420020, type: 'Enumeration', value: -1 },
    { tag: 0x420020, type: 'Interval', value: 2 ** 32 },
    { tag: 0x420020, type: 'LongInteger', value: 1n << 63n },
    { tag: 0x420020, type: 'DateTime', value: 0.5 },
    { tag: 0x1000000, type: 'Integer', value: 1 },
    { tag: 0x420020, type: 'DateTime', value: 0, placeholder: '$NOW' },
  ];
  for (const it of bad) t.throws(() => encode(it), TtlvError, JSON.stringify(it, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)));
});

t.test('decoded Byte Strings are copies, not views of the input', async (t) => {
  const bytes = hex('42 00 20 | 08 | 00 00 00 03 | 01 02 03 00 00 00 00 00');
  const it = decode(bytes);
  bytes.fill(0);
  t.same(it.value, Buffer.from([1, 2, 3]));
});

t.test('Date-Times before 1970 and far in the future round-trip', async (t) => {
  for (const value of [-1, -86400 * 365 * 100, 253402300799, 2 ** 40]) {
    const it: Item = { tag: 0x420020, type: 'DateTime', value };
    t.same(decode(encode(it)), it, String(value));
  }
  refuses(t, hex('42 00 20 | 09 | 00 00 00 08 | 7F FF FF FF FF FF FF FF'), 'OUT_OF_RANGE', 8);
});

/**
 * Property tests for the TTLV codec (fast-check): round trips of random item trees through
 * binary, JSON and XML; random and mutated input never escapes as anything but a TtlvError,
 * never hangs and never makes the decoder allocate more than the input; the frame reader cuts
 * any chunking of a stream into exactly its messages and holds no more than its limit.
 *
 * A failing property prints its seed and counter-example; re-run one with FC_SEED=<seed>.
 * FC_RUNS scales every property's number of runs (default 1).
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import t from 'tap';
import {
  FrameReader,
  TtlvError,
  decode,
  encode,
  fromJsonText,
  fromXml,
  registry,
  toJsonText,
  toXml,
  type Item,
  type ItemTypeName,
  type ValueOf,
  itemTypeNames,
} from '../../src/ttlv/index.js';

const SCALE = Number(process.env.FC_RUNS ?? 1);
const SEED = process.env.FC_SEED === undefined ? undefined : Number(process.env.FC_SEED);
const runs = (n: number): fc.Parameters<unknown> => ({ numRuns: Math.max(1, Math.round(n * SCALE)), ...(SEED === undefined ? {} : { seed: SEED }) });

/** Generous bound for decoding ≤ a few KiB: a linear decoder does it in microseconds. */
const TIME_BOUND_MS = 250;

// ---------------------------------------------------------------------------------------------
// Generators

type LeafType = Exclude<ItemTypeName, 'Structure'>;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

const int64 = fc.oneof(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.constantFrom(0n, -1n, 1n, INT64_MIN, INT64_MAX, 1n << 53n, -(1n << 53n)));
const uint32 = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff));

/** Value generators for every leaf type, over each type's whole range. */
const values: { [T in LeafType]: fc.Arbitrary<ValueOf<T>> } = {
  Integer: fc.oneof(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.constantFrom(0, -1, -0x80000000, 0x7fffffff)),
  LongInteger: int64,
  BigInteger: fc.oneof(
    fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }),
    fc.bigInt({ min: -(1n << 1100n), max: 1n << 1100n }),
    // The 8-byte boundaries, where the sign extension changes length.
    fc.constantFrom(0n, -1n, 127n, 128n, -128n, -129n, INT64_MAX, INT64_MAX + 1n, INT64_MIN, INT64_MIN - 1n, (1n << 127n) - 1n, -(1n << 127n)),
  ),
  Enumeration: uint32,
  Boolean: fc.boolean(),
  TextString: fc.oneof(
    fc.string({ maxLength: 24 }),
    fc.string({ unit: 'binary', maxLength: 24 }), // any code point, astral ones included
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary-ascii', maxLength: 24 }), // control characters, NUL, Latin-1
  ),
  // Buffers, because decode returns Buffers and the comparison is strict.
  ByteString: fc.uint8Array({ maxLength: 40 }).map((bytes) => Buffer.from(bytes)),
  DateTime: fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.integer({ min: -62167219200, max: 253402300799 }), // years 0000–9999
    fc.constantFrom(0, -1, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, 2 ** 32, -(2 ** 32), 2 ** 31, -(2 ** 31) - 1),
  ),
  Interval: uint32,
  DateTimeExtended: int64,
};

const leafTypes = Object.keys(values) as LeafType[];

function leafOf(tags: fc.Arbitrary<number>): fc.Arbitrary<Item> {
  return fc.oneof(
    ...leafTypes.map((type) =>
      fc.record({ tag: tags, value: values[type] as fc.Arbitrary<unknown> }).map(({ tag, value }) => ({ tag, type, value }) as Item),
    ),
  );
}

/**
 * Random item trees: every type, up to `maxDepth` structures nested, at most 4 children each.
 * Built level by level (not fc.letrec's depth bias, which makes most trees a single leaf): at
 * every level a structure is as likely as a leaf.
 */
function treesOf(tags: fc.Arbitrary<number>, maxDepth = 6): { tree: fc.Arbitrary<Item>; structure: fc.Arbitrary<Item> } {
  const leaf = leafOf(tags);
  let tree = leaf;
  let structure = leaf;
  for (let depth = maxDepth; depth >= 1; depth--) {
    structure = fc.record({ tag: tags, value: fc.array(tree, { maxLength: 4 }) }).map(({ tag, value }): Item => ({ tag, type: 'Structure', value }));
    tree = fc.oneof(leaf, structure);
  }
  return { tree, structure };
}

/** Any 3-byte tag, with KMIP's 0x42 and extension 0x54 ranges and the extremes weighted in. */
const anyTag = fc.oneof(
  fc.integer({ min: 0, max: 0xffffff }),
  fc.integer({ min: 0x420000, max: 0x420160 }),
  fc.integer({ min: 0x540000, max: 0x54ffff }),
  fc.constantFrom(0, 0xffffff, 0x420020, 0x540001),
);

const binary = treesOf(anyTag);

/**
 * For JSON and XML: tags the registry does not know (written `0x54XXXX` / `<TTLV tag=…>`), plus a
 * few known tags without an enumeration or mask, so the names path is exercised too. Attribute
 * Name/Value are left out: an Attribute Value's text form depends on the name before it.
 */
const knownPlainTags = [...registry.allTags()]
  .filter((info) => info.enumeration === undefined && info.mask === undefined && info.name !== 'AttributeName' && info.name !== 'AttributeValue')
  .map((info) => info.value)
  .sort((a, b) => a - b)
  .filter((_, i, all) => i % Math.max(1, Math.floor(all.length / 12)) === 0);
const unknownTag = fc.integer({ min: 0x540000, max: 0x54ffff }).filter((tag) => registry.tag(tag) === undefined);
const textTag = knownPlainTags.length > 0 ? fc.oneof({ weight: 3, arbitrary: unknownTag }, { weight: 1, arbitrary: fc.constantFrom(...knownPlainTags) }) : unknownTag;
const textual = treesOf(textTag, 5);

// ---------------------------------------------------------------------------------------------
// Helpers

/** Offsets of every item header in a valid encoding, in document order. */
function headerOffsets(buf: Buffer, start = 0, end = buf.length, out: number[] = []): number[] {
  let at = start;
  while (at < end) {
    out.push(at);
    const length = buf.readUInt32BE(at + 4);
    if (buf[at + 3] === 1) headerOffsets(buf, at + 8, at + 8 + length, out);
    at += 8 + Math.ceil(length / 8) * 8;
  }
  return out;
}

function hasBigInteger(it: Item): boolean {
  return it.type === 'BigInteger' || (it.type === 'Structure' && it.value.some(hasBigInteger));
}

/** An item tree as the codec promises it: own type names, values of the right JS type and range. */
function assertWellFormed(it: unknown): void {
  assert.ok(typeof it === 'object' && it !== null, 'an item is an object');
  const { tag, type, value } = it as Record<string, unknown>;
  assert.ok(Number.isInteger(tag) && (tag as number) >= 0 && (tag as number) <= 0xffffff, `tag ${String(tag)}`);
  switch (type) {
    case 'Structure':
      assert.ok(Array.isArray(value));
      for (const child of value) assertWellFormed(child);
      return;
    case 'Integer':
      assert.ok(Number.isInteger(value) && (value as number) >= -0x80000000 && (value as number) <= 0x7fffffff);
      return;
    case 'Enumeration':
    case 'Interval':
      assert.ok(Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0xffffffff);
      return;
    case 'DateTime':
      assert.ok(Number.isSafeInteger(value));
      return;
    case 'LongInteger':
    case 'DateTimeExtended':
      assert.ok(typeof value === 'bigint' && value >= INT64_MIN && value <= INT64_MAX);
      return;
    case 'BigInteger':
      assert.equal(typeof value, 'bigint');
      return;
    case 'Boolean':
      assert.equal(typeof value, 'boolean');
      return;
    case 'TextString':
      assert.equal(typeof value, 'string');
      return;
    case 'ByteString':
      assert.ok(value instanceof Uint8Array);
      return;
    default:
      assert.fail(`not an item type: ${String(type)}`);
  }
}

/** Runs `fn`; it must return, or throw a TtlvError, within the time bound. */
function onlyTtlvErrors<R>(fn: () => R): R | TtlvError {
  const start = performance.now();
  let result: R | TtlvError;
  try {
    result = fn();
  } catch (err) {
    if (!(err instanceof TtlvError)) throw new Error(`escaped as ${(err as Error)?.name ?? typeof err}: ${String(err)}`, { cause: err });
    result = err;
  }
  const elapsed = performance.now() - start;
  assert.ok(elapsed < TIME_BOUND_MS, `took ${elapsed.toFixed(1)} ms`);
  return result;
}

/**
 * After a successful decode, the tree is one the encoder accepts. Binary TTLV is canonical except
 * for Big Integers (any multiple of 8 bytes decodes, 0 included; the encoder writes the shortest
 * non-empty form), so without them re-encoding gives back the very bytes; with them, the same tree.
 */
function assertFaithful(input: Buffer, decoded: Item): void {
  assertWellFormed(decoded);
  const again = encode(decoded);
  if (hasBigInteger(decoded)) {
    assert.deepEqual(decode(again), decoded);
  } else {
    assert.equal(again.toString('hex'), input.toString('hex'));
  }
}

function decodesOrRefuses(bytes: Buffer): void {
  const result = onlyTtlvErrors(() => decode(bytes));
  if (!(result instanceof TtlvError)) assertFaithful(bytes, result);
}

// ---------------------------------------------------------------------------------------------
// Binary

t.test('binary: decode(encode(tree)) is the tree', async (t) => {
  fc.assert(
    fc.property(binary.tree, (tree) => {
      assert.deepEqual(decode(encode(tree)), tree);
    }),
    runs(1200),
  );
  t.pass('1200 random trees');
});

t.test('binary: random bytes decode or throw a TtlvError, quickly', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => decodesOrRefuses(Buffer.from(bytes))),
    runs(900),
  );
  // Random bytes almost never get past the first header; these start with a plausible one.
  const header = fc.record({
    tag: anyTag,
    type: fc.integer({ min: 0, max: 12 }),
    length: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(0x7ffffff8, 0x80000000, 0xfffffff8, 0xffffffff)),
  });
  fc.assert(
    fc.property(fc.array(fc.tuple(header, fc.uint8Array({ maxLength: 24 })), { minLength: 1, maxLength: 16 }), (parts) => {
      const bytes = Buffer.concat(
        parts.flatMap(([h, body]) => {
          const head = Buffer.alloc(8);
          head.writeUIntBE(h.tag, 0, 3);
          head[3] = h.type;
          head.writeUInt32BE(h.length, 4);
          return [head, body];
        }),
      );
      decodesOrRefuses(bytes);
    }),
    runs(1200),
  );
  t.pass('random and header-shaped bytes');
});

type Mutation =
  | { kind: 'flip'; at: number; xor: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'length'; item: number; length: number; relative: boolean }
  | { kind: 'type'; item: number; type: number }
  | { kind: 'splice'; at: number; remove: number; insert: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 24 }) }),
  fc.record({
    kind: fc.constant('length' as const),
    item: fc.nat(),
    relative: fc.boolean(),
    length: fc.oneof(fc.integer({ min: -16, max: 16 }), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(0, 0x7ffffff8, 0x80000000, 0xfffffff8, 0xffffffff)),
  }),
  fc.record({ kind: fc.constant('type' as const), item: fc.nat(), type: fc.oneof(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), remove: fc.nat({ max: 24 }), insert: fc.uint8Array({ maxLength: 24 }) }),
);

function mutate(original: Buffer, mutations: Mutation[]): Buffer {
  const headers = headerOffsets(original);
  let buf = Buffer.from(original);
  for (const m of mutations) {
    const header = headers[('item' in m ? m.item : 0) % headers.length]!;
    switch (m.kind) {
      case 'flip':
        if (buf.length > 0) buf[m.at % buf.length]! ^= m.xor;
        break;
      case 'truncate':
        buf = buf.subarray(0, m.at % (buf.length + 1));
        break;
      case 'extend':
        buf = Buffer.concat([buf, m.bytes]);
        break;
      case 'length':
        if (header + 8 <= buf.length) buf.writeUInt32BE(m.relative ? (buf.readUInt32BE(header + 4) + m.length) >>> 0 : m.length >>> 0, header + 4);
        break;
      case 'type':
        if (header + 4 <= buf.length) buf[header + 3] = m.type;
        break;
      case 'splice': {
        const at = m.at % (buf.length + 1);
        buf = Buffer.concat([buf.subarray(0, at), m.insert, buf.subarray(Math.min(buf.length, at + m.remove))]);
        break;
      }
    }
  }
  return buf;
}

t.test('binary: mutated messages decode or throw a TtlvError, quickly', async (t) => {
  fc.assert(
    fc.property(binary.structure, fc.array(mutation, { minLength: 1, maxLength: 4 }), (tree, mutations) => {
      decodesOrRefuses(mutate(encode(tree), mutations));
    }),
    runs(4500),
  );
  t.pass('4500 mutated messages');
});

t.test('binary: fixed-length values decode to what the encoder writes back, or are refused', async (t) => {
  const types = fc.constantFrom(2, 3, 5, 6, 9, 10, 11);
  const edges = fc.constantFrom(0n, -1n, 1n, -(1n << 53n), (1n << 53n) - 1n, -(1n << 53n) + 1n, 1n << 53n, INT64_MIN, INT64_MAX, 0xffffffffn, 0x100000000n);
  fc.assert(
    fc.property(types, fc.oneof({ weight: 1, arbitrary: fc.bigInt({ min: INT64_MIN, max: INT64_MAX }) }, { weight: 2, arbitrary: edges }), (type, raw) => {
      const bytes = Buffer.alloc(16);
      bytes.writeUIntBE(0x420020, 0, 3);
      bytes[3] = type;
      const fixed = type === 2 || type === 5 || type === 10 ? 4 : 8;
      bytes.writeUInt32BE(fixed, 4);
      if (fixed === 8) bytes.writeBigInt64BE(raw, 8);
      else bytes.writeUInt32BE(Number(BigInt.asUintN(32, raw)), 8);
      decodesOrRefuses(bytes);
    }),
    runs(900),
  );
  t.pass('fixed-length leaves');
});

t.test('binary: a huge declared length is refused without allocating it', async (t) => {
  // The decoder allocates only (a) item objects and strings no larger than the input and
  // (b) Byte String copies, each taken after its end was checked against its container, so at
  // most the input's size in all. A declared length is never used to size a buffer.
  for (const length of [0x7ffffff8, 0x80000000, 0xfffffff8, 0xfffffff9, 0xffffffff]) {
    for (const type of [0x01, 0x04, 0x07, 0x08]) {
      const bytes = Buffer.alloc(64);
      bytes.writeUIntBE(0x420020, 0, 3);
      bytes[3] = type;
      bytes.writeUInt32BE(length, 4);
      const before = process.memoryUsage().arrayBuffers;
      t.throws(() => decode(bytes), TtlvError, `type ${type} length 0x${length.toString(16)}`);
      t.throws(() => decode(bytes.subarray(0, 8)), TtlvError, `header only, type ${type} length 0x${length.toString(16)}`);
      const grown = process.memoryUsage().arrayBuffers - before;
      t.ok(grown < 1 << 20, `no large allocation (${grown} bytes)`);
      // The same item inside a structure: its end must not wrap around to before its start.
      const wrapped = Buffer.concat([Buffer.from('42007801' + '00000048', 'hex'), bytes]);
      t.throws(() => decode(wrapped), TtlvError, `nested, type ${type} length 0x${length.toString(16)}`);
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Frame reader

t.test('FrameReader: any chunking of a stream of messages yields exactly those messages', async (t) => {
  fc.assert(
    fc.property(fc.array(binary.structure, { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 12 }), (trees, cuts) => {
      const messages = trees.map((tree) => encode(tree));
      const stream = Buffer.concat(messages);
      const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
      const reader = new FrameReader();
      const out: Buffer[] = [];
      let at = 0;
      for (const point of [...points, stream.length]) {
        out.push(...reader.push(stream.subarray(at, point)));
        at = point;
      }
      assert.deepEqual(
        out.map((m) => m.toString('hex')),
        messages.map((m) => m.toString('hex')),
      );
      assert.equal(reader.buffered, 0);
    }),
    runs(900),
  );
  t.pass('900 streams');
});

t.test('FrameReader: garbage yields frames within the limit or a TtlvError, and buffers no more than the limit', async (t) => {
  const MAX = 4096;
  const segment = fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    // A Structure header with a random or plausible length, then some body.
    fc
      .record({
        tag: anyTag,
        type: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
        length: fc.oneof(fc.integer({ min: 0, max: 600 }).map((n) => n * 8), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(MAX - 8, MAX, 0xfffffff8)),
        body: fc.uint8Array({ maxLength: 5000 }),
      })
      .map(({ tag, type, length, body }) => {
        const head = Buffer.alloc(8);
        head.writeUIntBE(tag, 0, 3);
        head[3] = type;
        head.writeUInt32BE(length, 4);
        return Buffer.concat([head, body.subarray(0, Math.min(body.length, length + 16))]);
      }),
  );
  fc.assert(
    fc.property(fc.array(segment, { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 10 }), (segments, sizes) => {
      const stream = Buffer.concat(segments);
      const reader = new FrameReader({ maxMessageSize: MAX });
      let at = 0;
      for (let i = 0; at < stream.length; i++) {
        const end = Math.min(stream.length, at + sizes[i % sizes.length]!);
        const result = onlyTtlvErrors(() => reader.push(stream.subarray(at, end)));
        // Messages completed before a bad header may ride on the error (FrameError.completed).
        const frames = result instanceof TtlvError ? ((result as { completed?: Buffer[] }).completed ?? []) : result;
        for (const frame of frames) {
          assert.ok(frame.length <= MAX, `frame of ${frame.length} bytes`);
          assert.equal(frame.length, 8 + frame.readUInt32BE(4), 'a frame is exactly its header’s length');
          assert.equal(frame[3], 1, 'a frame is a Structure');
        }
        assert.ok(reader.buffered <= MAX, `buffered ${reader.buffered}`);
        if (result instanceof TtlvError) {
          // Failed for good: the framing is lost.
          assert.throws(() => reader.push(Buffer.alloc(1)), TtlvError);
          return;
        }
        at = end;
      }
    }),
    runs(900),
  );
  t.pass('900 garbage streams');
});

// ---------------------------------------------------------------------------------------------
// JSON and XML

t.test('JSON: fromJsonText(toJsonText(tree)) is the tree', async (t) => {
  fc.assert(
    fc.property(textual.tree, (tree) => {
      assert.deepEqual(fromJsonText(toJsonText(tree)), tree);
    }),
    runs(900),
  );
  t.pass('900 random trees');
});

t.test('XML: fromXml(toXml(tree)) is the tree', async (t) => {
  fc.assert(
    fc.property(textual.tree, fc.constantFrom(0, 2), (tree, indent) => {
      assert.deepEqual(fromXml(toXml(tree, { indent })), tree);
    }),
    runs(900),
  );
  t.pass('900 random trees');
});

/** Words that make plausible (and implausible) KMIP JSON/XML: names, types, prototype keys. */
const words = fc.constantFrom(
  ...itemTypeNames,
  'toString',
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'valueOf',
  'RequestMessage',
  'UniqueIdentifier',
  'CryptographicAlgorithm',
  'AttributeName',
  'AttributeValue',
  'TTLV',
  '0x540001',
  '0x420094',
  '0x42',
  'AES',
  '$NOW',
  '$NOW-3600',
  'true',
  '0x0000000000000001',
  '2024-01-31T12:00:00+00:00',
  '0050-01-01T00:00:00Z',
  '-1',
  '4294967296',
  '0xFFFFFFFF',
  '0x8000',
  '00ff',
  '',
);
const scalar = fc.oneof(words, fc.string({ maxLength: 8 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null));

t.test('JSON: random text and random JSON-shaped values parse to a well-formed tree or throw a TtlvError', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 }), fc.json()), (text) => {
      const result = onlyTtlvErrors(() => fromJsonText(text));
      if (!(result instanceof TtlvError)) assertWellFormed(result);
    }),
    runs(900),
  );
  const { node } = fc.letrec<{ node: unknown }>((tie) => ({
    node: fc.oneof(
      { maxDepth: 5, depthSize: 'small' },
      scalar,
      fc.record(
        {
          tag: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('0x540001', 'UniqueIdentifier', 'AttributeValue') }, words, scalar),
          type: fc.oneof({ weight: 4, arbitrary: words }, scalar),
          value: fc.oneof(scalar, fc.array(tie('node'), { maxLength: 4 })),
        },
        { requiredKeys: ['tag'] },
      ),
      fc.array(tie('node'), { maxLength: 3 }),
    ),
  }));
  fc.assert(
    fc.property(node, (value) => {
      const result = onlyTtlvErrors(() => fromJsonText(JSON.stringify(value) ?? 'null'));
      if (!(result instanceof TtlvError)) assertWellFormed(result);
    }),
    runs(1800),
  );
  t.pass('random JSON');
});

t.test('XML: random text and random XML-shaped text parse to a well-formed tree or throw a TtlvError', async (t) => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), (text) => {
      const result = onlyTtlvErrors(() => fromXml(text));
      if (!(result instanceof TtlvError)) assertWellFormed(result);
    }),
    runs(900),
  );
  const entity = fc.oneof(
    fc.constantFrom('&lt;', '&amp;', '&#65;', '&#x1F600;', '&#0;', '&#x110000;', '&#xD800;', '&', '&constructor;', '&toString;', '&__proto__;', '&nbsp;'),
    fc.stringMatching(/^&#[0-9]{1,9};$/),
  );
  const attrValue = fc.array(fc.oneof(words, entity, fc.string({ maxLength: 4 })), { maxLength: 3 }).map((parts) => parts.join(''));
  const attribute = (name: string, value: fc.Arbitrary<string>): fc.Arbitrary<string> =>
    fc.option(value.map((v) => ` ${name}="${v.replace(/"/g, '')}"`), { nil: '' });
  const { element } = fc.letrec<{ element: string }>((tie) => ({
    element: fc
      .record({
        name: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('TTLV', 'UniqueIdentifier', 'RequestMessage') }, words.filter((w) => /^[A-Za-z_]/.test(w))),
        tag: attribute('tag', fc.oneof({ weight: 3, arbitrary: fc.constantFrom('0x540001', '0x420094') }, attrValue)),
        type: attribute('type', fc.oneof({ weight: 3, arbitrary: words }, attrValue)),
        value: attribute('value', attrValue),
        other: attribute('x', attrValue),
        children: fc.option(fc.array(tie('element'), { maxLength: 3 }), { nil: undefined }),
        junk: fc.constantFrom('', '', ' ', '\n  ', '<!-- c -->', 'x'),
      })
      .map(({ name, tag, type, value, other, children, junk }) => {
        const attributes = tag + type + value + other;
        return children === undefined ? `<${name}${attributes}/>${junk}` : `<${name}${attributes}>${junk}${children.join('')}</${name}>`;
      }),
  }));
  fc.assert(
    fc.property(fc.option(fc.constant('<?xml version="1.0"?>'), { nil: '' }), element, (decl, xml) => {
      const result = onlyTtlvErrors(() => fromXml(decl + xml));
      if (!(result instanceof TtlvError)) assertWellFormed(result);
    }),
    runs(1800),
  );
  t.pass('random XML');
});

t.test('XML: a reference to an entity XML does not define is refused', async (t) => {
  const name = fc.oneof(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}$/), fc.constantFrom('constructor', 'toString', '__proto__', 'valueOf', 'hasOwnProperty'));
  fc.assert(
    fc.property(
      name.filter((n) => !['lt', 'gt', 'amp', 'quot', 'apos'].includes(n)),
      (n) => {
        assert.throws(() => fromXml(`<TTLV tag="0x540001" type="TextString" value="a&${n};b"/>`), { name: 'TtlvError', code: 'SYNTAX' });
      },
    ),
    runs(600),
  );
  t.pass('undefined entities');
});

// ---------------------------------------------------------------------------------------------
// The counter-examples these properties found, kept as fixed cases.

t.test('regressions found by the properties', async (t) => {
  const bytes = (hex: string): Buffer => Buffer.from(hex.replace(/[^0-9a-fA-F]/g, ''), 'hex');
  // Lengths ≥ 2^31 wrapped negative in the padding arithmetic and passed the overrun check.
  t.throws(() => decode(bytes('54 00 00 | 04 | FF FF FF F8')), { code: 'OVERRUN' }, 'Big Integer of length 2^32 - 8, header only');
  t.throws(() => decode(bytes('42 00 20 | 07 | FF FF FF FF')), { code: 'OVERRUN' }, 'Text String of length 2^32 - 1 was decoded as ""');
  t.throws(() => decode(bytes('54 00 00 | 01 | 00 00 00 10 | 54 00 01 | 08 | 80 00 00 00 | 00 00 00 00 00 00 00 00')), { code: 'OVERRUN' }, 'was a TypeError');
  // -2^53 s decoded, but the encoder refuses it: not a safe integer.
  t.throws(() => decode(bytes('42 00 20 | 09 | 00 00 00 08 | FF E0 00 00 00 00 00 00')), { code: 'OUT_OF_RANGE' });
  t.same(decode(bytes('42 00 20 | 09 | 00 00 00 08 | FF E0 00 00 00 00 00 01')).value, -(2 ** 53) + 1);
  // Prototype keys were taken for item types and entities.
  t.throws(() => fromJsonText('{"tag":"0x540001","type":"hasOwnProperty","value":""}'), { code: 'UNKNOWN_TYPE' }, 'JSON returned undefined');
  t.throws(() => fromXml('<TTLV tag="0x540001" type="toString" value=""/>'), { code: 'UNKNOWN_TYPE' }, 'XML returned undefined');
  t.throws(() => fromXml('<TTLV tag="0x540001" type="TextString" value="&constructor;"/>'), { code: 'SYNTAX' }, 'was the text of Object');
  // Date-Times outside years 1000–9999: years 0–99 read back as 1900–1999, years past 9999 not at all.
  for (const value of [-59011459201, -62167219200, 253402300800, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
    const it: Item = { tag: 0x540000, type: 'DateTime', value };
    t.strictSame(fromJsonText(toJsonText(it)), it, `JSON, Date-Time ${value}`);
    t.strictSame(fromXml(toXml(it)), it, `XML, Date-Time ${value}`);
  }
  for (const value of [-59011459200000001n, INT64_MIN, INT64_MAX]) {
    const it: Item = { tag: 0x540000, type: 'DateTimeExtended', value };
    t.strictSame(fromJsonText(toJsonText(it)), it, `JSON, Date-Time Extended ${value}`);
    t.strictSame(fromXml(toXml(it)), it, `XML, Date-Time Extended ${value}`);
  }
});

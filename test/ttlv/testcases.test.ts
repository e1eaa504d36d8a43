/**
 * Every OASIS KMIP 1.4 and 2.1 test-case file parses, and each message survives
 * XML → tree → binary → tree → XML and tree → JSON → tree unchanged.
 *
 * Binary TTLV cannot carry a symbol such as `$NOW` in a Date-Time, so for the binary leg each
 * placeholder of a non-text type is bound to a value derived from its name, the trip is made, and
 * the placeholders are put back where those values were; text placeholders (`$UNIQUE_IDENTIFIER_0`)
 * are ordinary text and travel as they are.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { createHash } from 'node:crypto';
import t from 'tap';
import { type Item, type LeafItem, decode, encode, fromJsonText, fromXml, fromXmlDocument, resolvePlaceholders, toJsonText, toXml } from '../../src/ttlv/index.js';
import { testcaseFiles, testcasesDir } from '../support/shared.js';

const files = testcaseFiles();

t.test('the shared folder holds all 168 OASIS test-case files', async (t) => {
  t.equal(files.length, 168);
});

/** A value for a placeholder that depends only on the placeholder's name and type. */
function bind(leaf: LeafItem & { placeholder: string }): LeafItem {
  const seed = createHash('sha256').update(`${leaf.type}:${leaf.placeholder}`).digest();
  const n = seed.readUInt32BE(0);
  const base = { tag: leaf.tag };
  switch (leaf.type) {
    case 'ByteString':
      return { ...base, type: leaf.type, value: seed.subarray(0, 16 + (n % 16)) };
    case 'DateTime':
      return { ...base, type: leaf.type, value: 1_600_000_000 + (n % 100_000_000) };
    case 'Integer':
    case 'Enumeration':
    case 'Interval':
      return { ...base, type: leaf.type, value: n & 0x7fffffff };
    case 'LongInteger':
    case 'BigInteger':
    case 'DateTimeExtended':
      return { ...base, type: leaf.type, value: BigInt(n) };
    case 'Boolean':
      return { ...base, type: leaf.type, value: (n & 1) === 1 };
    case 'TextString':
      return { ...base, type: leaf.type, value: leaf.placeholder };
  }
}

for (const file of files) {
  t.test(relative(testcasesDir, file), async (t) => {
    const text = readFileSync(file, 'utf8');
    const messages = fromXmlDocument(text);
    t.ok(messages.length >= 2 && messages.length % 2 === 0, `${messages.length} request/response messages`);
    for (const [i, message] of messages.entries()) {
      const xml = toXml(message);
      t.same(fromXml(xml), message, `message ${i}: XML → tree → XML → tree`);
      t.same(fromJsonText(toJsonText(message)), message, `message ${i}: tree → JSON → tree`);

      const bindings = new Map<string, LeafItem>();
      const resolved = resolvePlaceholders(message, (leaf) => {
        const value = bind(leaf);
        bindings.set(JSON.stringify(leafKey(value)), { ...leaf });
        return value;
      });
      const back = decode(encode(resolved));
      t.same(back, resolved, `message ${i}: tree → binary → tree`);
      const restored = resolvePlaceholdersBack(back, bindings);
      t.equal(toXml(restored), xml, `message ${i}: … → XML is the same XML`);
    }
  });
}

function leafKey(leaf: LeafItem): unknown[] {
  const v = leaf.value;
  return [leaf.tag, leaf.type, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v)];
}

function resolvePlaceholdersBack(it: Item, bindings: Map<string, LeafItem>): Item {
  if (it.type === 'Structure') return { ...it, value: it.value.map((c) => resolvePlaceholdersBack(c, bindings)) };
  return bindings.get(JSON.stringify(leafKey(it))) ?? it;
}

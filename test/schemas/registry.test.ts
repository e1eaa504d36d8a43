/**
 * The KMIP registry (schemas/kmip-registry.json, src/kmip/registry.generated.ts):
 *  (a) the committed files are what scripts/gen-registry.ts generates from the spec text;
 *  (b) it knows every element name, item type, enumeration value and mask name used by the
 *      OASIS KMIP 1.4 / 2.1 XML test cases (../shared/kmip-testcases);
 *  (c) a few facts checked by hand against the specification tables.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { checkDrift, generateRegistry, JSON_PATH, TS_PATH, sharedDir, specDir } from '../../scripts/gen-registry.js';
import { Enum, Mask, Tag, TagTypes } from '../../src/kmip/registry.generated.js';

interface Value {
  name: string;
  title: string;
  value: string;
  aliases?: string[];
  versions: string[];
}
interface ValueSet {
  name: string;
  title: string;
  tags: string[];
  values: Value[];
}
interface TagEntry {
  name: string;
  title: string;
  value: string;
  types: string[];
  enumeration?: string;
  mask?: string;
  aliases?: string[];
  versions: string[];
}
interface Registry {
  versions: string[];
  itemTypes: { name: string; value: string }[];
  tags: TagEntry[];
  enumerations: ValueSet[];
  masks: ValueSet[];
}

const registry = JSON.parse(readFileSync(JSON_PATH, 'utf8')) as Registry;

t.test('committed registry matches the generator output (drift)', (t) => {
  const { json, ts } = generateRegistry(specDir());
  t.ok(json === readFileSync(JSON_PATH, 'utf8'), 'schemas/kmip-registry.json is what the generator writes');
  t.ok(ts === readFileSync(TS_PATH, 'utf8'), 'src/kmip/registry.generated.ts is what the generator writes');
  // The same check as `npx tsx scripts/gen-registry.ts --check`, with its diff summary.
  t.same(checkDrift(), [], 'no drift (regenerate with `npx tsx scripts/gen-registry.ts`)');
  t.end();
});

// ---------------------------------------------------------------------------------------------

function xmlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...xmlFiles(p));
    else if (e.name.endsWith('.xml')) out.push(p);
  }
  return out.sort();
}

const tagsByName = new Map<string, TagEntry>();
const tagsByTitle = new Map<string, TagEntry>();
for (const tag of registry.tags) {
  tagsByName.set(tag.name, tag);
  tagsByTitle.set(tag.title, tag);
  for (const a of tag.aliases ?? []) tagsByName.set(a, tag);
}
const namesOf = (s: ValueSet): Set<string> =>
  new Set(s.values.flatMap((v) => [v.name, ...(v.aliases ?? [])]));
const enumNames = new Map(registry.enumerations.map((e) => [e.name, namesOf(e)]));
const maskNames = new Map(registry.masks.map((m) => [m.name, namesOf(m)]));

/** One element of a test case: `<Name>`, `<Name/>` or `<Name type="T" value="V"/>`. */
interface Element {
  name: string;
  type: string | undefined;
  value: string | undefined;
}

t.test('every name in the OASIS XML test cases is known to the registry', (t) => {
  const root = path.join(sharedDir(), 'kmip-testcases');
  const files = xmlFiles(root);
  t.ok(files.length >= 168, `found ${files.length} test-case files under ${root}`);
  const problems = new Map<string, string>(); // problem → first file
  let elements = 0;
  const problem = (file: string, text: string): void => {
    if (!problems.has(text)) problems.set(text, path.relative(root, file));
  };

  for (const file of files) {
    const xml = readFileSync(file, 'utf8').replace(/<!--[\s\S]*?-->/g, '');
    // Per open structure: the tag named by the last Attribute Name among its children (KMIP 1.x
    // Attribute: the Attribute Value's enumeration or mask comes from the Attribute Name).
    const stack: { name: string; attributeTag: TagEntry | undefined }[] = [];
    for (const m of xml.matchAll(/<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w-]+="[^"]*")*)\s*(\/?)>/g)) {
      const [, closing, name = '', attrs = '', selfClosing] = m;
      if (closing) {
        stack.pop();
        continue;
      }
      const attr = (k: string): string | undefined => new RegExp(`\\s${k}="([^"]*)"`).exec(attrs)?.[1];
      const el: Element = { name, type: attr('type'), value: attr('value') };
      const parent = stack[stack.length - 1];
      if (!selfClosing) stack.push({ name, attributeTag: undefined });
      if (name === 'KMIP') continue; // the files' root element, not a KMIP tag
      elements++;
      check(file, el, parent);
    }
  }

  type Parent = { attributeTag: TagEntry | undefined } | undefined;
  function check(file: string, el: Element, parent: Parent): void {
    const tag = tagsByName.get(el.name);
    if (!tag) {
      problem(file, `unknown tag <${el.name}>`);
      return;
    }
    if (el.type === undefined) {
      if (tag.types.length > 0 && !tag.types.includes('Structure')) {
        problem(file, `<${el.name}> used as a structure; registry types ${JSON.stringify(tag.types)}`);
      }
      return;
    }
    if (tag.types.length > 0 && !tag.types.includes(el.type)) {
      problem(file, `<${el.name} type="${el.type}">; registry types ${JSON.stringify(tag.types)}`);
    }
    if (tag.name === 'AttributeName' && parent && el.value !== undefined) {
      parent.attributeTag = tagsByTitle.get(el.value) ?? tagsByName.get(el.value);
    }
    // The tag whose values this element carries: Attribute Value takes its Attribute Name's.
    const meaning = tag.name === 'AttributeValue' ? parent?.attributeTag : tag;
    if (!meaning || el.value === undefined) return;
    if (el.type === 'Enumeration') {
      if (/^0x8[0-9A-Fa-f]{7}$/.test(el.value)) return; // vendor extension value
      if (meaning.enumeration === undefined) {
        problem(file, `<${el.name}> Enumeration "${el.value}": ${meaning.name} has no enumeration`);
      } else if (!enumNames.get(meaning.enumeration)?.has(el.value)) {
        problem(file, `${meaning.enumeration} has no value ${el.value} (<${el.name}>)`);
      }
    } else if (el.type === 'Integer' && meaning.mask !== undefined && /[A-Za-z]/.test(el.value)) {
      const bits = maskNames.get(meaning.mask);
      for (const word of el.value.split(/\s+/).filter((w) => w !== '')) {
        if (/^(0x[0-9A-Fa-f]+|\d+)$/.test(word)) continue;
        if (!bits?.has(word)) problem(file, `${meaning.mask} has no bit ${word} (<${el.name}>)`);
      }
    }
  }

  // One assertion listing every unknown (the diff shows one per line).
  const report = [...problems].map(([p, f]) => `${p}   [first in ${f}]`);
  t.same(report, [], `all ${elements} elements in ${files.length} files are known to the registry`);
  t.end();
});

// ---------------------------------------------------------------------------------------------

t.test('spot facts from the specification tables', (t) => {
  const tag = (name: string): TagEntry | undefined => registry.tags.find((x) => x.name === name);
  const value = (set: string, name: string, masks = false): Value | undefined =>
    (masks ? registry.masks : registry.enumerations).find((e) => e.name === set)?.values.find((v) => v.name === name);
  /** The listed fields only, compared exactly (t.match would accept a longer array). */
  const pick = (o: object | undefined, ...keys: string[]): Record<string, unknown> =>
    Object.fromEntries(keys.map((k) => [k, (o as Record<string, unknown> | undefined)?.[k]]));
  const all = ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0', '2.1'];
  const v1 = ['1.0', '1.1', '1.2', '1.3', '1.4'];

  t.same(registry.versions, all);
  t.same(registry.itemTypes[0], { name: 'Structure', value: '0x01' });
  t.same(registry.itemTypes[10], { name: 'DateTimeExtended', value: '0x0B' });

  // 1.4 Table 288 / 2.1 Table 487
  t.same(pick(tag('ActivationDate'), 'title', 'value', 'types', 'versions'), {
    title: 'Activation Date',
    value: '0x420001',
    types: ['DateTime'],
    versions: all,
  });
  t.equal(Tag.ActivationDate, 0x420001);
  t.same(pick(tag('Attributes'), 'value', 'types', 'versions'), {
    value: '0x420125',
    types: ['Structure'],
    versions: ['2.0', '2.1'],
  });
  t.same(pick(tag('AttributeIndex'), 'value', 'types', 'versions'), { value: '0x420009', types: ['Integer'], versions: v1 });
  t.same(pick(tag('State'), 'value', 'types', 'enumeration'), {
    value: '0x42008D',
    types: ['Enumeration'],
    enumeration: 'State',
  });
  t.same(pick(tag('CryptographicUsageMask'), 'value', 'types', 'mask', 'versions'), {
    value: '0x42002C',
    types: ['Integer'],
    mask: 'CryptographicUsageMask',
    versions: all,
  });
  t.equal(tag('CompromiseDate')?.title, 'Compromise Date'); // 2.1 text: "Compromise\uFFFD Date"
  // 2.1-only tags 0x420166-0x420176 (2.1 Table 487; not in the KMIP 2.0 tag list)
  t.same(pick(tag('AsynchronousCorrelationValues'), 'value', 'versions'), { value: '0x420176', versions: ['2.1'] });
  t.same(pick(tag('RotateAutomatic'), 'value', 'types', 'versions'), {
    value: '0x42016B',
    types: ['Boolean'],
    versions: ['2.1'],
  });
  // 2.1 §4.58: Unique Identifier is Text String, Enumeration or Integer
  t.same(tag('UniqueIdentifier')?.types.slice().sort(), ['Enumeration', 'Integer', 'TextString']);
  t.equal(tag('UniqueIdentifier')?.enumeration, 'UniqueIdentifier');
  t.same(tag('AttributeValue')?.types, []);
  t.same(TagTypes.KeyMaterial.slice().sort(), ['ByteString', 'Structure']);

  // Enumerations (1.4 §9.1.3.2, 2.1 §11)
  t.same(pick(value('State', 'PreActive'), 'title', 'value', 'versions'), {
    title: 'Pre-Active',
    value: '0x00000001',
    versions: all,
  });
  t.equal(Enum.State.PreActive, 1);
  t.same(pick(value('ResultReason', 'ItemNotFound'), 'value', 'versions'), { value: '0x00000001', versions: all });
  t.equal(Enum.ResultReason.ItemNotFound, 1);
  t.equal(Enum.CryptographicAlgorithm.DES3, 2); // "3DES"
  t.equal(Enum.HashingAlgorithm.SHA_256, 6);
  t.equal(Enum.KeyFormatType.PKCS_1, 3);
  t.equal(Enum.CertificateType.X_509, 1);
  t.equal(Enum.RNGAlgorithm.ANSIX9_31, 5);
  t.equal(Enum.Operation.ReKeyKeyPair, 0x1d);
  t.same(pick(value('Operation', 'Ping'), 'value', 'versions'), { value: '0x0000003B', versions: ['2.1'] });
  t.same(value('ObjectType', 'Template')?.versions, v1);
  t.same(
    registry.enumerations.find((e) => e.name === 'HashingAlgorithm')?.tags,
    ['HashingAlgorithm', 'MaskGeneratorHashingAlgorithm'],
  );

  // Masks (1.4 §9.1.3.3, 2.1 §12)
  t.same(pick(value('CryptographicUsageMask', 'Encrypt', true), 'value', 'versions'), {
    value: '0x00000004',
    versions: all,
  });
  t.equal(Mask.CryptographicUsageMask.Encrypt, 4);
  t.same(value('CryptographicUsageMask', 'Export', true)?.versions, v1);
  t.equal(Mask.ProtectionStorageMask.Software, 1);
  t.end();
});

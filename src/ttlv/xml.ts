/**
 * The KMIP XML encoding (KMIP Profiles 2.1 §5.4; Additional Message Encodings 1.0 §6.1):
 * a Structure is `<TagName>children</TagName>`, a leaf `<TagName type="Integer" value="1"/>`.
 * A tag the registry does not know is written `<TTLV tag="0x540001" type=… value=…/>`.
 * Masks are names separated by spaces. The reader is a small strict parser for exactly this
 * shape (elements, attributes, comments, the XML declaration, character references); text
 * content other than white space is refused.
 */
import { TtlvError } from './errors.js';
import { type Registry, hexTag, registry as defaultRegistry } from './registry.js';
import { type Item, type ItemTypeName, ItemType } from './types.js';
import { formatValue, parseValue } from './values.js';

export interface XmlOptions {
  registry?: Registry;
  /** Spaces per nesting level; 0 writes one line. */
  indent?: number;
}

/** Item tree → KMIP XML text. */
export function toXml(it: Item, options: XmlOptions = {}): string {
  const registry = options.registry ?? defaultRegistry;
  const indent = options.indent ?? 2;
  const out: string[] = [];
  writeXml(it, registry, indent, 0, it.tag, out);
  return out.join(indent > 0 ? '\n' : '');
}

function writeXml(it: Item, registry: Registry, indent: number, depth: number, nameTag: number, out: string[]): void {
  const pad = ' '.repeat(indent * depth);
  const known = registry.tag(it.tag);
  const open = known ? known.name : `TTLV tag="${hexTag(it.tag)}"`;
  const close = known ? known.name : 'TTLV';
  if (it.type === 'Structure') {
    if (it.value.length === 0) {
      out.push(`${pad}<${open}${known ? '' : ' type="Structure"'}/>`);
      return;
    }
    out.push(`${pad}<${open}${known ? '' : ' type="Structure"'}>`);
    const context = registry.siblingContext();
    for (const child of it.value) {
      writeXml(child, registry, indent, depth + 1, context(child.tag, child.type === 'TextString' ? child.value : undefined), out);
    }
    out.push(`${pad}</${close}>`);
    return;
  }
  out.push(`${pad}<${open} type="${it.type}" value="${escapeXml(formatValue(registry, it, ' ', nameTag))}"/>`);
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** KMIP XML text holding one top-level item → item tree. */
export function fromXml(text: string, options: { registry?: Registry; maxDepth?: number } = {}): Item {
  const items = fromXmlDocument(text, options);
  if (items.length !== 1) throw new TtlvError('SYNTAX', `expected one top-level element, found ${items.length}`, 0);
  return items[0]!;
}

/**
 * KMIP XML text → item trees. A root element that is not a KMIP tag (the `<KMIP>` wrapper of the
 * OASIS test-case files) is unwrapped, giving its children in order.
 */
export function fromXmlDocument(text: string, options: { registry?: Registry; maxDepth?: number } = {}): Item[] {
  const registry = options.registry ?? defaultRegistry;
  const maxDepth = options.maxDepth ?? 64;
  const root = new XmlReader(text, maxDepth + 1).document();
  if (root.name !== 'TTLV' && registry.tagByName(root.name) === undefined && root.attributes.type === undefined) {
    return root.children.map((child) => elementToItem(child, registry, 1, maxDepth));
  }
  return [elementToItem(root, registry, 1, maxDepth)];
}

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  offset: number;
}

function elementToItem(el: XmlElement, registry: Registry, depth: number, maxDepth: number, context?: (tag: number, text?: string) => number): Item {
  const tagText = el.name === 'TTLV' ? el.attributes.tag : el.name;
  const tag = tagText === undefined ? undefined : registry.parseTag(tagText);
  if (tag === undefined) {
    throw new TtlvError('UNKNOWN_NAME', `unknown tag ${JSON.stringify(tagText ?? el.name)}`, el.offset);
  }
  const type = el.attributes.type ?? 'Structure';
  if (!Object.hasOwn(ItemType, type)) throw new TtlvError('UNKNOWN_TYPE', `${el.name}: unknown type ${JSON.stringify(type)}`, el.offset);
  if (type === 'Structure') {
    if (el.attributes.value !== undefined) throw new TtlvError('BAD_VALUE', `${el.name}: a Structure has no value attribute`, el.offset);
    if (depth >= maxDepth) throw new TtlvError('TOO_DEEP', `structures nested deeper than ${maxDepth}`, el.offset);
    const children = registry.siblingContext();
    return { tag, type: 'Structure', value: el.children.map((child) => elementToItem(child, registry, depth + 1, maxDepth, children)) };
  }
  if (el.children.length > 0) throw new TtlvError('SYNTAX', `${el.name}: a ${type} has no child elements`, el.offset);
  const value = el.attributes.value;
  if (value === undefined) throw new TtlvError('BAD_VALUE', `${el.name}: missing value attribute`, el.offset);
  const nameTag = context ? context(tag, type === 'TextString' ? value : undefined) : tag;
  return parseValue(registry, tag, type as Exclude<ItemTypeName, 'Structure'>, value, el.offset, nameTag);
}

const NAME = /[A-Za-z_][A-Za-z0-9_.:-]*/y;
const SPACE = /\s*/y;
const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

class XmlReader {
  private at = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  document(): XmlElement {
    this.misc();
    if (this.text.startsWith('<?xml', this.at)) {
      const end = this.text.indexOf('?>', this.at);
      if (end < 0) this.fail('unterminated XML declaration');
      this.at = end + 2;
      this.misc();
    }
    const root = this.element(1);
    this.misc();
    if (this.at !== this.text.length) this.fail('content after the root element');
    return root;
  }

  /** Skips white space and comments. */
  private misc(): void {
    for (;;) {
      SPACE.lastIndex = this.at;
      SPACE.exec(this.text);
      this.at = SPACE.lastIndex;
      if (!this.text.startsWith('<!--', this.at)) return;
      const end = this.text.indexOf('-->', this.at + 4);
      if (end < 0) this.fail('unterminated comment');
      this.at = end + 3;
    }
  }

  private element(depth: number): XmlElement {
    if (depth > this.maxDepth) this.fail(`elements nested deeper than ${this.maxDepth}`, 'TOO_DEEP');
    const offset = this.at;
    if (this.text[this.at] !== '<') this.fail('expected an element');
    this.at++;
    const name = this.name();
    const attributes: Record<string, string> = {};
    for (;;) {
      this.misc();
      const c = this.text[this.at];
      if (c === '/' && this.text[this.at + 1] === '>') {
        this.at += 2;
        return { name, attributes, children: [], offset };
      }
      if (c === '>') {
        this.at++;
        break;
      }
      const attr = this.name();
      this.misc();
      if (this.text[this.at] !== '=') this.fail(`expected = after attribute ${attr}`);
      this.at++;
      this.misc();
      if (Object.hasOwn(attributes, attr)) this.fail(`duplicate attribute ${attr}`);
      attributes[attr] = this.quoted();
    }
    const children: XmlElement[] = [];
    for (;;) {
      this.misc();
      if (this.at >= this.text.length) this.fail(`unclosed element <${name}>`);
      if (this.text.startsWith('</', this.at)) {
        this.at += 2;
        const closing = this.name();
        if (closing !== name) this.fail(`</${closing}> closes <${name}>`);
        this.misc();
        if (this.text[this.at] !== '>') this.fail('expected >');
        this.at++;
        return { name, attributes, children, offset };
      }
      if (this.text[this.at] !== '<') this.fail('text content is not part of the KMIP XML encoding');
      children.push(this.element(depth + 1));
    }
  }

  private name(): string {
    NAME.lastIndex = this.at;
    const m = NAME.exec(this.text);
    if (!m) this.fail('expected a name');
    this.at = NAME.lastIndex;
    return m[0];
  }

  private quoted(): string {
    const quote = this.text[this.at];
    if (quote !== '"' && quote !== "'") this.fail('expected a quoted attribute value');
    const end = this.text.indexOf(quote, this.at + 1);
    if (end < 0) this.fail('unterminated attribute value');
    const raw = this.text.slice(this.at + 1, end);
    if (raw.includes('<')) this.fail('< in an attribute value');
    const start = this.at;
    this.at = end + 1;
    return raw.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);|&/g, (match, ref: string | undefined) => {
      if (ref === undefined) this.fail('bare & in an attribute value', 'SYNTAX', start);
      if (ref.startsWith('#')) {
        const code = ref[1] === 'x' ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
        if (code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff) || code === 0) this.fail(`bad character reference ${match}`, 'SYNTAX', start);
        return String.fromCodePoint(code);
      }
      const entity = Object.hasOwn(ENTITIES, ref) ? ENTITIES[ref] : undefined;
      if (entity === undefined) this.fail(`unknown entity ${match}`, 'SYNTAX', start);
      return entity;
    });
  }

  private fail(message: string, code: 'SYNTAX' | 'TOO_DEEP' = 'SYNTAX', at = this.at): never {
    throw new TtlvError(code, message, at);
  }
}

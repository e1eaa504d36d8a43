/**
 * The KMIP JSON encoding (KMIP Profiles 2.1 §5.5; Additional Message Encodings 1.0 §4.1):
 * every item is `{"tag": name or "0x42XXXX", "type": ..., "value": ...}`; a Structure's value is
 * an array and its type may be omitted. Masks are names joined by `|`.
 */
import { TtlvError } from './errors.js';
import { type Registry, registry as defaultRegistry } from './registry.js';
import { type Item, type ItemTypeName, ItemType } from './types.js';
import { formatValue, parseValue } from './values.js';

export interface JsonItem {
  tag: string;
  type?: string;
  value: JsonItem[] | string | number | boolean;
}

/** Item tree → KMIP JSON object tree. `nameTag` names the values (see Registry.siblingContext). */
export function toJson(it: Item, registry: Registry = defaultRegistry, nameTag = it.tag): JsonItem {
  const tag = registry.tagName(it.tag);
  if (it.type === 'Structure') {
    const context = registry.siblingContext();
    return { tag, value: it.value.map((child) => toJson(child, registry, context(child.tag, textOf(child)))) };
  }
  if (it.placeholder === undefined) {
    switch (it.type) {
      case 'Integer':
        if (registry.tag(nameTag)?.mask === undefined) return { tag, type: it.type, value: it.value };
        break;
      case 'Interval':
      case 'Boolean':
        return { tag, type: it.type, value: it.value };
      case 'LongInteger':
        if (it.value >= BigInt(Number.MIN_SAFE_INTEGER) && it.value <= BigInt(Number.MAX_SAFE_INTEGER)) {
          return { tag, type: it.type, value: Number(it.value) };
        }
        return { tag, type: it.type, value: '0x' + BigInt.asUintN(64, it.value).toString(16).padStart(16, '0') };
      case 'BigInteger':
        return { tag, type: it.type, value: '0x' + formatValue(registry, it, '|') };
      default:
        break;
    }
  }
  return { tag, type: it.type, value: formatValue(registry, it, '|', nameTag) };
}

function textOf(it: Item): string | undefined {
  return it.type === 'TextString' ? it.value : undefined;
}

export function toJsonText(it: Item, registry: Registry = defaultRegistry, indent?: number): string {
  return JSON.stringify(toJson(it, registry), null, indent);
}

/** KMIP JSON text → item tree. */
export function fromJsonText(text: string, registry: Registry = defaultRegistry): Item {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TtlvError('SYNTAX', `not JSON: ${(err as Error).message}`, 0);
  }
  return fromJson(parsed, registry);
}

/** KMIP JSON object tree → item tree. JSON has no byte offsets: errors carry offset 0 and name the tag. */
export function fromJson(node: unknown, registry: Registry = defaultRegistry, depth = 1, maxDepth = 64, context?: (tag: number, text?: string) => number): Item {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) {
    throw new TtlvError('SYNTAX', 'a KMIP JSON item is an object with tag, type and value', 0);
  }
  const { tag: tagText, type: typeText, value } = node as Record<string, unknown>;
  if (typeof tagText !== 'string') throw new TtlvError('SYNTAX', 'item without a "tag" string', 0);
  const tag = registry.parseTag(tagText);
  if (tag === undefined) throw new TtlvError('UNKNOWN_NAME', `unknown tag ${JSON.stringify(tagText)}`, 0);
  const type = typeText === undefined && Array.isArray(value) ? 'Structure' : typeText;
  if (typeof type !== 'string' || !Object.hasOwn(ItemType, type)) {
    throw new TtlvError('UNKNOWN_TYPE', `${tagText}: unknown or missing type ${JSON.stringify(type)}`, 0);
  }
  if (type === 'Structure') {
    if (!Array.isArray(value)) throw new TtlvError('BAD_VALUE', `${tagText}: a Structure's value is an array`, 0);
    if (depth >= maxDepth) throw new TtlvError('TOO_DEEP', `structures nested deeper than ${maxDepth}`, 0);
    const children = registry.siblingContext();
    return { tag, type, value: value.map((child) => fromJson(child, registry, depth + 1, maxDepth, children)) };
  }
  const leafType = type as Exclude<ItemTypeName, 'Structure'>;
  const nameTag = context ? context(tag, leafType === 'TextString' && typeof value === 'string' ? value : undefined) : tag;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new TtlvError('BAD_VALUE', `${tagText}: ${value} is not a whole number`, 0);
    if (leafType === 'Integer' || leafType === 'Enumeration' || leafType === 'Interval' || leafType === 'LongInteger') {
      return parseValue(registry, tag, leafType, String(value), 0, nameTag);
    }
  }
  if (typeof value === 'boolean' && leafType === 'Boolean') return { tag, type: leafType, value };
  if (typeof value !== 'string') throw new TtlvError('BAD_VALUE', `${tagText}: ${JSON.stringify(value)} is not a ${leafType} value`, 0);
  return parseValue(registry, tag, leafType, value, 0, nameTag);
}


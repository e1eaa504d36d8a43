/**
 * The KMIP registry (schemas/kmip-registry.json) indexed for the codec: tag names and numbers,
 * item types, and the enumeration and mask names each tag's values use. The codec learns
 * meaning only from here; a registry built from other data (vendor tags) can be passed instead.
 */
import data from '../../schemas/kmip-registry.json' with { type: 'json' };
import type { ItemTypeName } from './types.js';

export interface RegistryData {
  versions: string[];
  tags: {
    name: string;
    title: string;
    value: string;
    types: string[];
    enumeration?: string;
    mask?: string;
    aliases?: string[];
    versions: string[];
  }[];
  enumerations: RegistryValueSet[];
  masks: RegistryValueSet[];
}

interface RegistryValueSet {
  name: string;
  title: string;
  tags: string[];
  values: { name: string; title: string; value: string; versions: string[] }[];
}

export interface TagInfo {
  readonly name: string;
  readonly title: string;
  readonly value: number;
  /** Item types this tag may carry; empty where the spec says it varies (Attribute Value). */
  readonly types: readonly ItemTypeName[];
  readonly enumeration: ValueSet | undefined;
  readonly mask: ValueSet | undefined;
  readonly versions: readonly string[];
}

export class ValueSet {
  readonly byName = new Map<string, number>();
  readonly byValue = new Map<number, string>();
  /** Mask bits in ascending order, for writing a mask value as names. */
  readonly bits: [number, string][] = [];
  /** The protocol versions each value exists in, by name. */
  readonly versions = new Map<string, readonly string[]>();

  constructor(
    readonly name: string,
    readonly title: string,
    values: RegistryValueSet['values'],
  ) {
    for (const v of values) {
      const n = Number.parseInt(v.value, 16);
      this.byName.set(v.name, n);
      this.versions.set(v.name, v.versions);
      if (!this.byValue.has(n)) this.byValue.set(n, v.name);
      this.bits.push([n, v.name]);
    }
    this.bits.sort((a, b) => a[0] - b[0]);
  }
}

export class Registry {
  private readonly tagsByValue = new Map<number, TagInfo>();
  private readonly tagsByName = new Map<string, TagInfo>();
  private readonly tagsByTitle = new Map<string, TagInfo>();
  readonly versions: readonly string[];
  private readonly attributeName: number | undefined;
  private readonly attributeValue: number | undefined;

  constructor(source: RegistryData) {
    this.versions = source.versions;
    const enums = new Map(source.enumerations.map((e) => [e.name, new ValueSet(e.name, e.title, e.values)]));
    const masks = new Map(source.masks.map((m) => [m.name, new ValueSet(m.name, m.title, m.values)]));
    for (const t of source.tags) {
      const info: TagInfo = {
        name: t.name,
        title: t.title,
        value: Number.parseInt(t.value, 16),
        types: t.types as ItemTypeName[],
        enumeration: t.enumeration === undefined ? undefined : enums.get(t.enumeration),
        mask: t.mask === undefined ? undefined : masks.get(t.mask),
        versions: t.versions,
      };
      this.tagsByValue.set(info.value, info);
      this.tagsByName.set(t.name, info);
      if (!this.tagsByTitle.has(t.title)) this.tagsByTitle.set(t.title, info);
      for (const alias of t.aliases ?? []) this.tagsByName.set(alias, info);
    }
    this.attributeName = this.tagsByName.get('AttributeName')?.value;
    this.attributeValue = this.tagsByName.get('AttributeValue')?.value;
  }

  /**
   * Which tag's enumeration or mask names a value, given the siblings before it. In a KMIP 1.x
   * Attribute (§2.1.1) the Attribute Value's meaning comes from the Attribute Name before it
   * ("Cryptographic Algorithm" → its enumeration), so callers walk a structure's children in
   * order through one of these.
   */
  siblingContext(): (tag: number, text?: string) => number {
    let named: number | undefined;
    return (tag, text) => {
      if (tag === this.attributeName && text !== undefined) named = this.tagsByTitle.get(text)?.value;
      return tag === this.attributeValue ? (named ?? tag) : tag;
    };
  }

  tag(value: number): TagInfo | undefined {
    return this.tagsByValue.get(value);
  }

  tagByName(name: string): TagInfo | undefined {
    return this.tagsByName.get(name);
  }

  /** The tag's encoding name, or `0x42XXXX` for a tag the registry does not know. */
  tagName(value: number): string {
    return this.tagsByValue.get(value)?.name ?? hexTag(value);
  }

  /** Parses a tag written as a name or as `0x` hex; undefined if neither. */
  parseTag(text: string): number | undefined {
    const known = this.tagsByName.get(text);
    if (known) return known.value;
    if (/^0x[0-9a-fA-F]{6}$/.test(text)) return Number.parseInt(text, 16);
    return undefined;
  }

  allTags(): IterableIterator<TagInfo> {
    return this.tagsByValue.values();
  }
}

export function hexTag(value: number): string {
  return '0x' + value.toString(16).toUpperCase().padStart(6, '0');
}

export function hex32(value: number): string {
  return '0x' + value.toString(16).toUpperCase().padStart(8, '0');
}

/** The registry generated from the KMIP 1.4 and 2.1 specifications. */
export const registry = new Registry(data as RegistryData);

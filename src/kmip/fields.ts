/**
 * Reading a KMIP structure's fields by tag, with refusals that name the field. Payload parsers use
 * this instead of walking item arrays by hand: `fields.text(Tag.UniqueIdentifier)`.
 */
import { type Item, type LeafItem, type StructureItem, type ItemTypeName, type ValueOf, registry } from '../ttlv/index.js';
import { KmipError } from './errors.js';

export class Fields {
  constructor(readonly item: StructureItem) {}

  static of(item: Item | undefined, what: string): Fields {
    if (item === undefined || item.type !== 'Structure') throw new KmipError('InvalidMessage', `${what} must be a Structure`);
    return new Fields(item);
  }

  all(tag: number): Item[] {
    return this.item.value.filter((child) => child.tag === tag);
  }

  has(tag: number): boolean {
    return this.item.value.some((child) => child.tag === tag);
  }

  /** The single field with this tag, or undefined; more than one is an Invalid Message (KMIP 1.4 §11.1). */
  optional(tag: number): Item | undefined {
    let found: Item | undefined;
    for (const child of this.item.value) {
      if (child.tag !== tag) continue;
      if (found) throw new KmipError('InvalidMessage', `${name(tag)} appears more than once in ${name(this.item.tag)}`);
      found = child;
    }
    return found;
  }

  required(tag: number): Item {
    const found = this.optional(tag);
    if (found === undefined) throw new KmipError('InvalidMessage', `${name(this.item.tag)} is missing ${name(tag)}`);
    return found;
  }

  /** The value of an optional single field of the given type. */
  get<T extends Exclude<ItemTypeName, 'Structure'>>(tag: number, type: T): ValueOf<T> | undefined {
    const found = this.optional(tag);
    return found === undefined ? undefined : ((expectType(found, type) as LeafItem).value as ValueOf<T>);
  }

  /** The value of a required single field of the given type. */
  need<T extends Exclude<ItemTypeName, 'Structure'>>(tag: number, type: T): ValueOf<T> {
    return (expectType(this.required(tag), type) as LeafItem).value as ValueOf<T>;
  }

  /** Every value of a repeatable field of the given type. */
  values<T extends Exclude<ItemTypeName, 'Structure'>>(tag: number, type: T): ValueOf<T>[] {
    return this.all(tag).map((it) => (expectType(it, type) as LeafItem).value as ValueOf<T>);
  }

  struct(tag: number): Fields | undefined {
    const found = this.optional(tag);
    return found === undefined ? undefined : Fields.of(found, name(tag));
  }

  needStruct(tag: number): Fields {
    return Fields.of(this.required(tag), name(tag));
  }
}

export function expectType<T extends ItemTypeName>(it: Item, type: T): Extract<Item, { type: T }> {
  if (it.type !== type) throw new KmipError('InvalidMessage', `${name(it.tag)} must be a ${type}, not a ${it.type}`);
  return it as Extract<Item, { type: T }>;
}

export function name(tag: number): string {
  return registry.tag(tag)?.title ?? registry.tagName(tag);
}

export type { LeafItem };

/**
 * The TTLV item tree: what every encoding (binary, JSON, XML) decodes to and encodes from.
 * KMIP 2.1 §10.1: an item is Tag (3 bytes), Type (1 byte), Length (4 bytes), Value (padded to 8).
 */

/** Item type codes, KMIP 2.1 §11.23 (Item Type Enumeration). */
export const ItemType = {
  Structure: 0x01,
  Integer: 0x02,
  LongInteger: 0x03,
  BigInteger: 0x04,
  Enumeration: 0x05,
  Boolean: 0x06,
  TextString: 0x07,
  ByteString: 0x08,
  DateTime: 0x09,
  Interval: 0x0a,
  DateTimeExtended: 0x0b,
} as const;

export type ItemTypeName = keyof typeof ItemType;

export const itemTypeNames: readonly ItemTypeName[] = Object.keys(ItemType) as ItemTypeName[];

const typeNameByCode: (ItemTypeName | undefined)[] = [];
for (const name of itemTypeNames) typeNameByCode[ItemType[name]] = name;

export function itemTypeName(code: number): ItemTypeName | undefined {
  return typeNameByCode[code];
}

interface Leaf<T extends ItemTypeName, V> {
  tag: number;
  type: T;
  value: V;
  /**
   * A symbolic value such as `$NOW` or `$KEY_MATERIAL_0` read from a JSON/XML test case where
   * the field's type cannot hold text. `value` then holds the type's zero. Binary encoding
   * refuses such items: resolve them first (see `resolvePlaceholders`).
   */
  placeholder?: string;
}

export type StructureItem = { tag: number; type: 'Structure'; value: Item[] };
export type IntegerItem = Leaf<'Integer', number>;
export type LongIntegerItem = Leaf<'LongInteger', bigint>;
export type BigIntegerItem = Leaf<'BigInteger', bigint>;
export type EnumerationItem = Leaf<'Enumeration', number>;
export type BooleanItem = Leaf<'Boolean', boolean>;
export type TextStringItem = Leaf<'TextString', string>;
export type ByteStringItem = Leaf<'ByteString', Uint8Array>;
/** Seconds since the Unix epoch (KMIP Date-Time is a signed 64-bit count of seconds). */
export type DateTimeItem = Leaf<'DateTime', number>;
export type IntervalItem = Leaf<'Interval', number>;
/** Microseconds since the Unix epoch. */
export type DateTimeExtendedItem = Leaf<'DateTimeExtended', bigint>;

export type LeafItem =
  | IntegerItem
  | LongIntegerItem
  | BigIntegerItem
  | EnumerationItem
  | BooleanItem
  | TextStringItem
  | ByteStringItem
  | DateTimeItem
  | IntervalItem
  | DateTimeExtendedItem;

export type Item = StructureItem | LeafItem;

/** The value type each item type carries. */
export interface ValueTypes {
  Structure: Item[];
  Integer: number;
  LongInteger: bigint;
  BigInteger: bigint;
  Enumeration: number;
  Boolean: boolean;
  TextString: string;
  ByteString: Uint8Array;
  DateTime: number;
  Interval: number;
  DateTimeExtended: bigint;
}
export type ValueOf<T extends ItemTypeName> = ValueTypes[T];

/** The zero value of each type, used where a placeholder stands in for the value. */
export function zeroValue<T extends ItemTypeName>(type: T): ValueOf<T> {
  const zeros: ValueTypes = {
    Structure: [],
    Integer: 0,
    LongInteger: 0n,
    BigInteger: 0n,
    Enumeration: 0,
    Boolean: false,
    TextString: '',
    ByteString: new Uint8Array(0),
    DateTime: 0,
    Interval: 0,
    DateTimeExtended: 0n,
  };
  return zeros[type];
}

/** Builds an item; the tag is a number (use the generated `Tag` constants). */
export function item<T extends ItemTypeName>(tag: number, type: T, value: ValueOf<T>): Extract<Item, { type: T }> {
  return { tag, type, value } as Extract<Item, { type: T }>;
}

export function structure(tag: number, children: Item[]): StructureItem {
  return { tag, type: 'Structure', value: children };
}

export const MAX_TAG = 0xffffff;

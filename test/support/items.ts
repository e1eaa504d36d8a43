/** Small builders for the request payloads tests send. */
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';

export const text = (tag: number, value: string): Item => item(tag, 'TextString', value);
export const enumeration = (tag: number, value: number): Item => item(tag, 'Enumeration', value);
export const integer = (tag: number, value: number): Item => item(tag, 'Integer', value);
export const uid = (value: string): Item => text(Tag.UniqueIdentifier, value);
export const name = (value: string): Item =>
  structure(Tag.Name, [text(Tag.NameValue, value), enumeration(Tag.NameType, Enum.NameType.UninterpretedTextString)]);

/** A Symmetric Key object: an AES key in a Raw key block, its length from the bytes. */
export function aesKey(material: Uint8Array): Item {
  return structure(Tag.SymmetricKey, [
    structure(Tag.KeyBlock, [
      enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
      structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', material)]),
      enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES),
      integer(Tag.CryptographicLength, material.length * 8),
    ]),
  ]);
}

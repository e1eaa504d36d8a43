/** Request payloads the keyring tests send: Register known bytes and Create AES keys, in 2.1 and 1.4 form. */
import type { KmipClient } from '../../src/client/client.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, structure } from '../../src/ttlv/index.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';


const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);

/** Registers `material` as an AES key; answers its Unique Identifier. */
export async function registerKey(c: KmipClient, v2: boolean, label: string, material: Uint8Array): Promise<string> {
  const attrs = v2
    ? structure(Tag.Attributes, [name(label), integer(Tag.CryptographicUsageMask, 0x0c)])
    : structure(Tag.TemplateAttribute, [v1Attr('Name', name(label)), v1Attr('Cryptographic Usage Mask', integer(0, 0x0c))]);
  const r = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), attrs, aesKey(material)]);
  return r.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

/** Creates an AES-256 key; answers its Unique Identifier. */
export async function createKey(c: KmipClient, v2: boolean): Promise<string> {
  const attrs = v2
    ? structure(Tag.Attributes, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 256), integer(Tag.CryptographicUsageMask, 0x0c)])
    : structure(Tag.TemplateAttribute, [
        v1Attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.AES)),
        v1Attr('Cryptographic Length', integer(0, 256)),
        v1Attr('Cryptographic Usage Mask', integer(0, 0x0c)),
      ]);
  const r = await c.call('Create', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), attrs]);
  return r.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

/** The key bytes Get answers. */
export async function getKey(c: KmipClient, id: string): Promise<Buffer> {
  const r = await c.call('Get', [uid(id)]);
  return Buffer.from(r.payload!.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));
}

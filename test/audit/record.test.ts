/**
 * The request digest of an audit record: the batch item's TTLV with its secrets emptied, so two
 * requests that differ only in key material (or data) have one digest, and the digest tells
 * nothing about the secret; anything else in the request changes it.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { requestDigest } from '../../src/audit/record.js';
import { encode, item, type Item, structure } from '../../src/ttlv/index.js';

function register(keyBytes: Buffer, name: string): Item {
  return structure(Tag.BatchItem, [
    item(Tag.Operation, 'Enumeration', Enum.Operation.Register),
    structure(Tag.RequestPayload, [
      item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SecretData),
      structure(Tag.Attributes, [structure(Tag.Name, [item(Tag.NameValue, 'TextString', name), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)])]),
      structure(Tag.SecretData, [
        item(Tag.SecretDataType, 'Enumeration', Enum.SecretDataType.Password),
        structure(Tag.KeyBlock, [item(Tag.KeyFormatType, 'Enumeration', Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', keyBytes)])]),
      ]),
    ]),
  ]);
}

t.test('secrets do not reach the digest; everything else does', async (t) => {
  const a = requestDigest(register(Buffer.from('correct horse'), 'db'));
  t.match(a, /^[0-9a-f]{64}$/);
  t.equal(requestDigest(register(Buffer.from('battery staple'), 'db')), a, 'other key material, same digest');
  t.not(requestDigest(register(Buffer.from('correct horse'), 'db2')), a, 'another Name, another digest');
  t.not(a, createHash('sha256').update(encode(register(Buffer.from('correct horse'), 'db'))).digest('hex'), 'not the digest of the request as sent');
});

t.test('a request without secrets is digested as sent', async (t) => {
  const discover = structure(Tag.BatchItem, [item(Tag.Operation, 'Enumeration', Enum.Operation.DiscoverVersions), structure(Tag.RequestPayload, [])]);
  t.equal(requestDigest(discover), createHash('sha256').update(encode(discover)).digest('hex'));
});

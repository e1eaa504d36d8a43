/**
 * The Sensitive attribute (KMIP 2.1 §4.55, 1.4 §3.48) over real mutual TLS: "If True then the
 * server SHALL prevent the object value being retrieved (via the Get operation) unless it is wrapped
 * by another key" (OASIS BL-M-12-21). Export keeps the same rule (see import-export.test.ts).
 */
import { createDecipheriv, randomBytes } from 'node:crypto';
import t from 'tap';
import type { KmipClient } from '../../src/client/client.js';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, decode, item, structure } from '../../src/ttlv/index.js';
import { aesKey, enumeration, integer, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-sensitive-', 'sensitive-someone-else');
});
t.teardown(() => env.close());

const { WrapKey, UnwrapKey, Encrypt, Decrypt } = Mask.CryptographicUsageMask;
const nistKeyWrap = structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.NISTKeyWrap)]);

/** Registers (in KMIP 2.1 form) a known AES-256 key with the given attributes; answers its Unique Identifier. */
async function register(c: KmipClient, material: Buffer, ...attrs: Item[]): Promise<string> {
  const registered = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, attrs), aesKey(material)]);
  return registered.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

function keyBlock(payload: Fields): Fields {
  return payload.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock);
}

function wrappingSpec(kek: string): Item {
  return structure(Tag.KeyWrappingSpecification, [
    enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
    structure(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, kek), nistKeyWrap]),
  ]);
}

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;

  t.test(`${v}: Get of a Sensitive key is refused in plaintext and answered wrapped under a KEK`, async (t) => {
    const setup = await env.connect(V21);
    const c = await env.connect(version);
    const secret = randomBytes(32);
    const sensitive = await register(setup, secret, integer(Tag.CryptographicUsageMask, Encrypt | Decrypt), item(Tag.Sensitive, 'Boolean', true));
    const kekBytes = randomBytes(32);
    const kek = await register(setup, kekBytes, integer(Tag.CryptographicUsageMask, WrapKey | UnwrapKey), nistKeyWrap);
    await setup.call('Activate', [uid(kek)]);

    const plain = await refusal(c.call('Get', [uid(sensitive)]));
    t.equal(plain.reason, 'Sensitive', 'a plain Get is refused with Result Reason Sensitive (BL-M-12-21)');
    t.match(plain.message, /Sensitive/, 'the message says why');
    t.notOk(plain.message.includes(secret.toString('hex')), 'and holds no key material');

    const wrapped = await c.call('Get', [uid(sensitive), wrappingSpec(kek)]);
    const block = keyBlock(wrapped.payload!);
    const d = createDecipheriv('id-aes256-wrap', kekBytes, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    const keyValue = Fields.of(decode(Buffer.concat([d.update(block.need(Tag.KeyValue, 'ByteString')), d.final()])), 'Key Value');
    t.same(Buffer.from(keyValue.need(Tag.KeyMaterial, 'ByteString')), secret, 'the wrapped Get unwraps (RFC 3394, node:crypto) to the registered key');

    const ordinary = await register(setup, randomBytes(32), integer(Tag.CryptographicUsageMask, Encrypt | Decrypt));
    const got = await c.call('Get', [uid(ordinary)]);
    t.ok(keyBlock(got.payload!).needStruct(Tag.KeyValue).has(Tag.KeyMaterial), 'a key that is not Sensitive is still returned in plaintext');
    await Promise.all([setup.close(), c.close()]);
  });
}

t.test('2.1: Get Attributes of a Sensitive key still answers, with Always Sensitive true (BL-M-12-21)', async (t) => {
  const c = await env.connect(V21);
  const id = await register(c, randomBytes(32), integer(Tag.CryptographicUsageMask, Encrypt), item(Tag.Sensitive, 'Boolean', true));
  const attrs = await c.call('GetAttributes', [uid(id), enumeration(Tag.AttributeReference, Tag.AlwaysSensitive)]);
  t.equal(attrs.payload!.needStruct(Tag.Attributes).get(Tag.AlwaysSensitive, 'Boolean'), true);
  await c.close();
});

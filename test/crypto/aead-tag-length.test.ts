/**
 * Tag Length of AES-GCM and ChaCha20-Poly1305 Encrypt / Decrypt (src/crypto/cipher.ts): 12 to 16
 * bytes are accepted, and other lengths answer General Failure, as the mandatory OASIS cases
 * CS-BC-M-GCM-1 (1.4, 2.1) and CS-BC-M-CHACHA20POLY1305-1-21 expect, through a real kmipd over TLS.
 */
import { createCipheriv } from 'node:crypto';
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

const A = Enum.CryptographicAlgorithm;
const M = Enum.BlockCipherMode;
const U = Mask.CryptographicUsageMask;

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-aead-tag-', 'someone-else');
});
t.teardown(() => env.close());

const bytes = (tag: number, value: Uint8Array): Item => item(tag, 'ByteString', value);
const KEY = Buffer.alloc(32, 0x42);
const NONCE = Buffer.alloc(12);
const PLAIN = Buffer.alloc(16);

async function registerKey(alg: number): Promise<string> {
  const c = await env.connect(V21);
  const r = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, U.Encrypt | U.Decrypt)]),
    structure(Tag.SymmetricKey, [
      structure(Tag.KeyBlock, [
        enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
        structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, KEY)]),
        enumeration(Tag.CryptographicAlgorithm, alg),
        integer(Tag.CryptographicLength, 256),
      ]),
    ]),
  ]);
  const id = r.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  await c.close();
  return id;
}

const CIPHERS = [
  { title: 'AES-GCM', alg: A.AES, mode: M.GCM, node: 'aes-256-gcm' },
  { title: 'ChaCha20-Poly1305', alg: A.ChaCha20Poly1305, mode: M.AEAD, node: 'chacha20-poly1305' },
] as const;

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;
  for (const cipher of CIPHERS) {
    if (cipher.alg === A.ChaCha20Poly1305 && version.major < 2) continue; // ChaCha20-Poly1305 is a 2.0 algorithm
    t.test(`${v}: ${cipher.title} takes Tag Lengths 12 to 16; 1 and 32 are General Failure`, async (t) => {
      const id = await registerKey(cipher.alg);
      const c = await env.connect(version);
      const params = (tagLength: number): Item => structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, cipher.mode), integer(Tag.TagLength, tagLength)]);
      for (const tagLength of [12, 16]) {
        const out = await c.call('Encrypt', [uid(id), params(tagLength), bytes(Tag.Data, PLAIN), bytes(Tag.IVCounterNonce, NONCE)]);
        // (node's typings pick the overload from one literal type; both ciphers take authTagLength)
        const local = createCipheriv(cipher.node as 'aes-256-gcm', KEY, NONCE, { authTagLength: 16 });
        local.update(PLAIN);
        local.final();
        const tag = out.payload!.need(Tag.AuthenticatedEncryptionTag, 'ByteString');
        t.same(Buffer.from(tag), local.getAuthTag().subarray(0, tagLength), `Tag Length ${tagLength}: the first ${tagLength} bytes of the full tag`);
      }
      for (const tagLength of [1, 32]) {
        const refused = await refusal(c.call('Encrypt', [uid(id), params(tagLength), bytes(Tag.Data, PLAIN), bytes(Tag.IVCounterNonce, NONCE)]));
        t.equal(refused.reason, 'GeneralFailure', `Tag Length ${tagLength} on Encrypt`);
        t.match(refused.message, new RegExp(`Tag Length ${tagLength} is not accepted for ${cipher.title}: 12 to 16 bytes`));
        const onDecrypt = await refusal(c.call('Decrypt', [uid(id), params(tagLength), bytes(Tag.Data, PLAIN), bytes(Tag.IVCounterNonce, NONCE), bytes(Tag.AuthenticatedEncryptionTag, Buffer.alloc(tagLength))]));
        t.equal(onDecrypt.reason, 'GeneralFailure', `Tag Length ${tagLength} on Decrypt`);
      }
      await c.close();
    });
  }
}

/**
 * MAC and MAC Verify with the keys the OASIS CS-AC-M-4..6 cases register: an AES key whose
 * Cryptographic Parameters attribute names HMAC_SHA256 computes HMAC-SHA256 over its bytes
 * (src/crypto/mac.ts), through a real kmipd over mutual TLS, in 2.1 and 1.4 form.
 */
import { createHmac } from 'node:crypto';
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { aesKey, enumeration, integer, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

const A = Enum.CryptographicAlgorithm;
const U = Mask.CryptographicUsageMask;

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-mac-', 'someone-else');
});
t.teardown(() => env.close());

const bytes = (tag: number, value: Uint8Array): Item => item(tag, 'ByteString', value);
const params = (...fields: Item[]): Item => structure(Tag.CryptographicParameters, fields);
const algorithm = (a: number): Item => enumeration(Tag.CryptographicAlgorithm, a);
const attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);

// CS-AC-M-4-21: key, data and MAC.
const KEY = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
const DATA = Buffer.from('01020304050607080910111213141516', 'hex');
const OASIS_MAC = 'c911e78196d64c30f631bb079ea37b97a95936d4da764d6a171df030c895ecf9';

/** A Symmetric Key object in a Raw key block. */
function symmetricKey(material: Uint8Array, alg: number): Item {
  return structure(Tag.SymmetricKey, [
    structure(Tag.KeyBlock, [
      enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
      structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, material)]),
      algorithm(alg),
      integer(Tag.CryptographicLength, material.length * 8),
    ]),
  ]);
}

/** Registers an Active key with the MAC usage bits; `attributes` in 2.1 form (sent as 2.1 whatever the test's version). */
async function register(material: Uint8Array, alg: number, attributes: Item[]): Promise<string> {
  const c = await env.connect(V21);
  const r = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, U.MACGenerate | U.MACVerify | U.Encrypt | U.Decrypt), ...attributes]),
    symmetricKey(material, alg),
  ]);
  const id = r.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  await c.close();
  return id;
}

async function macOf(c: KmipClient, payload: Item[]): Promise<string> {
  return Buffer.from((await c.call('MAC', payload)).payload!.need(Tag.MACData, 'ByteString')).toString('hex');
}

async function verdict(c: KmipClient, payload: Item[]): Promise<number> {
  return (await c.call('MACVerify', payload)).payload!.need(Tag.ValidityIndicator, 'Enumeration');
}

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;
  t.test(`${v}: an AES key whose Cryptographic Parameters name HMAC_SHA256 MACs with HMAC-SHA256 (CS-AC-M-4..6)`, async (t) => {
    const id = await register(KEY, A.AES, [params(algorithm(A.HMAC_SHA256))]);
    const c = await env.connect(version);
    t.equal(await macOf(c, [uid(id), bytes(Tag.Data, DATA)]), OASIS_MAC, 'the MAC the OASIS reference server computed');
    t.equal(await verdict(c, [uid(id), bytes(Tag.Data, DATA), bytes(Tag.MACData, Buffer.from(OASIS_MAC, 'hex'))]), Enum.ValidityIndicator.Valid, 'MAC Verify accepts it');
    const wrong = Buffer.from(OASIS_MAC, 'hex');
    wrong[31] = wrong[31]! ^ 1;
    t.equal(await verdict(c, [uid(id), bytes(Tag.Data, DATA), bytes(Tag.MACData, wrong)]), Enum.ValidityIndicator.Invalid, 'and answers Invalid for another MAC');
    await c.close();
  });

  t.test(`${v}: the request may name the HMAC for a plain AES key; an HMAC key keeps its own hash`, async (t) => {
    const aes = await register(KEY, A.AES, []);
    const hmac = await register(KEY, A.HMAC_SHA256, []);
    const c = await env.connect(version);
    const sha384 = createHmac('sha384', KEY).update(DATA).digest('hex');
    t.equal(await macOf(c, [uid(aes), params(algorithm(A.HMAC_SHA384)), bytes(Tag.Data, DATA)]), sha384, 'HMAC-SHA384 named in the request');
    const cmac = await macOf(c, [uid(aes), bytes(Tag.Data, DATA)]);
    t.equal(cmac.length, 32, 'without an HMAC named, an AES key still computes AES-CMAC (16 bytes)');
    t.equal(await macOf(c, [uid(hmac), bytes(Tag.Data, DATA)]), OASIS_MAC, 'an HMAC_SHA256 key computes HMAC-SHA256');
    const other = await refusal(c.call('MAC', [uid(hmac), params(algorithm(A.HMAC_SHA512)), bytes(Tag.Data, DATA)]));
    t.equal(other.reason, version.major >= 2 ? 'BadCryptographicParameters' : 'InvalidField', 'HMAC-SHA512 of an HMAC-SHA256 key is refused');
    const cmacOfHmac = await refusal(c.call('MAC', [uid(hmac), params(algorithm(A.AES)), bytes(Tag.Data, DATA)]));
    t.equal(cmacOfHmac.reason, version.major >= 2 ? 'BadCryptographicParameters' : 'InvalidField', 'AES-CMAC of an HMAC key is refused');
    await c.close();
  });
}

t.test('1.4: the Cryptographic Parameters given as a 1.x Template-Attribute work alike', async (t) => {
  const c = await env.connect(V14);
  const r = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.TemplateAttribute, [attr('Cryptographic Usage Mask', integer(Tag.CryptographicUsageMask, U.MACGenerate)), attr('Cryptographic Parameters', params(algorithm(A.HMAC_SHA256)))]),
    aesKey(KEY),
  ]);
  const id = r.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  t.equal(await macOf(c, [uid(id), bytes(Tag.Data, DATA)]), OASIS_MAC);
  await c.close();
});

/**
 * RSA OAEP with a Mask Generator Hashing Algorithm other than the Hashing Algorithm
 * (src/crypto/oaep.ts): the padding against OpenSSL's where the hashes agree, the OASIS
 * CS-AC-M-OAEP-8 vector (SHA-384 with MGF1 SHA-256, from the reference server), one error for
 * every decoding failure, and Encrypt / Decrypt through a real kmipd over mutual TLS.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type KeyObject, constants, createPrivateKey, createPublicKey, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { OaepDecodeError, OaepLengthError, oaepDecrypt, oaepEncrypt } from '../../src/crypto/oaep.js';
import { enumeration, integer, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { testcasesDir } from '../support/shared.js';

const H = Enum.HashingAlgorithm;
const U = Mask.CryptographicUsageMask;

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const MESSAGE = Buffer.from('an OAEP block under a 2048-bit key');

t.test('with one hash for both, the padding is OpenSSL\'s: each side decrypts the other\'s', async (t) => {
  for (const hash of ['sha1', 'sha256', 'sha384', 'sha512']) {
    for (const label of [undefined, Buffer.from('a label')]) {
      const what = `${hash}${label ? ' with a label' : ''}`;
      const ours = oaepEncrypt(publicKey, MESSAGE, { hash, mgf1Hash: hash, ...(label ? { label } : {}) });
      t.same(privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, ...(label ? { oaepLabel: label } : {}) }, ours), MESSAGE, `node decrypts ours (${what})`);
      const nodes = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, ...(label ? { oaepLabel: label } : {}) }, MESSAGE);
      t.same(oaepDecrypt(privateKey, nodes, { hash, mgf1Hash: hash, ...(label ? { label } : {}) }), MESSAGE, `we decrypt node's (${what})`);
    }
  }
});

/** Hex values of the elements named `tag` in an OASIS file, in order. */
function hexValues(file: string, tag: string): string[] {
  const xml = readFileSync(file, 'utf8');
  return [...xml.matchAll(new RegExp(`<${tag} type="ByteString" value="([0-9a-fA-F]*)"`, 'g'))].map((m) => m[1]!);
}

const OAEP_8 = join(testcasesDir, 'v2.1', 'mandatory', 'CS-AC-M-OAEP-8-21.xml');
const [oasisKeyHex] = hexValues(OAEP_8, 'KeyMaterial');
const [oasisCiphertext, oasisPlaintext] = hexValues(OAEP_8, 'Data');
const oasisKey = createPrivateKey({ key: Buffer.from(oasisKeyHex!, 'hex'), format: 'der', type: 'pkcs1' });
const SHA384_MGF256 = { hash: 'sha384', mgf1Hash: 'sha256' };

t.test('SHA-384 with MGF1 SHA-256: the OASIS CS-AC-M-OAEP-8 ciphertext decrypts; our ciphertexts round-trip', async (t) => {
  t.equal(oaepDecrypt(oasisKey, Buffer.from(oasisCiphertext!, 'hex'), SHA384_MGF256).toString('hex'), oasisPlaintext, 'the reference server\'s ciphertext');
  const pub = createPublicKey(oasisKey);
  const again = oaepEncrypt(pub, Buffer.from(oasisPlaintext!, 'hex'), SHA384_MGF256);
  t.not(again.toString('hex'), oasisCiphertext, 'OAEP is randomised');
  t.equal(oaepDecrypt(oasisKey, again, SHA384_MGF256).toString('hex'), oasisPlaintext);
  t.throws(() => privateDecrypt({ key: oasisKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha384' }, again), 'OpenSSL with MGF1 over SHA-384 does not decrypt it: the MGF1 hash matters');
  const empty = oaepEncrypt(pub, Buffer.alloc(0), { hash: 'sha256', mgf1Hash: 'sha1' });
  t.same(oaepDecrypt(oasisKey, empty, { hash: 'sha256', mgf1Hash: 'sha1' }), Buffer.alloc(0), 'an empty message');
  const room = 256 - 2 * 48 - 2;
  t.equal(oaepDecrypt(oasisKey, oaepEncrypt(pub, Buffer.alloc(room, 7), SHA384_MGF256), SHA384_MGF256).length, room, `the longest message, ${room} bytes`);
  t.throws(() => oaepEncrypt(pub, Buffer.alloc(room + 1), SHA384_MGF256), OaepLengthError, 'one byte more is refused');
});

t.test('every decoding failure is the same OaepDecodeError, whatever went wrong', async (t) => {
  const good = oaepEncrypt(publicKey, MESSAGE, { hash: 'sha384', mgf1Hash: 'sha256', label: Buffer.from('L') });
  const opts = { hash: 'sha384', mgf1Hash: 'sha256', label: Buffer.from('L') };
  const flipped = Buffer.from(good);
  flipped[100] = flipped[100]! ^ 1;
  const modulus = Buffer.from(privateKey.export({ format: 'jwk' }).n!, 'base64url');
  const cases: [string, () => unknown][] = [
    ['a flipped ciphertext bit', () => oaepDecrypt(privateKey, flipped, opts)],
    ['another label', () => oaepDecrypt(privateKey, good, { ...opts, label: Buffer.from('M') })],
    ['another MGF1 hash', () => oaepDecrypt(privateKey, good, { ...opts, mgf1Hash: 'sha1' })],
    ['another OAEP hash', () => oaepDecrypt(privateKey, good, { ...opts, hash: 'sha512' })],
    ['a short ciphertext', () => oaepDecrypt(privateKey, good.subarray(1), opts)],
    ['a ciphertext equal to the modulus', () => oaepDecrypt(privateKey, modulus, opts)],
    ['random bytes', () => oaepDecrypt(privateKey, randomBytes(256), opts)],
  ];
  for (const [what, run] of cases) {
    t.throws(run, { name: 'OaepDecodeError', message: 'decryption error' }, what);
  }
  t.type(new OaepDecodeError(), Error);
});

// ——— through kmipd ———

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-oaep-', 'someone-else');
});
t.teardown(() => env.close());

const bytes = (tag: number, value: Uint8Array): Item => item(tag, 'ByteString', value);
const oaep = (hash: number, mgf?: number): Item =>
  structure(Tag.CryptographicParameters, [
    enumeration(Tag.PaddingMethod, Enum.PaddingMethod.OAEP),
    enumeration(Tag.HashingAlgorithm, hash),
    enumeration(Tag.MaskGenerator, Enum.MaskGenerator.MGF1),
    ...(mgf === undefined ? [] : [enumeration(Tag.MaskGeneratorHashingAlgorithm, mgf)]),
  ]);
const dataOf = (r: Awaited<ReturnType<KmipClient['call']>>): Buffer => Buffer.from(r.payload!.need(Tag.Data, 'ByteString'));

async function rsaPair(c: KmipClient): Promise<{ priv: string; pub: string; key: KeyObject }> {
  const created = await c.call('CreateKeyPair', [
    structure(Tag.CommonAttributes, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.RSA), integer(Tag.CryptographicLength, 2048)]),
    structure(Tag.PrivateKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Decrypt)]),
    structure(Tag.PublicKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Encrypt)]),
  ]);
  const priv = created.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString');
  const pub = created.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(priv)]);
  await c.call('Activate', [uid(pub)]);
  const got = await c.call('Get', [uid(priv), enumeration(Tag.KeyFormatType, Enum.KeyFormatType.PKCS_1)]);
  const der = got.payload!.needStruct(Tag.PrivateKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
  return { priv, pub, key: createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }) };
}

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;
  t.test(`${v}: Encrypt and Decrypt honour a Mask Generator Hashing Algorithm other than the Hashing Algorithm`, async (t) => {
    // 2.1 Create Key Pair (any client version may use the keys).
    const setup = await env.connect(V21);
    const { priv, pub, key } = await rsaPair(setup);
    await setup.close();
    const c = await env.connect(version);
    const secret = randomBytes(48);

    const enc = dataOf(await c.call('Encrypt', [uid(pub), oaep(H.SHA_384, H.SHA_256), bytes(Tag.Data, secret)]));
    t.same(oaepDecrypt(key, enc, SHA384_MGF256), secret, 'the ciphertext is SHA-384 OAEP with MGF1 SHA-256');
    t.same(dataOf(await c.call('Decrypt', [uid(priv), oaep(H.SHA_384, H.SHA_256), bytes(Tag.Data, enc)])), secret, 'and kmipd decrypts it back');
    const wrongMgf = await refusal(c.call('Decrypt', [uid(priv), oaep(H.SHA_384, H.SHA_384), bytes(Tag.Data, enc)]));
    t.equal(wrongMgf.reason, 'CryptographicFailure', 'decrypting with MGF1 over SHA-384 fails');

    // 2.1 Table 59: an omitted Mask Generator Hashing Algorithm is SHA-1, whatever the OAEP hash.
    const byDefault = dataOf(await c.call('Encrypt', [uid(pub), oaep(H.SHA_256), bytes(Tag.Data, secret)]));
    t.same(oaepDecrypt(key, byDefault, { hash: 'sha256', mgf1Hash: 'sha1' }), secret, 'OAEP SHA-256 without a MGF1 hash uses MGF1 SHA-1');
    t.same(dataOf(await c.call('Decrypt', [uid(priv), oaep(H.SHA_256, H.SHA_1), bytes(Tag.Data, byDefault)])), secret);

    const same = dataOf(await c.call('Encrypt', [uid(pub), oaep(H.SHA_256, H.SHA_256), bytes(Tag.Data, secret)]));
    t.same(privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, same), secret, 'equal hashes still run on OpenSSL\'s OAEP');

    const tooLong = await refusal(c.call('Encrypt', [uid(pub), oaep(H.SHA_384, H.SHA_256), bytes(Tag.Data, Buffer.alloc(159))]));
    t.equal(tooLong.reason, 'InvalidField', 'more Data than one block takes (158 bytes) is refused');
    t.match(tooLong.message, /at most 158 bytes/);
    const garbage = await refusal(c.call('Decrypt', [uid(priv), oaep(H.SHA_384, H.SHA_256), bytes(Tag.Data, randomBytes(256))]));
    t.equal(garbage.reason, 'CryptographicFailure', 'a ciphertext that does not decode');
    t.equal(garbage.message, wrongMgf.message, 'with the same message as any other decoding failure');
    await c.close();
  });
}

t.test('2.1: the OASIS CS-AC-M-OAEP-8 key, registered with SHA-384 / MGF1 SHA-256 parameters, decrypts the reference ciphertext', async (t) => {
  const c = await env.connect(V21);
  const registered = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.PrivateKey),
    structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, U.Decrypt), oaep(H.SHA_384, H.SHA_256)]),
    structure(Tag.PrivateKey, [
      structure(Tag.KeyBlock, [
        enumeration(Tag.KeyFormatType, Enum.KeyFormatType.PKCS_1),
        structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from(oasisKeyHex!, 'hex'))]),
        enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.RSA),
        integer(Tag.CryptographicLength, 2048),
      ]),
    ]),
  ]);
  const id = registered.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  const plain = dataOf(await c.call('Decrypt', [uid(id), bytes(Tag.Data, Buffer.from(oasisCiphertext!, 'hex'))]));
  t.equal(plain.toString('hex'), oasisPlaintext, 'the key\'s Cryptographic Parameters attribute supplies both hashes');
  await c.close();
});

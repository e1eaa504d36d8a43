/**
 * Encrypt and Decrypt end to end: a kmipd over mutual TLS (SQLite store, SoftHSM2 keyring), keys
 * Registered with known bytes so every answer is checked against a published vector or against
 * node:crypto run here independently, in KMIP 2.1 and 1.4 form, with the refusals' Result Reasons.
 */
import { createCipheriv, createDecipheriv, createPublicKey, publicEncrypt, constants, randomBytes } from 'node:crypto';
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import type { KmipClient } from '../../src/client/client.js';
import { enumeration, integer, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { CipherStreams, IDLE_MS, MAX_PER_IDENTITY } from '../../src/crypto/cipher-streams.js';
import { openSymmetric, resolveParams } from '../../src/crypto/cipher.js';

const { Encrypt, Decrypt } = Mask.CryptographicUsageMask;
const A = Enum.CryptographicAlgorithm;
const M = Enum.BlockCipherMode;
const P = Enum.PaddingMethod;
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');
const bytes = (tag: number, value: Uint8Array): Item => item(tag, 'ByteString', value);
const isV2 = (v: ProtocolVersion): boolean => v.major >= 2;
const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-encrypt-', 'someone-else');
});
t.teardown(() => env.close());

function params(p: { mode?: number; padding?: number; tagLength?: number; randomIv?: boolean; hashing?: number; mgfHashing?: number }): Item {
  const items: Item[] = [];
  if (p.mode !== undefined) items.push(enumeration(Tag.BlockCipherMode, p.mode));
  if (p.padding !== undefined) items.push(enumeration(Tag.PaddingMethod, p.padding));
  if (p.hashing !== undefined) items.push(enumeration(Tag.HashingAlgorithm, p.hashing));
  if (p.mgfHashing !== undefined) items.push(enumeration(Tag.MaskGeneratorHashingAlgorithm, p.mgfHashing));
  if (p.tagLength !== undefined) items.push(integer(Tag.TagLength, p.tagLength));
  if (p.randomIv !== undefined) items.push(item(Tag.RandomIV, 'Boolean', p.randomIv));
  return structure(Tag.CryptographicParameters, items);
}

interface KeyOptions {
  mask?: number;
  params?: Item;
  /** Extra attributes in 2.1 form, given to 1.4 by their names. */
  more?: [string, Item][];
  activate?: boolean;
}

/** Registers a symmetric key with these bytes and activates it; answers its Unique Identifier. */
async function registerKey(c: KmipClient, version: ProtocolVersion, algorithm: number, material: Uint8Array, o: KeyOptions = {}): Promise<string> {
  const attrs: [string, Item][] = [['Cryptographic Usage Mask', integer(Tag.CryptographicUsageMask, o.mask ?? Encrypt | Decrypt)], ...(o.more ?? [])];
  if (o.params !== undefined) attrs.push(['Cryptographic Parameters', o.params]);
  const key = structure(Tag.SymmetricKey, [
    structure(Tag.KeyBlock, [
      enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
      structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, material)]),
      enumeration(Tag.CryptographicAlgorithm, algorithm),
      integer(Tag.CryptographicLength, material.length * 8),
    ]),
  ]);
  const attributes = isV2(version) ? structure(Tag.Attributes, attrs.map(([, a]) => a)) : structure(Tag.TemplateAttribute, attrs.map(([n, a]) => v1Attr(n, a)));
  const r = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), attributes, key]);
  const id = r.payload!.need(Tag.UniqueIdentifier, 'TextString');
  if (o.activate !== false) await c.call('Activate', [uid(id)]);
  return id;
}

const dataOf = (r: { payload?: { need(tag: number, type: 'ByteString'): Uint8Array } | undefined }): Buffer => Buffer.from(r.payload!.need(Tag.Data, 'ByteString'));

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;

  t.test(`${v}: AES-CBC and AES-CTR answer the NIST SP 800-38A vectors and Decrypt reverses them`, async (t) => {
    const c = await env.connect(version);
    // SP 800-38A F.2.1 (CBC-AES128) and F.5.1 (CTR-AES128), first block.
    const key = hex('2b7e151628aed2a6abf7158809cf4f3c');
    const plain = hex('6bc1bee22e409f96e93d7e117393172a');
    const id = await registerKey(c, version, A.AES, key);
    const cbc = await c.call('Encrypt', [uid(id), params({ mode: M.CBC, padding: P.None }), bytes(Tag.Data, plain), bytes(Tag.IVCounterNonce, hex('000102030405060708090a0b0c0d0e0f'))]);
    t.equal(dataOf(cbc).toString('hex'), '7649abac8119b246cee98e9b12e9197d', 'CBC ciphertext of F.2.1');
    t.equal(cbc.payload!.get(Tag.UniqueIdentifier, 'TextString'), id);
    t.notOk(cbc.payload!.has(Tag.IVCounterNonce), 'no IV is returned when the client gave it');
    const ctr = await c.call('Encrypt', [uid(id), params({ mode: M.CTR }), bytes(Tag.Data, plain), bytes(Tag.IVCounterNonce, hex('f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff'))]);
    t.equal(dataOf(ctr).toString('hex'), '874d6191b620e3261bef6864990db6ce', 'CTR ciphertext of F.5.1');
    const back = await c.call('Decrypt', [uid(id), params({ mode: M.CBC, padding: P.None }), bytes(Tag.Data, dataOf(cbc)), bytes(Tag.IVCounterNonce, hex('000102030405060708090a0b0c0d0e0f'))]);
    t.same(dataOf(back), plain, 'Decrypt gives the plaintext back');
    await c.close();
  });

  t.test(`${v}: the key's Cryptographic Parameters apply when the request gives none, and Random IV makes the server choose the IV`, async (t) => {
    const c = await env.connect(version);
    const key = randomBytes(16);
    const ecb = await registerKey(c, version, A.AES, key, { params: params({ mode: M.ECB }) });
    const plain = hex('01020304050607080910111213141516');
    const out = await c.call('Encrypt', [uid(ecb), bytes(Tag.Data, plain)]);
    const expected = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(plain);
    t.same(dataOf(out), expected, 'ECB without padding, as the key says (CS-BC-M-1)');

    const cbc = await registerKey(c, version, A.AES, key, { params: params({ mode: M.CBC, padding: P.PKCS5, randomIv: true }) });
    const message = randomBytes(33);
    const enc = await c.call('Encrypt', [uid(cbc), bytes(Tag.Data, message)]);
    const iv = Buffer.from(enc.payload!.need(Tag.IVCounterNonce, 'ByteString'));
    t.equal(iv.length, 16, 'the server returns the IV it generated');
    const local = createDecipheriv('aes-128-cbc', key, iv);
    t.same(Buffer.concat([local.update(dataOf(enc)), local.final()]), message, 'PKCS5-padded CBC that node:crypto decrypts');
    const missing = await refusal(c.call('Decrypt', [uid(cbc), bytes(Tag.Data, dataOf(enc))]));
    t.equal(missing.reason, 'InvalidMessage', 'Decrypt without the IV is refused (CS-BC-M-13)');
    const dec = await c.call('Decrypt', [uid(cbc), bytes(Tag.Data, dataOf(enc)), bytes(Tag.IVCounterNonce, iv)]);
    t.same(dataOf(dec), message);
    await c.close();
  });

  t.test(`${v}: AES-GCM with additional data and a 12-byte tag; a tampered tag or AAD is a Cryptographic Failure`, async (t) => {
    const c = await env.connect(version);
    const key = randomBytes(32);
    const id = await registerKey(c, version, A.AES, key);
    const iv = randomBytes(12);
    const aad = Buffer.from('header');
    const plain = Buffer.from('attack at dawn, bring snacks');
    const gcm = params({ mode: M.GCM, tagLength: 12 });
    const enc = await c.call('Encrypt', [uid(id), gcm, bytes(Tag.Data, plain), bytes(Tag.IVCounterNonce, iv), bytes(Tag.AuthenticatedEncryptionAdditionalData, aad)]);
    const local = createCipheriv('aes-256-gcm', key, iv, { authTagLength: 12 });
    local.setAAD(aad);
    const ct = Buffer.concat([local.update(plain), local.final()]);
    t.same(dataOf(enc), ct, 'ciphertext as node:crypto computes it');
    const tag = Buffer.from(enc.payload!.need(Tag.AuthenticatedEncryptionTag, 'ByteString'));
    t.same(tag, local.getAuthTag(), 'the 12-byte tag');

    const dec = await c.call('Decrypt', [uid(id), gcm, bytes(Tag.Data, ct), bytes(Tag.IVCounterNonce, iv), bytes(Tag.AuthenticatedEncryptionAdditionalData, aad), bytes(Tag.AuthenticatedEncryptionTag, tag)]);
    t.same(dataOf(dec), plain);
    const bad = Buffer.from(tag);
    bad[0]! ^= 1;
    const tampered = await refusal(c.call('Decrypt', [uid(id), gcm, bytes(Tag.Data, ct), bytes(Tag.IVCounterNonce, iv), bytes(Tag.AuthenticatedEncryptionAdditionalData, aad), bytes(Tag.AuthenticatedEncryptionTag, bad)]));
    t.equal(tampered.reason, 'CryptographicFailure', 'a tampered tag');
    const otherAad = await refusal(c.call('Decrypt', [uid(id), gcm, bytes(Tag.Data, ct), bytes(Tag.IVCounterNonce, iv), bytes(Tag.AuthenticatedEncryptionAdditionalData, Buffer.from('Header')), bytes(Tag.AuthenticatedEncryptionTag, tag)]));
    t.equal(otherAad.reason, 'CryptographicFailure', 'other additional data');
    const shortTag = await refusal(c.call('Encrypt', [uid(id), params({ mode: M.GCM, tagLength: 1 }), bytes(Tag.Data, plain), bytes(Tag.IVCounterNonce, iv)]));
    t.equal(shortTag.reason, 'GeneralFailure', 'Tag Length 1 is refused with the Result Reason CS-BC-M-GCM-1 expects');
    await c.close();
  });

  t.test(`${v}: ChaCha20, ChaCha20-Poly1305, Triple DES, AES-XTS and AES key wrap match node:crypto and RFC 3394`, async (t) => {
    const c = await env.connect(version);
    // CS-BC-M-CHACHA20-3: zero key, 8-byte nonce 00…01, block counter from 0.
    const chacha = await registerKey(c, version, A.ChaCha20, Buffer.alloc(32));
    const stream = await c.call('Encrypt', [uid(chacha), structure(Tag.CryptographicParameters, []), bytes(Tag.Data, Buffer.alloc(60)), bytes(Tag.IVCounterNonce, hex('0000000000000001'))]);
    t.equal(dataOf(stream).subarray(0, 16).toString('hex'), 'de9cba7bf3d69ef5e786dc63973f653a', 'ChaCha20 key stream of the test case');

    const polyKey = randomBytes(32);
    const poly = await registerKey(c, version, A.ChaCha20Poly1305, polyKey);
    const nonce = randomBytes(12);
    const aad = hex('50515253c0c1c2c3c4c5c6c7');
    const plain = Buffer.from("Ladies and Gentlemen of the class of '99");
    const enc = await c.call('Encrypt', [uid(poly), params({ mode: M.AEAD, tagLength: 16 }), bytes(Tag.Data, plain), bytes(Tag.IVCounterNonce, nonce), bytes(Tag.AuthenticatedEncryptionAdditionalData, aad)]);
    const local = createCipheriv('chacha20-poly1305', polyKey, nonce, { authTagLength: 16 });
    local.setAAD(aad, { plaintextLength: plain.length });
    t.same(dataOf(enc), Buffer.concat([local.update(plain), local.final()]), 'ChaCha20-Poly1305 ciphertext');
    t.same(Buffer.from(enc.payload!.need(Tag.AuthenticatedEncryptionTag, 'ByteString')), local.getAuthTag(), 'and tag');

    const desKey = randomBytes(24);
    const des = await registerKey(c, version, A.DES3, desKey);
    const desIv = randomBytes(8);
    const desOut = await c.call('Encrypt', [uid(des), params({ mode: M.CBC, padding: P.PKCS5 }), bytes(Tag.Data, plain), bytes(Tag.IVCounterNonce, desIv)]);
    const d = createCipheriv('des-ede3-cbc', desKey, desIv);
    t.same(dataOf(desOut), Buffer.concat([d.update(plain), d.final()]), 'Triple DES CBC');

    const xtsKey = randomBytes(32);
    const xts = await registerKey(c, version, A.AES, xtsKey);
    const tweak = randomBytes(16);
    const sector = randomBytes(512);
    const xtsOut = await c.call('Encrypt', [uid(xts), params({ mode: M.XTS }), bytes(Tag.Data, sector), bytes(Tag.IVCounterNonce, tweak)]);
    const x = createCipheriv('aes-128-xts', xtsKey, tweak);
    t.same(dataOf(xtsOut), Buffer.concat([x.update(sector), x.final()]), 'AES-128-XTS of a 512-byte sector');
    const xtsBack = await c.call('Decrypt', [uid(xts), params({ mode: M.XTS }), bytes(Tag.Data, dataOf(xtsOut)), bytes(Tag.IVCounterNonce, tweak)]);
    t.same(dataOf(xtsBack), sector);

    // RFC 3394 §4.1: 128-bit key data wrapped with a 128-bit KEK.
    const kek = await registerKey(c, version, A.AES, hex('000102030405060708090a0b0c0d0e0f'));
    const wrapped = await c.call('Encrypt', [uid(kek), params({ mode: M.NISTKeyWrap }), bytes(Tag.Data, hex('00112233445566778899aabbccddeeff'))]);
    t.equal(dataOf(wrapped).toString('hex'), '1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5', 'RFC 3394 vector');
    const unwrapped = await c.call('Decrypt', [uid(kek), params({ mode: M.NISTKeyWrap }), bytes(Tag.Data, dataOf(wrapped))]);
    t.equal(dataOf(unwrapped).toString('hex'), '00112233445566778899aabbccddeeff');
    await c.close();
  });

  t.test(`${v}: refusals: wrong state, missing usage bit, another owner's key, bad IV length, Usage Limits spent`, async (t) => {
    const c = await env.connect(version);
    const key = randomBytes(16);
    const cbc = params({ mode: M.CBC, padding: P.PKCS5 });
    const data = bytes(Tag.Data, Buffer.from('hello'));
    const iv = bytes(Tag.IVCounterNonce, randomBytes(16));

    const preActive = await registerKey(c, version, A.AES, key, { activate: false });
    const notActive = await refusal(c.call('Encrypt', [uid(preActive), cbc, data, iv]));
    t.equal(notActive.reason, isV2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', 'a Pre-Active key does not encrypt');

    const revoked = await registerKey(c, version, A.AES, key);
    await c.call('Revoke', [uid(revoked), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.CessationOfOperation)])]);
    const deactivated = await refusal(c.call('Decrypt', [uid(revoked), cbc, bytes(Tag.Data, randomBytes(16)), iv]));
    t.equal(deactivated.reason, isV2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', 'a Deactivated key does not decrypt');

    const encryptOnly = await registerKey(c, version, A.AES, key, { mask: Encrypt });
    await c.call('Encrypt', [uid(encryptOnly), cbc, data, iv]);
    const noBit = await refusal(c.call('Decrypt', [uid(encryptOnly), cbc, bytes(Tag.Data, randomBytes(16)), iv]));
    t.equal(noBit.reason, isV2(version) ? 'IncompatibleCryptographicUsageMask' : 'PermissionDenied', 'no Decrypt bit in the usage mask');

    const mine = await registerKey(c, version, A.AES, key);
    const other = await env.connect(version, env.other);
    const notFound = await refusal(other.call('Encrypt', [uid(mine), cbc, data, iv]));
    t.equal(notFound.reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound', "another client's key is not found");
    await other.close();

    const badIv = await refusal(c.call('Encrypt', [uid(mine), cbc, data, bytes(Tag.IVCounterNonce, randomBytes(12))]));
    t.equal(badIv.reason, 'InvalidField', 'a 12-byte IV for CBC');
    t.match(badIv.message, /16/, 'the message says what the mode takes');
    const noMode = await refusal(c.call('Encrypt', [uid(mine), data]));
    t.equal(noMode.reason, isV2(version) ? 'BadCryptographicParameters' : 'InvalidField', 'AES without a Block Cipher Mode anywhere');
    const oddLength = await refusal(c.call('Encrypt', [uid(mine), params({ mode: M.ECB }), data]));
    t.equal(oddLength.reason, 'InvalidField', '5 bytes of ECB without padding');

    // CS-BC-M-7: Usage Limits of 16 bytes allow one 16-byte Encrypt, then Permission Denied.
    const limits = structure(Tag.UsageLimits, [item(Tag.UsageLimitsTotal, 'LongInteger', 16n), enumeration(Tag.UsageLimitsUnit, Enum.UsageLimitsUnit.Byte)]);
    const limited = await registerKey(c, version, A.AES, key, { more: [['Usage Limits', limits]] });
    const block = bytes(Tag.Data, randomBytes(16));
    await c.call('Encrypt', [uid(limited), params({ mode: M.ECB }), block]);
    const spent = await refusal(c.call('Encrypt', [uid(limited), params({ mode: M.ECB }), block]));
    t.equal(spent.reason, 'PermissionDenied', 'the second 16 bytes exceed the Usage Limits');
    await c.close();
  });

  t.test(`${v}: Protect Stop Date stops Encrypt while Decrypt goes on; Process Start Date in the future stops Decrypt`, async (t) => {
    const c = await env.connect(version);
    const now = Math.floor(Date.now() / 1000);
    const key = randomBytes(16);
    const ecb = params({ mode: M.ECB });
    const block = bytes(Tag.Data, randomBytes(16));
    const stopped = await registerKey(c, version, A.AES, key, { more: [['Protect Stop Date', item(Tag.ProtectStopDate, 'DateTime', now - 3600)]] });
    const refused = await refusal(c.call('Encrypt', [uid(stopped), ecb, block]));
    t.equal(refused.reason, isV2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', 'Encrypt after the Protect Stop Date (CS-BC-M-14)');
    await c.call('Decrypt', [uid(stopped), ecb, block]);
    const later = await registerKey(c, version, A.AES, key, { more: [['Process Start Date', item(Tag.ProcessStartDate, 'DateTime', now + 3600)]] });
    const early = await refusal(c.call('Decrypt', [uid(later), ecb, block]));
    t.equal(early.reason, isV2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', 'Decrypt before the Process Start Date');
    await c.call('Encrypt', [uid(later), ecb, block]);
    await c.close();
  });

  t.test(`${v}: RSA OAEP round trip with a created key pair, and PKCS#1 v1.5 encryption`, async (t) => {
    const c = await env.connect(version);
    const usage = (mask: number): Item => integer(Tag.CryptographicUsageMask, mask);
    const common = [enumeration(Tag.CryptographicAlgorithm, A.RSA), integer(Tag.CryptographicLength, 2048)];
    const payload = isV2(version)
      ? [structure(Tag.CommonAttributes, common), structure(Tag.PrivateKeyAttributes, [usage(Decrypt)]), structure(Tag.PublicKeyAttributes, [usage(Encrypt)])]
      : [
          structure(Tag.CommonTemplateAttribute, [v1Attr('Cryptographic Algorithm', common[0]!), v1Attr('Cryptographic Length', common[1]!)]),
          structure(Tag.PrivateKeyTemplateAttribute, [v1Attr('Cryptographic Usage Mask', usage(Decrypt))]),
          structure(Tag.PublicKeyTemplateAttribute, [v1Attr('Cryptographic Usage Mask', usage(Encrypt))]),
        ];
    const pair = await c.call('CreateKeyPair', payload);
    const priv = pair.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString');
    const pub = pair.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString');
    await c.call('Activate', [uid(priv)]);
    await c.call('Activate', [uid(pub)]);
    // As CS-AC-M-OAEP-*: SHA-256 for OAEP and for MGF1.
    const oaep = params({ padding: P.OAEP, hashing: Enum.HashingAlgorithm.SHA_256, mgfHashing: Enum.HashingAlgorithm.SHA_256 });
    const secret = randomBytes(32);
    const enc = await c.call('Encrypt', [uid(pub), oaep, bytes(Tag.Data, secret)]);
    t.equal(dataOf(enc).length, 256, 'a 2048-bit RSA ciphertext');
    const dec = await c.call('Decrypt', [uid(priv), oaep, bytes(Tag.Data, dataOf(enc))]);
    t.same(dataOf(dec), secret, 'the private key decrypts what the public key encrypted');

    // Encrypted here with the public key Get returns, decrypted by the server.
    const got = await c.call('Get', [uid(pub), enumeration(Tag.KeyFormatType, Enum.KeyFormatType.PKCS_1)]);
    const der = got.payload!.needStruct(Tag.PublicKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
    const local = publicEncrypt({ key: createPublicKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, secret);
    const fromLocal = await c.call('Decrypt', [uid(priv), oaep, bytes(Tag.Data, local)]);
    t.same(dataOf(fromLocal), secret, 'node:crypto OAEP-SHA-256 ciphertext decrypts on the server');
    const garbage = await refusal(c.call('Decrypt', [uid(priv), oaep, bytes(Tag.Data, randomBytes(256))]));
    t.equal(garbage.reason, 'CryptographicFailure', 'a ciphertext that does not decrypt');

    // 2.1 Table 59: without a Mask Generator Hashing Algorithm, MGF1 uses SHA-1 whatever the OAEP hash.
    const mixedParams = params({ padding: P.OAEP, hashing: Enum.HashingAlgorithm.SHA_256 });
    const mixed = await c.call('Encrypt', [uid(pub), mixedParams, bytes(Tag.Data, secret)]);
    t.equal(dataOf(mixed).length, 256, 'OAEP-SHA-256 with the default MGF1-SHA-1 encrypts');
    const mixedBack = await c.call('Decrypt', [uid(priv), mixedParams, bytes(Tag.Data, dataOf(mixed))]);
    t.same(dataOf(mixedBack), secret, 'and decrypts with the same parameters');
    const explicitSha1 = params({ padding: P.OAEP, hashing: Enum.HashingAlgorithm.SHA_256, mgfHashing: Enum.HashingAlgorithm.SHA_1 });
    const explicitBack = await c.call('Decrypt', [uid(priv), explicitSha1, bytes(Tag.Data, dataOf(mixed))]);
    t.same(dataOf(explicitBack), secret, 'the default is MGF1-SHA-1: naming it explicitly decrypts the same ciphertext');
    const notSha256 = await refusal(c.call('Decrypt', [uid(priv), oaep, bytes(Tag.Data, dataOf(mixed))]));
    t.equal(notSha256.reason, 'CryptographicFailure', 'MGF1-SHA-256 does not decrypt it');
    const sha1 = await c.call('Encrypt', [uid(pub), params({ padding: P.OAEP }), bytes(Tag.Data, secret)]);
    const sha1Back = await c.call('Decrypt', [uid(priv), params({ padding: P.OAEP, hashing: Enum.HashingAlgorithm.SHA_1 }), bytes(Tag.Data, dataOf(sha1))]);
    t.same(dataOf(sha1Back), secret, 'OAEP defaults to SHA-1 with MGF1-SHA-1');

    const pkcs1 = params({ padding: P.PKCS1V1_5 });
    const v15 = await c.call('Encrypt', [uid(pub), pkcs1, bytes(Tag.Data, secret)]);
    t.equal(dataOf(v15).length, 256, 'PKCS#1 v1.5 encryption');
    const noV15 = await refusal(c.call('Decrypt', [uid(priv), pkcs1, bytes(Tag.Data, dataOf(v15))]));
    t.equal(noV15.reason, isV2(version) ? 'UnsupportedCryptographicParameters' : 'FeatureNotSupported', 'PKCS#1 v1.5 decryption is refused (Marvin attack)');
    const wrongKey = await refusal(c.call('Decrypt', [uid(pub), oaep, bytes(Tag.Data, dataOf(enc))]));
    t.equal(wrongKey.reason, isV2(version) ? 'InvalidObjectType' : 'PermissionDenied', 'a Public Key does not decrypt (1.4 Table 354: not able to be used for decryption)');
    await c.close();
  });

  t.test(`${v}: streaming AES-GCM with Init Indicator, Correlation Value and Final Indicator gives the one-shot answer`, async (t) => {
    const c = await env.connect(version);
    // CS-BC-M-GCM-3 (GCM spec test case 5: 64-bit IV).
    const id = await registerKey(c, version, A.AES, hex('feffe9928665731c6d6a8f9467308308'));
    const gcm = params({ mode: M.GCM, tagLength: 16 });
    const first = await c.call('Encrypt', [
      uid(id),
      gcm,
      bytes(Tag.Data, hex('d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72')),
      bytes(Tag.IVCounterNonce, hex('cafebabefacedbad')),
      item(Tag.InitIndicator, 'Boolean', true),
      bytes(Tag.AuthenticatedEncryptionAdditionalData, hex('feedfacedeadbeeffeedfacedeadbeefabaddad2')),
    ]);
    t.equal(dataOf(first).toString('hex'), '61353b4c2806934a777ff51fa22a4755699b2a714fcdc6f83766e5f97b6c7423');
    const correlation = first.payload!.need(Tag.CorrelationValue, 'ByteString');
    t.notOk(first.payload!.has(Tag.AuthenticatedEncryptionTag), 'no tag before the last part');
    const last = await c.call('Encrypt', [uid(id), gcm, bytes(Tag.Data, hex('1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39')), bytes(Tag.CorrelationValue, correlation), item(Tag.FinalIndicator, 'Boolean', true)]);
    t.equal(dataOf(last).toString('hex'), '73806900e49f24b22b097544d4896b424989b5e1ebac0f07c23f4598');
    t.equal(Buffer.from(last.payload!.need(Tag.AuthenticatedEncryptionTag, 'ByteString')).toString('hex'), '3612d2e79e3b0785561be14aaca2fccb', 'the tag of the test case');
    const ended = await refusal(c.call('Encrypt', [uid(id), gcm, bytes(Tag.Data, Buffer.alloc(4)), bytes(Tag.CorrelationValue, correlation)]));
    t.equal(ended.reason, isV2(version) ? 'InvalidCorrelationValue' : 'ItemNotFound', 'a finished stream cannot be continued');

    const other = await env.connect(version, env.other);
    const open = await c.call('Encrypt', [uid(id), gcm, bytes(Tag.Data, Buffer.alloc(16)), bytes(Tag.IVCounterNonce, randomBytes(12)), item(Tag.InitIndicator, 'Boolean', true)]);
    const stolen = await refusal(other.call('Encrypt', [bytes(Tag.Data, Buffer.alloc(4)), bytes(Tag.CorrelationValue, open.payload!.need(Tag.CorrelationValue, 'ByteString'))]));
    t.equal(stolen.reason, isV2(version) ? 'InvalidCorrelationValue' : 'ItemNotFound', "another client cannot continue the stream");
    await other.close();
    await c.close();
  });

  t.test(`${v}: streaming CBC Decrypt in three parts returns the whole plaintext`, async (t) => {
    const c = await env.connect(version);
    const key = randomBytes(16);
    const id = await registerKey(c, version, A.AES, key, { params: params({ mode: M.CBC, padding: P.PKCS5 }) });
    const iv = randomBytes(16);
    const plain = randomBytes(70);
    const e = createCipheriv('aes-128-cbc', key, iv);
    const ct = Buffer.concat([e.update(plain), e.final()]);
    const first = await c.call('Decrypt', [uid(id), bytes(Tag.Data, ct.subarray(0, 20)), bytes(Tag.IVCounterNonce, iv), item(Tag.InitIndicator, 'Boolean', true)]);
    const corr = first.payload!.need(Tag.CorrelationValue, 'ByteString');
    const middle = await c.call('Decrypt', [uid(id), bytes(Tag.Data, ct.subarray(20, 50)), bytes(Tag.CorrelationValue, corr)]);
    const last = await c.call('Decrypt', [uid(id), bytes(Tag.Data, ct.subarray(50)), bytes(Tag.CorrelationValue, corr), item(Tag.FinalIndicator, 'Boolean', true)]);
    t.same(Buffer.concat([dataOf(first), dataOf(middle), dataOf(last)]), plain);
    await c.close();
  });
}

t.test('2.1: an HSM-resident key (Extractable false) encrypts and decrypts AES-GCM inside the HSM', async (t) => {
  const c = await env.connect(V21);
  const created = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [enumeration(Tag.CryptographicAlgorithm, A.AES), integer(Tag.CryptographicLength, 256), integer(Tag.CryptographicUsageMask, Encrypt | Decrypt), item(Tag.Extractable, 'Boolean', false)]),
  ]);
  const id = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  const gcm = params({ mode: M.GCM, randomIv: true });
  const aad = Buffer.from('volume-7');
  const plain = randomBytes(100);
  const enc = await c.call('Encrypt', [uid(id), gcm, bytes(Tag.Data, plain), bytes(Tag.AuthenticatedEncryptionAdditionalData, aad)]);
  const iv = enc.payload!.need(Tag.IVCounterNonce, 'ByteString');
  const tag = Buffer.from(enc.payload!.need(Tag.AuthenticatedEncryptionTag, 'ByteString'));
  t.equal(iv.length, 12, 'the HSM drew a 12-byte IV');
  t.notSame(dataOf(enc), plain);
  const dec = await c.call('Decrypt', [uid(id), gcm, bytes(Tag.Data, dataOf(enc)), bytes(Tag.IVCounterNonce, iv), bytes(Tag.AuthenticatedEncryptionAdditionalData, aad), bytes(Tag.AuthenticatedEncryptionTag, tag)]);
  t.same(dataOf(dec), plain, 'the HSM decrypts it');
  tag[3]! ^= 0x80;
  const tampered = await refusal(c.call('Decrypt', [uid(id), gcm, bytes(Tag.Data, dataOf(enc)), bytes(Tag.IVCounterNonce, iv), bytes(Tag.AuthenticatedEncryptionAdditionalData, aad), bytes(Tag.AuthenticatedEncryptionTag, tag)]));
  t.equal(tampered.reason, 'CryptographicFailure', 'a tampered tag fails in the HSM');
  const cbc = await refusal(c.call('Encrypt', [uid(id), params({ mode: M.CBC }), bytes(Tag.Data, plain), bytes(Tag.IVCounterNonce, randomBytes(16))]));
  t.equal(cbc.reason, 'UnsupportedCryptographicParameters', 'the HSM runs AES-GCM only');
  await c.close();
});

t.test('Query lists Encrypt and Decrypt among the operations', async (t) => {
  const c = await env.connect(V21);
  const q = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)]);
  const ops = q.payload!.values(Tag.Operation, 'Enumeration');
  t.ok(ops.includes(Enum.Operation.Encrypt) && ops.includes(Enum.Operation.Decrypt));
  await c.close();
});

t.test('open streams are bounded per client identity and dropped after an idle timeout', async (t) => {
  let now = 0;
  const streams = new CipherStreams(() => now);
  const session = () =>
    openSymmetric({ direction: 'encrypt', params: resolveParams(undefined, undefined, A.ChaCha20, true), key: randomBytes(32), iv: randomBytes(12), aad: undefined, tag: undefined, streaming: true, v2: true });
  const opened: Uint8Array[] = [];
  for (let i = 0; i < MAX_PER_IDENTITY; i++) {
    const c = streams.open({ identity: 'alice', uid: 'k', operation: 'Encrypt', session: session() });
    if (c === 'limit') throw new Error('refused below the bound');
    opened.push(c);
  }
  t.equal(streams.open({ identity: 'alice', uid: 'k', operation: 'Encrypt', session: session() }), 'limit', 'one more for the same identity is refused');
  t.not(streams.open({ identity: 'bob', uid: 'k', operation: 'Encrypt', session: session() }), 'limit', 'another identity still opens one');
  t.equal(streams.find('bob', opened[0]!, 'Encrypt'), 'unknown', "bob cannot continue alice's stream");
  t.equal(streams.find('alice', opened[0]!, 'Decrypt'), 'unknown', 'an Encrypt stream is not a Decrypt stream');
  now += IDLE_MS - 1;
  t.not(streams.find('alice', opened[0]!, 'Encrypt'), 'unknown', 'used just before the timeout, it lives on');
  now += IDLE_MS + 1;
  t.equal(streams.find('alice', opened[0]!, 'Encrypt'), 'unknown', 'idle past the timeout, it is gone');
  t.equal(streams.size, 0, 'every idle stream was dropped');
});

/**
 * Sign, Signature Verify, MAC, MAC Verify, Hash, RNG Retrieve and RNG Seed end to end: a real
 * kmipd over mutual TLS, in KMIP 2.1 and 1.4 form. kmipd's signatures are checked with node:crypto
 * on the public key fetched with Get; node's signatures are checked by kmipd. MACs and hashes
 * against published vectors (RFC 4231, RFC 4493, FIPS 180-2).
 */
import { type KeyObject, constants, createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import t from 'tap';
import { Fields } from '../../src/kmip/fields.js';
import { KmipError } from '../../src/kmip/errors.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { reasonsFor, signData, signScheme, verifyData } from '../../src/crypto/sign.js';
import { IDLE_MS, MAX_BYTES, MAX_PER_IDENTITY, Multipart } from '../../src/crypto/sign-multipart.js';
import { enumeration, integer, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

const A = Enum.CryptographicAlgorithm;
const H = Enum.HashingAlgorithm;
const P = Enum.PaddingMethod;
const U = Mask.CryptographicUsageMask;
const VALID = Enum.ValidityIndicator.Valid;
const INVALID = Enum.ValidityIndicator.Invalid;

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-sign-mac-', 'someone-else');
});
t.teardown(() => env.close());

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');
const bytes = (tag: number, value: Uint8Array): Item => item(tag, 'ByteString', value);
const data = (value: Uint8Array): Item => bytes(Tag.Data, value);
const params = (...fields: Item[]): Item => structure(Tag.CryptographicParameters, fields);
const padding = (p: number): Item => enumeration(Tag.PaddingMethod, p);
const hashing = (h: number): Item => enumeration(Tag.HashingAlgorithm, h);
const algorithm = (a: number): Item => enumeration(Tag.CryptographicAlgorithm, a);
const usage = (mask: number): Item => integer(Tag.CryptographicUsageMask, mask);
/** 1.x Attribute{Attribute Name, Attribute Value}. */
const attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);
const MESSAGE = Buffer.from('kmipd signs what it is given, no more and no less');

interface Pair {
  priv: string;
  pub: string;
  publicKey: KeyObject;
}

/** The public key kmipd holds, fetched as X.509 and read by node:crypto. */
async function publicKeyOf(c: KmipClient, pub: string): Promise<KeyObject> {
  const got = await c.call('Get', [uid(pub), enumeration(Tag.KeyFormatType, Enum.KeyFormatType.X_509)]);
  const der = got.payload!.needStruct(Tag.PublicKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
  return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
}

/** A 2.1 Create Key Pair (Sign / Verify), both keys activated. */
async function createPair(c: KmipClient, common: Item[], privExtra: Item[] = [], privMask: number = U.Sign, pubMask: number = U.Verify): Promise<Pair> {
  const created = await c.call('CreateKeyPair', [
    structure(Tag.CommonAttributes, common),
    structure(Tag.PrivateKeyAttributes, [usage(privMask), ...privExtra]),
    structure(Tag.PublicKeyAttributes, [usage(pubMask)]),
  ]);
  const priv = created.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString');
  const pub = created.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(priv)]);
  await c.call('Activate', [uid(pub)]);
  return { priv, pub, publicKey: await publicKeyOf(c, pub) };
}

async function signWith(c: KmipClient, priv: string, extra: Item[]): Promise<Buffer> {
  const signed = await c.call('Sign', [uid(priv), ...extra]);
  t.equal(signed.payload!.need(Tag.UniqueIdentifier, 'TextString'), priv);
  return Buffer.from(signed.payload!.need(Tag.SignatureData, 'ByteString'));
}

async function validity(c: KmipClient, operation: 'SignatureVerify' | 'MACVerify', payload: Item[]): Promise<number> {
  return (await c.call(operation, payload)).payload!.need(Tag.ValidityIndicator, 'Enumeration');
}

const pss = (saltLength: number) => ({ padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });

let rsa: Pair;

t.test('2.1: RSA PKCS#1 v1.5 and PSS signatures verify with node:crypto; kmipd verifies node signatures', async (t) => {
  const c = await env.connect();
  // CS-AC-M-1-21: the private key carries PSS / SHA-256 / Salt Length 222 as Cryptographic Parameters.
  rsa = await createPair(c, [algorithm(A.RSA), integer(Tag.CryptographicLength, 2048)], [params(padding(P.PSS), hashing(H.SHA_256), algorithm(A.RSA), integer(Tag.SaltLength, 222))]);

  const byAttribute = await signWith(c, rsa.priv, [data(MESSAGE)]);
  t.ok(nodeVerify('sha256', MESSAGE, { key: rsa.publicKey, ...pss(222) }, byAttribute), 'no request parameters: the key\'s PSS / SHA-256 / salt 222 is used');
  t.notOk(nodeVerify('sha256', MESSAGE, { key: rsa.publicKey, ...pss(32) }, byAttribute), 'and the salt really is 222 bytes');

  const pkcs1 = await signWith(c, rsa.priv, [params(padding(P.PKCS1V1_5)), data(MESSAGE)]);
  t.ok(nodeVerify('sha256', MESSAGE, { key: rsa.publicKey, padding: constants.RSA_PKCS1_PADDING }, pkcs1), 'the request\'s Padding Method overrides the key\'s; its hash stays SHA-256');
  t.same(await signWith(c, rsa.priv, [params(padding(P.PKCS1V1_5)), data(MESSAGE)]), pkcs1, 'PKCS#1 v1.5 is deterministic');

  const sha512 = await signWith(c, rsa.priv, [params(enumeration(Tag.DigitalSignatureAlgorithm, Enum.DigitalSignatureAlgorithm.SHA_512WithRSAEncryption)), data(MESSAGE)]);
  t.ok(nodeVerify('sha512', MESSAGE, rsa.publicKey, sha512), 'a Digital Signature Algorithm names padding and hash together');

  const digest = createHash('sha256').update(MESSAGE).digest();
  const digested = await signWith(c, rsa.priv, [params(padding(P.PKCS1V1_5), hashing(H.SHA_256)), bytes(Tag.DigestedData, digest)]);
  t.same(digested, pkcs1, 'signing the Digested Data gives the same PKCS#1 v1.5 signature as signing the Data');

  const withPss = [params(padding(P.PSS), hashing(H.SHA_256), algorithm(A.RSA))];
  const nodePss = nodeSign('sha256', MESSAGE, { key: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, ...pss(32) });
  t.equal(await validity(c, 'SignatureVerify', [uid(rsa.pub), ...withPss, data(MESSAGE), bytes(Tag.SignatureData, byAttribute)]), VALID, 'kmipd verifies its own PSS signature (any salt length)');
  t.equal(await validity(c, 'SignatureVerify', [uid(rsa.pub), ...withPss, data(MESSAGE), bytes(Tag.SignatureData, nodePss)]), INVALID, 'a signature by another key is Invalid, not an error');
  const flipped = Buffer.from(MESSAGE);
  flipped[0] = flipped[0]! ^ 0xff;
  t.equal(await validity(c, 'SignatureVerify', [uid(rsa.pub), ...withPss, data(flipped), bytes(Tag.SignatureData, byAttribute)]), INVALID, 'changed data is Invalid (CS-AC-M-2-21)');
  t.equal(
    await validity(c, 'SignatureVerify', [uid(rsa.pub), params(padding(P.PSS), hashing(H.SHA_1), algorithm(A.RSA)), data(MESSAGE), bytes(Tag.SignatureData, byAttribute)]),
    INVALID,
    'verifying with SHA-1 what was signed with SHA-256 is Invalid (CS-AC-M-3-21)',
  );
  t.equal(await validity(c, 'SignatureVerify', [uid(rsa.pub), params(padding(P.PKCS1V1_5), hashing(H.SHA_256)), bytes(Tag.DigestedData, digest), bytes(Tag.SignatureData, pkcs1)]), VALID, 'PKCS#1 v1.5 over Digested Data verifies');
  t.equal(await validity(c, 'SignatureVerify', [uid(rsa.pub), params(padding(P.PKCS1V1_5), hashing(H.SHA_256)), data(MESSAGE), bytes(Tag.SignatureData, Buffer.alloc(3))]), INVALID, 'a signature of the wrong length is Invalid');
  await c.close();
});

t.test('2.1: ECDSA P-256 and P-384 sign with the curve\'s hash; each side verifies the other', async (t) => {
  const c = await env.connect();
  for (const [curve, hash, title] of [
    [Enum.RecommendedCurve.P_256, 'sha256', 'P-256'],
    [Enum.RecommendedCurve.P_384, 'sha384', 'P-384'],
  ] as const) {
    const pair = await createPair(c, [algorithm(A.EC), structure(Tag.CryptographicDomainParameters, [enumeration(Tag.RecommendedCurve, curve)])]);
    const signature = await signWith(c, pair.priv, [data(MESSAGE)]);
    t.ok(nodeVerify(hash, MESSAGE, pair.publicKey, signature), `${title}: kmipd's DER signature verifies in node with ${hash}`);
    const explicit = await signWith(c, pair.priv, [params(algorithm(A.ECDSA), hashing(H.SHA_512)), data(MESSAGE)]);
    t.ok(nodeVerify('sha512', MESSAGE, pair.publicKey, explicit), `${title}: a Hashing Algorithm in the request is used`);
    t.equal(await validity(c, 'SignatureVerify', [uid(pair.pub), data(MESSAGE), bytes(Tag.SignatureData, signature)]), VALID, `${title}: kmipd verifies its signature`);
    t.equal(await validity(c, 'SignatureVerify', [uid(pair.pub), data(Buffer.from('other data')), bytes(Tag.SignatureData, signature)]), INVALID, `${title}: not over other data`);
    const refused = await refusal(c.call('Sign', [uid(pair.priv), bytes(Tag.DigestedData, createHash(hash).update(MESSAGE).digest())]));
    t.equal(refused.reason, 'FeatureNotSupported', `${title}: ECDSA over Digested Data is refused, not signed twice-hashed`);
  }
  await c.close();
});

// The signing module on its own; Ed25519 and Ed448 as managed keys, end to end over TLS, are in
// test/operations/eddsa.test.ts.
t.test('Ed25519: the signing module signs as node does and verifies node\'s signatures; a hash is refused', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const reasons = reasonsFor(true);
  const scheme = signScheme(privateKey, undefined, undefined, undefined, reasons);
  t.same(scheme, { kind: 'eddsa' });
  const signature = signData(scheme, privateKey, MESSAGE);
  t.equal(signature.length, 64);
  t.ok(nodeVerify(null, MESSAGE, publicKey, signature), 'node verifies the Ed25519 signature');
  t.same(signature, nodeSign(null, MESSAGE, privateKey), 'and it is the one node makes (Ed25519 is deterministic)');
  const verifyScheme = signScheme(publicKey, new Fields(params(algorithm(A.Ed25519)) as never), undefined, undefined, reasons);
  t.ok(verifyData(verifyScheme, publicKey, MESSAGE, nodeSign(null, MESSAGE, privateKey)), 'node\'s signature verifies');
  t.notOk(verifyData(verifyScheme, publicKey, Buffer.from('x'), signature), 'not over other data');
  const refusedWith = (request: Item): string | undefined => {
    try {
      signScheme(privateKey, new Fields(request as never), undefined, undefined, reasons);
    } catch (err) {
      return err instanceof KmipError ? err.reason : 'not a KmipError';
    }
    return undefined;
  };
  t.equal(refusedWith(params(hashing(H.SHA_256))), 'BadCryptographicParameters', 'Ed25519 takes no SHA-256');
  t.equal(refusedWith(params(algorithm(A.RSA))), 'BadCryptographicParameters', 'nor RSA');
});

/** A Symmetric Key registered Active (over 2.1, whatever the caller's version) for MAC Generate and MAC Verify. */
async function registerMacKey(alg: number, material: Buffer, mask: number = U.MACGenerate | U.MACVerify, extra: Item[] = []): Promise<string> {
  const key = structure(Tag.SymmetricKey, [
    structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw), structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, material)]), algorithm(alg), integer(Tag.CryptographicLength, material.length * 8)]),
  ]);
  const c = await env.connect();
  const reg = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, [usage(mask), item(Tag.ActivationDate, 'DateTime', Math.floor(Date.now() / 1000) - 60), ...extra]), key]);
  await c.close();
  return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

async function macOf(c: KmipClient, key: string, payload: Item[]): Promise<string> {
  const out = await c.call('MAC', [uid(key), ...payload]);
  t.equal(out.payload!.need(Tag.UniqueIdentifier, 'TextString'), key);
  return Buffer.from(out.payload!.need(Tag.MACData, 'ByteString')).toString('hex');
}

// RFC 4231 §4.2 (test case 1) and §4.3 (test case 2).
const HMAC_CASES = [
  { key: hex('0b'.repeat(20)), data: Buffer.from('Hi There'), sha256: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
  { key: Buffer.from('Jefe'), data: Buffer.from('what do ya want for nothing?'), sha256: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
];
// RFC 4493 §4: AES-128 key and examples 1–4.
const CMAC_KEY = hex('2b7e1516 28aed2a6 abf71588 09cf4f3c');
const CMAC_MESSAGE = hex('6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710');
const CMAC_CASES = [
  { length: 0, mac: 'bb1d6929e95937287fa37d129b756746' },
  { length: 16, mac: '070a16b46b4d4144f79bdd9dd04a287c' },
  { length: 40, mac: 'dfa66747de9ae63030ca32611497c827' },
  { length: 64, mac: '51f0bebf7e3b9d92fc49741779363cfe' },
];

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;
  t.test(`${v}: HMAC-SHA256 gives the RFC 4231 values; MAC Verify answers Valid and Invalid`, async (t) => {
    const c = await env.connect(version);
    for (const [i, tc] of HMAC_CASES.entries()) {
      const key = await registerMacKey(A.HMAC_SHA256, tc.key);
      t.equal(await macOf(c, key, [data(tc.data)]), tc.sha256, `RFC 4231 test case ${i + 1}`);
      t.equal(await validity(c, 'MACVerify', [uid(key), data(tc.data), bytes(Tag.MACData, hex(tc.sha256))]), VALID, `test case ${i + 1} verifies`);
      const wrong = hex(tc.sha256);
      wrong[31] = wrong[31]! ^ 1;
      t.equal(await validity(c, 'MACVerify', [uid(key), data(tc.data), bytes(Tag.MACData, wrong)]), INVALID, 'one flipped bit is Invalid');
      t.equal(await validity(c, 'MACVerify', [uid(key), data(tc.data), bytes(Tag.MACData, hex(tc.sha256).subarray(0, 16))]), INVALID, 'a truncated MAC is Invalid');
    }
    await c.close();
  });

  t.test(`${v}: AES-CMAC gives the RFC 4493 values`, async (t) => {
    const c = await env.connect(version);
    const key = await registerMacKey(A.AES, CMAC_KEY);
    for (const tc of CMAC_CASES) {
      t.equal(await macOf(c, key, [data(CMAC_MESSAGE.subarray(0, tc.length))]), tc.mac, `RFC 4493 example, Mlen = ${tc.length}`);
    }
    t.equal(await macOf(c, key, [params(enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.CMAC)), data(CMAC_MESSAGE.subarray(0, 16))]), CMAC_CASES[1]!.mac, 'Block Cipher Mode CMAC named explicitly');
    t.equal(await validity(c, 'MACVerify', [uid(key), data(CMAC_MESSAGE), bytes(Tag.MACData, hex(CMAC_CASES[3]!.mac))]), VALID);
    await c.close();
  });

  t.test(`${v}: Hash of known data; RNG Retrieve gives the bytes asked for; RNG Seed is accepted and reports 0 used`, async (t) => {
    const c = await env.connect(version);
    const hashOf = async (h: number, value: Buffer): Promise<string> => Buffer.from((await c.call('Hash', [params(hashing(h)), data(value)])).payload!.need(Tag.Data, 'ByteString')).toString('hex');
    // FIPS 180-2 Appendix B.1 and C.1.
    t.equal(await hashOf(H.SHA_256, Buffer.from('abc')), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'SHA-256("abc")');
    t.equal(await hashOf(H.SHA_1, Buffer.from('abc')), 'a9993e364706816aba3e25717850c26c9cd0d89d', 'SHA-1("abc")');
    t.equal(await hashOf(H.SHA_512, Buffer.from('abc')), createHash('sha512').update('abc').digest('hex'));
    t.equal((await refusal(c.call('Hash', [data(Buffer.from('abc'))]))).reason, 'InvalidMessage', 'Hash without Cryptographic Parameters');
    t.equal((await refusal(c.call('Hash', [params(padding(P.None)), data(Buffer.from('abc'))]))).reason, version === V21 ? 'BadCryptographicParameters' : 'InvalidField', 'Hash with no Hashing Algorithm');

    for (const n of [1, 32, 1000]) {
      const got = (await c.call('RNGRetrieve', [integer(Tag.DataLength, n)])).payload!.need(Tag.Data, 'ByteString');
      t.equal(got.length, n, `RNG Retrieve of ${n} bytes`);
    }
    const a = (await c.call('RNGRetrieve', [integer(Tag.DataLength, 32)])).payload!.need(Tag.Data, 'ByteString');
    const b = (await c.call('RNGRetrieve', [integer(Tag.DataLength, 32)])).payload!.need(Tag.Data, 'ByteString');
    t.notSame(a, b, 'two retrievals differ');
    t.equal((await refusal(c.call('RNGRetrieve', [integer(Tag.DataLength, 0)]))).reason, 'InvalidField', 'zero bytes is refused');
    t.equal((await refusal(c.call('RNGRetrieve', [integer(Tag.DataLength, -5)]))).reason, 'InvalidField', 'a negative length is refused');
    t.equal((await refusal(c.call('RNGRetrieve', [integer(Tag.DataLength, 65537)]))).reason, 'ResponseTooLarge', 'more than 64 KiB is refused');
    t.equal((await refusal(c.call('RNGRetrieve', []))).reason, 'InvalidMessage', 'no Data Length');
    const seeded = await c.call('RNGSeed', [data(hex('333c06587706225099a67438f263f8f932f64b860c3a7dbb21bc2bd56685d8bc'))]);
    t.equal(seeded.payload!.need(Tag.DataLength, 'Integer'), 0, 'the seed is not used, and kmipd says so (KMIP 2.1 §6.1.50, CS-RNG-O-3-21)');
    await c.close();
  });
}

t.test('1.4: RSA and ECDSA Sign / Signature Verify with Template-Attribute keys', async (t) => {
  const c = await env.connect(V14);
  const create = async (alg: number, length: number): Promise<Pair> => {
    const created = await c.call('CreateKeyPair', [
      structure(Tag.CommonTemplateAttribute, [attr('Cryptographic Algorithm', enumeration(0, alg)), attr('Cryptographic Length', integer(0, length))]),
      structure(Tag.PrivateKeyTemplateAttribute, [attr('Cryptographic Usage Mask', integer(0, U.Sign))]),
      structure(Tag.PublicKeyTemplateAttribute, [attr('Cryptographic Usage Mask', integer(0, U.Verify))]),
    ]);
    const priv = created.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString');
    const pub = created.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString');
    await c.call('Activate', [uid(priv)]);
    await c.call('Activate', [uid(pub)]);
    return { priv, pub, publicKey: await publicKeyOf(c, pub) };
  };
  const rsa14 = await create(A.RSA, 2048);
  const signature = await signWith(c, rsa14.priv, [params(padding(P.PSS), hashing(H.SHA_384)), data(MESSAGE)]);
  t.ok(nodeVerify('sha384', MESSAGE, { key: rsa14.publicKey, ...pss(48) }, signature), '1.4: PSS with SHA-384, salt = hash length');
  t.equal(await validity(c, 'SignatureVerify', [uid(rsa14.pub), params(padding(P.PSS), hashing(H.SHA_384)), data(MESSAGE), bytes(Tag.SignatureData, signature)]), VALID);
  t.equal(await validity(c, 'SignatureVerify', [uid(rsa14.pub), params(padding(P.PKCS1V1_5), hashing(H.SHA_384)), data(MESSAGE), bytes(Tag.SignatureData, signature)]), INVALID, '1.4: verified as PKCS#1 v1.5 it is Invalid');
  t.equal((await refusal(c.call('Sign', [uid(rsa14.priv), data(MESSAGE)]))).reason, 'InvalidField', '1.4: RSA with no parameters anywhere is refused (no Bad Cryptographic Parameters in 1.4)');

  const ec14 = await create(A.ECDSA, 256);
  const ecSignature = await signWith(c, ec14.priv, [data(MESSAGE)]);
  t.ok(nodeVerify('sha256', MESSAGE, ec14.publicKey, ecSignature), '1.4: ECDSA P-256 with SHA-256');
  t.equal(await validity(c, 'SignatureVerify', [uid(ec14.pub), data(MESSAGE), bytes(Tag.SignatureData, ecSignature)]), VALID);
  await c.close();
});

t.test('2.1 and 1.4: multi-part Sign, MAC Verify and Hash give the single-part results', async (t) => {
  for (const version of [V21, V14]) {
    const c = await env.connect(version);
    const v = `${version.major}.${version.minor}`;
    const parts = [MESSAGE.subarray(0, 10), MESSAGE.subarray(10, 30), MESSAGE.subarray(30)];
    const stream = async (operation: 'Sign' | 'MACVerify' | 'Hash', first: Item[], last: Item[]): Promise<Fields> => {
      const init = await c.call(operation, [...first, item(Tag.InitIndicator, 'Boolean', true), data(parts[0]!)]);
      const correlation = init.payload!.need(Tag.CorrelationValue, 'ByteString');
      t.notOk(init.payload!.has(Tag.SignatureData) || init.payload!.has(Tag.ValidityIndicator) || init.payload!.has(Tag.Data), `${v} ${operation}: the first part answers a Correlation Value only`);
      const middle = await c.call(operation, [bytes(Tag.CorrelationValue, correlation), data(parts[1]!)]);
      t.same(middle.payload!.need(Tag.CorrelationValue, 'ByteString'), correlation);
      t.notOk(middle.payload!.has(Tag.ValidityIndicator), 'a middle part has no Validity Indicator (KMIP 2.1 §6.1.33)');
      const final = await c.call(operation, [bytes(Tag.CorrelationValue, correlation), data(parts[2]!), item(Tag.FinalIndicator, 'Boolean', true), ...last]);
      t.equal((await refusal(c.call(operation, [bytes(Tag.CorrelationValue, correlation), data(parts[2]!)]))).reason, version === V21 ? 'InvalidCorrelationValue' : 'InvalidField', `${v} ${operation}: a finished stream is gone`);
      return final.payload!;
    };
    const signed = await stream('Sign', [uid(rsa.priv), params(padding(P.PKCS1V1_5), hashing(H.SHA_256))], []);
    t.same(signed.need(Tag.SignatureData, 'ByteString'), nodeSign('sha256', MESSAGE, await privateOf(rsa.priv)), `${v}: the streamed signature is the one-shot PKCS#1 v1.5 signature of the whole message`);

    const macKey = await registerMacKey(A.HMAC_SHA256, HMAC_CASES[0]!.key);
    const mac = createHmac('sha256', HMAC_CASES[0]!.key).update(MESSAGE).digest();
    t.equal((await stream('MACVerify', [uid(macKey)], [bytes(Tag.MACData, mac)])).need(Tag.ValidityIndicator, 'Enumeration'), VALID, `${v}: streamed MAC Verify`);
    t.same((await stream('Hash', [params(hashing(H.SHA_256))], [])).need(Tag.Data, 'ByteString'), createHash('sha256').update(MESSAGE).digest(), `${v}: streamed Hash`);

    const refused = await refusal(c.call('Sign', [bytes(Tag.CorrelationValue, Buffer.alloc(16, 7)), data(MESSAGE)]));
    t.equal(refused.reason, version === V21 ? 'InvalidCorrelationValue' : 'InvalidField', `${v}: an unknown Correlation Value`);
    t.equal((await refusal(c.call('Sign', [uid(rsa.priv), item(Tag.FinalIndicator, 'Boolean', true), data(MESSAGE)]))).reason, 'InvalidField', `${v}: a Final Indicator without a stream`);
    await c.close();
  }

  // Another client cannot continue, or even learn of, someone else's stream.
  const mine = await env.connect();
  const init = await mine.call('Hash', [params(hashing(H.SHA_256)), item(Tag.InitIndicator, 'Boolean', true), data(MESSAGE)]);
  const correlation = init.payload!.need(Tag.CorrelationValue, 'ByteString');
  const theirs = await env.connect(V21, env.other);
  t.equal((await refusal(theirs.call('Hash', [bytes(Tag.CorrelationValue, correlation), item(Tag.FinalIndicator, 'Boolean', true)]))).reason, 'InvalidCorrelationValue', 'another identity\'s Correlation Value is unknown to you');
  const done = await mine.call('Hash', [bytes(Tag.CorrelationValue, correlation), item(Tag.FinalIndicator, 'Boolean', true)]);
  t.same(done.payload!.need(Tag.Data, 'ByteString'), createHash('sha256').update(MESSAGE).digest(), 'the owner still finishes it');
  await theirs.close();
  await mine.close();
});

/** The private key kmipd holds, fetched with Get as PKCS#8. */
async function privateOf(priv: string): Promise<KeyObject> {
  const c = await env.connect();
  const got = await c.call('Get', [uid(priv), enumeration(Tag.KeyFormatType, Enum.KeyFormatType.PKCS_8)]);
  await c.close();
  const der = got.payload!.needStruct(Tag.PrivateKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

t.test('refusals: deactivated, Pre-Active, no usage bit, another owner\'s key, wrong algorithm or object', async (t) => {
  for (const version of [V21, V14]) {
    const v2 = version === V21;
    const v = `${version.major}.${version.minor}`;
    const c = await env.connect(version);
    const reasonOf = async (operation: 'Sign' | 'SignatureVerify' | 'MAC' | 'MACVerify', payload: Item[]): Promise<string> => (await refusal(c.call(operation, payload))).reason;
    const pkcs1 = params(padding(P.PKCS1V1_5), hashing(H.SHA_256));

    // Keys made in 2.1 (Create Key Pair attributes), used in both versions.
    const c21 = await env.connect();
    const pair = await createPair(c21, [algorithm(A.RSA), integer(Tag.CryptographicLength, 2048)]);
    const noSignBit = await createPair(c21, [algorithm(A.RSA), integer(Tag.CryptographicLength, 2048)], [], U.Decrypt, U.Encrypt);
    const preActive = await c21.call('CreateKeyPair', [
      structure(Tag.CommonAttributes, [algorithm(A.EC), structure(Tag.CryptographicDomainParameters, [enumeration(Tag.RecommendedCurve, Enum.RecommendedCurve.P_256)])]),
      structure(Tag.PrivateKeyAttributes, [usage(U.Sign)]),
      structure(Tag.PublicKeyAttributes, [usage(U.Verify)]),
    ]);
    const macOnly = await registerMacKey(A.HMAC_SHA256, HMAC_CASES[0]!.key, U.MACGenerate);
    await c21.close();

    const signature = await signWith(c, pair.priv, [pkcs1, data(MESSAGE)]);
    t.equal(await reasonOf('Sign', [uid(noSignBit.priv), pkcs1, data(MESSAGE)]), v2 ? 'IncompatibleCryptographicUsageMask' : 'PermissionDenied', `${v}: a key without the Sign bit`);
    t.equal(await reasonOf('SignatureVerify', [uid(noSignBit.pub), pkcs1, data(MESSAGE), bytes(Tag.SignatureData, signature)]), v2 ? 'IncompatibleCryptographicUsageMask' : 'PermissionDenied', `${v}: a key without the Verify bit`);
    t.equal(await reasonOf('MACVerify', [uid(macOnly), data(MESSAGE), bytes(Tag.MACData, Buffer.alloc(32))]), v2 ? 'IncompatibleCryptographicUsageMask' : 'PermissionDenied', `${v}: a key without the MAC Verify bit`);
    t.equal(await reasonOf('Sign', [uid(preActive.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString')), data(MESSAGE)]), v2 ? 'WrongKeyLifecycleState' : 'PermissionDenied', `${v}: a Pre-Active key does not sign`);
    t.equal(await reasonOf('Sign', [uid(pair.pub), pkcs1, data(MESSAGE)]), v2 ? 'InvalidObjectType' : 'PermissionDenied', `${v}: a Public Key does not sign`);
    t.equal(await reasonOf('MAC', [uid(pair.priv), data(MESSAGE)]), v2 ? 'InvalidObjectType' : 'PermissionDenied', `${v}: a Private Key does not MAC`);
    t.equal(await reasonOf('Sign', [uid(pair.priv), params(algorithm(A.ECDSA), hashing(H.SHA_256)), data(MESSAGE)]), v2 ? 'BadCryptographicParameters' : 'InvalidField', `${v}: ECDSA asked of an RSA key`);
    t.equal(await reasonOf('Sign', [uid(pair.priv), params(padding(P.OAEP), hashing(H.SHA_256)), data(MESSAGE)]), v2 ? 'BadCryptographicParameters' : 'InvalidField', `${v}: OAEP is not a signature padding`);
    t.equal(await reasonOf('Sign', [uid(pair.priv), data(MESSAGE)]), v2 ? 'BadCryptographicParameters' : 'InvalidField', `${v}: RSA with no parameters in the request or on the key (KMIP 2.1 §6.1.55)`);
    t.equal(await reasonOf('Sign', [uid(pair.priv), pkcs1]), 'InvalidMessage', `${v}: Sign without Data`);
    t.equal(await reasonOf('Sign', [uid(pair.priv), params(padding(P.PSS), hashing(H.SHA_512), integer(Tag.SaltLength, 250)), data(MESSAGE)]), 'CryptographicFailure', `${v}: a PSS salt too long for the modulus`);
    t.equal(await reasonOf('MAC', [uid(macOnly), params(algorithm(A.HMAC_SHA512)), data(MESSAGE)]), v2 ? 'BadCryptographicParameters' : 'InvalidField', `${v}: HMAC-SHA512 asked of an HMAC-SHA256 key`);

    const other = await env.connect(version, env.other);
    t.equal((await refusal(other.call('Sign', [uid(pair.priv), pkcs1, data(MESSAGE)]))).reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound', `${v}: another owner's key is not found`);
    t.equal((await refusal(other.call('MAC', [uid(macOnly), data(MESSAGE)]))).reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound');
    await other.close();

    await c.call('Revoke', [uid(pair.priv), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.Unspecified)])]);
    await c.call('Revoke', [uid(pair.pub), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.Unspecified)])]);
    t.equal(await reasonOf('Sign', [uid(pair.priv), pkcs1, data(MESSAGE)]), v2 ? 'WrongKeyLifecycleState' : 'PermissionDenied', `${v}: a Deactivated key does not sign (CS-AC-M-8)`);
    t.equal(await reasonOf('SignatureVerify', [uid(pair.pub), pkcs1, data(MESSAGE), bytes(Tag.SignatureData, signature)]), v2 ? 'WrongKeyLifecycleState' : 'PermissionDenied', `${v}: nor verifies`);
    await c.close();
  }
});

t.test('2.1: a key with Usage Limits signs and MACs only as often as its limits allow', async (t) => {
  const c = await env.connect();
  const limits = (total: number, unit: number): Item => structure(Tag.UsageLimits, [item(Tag.UsageLimitsTotal, 'LongInteger', BigInt(total)), enumeration(Tag.UsageLimitsUnit, unit)]);
  const remaining = async (id: string): Promise<bigint> => {
    const got = await c.call('GetAttributes', [uid(id), enumeration(Tag.AttributeReference, Tag.UsageLimits)]);
    return got.payload!.needStruct(Tag.Attributes).needStruct(Tag.UsageLimits).need(Tag.UsageLimitsCount, 'LongInteger');
  };
  const pair = await createPair(c, [algorithm(A.RSA), integer(Tag.CryptographicLength, 2048)], [limits(2, Enum.UsageLimitsUnit.Object)]);
  const pkcs1 = params(padding(P.PKCS1V1_5), hashing(H.SHA_256));
  await signWith(c, pair.priv, [pkcs1, data(MESSAGE)]);
  t.equal(await remaining(pair.priv), 1n, 'one Sign takes one unit of an Object limit');
  await signWith(c, pair.priv, [pkcs1, data(MESSAGE)]);
  t.equal((await refusal(c.call('Sign', [uid(pair.priv), pkcs1, data(MESSAGE)]))).reason, 'PermissionDenied', 'the third Sign finds no allocation (KMIP 2.1 §6.1.55)');
  t.equal(await remaining(pair.priv), 0n);

  const macKey = await registerMacKey(A.HMAC_SHA256, HMAC_CASES[0]!.key, U.MACGenerate | U.MACVerify, [limits(20, Enum.UsageLimitsUnit.Byte)]);
  await macOf(c, macKey, [data(Buffer.alloc(15))]);
  t.equal(await remaining(macKey), 5n, 'a Byte limit is spent by the data\'s length');
  t.equal((await refusal(c.call('MAC', [uid(macKey), data(Buffer.alloc(6))]))).reason, 'UsageLimitExceeded', 'six bytes more than the five left');
  t.equal(await validity(c, 'MACVerify', [uid(macKey), data(Buffer.alloc(15)), bytes(Tag.MACData, createHmac('sha256', HMAC_CASES[0]!.key).update(Buffer.alloc(15)).digest())]), VALID, 'verifying applies no protection and takes nothing');
  await c.close();
});

t.test('multi-part streams are bounded: per client, in bytes, and dropped when idle', async (t) => {
  let now = 0;
  const streams = new Multipart(() => now);
  const first = (owner: string, bytesIn = 1) => streams.step(owner, 'Hash', { init: true, final: false, correlation: undefined, data: Buffer.alloc(bytesIn), params: undefined }, undefined, true);
  const refusedWith = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      return err instanceof KmipError ? err.reason : 'not a KmipError';
    }
    return undefined;
  };
  for (let i = 0; i < MAX_PER_IDENTITY; i++) first('alice');
  t.equal(refusedWith(() => first('alice')), 'PermissionDenied', `a client has at most ${MAX_PER_IDENTITY} open streams`);
  t.equal(first('bob').kind, 'kept', 'another client is not affected');

  now += IDLE_MS + 1;
  const fresh = first('alice');
  t.equal(streams.size, 1, 'streams idle longer than the timeout are dropped');
  if (fresh.kind !== 'kept') throw new Error('expected a kept part');
  const more = (size: number) => streams.step('alice', 'Hash', { init: false, final: false, correlation: fresh.correlation, data: Buffer.alloc(size), params: undefined }, undefined, true);
  t.equal(refusedWith(() => more(MAX_BYTES)), 'InvalidField', `a stream takes at most ${MAX_BYTES} bytes`);
  t.equal(refusedWith(() => more(1)), 'InvalidCorrelationValue', 'and is closed after going over');
});

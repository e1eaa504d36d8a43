/**
 * Ed25519 and Ed448 key pairs as managed objects (issue 7), end to end over mutual TLS: Create Key
 * Pair, Register (PKCS#8, X.509, Raw, Transparent EC Public Key), Get in every format kmipd converts
 * between, Sign and Signature Verify checked against node:crypto, and the refusals. KMIP 1.4 has no
 * Ed25519 / Ed448 Cryptographic Algorithm (the registry lists them from 2.0), so creating one over
 * 1.4 is refused. kmipctl create-key-pair and register of PEM files are checked at the end.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { KmipClient } from '../../src/client/client.js';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, text, uid } from '../support/items.js';
import { runKmipctl } from '../support/kmipctl.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

const A = Enum.CryptographicAlgorithm;
const F = Enum.KeyFormatType;
const H = Enum.HashingAlgorithm;
const U = Mask.CryptographicUsageMask;
const VALID = Enum.ValidityIndicator.Valid;
const INVALID = Enum.ValidityIndicator.Invalid;
const MESSAGE = Buffer.from('an Edwards-curve signature over these bytes');

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-eddsa-', 'someone-else');
});
t.teardown(() => env.close());

const bytes = (tag: number, value: Uint8Array): Item => item(tag, 'ByteString', value);
const data = (value: Uint8Array): Item => bytes(Tag.Data, value);
const algorithm = (a: number): Item => enumeration(Tag.CryptographicAlgorithm, a);
const length = (n: number): Item => integer(Tag.CryptographicLength, n);
const usage = (mask: number): Item => integer(Tag.CryptographicUsageMask, mask);
const params = (...fields: Item[]): Item => structure(Tag.CryptographicParameters, fields);
const curve = (c: number): Item => structure(Tag.CryptographicDomainParameters, [enumeration(Tag.RecommendedCurve, c)]);
const activeNow = (): Item => item(Tag.ActivationDate, 'DateTime', Math.floor(Date.now() / 1000) - 60);

function pairRequest(common: Item[], priv: Item[] = [usage(U.Sign)], pub: Item[] = [usage(U.Verify)]): Item[] {
  return [structure(Tag.CommonAttributes, common), structure(Tag.PrivateKeyAttributes, priv), structure(Tag.PublicKeyAttributes, pub)];
}

async function createPair(c: KmipClient, common: Item[]): Promise<{ priv: string; pub: string }> {
  const created = await c.call('CreateKeyPair', pairRequest([...common, activeNow()]));
  return { priv: created.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString'), pub: created.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString') };
}

async function blockOf(c: KmipClient, id: string, format?: number): Promise<Fields> {
  const got = await c.call('Get', [uid(id), ...(format === undefined ? [] : [enumeration(Tag.KeyFormatType, format)])]);
  const objectTag = got.payload!.has(Tag.PrivateKey) ? Tag.PrivateKey : Tag.PublicKey;
  return got.payload!.needStruct(objectTag).needStruct(Tag.KeyBlock);
}

const materialOf = (block: Fields): Buffer => Buffer.from(block.needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));

async function attributesOf(c: KmipClient, id: string): Promise<Fields> {
  return (await c.call('GetAttributes', [uid(id)])).payload!.needStruct(Tag.Attributes);
}

function linkTarget(attrs: Fields, type: number): string | undefined {
  const link = attrs.all(Tag.Link).map((l) => new Fields(l as never)).find((l) => l.need(Tag.LinkType, 'Enumeration') === type);
  return link?.need(Tag.LinkedObjectIdentifier, 'TextString');
}

async function signWith(c: KmipClient, priv: string, extra: Item[] = []): Promise<Buffer> {
  return Buffer.from((await c.call('Sign', [uid(priv), ...extra, data(MESSAGE)])).payload!.need(Tag.SignatureData, 'ByteString'));
}

async function validity(c: KmipClient, pub: string, message: Uint8Array, signature: Uint8Array, extra: Item[] = []): Promise<number> {
  return (await c.call('SignatureVerify', [uid(pub), ...extra, data(message), bytes(Tag.SignatureData, signature)])).payload!.need(Tag.ValidityIndicator, 'Enumeration');
}

let ed25519: { priv: string; pub: string; privateKey: KeyObject; publicKey: KeyObject };

t.test('2.1: an Ed25519 pair is created linked, 255 bits, held as PKCS#8 / X.509 and given as Raw and Transparent EC Public Key', async (t) => {
  const c = await env.connect();
  const { priv, pub } = await createPair(c, [algorithm(A.Ed25519)]);
  const privAttrs = await attributesOf(c, priv);
  const pubAttrs = await attributesOf(c, pub);
  for (const attrs of [privAttrs, pubAttrs]) {
    t.equal(attrs.need(Tag.CryptographicAlgorithm, 'Enumeration'), A.Ed25519);
    t.equal(attrs.need(Tag.CryptographicLength, 'Integer'), 255, 'the Cryptographic Length is the curve\'s 255 bits');
  }
  t.equal(privAttrs.need(Tag.CryptographicUsageMask, 'Integer'), U.Sign);
  t.equal(pubAttrs.need(Tag.CryptographicUsageMask, 'Integer'), U.Verify);
  t.equal(linkTarget(privAttrs, Enum.LinkType.PublicKeyLink), pub, 'the private key links to the public key');
  t.equal(linkTarget(pubAttrs, Enum.LinkType.PrivateKeyLink), priv, 'and the public key to the private key');
  t.equal(privAttrs.need(Tag.KeyFormatType, 'Enumeration'), F.PKCS_8);
  t.equal(pubAttrs.need(Tag.KeyFormatType, 'Enumeration'), F.X_509);

  const held = await blockOf(c, priv);
  t.equal(held.need(Tag.KeyFormatType, 'Enumeration'), F.PKCS_8, 'Get without a format answers the held PKCS#8');
  t.equal(held.need(Tag.CryptographicAlgorithm, 'Enumeration'), A.Ed25519);
  const privateKey = createPrivateKey({ key: materialOf(held), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey({ key: materialOf(await blockOf(c, pub)), format: 'der', type: 'spki' });
  t.equal(privateKey.asymmetricKeyType, 'ed25519');
  t.same(createPublicKey(privateKey).export({ format: 'jwk' }), publicKey.export({ format: 'jwk' }), 'the two keys are a pair');

  const rawPrivate = materialOf(await blockOf(c, priv, F.Raw));
  t.equal(rawPrivate.length, 32, 'Raw private is the 32-byte RFC 8032 seed');
  t.equal(rawPrivate.toString('base64url'), privateKey.export({ format: 'jwk' }).d);
  const rawPublic = materialOf(await blockOf(c, pub, F.Raw));
  t.equal(rawPublic.toString('base64url'), publicKey.export({ format: 'jwk' }).x, 'Raw public is the 32-byte encoded point');
  const transparent = (await blockOf(c, pub, F.TransparentECPublicKey)).needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial);
  t.equal(transparent.need(Tag.RecommendedCurve, 'Enumeration'), Enum.RecommendedCurve.CURVE25519);
  t.same(Buffer.from(transparent.need(Tag.QString, 'ByteString')), rawPublic, 'Transparent EC Public Key: CURVE25519 and the encoded point as Q String');

  for (const [id, format] of [[priv, F.TransparentECPrivateKey], [priv, F.PKCS_1], [priv, F.ECPrivateKey], [pub, F.PKCS_1], [pub, F.TransparentRSAPublicKey]] as const) {
    const refused = await refusal(c.call('Get', [uid(id), enumeration(Tag.KeyFormatType, format)]));
    t.equal(refused.reason, 'KeyFormatTypeNotSupported', `Get as format 0x${format.toString(16)} is refused`);
  }
  ed25519 = { priv, pub, privateKey, publicKey };
  await c.close();
});

t.test('2.1: Ed25519 signatures verify in node and equal node\'s; kmipd verifies node\'s and finds changed data Invalid', async (t) => {
  const c = await env.connect();
  const signature = await signWith(c, ed25519.priv);
  t.equal(signature.length, 64);
  t.ok(nodeVerify(null, MESSAGE, ed25519.publicKey, signature), 'node verifies kmipd\'s signature');
  t.same(signature, nodeSign(null, MESSAGE, ed25519.privateKey), 'Ed25519 is deterministic: the signature node makes with the same key');
  t.same(await signWith(c, ed25519.priv, [params(algorithm(A.Ed25519))]), signature, 'naming the algorithm in Cryptographic Parameters changes nothing');
  t.equal(await validity(c, ed25519.pub, MESSAGE, signature), VALID);
  t.equal(await validity(c, ed25519.pub, MESSAGE, signature, [params(algorithm(A.Ed25519))]), VALID);
  t.equal(await validity(c, ed25519.pub, Buffer.from('other bytes'), signature), INVALID, 'over other data it is Invalid, not an error');
  const other = generateKeyPairSync('ed25519').privateKey;
  t.equal(await validity(c, ed25519.pub, MESSAGE, nodeSign(null, MESSAGE, other)), INVALID, 'a signature by another key is Invalid');
  t.equal(await validity(c, ed25519.pub, MESSAGE, signature.subarray(0, 10)), INVALID, 'a truncated signature is Invalid');

  const multi = await c.call('Sign', [uid(ed25519.priv), data(MESSAGE.subarray(0, 10)), item(Tag.InitIndicator, 'Boolean', true)]);
  const correlation = multi.payload!.need(Tag.CorrelationValue, 'ByteString');
  const final = await c.call('Sign', [data(MESSAGE.subarray(10)), bytes(Tag.CorrelationValue, correlation), item(Tag.FinalIndicator, 'Boolean', true)]);
  t.same(Buffer.from(final.payload!.need(Tag.SignatureData, 'ByteString')), signature, 'a multi-part Sign signs the whole message (pure Ed25519 sees all of it at the end)');
  await c.close();
});

t.test('2.1: Sign and Signature Verify refuse a hash, padding, another algorithm or Digested Data for Ed25519, with the reason', async (t) => {
  const c = await env.connect();
  const signature = await signWith(c, ed25519.priv);
  const cases: [string, Item[], string][] = [
    ['SHA-256', [params(enumeration(Tag.HashingAlgorithm, H.SHA_256))], 'BadCryptographicParameters'],
    ['SHA-512 (Ed25519ph, not offered)', [params(enumeration(Tag.HashingAlgorithm, H.SHA_512))], 'UnsupportedCryptographicParameters'],
    ['a Padding Method', [params(enumeration(Tag.PaddingMethod, Enum.PaddingMethod.PSS))], 'BadCryptographicParameters'],
    ['Cryptographic Algorithm Ed448', [params(algorithm(A.Ed448))], 'BadCryptographicParameters'],
    ['Cryptographic Algorithm ECDSA', [params(algorithm(A.ECDSA))], 'BadCryptographicParameters'],
    ['Digital Signature Algorithm ECDSA with SHA-256', [params(enumeration(Tag.DigitalSignatureAlgorithm, Enum.DigitalSignatureAlgorithm.ECDSAWithSHA256))], 'BadCryptographicParameters'],
  ];
  for (const [what, extra, reason] of cases) {
    const signing = await refusal(c.call('Sign', [uid(ed25519.priv), ...extra, data(MESSAGE)]));
    t.equal(signing.reason, reason, `Sign with ${what}: ${reason}`);
    t.notMatch(signing.message, /[0-9a-f]{64}/, 'the message quotes no key or data bytes');
    const verifying = await refusal(c.call('SignatureVerify', [uid(ed25519.pub), ...extra, data(MESSAGE), bytes(Tag.SignatureData, signature)]));
    t.equal(verifying.reason, reason, `Signature Verify with ${what}: ${reason}`);
  }
  const digested = await refusal(c.call('Sign', [uid(ed25519.priv), bytes(Tag.DigestedData, createHash('sha512').update(MESSAGE).digest())]));
  t.equal(digested.reason, 'FeatureNotSupported', 'Digested Data is refused: pure Ed25519 signs the message, not a digest');
  const wrongKey = await refusal(c.call('Sign', [uid(ed25519.pub), data(MESSAGE)]));
  t.equal(wrongKey.reason, 'InvalidObjectType', 'Sign names the public key: refused');
  await c.close();
});

t.test('2.1: Ed448 pairs are created (448 bits, CURVE448) and sign 114-byte signatures node verifies', async (t) => {
  const c = await env.connect();
  const { priv, pub } = await createPair(c, [algorithm(A.Ed448), curve(Enum.RecommendedCurve.CURVE448), length(448)]);
  t.equal((await attributesOf(c, priv)).need(Tag.CryptographicLength, 'Integer'), 448);
  const publicKey = createPublicKey({ key: materialOf(await blockOf(c, pub)), format: 'der', type: 'spki' });
  t.equal(publicKey.asymmetricKeyType, 'ed448');
  t.equal(materialOf(await blockOf(c, priv, F.Raw)).length, 57, 'Raw private is the 57-byte seed');
  const transparent = (await blockOf(c, pub, F.TransparentECPublicKey)).needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial);
  t.equal(transparent.need(Tag.RecommendedCurve, 'Enumeration'), Enum.RecommendedCurve.CURVE448);
  const signature = await signWith(c, priv);
  t.equal(signature.length, 114);
  t.ok(nodeVerify(null, MESSAGE, publicKey, signature), 'node verifies the Ed448 signature');
  t.equal(await validity(c, pub, MESSAGE, signature), VALID);
  t.equal((await refusal(c.call('Sign', [uid(priv), params(enumeration(Tag.HashingAlgorithm, H.SHA_512)), data(MESSAGE)]))).reason, 'BadCryptographicParameters', 'Ed448 takes no SHA-512 either');
  t.equal((await refusal(c.call('Sign', [uid(priv), params(algorithm(A.Ed25519)), data(MESSAGE)]))).reason, 'BadCryptographicParameters', 'nor the Ed25519 algorithm');
  await c.close();
});

t.test('Create Key Pair refuses a wrong length or curve for Ed25519, and Ed25519 over KMIP 1.4', async (t) => {
  const c = await env.connect();
  const reasonOf = async (common: Item[]): Promise<string> => (await refusal(c.call('CreateKeyPair', pairRequest(common)))).reason;
  t.equal(await reasonOf([algorithm(A.Ed25519), length(256)]), 'InvalidAttributeValue', 'an Ed25519 key is not 256 bits');
  t.equal(await reasonOf([algorithm(A.Ed25519), curve(Enum.RecommendedCurve.P_256)]), 'InvalidAttributeValue', 'nor on P-256');
  t.equal(await reasonOf([algorithm(A.Ed25519), curve(Enum.RecommendedCurve.CURVE448)]), 'InvalidAttributeValue', 'nor on CURVE448');
  t.equal(await reasonOf([algorithm(A.Ed448), length(456)]), 'InvalidAttributeValue', 'an Ed448 key is 448 bits');
  t.equal(
    (await refusal(c.call('CreateKeyPair', [structure(Tag.CommonAttributes, [algorithm(A.Ed25519)]), structure(Tag.PrivateKeyAttributes, [usage(U.Sign)]), structure(Tag.PublicKeyAttributes, [usage(U.Verify), algorithm(A.Ed448)])]))).reason,
    'InvalidAttributeValue',
    'the two keys must have the same algorithm',
  );
  await c.close();

  const v14 = await env.connect(V14);
  const attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);
  const refused = await refusal(
    v14.call('CreateKeyPair', [
      structure(Tag.CommonTemplateAttribute, [attr('Cryptographic Algorithm', algorithm(A.Ed25519))]),
      structure(Tag.PrivateKeyTemplateAttribute, [attr('Cryptographic Usage Mask', usage(U.Sign))]),
      structure(Tag.PublicKeyTemplateAttribute, [attr('Cryptographic Usage Mask', usage(U.Verify))]),
    ]),
  );
  t.equal(refused.reason, 'InvalidField', 'KMIP 1.4 has no Ed25519 Cryptographic Algorithm');
  t.match(refused.message, /KMIP 2\.0/);
  await v14.close();
});

t.test('2.1: Ed25519 keys are registered as PKCS#8, X.509, Raw and Transparent EC Public Key, and sign and verify', async (t) => {
  const c = await env.connect();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const register = async (objectType: 'PrivateKey' | 'PublicKey', format: number, material: Item, blockExtra: Item[], mask: number): Promise<string> => {
    const block = structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, format), structure(Tag.KeyValue, [material]), ...blockExtra]);
    const reg = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType[objectType]), structure(Tag.Attributes, [usage(mask), activeNow()]), structure(Tag[objectType], [block])]);
    return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
  };
  const km = (b: Buffer): Item => bytes(Tag.KeyMaterial, b);
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const point = Buffer.from(jwk.x!, 'base64url');

  const pkcs8 = await register('PrivateKey', F.PKCS_8, km(privateKey.export({ format: 'der', type: 'pkcs8' })), [], U.Sign);
  const x509 = await register('PublicKey', F.X_509, km(publicKey.export({ format: 'der', type: 'spki' })), [], U.Verify);
  const rawPriv = await register('PrivateKey', F.Raw, km(seed), [algorithm(A.Ed25519), length(255)], U.Sign);
  const rawPub = await register('PublicKey', F.Raw, km(point), [algorithm(A.Ed25519), length(255)], U.Verify);
  const transparentPub = await register('PublicKey', F.TransparentECPublicKey, structure(Tag.KeyMaterial, [enumeration(Tag.RecommendedCurve, Enum.RecommendedCurve.CURVE25519), bytes(Tag.QString, point)]), [], U.Verify);

  for (const id of [pkcs8, x509, rawPriv, rawPub, transparentPub]) {
    const attrs = await attributesOf(c, id);
    t.equal(attrs.need(Tag.CryptographicAlgorithm, 'Enumeration'), A.Ed25519, 'the server derives Ed25519 from the key');
    t.equal(attrs.need(Tag.CryptographicLength, 'Integer'), 255);
  }
  t.equal((await blockOf(c, rawPriv)).need(Tag.KeyFormatType, 'Enumeration'), F.Raw, 'a registered key is held as it came');
  t.same(materialOf(await blockOf(c, rawPriv, F.PKCS_8)), privateKey.export({ format: 'der', type: 'pkcs8' }), 'Raw converts to PKCS#8');
  t.same(materialOf(await blockOf(c, transparentPub, F.X_509)), publicKey.export({ format: 'der', type: 'spki' }), 'Transparent EC Public Key converts to X.509');
  t.same(materialOf(await blockOf(c, x509, F.Raw)), point, 'and X.509 to Raw');

  const expected = nodeSign(null, MESSAGE, privateKey);
  t.same(await signWith(c, pkcs8), expected, 'the PKCS#8-registered key signs as node does');
  t.same(await signWith(c, rawPriv), expected, 'and so does the Raw-registered one');
  for (const id of [x509, rawPub, transparentPub]) t.equal(await validity(c, id, MESSAGE, expected), VALID, 'each registered public key verifies');
  await c.close();
});

t.test('2.1: Register refuses Ed25519 material that is not what it says', async (t) => {
  const c = await env.connect();
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const point = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const reasonOf = async (objectType: 'PrivateKey' | 'PublicKey', format: number, material: Item, blockExtra: Item[] = []): Promise<{ reason: string; message: string }> => {
    const block = structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, format), structure(Tag.KeyValue, [material]), ...blockExtra]);
    return refusal(c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType[objectType]), structure(Tag.Attributes, [usage(U.Verify)]), structure(Tag[objectType], [block])]));
  };
  const km = (b: Buffer): Item => bytes(Tag.KeyMaterial, b);
  const short = await reasonOf('PublicKey', F.Raw, km(point.subarray(0, 31)), [algorithm(A.Ed25519), length(255)]);
  t.equal(short.reason, 'InvalidField', 'a 31-byte Raw Ed25519 key');
  t.match(short.message, /32 bytes/);
  t.equal((await reasonOf('PublicKey', F.Raw, km(point))).reason, 'KeyFormatTypeNotSupported', 'a Raw public key whose block names no algorithm');
  t.equal((await reasonOf('PublicKey', F.Raw, km(point), [algorithm(A.Ed448), length(448)])).reason, 'InvalidField', 'Raw bytes of the wrong size for Ed448');
  t.equal((await reasonOf('PublicKey', F.X_509, km(publicKey.export({ format: 'der', type: 'spki' })), [algorithm(A.Ed448), length(448)])).reason, 'InvalidField', 'a key block that calls an Ed25519 key Ed448');
  t.equal((await reasonOf('PublicKey', F.X_509, km(publicKey.export({ format: 'der', type: 'spki' })), [algorithm(A.Ed25519), length(256)])).reason, 'InvalidField', 'a key block that says 256 bits');
  const transparentPrivate = await reasonOf('PrivateKey', F.TransparentECPrivateKey, structure(Tag.KeyMaterial, [enumeration(Tag.RecommendedCurve, Enum.RecommendedCurve.CURVE25519), item(Tag.D, 'BigInteger', 5n)]));
  t.equal(transparentPrivate.reason, 'KeyFormatTypeNotSupported', 'Transparent EC Private Key is not an Ed25519 format: D is a scalar, the key a seed');
  t.match(transparentPrivate.message, /PKCS#8 or Raw/);
  t.equal((await reasonOf('PrivateKey', F.PKCS_8, km(Buffer.concat([privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(0, 20)])))).reason, 'InvalidField', 'a truncated PKCS#8');
  await c.close();
});

t.test('kmipctl create-key-pair --algorithm ed25519, and register of Ed25519 PEM files', async (t) => {
  const kmipctl = (...args: string[]) => runKmipctl(args, { dataDir: env.dir, port: env.server.tlsAddress.port });
  const created = await kmipctl('create-key-pair', '--algorithm', 'ed25519', '--private-usage', 'sign', '--public-usage', 'verify', '--json');
  t.equal(created.code, 0, created.err);
  const pair = JSON.parse(created.out) as { privateKey: string; publicKey: string };
  const c = await env.connect(V21);
  t.equal((await attributesOf(c, pair.privateKey)).need(Tag.CryptographicAlgorithm, 'Enumeration'), A.Ed25519);
  t.equal((await attributesOf(c, pair.publicKey)).need(Tag.CryptographicUsageMask, 'Integer'), U.Verify);

  const sized = await kmipctl('create-key-pair', '--algorithm', 'Ed25519', '--length', '256');
  t.equal(sized.code, 2, 'a --length for Ed25519 is a command-line mistake');
  t.match(sized.err, /neither --length nor --curve/);

  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privFile = join(env.dir, 'ed25519-key.pem');
  const pubFile = join(env.dir, 'ed25519-pub.pem');
  writeFileSync(privFile, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  writeFileSync(pubFile, publicKey.export({ format: 'pem', type: 'spki' }));
  const regPriv = await kmipctl('register', '--type', 'private', '--file', privFile, '--usage', 'sign');
  t.equal(regPriv.code, 0, regPriv.err);
  const regPub = await kmipctl('register', '--type', 'public', '--file', pubFile, '--usage', 'verify');
  t.equal(regPub.code, 0, regPub.err);
  const privId = regPriv.out.trim();
  const pubId = regPub.out.trim();
  const attrs = await attributesOf(c, privId);
  t.equal(attrs.need(Tag.CryptographicAlgorithm, 'Enumeration'), A.Ed25519, 'the PEM private key is registered as Ed25519');
  t.equal(attrs.need(Tag.CryptographicLength, 'Integer'), 255);
  await c.call('Activate', [uid(privId)]);
  await c.call('Activate', [uid(pubId)]);
  const signature = await signWith(c, privId);
  t.same(signature, nodeSign(null, MESSAGE, privateKey), 'the registered PEM key signs as node does');
  t.equal(await validity(c, pubId, MESSAGE, signature), VALID);
  await c.close();
});

t.test('2.1: Re-key Key Pair of an Ed25519 pair makes a new Ed25519 pair', async (t) => {
  const c = await env.connect();
  const { priv, pub } = await createPair(c, [algorithm(A.Ed25519)]);
  const rekeyed = await c.call('ReKeyKeyPair', [text(Tag.PrivateKeyUniqueIdentifier, priv)]);
  const newPriv = rekeyed.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString');
  const newPub = rekeyed.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString');
  t.not(newPriv, priv);
  const attrs = await attributesOf(c, newPriv);
  t.equal(attrs.need(Tag.CryptographicAlgorithm, 'Enumeration'), A.Ed25519);
  t.equal(attrs.need(Tag.CryptographicLength, 'Integer'), 255);
  const oldKey = createPublicKey({ key: materialOf(await blockOf(c, pub)), format: 'der', type: 'spki' });
  const newKey = createPublicKey({ key: materialOf(await blockOf(c, newPub)), format: 'der', type: 'spki' });
  t.equal(newKey.asymmetricKeyType, 'ed25519');
  t.not(newKey.export({ format: 'jwk' }).x, oldKey.export({ format: 'jwk' }).x, 'with a new key');
  await c.close();
});

t.test('1.4: a client sees an Ed25519 key made over 2.1, and signs and verifies with it', async (t) => {
  const c = await env.connect(V14);
  const signature = Buffer.from((await c.call('Sign', [uid(ed25519.priv), data(MESSAGE)])).payload!.need(Tag.SignatureData, 'ByteString'));
  t.same(signature, nodeSign(null, MESSAGE, ed25519.privateKey));
  t.equal(await validity(c, ed25519.pub, MESSAGE, signature), VALID);
  const refused = await refusal(c.call('Sign', [uid(ed25519.priv), params(enumeration(Tag.HashingAlgorithm, H.SHA_256)), data(MESSAGE)]));
  t.equal(refused.reason, 'InvalidField', '1.4 has no Bad Cryptographic Parameters: a hash is Invalid Field');
  const got = await c.call('Get', [uid(ed25519.pub)]);
  const block = got.payload!.needStruct(Tag.PublicKey).needStruct(Tag.KeyBlock);
  t.equal(block.need(Tag.KeyFormatType, 'Enumeration'), F.X_509);
  await c.close();
});

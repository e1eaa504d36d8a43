/**
 * Key Format Type conversions without a server: every format a key can take, read back into the
 * same key (compared through its JWK), EC point compression, and the refusals.
 */
import { type KeyObject, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import t from 'tap';
import { KmipError } from '../../src/kmip/errors.js';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { type StructureItem, item, structure } from '../../src/ttlv/index.js';
import { convertKeyBlock, describeKey, exportKey, keyBlockOf, keyFromBlock } from '../../src/objects/key-formats.js';

const F = Enum.KeyFormatType;
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });

function blockOf(key: KeyObject, format: number, compression?: number, v2 = true): StructureItem {
  const d = describeKey(key);
  return keyBlockOf(key, format, compression, item(Tag.CryptographicAlgorithm, 'Enumeration', d.algorithm), item(Tag.CryptographicLength, 'Integer', d.length), v2);
}

const jwk = (key: KeyObject): string => JSON.stringify(key.export({ format: 'jwk' }));

function refusalOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof KmipError) return err.reason;
    throw err;
  }
  return 'no refusal';
}

t.test('an RSA private key round-trips through PKCS#1, PKCS#8 and Transparent RSA Private Key', async (t) => {
  for (const format of [F.PKCS_1, F.PKCS_8, F.TransparentRSAPrivateKey]) {
    const back = keyFromBlock('PrivateKey', new Fields(blockOf(rsa.privateKey, format)));
    t.equal(jwk(back), jwk(rsa.privateKey), `format ${format}`);
  }
  const transparent = new Fields(blockOf(rsa.privateKey, F.TransparentRSAPrivateKey)).needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial);
  for (const tag of [Tag.Modulus, Tag.PrivateExponent, Tag.PublicExponent, Tag.P, Tag.Q, Tag.PrimeExponentP, Tag.PrimeExponentQ, Tag.CRTCoefficient]) {
    t.type(transparent.need(tag, 'BigInteger'), 'bigint', 'every CRT field is there');
  }
  t.equal(transparent.need(Tag.PublicExponent, 'BigInteger'), 65537n);
});

t.test('an RSA public key round-trips through PKCS#1, X.509 and Transparent RSA Public Key', async (t) => {
  for (const format of [F.PKCS_1, F.X_509, F.TransparentRSAPublicKey]) {
    t.equal(jwk(keyFromBlock('PublicKey', new Fields(blockOf(rsa.publicKey, format)))), jwk(rsa.publicKey), `format ${format}`);
  }
});

t.test('an EC private key round-trips through PKCS#8, ECPrivateKey and Transparent EC (and 1.x ECDSA) Private Key', async (t) => {
  for (const format of [F.PKCS_8, F.ECPrivateKey, F.TransparentECPrivateKey]) {
    t.equal(jwk(keyFromBlock('PrivateKey', new Fields(blockOf(ec.privateKey, format)))), jwk(ec.privateKey), `format ${format}`);
  }
  t.equal(jwk(keyFromBlock('PrivateKey', new Fields(blockOf(ec.privateKey, F.TransparentECDSAPrivateKey, undefined, false)))), jwk(ec.privateKey), '1.x ECDSA');
  t.equal(refusalOf(() => blockOf(ec.privateKey, F.TransparentECDSAPrivateKey, undefined, true)), 'KeyFormatTypeNotSupported', '2.x has no Transparent ECDSA');
});

t.test('an EC public key converts uncompressed and X9.62-compressed, and the compressed point is the same key', async (t) => {
  const plain = new Fields(blockOf(ec.publicKey, F.TransparentECPublicKey));
  const q = plain.needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial).need(Tag.QString, 'ByteString');
  t.equal(q.length, 1 + 2 * 48, 'uncompressed: 04‖X‖Y');
  t.equal(q[0], 4);
  t.equal(plain.need(Tag.KeyCompressionType, 'Enumeration'), Enum.KeyCompressionType.ECPublicKeyTypeUncompressed);

  const packed = new Fields(blockOf(ec.publicKey, F.TransparentECPublicKey, Enum.KeyCompressionType.ECPublicKeyTypeX9_62CompressedPrime));
  const cq = packed.needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial).need(Tag.QString, 'ByteString');
  t.equal(cq.length, 1 + 48, 'compressed: 02/03‖X');
  t.ok(cq[0] === 2 || cq[0] === 3);
  t.equal(jwk(keyFromBlock('PublicKey', packed)), jwk(ec.publicKey), 'the compressed point reads back as the same key');

  const spki = new Fields(blockOf(ec.publicKey, F.X_509, Enum.KeyCompressionType.ECPublicKeyTypeX9_62CompressedPrime));
  const der = spki.needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
  const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  const data = randomBytes(32);
  t.ok(verify('sha384', data, key, sign('sha384', data, ec.privateKey)), 'a compressed SPKI verifies signatures of the private key');
});

t.test('impossible conversions are refused with the Key Format / Compression Type reasons', async (t) => {
  t.equal(refusalOf(() => exportKey(rsa.privateKey, F.X_509, undefined, true)), 'KeyFormatTypeNotSupported', 'a private key is no X.509');
  t.equal(refusalOf(() => exportKey(rsa.publicKey, F.PKCS_8, undefined, true)), 'KeyFormatTypeNotSupported', 'a public key is no PKCS#8');
  t.equal(refusalOf(() => exportKey(ec.publicKey, F.PKCS_1, undefined, true)), 'KeyFormatTypeNotSupported', 'an EC key is no PKCS#1');
  t.equal(refusalOf(() => exportKey(rsa.publicKey, F.X_509, Enum.KeyCompressionType.ECPublicKeyTypeX9_62CompressedPrime, true)), 'KeyCompressionTypeNotSupported', 'RSA keys are not compressed');
  t.equal(refusalOf(() => exportKey(ec.publicKey, F.X_509, Enum.KeyCompressionType.ECPublicKeyTypeX9_62CompressedChar2, true)), 'KeyCompressionTypeNotSupported', 'no binary curves');
});

t.test('a symmetric key converts Raw ⇄ Transparent Symmetric Key; Secret Data only as held', async (t) => {
  const bytes = randomBytes(32);
  const raw = structure(Tag.KeyBlock, [
    item(Tag.KeyFormatType, 'Enumeration', F.Raw),
    structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', bytes)]),
    item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES),
    item(Tag.CryptographicLength, 'Integer', 256),
  ]);
  const transparent = new Fields(convertKeyBlock('SymmetricKey', raw, F.TransparentSymmetricKey, undefined, true));
  t.same(Buffer.from(transparent.needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial).need(Tag.Key, 'ByteString')), bytes);
  t.equal(convertKeyBlock('SymmetricKey', raw, F.Raw, undefined, true), raw, 'the held format is returned as is');
  t.equal(refusalOf(() => convertKeyBlock('SymmetricKey', raw, F.PKCS_8, undefined, true)), 'KeyFormatTypeNotSupported');
  t.equal(refusalOf(() => convertKeyBlock('SecretData', raw, F.Opaque, undefined, true)), 'KeyFormatTypeNotSupported');
});

t.test('key material that does not parse is Invalid Field, and the message does not quote it', async (t) => {
  const junk = randomBytes(64);
  const block = structure(Tag.KeyBlock, [item(Tag.KeyFormatType, 'Enumeration', F.PKCS_1), structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', junk)])]);
  try {
    keyFromBlock('PublicKey', new Fields(block));
    t.fail('expected a refusal');
  } catch (err) {
    t.equal((err as KmipError).reason, 'InvalidField');
    t.notMatch((err as Error).message, junk.toString('hex').slice(0, 16));
  }
  const offCurve = structure(Tag.KeyBlock, [
    item(Tag.KeyFormatType, 'Enumeration', F.TransparentECPublicKey),
    structure(Tag.KeyValue, [structure(Tag.KeyMaterial, [item(Tag.RecommendedCurve, 'Enumeration', Enum.RecommendedCurve.P_256), item(Tag.QString, 'ByteString', Buffer.concat([Buffer.from([4]), randomBytes(64)]))])]),
  ]);
  t.equal(refusalOf(() => keyFromBlock('PublicKey', new Fields(offCurve))), 'InvalidField', 'a point off the curve');
});

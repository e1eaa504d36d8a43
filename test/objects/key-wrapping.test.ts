/**
 * Key wrapping without a server: the AES key wrap ciphers against the RFC 3394 §4 and RFC 5649 §6
 * test vectors, RSA-OAEP round trips on node:crypto keys, and the key-block, parameter and
 * wrapping-key rules of KMIP 2.1 §3.3 / §7.18 in both protocol generations.
 */
import { generateKeyPairSync, privateDecrypt, constants, createDecipheriv, randomBytes } from 'node:crypto';
import t from 'tap';
import { type Item, type StructureItem, decode, item, structure } from '../../src/ttlv/index.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import {
  type WrappingKey,
  aesKeyUnwrap,
  aesKeyWrap,
  asymmetricKey,
  checkWrappingKey,
  parseWrapping,
  resolveParameters,
  rsaOaepUnwrap,
  rsaOaepWrap,
  unwrapObject,
  wrapObject,
} from '../../src/objects/key-wrapping.js';
import type { ManagedObjectRecord, ObjectTypeName, StateName, UniqueIdentifier } from '../../src/objects/types.js';
import { refused } from './refusal.js';

const V21: ProtocolVersion = { major: 2, minor: 1 };
const V14: ProtocolVersion = { major: 1, minor: 4 };
const NOW = 1_700_000_000;
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');

t.test('AES Key Wrap reproduces the RFC 3394 §4 test vectors and unwraps them', async (t) => {
  const kek128 = hex('000102030405060708090A0B0C0D0E0F');
  const kek192 = hex('000102030405060708090A0B0C0D0E0F1011121314151617');
  const kek256 = hex('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F');
  const data128 = hex('00112233445566778899AABBCCDDEEFF');
  const data192 = hex('00112233445566778899AABBCCDDEEFF0001020304050607');
  const data256 = hex('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F');
  const vectors: [string, Buffer, Buffer, string][] = [
    ['4.1', kek128, data128, '1FA68B0A8112B447 AEF34BD8FB5A7B82 9D3E862371D2CFE5'],
    ['4.2', kek192, data128, '96778B25AE6CA435 F92B5B97C050AED2 468AB8A17AD84E5D'],
    ['4.3', kek256, data128, '64E8C3F9CE0F5BA2 63E9777905818A2A 93C8191E7D6E8AE7'],
    ['4.4', kek192, data192, '031D33264E15D332 68F24EC260743EDC E1C6C7DDEE725A93 6BA814915C6762D2'],
    ['4.5', kek256, data192, 'A8F9BC1612C68B3F F6E6F4FBE30E71E4 769C8B80A32CB895 8CD5D17D6B254DA1'],
    ['4.6', kek256, data256, '28C9F404C4B810F4 CBCCB35CFB87F826 3F5786E2D80ED326 CBC7F0E71A99F43B FB988B9B7A02DD21'],
  ];
  for (const [section, kek, data, expected] of vectors) {
    t.same(aesKeyWrap(kek, data, false), hex(expected), `RFC 3394 §${section} wrap`);
    t.same(aesKeyUnwrap(kek, hex(expected), false), data, `RFC 3394 §${section} unwrap`);
  }
  const altered = hex(vectors[0]![3]);
  altered[5]! ^= 1;
  refused(t, () => aesKeyUnwrap(kek128, altered, false), 'CryptographicFailure', /integrity check/);
  refused(t, () => aesKeyUnwrap(kek192, hex(vectors[0]![3]), false), 'CryptographicFailure', /another key/);
  refused(t, () => aesKeyWrap(kek128, hex('466f7250617369'), false), 'BadCryptographicParameters', /RFC 5649/);
});

t.test('AES Key Wrap with Padding reproduces the RFC 5649 §6 test vectors and unwraps them', async (t) => {
  const kek = hex('5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8');
  t.same(aesKeyWrap(kek, hex('c37b7e6492584340bed12207808941155068f738'), true), hex('138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a'), '20-octet key');
  t.same(aesKeyWrap(kek, hex('466f7250617369'), true), hex('afbeb0f07dfbf5419200f2ccb50bb24f'), '7-octet key');
  t.same(aesKeyUnwrap(kek, hex('138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a'), true), hex('c37b7e6492584340bed12207808941155068f738'));
  t.same(aesKeyUnwrap(kek, hex('afbeb0f07dfbf5419200f2ccb50bb24f'), true), hex('466f7250617369'));
  refused(t, () => aesKeyUnwrap(kek, hex('afbeb0f07dfbf5419200f2ccb50bb24e'), true), 'CryptographicFailure');
  refused(t, () => aesKeyUnwrap(kek, hex('afbeb0f07dfbf541'), true), 'InvalidField', /at least 16/);
});

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

t.test('RSA-OAEP wraps under a public key and unwraps with the private key (SHA-1, SHA-256, label, an MGF1 hash of its own)', async (t) => {
  const secret = randomBytes(32);
  for (const hash of ['sha1', 'sha256']) {
    const wrapped = rsaOaepWrap(rsa.publicKey, secret, { hash });
    t.equal(wrapped.length, 256, `${hash}: one RSA-2048 block`);
    t.same(rsaOaepUnwrap(rsa.privateKey, wrapped, { hash }), secret, `${hash}: round trip`);
    t.same(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, wrapped), secret, `${hash}: plain node:crypto agrees`);
  }
  const label = Buffer.from('kmipd');
  const labelled = rsaOaepWrap(rsa.publicKey, secret, { hash: 'sha256', label });
  t.same(rsaOaepUnwrap(rsa.privateKey, labelled, { hash: 'sha256', label }), secret, 'P Source label round trip');
  refused(t, () => rsaOaepUnwrap(rsa.privateKey, labelled, { hash: 'sha256' }), 'CryptographicFailure', /OAEP parameters/);
  refused(t, () => rsaOaepUnwrap(rsa.privateKey, labelled, { hash: 'sha1', label }), 'CryptographicFailure');
  refused(t, () => rsaOaepWrap(rsa.publicKey, randomBytes(300), { hash: 'sha256' }), 'BadCryptographicParameters', /too long/);
  const mixed = rsaOaepWrap(rsa.publicKey, secret, { hash: 'sha384', mgf1Hash: 'sha256', label });
  t.same(rsaOaepUnwrap(rsa.privateKey, mixed, { hash: 'sha384', mgf1Hash: 'sha256', label }), secret, 'SHA-384 with MGF1-SHA-256 (CS-AC-M-OAEP-7..10) and a label: round trip');
  refused(t, () => rsaOaepUnwrap(rsa.privateKey, mixed, { hash: 'sha384', label }), 'CryptographicFailure', /OAEP parameters/);
  refused(t, () => rsaOaepWrap(rsa.publicKey, randomBytes(200), { hash: 'sha384', mgf1Hash: 'sha256' }), 'BadCryptographicParameters', /too long/);
});

t.test('RSA wrapping keys are read from PKCS#1, X.509, PKCS#8 and Transparent RSA key blocks', async (t) => {
  const block = (format: number, material: Item): StructureItem =>
    structure(Tag.KeyBlock, [item(Tag.KeyFormatType, 'Enumeration', format), structure(Tag.KeyValue, [material])]);
  const der = (format: number, bytes: Buffer): StructureItem => block(format, item(Tag.KeyMaterial, 'ByteString', bytes));
  const secret = randomBytes(16);
  const publics = [
    asymmetricKey(der(Enum.KeyFormatType.PKCS_1, rsa.publicKey.export({ format: 'der', type: 'pkcs1' })), 'public'),
    asymmetricKey(der(Enum.KeyFormatType.X_509, rsa.publicKey.export({ format: 'der', type: 'spki' })), 'public'),
  ];
  const jwk = rsa.privateKey.export({ format: 'jwk' });
  const big = (s: string | undefined): bigint => BigInt(`0x${Buffer.from(s!, 'base64url').toString('hex')}`);
  const transparent = block(
    Enum.KeyFormatType.TransparentRSAPrivateKey,
    structure(Tag.KeyMaterial, [
      item(Tag.Modulus, 'BigInteger', big(jwk.n)),
      item(Tag.PrivateExponent, 'BigInteger', big(jwk.d)),
      item(Tag.PublicExponent, 'BigInteger', big(jwk.e)),
      item(Tag.P, 'BigInteger', big(jwk.p)),
      item(Tag.Q, 'BigInteger', big(jwk.q)),
      item(Tag.PrimeExponentP, 'BigInteger', big(jwk.dp)),
      item(Tag.PrimeExponentQ, 'BigInteger', big(jwk.dq)),
      item(Tag.CRTCoefficient, 'BigInteger', big(jwk.qi)),
    ]),
  );
  const privates = [
    asymmetricKey(der(Enum.KeyFormatType.PKCS_1, rsa.privateKey.export({ format: 'der', type: 'pkcs1' })), 'private'),
    asymmetricKey(der(Enum.KeyFormatType.PKCS_8, rsa.privateKey.export({ format: 'der', type: 'pkcs8' })), 'private'),
    asymmetricKey(transparent, 'private'),
  ];
  for (const pub of publics) for (const priv of privates) t.same(rsaOaepUnwrap(priv, rsaOaepWrap(pub, secret, { hash: 'sha256' }), { hash: 'sha256' }), secret);
  refused(t, () => asymmetricKey(der(Enum.KeyFormatType.PKCS_8, Buffer.from('not a key')), 'private'), 'InvalidField', /does not parse/);
  refused(t, () => asymmetricKey(der(Enum.KeyFormatType.Raw, randomBytes(16)), 'public'), 'KeyFormatTypeNotSupported');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  refused(t, () => asymmetricKey(der(Enum.KeyFormatType.X_509, ec.publicKey.export({ format: 'der', type: 'spki' })), 'public'), 'BadCryptographicParameters', /RSA/);
});

const spec = (children: Item[]): StructureItem => structure(Tag.KeyWrappingSpecification, children);
const method = (value: number): Item => item(Tag.WrappingMethod, 'Enumeration', value);
const keyInfo = (uid: string, params?: Item[]): Item =>
  structure(Tag.EncryptionKeyInformation, [item(Tag.UniqueIdentifier, 'TextString', uid), ...(params ? [structure(Tag.CryptographicParameters, params)] : [])]);
const mode = (value: number): Item => item(Tag.BlockCipherMode, 'Enumeration', value);

t.test('a Key Wrapping Specification is read with TTLV Encoding by default; what kmipd cannot do is refused by name', async (t) => {
  const parsed = parseWrapping(spec([method(Enum.WrappingMethod.Encrypt), keyInfo('kek', [mode(Enum.BlockCipherMode.NISTKeyWrap)])]), V21);
  t.equal(parsed.keyUid, 'kek');
  t.equal(parsed.encoding, 'TTLVEncoding', 'KMIP 2.1 §7.18: no Encoding Option means TTLV encoded');
  t.equal(parsed.encodingGiven, false, 'and the client named none');
  t.ok(parsed.parameters, 'the Cryptographic Parameters are kept');
  const noEncoding = parseWrapping(spec([method(Enum.WrappingMethod.Encrypt), keyInfo('kek'), item(Tag.EncodingOption, 'Enumeration', Enum.EncodingOption.NoEncoding)]), V21);
  t.equal(noEncoding.encoding, 'NoEncoding');
  t.equal(noEncoding.encodingGiven, true);

  refused(t, () => parseWrapping(spec([method(Enum.WrappingMethod.MACSign), keyInfo('kek')]), V21), 'KeyWrapTypeNotSupported', /MAC\/sign/);
  refused(t, () => parseWrapping(spec([method(Enum.WrappingMethod.MACSign), keyInfo('kek')]), V14), 'FeatureNotSupported');
  const macInfo = structure(Tag.MACSignatureKeyInformation, [item(Tag.UniqueIdentifier, 'TextString', 'mac')]);
  refused(t, () => parseWrapping(spec([method(Enum.WrappingMethod.Encrypt), keyInfo('kek'), macInfo]), V21), 'KeyWrapTypeNotSupported');
  refused(t, () => parseWrapping(spec([method(Enum.WrappingMethod.Encrypt)]), V21), 'InvalidField', /Encryption Key Information/);
  refused(t, () => parseWrapping(spec([keyInfo('kek')]), V21), 'InvalidMessage', /Wrapping Method/);
  refused(t, () => parseWrapping(spec([method(Enum.WrappingMethod.Encrypt), keyInfo('kek'), item(Tag.EncodingOption, 'Enumeration', 7)]), V21), 'EncodingOptionError');
  const names = [item(Tag.AttributeName, 'TextString', 'Name')];
  refused(t, () => parseWrapping(spec([method(Enum.WrappingMethod.Encrypt), keyInfo('kek'), ...names, item(Tag.EncodingOption, 'Enumeration', Enum.EncodingOption.NoEncoding)]), V14), 'EncodingOptionError');
  refused(t, () => parseWrapping(spec([method(Enum.WrappingMethod.Encrypt), keyInfo('kek'), ...names]), V21), 'KeyWrapTypeNotSupported', /Attribute Name/);
});

const cp = (children: Item[]): StructureItem => structure(Tag.CryptographicParameters, children);

function record(objectType: ObjectTypeName, attributes: Item[], state: StateName = 'Active'): ManagedObjectRecord {
  return { uid: 'kek-1' as UniqueIdentifier, objectType, state, owner: 'me', attributes };
}

t.test('the wrapping parameters must match one of the key\'s Cryptographic Parameters (KMIP 2.1 §7.18); defaults otherwise', async (t) => {
  const kek = record('SymmetricKey', [cp([mode(Enum.BlockCipherMode.CBC)]), cp([mode(Enum.BlockCipherMode.AESKeyWrapPadding)])]);
  t.same(resolveParameters(kek, cp([mode(Enum.BlockCipherMode.AESKeyWrapPadding)]), V21), cp([mode(Enum.BlockCipherMode.AESKeyWrapPadding)]), 'the matching instance');
  refused(t, () => resolveParameters(kek, cp([mode(Enum.BlockCipherMode.NISTKeyWrap)]), V21), 'BadCryptographicParameters', /no Cryptographic Parameters attribute instance that matches/);
  refused(t, () => resolveParameters(kek, cp([mode(Enum.BlockCipherMode.NISTKeyWrap)]), V14), 'ItemNotFound');
  refused(t, () => resolveParameters(record('SymmetricKey', []), cp([mode(Enum.BlockCipherMode.NISTKeyWrap)]), V21), 'BadCryptographicParameters', /has no Cryptographic Parameters attribute/);
  t.same(resolveParameters(kek, undefined, V21), cp([mode(Enum.BlockCipherMode.CBC)]), "without request parameters, the key's first instance");
  t.same(resolveParameters(record('SymmetricKey', []), undefined, V21), cp([mode(Enum.BlockCipherMode.NISTKeyWrap)]), 'an AES default of RFC 3394');
  t.same(
    resolveParameters(record('PublicKey', []), undefined, V21),
    cp([item(Tag.PaddingMethod, 'Enumeration', Enum.PaddingMethod.OAEP), item(Tag.HashingAlgorithm, 'Enumeration', Enum.HashingAlgorithm.SHA_1)]),
    'an RSA default of OAEP with SHA-1',
  );
});

t.test('a wrapping key must be a key, usable now, with the Wrap Key (or Unwrap Key) usage', async (t) => {
  const mask = (bits: number): Item => item(Tag.CryptographicUsageMask, 'Integer', bits);
  const { WrapKey, UnwrapKey, Encrypt } = Mask.CryptographicUsageMask;
  t.doesNotThrow(() => checkWrappingKey(record('SymmetricKey', [mask(WrapKey | UnwrapKey)]), 'wrap', NOW, V21));
  t.doesNotThrow(() => checkWrappingKey(record('PrivateKey', [mask(UnwrapKey)]), 'unwrap', NOW, V21));
  refused(t, () => checkWrappingKey(record('SymmetricKey', [mask(Encrypt)]), 'wrap', NOW, V21), 'IncompatibleCryptographicUsageMask', /Wrap Key/);
  refused(t, () => checkWrappingKey(record('SymmetricKey', [mask(Encrypt)]), 'wrap', NOW, V14), 'PermissionDenied');
  refused(t, () => checkWrappingKey(record('SymmetricKey', [mask(WrapKey)]), 'unwrap', NOW, V21), 'IncompatibleCryptographicUsageMask', /Unwrap Key/);
  refused(t, () => checkWrappingKey(record('SymmetricKey', [mask(WrapKey)], 'Deactivated'), 'wrap', NOW, V21), 'WrongKeyLifecycleState', /Deactivated/);
  refused(t, () => checkWrappingKey(record('SymmetricKey', [mask(WrapKey)], 'PreActive'), 'wrap', NOW, V14), 'PermissionDenied', /Pre-Active/);
  refused(t, () => checkWrappingKey(record('SymmetricKey', [mask(WrapKey)], 'Destroyed'), 'wrap', NOW, V21), 'WrappingObjectDestroyed');
  refused(t, () => checkWrappingKey(record('SecretData', [mask(WrapKey)]), 'wrap', NOW, V21), 'InvalidObjectType');
  refused(t, () => checkWrappingKey(record('PrivateKey', [mask(WrapKey)]), 'wrap', NOW, V14), 'IllegalOperation', /Public Key/);
});

const aesKey = (bytes: Uint8Array): Item =>
  structure(Tag.SymmetricKey, [
    structure(Tag.KeyBlock, [
      item(Tag.KeyFormatType, 'Enumeration', Enum.KeyFormatType.Raw),
      structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', bytes)]),
      item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES),
      item(Tag.CryptographicLength, 'Integer', bytes.length * 8),
    ]),
  ]);

const blockOf = (value: Item): StructureItem => (value as StructureItem).value.find((c) => c.tag === Tag.KeyBlock) as StructureItem;
const childOf = (s: StructureItem, tag: number): Item | undefined => s.value.find((c) => c.tag === tag);

t.test('a wrapped key block keeps its format, algorithm and length, carries the wrapped bytes and Key Wrapping Data, and unwraps to the original', async (t) => {
  const kekBytes = randomBytes(32);
  const kek: WrappingKey = { record: record('SymmetricKey', []), value: aesKey(kekBytes) };
  const target = randomBytes(32);
  const params = cp([mode(Enum.BlockCipherMode.NISTKeyWrap)]);
  for (const encoding of ['TTLVEncoding', 'NoEncoding'] as const) {
    const request = { keyUid: 'kek-1', parameters: undefined, encoding, encodingGiven: true };
    const wrapped = wrapObject(aesKey(target), kek, request, params, V21);
    const block = blockOf(wrapped);
    t.same(block.value.map((c) => c.tag), [Tag.KeyFormatType, Tag.KeyValue, Tag.CryptographicAlgorithm, Tag.CryptographicLength, Tag.KeyWrappingData], `${encoding}: Key Block order of KMIP 2.1 §3.1`);
    const keyValue = childOf(block, Tag.KeyValue)!;
    t.equal(keyValue.type, 'ByteString', 'the Key Value is the wrapped Byte String');
    const data = childOf(block, Tag.KeyWrappingData) as StructureItem;
    t.same(childOf(data, Tag.WrappingMethod), item(Tag.WrappingMethod, 'Enumeration', Enum.WrappingMethod.Encrypt));
    t.same(childOf(data, Tag.EncryptionKeyInformation), structure(Tag.EncryptionKeyInformation, [item(Tag.UniqueIdentifier, 'TextString', 'kek-1'), params]));
    t.same(childOf(data, Tag.EncodingOption), item(Tag.EncodingOption, 'Enumeration', Enum.EncodingOption[encoding]), 'an Encoding Option the client named is repeated');

    // Independently of kmipd: RFC 3394 unwrap with node:crypto.
    const d = createDecipheriv('id-aes256-wrap', kekBytes, hex('A6A6A6A6A6A6A6A6'));
    const plain = Buffer.concat([d.update(keyValue.value as Uint8Array), d.final()]);
    if (encoding === 'NoEncoding') t.same(plain, target, 'No Encoding wraps the Key Material bytes');
    else t.same(decode(plain), structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', target)]), 'TTLV Encoding wraps the encoded Key Value');

    const unwrapped = unwrapObject(wrapped, kek, request, params, V21);
    t.same(unwrapped, aesKey(target), `${encoding}: unwrapping gives back the plain key block without Key Wrapping Data`);
  }
  const other: WrappingKey = { record: record('SymmetricKey', []), value: aesKey(randomBytes(32)) };
  const wrapped = wrapObject(aesKey(target), kek, { keyUid: 'kek-1', parameters: undefined, encoding: 'TTLVEncoding' }, params, V21);
  t.equal(childOf(childOf(blockOf(wrapped), Tag.KeyWrappingData) as StructureItem, Tag.EncodingOption), undefined, 'KMIP 2.1 §3.3: no Encoding Option asked for, none in the Key Wrapping Data (TTLV implied)');
  const ttlv = { keyUid: 'kek-1', parameters: undefined, encoding: 'TTLVEncoding' } as const;
  refused(t, () => unwrapObject(wrapped, other, ttlv, params, V21), 'CryptographicFailure', /integrity check/);
  refused(t, () => unwrapObject(aesKey(target) as StructureItem, kek, ttlv, params, V21), 'InvalidField', /Byte String/);
  refused(t, () => wrapObject(aesKey(target), kek, { keyUid: 'kek-1', parameters: undefined, encoding: 'TTLVEncoding' }, cp([mode(Enum.BlockCipherMode.CBC)]), V21), 'BadCryptographicParameters', /not key wrap modes/);
  refused(t, () => wrapObject(aesKey(target), kek, { keyUid: 'kek-1', parameters: undefined, encoding: 'TTLVEncoding' }, cp([mode(Enum.BlockCipherMode.CBC)]), V14), 'InvalidField', /not key wrap modes/);
  const rsaParams = cp([item(Tag.PaddingMethod, 'Enumeration', Enum.PaddingMethod.OAEP), item(Tag.HashingAlgorithm, 'Enumeration', Enum.HashingAlgorithm.SHA_256)]);
  const pub: WrappingKey = {
    record: record('PublicKey', []),
    value: structure(Tag.PublicKey, [structure(Tag.KeyBlock, [item(Tag.KeyFormatType, 'Enumeration', Enum.KeyFormatType.X_509), structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', rsa.publicKey.export({ format: 'der', type: 'spki' }))])])]),
  };
  // 2.1 Table 59: OAEP SHA-256 without a Mask Generator Hashing Algorithm runs MGF1 with SHA-1.
  const mixed = childOf(blockOf(wrapObject(aesKey(target), pub, { keyUid: 'kek-1', parameters: undefined, encoding: 'NoEncoding' }, rsaParams, V21)), Tag.KeyValue)!.value as Uint8Array;
  t.same(rsaOaepUnwrap(rsa.privateKey, mixed, { hash: 'sha256', mgf1Hash: 'sha1' }), target, 'RSA-OAEP SHA-256 with MGF1-SHA-1 wrap of the key bytes');
  refused(t, () => rsaOaepUnwrap(rsa.privateKey, mixed, { hash: 'sha256' }), 'CryptographicFailure', /OAEP parameters/);
  refused(t, () => wrapObject(aesKey(target), pub, { keyUid: 'kek-1', parameters: undefined, encoding: 'TTLVEncoding' }, cp([...rsaParams.value, item(Tag.MaskGeneratorHashingAlgorithm, 'Enumeration', Enum.HashingAlgorithm.MD5)]), V21), 'BadCryptographicParameters', /Mask Generator Hashing Algorithm/);
  const both = cp([...rsaParams.value, item(Tag.MaskGeneratorHashingAlgorithm, 'Enumeration', Enum.HashingAlgorithm.SHA_256)]);
  const viaRsa = wrapObject(aesKey(target), pub, { keyUid: 'kek-1', parameters: undefined, encoding: 'NoEncoding' }, both, V21);
  const rsaWrapped = childOf(blockOf(viaRsa), Tag.KeyValue)!.value as Uint8Array;
  t.same(privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, rsaWrapped), target, 'RSA-OAEP SHA-256 wrap of the key bytes');
});

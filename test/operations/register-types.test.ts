/**
 * Register and Get of every object type end to end (a real kmipd over mutual TLS, KMIP 2.1 and 1.4):
 * what is registered comes back byte for byte, the server derives the attributes the value tells
 * (key algorithm and length, certificate fields), and garbage is refused with a precise reason.
 */
import 'reflect-metadata';
import { X509Certificate, createPublicKey, generateKeyPairSync, randomBytes, sign, verify, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import t from 'tap';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, refusal, startTestKmipd } from '../support/kmipd.js';

const F = Enum.KeyFormatType;
let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-register-types-', 'someone-else');
});
t.teardown(() => env.close());

const bytes = (tag: number, b: Uint8Array): Item => item(tag, 'ByteString', b);

function keyBlock(format: number, material: Item, extra: Item[] = []): Item {
  return structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, format), structure(Tag.KeyValue, [{ ...material, tag: Tag.KeyMaterial }]), ...extra]);
}

function registerRequest(objectType: keyof typeof Enum.ObjectType, value: Item, attrs: Item[] = []): Item[] {
  return [enumeration(Tag.ObjectType, Enum.ObjectType[objectType]), structure(Tag.Attributes, attrs), value];
}

async function attributesOf(id: string): Promise<Fields> {
  const c = await env.connect();
  try {
    return (await c.call('GetAttributes', [uid(id)])).payload!.needStruct(Tag.Attributes);
  } finally {
    await c.close();
  }
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

t.test('2.1: every object type registers and Get returns exactly what was registered', async (t) => {
  const c = await env.connect();
  const certPem = env.other.cert.toString();
  const certDer = new X509Certificate(certPem).raw;
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=register-types', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  const csrDer = Buffer.from(csr.rawData);

  const cases: [keyof typeof Enum.ObjectType, number, Item][] = [
    ['SymmetricKey', Tag.SymmetricKey, structure(Tag.SymmetricKey, [keyBlock(F.TransparentSymmetricKey, structure(0, [bytes(Tag.Key, randomBytes(32))]), [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 256)])])],
    ['PublicKey', Tag.PublicKey, structure(Tag.PublicKey, [keyBlock(F.PKCS_1, bytes(0, rsa.publicKey.export({ format: 'der', type: 'pkcs1' })))])],
    ['PrivateKey', Tag.PrivateKey, structure(Tag.PrivateKey, [keyBlock(F.PKCS_8, bytes(0, rsa.privateKey.export({ format: 'der', type: 'pkcs8' })), [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.RSA), integer(Tag.CryptographicLength, 2048)])])],
    ['SecretData', Tag.SecretData, structure(Tag.SecretData, [enumeration(Tag.SecretDataType, Enum.SecretDataType.Seed), keyBlock(F.Raw, bytes(0, randomBytes(20)))])],
    ['OpaqueObject', Tag.OpaqueObject, structure(Tag.OpaqueObject, [enumeration(Tag.OpaqueDataType, 0x80000001), bytes(Tag.OpaqueDataValue, Buffer.from('an opaque blob'))])],
    ['Certificate', Tag.Certificate, structure(Tag.Certificate, [enumeration(Tag.CertificateType, Enum.CertificateType.X_509), bytes(Tag.CertificateValue, certDer)])],
    [
      'SplitKey',
      Tag.SplitKey,
      structure(Tag.SplitKey, [
        integer(Tag.SplitKeyParts, 3), integer(Tag.KeyPartIdentifier, 2), integer(Tag.SplitKeyThreshold, 2), enumeration(Tag.SplitKeyMethod, Enum.SplitKeyMethod.XOR),
        keyBlock(F.Raw, bytes(0, randomBytes(16)), [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 128)]),
      ]),
    ],
    ['PGPKey', Tag.PGPKey, structure(Tag.PGPKey, [integer(Tag.PGPKeyVersion, 4), keyBlock(F.Opaque, bytes(0, Buffer.from('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBF…\n-----END PGP PUBLIC KEY BLOCK-----\n')))])],
    ['CertificateRequest', Tag.CertificateRequest, structure(Tag.CertificateRequest, [enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PKCS_10), bytes(Tag.CertificateRequestValue, csrDer)])],
  ];
  for (const [type, tag, value] of cases) {
    const id = (await c.call('Register', registerRequest(type, value, [name(`registered-${type}`)]))).payload!.need(Tag.UniqueIdentifier, 'TextString');
    const got = await c.call('Get', [uid(id)]);
    t.equal(got.payload!.need(Tag.ObjectType, 'Enumeration'), Enum.ObjectType[type], `${type}: Get answers its Object Type`);
    t.same(got.payload!.required(tag), value, `${type}: Get returns the registered value`);
    const attrs = await attributesOf(id);
    t.equal(attrs.need(Tag.ObjectType, 'Enumeration'), Enum.ObjectType[type]);
    t.ok(attrs.has(Tag.Digest), `${type}: a Digest`);
  }
  const query = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryObjects)]);
  const listed = query.payload!.values(Tag.ObjectType, 'Enumeration');
  for (const [type] of cases) t.ok(listed.includes(Enum.ObjectType[type]), `Query lists ${type}`);
  await c.close();
});

t.test('2.1: a registered key gets its algorithm and length from its material, and converts on Get', async (t) => {
  const c = await env.connect();
  const id = (await c.call('Register', registerRequest('PublicKey', structure(Tag.PublicKey, [keyBlock(F.X_509, bytes(0, rsa.publicKey.export({ format: 'der', type: 'spki' })))]), [integer(Tag.CryptographicUsageMask, 2)]))).payload!.need(Tag.UniqueIdentifier, 'TextString');
  const attrs = await attributesOf(id);
  t.equal(attrs.need(Tag.CryptographicAlgorithm, 'Enumeration'), Enum.CryptographicAlgorithm.RSA, 'the algorithm is derived');
  t.equal(attrs.need(Tag.CryptographicLength, 'Integer'), 2048, 'the length is derived');
  t.equal(attrs.need(Tag.KeyFormatType, 'Enumeration'), F.X_509, 'held as registered');
  const pkcs1 = (await c.call('Get', [uid(id), enumeration(Tag.KeyFormatType, F.PKCS_1)])).payload!.needStruct(Tag.PublicKey).needStruct(Tag.KeyBlock);
  const key = createPublicKey({ key: Buffer.from(pkcs1.needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString')), format: 'der', type: 'pkcs1' });
  const data = randomBytes(16);
  t.ok(verify('sha256', data, key, sign('sha256', data, rsa.privateKey)), 'the PKCS#1 form is the registered key');

  const sym = (await c.call('Register', registerRequest('SymmetricKey', structure(Tag.SymmetricKey, [keyBlock(F.Raw, bytes(0, Buffer.alloc(16, 7)), [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 128)])])))).payload!.need(Tag.UniqueIdentifier, 'TextString');
  const transparent = (await c.call('Get', [uid(sym), enumeration(Tag.KeyFormatType, F.TransparentSymmetricKey)])).payload!.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock);
  t.same(Buffer.from(transparent.needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial).need(Tag.Key, 'ByteString')), Buffer.alloc(16, 7), 'Raw → Transparent Symmetric Key');
  await c.close();
});

t.test('2.1: a registered X.509 certificate gets its Certificate Type, Length, Identifier, Subject, Issuer and signature algorithm', async (t) => {
  const c = await env.connect();
  const cert = new X509Certificate(env.other.cert.toString());
  const ca = new X509Certificate(await import('node:fs').then((fs) => fs.readFileSync(`${env.dir}/ca.pem`)));
  const id = (await c.call('Register', registerRequest('Certificate', structure(Tag.Certificate, [enumeration(Tag.CertificateType, Enum.CertificateType.X_509), bytes(Tag.CertificateValue, cert.raw)])))).payload!.need(Tag.UniqueIdentifier, 'TextString');
  const attrs = await attributesOf(id);
  t.equal(attrs.need(Tag.CertificateType, 'Enumeration'), Enum.CertificateType.X_509);
  t.equal(attrs.need(Tag.CertificateLength, 'Integer'), cert.raw.length);
  const identifier = attrs.needStruct(Tag.X_509CertificateIdentifier);
  t.equal(Buffer.from(identifier.need(Tag.CertificateSerialNumber, 'ByteString')).toString('hex').replace(/^00/, '').toUpperCase(), cert.serialNumber.replace(/^00/, '').toUpperCase(), 'the serial number');
  const issuerDn = Buffer.from(attrs.needStruct(Tag.X_509CertificateIssuer).need(Tag.IssuerDistinguishedName, 'ByteString'));
  t.same(issuerDn, Buffer.from(identifier.need(Tag.IssuerDistinguishedName, 'ByteString')));
  t.ok(cert.issuer === ca.subject && issuerDn.includes(Buffer.from(ca.subject.split('CN=')[1]!.split('\n')[0]!)), 'the issuer DN is the CA’s');
  t.ok(Buffer.from(attrs.needStruct(Tag.X_509CertificateSubject).need(Tag.SubjectDistinguishedName, 'ByteString')).includes(Buffer.from('someone-else')), 'the subject DN');
  t.equal(attrs.need(Tag.DigitalSignatureAlgorithm, 'Enumeration'), Enum.DigitalSignatureAlgorithm.ECDSAWithSHA256, 'the dev PKI signs with ECDSA-SHA256');
  t.equal(attrs.need(Tag.CryptographicAlgorithm, 'Enumeration'), Enum.CryptographicAlgorithm.EC, "the certificate's key algorithm");
  t.equal((await refusal(c.call('Get', [uid(id), enumeration(Tag.KeyFormatType, F.Raw)]))).reason, 'KeyFormatTypeNotSupported', 'a certificate has no Key Format Type');
  await c.close();
});

t.test('2.1: Register refuses garbage with Invalid Field and stores nothing', async (t) => {
  const c = await env.connect();
  const reasonOf = async (payload: Item[]): Promise<string> => (await refusal(c.call('Register', payload))).reason;
  t.equal(await reasonOf(registerRequest('PublicKey', structure(Tag.PublicKey, [keyBlock(F.PKCS_1, bytes(0, randomBytes(200)))]), [name('garbage')])), 'InvalidField', 'a Public Key whose PKCS#1 bytes do not parse');
  t.equal(await reasonOf(registerRequest('PrivateKey', structure(Tag.PrivateKey, [keyBlock(F.PKCS_8, bytes(0, rsa.privateKey.export({ format: 'der', type: 'pkcs8' })), [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.EC), integer(Tag.CryptographicLength, 256)])]))), 'InvalidField', 'an RSA key that claims to be EC');
  t.equal(await reasonOf(registerRequest('PublicKey', structure(Tag.PublicKey, [keyBlock(F.PKCS_8, bytes(0, rsa.privateKey.export({ format: 'der', type: 'pkcs8' })))]))), 'KeyFormatTypeNotSupported', 'a Public Key in PKCS#8');
  t.equal(await reasonOf(registerRequest('Certificate', structure(Tag.Certificate, [enumeration(Tag.CertificateType, Enum.CertificateType.X_509)]))), 'InvalidField', 'a Certificate without its Value');
  t.equal(await reasonOf(registerRequest('Certificate', structure(Tag.Certificate, [bytes(Tag.CertificateValue, randomBytes(10))]))), 'InvalidField', 'a Certificate without its Type');
  t.equal(await reasonOf(registerRequest('Certificate', structure(Tag.Certificate, [enumeration(Tag.CertificateType, Enum.CertificateType.X_509), bytes(Tag.CertificateValue, randomBytes(300))]))), 'InvalidField', 'a Certificate Value that is no certificate');
  const certDer = new X509Certificate(env.other.cert.toString()).raw;
  t.equal(await reasonOf(registerRequest('Certificate', structure(Tag.Certificate, [enumeration(Tag.CertificateType, Enum.CertificateType.X_509), bytes(Tag.CertificateValue, certDer)]), [integer(Tag.CertificateLength, 3)])), 'InvalidAttributeValue', 'a Certificate Length that is not the certificate’s');
  t.equal(await reasonOf(registerRequest('SplitKey', structure(Tag.SplitKey, [integer(Tag.SplitKeyParts, 2), integer(Tag.KeyPartIdentifier, 3), integer(Tag.SplitKeyThreshold, 2), enumeration(Tag.SplitKeyMethod, Enum.SplitKeyMethod.XOR), keyBlock(F.Raw, bytes(0, randomBytes(16)))]))), 'InvalidField', 'a key part beyond the parts');
  t.equal(await reasonOf(registerRequest('PGPKey', structure(Tag.PGPKey, [integer(Tag.PGPKeyVersion, 7), keyBlock(F.Opaque, bytes(0, randomBytes(16)))]))), 'InvalidField', 'PGP key version 7');
  t.equal(await reasonOf(registerRequest('CertificateRequest', structure(Tag.CertificateRequest, [enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PKCS_10), bytes(Tag.CertificateRequestValue, Buffer.from('not der'))]))), 'InvalidField', 'a PKCS#10 request that is not DER');
  t.equal(await reasonOf(registerRequest('SymmetricKey', structure(Tag.SymmetricKey, [keyBlock(F.Raw, bytes(0, randomBytes(10)), [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 80)])]))), 'InvalidField', 'an AES key of 10 bytes');
  t.equal(await reasonOf(registerRequest('Template', structure(Tag.Template, []))), 'InvalidObjectType', 'Template does not exist in KMIP 2.x');
  const located = await c.call('Locate', [structure(Tag.Attributes, [name('garbage')])]);
  t.same(located.payload!.values(Tag.UniqueIdentifier, 'TextString'), [], 'nothing was stored');
  await c.close();
});

t.test('1.4: Register a Template and a Public Key; a Certificate Request does not exist in 1.4', async (t) => {
  const c = await env.connect(V14);
  const attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);
  const template = structure(Tag.Template, [attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.AES)), attr('Cryptographic Length', integer(0, 256))]);
  const id = (await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.Template), structure(Tag.TemplateAttribute, [attr('Name', name('v14-template'))]), template])).payload!.need(Tag.UniqueIdentifier, 'TextString');
  const got = await c.call('Get', [uid(id)]);
  t.equal(got.payload!.need(Tag.ObjectType, 'Enumeration'), Enum.ObjectType.Template);
  t.same(got.payload!.required(Tag.Template), template, 'the Template comes back');
  const bad = await refusal(c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.Template), structure(Tag.TemplateAttribute, []), structure(Tag.Template, [attr('No Such Attribute', integer(0, 1))])]));
  t.equal(bad.reason, 'InvalidField', 'a Template with an unknown attribute');

  const pub = (await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.PublicKey), structure(Tag.TemplateAttribute, []), structure(Tag.PublicKey, [keyBlock(F.PKCS_1, bytes(0, rsa.publicKey.export({ format: 'der', type: 'pkcs1' })))])])).payload!.need(Tag.UniqueIdentifier, 'TextString');
  const transparent = (await c.call('Get', [uid(pub), enumeration(Tag.KeyFormatType, F.TransparentRSAPublicKey)])).payload!.needStruct(Tag.PublicKey).needStruct(Tag.KeyBlock);
  t.equal(transparent.needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial).need(Tag.PublicExponent, 'BigInteger'), 65537n, '1.4 Get as Transparent RSA Public Key');
  const garbage = await refusal(c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.PublicKey), structure(Tag.TemplateAttribute, []), structure(Tag.PublicKey, [keyBlock(F.X_509, bytes(0, randomBytes(64)))])]));
  t.equal(garbage.reason, 'InvalidField', '1.4: garbage X.509 is Invalid Field');
  const csr = await refusal(c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.CertificateRequest), structure(Tag.TemplateAttribute, []), structure(Tag.CertificateRequest, [])]));
  t.equal(csr.reason, 'InvalidField', '1.4 has no Certificate Request object: Invalid Field');
  await c.close();

  const v2 = await env.connect();
  t.equal((await refusal(v2.call('Get', [uid(id)]))).reason, 'InvalidObjectType', 'a 2.1 client cannot Get a Template');
  await v2.close();
});

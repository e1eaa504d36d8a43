/**
 * Certify and Re-certify end to end: a kmipd from `kmipd init`, KmipClient over real mutual TLS in
 * KMIP 2.1 and 1.4 form. Certificates are judged as a relying party would: node:crypto parses
 * what Get returns, checks who signed it, its subject, key and CA flag; the links are read back
 * with Get Attributes.
 */
import 'reflect-metadata';
import { X509Certificate, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import * as x509 from '@peculiar/x509';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { Fields } from '../../src/kmip/fields.js';
import type { KmipClient } from '../../src/client/client.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { type Run, runKmipctl } from '../support/kmipctl.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-certify-', 'certify-someone-else');
});
t.teardown(() => env.close());

const U = Mask.CryptographicUsageMask;
const L = Enum.LinkType;
const now = (): number => Math.floor(Date.now() / 1000);
const link = (type: number, id: string): Item => structure(Tag.Link, [enumeration(Tag.LinkType, type), text(Tag.LinkedObjectIdentifier, id)]);
const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);
const ecP256 = [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.EC), structure(Tag.CryptographicDomainParameters, [enumeration(Tag.RecommendedCurve, Enum.RecommendedCurve.P_256)])];
const rsa2048 = [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.RSA), integer(Tag.CryptographicLength, 2048)];

interface Pair {
  privateKey: string;
  publicKey: string;
}

/** A key pair whose private key is Active and may sign (and sign certificates). */
async function keyPair(c: KmipClient, common: Item[] = ecP256, ca = false): Promise<Pair> {
  const created = await c.call('CreateKeyPair', [
    structure(Tag.CommonAttributes, [...common, item(Tag.ActivationDate, 'DateTime', now() - 60)]),
    structure(Tag.PrivateKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Sign | (ca ? U.CertificateSign : 0))]),
    structure(Tag.PublicKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Verify | (ca ? U.CertificateSign : 0))]),
  ]);
  return { privateKey: created.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString'), publicKey: created.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString') };
}

async function certify(c: KmipClient, payload: Item[]): Promise<string> {
  return (await c.call('Certify', payload)).payload!.need(Tag.UniqueIdentifier, 'TextString');
}

async function certificate(c: KmipClient, id: string): Promise<X509Certificate> {
  const got = (await c.call('Get', [uid(id)])).payload!.needStruct(Tag.Certificate);
  return new X509Certificate(Buffer.from(got.need(Tag.CertificateValue, 'ByteString')));
}

async function publicKeyDer(c: KmipClient, id: string): Promise<Buffer> {
  const got = (await c.call('Get', [uid(id), enumeration(Tag.KeyFormatType, Enum.KeyFormatType.X_509)])).payload!.needStruct(Tag.PublicKey);
  return Buffer.from(got.needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));
}

async function attributesOf(c: KmipClient, id: string): Promise<Fields> {
  return (await c.call('GetAttributes', [uid(id)])).payload!.needStruct(Tag.Attributes);
}

function links(attrs: Fields, linkType: number): string[] {
  return attrs
    .all(Tag.Link)
    .filter((l) => l.type === 'Structure' && l.value.some((c) => c.tag === Tag.LinkType && c.value === linkType))
    .map((l) => (l.value as Item[]).find((c) => c.tag === Tag.LinkedObjectIdentifier)!.value as string);
}

const spkiOf = (cert: X509Certificate): Buffer => cert.publicKey.export({ format: 'der', type: 'spki' });

/** A self-signed root made through Certify, and its key pair. */
async function root(c: KmipClient, cn: string): Promise<{ pair: Pair; cert: string }> {
  const pair = await keyPair(c, ecP256, true);
  const cert = await certify(c, [uid(pair.publicKey), structure(Tag.Attributes, [text(Tag.CertificateSubjectCN, cn), text(Tag.CertificateSubjectO, 'kmipd tests')])]);
  return { pair, cert };
}

async function csrFor(subject: string, tamper = false): Promise<Buffer> {
  const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'device.example' }]), new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const der = Buffer.from(csr.rawData);
  if (tamper) der[der.length - 5]! ^= 0xff;
  return der;
}

t.test('2.1 a self-signed root: subject from the Certificate Subject attributes, CA, links both ways', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const { pair, cert } = await root(c, 'kmipd test root');
  const x = await certificate(c, cert);
  t.match(x.subject, /CN=kmipd test root/);
  t.match(x.subject, /O=kmipd tests/);
  t.equal(x.issuer, x.subject, 'issuer = subject');
  t.ok(x.verify(x.publicKey), 'signed by its own key');
  t.ok(x.ca, 'a CA certificate');
  t.same(spkiOf(x), await publicKeyDer(c, pair.publicKey), 'it certifies the managed public key');

  const attrs = await attributesOf(c, cert);
  t.same(links(attrs, L.PublicKeyLink), [pair.publicKey], 'certificate → Public Key Link');
  t.same(links(await attributesOf(c, pair.publicKey), L.CertificateLink), [cert], 'public key → Certificate Link');
  t.equal(attrs.need(Tag.CertificateType, 'Enumeration'), Enum.CertificateType.X_509);
  t.equal(attrs.need(Tag.CertificateLength, 'Integer'), x.raw.length);
  t.equal(attrs.need(Tag.DigitalSignatureAlgorithm, 'Enumeration'), Enum.DigitalSignatureAlgorithm.ECDSAWithSHA256);
  t.ok(attrs.struct(Tag.X_509CertificateSubject), 'X.509 Certificate Subject set by the server');
  t.equal(attrs.get(Tag.CertificateSubjectCN, 'TextString'), 'kmipd test root', 'Certificate Subject CN (2.1 §4.6)');
  t.equal(attrs.get(Tag.CertificateIssuerO, 'TextString'), 'kmipd tests', 'Certificate Issuer O');
  t.ok(attrs.struct(Tag.Digest), 'a Digest of the certificate');
});

t.test('2.1 a leaf issued by a managed CA (Certificate Link), RSA subject key, not a CA', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const ca = await root(c, 'kmipd issuing CA');
  const leaf = await keyPair(c, rsa2048);
  const certId = await certify(c, [uid(leaf.publicKey), structure(Tag.Attributes, [text(Tag.CertificateSubjectCN, 'leaf.example'), link(L.CertificateLink, ca.cert), name('leaf-cert')])]);
  const x = await certificate(c, certId);
  const caCert = await certificate(c, ca.cert);
  t.match(x.subject, /CN=leaf.example/);
  t.equal(x.issuer, caCert.subject, 'issued by the CA');
  t.ok(x.checkIssued(caCert), 'names and key identifiers chain');
  t.ok(x.verify(caCert.publicKey), "signed with the CA's key");
  t.notOk(x.ca, 'an end-entity certificate');
  t.equal(x.publicKey.asymmetricKeyType, 'rsa');
  t.ok(new Date(x.validTo).getTime() <= new Date(caCert.validTo).getTime(), "never valid past its issuer's expiry");
  const attrs = await attributesOf(c, certId);
  t.same(links(attrs, L.CertificateLink), [ca.cert], 'Certificate Link to the issuer (its parent in the chain)');
  t.equal(attrs.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'leaf-cert', 'the Name asked for');
});

t.test('2.1 Create Key Pair, Certify and Get in one batch through the ID Placeholder', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const batch = await c.request({
    items: [
      {
        operation: Enum.Operation.CreateKeyPair,
        payload: [
          structure(Tag.CommonAttributes, [...ecP256, item(Tag.ActivationDate, 'DateTime', now() - 60)]),
          structure(Tag.PrivateKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Sign), name('batch-private')]),
          structure(Tag.PublicKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Verify), name('batch-public')]),
        ],
      },
      { operation: Enum.Operation.Certify, payload: [] },
      { operation: Enum.Operation.Get, payload: [] },
    ],
  });
  t.same(batch.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success, Enum.ResultStatus.Success], batch.items.map((i) => i.resultMessage ?? '').join(' '));
  const x = new X509Certificate(Buffer.from(batch.items[2]!.payload!.needStruct(Tag.Certificate).need(Tag.CertificateValue, 'ByteString')));
  t.match(x.subject, /CN=batch-public/, "without subject attributes the CN is the public key's Name");
  t.ok(x.verify(x.publicKey), 'self-signed by the pair made in the same batch');
});

t.test('2.1 Certify a PKCS#10 request: its subject and SAN, never its CA request; a forged request is Invalid CSR', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const ca = await root(c, 'kmipd CSR CA');
  const csr = await csrFor('CN=device-7, O=Example');
  const certId = await certify(c, [
    enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PKCS_10),
    item(Tag.CertificateRequestValue, 'ByteString', csr),
    structure(Tag.Attributes, [link(L.CertificateLink, ca.cert)]),
  ]);
  const x = await certificate(c, certId);
  t.match(x.subject, /CN=device-7/);
  t.match(x.subjectAltName ?? '', /DNS:device.example/, 'the requested subjectAltName');
  t.notOk(x.ca, 'a request cannot make itself a CA');
  t.ok(x.verify((await certificate(c, ca.cert)).publicKey));
  t.same(links(await attributesOf(c, certId), L.PublicKeyLink), [], 'no managed public key to link');

  const forged = await refusal(certify(c, [enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PKCS_10), item(Tag.CertificateRequestValue, 'ByteString', await csrFor('CN=forged', true)), structure(Tag.Attributes, [link(L.CertificateLink, ca.cert)])]));
  t.equal(forged.reason, 'InvalidCSR');
  const garbage = await refusal(certify(c, [enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PKCS_10), item(Tag.CertificateRequestValue, 'ByteString', Buffer.from('not a request'))]));
  t.equal(garbage.reason, 'InvalidCSR');
  const pemCsr = `-----BEGIN CERTIFICATE REQUEST-----\n${csr.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const fromPem = await certify(c, [enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PEM), item(Tag.CertificateRequestValue, 'ByteString', Buffer.from(pemCsr)), structure(Tag.Attributes, [link(L.CertificateLink, ca.cert)])]);
  t.match((await certificate(c, fromPem)).subject, /CN=device-7/, 'a PEM request too');
});

t.test('2.1 Certify refusals', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const reasonOf = async (payload: Item[]): Promise<string> => (await refusal(certify(c, payload))).reason;
  const key = (await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, []), aesKey(Buffer.alloc(16, 7))])).payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.equal(await reasonOf([uid(key)]), 'InvalidObjectType', 'a Symmetric Key is not certified');
  const pair = await keyPair(c);
  const ca = await root(c, 'kmipd refusing CA');
  const leafCert = await certify(c, [uid(pair.publicKey), structure(Tag.Attributes, [link(L.CertificateLink, ca.cert)])]);
  const other = await keyPair(c);
  t.equal(await reasonOf([uid(other.publicKey), structure(Tag.Attributes, [link(L.CertificateLink, leafCert)])]), 'InvalidObjectType', 'a certificate without cA cannot issue');
  t.equal(await reasonOf([uid(other.publicKey), structure(Tag.Attributes, [enumeration(Tag.CertificateType, Enum.CertificateType.PGP)])]), 'FeatureNotSupported', 'PGP certificates are not issued');
  const notSigning = await c.call('CreateKeyPair', [structure(Tag.CommonAttributes, ecP256), structure(Tag.PrivateKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Sign)]), structure(Tag.PublicKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Verify)])]);
  t.equal(await reasonOf([uid(notSigning.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString'))]), 'WrongKeyLifecycleState', 'a Pre-Active private key does not sign');
  const them = await env.connect(V21, env.other);
  t.teardown(() => them.close());
  t.equal((await refusal(certify(them, [uid(pair.publicKey)]))).reason, 'ObjectNotFound', "another client cannot certify the caller's key");
});

t.test('2.1 Re-certify with an Offset: same key and subject, new serial, Name moved, links updated', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const ca = await root(c, 'kmipd renewing CA');
  const leaf = await keyPair(c);
  const activation = now() - 100;
  const oldId = await certify(c, [uid(leaf.publicKey), structure(Tag.Attributes, [text(Tag.CertificateSubjectCN, 'renew.example'), link(L.CertificateLink, ca.cert), name('renew-cert'), item(Tag.ActivationDate, 'DateTime', activation), item(Tag.DeactivationDate, 'DateTime', activation + 86_400)])]);
  const newId = (await c.call('ReCertify', [uid(oldId), item(Tag.Offset, 'Interval', 3600)])).payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.not(newId, oldId);
  const [before, after, caCert] = [await certificate(c, oldId), await certificate(c, newId), await certificate(c, ca.cert)];
  t.equal(after.subject, before.subject, 'same subject');
  t.same(spkiOf(after), spkiOf(before), 'same public key');
  t.not(after.serialNumber, before.serialNumber, 'a new serial number');
  t.ok(after.verify(caCert.publicKey), 'signed by the same CA');

  const fresh = await attributesOf(c, newId);
  const initial = fresh.need(Tag.InitialDate, 'DateTime');
  t.equal(fresh.need(Tag.ActivationDate, 'DateTime'), initial + 3600, 'Activation Date = Initial Date + Offset (Table 298)');
  t.equal(fresh.need(Tag.DeactivationDate, 'DateTime'), activation + 86_400 + (initial + 3600 - activation), 'Deactivation Date moved by as much');
  t.equal(fresh.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'renew-cert', 'the Name moved to the new certificate');
  t.same(links(fresh, L.ReplacedObjectLink), [oldId], 'new → Replaced Object Link');
  t.same(links(fresh, L.PublicKeyLink), [leaf.publicKey]);
  t.same(links(fresh, L.CertificateLink), [ca.cert], 'still issued by the CA');
  const old = await attributesOf(c, oldId);
  t.same(links(old, L.ReplacementObjectLink), [newId], 'old → Replacement Object Link');
  t.notOk(old.has(Tag.Name), 'the old certificate has no Name any more');
  t.same(links(await attributesOf(c, leaf.publicKey), L.CertificateLink), [newId], "the public key's Certificate Link points at the new certificate");

  const bad = await refusal(c.call('ReCertify', [uid(newId), item(Tag.Offset, 'Interval', 60), structure(Tag.Attributes, [item(Tag.ActivationDate, 'DateTime', now())])]));
  t.equal(bad.reason, 'InvalidMessage', 'an Offset with an Activation Date: Invalid Message (1.4 §11.9)');

  const otherKey = await refusal(c.call('ReCertify', [uid(newId), enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PKCS_10), item(Tag.CertificateRequestValue, 'ByteString', await csrFor('CN=renew.example'))]));
  t.equal(otherKey.reason, 'InvalidField', 'a request for another key is not a renewal for the same key pair');

  const renewedRoot = (await c.call('ReCertify', [uid(ca.cert)])).payload!.need(Tag.UniqueIdentifier, 'TextString');
  const r = await certificate(c, renewedRoot);
  t.ok(r.verify(r.publicKey) && r.ca, 'a self-signed root renews as a self-signed CA');
});

t.test('1.4 Certify with a Template-Attribute and a Certificate Request; Re-certify', async (t) => {
  const c = await env.connect(V14);
  t.teardown(() => c.close());
  const c21 = await env.connect(V21);
  t.teardown(() => c21.close());
  const ca = await root(c21, 'kmipd 1.4 CA');
  const csr = await csrFor('CN=legacy-device');
  const certId = await certify(c, [
    enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PKCS_10),
    item(Tag.CertificateRequest, 'ByteString', csr),
    structure(Tag.TemplateAttribute, [v1Attr('Link', link(L.CertificateLink, ca.cert)), v1Attr('Name', name('legacy-cert'))]),
  ]);
  const x = await certificate(c, certId);
  t.match(x.subject, /CN=legacy-device/);
  const forged = await refusal(certify(c, [enumeration(Tag.CertificateRequestType, Enum.CertificateRequestType.PKCS_10), item(Tag.CertificateRequest, 'ByteString', await csrFor('CN=x', true)), structure(Tag.TemplateAttribute, [v1Attr('Link', link(L.CertificateLink, ca.cert))])]));
  t.equal(forged.reason, 'InvalidField', '1.x: a bad request is Invalid Field (1.4 §11.8)');
  const renewed = (await c.call('ReCertify', [uid(certId)])).payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.equal((await certificate(c, renewed)).subject, x.subject);
  t.ok((await certificate(c, renewed)).publicKey.equals(x.publicKey), 'same key');
});

t.test('kmipctl certify and recertify', async (t) => {
  const kmipctl = (...args: string[]): Promise<Run> => runKmipctl(args, { dataDir: env.dir, port: env.server.tlsAddress.port });
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const ca = await root(c, 'kmipd CLI CA');
  const leaf = await keyPair(c);
  const made = await kmipctl('certify', leaf.publicKey, '--issuer', ca.cert, '--cn', 'cli.example', '--name', 'cli-cert');
  t.equal(made.code, 0, made.err);
  const certId = made.out.trim();
  const x = await certificate(c, certId);
  t.match(x.subject, /CN=cli.example/);
  t.ok(x.verify((await certificate(c, ca.cert)).publicKey));

  const dir = mkdtempSync(join(tmpdir(), 'kmipctl-csr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const csrPath = join(dir, 'device.csr');
  writeFileSync(csrPath, `-----BEGIN CERTIFICATE REQUEST-----\n${(await csrFor('CN=cli-device')).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`);
  const fromCsr = await kmipctl('certify', '--csr', csrPath, '--issuer', ca.cert);
  t.equal(fromCsr.code, 0, fromCsr.err);
  t.match((await certificate(c, fromCsr.out.trim())).subject, /CN=cli-device/);

  const renewed = await kmipctl('recertify', certId, '--offset', '60', '--json');
  t.equal(renewed.code, 0, renewed.err);
  const newId = (JSON.parse(renewed.out) as { uniqueIdentifier: string }).uniqueIdentifier;
  t.equal((await certificate(c, newId)).subject, x.subject);
  const none = await kmipctl('certify');
  t.equal(none.code, 2, 'certify what? is a usage error');

  const help = await kmipctl('--help');
  for (const name of ['create-split-key', 'join-split-key', 'certify', 'recertify', 'validate']) {
    t.match(help.out, new RegExp(`^  ${name} +\\S`, 'm'), `--help lists ${name}`);
    const own = await kmipctl(name, '--help');
    t.match(own.out, new RegExp(`^Usage: kmipctl ${name} `), `${name} --help shows its usage`);
    t.match(own.out, /--kmip-version M\.N/, `${name} --help shows the connection options`);
  }
});

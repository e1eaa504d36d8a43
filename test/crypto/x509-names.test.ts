/**
 * The Certificate Attributes (KMIP 2.1 §4.6: Certificate Subject CN, O, OU, Email, C, ST, L … and
 * the same for the Issuer) that Register derives from an X.509 certificate (src/crypto/x509-names.ts),
 * read back with Get Attributes through a real kmipd over TLS. The first certificate is OASIS
 * BL-M-10-21's; the second is made here with a non-ASCII UTF8String name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, registry, structure } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { createCa } from '../../src/pki/devpki.js';
import { enumeration, uid } from '../support/items.js';
import { type TestKmipd, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { testcasesDir } from '../support/shared.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-x509-names-', 'someone-else');
});
t.teardown(() => env.close());

async function registerCertificate(c: KmipClient, der: Uint8Array): Promise<string> {
  const r = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.Certificate),
    structure(Tag.Attributes, []),
    structure(Tag.Certificate, [enumeration(Tag.CertificateType, Enum.CertificateType.X_509), item(Tag.CertificateValue, 'ByteString', der)]),
  ]);
  return r.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

/** The Certificate Subject / Issuer attributes of an object, as "Name=value" in the server's order. */
async function nameAttributes(c: KmipClient, id: string): Promise<string[]> {
  const got = await c.call('GetAttributes', [uid(id)]);
  const attrs: Item[] = got.payload!.needStruct(Tag.Attributes).item.value;
  return attrs
    .filter((a) => /^Certificate(Subject|Issuer)[A-Z]/.test(registry.tagName(a.tag) ?? '') && !/(DistinguishedName|AlternativeName)$/.test(registry.tagName(a.tag) ?? ''))
    .map((a) => `${registry.tagName(a.tag)}=${String(a.value)}`);
}

t.test('2.1: Register derives the Subject and Issuer fields of OASIS BL-M-10-21\'s certificate', async (t) => {
  const xml = readFileSync(join(testcasesDir, 'v2.1', 'mandatory', 'BL-M-10-21.xml'), 'utf8');
  const der = Buffer.from(/<CertificateValue type="ByteString" value="([0-9a-f]+)"/.exec(xml)![1]!, 'hex');
  const c = await env.connect(V21);
  const id = await registerCertificate(c, der);
  const fields = ['C=AU', 'ST=SP', 'L=L', 'O=O', 'OU=OU', 'CN=CN', 'Email=Email'];
  t.same(await nameAttributes(c, id), [...fields.map((f) => `CertificateSubject${f}`), ...fields.map((f) => `CertificateIssuer${f}`)], 'every field, in the certificate\'s order');
  const cn = await c.call('GetAttributes', [uid(id), item(Tag.AttributeReference, 'Enumeration', Tag.CertificateSubjectCN), item(Tag.AttributeReference, 'Enumeration', Tag.CertificateLength)]);
  const attrs = cn.payload!.needStruct(Tag.Attributes);
  t.equal(attrs.get(Tag.CertificateSubjectCN, 'TextString'), 'CN', 'BL-M-10-21 request 2');
  t.equal(attrs.get(Tag.CertificateLength, 'Integer'), 1043);
  const modify = await refusal(c.call('ModifyAttribute', [uid(id), structure(Tag.NewAttribute, [item(Tag.CertificateSubjectCN, 'TextString', 'someone else')])]));
  t.equal(modify.reason, 'AttributeReadOnly', 'a client cannot change them (2.1 §4.6: not modifiable by client)');
  await c.close();
});

t.test('2.1: a UTF8String name with non-ASCII characters comes back as the same text', async (t) => {
  const name = 'Zürich Schlüsselverwaltung ✓';
  const ca = await createCa({ commonName: name });
  const der = new X509Certificate(ca.cert).raw;
  const c = await env.connect(V21);
  const id = await registerCertificate(c, der);
  const got = await nameAttributes(c, id);
  t.ok(got.includes(`CertificateSubjectCN=${name}`), 'the Subject CN');
  t.ok(got.includes(`CertificateIssuerCN=${name}`), 'the Issuer CN of a self-signed certificate');
  t.ok(got.some((g) => g.startsWith('CertificateSubjectO=')), 'and the Organization');
  await c.close();
});

/**
 * Validate end to end: a kmipd from `kmipd init`, KmipClient over real mutual TLS in KMIP 2.1 and
 * 1.4 form. Chains come from Certify (managed) and from a throw-away CA made in the test (given by
 * value); the answer is the Validity Indicator a relying party would act on.
 */
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { KmipClient } from '../../src/client/client.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { type Run, runKmipctl } from '../support/kmipctl.js';
import { createCa } from '../support/pki.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-validate-', 'validate-someone-else');
});
t.teardown(() => env.close());

const U = Mask.CryptographicUsageMask;
const L = Enum.LinkType;
const V = Enum.ValidityIndicator;
const now = (): number => Math.floor(Date.now() / 1000);
const link = (type: number, id: string): Item => structure(Tag.Link, [enumeration(Tag.LinkType, type), text(Tag.LinkedObjectIdentifier, id)]);
const ecP256 = [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.EC), structure(Tag.CryptographicDomainParameters, [enumeration(Tag.RecommendedCurve, Enum.RecommendedCurve.P_256)])];
const der = (pem: string): Buffer => new X509Certificate(pem).raw;
const certificateItem = (value: Buffer): Item => structure(Tag.Certificate, [enumeration(Tag.CertificateType, Enum.CertificateType.X_509), item(Tag.CertificateValue, 'ByteString', value)]);

async function validity(c: KmipClient, payload: Item[]): Promise<number> {
  return (await c.call('Validate', payload)).payload!.need(Tag.ValidityIndicator, 'Enumeration');
}

/** A certificate made by Certify: self-signed (a root) or issued by `issuer`. */
async function certified(c: KmipClient, cn: string, issuer?: string): Promise<string> {
  const pair = await c.call('CreateKeyPair', [
    structure(Tag.CommonAttributes, [...ecP256, item(Tag.ActivationDate, 'DateTime', now() - 60)]),
    structure(Tag.PrivateKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Sign | U.CertificateSign)]),
    structure(Tag.PublicKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Verify | U.CertificateSign)]),
  ]);
  const attrs = [text(Tag.CertificateSubjectCN, cn), ...(issuer === undefined ? [] : [link(L.CertificateLink, issuer)])];
  const made = await c.call('Certify', [uid(pair.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString')), structure(Tag.Attributes, attrs)]);
  return made.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

async function certificateDer(c: KmipClient, id: string): Promise<Buffer> {
  return Buffer.from((await c.call('Get', [uid(id)])).payload!.needStruct(Tag.Certificate).need(Tag.CertificateValue, 'ByteString'));
}

async function register(c: KmipClient, value: Buffer): Promise<string> {
  const reg = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.Certificate), structure(Tag.Attributes, []), certificateItem(value)]);
  return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

t.test('2.1 a managed chain root → intermediate → leaf is Valid, in any order, or from the leaf alone', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const rootId = await certified(c, 'validate root');
  const midId = await certified(c, 'validate intermediate', rootId);
  const leafId = await certified(c, 'validate leaf', midId);
  t.equal(await validity(c, [uid(leafId), uid(midId), uid(rootId)]), V.Valid, 'leaf, intermediate, root');
  t.equal(await validity(c, [uid(rootId), uid(leafId), uid(midId)]), V.Valid, 'any order');
  t.equal(await validity(c, [uid(leafId)]), V.Valid, 'the leaf alone: its issuers are found among the managed certificates');
  t.equal(await validity(c, [certificateItem(await certificateDer(c, leafId))]), V.Valid, 'the leaf given by value');
  t.equal(await validity(c, [uid(leafId), item(Tag.ValidityDate, 'DateTime', now() + 2 * 365 * 86_400)]), V.Invalid, 'two years on, the chain has expired');
  t.equal(await validity(c, [uid(leafId), item(Tag.ValidityDate, 'DateTime', now() - 86_400)]), V.Invalid, 'the day before it was issued');

  await c.call('Revoke', [uid(midId), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.CACompromise)])]);
  t.equal(await validity(c, [uid(leafId)]), V.Invalid, 'the intermediate was revoked: the chain is Invalid');
});

t.test('2.1 a chain from an outside CA: Unknown until its root is held here; a forged signature is Invalid', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const ca = await createCa('validate outside CA');
  const leaf = await ca.issue({ cn: 'outside leaf', usage: 'client' });
  const chain = [certificateItem(der(leaf.cert)), certificateItem(der(ca.cert))];
  t.equal(await validity(c, chain), V.Unknown, 'a root this caller does not hold is no trust anchor');
  t.equal(await validity(c, [chain[0]!]), V.Unknown, 'nor is a leaf whose issuer is unknown');

  const them = await env.connect(V21, env.other);
  t.teardown(() => them.close());
  await register(them, der(ca.cert));
  t.equal(await validity(c, chain), V.Unknown, "another client's root is not this caller's anchor");

  const rootId = await register(c, der(ca.cert));
  t.equal(await validity(c, chain), V.Valid, 'once registered, the root anchors the chain');
  t.equal(await validity(c, [chain[0]!]), V.Valid, 'and the leaf alone finds it');
  t.equal(await validity(c, [chain[0]!, uid(rootId)]), V.Valid, 'certificates and identifiers together');

  const forged = Buffer.from(der(leaf.cert));
  forged[forged.length - 3]! ^= 0x01;
  t.equal(await validity(c, [certificateItem(forged), uid(rootId)]), V.Invalid, 'a leaf whose signature does not verify');
});

t.test('2.1 Validate refusals: no chain, not one chain, not a certificate, not the caller', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  t.equal((await refusal(c.call('Validate', []))).reason, 'InvalidMessage', 'nothing to validate');
  const a = await createCa('validate A');
  const b = await createCa('validate B');
  t.equal((await refusal(c.call('Validate', [certificateItem(der(a.cert)), certificateItem(der(b.cert))]))).reason, 'InvalidMessage', 'two unrelated roots are not one chain (1.4 §11.25)');
  t.equal((await refusal(c.call('Validate', [certificateItem(Buffer.from('junk'))]))).reason, 'InvalidField');
  const rootId = await certified(c, 'validate private root');
  const them = await env.connect(V21, env.other);
  t.teardown(() => them.close());
  t.equal((await refusal(them.call('Validate', [uid(rootId)]))).reason, 'ObjectNotFound');
});

t.test('1.4 Validate by Unique Identifier', async (t) => {
  const c21 = await env.connect(V21);
  t.teardown(() => c21.close());
  const rootId = await certified(c21, 'validate 1.4 root');
  const leafId = await certified(c21, 'validate 1.4 leaf', rootId);
  const c = await env.connect(V14);
  t.teardown(() => c.close());
  t.equal(await validity(c, [uid(leafId), uid(rootId)]), V.Valid);
  t.equal(await validity(c, [uid(leafId), item(Tag.ValidityDate, 'DateTime', now() + 3 * 365 * 86_400)]), V.Invalid);
});

t.test('kmipctl validate', async (t) => {
  const kmipctl = (...args: string[]): Promise<Run> => runKmipctl(args, { dataDir: env.dir, port: env.server.tlsAddress.port });
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const rootId = await certified(c, 'validate CLI root');
  const leafId = await certified(c, 'validate CLI leaf', rootId);
  t.same(await kmipctl('validate', leafId, rootId), { code: 0, out: 'Valid\n', err: '' });
  t.equal((await kmipctl('validate', leafId, '--date', '2099-01-01T00:00:00Z')).out, 'Invalid\n');
  const dir = mkdtempSync(join(tmpdir(), 'kmipctl-validate-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ca = await createCa('validate CLI outside CA');
  writeFileSync(join(dir, 'ca.pem'), ca.cert);
  const json = await kmipctl('validate', '--certificate', join(dir, 'ca.pem'), '--json');
  t.equal(json.code, 0, json.err);
  t.same(JSON.parse(json.out), { validityIndicator: 'Unknown' });
  t.equal((await kmipctl('validate')).code, 2);
});

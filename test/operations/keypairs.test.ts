/**
 * Create Key Pair, Get in every Key Format Type, and Re-key Key Pair end to end: a real kmipd over
 * mutual TLS, in KMIP 2.1 and 1.4 form. Keys that come back are checked with node:crypto: what the
 * private key signs, the public key (in whatever format it was fetched) verifies.
 */
import { ECDH, type KeyObject, createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import t from 'tap';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

const F = Enum.KeyFormatType;
let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-keypairs-', 'someone-else');
});
t.teardown(() => env.close());

const algorithm = (a: number): Item => enumeration(Tag.CryptographicAlgorithm, a);
const length = (n: number): Item => integer(Tag.CryptographicLength, n);
const usage = (mask: number): Item => integer(Tag.CryptographicUsageMask, mask);
const curve = (c: number): Item => structure(Tag.CryptographicDomainParameters, [enumeration(Tag.RecommendedCurve, c)]);
const SIGN = 0x01;
const VERIFY = 0x02;

function pairRequest(common: Item[], priv: Item[], pub: Item[]): Item[] {
  return [structure(Tag.CommonAttributes, common), structure(Tag.PrivateKeyAttributes, priv), structure(Tag.PublicKeyAttributes, pub)];
}

/** 1.x Attribute{Attribute Name, Attribute Value}. */
const attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);

function uidsOf(payload: Fields): { priv: string; pub: string } {
  return { priv: payload.need(Tag.PrivateKeyUniqueIdentifier, 'TextString'), pub: payload.need(Tag.PublicKeyUniqueIdentifier, 'TextString') };
}

function blockOf(payload: Fields): Fields {
  const object = payload.struct(Tag.PrivateKey) ?? payload.struct(Tag.PublicKey);
  return object!.needStruct(Tag.KeyBlock);
}

const big = (v: bigint): string => {
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex').toString('base64url');
};

/** A node:crypto key from a Get response's key block, built without kmipd's own conversion code. */
function keyOf(block: Fields, type: 'private' | 'public'): KeyObject {
  const format = block.need(Tag.KeyFormatType, 'Enumeration');
  const material = block.needStruct(Tag.KeyValue).required(Tag.KeyMaterial);
  if (material.type === 'ByteString') {
    const der = Buffer.from(material.value);
    const derType = { [F.PKCS_1]: 'pkcs1', [F.PKCS_8]: 'pkcs8', [F.X_509]: 'spki', [F.ECPrivateKey]: 'sec1' }[format] as 'pkcs1' | 'pkcs8' | 'spki' | 'sec1';
    return type === 'private' ? createPrivateKey({ key: der, format: 'der', type: derType as 'pkcs1' }) : createPublicKey({ key: der, format: 'der', type: derType as 'spki' });
  }
  const m = new Fields(material as never);
  if (format === F.TransparentRSAPublicKey) return createPublicKey({ key: { kty: 'RSA', n: big(m.need(Tag.Modulus, 'BigInteger')), e: big(m.need(Tag.PublicExponent, 'BigInteger')) }, format: 'jwk' });
  if (format === F.TransparentRSAPrivateKey) {
    const k = { kty: 'RSA', n: m.need(Tag.Modulus, 'BigInteger'), e: m.need(Tag.PublicExponent, 'BigInteger'), d: m.need(Tag.PrivateExponent, 'BigInteger'), p: m.need(Tag.P, 'BigInteger'), q: m.need(Tag.Q, 'BigInteger'), dp: m.need(Tag.PrimeExponentP, 'BigInteger'), dq: m.need(Tag.PrimeExponentQ, 'BigInteger'), qi: m.need(Tag.CRTCoefficient, 'BigInteger') };
    return createPrivateKey({ key: Object.fromEntries(Object.entries(k).map(([key, v]) => [key, typeof v === 'bigint' ? big(v) : v])) as never, format: 'jwk' });
  }
  // Transparent EC public keys: the point, decompressed by OpenSSL if need be.
  const names: Record<number, [string, string]> = { [Enum.RecommendedCurve.P_256]: ['prime256v1', 'P-256'], [Enum.RecommendedCurve.P_384]: ['secp384r1', 'P-384'] };
  const [openssl, crv] = names[m.need(Tag.RecommendedCurve, 'Enumeration')]!;
  const point = ECDH.convertKey(m.need(Tag.QString, 'ByteString'), openssl, undefined, undefined, 'uncompressed') as Buffer;
  const size = (point.length - 1) / 2;
  return createPublicKey({ key: { kty: 'EC', crv, x: point.subarray(1, 1 + size).toString('base64url'), y: point.subarray(1 + size).toString('base64url') }, format: 'jwk' });
}

function signsFor(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const data = randomBytes(48);
  return verify('sha256', data, publicKey, sign('sha256', data, privateKey));
}

function linkTarget(attrs: Fields, linkType: number): string | undefined {
  const link = attrs.all(Tag.Link).map((l) => new Fields(l as never)).find((l) => l.need(Tag.LinkType, 'Enumeration') === linkType);
  return link?.need(Tag.LinkedObjectIdentifier, 'TextString');
}

t.test('2.1: an RSA-2048 pair is created linked, held as PKCS#1, and given in every RSA format', async (t) => {
  const c = await env.connect();
  const created = await c.call('CreateKeyPair', pairRequest([algorithm(Enum.CryptographicAlgorithm.RSA), length(2048)], [name('rsa-private'), usage(SIGN)], [name('rsa-public'), usage(VERIFY)]));
  const { priv, pub } = uidsOf(created.payload!);
  t.not(priv, pub);

  const privAttrs = (await c.call('GetAttributes', [uid(priv)])).payload!.needStruct(Tag.Attributes);
  const pubAttrs = (await c.call('GetAttributes', [uid(pub)])).payload!.needStruct(Tag.Attributes);
  t.equal(privAttrs.need(Tag.ObjectType, 'Enumeration'), Enum.ObjectType.PrivateKey);
  t.equal(pubAttrs.need(Tag.ObjectType, 'Enumeration'), Enum.ObjectType.PublicKey);
  t.equal(privAttrs.need(Tag.CryptographicLength, 'Integer'), 2048);
  t.equal(privAttrs.need(Tag.KeyFormatType, 'Enumeration'), F.PKCS_1, 'the private key is held as PKCS#1 (AKLC-M-1-21)');
  t.equal(pubAttrs.need(Tag.KeyFormatType, 'Enumeration'), F.PKCS_1);
  t.equal(privAttrs.need(Tag.CryptographicUsageMask, 'Integer'), SIGN, 'each key keeps its own usage mask');
  t.equal(pubAttrs.need(Tag.CryptographicUsageMask, 'Integer'), VERIFY);
  t.equal(privAttrs.need(Tag.State, 'Enumeration'), Enum.State.PreActive);
  t.equal(linkTarget(privAttrs, Enum.LinkType.PublicKeyLink), pub, 'the private key links to the public key');
  t.equal(linkTarget(pubAttrs, Enum.LinkType.PrivateKeyLink), priv, 'the public key links to the private key');
  t.ok(privAttrs.has(Tag.Digest) && pubAttrs.has(Tag.Digest), 'both have a Digest');

  const held = blockOf((await c.call('Get', [uid(priv)])).payload!);
  t.equal(held.need(Tag.KeyFormatType, 'Enumeration'), F.PKCS_1);
  const privateKey = keyOf(held, 'private');
  t.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
  for (const format of [F.PKCS_8, F.TransparentRSAPrivateKey]) {
    const block = blockOf((await c.call('Get', [uid(priv), enumeration(Tag.KeyFormatType, format)])).payload!);
    t.equal(block.need(Tag.KeyFormatType, 'Enumeration'), format);
    t.same(keyOf(block, 'private').export({ format: 'jwk' }), privateKey.export({ format: 'jwk' }), `the private key as format ${format} is the same key`);
  }
  for (const format of [F.PKCS_1, F.X_509, F.TransparentRSAPublicKey]) {
    const block = blockOf((await c.call('Get', [uid(pub), enumeration(Tag.KeyFormatType, format)])).payload!);
    t.ok(signsFor(privateKey, keyOf(block, 'public')), `the public key as format ${format} verifies the private key's signature`);
  }

  t.equal((await refusal(c.call('Get', [uid(priv), enumeration(Tag.KeyFormatType, F.X_509)]))).reason, 'KeyFormatTypeNotSupported', 'a private key is not given as X.509');
  t.equal((await refusal(c.call('Get', [uid(pub), enumeration(Tag.KeyFormatType, F.TransparentECPublicKey)]))).reason, 'KeyFormatTypeNotSupported', 'an RSA key is not given as Transparent EC');
  t.equal(
    (await refusal(c.call('Get', [uid(pub), enumeration(Tag.KeyCompressionType, Enum.KeyCompressionType.ECPublicKeyTypeX9_62CompressedPrime)]))).reason,
    'KeyCompressionTypeNotSupported',
    'an RSA key is not compressed',
  );
  await c.close();
});

t.test('2.1: an EC P-256 pair by Recommended Curve; the public key compressed; the ID Placeholder is the private key', async (t) => {
  const c = await env.connect();
  const batch = await c.request({
    items: [
      { operation: Enum.Operation.CreateKeyPair, payload: pairRequest([algorithm(Enum.CryptographicAlgorithm.EC), curve(Enum.RecommendedCurve.P_256)], [usage(SIGN)], [usage(VERIFY)]) },
      { operation: Enum.Operation.Get, payload: [] },
    ],
  });
  t.same(batch.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success]);
  const { priv, pub } = uidsOf(batch.items[0]!.payload!);
  const got = batch.items[1]!.payload!;
  t.equal(got.need(Tag.UniqueIdentifier, 'TextString'), priv, 'Get through the ID Placeholder fetched the private key (KMIP 2.1 §6.1.9)');
  const heldPrivate = blockOf(got);
  t.equal(heldPrivate.need(Tag.KeyFormatType, 'Enumeration'), F.PKCS_8, 'EC private keys are held as PKCS#8');
  t.equal(heldPrivate.need(Tag.CryptographicLength, 'Integer'), 256);
  const privateKey = keyOf(heldPrivate, 'private');
  t.equal(privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');

  const sec1 = blockOf((await c.call('Get', [uid(priv), enumeration(Tag.KeyFormatType, F.ECPrivateKey)])).payload!);
  t.same(keyOf(sec1, 'private').export({ format: 'jwk' }), privateKey.export({ format: 'jwk' }), 'the ECPrivateKey form is the same key');
  const transparentPrivate = blockOf((await c.call('Get', [uid(priv), enumeration(Tag.KeyFormatType, F.TransparentECPrivateKey)])).payload!);
  const d = transparentPrivate.needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial).need(Tag.D, 'BigInteger');
  t.equal(d, BigInt(`0x${Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url').toString('hex')}`), 'D is the private scalar');

  const heldPublic = blockOf((await c.call('Get', [uid(pub)])).payload!);
  t.equal(heldPublic.need(Tag.KeyFormatType, 'Enumeration'), F.X_509, 'EC public keys are held as X.509 (SPKI)');
  t.ok(signsFor(privateKey, keyOf(heldPublic, 'public')));
  const compressed = blockOf((await c.call('Get', [uid(pub), enumeration(Tag.KeyFormatType, F.TransparentECPublicKey), enumeration(Tag.KeyCompressionType, Enum.KeyCompressionType.ECPublicKeyTypeX9_62CompressedPrime)])).payload!);
  t.equal(compressed.need(Tag.KeyCompressionType, 'Enumeration'), Enum.KeyCompressionType.ECPublicKeyTypeX9_62CompressedPrime);
  const q = compressed.needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial).need(Tag.QString, 'ByteString');
  t.equal(q.length, 33, 'a compressed P-256 point is 33 bytes');
  t.ok(signsFor(privateKey, keyOf(compressed, 'public')), 'the compressed point is the public key');
  await c.close();
});

t.test('1.4: Create Key Pair with Template-Attributes; ECDSA P-384 in the 1.x Transparent ECDSA formats', async (t) => {
  const c = await env.connect(V14);
  const rsa = await c.call('CreateKeyPair', [
    structure(Tag.CommonTemplateAttribute, [attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.RSA)), attr('Cryptographic Length', integer(0, 1024))]),
    structure(Tag.PrivateKeyTemplateAttribute, [attr('Name', name('v14-rsa-private')), attr('Cryptographic Usage Mask', integer(0, SIGN))]),
    structure(Tag.PublicKeyTemplateAttribute, [attr('Name', name('v14-rsa-public')), attr('Cryptographic Usage Mask', integer(0, VERIFY))]),
  ]);
  const ids = uidsOf(rsa.payload!);
  const links = await c.call('GetAttributes', [uid(ids.pub), text(Tag.AttributeName, 'Link'), text(Tag.AttributeName, 'Object Type')]);
  const values = links.payload!.all(Tag.Attribute).map((a) => new Fields(a as never));
  const link = values.find((a) => a.need(Tag.AttributeName, 'TextString') === 'Link')!.needStruct(Tag.AttributeValue);
  t.equal(link.need(Tag.LinkedObjectIdentifier, 'TextString'), ids.priv, '1.4: the public key links to the private key');
  const privateKey = keyOf(blockOf((await c.call('Get', [uid(ids.priv)])).payload!), 'private');
  t.ok(signsFor(privateKey, keyOf(blockOf((await c.call('Get', [uid(ids.pub), enumeration(Tag.KeyFormatType, F.TransparentRSAPublicKey)])).payload!), 'public')));

  const ec = await c.call('CreateKeyPair', [
    structure(Tag.CommonTemplateAttribute, [attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.ECDSA)), attr('Cryptographic Length', integer(0, 384))]),
    structure(Tag.PrivateKeyTemplateAttribute, [attr('Cryptographic Usage Mask', integer(0, SIGN))]),
    structure(Tag.PublicKeyTemplateAttribute, [attr('Cryptographic Usage Mask', integer(0, VERIFY))]),
  ]);
  const e = uidsOf(ec.payload!);
  const ecPrivate = keyOf(blockOf((await c.call('Get', [uid(e.priv)])).payload!), 'private');
  t.equal(ecPrivate.asymmetricKeyDetails?.namedCurve, 'secp384r1', 'length 384 picks P-384');
  const ecdsa = blockOf((await c.call('Get', [uid(e.pub), enumeration(Tag.KeyFormatType, F.TransparentECDSAPublicKey)])).payload!);
  t.equal(ecdsa.need(Tag.KeyFormatType, 'Enumeration'), F.TransparentECDSAPublicKey);
  t.ok(signsFor(ecPrivate, keyOf(ecdsa, 'public')), 'the Transparent ECDSA public key verifies');
  await c.close();

  const c2 = await env.connect(V21);
  t.equal((await refusal(c2.call('Get', [uid(e.pub), enumeration(Tag.KeyFormatType, F.TransparentECDSAPublicKey)]))).reason, 'KeyFormatTypeNotSupported', '2.1 has no Transparent ECDSA format');
  await c2.close();
});

t.test('Create Key Pair refusals: unknown curve, bad length, missing or mismatched algorithm, a Name in use', async (t) => {
  const c = await env.connect();
  const reasonOf = async (payload: Item[]): Promise<string> => (await refusal(c.call('CreateKeyPair', payload))).reason;
  t.equal(await reasonOf(pairRequest([algorithm(Enum.CryptographicAlgorithm.EC), curve(Enum.RecommendedCurve.P_192)], [], [])), 'InvalidAttributeValue', 'P-192 is refused');
  t.equal(await reasonOf(pairRequest([algorithm(Enum.CryptographicAlgorithm.EC), length(255)], [], [])), 'InvalidAttributeValue', 'an EC length with no curve');
  t.equal(await reasonOf(pairRequest([algorithm(Enum.CryptographicAlgorithm.RSA), length(1000)], [], [])), 'InvalidAttributeValue', 'RSA-1000 is refused');
  t.equal(await reasonOf(pairRequest([length(2048)], [], [])), 'InvalidField', 'no algorithm');
  t.equal(await reasonOf(pairRequest([], [algorithm(Enum.CryptographicAlgorithm.RSA), length(2048)], [algorithm(Enum.CryptographicAlgorithm.EC), length(2048)])), 'InvalidAttributeValue', 'different algorithms for the two keys');
  t.equal(await reasonOf(pairRequest([algorithm(Enum.CryptographicAlgorithm.AES), length(256)], [], [])), 'InvalidAttributeValue', 'AES is no key pair');
  t.equal(await reasonOf(pairRequest([algorithm(Enum.CryptographicAlgorithm.RSA), length(2048)], [name('rsa-private')], [])), 'NonUniqueNameAttribute', 'a Name already in use');
  t.equal(await reasonOf(pairRequest([algorithm(Enum.CryptographicAlgorithm.RSA), length(2048), name('both')], [], [])), 'NonUniqueNameAttribute', 'one common Name for both keys');
  t.equal(await reasonOf(pairRequest([algorithm(Enum.CryptographicAlgorithm.RSA), length(2048), enumeration(Tag.State, Enum.State.Active)], [], [])), 'AttributeReadOnly', 'a server-only attribute');
  const offPremises = structure(Tag.PublicProtectionStorageMasks, [integer(Tag.ProtectionStorageMask, Mask.ProtectionStorageMask.OffPremises)]);
  t.equal(await reasonOf([...pairRequest([algorithm(Enum.CryptographicAlgorithm.RSA), length(2048)], [], []), offPremises]), 'PublicProtectionStorageUnavailable', 'no storage the public key may go to');
  const located = await c.call('Locate', [structure(Tag.Attributes, [name('both')])]);
  t.same(located.payload!.values(Tag.UniqueIdentifier, 'TextString'), [], 'nothing half-made was stored');
  await c.close();

  const v1 = await env.connect(V14);
  const curve192 = await refusal(v1.call('CreateKeyPair', [structure(Tag.CommonTemplateAttribute, [attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.EC)), attr('Cryptographic Domain Parameters', curve(Enum.RecommendedCurve.P_192))])]));
  t.equal(curve192.reason, 'InvalidField', '1.4: an unknown curve is Invalid Field');
  await v1.close();
});

t.test('Destroy of an Active key pair is refused (2.1 Wrong Key Lifecycle State, 1.4 Permission Denied) and both keys survive', async (t) => {
  const c = await env.connect();
  const { priv, pub } = uidsOf((await c.call('CreateKeyPair', pairRequest([algorithm(Enum.CryptographicAlgorithm.EC), length(256)], [], []))).payload!);
  await c.call('Activate', [uid(priv)]);
  await c.call('Activate', [uid(pub)]);
  t.equal((await refusal(c.call('Destroy', [uid(priv)]))).reason, 'WrongKeyLifecycleState');
  const v1 = await env.connect(V14);
  t.equal((await refusal(v1.call('Destroy', [uid(pub)]))).reason, 'PermissionDenied');
  await v1.close();
  t.ok(blockOf((await c.call('Get', [uid(priv)])).payload!), 'the private key is still there');
  t.ok(blockOf((await c.call('Get', [uid(pub)])).payload!), 'the public key is still there');
  await c.close();
});

t.test('Re-key Key Pair: a new linked pair takes the names, Offset moves the dates, links point both ways', async (t) => {
  const c = await env.connect();
  const now = Math.floor(Date.now() / 1000);
  const activation = now + 3600;
  const deactivation = now + 7200;
  const old = uidsOf(
    (
      await c.call(
        'CreateKeyPair',
        pairRequest(
          [algorithm(Enum.CryptographicAlgorithm.RSA), length(2048), item(Tag.ActivationDate, 'DateTime', activation), item(Tag.DeactivationDate, 'DateTime', deactivation)],
          [name('rekey-private'), usage(SIGN)],
          [name('rekey-public'), usage(VERIFY)],
        ),
      )
    ).payload!,
  );
  const offset = 600;
  const rekeyed = await c.call('ReKeyKeyPair', [item(Tag.PrivateKeyUniqueIdentifier, 'TextString', old.priv), item(Tag.Offset, 'Interval', offset)]);
  const fresh = uidsOf(rekeyed.payload!);
  t.not(fresh.priv, old.priv);

  const attrs = async (id: string): Promise<Fields> => (await c.call('GetAttributes', [uid(id)])).payload!.needStruct(Tag.Attributes);
  const [np, nq, op, oq] = await Promise.all([attrs(fresh.priv), attrs(fresh.pub), attrs(old.priv), attrs(old.pub)]);
  t.equal(np.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'rekey-private', 'the new private key took the name');
  t.equal(nq.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'rekey-public');
  t.notOk(op.has(Tag.Name) || oq.has(Tag.Name), 'the old keys lost their names');
  t.equal(linkTarget(np, Enum.LinkType.ReplacedObjectLink), old.priv);
  t.equal(linkTarget(nq, Enum.LinkType.ReplacedObjectLink), old.pub);
  t.equal(linkTarget(op, Enum.LinkType.ReplacementObjectLink), fresh.priv);
  t.equal(linkTarget(oq, Enum.LinkType.ReplacementObjectLink), fresh.pub);
  t.equal(linkTarget(np, Enum.LinkType.PublicKeyLink), fresh.pub, 'the new pair is linked to itself');
  t.equal(linkTarget(nq, Enum.LinkType.PrivateKeyLink), fresh.priv);
  t.equal(np.need(Tag.CryptographicUsageMask, 'Integer'), SIGN, 'the usage mask is copied');
  const at2 = np.need(Tag.ActivationDate, 'DateTime');
  const it2 = np.need(Tag.InitialDate, 'DateTime');
  t.equal(at2, it2 + offset, 'Activation Date = Initial Date + Offset (2.1 Table 308)');
  t.equal(np.need(Tag.DeactivationDate, 'DateTime'), deactivation + (at2 - activation), 'the Deactivation Date keeps its distance');

  const privateKey = keyOf(blockOf((await c.call('Get', [uid(fresh.priv)])).payload!), 'private');
  const oldPrivate = keyOf(blockOf((await c.call('Get', [uid(old.priv)])).payload!), 'private');
  t.notSame(privateKey.export({ format: 'jwk' }).n, oldPrivate.export({ format: 'jwk' }).n, 'a new key, not a copy');
  t.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048, 'of the same length');
  t.ok(signsFor(privateKey, keyOf(blockOf((await c.call('Get', [uid(fresh.pub)])).payload!), 'public')));

  const wrongType = await refusal(c.call('ReKeyKeyPair', [item(Tag.PrivateKeyUniqueIdentifier, 'TextString', fresh.pub)]));
  t.equal(wrongType.reason, 'InvalidObjectType', 'a public key is not re-keyed as a pair');
  await c.close();

  const v1 = await env.connect(V14);
  const again = uidsOf((await v1.call('ReKeyKeyPair', [item(Tag.PrivateKeyUniqueIdentifier, 'TextString', fresh.priv)])).payload!);
  t.not(again.priv, fresh.priv, '1.4 Re-key Key Pair works too');
  const wrong = await refusal(v1.call('ReKeyKeyPair', [item(Tag.PrivateKeyUniqueIdentifier, 'TextString', again.pub)]));
  t.equal(wrong.reason, 'PermissionDenied', '1.4: a public key "is not able to be re-keyed" (1.4 §11.6)');
  const both = await refusal(v1.call('ReKeyKeyPair', [item(Tag.PrivateKeyUniqueIdentifier, 'TextString', again.priv), item(Tag.Offset, 'Interval', 60), structure(Tag.CommonTemplateAttribute, [attr('Activation Date', item(0, 'DateTime', now))])]));
  t.equal(both.reason, 'InvalidMessage', 'an Offset together with an Activation Date');
  await v1.close();
});

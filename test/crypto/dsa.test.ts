/**
 * DSA keys (FIPS 186-4) end to end through a real kmipd over TLS: Register in the Transparent DSA
 * Private / Public Key formats (KMIP 2.1 §3.4–3.5; the OASIS BL-M-12/13-21 key), Get as held and as
 * PKCS#8 / X.509, Create Key Pair, and Sign / Signature Verify checked against node:crypto.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey, createPublicKey, verify as nodeVerify, sign as nodeSign } from 'node:crypto';
import t from 'tap';
import { Fields } from '../../src/kmip/fields.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { enumeration, integer, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { testcasesDir } from '../support/shared.js';

const F = Enum.KeyFormatType;
const U = Mask.CryptographicUsageMask;
const A = Enum.CryptographicAlgorithm;

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-dsa-', 'someone-else');
});
t.teardown(() => env.close());

/** P, Q, G and X of the OASIS BL-M-13-21 private key. */
function oasisKey(): { p: bigint; q: bigint; g: bigint; x: bigint } {
  const xml = readFileSync(join(testcasesDir, 'v2.1', 'mandatory', 'BL-M-13-21.xml'), 'utf8');
  const big = (tag: string): bigint => BigInt(`0x${new RegExp(`<${tag} type="BigInteger" value="([0-9a-f]+)"`).exec(xml)![1]!}`);
  return { p: big('P'), q: big('Q'), g: big('G'), x: big('X') };
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let result = 1n;
  let b = base % mod;
  for (let e = exp; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % mod;
    b = (b * b) % mod;
  }
  return result;
}

const big = (tag: number, v: bigint): Item => item(tag, 'BigInteger', v);
const MESSAGE = Buffer.from('signed with DSA');

function keyBlock(format: number, material: Item[], length: number): Item {
  return structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, format), structure(Tag.KeyValue, [structure(Tag.KeyMaterial, material)]), enumeration(Tag.CryptographicAlgorithm, A.DSA), integer(Tag.CryptographicLength, length)]);
}

async function register(c: KmipClient, type: 'PrivateKey' | 'PublicKey', mask: number, block: Item): Promise<string> {
  const r = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType[type]), structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, mask)]), structure(Tag[type], [block])]);
  const id = r.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  return id;
}

async function getBlock(c: KmipClient, id: string, type: 'PrivateKey' | 'PublicKey', format?: number): Promise<Fields> {
  const got = await c.call('Get', [uid(id), ...(format === undefined ? [] : [enumeration(Tag.KeyFormatType, format)])]);
  return got.payload!.needStruct(Tag[type]).needStruct(Tag.KeyBlock);
}

const derOf = (block: Fields): Buffer => Buffer.from(block.needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));

t.test('2.1: the OASIS BL-M-13 DSA key registers as Transparent DSA, comes back as held, and converts', async (t) => {
  const { p, q, g, x } = oasisKey();
  const y = modPow(g, x, p);
  const c = await env.connect(V21);
  const priv = await register(c, 'PrivateKey', U.Sign, keyBlock(F.TransparentDSAPrivateKey, [big(Tag.P, p), big(Tag.Q, q), big(Tag.G, g), big(Tag.X, x)], 512));
  const pub = await register(c, 'PublicKey', U.Verify, keyBlock(F.TransparentDSAPublicKey, [big(Tag.P, p), big(Tag.Q, q), big(Tag.G, g), big(Tag.Y, y)], 512));

  const held = await getBlock(c, priv, 'PrivateKey');
  t.equal(held.need(Tag.KeyFormatType, 'Enumeration'), F.TransparentDSAPrivateKey, 'Get without a format answers the format it was registered in');
  t.equal(held.needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial).need(Tag.X, 'BigInteger'), x);
  const attrs = (await c.call('GetAttributes', [uid(priv)])).payload!.needStruct(Tag.Attributes);
  t.equal(attrs.get(Tag.CryptographicAlgorithm, 'Enumeration'), A.DSA);
  t.equal(attrs.get(Tag.CryptographicLength, 'Integer'), 512, 'the Cryptographic Length is the bit length of P');

  const pkcs8 = createPrivateKey({ key: derOf(await getBlock(c, priv, 'PrivateKey', F.PKCS_8)), format: 'der', type: 'pkcs8' });
  t.equal(pkcs8.asymmetricKeyType, 'dsa', 'Get as PKCS#8 gives a DSA key node:crypto reads');
  const spki = createPublicKey({ key: derOf(await getBlock(c, pub, 'PublicKey', F.X_509)), format: 'der', type: 'spki' });
  t.ok(nodeVerify('sha256', MESSAGE, spki, nodeSign('sha256', MESSAGE, pkcs8)), 'the converted keys are a pair');
  const transparent = (await getBlock(c, pub, 'PublicKey', F.TransparentDSAPublicKey)).needStruct(Tag.KeyValue).needStruct(Tag.KeyMaterial);
  t.same([transparent.need(Tag.P, 'BigInteger'), transparent.need(Tag.Q, 'BigInteger'), transparent.need(Tag.G, 'BigInteger'), transparent.need(Tag.Y, 'BigInteger')], [p, q, g, y], 'Transparent DSA Public Key round-trips P, Q, G, Y');

  const rsa = await refusal(c.call('Get', [uid(priv), enumeration(Tag.KeyFormatType, F.PKCS_1)]));
  t.equal(rsa.reason, 'KeyFormatTypeNotSupported', 'a DSA key is not available as PKCS#1');

  const badY = await refusal(register(c, 'PublicKey', U.Verify, keyBlock(F.TransparentDSAPublicKey, [big(Tag.P, p), big(Tag.Q, q), big(Tag.G, g)], 512)));
  t.equal(badY.reason, 'InvalidField', 'a Transparent DSA Public Key without Y is refused');
  await c.close();
});

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;
  t.test(`${v}: Create Key Pair makes a DSA pair that signs; node:crypto verifies and kmipd verifies node's`, async (t) => {
    const setup = await env.connect(V21);
    const created = await setup.call('CreateKeyPair', [
      structure(Tag.CommonAttributes, [enumeration(Tag.CryptographicAlgorithm, A.DSA), integer(Tag.CryptographicLength, 2048)]),
      structure(Tag.PrivateKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Sign)]),
      structure(Tag.PublicKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Verify)]),
    ]);
    const priv = created.payload!.need(Tag.PrivateKeyUniqueIdentifier, 'TextString');
    const pub = created.payload!.need(Tag.PublicKeyUniqueIdentifier, 'TextString');
    await setup.call('Activate', [uid(priv)]);
    await setup.call('Activate', [uid(pub)]);
    const heldPub = await getBlock(setup, pub, 'PublicKey');
    t.equal(heldPub.need(Tag.KeyFormatType, 'Enumeration'), F.X_509, 'a generated DSA public key is held as X.509');
    const publicKey = createPublicKey({ key: derOf(heldPub), format: 'der', type: 'spki' });
    t.same(publicKey.asymmetricKeyDetails, { modulusLength: 2048, divisorLength: 256 }, 'L = 2048, N = 256 (FIPS 186-4 §4.2)');
    await setup.close();

    const c = await env.connect(version);
    const sha256 = structure(Tag.CryptographicParameters, [enumeration(Tag.HashingAlgorithm, Enum.HashingAlgorithm.SHA_256)]);
    const signature = Buffer.from((await c.call('Sign', [uid(priv), sha256, item(Tag.Data, 'ByteString', MESSAGE)])).payload!.need(Tag.SignatureData, 'ByteString'));
    t.ok(nodeVerify('sha256', MESSAGE, publicKey, signature), 'kmipd\'s DSA-SHA256 signature verifies with node:crypto');
    const byDefault = Buffer.from((await c.call('Sign', [uid(priv), item(Tag.Data, 'ByteString', MESSAGE)])).payload!.need(Tag.SignatureData, 'ByteString'));
    t.ok(nodeVerify('sha256', MESSAGE, publicKey, byDefault), 'without a Hashing Algorithm, DSA signs with SHA-256');
    const verdict = async (sig: Uint8Array): Promise<number> =>
      (await c.call('SignatureVerify', [uid(pub), sha256, item(Tag.Data, 'ByteString', MESSAGE), item(Tag.SignatureData, 'ByteString', sig)])).payload!.need(Tag.ValidityIndicator, 'Enumeration');
    t.equal(await verdict(signature), Enum.ValidityIndicator.Valid, 'kmipd verifies its own signature');
    const tampered = Buffer.from(signature);
    tampered[tampered.length - 1] = tampered[tampered.length - 1]! ^ 1;
    t.equal(await verdict(tampered), Enum.ValidityIndicator.Invalid, 'and refuses a tampered one');
    const named = structure(Tag.CryptographicParameters, [enumeration(Tag.DigitalSignatureAlgorithm, Enum.DigitalSignatureAlgorithm.DSAWithSHA224)]);
    const sha224 = Buffer.from((await c.call('Sign', [uid(priv), named, item(Tag.Data, 'ByteString', MESSAGE)])).payload!.need(Tag.SignatureData, 'ByteString'));
    t.ok(nodeVerify('sha224', MESSAGE, publicKey, sha224), 'Digital Signature Algorithm DSA with SHA-224');
    const pss = await refusal(c.call('Sign', [uid(priv), structure(Tag.CryptographicParameters, [enumeration(Tag.PaddingMethod, Enum.PaddingMethod.PSS)]), item(Tag.Data, 'ByteString', MESSAGE)]));
    t.equal(pss.reason, version.major >= 2 ? 'BadCryptographicParameters' : 'InvalidField', 'DSA takes no Padding Method');
    await c.close();
  });
}

t.test('2.1: Create Key Pair refuses DSA lengths FIPS 186-4 does not define', async (t) => {
  const c = await env.connect(V21);
  const refused = await refusal(
    c.call('CreateKeyPair', [
      structure(Tag.CommonAttributes, [enumeration(Tag.CryptographicAlgorithm, A.DSA), integer(Tag.CryptographicLength, 1536)]),
      structure(Tag.PrivateKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Sign)]),
      structure(Tag.PublicKeyAttributes, [integer(Tag.CryptographicUsageMask, U.Verify)]),
    ]),
  );
  t.equal(refused.reason, 'InvalidAttributeValue');
  t.match(refused.message, /1024, 2048 or 3072 bits/);
  await c.close();
});

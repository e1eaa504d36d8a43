/**
 * The attributes the server sets on a new object (KMIP 2.1 §4 "implicitly set" rows), its first
 * state, and the Digest and Short Unique Identifier computations; checked against what the OASIS
 * 2.1 test case SKLC-O-1 shows a server holding for a created key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { type Item, encode, fromXmlDocument, item, structure } from '../../src/ttlv/index.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type CreationInput, checkCreationAttributes, digest, initialAttributes, requiredAttributes, serverAttributes } from '../../src/objects/attribute-rules.js';
import { applyTransition, destroy } from '../../src/objects/lifecycle.js';
import { find } from '../../src/objects/items.js';
import { testcasesDir } from '../support/shared.js';
import { refused } from './refusal.js';

const NOW = 1_700_000_000;
const HOUR = 3600;
const RAW = Enum.KeyFormatType.Raw;
const sha256 = (bytes: Uint8Array): Uint8Array => createHash('sha256').update(bytes).digest();
const keyBytes = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

const requested: Item[] = [
  item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES),
  item(Tag.CryptographicLength, 'Integer', 128),
  item(Tag.CryptographicUsageMask, 'Integer', 12),
];

function input(extra: Partial<CreationInput> = {}): CreationInput {
  return {
    objectType: 'SymmetricKey',
    uid: 'd1a3c5e7-0000-4000-8000-000000000001',
    now: NOW,
    origin: 'generated',
    requested,
    digestOf: [{ value: item(Tag.KeyMaterial, 'ByteString', keyBytes), keyFormatType: RAW }],
    keyFormatType: RAW,
    protectionStorageMask: Mask.ProtectionStorageMask.Software,
    ...extra,
  };
}

const tags = (attrs: readonly Item[]): Set<number> => new Set(attrs.map((a) => a.tag));

t.test('a generated key has every attribute the spec says it SHALL always have', async (t) => {
  const { attributes } = initialAttributes(input());
  for (const tag of requiredAttributes('SymmetricKey')) t.ok(find(attributes, Tag[tag]), `${tag} is set`);
  t.equal(attributes.filter((a) => a.tag === Tag.CryptographicAlgorithm).length, 1, 'no attribute twice');
  t.doesNotThrow(() => checkCreationAttributes('SymmetricKey', requested, 'create'));
});

t.test('a generated key starts Pre-Active, Fresh, with its dates at now and an unspecified generator', async (t) => {
  const { state, attributes } = serverAttributes(input());
  t.equal(state, 'PreActive');
  t.same(find(attributes, Tag.State), item(Tag.State, 'Enumeration', Enum.State.PreActive));
  for (const tag of [Tag.InitialDate, Tag.LastChangeDate, Tag.OriginalCreationDate]) t.same(find(attributes, tag), item(tag, 'DateTime', NOW));
  t.same(find(attributes, Tag.Fresh), item(Tag.Fresh, 'Boolean', true));
  t.same(find(attributes, Tag.RandomNumberGenerator), structure(Tag.RandomNumberGenerator, [item(Tag.RNGAlgorithm, 'Enumeration', Enum.RNGAlgorithm.Unspecified)]));
  t.same(find(attributes, Tag.Sensitive), item(Tag.Sensitive, 'Boolean', false), 'Sensitive defaults to false (2.1 §4.55)');
  t.same(find(attributes, Tag.Extractable), item(Tag.Extractable, 'Boolean', true), 'Extractable defaults to true (2.1 §4.23)');
  t.same(find(attributes, Tag.AlwaysSensitive), item(Tag.AlwaysSensitive, 'Boolean', false));
  t.same(find(attributes, Tag.NeverExtractable), item(Tag.NeverExtractable, 'Boolean', false));
  t.same(find(attributes, Tag.ObjectType), item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey));
  t.same(find(attributes, Tag.KeyFormatType), item(Tag.KeyFormatType, 'Enumeration', RAW));
  t.notOk(find(attributes, Tag.KeyValuePresent), 'Key Value Present only for a Register without a value');
});

t.test('an Activation Date already passed makes the new object Active at once (2.1 §4.57 transition 1)', async (t) => {
  t.equal(serverAttributes(input({ requested: [...requested, item(Tag.ActivationDate, 'DateTime', NOW - HOUR)] })).state, 'Active');
  t.equal(serverAttributes(input({ requested: [...requested, item(Tag.ActivationDate, 'DateTime', NOW)] })).state, 'Active', 'the current date counts');
  t.equal(serverAttributes(input({ requested: [...requested, item(Tag.ActivationDate, 'DateTime', NOW + 1)] })).state, 'PreActive');
});

t.test('the client\'s Sensitive and Extractable are kept and drive Always Sensitive and Never Extractable', async (t) => {
  const { attributes } = initialAttributes(input({ requested: [...requested, item(Tag.Sensitive, 'Boolean', true), item(Tag.Extractable, 'Boolean', false)] }));
  t.same(attributes.filter((a) => a.tag === Tag.Sensitive), [item(Tag.Sensitive, 'Boolean', true)]);
  t.same(attributes.filter((a) => a.tag === Tag.Extractable), [item(Tag.Extractable, 'Boolean', false)]);
  t.same(find(attributes, Tag.AlwaysSensitive), item(Tag.AlwaysSensitive, 'Boolean', true));
  t.same(find(attributes, Tag.NeverExtractable), item(Tag.NeverExtractable, 'Boolean', true));
});

t.test('a registered object keeps the client\'s Fresh and has no Original Creation Date or generator of the server\'s', async (t) => {
  const { attributes } = initialAttributes(input({ origin: 'registered', requested: [...requested, item(Tag.Fresh, 'Boolean', false)] }));
  t.same(attributes.filter((a) => a.tag === Tag.Fresh), [item(Tag.Fresh, 'Boolean', false)]);
  t.notOk(find(attributes, Tag.OriginalCreationDate));
  t.notOk(find(attributes, Tag.RandomNumberGenerator));
  const bare = serverAttributes(input({ origin: 'registered', digestOf: [], keyValuePresent: false }));
  t.same(find(bare.attributes, Tag.KeyValuePresent), item(Tag.KeyValuePresent, 'Boolean', false));
  t.notOk(find(bare.attributes, Tag.Digest), 'no digest without a value');
});

t.test('a generated key records the generator used, not the ones the client allowed', async (t) => {
  const allowed = (alg: number): Item => structure(Tag.RandomNumberGenerator, [item(Tag.RNGAlgorithm, 'Enumeration', alg)]);
  const used = allowed(Enum.RNGAlgorithm.DRBG);
  const { attributes } = initialAttributes(input({ requested: [...requested, allowed(Enum.RNGAlgorithm.ANSIX9_31), used], rng: used }));
  t.same(attributes.filter((a) => a.tag === Tag.RandomNumberGenerator), [used]);
});

t.test('the Digest is SHA-256 over the key bytes, or over the TTLV of a Key Material structure (2.1 §4.21)', async (t) => {
  t.same(digest({ value: item(Tag.KeyMaterial, 'ByteString', keyBytes), keyFormatType: RAW }), structure(Tag.Digest, [
    item(Tag.HashingAlgorithm, 'Enumeration', Enum.HashingAlgorithm.SHA_256),
    item(Tag.DigestValue, 'ByteString', sha256(keyBytes)),
    item(Tag.KeyFormatType, 'Enumeration', RAW),
  ]));
  const material = structure(Tag.KeyMaterial, [item(Tag.Modulus, 'BigInteger', 0xc5n), item(Tag.PublicExponent, 'BigInteger', 65537n)]);
  const d = digest({ value: material, keyFormatType: Enum.KeyFormatType.TransparentRSAPublicKey });
  t.same(find(d.type === 'Structure' ? d.value : [], Tag.DigestValue), item(Tag.DigestValue, 'ByteString', sha256(encode(material))));
  const certificate = digest({ value: item(Tag.CertificateValue, 'ByteString', keyBytes) });
  t.equal(certificate.type === 'Structure' && certificate.value.length, 2, 'a certificate digest has no Key Format Type');
  refused(t, () => digest({ value: item(Tag.KeyMaterial, 'TextString', 'x') }), 'InvalidField');
});

t.test('the Short Unique Identifier is the SHA-256 of the Unique Identifier (2.1 §4.56)', async (t) => {
  const { attributes } = serverAttributes(input());
  t.same(find(attributes, Tag.ShortUniqueIdentifier), item(Tag.ShortUniqueIdentifier, 'ByteString', sha256(Buffer.from(input().uid))));
});

t.test('an Object Type attribute that contradicts the object is refused', async (t) => {
  refused(t, () => serverAttributes(input({ requested: [item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SecretData)] })), 'InvalidField', /does not match/);
  const { attributes } = initialAttributes(input({ requested: [item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey)] }));
  t.equal(attributes.filter((a) => a.tag === Tag.ObjectType).length, 1);
});

t.test('a created then destroyed key holds the attributes OASIS SKLC-O-1-21 shows', async (t) => {
  const messages = fromXmlDocument(readFileSync(join(testcasesDir, 'v2.1/optional/SKLC-O-1-21.xml'), 'utf8'));
  const attributesIn = (message: Item): Item[] => {
    const found: Item[] = [];
    const walk = (it: Item): void => {
      if (it.type !== 'Structure') return;
      if (it.tag === Tag.Attributes) found.push(...it.value);
      else it.value.forEach(walk);
    };
    walk(message);
    return found;
  };
  const createRequest = attributesIn(messages[0]!);
  const lastResponse = attributesIn(messages.at(-1)!);
  t.ok(createRequest.length > 0 && lastResponse.length > 0);
  const created = initialAttributes({
    ...input({ requested: createRequest, leaseTime: HOUR }),
    rng: structure(Tag.RandomNumberGenerator, [item(Tag.RNGAlgorithm, 'Enumeration', Enum.RNGAlgorithm.ANSIX9_31)]),
  });
  const destroyed = applyTransition(created.attributes, destroy(created, NOW));
  t.same([...tags(destroyed)].sort(), [...tags(lastResponse)].sort(), 'the same attributes, by tag');
});

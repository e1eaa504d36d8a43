/**
 * Create Split Key and Join Split Key end to end: a kmipd from `kmipd init`, KmipClient over real
 * mutual TLS in KMIP 2.1 and 1.4 form. A split key is judged by what a user sees: joining any
 * threshold of its parts gives back the key bytes (Get), fewer parts or parts of two splits are
 * refused with the spec's Result Reason.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { Fields } from '../../src/kmip/fields.js';
import type { KmipClient } from '../../src/client/client.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { type Run, runKmipctl } from '../support/kmipctl.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-split-key-', 'split-someone-else');
});
t.teardown(() => env.close());

const M = Enum.SplitKeyMethod;
const L = Enum.LinkType;
const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);
const aes256 = [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 256)];

function splitPayload(kind: number, parts: number, threshold: number, method: number, attrs: Item[], extra: Item[] = []): Item[] {
  return [
    enumeration(Tag.ObjectType, kind),
    ...extra,
    integer(Tag.SplitKeyParts, parts),
    integer(Tag.SplitKeyThreshold, threshold),
    enumeration(Tag.SplitKeyMethod, method),
    structure(Tag.Attributes, attrs),
  ];
}

async function split(c: KmipClient, parts: number, threshold: number, method: number, attrs: Item[] = aes256, extra: Item[] = []): Promise<string[]> {
  const made = await c.call('CreateSplitKey', splitPayload(Enum.ObjectType.SplitKey, parts, threshold, method, attrs, extra));
  return made.payload!.values(Tag.UniqueIdentifier, 'TextString');
}

async function join(c: KmipClient, ids: string[], kind: 'SymmetricKey' | 'SecretData' = 'SymmetricKey', attrs: Item[] = []): Promise<string> {
  const joined = await c.call('JoinSplitKey', [enumeration(Tag.ObjectType, Enum.ObjectType[kind]), ...ids.map(uid), ...(attrs.length > 0 ? [structure(Tag.Attributes, attrs)] : [])]);
  return joined.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

async function keyBytes(c: KmipClient, id: string): Promise<string> {
  const got = (await c.call('Get', [uid(id)])).payload!;
  const value = got.struct(Tag.SymmetricKey) ?? got.struct(Tag.SecretData) ?? got.needStruct(Tag.SplitKey);
  return Buffer.from(value.needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString')).toString('hex');
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

async function registerKey(c: KmipClient, bytes: Buffer, attrs: Item[] = []): Promise<string> {
  const reg = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, attrs), aesKey(bytes)]);
  return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

t.test('2.1 GF(2^8) split of a new AES-256 key: any 3 of 5 parts join to the same key', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const parts = await split(c, 5, 3, M.PolynomialSharingGF2_8);
  t.equal(parts.length, 5, 'five Split Key objects');

  const got = (await c.call('Get', [uid(parts[1]!)])).payload!;
  t.equal(got.need(Tag.ObjectType, 'Enumeration'), Enum.ObjectType.SplitKey);
  const part = got.needStruct(Tag.SplitKey);
  t.equal(part.need(Tag.SplitKeyParts, 'Integer'), 5);
  t.equal(part.need(Tag.KeyPartIdentifier, 'Integer'), 2, 'the second identifier is part 2');
  t.equal(part.need(Tag.SplitKeyThreshold, 'Integer'), 3);
  t.equal(part.need(Tag.SplitKeyMethod, 'Enumeration'), M.PolynomialSharingGF2_8);
  t.equal(part.needStruct(Tag.KeyBlock).need(Tag.CryptographicLength, 'Integer'), 256, 'the part says how long the key is');
  const attrs = await attributesOf(c, parts[1]!);
  t.same(links(attrs, L.PreviousLink), [parts[0]], 'Previous Link to part 1');
  t.same(links(attrs, L.NextLink), [parts[2]], 'Next Link to part 3');

  const a = await join(c, [parts[0]!, parts[2]!, parts[4]!]);
  const b = await join(c, [parts[3]!, parts[1]!, parts[4]!]);
  const all = await join(c, parts);
  const key = await keyBytes(c, a);
  t.equal(key.length, 64, 'a 256-bit key');
  t.equal(await keyBytes(c, b), key, 'another three parts give the same key');
  t.equal(await keyBytes(c, all), key, 'all five parts too');
  const joined = await attributesOf(c, a);
  t.equal(joined.need(Tag.CryptographicAlgorithm, 'Enumeration'), Enum.CryptographicAlgorithm.AES, 'an AES key');
  t.same(links(joined, L.DerivationBaseObjectLink).sort(), [parts[0], parts[2], parts[4]].sort(), 'the key links to the parts it came from');
  t.same(links(await attributesOf(c, parts[0]!), L.DerivedKeyLink).sort(), [a, all].sort(), 'a part links to the keys joined from it');

  const few = await refusal(join(c, [parts[0]!, parts[1]!]));
  t.equal(few.reason, 'CryptographicFailure', 'two parts of a threshold-3 split: Cryptographic Failure (1.4 §11.40)');
  t.match(few.message, /needs 3 of its 5 parts; 2 given/);
});

t.test('2.1 the ID Placeholder after Create Split Key is part 1', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const batch = await c.request({
    items: [
      { operation: Enum.Operation.CreateSplitKey, payload: splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.PolynomialSharingGF2_8, aes256) },
      { operation: Enum.Operation.Get, payload: [] },
    ],
  });
  t.same(batch.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success]);
  t.equal(batch.items[1]!.payload!.needStruct(Tag.SplitKey).need(Tag.KeyPartIdentifier, 'Integer'), 1, 'Get without an identifier returned part 1 (KMIP 2.1 §6.1.10)');
});

t.test('2.1 XOR split of a registered key: all parts give back its bytes; Parent and Child Links', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const bytes = randomBytes(16);
  const keyId = await registerKey(c, bytes);
  const parts = await split(c, 3, 3, M.XOR, [], [uid(keyId)]);
  t.same(links(await attributesOf(c, keyId), L.ChildLink).sort(), [...parts].sort(), 'the key has a Child Link to each part');
  t.same(links(await attributesOf(c, parts[2]!), L.ParentLink), [keyId], 'each part a Parent Link to the key');
  t.not(await keyBytes(c, parts[0]!), bytes.toString('hex'), 'no part is the key');
  const joined = await join(c, parts);
  t.equal(await keyBytes(c, joined), bytes.toString('hex'), 'the three parts XOR to the key');
  t.equal((await refusal(join(c, parts.slice(0, 2)))).reason, 'CryptographicFailure', 'two of three XOR parts are not enough');
  t.equal((await attributesOf(c, joined)).need(Tag.CryptographicLength, 'Integer'), 128, 'the key takes its length from the parts');
});

t.test('2.1 Prime Field split (p = 2^130 − 5) of a registered AES-128 key: any 2 of 4 parts', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const bytes = randomBytes(16);
  const keyId = await registerKey(c, bytes);
  const prime = (1n << 130n) - 5n;
  const parts = await split(c, 4, 2, M.PolynomialSharingPrimeField, [], [uid(keyId), item(Tag.PrimeFieldSize, 'BigInteger', prime)]);
  const part = (await c.call('Get', [uid(parts[3]!)])).payload!.needStruct(Tag.SplitKey);
  t.equal(part.need(Tag.PrimeFieldSize, 'BigInteger'), prime, 'each part carries the Prime Field Size');
  t.equal(await keyBytes(c, await join(c, [parts[1]!, parts[3]!])), bytes.toString('hex'), 'parts 2 and 4 give the key');
  t.equal(await keyBytes(c, await join(c, [parts[2]!, parts[0]!])), bytes.toString('hex'), 'parts 3 and 1 too');

  const tooSmall = await refusal(c.call('CreateSplitKey', splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.PolynomialSharingPrimeField, [], [uid(keyId), item(Tag.PrimeFieldSize, 'BigInteger', 257n)])));
  t.equal(tooSmall.reason, 'InvalidAttributeValue', 'a prime below 2^128 cannot share a 128-bit key');
  const notPrime = await refusal(c.call('CreateSplitKey', splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.PolynomialSharingPrimeField, [], [uid(keyId), item(Tag.PrimeFieldSize, 'BigInteger', prime + 2n)])));
  t.equal(notPrime.reason, 'InvalidAttributeValue', 'a Prime Field Size that is not prime is refused');
  t.equal((await refusal(c.call('CreateSplitKey', splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.PolynomialSharingPrimeField, [], [uid(keyId)])))).reason, 'InvalidField', 'no Prime Field Size: Invalid Field');
});

t.test('2.1 parts of two splits do not join, nor do duplicates, nor other objects', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const one = await split(c, 3, 2, M.PolynomialSharingGF2_8);
  const two = await split(c, 3, 2, M.PolynomialSharingGF2_8);
  const mixed = await refusal(join(c, [one[0]!, two[1]!]));
  t.equal(mixed.reason, 'InvalidField', 'mixed splits: Invalid Field');
  t.match(mixed.message, /different splits/);
  const keyId = await registerKey(c, randomBytes(16));
  t.equal((await refusal(join(c, [one[0]!, keyId]))).reason, 'InvalidObjectType', 'a Symmetric Key is not a part');
  t.equal((await refusal(c.call('JoinSplitKey', [enumeration(Tag.ObjectType, Enum.ObjectType.PrivateKey), uid(one[0]!), uid(one[1]!)]))).reason, 'InvalidObjectType', 'parts join into a Symmetric Key or Secret Data only');
  const secret = await join(c, [one[2]!, one[1]!], 'SecretData');
  t.equal(await keyBytes(c, secret), await keyBytes(c, await join(c, [one[0]!, one[1]!])), 'Secret Data from the same split holds the same bytes');
});

t.test('2.1 parts a client registers (no links) join like the server\'s own', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const bytes = randomBytes(32);
  const keyId = await registerKey(c, bytes);
  const parts = await split(c, 3, 2, M.PolynomialSharingGF2_8, [], [uid(keyId)]);
  const registered: string[] = [];
  for (const id of [parts[0]!, parts[2]!]) {
    const value = (await c.call('Get', [uid(id)])).payload!.needStruct(Tag.SplitKey).item;
    const reg = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SplitKey), structure(Tag.Attributes, []), value]);
    registered.push(reg.payload!.need(Tag.UniqueIdentifier, 'TextString'));
  }
  t.equal(await keyBytes(c, await join(c, registered)), bytes.toString('hex'), 'two registered parts give the key back');
  t.equal((await refusal(join(c, [registered[0]!, parts[1]!]))).reason, 'InvalidField', 'a registered part and a linked part of a split are not taken as one split');
});

t.test('2.1 refusals: XOR below all parts, GF(2^16), a Name on many parts, a non-extractable key', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const refused = async (payload: Item[]): Promise<string> => (await refusal(c.call('CreateSplitKey', payload))).reason;
  t.equal(await refused(splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.XOR, aes256)), 'InvalidAttributeValue', 'XOR needs threshold = parts');
  t.equal(await refused(splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.PolynomialSharingGF2_16, aes256)), 'FeatureNotSupported', 'GF(2^16) is not supported');
  t.equal(await refused(splitPayload(Enum.ObjectType.SplitKey, 3, 4, M.PolynomialSharingGF2_8, aes256)), 'InvalidAttributeValue', 'threshold above parts');
  t.equal(await refused(splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.PolynomialSharingGF2_8, [...aes256, name('split-named')])), 'NonUniqueNameAttribute', 'one Name cannot go on three parts');
  t.equal(await refused(splitPayload(Enum.ObjectType.PublicKey, 3, 2, M.PolynomialSharingGF2_8, aes256)), 'InvalidObjectType');
  const locked = await registerKey(c, randomBytes(16), [item(Tag.Extractable, 'Boolean', false)]);
  t.equal(await refused(splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.PolynomialSharingGF2_8, [], [uid(locked)])), 'NotExtractable', 'a key that may not leave is not split into parts that may');

  const parts = await split(c, 2, 2, M.XOR);
  const other = await env.connect(V21, env.other);
  t.teardown(() => other.close());
  t.equal((await refusal(join(other, parts))).reason, 'ObjectNotFound', "another client cannot join the caller's parts");
});

t.test('1.4 Create Split Key with a Template-Attribute and Join Split Key', async (t) => {
  const c = await env.connect(V14);
  t.teardown(() => c.close());
  const made = await c.call('CreateSplitKey', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SplitKey),
    integer(Tag.SplitKeyParts, 4),
    integer(Tag.SplitKeyThreshold, 2),
    enumeration(Tag.SplitKeyMethod, M.PolynomialSharingGF2_8),
    structure(Tag.TemplateAttribute, [
      v1Attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.AES)),
      v1Attr('Cryptographic Length', integer(0, 128)),
    ]),
  ]);
  const parts = made.payload!.values(Tag.UniqueIdentifier, 'TextString');
  t.equal(parts.length, 4);
  const a = await join(c, [parts[0]!, parts[3]!]);
  const b = await join(c, [parts[1]!, parts[2]!]);
  t.equal(await keyBytes(c, a), await keyBytes(c, b), 'two different pairs give one key');
  const few = await refusal(join(c, [parts[0]!]));
  t.equal(few.reason, 'CryptographicFailure');
  t.equal((await refusal(c.call('CreateSplitKey', splitPayload(Enum.ObjectType.SplitKey, 3, 2, M.PolynomialSharingGF2_16, [])))).reason, 'InvalidField', '1.x: unsupported method is Invalid Field (1.4 §11.39)');
});

t.test('kmipctl create-split-key and join-split-key', async (t) => {
  const kmipctl = (...args: string[]): Promise<Run> => runKmipctl(args, { dataDir: env.dir, port: env.server.tlsAddress.port });
  const made = await kmipctl('create-split-key', '--parts', '3', '--threshold', '2', '--algorithm', 'AES', '--length', '128');
  t.equal(made.code, 0, made.err);
  const parts = made.out.trim().split('\n');
  t.equal(parts.length, 3, 'one Unique Identifier a line, part 1 first');
  const joined = await kmipctl('join-split-key', parts[2]!, parts[0]!, '--name', 'cli-joined');
  t.equal(joined.code, 0, joined.err);
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  t.equal((await keyBytes(c, joined.out.trim())).length, 32, 'a 128-bit key');
  const few = await kmipctl('join-split-key', parts[1]!);
  t.equal(few.code, 1);
  t.match(few.err, /Cryptographic Failure: this split needs 2 of its 3 parts; 1 given/);
  const usage = await kmipctl('create-split-key', '--parts', '3');
  t.equal(usage.code, 2, 'a usage error');
  const xor = await kmipctl('create-split-key', '--parts', '2', '--threshold', '2', '--method', 'xor', '--json');
  t.equal((JSON.parse(xor.out) as { uniqueIdentifiers: string[] }).uniqueIdentifiers.length, 2);
});

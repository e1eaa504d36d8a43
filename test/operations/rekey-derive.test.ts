/**
 * Re-key and Derive Key end to end: a kmipd from `kmipd init`, KmipClient over real mutual TLS in
 * KMIP 2.1 and 1.4 form. Derived bytes are checked against published vectors (RFC 6070 PBKDF2,
 * RFC 5869 HKDF) and against node:crypto computing the same function in the test.
 */
import { createCipheriv, createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { Fields } from '../../src/kmip/fields.js';
import type { KmipClient } from '../../src/client/client.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-rekey-derive-', 'rekey-someone-else');
});
t.teardown(() => env.close());

const U = Mask.CryptographicUsageMask;
const now = (): number => Math.floor(Date.now() / 1000);
const date = (tag: number, seconds: number): Item => item(tag, 'DateTime', seconds);
const bytes = (tag: number, value: Uint8Array | string): Item => item(tag, 'ByteString', typeof value === 'string' ? Buffer.from(value, 'hex') : value);
const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);

async function attributesOf(c: KmipClient, id: string): Promise<Fields> {
  return (await c.call('GetAttributes', [uid(id)])).payload!.needStruct(Tag.Attributes);
}

async function materialOf(c: KmipClient, id: string): Promise<Buffer> {
  const got = (await c.call('Get', [uid(id)])).payload!;
  const value = got.struct(Tag.SymmetricKey) ?? got.needStruct(Tag.SecretData);
  return Buffer.from(value.needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));
}

/** Link targets of one Link Type among an object's attributes. */
function links(attrs: Fields, linkType: number): string[] {
  return attrs
    .all(Tag.Link)
    .filter((l) => l.type === 'Structure' && l.value.some((c) => c.tag === Tag.LinkType && c.value === linkType))
    .map((l) => (l.value as Item[]).find((c) => c.tag === Tag.LinkedObjectIdentifier)!.value as string);
}

async function createKey(c: KmipClient, attrs: Item[], bits = 128): Promise<string> {
  const created = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, bits), ...attrs]),
  ]);
  return created.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

/** Registers key bytes as an Active Symmetric Key or Secret Data with the given usage mask. */
async function registerActive(c: KmipClient, kind: 'SymmetricKey' | 'SecretData', material: Uint8Array, mask: number, algorithm: number = Enum.CryptographicAlgorithm.AES): Promise<string> {
  const block = structure(Tag.KeyBlock, [
    enumeration(Tag.KeyFormatType, kind === 'SymmetricKey' ? Enum.KeyFormatType.Raw : Enum.KeyFormatType.Opaque),
    structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, material)]),
    ...(kind === 'SymmetricKey' ? [enumeration(Tag.CryptographicAlgorithm, algorithm), integer(Tag.CryptographicLength, material.length * 8)] : []),
  ]);
  const value = kind === 'SymmetricKey' ? structure(Tag.SymmetricKey, [block]) : structure(Tag.SecretData, [enumeration(Tag.SecretDataType, Enum.SecretDataType.Password), block]);
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType[kind]),
    structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, mask), date(Tag.ActivationDate, now() - 60)]),
    value,
  ]);
  return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

function derivePayload(kind: 'SymmetricKey' | 'SecretData', bases: string[], method: number, params: Item[], attrs: Item[]): Item[] {
  return [
    enumeration(Tag.ObjectType, Enum.ObjectType[kind]),
    ...bases.map(uid),
    enumeration(Tag.DerivationMethod, method),
    structure(Tag.DerivationParameters, params),
    structure(Tag.Attributes, attrs),
  ];
}

const hashParams = (hash: number): Item => structure(Tag.CryptographicParameters, [enumeration(Tag.HashingAlgorithm, hash)]);
const secretOf = (bits: number): Item[] => [integer(Tag.CryptographicLength, bits)];
const aesOf = (bits: number): Item[] => [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, bits)];

t.test('2.1 Re-key with an Offset: new key bytes, Name moved, Links both ways, dates shifted', async (t) => {
  const c = await env.connect(V21);
  const it = now();
  const a1 = it - 100;
  const oldId = await createKey(c, [
    integer(Tag.CryptographicUsageMask, U.Encrypt | U.Decrypt),
    name('rekey-offset'),
    date(Tag.ActivationDate, a1),
    date(Tag.ProcessStartDate, a1 + 10),
    date(Tag.ProtectStopDate, a1 + 50_000),
    date(Tag.DeactivationDate, a1 + 100_000),
    structure(Tag.UsageLimits, [item(Tag.UsageLimitsTotal, 'LongInteger', 500n), enumeration(Tag.UsageLimitsUnit, Enum.UsageLimitsUnit.Object)]),
  ]);
  const oldBytes = await materialOf(c, oldId);

  const rekeyed = await c.call('ReKey', [uid(oldId), item(Tag.Offset, 'Interval', 3600)]);
  const newId = rekeyed.payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.not(newId, oldId, 'the replacement has its own Unique Identifier');
  const newBytes = await materialOf(c, newId);
  t.equal(newBytes.length, 16, 'same length: 128 bits');
  t.not(newBytes.toString('hex'), oldBytes.toString('hex'), 'fresh key bytes');

  const fresh = await attributesOf(c, newId);
  const initial = fresh.need(Tag.InitialDate, 'DateTime');
  const a2 = fresh.need(Tag.ActivationDate, 'DateTime');
  t.equal(a2, initial + 3600, 'Activation Date = Initial Date + Offset (2.1 Table 303)');
  t.equal(fresh.need(Tag.ProcessStartDate, 'DateTime'), a1 + 10 + (a2 - a1), 'Process Start Date keeps its distance');
  t.equal(fresh.need(Tag.ProtectStopDate, 'DateTime'), a1 + 50_000 + (a2 - a1));
  t.equal(fresh.need(Tag.DeactivationDate, 'DateTime'), a1 + 100_000 + (a2 - a1));
  t.equal(fresh.need(Tag.State, 'Enumeration'), Enum.State.PreActive, 'not active before its Activation Date');
  t.equal(fresh.need(Tag.CryptographicAlgorithm, 'Enumeration'), Enum.CryptographicAlgorithm.AES);
  t.equal(fresh.need(Tag.CryptographicUsageMask, 'Integer'), U.Encrypt | U.Decrypt, 'usage mask copied');
  t.equal(fresh.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'rekey-offset', 'the Name moved to the replacement');
  t.same(links(fresh, Enum.LinkType.ReplacedObjectLink), [oldId], 'replacement → Replaced Object link');
  const limits = fresh.needStruct(Tag.UsageLimits);
  t.equal(limits.need(Tag.UsageLimitsTotal, 'LongInteger'), 500n);
  t.equal(limits.need(Tag.UsageLimitsCount, 'LongInteger'), 500n, 'the whole allowance for the new key');
  const digest = fresh.needStruct(Tag.Digest).need(Tag.DigestValue, 'ByteString');
  t.same(Buffer.from(digest), createHash('sha256').update(newBytes).digest(), 'Digest recomputed from the new key');

  const old = await attributesOf(c, oldId);
  t.notOk(old.has(Tag.Name), 'the existing key has no Name any more');
  t.same(links(old, Enum.LinkType.ReplacementObjectLink), [newId], 'existing → Replacement Object link');
  t.equal(old.need(Tag.State, 'Enumeration'), Enum.State.Active, 'the existing key stays Active');
  const located = await c.call('Locate', [structure(Tag.Attributes, [name('rekey-offset')])]);
  t.same(located.payload!.values(Tag.UniqueIdentifier, 'TextString'), [newId], 'Locate by the Name finds the replacement only');
  await c.close();
});

t.test('2.1 Re-key without an Offset copies the dates; Re-key then Get in one batch via the ID Placeholder', async (t) => {
  const c = await env.connect(V21);
  const a1 = now() - 100;
  const oldId = await createKey(c, [integer(Tag.CryptographicUsageMask, U.Encrypt), date(Tag.ActivationDate, a1)], 256);
  const batch = await c.request({
    items: [
      { operation: Enum.Operation.ReKey, payload: [uid(oldId), structure(Tag.Attributes, [name('rekey-copied')])] },
      { operation: Enum.Operation.Get, payload: [] },
    ],
  });
  t.same(batch.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success]);
  const newId = batch.items[0]!.payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.equal(batch.items[1]!.payload!.need(Tag.UniqueIdentifier, 'TextString'), newId, 'Get used the replacement through the ID Placeholder');
  const fresh = await attributesOf(c, newId);
  t.equal(fresh.need(Tag.ActivationDate, 'DateTime'), a1, 'Activation Date copied');
  t.equal(fresh.need(Tag.State, 'Enumeration'), Enum.State.Active, 'Active at once: its Activation Date has passed');
  t.equal(fresh.need(Tag.CryptographicLength, 'Integer'), 256);
  t.equal(fresh.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'rekey-copied', 'a Name from the request');
  await c.close();
});

t.test('Re-key refusals, and nothing changes when refused', async (t) => {
  const c = await env.connect(V21);
  const secret = await registerActive(c, 'SecretData', randomBytes(16), U.DeriveKey);
  t.equal((await refusal(c.call('ReKey', [uid(secret)]))).reason, 'InvalidObjectType', 'Secret Data is not re-keyed');
  const key = await createKey(c, [integer(Tag.CryptographicUsageMask, U.Encrypt), name('rekey-refusals')]);
  const both = await refusal(c.call('ReKey', [uid(key), item(Tag.Offset, 'Interval', 10), structure(Tag.Attributes, [date(Tag.ActivationDate, now())])]));
  t.equal(both.reason, 'InvalidMessage', 'an Offset with an Activation Date is refused');
  const length = await refusal(c.call('ReKey', [uid(key), structure(Tag.Attributes, [integer(Tag.CryptographicLength, 256)])]));
  t.equal(length.reason, 'InvalidAttributeValue', 'a replacement of another length is refused');
  // Ask for the storage this server does not use (the keyring decides: software file or HSM).
  const ours = (await attributesOf(c, key)).need(Tag.ProtectionStorageMask, 'Integer');
  const elsewhere = ours === Mask.ProtectionStorageMask.Software ? Mask.ProtectionStorageMask.Hardware : Mask.ProtectionStorageMask.Software;
  const masks = await refusal(c.call('ReKey', [uid(key), structure(Tag.ProtectionStorageMasks, [integer(Tag.ProtectionStorageMask, elsewhere)])]));
  t.equal(masks.reason, 'ProtectionStorageUnavailable', 'a Protection Storage Mask the server cannot honour');
  t.equal((await refusal(c.call('ReKey', [uid('no-such-key')]))).reason, 'ObjectNotFound');
  const other = await env.connect(V21, env.other);
  t.equal((await refusal(other.call('ReKey', [uid(key)]))).reason, 'ObjectNotFound', "another client's key is not found");
  await other.close();
  await c.call('Destroy', [uid(key)]);
  t.equal((await refusal(c.call('ReKey', [uid(key)]))).reason, 'WrongKeyLifecycleState', 'a destroyed key is not re-keyed');
  const attrs = await attributesOf(c, key);
  t.same(links(attrs, Enum.LinkType.ReplacementObjectLink), [], 'no replacement link after the refusals');
  t.equal(attrs.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'rekey-refusals', 'the Name stayed');
  await c.close();
});

t.test('1.4 Re-key with an Offset and a Template-Attribute; 1.x refusal reasons', async (t) => {
  const c = await env.connect(V14);
  const created = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.TemplateAttribute, [
      v1Attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.AES)),
      v1Attr('Cryptographic Length', integer(0, 192)),
      v1Attr('Cryptographic Usage Mask', integer(0, U.Encrypt)),
      v1Attr('Name', name('rekey-v14')),
    ]),
  ]);
  const oldId = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const rekeyed = await c.call('ReKey', [uid(oldId), item(Tag.Offset, 'Interval', 0), structure(Tag.TemplateAttribute, [v1Attr('x-purpose', text(0, 'rotation'))])]);
  const newId = rekeyed.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const c21 = await env.connect(V21);
  const fresh = await attributesOf(c21, newId);
  t.equal(fresh.need(Tag.ActivationDate, 'DateTime'), fresh.need(Tag.InitialDate, 'DateTime'), 'Offset 0: active from its Initial Date');
  t.equal(fresh.need(Tag.State, 'Enumeration'), Enum.State.Active);
  t.equal(fresh.need(Tag.CryptographicLength, 'Integer'), 192);
  t.equal(fresh.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'rekey-v14');
  t.same(links(fresh, Enum.LinkType.ReplacedObjectLink), [oldId]);
  t.equal((await materialOf(c, newId)).length, 24);
  await c21.close();

  const secret = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
    structure(Tag.TemplateAttribute, [v1Attr('Cryptographic Usage Mask', integer(0, U.DeriveKey))]),
    structure(Tag.SecretData, [enumeration(Tag.SecretDataType, Enum.SecretDataType.Password), structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, randomBytes(8))])])]),
  ]);
  const secretId = secret.payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.equal((await refusal(c.call('ReKey', [uid(secretId)]))).reason, 'PermissionDenied', '1.4 §11.5: not able to be re-keyed');
  t.equal((await refusal(c.call('ReKey', [uid('no-such-key')]))).reason, 'ItemNotFound');
  await c.close();
});

t.test('2.1 Derive Key PBKDF2 from a password registered as Secret Data matches RFC 6070', async (t) => {
  const c = await env.connect(V21);
  const password = await registerActive(c, 'SecretData', Buffer.from('password'), U.DeriveKey);
  const params = [hashParams(Enum.HashingAlgorithm.SHA_1), bytes(Tag.Salt, Buffer.from('salt')), integer(Tag.IterationCount, 4096)];
  const derived = await c.call('DeriveKey', derivePayload('SecretData', [password], Enum.DerivationMethod.PBKDF2, params, [...secretOf(160), name('pbkdf2-secret')]));
  const id = derived.payload!.need(Tag.UniqueIdentifier, 'TextString');
  // RFC 6070 §2: P = "password", S = "salt", c = 4096, dkLen = 20.
  t.equal((await materialOf(c, id)).toString('hex'), '4b007901b765489abead49d926f721d065a429c1', 'the RFC 6070 vector');

  const aes = await c.call('DeriveKey', derivePayload('SymmetricKey', [password], Enum.DerivationMethod.PBKDF2, [hashParams(Enum.HashingAlgorithm.SHA_256), bytes(Tag.Salt, Buffer.from('NaCl')), integer(Tag.IterationCount, 1000)], aesOf(256)));
  const aesId = aes.payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.same(await materialOf(c, aesId), pbkdf2Sync('password', 'NaCl', 1000, 32, 'sha256'), 'PBKDF2-HMAC-SHA256 as node:crypto computes it');

  const attrs = await attributesOf(c, aesId);
  t.equal(attrs.need(Tag.ObjectType, 'Enumeration'), Enum.ObjectType.SymmetricKey);
  t.equal(attrs.need(Tag.CryptographicLength, 'Integer'), 256);
  t.same(links(attrs, Enum.LinkType.DerivationBaseObjectLink), [password], 'derived → Derivation Base Object link');
  t.same(Buffer.from(attrs.needStruct(Tag.Digest).need(Tag.DigestValue, 'ByteString')), createHash('sha256').update(await materialOf(c, aesId)).digest(), 'Digest of the derived key bytes');
  t.same(links(await attributesOf(c, password), Enum.LinkType.DerivedKeyLink).sort(), [id, aesId].sort(), 'base → Derived Key links');
  await c.close();
});

t.test('2.1 Derive Key HKDF matches RFC 5869 test case 1; HMAC, HASH and ENCRYPT match node:crypto', async (t) => {
  const c = await env.connect(V21);
  const ikm = await registerActive(c, 'SecretData', Buffer.alloc(22, 0x0b), U.DeriveKey);
  const hkdf = await c.call(
    'DeriveKey',
    derivePayload('SecretData', [ikm], Enum.DerivationMethod.HKDF, [bytes(Tag.Salt, '000102030405060708090a0b0c'), bytes(Tag.DerivationData, 'f0f1f2f3f4f5f6f7f8f9')], secretOf(42 * 8)),
  );
  t.equal(
    (await materialOf(c, hkdf.payload!.need(Tag.UniqueIdentifier, 'TextString'))).toString('hex'),
    '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
    'RFC 5869 A.1 OKM (SHA-256 by default)',
  );

  const hmacKey = randomBytes(32);
  const hmacId = await registerActive(c, 'SymmetricKey', hmacKey, U.DeriveKey, Enum.CryptographicAlgorithm.HMAC_SHA256);
  const data = randomBytes(40);
  const hmac = await c.call('DeriveKey', derivePayload('SymmetricKey', [hmacId], Enum.DerivationMethod.HMAC, [bytes(Tag.DerivationData, data)], aesOf(256)));
  t.same(await materialOf(c, hmac.payload!.need(Tag.UniqueIdentifier, 'TextString')), createHmac('sha256', hmacKey).update(data).digest(), 'HMAC-SHA256 from the key’s algorithm');

  const hashed = await c.call('DeriveKey', derivePayload('SymmetricKey', [hmacId], Enum.DerivationMethod.HASH, [hashParams(Enum.HashingAlgorithm.SHA_512)], aesOf(128)));
  t.same(await materialOf(c, hashed.payload!.need(Tag.UniqueIdentifier, 'TextString')), createHash('sha512').update(hmacKey).digest().subarray(0, 16), 'SHA-512 of the key, cut to 128 bits');

  const aesKey = randomBytes(32);
  const aesId = await registerActive(c, 'SymmetricKey', aesKey, U.DeriveKey | U.Encrypt);
  const iv = randomBytes(16);
  const block = randomBytes(32);
  const encrypted = await c.call(
    'DeriveKey',
    derivePayload('SymmetricKey', [aesId], Enum.DerivationMethod.ENCRYPT, [structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.CBC)]), bytes(Tag.InitializationVector, iv), bytes(Tag.DerivationData, block)], aesOf(256)),
  );
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv).setAutoPadding(false);
  t.same(await materialOf(c, encrypted.payload!.need(Tag.UniqueIdentifier, 'TextString')), Buffer.concat([cipher.update(block), cipher.final()]), 'AES-256-CBC of the Derivation Data');

  // The Derivation Data may come from a second base object, a Secret Data (2.1 §7.12).
  const info = randomBytes(12);
  const dataId = await registerActive(c, 'SecretData', info, U.DeriveKey);
  const viaObject = await c.call('DeriveKey', derivePayload('SymmetricKey', [hmacId, dataId], Enum.DerivationMethod.HMAC, [], aesOf(128)));
  t.same(await materialOf(c, viaObject.payload!.need(Tag.UniqueIdentifier, 'TextString')), createHmac('sha256', hmacKey).update(info).digest().subarray(0, 16), 'Derivation Data from a Secret Data object');
  await c.close();
});

t.test('Derive Key refusals leave the base objects unchanged', async (t) => {
  const c = await env.connect(V21);
  const noBit = await registerActive(c, 'SymmetricKey', randomBytes(16), U.Encrypt);
  const pbkdf2 = [bytes(Tag.Salt, Buffer.from('salt')), integer(Tag.IterationCount, 2)];
  t.equal((await refusal(c.call('DeriveKey', derivePayload('SymmetricKey', [noBit], Enum.DerivationMethod.PBKDF2, pbkdf2, aesOf(128))))).reason, 'IncompatibleCryptographicUsageMask', 'no Derive Key bit');
  t.same(links(await attributesOf(c, noBit), Enum.LinkType.DerivedKeyLink), [], 'no Derived Key link after a refusal');

  const base = await registerActive(c, 'SymmetricKey', randomBytes(32), U.DeriveKey, Enum.CryptographicAlgorithm.HMAC_SHA256);
  const tooLong = await refusal(c.call('DeriveKey', derivePayload('SecretData', [base], Enum.DerivationMethod.HMAC, [bytes(Tag.DerivationData, '00')], secretOf(512))));
  t.equal(tooLong.reason, 'CryptographicFailure', 'more bits than HMAC-SHA256 gives');
  const data = await registerActive(c, 'SecretData', randomBytes(8), U.DeriveKey);
  const ambiguous = await refusal(c.call('DeriveKey', derivePayload('SecretData', [base, data], Enum.DerivationMethod.HMAC, [bytes(Tag.DerivationData, '00')], secretOf(128))));
  t.equal(ambiguous.reason, 'InvalidMessage', 'Derivation Data both given and from a Secret Data object');
  const nist = await refusal(c.call('DeriveKey', derivePayload('SecretData', [base], Enum.DerivationMethod.NIST800_108_C, [bytes(Tag.DerivationData, '00')], secretOf(128))));
  t.equal(nist.reason, 'FeatureNotSupported', 'SP 800-108 is not implemented');
  const noLength = await refusal(c.call('DeriveKey', derivePayload('SymmetricKey', [base], Enum.DerivationMethod.HMAC, [bytes(Tag.DerivationData, '00')], [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES)])));
  t.equal(noLength.reason, 'InvalidField', 'no Cryptographic Length');
  const badAes = await refusal(c.call('DeriveKey', derivePayload('SymmetricKey', [base], Enum.DerivationMethod.HMAC, [bytes(Tag.DerivationData, '00')], aesOf(160))));
  t.equal(badAes.reason, 'InvalidAttributeValue', 'a 160-bit AES key');
  const huge = await refusal(c.call('DeriveKey', derivePayload('SecretData', [base], Enum.DerivationMethod.PBKDF2, pbkdf2, secretOf(8200))));
  t.equal(huge.reason, 'InvalidAttributeValue', 'more than the 8192-bit bound');
  const noHash = await refusal(c.call('DeriveKey', derivePayload('SymmetricKey', [base], Enum.DerivationMethod.HASH, [], aesOf(128))));
  t.equal(noHash.reason, 'BadCryptographicParameters', 'HASH without a Hashing Algorithm');
  const noSalt = await refusal(c.call('DeriveKey', derivePayload('SymmetricKey', [base], Enum.DerivationMethod.PBKDF2, [integer(Tag.IterationCount, 2)], aesOf(128))));
  t.equal(noSalt.reason, 'BadCryptographicParameters', 'PBKDF2 without a Salt');
  const noUid = await refusal(c.call('DeriveKey', derivePayload('SymmetricKey', [], Enum.DerivationMethod.HMAC, [bytes(Tag.DerivationData, '00')], aesOf(128))));
  t.equal(noUid.reason, 'InvalidMessage', 'no base object (the ID Placeholder is not used)');

  const preActive = await createKey(c, [integer(Tag.CryptographicUsageMask, U.DeriveKey)]);
  const state = await refusal(c.call('DeriveKey', derivePayload('SymmetricKey', [preActive], Enum.DerivationMethod.PBKDF2, pbkdf2, aesOf(128))));
  t.equal(state.reason, 'WrongKeyLifecycleState', 'a Pre-Active base object');
  const other = await env.connect(V21, env.other);
  t.equal((await refusal(other.call('DeriveKey', derivePayload('SymmetricKey', [base], Enum.DerivationMethod.PBKDF2, pbkdf2, aesOf(128))))).reason, 'ObjectNotFound', "another client's key");
  await other.close();
  t.same(links(await attributesOf(c, base), Enum.LinkType.DerivedKeyLink), [], 'the base object has no Derived Key link');
  const opaque = await refusal(c.call('DeriveKey', [...derivePayload('SymmetricKey', [base], Enum.DerivationMethod.PBKDF2, pbkdf2, aesOf(128))].map((i) => (i.tag === Tag.ObjectType ? enumeration(Tag.ObjectType, Enum.ObjectType.OpaqueObject) : i))));
  t.equal(opaque.reason, 'InvalidObjectType', 'an Opaque Object is not derived');
  await c.close();
});

t.test('1.4 Derive Key PBKDF2 with a Template-Attribute; 1.x refusal reasons', async (t) => {
  const c = await env.connect(V14);
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
    structure(Tag.TemplateAttribute, [v1Attr('Cryptographic Usage Mask', integer(0, U.DeriveKey)), v1Attr('Activation Date', date(0, now() - 10))]),
    structure(Tag.SecretData, [enumeration(Tag.SecretDataType, Enum.SecretDataType.Password), structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, Buffer.from('passwordPASSWORDpassword'))])])]),
  ]);
  const password = reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const template = (bits: number): Item =>
    structure(Tag.TemplateAttribute, [v1Attr('Cryptographic Length', integer(0, bits)), v1Attr('Name', name(`v14-derived-${bits}`))]);
  const params = structure(Tag.DerivationParameters, [hashParams(Enum.HashingAlgorithm.SHA_1), bytes(Tag.Salt, Buffer.from('saltSALTsaltSALTsaltSALTsaltSALTsalt')), integer(Tag.IterationCount, 4096)]);
  const derived = await c.call('DeriveKey', [enumeration(Tag.ObjectType, Enum.ObjectType.SecretData), uid(password), enumeration(Tag.DerivationMethod, Enum.DerivationMethod.PBKDF2), params, template(200)]);
  // RFC 6070 §2, the fifth vector: dkLen = 25.
  t.equal((await materialOf(c, derived.payload!.need(Tag.UniqueIdentifier, 'TextString'))).toString('hex'), '3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038');

  const noBit = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
    structure(Tag.TemplateAttribute, [v1Attr('Cryptographic Usage Mask', integer(0, U.Encrypt)), v1Attr('Activation Date', date(0, now() - 10))]),
    structure(Tag.SecretData, [enumeration(Tag.SecretDataType, Enum.SecretDataType.Password), structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [bytes(Tag.KeyMaterial, randomBytes(8))])])]),
  ]);
  const refused = await refusal(c.call('DeriveKey', [enumeration(Tag.ObjectType, Enum.ObjectType.SecretData), uid(noBit.payload!.need(Tag.UniqueIdentifier, 'TextString')), enumeration(Tag.DerivationMethod, Enum.DerivationMethod.PBKDF2), params, template(128)]));
  t.equal(refused.reason, 'InvalidField', '1.4 §11.7: not able to be used to derive a new key');
  const taken = await refusal(c.call('DeriveKey', [enumeration(Tag.ObjectType, Enum.ObjectType.SecretData), uid(password), enumeration(Tag.DerivationMethod, Enum.DerivationMethod.PBKDF2), params, template(200)]));
  t.equal(taken.reason, 'InvalidField', '1.4 §11.7: a Name already in use');
  await c.close();
});

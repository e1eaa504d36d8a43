/**
 * Export and Import end to end between two real kmipd servers over mutual TLS, in KMIP 2.1 and 1.4
 * form: a key leaves server A wrapped under a key-encryption key both servers hold and arrives on
 * server B with its identifier and attributes, where Get gives the original bytes; Import of a plain
 * key with the exporting server's attributes; Replace Existing; the refusals with their Result
 * Reasons; and the imported plaintext never reaches B's SQLite file.
 */
import { constants, createCipheriv, createHash, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { KmipClient } from '../../src/client/client.js';
import type { Fields } from '../../src/kmip/fields.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { type Item, encode, item, structure } from '../../src/ttlv/index.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

let a: TestKmipd;
let b: TestKmipd;
t.before(async () => {
  a = await startTestKmipd('kmipd-export-', 'export-someone-else');
  b = await startTestKmipd('kmipd-import-', 'import-someone-else');
});
t.teardown(async () => {
  await a.close();
  await b.close();
});

const { WrapKey, UnwrapKey, Encrypt, Decrypt } = Mask.CryptographicUsageMask;
const AES = Enum.CryptographicAlgorithm.AES;
/** Key bytes imported into B: none may appear in B's database files. */
const importedPlaintexts: Buffer[] = [];


function aesAttributes(bits: number, mask: number, ...more: Item[]): Item[] {
  return [enumeration(Tag.CryptographicAlgorithm, AES), integer(Tag.CryptographicLength, bits), integer(Tag.CryptographicUsageMask, mask), ...more];
}

/** An Active AES-256 key-encryption key with these bytes, registered (2.1) on a server, with or without Cryptographic Parameters. */
async function registerKek(c: KmipClient, material: Buffer, withParameters: boolean): Promise<string> {
  const params = withParameters ? [structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.NISTKeyWrap)])] : [];
  const registered = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, aesAttributes(256, WrapKey | UnwrapKey, ...params)), aesKey(material)]);
  const id = registered.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  return id;
}

async function plainKey(c: KmipClient, id: string): Promise<Buffer> {
  const got = await c.call('Get', [uid(id)]);
  return Buffer.from(got.payload!.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));
}

async function attributesOf(c: KmipClient, id: string): Promise<Fields> {
  const got = await c.call('GetAttributes', [uid(id)]);
  return got.payload!.needStruct(Tag.Attributes);
}

function wrappingSpec(kek: string): Item {
  return structure(Tag.KeyWrappingSpecification, [
    enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
    structure(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, kek)]),
  ]);
}

/** `it` with the children of tag `tag` replaced by `fn` of them (for rewriting nested structures). */
function swap(it: Item, tag: number, fn: (c: Item) => Item): Item {
  return it.type === 'Structure' ? { ...it, value: it.value.map((c) => (c.tag === tag ? fn(c) : c)) } : it;
}

/** The wrapped object as server B must see it: its Key Wrapping Data naming B's copy of the KEK. */
function rewrapFor(object: Item, kek: string): Item {
  return swap(object, Tag.KeyBlock, (block) => swap(block, Tag.KeyWrappingData, (data) => swap(data, Tag.EncryptionKeyInformation, (info) => swap(info, Tag.UniqueIdentifier, () => uid(kek)))));
}

function wrappedBytesOf(object: Item): Uint8Array {
  const block = object.type === 'Structure' ? object.value.find((c) => c.tag === Tag.KeyBlock) : undefined;
  const value = block?.type === 'Structure' ? block.value.find((c) => c.tag === Tag.KeyValue) : undefined;
  if (value?.type !== 'ByteString') throw new Error('not a wrapped key block');
  return value.value;
}

/** The object with one byte of its wrapped Key Value flipped. */
function tampered(object: Item): Item {
  return swap(object, Tag.KeyBlock, (block) =>
    swap(block, Tag.KeyValue, (value) => {
      const bytes = Buffer.from(wrappedBytesOf(object));
      bytes[5]! ^= 0x01;
      return { ...value, type: 'ByteString', value: bytes } as Item;
    }),
  );
}

const wrapType = (value: number): Item => enumeration(Tag.KeyWrapType, value);
const v = (version: ProtocolVersion): string => `${version.major}.${version.minor}`;

/** Two servers holding the same KEK bytes under their own identifiers, and a data key on A wrapped under it. */
async function wrappedExport(version: ProtocolVersion, label: string): Promise<{ plain: Buffer; id: string; kekB: string; exported: Fields; object: Item }> {
  const kekBytes = randomBytes(32);
  const ca = await a.connect(V21);
  const cb = await b.connect(V21);
  const kekA = await registerKek(ca, kekBytes, true);
  // B's copy has no Cryptographic Parameters: the Key Wrapping Data's own say how to unwrap (2.1 §3.3).
  const kekB = await registerKek(cb, kekBytes, false);
  const created = await ca.call('Create', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, aesAttributes(256, Encrypt | Decrypt, name(label)))]);
  const id = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const plain = await plainKey(ca, id);
  const cv = await a.connect(version);
  const answer = await cv.call('Export', [uid(id), wrappingSpec(kekA)]);
  await Promise.all([ca.close(), cb.close(), cv.close()]);
  const exported = answer.payload!;
  const object = exported.required(Tag.SymmetricKey);
  return { plain, id, kekB, exported, object: rewrapFor(object, kekB) };
}

for (const version of [V21, V14]) {
  t.test(`${v(version)}: a key exported wrapped under a KEK imports on a second server, where Get returns the original key`, async (t) => {
    const label = `moved-key-${v(version)}`;
    const { plain, id, exported, object } = await wrappedExport(version, label);
    importedPlaintexts.push(plain);

    t.equal(exported.need(Tag.ObjectType, 'Enumeration'), Enum.ObjectType.SymmetricKey);
    t.equal(exported.need(Tag.UniqueIdentifier, 'TextString'), id);
    t.notOk(Buffer.from(encode(exported.item)).includes(plain), 'the key bytes are not in the Export answer');
    const block = exported.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock);
    t.ok(block.has(Tag.KeyWrappingData), 'the key block is wrapped');
    let attributes: Item[];
    if (version.major >= 2) {
      attributes = exported.needStruct(Tag.Attributes).item.value;
      t.equal(exported.needStruct(Tag.Attributes).struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), label, 'Export carries the attributes');
    } else {
      attributes = exported.all(Tag.Attribute);
      const names = attributes.map((at) => (at.type === 'Structure' ? at.value.find((c) => c.tag === Tag.AttributeName)?.value : undefined));
      t.ok(names.includes('Name') && names.includes('Unique Identifier') && names.includes('Initial Date'), '1.4 Export carries Attribute structures');
    }

    const cv = await b.connect(version);
    const payload = [uid(id), ...(version.major >= 2 ? [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey)] : []), wrapType(Enum.KeyWrapType.NotWrapped)];
    const imported = await cv.call('Import', [...payload, ...(version.major >= 2 ? [structure(Tag.Attributes, attributes)] : attributes), object]);
    t.equal(imported.payload!.need(Tag.UniqueIdentifier, 'TextString'), id, 'Import answers the same Unique Identifier');
    await cv.close();

    const cb = await b.connect(V21);
    t.same(await plainKey(cb, id), plain, 'Get on the second server returns the original key bytes');
    const onA = await a.connect(V21);
    const before = await attributesOf(onA, id);
    const after = await attributesOf(cb, id);
    t.equal(after.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), label, 'the Name came along');
    t.equal(after.get(Tag.InitialDate, 'DateTime'), before.get(Tag.InitialDate, 'DateTime'), "the exporting server's Initial Date is kept (2.1 §6.1.25)");
    t.same(after.struct(Tag.Digest)?.need(Tag.DigestValue, 'ByteString'), before.struct(Tag.Digest)?.need(Tag.DigestValue, 'ByteString'), 'and its Digest');
    t.equal(after.get(Tag.State, 'Enumeration'), before.get(Tag.State, 'Enumeration'), 'and its State');
    await Promise.all([cb.close(), onA.close()]);
  });
}

/** A Raw AES-256 key block wrapped by the client (No Encoding: the key bytes alone) under `kek` with these parameters. */
function clientWrapped(wrapped: Uint8Array, kek: string, params: Item): Item {
  return structure(Tag.SymmetricKey, [
    structure(Tag.KeyBlock, [
      enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw),
      item(Tag.KeyValue, 'ByteString', wrapped),
      enumeration(Tag.CryptographicAlgorithm, AES),
      integer(Tag.CryptographicLength, 256),
      structure(Tag.KeyWrappingData, [
        enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt),
        structure(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, kek), params]),
        enumeration(Tag.EncodingOption, Enum.EncodingOption.NoEncoding),
      ]),
    ]),
  ]);
}

t.test('2.1: bring your own key — Import of a key the client wrapped with AES-KWP or RSA-OAEP (SHA-256) under a server key', async (t) => {
  const c = await b.connect(V21);
  const kekBytes = randomBytes(32);
  const kek = await registerKek(c, kekBytes, false);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const registered = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.PrivateKey),
    structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, UnwrapKey)]),
    structure(Tag.PrivateKey, [
      structure(Tag.KeyBlock, [
        enumeration(Tag.KeyFormatType, Enum.KeyFormatType.PKCS_8),
        structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', rsa.privateKey.export({ format: 'der', type: 'pkcs8' }))]),
        enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.RSA),
        integer(Tag.CryptographicLength, 2048),
      ]),
    ]),
  ]);
  const priv = registered.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(priv)]);

  const kwpKey = randomBytes(32);
  const cipher = createCipheriv('id-aes256-wrap-pad', kekBytes, Buffer.from('A65959A6', 'hex'));
  const kwp = Buffer.concat([cipher.update(kwpKey), cipher.final()]);
  const kwpParams = structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.AESKeyWrapPadding)]);
  const oaepKey = randomBytes(32);
  const oaep = publicEncrypt({ key: rsa.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, oaepKey);
  const oaepParams = structure(Tag.CryptographicParameters, [
    enumeration(Tag.PaddingMethod, Enum.PaddingMethod.OAEP),
    enumeration(Tag.HashingAlgorithm, Enum.HashingAlgorithm.SHA_256),
    enumeration(Tag.MaskGeneratorHashingAlgorithm, Enum.HashingAlgorithm.SHA_256),
  ]);
  for (const [label, plain, object] of [
    ['AES-KWP (RFC 5649)', kwpKey, clientWrapped(kwp, kek, kwpParams)],
    ['RSA-OAEP with SHA-256', oaepKey, clientWrapped(oaep, priv, oaepParams)],
  ] as const) {
    importedPlaintexts.push(plain);
    const id = `byok-wrapped-${randomBytes(4).toString('hex')}`;
    await c.call('Import', [uid(id), enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), wrapType(Enum.KeyWrapType.NotWrapped), structure(Tag.Attributes, aesAttributes(256, Encrypt | Decrypt)), object]);
    t.same(await plainKey(c, id), plain, `a key wrapped with ${label} is stored as the original`);
  }
  const wrongMode = await refusal(
    c.call('Import', [uid('byok-wrong-mode'), enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), wrapType(Enum.KeyWrapType.NotWrapped), structure(Tag.Attributes, []), clientWrapped(kwp, kek, structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.NISTKeyWrap)]))]),
  );
  t.equal(wrongMode.reason, 'CryptographicFailure', 'wrapping data that names the wrong mode fails the integrity check');
  await c.close();
});

function plainImport(id: string, material: Buffer, ...more: Item[]): Item[] {
  return [
    uid(id),
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, aesAttributes(material.length * 8, Encrypt | Decrypt, ...more)),
    aesKey(material),
  ];
}

t.test('2.1: Import of a plain key keeps its identifier and the supplied server-set attributes; Replace Existing replaces it', async (t) => {
  const c = await b.connect(V21);
  const id = `byok-${randomBytes(6).toString('hex')}`;
  const first = randomBytes(16);
  importedPlaintexts.push(first);
  const initial = 1_600_000_000;
  const answer = await c.call('Import', plainImport(id, first, name(`${id}-name`), enumeration(Tag.State, Enum.State.Active), item(Tag.ActivationDate, 'DateTime', initial), item(Tag.InitialDate, 'DateTime', initial)));
  t.equal(answer.payload!.need(Tag.UniqueIdentifier, 'TextString'), id);
  t.same(await plainKey(c, id), first, 'Get returns the imported bytes');
  const attrs = await attributesOf(c, id);
  t.equal(attrs.get(Tag.State, 'Enumeration'), Enum.State.Active, 'the State given is the State held');
  t.equal(attrs.get(Tag.InitialDate, 'DateTime'), initial, 'a server-set attribute given is kept, not regenerated');
  t.same(Buffer.from(attrs.struct(Tag.Digest)!.need(Tag.DigestValue, 'ByteString')), createHash('sha256').update(first).digest(), 'a missing Digest is computed by the server');
  t.equal(attrs.get(Tag.UniqueIdentifier, 'TextString'), id);

  const again = await refusal(c.call('Import', plainImport(id, randomBytes(16))));
  t.equal(again.reason, 'ObjectAlreadyExists', 'an existing Unique Identifier without Replace Existing is refused');
  const off = await refusal(c.call('Import', [...plainImport(id, randomBytes(16)).slice(0, 2), item(Tag.ReplaceExisting, 'Boolean', false), ...plainImport(id, randomBytes(16)).slice(2)]));
  t.equal(off.reason, 'ObjectAlreadyExists', 'and so with Replace Existing false');
  t.same(await plainKey(c, id), first, 'the first key survives the refusals');

  const second = randomBytes(32);
  importedPlaintexts.push(second);
  const replaced = await c.call('Import', [...plainImport(id, second).slice(0, 2), item(Tag.ReplaceExisting, 'Boolean', true), ...plainImport(id, second).slice(2)]);
  t.equal(replaced.payload!.need(Tag.UniqueIdentifier, 'TextString'), id);
  t.same(await plainKey(c, id), second, 'Replace Existing replaces the key');
  const now = await attributesOf(c, id);
  t.equal(now.get(Tag.CryptographicLength, 'Integer'), 256, 'and its attributes');
  t.notOk(now.has(Tag.Name), 'the old Name is gone with the old object');
  await c.close();
});

t.test('2.1: Replace Existing of a key kept in the HSM replaces it with the imported one', async (t) => {
  const c = await b.connect(V21);
  const created = await c.call('Create', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, aesAttributes(256, Encrypt | Decrypt, item(Tag.Extractable, 'Boolean', false)))]);
  const id = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.equal((await refusal(c.call('Get', [uid(id)]))).reason, 'NotExtractable', 'the HSM-resident key cannot be read');
  const replacement = randomBytes(32);
  importedPlaintexts.push(replacement);
  await c.call('Import', [...plainImport(id, replacement).slice(0, 2), item(Tag.ReplaceExisting, 'Boolean', true), ...plainImport(id, replacement).slice(2)]);
  t.same(await plainKey(c, id), replacement, 'the identifier now holds the imported key');
  await c.close();
});

t.test('2.1: Import refusals leave nothing behind', async (t) => {
  const { id, object, plain } = await wrappedExport(V21, 'refusal-source');
  importedPlaintexts.push(plain);
  const wrappedImport = (obj: Item, ...extra: Item[]): Item[] => [uid(id), enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), ...extra, structure(Tag.Attributes, []), obj];
  const owner = await b.connect(V21);
  const other = await b.connect(V21, b.other);

  const foreign = await refusal(other.call('Import', wrappedImport(object, wrapType(Enum.KeyWrapType.NotWrapped))));
  t.equal(foreign.reason, 'ObjectNotFound', "a key wrapped under another owner's KEK cannot be unwrapped by this caller");
  const bad = await refusal(owner.call('Import', wrappedImport(tampered(object), wrapType(Enum.KeyWrapType.NotWrapped))));
  t.equal(bad.reason, 'CryptographicFailure', 'a wrapped key that fails its integrity check is refused');
  const unsaid = await refusal(owner.call('Import', wrappedImport(object)));
  t.equal(unsaid.reason, 'InvalidField', 'a wrapped object needs its Key Wrap Type');
  const asIs = await refusal(owner.call('Import', wrappedImport(object, wrapType(Enum.KeyWrapType.AsRegistered))));
  t.equal(asIs.reason, 'KeyWrapTypeNotSupported', 'kmipd does not store keys wrapped');
  for (const c of [owner, other]) t.equal((await refusal(c.call('GetAttributes', [uid(id)]))).reason, 'ObjectNotFound', 'no object was created');

  const taken = `taken-${randomBytes(4).toString('hex')}`;
  const mine = randomBytes(16);
  importedPlaintexts.push(mine);
  await owner.call('Import', plainImport(taken, mine));
  const stolen = await refusal(other.call('Import', [...plainImport(taken, randomBytes(16)).slice(0, 2), item(Tag.ReplaceExisting, 'Boolean', true), ...plainImport(taken, randomBytes(16)).slice(2)]));
  t.equal(stolen.reason, 'ObjectAlreadyExists', "another owner's identifier cannot be replaced");
  t.same(await plainKey(owner, taken), mine, 'and its object is untouched');

  const fresh = (): string => `attr-${randomBytes(4).toString('hex')}`;
  const length = await refusal(owner.call('Import', [uid(fresh()), enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, aesAttributes(128, Encrypt)), aesKey(randomBytes(32))]));
  t.equal(length.reason, 'InvalidAttributeValue', 'a Cryptographic Length the key bytes contradict is refused');
  const twice = await refusal(owner.call('Import', plainImport(fresh(), randomBytes(16), name('n1'), enumeration(Tag.State, Enum.State.Active), enumeration(Tag.State, Enum.State.PreActive))));
  t.equal(twice.reason, 'AttributeSingleValued', 'a single-instance attribute given twice is refused');
  const typed = await refusal(owner.call('Import', plainImport(fresh(), randomBytes(16), enumeration(Tag.ObjectType, Enum.ObjectType.SecretData))));
  t.equal(typed.reason, 'InvalidAttributeValue', 'an Object Type attribute that is not the object is refused');
  const otherUid = await refusal(owner.call('Import', plainImport(fresh(), randomBytes(16), text(Tag.UniqueIdentifier, 'not-this-one'))));
  t.equal(otherUid.reason, 'InvalidAttributeValue', 'a Unique Identifier attribute that is not the imported one is refused');
  const unknown = await refusal(owner.call('Import', plainImport(fresh(), randomBytes(16), item(Tag.CertificateLength, 'Integer', 5))));
  t.equal(unknown.reason, 'InvalidAttribute', 'an attribute that does not apply to a Symmetric Key is refused');
  const hsmRef = structure(Tag.Attribute, [text(Tag.VendorIdentification, 'y'), text(Tag.AttributeName, 'kmipd-hsm-key'), text(Tag.AttributeValue, 'someone-elses-hsm-key')]);
  const resident = await refusal(owner.call('Import', plainImport(fresh(), randomBytes(16), hsmRef)));
  t.equal(resident.reason, 'AttributeReadOnly', "the server's own HSM key reference cannot be imported");
  const mismatch = await refusal(owner.call('Import', [uid(fresh()), enumeration(Tag.ObjectType, Enum.ObjectType.SecretData), structure(Tag.Attributes, []), aesKey(randomBytes(16))]));
  t.equal(mismatch.reason, 'InvalidField', 'an Object Type that is not the object carried is refused');
  await Promise.all([owner.close(), other.close()]);
});

for (const version of [V21, V14]) {
  t.test(`${v(version)}: Export refuses a destroyed, non-extractable, sensitive or foreign object`, async (t) => {
    const c = await a.connect(version);
    const c21 = await a.connect(V21);
    const make = async (...more: Item[]): Promise<string> => {
      const created = await c21.call('Create', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, aesAttributes(128, Encrypt, ...more))]);
      return created.payload!.need(Tag.UniqueIdentifier, 'TextString');
    };
    const destroyed = await make();
    await c21.call('Destroy', [uid(destroyed)]);
    t.equal((await refusal(c.call('Export', [uid(destroyed)]))).reason, version.major >= 2 ? 'ObjectDestroyed' : 'ItemNotFound', 'a destroyed object has no key material to export');
    const locked = await make(item(Tag.Extractable, 'Boolean', false));
    t.equal((await refusal(c.call('Export', [uid(locked)]))).reason, 'NotExtractable', 'a non-extractable key never leaves');
    const sensitive = await make(item(Tag.Sensitive, 'Boolean', true));
    t.equal((await refusal(c.call('Export', [uid(sensitive)]))).reason, 'Sensitive', 'a Sensitive key does not leave in plaintext');
    const plain = await make();
    const asRegistered = await refusal(c.call('Export', [uid(plain), wrapType(Enum.KeyWrapType.AsRegistered)]));
    t.equal(asRegistered.reason, version.major >= 2 ? 'KeyWrapTypeNotSupported' : 'FeatureNotSupported', 'Key Wrap Type As Registered is not offered');
    const other = await a.connect(version, a.other);
    t.equal((await refusal(other.call('Export', [uid(plain)]))).reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound', "another owner's object is not found");
    const ok = await c.call('Export', [uid(plain), wrapType(Enum.KeyWrapType.NotWrapped)]);
    t.ok(ok.payload!.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).has(Tag.KeyMaterial), 'a plain Export returns the key unwrapped');
    await Promise.all([c.close(), c21.close(), other.close()]);
  });
}

t.test('Query lists Export and Import in 2.1 and 1.4', async (t) => {
  for (const version of [V21, V14]) {
    const c = await b.connect(version);
    const q = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryOperations)]);
    const ops = q.payload!.values(Tag.Operation, 'Enumeration');
    t.ok(ops.includes(Enum.Operation.Export) && ops.includes(Enum.Operation.Import), `${v(version)} lists both`);
    await c.close();
  }
});

t.test("the imported plaintext is nowhere in the second server's SQLite files", async (t) => {
  t.ok(importedPlaintexts.length >= 5, 'the tests above imported keys');
  const files = ['kmipd.sqlite', 'kmipd.sqlite-wal'].map((f) => join(b.dir, f)).filter(existsSync);
  const all = Buffer.concat(files.map((f) => readFileSync(f)));
  t.ok(all.includes(Buffer.from('moved-key-2.1')), 'the scan sees stored data: an imported Name is there in clear');
  const found = importedPlaintexts.filter((k) => all.includes(k) || all.toString('latin1').includes(k.toString('hex')));
  t.equal(found.length, 0, 'no imported key bytes are stored unsealed');
});

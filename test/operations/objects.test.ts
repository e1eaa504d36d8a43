/**
 * The managed-object operations end to end: a data directory made by `kmipd init`, the server
 * started from its config (SQLite store, SoftHSM2 keyring), and KmipClient over real mutual TLS
 * in KMIP 2.1 and 1.4 form.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import sqlite3 from 'sqlite3';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';
import { type Credentials, type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-objects-', 'someone-else');
});
t.teardown(() => env.close());
const connect = (version = V21, who?: Credentials) => env.connect(version, who);


function registerPayload(label: string, material: Uint8Array): Item[] {
  return [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [name(label), integer(Tag.CryptographicUsageMask, 0x0c)]),
    aesKey(material),
  ];
}

function keyMaterialOf(payload: { struct(tag: number): { needStruct(tag: number): { needStruct(tag: number): { need(tag: number, type: 'ByteString'): Uint8Array } } } | undefined }): Uint8Array {
  return payload.struct(Tag.SymmetricKey)!.needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
}

const material = randomBytes(32);
let registered = '';

t.test('2.1: Register → Locate → Get → Get Attributes → Activate → Destroy refused', async (t) => {
  const c = await connect();
  const reg = await c.call('Register', registerPayload('objects-test-key', material));
  registered = reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
  t.ok(registered, 'Register answers a Unique Identifier');

  const found = await c.call('Locate', [structure(Tag.Attributes, [name('objects-test-key')])]);
  t.same(found.payload!.values(Tag.UniqueIdentifier, 'TextString'), [registered], 'Locate by Name finds it');
  t.equal(found.payload!.get(Tag.LocatedItems, 'Integer'), 1);
  const byType = await c.call('Locate', [integer(Tag.MaximumItems, 1), structure(Tag.Attributes, [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), enumeration(Tag.State, Enum.State.PreActive)])]);
  t.same(byType.payload!.values(Tag.UniqueIdentifier, 'TextString'), [registered], 'Locate by Object Type and State, Maximum Items 1');

  const got = await c.call('Get', [uid(registered)]);
  t.equal(got.payload!.get(Tag.ObjectType, 'Enumeration'), Enum.ObjectType.SymmetricKey);
  t.same(Buffer.from(keyMaterialOf(got.payload!)), material, 'Get returns the registered key bytes');
  t.equal(got.payload!.struct(Tag.SymmetricKey)!.needStruct(Tag.KeyBlock).need(Tag.KeyFormatType, 'Enumeration'), Enum.KeyFormatType.Raw);

  const all = await c.call('GetAttributes', [uid(registered)]);
  const attrs = all.payload!.needStruct(Tag.Attributes);
  t.equal(attrs.get(Tag.State, 'Enumeration'), Enum.State.PreActive);
  t.equal(attrs.get(Tag.CryptographicLength, 'Integer'), 256);
  t.equal(attrs.struct(Tag.Name)?.need(Tag.NameValue, 'TextString'), 'objects-test-key');
  t.ok(attrs.has(Tag.Digest) && attrs.has(Tag.InitialDate) && attrs.has(Tag.UniqueIdentifier), 'server attributes are set');
  const some = await c.call('GetAttributes', [uid(registered), enumeration(Tag.AttributeReference, Tag.State), enumeration(Tag.AttributeReference, Tag.CryptographicAlgorithm)]);
  t.same(some.payload!.needStruct(Tag.Attributes).item.value.map((a) => a.tag).sort(), [Tag.CryptographicAlgorithm, Tag.State].sort(), 'only the referenced attributes');

  // Activate by ID Placeholder: Locate sets it for the next item of the batch.
  const batch = await c.request({
    items: [
      { operation: Enum.Operation.Locate, payload: [structure(Tag.Attributes, [name('objects-test-key')])] },
      { operation: Enum.Operation.Activate, payload: [] },
    ],
  });
  t.same(batch.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success], 'Activate through the ID Placeholder');
  const state = await c.call('GetAttributes', [uid(registered), enumeration(Tag.AttributeReference, Tag.State)]);
  t.equal(state.payload!.needStruct(Tag.Attributes).get(Tag.State, 'Enumeration'), Enum.State.Active);

  const refused = await refusal(c.call('Destroy', [uid(registered)]));
  t.equal(refused.reason, 'WrongKeyLifecycleState', 'Destroy of an Active object is refused');
  // Revoke is not implemented yet, so the Active key cannot be taken further here.

  const duplicate = await refusal(c.call('Register', registerPayload('objects-test-key', randomBytes(16))));
  t.equal(duplicate.reason, 'NonUniqueNameAttribute', 'a Name already in use is refused');
  await c.close();
});

t.test('2.1: Create an AES-256 key; Get returns 32 key bytes; Destroy erases a Pre-Active key', async (t) => {
  const c = await connect();
  const created = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 256), integer(Tag.CryptographicUsageMask, 0x0c), name('created-256')]),
  ]);
  const id = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const got = await c.call('Get', [uid(id)]);
  t.equal(keyMaterialOf(got.payload!).length, 32, '32 bytes of key');
  const bad = await refusal(
    c.call('Create', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 100)])]),
  );
  t.equal(bad.reason, 'InvalidAttributeValue', 'an AES length env.other than 128/192/256 is refused');

  await c.call('Destroy', [uid(id)]);
  const gone = await refusal(c.call('Get', [uid(id)]));
  t.equal(gone.reason, 'ObjectDestroyed', 'a destroyed key cannot be fetched');
  const state = await c.call('GetAttributes', [uid(id), enumeration(Tag.AttributeReference, Tag.State)]);
  t.equal(state.payload!.needStruct(Tag.Attributes).get(Tag.State, 'Enumeration'), Enum.State.Destroyed, 'the metadata stays');

  const query = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryObjects), enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryServerInformation)]);
  const v21Types = ['Certificate', 'SymmetricKey', 'PublicKey', 'PrivateKey', 'SplitKey', 'SecretData', 'OpaqueObject', 'PGPKey', 'CertificateRequest'] as const;
  t.same(query.payload!.values(Tag.ObjectType, 'Enumeration'), v21Types.map((n) => Enum.ObjectType[n]), 'Query → Objects: every 2.1 object type, no Template');
  // init chose the SoftHSM2 keyring: no development-only warning (test/keys/at-rest.test.ts checks the software one).
  t.notMatch(query.payload!.needStruct(Tag.ServerInformation).values(Tag.Description, 'TextString').join('\n'), /software keystore/);
  await c.close();
});

t.test('1.4: Create with a Template-Attribute, then Get Attributes by Attribute Name', async (t) => {
  const c = await connect(V14);
  const attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);
  const created = await c.call('Create', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    structure(Tag.TemplateAttribute, [
      attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.AES)),
      attr('Cryptographic Length', integer(0, 128)),
      attr('Cryptographic Usage Mask', integer(0, 0x0c)),
      attr('Name', name('v14-key')),
    ]),
  ]);
  const id = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const got = await c.call('Get', [uid(id)]);
  t.equal(keyMaterialOf(got.payload!).length, 16, '16 bytes of key');
  const attrs = await c.call('GetAttributes', [uid(id), text(Tag.AttributeName, 'Cryptographic Length'), text(Tag.AttributeName, 'State'), text(Tag.AttributeName, 'Name')]);
  const byName = new Map(attrs.payload!.all(Tag.Attribute).map((a) => [(a.value as Item[]).find((x) => x.tag === Tag.AttributeName)!.value, (a.value as Item[]).find((x) => x.tag === Tag.AttributeValue)!]));
  t.same([...byName.keys()].sort(), ['Cryptographic Length', 'Name', 'State']);
  t.equal(byName.get('Cryptographic Length')!.value, 128);
  t.equal(byName.get('State')!.value, Enum.State.PreActive);
  const located = await c.call('Locate', [attr('Name', name('v14-key'))]);
  t.same(located.payload!.values(Tag.UniqueIdentifier, 'TextString'), [id], '1.4 Locate by Name');
  const template = await refusal(c.call('Create', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, [name('some-template')])]));
  t.equal(template.reason, 'ItemNotFound', 'Templates are not kept');
  await c.close();
});

t.test('2.1: Register Secret Data (Opaque key block) and Get it back', async (t) => {
  const c = await connect();
  const secret = Buffer.from('correct horse battery staple');
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SecretData),
    structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, 0x0c)]),
    structure(Tag.SecretData, [
      enumeration(Tag.SecretDataType, Enum.SecretDataType.Password),
      structure(Tag.KeyBlock, [enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Opaque), structure(Tag.KeyValue, [item(Tag.KeyMaterial, 'ByteString', secret)])]),
    ]),
  ]);
  const id = reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const got = await c.call('Get', [uid(id)]);
  t.equal(got.payload!.get(Tag.ObjectType, 'Enumeration'), Enum.ObjectType.SecretData);
  const block = got.payload!.needStruct(Tag.SecretData).needStruct(Tag.KeyBlock);
  t.equal(block.need(Tag.KeyFormatType, 'Enumeration'), Enum.KeyFormatType.Opaque);
  t.same(Buffer.from(block.needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString')), secret);
  const length = await c.call('GetAttributes', [uid(id), enumeration(Tag.AttributeReference, Tag.CryptographicLength)]);
  t.equal(length.payload!.needStruct(Tag.Attributes).get(Tag.CryptographicLength, 'Integer'), secret.length * 8, 'Cryptographic Length from the value');
  await c.close();
});

t.test("another client identity can neither Get nor Locate the first one's key", async (t) => {
  const c = await connect(V21, env.other);
  const refused = await refusal(c.call('Get', [uid(registered)]));
  t.equal(refused.reason, 'ObjectNotFound');
  const found = await c.call('Locate', [structure(Tag.Attributes, [name('objects-test-key')])]);
  t.same(found.payload!.values(Tag.UniqueIdentifier, 'TextString'), [], 'Locate finds nothing');
  const attrs = await refusal(c.call('GetAttributes', [uid(registered)]));
  t.equal(attrs.reason, 'ObjectNotFound');
  await c.close();
});

t.test('at rest: no master key file, the HSM PIN file is 0600 and the database holds no plaintext key bytes', async (t) => {
  t.notOk(existsSync(join(env.dir, 'master.key')), 'the master key is in the HSM token, not a file');
  t.equal(statSync(join(env.dir, 'hsm.pin')).mode & 0o777, 0o600);
  const files = ['kmipd.sqlite', 'kmipd.sqlite-wal'].map((f) => join(env.dir, f)).filter((f) => existsSync(f));
  t.ok(files.length > 0, 'the SQLite file exists');
  for (const f of files) t.equal(readFileSync(f).indexOf(material), -1, `${f} does not contain the registered key`);
});

function sql<T>(db: sqlite3.Database, method: 'get' | 'run', query: string, params: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    db[method](query, params, function (this: unknown, err: Error | null, row?: unknown) {
      if (err) reject(err);
      else resolve(row as T);
    });
  });
}

t.test('a tampered sealed blob makes Get fail with Cryptographic Failure, never wrong bytes', async (t) => {
  const c = await connect();
  const reg = await c.call('Register', registerPayload('to-be-tampered', randomBytes(16)));
  const id = reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
  const db = new sqlite3.Database(join(env.dir, 'kmipd.sqlite'));
  db.configure('busyTimeout', 5000);
  try {
    const row = await sql<{ sealed_value: Buffer }>(db, 'get', 'SELECT sealed_value FROM objects WHERE uid = ?', [id]);
    const tampered = Buffer.from(row.sealed_value);
    tampered[20]! ^= 0x01;
    await sql(db, 'run', 'UPDATE objects SET sealed_value = ? WHERE uid = ?', [tampered, id]);
    // A blob moved to another object's row fails as well: the Unique Identifier is its AAD.
    const original = await sql<{ sealed_value: Buffer }>(db, 'get', 'SELECT sealed_value FROM objects WHERE uid = ?', [registered]);
    const created = await c.call('Register', registerPayload('moved-into', randomBytes(16)));
    const target = created.payload!.need(Tag.UniqueIdentifier, 'TextString');
    await sql(db, 'run', 'UPDATE objects SET sealed_value = ? WHERE uid = ?', [original.sealed_value, target]);
    const moved = await refusal(c.call('Get', [uid(target)]));
    t.equal(moved.reason, 'CryptographicFailure', 'a moved blob is refused');
  } finally {
    await new Promise((resolve) => db.close(resolve));
  }
  const refused = await refusal(c.call('Get', [uid(id)]));
  t.equal(refused.reason, 'CryptographicFailure');
  t.match(refused.message, /could not be unsealed/);
  await c.close();
});

t.test('1.4: Query → Objects lists Template and not Certificate Request, which 1.x lacks', async (t) => {
  const c = await connect(V14);
  const query = await c.call('Query', [enumeration(Tag.QueryFunction, Enum.QueryFunction.QueryObjects)]);
  const listed = query.payload!.values(Tag.ObjectType, 'Enumeration');
  t.ok(listed.includes(Enum.ObjectType.Template), 'Template');
  t.notOk(listed.includes(Enum.ObjectType.CertificateRequest), 'no Certificate Request');
  t.ok(listed.includes(Enum.ObjectType.PrivateKey), 'Private Key');
  await c.close();
});

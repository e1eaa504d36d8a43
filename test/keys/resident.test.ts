/**
 * HSM-resident keys end to end: a kmipd from `kmipd init` with the SoftHSM2 keyring, clients over
 * mutual TLS in KMIP 2.1, 1.4 and 1.2 form, and then the token itself (through our own PKCS#11
 * session) and the SQLite files. Also the keyring's AES-GCM with a resident key on a token of its
 * own, and the software keyring's refusal.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import t, { type Test } from 'tap';
import type { KmipClient } from '../../src/client/client.js';
import { loadConfig } from '../../src/config/config.js';
import { Fields } from '../../src/kmip/fields.js';
import { readPin } from '../../src/keys/index.js';
import { type Handle, P, loadModule, trimLabel } from '../../src/keys/pkcs11-module.js';
import { Pkcs11Keyring } from '../../src/keys/pkcs11.js';
import { RESIDENT_LABEL_PREFIX } from '../../src/keys/resident.js';
import { provisionSoftHsm } from '../../src/keys/softhsm.js';
import { KeyringError } from '../../src/keys/types.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text, uid } from '../support/items.js';
import { runKmipctl } from '../support/kmipctl.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

const V12: ProtocolVersion = { major: 1, minor: 2 };
const { Encrypt, Decrypt, WrapKey } = Mask.CryptographicUsageMask;
const isV2 = (v: ProtocolVersion): boolean => v.major >= 2;
const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);
const residentRequest = (): Item =>
  structure(Tag.Attribute, [text(Tag.VendorIdentification, 'x'), text(Tag.AttributeName, 'kmipd-hsm-resident'), item(Tag.AttributeValue, 'Boolean', true)]);

/** Create's attributes in the version's form; `how` asks for residency by Extractable false or by x-kmipd-hsm-resident. */
function createPayload(version: ProtocolVersion, bits: number, how: 'extractable' | 'custom' | 'none', more: { label?: string; mask?: number; params?: Item } = {}): Item[] {
  const mask = more.mask ?? Encrypt | Decrypt;
  if (isV2(version)) {
    const attrs = [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, bits), integer(Tag.CryptographicUsageMask, mask)];
    if (how === 'extractable') attrs.push(item(Tag.Extractable, 'Boolean', false));
    if (how === 'custom') attrs.push(residentRequest());
    if (more.label !== undefined) attrs.push(name(more.label));
    if (more.params !== undefined) attrs.push(more.params);
    return [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, attrs)];
  }
  const attrs = [
    v1Attr('Cryptographic Algorithm', enumeration(0, Enum.CryptographicAlgorithm.AES)),
    v1Attr('Cryptographic Length', integer(0, bits)),
    v1Attr('Cryptographic Usage Mask', integer(0, mask)),
  ];
  if (how === 'extractable') attrs.push(v1Attr('Extractable', item(0, 'Boolean', false)));
  if (how === 'custom') attrs.push(v1Attr('x-kmipd-hsm-resident', item(0, 'Boolean', true)));
  if (more.label !== undefined) attrs.push(v1Attr('Name', name(more.label)));
  if (more.params !== undefined) attrs.push(v1Attr('Cryptographic Parameters', more.params));
  return [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.TemplateAttribute, attrs)];
}

async function create(c: KmipClient, version: ProtocolVersion, bits: number, how: 'extractable' | 'custom' | 'none', more: { label?: string; mask?: number; params?: Item } = {}): Promise<string> {
  const r = await c.call('Create', createPayload(version, bits, how, more));
  return r.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

const keyWrap = (): Item => structure(Tag.CryptographicParameters, [enumeration(Tag.BlockCipherMode, Enum.BlockCipherMode.NISTKeyWrap)]);

function wrappingSpec(kek: string): Item {
  return structure(Tag.KeyWrappingSpecification, [enumeration(Tag.WrappingMethod, Enum.WrappingMethod.Encrypt), structure(Tag.EncryptionKeyInformation, [text(Tag.UniqueIdentifier, kek), keyWrap()])]);
}

/** Our own logged-in session on the kmipd's token (the same module instance the server loaded). */
function tokenSession(t: Test, env: TestKmipd) {
  const config = loadConfig({ dataDir: env.dir, env: {} });
  const k = config.keyring;
  const m = loadModule(k.module!, k.softhsm2Conf ?? undefined);
  const slot = m.C_GetSlotList(true).find((s) => trimLabel(m.C_GetTokenInfo(s).label) === k.tokenLabel)!;
  const s = m.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
  try {
    m.C_Login(s, P.CKU_USER, readPin(config));
  } catch (err) {
    if (!(err instanceof P.Pkcs11Error && err.code === P.CKR_USER_ALREADY_LOGGED_IN)) throw err;
  }
  t.teardown(() => m.C_CloseSession(s));
  const find = (label: string): Handle[] => {
    m.C_FindObjectsInit(s, [
      { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
      { type: P.CKA_LABEL, value: label },
    ]);
    try {
      return m.C_FindObjects(s, 8);
    } finally {
      m.C_FindObjectsFinal(s);
    }
  };
  /** Labels of every resident key on the token. */
  const residents = (): string[] => {
    m.C_FindObjectsInit(s, [{ type: P.CKA_CLASS, value: P.CKO_SECRET_KEY }]);
    let handles: Handle[];
    try {
      handles = m.C_FindObjects(s, 1000);
    } finally {
      m.C_FindObjectsFinal(s);
    }
    return handles.map((h) => (m.C_GetAttributeValue(s, h, [{ type: P.CKA_LABEL }])[0]!.value as Buffer).toString()).filter((l) => l.startsWith(RESIDENT_LABEL_PREFIX));
  };
  return { m, s, find, residents };
}

type Token = ReturnType<typeof tokenSession>;

/** The token holds exactly one key for `id`, generated there: sensitive, never extractable, its value unreadable. */
function checkTokenKey(t: Test, tok: Token, id: string, bits: number): Handle {
  const label = `${RESIDENT_LABEL_PREFIX}${id}`;
  const found = tok.find(label);
  t.equal(found.length, 1, `the token holds one key labelled ${label}`);
  const handle = found[0]!;
  const attrs = tok.m.C_GetAttributeValue(tok.s, handle, [
    { type: P.CKA_TOKEN },
    { type: P.CKA_SENSITIVE },
    { type: P.CKA_EXTRACTABLE },
    { type: P.CKA_NEVER_EXTRACTABLE },
    { type: P.CKA_ALWAYS_SENSITIVE },
    { type: P.CKA_LOCAL },
    { type: P.CKA_VALUE_LEN },
    { type: P.CKA_ID },
    { type: P.CKA_KEY_TYPE },
  ]);
  const [token, sensitive, extractable, never, always, local, length, ckaId, keyType] = attrs.map((a) => a.value as Buffer);
  t.equal(token![0], 1, 'CKA_TOKEN true');
  t.equal(sensitive![0], 1, 'CKA_SENSITIVE true');
  t.equal(extractable![0], 0, 'CKA_EXTRACTABLE false');
  t.equal(never![0], 1, 'CKA_NEVER_EXTRACTABLE true');
  t.equal(always![0], 1, 'CKA_ALWAYS_SENSITIVE true');
  t.equal(local![0], 1, 'CKA_LOCAL true: generated on the token');
  t.equal(length!.readUInt32LE(0), bits / 8, `AES-${bits}`);
  t.equal(keyType!.readUInt32LE(0), P.CKK_AES);
  t.equal(ckaId!.toString('utf8'), label, 'CKA_ID is the reference too');
  t.throws(() => tok.m.C_GetAttributeValue(tok.s, handle, [{ type: P.CKA_VALUE }]), { message: /CKR_ATTRIBUTE_SENSITIVE/ }, 'its value cannot be read');
  return handle;
}

/** One block encrypted under the resident key, in the HSM (AES-ECB), to recognise the key by. */
function fingerprint(tok: Token, handle: Handle): { block: Buffer; expected: Buffer } {
  const block = randomBytes(16);
  tok.m.C_EncryptInit(tok.s, { mechanism: P.CKM_AES_ECB }, handle);
  return { block, expected: Buffer.from(tok.m.C_Encrypt(tok.s, block, Buffer.alloc(32))) };
}

/** Whether any `bits`-long window of `haystack` is the key that encrypts `block` to `expected`. */
function keyIn(haystack: Buffer, bits: number, print: { block: Buffer; expected: Buffer }): boolean {
  const bytes = bits / 8;
  for (let i = 0; i + bytes <= haystack.length; i++) {
    const cipher = createCipheriv(`aes-${bits}-ecb`, haystack.subarray(i, i + bytes), null).setAutoPadding(false);
    if (cipher.update(print.block).equals(print.expected)) return true;
  }
  return false;
}

function sqliteGet<T>(file: string, query: string, params: unknown[]): Promise<T> {
  const db = new sqlite3.Database(file, sqlite3.OPEN_READONLY);
  db.configure('busyTimeout', 5000);
  return new Promise<T>((resolve, reject) => {
    db.get(query, params, (err: Error | null, row: unknown) => {
      db.close();
      if (err) reject(err);
      else resolve(row as T);
    });
  });
}

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-resident-', 'resident-someone-else');
});
t.teardown(() => env.close());

for (const [version, bits] of [
  [V21, 256],
  [V14, 128],
] as const) {
  const v = `${version.major}.${version.minor}`;

  t.test(`${v}: Create with Extractable false makes the key inside the HSM; the store keeps no key bytes and Get answers Not Extractable`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const tok = tokenSession(t, env);
    const label = `resident-${v}-${randomBytes(4).toString('hex')}`;
    const id = await create(c, version, bits, 'extractable', { label });
    const handle = checkTokenKey(t, tok, id, bits);

    // The store: no value at all for the object, and no window of the database files is the key.
    const db = join(env.dir, 'kmipd.sqlite');
    const row = await sqliteGet<{ sealed_value: Buffer | null }>(db, 'SELECT sealed_value FROM objects WHERE uid = ?', [id]);
    t.ok(row, 'the object has its row');
    t.equal(row.sealed_value, null, 'its row holds no value, not even a sealed one');
    const files = Buffer.concat([db, `${db}-wal`].filter(existsSync).map((f) => readFileSync(f)));
    t.ok(files.includes(Buffer.from(label)), 'the scan sees stored data: the Name is there in clear');
    const print = fingerprint(tok, handle);
    const known = randomBytes(bits / 8);
    const knownPrint = { block: print.block, expected: createCipheriv(`aes-${bits}-ecb`, known, null).setAutoPadding(false).update(print.block) };
    t.ok(keyIn(Buffer.concat([randomBytes(1001), known, randomBytes(13)]), bits, knownPrint), 'the scan finds a key that is there');
    t.notOk(keyIn(files, bits, print), `no ${bits}-bit window of the SQLite files encrypts like the key`);

    const attrs = (await c.call('GetAttributes', [uid(id)])).payload!;
    if (isV2(version)) {
      const a = attrs.needStruct(Tag.Attributes);
      t.equal(a.get(Tag.Extractable, 'Boolean'), false, 'Extractable false');
      t.equal(a.get(Tag.Sensitive, 'Boolean'), true, 'Sensitive true');
      t.equal(a.get(Tag.NeverExtractable, 'Boolean'), true, 'Never Extractable true');
      t.equal(a.get(Tag.AlwaysSensitive, 'Boolean'), true, 'Always Sensitive true');
      t.equal(a.get(Tag.ProtectionStorageMask, 'Integer'), Mask.ProtectionStorageMask.Hardware, 'Protection Storage Mask Hardware');
      t.notOk(a.has(Tag.Digest), 'no Digest: the value cannot be read to compute one');
      const ref = a.item.value.find((x) => x.tag === Tag.Attribute && x.type === 'Structure' && x.value.some((y) => y.type === 'TextString' && y.value === 'kmipd-hsm-key'));
      t.ok(ref, 'the server-set y-kmipd-hsm-key names the token object');
    } else {
      const names = attrs.all(Tag.Attribute).map((a) => Fields.of(a, 'Attribute').need(Tag.AttributeName, 'TextString'));
      t.ok(names.includes('Extractable') && names.includes('Never Extractable'), '1.4 lists Extractable and Never Extractable');
      t.ok(names.includes('y-kmipd-hsm-key'), 'and the server-set y-kmipd-hsm-key');
    }

    const plain = await refusal(c.call('Get', [uid(id)]));
    t.equal(plain.reason, 'NotExtractable', 'Get is refused with Not Extractable');
    t.match(plain.message, /HSM/);
    const kek = await create(c, version, 256, 'none', { mask: WrapKey, params: keyWrap() });
    const wrapped = await refusal(c.call('Get', [uid(id), wrappingSpec(kek)]));
    t.equal(wrapped.reason, 'NotExtractable', 'Get wrapped under another key is refused too');
    const raw = await refusal(c.call('Get', [uid(id), enumeration(Tag.KeyFormatType, Enum.KeyFormatType.Raw)]));
    t.equal(raw.reason, 'NotExtractable', 'and so is Get in a Key Format Type');
    const residentKek = await create(c, version, 256, 'extractable', { mask: WrapKey, params: keyWrap() });
    await c.call('Activate', [uid(residentKek)]);
    const asKek = await refusal(c.call('Get', [uid(kek), wrappingSpec(residentKek)]));
    t.equal(asKek.reason, 'FeatureNotSupported', 'a resident key does not wrap other keys (not offered yet)');
    t.equal(tok.find(`${RESIDENT_LABEL_PREFIX}${id}`).length, 1, 'the refusals left the token key alone');
    if (isV2(version)) {
      // Extractable is client-modifiable (2.1 §4.23), but a resident key's value has no way out of the HSM.
      const made = await refusal(c.call('SetAttribute', [uid(id), structure(Tag.NewAttribute, [item(Tag.Extractable, 'Boolean', true)])]));
      t.equal(made.reason, 'AttributeReadOnly', 'Extractable cannot be set to True on a resident key');
      const unsensitive = await refusal(c.call('SetAttribute', [uid(id), structure(Tag.NewAttribute, [item(Tag.Sensitive, 'Boolean', false)])]));
      t.equal(unsensitive.reason, 'AttributeReadOnly', 'nor Sensitive to False');
      t.equal((await refusal(c.call('Get', [uid(id)]))).reason, 'NotExtractable', 'and Get still refuses it');
    }
  });

  t.test(`${v}: Destroy removes the key from the HSM; an Active resident key is not destroyed and stays on the token`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const tok = tokenSession(t, env);
    const id = await create(c, version, bits, 'extractable');
    const label = `${RESIDENT_LABEL_PREFIX}${id}`;
    t.equal(tok.find(label).length, 1, 'created on the token');

    await c.call('Activate', [uid(id)]);
    const refused = await refusal(c.call('Destroy', [uid(id)]));
    t.equal(refused.reason, isV2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', 'Destroy of an Active key is refused');
    t.equal(tok.find(label).length, 1, 'and the refused Destroy left the key on the token');

    await c.call('Revoke', [uid(id), structure(Tag.RevocationReason, [enumeration(Tag.RevocationReasonCode, Enum.RevocationReasonCode.CessationOfOperation)])]);
    await c.call('Destroy', [uid(id)]);
    t.equal(tok.find(label).length, 0, 'C_DestroyObject: the token no longer holds the key');
    const state = await c.call('GetAttributes', [uid(id), isV2(version) ? enumeration(Tag.AttributeReference, Tag.State) : text(Tag.AttributeName, 'State')]);
    const stateValue = isV2(version) ? state.payload!.needStruct(Tag.Attributes).get(Tag.State, 'Enumeration') : state.payload!.needStruct(Tag.Attribute).need(Tag.AttributeValue, 'Enumeration');
    t.equal(stateValue, Enum.State.Destroyed, 'the metadata stays, Destroyed');
    const gone = await refusal(c.call('Get', [uid(id)]));
    t.equal(gone.reason, isV2(version) ? 'ObjectDestroyed' : 'ItemNotFound', 'Get of the destroyed key says it is destroyed');
  });

  t.test(`${v}: Re-key of a resident key makes its replacement in the HSM too`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const tok = tokenSession(t, env);
    const id = await create(c, version, bits, 'custom');
    const r = await c.call('ReKey', [uid(id)]);
    const next = r.payload!.need(Tag.UniqueIdentifier, 'TextString');
    t.not(next, id);
    checkTokenKey(t, tok, next, bits);
    t.equal(tok.find(`${RESIDENT_LABEL_PREFIX}${id}`).length, 1, 'the replaced key stays on the token');
    t.equal((await refusal(c.call('Get', [uid(next)]))).reason, 'NotExtractable', 'the replacement is not extractable either');
    const row = await sqliteGet<{ sealed_value: Buffer | null }>(join(env.dir, 'kmipd.sqlite'), 'SELECT sealed_value FROM objects WHERE uid = ?', [next]);
    t.equal(row.sealed_value, null, 'and the store holds no value for it');
  });
}

t.test('kmipctl: create --attr x-kmipd-hsm-resident=true (2.1) or --attr Extractable=false (1.4) makes a resident key that get refuses', async (t) => {
  const tok = tokenSession(t, env);
  const kmipctl = (...args: string[]) => runKmipctl(args, { dataDir: env.dir, port: env.server.tlsAddress.port });
  for (const [attr, version] of [
    ['x-kmipd-hsm-resident=true', '2.1'],
    ['Extractable=false', '1.4'],
  ] as const) {
    const made = await kmipctl('create', '--algorithm', 'AES', '--length', '256', '--usage', 'encrypt,decrypt', '--attr', attr, '--kmip-version', version);
    t.equal(made.code, 0, `kmipctl create --attr ${attr} --kmip-version ${version}${made.err ? `: ${made.err}` : ''}`);
    const id = made.out.trim();
    checkTokenKey(t, tok, id, 256);
    const got = await kmipctl('get', id, '--kmip-version', version);
    t.not(got.code, 0, 'kmipctl get fails');
    t.match(got.err, /Not Extractable: .*kept in the HSM/, 'and says why');
    const gone = await kmipctl('destroy', id, '--kmip-version', version);
    t.equal(gone.code, 0, `kmipctl destroy${gone.err ? `: ${gone.err}` : ''}`);
    t.equal(tok.find(`${RESIDENT_LABEL_PREFIX}${id}`).length, 0, 'and destroy removes it from the token');
  }
});

t.test('1.2 (no Extractable in 1.0–1.3): x-kmipd-hsm-resident makes a resident key, and Get is Permission Denied', async (t) => {
  const c = await env.connect(V12);
  t.teardown(() => c.close());
  const tok = tokenSession(t, env);
  const id = await create(c, V12, 256, 'custom');
  checkTokenKey(t, tok, id, 256);
  const refused = await refusal(c.call('Get', [uid(id)]));
  t.equal(refused.reason, 'PermissionDenied', '1.2 has no Not Extractable reason: Permission Denied');
});

t.test('a resident Create that cannot be stored (its Name is taken) leaves no key on the token', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const tok = tokenSession(t, env);
  const label = `taken-${randomBytes(4).toString('hex')}`;
  await create(c, V21, 256, 'none', { label });
  const before = tok.residents().sort();
  const refused = await refusal(c.call('Create', createPayload(V21, 256, 'extractable', { label })));
  t.equal(refused.reason, 'NonUniqueNameAttribute');
  t.same(tok.residents().sort(), before, 'the key generated for it was removed from the token again');
});

t.test('contradictory requests are refused before anything is generated', async (t) => {
  const c = await env.connect(V21);
  t.teardown(() => c.close());
  const tok = tokenSession(t, env);
  const before = tok.residents().length;
  const [, attrs] = createPayload(V21, 256, 'custom');
  const extractable = structure(Tag.Attributes, [...(attrs as { value: Item[] }).value, item(Tag.Extractable, 'Boolean', true)]);
  t.equal((await refusal(c.call('Create', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), extractable]))).reason, 'InvalidAttributeValue', 'x-kmipd-hsm-resident with Extractable true');
  const [, attrs2] = createPayload(V21, 256, 'extractable');
  const notSensitive = structure(Tag.Attributes, [...(attrs2 as { value: Item[] }).value, item(Tag.Sensitive, 'Boolean', false)]);
  t.equal((await refusal(c.call('Create', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), notSensitive]))).reason, 'InvalidAttributeValue', 'Extractable false with Sensitive false');
  t.equal(tok.residents().length, before, 'no key was made on the token');
});

t.test('the software keyring refuses resident keys: Protection Storage Unavailable (2.1), Feature Not Supported (1.4), and stores nothing', async (t) => {
  const sw = await startTestKmipd('kmipd-resident-sw-', 'resident-sw-other', { keyring: 'software' });
  t.teardown(() => sw.close());
  for (const [version, expected] of [
    [V21, 'ProtectionStorageUnavailable'],
    [V14, 'FeatureNotSupported'],
  ] as const) {
    const c = await sw.connect(version);
    const label = `sw-${version.major}${version.minor}`;
    for (const how of ['extractable', 'custom'] as const) {
      const refused = await refusal(c.call('Create', createPayload(version, 256, how, { label })));
      t.equal(refused.reason, expected, `${version.major}.${version.minor} ${how}: ${expected}`);
      t.match(refused.message, /software keystore/);
    }
    const located = await c.call('Locate', isV2(version) ? [structure(Tag.Attributes, [name(label)])] : [v1Attr('Name', name(label))]);
    t.same(located.payload?.values(Tag.UniqueIdentifier, 'TextString') ?? [], [], 'no object was stored');
    await c.close();
  }
});

t.test('the keyring runs AES-GCM with a resident key inside the HSM, and destroys it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-resident-unit-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const setup = await provisionSoftHsm(dir);
  const keyring = await Pkcs11Keyring.open({ module: setup.module, softhsm2Conf: setup.softhsm2Conf, tokenLabel: setup.tokenLabel, pin: readFileSync(setup.pinFile, 'utf8').trim(), refreshMs: 0 });
  t.teardown(() => keyring.close());
  const keys = keyring.resident;

  const ref = await keys.generate('unit-object', { algorithm: 'AES', length: 256 });
  t.equal(ref, `${RESIDENT_LABEL_PREFIX}unit-object`);
  t.ok(await keys.exists(ref));
  await t.rejects(keys.generate('unit-object', { algorithm: 'AES', length: 256 }), KeyringError, 'a second key for the same object is refused');
  await t.rejects(keys.generate('odd', { algorithm: 'AES', length: 100 }), KeyringError, 'AES lengths only');

  const plaintext = Buffer.from('attack at dawn, then again at dusk');
  const aad = Buffer.from('header');
  const sealed = await keys.encrypt(ref, plaintext, { aad });
  t.equal(sealed.iv.length, 12, 'a random 96-bit IV');
  t.equal(sealed.tag.length, 16, 'a 128-bit tag');
  t.equal(sealed.ciphertext.length, plaintext.length, 'GCM: as long as the plaintext');
  t.notOk(Buffer.from(sealed.ciphertext).includes(plaintext.subarray(0, 8)), 'the ciphertext is not the plaintext');
  t.same(Buffer.from(await keys.decrypt(ref, sealed.ciphertext, sealed.tag, { iv: sealed.iv, aad })), plaintext, 'decrypts in the HSM to the plaintext');

  const again = await keys.encrypt(ref, plaintext, { aad, iv: sealed.iv });
  t.same(Buffer.from(again.ciphertext), Buffer.from(sealed.ciphertext), 'the same key, IV and data give the same ciphertext: one key, used in the HSM');
  const short = await keys.encrypt(ref, plaintext, { tagLength: 12 });
  t.equal(short.tag.length, 12);
  t.same(Buffer.from(await keys.decrypt(ref, short.ciphertext, short.tag, { iv: short.iv, tagLength: 12 })), plaintext, 'a 96-bit tag works too');

  const altered = Buffer.from(sealed.ciphertext);
  altered[0]! ^= 1;
  await t.rejects(keys.decrypt(ref, altered, sealed.tag, { iv: sealed.iv, aad }), { name: 'KeyringError', message: /failed authentication/ }, 'altered ciphertext is refused');
  await t.rejects(keys.decrypt(ref, sealed.ciphertext, sealed.tag, { iv: sealed.iv, aad: Buffer.from('other') }), { message: /failed authentication/ }, 'other additional data is refused');
  await t.rejects(keys.decrypt(ref, sealed.ciphertext, sealed.tag.subarray(0, 12), { iv: sealed.iv, aad }), KeyringError, 'a tag of the wrong length is refused');

  const other = await keys.generate('unit-other', { algorithm: 'AES', length: 128 });
  await t.rejects(keys.decrypt(other, sealed.ciphertext, sealed.tag, { iv: sealed.iv, aad }), { message: /failed authentication/ }, 'another resident key does not decrypt it');
  await t.rejects(keys.encrypt('kmipd-master-1', plaintext), { message: /not a reference/ }, 'a master key is never used through a resident reference');

  t.equal(await keys.destroy(ref), true, 'destroyed');
  t.equal(await keys.exists(ref), false, 'gone from the token');
  t.equal(await keys.destroy(ref), false, 'destroying it again finds nothing');
  await t.rejects(keys.encrypt(ref, plaintext), { message: /holds no key/ }, 'a destroyed key encrypts nothing');
  // The keyring still seals after all that: the master key was not touched.
  t.same(Buffer.from(await keyring.unseal('x', await keyring.seal('x', plaintext))), plaintext, 'sealing under the master key still works');
});

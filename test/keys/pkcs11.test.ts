/**
 * The PKCS#11 keyring against a real SoftHSM2: each test provisions a throw-away token the way
 * `kmipd init` does (its own SOFTHSM2_CONF and token directory in a temporary data directory).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import t, { type Test } from 'tap';
import { KmipError } from '../../src/kmip/errors.js';
import { P, loadModule, trimLabel } from '../../src/keys/pkcs11-module.js';
import { Pkcs11Keyring, type Pkcs11Options } from '../../src/keys/pkcs11.js';
import { type SoftHsmSetup, provisionSoftHsm } from '../../src/keys/softhsm.js';
import { KeyringError } from '../../src/keys/types.js';

interface Token extends SoftHsmSetup {
  pin: string;
  options: Pkcs11Options;
}

async function token(t: Test): Promise<Token> {
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-pkcs11-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const setup = await provisionSoftHsm(dir);
  const pin = readFileSync(setup.pinFile, 'utf8').trim();
  return { ...setup, pin, options: { module: setup.module, softhsm2Conf: setup.softhsm2Conf, tokenLabel: setup.tokenLabel, pin, refreshMs: 0 } };
}

async function open(t: Test, tok: Token, extra: Partial<Pkcs11Options> = {}): Promise<Pkcs11Keyring> {
  const keyring = await Pkcs11Keyring.open({ ...tok.options, ...extra });
  t.teardown(() => keyring.close());
  return keyring;
}

/** A session of our own on the token, logged in as the user. */
function session(t: Test, tok: Token) {
  const m = loadModule(tok.module, tok.softhsm2Conf);
  const slot = m.C_GetSlotList(true).find((s) => trimLabel(m.C_GetTokenInfo(s).label) === tok.tokenLabel)!;
  const s = m.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
  try {
    m.C_Login(s, P.CKU_USER, tok.pin);
  } catch (err) {
    if (!(err instanceof P.Pkcs11Error && err.code === P.CKR_USER_ALREADY_LOGGED_IN)) throw err;
  }
  t.teardown(() => {
    try {
      m.C_CloseSession(s);
    } catch {
      // closed by the test already (C_CloseAllSessions)
    }
  });
  m.C_FindObjectsInit(s, [{ type: P.CKA_LABEL, value: 'kmipd-master-1' }]);
  const [master] = m.C_FindObjects(s, 2);
  m.C_FindObjectsFinal(s);
  return { m, slot, s, master: master! };
}

function pkcs11Code(err: unknown): string | undefined {
  return err instanceof P.Pkcs11Error ? err.message.split('\n')[0] : undefined;
}

t.test('the master key init generates lives in the token: sensitive, never extractable, and neither readable nor wrappable', async (t) => {
  const tok = await token(t);
  t.equal(tok.generation, 1);
  const { m, s, master } = session(t, tok);
  t.ok(master, 'kmipd-master-1 is on the token');
  const attrs = m.C_GetAttributeValue(s, master, [
    { type: P.CKA_TOKEN },
    { type: P.CKA_SENSITIVE },
    { type: P.CKA_EXTRACTABLE },
    { type: P.CKA_NEVER_EXTRACTABLE },
    { type: P.CKA_VALUE_LEN },
  ]);
  const [tokenObj, sensitive, extractable, neverExtractable, length] = attrs.map((a) => a.value as Buffer);
  t.equal(tokenObj![0], 1, 'CKA_TOKEN true: it survives restarts');
  t.equal(sensitive![0], 1, 'CKA_SENSITIVE true');
  t.equal(extractable![0], 0, 'CKA_EXTRACTABLE false');
  t.equal(neverExtractable![0], 1, 'CKA_NEVER_EXTRACTABLE true');
  t.equal(length!.readUInt32LE(0), 32, 'AES-256');

  t.throws(() => m.C_GetAttributeValue(s, master, [{ type: P.CKA_VALUE }]), { message: /CKR_ATTRIBUTE_SENSITIVE/ }, 'its value cannot be read');
  const wrapping = m.C_GenerateKey(s, { mechanism: P.CKM_AES_KEY_GEN }, [
    { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
    { type: P.CKA_KEY_TYPE, value: P.CKK_AES },
    { type: P.CKA_VALUE_LEN, value: 32 },
    { type: P.CKA_WRAP, value: true },
  ]);
  let refused: unknown;
  try {
    m.C_WrapKey(s, { mechanism: P.CKM_AES_KEY_WRAP_PAD }, wrapping, master, Buffer.alloc(128));
  } catch (err) {
    refused = err;
  }
  t.equal(pkcs11Code(refused), 'CKR_KEY_UNEXTRACTABLE', 'wrapping it out of the token is refused');
  t.throws(
    () => m.C_SetAttributeValue(s, master, [{ type: P.CKA_EXTRACTABLE, value: true }]),
    { message: /CKR_ATTRIBUTE_READ_ONLY|CKR_ATTRIBUTE_VALUE_INVALID/ },
    'and it cannot be made extractable',
  );
});

t.test('a sealed blob names its master-key generation, opens on another keyring of the token, and never holds the plaintext', async (t) => {
  const tok = await token(t);
  const a = await open(t, tok);
  const plain = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
  const sealed = Buffer.from(await a.seal('uid-1', plain));
  t.equal(sealed[0], 2, 'format version 2');
  t.equal(Pkcs11Keyring.generationOf(sealed), 1, 'sealed under master key generation 1');
  t.equal(sealed.length, 65 + 12 + plain.length + 16, 'header ‖ IV ‖ ciphertext ‖ tag');
  t.equal(sealed.indexOf(plain.subarray(0, 8)), -1, 'no plaintext bytes in the blob');
  t.same(Buffer.from(await a.unseal('uid-1', sealed)), plain);
  const b = await open(t, tok);
  t.same(Buffer.from(await b.unseal('uid-1', sealed)), plain, 'another keyring (another DEK) unwraps the blob DEK in the HSM');
  t.not(Buffer.from(await b.seal('uid-1', plain)).subarray(5, 65).toString('hex'), sealed.subarray(5, 65).toString('hex'), 'each keyring has its own DEK');
});

t.test('a blob altered anywhere, or moved to another object, fails to unseal with a KeyringError', async (t) => {
  const tok = await token(t);
  const a = await open(t, tok);
  const sealed = Buffer.from(await a.seal('uid-1', Buffer.alloc(32, 7)));
  await t.rejects(a.unseal('uid-2', sealed), KeyringError, 'moved to another object (the uid is authenticated)');
  const regions: [string, number][] = [
    ['the generation', 4],
    ['the wrapped DEK', 30],
    ['the IV', 70],
    ['the ciphertext', 90],
    ['the tag', sealed.length - 1],
  ];
  for (const [what, at] of regions) {
    const altered = Buffer.from(sealed);
    altered[at]! ^= 0x01;
    // A fresh keyring, so an altered wrapped DEK reaches the HSM instead of the cache.
    const fresh = await open(t, tok);
    await t.rejects(fresh.unseal('uid-1', altered), KeyringError, `altering ${what} is detected`);
  }
  await t.rejects(a.unseal('uid-1', sealed.subarray(0, 40)), KeyringError, 'truncated');
  const software = Buffer.concat([Buffer.of(1), sealed.subarray(1)]);
  await t.rejects(a.unseal('uid-1', software), { message: /format version 1/ }, 'a software-keyring blob is named as such');
});

t.test('opening refuses, with a message saying why: wrong PIN, missing module, unknown token', async (t) => {
  const tok = await token(t);
  await t.rejects(Pkcs11Keyring.open({ ...tok.options, pin: 'not-the-pin' }), { name: 'KeyringError', message: /refused the PIN \(CKR_PIN_INCORRECT\)/ });
  await t.rejects(Pkcs11Keyring.open({ ...tok.options, module: '/nonexistent/libpkcs11.so' }), { name: 'KeyringError', message: /cannot load the PKCS#11 module \/nonexistent\/libpkcs11\.so/ });
  await t.rejects(Pkcs11Keyring.open({ ...tok.options, tokenLabel: 'no-such-token' }), { name: 'KeyringError', message: new RegExp(`no initialised HSM token 'no-such-token'.*'${tok.tokenLabel}'`) });
  const keyring = await open(t, tok);
  t.equal(keyring.generation, 1, 'the right PIN opens it');
});

t.test('a lost HSM session is reopened; while the HSM refuses, calls fail with a clear General Failure and work again after', async (t) => {
  const tok = await token(t);
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  const a = await open(t, tok, { logger });
  const b = await open(t, tok);
  const { m, slot } = session(t, tok);
  const first = await b.seal('uid-1', Buffer.alloc(32, 1));

  m.C_CloseAllSessions(slot);
  t.same(Buffer.from(await a.unseal('uid-1', first)), Buffer.alloc(32, 1), 'the DEK unwrap succeeds on a new session');
  t.ok(lines.some((l) => /HSM session lost; reconnecting/.test(l)), 'the reconnect is logged');

  // The PIN is changed behind kmipd's back and every session closed: the HSM now refuses it.
  const so = session(t, tok);
  so.m.C_SetPIN(so.s, tok.pin, 'another-pin');
  m.C_CloseAllSessions(slot);
  const c = await open(t, { ...tok, options: { ...tok.options, pin: 'another-pin' } });
  const second = await c.seal('uid-2', Buffer.alloc(32, 2));
  m.C_CloseAllSessions(slot);
  const refused = await a.unseal('uid-2', second).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.type(refused, KmipError);
  t.equal((refused as KmipError).reason, 'GeneralFailure');
  t.match((refused as KmipError).message, /HSM is unavailable .*refused the PIN.*changed nothing/);
  t.same(Buffer.from(await a.unseal('uid-1', first)), Buffer.alloc(32, 1), 'a cached DEK still serves');

  const back = session(t, { ...tok, pin: 'another-pin' });
  back.m.C_SetPIN(back.s, 'another-pin', tok.pin);
  t.same(Buffer.from(await a.unseal('uid-2', second)), Buffer.alloc(32, 2), 'once the HSM accepts the PIN again, the keyring reconnects');
});

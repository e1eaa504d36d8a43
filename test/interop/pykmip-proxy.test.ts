/**
 * Interop with PyKMIP's high-level client: Debian's python3-pykmip (0.10) drives
 * kmip.pie.client.ProxyKmipClient (pykmip_proxy.py) through a key lifecycle against `kmipd serve`
 * over mutual TLS, in every protocol version that client speaks (1.0 to 1.4 and 2.0): create,
 * create key pair, register of each object type, get, get attributes, get attribute list, locate,
 * activate, encrypt/decrypt, sign/verify, MAC, derive key, revoke, destroy, and refusals.
 * Every cryptographic answer is checked on the Python side against Python's own hmac, hashlib
 * and cryptography modules; the script prints only the comparisons.
 */
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { repoRoot } from '../support/shared.js';
import { type PykmipServer, pykmipSkipReason, runPythonJson, startPykmipServer } from './pykmip-support.js';

const SCRIPT = join(repoRoot, 'test/interop/pykmip_proxy.py');

interface StepError { type: string; status?: string; reason?: string; message: string }
interface Step {
  ok: boolean;
  skipped?: string;
  error?: StepError;
  [field: string]: unknown;
}
interface ProxyResult { version: string; steps: Record<string, Step> }

const skip = pykmipSkipReason('kmip.pie.client');
let server: PykmipServer | undefined;

if (!skip) {
  t.before(async () => {
    server = await startPykmipServer('kmipd-pykmip-proxy-');
  });
  t.teardown(async () => {
    await server?.stop();
  });
}

/** A step that must have succeeded; its error, if any, goes into the assertion's message. */
function succeeded(t: Test, r: ProxyResult, name: string, what: string): Step | undefined {
  const step = r.steps[name];
  if (!step) {
    t.fail(`${what}: the script ran no step ${name}`);
    return undefined;
  }
  const why = step.skipped ?? (step.error ? `${step.error.type} ${step.error.reason ?? ''}: ${step.error.message}` : '');
  t.ok(step.ok, `${what}${why ? ` (${why})` : ''}`);
  return step.ok ? step : undefined;
}

/** A step that must have been refused by kmipd with exactly this Result Reason. */
function refused(t: Test, r: ProxyResult, name: string, reason: string, what: string): void {
  const step = r.steps[name];
  t.equal(step?.ok, false, `${what}: refused`);
  t.equal(step?.error?.type, 'KmipOperationFailure', `${what}: PyKMIP raises KmipOperationFailure (${step?.error?.message ?? ''})`);
  t.equal(step?.error?.status, 'OperationFailed', `${what}: Result Status Operation Failed`);
  t.equal(step?.error?.reason, reason, `${what}: Result Reason ${reason}`);
}

const V2 = (version: string): boolean => version.startsWith('2.');
/** Encrypt, Decrypt, Sign, Signature Verify and MAC exist from KMIP 1.2 on (1.2 §4.29–4.33). */
const hasCrypto = (version: string): boolean => version !== '1.0' && version !== '1.1';

for (const version of ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0']) {
  t.test(`PyKMIP's ProxyKmipClient manages keys in kmipd over KMIP ${version}`, skip ? { skip } : {}, async (t) => {
    let r: ProxyResult;
    try {
      r = await runPythonJson<ProxyResult>(server!, SCRIPT, [version]);
    } catch (err) {
      t.fail((err as Error).message);
      return;
    }
    t.equal(r.version, version);

    t.test('creates an AES-256 key and an RSA-2048 key pair', async (t) => {
      succeeded(t, r, 'create', 'Create');
      const pair = succeeded(t, r, 'create_key_pair', 'Create Key Pair');
      t.not(pair?.['public'], pair?.['private'], 'the public and private keys have different identifiers');
      const got = succeeded(t, r, 'get_created', 'Get returns the created key');
      t.match(got, { objectType: 'SymmetricKey', cryptographicAlgorithm: 'Aes', cryptographicLength: 256 });
      const pub = succeeded(t, r, 'get_created_public_key', 'Get returns the created public key');
      t.match(pub, { objectType: 'PublicKey', cryptographicAlgorithm: 'Rsa', cryptographicLength: 2048 });
    });

    t.test('registers every object type and gives back the same value', async (t) => {
      succeeded(t, r, 'register_hmac_key', 'Register of an HMAC-SHA256 key');
      // PyKMIP's pie objects call an Opaque Object OPAQUE_DATA.
      const kinds: Array<[string, string]> = [
        ['symmetric_key', 'SymmetricKey'],
        ['secret_data', 'SecretData'],
        ['opaque_object', 'OpaqueData'],
        ['certificate', 'Certificate'],
        ['public_key', 'PublicKey'],
        ['private_key', 'PrivateKey'],
      ];
      for (const [kind, objectType] of kinds) {
        const skipped = r.steps[`register_${kind}`]?.skipped;
        if (skipped) {
          t.pass(`Register of a ${objectType}`, { skip: skipped });
          continue;
        }
        succeeded(t, r, `register_${kind}`, `Register of a ${objectType}`);
        const step = succeeded(t, r, `get_${kind}`, `Get of the registered ${objectType}`);
        t.equal(step?.['objectType'], objectType, `${objectType} comes back as its own type`);
        t.equal(step?.['valueMatches'], true, `${objectType}: the value read back is the value registered`);
      }
    });

    t.test('reports attributes and finds the key by name', async (t) => {
      const attrs = succeeded(t, r, 'get_attributes', 'Get Attributes');
      t.same(attrs?.['attributes'], { 'Cryptographic Algorithm': 'Aes', 'Cryptographic Length': 256, State: 'PreActive' },
        'the requested attributes, a new key being Pre-Active');
      const list = succeeded(t, r, 'get_attribute_list', 'Get Attribute List');
      const names = (list?.['names'] ?? []) as string[];
      for (const name of ['Unique Identifier', 'Object Type', 'Cryptographic Algorithm', 'Cryptographic Length', 'State', 'Name']) {
        t.ok(names.includes(name), `the attribute list names ${name}`);
      }
      const located = succeeded(t, r, 'locate_by_name', 'Locate by Name');
      t.equal(located?.['foundCreated'], true, 'Locate finds the key created under that name');
      t.equal((located?.['uids'] as string[] | undefined)?.length, 1, 'and only that key');
    });

    t.test('activates keys', async (t) => {
      for (const key of ['aes', 'sym', 'hmac', 'rsa_pub', 'rsa_priv', 'secret']) succeeded(t, r, `activate_${key}`, `Activate ${key}`);
    });

    if (hasCrypto(version)) {
      t.test('encrypts and decrypts with AES-CBC-PKCS5 and a given IV, as Python does', async (t) => {
        const step = succeeded(t, r, 'encrypt_decrypt', 'Encrypt then Decrypt');
        t.equal(step?.['ciphertextLength'], 48, '47 bytes pad to 48');
        t.equal(step?.['ciphertextMatchesLocal'], true, 'the ciphertext equals Python cryptography\'s with the registered key');
        t.equal(step?.['serverGeneratedIv'], false, 'the given IV is used, none is returned');
        t.equal(step?.['roundTrip'], true, 'decryption gives back the plaintext');
      });
      t.test('signs with RSA PKCS#1 v1.5 SHA-256 and verifies', async (t) => {
        const step = succeeded(t, r, 'sign_verify', 'Sign then Signature Verify');
        t.equal(step?.['signatureLength'], 256, 'an RSA-2048 signature is 256 bytes');
        t.equal(step?.['valid'], 'Valid', 'the signature verifies');
        t.equal(step?.['tampered'], 'Invalid', 'a changed message does not');
      });
      t.test('computes HMAC-SHA256 as Python\'s hmac does', async (t) => {
        const step = succeeded(t, r, 'mac', 'MAC');
        t.equal(step?.['matchesPython'], true, 'the MAC equals hmac.new(key, data, sha256)');
      });
      t.test('refuses to encrypt with an Opaque Object', async (t) => {
        refused(t, r, 'error_encrypt_with_opaque_object', V2(version) ? 'InvalidObjectType' : 'PermissionDenied', 'Encrypt with an Opaque Object');
      });
    } else {
      t.test(`refuses Encrypt, Sign and MAC, which KMIP ${version} does not have`, async (t) => {
        refused(t, r, 'encrypt_decrypt', 'OperationNotSupported', 'Encrypt');
        refused(t, r, 'sign_verify', 'OperationNotSupported', 'Sign');
        refused(t, r, 'mac', 'OperationNotSupported', 'MAC');
      });
    }

    t.test('derives an AES key from a password with PBKDF2, as hashlib does', async (t) => {
      const step = succeeded(t, r, 'derive_key', 'Derive Key (PBKDF2-HMAC-SHA256, 1000 iterations)');
      t.equal(step?.['matchesPython'], true, 'the derived key equals hashlib.pbkdf2_hmac');
      t.equal(step?.['cryptographicLength'], 256, 'of the requested length');
    });

    t.test('revokes, then destroys', async (t) => {
      const revoked = succeeded(t, r, 'revoke', 'Revoke (Cessation of Operation)');
      t.same(revoked?.['state'], ['Deactivated'], 'the revoked key is Deactivated');
      succeeded(t, r, 'destroy_revoked', 'Destroy of the revoked key');
      succeeded(t, r, 'destroy_opaque_object', 'Destroy of the Pre-Active Opaque Object');
    });

    t.test('refuses what it must, with the Result Reason of the version', async (t) => {
      refused(t, r, 'error_get_missing', V2(version) ? 'ObjectNotFound' : 'ItemNotFound', 'Get of an unknown identifier');
      refused(t, r, 'error_activate_missing', V2(version) ? 'ObjectNotFound' : 'ItemNotFound', 'Activate of an unknown identifier');
      refused(t, r, 'error_get_destroyed', V2(version) ? 'ObjectDestroyed' : 'ItemNotFound', 'Get of a destroyed key');
      // 1.4 §11.22: "Object exists, but has already been destroyed" → Permission Denied; 2.1 has Object Destroyed.
      refused(t, r, 'error_destroy_destroyed', V2(version) ? 'ObjectDestroyed' : 'PermissionDenied', 'Destroy of a destroyed key');
      const state = succeeded(t, r, 'state_after_refused_destroy', 'Get Attributes after the refused Destroy');
      t.same(state?.['state'], ['Active'], 'Destroy of an Active key leaves it Active');
      t.equal(r.steps['error_destroy_active']?.ok, false, 'Destroy of an Active key is refused');
    });

    // PyKMIP 0.10 decodes a Text String byte by byte (kmip/core/primitives.py TextString.read_value),
    // so a non-ASCII Result Message raised UnicodeDecodeError in the client; kmipd's refusal here cites
    // "KMIP 2.1 §6.1.15". kmipd now sends Result Messages in ASCII (src/server/processor.ts asciiMessage).
    t.test('PyKMIP reads the refusal of Destroy of an Active key', async (t) => {
      refused(t, r, 'error_destroy_active', V2(version) ? 'WrongKeyLifecycleState' : 'PermissionDenied', 'Destroy of an Active key');
    });
  });
}

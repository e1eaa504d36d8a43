/**
 * HSM-resident keys: managed keys generated inside the token and never taken out of it. Each is a
 * token object (CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true, CKA_EXTRACTABLE false, so also
 * CKA_NEVER_EXTRACTABLE and CKA_ALWAYS_SENSITIVE) whose CKA_LABEL and CKA_ID are its reference,
 * `kmipd-key-<Unique Identifier>`. The store holds that reference only: no key bytes, not even
 * sealed ones. Every use of the key (AES-GCM here; the crypto operations later) runs in the HSM.
 *
 * The calls go through the keyring's one session and queue (Pkcs11Keyring.hsm), so a lost
 * session is reopened and retried once like the keyring's own calls.
 */
import { randomBytes } from 'node:crypto';
import { type Handle, type Module, P, failureOf } from './pkcs11-module.js';
import { KeyringError, type ResidentGcm, type ResidentGcmResult, type ResidentKeySpec, type ResidentKeys } from './types.js';

export const RESIDENT_LABEL_PREFIX = 'kmipd-key-';
const AES_LENGTHS = [128, 192, 256];
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Runs one call on the keyring's logged-in session, one at a time (Pkcs11Keyring.hsm). */
export type HsmRunner = <T>(what: string, call: (m: Module, session: Handle) => Promise<T> | T) => Promise<T>;

/** The reference (CKA_LABEL and CKA_ID) of object `uid`'s resident key. */
export function residentRef(uid: string): string {
  return `${RESIDENT_LABEL_PREFIX}${uid}`;
}

export class Pkcs11ResidentKeys implements ResidentKeys {
  constructor(private readonly run: HsmRunner) {}

  async generate(uid: string, spec: ResidentKeySpec): Promise<string> {
    if (spec.algorithm !== 'AES' || !AES_LENGTHS.includes(spec.length)) {
      throw new KeyringError(`the HSM generates AES keys of 128, 192 or 256 bits, not ${spec.algorithm}-${spec.length}`);
    }
    const ref = residentRef(uid);
    await this.run('generate a key', async (m, session) => {
      if (findKey(m, session, ref) !== undefined) throw new KeyringError(`the HSM already holds a key ${ref}`);
      await m.C_GenerateKeyAsync(session, { mechanism: P.CKM_AES_KEY_GEN }, [
        { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
        { type: P.CKA_KEY_TYPE, value: P.CKK_AES },
        { type: P.CKA_VALUE_LEN, value: spec.length / 8 },
        { type: P.CKA_TOKEN, value: true },
        { type: P.CKA_PRIVATE, value: true },
        { type: P.CKA_SENSITIVE, value: true },
        { type: P.CKA_EXTRACTABLE, value: false },
        { type: P.CKA_ENCRYPT, value: true },
        { type: P.CKA_DECRYPT, value: true },
        { type: P.CKA_SIGN, value: true },
        { type: P.CKA_VERIFY, value: true },
        // Wrapping other keys under a resident key is not offered yet.
        { type: P.CKA_WRAP, value: false },
        { type: P.CKA_UNWRAP, value: false },
        { type: P.CKA_LABEL, value: ref },
        { type: P.CKA_ID, value: Buffer.from(ref, 'utf8') },
      ]);
    });
    return ref;
  }

  destroy(ref: string): Promise<boolean> {
    return this.run('destroy a key', (m, session) => {
      const handle = findKey(m, session, ref);
      if (handle === undefined) return false;
      m.C_DestroyObject(session, handle);
      return true;
    });
  }

  exists(ref: string): Promise<boolean> {
    return this.run('look up a key', (m, session) => findKey(m, session, ref) !== undefined);
  }

  async encrypt(ref: string, plaintext: Uint8Array, gcm: ResidentGcm = {}): Promise<ResidentGcmResult> {
    const tagBytes = tagLength(gcm);
    const iv = Buffer.from(gcm.iv ?? randomBytes(IV_BYTES));
    const out = await this.run('encrypt with a key', async (m, session) => {
      m.C_EncryptInit(session, gcmMechanism(iv, gcm.aad, tagBytes), needKey(m, session, ref));
      return m.C_EncryptAsync(session, Buffer.from(plaintext), Buffer.alloc(plaintext.length + tagBytes + 16));
    });
    return { iv, ciphertext: out.subarray(0, out.length - tagBytes), tag: out.subarray(out.length - tagBytes) };
  }

  async decrypt(ref: string, ciphertext: Uint8Array, tag: Uint8Array, gcm: ResidentGcm & { iv: Uint8Array }): Promise<Uint8Array> {
    const tagBytes = tagLength(gcm);
    if (tag.length !== tagBytes) throw new KeyringError(`the authentication tag is ${tag.length} bytes, not ${tagBytes}`);
    const input = Buffer.concat([ciphertext, tag]);
    try {
      return await this.run('decrypt with a key', async (m, session) => {
        m.C_DecryptInit(session, gcmMechanism(Buffer.from(gcm.iv), gcm.aad, tagBytes), needKey(m, session, ref));
        return m.C_DecryptAsync(session, input, Buffer.alloc(input.length + 16));
      });
    } catch (err) {
      if (failureOf(err) === 'integrity') throw new KeyringError('the ciphertext failed authentication in the HSM: wrong key, IV, additional data or tag, or altered data');
      throw err;
    }
  }
}

function tagLength(gcm: ResidentGcm): number {
  const bytes = gcm.tagLength ?? TAG_BYTES;
  if (!Number.isInteger(bytes) || bytes < 12 || bytes > 16) throw new KeyringError(`an AES-GCM tag is 12 to 16 bytes, not ${bytes}`);
  return bytes;
}

function gcmMechanism(iv: Buffer, aad: Uint8Array | undefined, tagBytes: number): Parameters<Module['C_EncryptInit']>[1] {
  const parameter = { type: P.CK_PARAMS_AES_GCM, iv, aad: Buffer.from(aad ?? []), ivBits: iv.length * 8, tagBits: tagBytes * 8 };
  return { mechanism: P.CKM_AES_GCM, parameter };
}

/** The token's resident key with this reference (label and ID both), if any. */
function findKey(m: Module, session: Handle, ref: string): Handle | undefined {
  // Never a master key (kmipd-master-<n>), whatever the store says.
  if (!ref.startsWith(RESIDENT_LABEL_PREFIX)) throw new KeyringError(`${JSON.stringify(ref)} is not a reference to an HSM-resident key`);
  m.C_FindObjectsInit(session, [
    { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
    { type: P.CKA_TOKEN, value: true },
    { type: P.CKA_LABEL, value: ref },
    { type: P.CKA_ID, value: Buffer.from(ref, 'utf8') },
  ]);
  try {
    return m.C_FindObjects(session, 1)[0];
  } finally {
    m.C_FindObjectsFinal(session);
  }
}

function needKey(m: Module, session: Handle, ref: string): Handle {
  const handle = findKey(m, session, ref);
  if (handle === undefined) throw new KeyringError(`the HSM holds no key ${ref}: it was destroyed or is on another token`);
  return handle;
}

/**
 * The software keyring: AES-256-GCM under a 32-byte master key kept in a file
 * (`<dataDir>/master.key`, created with mode 0600 when missing). For development only: anyone
 * who can read the file and the database has every key. A sealed blob is
 *
 *   version (1 byte, 0x01) ‖ IV (12 bytes) ‖ ciphertext ‖ GCM tag (16 bytes)
 *
 * with the object's Unique Identifier as additional authenticated data, so a blob copied to
 * another object's row fails to unseal just as an altered one does.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { SoftwareSigningKeys } from './signing.js';
import { type Keyring, KeyringError, type SigningKeys } from './types.js';

export const MASTER_KEY_FILE = 'master.key';
export const SOFTWARE_KEYSTORE_WARNING = 'software keystore: the master key is a file on disk (development only)';

const VERSION = 0x01;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SoftwareKeyring implements Keyring {
  readonly kind = 'software' as const;

  /** Audit signing keys as files of the data directory (none for a keyring made from a bare key). */
  readonly signing?: SigningKeys;

  constructor(
    private readonly masterKey: Uint8Array,
    dataDir?: string,
  ) {
    if (dataDir !== undefined) this.signing = new SoftwareSigningKeys(dataDir);
    if (masterKey.length !== KEY_BYTES) throw new KeyringError(`the master key must be ${KEY_BYTES} bytes, not ${masterKey.length}`);
  }

  seal(uid: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(uid, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Promise.resolve(Buffer.concat([Buffer.of(VERSION), iv, body, cipher.getAuthTag()]));
  }

  unseal(uid: string, sealed: Uint8Array): Promise<Uint8Array> {
    const blob = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (blob.length < 1 + IV_BYTES + TAG_BYTES) return Promise.reject(new KeyringError(`the sealed key material of ${uid} is truncated`));
    if (blob[0] !== VERSION) return Promise.reject(new KeyringError(`the sealed key material of ${uid} has unknown format version ${blob[0]}`));
    const iv = blob.subarray(1, 1 + IV_BYTES);
    const tag = blob.subarray(blob.length - TAG_BYTES);
    const body = blob.subarray(1 + IV_BYTES, blob.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.masterKey, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(uid, 'utf8'));
      decipher.setAuthTag(tag);
      return Promise.resolve(Buffer.concat([decipher.update(body), decipher.final()]));
    } catch {
      return Promise.reject(
        new KeyringError(`the sealed key material of ${uid} failed authentication: it was altered, belongs to another object, or was sealed under another master key`),
      );
    }
  }
}

/** The software keyring of a data directory, creating its master key file (0600) on first use. */
export function openSoftwareKeyring(dataDir: string): SoftwareKeyring {
  const file = join(dataDir, MASTER_KEY_FILE);
  let key: Buffer;
  try {
    key = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    key = randomBytes(KEY_BYTES);
    try {
      // 'wx': never overwrite a key another process created meanwhile.
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, key);
      } finally {
        closeSync(fd);
      }
      chmodSync(file, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      key = readFileSync(file);
    }
  }
  if (key.length !== KEY_BYTES) throw new KeyringError(`${file} must hold exactly ${KEY_BYTES} bytes, not ${key.length}`);
  return new SoftwareKeyring(key, dataDir);
}

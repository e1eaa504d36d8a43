/**
 * The PKCS#11 keyring: the master key is an AES-256 token object in an HSM (CKA_SENSITIVE true,
 * CKA_EXTRACTABLE false, labelled `kmipd-master-<generation>`), and never leaves it.
 *
 * Envelope: each keyring instance draws a random 256-bit data-encryption key (DEK) and has the
 * HSM encrypt it under the current master key (AES-GCM, AAD "kmipd-dek" ‖ generation). Managed
 * key material is sealed in software under the DEK (AES-256-GCM), and every blob carries its DEK
 * wrapped, so any node holding the master key can open it:
 *
 *   0x02 ‖ generation (u32 BE) ‖ wrapped DEK (IV 12 ‖ ciphertext 32 ‖ tag 16) ‖ IV (12) ‖ ciphertext ‖ tag (16)
 *
 * The additional authenticated data of the key material is the 65-byte header ‖ the object's
 * Unique Identifier, so a blob altered, or moved to another row, fails to unseal.
 *
 * Cost: Create and Get make no HSM call. The HSM is asked only to wrap the DEK at start and after
 * a master-key rotation, and to unwrap a DEK met for the first time (another node's, or one from
 * before a restart); unwrapped DEKs are kept in a bounded cache (DEK_CACHE_SIZE, zeroed on
 * eviction and close). Plaintext key material is never cached.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { KmipError } from '../kmip/errors.js';
import { type Handle, type Module, P, describe, failureOf, loadModule, paddedLabel, trimLabel } from './pkcs11-module.js';
import { Pkcs11ResidentKeys } from './resident.js';
import { Pkcs11SigningKeys } from './signing.js';
import { type Keyring, KeyringError, type ResidentKeys, type SigningKeys } from './types.js';

export const MASTER_KEY_LABEL_PREFIX = 'kmipd-master-';
const VERSION = 0x02;
const GEN_BYTES = 4;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const WRAPPED_DEK_BYTES = IV_BYTES + KEY_BYTES + TAG_BYTES;
const HEADER_BYTES = 1 + GEN_BYTES + WRAPPED_DEK_BYTES;
/** Unwrapped DEKs kept: one per node and restart and generation in the database; 1,024 is plenty. */
export const DEK_CACHE_SIZE = 1024;
/** How often the keyring looks on the token for a newer master key (a rotation run elsewhere). */
const REFRESH_MS = 1000;

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (.so). */
  module: string;
  /** SoftHSM2 only: its configuration file (the token directory). */
  softhsm2Conf?: string;
  /** The token, by label or by slot ID. */
  tokenLabel?: string;
  slot?: number;
  pin: string;
  logger?: Logger;
  /** Create master key generation 1 when the token holds none (kmipd init). */
  createIfMissing?: boolean;
  /** Look for newer master keys every this many ms (default 1000; 0: never). */
  refreshMs?: number;
}

interface CurrentDek {
  generation: number;
  dek: Buffer;
  header: Buffer;
}

export class Pkcs11Keyring implements Keyring {
  readonly kind = 'pkcs11' as const;
  /** Managed keys generated inside the token (src/keys/resident.ts), on this keyring's session. */
  readonly resident: ResidentKeys = new Pkcs11ResidentKeys((what, call) => this.hsm(what, call));
  /** The audit signing keys (src/keys/signing.ts), on this keyring's session. */
  readonly signing: SigningKeys = new Pkcs11SigningKeys((what, call) => this.hsm(what, call));
  private session: Handle | undefined;
  private readonly masters = new Map<number, Handle>();
  private current: CurrentDek | undefined;
  private readonly deks = new Map<string, Buffer>();
  private readonly unwrapping = new Map<string, Promise<Buffer>>();
  /** One session, so HSM calls run one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly module: Module,
    private readonly slot: Handle,
    private readonly tokenName: string,
    private readonly pin: string,
    private readonly log: Logger | undefined,
  ) {}

  /** Opens the token, logs in and loads the newest master key; refuses with a KeyringError saying what is wrong. */
  static async open(options: Pkcs11Options): Promise<Pkcs11Keyring> {
    const module = loadModule(options.module, options.softhsm2Conf);
    const { slot, name } = findSlot(module, options);
    const keyring = new Pkcs11Keyring(module, slot, name, options.pin, options.logger);
    try {
      keyring.connect();
      if (keyring.masters.size === 0) {
        if (!options.createIfMissing) {
          throw new KeyringError(`the HSM token ${name} holds no kmipd master key (${MASTER_KEY_LABEL_PREFIX}<n>); create one with 'kmipd init' or 'kmipd rotate-master-key'`);
        }
        await keyring.createMasterKey();
      }
      await keyring.useGeneration(keyring.newestGeneration());
    } catch (err) {
      keyring.close();
      throw err;
    }
    const refreshMs = options.refreshMs ?? REFRESH_MS;
    if (refreshMs > 0) {
      keyring.timer = setInterval(() => {
        keyring.refresh().catch((err: unknown) => keyring.log?.warn({ err: describe(err) }, 'keyring: could not look for a newer master key'));
      }, refreshMs);
      keyring.timer.unref();
    }
    return keyring;
  }

  /** The generation new blobs are sealed under. */
  get generation(): number {
    return this.need().generation;
  }

  /** C_GetInfo of the PKCS#11 library, which the KMIP PKCS#11 operation reports (src/operations/pkcs11.ts). */
  libraryInfo(): Promise<ReturnType<Module['C_GetInfo']>> {
    return this.hsm('read its library information', (m) => m.C_GetInfo());
  }

  /** The master-key generation that sealed `sealed`. */
  static generationOf(sealed: Uint8Array): number {
    if (sealed.length < HEADER_BYTES || sealed[0] !== VERSION) return -1;
    return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).readUInt32BE(1);
  }

  seal(uid: string, plaintext: Uint8Array): Promise<Uint8Array> {
    const { dek, header } = this.need();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', dek, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.concat([header, Buffer.from(uid, 'utf8')]));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Promise.resolve(Buffer.concat([header, iv, body, cipher.getAuthTag()]));
  }

  async unseal(uid: string, sealed: Uint8Array): Promise<Uint8Array> {
    const blob = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (blob.length < HEADER_BYTES + IV_BYTES + TAG_BYTES) throw new KeyringError(`the sealed key material of ${uid} is truncated`);
    if (blob[0] !== VERSION) throw new KeyringError(`the sealed key material of ${uid} has format version ${blob[0]}, not the PKCS#11 keyring's ${VERSION}`);
    const generation = blob.readUInt32BE(1);
    const header = blob.subarray(0, HEADER_BYTES);
    const dek = await this.dekFor(uid, generation, blob.subarray(1 + GEN_BYTES, HEADER_BYTES));
    // Met a newer master key than ours: a rotation has started; seal under it from now on.
    if (generation > this.generation) void this.refresh().catch(() => {});
    try {
      const decipher = createDecipheriv('aes-256-gcm', dek, blob.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.concat([header, Buffer.from(uid, 'utf8')]));
      decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
      return Buffer.concat([decipher.update(blob.subarray(HEADER_BYTES + IV_BYTES, blob.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new KeyringError(`the sealed key material of ${uid} failed authentication: it was altered or belongs to another object`);
    }
  }

  /** Generates master key generation newest+1 in the HSM; answers its generation. New blobs stay under the current one until `useGeneration`. */
  async createMasterKey(): Promise<number> {
    return this.hsm('create a master key', async (m, session) => {
      this.findMasters(session);
      const generation = this.masters.size === 0 ? 1 : this.newestGeneration() + 1;
      const id = Buffer.alloc(GEN_BYTES);
      id.writeUInt32BE(generation);
      const handle = await m.C_GenerateKeyAsync(session, { mechanism: P.CKM_AES_KEY_GEN }, [
        { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
        { type: P.CKA_KEY_TYPE, value: P.CKK_AES },
        { type: P.CKA_VALUE_LEN, value: KEY_BYTES },
        { type: P.CKA_TOKEN, value: true },
        { type: P.CKA_PRIVATE, value: true },
        { type: P.CKA_SENSITIVE, value: true },
        { type: P.CKA_EXTRACTABLE, value: false },
        { type: P.CKA_ENCRYPT, value: true },
        { type: P.CKA_DECRYPT, value: true },
        { type: P.CKA_WRAP, value: false },
        { type: P.CKA_UNWRAP, value: false },
        { type: P.CKA_LABEL, value: `${MASTER_KEY_LABEL_PREFIX}${generation}` },
        { type: P.CKA_ID, value: id },
      ]);
      this.masters.set(generation, handle);
      this.log?.info({ generation, token: this.tokenName }, 'keyring: created a master key in the HSM');
      return generation;
    });
  }

  /** Seals new blobs under master key `generation` (with a fresh DEK). */
  async useGeneration(generation: number): Promise<void> {
    if (this.current?.generation === generation) return;
    const dek = randomBytes(KEY_BYTES);
    const wrapped = await this.hsm('wrap a data key', async (m, session) => {
      const key = this.masterHandle(generation, session);
      const iv = randomBytes(IV_BYTES);
      m.C_EncryptInit(session, gcm(iv, dekAad(generation)), key);
      const out = await m.C_EncryptAsync(session, dek, Buffer.alloc(KEY_BYTES + TAG_BYTES + 16));
      return Buffer.concat([iv, out]);
    });
    if (wrapped.length !== WRAPPED_DEK_BYTES) throw new KeyringError(`the HSM wrapped a data key into ${wrapped.length} bytes, not ${WRAPPED_DEK_BYTES}`);
    const header = Buffer.alloc(HEADER_BYTES);
    header[0] = VERSION;
    header.writeUInt32BE(generation, 1);
    wrapped.copy(header, 1 + GEN_BYTES);
    this.remember(cacheKey(generation, wrapped), Buffer.from(dek));
    this.current = { generation, dek, header };
    this.log?.info({ generation }, 'keyring: sealing under master key generation');
  }

  /** Looks on the token for master keys; a newer one than ours becomes current. */
  async refresh(): Promise<void> {
    if (this.closed) return;
    // Only the next generations, by label: a full scan would read every resident key on the token each second.
    await this.hsm('look for master keys', (_m, session) => this.findNewerMasters(session));
    const newest = this.newestGeneration();
    if (newest > this.generation) await this.useGeneration(newest);
  }

  newestGeneration(): number {
    return Math.max(0, ...this.masters.keys());
  }

  /** Ends the session (not the login of other keyrings on this token in this process); zeroes the DEKs. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const dek of this.deks.values()) dek.fill(0);
    this.deks.clear();
    this.current?.dek.fill(0);
    this.current = undefined;
    if (this.session !== undefined) {
      try {
        this.module.C_CloseSession(this.session);
      } catch {
        // Already gone with the HSM; nothing to release.
      }
      this.session = undefined;
    }
  }

  private need(): CurrentDek {
    if (this.current === undefined) throw new KmipError('GeneralFailure', 'the HSM keyring is closed');
    return this.current;
  }

  private async dekFor(uid: string, generation: number, wrapped: Buffer): Promise<Buffer> {
    const key = cacheKey(generation, wrapped);
    const cached = this.deks.get(key);
    if (cached) return cached;
    let pending = this.unwrapping.get(key);
    if (!pending) {
      pending = this.unwrapDek(uid, generation, Buffer.from(wrapped)).finally(() => this.unwrapping.delete(key));
      this.unwrapping.set(key, pending);
    }
    return pending;
  }

  private async unwrapDek(uid: string, generation: number, wrapped: Buffer): Promise<Buffer> {
    const dek = await this.hsm('unwrap a data key', async (m, session) => {
      if (!this.masters.has(generation)) this.findMasters(session);
      if (!this.masters.has(generation)) {
        throw new KeyringError(`the sealed key material of ${uid} names master key generation ${generation}, which the HSM token ${this.tokenName} does not hold`);
      }
      m.C_DecryptInit(session, gcm(wrapped.subarray(0, IV_BYTES), dekAad(generation)), this.masterHandle(generation, session));
      return m.C_DecryptAsync(session, wrapped.subarray(IV_BYTES), Buffer.alloc(WRAPPED_DEK_BYTES));
    }).catch((err: unknown) => {
      if (failureOf(err) === 'integrity') throw new KeyringError(`the data key of ${uid} failed authentication in the HSM: the blob was altered`);
      throw err;
    });
    if (dek.length !== KEY_BYTES) throw new KeyringError(`the data key of ${uid} has ${dek.length} bytes, not ${KEY_BYTES}`);
    const copy = Buffer.from(dek);
    dek.fill(0);
    this.remember(cacheKey(generation, wrapped), copy);
    return copy;
  }

  private remember(key: string, dek: Buffer): void {
    this.deks.set(key, dek);
    while (this.deks.size > DEK_CACHE_SIZE) {
      const [oldest, value] = this.deks.entries().next().value as [string, Buffer];
      // The current DEK stays usable through `current` even when evicted here.
      if (value !== this.current?.dek) value.fill(0);
      this.deks.delete(oldest);
    }
  }

  /**
   * Runs one HSM call on the session, one at a time. A lost session or login (HSM restarted,
   * sessions closed) is reopened and the call retried once; if that fails too the request fails
   * with a message saying the HSM is unavailable, and nothing was written.
   */
  private hsm<T>(what: string, call: (m: Module, session: Handle) => Promise<T> | T): Promise<T> {
    const run = async (): Promise<T> => {
      for (let attempt = 0; ; attempt++) {
        let session: Handle;
        try {
          session = this.connect();
        } catch (err) {
          throw new KmipError('GeneralFailure', `the HSM is unavailable (${describe(err)}); the request changed nothing, retry later`);
        }
        try {
          return await call(this.module, session);
        } catch (err) {
          if (err instanceof KeyringError || err instanceof KmipError) throw err;
          const failure = failureOf(err);
          if (failure === 'session' && attempt === 0) {
            this.log?.warn({ token: this.tokenName, err: describe(err) }, 'keyring: HSM session lost; reconnecting');
            this.session = undefined;
            continue;
          }
          if (failure === 'integrity') throw err;
          throw new KmipError('GeneralFailure', `the HSM could not ${what} (${describe(err)}); the request changed nothing, retry later`);
        }
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The logged-in session, opened (and the master keys found) when there is none. */
  private connect(): Handle {
    if (this.session !== undefined) return this.session;
    if (this.closed) throw new KmipError('GeneralFailure', 'the HSM keyring is closed');
    const session = this.module.C_OpenSession(this.slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
    try {
      this.module.C_Login(session, P.CKU_USER, this.pin);
    } catch (err) {
      // Another keyring of this process on the same token is logged in: a login belongs to the application and token, not the session (PKCS#11 v2.40 §5.6, C_Login).
      if (!(err instanceof P.Pkcs11Error && err.code === P.CKR_USER_ALREADY_LOGGED_IN)) {
        this.module.C_CloseSession(session);
        if (failureOf(err) === 'login') throw new KeyringError(`the HSM token ${this.tokenName} refused the PIN (${describe(err)})`);
        throw new KeyringError(`cannot log in to the HSM token ${this.tokenName}: ${describe(err)}`);
      }
    }
    this.session = session;
    this.findMasters(session);
    return session;
  }

  private findMasters(session: Handle): void {
    const m = this.module;
    m.C_FindObjectsInit(session, [
      { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
      { type: P.CKA_TOKEN, value: true },
    ]);
    const handles: Handle[] = [];
    try {
      for (let batch = m.C_FindObjects(session, 64); batch.length > 0; batch = m.C_FindObjects(session, 64)) handles.push(...batch);
    } finally {
      m.C_FindObjectsFinal(session);
    }
    this.masters.clear();
    for (const handle of handles) {
      const [label] = m.C_GetAttributeValue(session, handle, [{ type: P.CKA_LABEL }]);
      const text = Buffer.isBuffer(label?.value) ? label.value.toString('utf8') : '';
      const match = /^kmipd-master-(\d+)$/.exec(text);
      if (match) this.masters.set(Number(match[1]), handle);
    }
  }

  private findNewerMasters(session: Handle): void {
    const m = this.module;
    for (let generation = this.newestGeneration() + 1; ; generation++) {
      m.C_FindObjectsInit(session, [
        { type: P.CKA_CLASS, value: P.CKO_SECRET_KEY },
        { type: P.CKA_TOKEN, value: true },
        { type: P.CKA_LABEL, value: `${MASTER_KEY_LABEL_PREFIX}${generation}` },
      ]);
      let found: Handle | undefined;
      try {
        found = m.C_FindObjects(session, 1)[0];
      } finally {
        m.C_FindObjectsFinal(session);
      }
      if (found === undefined) return;
      this.masters.set(generation, found);
    }
  }

  private masterHandle(generation: number, session: Handle): Handle {
    if (!this.masters.has(generation)) this.findMasters(session);
    const handle = this.masters.get(generation);
    if (handle === undefined) throw new KeyringError(`the HSM token ${this.tokenName} holds no master key generation ${generation}`);
    return handle;
  }
}

function gcm(iv: Buffer, aad: Buffer): pkcs11Mechanism {
  return { mechanism: P.CKM_AES_GCM, parameter: { type: P.CK_PARAMS_AES_GCM, iv, aad, ivBits: IV_BYTES * 8, tagBits: TAG_BYTES * 8 } as AesGcmParams };
}

type pkcs11Mechanism = Parameters<Module['C_EncryptInit']>[1];
interface AesGcmParams {
  type: number;
  iv: Buffer;
  aad: Buffer;
  ivBits: number;
  tagBits: number;
}

function dekAad(generation: number): Buffer {
  const aad = Buffer.alloc(9 + GEN_BYTES);
  aad.write('kmipd-dek', 0, 'latin1');
  aad.writeUInt32BE(generation, 9);
  return aad;
}

function cacheKey(generation: number, wrapped: Buffer): string {
  return `${generation}:${wrapped.toString('base64')}`;
}

/** The slot holding the configured token; a KeyringError naming the tokens there are otherwise. */
function findSlot(module: Module, options: Pkcs11Options): { slot: Handle; name: string } {
  const slots = module.C_GetSlotList(true);
  const tokens = slots.map((slot) => ({ slot, id: slotId(slot), info: module.C_GetTokenInfo(slot) }));
  const found =
    options.tokenLabel !== undefined ? tokens.find((t) => trimLabel(t.info.label) === options.tokenLabel) : tokens.find((t) => t.id === options.slot);
  const name = options.tokenLabel !== undefined ? `'${options.tokenLabel}'` : `in slot ${options.slot}`;
  if (found === undefined || (found.info.flags & P.CKF_TOKEN_INITIALIZED) === 0) {
    const known = tokens.filter((t) => (t.info.flags & P.CKF_TOKEN_INITIALIZED) !== 0).map((t) => `'${trimLabel(t.info.label)}' (slot ${t.id})`);
    throw new KeyringError(`no initialised HSM token ${name} in ${options.module}; it has ${known.length > 0 ? known.join(', ') : 'none'}`);
  }
  return { slot: found.slot, name };
}

export function slotId(slot: Handle): number {
  return slot.length >= 8 ? Number(slot.readBigUInt64LE(0)) : slot.readUInt32LE(0);
}

export { paddedLabel };

/**
 * Loading a PKCS#11 module once per process, and the one table that turns a Pkcs11Error code
 * into what kmipd does about it.
 *
 * SoftHSM2 reads SOFTHSM2_CONF (its token directory) once, in C_Initialize, and a module is
 * initialised once per process. A process that needs a second SoftHSM2 configuration (the test
 * suite starts many servers, each with its own data directory) gets a private copy of the module
 * file, which the dynamic loader maps as a separate library with its own state. In production one
 * process uses one configuration and the module is loaded from its own path.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { KeyringError } from './types.js';

export const P = pkcs11js;
export type Module = pkcs11js.PKCS11;
export type Handle = pkcs11js.Handle;

/** The Debian/Ubuntu path of SoftHSM2's module (package softhsm2). */
export const SOFTHSM2_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

interface Loaded {
  module: Module;
  softhsm2Conf: string | undefined;
}

const loaded = new Map<string, Loaded[]>();

/** The initialised module at `path` for the SoftHSM2 configuration `softhsm2Conf` (undefined: the environment's). */
export function loadModule(path: string, softhsm2Conf?: string): Module {
  const instances = loaded.get(path) ?? [];
  const same = instances.find((l) => l.softhsm2Conf === softhsm2Conf);
  if (same) return same.module;
  const module = new P.PKCS11();
  const previousConf = process.env.SOFTHSM2_CONF;
  if (softhsm2Conf !== undefined) process.env.SOFTHSM2_CONF = softhsm2Conf;
  let copyDir: string | undefined;
  try {
    let file = path;
    if (instances.length > 0) {
      copyDir = mkdtempSync(join(tmpdir(), 'kmipd-pkcs11-'));
      file = join(copyDir, basename(path));
      copyFileSync(path, file);
    }
    module.load(file);
    // STYLE.md: without CKF_OS_LOCKING_OK SoftHSM2 turns its locking off and concurrent *Async calls corrupt its heap.
    module.C_Initialize({ flags: P.CKF_OS_LOCKING_OK });
  } catch (err) {
    throw new KeyringError(`cannot load the PKCS#11 module ${path}: ${describe(err)}`);
  } finally {
    if (softhsm2Conf !== undefined) {
      if (previousConf === undefined) delete process.env.SOFTHSM2_CONF;
      else process.env.SOFTHSM2_CONF = previousConf;
    }
    // The loader keeps its mapping; the file is not needed once loaded.
    if (copyDir !== undefined) rmSync(copyDir, { recursive: true, force: true });
  }
  instances.push({ module, softhsm2Conf });
  loaded.set(path, instances);
  return module;
}

/** A token label as PKCS#11 stores it: 32 bytes, blank padded. */
export function paddedLabel(label: string): string {
  if (Buffer.byteLength(label) > 32) throw new KeyringError(`the token label ${JSON.stringify(label)} is longer than 32 bytes`);
  return label.padEnd(32, ' ');
}

export function trimLabel(label: string): string {
  return label.replace(/[\0 ]+$/, '');
}

/** What a failed HSM call means for kmipd. */
export type Failure =
  /** The session or login is gone: reconnect and retry once. */
  | 'session'
  /** The HSM refused to authenticate us (PIN). */
  | 'login'
  /** The data did not decrypt: altered, moved, or sealed under another key. */
  | 'integrity'
  /** Anything else: the HSM failed the request. */
  | 'hsm';

/** The one table from PKCS#11 return values to kmipd's handling. */
const FAILURES = new Map<number, Failure>([
  [P.CKR_SESSION_HANDLE_INVALID, 'session'],
  [P.CKR_SESSION_CLOSED, 'session'],
  [P.CKR_USER_NOT_LOGGED_IN, 'session'],
  [P.CKR_DEVICE_REMOVED, 'session'],
  [P.CKR_TOKEN_NOT_PRESENT, 'session'],
  [P.CKR_OBJECT_HANDLE_INVALID, 'session'],
  [P.CKR_KEY_HANDLE_INVALID, 'session'],
  [P.CKR_CRYPTOKI_NOT_INITIALIZED, 'session'],
  [P.CKR_PIN_INCORRECT, 'login'],
  [P.CKR_PIN_INVALID, 'login'],
  [P.CKR_PIN_LEN_RANGE, 'login'],
  [P.CKR_PIN_EXPIRED, 'login'],
  [P.CKR_PIN_LOCKED, 'login'],
  [P.CKR_USER_PIN_NOT_INITIALIZED, 'login'],
  [P.CKR_ENCRYPTED_DATA_INVALID, 'integrity'],
  [P.CKR_ENCRYPTED_DATA_LEN_RANGE, 'integrity'],
  // SoftHSM2 answers a failed AES-GCM tag check with CKR_GENERAL_ERROR.
  [P.CKR_GENERAL_ERROR, 'integrity'],
]);

export function failureOf(err: unknown): Failure {
  return err instanceof P.Pkcs11Error ? (FAILURES.get(err.code) ?? 'hsm') : 'hsm';
}

/** `CKR_PIN_INCORRECT` and the like, never a stack or data. */
export function describe(err: unknown): string {
  if (err instanceof P.Pkcs11Error) return err.message.split('\n')[0] ?? `PKCS#11 error ${err.code}`;
  return err instanceof Error ? err.message.split('\n')[0] ?? err.name : String(err);
}

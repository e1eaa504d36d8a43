/**
 * The keyring a configuration names: `pkcs11` (the master key in an HSM) or `software` (a master
 * key file, development only, announced by a warning in the log and in Query → Server Information).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { KmipdConfig } from '../config/config.js';
import { Pkcs11Keyring } from './pkcs11.js';
import { SOFTWARE_KEYSTORE_WARNING, openSoftwareKeyring } from './software.js';
import { type Keyring, KeyringError } from './types.js';

export interface OpenedKeyring {
  keyring: Keyring;
  /** Said at start and in Query → Server Information. */
  warnings: string[];
  close(): void;
}

export async function openKeyring(config: KmipdConfig, logger?: Logger): Promise<OpenedKeyring> {
  const k = config.keyring;
  if (k.provider === 'software') {
    return { keyring: openSoftwareKeyring(config.dataDir), warnings: [SOFTWARE_KEYSTORE_WARNING], close: () => {} };
  }
  const keyring = await openPkcs11Keyring(config, logger);
  return { keyring, warnings: [], close: () => keyring.close() };
}

/** The configured PKCS#11 keyring; a KeyringError saying what is missing or refused. */
export async function openPkcs11Keyring(config: KmipdConfig, logger?: Logger, options: { refreshMs?: number; createIfMissing?: boolean } = {}): Promise<Pkcs11Keyring> {
  const k = config.keyring;
  if (k.module === null) throw new KeyringError('config: keyring.module is required for the pkcs11 keyring');
  return Pkcs11Keyring.open({
    module: k.module,
    pin: readPin(config),
    ...(k.softhsm2Conf !== null ? { softhsm2Conf: k.softhsm2Conf } : {}),
    ...(k.tokenLabel !== null ? { tokenLabel: k.tokenLabel } : {}),
    ...(k.slot !== null ? { slot: k.slot } : {}),
    ...(logger ? { logger } : {}),
    ...options,
  });
}

/** The PIN from keyring.pinFile (first line) or the environment variable keyring.pinEnv; never from the config itself. */
export function readPin(config: KmipdConfig, env: NodeJS.ProcessEnv = process.env): string {
  const k = config.keyring;
  if (k.pinFile !== null) {
    let text: string;
    try {
      text = readFileSync(k.pinFile, 'utf8');
    } catch (err) {
      throw new KeyringError(`cannot read the HSM PIN file ${k.pinFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    const pin = text.split(/\r?\n/)[0] ?? '';
    if (pin === '') throw new KeyringError(`the HSM PIN file ${k.pinFile} is empty`);
    return pin;
  }
  if (k.pinEnv !== null) {
    const pin = env[k.pinEnv];
    if (pin === undefined || pin === '') throw new KeyringError(`the environment variable ${k.pinEnv} (keyring.pinEnv) holding the HSM PIN is not set`);
    return pin;
  }
  throw new KeyringError('config: the pkcs11 keyring needs keyring.pinFile or keyring.pinEnv');
}

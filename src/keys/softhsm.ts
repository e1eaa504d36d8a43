/**
 * Setting up SoftHSM2 for kmipd (`kmipd init`): a token directory inside the data directory with
 * its own softhsm2.conf (so no root-owned global token directory is needed), a token with random
 * SO and user PINs written to 0600 files, and master key generation 1 generated inside it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { P, SOFTHSM2_MODULE, describe, loadModule, paddedLabel, trimLabel } from './pkcs11-module.js';
import { Pkcs11Keyring } from './pkcs11.js';
import { KeyringError } from './types.js';

export const PIN_FILE = 'hsm.pin';
export const SO_PIN_FILE = 'hsm-so.pin';
export const SOFTHSM_DIR = 'softhsm2';

export function softHsmInstalled(module = SOFTHSM2_MODULE): boolean {
  return existsSync(module);
}

export interface SoftHsmSetup {
  module: string;
  softhsm2Conf: string;
  tokenLabel: string;
  pinFile: string;
  soPinFile: string;
  generation: number;
}

/**
 * A new token for kmipd with its master key. `softhsm2Conf` names an existing SoftHSM2
 * configuration to add the token to; by default one is written in `<dataDir>/softhsm2/`.
 */
export async function provisionSoftHsm(dataDir: string, options: { module?: string; softhsm2Conf?: string } = {}): Promise<SoftHsmSetup> {
  const modulePath = options.module ?? SOFTHSM2_MODULE;
  let conf = options.softhsm2Conf;
  if (conf === undefined) {
    const dir = join(dataDir, SOFTHSM_DIR);
    await mkdir(join(dir, 'tokens'), { recursive: true, mode: 0o700 });
    conf = join(dir, 'softhsm2.conf');
    await writeFile(conf, `# Written by kmipd init: kmipd's own SoftHSM2 token directory.\ndirectories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`, { mode: 0o600 });
  }
  const module = loadModule(modulePath, conf);
  const tokenLabel = `kmipd-${randomBytes(6).toString('hex')}`;
  const soPin = randomBytes(18).toString('base64url');
  const pin = randomBytes(18).toString('base64url');
  const free = module.C_GetSlotList(false).find((slot) => (module.C_GetTokenInfo(slot).flags & P.CKF_TOKEN_INITIALIZED) === 0);
  if (free === undefined) throw new KeyringError(`SoftHSM2 (${conf}) offers no free slot for a new token`);
  try {
    module.C_InitToken(free, soPin, paddedLabel(tokenLabel));
    const slot = module.C_GetSlotList(true).find((s) => trimLabel(module.C_GetTokenInfo(s).label) === tokenLabel);
    if (slot === undefined) throw new KeyringError(`the new token ${tokenLabel} did not appear in SoftHSM2`);
    const session = module.C_OpenSession(slot, P.CKF_SERIAL_SESSION | P.CKF_RW_SESSION);
    try {
      module.C_Login(session, P.CKU_SO, soPin);
      module.C_InitPIN(session, pin);
      module.C_Logout(session);
    } finally {
      module.C_CloseSession(session);
    }
  } catch (err) {
    if (err instanceof KeyringError) throw err;
    throw new KeyringError(`cannot initialise a SoftHSM2 token: ${describe(err)}`);
  }
  const pinFile = join(dataDir, PIN_FILE);
  const soPinFile = join(dataDir, SO_PIN_FILE);
  await writeFile(pinFile, `${pin}\n`, { mode: 0o600 });
  await writeFile(soPinFile, `${soPin}\n`, { mode: 0o600 });
  await chmod(pinFile, 0o600);
  await chmod(soPinFile, 0o600);
  const keyring = await Pkcs11Keyring.open({ module: modulePath, softhsm2Conf: conf, tokenLabel, pin, createIfMissing: true, refreshMs: 0 });
  const generation = keyring.generation;
  keyring.close();
  return { module: modulePath, softhsm2Conf: conf, tokenLabel, pinFile, soPinFile, generation };
}

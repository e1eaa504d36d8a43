/**
 * Master-key rotation, online: a new master key is generated in the HSM, then every stored blob
 * is re-sealed under it, page by page, each page in its own small transaction, while servers
 * sharing the database keep serving. Servers notice the new key within a second (the keyring
 * looks for it on the token, and at once when they read a blob sealed under it) and seal under it
 * from then on; blobs they wrote under the old key meanwhile are caught by the next pass. The job
 * ends after a full pass that re-sealed nothing.
 *
 * Each blob names the generation that sealed it, so unsealing never guesses and a pass skips
 * blobs already done. `<dataDir>/master-key-rotation.json` records the generation being rolled
 * out: an interrupted job run again resumes with that key instead of making another. Old master
 * keys stay on the token (a node that is down during the rotation can still read its blobs).
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ObjectStore } from '../store/types.js';
import { Pkcs11Keyring } from './pkcs11.js';
import { KeyringError } from './types.js';

export const ROTATION_STATE_FILE = 'master-key-rotation.json';

export interface RotationOptions {
  keyring: Pkcs11Keyring;
  store: ObjectStore;
  /** Where the generation being rolled out is recorded until the job ends. */
  stateFile: string;
  logger?: Logger;
  /** Blobs per transaction (default 100). */
  pageSize?: number;
  /** Passes continue at least this long after the new key exists, so every server has switched (default 3000 ms: three of their refreshes). */
  settleMs?: number;
  /** Give up after this many passes that still found old blobs (default 100). */
  maxPasses?: number;
  /** Called after each page (progress; tests interrupt the job here). */
  afterPage?: (page: { pass: number; resealed: number }) => void | Promise<void>;
}

export interface RotationResult {
  generation: number;
  /** The job continued an interrupted one. */
  resumed: boolean;
  resealed: number;
  passes: number;
  /** Objects whose blob failed to unseal (altered): left as they were, and reported. */
  unreadable: string[];
}

export async function rotateMasterKey(options: RotationOptions): Promise<RotationResult> {
  const { keyring, store, stateFile, logger } = options;
  const pageSize = options.pageSize ?? 100;
  const settleMs = options.settleMs ?? 3000;
  const maxPasses = options.maxPasses ?? 100;

  const pending = readState(stateFile);
  await keyring.refresh();
  const resumed = pending !== undefined && keyring.newestGeneration() >= pending;
  const generation = resumed ? pending : await keyring.createMasterKey();
  if (!resumed) writeFileSync(stateFile, JSON.stringify({ generation, started: new Date().toISOString() }) + '\n', { mode: 0o600 });
  await keyring.useGeneration(generation);
  logger?.info({ generation, resumed }, 'master-key rotation: re-sealing under the new master key');
  const since = Date.now();

  const unreadable = new Set<string>();
  let resealed = 0;
  for (let pass = 1; ; pass++) {
    let cursor: number | undefined;
    let found = 0;
    do {
      const page = await store.transaction((tx) =>
        tx.resealValues(cursor, pageSize, async (uid, sealed) => {
          if (Pkcs11Keyring.generationOf(sealed) === generation || unreadable.has(uid)) return undefined;
          let plain: Uint8Array;
          try {
            plain = await keyring.unseal(uid, sealed);
          } catch (err) {
            if (!(err instanceof KeyringError)) throw err;
            unreadable.add(uid);
            logger?.error({ uid, err: err.message }, 'master-key rotation: a blob failed to unseal and was left as it is');
            return undefined;
          }
          try {
            return await keyring.seal(uid, plain);
          } finally {
            plain.fill(0);
          }
        }),
      );
      cursor = page.cursor;
      found += page.replaced;
      await options.afterPage?.({ pass, resealed: page.replaced });
    } while (cursor !== undefined);
    resealed += found;
    logger?.info({ generation, pass, resealed: found }, 'master-key rotation: pass done');
    const settled = Date.now() - since >= settleMs;
    if (found === 0 && settled) {
      rmSync(stateFile, { force: true });
      return { generation, resumed, resealed, passes: pass, unreadable: [...unreadable] };
    }
    if (pass >= maxPasses) throw new KeyringError(`master-key rotation: blobs under an older master key still appear after ${pass} passes; is a server unable to reach the HSM? Run the job again to resume`);
    await sleep(found === 0 ? Math.max(0, settleMs - (Date.now() - since)) : 200);
  }
}

function readState(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as { generation?: unknown };
  if (typeof state.generation !== 'number' || !Number.isInteger(state.generation)) throw new KeyringError(`${file} is not a rotation record; remove it to start a new rotation`);
  return state.generation;
}

/**
 * `kmipd audit`: the node's audit signing key, on the server side (the keyring is needed).
 *
 * - public-key: prints the PEM of the key that signs this node's checkpoints (generated in the
 *   HSM, or as a 0600 file with the software keyring, when there is none yet). Give it to
 *   `kmipctl audit verify --public-key`.
 * - rotate-key: generates the next key; a running server announces it in a checkpoint signed with
 *   the old key (so verifiers holding the old key follow) and signs with it from then on.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { CONFIG_FILE_NAME, ConfigError, type KmipdConfig, loadConfig } from '../config/config.js';
import { openKeyring } from '../keys/index.js';
import { archiveAudit } from '../audit/archive.js';
import { openStore } from '../store/index.js';
import { storeConfig } from '../server/kmipd.js';
import type { Io } from './kmipd.js';

export const AUDIT_HELP = `Usage: kmipd audit <command> [options]

Commands:
  public-key   Print the PEM public key of this node's audit signing key (creating the key
               if there is none): what 'kmipctl audit verify --public-key' trusts
  rotate-key   Generate the next audit signing key. A running server announces it in a
               checkpoint signed with the current key, then signs with the new one.
  archive      Move the records up to a checkpoint into a JSON Lines file and delete them from
               the database: --through SEQ (rounded down to a checkpoint) --out FILE. The file
               verifies on its own (kmipctl audit verify --file), and what stays in the database
               still verifies, from the signed checkpoint the archive ends at.

Options:
  --data-dir DIR     Data directory (default ./data, or KMIPD_DATA_DIR)
  --config FILE      Config file (default DIR/${CONFIG_FILE_NAME})
  --set PATH=VALUE   Override one config field (repeatable)
  -h, --help         Show this help

Verifying, exporting and following the chain are client-side and offline: kmipctl audit --help.
`;

export async function auditCommand(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  let args;
  try {
    args = parseArgs({
      args: rest,
      options: {
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        set: { type: 'string', multiple: true },
        through: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    io.stderr.write(`kmipd audit: ${(err as Error).message}\n\n${AUDIT_HELP}`);
    return 2;
  }
  if (name === '-h' || name === '--help' || args.help) {
    io.stdout.write(AUDIT_HELP);
    return 0;
  }
  if (name !== 'public-key' && name !== 'rotate-key' && name !== 'archive') {
    io.stderr.write(`kmipd audit: ${name === undefined ? 'which command? public-key, rotate-key or archive' : `unknown command '${name}'`}\n\n${AUDIT_HELP}`);
    return 2;
  }
  let config: KmipdConfig;
  try {
    config = loadConfig({ dataDir: resolve(args['data-dir'] ?? process.env.KMIPD_DATA_DIR ?? './data'), ...(args.config ? { file: args.config } : {}), overrides: args.set ?? [] });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return 1;
  }
  if (name === 'archive') {
    const through = Number(args.through);
    if (args.through === undefined || !Number.isSafeInteger(through) || through < 1 || args.out === undefined) {
      io.stderr.write(`kmipd audit archive: give --through SEQ (a whole number) and --out FILE\n\n${AUDIT_HELP}`);
      return 2;
    }
    try {
      const store = await openStore(storeConfig(config));
      try {
        const result = await archiveAudit(store, through, args.out);
        io.stdout.write(`archived ${result.records} records (seq ${result.from} to ${result.through}, signed by the checkpoint of ${result.checkpointTime}) to ${args.out}\n`);
      } finally {
        await store.close();
      }
      return 0;
    } catch (err) {
      io.stderr.write(`kmipd audit archive: ${(err as Error).message}\n`);
      return 1;
    }
  }
  let opened;
  try {
    opened = await openKeyring(config, pino({ level: 'warn' }, pino.destination(2)));
  } catch (err) {
    io.stderr.write(`kmipd audit ${name}: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const signing = opened.keyring.signing;
    if (!signing) throw new Error(`the ${opened.keyring.kind} keyring has no audit signing keys`);
    if (name === 'public-key') {
      const key = await signing.newest();
      io.stdout.write(key.publicKeyPem);
      io.stderr.write(`audit signing key generation ${key.generation}, key id ${key.keyId}${opened.keyring.kind === 'software' ? ' (software keystore: development only)' : ' (in the HSM)'}\n`);
    } else {
      const key = await signing.create();
      io.stdout.write(key.publicKeyPem);
      io.stderr.write(`created audit signing key generation ${key.generation}, key id ${key.keyId}; running servers switch to it at their next checkpoint\n`);
    }
    return 0;
  } catch (err) {
    io.stderr.write(`kmipd audit ${name}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    opened.close();
  }
}

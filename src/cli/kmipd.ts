/**
 * `kmipd`: the server and its admin commands.
 *   kmipd init   — create a data directory with a development PKI and a config
 *   kmipd serve  — run the KMIP server
 *   kmipd rotate-master-key — a new HSM master key, everything re-sealed online
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { LogSink } from '../server/log-sink.js';
import { CONFIG_FILE_NAME, ConfigError, type KmipdConfig, loadConfig } from '../config/config.js';
import { availableParallelism } from 'node:os';
import { isClusterPrimary, runPrimary, workerTicketKeys } from '../server/cluster.js';
import { startKmipd } from '../server/kmipd.js';
import { VERSION } from '../version.js';
import { runInit } from './init.js';
import { auditCommand } from './kmipd-audit.js';
import { openPkcs11Keyring } from '../keys/index.js';
import { ROTATION_STATE_FILE, rotateMasterKey } from '../keys/rotation.js';
import { openStore } from '../store/index.js';
import { storeConfig } from '../server/kmipd.js';

export interface Io {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const HELP = `kmipd ${VERSION} — KMIP key management server

Usage: kmipd <command> [options]

Commands:
  init    Create a data directory: a development PKI and a kmipd.yaml (kmipd init --help)
  serve   Run the server: KMIP over mutual TLS (port 5696) and HTTPS (kmipd serve --help)
  rotate-master-key
          Generate a new master key in the HSM and re-seal every stored key under it, while
          servers keep running (kmipd rotate-master-key --help)
  audit   The audit log: print the signing key's public key, rotate the key, archive old
          records (kmipd audit --help)

Options:
  -h, --help      Show this help
  -v, --version   Show the version
`;

const SERVE_HELP = `Usage: kmipd serve [options]

Runs KMIP over mutual TLS (binary TTLV, default 127.0.0.1:5696) and the KMIP HTTPS profile
(POST /kmip with TTLV, JSON or XML; GET /health; default port 5697).

Options:
  --data-dir DIR     Data directory (default ./data, or KMIPD_DATA_DIR)
  --config FILE      Config file (default DIR/${CONFIG_FILE_NAME})
  --set PATH=VALUE   Override one config field, e.g. --set listen.port=5700 (repeatable)
  --init             Run 'kmipd init' first if the data directory has no config
  -h, --help         Show this help

Every config field can also be set from the environment: KMIPD_LISTEN_PORT=5700,
KMIPD_TLS_IDENTITY=san, KMIPD_LOG_LEVEL=debug. Precedence: defaults < file < environment < flags.
SIGTERM or SIGINT stops accepting, lets in-flight requests finish, then exits.
`;

export async function main(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'init':
      return runInit(rest, io);
    case 'serve':
      return serve(rest, io);
    case 'rotate-master-key':
      return rotate(rest, io);
    case 'audit':
      return auditCommand(rest, io);
    case '-v':
    case '--version':
      io.stdout.write(`${VERSION}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.stdout.write(HELP);
      return 0;
    default:
      io.stderr.write(`kmipd: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

const ROTATE_HELP = `Usage: kmipd rotate-master-key [options]

Generates a new AES-256 master key inside the HSM (pkcs11 keyring) and re-seals every stored key
under it, a page at a time, while servers sharing the database keep serving: they switch to the
new key within a second. Interrupted (Ctrl-C, crash), run it again: it resumes with the same new
key (recorded in DIR/${ROTATION_STATE_FILE}). Old master keys stay on the token.

Options:
  --data-dir DIR     Data directory (default ./data, or KMIPD_DATA_DIR)
  --config FILE      Config file (default DIR/${CONFIG_FILE_NAME})
  --set PATH=VALUE   Override one config field (repeatable)
  -h, --help         Show this help
`;

async function rotate(argv: string[], io: Io): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { 'data-dir': { type: 'string' }, config: { type: 'string' }, set: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
    }).values;
  } catch (err) {
    io.stderr.write(`kmipd rotate-master-key: ${(err as Error).message}\n\n${ROTATE_HELP}`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(ROTATE_HELP);
    return 0;
  }
  const dataDir = resolve(args['data-dir'] ?? process.env.KMIPD_DATA_DIR ?? './data');
  const config = configOrReport(dataDir, args, io);
  if (config === undefined) return 1;
  if (config.keyring.provider !== 'pkcs11') {
    io.stderr.write('kmipd rotate-master-key: the keyring is the software one (a master key file); rotation needs keyring.provider pkcs11\n');
    return 1;
  }
  const logger = pino({ level: config.log.level === 'info' ? 'warn' : config.log.level }, pino.destination(2));
  let keyring;
  try {
    // A token without a master key yet (an HSM set up by hand) gets one here.
    keyring = await openPkcs11Keyring(config, logger, { refreshMs: 0, createIfMissing: true });
  } catch (err) {
    io.stderr.write(`kmipd rotate-master-key: ${(err as Error).message}\n`);
    return 1;
  }
  const store = await openStore(storeConfig(config));
  try {
    const before = keyring.newestGeneration();
    const result = await rotateMasterKey({
      keyring,
      store,
      stateFile: join(config.dataDir, ROTATION_STATE_FILE),
      logger,
      afterPage: ({ pass, resealed }) => {
        if (resealed > 0) io.stderr.write(`  pass ${pass}: re-sealed ${resealed}\n`);
      },
    });
    io.stdout.write(
      `${result.resumed ? 'Resumed and finished' : 'Finished'} the rotation to master key generation ${result.generation}` +
        `${result.resumed ? '' : ` (was ${before})`}: ${result.resealed} keys re-sealed in ${result.passes} passes.\n`,
    );
    if (result.unreadable.length > 0) {
      io.stdout.write(`${result.unreadable.length} objects failed to unseal (altered?) and were left as they were: ${result.unreadable.join(', ')}\n`);
      return 1;
    }
    return 0;
  } catch (err) {
    io.stderr.write(`kmipd rotate-master-key: ${(err as Error).message}\nRun it again to resume.\n`);
    return 1;
  } finally {
    await store.close();
    keyring.close();
  }
}

async function serve(argv: string[], io: Io): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        'data-dir': { type: 'string' },
        config: { type: 'string' },
        set: { type: 'string', multiple: true },
        init: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    io.stderr.write(`kmipd serve: ${(err as Error).message}\n\n${SERVE_HELP}`);
    return 2;
  }
  if (args.help) {
    io.stdout.write(SERVE_HELP);
    return 0;
  }
  const dataDir = resolve(args['data-dir'] ?? process.env.KMIPD_DATA_DIR ?? './data');
  if (!args.config && !existsSync(join(dataDir, CONFIG_FILE_NAME))) {
    if (!args.init) {
      io.stderr.write(`kmipd serve: ${dataDir} has no ${CONFIG_FILE_NAME}. Run 'kmipd init --data-dir ${dataDir}' first, or 'kmipd serve --init'.\n`);
      return 1;
    }
    const code = await runInit(['--data-dir', dataDir], io);
    if (code !== 0) return code;
  }
  const config = configOrReport(dataDir, args, io);
  if (config === undefined) return 1;
  // Asynchronous, coalesced writes (see log-sink.ts): a write per request line would cost more
  // than the request itself. Flushed before exit.
  const destination = LogSink.open(config.log.file ?? 1);
  const logger = pino({ level: config.log.level, base: { node: config.nodeId, pid: process.pid } }, destination);
  const workers = config.workers === 0 ? availableParallelism() : config.workers;
  if (isClusterPrimary(workers)) {
    const code = await runPrimary(workers, logger);
    await destination.flush();
    return code;
  }
  let server;
  try {
    const ticketKeys = workerTicketKeys();
    server = await startKmipd({ config, logger, ...(ticketKeys ? { ticketKeys } : {}) });
  } catch (err) {
    logger.fatal({ err }, 'kmipd could not start');
    destination.flushSync();
    io.stderr.write(`kmipd serve: could not start: ${(err as Error).message}\n`);
    return 1;
  }
  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
      void server
        .close(config.limits.requestTimeoutMs)
        .then(() => {
          logger.info('stopped');
          return destination.flush();
        })
        .then(() => resolveExit(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2), process).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`kmipd: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}

/** The configuration, or undefined after writing why it is invalid. */
function configOrReport(dataDir: string, args: { config?: string | undefined; set?: string[] | undefined }, io: Io): KmipdConfig | undefined {
  try {
    return loadConfig({ dataDir, ...(args.config ? { file: args.config } : {}), overrides: args.set ?? [] });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr.write(`${err.message}\n`);
    return undefined;
  }
}

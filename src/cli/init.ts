/**
 * `kmipd init`: a data directory a server can start from — a development PKI (CA, server
 * certificate, client certificates) and a commented kmipd.yaml whose values are the defaults
 * and point at those files.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_FILE_NAME, configTemplate } from '../config/config.js';
import { MASTER_KEY_FILE } from '../keys/software.js';
import { type SoftHsmSetup, provisionSoftHsm, softHsmInstalled } from '../keys/softhsm.js';
import { SOFTHSM2_MODULE } from '../keys/pkcs11-module.js';
import { DEFAULT_CLIENT_NAMES, DEFAULT_SERVER_NAMES, checkClientName, createDevPki, writeDevPki, type DevPkiFiles } from '../pki/devpki.js';

export interface InitIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const HELP = `Usage: kmipd init [options]

Creates a data directory (mode 0700) holding a development PKI and a commented ${CONFIG_FILE_NAME}.

Options:
  --data-dir DIR       Where to write (default ./data, or KMIPD_DATA_DIR)
  --rsa                RSA-2048 keys instead of ECDSA P-256 (for clients limited to RSA suites)
  --server-name NAME   A DNS name or IP address for the server certificate, in addition to
                       localhost, 127.0.0.1 and ::1; the first one given becomes its CN (repeatable)
  --client NAME        Issue a client certificate with CN=NAME (repeatable; default: kmipctl)
  --keyring KIND       pkcs11: a SoftHSM2 token in DIR/softhsm2 holding an AES-256 master key
                       generated inside it (the default when SoftHSM2 is installed); software:
                       a master key file (development only; the default otherwise)
  --softhsm2-conf FILE Put the token in this existing SoftHSM2 configuration instead
  --force              Overwrite an initialised directory (its CA and keys are replaced)
  -h, --help           Show this help
`;

/** Files whose presence means the directory was initialised before. */
const MARKERS = [CONFIG_FILE_NAME, 'ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem'];

interface InitArgs {
  dataDir: string;
  rsa: boolean;
  serverNames: string[];
  clients: string[];
  force: boolean;
  keyring: 'software' | 'pkcs11';
  softhsm2Conf: string | undefined;
}

export async function runInit(argv: string[], io: InitIo): Promise<number> {
  let args: InitArgs | 'help';
  try {
    args = parseInitArgs(argv);
  } catch (err) {
    io.stderr.write(`kmipd init: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args === 'help') {
    io.stdout.write(HELP);
    return 0;
  }

  const { dataDir } = args;
  const found = MARKERS.filter((name) => existsSync(join(dataDir, name)));
  if (found.length > 0 && !args.force) {
    io.stderr.write(
      `kmipd init: ${dataDir} is already initialised (it has ${found.join(', ')}); nothing was changed.\n` +
        `Use --force to replace its CA, certificates, keys and ${CONFIG_FILE_NAME}.\n`,
    );
    return 1;
  }

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  const pki = await createDevPki({ algorithm: args.rsa ? 'rsa' : 'ec', serverNames: args.serverNames, clientNames: args.clients });
  const files = await writeDevPki(dataDir, pki);

  let hsm: SoftHsmSetup | undefined;
  if (args.keyring === 'pkcs11') {
    try {
      hsm = await provisionSoftHsm(dataDir, args.softhsm2Conf === undefined ? {} : { softhsm2Conf: args.softhsm2Conf });
    } catch (err) {
      io.stderr.write(`kmipd init: cannot set up the SoftHSM2 keyring: ${(err as Error).message}\nUse --keyring software for a development master key file instead.\n`);
      return 1;
    }
  }

  const configFile = join(dataDir, CONFIG_FILE_NAME);
  await writeFile(configFile, configTemplate({ ...configValues(dataDir, files), ...keyringValues(dataDir, hsm) }, configHeader(args)), { mode: 0o644 });
  io.stdout.write(report(args, files, configFile) + keyringReport(args, hsm));
  return 0;
}

function parseInitArgs(argv: string[]): InitArgs | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      rsa: { type: 'boolean' },
      'server-name': { type: 'string', multiple: true },
      client: { type: 'string', multiple: true },
      force: { type: 'boolean' },
      keyring: { type: 'string' },
      'softhsm2-conf': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const clients = values.client ?? DEFAULT_CLIENT_NAMES;
  clients.forEach(checkClientName);
  if (new Set(clients).size !== clients.length) throw new Error('a client name is given twice');
  const keyring = values.keyring ?? (softHsmInstalled() ? 'pkcs11' : 'software');
  if (keyring !== 'pkcs11' && keyring !== 'software') throw new Error(`--keyring must be pkcs11 or software, not ${JSON.stringify(keyring)}`);
  if (keyring === 'pkcs11' && !softHsmInstalled()) throw new Error(`--keyring pkcs11 sets up SoftHSM2, whose module ${SOFTHSM2_MODULE} is not installed (Debian package softhsm2)`);
  return {
    keyring,
    softhsm2Conf: values['softhsm2-conf'] === undefined ? undefined : resolve(values['softhsm2-conf']),
    dataDir: resolve(values['data-dir'] ?? process.env.KMIPD_DATA_DIR ?? './data'),
    rsa: values.rsa ?? false,
    serverNames: [...new Set([...(values['server-name'] ?? []), ...DEFAULT_SERVER_NAMES])],
    clients,
    force: values.force ?? false,
  };
}

/** The config points at the PKI by paths relative to itself, so the directory can be moved. */
function configValues(dataDir: string, files: DevPkiFiles): Record<string, unknown> {
  return {
    dataDir: '.',
    'tls.cert': relative(dataDir, files.server),
    'tls.key': relative(dataDir, files.serverKey),
    'tls.ca': relative(dataDir, files.ca),
  };
}

/** The keyring section: the token by label, the PIN by a file beside the config, never the PIN itself. */
function keyringValues(dataDir: string, hsm: SoftHsmSetup | undefined): Record<string, unknown> {
  if (hsm === undefined) return { 'keyring.provider': 'software' };
  const path = (p: string): string => (p.startsWith(dataDir + sep) ? relative(dataDir, p) : p);
  return {
    'keyring.provider': 'pkcs11',
    'keyring.module': hsm.module,
    'keyring.tokenLabel': hsm.tokenLabel,
    'keyring.pinFile': path(hsm.pinFile),
    'keyring.softhsm2Conf': path(hsm.softhsm2Conf),
  };
}

function keyringReport(args: InitArgs, hsm: SoftHsmSetup | undefined): string {
  if (hsm === undefined) {
    const why = args.keyring === 'software' && !softHsmInstalled() ? ` (SoftHSM2 is not installed: no ${SOFTHSM2_MODULE})` : '';
    return [
      `Keyring: software${why}: the master key is the file ${join(args.dataDir, MASTER_KEY_FILE)} (created 0600 at first start).`,
      'DEVELOPMENT ONLY: anyone who can read that file and the database has every key. kmipd warns at start and in Query.',
      '',
    ].join('\n');
  }
  return [
    `Keyring: pkcs11 (SoftHSM2, ${hsm.module}), token '${hsm.tokenLabel}' configured by ${hsm.softhsm2Conf}:`,
    `  master key generation ${hsm.generation} generated inside the token (AES-256, sensitive, not extractable)`,
    `  ${hsm.pinFile}  (the token's user PIN, 0600)`,
    `  ${hsm.soPinFile}  (the token's security officer PIN, 0600; keep it offline)`,
    '',
  ].join('\n');
}

function configHeader(args: InitArgs): string[] {
  return [
    `kmipd configuration, written by 'kmipd init' on ${new Date().toISOString()}.`,
    'Values are the defaults; tls points at the files init wrote. Relative paths resolve against dataDir,',
    "and dataDir against this file's folder. Each field can also be set as KMIPD_<PATH> in the environment",
    '(KMIPD_LISTEN_PORT=5700) or with --set path=value (--set listen.port=5700).',
    '',
    `The TLS files below are a DEVELOPMENT PKI (${args.rsa ? 'RSA-2048' : 'ECDSA P-256'}) whose CA key lies next to them:`,
    'replace them with certificates from your own CA before real keys go in.',
  ];
}

function report(args: InitArgs, files: DevPkiFiles, configFile: string): string {
  const lines = [
    `Initialised ${args.dataDir} (mode 0700) with a development PKI (${args.rsa ? 'RSA-2048' : 'ECDSA P-256'}):`,
    `  ${configFile}`,
    `  ${files.ca}  (CA certificate; clients trust it)`,
    `  ${files.caKey}  (CA private key, 0600)`,
    `  ${files.server}  (server certificate for ${args.serverNames.join(', ')})`,
    `  ${files.serverKey}  (server private key, 0600)`,
  ];
  for (const client of files.clients) {
    lines.push(`  ${client.cert}  (client certificate, CN=${client.name})`, `  ${client.key}  (client private key, 0600)`);
  }
  for (const client of files.clients) {
    lines.push('', `Credentials for client '${client.name}' (kmipctl or any KMIP client):`);
    lines.push(`  certificate  ${client.cert}`, `  key          ${client.key}`, `  CA to trust  ${files.ca}`);
  }
  lines.push(
    '',
    'This PKI is for development only: its CA key is stored unprotected next to the certificates.',
    `Start the server with: kmipd serve --data-dir ${args.dataDir}`,
    '',
  );
  return lines.join('\n');
}

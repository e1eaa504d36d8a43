/**
 * `kmipd init`: a data directory a server can start from — a development PKI (CA, server
 * certificate, client certificates) and a commented kmipd.yaml whose values are the defaults
 * and point at those files.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_FILE_NAME, configTemplate } from '../config/config.js';
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

  // Keyring set-up (the HSM-held master key, src/keys) goes here once it exists: it will add
  // its section to the values below and print its own lines.

  const configFile = join(dataDir, CONFIG_FILE_NAME);
  await writeFile(configFile, configTemplate(configValues(dataDir, files), configHeader(args)), { mode: 0o644 });
  io.stdout.write(report(args, files, configFile));
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
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const clients = values.client ?? DEFAULT_CLIENT_NAMES;
  clients.forEach(checkClientName);
  if (new Set(clients).size !== clients.length) throw new Error('a client name is given twice');
  return {
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

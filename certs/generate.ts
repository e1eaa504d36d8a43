/**
 * Writes a development PKI for kmipd: `npx tsx certs/generate.ts [OUTDIR] [--rsa]
 * [--server-name NAME]... [--client NAME]... [--days N]`. OUTDIR defaults to certs/dev/ (git-ignored).
 * For a data directory with a config as well, use `kmipd init` instead.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_SERVER_NAMES, createDevPki, writeDevPki } from '../src/pki/devpki.js';

const USAGE = 'usage: npx tsx certs/generate.ts [OUTDIR] [--rsa] [--server-name NAME]... [--client NAME]... [--days N]';

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        rsa: { type: 'boolean' },
        'server-name': { type: 'string', multiple: true },
        client: { type: 'string', multiple: true },
        days: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const days = values.days === undefined ? undefined : Number(values.days);
  if (values.help || positionals.length > 1 || (days !== undefined && !(Number.isInteger(days) && days > 0))) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }

  const outDir = positionals[0] === undefined ? fileURLToPath(new URL('./dev/', import.meta.url)) : resolve(positionals[0]);
  const pki = await createDevPki({
    algorithm: values.rsa ? 'rsa' : 'ec',
    serverNames: [...new Set([...(values['server-name'] ?? []), ...DEFAULT_SERVER_NAMES])],
    ...(values.client ? { clientNames: values.client } : {}),
    ...(days === undefined ? {} : { days }),
  });
  const files = await writeDevPki(outDir, pki);
  const written = [files.ca, files.caKey, files.server, files.serverKey, ...files.clients.flatMap((c) => [c.cert, c.key])];
  process.stdout.write(`Wrote a development PKI (${values.rsa ? 'RSA-2048' : 'ECDSA P-256'}) to ${outDir}:\n${written.map((f) => `  ${f}\n`).join('')}`);
  process.stdout.write('For development only: the CA key is stored unprotected next to the certificates.\n');
  return 0;
}

process.exitCode = await main(process.argv.slice(2));

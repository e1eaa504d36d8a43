/**
 * The connection options every kmipctl client command shares, and the connection itself.
 * Certificates default to those `kmipd init` wrote into the data directory.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { KmipClient } from '../client/client.js';
import { KmipError } from '../kmip/errors.js';
import type { ProtocolVersion } from '../kmip/version.js';
import type { Io } from './kmipctl.js';

export const CONNECTION_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'kmip-version': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const CONNECTION_HELP = `Connection:
  --host HOST            Server (default 127.0.0.1, or KMIPCTL_HOST)
  --port PORT            KMIP port (default 5696, or KMIPCTL_PORT)
  --data-dir DIR         Where 'kmipd init' wrote the PKI (default ./data, or KMIPD_DATA_DIR):
                         DIR/ca.pem, DIR/client-kmipctl.pem, DIR/client-kmipctl-key.pem
  --ca FILE --cert FILE --key FILE
                         The CA to trust and this client's certificate and key (override DIR)
  --kmip-version M.N     Protocol version of the requests (default 2.1)
  --json                 Machine-readable output
`;

type Values = { [K in keyof typeof CONNECTION_OPTIONS]?: (typeof CONNECTION_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** Parses a command's argv with the shared options plus its own; a usage error is reported and null returned. */
export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  own: O,
  io: Io,
  usage: string,
): { values: Values & Record<string, unknown>; positionals: string[] } | null {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: { ...CONNECTION_OPTIONS, ...own }, allowPositionals: true });
    return { values: values as Values & Record<string, unknown>, positionals };
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${usage}`);
    return null;
  }
}

export function parseVersion(text: string | undefined): ProtocolVersion | undefined {
  if (text === undefined) return undefined;
  const m = /^(\d+)\.(\d+)$/.exec(text);
  if (!m) throw new Error(`--kmip-version must look like 2.1, not ${JSON.stringify(text)}`);
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export async function connectFrom(values: Values): Promise<KmipClient> {
  const dir = resolve(values['data-dir'] ?? process.env.KMIPD_DATA_DIR ?? './data');
  const version = parseVersion(values['kmip-version']);
  return KmipClient.connect({
    host: values.host ?? process.env.KMIPCTL_HOST ?? '127.0.0.1',
    port: Number(values.port ?? process.env.KMIPCTL_PORT ?? 5696),
    ca: readFileSync(values.ca ?? join(dir, 'ca.pem')),
    cert: readFileSync(values.cert ?? join(dir, 'client-kmipctl.pem')),
    key: readFileSync(values.key ?? join(dir, 'client-kmipctl-key.pem')),
    ...(version ? { version } : {}),
  });
}

/** Runs a client command, turning failures into one clear line and exit code 1. */
export async function withClient(values: Values, io: Io, fn: (client: KmipClient) => Promise<void>): Promise<number> {
  let client: KmipClient | undefined;
  try {
    client = await connectFrom(values);
    await fn(client);
    return 0;
  } catch (err) {
    const e = err as Error & { code?: string };
    const what = err instanceof KmipError ? `${err.reason}: ${err.message}` : e.code ? `${e.code}: ${e.message}` : e.message;
    io.stderr.write(`kmipctl: ${what}\n`);
    return 1;
  } finally {
    await client?.close();
  }
}

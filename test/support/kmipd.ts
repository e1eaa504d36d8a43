/**
 * A kmipd for end-to-end tests: a data directory made by `kmipd init`, the server started from its
 * config (SQLite store; the keyring init chooses: SoftHSM2 when installed) on 127.0.0.1:0, and clients over real mutual TLS: the
 * owner (`kmipctl`, from init) and a second identity issued by the same CA.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { KmipClient } from '../../src/client/client.js';
import { runInit } from '../../src/cli/init.js';
import { loadConfig } from '../../src/config/config.js';
import { KmipError } from '../../src/kmip/errors.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { issueCertificate } from '../../src/pki/devpki.js';
import { startKmipd, type Kmipd } from '../../src/server/kmipd.js';
import type { Clock } from '../../src/operations/registry.js';

export interface Credentials {
  cert: Buffer | string;
  key: Buffer | string;
}

export interface TestKmipd {
  readonly dir: string;
  readonly server: Kmipd;
  readonly owner: Credentials;
  readonly other: Credentials;
  connect(version?: ProtocolVersion, who?: Credentials): Promise<KmipClient>;
  close(): Promise<void>;
}

export const V21: ProtocolVersion = { major: 2, minor: 1 };
export const V14: ProtocolVersion = { major: 1, minor: 4 };

export interface TestKmipdOptions {
  /** The server's clock (seconds), for lifecycle dates; default the system clock. */
  clock?: Clock;
  /** More config overrides (`store.client=pg`, …), after the test defaults. */
  overrides?: string[];
  /** `kmipd init --keyring`: default init's own choice (pkcs11 with SoftHSM2 when installed). */
  keyring?: 'software' | 'pkcs11';
  /** Also run the HTTPS transport (POST /kmip) on 127.0.0.1:0; its address is `server.httpsAddress`. */
  https?: boolean;
}

export async function startTestKmipd(prefix: string, otherName: string, options: TestKmipdOptions = {}): Promise<TestKmipd> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const silent = { stdout: { write: () => true }, stderr: { write: () => true } };
  const keyringArgs = options.keyring ? ['--keyring', options.keyring] : [];
  if ((await runInit(['--data-dir', dir, ...keyringArgs], silent)) !== 0) throw new Error('kmipd init failed');
  const config = loadConfig({ dataDir: dir, env: {}, overrides: ['listen.port=0', ...(options.https ? ['https.enabled=true', 'https.host=127.0.0.1', 'https.port=0'] : ['https.enabled=false']), ...(options.overrides ?? [])] });
  const server = await startKmipd({ config, logger: pino({ level: 'silent' }), ...(options.clock ? { clock: options.clock } : {}) });
  const ca = readFileSync(join(dir, 'ca.pem'));
  const owner = { cert: readFileSync(join(dir, 'client-kmipctl.pem')), key: readFileSync(join(dir, 'client-kmipctl-key.pem')) };
  const other = await issueCertificate({ cert: ca.toString(), key: readFileSync(join(dir, 'ca-key.pem'), 'utf8') }, { commonName: otherName, eku: 'client' });
  return {
    dir,
    server,
    owner,
    other,
    connect: (version = V21, who = owner) => KmipClient.connect({ host: '127.0.0.1', port: server.tlsAddress.port, ca, ...who, version }),
    async close() {
      await server.close(1000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The KmipError a request fails with; throws if it succeeds. */
export async function refusal(promise: Promise<unknown>): Promise<KmipError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KmipError) return err;
    throw err;
  }
  throw new Error('expected the operation to fail');
}

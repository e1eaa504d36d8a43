/**
 * kmipctl discover and query against a real kmipd over mutual TLS, with the certificates
 * `kmipd init` wrote, in text and --json forms; and the failure a user sees without a server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import pino from 'pino';
import { runInit } from '../../src/cli/init.js';
import { type Run, runKmipctl } from '../support/kmipctl.js';
import { loadConfig } from '../../src/config/config.js';
import { startKmipd, type Kmipd } from '../../src/server/kmipd.js';

const dir = mkdtempSync(join(tmpdir(), 'kmipctl-'));
let server: Kmipd;

t.before(async () => {
  await runInit(['--data-dir', dir], { stdout: { write: () => true }, stderr: { write: () => true } });
  server = await startKmipd({ config: loadConfig({ dataDir: dir, overrides: ['listen.port=0', 'https.enabled=false'] }), logger: pino({ level: 'silent' }) });
});
t.teardown(async () => {
  await server.close(100);
  rmSync(dir, { recursive: true, force: true });
});

const kmipctl = (...args: string[]): Promise<Run> => runKmipctl(args, { dataDir: dir, port: server.tlsAddress.port });

t.test('kmipctl discover lists the versions, most preferred first', async (t) => {
  const text = await kmipctl('discover');
  t.equal(text.code, 0);
  t.equal(text.out, '2.1\n2.0\n1.4\n1.3\n1.2\n1.1\n1.0\n');
  const json = await kmipctl('discover', '--offer', '1.4,1.2,3.0', '--json');
  t.same(JSON.parse(json.out), { versions: ['1.4', '1.2'] }, '--offer narrows to the shared versions');
});

t.test('kmipctl query prints operations and server information; --json is KMIP JSON', async (t) => {
  const text = await kmipctl('query');
  t.equal(text.code, 0);
  const listed = /^Operations: (.*)$/m.exec(text.out)?.[1]?.split(', ') ?? [];
  for (const op of ['Create', 'Get', 'Locate', 'Destroy', 'Query', 'DiscoverVersions', 'SetAttribute']) t.ok(listed.includes(op), `lists ${op}`);
  t.match(text.out, /VendorIdentification \(0x42009D\) TextString: "kmipd"/);
  const json = await kmipctl('query', 'Operations', '--json', '--kmip-version', '1.0');
  const ops = (JSON.parse(json.out) as { value: string }[]).map((f) => f.value);
  t.ok(ops.includes('Create') && ops.includes('Query'), 'KMIP 1.0 operations are listed');
  for (const newer of ['DiscoverVersions', 'SetAttribute', 'AdjustAttribute']) t.notOk(ops.includes(newer), `KMIP 1.0 has no ${newer}`);
  const bad = await kmipctl('query', 'Bogus');
  t.equal(bad.code, 2);
  t.match(bad.err, /unknown function Bogus/);
});

t.test('without a server, kmipctl says why in one line and exits 1', async (t) => {
  const { code, err } = await runKmipctl(['discover'], { dataDir: dir, port: 1 });
  t.equal(code, 1);
  t.match(err, /^kmipctl: ECONNREFUSED/);
});

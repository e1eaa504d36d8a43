import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { runInit } from '../../src/cli/init.js';
import { loadConfig } from '../../src/config/config.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function init(argv: string[]): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runInit(argv, { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

async function tempDir(t: Test): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kmipd-init-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  return root;
}

function keyType(pem: string): string | undefined {
  return createPrivateKey(pem).asymmetricKeyType;
}

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777;
}

t.test('init creates a data directory that loadConfig turns into a valid config', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const run = await init(['--data-dir', dir]);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stderr, '');
  t.equal(await mode(dir), 0o700, 'the data directory is 0700');

  const config = loadConfig({ dataDir: dir, env: {} });
  t.equal(config.dataDir, dir);
  t.same(config.tls, { cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem'), ca: join(dir, 'ca.pem'), identity: 'cn', minVersion: 'TLSv1.2', sessionTickets: true });
  t.same(config.listen, { host: '127.0.0.1', port: 5696 }, 'values are the defaults');
  for (const file of [config.tls.cert, config.tls.key, config.tls.ca]) t.ok(existsSync(file), `${file} exists`);
  for (const key of [config.tls.key, join(dir, 'ca-key.pem'), join(dir, 'client-kmipctl-key.pem')]) t.equal(await mode(key), 0o600, `${key} is 0600`);

  const server = new X509Certificate(await readFile(config.tls.cert));
  t.ok(server.checkIssued(new X509Certificate(await readFile(config.tls.ca))), 'the server certificate is issued by the configured CA');
  t.equal(keyType(await readFile(config.tls.key, 'utf8')), 'ec', 'ECDSA by default');

  t.match(run.stdout, join(dir, 'client-kmipctl.pem'), 'it says where the kmipctl certificate is');
  t.match(run.stdout, join(dir, 'client-kmipctl-key.pem'), 'and its key');
  t.match(run.stdout, /development only/);
  const yaml = await readFile(join(dir, 'kmipd.yaml'), 'utf8');
  t.match(yaml, /^# .*kmipd init/m, 'the config is commented');
  t.match(yaml, /^dataDir: \.$/m);
  t.match(yaml, /^ {2}cert: server\.pem$/m, 'TLS paths are relative');
});

t.test('a second init without --force refuses and changes nothing; --force replaces the PKI', async (t) => {
  const dir = join(await tempDir(t), 'data');
  t.equal((await init(['--data-dir', dir])).code, 0);
  const ca = await readFile(join(dir, 'ca.pem'), 'utf8');

  const again = await init(['--data-dir', dir]);
  t.equal(again.code, 1);
  t.match(again.stderr, /already initialised/);
  t.match(again.stderr, /--force/);
  t.equal(again.stdout, '');
  t.equal(await readFile(join(dir, 'ca.pem'), 'utf8'), ca, 'the CA is untouched');

  const forced = await init(['--data-dir', dir, '--force']);
  t.equal(forced.code, 0, forced.stderr);
  t.not(await readFile(join(dir, 'ca.pem'), 'utf8'), ca, 'the CA was replaced');
  t.ok(loadConfig({ dataDir: dir, env: {} }));
});

t.test('--rsa, --server-name and --client shape the PKI', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const run = await init(['--data-dir', dir, '--rsa', '--server-name', 'kms.example.test', '--server-name', '10.0.0.5', '--client', 'alice', '--client', 'backup-1']);
  t.equal(run.code, 0, run.stderr);
  const config = loadConfig({ dataDir: dir, env: {} });
  const server = new X509Certificate(await readFile(config.tls.cert));
  t.match(server.subject, /CN=kms\.example\.test/, 'the first --server-name is the CN');
  t.equal(server.subjectAltName, 'DNS:kms.example.test, IP Address:10.0.0.5, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  t.equal(keyType(await readFile(config.tls.key, 'utf8')), 'rsa');
  t.ok(existsSync(join(dir, 'client-alice.pem')));
  t.ok(existsSync(join(dir, 'client-backup-1-key.pem')));
  t.notOk(existsSync(join(dir, 'client-kmipctl.pem')), '--client replaces the default client');
  t.match(run.stdout, /RSA-2048/);
});

t.test('the initialised directory still loads after it is moved', async (t) => {
  const root = await tempDir(t);
  t.equal((await init(['--data-dir', join(root, 'a')])).code, 0);
  await rename(join(root, 'a'), join(root, 'b'));
  const config = loadConfig({ dataDir: join(root, 'b'), env: {} });
  t.equal(config.tls.ca, join(root, 'b', 'ca.pem'));
});

t.test('bad arguments exit 2 with the usage', async (t) => {
  const dir = join(await tempDir(t), 'data');
  for (const argv of [['--data-dir', dir, '--bogus'], ['--data-dir', dir, 'extra'], ['--data-dir', dir, '--client', '../x'], ['--data-dir', dir, '--client', 'a', '--client', 'a']]) {
    const run = await init(argv);
    t.equal(run.code, 2, argv.join(' '));
    t.match(run.stderr, /Usage: kmipd init/);
  }
  t.notOk(existsSync(dir), 'nothing was created');
  const help = await init(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--force/);
});

t.test('init sets up the SoftHSM2 keyring when it is installed: a token in the data directory, its master key, the PIN in a 0600 file and not in the config', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const run = await init(['--data-dir', dir]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /Keyring: pkcs11 \(SoftHSM2, .*libsofthsm2\.so\), token 'kmipd-[0-9a-f]+'/, 'init says which keyring it chose');
  t.match(run.stdout, /master key generation 1 generated inside the token \(AES-256, sensitive, not extractable\)/);
  const config = loadConfig({ dataDir: dir, env: {} });
  t.equal(config.keyring.provider, 'pkcs11');
  t.equal(config.keyring.softhsm2Conf, join(dir, 'softhsm2', 'softhsm2.conf'), 'its own SoftHSM2 configuration, inside the data directory');
  t.match(await readFile(config.keyring.softhsm2Conf!, 'utf8'), `directories.tokendir = ${join(dir, 'softhsm2', 'tokens')}`);
  t.equal(config.keyring.pinFile, join(dir, 'hsm.pin'));
  t.equal(await mode(join(dir, 'hsm.pin')), 0o600);
  t.equal(await mode(join(dir, 'hsm-so.pin')), 0o600);
  const pin = (await readFile(join(dir, 'hsm.pin'), 'utf8')).trim();
  t.notMatch(await readFile(join(dir, 'kmipd.yaml'), 'utf8'), pin, 'the PIN is not in kmipd.yaml');
  t.notOk(existsSync(join(dir, 'master.key')));
});

t.test('init --keyring software writes no token and says the master key file is for development only', async (t) => {
  const dir = join(await tempDir(t), 'data');
  const run = await init(['--data-dir', dir, '--keyring', 'software']);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /Keyring: software: the master key is the file .*master\.key/);
  t.match(run.stdout, /DEVELOPMENT ONLY/);
  t.equal(loadConfig({ dataDir: dir, env: {} }).keyring.provider, 'software');
  t.notOk(existsSync(join(dir, 'softhsm2')));
  const bad = await init(['--data-dir', join(dir, 'x'), '--keyring', 'tpm']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--keyring must be pkcs11 or software/);
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import YAML from 'yaml';
import { ConfigError, configSchema, configTemplate, environmentName, loadConfig, schemaFields, type KmipdConfig } from '../../src/config/config.js';

async function tempDir(t: Test): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kmipd-config-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  return root;
}

/** A data directory holding the three TLS files the defaults name (contents do not matter here). */
async function dataDirWithTls(t: Test, dir?: string): Promise<string> {
  const dataDir = dir ?? join(await tempDir(t), 'data');
  await mkdir(dataDir, { recursive: true });
  for (const name of ['server.pem', 'server-key.pem', 'ca.pem']) await writeFile(join(dataDir, name), 'pem\n');
  return dataDir;
}

function defaults(dataDir: string): KmipdConfig {
  return {
    dataDir,
    nodeId: hostname(),
    listen: { host: '127.0.0.1', port: 5696 },
    https: { enabled: true, host: '127.0.0.1', port: 5697 },
    tls: { cert: join(dataDir, 'server.pem'), key: join(dataDir, 'server-key.pem'), ca: join(dataDir, 'ca.pem'), identity: 'cn', minVersion: 'TLSv1.2', sessionTickets: true },
    limits: { maxMessageSize: 1048576, maxBatchItems: 64, maxConnections: 1024, idleTimeoutMs: 300000, requestTimeoutMs: 30000, handshakeTimeoutMs: 10000, maxDepth: 32 },
    store: { client: 'sqlite3', filename: join(dataDir, 'kmipd.sqlite'), connection: null, schema: null, poolSize: 10 },
    keyring: { provider: 'software', module: null, tokenLabel: null, slot: null, pinFile: null, pinEnv: null, softhsm2Conf: null },
    log: { level: 'info', file: null },
    workers: 1,
    interop: false,
    audit: { enabled: true, checkpointRows: 1000, checkpointSeconds: 10, chainIntervalMs: 250 },
    rng: { seed: 'ignore', seedMaxBytes: 32 },
  };
}

/** The ConfigError's message, or a failure when loading succeeds. */
function errorOf(t: Test, load: () => unknown): string {
  try {
    load();
  } catch (err) {
    t.type(err, ConfigError);
    return (err as Error).message;
  }
  t.fail('expected a ConfigError');
  return '';
}

t.test('with nothing configured every field has its default and paths are absolute under dataDir', async (t) => {
  const dataDir = await dataDirWithTls(t);
  t.same(loadConfig({ dataDir, env: {} }), defaults(dataDir));
});

t.test('the default dataDir is ./data under the working directory', async (t) => {
  const cwd = await tempDir(t);
  const config = loadConfig({ cwd, env: {}, checkFiles: false });
  t.equal(config.dataDir, join(cwd, 'data'));
  t.equal(config.tls.ca, join(cwd, 'data', 'ca.pem'));
});

t.test('a YAML file is read; relative dataDir resolves against the file, TLS paths against dataDir', async (t) => {
  const root = await tempDir(t);
  await dataDirWithTls(t, join(root, 'conf', 'state'));
  await mkdir(join(root, 'conf', 'state', 'tls'));
  await writeFile(join(root, 'conf', 'state', 'tls', 'other-ca.pem'), 'pem\n');
  const file = join(root, 'conf', 'server.yaml');
  await writeFile(file, ['# comment', 'dataDir: state', 'listen:', '  port: 6000', 'tls:', '  ca: tls/other-ca.pem', '  identity: san', 'log: { level: debug, file: kmipd.log }', ''].join('\n'));
  const config = loadConfig({ file, env: {}, cwd: '/' });
  const dataDir = join(root, 'conf', 'state');
  t.same(config, {
    ...defaults(dataDir),
    listen: { host: '127.0.0.1', port: 6000 },
    tls: { ...defaults(dataDir).tls, ca: join(dataDir, 'tls', 'other-ca.pem'), identity: 'san' },
    log: { level: 'debug', file: join(dataDir, 'kmipd.log') },
  });
});

t.test('a JSON file is read', async (t) => {
  const dataDir = await dataDirWithTls(t);
  const file = join(dataDir, 'kmipd.json');
  await writeFile(file, JSON.stringify({ dataDir: '.', https: { enabled: false }, workers: 0, tls: { minVersion: 'TLSv1.3' } }));
  const config = loadConfig({ file, env: {} });
  t.same(config.https, { enabled: false, host: '127.0.0.1', port: 5697 });
  t.equal(config.workers, 0);
  t.equal(config.tls.minVersion, 'TLSv1.3');
  t.equal(config.dataDir, dataDir);
});

t.test('without a file option, <dataDir>/kmipd.yaml is used when it exists', async (t) => {
  const dataDir = await dataDirWithTls(t);
  t.equal(loadConfig({ dataDir, env: {} }).listen.port, 5696, 'no file: defaults');
  await writeFile(join(dataDir, 'kmipd.yaml'), 'dataDir: .\nnodeId: from-file\n');
  t.equal(loadConfig({ dataDir, env: {} }).nodeId, 'from-file');
  t.equal(loadConfig({ env: { KMIPD_DATA_DIR: dataDir } }).nodeId, 'from-file', 'also when KMIPD_DATA_DIR names the directory');
  t.equal(loadConfig({ env: {}, overrides: [`dataDir=${dataDir}`] }).nodeId, 'from-file', 'or an override');
});

t.test('precedence: defaults < file < environment < overrides', async (t) => {
  const dataDir = await dataDirWithTls(t);
  await writeFile(join(dataDir, 'kmipd.yaml'), 'listen: { host: 0.0.0.0, port: 6000 }\nlog: { level: debug }\nlimits: { maxBatchItems: 8 }\n');
  const config = loadConfig({
    dataDir,
    env: { KMIPD_LISTEN_PORT: '6001', KMIPD_LOG_LEVEL: 'warn', KMIPD_TLS_IDENTITY: 'san', KMIPD_LIMITS_MAX_BATCH_ITEMS: '16', PATH: '/bin' },
    overrides: ['listen.port=6002', 'limits.maxBatchItems=32', 'tls.identity=fingerprint'],
  });
  t.equal(config.listen.host, '0.0.0.0', 'file over default');
  t.equal(config.log.level, 'warn', 'environment over file');
  t.equal(config.listen.port, 6002, 'override over environment and file');
  t.equal(config.limits.maxBatchItems, 32);
  t.equal(config.tls.identity, 'fingerprint');
  t.equal(config.limits.maxMessageSize, 1048576, 'untouched fields keep their defaults');
});

t.test('environment values are JSON when they parse, text otherwise, and text where the field takes text', async (t) => {
  const dataDir = await dataDirWithTls(t);
  const config = loadConfig({
    dataDir,
    env: {
      KMIPD_TLS_SESSION_TICKETS: 'false',
      KMIPD_NODE_ID: '007',
      KMIPD_LISTEN_HOST: '::1',
      KMIPD_LOG_FILE: 'null',
      KMIPD_LIMITS_MAX_MESSAGE_SIZE: '2048',
      KMIPD_HTTPS: '{"enabled": false, "port": 8443}',
      KMIPD_NOT_A_FIELD: 'ignored',
    },
  });
  t.equal(config.tls.sessionTickets, false);
  t.equal(config.nodeId, '007');
  t.equal(config.listen.host, '::1');
  t.equal(config.log.file, null);
  t.equal(config.limits.maxMessageSize, 2048);
  t.same(config.https, { enabled: false, host: '127.0.0.1', port: 8443 }, 'a whole section as JSON');
});

t.test('dataDir: --data-dir (options.dataDir) beats KMIPD_DATA_DIR and the file; relative ones resolve against cwd', async (t) => {
  const root = await tempDir(t);
  const chosen = await dataDirWithTls(t, join(root, 'chosen'));
  const config = loadConfig({ dataDir: 'chosen', cwd: root, env: { KMIPD_DATA_DIR: join(root, 'env') } });
  t.equal(config.dataDir, chosen);
  const fromEnv = loadConfig({ cwd: root, env: { KMIPD_DATA_DIR: 'env' }, checkFiles: false });
  t.equal(fromEnv.dataDir, join(root, 'env'));
});

t.test('environment names are KMIPD_ plus the path in upper snake case', async (t) => {
  t.equal(environmentName(['dataDir']), 'KMIPD_DATA_DIR');
  t.equal(environmentName(['listen', 'port']), 'KMIPD_LISTEN_PORT');
  t.equal(environmentName(['limits', 'maxMessageSize']), 'KMIPD_LIMITS_MAX_MESSAGE_SIZE');
  t.equal(environmentName(['tls', 'minVersion']), 'KMIPD_TLS_MIN_VERSION');
});

t.test('a value out of range names the field, the limit and the value', async (t) => {
  const dataDir = await dataDirWithTls(t);
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {}, overrides: ['listen.port=70000'] })), 'config: /listen/port must be <= 65535 (got 70000)');
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: { KMIPD_WORKERS: '-1' } })), 'config: /workers must be >= 0 (got -1)');
});

t.test('a value outside an enumeration lists the allowed values', async (t) => {
  const dataDir = await dataDirWithTls(t);
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: { KMIPD_TLS_IDENTITY: 'email' } })), 'config: /tls/identity must be one of cn, san, fingerprint');
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {}, overrides: ['tls.minVersion=TLSv1.1'] })), 'config: /tls/minVersion must be one of TLSv1.2, TLSv1.3');
});

t.test('rng.seed is accept, ignore or refuse, and rng.seedMaxBytes a positive byte count', async (t) => {
  const dataDir = await dataDirWithTls(t);
  t.same(loadConfig({ dataDir, env: { KMIPD_RNG_SEED: 'accept', KMIPD_RNG_SEED_MAX_BYTES: '16' } }).rng, { seed: 'accept', seedMaxBytes: 16 });
  t.same(loadConfig({ dataDir, env: {}, overrides: ['rng.seed=refuse'] }).rng, { seed: 'refuse', seedMaxBytes: 32 });
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {}, overrides: ['rng.seed=use'] })), 'config: /rng/seed must be one of accept, ignore, refuse');
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {}, overrides: ['rng.seedMaxBytes=0'] })), 'config: /rng/seedMaxBytes must be >= 1 (got 0)');
});

t.test('a value of the wrong type names the type and the value', async (t) => {
  const dataDir = await dataDirWithTls(t);
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: { KMIPD_LISTEN_PORT: 'http' } })), 'config: /listen/port must be integer (got "http")');
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {}, overrides: ['https.enabled=yes'] })), 'config: /https/enabled must be boolean (got "yes")');
});

t.test('an unknown field is reported with its path', async (t) => {
  const dataDir = await dataDirWithTls(t);
  await writeFile(join(dataDir, 'kmipd.yaml'), 'listen:\n  prot: 5700\n');
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {} })), 'config: unknown field /listen/prot');
  t.equal(errorOf(t, () => loadConfig({ dataDir: join(dataDir, 'x'), env: {}, checkFiles: false, overrides: ['lsten.port=1'] })), 'config: unknown field /lsten');
});

t.test('every problem is reported at once, one per line', async (t) => {
  const dataDir = await dataDirWithTls(t);
  let error: ConfigError | undefined;
  try {
    loadConfig({ dataDir, env: {}, overrides: ['listen.port=70000', 'log.level=loud', 'extra=1'] });
  } catch (err) {
    error = err as ConfigError;
  }
  t.type(error, ConfigError);
  t.same([...(error?.problems ?? [])].sort(), ['/listen/port must be <= 65535 (got 70000)', '/log/level must be one of fatal, error, warn, info, debug, trace, silent', 'unknown field /extra'].sort());
  t.equal(error?.message.split('\n').length, 3);
});

t.test('a missing certificate, key or CA file names the field and the path', async (t) => {
  const dataDir = join(await tempDir(t), 'empty');
  const message = errorOf(t, () => loadConfig({ dataDir, env: {} }));
  t.equal(
    message,
    [
      `config: /tls/cert names ${join(dataDir, 'server.pem')}, which does not exist`,
      `config: /tls/key names ${join(dataDir, 'server-key.pem')}, which does not exist`,
      `config: /tls/ca names ${join(dataDir, 'ca.pem')}, which does not exist`,
    ].join('\n'),
  );
  await dataDirWithTls(t, dataDir);
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {}, overrides: ['tls.ca=/'] })), 'config: /tls/ca names /, which is not a file');
});

t.test('a malformed file or override is reported as such', async (t) => {
  const dataDir = await dataDirWithTls(t);
  const file = join(dataDir, 'kmipd.yaml');
  t.equal(errorOf(t, () => loadConfig({ file, env: {} })), `config: file ${file} does not exist`);
  await writeFile(file, 'listen: [unclosed\n');
  t.match(errorOf(t, () => loadConfig({ dataDir, env: {} })), `config: ${file} is not valid YAML: `);
  await writeFile(file, '- a\n- b\n');
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {} })), `config: ${file} must hold a mapping of fields, not ["a","b"]`);
  await writeFile(file, '');
  t.equal(loadConfig({ dataDir, env: {} }).listen.port, 5696, 'an empty file is all defaults');
  const json = join(dataDir, 'bad.json');
  await writeFile(json, '{ "listen": ');
  t.match(errorOf(t, () => loadConfig({ file: json, env: {} })), `config: ${json} is not valid JSON: `);
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {}, overrides: ['listen.port'] })), 'config: override "listen.port" must look like path=value (listen.port=5700)');
  t.equal(errorOf(t, () => loadConfig({ dataDir, env: {}, overrides: ['=5'] })), 'config: override "=5" must look like path=value (listen.port=5700)');
});

t.test('the schema documents every field and closes every object', async (t) => {
  for (const { path, node } of schemaFields(configSchema)) {
    const name = path.join('.');
    t.ok(node.description, `${name} has a description`);
    if (node.properties) t.equal(node.additionalProperties, false, `${name} rejects unknown fields`);
    else if (name !== 'nodeId') t.not(node.default, undefined, `${name} has a default`);
  }
  t.equal(configSchema.additionalProperties, false);
});

t.test('the config template parses back to the defaults', async (t) => {
  const dataDir = await dataDirWithTls(t);
  const text = configTemplate({ dataDir: '.' }, ['header line']);
  t.match(text, /^# header line\n/);
  t.match(text, /^# nodeId:$/m, 'a field without a default is commented out');
  t.match(text, /^ {2}# Address to listen on\.\n {2}host: 127\.0\.0\.1$/m, 'each field carries its description');
  await writeFile(join(dataDir, 'kmipd.yaml'), text);
  t.same(loadConfig({ dataDir, env: {} }), defaults(dataDir));
  const parsed = YAML.parse(text) as Record<string, unknown>;
  t.same(Object.keys(parsed), ['dataDir', 'listen', 'https', 'tls', 'limits', 'store', 'keyring', 'log', 'workers', 'interop', 'audit', 'rng']);
});

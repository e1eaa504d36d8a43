/**
 * kmipd's configuration: one JSON Schema (schemas/config.schema.json) holds every field, its
 * description and its default; this module layers the sources, validates them against that
 * schema and resolves paths. Precedence, lowest first: schema defaults < config file <
 * environment (`KMIPD_LISTEN_PORT`) < `options.dataDir` < overrides (`listen.port=5700`).
 *
 * A new section is added to the schema and to `KmipdConfig`; the environment names, the
 * overrides, path resolution and the template `kmipd init` writes follow from the schema.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import YAML from 'yaml';
import schemaJson from '../../schemas/config.schema.json' with { type: 'json' };

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The configuration with every default applied and every path absolute. */
export interface KmipdConfig {
  dataDir: string;
  nodeId: string;
  listen: { host: string; port: number };
  https: { enabled: boolean; host: string; port: number };
  tls: {
    cert: string;
    key: string;
    ca: string;
    identity: 'cn' | 'san' | 'fingerprint';
    minVersion: 'TLSv1.2' | 'TLSv1.3';
    sessionTickets: boolean;
  };
  limits: {
    maxMessageSize: number;
    maxBatchItems: number;
    maxConnections: number;
    idleTimeoutMs: number;
    requestTimeoutMs: number;
    handshakeTimeoutMs: number;
    maxDepth: number;
  };
  store: {
    client: 'sqlite3' | 'pg';
    filename: string;
    connection: string | null;
    schema: string | null;
    poolSize: number;
  };
  keyring: {
    provider: 'software' | 'pkcs11';
    module: string | null;
    tokenLabel: string | null;
    slot: number | null;
    pinFile: string | null;
    pinEnv: string | null;
    softhsm2Conf: string | null;
  };
  log: { level: LogLevel; file: string | null };
  workers: number;
  /** Interop (KMIP 2.1 §6.1.26) is answered: test servers only. */
  interop: boolean;
  audit: { enabled: boolean; checkpointRows: number; checkpointSeconds: number; chainIntervalMs: number };
  /** RNG Seed policy (KMIP 2.1 §6.1.50): how much of a client's seed the generator takes, if any. */
  rng: { seed: 'accept' | 'ignore' | 'refuse'; seedMaxBytes: number };
}

export interface LoadConfigOptions {
  /** Config file (YAML, or JSON when it ends in .json). Default: `<dataDir>/kmipd.yaml` when it exists. */
  file?: string;
  /** Sets dataDir above the file and the environment (the `--data-dir` flag). */
  dataDir?: string;
  /** Default: `process.env`. Only `KMIPD_*` names that map to a schema field are read. */
  env?: NodeJS.ProcessEnv;
  /** `path=value` with a dotted path (`listen.port=5700`); the value is JSON when it parses. */
  overrides?: string[];
  /** Check that the files the config names (certificates, keys) exist (default true). */
  checkFiles?: boolean;
  /** Base for relative paths given outside a file (default `process.cwd()`). */
  cwd?: string;
}

/** Everything wrong with a configuration, one problem per line, each naming the field. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(problems.map((p) => `config: ${p}`).join('\n'));
  }
}

export const CONFIG_FILE_NAME = 'kmipd.yaml';
const ENV_PREFIX = 'KMIPD_';

/** The parts of JSON Schema this module reads, plus `x-path`: how a string field is a path. */
interface SchemaNode {
  description?: string;
  type?: string | string[];
  enum?: unknown[];
  default?: unknown;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean;
  /** `dataDir`: the data directory; `input`: a file under dataDir that must exist; `output`: a file under dataDir. */
  'x-path'?: 'dataDir' | 'input' | 'output';
}

export const configSchema = schemaJson as SchemaNode;

type Plain = Record<string, unknown>;

export function loadConfig(options: LoadConfigOptions = {}): KmipdConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const fromEnv = environmentLayer(env, cwd);
  const fromOverrides = overridesLayer(options.overrides ?? [], cwd);
  const fromOptions: Plain = options.dataDir === undefined ? {} : { dataDir: resolve(cwd, options.dataDir) };

  const file = options.file === undefined ? findConfigFile([fromOverrides, fromOptions, fromEnv], cwd) : resolve(cwd, options.file);
  const fromFile = file === undefined ? {} : readConfigFile(file);

  const merged = [fromFile, fromEnv, fromOptions, fromOverrides].reduce<Plain>((acc, layer) => mergeDeep(acc, layer), {});
  return finish(validate(merged), cwd, options.checkFiles ?? true);
}

// Sources.

/** `dataDir` as the highest-precedence source that sets it names it, for finding `<dataDir>/kmipd.yaml`. */
function findConfigFile(layers: Plain[], cwd: string): string | undefined {
  const set = layers.map((l) => l.dataDir).find((d) => typeof d === 'string');
  const dataDir = typeof set === 'string' ? set : resolve(cwd, String(configSchema.properties?.dataDir?.default));
  const candidate = join(dataDir, CONFIG_FILE_NAME);
  return existsSync(candidate) ? candidate : undefined;
}

function readConfigFile(file: string): Plain {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError([missing ? `file ${file} does not exist` : `cannot read ${file}: ${(err as Error).message}`]);
  }
  let parsed: unknown;
  try {
    parsed = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new ConfigError([`${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`]);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlain(parsed)) throw new ConfigError([`${file} must hold a mapping of fields, not ${describe(parsed)}`]);
  // A relative dataDir in a file means "next to this file", wherever kmipd is started from.
  if (typeof parsed.dataDir === 'string') parsed.dataDir = resolve(dirname(file), parsed.dataDir);
  return parsed;
}

/** `KMIPD_` + the field's path in upper snake case: `limits.maxMessageSize` → `KMIPD_LIMITS_MAX_MESSAGE_SIZE`. */
export function environmentName(path: string[]): string {
  return ENV_PREFIX + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');
}

function environmentLayer(env: NodeJS.ProcessEnv, cwd: string): Plain {
  const layer: Plain = {};
  // Shorter paths first, so KMIPD_LISTEN_PORT refines a whole KMIPD_LISTEN object.
  const fields = schemaFields(configSchema).sort((a, b) => a.path.length - b.path.length);
  for (const { path, node } of fields) {
    const raw = env[environmentName(path)];
    if (raw === undefined) continue;
    setPath(layer, path, parseValue(raw, node), cwd);
  }
  return layer;
}

function overridesLayer(overrides: string[], cwd: string): Plain {
  const layer: Plain = {};
  for (const override of overrides) {
    const eq = override.indexOf('=');
    const path = override.slice(0, Math.max(eq, 0)).split('.');
    if (eq <= 0 || path.some((p) => p === '')) throw new ConfigError([`override "${override}" must look like path=value (listen.port=5700)`]);
    setPath(layer, path, parseValue(override.slice(eq + 1), nodeAt(path)), cwd);
  }
  return layer;
}

/**
 * JSON when it parses (`5700`, `true`, `null`, `{"port":1}`), else the text itself; a field
 * that takes strings keeps the text as written (`KMIPD_NODE_ID=007` stays "007").
 */
function parseValue(raw: string, node: SchemaNode | undefined): unknown {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return raw;
  }
  if (node && typeof value !== 'string' && value !== null && acceptsString(node) && !acceptsTypeOf(node, value)) return raw;
  return value;
}

function acceptsString(node: SchemaNode): boolean {
  return [node.type].flat().includes('string') || (node.enum?.some((v) => typeof v === 'string') ?? false);
}

function acceptsTypeOf(node: SchemaNode, value: unknown): boolean {
  const types = [node.type].flat();
  if (typeof value === 'number') return types.includes('number') || (types.includes('integer') && Number.isInteger(value));
  if (typeof value === 'boolean') return types.includes('boolean');
  return types.includes(Array.isArray(value) ? 'array' : 'object');
}

function setPath(target: Plain, path: string[], value: unknown, cwd: string): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = isPlain(next) ? next : (node[key] = {});
  }
  const last = path[path.length - 1] as string;
  // A dataDir given outside a file is relative to where kmipd was started.
  node[last] = nodeAt(path)?.['x-path'] === 'dataDir' && typeof value === 'string' ? resolve(cwd, value) : value;
}

function mergeDeep(base: Plain, layer: Plain): Plain {
  const out: Plain = { ...base };
  for (const [key, value] of Object.entries(layer)) {
    const prev = out[key];
    out[key] = isPlain(prev) && isPlain(value) ? mergeDeep(prev, value) : value;
  }
  return out;
}

// Validation.

let validator: ValidateFunction | undefined;

function compiled(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv2020({ allErrors: true, useDefaults: true, allowUnionTypes: true, verbose: true });
    ajv.addKeyword({ keyword: 'x-path', schemaType: 'string' });
    validator = ajv.compile(configSchema);
  }
  return validator;
}

function validate(config: Plain): Plain {
  const check = compiled();
  if (!check(config)) throw new ConfigError(dedupe((check.errors ?? []).map(formatError)));
  return config;
}

function formatError(error: ErrorObject): string {
  const at = error.instancePath || '/';
  switch (error.keyword) {
    case 'additionalProperties':
      return `unknown field ${error.instancePath}/${String(error.params.additionalProperty)}`;
    case 'enum':
      return `${at} must be one of ${(error.params.allowedValues as unknown[]).join(', ')}`;
    default:
      return `${at} ${error.message ?? 'is invalid'} (got ${describe(error.data)})`;
  }
}

function dedupe(problems: string[]): string[] {
  return [...new Set(problems)];
}

// Resolution.

function finish(config: Plain, cwd: string, checkFiles: boolean): KmipdConfig {
  config.nodeId ??= hostname();
  const dataDir = resolve(cwd, config.dataDir as string);
  config.dataDir = dataDir;
  const missing: string[] = [];
  for (const { path, node } of schemaFields(configSchema)) {
    const kind = node['x-path'];
    if (kind !== 'input' && kind !== 'output') continue;
    const parent = getPath(config, path.slice(0, -1));
    const key = path[path.length - 1] as string;
    const value = isPlain(parent) ? parent[key] : undefined;
    if (typeof value !== 'string') continue;
    const absolute = resolve(dataDir, value);
    (parent as Plain)[key] = absolute;
    if (kind === 'input' && checkFiles) {
      const problem = fileProblem(absolute);
      if (problem) missing.push(`/${path.join('/')} names ${absolute}, which ${problem}`);
    }
  }
  missing.push(...keyringProblems(config.keyring as KmipdConfig['keyring']));
  if (missing.length > 0) throw new ConfigError(missing);
  // Validated against the schema that KmipdConfig mirrors; the test pins the two together.
  return config as unknown as KmipdConfig;
}

/** The pkcs11 keyring needs a module, one way to name the token and one way to get the PIN (never the config itself). */
function keyringProblems(k: KmipdConfig['keyring']): string[] {
  if (k.provider !== 'pkcs11') return [];
  const problems: string[] = [];
  if (k.module === null) problems.push('/keyring/module is required when keyring.provider is pkcs11 (the PKCS#11 module path)');
  if ((k.tokenLabel === null) === (k.slot === null)) problems.push('/keyring needs exactly one of tokenLabel and slot when provider is pkcs11');
  if ((k.pinFile === null) === (k.pinEnv === null)) problems.push('/keyring needs exactly one of pinFile and pinEnv when provider is pkcs11 (the PIN is never written in the config)');
  return problems;
}

function fileProblem(path: string): string | undefined {
  try {
    return statSync(path).isFile() ? undefined : 'is not a file';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
  }
}

// Schema walking.

interface Field {
  path: string[];
  node: SchemaNode;
}

/** Every field of the schema, sections and leaves, depth first in schema order. */
export function schemaFields(node: SchemaNode, prefix: string[] = []): Field[] {
  const out: Field[] = [];
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = [...prefix, key];
    out.push({ path, node: child }, ...schemaFields(child, path));
  }
  return out;
}

function nodeAt(path: string[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = configSchema;
  for (const key of path) node = node?.properties?.[key];
  return node;
}

function getPath(target: Plain, path: string[]): unknown {
  let node: unknown = target;
  for (const key of path) node = isPlain(node) ? node[key] : undefined;
  return node;
}

function isPlain(value: unknown): value is Plain {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

// The file `kmipd init` writes.

/**
 * A commented config file with every field of the schema: its description as a comment and
 * its default as the value, except where `values` (dotted paths) says otherwise. Fields without
 * a default (nodeId) are written commented out.
 */
export function configTemplate(values: Record<string, unknown> = {}, header: string[] = []): string {
  const lines = header.map((h) => (h ? `# ${h}` : '#'));
  if (lines.length > 0) lines.push('');
  writeFields(configSchema, [], values, lines);
  return lines.join('\n') + '\n';
}

function writeFields(node: SchemaNode, prefix: string[], values: Record<string, unknown>, lines: string[]): void {
  const indent = '  '.repeat(prefix.length);
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = [...prefix, key];
    if (prefix.length === 0 && lines.length > 0 && lines[lines.length - 1] !== '') lines.push('');
    for (const line of wrap(child.description ?? '', 92 - indent.length)) lines.push(`${indent}# ${line}`);
    if (child.properties) {
      lines.push(`${indent}${key}:`);
      writeFields(child, path, values, lines);
      continue;
    }
    const dotted = path.join('.');
    const value = dotted in values ? values[dotted] : child.default;
    lines.push(value === undefined ? `${indent}# ${key}:` : `${indent}${key}: ${YAML.stringify(value).trimEnd()}`);
  }
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) out.push(line);
  return out;
}


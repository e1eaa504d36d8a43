/**
 * The OASIS KMIP conformance runner: replays every request of each test-case file (XML,
 * ../shared/kmip-testcases/README.md) against a real kmipd over mutual TLS and binary TTLV, in
 * order on one connection, and compares every response with the expected one (compare.ts: exact,
 * apart from the placeholder rules and the listed relaxations).
 *
 *   tsx test/conformance/runner.ts [DIR|FILE ...] [--json] [--filter PREFIX] [--verbose]
 *
 * One kmipd on the software keyring serves the run (PKCS11 files: a second one on the pkcs11
 * keyring, see HSM_FILES; files that describe one of several server policies: a kmipd configured
 * that way, see CASE_CONFIGS); each file gets a fresh client identity (a certificate issued by the
 * server's CA), so the objects of one file — many cases use fixed names — are owned by that
 * identity alone and never meet another file's. MSGENC-HTTPS/-JSON/-XML files go over the HTTPS
 * transport (POST /kmip) in binary TTLV, KMIP JSON and KMIP XML.
 */
import { readFileSync, statSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import { basename, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KmipClient } from '../../src/client/client.js';
import { Tag } from '../../src/kmip/registry.generated.js';
import { issueCertificate } from '../../src/pki/devpki.js';
import { type Item, type LeafItem, decode, encode, fromJsonText, fromXml, fromXmlDocument, mapItems, registry, toJsonText, toXml } from '../../src/ttlv/index.js';
import { type Credentials, type TestKmipd, startTestKmipd } from '../support/kmipd.js';
import { parseValue } from '../../src/ttlv/values.js';
import { testcaseFiles, testcasesDir } from '../support/shared.js';
import { type FileState, type Mismatch, RELAXED, type RelaxedId, compareResponse, newFileState, nowOffset, placeholderOf } from './compare.js';

export { RELAXED };

/**
 * Errors in the OASIS files themselves, corrected before the exchange (the files are kept byte for
 * byte). Each names the 0-based request/response pair, the message it corrects, the path of tag
 * names below that message, and the value as the XML files write it (a number, an enumeration
 * name, hex, or a `$PLACEHOLDER`); each says why it is an error (docs/conformance.md lists them).
 */
export interface Erratum {
  file: string;
  request: number;
  message: 'request' | 'response';
  path: string[];
  value: string;
  reason: string;
}

const MAC_OF_THE_FILE = 'c911e78196d64c30f631bb079ea37b97a95936d4da764d6a171df030c895ecf9';
const UNBOUND_MAC_DATA = 'the MAC Verify request uses $MAC_DATA, which no earlier response binds (the MAC response gives the value as a literal); the literal of response 1 is what the case verifies';
const RANDOM_IV_LITERAL =
  "the expected Data and IV/Counter/Nonce of this Encrypt with Random IV are the reference server's literal output, which no server can repeat with a fresh random IV; CS-BC-M-13-21, the same case in 2.1, has $DATA_0 and $IV_COUNTER_NONCE there, bound and used by the later requests alike";

export const ERRATA: readonly Erratum[] = [
  {
    file: 'OMOS-O-1-14.xml',
    request: 1,
    message: 'response',
    path: ['ResponseHeader', 'ProtocolVersion', 'ProtocolVersionMinor'],
    value: '4',
    reason: 'the expected answer to this 1.4 Destroy says protocol 1.3; the other responses of the file say 1.4, and a server answers in the version of the request (KMIP 1.4 §6.1)',
  },
  { file: 'CS-AC-M-6-14.xml', request: 2, message: 'request', path: ['BatchItem', 'RequestPayload', 'MACData'], value: MAC_OF_THE_FILE, reason: UNBOUND_MAC_DATA },
  { file: 'CS-AC-M-6-21.xml', request: 2, message: 'request', path: ['BatchItem', 'RequestPayload', 'MACData'], value: MAC_OF_THE_FILE, reason: UNBOUND_MAC_DATA },
  { file: 'CS-BC-M-13-14.xml', request: 1, message: 'response', path: ['BatchItem', 'ResponsePayload', 'Data'], value: '$DATA_0', reason: RANDOM_IV_LITERAL },
  { file: 'CS-BC-M-13-14.xml', request: 1, message: 'response', path: ['BatchItem', 'ResponsePayload', 'IVCounterNonce'], value: '$IV_COUNTER_NONCE', reason: RANDOM_IV_LITERAL },
];

/**
 * Series whose files build on the objects of the earlier files of the same series (SASED-M-3
 * locates the secret data SASED-M-2 registered; TL-M-2/3 locate the keys of TL-M-1): their files
 * share one client identity, run in order. Every other file has an identity of its own.
 */
export const SHARED_SERIES: readonly string[] = ['SASED-M-', 'TL-M-'];

/** How long one request may take before the file is failed. */
const REQUEST_TIMEOUT_MS = 30_000;

export type Transport = 'tls' | 'https-ttlv' | 'https-json' | 'https-xml';

export interface FileResult {
  file: string;
  /** Path relative to the directory given (or the file name). */
  name: string;
  profile: string;
  version: string;
  transport: Transport;
  passed: boolean;
  requests: number;
  /** Requests whose response matched. */
  matched: number;
  /** The first failing request (0-based), its operation and what differed. */
  failure?: { request: number; operation: string; mismatches: Mismatch[]; error?: string };
  relaxed: Partial<Record<RelaxedId, number>>;
}

export interface ConformanceServer {
  readonly kmipd: TestKmipd;
  issueIdentity(name: string): Promise<Credentials>;
  /**
   * The server for files that drive the HSM itself (PKCS11-M-1-21, the PKCS#11 operation): a
   * second kmipd on the pkcs11 keyring (SoftHSM2), started on first use and closed with this one.
   */
  hsm(): Promise<ConformanceServer>;
  /** A kmipd like this one with more config overrides (CASE_CONFIGS), started on first use and closed with this one. */
  configured(overrides: readonly string[]): Promise<ConformanceServer>;
  close(): Promise<void>;
}

/** Files run against `ConformanceServer.hsm()`: the PKCS#11 profile asks the server's PKCS#11 library. */
export const HSM_FILES = /^PKCS11-/;

/**
 * Server configuration per case, not a comparison leniency: where the spec leaves a behaviour to
 * the server and OASIS has one case per choice, each case runs against a kmipd configured as it
 * describes (config overrides; an empty list is the default configuration).
 */
export interface CaseConfig {
  file: RegExp;
  overrides: readonly string[];
  reason: string;
}

const RNG_SEED_POLICY =
  'KMIP 2.1 §6.1.50 (1.4 §4.36) lets a server use all, part or none of the seed of an RNG Seed, or refuse it with Permission Denied; CS-RNG-O-1..4 send the same seed and expect one answer each';

export const CASE_CONFIGS: readonly CaseConfig[] = [
  { file: /^CS-RNG-O-1-/, overrides: ['rng.seed=accept', 'rng.seedMaxBytes=32'], reason: `${RNG_SEED_POLICY}: Data Length 32, all of it used` },
  { file: /^CS-RNG-O-2-/, overrides: ['rng.seed=accept', 'rng.seedMaxBytes=16'], reason: `${RNG_SEED_POLICY}: Data Length 16, half of it used` },
  { file: /^CS-RNG-O-3-/, overrides: [], reason: `${RNG_SEED_POLICY}: Data Length 0, ignored (kmipd's default, rng.seed ignore)` },
  { file: /^CS-RNG-O-4-/, overrides: ['rng.seed=refuse'], reason: `${RNG_SEED_POLICY}: Permission Denied` },
];

export async function startConformanceServer(): Promise<ConformanceServer> {
  // The software keyring: the cases' reference servers kept keys in software, and kmipd reports
  // where it keeps them (AKLC-O-1-21, SKLC-O-1-21 and TL-M-3-21 expect Protection Storage Mask
  // Software). PKCS11-M-1-21, which drives a PKCS#11 library through KMIP, gets `hsm()`.
  // interop: the BL cases begin and end with the Interop operation, which production servers lack.
  return serverOn('software');
}

async function serverOn(keyring: 'software' | 'pkcs11', overrides: readonly string[] = []): Promise<ConformanceServer> {
  const kmipd = await startTestKmipd(`kmipd-conformance-${keyring}-`, 'conformance-other', { https: true, keyring, overrides: ['interop=true', ...overrides] });
  const ca = { cert: readFileSync(`${kmipd.dir}/ca.pem`, 'utf8'), key: readFileSync(`${kmipd.dir}/ca-key.pem`, 'utf8') };
  let n = 0;
  let hsm: Promise<ConformanceServer> | undefined;
  const variants = new Map<string, Promise<ConformanceServer>>();
  const self: ConformanceServer = {
    kmipd,
    issueIdentity: (name) => issueCertificate(ca, { commonName: `conformance-${++n}-${name}`, eku: 'client' }),
    hsm: () => (keyring === 'pkcs11' ? Promise.resolve(self) : (hsm ??= serverOn('pkcs11'))),
    configured(more) {
      if (more.length === 0) return Promise.resolve(self);
      const key = more.join(' ');
      const variant = variants.get(key) ?? serverOn(keyring, [...overrides, ...more]);
      variants.set(key, variant);
      return variant;
    },
    async close() {
      const others = [hsm, ...variants.values()].map((s) => s?.then((x) => x.close(), () => undefined));
      await Promise.all([kmipd.close(), ...others]);
    },
  };
  return self;
}

/** Profile prefix of a file name, as in the README's table. */
export function profileOf(file: string): string {
  const base = basename(file);
  const m = /^(MSGENC|CS-BC|CS-AC|CS-RNG|SUITEB)[-_]/.exec(base) ?? /^([A-Z0-9]+)-/.exec(base);
  return m?.[1] ?? base;
}

function versionOf(file: string): string {
  const dir = /\/v(\d\.\d)\//.exec(file);
  if (dir) return dir[1]!;
  const suffix = /-(\d)(\d)\.xml$/.exec(file);
  return suffix ? `${suffix[1]}.${suffix[2]}` : '?';
}

function transportOf(file: string): Transport {
  const base = basename(file);
  if (base.startsWith('MSGENC-HTTPS-')) return 'https-ttlv';
  if (base.startsWith('MSGENC-JSON-')) return 'https-json';
  if (base.startsWith('MSGENC-XML-')) return 'https-xml';
  return 'tls';
}

/** Sends one message and resolves with the response tree. */
interface Channel {
  send(message: Item): Promise<Item>;
  close(): Promise<void>;
}

async function openChannel(server: ConformanceServer, transport: Transport, who: Credentials): Promise<Channel> {
  const ca = readFileSync(`${server.kmipd.dir}/ca.pem`);
  if (transport === 'tls') {
    const client = await KmipClient.connect({ host: '127.0.0.1', port: server.kmipd.server.tlsAddress.port, ca, ...who });
    return { send: (m) => client.send(m), close: () => client.close() };
  }
  const address = server.kmipd.server.httpsAddress;
  if (!address) throw new Error('the kmipd has no HTTPS listener');
  // One keep-alive connection for the whole file.
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca, cert: who.cert, key: who.key });
  const encoding = { 'https-ttlv': 'application/octet-stream', 'https-json': 'application/json', 'https-xml': 'text/xml' }[transport];
  const send = (message: Item): Promise<Item> => {
    const body = transport === 'https-ttlv' ? encode(message) : Buffer.from(transport === 'https-json' ? toJsonText(message) : toXml(message), 'utf8');
    return new Promise((resolvePromise, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: address.port, path: '/kmip', method: 'POST', agent, headers: { 'content-type': encoding, 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const data = Buffer.concat(chunks);
            if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}: ${data.toString('utf8').slice(0, 200)}`));
            const type = (res.headers['content-type'] ?? '').split(';')[0];
            if (type !== encoding) return reject(new Error(`answered with content type ${type}, expected ${encoding}`));
            try {
              const text = data.toString('utf8');
              resolvePromise(transport === 'https-ttlv' ? decode(data) : transport === 'https-json' ? fromJsonText(text) : fromXml(text));
            } catch (err) {
              reject(err as Error);
            }
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  return {
    send,
    close: async () => agent.destroy(),
  };
}

/**
 * A request with its placeholders resolved: `$NOW±n` → the current time plus n seconds, every
 * other placeholder → the value bound from an earlier response.
 */
export function resolveRequest(message: Item, state: FileState): Item {
  const now = Math.floor(Date.now() / 1000);
  return mapItems(message, (leaf) => {
    const ph = placeholderOf(leaf);
    if (ph === undefined) {
      if (leaf.type === 'DateTime') state.sentDates.add(leaf.value);
      return leaf;
    }
    const offset = nowOffset(ph);
    if (offset !== undefined) {
      if (leaf.type === 'DateTime') {
        state.sentDates.add(now + offset);
        return { tag: leaf.tag, type: 'DateTime', value: now + offset };
      }
      if (leaf.type === 'DateTimeExtended') return { tag: leaf.tag, type: 'DateTimeExtended', value: BigInt(now + offset) * 1_000_000n };
      throw new Error(`${ph} in a ${leaf.type} (${registry.tagName(leaf.tag)})`);
    }
    const bound = state.bindings.get(ph);
    if (!bound) throw new Error(`the request uses ${ph}, which no earlier response bound`);
    if (bound.type !== leaf.type) throw new Error(`${ph} was bound to a ${bound.type}, the request needs a ${leaf.type}`);
    return { tag: leaf.tag, type: leaf.type, value: bound.value } as LeafItem;
  });
}

function operationName(request: Item): string {
  if (request.type !== 'Structure') return '?';
  const ops = request.value
    .filter((c) => c.tag === Tag.BatchItem && c.type === 'Structure')
    .map((b) => (b as Extract<Item, { type: 'Structure' }>).value.find((c) => c.tag === Tag.Operation))
    .map((op) => (op ? (toXml(op, { indent: 0 }).match(/value="([^"]*)"/)?.[1] ?? '?') : '?'));
  return ops.join('+');
}

/** The message with the errata of its file and pair applied; every erratum must find its field. */
function applyErrata(file: string, request: number, message: Erratum['message'], item: Item): Item {
  let out = item;
  for (const e of ERRATA.filter((x) => x.file === file && x.request === request && x.message === message)) {
    let found = false;
    const patch = (it: Item, path: string[]): Item => {
      if (path.length === 0) {
        if (it.type === 'Structure') return it;
        found = true;
        return parseValue(registry, it.tag, it.type, e.value, 0);
      }
      if (it.type !== 'Structure') return it;
      const [head, ...rest] = path;
      return { ...it, value: it.value.map((c) => (registry.tagName(c.tag) === head ? patch(c, rest) : c)) };
    };
    out = patch(out, e.path);
    if (!found) throw new Error(`erratum for ${file} ${message} ${request}: no ${e.path.join('/')} to correct`);
  }
  return out;
}

function timeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Runs one test-case file on its own connection and identity. */
/** What the files of a shared series carry from one to the next: the identity, and which objects the server generated. */
export interface SeriesState {
  who: Credentials;
  generated: Set<string>;
  registeredAlgorithm: Map<string, number>;
}

export async function runFile(server: ConformanceServer, file: string, name = basename(file), series?: SeriesState): Promise<FileResult> {
  const messages = fromXmlDocument(readFileSync(file, 'utf8'));
  const pairs: [Item, Item][] = [];
  for (let i = 0; i + 1 < messages.length; i += 2) pairs.push([messages[i]!, messages[i + 1]!]);
  const state = newFileState(Math.floor(Date.now() / 1000));
  if (series) {
    state.generated = series.generated;
    state.registeredAlgorithm = series.registeredAlgorithm;
  }
  const transport = transportOf(file);
  const result: FileResult = { file, name, profile: profileOf(file), version: versionOf(file), transport, passed: false, requests: pairs.length, matched: 0, relaxed: {} };
  const shapeError = messages.findIndex((m, i) => m.tag !== (i % 2 === 0 ? Tag.RequestMessage : Tag.ResponseMessage));
  if (messages.length % 2 !== 0 || shapeError >= 0) {
    result.failure = { request: Math.max(0, shapeError) >> 1, operation: '?', mismatches: [], error: 'not alternating RequestMessage / ResponseMessage' };
    return result;
  }
  let channel: Channel | undefined;
  try {
    channel = await openChannel(server, transport, series?.who ?? (await server.issueIdentity(basename(file, '.xml'))));
    for (const [index, [request, expected]] of pairs.entries()) {
      const operation = operationName(request);
      let actual: Item;
      let sent: Item;
      try {
        sent = resolveRequest(applyErrata(basename(file), index, 'request', request), state);
        actual = await timeout(channel.send(sent), REQUEST_TIMEOUT_MS, `request ${index}`);
      } catch (err) {
        result.failure = { request: index, operation, mismatches: [], error: (err as Error).message };
        break;
      }
      const mismatches = compareResponse(applyErrata(basename(file), index, 'response', expected), actual, sent, state);
      if (mismatches.length > 0) {
        result.failure = { request: index, operation, mismatches };
        break;
      }
      result.matched++;
    }
  } catch (err) {
    result.failure = { request: 0, operation: '?', mismatches: [], error: `could not connect: ${(err as Error).message}` };
  } finally {
    await channel?.close().catch(() => undefined);
  }
  result.passed = result.failure === undefined && result.matched === pairs.length;
  result.relaxed = Object.fromEntries(state.relaxedUses);
  return result;
}

export interface RunOptions {
  /** Only files whose name starts with this. */
  filter?: string;
  /** Called with each result as it is known. */
  onResult?: (result: FileResult) => void;
  /** A running server to use (otherwise one is started and stopped). */
  server?: ConformanceServer;
}

/** Every test-case file under the given directories (or the files themselves), sorted per argument. */
export function collectFiles(paths: string[]): { file: string; name: string }[] {
  const out: { file: string; name: string }[] = [];
  for (const path of paths) {
    const abs = resolve(path);
    if (statSync(abs).isDirectory()) for (const file of testcaseFiles(abs).sort(naturalOrder)) out.push({ file, name: relative(abs, file) });
    else out.push({ file: abs, name: basename(abs) });
  }
  return out;
}

/** BL-M-2 before BL-M-10: test-case numbers in numeric order. */
function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export async function runConformance(paths: string[], options: RunOptions = {}): Promise<FileResult[]> {
  const files = collectFiles(paths).filter(({ file }) => options.filter === undefined || basename(file).startsWith(options.filter));
  const server = options.server ?? (await startConformanceServer());
  const results: FileResult[] = [];
  const series = new Map<string, SeriesState>();
  try {
    for (const { file, name } of files) {
      const prefix = SHARED_SERIES.find((p) => basename(file).startsWith(p));
      let shared: SeriesState | undefined;
      if (prefix) {
        const key = `${versionOf(file)} ${prefix}`;
        shared = series.get(key) ?? { who: await server.issueIdentity(key.replace(/\W+/g, '-')), generated: new Set(), registeredAlgorithm: new Map() };
        series.set(key, shared);
      }
      const target = await serverFor(server, basename(file)).catch((err: unknown) => err as Error);
      const result = target instanceof Error ? unstarted(file, name, target) : await runFile(target, file, name, shared);
      results.push(result);
      options.onResult?.(result);
    }
  } finally {
    if (!options.server) await server.close();
  }
  return results;
}

/** The server a file runs against: the pkcs11-keyring one (HSM_FILES), one configured for it (CASE_CONFIGS), or the default. */
function serverFor(server: ConformanceServer, base: string): Promise<ConformanceServer> {
  if (HSM_FILES.test(base)) return server.hsm();
  const config = CASE_CONFIGS.find((c) => c.file.test(base));
  return config ? server.configured(config.overrides) : Promise.resolve(server);
}

/** A file whose server (the pkcs11-keyring one: SoftHSM2 missing, say) could not be started. */
function unstarted(file: string, name: string, err: Error): FileResult {
  const error = `could not start its kmipd: ${err.message}`;
  return { file, name, profile: profileOf(file), version: versionOf(file), transport: transportOf(file), passed: false, requests: 0, matched: 0, failure: { request: 0, operation: '?', mismatches: [], error }, relaxed: {} };
}

/** The failure of one file in a few lines. */
export function describeFailure(result: FileResult, maxMismatches = 3): string {
  const f = result.failure;
  if (!f) return `${result.name}: incomplete`;
  const head = `FAIL ${result.name} request ${f.request} (${f.operation})`;
  if (f.error) return `${head}: ${f.error}`;
  const lines = f.mismatches.slice(0, maxMismatches).map((m) => `    at ${m.path}\n      expected ${m.expected}\n      actual   ${m.actual}`);
  if (f.mismatches.length > maxMismatches) lines.push(`    … ${f.mismatches.length - maxMismatches} more differences`);
  return [head, ...lines].join('\n');
}

/** The per-profile table and the totals line. */
export function summary(results: FileResult[]): string {
  const versions = [...new Set(results.map((r) => r.version))].sort();
  const profiles = [...new Set(results.map((r) => r.profile))].sort();
  const cell = (rs: FileResult[]): string => (rs.length === 0 ? '-' : `${rs.filter((r) => r.passed).length}/${rs.length}`);
  const rows = [['profile', ...versions.map((v) => `KMIP ${v}`), 'all']];
  for (const profile of profiles) {
    const mine = results.filter((r) => r.profile === profile);
    rows.push([profile, ...versions.map((v) => cell(mine.filter((r) => r.version === v))), cell(mine)]);
  }
  rows.push(['total', ...versions.map((v) => cell(results.filter((r) => r.version === v))), cell(results)]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const passed = results.filter((r) => r.passed).length;
  return [line(rows[0]!), ...rows.slice(1).map(line), '', `${passed} passed, ${results.length - passed} failed`].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const paths: string[] = [];
  let json = false;
  let verbose = false;
  let filter: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') json = true;
    else if (arg === '--verbose') verbose = true;
    else if (arg === '--filter') filter = argv[++i];
    else if (arg.startsWith('--filter=')) filter = arg.slice('--filter='.length);
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: tsx test/conformance/runner.ts [DIR|FILE ...] [--json] [--filter PREFIX] [--verbose]\n');
      return 0;
    } else if (arg.startsWith('--')) {
      process.stderr.write(`unknown option ${arg}\n`);
      return 2;
    } else paths.push(arg);
  }
  if (paths.length === 0) paths.push(testcasesDir);
  const results = await runConformance(paths, {
    ...(filter !== undefined ? { filter } : {}),
    onResult: (r) => {
      if (json) return;
      if (!r.passed) process.stdout.write(describeFailure(r, verbose ? Infinity : 3) + '\n');
      else if (verbose) process.stdout.write(`pass ${r.name} (${r.requests} requests)\n`);
    },
  });
  if (json) {
    process.stdout.write(JSON.stringify({ results, relaxed: RELAXED }, null, 2) + '\n');
  } else {
    if (verbose) {
      const uses = new Map<string, number>();
      for (const r of results) for (const [id, n] of Object.entries(r.relaxed)) uses.set(id, (uses.get(id) ?? 0) + n);
      process.stdout.write('\nrelaxed comparisons (uses in this run):\n');
      for (const [id, reason] of Object.entries(RELAXED)) process.stdout.write(`  ${id} ×${uses.get(id) ?? 0}: ${reason}\n`);
    }
    process.stdout.write('\n' + summary(results) + '\n');
  }
  return results.every((r) => r.passed) ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    // Exit once stdout is flushed: a --json report piped to another program is larger than a pipe's buffer.
    (code) => process.stdout.write('', () => process.exit(code)),
    (err: unknown) => {
      process.stderr.write(`conformance runner: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(2);
    },
  );
}

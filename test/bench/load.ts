/**
 * Load benchmark (`npm run bench:load -- [options]`): kmipd under many concurrent mutual-TLS
 * clients, next to the platform ceiling (echo-server.ts: same TLS and framing, no processing) and
 * to PyKMIP's server, measured the same way in the same run.
 *
 * Method: the targets run one after another, each in a child process (its own core), against the
 * same development PKI. For each: find a protocol version it accepts (the requested one first),
 * warm up, then drive `--connections` clients from this process until `--seconds` or
 * `--requests` runs out. The client hot path is raw node:tls, pre-encoded request buffers, a
 * FrameReader and a byte scan for the Result Status: no decoding, so its cost is the same for
 * every target. `persistent` connects first and times requests only (latency = write to whole
 * response); `reconnect` opens one connection per request, resuming the session of the slot's
 * previous connection as reconnecting clients do (latency includes the handshake). On a 2-core
 * machine this process and the server share the CPU; the cpu column shows which side saturated.
 *
 * Scenarios (`--scenarios`), one table each: `discover` (the --op mix on kmipd, the echo server
 * and PyKMIP); `create-sqlite`, `create-pg`, `create-pykmip` (durable AES-256 Creates, one table);
 * `get` (keys created first, then read); `locate-1m` (Locate by Name before and after seeding
 * `--objects` into the running kmipd's database with seed.ts, and kmipd's memory meanwhile).
 * Every kmipd run gets a fresh database (SQLite file or PostgreSQL schema).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type ConnectionOptions, type SecureContext, type TLSSocket, connect, createSecureContext } from 'node:tls';
import { parseArgs } from 'node:util';
import createKnex from 'knex';
import { parseResponse, writeRequest } from '../../src/kmip/message.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type ProtocolVersion, versionString } from '../../src/kmip/version.js';
import { createDevPki, writeDevPki } from '../../src/pki/devpki.js';
import { FrameReader, HEADER_LENGTH, type Item, ItemType, decode, encode, item, structure } from '../../src/ttlv/index.js';
import { repoRoot } from '../support/shared.js';

const HOST = '127.0.0.1';
const KMIPD_BIN = join(repoRoot, 'bin/kmipd.js');
/** Extra node flags for the server processes (kmipd, echo), e.g. KMIPD_NODE_ARGS=--cpu-prof to profile them under load. */
const nodeArgs = (): string[] => (process.env.KMIPD_NODE_ARGS ?? '').split(' ').filter(Boolean);
const ECHO_SERVER = join(repoRoot, 'test/bench/echo-server.ts');
const PYTHON = '/usr/bin/python3';
const PYKMIP_SERVER = '/usr/bin/pykmip-server';
const STARTUP_TIMEOUT_MS = 30_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** After the measuring time, in-flight requests get this long to be answered before they count as errors. */
const DRAIN_MS = 5_000;
const MAX_RESPONSE_SIZE = 1024 * 1024;
/** Latency samples kept per run; beyond that, percentiles describe the first this-many requests. */
const MAX_SAMPLES = 4_000_000;
/** Share of a core used by other processes during a run above which the report warns. */
const OTHER_LOAD_WARNING = 0.2;
/** Linux USER_HZ, the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_S = 100;
/** Versions tried, highest first, when a target refuses the requested one. */
const FALLBACK_VERSIONS: ProtocolVersion[] = [
  { major: 2, minor: 0 },
  { major: 1, minor: 4 },
  { major: 1, minor: 2 },
];

const SCENARIO_NAMES = ['discover', 'create-sqlite', 'create-pg', 'create-pykmip', 'create-audit', 'create-audit-pg', 'get', 'locate-1m', 'crypto'] as const;
type ScenarioName = (typeof SCENARIO_NAMES)[number];
const DEFAULT_PG = process.env.KMIPD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

const HELP = `Usage: npm run bench:load -- [options]

  --connections N     concurrent clients (default 16)
  --mode M            persistent | reconnect (one TLS connection per request, session resumed)
  --op MIX            operation mix of the discover scenario, weighted: discover, query, create,
                      discover:3,query:1 (default discover)
  --seconds S         measuring time per target (default 5); stops at --seconds or --requests
  --requests N        requests per target (default 10000000)
  --warmup S          warm-up time per target (default 1)
  --pipeline K        requests in flight per persistent connection (default 1)
  --targets LIST      targets of the discover scenario: kmipd,echo,pykmip (default: all;
                      unavailable ones are reported and skipped)
  --protocol V        KMIP version of the requests (default 2.1); a target that refuses it is tried in ${FALLBACK_VERSIONS.map(versionString).join(', ')}
  --rsa               RSA-2048 PKI instead of ECDSA P-256
  --kmipd-set P=V     extra config override for kmipd serve, e.g. workers=2 (repeatable)
  --scenarios LIST    ${SCENARIO_NAMES.join(',')} (default: all)
                        discover     the --op mix on the --targets (kmipd, echo server, PyKMIP)
                        create-*     durable Create of AES-256 keys: kmipd on SQLite, on PostgreSQL, PyKMIP
                        get          Get of existing keys (--keys of them), kmipd and PyKMIP
                        locate-1m    Locate by Name, on an empty store and among --objects seeded objects,
                                     with kmipd's memory before and after seeding
                        crypto       AES-256-GCM Encrypt of 64 bytes and ECDSA P-256 Sign of 64 bytes on
                                     kmipd, against the echo server answering the same requests
  --pg URL            PostgreSQL for create-pg, a fresh schema per run (default ${DEFAULT_PG})
  --keys N            keys created before the get scenario (default 1000)
  --objects N         objects seeded for locate-1m (default 1000000)
`;

// ---------------------------------------------------------------------------------------------
// Options

type Mode = 'persistent' | 'reconnect';
type TargetName = 'kmipd' | 'echo' | 'pykmip';
const TARGET_NAMES: readonly TargetName[] = ['kmipd', 'echo', 'pykmip'];

interface Options {
  connections: number;
  mode: Mode;
  /** The --op value, normalised: how the ratio lines name the mix. */
  mixLabel: string;
  /** Operation names, repeated by weight; request i sends schedule[i % length]. */
  schedule: OperationName[];
  seconds: number;
  requests: number;
  warmup: number;
  pipeline: number;
  targets: TargetName[];
  protocol: ProtocolVersion;
  rsa: boolean;
  kmipdSet: string[];
  scenarios: ScenarioName[];
  pgUrl: string;
  keys: number;
  objects: number;
}

const QF = Enum.QueryFunction;
const AES_256_USAGE = Mask.CryptographicUsageMask.Encrypt | Mask.CryptographicUsageMask.Decrypt;

/** A request payload per operation, in the form of the protocol version it is sent in. */
const OPERATIONS = {
  discover: { operation: Enum.Operation.DiscoverVersions, payload: (): Item[] => [] },
  query: {
    operation: Enum.Operation.Query,
    payload: (): Item[] => [QF.QueryOperations, QF.QueryObjects, QF.QueryServerInformation].map((value): Item => ({ tag: Tag.QueryFunction, type: 'Enumeration', value })),
  },
  // Create of an AES-256 key (KMIP 2.1 §6.1.11 Attributes; 1.x §4.1 Template-Attribute).
  create: { operation: Enum.Operation.Create, payload: createPayload },
};
type OperationName = keyof typeof OPERATIONS;

function createPayload(version: ProtocolVersion): Item[] {
  const attributes: [string, Item][] = [
    ['Cryptographic Algorithm', item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES)],
    ['Cryptographic Length', item(Tag.CryptographicLength, 'Integer', 256)],
    ['Cryptographic Usage Mask', item(Tag.CryptographicUsageMask, 'Integer', AES_256_USAGE)],
  ];
  const objectType = item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey);
  if (version.major >= 2) return [objectType, structure(Tag.Attributes, attributes.map(([, it]) => it))];
  const template = attributes.map(([n, it]) => structure(Tag.Attribute, [item(Tag.AttributeName, 'TextString', n), { ...it, tag: Tag.AttributeValue } as Item]));
  return [objectType, structure(Tag.TemplateAttribute, template)];
}

function getPayload(uid: string): Item[] {
  return [item(Tag.UniqueIdentifier, 'TextString', uid)];
}

/** Locate by Name (KMIP 2.1 §6.1.28 Attributes; 1.x §4.9 Attribute by name). */
function locateByNamePayload(version: ProtocolVersion, nameValue: string): Item[] {
  const name = structure(Tag.Name, [item(Tag.NameValue, 'TextString', nameValue), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)]);
  if (version.major >= 2) return [structure(Tag.Attributes, [name])];
  return [structure(Tag.Attribute, [item(Tag.AttributeName, 'TextString', 'Name'), { ...name, tag: Tag.AttributeValue }])];
}

class UsageError extends Error {}

function parseOptions(argv: string[]): Options | 'help' {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      connections: { type: 'string', default: '16' },
      mode: { type: 'string', default: 'persistent' },
      op: { type: 'string', default: 'discover' },
      seconds: { type: 'string', default: '5' },
      requests: { type: 'string', default: '10000000' },
      warmup: { type: 'string', default: '1' },
      pipeline: { type: 'string', default: '1' },
      targets: { type: 'string', default: TARGET_NAMES.join(',') },
      protocol: { type: 'string', default: '2.1' },
      rsa: { type: 'boolean', default: false },
      'kmipd-set': { type: 'string', multiple: true, default: [] },
      scenarios: { type: 'string', default: SCENARIO_NAMES.join(',') },
      pg: { type: 'string', default: DEFAULT_PG },
      keys: { type: 'string', default: '1000' },
      objects: { type: 'string', default: '1000000' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) return 'help';
  if (v.mode !== 'persistent' && v.mode !== 'reconnect') throw new UsageError(`--mode is persistent or reconnect, not ${v.mode}`);
  const targets = v.targets.split(',').map((s) => s.trim());
  for (const t of targets) if (!TARGET_NAMES.includes(t as TargetName)) throw new UsageError(`unknown target ${t} (${TARGET_NAMES.join(', ')})`);
  const scenarios = v.scenarios.split(',').map((s) => s.trim());
  for (const s of scenarios) if (!SCENARIO_NAMES.includes(s as ScenarioName)) throw new UsageError(`unknown scenario ${s} (${SCENARIO_NAMES.join(', ')})`);
  const version = /^(\d+)\.(\d+)$/.exec(v.protocol);
  if (!version) throw new UsageError(`--protocol is major.minor, like 2.1, not ${v.protocol}`);
  return {
    connections: int('--connections', v.connections, 1, 1024),
    mode: v.mode,
    ...parseMix(v.op),
    seconds: num('--seconds', v.seconds, 0.1, 3600),
    requests: int('--requests', v.requests, 1, 1e9),
    warmup: num('--warmup', v.warmup, 0, 60),
    pipeline: int('--pipeline', v.pipeline, 1, 256),
    targets: [...new Set(targets as TargetName[])],
    protocol: { major: Number(version[1]), minor: Number(version[2]) },
    rsa: v.rsa,
    kmipdSet: v['kmipd-set'],
    scenarios: [...new Set(scenarios as ScenarioName[])],
    pgUrl: v.pg,
    keys: int('--keys', v.keys, 1, 1e6),
    objects: int('--objects', v.objects, 1, 1e8),
  };
}

function num(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${name} must be a number from ${min} to ${max}, not ${text}`);
  return n;
}

function int(name: string, text: string, min: number, max: number): number {
  const n = num(name, text, min, max);
  if (!Number.isInteger(n)) throw new UsageError(`${name} must be a whole number, not ${text}`);
  return n;
}

/** `discover:3,query:1` → the schedule discover, discover, discover, query. */
function parseMix(spec: string): { mixLabel: string; schedule: OperationName[] } {
  const schedule: OperationName[] = [];
  const parts = spec.split(',').map((part) => {
    const [name = '', weightText = '1'] = part.trim().split(':');
    if (!(name in OPERATIONS)) throw new UsageError(`unknown operation ${name} in --op (${Object.keys(OPERATIONS).join(', ')})`);
    const weight = int(`the weight of ${name}`, weightText, 1, 100);
    for (let i = 0; i < weight; i++) schedule.push(name as OperationName);
    return { name, weight };
  });
  const single = parts.length === 1 && parts[0]!.weight === 1;
  return { mixLabel: single ? parts[0]!.name : parts.map((p) => `${p.name}:${p.weight}`).join(','), schedule };
}

// ---------------------------------------------------------------------------------------------
// Child processes: each in its own process group, so that helpers it starts (PyKMIP's manager and
// policy monitor, kmipd's cluster workers) are stopped and measured with it.

const children = new Set<ChildProcess>();
let workDir: string | undefined;

function spawnChild(command: string, args: string[], stdio: ('ignore' | 'pipe' | 'inherit' | number)[]): ChildProcess {
  const child = spawn(command, args, { cwd: repoRoot, detached: true, stdio });
  children.add(child);
  child.once('exit', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group is gone already.
  }
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (running(child)) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    signalGroup(child, 'SIGTERM');
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  signalGroup(child, 'SIGKILL');
}

process.on('exit', () => {
  for (const child of children) signalGroup(child, 'SIGKILL');
  // KMIPD_BENCH_KEEP=1 keeps the work directory (servers' logs, databases) for a look afterwards.
  if (workDir && process.env.KMIPD_BENCH_KEEP) process.stderr.write(`kept ${workDir}\n`);
  else if (workDir) rmSync(workDir, { recursive: true, force: true });
});
process.on('SIGINT', () => {
  process.stderr.write('\ninterrupted: stopping the servers\n');
  process.exit(130);
});
process.on('SIGTERM', () => process.exit(143));

/** CPU time (ms) used so far by the processes of the group `pgid`, from /proc; undefined off Linux. */
function groupCpuMs(pgid: number | undefined): number | undefined {
  if (pgid === undefined || !existsSync('/proc/self/stat')) return undefined;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm)": state ppid pgrp … utime (12th) stime (13th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) === pgid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

/** CPU time (ms) the whole machine has spent busy (all cores), from /proc/stat; undefined off Linux. */
function machineBusyMs(): number | undefined {
  if (!existsSync('/proc/stat')) return undefined;
  // cpu  user nice system idle iowait irq softirq steal …
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  return ((user + nice + system + irq + softirq + steal) * 1000) / CLOCK_TICKS_PER_S;
}

// ---------------------------------------------------------------------------------------------
// TLS client

/** The client's TLS identity, parsed once: a SecureContext per connection would cost the client more than the handshake. */
interface Credentials {
  context: SecureContext;
}

interface PkiFiles {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

function tlsOptions(port: number, creds: Credentials, session?: Buffer): ConnectionOptions {
  const options: ConnectionOptions = { host: HOST, port, secureContext: creds.context, minVersion: 'TLSv1.2' };
  if (session) options.session = session;
  return options;
}

function connectTls(port: number, creds: Credentials): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = connect(tlsOptions(port, creds));
    const timer = setTimeout(() => socket.destroy(new Error('TLS handshake timed out')), HANDSHAKE_TIMEOUT_MS);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** One request, one whole response, for probing (not the hot path). */
function roundTrip(socket: TLSSocket, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const reader = new FrameReader({ maxMessageSize: MAX_RESPONSE_SIZE });
    const done = (err: Error | null, frame?: Buffer): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('error', done).off('close', onClose);
      if (frame) resolve(frame);
      else reject(err ?? new Error('no response'));
    };
    const onData = (chunk: Buffer): void => {
      try {
        const [frame] = reader.push(chunk);
        if (frame) done(null, frame);
      } catch (err) {
        done(err as Error);
      }
    };
    const onClose = (): void => done(new Error('the server closed the connection without answering'));
    const timer = setTimeout(() => done(new Error('no response within 10 s')), HANDSHAKE_TIMEOUT_MS);
    socket.on('data', onData).on('error', done).on('close', onClose);
    socket.write(request);
  });
}

const RESULT_STATUS = Buffer.from([(Tag.ResultStatus >> 16) & 0xff, (Tag.ResultStatus >> 8) & 0xff, Tag.ResultStatus & 0xff, ItemType.Enumeration]);

/** Whether the (first) batch item of a response succeeded: a byte scan, no decoding. */
function succeeded(frame: Buffer): boolean {
  const at = frame.indexOf(RESULT_STATUS, HEADER_LENGTH);
  return at >= 0 && frame.length >= at + 12 && frame.readUInt32BE(at + 8) === Enum.ResultStatus.Success;
}

function encodeRequest(version: ProtocolVersion, name: OperationName): Buffer {
  const { operation, payload } = OPERATIONS[name];
  return encodeItem(version, operation, payload(version));
}

function encodeItem(version: ProtocolVersion, operation: number, payload: Item[]): Buffer {
  return encode(writeRequest({ protocolVersion: version, items: [{ operation, payload }] }));
}

function reasonName(value: number | undefined): string {
  return Object.entries(Enum.ResultReason).find(([, v]) => v === value)?.[0] ?? `reason ${value}`;
}

// ---------------------------------------------------------------------------------------------
// Load

/** Requests still allowed: the count and the clock, whichever runs out first. */
class Budget {
  private issued = 0;
  constructor(
    private readonly max: number,
    readonly deadline: number,
  ) {}

  take(): boolean {
    if (this.issued >= this.max || performance.now() >= this.deadline) return false;
    this.issued++;
    return true;
  }
}

class Recorder {
  ok = 0;
  failed = 0;
  transportErrors = 0;
  firstError: string | undefined;
  resumed = 0;
  connections = 0;
  readonly samples: Float64Array;
  private count = 0;

  constructor(maxRequests: number) {
    this.samples = new Float64Array(Math.min(maxRequests, MAX_SAMPLES));
  }

  response(ms: number, ok: boolean): void {
    if (this.count < this.samples.length) this.samples[this.count++] = ms;
    if (ok) this.ok++;
    else {
      this.failed++;
      this.firstError ??= 'a response with Result Status other than Success';
    }
  }

  error(message: string, requests = 1): void {
    this.transportErrors += requests;
    this.firstError ??= message;
  }

  latencies(): Float64Array {
    return this.samples.subarray(0, this.count).sort();
  }
}

/** Cycles through the schedule's pre-encoded requests. */
class Requests {
  private next = 0;
  constructor(private readonly buffers: Buffer[]) {}

  take(): Buffer {
    const buffer = this.buffers[this.next]!;
    this.next = (this.next + 1) % this.buffers.length;
    return buffer;
  }
}

interface LoadPlan {
  port: number;
  creds: Credentials;
  mode: Mode;
  connections: number;
  pipeline: number;
  requests: Buffer[];
}

interface RunResult {
  rec: Recorder;
  elapsedMs: number;
  clientCpuMs: number;
  serverCpuMs: number | undefined;
  /** CPU time of everything else on the machine during the run: other people's work skews the numbers. */
  otherCpuMs: number | undefined;
}

/** Every client socket not yet closed, so a hung run can be cut. */
const openSockets = new Set<TLSSocket>();

function track(socket: TLSSocket): TLSSocket {
  openSockets.add(socket);
  socket.once('close', () => openSockets.delete(socket));
  return socket;
}

async function runLoad(plan: LoadPlan, seconds: number, maxRequests: number, serverGroup: number | undefined): Promise<RunResult> {
  const rec = new Recorder(maxRequests);
  const requests = new Requests(plan.requests);
  const sockets = plan.mode === 'persistent' ? await Promise.all(Array.from({ length: plan.connections }, () => connectTls(plan.port, plan.creds).then(track))) : [];
  rec.connections = sockets.length;
  const cpu0 = process.cpuUsage();
  const server0 = groupCpuMs(serverGroup);
  const machine0 = machineBusyMs();
  const start = performance.now();
  const budget = new Budget(maxRequests, start + seconds * 1000);
  const cut = setTimeout(() => {
    for (const socket of openSockets) socket.destroy(new Error(`no response within ${DRAIN_MS} ms after the measuring time`));
  }, seconds * 1000 + DRAIN_MS);
  if (plan.mode === 'persistent') await drivePersistent(sockets, requests, budget, rec, plan.pipeline);
  else await driveReconnect(plan, requests, budget, rec);
  const elapsedMs = performance.now() - start;
  clearTimeout(cut);
  const cpu = process.cpuUsage(cpu0);
  const server1 = groupCpuMs(serverGroup);
  const machine1 = machineBusyMs();
  for (const socket of sockets) socket.destroy();
  const clientCpuMs = (cpu.user + cpu.system) / 1000;
  const serverCpuMs = server0 === undefined || server1 === undefined ? undefined : server1 - server0;
  return {
    rec,
    elapsedMs,
    clientCpuMs,
    serverCpuMs,
    otherCpuMs: machine0 === undefined || machine1 === undefined || serverCpuMs === undefined ? undefined : Math.max(0, machine1 - machine0 - clientCpuMs - serverCpuMs),
  };
}

/** Up to `pipeline` requests in flight per connection; each response sends the next request. */
function drivePersistent(sockets: TLSSocket[], requests: Requests, budget: Budget, rec: Recorder, pipeline: number): Promise<void> {
  return new Promise((resolve) => {
    let active = sockets.length;
    if (active === 0) resolve();
    for (const socket of sockets) {
      const reader = new FrameReader({ maxMessageSize: MAX_RESPONSE_SIZE });
      const sentAt: number[] = [];
      let finished = false;
      const finish = (err?: Error): void => {
        if (finished) return;
        finished = true;
        if (sentAt.length > 0) rec.error(err?.message ?? 'the server closed the connection', sentAt.length);
        sentAt.length = 0;
        if (--active === 0) resolve();
      };
      const send = (): void => {
        if (!budget.take()) return;
        sentAt.push(performance.now());
        socket.write(requests.take());
      };
      socket.on('data', (chunk: Buffer) => {
        let frames: Buffer[];
        try {
          frames = reader.push(chunk);
        } catch (err) {
          socket.destroy();
          return finish(err as Error);
        }
        const now = performance.now();
        for (const frame of frames) {
          const t0 = sentAt.shift();
          if (t0 === undefined) rec.error('a response nobody asked for');
          else rec.response(now - t0, succeeded(frame));
          send();
        }
        if (sentAt.length === 0) finish();
      });
      socket.on('error', finish);
      socket.on('close', () => finish());
      for (let i = 0; i < pipeline; i++) send();
      if (sentAt.length === 0) finish();
    }
  });
}

/** `connections` slots, each: connect (resuming its previous session), one request, close, repeat. */
function driveReconnect(plan: LoadPlan, requests: Requests, budget: Budget, rec: Recorder): Promise<void> {
  return new Promise((resolve) => {
    let active = plan.connections;
    for (let slot = 0; slot < plan.connections; slot++) {
      let session: Buffer | undefined;
      const next = (): void => {
        if (!budget.take()) {
          if (--active === 0) resolve();
          return;
        }
        const t0 = performance.now();
        const request = requests.take();
        const socket = track(connect(tlsOptions(plan.port, plan.creds, session)));
        const reader = new FrameReader({ maxMessageSize: MAX_RESPONSE_SIZE });
        rec.connections++;
        let settled = false;
        const settle = (outcome: boolean | Error): void => {
          if (settled) return;
          settled = true;
          if (outcome instanceof Error) rec.error(outcome.message);
          else rec.response(performance.now() - t0, outcome);
          if (socket.isSessionReused()) rec.resumed++;
          socket.end();
          // A server that never answers the close still gets its socket freed.
          setTimeout(() => socket.destroy(), 1000).unref();
          next();
        };
        // TLS 1.2 tickets arrive before secureConnect, TLS 1.3 ones after: listen from the start.
        socket.on('session', (s: Buffer) => (session = s));
        socket.once('secureConnect', () => {
          socket.setNoDelay(true);
          socket.write(request);
        });
        socket.on('data', (chunk: Buffer) => {
          try {
            const [frame] = reader.push(chunk);
            if (frame) settle(succeeded(frame));
          } catch (err) {
            socket.destroy();
            settle(err as Error);
          }
        });
        socket.on('error', settle);
        socket.on('close', () => settle(new Error('the connection closed before the response')));
      };
      next();
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Targets

class Unavailable extends Error {}

interface Started {
  port: number;
  child: ChildProcess;
}

interface BenchContext {
  dir: string;
  files: PkiFiles;
  creds: Credentials;
  options: Options;
  /** Why kmipd cannot run here, if it cannot. */
  kmipdMissing?: string;
}

function poll<T>(what: string, child: ChildProcess, check: () => T | undefined | Promise<T | undefined>, log?: string): Promise<T> {
  const deadline = performance.now() + STARTUP_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const attempt = async (): Promise<void> => {
      const found = await check();
      if (found !== undefined) return resolve(found);
      const tail = log && existsSync(log) ? `; its log ends:\n${readFileSync(log, 'utf8').split('\n').slice(-8).join('\n')}` : '';
      if (!running(child)) return reject(new Unavailable(`${what} exited (code ${child.exitCode ?? child.signalCode}) before it was ready${tail}`));
      if (performance.now() > deadline) return reject(new Unavailable(`${what} was not ready after ${STARTUP_TIMEOUT_MS / 1000} s${tail}`));
      setTimeout(() => void attempt().catch(reject), 100);
    };
    void attempt().catch(reject);
  });
}

async function startEcho(ctx: BenchContext): Promise<Started> {
  const { ca, cert, key } = ctx.files;
  // stdin stays a pipe: the echo server exits when it closes, should this process die first.
  const child = spawnChild(process.execPath, [...nodeArgs(), '--import', 'tsx', ECHO_SERVER, '--ca', ca, '--cert', cert, '--key', key], ['pipe', 'pipe', 'inherit']);
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  const port = await poll('the echo server', child, () => {
    const printed = /^(\d+)\n/.exec(out);
    return printed ? Number(printed[1]) : undefined;
  });
  return { port, child };
}

async function startKmipd(ctx: BenchContext, extraSets: string[] = []): Promise<Started> {
  if (ctx.kmipdMissing) throw new Unavailable(ctx.kmipdMissing);
  // A log per start: the port is read from the first "listening" line.
  const log = join(ctx.dir, `kmipd-${++kmipdStarts}.log`);
  const fd = openSync(log, 'a');
  const sets = ['listen.port=0', 'https.enabled=false', 'log.level=info', ...extraSets, ...ctx.options.kmipdSet].flatMap((s) => ['--set', s]);
  // Logs go to a file, not a pipe: reading them here would charge the client for the server's logging.
  const child = spawnChild(process.execPath, [...nodeArgs(), KMIPD_BIN, 'serve', '--data-dir', join(ctx.dir, 'data'), ...sets], ['ignore', fd, fd]);
  closeSync(fd);
  const port = await poll(
    'kmipd serve',
    child,
    () => {
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        if (!line.includes('"listening"')) continue;
        const entry = JSON.parse(line) as { msg?: string; transport?: string; port?: number };
        if (entry.msg === 'listening' && entry.transport === 'tls' && typeof entry.port === 'number') return entry.port;
      }
      return undefined;
    },
    log,
  );
  return { port, child };
}

let kmipdStarts = 0;
let pykmipStarts = 0;

async function startPykmip(ctx: BenchContext): Promise<Started> {
  if (!existsSync(PYKMIP_SERVER) || !existsSync(PYTHON)) throw new Unavailable(`${PYKMIP_SERVER} is not installed (Debian: python3-pykmip)`);
  const dir = join(ctx.dir, `pykmip-${++pykmipStarts}`);
  mkdirSync(join(dir, 'policies'), { recursive: true });
  const port = await freePort();
  const conf = join(dir, 'server.conf');
  const log = join(dir, 'server.log');
  writeFileSync(
    conf,
    [
      '[server]',
      `hostname=${HOST}`,
      `port=${port}`,
      `certificate_path=${ctx.files.cert}`,
      `key_path=${ctx.files.key}`,
      `ca_path=${ctx.files.ca}`,
      'auth_suite=TLS1.2',
      `policy_path=${join(dir, 'policies')}`,
      'enable_tls_client_auth=True',
      `database_path=${join(dir, 'pykmip.db')}`,
      'logging_level=INFO',
      '',
    ].join('\n'),
  );
  const child = spawnChild(PYTHON, [PYKMIP_SERVER, '-f', conf, '-l', log], ['ignore', 'ignore', 'ignore']);
  // Ready when a mutual-TLS handshake succeeds (PyKMIP's port takes a port number, not 0).
  await poll(
    'pykmip-server',
    child,
    () =>
      connectTls(port, ctx.creds).then(
        (socket) => {
          socket.destroy();
          return true;
        },
        () => undefined,
      ),
    log,
  );
  return { port, child };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const STARTERS: Record<TargetName, (ctx: BenchContext) => Promise<Started>> = { kmipd: (ctx) => startKmipd(ctx), echo: startEcho, pykmip: startPykmip };

interface Negotiated {
  version: ProtocolVersion;
  tls: string;
  notes: string[];
}

/** The first version, from the requested one down, in which the target answers every probe request. */
async function negotiate(port: number, creds: Credentials, requested: ProtocolVersion, probe: (version: ProtocolVersion) => Buffer[]): Promise<Negotiated> {
  const lower = FALLBACK_VERSIONS.filter((v) => v.major < requested.major || (v.major === requested.major && v.minor < requested.minor));
  const notes: string[] = [];
  for (const version of [requested, ...lower]) {
    const socket = await connectTls(port, creds);
    try {
      for (const request of probe(version)) {
        const response = parseResponse(decode(await roundTrip(socket, request)));
        const item = response.items[0];
        if (item?.resultStatus !== Enum.ResultStatus.Success) {
          throw new Error(`${operationName(item?.operation)}: ${reasonName(item?.resultReason)}${item?.resultMessage ? `: ${item.resultMessage}` : ''}`);
        }
      }
      return { version, tls: `${socket.getProtocol() ?? '?'} ${socket.getCipher().name}`, notes };
    } catch (err) {
      notes.push(`${versionString(version)} refused (${(err as Error).message})`);
    } finally {
      socket.destroy();
    }
  }
  throw new Unavailable(`no protocol version worked: ${notes.join('; ')}`);
}

function operationName(value: number | undefined): string {
  return Object.entries(Enum.Operation).find(([, v]) => v === value)?.[0] ?? 'the request';
}

/** One row of a report: a server, started fresh, and the requests it is measured on. */
interface RunSpec {
  label: string;
  start: (ctx: BenchContext) => Promise<Started>;
  /** Requests that must succeed for a protocol version to be chosen. */
  probe: (version: ProtocolVersion) => Buffer[];
  /** The measured requests, cycled; may first prepare data on the target (the keys a Get reads). */
  requests: (port: number, version: ProtocolVersion) => Promise<Buffer[]>;
}

interface TargetResult {
  name: string;
  unavailable?: string;
  negotiated?: Negotiated;
  result?: RunResult;
  /** The server's resident memory after the run, in MiB (Linux). */
  rssMb?: number;
}

/** Starts a target, negotiates, warms up, measures, and stops it. */
async function benchTarget(spec: RunSpec, ctx: BenchContext): Promise<TargetResult> {
  let started: Started | undefined;
  try {
    process.stderr.write(`${spec.label}: starting\n`);
    started = await spec.start(ctx);
    return await measure(spec, ctx, started);
  } catch (err) {
    return unavailable(spec.label, err);
  } finally {
    for (const socket of openSockets) socket.destroy();
    if (started) await stopChild(started.child);
  }
}

function unavailable(name: string, err: unknown): TargetResult {
  const reason = err instanceof Unavailable ? err.message : `failed: ${(err as Error).message}`;
  process.stderr.write(`${name}: unavailable — ${reason}\n`);
  return { name, unavailable: reason };
}

async function measure(spec: RunSpec, ctx: BenchContext, started: Started): Promise<TargetResult> {
  const { options } = ctx;
  const negotiated = await negotiate(started.port, ctx.creds, options.protocol, spec.probe);
  for (const note of negotiated.notes) process.stderr.write(`${spec.label}: ${note}\n`);
  const plan: LoadPlan = {
    port: started.port,
    creds: ctx.creds,
    mode: options.mode,
    connections: options.connections,
    pipeline: options.mode === 'persistent' ? options.pipeline : 1,
    requests: await spec.requests(started.port, negotiated.version),
  };
  if (options.warmup > 0) {
    process.stderr.write(`${spec.label}: warming up ${options.warmup} s\n`);
    await runLoad(plan, options.warmup, options.requests, undefined);
  }
  process.stderr.write(`${spec.label}: measuring ${options.seconds} s (KMIP ${versionString(negotiated.version)}, ${negotiated.tls})\n`);
  const result = await runLoad(plan, options.seconds, options.requests, started.child.pid);
  const rss = rssMb(started.child.pid);
  return { name: spec.label, negotiated, result, ...(rss !== undefined ? { rssMb: rss } : {}) };
}

/** Resident memory of a process in MiB, from /proc; undefined off Linux. */
function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined || !existsSync(`/proc/${pid}/status`)) return undefined;
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return kb ? Number(kb[1]) / 1024 : undefined;
}

// ---------------------------------------------------------------------------------------------
// Scenarios

const fixed = (names: OperationName[]) => (version: ProtocolVersion): Buffer[] => names.map((n) => encodeRequest(version, n));

/** Each kmipd run gets a database of its own, so runs do not see each other's keys. */
let storeRuns = 0;
function freshSqlite(ctx: BenchContext): string[] {
  return [`store.filename=${join(ctx.dir, `store-${++storeRuns}.sqlite`)}`];
}

/**
 * kmipd on a fresh PostgreSQL schema (dropped when the bench exits): `--pg URL`, default the
 * test database at 127.0.0.1:5432.
 */
async function startKmipdPg(ctx: BenchContext, extraSets: string[] = []): Promise<Started> {
  const schema = `kmipd_bench_${randomBytes(6).toString('hex')}`;
  try {
    await pgAdmin(ctx.options.pgUrl, `CREATE SCHEMA ${schema}`);
  } catch (err) {
    throw new Unavailable(`PostgreSQL at ${ctx.options.pgUrl} is unreachable (${(err as Error).message}); give --pg URL`);
  }
  pgSchemas.push([ctx.options.pgUrl, schema]);
  return startKmipd(ctx, ['store.client=pg', `store.connection=${ctx.options.pgUrl}`, `store.schema=${schema}`, `store.poolSize=${ctx.options.connections}`, ...extraSets]);
}

const pgSchemas: [url: string, schema: string][] = [];

async function pgAdmin(url: string, sql: string): Promise<void> {
  const knex = createKnex({ client: 'pg', connection: { connectionString: url, connectionTimeoutMillis: 3000 }, pool: { min: 0, max: 1 }, acquireConnectionTimeout: 4000 });
  try {
    await knex.raw(sql);
  } finally {
    await knex.destroy();
  }
}

async function dropPgSchemas(): Promise<void> {
  for (const [url, schema] of pgSchemas.splice(0)) await pgAdmin(url, `DROP SCHEMA ${schema} CASCADE`).catch(() => undefined);
}

/** Creates `count` AES-256 keys over a few connections; their Unique Identifiers. */
async function createKeys(port: number, creds: Credentials, version: ProtocolVersion, count: number): Promise<string[]> {
  const uids: string[] = [];
  const request = encodeRequest(version, 'create');
  const worker = async (): Promise<void> => {
    const socket = await connectTls(port, creds);
    try {
      while (uids.length < count) {
        const [answer] = parseResponse(decode(await roundTrip(socket, request))).items;
        if (answer?.resultStatus !== Enum.ResultStatus.Success) throw new Error(`Create failed: ${reasonName(answer?.resultReason)} ${answer?.resultMessage ?? ''}`);
        uids.push(answer.payload!.need(Tag.UniqueIdentifier, 'TextString'));
      }
    } finally {
      socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return uids.slice(0, count);
}

function createSpecs(ctx: BenchContext): RunSpec[] {
  const creates = async (_port: number, version: ProtocolVersion): Promise<Buffer[]> => [encodeRequest(version, 'create')];
  const all: Record<string, RunSpec> = {
    'create-sqlite': { label: 'kmipd-sqlite', start: (c) => startKmipd(c, freshSqlite(c)), probe: fixed(['create']), requests: creates },
    'create-pg': { label: 'kmipd-pg', start: (c) => startKmipdPg(c), probe: fixed(['create']), requests: creates },
    'create-pykmip': { label: 'pykmip', start: startPykmip, probe: fixed(['create']), requests: creates },
  };
  // The audit table's cost (issue 6): the same Creates with audit.enabled false, then true.
  const audit: Record<string, RunSpec[]> = {
    'create-audit': [
      { label: 'kmipd-audit-off', start: (c) => startKmipd(c, [...freshSqlite(c), 'audit.enabled=false']), probe: fixed(['create']), requests: creates },
      { label: 'kmipd-audit-on', start: (c) => startKmipd(c, freshSqlite(c)), probe: fixed(['create']), requests: creates },
    ],
    'create-audit-pg': [
      { label: 'kmipd-pg-audit-off', start: (c) => startKmipdPg(c, ['audit.enabled=false']), probe: fixed(['create']), requests: creates },
      { label: 'kmipd-pg-audit-on', start: (c) => startKmipdPg(c), probe: fixed(['create']), requests: creates },
    ],
  };
  return ctx.options.scenarios.flatMap((s) => (s in all ? [all[s]!] : (audit[s] ?? [])));
}

function getSpecs(ctx: BenchContext): RunSpec[] {
  const gets = (keys: number) => async (port: number, version: ProtocolVersion): Promise<Buffer[]> => {
    process.stderr.write(`get: creating ${keys} keys to read\n`);
    const uids = await createKeys(port, ctx.creds, version, keys);
    return uids.map((uid) => encodeItem(version, Enum.Operation.Get, getPayload(uid)));
  };
  return [
    { label: 'kmipd-sqlite', start: (c) => startKmipd(c, freshSqlite(c)), probe: fixed(['create']), requests: gets(ctx.options.keys) },
    // PyKMIP creates some tens of keys a second: fewer keys, read over and over.
    { label: 'pykmip', start: startPykmip, probe: fixed(['create']), requests: gets(Math.min(ctx.options.keys, PYKMIP_KEYS)) },
  ];
}

/** The 64 bytes every crypto request encrypts or signs. */
const CRYPTO_DATA = Buffer.alloc(64, 0x5a);

/**
 * Encrypt and Sign on kmipd, each with a key made (and activated) on the target first, and the
 * echo server answering the very same requests with its fixed response: the ceiling.
 */
function cryptoSpecs(ctx: BenchContext): RunSpec[] {
  const U = Mask.CryptographicUsageMask;
  const params = (fields: Item[]): Item => structure(Tag.CryptographicParameters, fields);
  const encrypt = (uid: string): Item[] => [
    item(Tag.UniqueIdentifier, 'TextString', uid),
    params([item(Tag.BlockCipherMode, 'Enumeration', Enum.BlockCipherMode.GCM), item(Tag.TagLength, 'Integer', 16), item(Tag.RandomIV, 'Boolean', true)]),
    item(Tag.Data, 'ByteString', CRYPTO_DATA),
  ];
  const sign = (uid: string): Item[] => [
    item(Tag.UniqueIdentifier, 'TextString', uid),
    params([item(Tag.DigitalSignatureAlgorithm, 'Enumeration', Enum.DigitalSignatureAlgorithm.ECDSAWithSHA256)]),
    item(Tag.Data, 'ByteString', CRYPTO_DATA),
  ];
  const aesKey = (): Item[] => [
    item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey),
    structure(Tag.Attributes, [
      item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES),
      item(Tag.CryptographicLength, 'Integer', 256),
      item(Tag.CryptographicUsageMask, 'Integer', U.Encrypt | U.Decrypt),
    ]),
  ];
  const ecPair = (): Item[] => [
    structure(Tag.CommonAttributes, [
      item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.EC),
      item(Tag.CryptographicLength, 'Integer', 256),
      structure(Tag.CryptographicDomainParameters, [item(Tag.RecommendedCurve, 'Enumeration', Enum.RecommendedCurve.P_256)]),
    ]),
    structure(Tag.PrivateKeyAttributes, [item(Tag.CryptographicUsageMask, 'Integer', U.Sign)]),
    structure(Tag.PublicKeyAttributes, [item(Tag.CryptographicUsageMask, 'Integer', U.Verify)]),
  ];
  /** Makes the key on the target with `make`, activates the key named by `tag`, and answers its uid. */
  const prepare = async (port: number, version: ProtocolVersion, operation: number, payload: Item[], tag: number): Promise<string> => {
    const socket = await connectTls(port, ctx.creds);
    try {
      const [made] = parseResponse(decode(await roundTrip(socket, encodeItem(version, operation, payload)))).items;
      if (made?.resultStatus !== Enum.ResultStatus.Success) throw new Error(`key set-up failed: ${reasonName(made?.resultReason)} ${made?.resultMessage ?? ''}`);
      const uid = made.payload!.need(tag, 'TextString');
      const [active] = parseResponse(decode(await roundTrip(socket, encodeItem(version, Enum.Operation.Activate, [item(Tag.UniqueIdentifier, 'TextString', uid)])))).items;
      if (active?.resultStatus !== Enum.ResultStatus.Success) throw new Error(`Activate failed: ${reasonName(active?.resultReason)}`);
      return uid;
    } finally {
      socket.destroy();
    }
  };
  const fixedKey = 'bench-key-uid';
  return [
    {
      label: 'kmipd-encrypt',
      start: (c) => startKmipd(c),
      probe: fixed(['discover']),
      requests: async (port, version) => [encodeItem(version, Enum.Operation.Encrypt, encrypt(await prepare(port, version, Enum.Operation.Create, aesKey(), Tag.UniqueIdentifier)))],
    },
    {
      label: 'kmipd-sign',
      start: (c) => startKmipd(c),
      probe: fixed(['discover']),
      requests: async (port, version) => [encodeItem(version, Enum.Operation.Sign, sign(await prepare(port, version, Enum.Operation.CreateKeyPair, ecPair(), Tag.PrivateKeyUniqueIdentifier)))],
    },
    // The echo server answers any message with its fixed Discover Versions response.
    { label: 'echo', start: startEcho, probe: fixed(['discover']), requests: (_port, version) => Promise.resolve([encodeItem(version, Enum.Operation.Encrypt, encrypt(fixedKey))]) },
  ];
}

/**
 * Locate by Name among `--objects` objects: kmipd measured on an empty database, then the
 * objects are seeded into the same running server's database by `test/bench/seed.ts` in another
 * process, and kmipd is measured again. The server's resident memory before and after shows
 * whether it grows with the object count (it must not: objects live in the database).
 */
async function locateScenario(ctx: BenchContext): Promise<{ results: TargetResult[]; notes: string[] }> {
  const { options } = ctx;
  const store = freshSqlite(ctx);
  const objects = options.objects;
  const label = (n: number): string => `kmipd ${n} objects`;
  let started: Started | undefined;
  try {
    process.stderr.write('locate: starting kmipd\n');
    started = await startKmipd(ctx, store);
    const rssStart = rssMb(started.child.pid);
    const spec: RunSpec = {
      label: label(0),
      start: () => Promise.reject(new Error('already started')),
      probe: (version) => [encodeItem(version, Enum.Operation.Locate, locateByNamePayload(version, `${SEED_PREFIX}0`))],
      requests: (_port, version) =>
        Promise.resolve(Array.from({ length: LOCATE_REQUESTS }, () => encodeItem(version, Enum.Operation.Locate, locateByNamePayload(version, `${SEED_PREFIX}${Math.floor(Math.random() * objects)}`)))),
    };
    const empty = await measure(spec, ctx, started);
    const t0 = performance.now();
    await seedObjects(ctx, store, objects);
    const seedSeconds = (performance.now() - t0) / 1000;
    const rssSeeded = rssMb(started.child.pid);
    const full = await measure({ ...spec, label: label(objects) }, ctx, started);
    const version = full.negotiated?.version ?? empty.negotiated?.version ?? options.protocol;
    const found = await locateCount(started.port, ctx.creds, version, `${SEED_PREFIX}${objects - 1}`).then(
      (n) => `found ${n} object(s) (expected 1)`,
      (err: Error) => `got no answer (${err.message})`,
    );
    const mb = (n: number | undefined): string => (n === undefined ? '?' : `${n.toFixed(0)} MiB`);
    const notes = [
      `locate: seeded ${objects} objects in ${seedSeconds.toFixed(1)} s (test/bench/seed.ts, another process, kmipd running)`,
      `locate: kmipd rss: at start ${mb(rssStart)}, after Locates on 0 objects ${mb(empty.rssMb)}, after seeding ${mb(rssSeeded)}, after Locates on ${objects} objects ${mb(full.rssMb)}`,
      `locate: Locate of ${SEED_PREFIX}${objects - 1} ${found}`,
    ];
    return { results: [empty, full], notes };
  } catch (err) {
    return { results: [unavailable(label(objects), err)], notes: [] };
  } finally {
    for (const socket of openSockets) socket.destroy();
    if (started) await stopChild(started.child);
  }
}

const SEED_PREFIX = 'bench-key-';
/** Distinct pre-encoded Locate requests, with random names, cycled by the load. */
const LOCATE_REQUESTS = 10_000;
const PYKMIP_KEYS = 100;
const SEED_SCRIPT = join(repoRoot, 'test/bench/seed.ts');

async function seedObjects(ctx: BenchContext, storeSets: string[], count: number): Promise<void> {
  process.stderr.write(`locate: seeding ${count} objects\n`);
  // Owner kmipctl: the identity of the bench's client certificate, so its Locates see them.
  const args = ['--import', 'tsx', SEED_SCRIPT, '--data-dir', join(ctx.dir, 'data'), ...storeSets.flatMap((s) => ['--set', s]), '--count', String(count), '--owner', 'kmipctl', '--name-prefix', SEED_PREFIX];
  const child = spawnChild(process.execPath, args, ['ignore', 'inherit', 'inherit']);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`seeding failed (exit ${code})`);
}

async function locateCount(port: number, creds: Credentials, version: ProtocolVersion, nameValue: string): Promise<number> {
  const socket = await connectTls(port, creds);
  try {
    const [answer] = parseResponse(decode(await roundTrip(socket, encodeItem(version, Enum.Operation.Locate, locateByNamePayload(version, nameValue))))).items;
    return answer?.payload?.values(Tag.UniqueIdentifier, 'TextString').length ?? 0;
  } finally {
    socket.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// PKI and report

async function preparePki(dir: string, options: Options): Promise<{ files: PkiFiles; kmipdMissing?: string }> {
  const data = join(dir, 'data');
  const files = (d: string): PkiFiles => ({
    ca: join(d, 'ca.pem'),
    cert: join(d, 'server.pem'),
    key: join(d, 'server-key.pem'),
    clientCert: join(d, 'client-kmipctl.pem'),
    clientKey: join(d, 'client-kmipctl-key.pem'),
  });
  let kmipdMissing: string;
  if (!existsSync(KMIPD_BIN)) {
    kmipdMissing = `${KMIPD_BIN} does not exist yet (kmipd serve not available)`;
  } else {
    const init = spawnChild(process.execPath, [KMIPD_BIN, 'init', '--data-dir', data, ...(options.rsa ? ['--rsa'] : [])], ['ignore', 'ignore', 'pipe']);
    let stderr = '';
    init.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => signalGroup(init, 'SIGKILL'), STARTUP_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => init.once('exit', resolve));
    clearTimeout(timer);
    if (code === 0) return { files: files(data) };
    kmipdMissing = `kmipd init failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`;
  }
  // Without kmipd, the other targets still need certificates.
  await writeDevPki(join(dir, 'pki'), await createDevPki({ algorithm: options.rsa ? 'rsa' : 'ec' }));
  return { files: files(join(dir, 'pki')), kmipdMissing };
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function opsPerSecond(r: RunResult): number {
  return r.rec.ok / (r.elapsedMs / 1000);
}

/** One table of the report: rows measured the same way, ratios between them, and notes. */
interface Table {
  op: string;
  results: TargetResult[];
  ratios: [string, string][];
  notes?: string[];
}

/** Scenarios in the order they run; the create-* ones share one table. */
const SCENARIO_ORDER = ['discover', 'create', 'get', 'locate-1m', 'crypto'] as const;

async function runScenario(scenario: (typeof SCENARIO_ORDER)[number], ctx: BenchContext): Promise<Table> {
  const results: TargetResult[] = [];
  switch (scenario) {
    case 'discover': {
      const { options } = ctx;
      const probe = (version: ProtocolVersion): Buffer[] => [...new Set(options.schedule)].map((n) => encodeRequest(version, n));
      const requests = (_port: number, version: ProtocolVersion): Promise<Buffer[]> => Promise.resolve(options.schedule.map((n) => encodeRequest(version, n)));
      for (const name of options.targets) results.push(await benchTarget({ label: name, start: STARTERS[name], probe, requests }, ctx));
      return { op: options.mixLabel, results, ratios: [['kmipd', 'echo'], ['kmipd', 'pykmip']] };
    }
    case 'create':
      for (const spec of createSpecs(ctx)) results.push(await benchTarget(spec, ctx));
      return { op: 'create AES-256 (durable)', results, ratios: [['kmipd-sqlite', 'pykmip'], ['kmipd-pg', 'pykmip'], ['kmipd-sqlite', 'kmipd-pg'], ['kmipd-audit-on', 'kmipd-audit-off'], ['kmipd-pg-audit-on', 'kmipd-pg-audit-off']] };
    case 'get':
      for (const spec of getSpecs(ctx)) results.push(await benchTarget(spec, ctx));
      return { op: `get (${ctx.options.keys} existing keys, PyKMIP ${Math.min(ctx.options.keys, PYKMIP_KEYS)})`, results, ratios: [['kmipd-sqlite', 'pykmip']] };
    case 'locate-1m': {
      const { results: rows, notes } = await locateScenario(ctx);
      return { op: `locate by Name among ${ctx.options.objects} objects`, results: rows, ratios: [], notes };
    }
    case 'crypto':
      for (const spec of cryptoSpecs(ctx)) results.push(await benchTarget(spec, ctx));
      return { op: 'AES-256-GCM Encrypt / ECDSA P-256 Sign of 64 bytes', results, ratios: [['kmipd-encrypt', 'echo'], ['kmipd-sign', 'echo']] };
  }
}

function report(options: Options, table: Table): void {
  const { results } = table;
  const shape = `${options.mode} x${options.connections}${options.mode === 'persistent' && options.pipeline > 1 ? ` pipeline ${options.pipeline}` : ''}`;
  const out: string[] = [''];
  out.push(
    `kmipd load: op ${table.op}, ${shape}, up to ${options.seconds} s or ${options.requests} requests per target after ${options.warmup} s warm-up, ${options.rsa ? 'RSA-2048' : 'ECDSA P-256'} certificates`,
  );
  out.push(
    `note: the load generator (this process, one thread) and each server (a child process) share this ${cpus().length}-core machine; cpu% is of one core: client/server/everything else` +
      (options.mode === 'reconnect' ? '; latency includes the TLS handshake' : ''),
  );
  out.push('');
  const rows = [['target', 'KMIP', 'TLS', 'ops/s', 'p50 ms', 'p99 ms', 'answered', 'errors', 'resumed', 'cpu% c/s/other']];
  for (const t of results) {
    if (!t.result || !t.negotiated) continue;
    const { rec, elapsedMs, clientCpuMs, serverCpuMs, otherCpuMs } = t.result;
    const sorted = rec.latencies();
    const pct = (ms: number | undefined): string => (ms === undefined ? '-' : String(Math.round((100 * ms) / elapsedMs)));
    rows.push([
      t.name,
      versionString(t.negotiated.version),
      t.negotiated.tls,
      opsPerSecond(t.result).toFixed(0),
      percentile(sorted, 0.5).toFixed(2),
      percentile(sorted, 0.99).toFixed(2),
      String(rec.ok + rec.failed),
      String(rec.failed + rec.transportErrors),
      options.mode === 'reconnect' ? `${Math.round((100 * rec.resumed) / Math.max(1, rec.connections))}%` : '-',
      `${pct(clientCpuMs)}/${pct(serverCpuMs)}/${pct(otherCpuMs)}`,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows) out.push(row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  for (const t of results) {
    if (t.unavailable) out.push(`${t.name}: unavailable — ${t.unavailable}`);
    else if (t.result?.rec.firstError) out.push(`${t.name}: first error: ${t.result.rec.firstError}`);
    const other = t.result?.otherCpuMs;
    if (t.result && other !== undefined && other / t.result.elapsedMs > OTHER_LOAD_WARNING) {
      out.push(`${t.name}: warning: other processes kept ${Math.round((100 * other) / t.result.elapsedMs)}% of a core busy during the run; its numbers are skewed`);
    }
    for (const note of t.negotiated?.notes ?? []) out.push(`${t.name}: protocol ${note}`);
  }
  for (const note of table.notes ?? []) out.push(note);
  out.push('');
  for (const [a, b] of table.ratios) {
    const mine = results.find((t) => t.name === a);
    const other = results.find((t) => t.name === b);
    if (!mine || !other) continue;
    const label = `ratio ${a}/${b} ${table.op} ${shape}`;
    const missing = [mine, other].find((t) => !t.result || t.result.rec.ok === 0);
    if (missing) out.push(`${label}: n/a (${missing.name} ${missing.unavailable ? 'unavailable' : 'answered nothing'})`);
    else out.push(`${label}: ${(opsPerSecond(mine.result!) / opsPerSecond(other.result!)).toFixed(2)}`);
  }
  process.stdout.write(out.join('\n') + '\n');
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let options: Options | 'help';
  try {
    options = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`bench:load: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if (options.mode === 'reconnect' && options.pipeline > 1) process.stderr.write('--pipeline applies to persistent connections only; ignored\n');
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-load-'));
  workDir = dir;
  const { files, kmipdMissing } = await preparePki(dir, options);
  const creds: Credentials = {
    context: createSecureContext({ ca: readFileSync(files.ca), cert: readFileSync(files.clientCert), key: readFileSync(files.clientKey), minVersion: 'TLSv1.2' }),
  };
  const ctx: BenchContext = { dir, files, creds, options, ...(kmipdMissing ? { kmipdMissing } : {}) };
  try {
    for (const scenario of SCENARIO_ORDER) {
      if (!options.scenarios.some((s) => s === scenario || (scenario === 'create' && s.startsWith('create-')))) continue;
      report(options, await runScenario(scenario, ctx));
    }
  } finally {
    await dropPgSchemas();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench:load: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);

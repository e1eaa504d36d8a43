/**
 * `kmipctl audit`: the audit chain, read offline from a copy of the database or an export. None of
 * these commands talk to a server; `verify` needs nothing but the records and the public keys.
 *
 * - verify: every hash, every link, every checkpoint signature (docs/audit.md); exit 1 naming the
 *   first broken sequence number.
 * - export: JSON Lines for a SIEM, from a `--since` cursor; says the next cursor on stderr.
 * - tail: follows new records as they are chained.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AuditDatabase, type DatabaseLocation, checkpointLine, readExport, recordLine } from '../audit/source.js';
import { verifyChain, type VerifyReport } from '../audit/verify.js';
import type { Io } from './kmipctl.js';

export const summary = 'The signed audit chain, offline: verify it, export it as JSON Lines, tail it';

const USAGE = `Usage: kmipctl audit <command> [options]

Commands:
  verify   Check every record's hash and link and every checkpoint's signature
  export   Write records and checkpoints as JSON Lines (for a SIEM)
  tail     Print new records as they are chained, until interrupted

Where the chain is read from (one of):
  --db FILE          kmipd's SQLite database (a copy is fine; opened read-only)
  --pg URL           PostgreSQL connection string (with --schema NAME if not the default)
  --file FILE        (verify only) a JSON Lines export

verify:
  --public-key PEM   A trusted audit public key file (repeatable: one per node). 'kmipd audit
                     public-key' prints a node's; keys introduced by a rotation checkpoint
                     signed with a trusted key are trusted too.
  --max-age SECONDS  Also fail when the newest valid checkpoint is older than this (a running
                     server signs every audit.checkpointSeconds): catches a tail removed
                     together with its checkpoints. For monitoring a live store.
  --json             Print the report as JSON
  Exit 0: intact. Exit 1: broken, with the first broken sequence number and what is wrong.

export:
  --since SEQ        Only records after SEQ (default 0: everything); the next cursor is printed
                     on stderr
  --out FILE         Write there instead of stdout

tail:
  --since SEQ        Start after SEQ (default: the current end)
  --interval MS      How often to look (default 500)
  --count N          Stop after N records
`;

const OPTIONS = {
  db: { type: 'string' },
  pg: { type: 'string' },
  schema: { type: 'string' },
  file: { type: 'string' },
  'public-key': { type: 'string', multiple: true },
  json: { type: 'boolean' },
  'max-age': { type: 'string' },
  since: { type: 'string' },
  out: { type: 'string' },
  interval: { type: 'string' },
  count: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

class UsageError extends Error {}

export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help') {
    io.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  let values: Values;
  try {
    values = parseArgs({ args: rest, options: OPTIONS, strict: true }).values;
  } catch (err) {
    io.stderr.write(`kmipctl audit ${name}: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  try {
    switch (name) {
      case 'verify':
        return await verify(values, io);
      case 'export':
        return await exportChain(values, io);
      case 'tail':
        return await tail(values, io);
      default:
        throw new UsageError(`unknown command '${name}'`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`kmipctl audit ${name}: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    io.stderr.write(`kmipctl audit ${name}: ${(err as Error).message}\n`);
    return 1;
  }
}

function location(values: Values): DatabaseLocation {
  if ((values.db === undefined) === (values.pg === undefined)) throw new UsageError('give exactly one of --db FILE and --pg URL');
  return values.db !== undefined ? { sqlite: values.db } : { pg: values.pg!, ...(values.schema !== undefined ? { schema: values.schema } : {}) };
}

function seqOption(values: Values, name: 'since' | 'count' | 'interval' | 'max-age', fallback: number): number {
  const text = values[name];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} must be a whole number, not ${JSON.stringify(text)}`);
  return n;
}

async function verify(values: Values, io: Io): Promise<number> {
  const keys = (values['public-key'] ?? []).map((file) => readFileSync(file, 'utf8'));
  if (keys.length === 0) throw new UsageError('give the trusted audit public key: --public-key FILE (kmipd audit public-key prints it)');
  const maxAge = values['max-age'] === undefined ? {} : { maxAgeSeconds: seqOption(values, 'max-age', 0) };
  let report: VerifyReport;
  if (values.file !== undefined) {
    if (values.db !== undefined || values.pg !== undefined) throw new UsageError('give one of --db, --pg and --file');
    const file = await readExport(values.file);
    report = await verifyChain({ records: file.records, checkpoints: file.checkpoints, trustedKeys: keys, fromGenesis: false, ...maxAge });
  } else {
    const db = await AuditDatabase.open(location(values));
    try {
      report = await verifyChain({ records: db.records(), checkpoints: await db.checkpoints(), trustedKeys: keys, fromGenesis: true, unchained: await db.unchained(), ...maxAge });
    } finally {
      await db.close();
    }
  }
  if (values.json) {
    io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  }
  const span = report.rows === 0 ? 'no records' : `${report.rows} records (seq ${report.firstSeq} to ${report.lastSeq})`;
  if (!report.ok) {
    const [first, ...others] = report.problems;
    io.stdout.write(`audit chain BROKEN at seq ${first!.seq}: ${first!.message}\n`);
    for (const p of others.slice(0, 20)) io.stdout.write(`  also at seq ${p.seq}: ${p.message}\n`);
    if (others.length > 20) io.stdout.write(`  … and ${others.length - 20} more problems\n`);
    io.stdout.write(`read ${span}, ${report.checkpoints} checkpoints\n`);
    return 1;
  }
  io.stdout.write(`audit chain OK: ${span}, ${report.checkpoints} checkpoints signed by ${report.keys.length} key(s), signed through seq ${report.signedThrough}\n`);
  if (report.unsigned > 0) io.stdout.write(`${report.unsigned} records after the last checkpoint are chained but not signed yet\n`);
  if (report.unchained > 0) io.stdout.write(`${report.unchained} rows are written but not chained yet (a server is running, or will chain them at its next start)\n`);
  return 0;
}

async function exportChain(values: Values, io: Io): Promise<number> {
  const since = seqOption(values, 'since', 0);
  const db = await AuditDatabase.open(location(values));
  const out = values.out !== undefined ? createWriteStream(values.out) : io.stdout;
  let last = since;
  let count = 0;
  try {
    const checkpoints = await db.checkpoints(since);
    let c = 0;
    // The checkpoint at the cursor itself anchors an export that starts after it.
    while (c < checkpoints.length && checkpoints[c]!.seq <= since) write(out, checkpointLine(checkpoints[c++]!));
    for await (const record of db.records(since)) {
      write(out, recordLine(record));
      count++;
      last = record.seq;
      while (c < checkpoints.length && checkpoints[c]!.seq <= last) write(out, checkpointLine(checkpoints[c++]!));
    }
  } finally {
    await db.close();
    if (out !== io.stdout) await new Promise<void>((resolve, reject) => (out as NodeJS.WritableStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  io.stderr.write(`exported ${count} records${count > 0 ? ` (seq ${since + 1} to ${last})` : ''}; next: --since ${last}\n`);
  return 0;
}

async function tail(values: Values, io: Io): Promise<number> {
  const interval = seqOption(values, 'interval', 500);
  const limit = values.count === undefined ? Infinity : seqOption(values, 'count', 0);
  const db = await AuditDatabase.open(location(values));
  let stop = false;
  const onSignal = (): void => {
    stop = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let printed = 0;
  try {
    let cursor = values.since !== undefined ? seqOption(values, 'since', 0) : await db.lastSeq();
    while (!stop && printed < limit) {
      for await (const record of db.records(cursor)) {
        write(io.stdout, recordLine(record));
        cursor = record.seq;
        if (++printed >= limit) break;
      }
      if (printed < limit && !stop) await new Promise((resolve) => setTimeout(resolve, interval));
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await db.close();
  }
  return 0;
}

function write(out: NodeJS.WritableStream, line: string): void {
  out.write(`${line}\n`);
}

/**
 * Where `kmipctl audit` reads a chain from, offline: a database (a SQLite file, or PostgreSQL
 * by connection string), opened read-only and never migrated, or a JSON Lines export.
 *
 * Export format (one JSON object per line, in seq order, each checkpoint after the row it signs):
 *   {"type":"record", <the record's fields in canonical order>, "prevHash": …, "hash": …}
 *   {"type":"checkpoint", "seq": …, "hash": …, "time": …, "node": …, "keyId": …, "algorithm": …, "nextKey": …, "signature": …}
 */
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import createKnex, { type Knex } from 'knex';
import { type Checkpoint, type CheckpointRow, checkpointOf } from './checkpoint.js';
import { type AuditRecord, type AuditRow, FIELD_ORDER, recordOf } from './record.js';

export interface DatabaseLocation {
  /** A SQLite database file (kmipd's `store.filename`). */
  sqlite?: string;
  /** A PostgreSQL connection string. */
  pg?: string;
  /** The PostgreSQL schema holding kmipd's tables. */
  schema?: string;
}

const PAGE = 5000;

export class AuditDatabase {
  private constructor(private readonly knex: Knex) {}

  static async open(where: DatabaseLocation): Promise<AuditDatabase> {
    let knex: Knex;
    if (where.sqlite !== undefined) {
      // knex cannot open read-only (its flags add to READWRITE), so: never create, and refuse writes.
      if (!existsSync(where.sqlite)) throw new Error(`no such database file: ${where.sqlite}`);
      knex = createKnex({
        client: 'sqlite3',
        connection: { filename: where.sqlite },
        useNullAsDefault: true,
        pool: { min: 0, max: 1, afterCreate: (conn: { exec(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null) => void) => conn.exec('PRAGMA query_only = ON; PRAGMA busy_timeout = 5000', done) },
      });
    } else if (where.pg !== undefined) {
      knex = createKnex({ client: 'pg', connection: where.pg, ...(where.schema ? { searchPath: [where.schema] } : {}), pool: { min: 0, max: 2 } });
    } else {
      throw new Error('give the database: --db <sqlite file> or --pg <connection string>');
    }
    const db = new AuditDatabase(knex);
    try {
      await knex.raw('SELECT count(*) FROM audit_log WHERE id < 0');
    } catch (err) {
      await knex.destroy();
      throw new Error(`no kmipd audit table there (${(err as Error).message})`);
    }
    return db;
  }

  /** Chained records with seq > `since`, in order, page by page. */
  async *records(since = 0): AsyncGenerator<AuditRecord> {
    let cursor = since;
    for (;;) {
      const rows = (await this.knex.raw('SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?', [cursor, PAGE])) as unknown;
      const page = rowsOf<AuditRow>(rows);
      for (const row of page) {
        const record = recordOf(row);
        if (record) yield record;
      }
      if (page.length < PAGE) return;
      cursor = Number(page[page.length - 1]!.seq);
    }
  }

  async checkpoints(since = 0): Promise<Checkpoint[]> {
    const rows = rowsOf<CheckpointRow>(await this.knex.raw('SELECT * FROM audit_checkpoints WHERE seq >= ? ORDER BY seq, id', [since]));
    return rows.map(checkpointOf);
  }

  /** The newest chained seq (0 when none). */
  async lastSeq(): Promise<number> {
    const [row] = rowsOf<{ n: number | string | null }>(await this.knex.raw('SELECT max(seq) AS n FROM audit_log'));
    return Number(row?.n ?? 0);
  }

  /** Rows written and not chained yet. */
  async unchained(): Promise<number> {
    const [row] = rowsOf<{ n: number | string }>(await this.knex.raw('SELECT count(*) AS n FROM audit_log WHERE seq IS NULL'));
    return Number(row?.n ?? 0);
  }

  close(): Promise<void> {
    return this.knex.destroy();
  }
}

/** knex.raw answers rows as an array on SQLite and as `{ rows }` on PostgreSQL. */
function rowsOf<T>(result: unknown): T[] {
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export function recordLine(r: AuditRecord): string {
  const out: Record<string, unknown> = { type: 'record' };
  for (const k of FIELD_ORDER) out[k] = r[k] ?? null;
  out.prevHash = r.prevHash;
  out.hash = r.hash;
  return JSON.stringify(out);
}

export function checkpointLine(c: Checkpoint): string {
  return JSON.stringify({ type: 'checkpoint', ...c });
}

export interface ExportFile {
  records: AuditRecord[];
  checkpoints: Checkpoint[];
}

/** Reads an export; a line that is not JSON of a known type is an error naming the line. */
export async function readExport(path: string): Promise<ExportFile> {
  const out: ExportFile = { records: [], checkpoints: [] };
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${path}:${n}: not a JSON line`);
    }
    if (value.type === 'record') out.records.push(value as unknown as AuditRecord);
    else if (value.type === 'checkpoint') out.checkpoints.push(value as unknown as Checkpoint);
    else throw new Error(`${path}:${n}: unknown line type ${JSON.stringify(value.type)}`);
  }
  out.records.sort((a, b) => a.seq - b.seq);
  out.checkpoints.sort((a, b) => a.seq - b.seq);
  return out;
}

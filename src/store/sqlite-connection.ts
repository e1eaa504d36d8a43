/**
 * node-sqlite3 connections with a prepared-statement cache. A statement round trip through
 * node-sqlite3 costs tens of microseconds (a thread-pool hop); preparing it again each time, or
 * building it through knex, more than doubles that. On the write path of a Create that is the
 * difference between the fsync and the CPU being the limit, so the store keeps its own
 * connections here and uses knex for migrations and for other modules' queries only.
 */
import sqlite3 from 'sqlite3';

/** Cached statements per connection; beyond this the cache is emptied (they are cheap to redo). */
const MAX_CACHED_STATEMENTS = 256;

export class SqliteConnection {
  private readonly statements = new Map<string, sqlite3.Statement>();

  private constructor(readonly db: sqlite3.Database) {}

  /** Opens the file (creating it) and runs `pragmas`. */
  static async open(filename: string, pragmas: string): Promise<SqliteConnection> {
    const db = await new Promise<sqlite3.Database>((resolve, reject) => {
      const opened: sqlite3.Database = new sqlite3.Database(filename, (err) => (err ? reject(err) : resolve(opened)));
    });
    const conn = new SqliteConnection(db);
    try {
      await conn.exec(pragmas);
    } catch (err) {
      await conn.close();
      throw err;
    }
    return conn;
  }

  /** Runs statements without parameters, several at once if separated by semicolons. */
  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => this.db.exec(sql, (err) => (err ? reject(err) : resolve())));
  }

  async all<T>(sql: string, params: readonly unknown[]): Promise<T[]> {
    const statement = await this.prepare(sql);
    return new Promise((resolve, reject) => statement.all(params, (err: Error | null, rows: T[]) => (err ? reject(err) : resolve(rows))));
  }

  /** Runs a statement; resolves to the number of rows it changed. */
  async run(sql: string, params: readonly unknown[]): Promise<number> {
    const statement = await this.prepare(sql);
    return new Promise((resolve, reject) =>
      statement.run(params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve(this.changes);
      }),
    );
  }

  /** Runs parameterized statements in one round trip (see toScript). */
  script(statements: readonly { sql: string; params: readonly unknown[] }[]): Promise<void> {
    return this.exec(toScript(statements));
  }

  private async prepare(sql: string): Promise<sqlite3.Statement> {
    const cached = this.statements.get(sql);
    if (cached) return cached;
    if (this.statements.size >= MAX_CACHED_STATEMENTS) await this.finalizeAll();
    const statement = await new Promise<sqlite3.Statement>((resolve, reject) => {
      const prepared: sqlite3.Statement = this.db.prepare(sql, (err) => (err ? reject(err) : resolve(prepared)));
    });
    this.statements.set(sql, statement);
    return statement;
  }

  private async finalizeAll(): Promise<void> {
    const statements = [...this.statements.values()];
    this.statements.clear();
    await Promise.all(statements.map((s) => new Promise<void>((resolve) => s.finalize(() => resolve()))));
  }

  /** SQLite refuses to close a connection with unfinalized statements: finalize them first. */
  async close(): Promise<void> {
    await this.finalizeAll();
    await new Promise<void>((resolve, reject) => this.db.close((err) => (err ? reject(err) : resolve())));
  }
}

/**
 * Parameterized statements as one script for `exec`, which takes no parameters: each `?` becomes
 * a literal that cannot break out of its place (numbers as digits, bytes as hex `X'…'`, text
 * quoted with its quotes doubled, see textLiteral). `exec` stops at the first statement that fails.
 */
export function toScript(statements: readonly { sql: string; params: readonly unknown[] }[]): string {
  return statements.map((s) => inline(s.sql, s.params)).join(';\n');
}

/** Statements split at their placeholders, by text: the same few statements come again and again (a Create's attribute INSERT has ~100 placeholders). */
const SPLIT_CACHE_SIZE = 256;
const splitCache = new Map<string, readonly string[]>();

function splitAtPlaceholders(sql: string): readonly string[] {
  let parts = splitCache.get(sql);
  if (parts === undefined) {
    if (splitCache.size >= SPLIT_CACHE_SIZE) splitCache.clear();
    parts = sql.split('?');
    splitCache.set(sql, parts);
  }
  return parts;
}

function inline(sql: string, params: readonly unknown[]): string {
  const parts = splitAtPlaceholders(sql);
  if (parts.length - 1 !== params.length) throw new RangeError(`${params.length} parameters for ${parts.length - 1} placeholders in: ${sql}`);
  let text = parts[0]!;
  for (let i = 0; i < params.length; i++) text += literal(params[i]) + parts[i + 1]!;
  return text;
}

/** A value as an SQL literal that cannot break out of its place (see toScript). */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`${value} cannot be stored`);
    return Number.isInteger(value) ? value.toString() : value.toExponential();
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'string') return textLiteral(value);
  if (value instanceof Uint8Array) return `X'${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}'`;
  throw new TypeError(`no SQL literal for ${typeof value}`);
}

/**
 * Text as a quoted SQL literal, quotes doubled: SQL has no other escapes, so nothing in the text
 * can end the literal. sqlite3_exec reads its script as a C string, though, so text holding a NUL
 * goes as UTF-8 hex cast back to text instead (slower to build and to parse: the rare case).
 */
function textLiteral(value: string): string {
  if (value.includes('\0')) return `CAST(X'${Buffer.from(value, 'utf8').toString('hex')}' AS TEXT)`;
  return `'${value.includes("'") ? value.replace(/'/g, "''") : value}'`;
}

/** A fixed set of connections handed out one caller at a time, waiters served in order. */
export class ConnectionPool {
  private readonly idle: SqliteConnection[];
  private readonly waiting: ((conn: SqliteConnection) => void)[] = [];

  constructor(private readonly all: readonly SqliteConnection[]) {
    this.idle = [...all];
  }

  async use<T>(fn: (conn: SqliteConnection) => Promise<T>): Promise<T> {
    const conn = this.idle.pop() ?? (await new Promise<SqliteConnection>((resolve) => this.waiting.push(resolve)));
    try {
      return await fn(conn);
    } finally {
      const next = this.waiting.shift();
      if (next) next(conn);
      else this.idle.push(conn);
    }
  }

  /** Closes every connection; call when no `use` is running. */
  async close(): Promise<void> {
    await Promise.all(this.all.map((c) => c.close()));
  }
}

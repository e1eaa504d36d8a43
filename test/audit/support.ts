/** Helpers for the audit tests: kmipctl/kmipd audit in-process, and the rows of a SQLite store. */
import { PassThrough } from 'node:stream';
import sqlite3 from 'sqlite3';
import { main as kmipctl } from '../../src/cli/kmipctl.js';
import { main as kmipd } from '../../src/cli/kmipd.js';
import type { AuditRow } from '../../src/audit/record.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

async function capture(main: typeof kmipctl, args: readonly string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main([...args], { stdin: new PassThrough(), stdout, stderr });
  return { code, out, err };
}

export const runKmipctl = (args: readonly string[]): Promise<Run> => capture(kmipctl, args);
export const runKmipd = (args: readonly string[]): Promise<Run> => capture(kmipd, args);

/** Runs SQL on a SQLite file (a copy to tamper with, or the live store for reading). */
export async function sql<T = AuditRow>(file: string, text: string, params: unknown[] = []): Promise<T[]> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d: sqlite3.Database = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    await new Promise<void>((resolve, reject) => db.run('PRAGMA busy_timeout = 5000', (err) => (err ? reject(err) : resolve())));
    return await new Promise<T[]>((resolve, reject) => db.all(text, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

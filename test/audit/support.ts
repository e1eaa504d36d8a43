/** Helpers for the audit tests: kmipctl/kmipd audit in-process, and the rows of a SQLite store. */
import sqlite3 from 'sqlite3';
import { main as kmipctl } from '../../src/cli/kmipctl.js';
import { main as kmipd } from '../../src/cli/kmipd.js';
import type { AuditRow } from '../../src/audit/record.js';
import { type Run, captured } from '../support/kmipctl.js';

export const runKmipctl = (args: readonly string[]): Promise<Run> => captured(kmipctl, args);
export const runKmipd = (args: readonly string[]): Promise<Run> => captured(kmipd, args);

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

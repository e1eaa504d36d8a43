/**
 * The SQL behind StoreReader and StoreTransaction, written once for SQLite and PostgreSQL (`?`
 * placeholders; knex turns them into `$n` for PostgreSQL). A Repository runs on one connection
 * or transaction (an `Executor` given by the store) and stops working once its transaction is
 * over, so a leaked handle cannot write into someone else's.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { dateOf } from '../objects/items.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import { decode, encode, type Item } from '../ttlv/index.js';
import { attributeName, indexKeys, refName } from './keys.js';
import { locateSql } from './locate.js';
import { type InsertOptions, type LocateQuery, type ResealPage, StoreError, type StoreTransaction } from './types.js';

/** Where a repository's statements go. */
export interface Executor {
  readonly dialect: 'sqlite3' | 'pg';
  all<T>(sql: string, params: readonly unknown[]): Promise<T[]>;
  /** Resolves to the number of rows changed. */
  run(sql: string, params: readonly unknown[]): Promise<number>;
  /**
   * Runs statements in order, stopping at the first that fails; on SQLite in as few round trips to
   * the database thread as it can (see the writer's `script` in sqlite.ts). A record with a
   * generated uid needs none: it waits for the COMMIT (InsertOptions.uidGenerated).
   */
  script(statements: readonly Statement[]): Promise<void>;
  /**
   * A write nothing waits on (see StoreTransaction.append). Readers have none; an executor without
   * a cheaper way runs it at once.
   */
  append?(statement: Statement): Promise<void>;
  /** Rows for another module's table (see StoreTransaction.appendRows); without it they are inserted at once. */
  appendRows?(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void>;
  /** knex builders on the same connection or transaction, for other modules' tables. */
  table(name: string): Knex.QueryBuilder;
  raw(sql: string, bindings?: readonly Knex.RawBinding[]): Knex.Raw;
}

export interface Statement {
  sql: string;
  params: readonly unknown[];
}

/**
 * Starting a transaction or a `read` inside a transaction function is a programming error: on
 * SQLite the inner one would wait for the group that waits for it; on PostgreSQL it would hold a
 * second pooled connection, and enough of them exhaust the pool. Use `tx` itself.
 *
 * The check needs an AsyncLocalStorage, and on Node 20 the first `run` of one installs promise
 * hooks that tax every promise in the process (a quarter of a small request's CPU). So it runs
 * where such bugs are caught, under the test suite (tap sets TAP=1) or with KMIPD_STORE_CHECKS=1,
 * and not in a production server.
 */
const checkNesting = process.env.TAP === '1' || process.env.KMIPD_STORE_CHECKS === '1';
const transactionScope = new AsyncLocalStorage<true>();

/** Runs a transaction function, marked as such when nesting is checked. */
export function inTransactionScope<T>(fn: () => Promise<T>): Promise<T> {
  return checkNesting ? transactionScope.run(true, fn) : fn();
}

/**
 * Runs `fn` outside any transaction scope: for timers and callbacks set up inside a transaction
 * function that run later, on their own (they would otherwise inherit the scope and be refused).
 */
export function detached<T>(fn: () => T): T {
  return checkNesting ? transactionScope.exit(fn) : fn();
}

/** Whether the caller runs inside a transaction function (always false when nesting is not checked). */
export function insideTransaction(): boolean {
  return checkNesting && transactionScope.getStore() === true;
}

export function nestedError(what: 'transaction' | 'read'): StoreError {
  return new StoreError('NESTED_TRANSACTION', `a store ${what} was started inside a transaction; use the transaction's own methods`);
}

/** Attribute rows per INSERT: up to 6 parameters each, under SQLite's 32,766. */
const ROWS_PER_INSERT = 5000;

interface ObjectRow {
  id: number | string;
  object_type: number;
  state: number;
  sealed_value: Buffer | null;
  storage: number;
}

/** `objects.storage`: the Storage Status Mask bit of the object (KMIP 2.1 §6.1.28). */
export const STORAGE_ONLINE = 1;
export const STORAGE_ARCHIVED = 2;

const objectTypeNames = reverse(Enum.ObjectType);
const stateNames = reverse(Enum.State);

function reverse<K extends string>(table: Record<K, number>): Map<number, K> {
  return new Map(Object.entries(table).map(([name, value]) => [value as number, name as K]));
}

export class Repository implements StoreTransaction {
  private finished = false;

  constructor(
    private readonly db: Executor,
    /** `get` takes the row lock (PostgreSQL write transactions). */
    private readonly lockOnGet: boolean,
  ) {}

  /** Called by the store when the transaction ends. */
  finish(): void {
    this.finished = true;
  }

  executor(): Executor {
    return this.open();
  }

  private open(): Executor {
    if (this.finished) throw new StoreError('FINISHED', 'the store transaction is over; this handle can no longer be used');
    return this.db;
  }

  table(name: string): Knex.QueryBuilder {
    return this.open().table(name);
  }

  raw(sql: string, bindings: readonly Knex.RawBinding[] = []): Knex.Raw {
    return this.open().raw(sql, bindings);
  }

  query<T>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.open().all<T>(sql, params);
  }

  append(statement: Statement): Promise<void> {
    const db = this.open();
    return db.append ? db.append(statement) : db.run(statement.sql, statement.params).then(() => undefined);
  }

  appendRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    const db = this.open();
    if (rows.length === 0) return Promise.resolve();
    if (db.appendRows) return db.appendRows(table, columns, rows);
    const one = `(${columns.map(() => '?').join(',')})`;
    return db.run(`INSERT INTO ${table} (${columns.join(',')}) VALUES ${rows.map(() => one).join(',')}`, rows.flat()).then(() => undefined);
  }

  nextUid(): UniqueIdentifier {
    return randomUUID() as UniqueIdentifier;
  }

  async get(uid: UniqueIdentifier, owner: string): Promise<ManagedObjectRecord | undefined> {
    const db = this.open();
    const lock = this.lockOnGet ? ' FOR UPDATE' : '';
    const [row] = await db.all<ObjectRow>(`SELECT id, object_type, state, sealed_value, storage FROM objects WHERE uid = ? AND owner = ?${lock}`, [uid, owner]);
    if (!row) return undefined;
    const values = await db.all<{ value: Buffer }>('SELECT value FROM attributes WHERE object_id = ? ORDER BY position', [row.id]);
    const record: ManagedObjectRecord = {
      uid,
      owner,
      objectType: enumName(objectTypeNames, row.object_type, uid),
      state: enumName(stateNames, row.state, uid),
      attributes: values.map((v) => decode(v.value)),
    };
    if (row.sealed_value !== null) record.sealedValue = row.sealed_value;
    if (Number(row.storage) === STORAGE_ARCHIVED) record.archived = true;
    return record;
  }

  async locate(query: LocateQuery, owner: string): Promise<UniqueIdentifier[]> {
    const db = this.open();
    const maxItems = query.groupMember === 'Default' ? Math.min(query.maxItems ?? 1, 1) : query.maxItems;
    if (maxItems === 0) return [];
    const { body, params, id, distinct } = locateSql(query, owner);
    let sql = `SELECT ${distinct ? 'DISTINCT ' : ''}o.uid, ${id} ${body} ORDER BY ${id} DESC`;
    const offset = query.offsetItems ?? 0;
    if (maxItems !== undefined) {
      sql += ' LIMIT ?';
      params.push(maxItems);
    } else if (offset > 0 && db.dialect === 'sqlite3') {
      sql += ' LIMIT -1'; // SQLite has no OFFSET without LIMIT
    }
    if (offset > 0) {
      sql += ' OFFSET ?';
      params.push(offset);
    }
    const rows = await db.all<{ uid: UniqueIdentifier }>(sql, params);
    return rows.map((r) => r.uid);
  }

  async count(query: LocateQuery, owner: string): Promise<number> {
    const { body, params, id, distinct } = locateSql(query, owner);
    const [row] = await this.open().all<{ n: number | string }>(`SELECT count(${distinct ? `DISTINCT ${id}` : '*'}) AS n ${body}`, params);
    const n = Number(row?.n ?? 0);
    return query.groupMember === 'Default' ? Math.min(n, 1) : n;
  }

  async insert(record: ManagedObjectRecord, options: InsertOptions = {}): Promise<void> {
    const db = this.open();
    const object: Statement = {
      sql: 'INSERT INTO objects (uid, owner, object_type, state, sealed_value, activation_date, deactivation_date, storage) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      params: [record.uid, record.owner, Enum.ObjectType[record.objectType], Enum.State[record.state], sealed(record), ...derivedColumns(record)],
    };
    if (options.uidGenerated === true && db.dialect === 'sqlite3' && db.append) {
      // Written with the group's COMMIT (InsertOptions.uidGenerated): the uid cannot be taken, and a
      // Name that is could only fail there, so it is looked up first. This runs on the one write
      // connection holding the write lock, after the group's earlier items' writes: nothing can take
      // the Name between this check and the COMMIT.
      const names = nameKeys(record.attributes);
      if (names.length > 0) {
        const [taken] = await db.all<{ name: string }>('SELECT name FROM object_names WHERE owner = ? AND name IN (' + names.map(() => '?').join(', ') + ') LIMIT 1', [record.owner, ...names]);
        if (taken) throw nameTaken(taken.name);
      }
      await db.append(object);
      // The attribute rows name the object by last_insert_rowid(): the objects INSERT just before it
      // in the same script set it, and inserts into attributes (WITHOUT ROWID) leave it alone.
      for (const statement of attributeRowInserts([[LAST_INSERTED, record.attributes]])) await db.append(statement);
      // object_names is a rowid table: its own inserts move last_insert_rowid(), so it names the uid.
      for (const statement of nameInserts([[{ uid: record.uid }, record.attributes]])) await db.append(statement);
      return;
    }
    try {
      await db.script([object, ...attributeInserts([[{ uid: record.uid }, record.attributes]])]);
    } catch (err) {
      if (isNameViolation(err)) throw nameTaken();
      if (isUniqueViolation(err)) throw new StoreError('DUPLICATE', `an object with Unique Identifier ${record.uid} exists`);
      throw err;
    }
  }

  async update(record: ManagedObjectRecord): Promise<void> {
    const db = this.open();
    const [row] = await db.all<{ id: number | string }>(
      'UPDATE objects SET state = ?, sealed_value = ?, activation_date = ?, deactivation_date = ?, storage = ? WHERE uid = ? AND owner = ? RETURNING id',
      [Enum.State[record.state], sealed(record), ...derivedColumns(record), record.uid, record.owner],
    );
    if (!row) throw new StoreError('NOT_FOUND', `no object ${record.uid} of ${record.owner} to update`);
    try {
      await db.script([
        { sql: 'DELETE FROM attributes WHERE object_id = ?', params: [row.id] },
        { sql: 'DELETE FROM object_names WHERE object_id = ?', params: [row.id] },
        ...attributeInserts([[{ id: row.id }, record.attributes]]),
      ]);
    } catch (err) {
      if (isNameViolation(err)) throw nameTaken();
      throw err;
    }
  }

  async resealValues(
    cursor: number | undefined,
    limit: number,
    reseal: (uid: UniqueIdentifier, sealed: Uint8Array) => Promise<Uint8Array | undefined>,
  ): Promise<ResealPage> {
    const db = this.open();
    const lock = this.lockOnGet ? ' FOR UPDATE' : '';
    const rows = await db.all<{ id: number | string; uid: UniqueIdentifier; sealed_value: Buffer }>(
      `SELECT id, uid, sealed_value FROM objects WHERE sealed_value IS NOT NULL AND id > ? ORDER BY id LIMIT ?${lock}`,
      [cursor ?? 0, limit],
    );
    let replaced = 0;
    for (const row of rows) {
      const value = await reseal(row.uid, row.sealed_value);
      if (value === undefined) continue;
      await db.run('UPDATE objects SET sealed_value = ? WHERE id = ?', [Buffer.from(value.buffer, value.byteOffset, value.byteLength), row.id]);
      replaced++;
    }
    const last = rows[rows.length - 1];
    return { cursor: last === undefined ? undefined : Number(last.id), seen: rows.length, replaced };
  }

  async delete(uid: UniqueIdentifier, owner: string): Promise<boolean> {
    // The attribute rows go with it: ON DELETE CASCADE.
    return (await this.open().run('DELETE FROM objects WHERE uid = ? AND owner = ?', [uid, owner])) > 0;
  }
}

/** The executor under a transaction handle, for bulk work inside the store module (seed.ts). */
export function executorOf(tx: StoreTransaction): Executor {
  if (!(tx instanceof Repository)) throw new TypeError('not a store transaction');
  return tx.executor();
}

function enumName<K extends string>(names: Map<number, K>, value: number, uid: string): K {
  const name = names.get(value);
  if (name === undefined) throw new StoreError('CORRUPT', `object ${uid} has an unknown object type or state ${value} in the database`);
  return name;
}

/**
 * The columns that mirror attributes: the Activation and Deactivation Dates, which Locate by State
 * evaluates against its time (locate.ts stateCondition), and the storage status.
 */
function derivedColumns(record: ManagedObjectRecord): [number | null, number | null, number] {
  return [dateOf(record.attributes, Tag.ActivationDate) ?? null, dateOf(record.attributes, Tag.DeactivationDate) ?? null, record.archived === true ? STORAGE_ARCHIVED : STORAGE_ONLINE];
}

/** The Name (when known) in words for the client: the processor answers with this message. */
function nameTaken(name?: string): StoreError {
  return new StoreError('NAME_TAKEN', `${name === undefined ? 'a Name given' : `the Name ${JSON.stringify(name)}`} is already used by another object (KMIP 2.1 §4.32)`);
}

function sealed(record: ManagedObjectRecord): Buffer | null {
  const value = record.sealedValue;
  return value === undefined ? null : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * An object by its id, or by its uid when the id is not known yet (the row of a Create), or (SQLite)
 * as the row the statement before inserted.
 */
export type ObjectRef = { id: number | string } | { uid: string } | typeof LAST_INSERTED;
const LAST_INSERTED = { lastInserted: true } as const;

function objectIdSql(object: ObjectRef): { sql: string; params: unknown[] } {
  if ('id' in object) return { sql: '?', params: [object.id] };
  if ('uid' in object) return { sql: '(SELECT id FROM objects WHERE uid = ?)', params: [object.uid] };
  return { sql: 'last_insert_rowid()', params: [] };
}

/** The `object_names` keys of a record's Name values (as nameInserts derives them). */
function nameKeys(attributes: readonly Item[]): string[] {
  const keys: string[] = [];
  for (const it of attributes) {
    if (it.tag !== Tag.Name) continue;
    const key = indexKeys(it).text;
    if (key !== null && !keys.includes(key)) keys.push(key);
  }
  return keys;
}
export type AttributeRows = readonly (readonly [object: ObjectRef, attributes: readonly Item[]])[];

/** The INSERTs for the attribute rows of several objects: as few statements as the driver allows. */
export function attributeInserts(objects: AttributeRows): Statement[] {
  return [...attributeRowInserts(objects), ...nameInserts(objects)];
}

/** The `attributes` rows alone (attributeInserts without the `object_names` rows). */
function attributeRowInserts(objects: AttributeRows): Statement[] {
  const [only] = objects;
  if (objects.length === 1 && only![0] === LAST_INSERTED) return lastInsertedRows(only![1]);
  const rows: { sql: string; params: unknown[] }[] = [];
  for (const [object, attributes] of objects) {
    const id = objectIdSql(object);
    attributes.forEach((it, position) => {
      const keys = indexKeys(it);
      rows.push({ sql: `(${id.sql}, ?, ?, ?, ?, ?)`, params: [...id.params, position, attributeName(it), encode(it), keys.text, keys.num] });
    });
  }
  const statements: Statement[] = [];
  for (let at = 0; at < rows.length; at += ROWS_PER_INSERT) {
    const chunk = rows.slice(at, at + ROWS_PER_INSERT);
    statements.push({
      sql: `INSERT INTO attributes (object_id, position, name, value, text_key, num_key) VALUES ${chunk.map((r) => r.sql).join(', ')}`,
      params: chunk.flatMap((r) => r.params),
    });
  }
  return statements;
}

/**
 * The rows of the object the statement before inserted (SQLite), as constant VALUES selected with
 * its id: SQLite (3.46 and later) compiles a VALUES list of constants as one loop over its rows,
 * where `(last_insert_rowid(), …)` in every row made it compile each row as a SELECT of its own
 * (~10% of a Create's database time).
 */
function lastInsertedRows(attributes: readonly Item[]): Statement[] {
  const statements: Statement[] = [];
  // Inserts into attributes (WITHOUT ROWID) leave last_insert_rowid() alone: every chunk names the object.
  for (let at = 0; at < attributes.length; at += ROWS_PER_INSERT) {
    const chunk = attributes.slice(at, at + ROWS_PER_INSERT);
    const params: unknown[] = [];
    chunk.forEach((it, i) => {
      const keys = indexKeys(it);
      params.push(at + i, attributeName(it), encode(it), keys.text, keys.num);
    });
    statements.push({
      sql: `INSERT INTO attributes (object_id, position, name, value, text_key, num_key) SELECT last_insert_rowid(), column1, column2, column3, column4, column5 FROM (VALUES ${chunk.map(() => '(?, ?, ?, ?, ?)').join(', ')})`,
      params,
    });
  }
  return statements;
}

const NAME_KEY = refName('Name');

/**
 * The `object_names` rows of objects whose attribute rows were just written, derived from them:
 * (owner, NameValue text key). Its primary key is what makes a Name unique per owner, across
 * nodes (the violation is `StoreError('NAME_TAKEN')`).
 */
function nameInserts(objects: AttributeRows): Statement[] {
  const named = objects.filter(([, attributes]) => attributes.some((a) => a.tag === Tag.Name));
  if (named.some(([object]) => object === LAST_INSERTED)) throw new TypeError('object_names rows need the id or uid of their object');
  const statements: Statement[] = [];
  for (let at = 0; at < named.length; at += ROWS_PER_INSERT) {
    const chunk = named.slice(at, at + ROWS_PER_INSERT);
    const ids = chunk.map(([object]) => objectIdSql(object));
    statements.push({
      sql: `INSERT INTO object_names (owner, name, object_id) SELECT DISTINCT o.owner, a.text_key, o.id FROM attributes a JOIN objects o ON o.id = a.object_id WHERE a.object_id IN (${ids.map((id) => id.sql).join(', ')}) AND a.name = ? AND a.text_key IS NOT NULL`,
      params: [...ids.flatMap((id) => id.params), NAME_KEY],
    });
  }
  return statements;
}

/** A unique violation of `object_names`: SQLite names the table in its message, PostgreSQL in `table`. */
function isNameViolation(err: unknown): boolean {
  const e = err as { table?: unknown; message?: unknown };
  return isUniqueViolation(err) && (e.table === 'object_names' || (typeof e.message === 'string' && e.message.includes('object_names.')));
}

/** SQLite's SQLITE_CONSTRAINT (UNIQUE / PRIMARY KEY), PostgreSQL's 23505 unique_violation. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (e.code === '23505') return true;
  return e.code === 'SQLITE_CONSTRAINT' && typeof e.message === 'string' && /UNIQUE|PRIMARY KEY/.test(e.message);
}

/**
 * The object store's interface for the operations layer: managed objects (src/objects/types.ts)
 * persisted through knex in SQLite (default) or PostgreSQL. One `transaction` per batch item;
 * every read takes the caller's identity and never returns another owner's objects.
 */
import type { Knex } from 'knex';
import type { TagName } from '../kmip/registry.generated.js';
import type { ManagedObjectRecord, ObjectTypeName, StateName, UniqueIdentifier } from '../objects/types.js';
import type { Item } from '../ttlv/index.js';

export type StoreConfig = SqliteStoreConfig | PgStoreConfig;

export interface SqliteStoreConfig {
  client: 'sqlite3';
  /** The database file; created (with its WAL) when missing. */
  filename: string;
  /** Read-only connections beside the one writer (default 4). */
  readers?: number;
  /** Most item transactions committed together (default 512). */
  maxGroupSize?: number;
  /** WAL pages at which the writer checkpoints between two groups so the WAL starts over (default 16,384: 64 MiB; see Checkpointer in sqlite.ts). */
  walRestartPages?: number;
}

export interface PgStoreConfig {
  client: 'pg';
  /** A connection string or node-postgres settings. */
  connection: string | Knex.PgConnectionConfig;
  /** The schema the tables live in (default: the server's search_path, usually `public`). */
  schema?: string;
  /** Connection pool size per kmipd node (default 10). */
  poolSize?: number;
}

/**
 * Names an attribute: a registry tag name (`'Name'`, `'ObjectGroup'`), a tag number for tags the
 * registry does not know, or a KMIP 2.1 Vendor Attribute by its identification and name.
 */
export type AttributeRef = TagName | number | { vendor: string; name: string };

/**
 * One condition on one attribute instance: an object matches when at least one instance of the
 * attribute satisfies every field given. The indexed keys of an instance (see `indexKeys` in
 * keys.ts): its text key (a Text String's value, Name → NameValue, Link → LinkedObjectIdentifier,
 * a Vendor Attribute's text value…) and its numeric key (Integer, Enumeration, Boolean as 0/1,
 * Date-Time in seconds, Name → NameType, Link → LinkType…).
 */
export interface AttributeFilter {
  attribute: AttributeRef;
  /** The instance's canonical TTLV encoding equals this item's (a leaf, or a whole structure). */
  equals?: Item;
  /** The instance's text key equals this. */
  text?: string;
  /** The instance's numeric key equals this. */
  number?: number;
  /** The numeric key is at least this (inclusive): a Date-Time range's start, in seconds. */
  from?: number;
  /** The numeric key is at most this (inclusive). */
  to?: number;
  /** Every bit set here is set in the numeric key (KMIP 2.1 §6.1.28: Cryptographic Usage Mask). */
  maskAll?: number;
}

/**
 * What a Locate looks for. Every given field must match (AND); an empty query matches every
 * object of the owner. Results come newest first: KMIP 2.1 §6.1.28 says responses "SHALL be
 * returned in descending order of object creation".
 */
export interface LocateQuery {
  objectTypes?: readonly ObjectTypeName[];
  states?: readonly StateName[];
  attributes?: readonly AttributeFilter[];
  /**
   * KMIP 2.1 §6.1.28 Object Group Member, used with an ObjectGroup filter. `Fresh`: only objects
   * whose Fresh attribute is true. `Default` (server policy): the most recently created match.
   */
  groupMember?: 'Fresh' | 'Default';
  /**
   * The time `states` are evaluated at, in seconds: an object whose Activation or Deactivation Date
   * has been reached is in the state that date leads to (objects/lifecycle.ts effectiveState).
   * Absent: the state last written.
   */
  now?: number;
  /**
   * KMIP 2.1 §6.1.28 Storage Status Mask bits: 1 on-line, 2 archived, 4 destroyed. Absent: every
   * object (the Locate operation passes on-line only when the request gives no mask).
   */
  storageStatusMask?: number;
  maxItems?: number;
  offsetItems?: number;
}

export interface StoreReader {
  /** The object, or undefined when it does not exist or belongs to another owner. */
  get(uid: UniqueIdentifier, owner: string): Promise<ManagedObjectRecord | undefined>;
  /** Unique Identifiers of the owner's matching objects, newest first, paged by maxItems/offsetItems. */
  locate(query: LocateQuery, owner: string): Promise<UniqueIdentifier[]>;
  /** How many of the owner's objects match (maxItems/offsetItems ignored): Locate's Located Items. */
  count(query: LocateQuery, owner: string): Promise<number>;
  /**
   * A query builder on another module's table, in this same transaction (the audit log writes
   * its row next to the change it records). Not for the object tables: use the methods above.
   */
  table(name: string): Knex.QueryBuilder;
  raw(sql: string, bindings?: readonly Knex.RawBinding[]): Knex.Raw;
  /** Rows of a parameterized query (`?` placeholders) on another module's table, in this transaction. */
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
}

/**
 * The writes of one item transaction. If a write throws, let the error end the transaction
 * (PostgreSQL refuses further statements after an error anyway); catching it and going on may
 * commit half of that write.
 */
export interface StoreTransaction extends StoreReader {
  /**
   * A fresh Unique Identifier: a random UUID v4 as text. Random (not a counter) so that several
   * kmipd nodes on one PostgreSQL never collide and identifiers reveal nothing about volume.
   */
  nextUid(): UniqueIdentifier;
  /**
   * A write to another module's table whose result nobody waits on (the audit row of the change).
   * It is part of this transaction: it commits or rolls back with it. On SQLite it costs no round
   * trip of its own (sent with the transaction's next statement, or its end); on PostgreSQL it runs
   * at once. If it fails, the transaction fails (on SQLite, the whole commit group).
   */
  append(statement: { sql: string; params: readonly unknown[] }): Promise<void>;
  /**
   * Rows for another module's table (each the values of `columns`, in order), part of this
   * transaction like `append`. On SQLite they go in with the commit group's COMMIT, merged with the
   * group's other rows for that table into one INSERT (after the table's Sequencer, if any, filled
   * them in); on PostgreSQL they are inserted at once.
   */
  appendRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void>;
  /**
   * Stores a new object; `StoreError('DUPLICATE')` if the uid exists, `StoreError('NAME_TAKEN')` if
   * one of its Name values is another object's of the same owner (also from `update`).
   */
  insert(record: ManagedObjectRecord, options?: InsertOptions): Promise<void>;
  /**
   * Replaces the object's state, attributes and sealed value (absent → removed). The uid and
   * owner select the row; `StoreError('NOT_FOUND')` when there is none.
   */
  update(record: ManagedObjectRecord): Promise<void>;
  /** Removes the object and its attributes; false when the owner has no such object. */
  delete(uid: UniqueIdentifier, owner: string): Promise<boolean>;
  /**
   * Master-key rotation (src/keys/rotation.ts), across owners: the next `limit` objects holding a
   * sealed value after row `cursor`, in row order (locked on PostgreSQL), each passed to `reseal`;
   * a value it answers replaces the stored one. Keep pages small: this holds the write lock.
   */
  resealValues(cursor: number | undefined, limit: number, reseal: (uid: UniqueIdentifier, sealed: Uint8Array) => Promise<Uint8Array | undefined>): Promise<ResealPage>;
}

export interface ResealPage {
  /** Where the next page starts; undefined when this one was empty. */
  cursor: number | undefined;
  seen: number;
  replaced: number;
}

export interface StoreStats {
  /** Item transactions finished (committed or rolled back). */
  transactions: number;
  /** Item transactions rolled back (the function threw). */
  failed: number;
  /** Database commits: on SQLite one per group, so fewer than `transactions` under load. */
  commits: number;
}

export interface TransactionOptions {
  /**
   * false: resolve once committed, without waiting for the commit to reach the disk (SQLite: no WAL
   * sync of its own; the next durable commit's sync covers it, the WAL being append-only). For
   * writes nobody is told about (the audit rows of requests that involved no object). Default true.
   */
  durable?: boolean;
}

export interface ObjectStore {
  readonly client: 'sqlite3' | 'pg';
  /**
   * Runs `fn` in one transaction and resolves after its commit is durable. If `fn` throws,
   * nothing it did persists and the promise rejects with what it threw. On SQLite concurrent
   * calls are group-committed (see sqlite.ts): keep slow non-database work (HSM calls) outside
   * `fn`, since the functions of a group run one after another. Do not nest transactions.
   * In a transaction `get` locks the object's row on PostgreSQL (SELECT … FOR UPDATE).
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, options?: TransactionOptions): Promise<T>;
  /** Runs `fn` on a consistent snapshot of committed data, without taking the write lock. */
  read<T>(fn: (reader: StoreReader) => Promise<T>): Promise<T>;
  stats(): StoreStats;
  /**
   * SQLite only: `sequencer` fills in the rows appended to `table` (StoreTransaction.appendRows) by the items of a commit group, in order, inside the group's transaction just before
   * its COMMIT, when it holds the write lock across processes. The audit log gives its rows their
   * places in the hash chain this way, in the same transaction. It may change only the first
   * `columns` values of each row: the others are rendered into SQL when the row is appended.
   * Absent on PostgreSQL.
   */
  sequence?(table: string, sequencer: Sequencer, columns: number): void;
  close(): Promise<void>;
}

/**
 * Fills in appended rows (each the parameters of one VALUES tuple, in the INSERT's column order)
 * in place; `query` reads in the same transaction. If it throws, the commit group fails. It runs
 * once the previous group has committed (or failed) and may answer from what it remembers of that
 * instead of querying, saying what it assumed (Sequenced); with `fresh` it must query.
 */
export type Sequencer = (db: { query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> }, rows: unknown[][], fresh: boolean) => Promise<Sequenced | void>;

export interface Sequenced {
  /**
   * An SQL condition about the committed data that the sequencing took for granted (the chain head
   * it remembered). It is checked in the COMMIT's script before the rows go in; if it does not hold
   * (another connection wrote the table), the rows are sequenced again with `fresh`.
   */
  assume?: string;
  /** Told whether the rows were committed (false also when they are sequenced again). */
  settle?(committed: boolean): void;
}

export interface InsertOptions {
  /**
   * The record's uid was generated for it (a random UUID: 122 random bits), so no object can hold
   * it already. On SQLite the record is then written with its commit group's COMMIT instead of at
   * once, costing no round trip to the database thread (a Create: none instead of two). That is
   * safe only for a write that cannot fail on its own: the uid cannot be taken, and the store
   * checks the Name values first (a failure at the COMMIT would fail the whole group).
   */
  uidGenerated?: boolean;
}

export type StoreErrorCode = 'NOT_FOUND' | 'DUPLICATE' | 'NAME_TAKEN' | 'NESTED_TRANSACTION' | 'FINISHED' | 'CLOSED' | 'CORRUPT';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A StoreTransaction that forwards every call to another: the base of wrappers that watch some
 * writes (the audit log's record of what an item wrote, the push hub's record of what changed) and
 * leave the rest alone. Subclasses override the methods they watch and call `super`.
 */
import type { Knex } from 'knex';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import type { InsertOptions, LocateQuery, ResealPage, StoreTransaction } from './types.js';

export class ForwardingTransaction implements StoreTransaction {
  constructor(protected readonly tx: StoreTransaction) {}

  get(uid: UniqueIdentifier, owner: string): Promise<ManagedObjectRecord | undefined> {
    return this.tx.get(uid, owner);
  }

  locate(query: LocateQuery, owner: string): Promise<UniqueIdentifier[]> {
    return this.tx.locate(query, owner);
  }

  count(query: LocateQuery, owner: string): Promise<number> {
    return this.tx.count(query, owner);
  }

  table(name: string): Knex.QueryBuilder {
    return this.tx.table(name);
  }

  raw(sql: string, bindings?: readonly Knex.RawBinding[]): Knex.Raw {
    return this.tx.raw(sql, bindings);
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.tx.query<T>(sql, params);
  }

  nextUid(): UniqueIdentifier {
    return this.tx.nextUid();
  }

  append(statement: { sql: string; params: readonly unknown[] }): Promise<void> {
    return this.tx.append(statement);
  }

  appendRows(table: string, columns: readonly string[], rows: readonly unknown[][]): Promise<void> {
    return this.tx.appendRows(table, columns, rows);
  }

  resealValues(cursor: number | undefined, limit: number, reseal: (uid: UniqueIdentifier, sealed: Uint8Array) => Promise<Uint8Array | undefined>): Promise<ResealPage> {
    return this.tx.resealValues(cursor, limit, reseal);
  }

  insert(record: ManagedObjectRecord, options?: InsertOptions): Promise<void> {
    return this.tx.insert(record, options);
  }

  update(record: ManagedObjectRecord): Promise<void> {
    return this.tx.update(record);
  }

  delete(uid: UniqueIdentifier, owner: string): Promise<boolean> {
    return this.tx.delete(uid, owner);
  }
}

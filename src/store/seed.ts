/**
 * Bulk-inserts synthetic objects for benchmarks (the 1,000,000-object Locate measurement):
 * multi-row INSERTs inside big transactions, far faster than one Create at a time. Object `i`
 * is an Active AES-256 Symmetric Key named `${namePrefix}${i}` in ObjectGroup `group-${i % 100}`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import type { UniqueIdentifier } from '../objects/types.js';
import { type Item, item, structure } from '../ttlv/index.js';
import { attributeInserts, executorOf, type AttributeRows } from './repository.js';
import type { ObjectStore, StoreTransaction } from './types.js';

export interface SeedOptions {
  count: number;
  /** Default 'seed'. */
  owner?: string;
  /** Default 'seed-key-'. */
  namePrefix?: string;
  /** Index of the first object (default 0), to extend an earlier seed. */
  start?: number;
  /** Objects per transaction (default 10,000). */
  batchSize?: number;
  /** InitialDate of object 0, in seconds; object i gets epoch + i (default 2024-01-01). */
  epoch?: number;
  onProgress?: (inserted: number) => void;
}

/** Objects per INSERT: 5 columns each, under SQLite's 32,766 bound parameters. */
const OBJECTS_PER_INSERT = 5000;
const SEALED_LENGTH = 60;

export function syntheticAttributes(i: number, namePrefix: string, epoch: number): Item[] {
  return [
    structure(Tag.Name, [item(Tag.NameValue, 'TextString', `${namePrefix}${i}`), item(Tag.NameType, 'Enumeration', Enum.NameType.UninterpretedTextString)]),
    item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey),
    item(Tag.State, 'Enumeration', Enum.State.Active),
    item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES),
    item(Tag.CryptographicLength, 'Integer', 256),
    item(Tag.CryptographicUsageMask, 'Integer', Mask.CryptographicUsageMask.Encrypt | Mask.CryptographicUsageMask.Decrypt),
    item(Tag.InitialDate, 'DateTime', epoch + i),
    item(Tag.ActivationDate, 'DateTime', epoch + i),
    item(Tag.ObjectGroup, 'TextString', `group-${i % 100}`),
    item(Tag.Fresh, 'Boolean', true),
  ];
}

export async function seed(store: ObjectStore, options: SeedOptions): Promise<void> {
  const { count, owner = 'seed', namePrefix = 'seed-key-', start = 0, batchSize = 10_000, epoch = Date.UTC(2024, 0, 1) / 1000 } = options;
  for (let from = start; from < start + count; from += batchSize) {
    const to = Math.min(from + batchSize, start + count);
    await store.transaction((tx) => insertBatch(tx, owner, from, to, namePrefix, epoch));
    options.onProgress?.(to - start);
  }
}

async function insertBatch(tx: StoreTransaction, owner: string, from: number, to: number, namePrefix: string, epoch: number): Promise<void> {
  const db = executorOf(tx);
  for (let at = from; at < to; at += OBJECTS_PER_INSERT) {
    const end = Math.min(at + OBJECTS_PER_INSERT, to);
    const sealed = randomBytes((end - at) * SEALED_LENGTH);
    const params: unknown[] = [];
    const indexByUid = new Map<string, number>();
    for (let i = at; i < end; i++) {
      const uid = randomUUID() as UniqueIdentifier;
      indexByUid.set(uid, i);
      params.push(uid, owner, Enum.ObjectType.SymmetricKey, Enum.State.Active, sealed.subarray((i - at) * SEALED_LENGTH, (i - at + 1) * SEALED_LENGTH));
    }
    const values = Array.from({ length: end - at }, () => '(?, ?, ?, ?, ?)').join(', ');
    const ids = await db.all<{ id: number | string; uid: string }>(`INSERT INTO objects (uid, owner, object_type, state, sealed_value) VALUES ${values} RETURNING id, uid`, params);
    const rows: AttributeRows = ids.map(({ id, uid }) => [{ id }, syntheticAttributes(indexByUid.get(uid)!, namePrefix, epoch)]);
    await db.script(attributeInserts(rows));
  }
}

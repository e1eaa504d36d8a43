/**
 * One audit record: what it holds, its canonical encoding, and how the chain hashes it.
 *
 * A record is a flat object of the fields in schemas/audit-record.schema.json. Its content digest
 * is the SHA-256 of the canonical JSON array of its fields time … requestDigest in the schema's
 * order (absent values null), computed once when the row is written and stored beside it; the
 * chain then only needs each row's digest:
 *
 *   content(record) = SHA-256( JSON.stringify([time, node, event, …, requestDigest]) )   (hex)
 *   hash(seq)       = SHA-256( "kmipd-audit-v1\n" ‖ prevHash ‖ "\n" ‖ seq ‖ "\n" ‖ content )   (hex)
 *
 * where prevHash is the hash of seq - 1 (64 zeros before the first record). The same bytes come
 * from a SQLite row, a PostgreSQL row or an exported JSON line, so `kmipctl audit verify` needs
 * nothing but the records and the public keys; it recomputes the content digest from the fields,
 * never trusting the stored one. The hash covers the seq, so moving a row breaks it as editing does.
 *
 * Never in a record: key material, the data of Encrypt/Decrypt/Sign/MAC, passwords. The request
 * digest is taken over the batch item with those fields emptied (see requestDigest), so even a
 * guessable plaintext cannot be confirmed from it.
 */
import { hash } from 'node:crypto';
import { Tag } from '../kmip/registry.generated.js';
import { type Item, encode } from '../ttlv/index.js';

export const GENESIS_HASH = '0'.repeat(64);

/** SHA-256 in hex (UTF-8 for text), one-shot: several per audited request, so no Hash object each time. */
function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex');
}
const DOMAIN = 'kmipd-audit-v1\n';

export type AuditEvent = 'request' | 'connection';

/** The recorded fields of one row (the chain fields seq/prevHash/hash come when it is chained). */
export interface AuditFields {
  time: string;
  node: string;
  /** `request`: one batch item (or a message that could not be read); `connection`: a refused TLS client. */
  event: AuditEvent;
  /** The name ownership uses (subject CN, SAN or fingerprint per config), null before a handshake completed. */
  identity: string | null;
  subject: string | null;
  fingerprint: string | null;
  peer: string | null;
  transport: 'tls' | 'https' | null;
  version: string | null;
  batchIndex: number | null;
  batchItemId: string | null;
  operation: string | null;
  /** Unique Identifiers as the request gave them (before ID Placeholder resolution). */
  uidsRequested: string[];
  /** The objects the item acted on or answered with, after resolution. */
  uids: string[];
  status: string;
  reason: string | null;
  message: string | null;
  ccv: string | null;
  scv: string | null;
  requestDigest: string | null;
}

export interface AuditRecord extends AuditFields {
  seq: number;
  prevHash: string;
  hash: string;
}

/** A record of an event that is not a batch item (a refused message or client): what is not given is null or empty. */
export function eventFields(given: Pick<AuditFields, 'node' | 'event' | 'status'> & Partial<AuditFields>): AuditFields {
  return {
    time: new Date().toISOString(),
    identity: null,
    subject: null,
    fingerprint: null,
    peer: null,
    transport: null,
    version: null,
    batchIndex: null,
    batchItemId: null,
    operation: null,
    uidsRequested: [],
    uids: [],
    reason: null,
    message: null,
    ccv: null,
    scv: null,
    requestDigest: null,
    ...given,
  };
}

/** The canonical order of the fields (that of the schema). */
export const FIELD_ORDER = [
  'seq',
  'time',
  'node',
  'event',
  'identity',
  'subject',
  'fingerprint',
  'peer',
  'transport',
  'version',
  'batchIndex',
  'batchItemId',
  'operation',
  'uidsRequested',
  'uids',
  'status',
  'reason',
  'message',
  'ccv',
  'scv',
  'requestDigest',
] as const;

/** The SHA-256 (hex) of a record's fields as one canonical JSON array (FIELD_ORDER without seq). */
export function contentDigest(f: AuditFields): string {
  const canonical = JSON.stringify([
    f.time,
    f.node,
    f.event,
    f.identity,
    f.subject,
    f.fingerprint,
    f.peer,
    f.transport,
    f.version,
    f.batchIndex,
    f.batchItemId,
    f.operation,
    f.uidsRequested,
    f.uids,
    f.status,
    f.reason,
    f.message,
    f.ccv,
    f.scv,
    f.requestDigest,
  ]);
  return sha256Hex(canonical);
}

/** The chain hash of the record at `seq` whose content digest is `content`. */
export function chainHash(prevHash: string, seq: number, content: string): string {
  return sha256Hex(`${DOMAIN}${prevHash}\n${seq}\n${content}`);
}

/** The row of `audit_log` as the database holds it. */
export interface AuditRow {
  id: number | string;
  seq: number | string | null;
  prev_hash: string | null;
  hash: string | null;
  /** contentDigest of the row, written with it (the chainer reads only this). */
  digest: string;
  time: string;
  node: string;
  event: string;
  identity: string | null;
  subject: string | null;
  fingerprint: string | null;
  peer: string | null;
  transport: string | null;
  version: string | null;
  batch_index: number | null;
  batch_item_id: string | null;
  operation: string | null;
  uids_requested: string;
  uids: string;
  status: string;
  reason: string | null;
  message: string | null;
  ccv: string | null;
  scv: string | null;
  request_digest: string | null;
}

/** The columns insertRows fills: the chain fields, the content digest, then the fields in FIELD_ORDER (snake_case). */
export const INSERT_COLUMNS: readonly string[] = ['seq', 'prev_hash', 'hash', 'digest', ...FIELD_ORDER.slice(1).map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))];

/**
 * The hashes of a row not chained yet: as long as a real one, so that chaining rewrites the row in
 * place (SQLite and PostgreSQL alike) instead of growing it into a page split.
 */
export const UNCHAINED_HASH = ' '.repeat(64);

/** Where the chain fields and the content digest are in a row of insertRows. */
export const COLUMN = { seq: 0, prevHash: 1, hash: 2, digest: 3 } as const;
/** The leading columns of a row that chaining fills in (seq, prev_hash, hash). */
export const SEQUENCED_COLUMNS = 3;

/** Records as rows of INSERT_COLUMNS, unchained (StoreTransaction.appendRows). */
export function insertRows(rows: readonly AuditFields[]): unknown[][] {
  return rows.map((r) => [
      null,
      UNCHAINED_HASH,
      UNCHAINED_HASH,
      contentDigest(r),
      r.time,
      r.node,
      r.event,
      r.identity,
      r.subject,
      r.fingerprint,
      r.peer,
      r.transport,
      r.version,
      r.batchIndex,
      r.batchItemId,
      r.operation,
      JSON.stringify(r.uidsRequested),
      JSON.stringify(r.uids),
      r.status,
      r.reason,
      r.message,
      r.ccv,
      r.scv,
      r.requestDigest,
  ]);
}

export function fieldsOf(row: AuditRow): AuditFields {
  return {
    time: row.time,
    node: row.node,
    event: row.event as AuditEvent,
    identity: row.identity,
    subject: row.subject,
    fingerprint: row.fingerprint,
    peer: row.peer,
    transport: row.transport as AuditFields['transport'],
    version: row.version,
    batchIndex: row.batch_index === null ? null : Number(row.batch_index),
    batchItemId: row.batch_item_id,
    operation: row.operation,
    uidsRequested: parseList(row.uids_requested),
    uids: parseList(row.uids),
    status: row.status,
    reason: row.reason,
    message: row.message,
    ccv: row.ccv,
    scv: row.scv,
    requestDigest: row.request_digest,
  };
}

/** A chained row as a record; undefined while it has no place in the chain. */
export function recordOf(row: AuditRow): AuditRecord | undefined {
  if (row.seq === null || row.hash === null || row.prev_hash === null) return undefined;
  // Chained rows carry real hashes; blanks would be a row chained by hand, which verify reports as edited.
  return { ...fieldsOf(row), seq: Number(row.seq), prevHash: row.prev_hash, hash: row.hash };
}

/** A list column that is not a JSON list of strings (edited by hand) reads as that text, so the hash still tells. */
function parseList(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  } catch {
    // fall through
  }
  return [text];
}

/**
 * Fields whose values are secret or are the caller's data: emptied before the request digest.
 * Key Material holds every key byte (transparent keys' components are inside it); Data is the
 * plaintext or ciphertext of Encrypt/Decrypt/Sign/MAC/Hash and RNG Seed; Password is inside
 * Credential; Opaque Data Value and Secret Data travel in Key Material or Opaque Object.
 */
const SECRET_TAGS = new Set<number>([
  Tag.KeyMaterial,
  Tag.Data,
  Tag.Password,
  Tag.OpaqueDataValue,
  Tag.AuthenticatedEncryptionAdditionalData,
  Tag.DerivationData,
  Tag.MACData,
  Tag.SignatureData,
  Tag.KeyValue,
]);

/** SHA-256 (hex) of the batch item's TTLV with the secret fields emptied. */
export function requestDigest(batchItem: Item): string {
  // Most requests hold no secret: they are digested as they are, without a redacted copy.
  return sha256Hex(encode(holdsSecret(batchItem) ? redact(batchItem) : batchItem));
}

function holdsSecret(it: Item): boolean {
  if (SECRET_TAGS.has(it.tag)) return true;
  if (it.type !== 'Structure') return false;
  for (const child of it.value) if (holdsSecret(child)) return true;
  return false;
}

function redact(it: Item): Item {
  if (SECRET_TAGS.has(it.tag)) {
    switch (it.type) {
      case 'Structure':
        return { tag: it.tag, type: 'Structure', value: [] };
      case 'ByteString':
        return { tag: it.tag, type: 'ByteString', value: new Uint8Array(0) };
      case 'TextString':
        return { tag: it.tag, type: 'TextString', value: '' };
      default:
        return it;
    }
  }
  if (it.type !== 'Structure') return it;
  return { tag: it.tag, type: 'Structure', value: it.value.map(redact) };
}

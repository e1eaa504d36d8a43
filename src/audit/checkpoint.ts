/**
 * A checkpoint: the chain head (seq, hash) signed by a node's audit signing key.
 *
 * The signed message is "kmipd-audit-checkpoint-v1\n" followed by the canonical JSON of the
 * fields below in this order (no whitespace); the signature is ECDSA P-256 with SHA-256, as
 * r ‖ s (64 bytes, base64). A checkpoint whose `nextKey` is set is also a rotation: the key that
 * signed it vouches for the next key, which signs the checkpoints after it.
 */
import { type KeyObject, createHash, createPublicKey, verify } from 'node:crypto';

export interface Checkpoint {
  seq: number;
  hash: string;
  time: string;
  node: string;
  /** SHA-256 (hex) of the signing key's SubjectPublicKeyInfo DER. */
  keyId: string;
  algorithm: 'ECDSA-P256-SHA256';
  /** PEM of the key that signs from the next checkpoint on; null when the key did not change. */
  nextKey: string | null;
  /** base64 of r ‖ s. */
  signature: string;
}

const DOMAIN = 'kmipd-audit-checkpoint-v1\n';
const FIELDS = ['seq', 'hash', 'time', 'node', 'keyId', 'algorithm', 'nextKey'] as const;

export function checkpointMessage(c: Omit<Checkpoint, 'signature'>): Buffer {
  return Buffer.from(DOMAIN + `{${FIELDS.map((k) => `${JSON.stringify(k)}:${JSON.stringify(c[k])}`).join(',')}}`, 'utf8');
}

export function verifyCheckpoint(c: Checkpoint, key: KeyObject): boolean {
  try {
    return verify('sha256', checkpointMessage(c), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

export function keyIdOfPem(pem: string): { keyId: string; key: KeyObject } {
  const key = createPublicKey(pem);
  return { keyId: createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex'), key };
}

export interface CheckpointRow {
  id: number | string;
  seq: number | string;
  hash: string;
  time: string;
  node: string;
  key_id: string;
  algorithm: string;
  next_key: string | null;
  signature: string;
}

export function checkpointOf(row: CheckpointRow): Checkpoint {
  return {
    seq: Number(row.seq),
    hash: row.hash,
    time: row.time,
    node: row.node,
    keyId: row.key_id,
    algorithm: row.algorithm as Checkpoint['algorithm'],
    nextKey: row.next_key,
    signature: row.signature,
  };
}

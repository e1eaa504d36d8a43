/**
 * Offline verification of an audit chain: from a database (SQLite file or PostgreSQL) or a JSON
 * Lines export, given only the trusted public keys.
 *
 * 1. Checkpoints, in order: each must be signed by a trusted key, or by a key a trusted checkpoint
 *    introduced (rotation, `nextKey`).
 * 2. Rows, in seq order: each row's hash must be the hash of its own fields and seq over its
 *    prev_hash (else it was edited, or moved: its hash fits another seq), its prev_hash must be the
 *    previous row's hash (else rows were inserted, deleted or reordered and the chain re-linked),
 *    and seqs must run without gaps (else rows were deleted).
 * 3. Every signed checkpoint must find a row at its seq with exactly its hash: an attacker who
 *    edited a row and recomputed every hash after it still cannot match a signed head (rewritten),
 *    and one who deleted the tail cannot remove what a checkpoint covers (truncated).
 *
 * Rows after the last checkpoint are checked by the chain only: they are reported as not yet signed.
 */
import type { KeyObject } from 'node:crypto';
import { type Checkpoint, keyIdOfPem, verifyCheckpoint } from './checkpoint.js';
import { type AuditRecord, GENESIS_HASH, chainHash, contentDigest } from './record.js';

export type ProblemKind = 'edited' | 'moved' | 'relinked' | 'missing' | 'duplicate' | 'truncated' | 'rewritten' | 'bad-signature' | 'unknown-key' | 'stale';

export interface Problem {
  /** The first sequence number the problem concerns. */
  seq: number;
  kind: ProblemKind;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  rows: number;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  checkpoints: number;
  /** The highest seq a valid signature covers. */
  signedThrough: number;
  /** Rows after it: checked by the chain, not yet by a signature. */
  unsigned: number;
  /** Rows written but not chained yet (database sources only). */
  unchained: number;
  /** Key ids that signed valid checkpoints. */
  keys: string[];
  /** Problems in seq order; the first is the first broken sequence number. */
  problems: Problem[];
}

export interface VerifyInput {
  /** Chained records in ascending seq order. */
  records: AsyncIterable<AuditRecord> | Iterable<AuditRecord>;
  /** Checkpoints in ascending seq order. */
  checkpoints: readonly Checkpoint[];
  /** PEM public keys the verifier trusts. */
  trustedKeys: readonly string[];
  /**
   * Whether the input must start at the start of the chain (seq 1, or just after a signed
   * checkpoint, which is where an archived prefix ends). An export taken with --since starts later.
   */
  fromGenesis: boolean;
  unchained?: number;
  /**
   * The newest valid checkpoint must be at most this old (seconds before `now`). A running server
   * signs one every checkpointSeconds, so an older newest checkpoint means the server stopped
   * signing, or the tail of the log was removed together with its checkpoints.
   */
  maxAgeSeconds?: number;
  now?: Date;
}

/** How far around a misplaced row to look for the seq its hash was made for. */
const MOVED_WINDOW = 256;

export async function verifyChain(input: VerifyInput): Promise<VerifyReport> {
  const problems: Problem[] = [];
  const trusted = new Map<string, KeyObject>();
  for (const pem of input.trustedKeys) {
    const { keyId, key } = keyIdOfPem(pem);
    trusted.set(keyId, key);
  }
  const valid: Checkpoint[] = [];
  const keysUsed = new Set<string>();
  for (const cp of input.checkpoints) {
    const key = trusted.get(cp.keyId);
    if (!key) {
      problems.push({ seq: cp.seq, kind: 'unknown-key', message: `the checkpoint at seq ${cp.seq} (${cp.time}, node ${cp.node}) is signed by key ${cp.keyId}, which is not trusted` });
      continue;
    }
    if (!verifyCheckpoint(cp, key)) {
      problems.push({ seq: cp.seq, kind: 'bad-signature', message: `the checkpoint at seq ${cp.seq} (${cp.time}) does not verify: the checkpoint was altered or forged` });
      continue;
    }
    valid.push(cp);
    keysUsed.add(cp.keyId);
    if (cp.nextKey !== null) {
      const next = keyIdOfPem(cp.nextKey);
      trusted.set(next.keyId, next.key);
    }
  }
  const wanted = new Map<number, Checkpoint[]>();
  for (const cp of valid) wanted.set(cp.seq, [...(wanted.get(cp.seq) ?? []), cp]);
  const hashAt = new Map<number, string>();

  let rows = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  let prevHash: string | undefined;
  let expected: number | undefined;
  for await (const r of input.records) {
    rows++;
    if (firstSeq === undefined) {
      firstSeq = r.seq;
      const anchor = valid.find((cp) => cp.seq === r.seq - 1);
      if (r.seq === 1) {
        prevHash = GENESIS_HASH;
      } else if (anchor) {
        prevHash = anchor.hash;
      } else if (input.fromGenesis) {
        problems.push({ seq: 1, kind: 'missing', message: `the chain starts at seq ${r.seq}: seq 1 to ${r.seq - 1} are missing (deleted)` });
        prevHash = r.prevHash;
      } else {
        prevHash = r.prevHash; // a partial export: the checkpoints after it vouch for where it starts
      }
      expected = r.seq;
    }
    if (r.seq < expected!) {
      problems.push({ seq: r.seq, kind: 'duplicate', message: `seq ${r.seq} appears more than once: a row was inserted` });
      continue;
    }
    if (r.seq > expected!) {
      const last = r.seq - 1;
      problems.push({ seq: expected!, kind: 'missing', message: expected === last ? `seq ${expected} is missing: the row was deleted` : `seq ${expected} to ${last} are missing: rows were deleted` });
      prevHash = r.prevHash;
    }
    const content = contentDigest(r);
    const own = chainHash(r.prevHash, r.seq, content);
    if (own !== r.hash) {
      const fits = placeOf(r, content);
      problems.push(
        fits === undefined
          ? { seq: r.seq, kind: 'edited', message: `seq ${r.seq} does not match its hash: the row was edited` }
          : { seq: r.seq, kind: 'moved', message: `seq ${r.seq} holds the row hashed as seq ${fits}: rows were reordered, inserted or deleted` },
      );
    } else if (r.prevHash !== prevHash) {
      problems.push({ seq: r.seq, kind: 'relinked', message: `seq ${r.seq} does not chain to seq ${r.seq - 1}: a row was inserted, deleted or reordered before it` });
    }
    if (wanted.has(r.seq)) hashAt.set(r.seq, r.hash);
    prevHash = r.hash;
    expected = r.seq + 1;
    lastSeq = r.seq;
  }

  let signedThrough = firstSeq === undefined ? 0 : firstSeq - 1;
  let previous = signedThrough;
  for (const cp of valid) {
    if (cp.seq < (firstSeq ?? 1) - 1) continue; // archived, or before a partial export
    if (cp.seq === (firstSeq ?? 1) - 1) continue; // the anchor itself
    if (lastSeq === undefined || cp.seq > lastSeq) {
      const from = lastSeq === undefined ? 1 : lastSeq + 1;
      problems.push({ seq: from, kind: 'truncated', message: `the chain ends at seq ${lastSeq ?? 0} but the checkpoint of ${cp.time} signs seq ${cp.seq}: seq ${from} to ${cp.seq} were removed` });
      continue;
    }
    const at = hashAt.get(cp.seq);
    // A broken row inside the checkpoint's span already says where: the mismatch adds nothing.
    const explained = problems.some((p) => p.seq > previous && p.seq <= cp.seq && p.kind !== 'unknown-key' && p.kind !== 'bad-signature');
    if (at !== cp.hash && explained) {
      previous = Math.max(previous, cp.seq);
      continue;
    }
    if (at !== cp.hash) {
      problems.push({
        seq: previous + 1,
        kind: 'rewritten',
        message: `the row at seq ${cp.seq} differs from the one signed at ${cp.time}: a row between seq ${previous + 1} and ${cp.seq} was changed and the hashes after it recomputed`,
      });
    } else if (cp.seq > signedThrough) {
      signedThrough = cp.seq;
    }
    previous = Math.max(previous, cp.seq);
  }
  if (input.maxAgeSeconds !== undefined) {
    const newest = valid.reduce<Checkpoint | undefined>((a, cp) => (a === undefined || Date.parse(cp.time) > Date.parse(a.time) ? cp : a), undefined);
    const now = (input.now ?? new Date()).getTime();
    if (newest === undefined || now - Date.parse(newest.time) > input.maxAgeSeconds * 1000) {
      const after = newest?.seq ?? 0;
      problems.push({
        seq: after + 1,
        kind: 'stale',
        message: `${newest ? `the newest checkpoint (seq ${newest.seq}) is from ${newest.time}` : 'there is no valid checkpoint'}, older than ${input.maxAgeSeconds} s: the server stopped signing, or records after seq ${after} were removed with their checkpoints`,
      });
    }
  }
  problems.sort((a, b) => a.seq - b.seq);
  return {
    ok: problems.length === 0,
    rows,
    firstSeq,
    lastSeq,
    checkpoints: input.checkpoints.length,
    signedThrough,
    unsigned: lastSeq === undefined ? 0 : Math.max(0, lastSeq - signedThrough),
    unchained: input.unchained ?? 0,
    keys: [...keysUsed],
    problems,
  };
}

/** The seq near its own whose hash the row carries, if any: the row was moved there. */
function placeOf(r: AuditRecord, content: string): number | undefined {
  for (let d = 1; d <= MOVED_WINDOW; d++) {
    for (const s of [r.seq - d, r.seq + d]) if (s > 0 && chainHash(r.prevHash, s, content) === r.hash) return s;
  }
  return undefined;
}

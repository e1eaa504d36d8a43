/**
 * Retention: the records up to a signed checkpoint move to a JSON Lines file (the export format)
 * and leave the database. The file ends with that checkpoint, so it verifies on its own; the
 * checkpoints stay in the database, so what remains verifies from the checkpoint it starts after
 * (verify.ts: a first record after seq 1 is anchored by a valid checkpoint at the seq before it).
 *
 * Order of work, so that a crash loses nothing: the file is written and fsynced first, read back
 * and checked, and only then are the records deleted, in one transaction.
 */
import { open } from 'node:fs/promises';
import type { ObjectStore } from '../store/types.js';
import { type CheckpointRow, checkpointOf } from './checkpoint.js';
import { type AuditRow, chainHash, contentDigest, fieldsOf, recordOf } from './record.js';
import { checkpointLine, recordLine } from './source.js';

export interface ArchiveResult {
  records: number;
  from: number;
  through: number;
  checkpointTime: string;
}

const PAGE = 5000;

export async function archiveAudit(store: ObjectStore, upTo: number, file: string): Promise<ArchiveResult> {
  const [cpRow] = await store.read((r) => r.query<CheckpointRow>('SELECT * FROM audit_checkpoints WHERE seq <= ? ORDER BY seq DESC, id DESC LIMIT 1', [upTo]));
  if (!cpRow) throw new Error(`no checkpoint at or before seq ${upTo}: only signed records can be archived`);
  const checkpoint = checkpointOf(cpRow);
  const out = await open(file, 'wx', 0o600);
  let records = 0;
  let from: number | undefined;
  let prev: string | undefined;
  let last: { seq: number; hash: string } | undefined;
  try {
    const checkpoints = await store.read((r) => r.query<CheckpointRow>('SELECT * FROM audit_checkpoints WHERE seq <= ? ORDER BY seq, id', [checkpoint.seq]));
    let c = 0;
    for (let cursor = 0; ; ) {
      const page = await store.read((r) => r.query<AuditRow>('SELECT * FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?', [cursor, checkpoint.seq, PAGE]));
      const lines: string[] = [];
      for (const row of page) {
        const record = recordOf(row)!;
        // The archive must be a chain: a broken one is reported, not moved out of sight.
        if (chainHash(record.prevHash, record.seq, contentDigest(fieldsOf(row))) !== record.hash || (prev !== undefined && record.prevHash !== prev)) {
          throw new Error(`seq ${record.seq} does not verify; run kmipctl audit verify before archiving`);
        }
        from ??= record.seq;
        prev = record.hash;
        last = { seq: record.seq, hash: record.hash };
        records++;
        lines.push(recordLine(record));
        while (c < checkpoints.length && Number(checkpoints[c]!.seq) <= record.seq) lines.push(checkpointLine(checkpointOf(checkpoints[c++]!)));
      }
      if (lines.length > 0) await out.write(`${lines.join('\n')}\n`);
      if (page.length < PAGE) break;
      cursor = Number(page[page.length - 1]!.seq);
    }
    if (!last) throw new Error(`nothing to archive through seq ${checkpoint.seq}`);
    if (last.seq !== checkpoint.seq || last.hash !== checkpoint.hash) throw new Error(`the record at seq ${checkpoint.seq} does not match its checkpoint; run kmipctl audit verify`);
    await out.sync();
  } finally {
    await out.close();
  }
  await store.transaction((tx) => tx.append({ sql: 'DELETE FROM audit_log WHERE seq <= ?', params: [checkpoint.seq] }));
  return { records, from: from!, through: checkpoint.seq, checkpointTime: checkpoint.time };
}

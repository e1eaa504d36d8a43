/** Where the read-only shared folder (specifications, OASIS test cases) is: beside the repository. */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedDir = process.env.KMIP_SHARED_DIR ?? resolve(repoRoot, '../shared');
export const testcasesDir = join(sharedDir, 'kmip-testcases');

/** Every OASIS test-case XML file under a directory, sorted. */
export function testcaseFiles(dir = testcasesDir): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...testcaseFiles(path));
    else if (entry.name.endsWith('.xml')) out.push(path);
  }
  return out.sort();
}

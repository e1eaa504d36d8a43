/**
 * The OASIS conformance runner against a real kmipd: every file of the regression baseline
 * (expected-pass.txt) still passes, and the runner itself notices a response that differs from
 * the expected one — a changed attribute value, and one object where the case expects two. MSGENC
 * files really travel over HTTPS in their encodings, and PKCS11 files reach the pkcs11 keyring.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { softHsmInstalled } from '../../src/keys/softhsm.js';
import { repoRoot, testcasesDir } from '../support/shared.js';
import { type ConformanceServer, type FileResult, runConformance, startConformanceServer, summary } from './runner.js';

const run = promisify(execFile);
const baseline = readFileSync(join(repoRoot, 'test/conformance/expected-pass.txt'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** A passing 2.1 case: Create, Get Attributes (State PreActive…), Destroy. */
const SOURCE = 'v2.1/mandatory/SKLC-M-1-21.xml';

let server: ConformanceServer;
t.before(async () => {
  server = await startConformanceServer();
});
t.teardown(() => server.close());

function replaceLast(text: string, from: string, to: string): string {
  const at = text.lastIndexOf(from);
  return at < 0 ? text : text.slice(0, at) + to + text.slice(at + from.length);
}

/** Runs one copy of SOURCE, changed by `alter`, from a temporary directory. */
async function runAltered(t: Test, alter: (xml: string) => string): Promise<FileResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-conformance-altered-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const original = readFileSync(join(testcasesDir, SOURCE), 'utf8');
  const altered = alter(original);
  t.not(altered, original, 'the copy really is altered');
  writeFileSync(join(dir, 'SKLC-M-1-21.xml'), altered);
  const [result] = await runConformance([dir], { server });
  if (!result) throw new Error('the runner ran no file');
  return result;
}

t.test('every file of the regression baseline still passes', async (t) => {
  const results = await runConformance([testcasesDir], { server });
  t.equal(results.length, 168, 'all 168 OASIS files were run');
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const name of baseline) {
    const result = byName.get(name);
    t.ok(result?.passed, `${name} passes`, { failure: result?.failure });
  }
  const passed = results.filter((r) => r.passed).length;
  t.match(summary(results), new RegExp(`\\n${passed} passed, ${168 - passed} failed$`), 'the summary ends with the plain totals line');
});

t.test('MSGENC files go over HTTPS in their encoding: a whole key lifecycle passes in each', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-conformance-msgenc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const original = readFileSync(join(testcasesDir, SOURCE), 'utf8');
  for (const encoding of ['HTTPS', 'JSON', 'XML']) writeFileSync(join(dir, `MSGENC-${encoding}-M-9-21.xml`), original);
  const results = await runConformance([dir], { server });
  t.same(
    results.map((r) => [r.name, r.transport, r.passed, r.matched]),
    [
      ['MSGENC-HTTPS-M-9-21.xml', 'https-ttlv', true, 3],
      ['MSGENC-JSON-M-9-21.xml', 'https-json', true, 3],
      ['MSGENC-XML-M-9-21.xml', 'https-xml', true, 3],
    ],
  );
});

t.test('the OASIS MSGENC files get their Maximum Response Size refusal over HTTPS in each encoding', async (t) => {
  // Request 0 of each asks Query with Maximum Response Size 256 and expects Response Too Large.
  const results = await runConformance([testcasesDir], { server, filter: 'MSGENC-' });
  t.equal(results.length, 6);
  for (const r of results) t.ok(r.matched >= 1 && r.transport !== 'tls', `${r.name}: request 0 matched over ${r.transport}`, { failure: r.failure });
});

t.test('PKCS11-M-1-21 passes against the server on the pkcs11 keyring (SoftHSM2)', { skip: softHsmInstalled() ? false : 'SoftHSM2 is not installed' }, async (t) => {
  const results = await runConformance([testcasesDir], { server, filter: 'PKCS11-' });
  t.equal(results.length, 1);
  t.ok(results[0]?.passed, 'passes', { failure: results[0]?.failure });
  t.equal(results[0]?.relaxed['pkcs11-library-info'], 1, "C_GetInfo's vendor fields are SoftHSM2's, not the reference server's");
});

t.test('an unaltered copy passes from any directory', async (t) => {
  const result = await runAltered(t, (xml) => xml.replace('<KMIP>', '<KMIP>\n<!-- copy -->'));
  t.ok(result.passed, 'passes', { failure: result.failure });
  t.equal(result.matched, 3);
});

t.test('a changed expected attribute value fails the file at that request, naming the path', async (t) => {
  // The Get Attributes response (request 1) says State PreActive; expect Active instead.
  const result = await runAltered(t, (xml) => xml.replace('<State type="Enumeration" value="PreActive"/>', '<State type="Enumeration" value="Active"/>'));
  t.notOk(result.passed);
  t.equal(result.failure?.request, 1, 'request 1 is named');
  t.equal(result.failure?.operation, 'GetAttributes');
  t.match(result.failure?.mismatches, [{ path: /ResponsePayload\/Attributes\/State$/, expected: /value="Active"/, actual: /value="PreActive"/ }]);
  t.equal(result.matched, 1, 'the request before it matched');
});

t.test('a second object where the server answers with the first one fails the file', async (t) => {
  // The Destroy response (request 2) names $UNIQUE_IDENTIFIER_1: the server's id is _0's.
  const result = await runAltered(t, (xml) =>
    replaceLast(xml, '<UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_0"/>', '<UniqueIdentifier type="TextString" value="$UNIQUE_IDENTIFIER_1"/>'),
  );
  t.notOk(result.passed);
  t.equal(result.failure?.request, 2);
  t.match(result.failure?.mismatches, [{ path: /ResponsePayload\/UniqueIdentifier$/, expected: /\$UNIQUE_IDENTIFIER_1 \(a value not bound to \$UNIQUE_IDENTIFIER_0\)/ }]);
});

t.test('the command line prints the per-profile table and "N passed, M failed", and exits non-zero on a failure', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-conformance-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const original = readFileSync(join(testcasesDir, SOURCE), 'utf8');
  writeFileSync(join(dir, 'SKLC-M-1-21.xml'), original);
  // The expected Get Attributes response (request 1) says 512 bits; the key was created with 256.
  writeFileSync(join(dir, 'SKLC-M-9-21.xml'), replaceLast(original, '<CryptographicLength type="Integer" value="256"/>', '<CryptographicLength type="Integer" value="512"/>'));
  const runner = join(repoRoot, 'test/conformance/runner.ts');
  const failed = await run(process.execPath, ['--import=tsx', runner, dir], { cwd: repoRoot }).then(
    () => ({ code: 0, stdout: '' }),
    (err: { code: number; stdout: string }) => err,
  );
  t.equal(failed.code, 1, 'exit status 1 when a file fails');
  t.match(failed.stdout, /FAIL SKLC-M-9-21\.xml request 1 \(GetAttributes\)/);
  t.match(failed.stdout, /^profile\s+KMIP 2\.1\s+all$/m);
  t.match(failed.stdout, /^SKLC\s+1\/2\s+1\/2$/m);
  t.match(failed.stdout, /\n1 passed, 1 failed\n$/);
});

/**
 * Interop with PyKMIP's client: Debian's python3-pykmip (0.10) runs Discover Versions and Query
 * through its low-level KMIPProxy (pykmip_client.py) against `kmipd serve` over mutual TLS, in
 * every protocol version that client speaks (1.0 to 2.0), and once more over TLS 1.2 only.
 * Certificates come from the dev PKI (clientAuth EKU, which PyKMIP-style peers check).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { type DevPkiFiles, createDevPki, writeDevPki } from '../../src/pki/devpki.js';
import { repoRoot } from '../support/shared.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = join(repoRoot, 'test/interop/pykmip_client.py');
const KMIPD_BIN = join(repoRoot, 'bin/kmipd.js');
const STARTUP_TIMEOUT_MS = 30_000;

/** What pykmip_client.py prints. */
interface PykmipResult {
  version: string;
  tls: string;
  cipher: string;
  discover?: { status: string; reason?: string; message?: string; versions: string[] };
  query: { status: string; reason?: string; message?: string; operations: string[]; objectTypes: string[]; vendorIdentification: string | null };
}

const pykmipMissing = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import kmip.services.kmip_client'], { timeout: 30_000 }).status === 0
  ? undefined
  : `PyKMIP is not installed (Debian: apt-get install python3-pykmip for ${PYTHON})`;
const kmipdMissing = existsSync(KMIPD_BIN) ? undefined : 'kmipd serve not available yet';
const skip = pykmipMissing ?? kmipdMissing;

/**
 * kmipd's 1.4 and 2.0 response headers carry a Server Correlation Value, as KMIP 1.4 §6.19 says
 * a server SHOULD; PyKMIP 0.10's ResponseHeader parser knows no correlation values and fails on it
 * ("expected 0x42000d, received 0x420106"). Known failure until the server decides otherwise
 * (src/server/processor.ts); the tests still run and show PyKMIP's error.
 */

const dir = mkdtempSync(join(tmpdir(), 'kmipd-pykmip-'));
let files: DevPkiFiles;
let server: ChildProcess | undefined;
let port = 0;
const serverOutput: string[] = [];

t.teardown(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server!.once('exit', resolve));
    server.kill('SIGTERM');
    const timer = setTimeout(() => server!.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
});

if (!skip) {
  t.before(async () => {
    files = await writeDevPki(dir, await createDevPki());
    // The schema's defaults already name the files writeDevPki wrote (server.pem, ca.pem, …).
    writeFileSync(join(dir, 'kmipd.yaml'), 'dataDir: .\n');
    server = spawn(
      process.execPath,
      [KMIPD_BIN, 'serve', '--data-dir', dir, '--set', 'listen.port=0', '--set', 'https.enabled=false', '--set', 'log.level=info'],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    port = await listeningPort(server);
  });
}

/** The TLS port from kmipd's `"msg":"listening"` log line. */
function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => fail(`kmipd did not log "listening" within ${STARTUP_TIMEOUT_MS / 1000} s`), STARTUP_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`${why}; its output ends:\n${serverOutput.slice(-10).join('\n')}`));
    };
    child.stderr!.setEncoding('utf8').on('data', (text: string) => serverOutput.push(text));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        serverOutput.push(line);
        if (serverOutput.length > 200) serverOutput.shift();
        let entry: { msg?: string; transport?: string; port?: number };
        try {
          entry = JSON.parse(line) as typeof entry;
        } catch {
          continue;
        }
        if (entry.msg === 'listening' && entry.transport === 'tls' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve(entry.port);
        }
      }
    });
    child.once('exit', (code, signal) => fail(`kmipd serve exited (${code ?? signal}) before listening`));
  });
}

function runPykmip(version: string, sslVersion?: string): Promise<PykmipResult> {
  const client = files.clients[0]!;
  const args = [CLIENT, '127.0.0.1', String(port), files.ca, client.cert, client.key, version, ...(sslVersion ? [sslVersion] : [])];
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { timeout: 60_000 }, (err, stdout, stderr) => {
      // The last line of a Python traceback is the exception itself.
      if (err) return reject(new Error(`pykmip_client.py ${version} failed (exit ${err.code ?? err.signal}): ${stderr.trim().split('\n').at(-1) ?? err.message}`));
      try {
        resolve(JSON.parse(stdout) as PykmipResult);
      } catch {
        reject(new Error(`pykmip_client.py printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

function checkAnswers(t: Test, version: string, r: PykmipResult): void {
  t.comment(`KMIP ${r.version} over ${r.tls} ${r.cipher}`);
  if (version === '1.0') {
    t.notOk(r.discover, 'Discover Versions is not sent in 1.0 (it exists from 1.1 on)');
  } else {
    t.equal(r.discover?.status, 'Success', `Discover Versions succeeds${r.discover?.message ? `: ${r.discover.message}` : ''}`);
    t.ok(r.discover?.versions.includes(version), `the versions offered include ${version} (${r.discover?.versions.join(', ')})`);
  }
  t.equal(r.query.status, 'Success', `Query succeeds${r.query.message ? `: ${r.query.message}` : ''}`);
  t.ok(r.query.operations.includes('Query'), 'Query lists Query');
  t.equal(r.query.operations.includes('DiscoverVersions'), version !== '1.0', 'Query lists Discover Versions where it exists (1.1 on)');
  t.equal(r.query.vendorIdentification, 'kmipd', 'the vendor identification is kmipd');
}

for (const version of ['1.0', '1.1', '1.2', '1.3', '1.4', '2.0']) {
  t.test(`PyKMIP's client runs Discover Versions and Query against kmipd in KMIP ${version}`, skip ? { skip } : {}, async (t) => {
    let result: PykmipResult;
    try {
      result = await runPykmip(version);
    } catch (err) {
      t.fail((err as Error).message);
      return;
    }
    checkAnswers(t, version, result);
  });
}

t.test("PyKMIP's client also gets its answers over TLS 1.2, as PyKMIP-based tools often negotiate", skip ? { skip } : {}, async (t) => {
  const r = await runPykmip('1.2', 'PROTOCOL_TLSv1_2');
  t.equal(r.tls, 'TLSv1.2', 'TLS 1.2 was negotiated');
  checkAnswers(t, '1.2', r);
});

/**
 * Shared by the PyKMIP interop tests: whether Debian's python3-pykmip is there, a `kmipd serve`
 * child with a dev PKI (clientAuth EKU, which PyKMIP-style peers check), and running a Python
 * script that prints one JSON object.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DevPkiFiles, createDevPki, writeDevPki } from '../../src/pki/devpki.js';
import { repoRoot } from '../support/shared.js';

export const PYTHON = '/usr/bin/python3';
const KMIPD_BIN = join(repoRoot, 'bin/kmipd.js');
const STARTUP_TIMEOUT_MS = 30_000;

/** Why the PyKMIP tests cannot run here, or undefined when they can. */
export function pykmipSkipReason(module = 'kmip.services.kmip_client'): string | undefined {
  const pykmipMissing = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${module}`], { timeout: 30_000 }).status === 0
    ? undefined
    : `PyKMIP is not installed (Debian: apt-get install python3-pykmip for ${PYTHON})`;
  const kmipdMissing = existsSync(KMIPD_BIN) ? undefined : 'kmipd serve not available yet';
  return pykmipMissing ?? kmipdMissing;
}

export interface PykmipServer {
  files: DevPkiFiles;
  port: number;
  /** kmipd's recent output lines, for failure messages. */
  output: string[];
  stop(): Promise<void>;
}

/** Starts `kmipd serve` (TLS on an ephemeral port, no HTTPS) in a fresh data dir with a dev PKI. */
export async function startPykmipServer(prefix = 'kmipd-pykmip-'): Promise<PykmipServer> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const output: string[] = [];
  let child: ChildProcess | undefined;
  const stop = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const files = await writeDevPki(dir, await createDevPki());
    // The schema's defaults already name the files writeDevPki wrote (server.pem, ca.pem, …).
    writeFileSync(join(dir, 'kmipd.yaml'), 'dataDir: .\n');
    child = spawn(
      process.execPath,
      [KMIPD_BIN, 'serve', '--data-dir', dir, '--set', 'listen.port=0', '--set', 'https.enabled=false', '--set', 'log.level=info'],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const port = await listeningPort(child, output);
    return { files, port, output, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The TLS port from kmipd's `"msg":"listening"` log line. */
function listeningPort(child: ChildProcess, output: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => fail(`kmipd did not log "listening" within ${STARTUP_TIMEOUT_MS / 1000} s`), STARTUP_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      reject(new Error(`${why}; its output ends:\n${output.slice(-10).join('\n')}`));
    };
    child.stderr!.setEncoding('utf8').on('data', (text: string) => output.push(text));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        output.push(line);
        if (output.length > 200) output.shift();
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

/**
 * Runs `python3 SCRIPT HOST PORT CA CERT KEY ...args` with the server's first dev client
 * certificate and parses the one JSON object it prints.
 */
export function runPythonJson<T>(server: PykmipServer, script: string, args: string[], timeoutMs = 60_000): Promise<T> {
  const client = server.files.clients[0]!;
  const argv = [script, '127.0.0.1', String(server.port), server.files.ca, client.cert, client.key, ...args];
  const label = `${script.split('/').at(-1)} ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    execFile(PYTHON, argv, { timeout: timeoutMs }, (err, stdout, stderr) => {
      // The last line of a Python traceback is the exception itself.
      if (err) return reject(new Error(`${label} failed (exit ${err.code ?? err.signal}): ${stderr.trim().split('\n').at(-1) ?? err.message}`));
      try {
        resolve(JSON.parse(stdout) as T);
      } catch {
        reject(new Error(`${label} printed no JSON: ${stdout}\n${stderr}`));
      }
    });
  });
}

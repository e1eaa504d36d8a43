/** `kmipd serve` as a child process on a data directory, for tests that kill it or run several. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './shared.js';

const KMIPD_BIN = join(repoRoot, 'bin/kmipd.js');
const STARTUP_TIMEOUT_MS = 30_000;

export interface ServeProcess {
  child: ChildProcess;
  port: number;
  exited: Promise<void>;
}

const children = new Set<ChildProcess>();

/** Kills every child still running (call from t.teardown). */
export function killServeProcesses(): void {
  for (const child of children) child.kill('SIGKILL');
}

/** Starts `kmipd serve --data-dir dir` with `--set` overrides; resolves once its log says it listens. */
export function startServe(dir: string, sets: string[] = []): Promise<ServeProcess> {
  const args = [KMIPD_BIN, 'serve', '--data-dir', dir, '--set', 'listen.port=0', '--set', 'https.enabled=false', '--set', 'log.level=info', ...sets.flatMap((s) => ['--set', s])];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => children.delete(child));
  return new Promise((resolve, reject) => {
    let pending = '';
    const output: string[] = [];
    const timer = setTimeout(() => fail('did not log "listening"'), STARTUP_TIMEOUT_MS);
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`kmipd serve ${why}; its output ends:\n${output.slice(-10).join('\n')}`));
    };
    child.stderr!.setEncoding('utf8').on('data', (s: string) => output.push(s));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        output.push(line);
        if (!line.includes('"listening"')) continue;
        const entry = JSON.parse(line) as { transport?: string; port?: number };
        if (entry.transport === 'tls' && typeof entry.port === 'number') {
          clearTimeout(timer);
          resolve({ child, port: entry.port, exited });
        }
      }
    });
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before listening`));
  });
}

/** SIGTERM (a clean stop: in-flight requests answered, the audit chain signed), SIGKILL after 10 s. */
export async function stopServe(server: ServeProcess): Promise<void> {
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await server.exited;
  clearTimeout(timer);
}

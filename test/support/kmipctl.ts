/** Runs kmipctl in-process against a test server, capturing what it prints. */
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/kmipctl.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** `kmipctl ARGS --data-dir DIR --port PORT`: the exit code and everything written to stdout and stderr. */
export async function runKmipctl(args: readonly string[], server: { dataDir: string; port: number }): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await main([...args, '--data-dir', server.dataDir, '--port', String(server.port)], { stdin: new PassThrough(), stdout, stderr });
  return { code, out, err };
}

/** Runs kmipctl in-process against a test server, capturing what it prints. */
import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/kmipctl.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** `kmipctl ARGS --data-dir DIR --port PORT`: the exit code and everything written to stdout and stderr. */
export function runKmipctl(args: readonly string[], server: { dataDir: string; port: number }): Promise<Run> {
  return captured(main, [...args, '--data-dir', server.dataDir, '--port', String(server.port)]);
}

/** Runs a command-line entry point (`main(argv, io)`) in-process, capturing what it prints. */
export async function captured(entry: (argv: string[], io: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream }) => Promise<number>, argv: readonly string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await entry([...argv], { stdin: new PassThrough(), stdout, stderr });
  return { code, out, err };
}

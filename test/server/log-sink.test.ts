/**
 * The log sink: every line reaches the file or pipe, in order, coalesced per event-loop turn; a
 * backlog beyond its bound is dropped and reported rather than growing without limit.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LogSink } from '../../src/server/log-sink.js';

const dir = mkdtempSync(join(tmpdir(), 'kmipd-log-sink-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const lines = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `{"n":${from + i}}\n`);

t.test('a file receives every line in order, the directory created on open', async (t) => {
  const path = join(dir, 'sub', 'kmipd.log');
  const sink = LogSink.open(path);
  for (const line of lines(1000)) sink.write(line);
  t.equal(readFileSync(path, 'utf8'), '', 'nothing is written at once: lines wait for company');
  await sink.flush();
  t.equal(readFileSync(path, 'utf8'), lines(1000).join(''), 'after the turn, all of them');
  for (const line of lines(10, 1000)) sink.write(line);
  sink.close();
  t.equal(readFileSync(path, 'utf8'), lines(1010).join(''), 'close writes what is pending');
});

t.test('a pipe receives every line in order through asynchronous writes', async (t) => {
  const child = spawn(process.execPath, ['-e', 'process.stdin.pipe(process.stdout)'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
  const received: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => received.push(chunk));
  const sink = new LogSink(fd);
  const expected: string[] = [];
  for (let turn = 0; turn < 20; turn++) {
    const batch = lines(500, turn * 500);
    for (const line of batch) sink.write(line);
    expected.push(...batch);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await sink.flush();
  child.stdin.end();
  await new Promise((resolve) => child.on('close', resolve));
  t.equal(Buffer.concat(received).toString(), expected.join(''));
});

t.test('beyond the backlog bound lines are dropped, counted, and the loss is logged', async (t) => {
  const path = join(dir, 'bounded.log');
  const sink = new LogSink(openSync(path, 'a'), 100);
  const accepted = lines(20).map((line) => sink.write(line));
  t.same(accepted.filter(Boolean).length, 12, 'lines fit until 100 characters are pending (8 characters each)');
  await sink.flush();
  const written = readFileSync(path, 'utf8').split('\n').filter(Boolean);
  t.same(written.slice(0, 12), lines(12).map((l) => l.trim()));
  t.match(JSON.parse(written[12]!), { level: 40, msg: 'the log could not keep up: 8 lines were dropped' });
  sink.close();
});

t.test('a lone line is written within a few tens of milliseconds, unprompted', async (t) => {
  const path = join(dir, 'lone.log');
  const sink = LogSink.open(path);
  sink.write('{"lone":true}\n');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.equal(readFileSync(path, 'utf8'), '{"lone":true}\n');
  sink.close();
});

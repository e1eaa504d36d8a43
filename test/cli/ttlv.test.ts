import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { main } from '../../src/cli/kmipctl.js';
import { type Item, encode, fromXmlDocument, toText, toXml } from '../../src/ttlv/index.js';
import { repoRoot, testcasesDir } from '../support/shared.js';

interface Run {
  code: number;
  stdout: string;
  bytes: Buffer;
  stderr: string;
}

function sink(into: Buffer[], tty = false): Writable {
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      into.push(Buffer.from(chunk));
      done();
    },
  });
  return Object.assign(stream, { isTTY: tty });
}

/** Runs kmipctl in-process with `stdin` as standard input. */
async function kmipctl(argv: string[], stdin: string | Buffer = '', options: { tty?: boolean } = {}): Promise<Run> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const code = await main(argv, { stdin: Readable.from([Buffer.from(stdin)]), stdout: sink(out, options.tty), stderr: sink(err) });
  const bytes = Buffer.concat(out);
  return { code, stdout: bytes.toString('utf8'), bytes, stderr: Buffer.concat(err).toString('utf8') };
}

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kmipctl-ttlv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const BL_M_1 = join(testcasesDir, 'v2.1', 'mandatory', 'BL-M-1-21.xml');
const testcase = fromXmlDocument(readFileSync(BL_M_1, 'utf8'));
/** Two requests of the test case: Interop Begin, then Register (message 3; message 2 is a response with $NOW). */
const first: Item = testcase[0]!;
const second: Item = testcase[2]!;
const firstBytes = encode(first);
const secondBytes = encode(second);

const SPEC_INTEGER = '42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00';

t.test('decode reads the spec notation as hex and prints the item', async (t) => {
  const run = await kmipctl(['ttlv', 'decode'], SPEC_INTEGER + '\n');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^.*\(0x420020\) Integer: 8$/m);
  t.equal(run.stderr, '');
  const xxd = await kmipctl(['ttlv', 'decode', '--in', 'hex'], '0x42,0x00,0x20,0x02,\n0x00,0x00,0x00,0x04,\n0x00,0x00,0x00,0x08,0x00,0x00,0x00,0x00\n');
  t.equal(xxd.stdout, run.stdout, '0x prefixes, commas and line breaks read the same');
});

t.test('decode prints every message of a capture, in order', async (t) => {
  const file = join(await tempDir(t), 'capture.bin');
  await writeFile(file, Buffer.concat([firstBytes, secondBytes]));
  const run = await kmipctl(['ttlv', 'decode', file]);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.stdout, `${toText(first)}\n\n${toText(second)}\n`, 'both, separated by a blank line');
  t.match(run.stdout, /Operation \(0x42005C\) Enumeration: Interop[^]*Operation \(0x42005C\) Enumeration: Register/);

  const hex = await kmipctl(['ttlv', 'decode'], Buffer.concat([firstBytes, secondBytes]).toString('hex').replace(/.{1,60}/g, '$&\n'));
  t.equal(hex.stdout, run.stdout, 'xxd -p style hex of the same capture decodes the same');
});

t.test('decode --out json is an array for several messages, an object for one', async (t) => {
  const two = await kmipctl(['ttlv', 'decode', '--out', 'json'], Buffer.concat([firstBytes, secondBytes]));
  t.equal(two.code, 0, two.stderr);
  const parsed = JSON.parse(two.stdout) as { tag: string }[];
  t.ok(Array.isArray(parsed));
  t.same(
    parsed.map((m) => m.tag),
    ['RequestMessage', 'RequestMessage'],
  );
  t.match(two.stdout, /^\[\n {2}\{\n {4}"tag": "RequestMessage"/, 'indented by two spaces');
  const one = await kmipctl(['ttlv', 'decode', '--out', 'json'], firstBytes);
  t.equal((JSON.parse(one.stdout) as { tag: string }).tag, 'RequestMessage', 'one message is a plain object');
});

t.test('truncated or corrupt input: what came before, then the error and its offset in the input', async (t) => {
  const cut = Buffer.concat([firstBytes, secondBytes.subarray(0, 40)]);
  const run = await kmipctl(['ttlv', 'decode'], cut);
  t.equal(run.code, 1);
  t.equal(run.stdout, toText(first) + '\n', 'the whole first message, nothing of the second');
  t.match(run.stderr, new RegExp(`^kmipctl ttlv decode: TRUNCATED at byte ${firstBytes.length}: message 2 is a Structure of ${secondBytes.length} bytes.*ends 40 bytes into it\\n$`));

  const header = await kmipctl(['ttlv', 'decode'], Buffer.concat([firstBytes, secondBytes.subarray(0, 3)]));
  t.equal(header.code, 1);
  t.match(header.stderr, `TRUNCATED at byte ${firstBytes.length}: the input ends 3 bytes into the 8-byte header of message 2`);

  const hex = await kmipctl(['ttlv', 'decode', '--in', 'hex'], cut.toString('hex').replace(/.{1,60}/g, '$&\n'));
  t.equal(hex.code, 1);
  t.match(hex.stderr, `TRUNCATED at byte ${firstBytes.length} (hex text line ${Math.floor((firstBytes.length * 2) / 60) + 1}, column ${((firstBytes.length * 2) % 60) + 1})`);

  // A non-zero padding byte inside the second message: the offset counts from the input's start.
  const corrupt = Buffer.concat([firstBytes, secondBytes]);
  const padding = firstBytes.length + secondBytes.indexOf(Buffer.from('BL-M-1-21')) + 9;
  corrupt[padding] = 0xff;
  const bad = await kmipctl(['ttlv', 'decode', '--out', 'xml'], corrupt);
  t.equal(bad.code, 1);
  t.equal(bad.stdout, toXml(first) + '\n');
  t.match(bad.stderr, `BAD_PADDING at byte ${padding}: non-zero padding byte (in message 2, which starts at byte ${firstBytes.length})`);

  const garbage = await kmipctl(['ttlv', 'decode'], '42 00 78 | 0c | 00 00 00 00');
  t.equal(garbage.code, 1);
  t.equal(garbage.stdout, '');
  t.match(garbage.stderr, /UNKNOWN_TYPE at byte 3 \(hex text line 1, column 12\)/);

  const notHex = await kmipctl(['ttlv', 'decode', '--in', 'hex'], '42 00 7g');
  t.equal(notHex.code, 1);
  t.match(notHex.stderr, /not hex: "g" at line 1, column 8/);
});

t.test('encode a test-case message to hex and decode it back to the same XML', async (t) => {
  const encoded = await kmipctl(['ttlv', 'encode', '--out', 'hex', '--message', '1', BL_M_1]);
  t.equal(encoded.code, 0, encoded.stderr);
  t.equal(encoded.stdout, firstBytes.toString('hex') + '\n', 'lower-case hex, one line');
  const decoded = await kmipctl(['ttlv', 'decode', '--out', 'xml'], encoded.stdout);
  t.equal(decoded.code, 0, decoded.stderr);
  t.equal(decoded.stdout.trimEnd(), toXml(fromXmlDocument(readFileSync(BL_M_1, 'utf8'))[0]!));
});

t.test('encode reads what decode writes: several XML messages, a JSON array', async (t) => {
  const capture = Buffer.concat([firstBytes, secondBytes]);
  for (const format of ['xml', 'json']) {
    const text = await kmipctl(['ttlv', 'decode', '--out', format], capture);
    const back = await kmipctl(['ttlv', 'encode'], text.stdout);
    t.equal(back.code, 0, back.stderr);
    t.ok(back.bytes.equals(capture), `${format}: the same bytes`);
  }
  const hex = await kmipctl(['ttlv', 'encode', '--out', 'hex', '--message', '1,3', BL_M_1]);
  t.equal(hex.stdout, `${firstBytes.toString('hex')}\n${secondBytes.toString('hex')}\n`, 'one line per message');
});

t.test('a placeholder cannot be encoded: the error names it and where it is', async (t) => {
  const xml = `<RequestMessage>
  <RequestHeader>
    <ProtocolVersion>
      <ProtocolVersionMajor type="Integer" value="2"/>
      <ProtocolVersionMinor type="Integer" value="1"/>
    </ProtocolVersion>
    <TimeStamp type="DateTime" value="$NOW"/>
    <BatchCount type="Integer" value="1"/>
  </RequestHeader>
</RequestMessage>`;
  const run = await kmipctl(['ttlv', 'encode', '--out', 'hex'], xml);
  t.equal(run.code, 1);
  t.equal(run.stdout, '', 'nothing half-encoded');
  t.match(run.stderr, /^kmipctl ttlv encode: UNRESOLVED_PLACEHOLDER in message 1 \(RequestMessage\): RequestMessage\/RequestHeader\/TimeStamp is the placeholder \$NOW, which a DateTime cannot hold/);
  t.equal(run.stderr.split('\n').length, 2, 'one line, no stack trace');

  const whole = await kmipctl(['ttlv', 'encode', '--out', 'hex', BL_M_1]);
  t.equal(whole.code, 1);
  t.match(whole.stderr, /message 2 of 14 \(ResponseMessage\).*\$NOW.*--message/);
});

t.test('usage errors exit 2 with the usage', async (t) => {
  const flag = await kmipctl(['ttlv', 'decode', '--bogus']);
  t.equal(flag.code, 2);
  t.match(flag.stderr, /Unknown option '--bogus'/);
  t.match(flag.stderr, /Usage: kmipctl ttlv decode \[FILE\|-\]/);

  const value = await kmipctl(['ttlv', 'encode', '--out', 'yaml']);
  t.equal(value.code, 2);
  t.match(value.stderr, /--out must be one of binary, hex/);

  const command = await kmipctl(['frobnicate']);
  t.equal(command.code, 2);
  t.match(command.stderr, /unknown command 'frobnicate'/);
  t.match(command.stderr, /^ {2}ttlv +\S/m, 'the help lists the commands');

  const tty = await kmipctl(['ttlv', 'encode', '--message', '1', BL_M_1], '', { tty: true });
  t.equal(tty.code, 2, 'no raw binary to a terminal');
  t.match(tty.stderr, /--out hex/);
  t.equal(tty.bytes.length, 0);
});

t.test('help', async (t) => {
  const top = await kmipctl(['--help']);
  t.equal(top.code, 0);
  t.match(top.stdout, /ttlv +Decode and encode TTLV/);
  const ttlv = await kmipctl(['ttlv', '--help']);
  t.match(ttlv.stdout, /kmipctl ttlv decode --in hex/);
  t.match(ttlv.stdout, /kmipctl ttlv encode --out hex request\.xml/);
  for (const command of ['decode', 'encode']) {
    const help = await kmipctl(['ttlv', command, '--help']);
    t.equal(help.code, 0);
    t.match(help.stdout, `Usage: kmipctl ttlv ${command}`);
    t.match(help.stdout, 'Examples:');
  }
});

t.test('bin/kmipctl.js runs as a program', async (t) => {
  const run = spawnSync(process.execPath, [join(repoRoot, 'bin', 'kmipctl.js'), 'ttlv', 'decode', '--in', 'hex'], { input: SPEC_INTEGER, encoding: 'utf8', timeout: 60_000 });
  t.equal(run.status, 0, run.stderr);
  t.match(run.stdout, /Integer: 8/);
  const bad = spawnSync(process.execPath, [join(repoRoot, 'bin', 'kmipctl.js'), 'ttlv', 'decode'], { input: '42 00 20 | 02', encoding: 'utf8', timeout: 60_000 });
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^kmipctl ttlv decode: TRUNCATED at byte 0/);
});

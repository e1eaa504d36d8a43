/**
 * `kmipctl ttlv decode|encode`: the TTLV codec on the command line, for the engineer holding a
 * packet capture of a misbehaving client, a hex dump from a bug report or an OASIS test case.
 *
 *   decode: binary TTLV or hex text (or KMIP JSON/XML) → readable text, KMIP JSON or KMIP XML
 *   encode: KMIP JSON or XML → binary TTLV or hex
 *
 * Input may hold several messages; all are converted, in order. A decoding fault prints what
 * came before it, then the error code, its offset in the input and the reason, and exits 1.
 */
import { readFile } from 'node:fs/promises';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { HEADER_LENGTH, type Item, TtlvError, decode, encode, fromJson, fromXmlDocument, itemTypeName, registry, toJson, toText, toXml } from '../ttlv/index.js';
import type { Io } from './kmipctl.js';

export const summary = 'Decode and encode TTLV: captures and hex dumps to readable text, KMIP JSON or XML, and back';

const DECODE_USAGE = 'Usage: kmipctl ttlv decode [FILE|-] [--in auto|binary|hex|json|xml] [--out text|json|xml]';
const ENCODE_USAGE = 'Usage: kmipctl ttlv encode [FILE|-] [--in auto|json|xml] [--out binary|hex] [--message N]...';

const HELP = `Usage: kmipctl ttlv <command> [FILE|-] [options]

Converts KMIP's binary TTLV wire format to and from forms people and tools can read.

Commands:
  decode   Binary TTLV or hex (a packet capture, a dump, the spec's notation)
           → readable text (default), KMIP JSON or KMIP XML
  encode   KMIP JSON or XML (a request, an OASIS test case) → binary TTLV or hex

FILE '-' or no FILE reads standard input. Every message in the input is converted, in order.

Examples:
  kmipctl ttlv decode capture.bin
  echo '42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00' | kmipctl ttlv decode
  tshark -r kmip.pcapng -Y 'tcp.dstport == 5696 && tcp.len > 0' -T fields -e tcp.payload \\
    | kmipctl ttlv decode --in hex
  kmipctl ttlv decode --out xml response.bin > response.xml
  kmipctl ttlv encode --out hex request.xml
  kmipctl ttlv encode --message 1 BL-M-1-21.xml > request.bin

'kmipctl ttlv <command> --help' lists a command's options.
`;

const DECODE_HELP = `${DECODE_USAGE}

Reads FILE (or standard input) and prints every TTLV message in it, in order: a capture often
holds several back to back. Messages are separated by a blank line (text, xml), or form a JSON
array when there is more than one (json). A single item of any type (not only a message) decodes too.

Options:
  --in FORMAT    auto (default): binary TTLV, unless the input is text — then KMIP XML if it
                 starts with '<', KMIP JSON if with '{' or '[', else hex. Hex may contain white
                 space, '|', ':', ',' and 0x prefixes, so the spec's '42 00 78 | 01 | …' notation,
                 'xxd -p' output and Wireshark's "Copy as Hex Stream" all work.
                 binary, hex, json, xml: no guessing.
  --out FORMAT   text (default): one item a line, with names from the KMIP registry
                 json: KMIP JSON, indented    xml: KMIP XML
  -h, --help     Show this help

On malformed input the messages before the fault are printed, then an error line naming the
error code, the byte offset in the input (and, for hex, the line and column) and the reason
goes to standard error; the exit status is 1.

Examples:
  kmipctl ttlv decode capture.bin
  xxd -p capture.bin | kmipctl ttlv decode
  echo '42 00 20 | 02 | 00 00 00 04 | 00 00 00 08 00 00 00 00' | kmipctl ttlv decode
  tshark -r kmip.pcapng -Y 'tcp.dstport == 5696 && tcp.len > 0' -T fields -e tcp.payload \\
    | kmipctl ttlv decode --in hex
  kmipctl ttlv decode --out json response.bin
  kmipctl ttlv decode --out text BL-M-1-21.xml      (an OASIS test case, readable)
`;

const ENCODE_HELP = `${ENCODE_USAGE}

Reads KMIP JSON or KMIP XML from FILE (or standard input) and writes the binary TTLV of every
message in it. XML may be a whole OASIS test-case file (a <KMIP> element around the messages) or
several messages one after another; JSON may be one item or an array of items.

Options:
  --in FORMAT    auto (default: '<' starts XML, '{' or '[' starts JSON), json or xml
  --out FORMAT   binary (default; refused when standard output is a terminal) or hex:
                 lower-case, one line per message
  --message N    Encode only message N (1 = the first); repeatable, or a list: --message 1,3
  -h, --help     Show this help

Test cases hold placeholders such as $NOW or $UNIQUE_IDENTIFIER_0 where the server decides the
value. A placeholder in a Text String is just text; in any other type it cannot be encoded and
the error names it: replace it with a real value, or choose other messages with --message.

Examples:
  kmipctl ttlv encode --out hex request.xml
  kmipctl ttlv encode request.json > request.bin
  kmipctl ttlv encode --message 1 BL-M-1-21.xml | kmipctl ttlv decode
  kmipctl ttlv decode --out json capture.bin | kmipctl ttlv encode --out hex
`;

/** A failure to report: `text` goes to stderr after the command's name. */
class Failure extends Error {
  constructor(
    readonly text: string,
    readonly exitCode = 1,
  ) {
    super(text);
  }
}

export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      io.stdout.write(HELP);
      return 0;
    case 'decode':
      return guarded('decode', io, () => decodeCommand(rest, io));
    case 'encode':
      return guarded('encode', io, () => encodeCommand(rest, io));
    default:
      io.stderr.write(`kmipctl ttlv: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

async function guarded(name: string, io: Io, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    io.stderr.write(`kmipctl ttlv ${name}: ${err.text}\n`);
    if (err.exitCode === 2) io.stderr.write(`${name === 'decode' ? DECODE_USAGE : ENCODE_USAGE}\n(kmipctl ttlv ${name} --help for more)\n`);
    return err.exitCode;
  }
}

interface Parsed {
  file: string | undefined;
  values: Record<string, string | boolean | (string | boolean)[] | undefined>;
}

function parse(argv: string[], options: NonNullable<ParseArgsConfig['options']>): Parsed {
  let result;
  try {
    result = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new Failure((err as Error).message, 2);
  }
  if (result.positionals.length > 1) throw new Failure(`one input file at most, not ${result.positionals.length}`, 2);
  return { file: result.positionals[0], values: result.values };
}

function choice<T extends string>(values: Parsed['values'], name: string, allowed: readonly T[]): T {
  const value = values[name] ?? allowed[0];
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new Failure(`--${name} must be one of ${allowed.join(', ')}, not '${String(value)}'`, 2);
  }
  return value as T;
}

async function readInput(file: string | undefined, io: Io, what: string): Promise<Buffer> {
  if (file !== undefined && file !== '-') {
    try {
      return await readFile(file);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new Failure(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    }
  }
  if ((io.stdin as { isTTY?: boolean }).isTTY) {
    io.stderr.write(`(reading ${what} from the terminal; end with Ctrl-D, or give a FILE — see --help)\n`);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------------------------
// decode

type DecodeIn = 'auto' | 'binary' | 'hex' | 'json' | 'xml';
type DecodeOut = 'text' | 'json' | 'xml';

async function decodeCommand(argv: string[], io: Io): Promise<number> {
  const { file, values } = parse(argv, { in: { type: 'string' }, out: { type: 'string' } });
  if (values.help) {
    io.stdout.write(DECODE_HELP);
    return 0;
  }
  const inFormat = choice<DecodeIn>(values, 'in', ['auto', 'binary', 'hex', 'json', 'xml']);
  const outFormat = choice<DecodeOut>(values, 'out', ['text', 'json', 'xml']);
  const input = await readInput(file, io, 'TTLV');
  const format = inFormat === 'auto' ? sniff(input) : inFormat;

  let messages: Item[];
  let failure: Failure | undefined;
  if (format === 'json' || format === 'xml') {
    messages = parseDocument(asText(input), format);
  } else {
    let bytes = input;
    let where = (offset: number): string => `byte ${offset}`;
    if (format === 'hex') {
      const text = asText(input);
      const hex = parseHex(text);
      bytes = hex.bytes;
      where = (offset) => {
        const at = offset < hex.positions.length ? hex.positions[offset]! : text.length;
        return `byte ${offset} (hex text ${lineColumn(text, at)})`;
      };
    }
    if (bytes.length === 0) throw new Failure(input.length === 0 ? 'the input is empty' : 'the input holds no hex digits');
    const result = decodeAll(bytes);
    messages = result.messages;
    if (result.error) failure = new Failure(describe(result.error, where(result.error.offset)));
  }

  if (messages.length > 0) io.stdout.write(render(messages, outFormat));
  if (failure) throw failure;
  return 0;
}

/** Which input format a decode input is, for --in auto. */
function sniff(input: Buffer): 'binary' | 'hex' | 'json' | 'xml' {
  // Every TTLV header has a NUL or a control byte in its first 8 bytes (tag 0x42 00 xx, the type
  // 0x01–0x0B, a length below 16 MiB); text input has none of those.
  for (let i = 0; i < Math.min(HEADER_LENGTH, input.length); i++) {
    const b = input[i]!;
    if (b < 0x09 || (b > 0x0d && b < 0x20)) return 'binary';
  }
  const first = /[^\s\uFEFF]/.exec(input.subarray(0, 4096).toString('utf8'))?.[0];
  if (first === '<') return 'xml';
  if (first === '{' || first === '[') return 'json';
  return 'hex';
}

/** The input as text; a byte-order mark becomes a space so that columns stay put. */
function asText(input: Buffer): string {
  const text = input.toString('utf8');
  return text.startsWith('\uFEFF') ? ' ' + text.slice(1) : text;
}

const isHexDigit = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
/** White space, and the separators of the spec's notation ('|'), Wireshark (':') and C (','). */
const isSeparator = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0x7c || c === 0x3a || c === 0x2c;

/**
 * Hex text → bytes, and for each byte the index of its first digit in the text (for error
 * positions). Tokens are runs of digits between separators, each with an optional 0x prefix and
 * an even number of digits.
 */
export function parseHex(text: string): { bytes: Buffer; positions: Uint32Array } {
  const bytes = Buffer.alloc(text.length >>> 1);
  const positions = new Uint32Array(text.length >>> 1);
  let n = 0;
  let i = 0;
  while (i < text.length) {
    if (isSeparator(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const token = i;
    if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) i += 2;
    const digits = i;
    while (i < text.length && isHexDigit(text.charCodeAt(i))) i++;
    if (i < text.length && !isSeparator(text.charCodeAt(i))) {
      const c = text.codePointAt(i)!;
      throw new Failure(`not hex: ${JSON.stringify(String.fromCodePoint(c))} at ${lineColumn(text, i)} (use --in binary if the input is binary TTLV)`);
    }
    if (i === digits) throw new Failure(`not hex: a 0x with no digits at ${lineColumn(text, token)}`);
    if ((i - digits) % 2 !== 0) {
      throw new Failure(`not hex: odd number of digits in ${JSON.stringify(text.slice(token, i))} at ${lineColumn(text, token)}`);
    }
    for (let d = digits; d < i; d += 2) {
      bytes[n] = Number.parseInt(text.slice(d, d + 2), 16);
      positions[n++] = d;
    }
  }
  return { bytes: bytes.subarray(0, n), positions: positions.subarray(0, n) };
}

function lineColumn(text: string, index: number): string {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return `line ${line}, column ${index - start + 1}`;
}

/**
 * Splits input into top-level items by their headers and decodes each. Returns the items decoded
 * before the first fault, and the fault with its offset counted from the start of the input.
 */
export function decodeAll(bytes: Buffer): { messages: Item[]; error?: TtlvError } {
  const messages: Item[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const remaining = bytes.length - pos;
    const which = `message ${messages.length + 1}`;
    if (remaining < HEADER_LENGTH) {
      return { messages, error: new TtlvError('TRUNCATED', `the input ends ${remaining} byte${remaining === 1 ? '' : 's'} into the 8-byte header of ${which}`, pos) };
    }
    const type = itemTypeName(bytes[pos + 3]!);
    const length = bytes.readUInt32BE(pos + 4);
    const total = HEADER_LENGTH + ((length + 7) & ~7);
    if (type !== undefined && total > remaining) {
      const hint = messages.length === 0 && length > 16 * 1024 * 1024 ? ' (is this TTLV, starting at a message boundary?)' : '';
      return {
        messages,
        error: new TtlvError('TRUNCATED', `${which} is a ${type} of ${total} bytes (header and ${length} of value), but the input ends ${remaining} bytes into it${hint}`, pos),
      };
    }
    try {
      // An unknown type byte has no trustworthy length: decode the header alone for the error.
      messages.push(decode(bytes.subarray(pos, type === undefined ? pos + HEADER_LENGTH : pos + total)));
    } catch (err) {
      if (!(err instanceof TtlvError)) throw err;
      return { messages, error: new TtlvError(err.code, `${bareMessage(err)} (in ${which}, which starts at byte ${pos})`, pos + err.offset) };
    }
    pos += total;
  }
  return { messages };
}

/** A TtlvError's message without the `(at offset N)` its constructor appends. */
function bareMessage(err: TtlvError): string {
  return err.message.replace(/ \(at offset \d+\)$/, '');
}

function describe(err: TtlvError, where: string): string {
  return `${err.code} at ${where}: ${bareMessage(err)}`;
}

function render(messages: Item[], format: DecodeOut): string {
  switch (format) {
    case 'text':
      return messages.map((m) => toText(m) + '\n').join('\n');
    case 'xml':
      return messages.map((m) => toXml(m) + '\n').join('\n');
    case 'json': {
      const json = messages.map((m) => toJson(m));
      return JSON.stringify(json.length === 1 ? json[0] : json, null, 2) + '\n';
    }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON and XML input

/** KMIP JSON (one item or an array) or KMIP XML (one or more messages, maybe in a <KMIP> wrapper) → items. */
function parseDocument(text: string, format: 'json' | 'xml'): Item[] {
  return format === 'json' ? parseJson(text) : parseXml(text);
}

function parseJson(text: string): Item[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    throw new Failure(`SYNTAX${position === undefined ? '' : ` at ${lineColumn(text, Number(position))}`}: not JSON: ${message}`);
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  if (list.length === 0) throw new Failure('the JSON array holds no items');
  return list.map((node, i) => {
    try {
      return fromJson(node);
    } catch (err) {
      if (!(err instanceof TtlvError)) throw err;
      throw new Failure(`${err.code}${Array.isArray(parsed) ? ` in item ${i + 1} of the array` : ''}: ${bareMessage(err)}`);
    }
  });
}

function parseXml(text: string): Item[] {
  let first: TtlvError;
  try {
    return fromXmlDocument(text);
  } catch (err) {
    if (!(err instanceof TtlvError)) throw err;
    first = err;
  }
  // Several messages one after another (what `decode --out xml` prints): read them inside a
  // wrapper, as in a test-case file. The XML declaration, if any, is blanked to keep offsets.
  if (first.code === 'SYNTAX') {
    const OPEN = '<KMIP>';
    const body = text.replace(/^(\s*)(<\?xml[^]*?\?>)/, (_m, space: string, decl: string) => space + ' '.repeat(decl.length));
    try {
      return fromXmlDocument(`${OPEN}${body}</KMIP>`);
    } catch (err) {
      if (!(err instanceof TtlvError)) throw err;
      // Report whichever reading got further into the text.
      if (err.offset - OPEN.length > first.offset) first = new TtlvError(err.code, bareMessage(err), Math.min(err.offset - OPEN.length, text.length));
    }
  }
  throw new Failure(describe(first, lineColumn(text, first.offset)));
}

// ---------------------------------------------------------------------------------------------
// encode

async function encodeCommand(argv: string[], io: Io): Promise<number> {
  const { file, values } = parse(argv, { in: { type: 'string' }, out: { type: 'string' }, message: { type: 'string', multiple: true } });
  if (values.help) {
    io.stdout.write(ENCODE_HELP);
    return 0;
  }
  const inFormat = choice<'auto' | 'json' | 'xml'>(values, 'in', ['auto', 'json', 'xml']);
  const outFormat = choice<'binary' | 'hex'>(values, 'out', ['binary', 'hex']);
  const selected = messageNumbers(values.message);
  if (outFormat === 'binary' && (io.stdout as { isTTY?: boolean }).isTTY) {
    throw new Failure('binary TTLV would garble your terminal: use --out hex, or redirect to a file or a pipe (> request.bin)', 2);
  }

  const text = asText(await readInput(file, io, 'KMIP JSON or XML'));
  let format = inFormat;
  if (format === 'auto') {
    const first = /\S/.exec(text)?.[0];
    if (first === undefined) throw new Failure('the input is empty');
    if (first === '<') format = 'xml';
    else if (first === '{' || first === '[') format = 'json';
    else throw new Failure(`cannot tell the input's format: it starts with ${JSON.stringify(first)}, not '<' (XML) or '{'/'[' (JSON). Binary or hex? Use 'kmipctl ttlv decode'.`);
  }
  const items = parseDocument(text, format);

  let chosen = items.map((item, i) => ({ item, number: i + 1 }));
  if (selected !== undefined) {
    const missing = selected.filter((n) => n > items.length);
    if (missing.length > 0) throw new Failure(`--message ${missing.join(',')}: the input holds ${items.length} message${items.length === 1 ? '' : 's'}`);
    chosen = selected.map((n) => ({ item: items[n - 1]!, number: n }));
  }

  const encoded = chosen.map(({ item, number }) => {
    try {
      return encode(item);
    } catch (err) {
      if (!(err instanceof TtlvError)) throw err;
      const which = `message ${number}${items.length > 1 ? ` of ${items.length}` : ''} (${registry.tagName(item.tag)})`;
      if (err.code === 'UNRESOLVED_PLACEHOLDER') {
        const found = findPlaceholder(item);
        if (found) {
          const hint = items.length > 1 ? ', or choose the messages to encode with --message' : '';
          throw new Failure(
            `${err.code} in ${which}: ${found.path} is the placeholder ${found.placeholder}, which a ${found.type} cannot hold in binary TTLV. Replace it with a real value${hint}.`,
          );
        }
      }
      throw new Failure(`${err.code} in ${which}: ${bareMessage(err)}`);
    }
  });

  if (outFormat === 'hex') io.stdout.write(encoded.map((b) => b.toString('hex') + '\n').join(''));
  else for (const bytes of encoded) io.stdout.write(bytes);
  return 0;
}

function messageNumbers(option: Parsed['values'][string]): number[] | undefined {
  if (option === undefined) return undefined;
  const parts = (Array.isArray(option) ? option : [option]).flatMap((s) => String(s).split(','));
  return parts.map((part) => {
    const n = Number(part.trim());
    if (!Number.isSafeInteger(n) || n < 1 || part.trim() === '') throw new Failure(`--message takes message numbers counted from 1, not '${part}'`, 2);
    return n;
  });
}

/** The first item holding a placeholder, as a tag path such as RequestMessage/RequestHeader/TimeStamp. */
function findPlaceholder(root: Item): { path: string; placeholder: string; type: string } | undefined {
  const walk = (it: Item, path: string): { path: string; placeholder: string; type: string } | undefined => {
    const here = path === '' ? registry.tagName(it.tag) : `${path}/${registry.tagName(it.tag)}`;
    if (it.type === 'Structure') {
      for (const child of it.value) {
        const found = walk(child, here);
        if (found) return found;
      }
      return undefined;
    }
    return it.placeholder === undefined ? undefined : { path: here, placeholder: it.placeholder, type: it.type };
  };
  return walk(root, '');
}

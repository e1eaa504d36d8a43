/**
 * TTLV codec benchmark (`npm run bench:ttlv`): binary decode/encode of two typical KMIP 2.1
 * responses against the JSON.parse / JSON.stringify of the same message in KMIP JSON form, the
 * yardstick a binary codec should at least match. Our own KMIP JSON path is shown for information.
 *
 * Method: each case is warmed up, then timed for BENCH_SECONDS (default 1) per round over
 * BENCH_ROUNDS rounds (default 5) with the cases interleaved in every round; the median round's
 * ops/s is reported. Only Node built-ins are used.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { decode, encode, fromJsonText, registry, toJson, toJsonText, type Item } from '../../src/ttlv/index.js';
import { median } from './stats.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = Math.max(1, Math.round(Number(process.env.BENCH_ROUNDS ?? 5)));
const WARMUP_SECONDS = Math.min(0.5, SECONDS / 2);

// ---------------------------------------------------------------------------------------------
// Messages, built from the registry's tag numbers. The fallbacks are the KMIP 2.1 values, for a
// registry (schemas/kmip-registry.json is being regenerated) that lacks a name.

function tag(name: string, fallback: number): number {
  return registry.tagByName(name)?.value ?? fallback;
}

function enumValue(tagName: string, valueName: string, fallback: number): number {
  return registry.tagByName(tagName)?.enumeration?.byName.get(valueName) ?? fallback;
}

const T = {
  ResponseMessage: tag('ResponseMessage', 0x42007b),
  ResponseHeader: tag('ResponseHeader', 0x42007a),
  ProtocolVersion: tag('ProtocolVersion', 0x420069),
  ProtocolVersionMajor: tag('ProtocolVersionMajor', 0x42006a),
  ProtocolVersionMinor: tag('ProtocolVersionMinor', 0x42006b),
  TimeStamp: tag('TimeStamp', 0x420092),
  BatchCount: tag('BatchCount', 0x42000d),
  BatchItem: tag('BatchItem', 0x42000f),
  Operation: tag('Operation', 0x42005c),
  ResultStatus: tag('ResultStatus', 0x42007f),
  ResponsePayload: tag('ResponsePayload', 0x42007c),
  ObjectType: tag('ObjectType', 0x420057),
  UniqueIdentifier: tag('UniqueIdentifier', 0x420094),
  SymmetricKey: tag('SymmetricKey', 0x42008f),
  KeyBlock: tag('KeyBlock', 0x420040),
  KeyFormatType: tag('KeyFormatType', 0x420042),
  KeyValue: tag('KeyValue', 0x420045),
  KeyMaterial: tag('KeyMaterial', 0x420043),
  CryptographicAlgorithm: tag('CryptographicAlgorithm', 0x420028),
  CryptographicLength: tag('CryptographicLength', 0x42002a),
  LocatedItems: tag('LocatedItems', 0x4200d5),
};

const E = {
  Get: enumValue('Operation', 'Get', 0x0a),
  Locate: enumValue('Operation', 'Locate', 0x08),
  Success: enumValue('ResultStatus', 'Success', 0x00),
  SymmetricKey: enumValue('ObjectType', 'SymmetricKey', 0x02),
  Raw: enumValue('KeyFormatType', 'Raw', 0x01),
  AES: enumValue('CryptographicAlgorithm', 'AES', 0x03),
};

const s = (tag: number, value: Item[]): Item => ({ tag, type: 'Structure', value });
const int = (tag: number, value: number): Item => ({ tag, type: 'Integer', value });
const enm = (tag: number, value: number): Item => ({ tag, type: 'Enumeration', value });
const text = (tag: number, value: string): Item => ({ tag, type: 'TextString', value });

function response(operation: number, payload: Item[]): Item {
  return s(T.ResponseMessage, [
    s(T.ResponseHeader, [
      s(T.ProtocolVersion, [int(T.ProtocolVersionMajor, 2), int(T.ProtocolVersionMinor, 1)]),
      { tag: T.TimeStamp, type: 'DateTime', value: Math.floor(Date.now() / 1000) },
      int(T.BatchCount, 1),
    ]),
    s(T.BatchItem, [enm(T.Operation, operation), enm(T.ResultStatus, E.Success), s(T.ResponsePayload, payload)]),
  ]);
}

const getResponse = response(E.Get, [
  enm(T.ObjectType, E.SymmetricKey),
  text(T.UniqueIdentifier, randomUUID()),
  s(T.SymmetricKey, [
    s(T.KeyBlock, [
      enm(T.KeyFormatType, E.Raw),
      s(T.KeyValue, [{ tag: T.KeyMaterial, type: 'ByteString', value: randomBytes(32) }]),
      enm(T.CryptographicAlgorithm, E.AES),
      int(T.CryptographicLength, 256),
    ]),
  ]),
]);

const locateResponse = response(E.Locate, [int(T.LocatedItems, 500), ...Array.from({ length: 500 }, () => text(T.UniqueIdentifier, randomUUID()))]);

// ---------------------------------------------------------------------------------------------
// Timing

/** Keeps results observable so the work is not optimised away. */
let sink = 0;
function consume(result: unknown): void {
  if (typeof result === 'string') sink += result.length;
  else if (result instanceof Uint8Array) sink += result.length;
  else if (typeof result === 'object' && result !== null) sink += 1;
}

interface Case {
  message: string;
  name: string;
  fn: () => unknown;
  /** Calls per timer check, set during warm-up so a batch takes about a millisecond. */
  batch: number;
  samples: number[];
}

function warmUp(c: Case): void {
  const end = performance.now() + WARMUP_SECONDS * 1000;
  let batch = 1;
  while (performance.now() < end) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) consume(c.fn());
    if (performance.now() - start < 1) batch *= 2;
  }
  c.batch = batch;
}

/** Runs the case for `seconds`; returns ops/s. */
function measure(c: Case, seconds: number): number {
  const start = performance.now();
  const end = start + seconds * 1000;
  let ops = 0;
  let now = start;
  do {
    for (let i = 0; i < c.batch; i++) consume(c.fn());
    ops += c.batch;
    now = performance.now();
  } while (now < end);
  return (ops * 1000) / (now - start);
}

// ---------------------------------------------------------------------------------------------
// Run

const messages = [
  { name: 'Get response', tree: getResponse },
  { name: 'Locate response (500 ids)', tree: locateResponse },
];

const cases: Case[] = [];
const sizes: string[] = [];
for (const { name, tree } of messages) {
  const bytes = encode(tree);
  const jsonObject = toJson(tree);
  const jsonText = toJsonText(tree);
  // The paths agree before they are timed.
  assert.deepEqual(decode(bytes), tree);
  assert.deepEqual(fromJsonText(jsonText), tree);
  assert.deepEqual(JSON.parse(jsonText), jsonObject);
  sizes.push(`${name}: ${bytes.length} bytes binary, ${jsonText.length} chars KMIP JSON`);
  const add = (label: string, fn: () => unknown): void => {
    cases.push({ message: name, name: label, fn, batch: 1, samples: [] });
  };
  add('binary decode', () => decode(bytes));
  add('JSON.parse (baseline)', () => JSON.parse(jsonText) as unknown);
  add('binary encode', () => encode(tree));
  add('JSON.stringify (baseline)', () => JSON.stringify(jsonObject));
  add('KMIP JSON decode (fromJsonText)', () => fromJsonText(jsonText));
  add('KMIP JSON encode (toJsonText)', () => toJsonText(tree));
}

console.log(`TTLV codec benchmark — Node ${process.version} (${process.platform}/${process.arch})`);
console.log(`${ROUNDS} rounds × ${SECONDS} s per case, interleaved; median round reported (BENCH_SECONDS, BENCH_ROUNDS)`);
for (const line of sizes) console.log(`  ${line}`);
console.log('');

for (const c of cases) warmUp(c);
for (let round = 0; round < ROUNDS; round++) {
  for (const c of cases) c.samples.push(measure(c, SECONDS));
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const rows: string[][] = [['message', 'case', 'ops/s (median)', 'min–max', 'vs baseline']];
for (const { name } of messages) {
  const of = (label: string): Case => cases.find((c) => c.message === name && c.name === label)!;
  const parse = median(of('JSON.parse (baseline)').samples);
  const stringify = median(of('JSON.stringify (baseline)').samples);
  for (const c of cases.filter((x) => x.message === name)) {
    const m = median(c.samples);
    const ratio = c.name === 'binary decode' ? m / parse : c.name === 'binary encode' ? m / stringify : undefined;
    rows.push([
      name,
      c.name,
      fmt(m),
      `${fmt(Math.min(...c.samples))}–${fmt(Math.max(...c.samples))}`,
      ratio === undefined ? '' : `${ratio.toFixed(2)}× ${ratio >= 1 ? '✓' : '✗ (target ≥ 1.00)'}`,
    ]);
  }
}
const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const [i, row] of rows.entries()) {
  console.log(row.map((cell, j) => (j === 2 || j === 3 ? cell.padStart(widths[j]!) : cell.padEnd(widths[j]!))).join('  ').trimEnd());
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
if (sink === 0) console.log('(nothing measured)');

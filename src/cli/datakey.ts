/**
 * `kmipctl datakey`: envelope data keys, each step one KMIP request message.
 *
 * - generate: one batch of Create (an AES data key) + Get wrapped under the caller's key-encryption
 *   key (KEK) + Get in plaintext + Destroy, the three after Create naming the new key through the ID
 *   Placeholder (KMIP 2.1 §6.1). The client gets the key both ways, and the server keeps no usable
 *   copy (`--keep` leaves it, Pre-Active).
 * - decrypt: one batch of Register (the wrapped key with Key Wrapping Data naming the KEK: the
 *   server unwraps it, 2.1 §3.3) + Get in plaintext + Destroy. The KEK never leaves the server.
 *
 * Why Destroy and not the Ephemeral flag: 2.1 §8.3 (Table 396) defines a Request Batch Item's
 * Ephemeral as "the Data output of the operation should not be returned to the client", which is
 * about Data (Encrypt/Decrypt streams), not about keeping the object. So the batch destroys the key
 * itself, and asks for Batch Error Continuation Option Undo (2.1 §9.6, §11.5) so that a refused
 * item leaves nothing behind: no data key is created, or registered, unless every item succeeds.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { KmipClient } from '../client/client.js';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { type ProtocolVersion, isV2 } from '../kmip/version.js';
import { type Item, item, structure } from '../ttlv/index.js';
import type { CommandModule, Io } from './kmipctl.js';
import { type Args, UsageError, attributesFor, command, enumByName, intOption, nameItem, print, stringOption, uidItem, v1Attribute, valueText, wrapModeParameters } from './operation-args.js';

type OperationName = keyof typeof Enum.Operation;

interface BatchItem {
  readonly operation: OperationName;
  /** How the item is named in a refusal: "Get (wrapped)". */
  readonly label: string;
  readonly payload: Item[];
}


function modeParameters(args: Args, option: string): Item[] {
  const params = wrapModeParameters(option, stringOption(args, option));
  return params.length === 0 ? [] : [structure(Tag.CryptographicParameters, params)];
}

/** The mode name of the Cryptographic Parameters the server wrapped with, as --mode takes it; otherwise the parameters spelled out. */
function modeName(params: Item | undefined): string {
  if (params?.type !== 'Structure') return 'the wrapping key’s own';
  const fields = new Fields(params);
  const block = fields.get(Tag.BlockCipherMode, 'Enumeration');
  if (block === Enum.BlockCipherMode.NISTKeyWrap) return 'nist';
  if (block === Enum.BlockCipherMode.AESKeyWrapPadding) return 'kwp';
  const sha256 = Enum.HashingAlgorithm.SHA_256;
  if (fields.get(Tag.PaddingMethod, 'Enumeration') === Enum.PaddingMethod.OAEP && fields.get(Tag.HashingAlgorithm, 'Enumeration') === sha256 && fields.get(Tag.MaskGeneratorHashingAlgorithm, 'Enumeration') === sha256) {
    return 'oaep';
  }
  return valueText(params);
}

/** Key Wrapping Specification (Get) or Key Wrapping Data (Register): Encrypt under `kek`, the key bytes alone (No Encoding). */
function wrapping(tag: number, kek: string, params: Item[]): Item {
  return structure(tag, [
    item(Tag.WrappingMethod, 'Enumeration', Enum.WrappingMethod.Encrypt),
    structure(Tag.EncryptionKeyInformation, [uidItem(kek), ...params]),
    // 2.1 §3.3: No Encoding wraps the Key Material bytes alone, which any AES-KW / RSA-OAEP tool can unwrap.
    item(Tag.EncodingOption, 'Enumeration', Enum.EncodingOption.NoEncoding),
  ]);
}

const rawFormat = (): Item => item(Tag.KeyFormatType, 'Enumeration', Enum.KeyFormatType.Raw);
const dataKeyUsage = (): Item => item(Tag.CryptographicUsageMask, 'Integer', Mask.CryptographicUsageMask.Encrypt | Mask.CryptographicUsageMask.Decrypt);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The KEK's Unique Identifier: as given, or (a Name) found by one Locate before the batch. */
async function keyUid(client: KmipClient, version: ProtocolVersion, text: string): Promise<string> {
  if (UUID.test(text)) return text;
  const name = nameItem(text);
  const answer = await client.call('Locate', isV2(version) ? [structure(Tag.Attributes, [name])] : [v1Attribute(name)]);
  const found = answer.payload?.values(Tag.UniqueIdentifier, 'TextString') ?? [];
  if (found.length === 0) throw new KmipError('ItemNotFound', `no key of yours is named ${JSON.stringify(text)}`);
  if (found.length > 1) throw new KmipError('ItemNotFound', `${found.length} of your objects are named ${JSON.stringify(text)}; give the wrapping key's Unique Identifier`);
  return found[0]!;
}

function reasonName(value: number | undefined): ResultReasonName {
  const found = (Object.entries(Enum.ResultReason) as [ResultReasonName, number][]).find(([, v]) => v === value);
  return found?.[0] ?? 'GeneralFailure';
}

/**
 * Sends the items as ONE request message with Batch Error Continuation Option Undo and answers
 * their payloads; a refused item becomes a KmipError with its Result Reason, naming the item.
 */
async function sendBatch(client: KmipClient, items: readonly BatchItem[]): Promise<Fields[]> {
  const response = await client.request({
    batchErrorContinuationOption: 'Undo',
    // 2.1 §8.3: a Unique Batch Item ID is required when the Batch Count is above 1.
    items: items.map((it, i) => ({ operation: Enum.Operation[it.operation], payload: it.payload, uniqueBatchItemId: Uint8Array.of(i + 1) })),
  });
  const failed = response.items.find((r) => r.resultStatus === Enum.ResultStatus.OperationFailed);
  if (failed !== undefined) {
    // The item is known by its Unique Batch Item ID; a whole-message refusal (1.4 §11.1) has none.
    const id = failed.uniqueBatchItemId?.length === 1 ? failed.uniqueBatchItemId[0]! : 0;
    const label = items[id - 1]?.label ?? 'the request';
    throw new KmipError(reasonName(failed.resultReason), `${label}: ${failed.resultMessage ?? 'refused'} (the whole batch was undone)`);
  }
  if (response.items.length !== items.length || response.items.some((r) => r.resultStatus !== Enum.ResultStatus.Success)) {
    throw new KmipError('InvalidMessage', `the server answered ${response.items.length} of ${items.length} batch items without a failure`);
  }
  return response.items.map((r) => r.payload ?? new Fields(structure(Tag.ResponsePayload, [])));
}

/** The Key Block of a Get answer's Symmetric Key. */
const keyBlockOf = (payload: Fields): Fields => payload.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock);

function plaintextOf(payload: Fields): Uint8Array {
  return keyBlockOf(payload).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString');
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** Writes key bytes for the owner only (mode 0600), as `kmipctl get --out` does. */
function writeSecret(file: string, bytes: Uint8Array): void {
  writeFileSync(file, bytes, { mode: 0o600 });
}

const AES_LENGTHS = [128, 192, 256];

const generate = command({
  name: 'datakey generate',
  summary: 'a fresh AES data key, in plaintext and wrapped under a KEK, in one request',
  usage: `Usage: kmipctl datakey generate --wrap-key KEK [--length 256] [--wrap-mode kwp|nist|oaep] [--out-plain FILE] [--out-wrapped FILE] [--keep] [connection options]

Asks the server, in ONE request message, for a fresh AES data key twice: in plaintext (to encrypt
with now) and wrapped under your key-encryption key KEK (to store beside the ciphertext). The batch
is Create + Get with a Key Wrapping Specification + Get + Destroy, so the server keeps no usable
copy of the data key; if any step is refused the whole batch is undone and nothing is kept.
Prints the plaintext in hex, the wrapped key in base64, and what 'kmipctl datakey decrypt' needs:
the KEK's Unique Identifier and the wrap mode. The wrapped bytes are the key material alone
(Encoding Option No Encoding), so AES-KW / RSA-OAEP tools can unwrap them too.

Options:
  --wrap-key KEK       Unique Identifier or Name of the KEK: an Active AES key (or RSA public
                       key for oaep) with the Wrap Key usage. A Name costs one Locate first
  --length BITS        Data key length: 128, 192 or 256 (default 256)
  --wrap-mode M        nist (AES Key Wrap, RFC 3394), kwp (with padding, RFC 5649) or oaep
                       (RSA-OAEP with SHA-256). Must match a Cryptographic Parameters attribute of
                       the KEK (KMIP 2.1 §7.18); without it the KEK's own parameters apply
  --out-plain FILE     Write the plaintext key bytes to FILE (mode 0600) instead of printing them
  --out-wrapped FILE   Write the wrapped key bytes to FILE instead of printing them
  --keep               Leave the data key on the server (Pre-Active) and print its Unique Identifier

Example: kmipctl datakey generate --wrap-key kek --out-plain dek.bin --out-wrapped dek.wrapped
`,
  options: {
    'wrap-key': { type: 'string' },
    length: { type: 'string' },
    'wrap-mode': { type: 'string' },
    'out-plain': { type: 'string' },
    'out-wrapped': { type: 'string' },
    keep: { type: 'boolean' },
  },
  build(args) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected arguments: ${args.positionals.join(' ')}`);
    const kekText = stringOption(args, 'wrap-key');
    if (kekText === undefined) throw new UsageError('--wrap-key KEK is required: the key to wrap the data key under');
    const bits = intOption(args, 'length', 1) ?? 256;
    if (!AES_LENGTHS.includes(bits)) throw new UsageError(`--length is 128, 192 or 256, not ${bits}`);
    const params = modeParameters(args, 'wrap-mode');
    const outPlain = stringOption(args, 'out-plain');
    const outWrapped = stringOption(args, 'out-wrapped');
    const keep = args.values.keep === true;
    const create = [
      item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey),
      attributesFor(args.version, [item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES), item(Tag.CryptographicLength, 'Integer', bits), dataKeyUsage()]),
    ];
    return async (client, io) => {
      const kek = await keyUid(client, args.version, kekText);
      // No Unique Identifier after Create: each item acts on the ID Placeholder Create set (2.1 §6.1).
      const items: BatchItem[] = [
        { operation: 'Create', label: 'Create (the data key)', payload: create },
        { operation: 'Get', label: 'Get (wrapped under the KEK)', payload: [rawFormat(), wrapping(Tag.KeyWrappingSpecification, kek, params)] },
        { operation: 'Get', label: 'Get (plaintext)', payload: [rawFormat()] },
      ];
      if (!keep) items.push({ operation: 'Destroy', label: 'Destroy (the data key)', payload: [] });
      const [created, wrappedGet, plainGet] = await sendBatch(client, items);
      const uid = created!.need(Tag.UniqueIdentifier, 'TextString');
      const block = keyBlockOf(wrappedGet!);
      const wrapped = block.need(Tag.KeyValue, 'ByteString');
      const info = block.needStruct(Tag.KeyWrappingData).needStruct(Tag.EncryptionKeyInformation);
      const mode = modeName(info.optional(Tag.CryptographicParameters));
      const plain = plaintextOf(plainGet!);
      try {
        if (outPlain !== undefined) writeSecret(outPlain, plain);
        if (outWrapped !== undefined) writeFileSync(outWrapped, wrapped);
        const text = [
          `Data Key: ${outPlain === undefined ? hex(plain) : `${plain.length} bytes written to ${outPlain}`}`,
          `Wrapped Key: ${outWrapped === undefined ? base64(wrapped) : `${wrapped.length} bytes written to ${outWrapped}`}`,
          `Wrapping Key: ${info.need(Tag.UniqueIdentifier, 'TextString')}`,
          `Wrap Mode: ${mode}`,
          ...(keep ? [`Unique Identifier: ${uid}`] : []),
        ];
        print(io, args, text, {
          ...(outPlain === undefined ? { dataKey: hex(plain) } : { dataKeyFile: outPlain }),
          ...(outWrapped === undefined ? { wrappedKey: base64(wrapped) } : { wrappedKeyFile: outWrapped }),
          wrappingKey: info.need(Tag.UniqueIdentifier, 'TextString'),
          wrapMode: mode,
          encodingOption: 'NoEncoding',
          cryptographicAlgorithm: 'AES',
          cryptographicLength: bits,
          ...(keep ? { uniqueIdentifier: uid } : {}),
          kept: keep,
        });
      } finally {
        plain.fill(0);
      }
    };
  },
});

/** The wrapped key bytes of decrypt: a file (raw bytes) or base64 text. */
function wrappedInput(args: Args): Buffer {
  const file = stringOption(args, 'wrapped');
  const text = stringOption(args, 'wrapped-base64');
  if ((file === undefined) === (text === undefined)) throw new UsageError('give the wrapped key as --wrapped FILE or --wrapped-base64 TEXT (one of them)');
  let bytes: Buffer;
  if (text !== undefined) {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text.trim())) throw new UsageError('--wrapped-base64 takes base64 text, as datakey generate prints it');
    bytes = Buffer.from(text.trim(), 'base64');
  } else {
    try {
      bytes = readFileSync(file!);
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  if (bytes.length === 0) throw new UsageError('the wrapped key is empty');
  return bytes;
}

const decrypt = command({
  name: 'datakey decrypt',
  summary: 'the plaintext of a wrapped data key, unwrapped by the server, in one request',
  usage: `Usage: kmipctl datakey decrypt --wrap-key KEK (--wrapped FILE | --wrapped-base64 TEXT) [--mode kwp|nist|oaep] [--out FILE] [connection options]

Gets the plaintext of a data key wrapped under KEK (by 'kmipctl datakey generate' or any AES-KW /
RSA-OAEP tool) without the KEK leaving the server: ONE request message holding Register of the
wrapped key with Key Wrapping Data naming KEK (the server unwraps it, KMIP 2.1 §3.3), Get and
Destroy. Prints the key in hex. If the server refuses (a KEK not Active or without the Unwrap
Key usage; Cryptographic Failure for another KEK or altered bytes) the whole batch is undone.

Options:
  --wrap-key KEK          Unique Identifier or Name of the unwrapping key: the AES KEK, or for
                          oaep the RSA private key. A Name costs one Locate first
  --wrapped FILE          The wrapped key bytes (as --out-wrapped wrote them)
  --wrapped-base64 TEXT   The wrapped key in base64 (as datakey generate prints it)
  --mode M                nist, kwp or oaep, as datakey generate printed it ("Wrap Mode"); without
                          it the KEK's own Cryptographic Parameters apply
  --out FILE              Write the plaintext key bytes to FILE (mode 0600) instead of printing them

Example: kmipctl datakey decrypt --wrap-key kek --wrapped dek.wrapped --mode kwp --out dek.bin
`,
  options: {
    'wrap-key': { type: 'string' },
    wrapped: { type: 'string' },
    'wrapped-base64': { type: 'string' },
    mode: { type: 'string' },
    out: { type: 'string' },
  },
  build(args) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected arguments: ${args.positionals.join(' ')}`);
    const kekText = stringOption(args, 'wrap-key');
    if (kekText === undefined) throw new UsageError('--wrap-key KEK is required: the key the data key is wrapped under');
    const wrapped = wrappedInput(args);
    const params = modeParameters(args, 'mode');
    const out = stringOption(args, 'out');
    return async (client, io) => {
      const kek = await keyUid(client, args.version, kekText);
      const register = [
        item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey),
        attributesFor(args.version, [dataKeyUsage()]),
        structure(Tag.SymmetricKey, [
          structure(Tag.KeyBlock, [
            rawFormat(),
            item(Tag.KeyValue, 'ByteString', wrapped),
            // The length is the server's to derive from the unwrapped bytes (Register, 2.1 §6.1.43).
            item(Tag.CryptographicAlgorithm, 'Enumeration', enumByName('CryptographicAlgorithm', 'AES', 'algorithm')),
            wrapping(Tag.KeyWrappingData, kek, params),
          ]),
        ]),
      ];
      const [, got] = await sendBatch(client, [
        { operation: 'Register', label: 'Register (unwrap under the KEK)', payload: register },
        { operation: 'Get', label: 'Get (plaintext)', payload: [rawFormat()] },
        { operation: 'Destroy', label: 'Destroy (the registered copy)', payload: [] },
      ]);
      const plain = plaintextOf(got!);
      try {
        if (out !== undefined) writeSecret(out, plain);
        const text = out === undefined ? hex(plain) : `${plain.length} bytes written to ${out}`;
        print(io, args, [text], { ...(out === undefined ? { dataKey: hex(plain) } : { dataKeyFile: out }), cryptographicLength: plain.length * 8 });
      } finally {
        plain.fill(0);
      }
    };
  },
});

const SUBCOMMANDS: ReadonlyMap<string, CommandModule> = new Map([
  ['generate', generate],
  ['decrypt', decrypt],
]);

const USAGE = `Usage: kmipctl datakey generate|decrypt [options]

Envelope encryption with data keys: 'generate' gets a fresh AES key in plaintext and wrapped under
your key-encryption key (KEK); keep the wrapped copy beside the data you encrypt. 'decrypt' turns
a wrapped copy back into the plaintext key through the server, so the KEK never leaves it. Each is
one KMIP request message.

Commands:
${[...SUBCOMMANDS].map(([name, cmd]) => `  ${name.padEnd(9)} ${cmd.summary}`).join('\n')}

'kmipctl datakey <command> --help' shows a command's options.
`;

export const summary = 'Envelope data keys: generate one (plaintext + wrapped under a KEK), decrypt a wrapped one';

export async function run(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '-h' || name === '--help') {
    io.stdout.write(USAGE);
    return 0;
  }
  const cmd = name === undefined ? undefined : SUBCOMMANDS.get(name);
  if (cmd === undefined) {
    const what = name === undefined || name.startsWith('-') ? 'which command? generate or decrypt' : `unknown command '${name}'`;
    io.stderr.write(`kmipctl datakey: ${what}\n\n${USAGE}`);
    return 2;
  }
  return cmd.run(rest, io);
}

/**
 * kmipctl commands that find and fetch objects: locate (Unique Identifiers by attributes) and
 * get (an object's key material or value, in a chosen Key Format Type, optionally wrapped).
 */
import { writeFileSync } from 'node:fs';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { type ProtocolVersion, isV2 } from '../kmip/version.js';
import { type Item, type StructureItem, item, registry, structure } from '../ttlv/index.js';
import type { KmipClient } from '../client/client.js';
import { objectTypeValue } from './objects.js';
import {
  type Args,
  UsageError,
  answeredAttributes,
  attributeFromText,
  command,
  enumByName,
  intOption,
  listOption,
  nameItem,
  oneUid,
  print,
  referenceFor,
  stringOption,
  uidItem,
  v1Attribute,
  valueText,
  wrapModeParameters,
} from './operation-args.js';

export const locate = command({
  name: 'locate',
  summary: 'Locate: the Unique Identifiers of your objects that match attributes',
  usage: `Usage: kmipctl locate [--name N] [--type T] [--state S] [--group G] [--attr NAME=VALUE…] [--max N] [--offset N] [connection options]

Finds your objects whose attributes match every one given (KMIP 2.1 §6.1.28), newest first, and
prints their Unique Identifiers one a line. With --json also the number that matched before
paging (Located Items).

Options:
  --name NAME          Name
  --type TYPE          Object Type: symmetric, secret, opaque, public, private, certificate
  --state STATE        State: pre-active, active, deactivated, compromised, destroyed, …
  --group GROUP        Object Group
  --attr NAME=VALUE    Any other attribute (repeatable)
  --max N              Maximum Items to answer
  --offset N           Offset Items: skip the first N matches
`,
  options: {
    name: { type: 'string' },
    type: { type: 'string' },
    state: { type: 'string' },
    group: { type: 'string' },
    attr: { type: 'string', multiple: true },
    max: { type: 'string' },
    offset: { type: 'string' },
  },
  build(args) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected arguments: ${args.positionals.join(' ')}`);
    const attrs: Item[] = [];
    const type = stringOption(args, 'type');
    if (type !== undefined) attrs.push(item(Tag.ObjectType, 'Enumeration', objectTypeValue(type)));
    const state = stringOption(args, 'state');
    if (state !== undefined) attrs.push(item(Tag.State, 'Enumeration', enumByName('State', state, '--state')));
    const name = stringOption(args, 'name');
    if (name !== undefined) attrs.push(nameItem(name));
    const group = stringOption(args, 'group');
    if (group !== undefined) attrs.push(item(Tag.ObjectGroup, 'TextString', group));
    for (const text of listOption(args, 'attr')) attrs.push(attributeFromText(text));
    const payload: Item[] = [];
    const max = intOption(args, 'max');
    if (max !== undefined) payload.push(item(Tag.MaximumItems, 'Integer', max));
    const offset = intOption(args, 'offset');
    if (offset !== undefined) payload.push(item(Tag.OffsetItems, 'Integer', offset));
    // 2.x carries the attributes in one Attributes structure, 1.x as Attribute structures (1.4 §4.9).
    if (isV2(args.version)) payload.push(structure(Tag.Attributes, attrs));
    else payload.push(...attrs.map((a) => v1Attribute(a)));
    return async (client, io) => {
      const answer = await client.call('Locate', payload);
      const uids = answer.payload?.values(Tag.UniqueIdentifier, 'TextString') ?? [];
      const located = answer.payload?.get(Tag.LocatedItems, 'Integer');
      print(io, args, uids, { located: located ?? null, uniqueIdentifiers: uids });
    };
  },
});

// ── get ────────────────────────────────────────────────────────────────────────────────────────

/** --format short names → Key Format Types (2.1 §11.26); any Key Format Type name also works. */
const FORMATS: Record<string, string> = {
  raw: 'Raw',
  opaque: 'Opaque',
  pkcs1: 'PKCS_1',
  pkcs8: 'PKCS_8',
  x509: 'X_509',
  pkcs12: 'PKCS_12',
  'ec-private-key': 'ECPrivateKey',
};

/** The transparent Key Format Type of an object, by its Object Type and Cryptographic Algorithm. */
const TRANSPARENT: Record<string, Record<string, string>> = {
  SymmetricKey: { '*': 'TransparentSymmetricKey' },
  PrivateKey: { RSA: 'TransparentRSAPrivateKey', DSA: 'TransparentDSAPrivateKey', DH: 'TransparentDHPrivateKey', EC: 'TransparentECPrivateKey', ECDSA: 'TransparentECPrivateKey', ECDH: 'TransparentECPrivateKey' },
  PublicKey: { RSA: 'TransparentRSAPublicKey', DSA: 'TransparentDSAPublicKey', DH: 'TransparentDHPublicKey', EC: 'TransparentECPublicKey', ECDSA: 'TransparentECPublicKey', ECDH: 'TransparentECPublicKey' },
};


function wrappingSpecification(args: Args): Item[] {
  const key = stringOption(args, 'wrap-key');
  const mode = stringOption(args, 'wrap-mode');
  const encoding = stringOption(args, 'wrap-encoding');
  if (key === undefined) {
    if (mode !== undefined || encoding !== undefined) throw new UsageError('--wrap-mode and --wrap-encoding go with --wrap-key UID');
    return [];
  }
  // 2.1 §7.18: without an Encoding Option the server wraps the TTLV encoding of the Key Value.
  const encodings: Record<string, string> = { none: 'NoEncoding', ttlv: 'TTLVEncoding' };
  if (encoding !== undefined && encodings[encoding] === undefined) throw new UsageError(`--wrap-encoding is none or ttlv, not ${JSON.stringify(encoding)}`);
  const params = wrapModeParameters('wrap-mode', mode);
  return [
    structure(Tag.KeyWrappingSpecification, [
      item(Tag.WrappingMethod, 'Enumeration', enumByName('WrappingMethod', 'Encrypt', 'wrapping method')),
      // 2.1 §7.18: Cryptographic Parameters given here must match one the wrapping key has; none given, the key's own apply.
      structure(Tag.EncryptionKeyInformation, [uidItem(key), ...(params.length === 0 ? [] : [structure(Tag.CryptographicParameters, params)])]),
      ...(encoding === undefined ? [] : [item(Tag.EncodingOption, 'Enumeration', enumByName('EncodingOption', encodings[encoding]!, '--wrap-encoding'))]),
    ]),
  ];
}

const formatItem = (name: string): Item => item(Tag.KeyFormatType, 'Enumeration', enumByName('KeyFormatType', name, '--format'));

/** `--format transparent`: which transparent format fits this object, asked of the server first. */
async function transparentFormat(client: KmipClient, version: ProtocolVersion, uid: string): Promise<Item> {
  const refs = [Tag.ObjectType, Tag.CryptographicAlgorithm].map((tag) => referenceFor(version, { tag }));
  const answer = await client.call('GetAttributes', [uidItem(uid), ...refs]);
  const attrs = answeredAttributes(answer.payload?.item.value ?? []);
  const type = attrs.find((a) => a.tag === Tag.ObjectType);
  const algorithm = attrs.find((a) => a.tag === Tag.CryptographicAlgorithm);
  const typeName = type === undefined ? '?' : valueText(type);
  const byAlgorithm = TRANSPARENT[typeName];
  const format = byAlgorithm?.['*'] ?? (algorithm === undefined ? undefined : byAlgorithm?.[valueText(algorithm)]);
  if (format === undefined) throw new KmipError('KeyFormatTypeNotSupported', `kmipctl knows no transparent format for a ${typeName}${algorithm === undefined ? '' : ` (${valueText(algorithm)})`}`);
  return formatItem(format);
}

interface Fetched {
  objectType: string;
  keyFormatType?: string;
  attributes: Item[];
  wrapped: boolean;
  /** The value's bytes: key material (wrapped or not), certificate or opaque value. */
  bytes?: Uint8Array;
  /** A transparent key's fields. */
  fields?: Item[];
}

/** What a Get answered, whatever the object type (2.1 §2.2 Managed Objects, §2.1.3 Key Block). */
function fetched(payload: readonly Item[]): Fetched {
  const typeItem = payload.find((i) => i.tag === Tag.ObjectType);
  const value = payload.find((i): i is StructureItem => i.type === 'Structure');
  const out: Fetched = { objectType: typeItem === undefined ? '?' : valueText(typeItem), attributes: [], wrapped: false };
  if (value === undefined) return out;
  const field = (s: StructureItem, tag: number): Item | undefined => s.value.find((c) => c.tag === tag);
  const block = field(value, Tag.KeyBlock);
  if (block?.type === 'Structure') {
    const format = field(block, Tag.KeyFormatType);
    if (format !== undefined) out.keyFormatType = valueText(format);
    out.attributes = block.value.filter((c) => c.tag === Tag.CryptographicAlgorithm || c.tag === Tag.CryptographicLength);
    out.wrapped = field(block, Tag.KeyWrappingData) !== undefined;
    const keyValue = field(block, Tag.KeyValue);
    if (keyValue?.type === 'ByteString') out.bytes = keyValue.value;
    else if (keyValue?.type === 'Structure') {
      const material = field(keyValue, Tag.KeyMaterial);
      if (material?.type === 'ByteString') out.bytes = material.value;
      else if (material?.type === 'Structure') out.fields = material.value;
    }
    return out;
  }
  const bytes = value.value.find((c) => c.tag === Tag.CertificateValue || c.tag === Tag.OpaqueDataValue);
  if (bytes?.type === 'ByteString') out.bytes = bytes.value;
  return out;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export const get = command({
  name: 'get',
  summary: 'Get: an object’s key material or value (hex, or bytes to a file)',
  usage: `Usage: kmipctl get UID [--format F] [--wrap-key UID [--wrap-mode M] [--wrap-encoding E]] [--out FILE] [connection options]

Fetches the object (KMIP 2.1 §6.1.19) and prints its key material (or certificate, secret or
opaque value) in hex, or writes the bytes to --out. A transparent key prints one "Field: hex"
line per field. --json adds the Object Type, Key Format Type, algorithm and length.

Options:
  --format F       Key Format Type: raw, opaque, pkcs1, pkcs8, x509, pkcs12, ec-private-key,
                   transparent (picked by the object's type and algorithm), or any KMIP name
                   such as TransparentRSAPrivateKey
  --wrap-key UID   Wrap the key with this key before it leaves the server
  --wrap-mode M    nist (AES Key Wrap, RFC 3394), kwp (with padding, RFC 5649) or oaep
                   (RSA-OAEP with SHA-256, for a public wrapping key). The server checks it
                   against the wrapping key's Cryptographic Parameters attributes (KMIP 2.1
                   §7.18); without --wrap-mode the wrapping key's own parameters apply
  --wrap-encoding none|ttlv
                   What is wrapped: the key bytes alone (none), or the TTLV encoding of the Key
                   Value (ttlv, the server's default)
  --out FILE       Write the bytes to FILE (mode 0600) instead of printing them
`,
  options: { format: { type: 'string' }, 'wrap-key': { type: 'string' }, 'wrap-mode': { type: 'string' }, 'wrap-encoding': { type: 'string' }, out: { type: 'string' } },
  build(args) {
    const uid = oneUid(args);
    const formatText = stringOption(args, 'format');
    const format = formatText === undefined || formatText === 'transparent' ? undefined : formatItem(FORMATS[formatText] ?? formatText);
    const wrapping = wrappingSpecification(args);
    const out = stringOption(args, 'out');
    return async (client, io) => {
      const chosen = formatText === 'transparent' ? await transparentFormat(client, args.version, uid) : format;
      const answer = await client.call('Get', [uidItem(uid), ...(chosen === undefined ? [] : [chosen]), ...wrapping]);
      const got = fetched(answer.payload?.item.value ?? []);
      if (out !== undefined) {
        if (got.bytes === undefined) throw new Error(`the ${got.objectType} came back as fields, not bytes; print it without --out`);
        writeFileSync(out, got.bytes, { mode: 0o600 });
      }
      const fields = got.fields?.map((f) => [registry.tagName(f.tag), valueText(f)] as const) ?? [];
      const text = out !== undefined ? [`${got.bytes!.length} bytes written to ${out}`] : got.bytes !== undefined ? [hex(got.bytes)] : fields.map(([n, v]) => `${n}: ${v}`);
      print(io, args, text, {
        uniqueIdentifier: uid,
        objectType: got.objectType,
        ...(got.keyFormatType === undefined ? {} : { keyFormatType: got.keyFormatType }),
        ...Object.fromEntries(got.attributes.map((a) => [a.tag === Tag.CryptographicAlgorithm ? 'cryptographicAlgorithm' : 'cryptographicLength', a.type === 'Integer' ? a.value : valueText(a)])),
        wrapped: got.wrapped,
        ...(out !== undefined ? { out } : got.bytes !== undefined ? { value: hex(got.bytes) } : { fields: Object.fromEntries(fields) }),
      });
    };
  },
});

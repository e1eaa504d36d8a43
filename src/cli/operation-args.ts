/**
 * What the kmipctl managed-object commands share: one command shape (parse → build the request
 * without a connection → send), attributes written as `NAME=VALUE` and typed from the registry,
 * the 2.x / 1.x forms of attributes, references and templates, and how answers and refusals are
 * printed.
 */
import type { ParseArgsConfig } from 'node:util';
import type { KmipClient } from '../client/client.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { LATEST, type ProtocolVersion, isV2 } from '../kmip/version.js';
import { ATTRIBUTE_RULES } from '../objects/attribute-rules.js';
import { type AttributeRef, attributeReference, refOf, vendorAttribute } from '../objects/items.js';
import { fromV1Attribute, toV1Attribute, v1Name } from '../objects/v1-attributes.js';
import { type Item, type ItemTypeName, type LeafItem, type StructureItem, TtlvError, type ValueSet, item, registry, structure, toJson } from '../ttlv/index.js';
import { formatValue, parseValue } from '../ttlv/values.js';
import { CONNECTION_HELP, connectFrom, parseCommand, parseVersion } from './connect.js';
import type { CommandModule, Io } from './kmipctl.js';

/** A mistake in the command line: reported with the usage, exit code 2, nothing sent. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Args {
  readonly values: Record<string, unknown>;
  readonly positionals: string[];
  readonly version: ProtocolVersion;
  readonly json: boolean;
}

/** The work of a command once its request is built: runs on a connected client, writes the answer. */
export type Step = (client: KmipClient, io: Io) => Promise<void>;

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** Usage line(s) and option help, without the connection options. */
  readonly usage: string;
  readonly options: Options;
  build(args: Args): Step;
}

/** A kmipctl command module from a spec: `--help`, usage errors (exit 2), refusals (exit 1). */
export function command(spec: CommandSpec): CommandModule {
  const usage = `${spec.usage.trimEnd()}\n\n${CONNECTION_HELP}`;
  return {
    summary: spec.summary,
    async run(argv: string[], io: Io): Promise<number> {
      const parsed = parseCommand(argv, spec.options, io, usage);
      if (!parsed) return 2;
      if (parsed.values.help) {
        io.stdout.write(usage);
        return 0;
      }
      let step: Step;
      try {
        const version = versionOption(parsed.values['kmip-version']);
        step = spec.build({ values: parsed.values, positionals: parsed.positionals, version, json: parsed.values.json === true });
      } catch (err) {
        if (!(err instanceof UsageError) && !(err instanceof TtlvError) && !(err instanceof KmipError)) throw err;
        io.stderr.write(`kmipctl ${spec.name}: ${err.message}\n\n${usage}`);
        return 2;
      }
      let client: KmipClient | undefined;
      try {
        client = await connectFrom(parsed.values);
        await step(client, io);
        return 0;
      } catch (err) {
        io.stderr.write(`kmipctl ${spec.name}: ${describeFailure(err)}\n`);
        return 1;
      } finally {
        await client?.close();
      }
    },
  };
}

function versionOption(text: string | undefined): ProtocolVersion {
  try {
    return parseVersion(text) ?? LATEST;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** "Operation Not Supported: operation Archive is not supported…": the Result Reason as the spec titles it, and the server's message. */
export function describeFailure(err: unknown): string {
  if (err instanceof KmipError) return `${reasonTitle(err.reason)}: ${err.message}`;
  const e = err as Error & { code?: string };
  return e.code ? `${e.code}: ${e.message}` : e.message;
}

export function reasonTitle(name: string): string {
  return name.replace(/([a-z])([A-Z])/g, '$1 $2');
}

// ── names ──────────────────────────────────────────────────────────────────────────────────────

/** `crypto-graphic_Usage Mask` → `cryptographicusagemask`: how names from a command line are compared. */
const squash = (text: string): string => text.replace(/[\s_-]/g, '').toLowerCase();

/** A value of an enumeration or mask by name, written in any case with or without `-`/`_` (`key-compromise`, `PKCS_8`). */
export function valueByName(set: ValueSet | undefined, text: string, what: string): number | undefined {
  if (set === undefined) return undefined;
  const wanted = squash(text);
  for (const [name, value] of set.byName) if (squash(name) === wanted) return value;
  if (/^0x[0-9a-f]{1,8}$/i.test(text)) return Number.parseInt(text, 16);
  throw new UsageError(`${what}: unknown value ${JSON.stringify(text)}; one of ${[...set.byName.keys()].join(', ')}`);
}

export function enumByName(enumeration: string, text: string, what: string): number {
  const set = registry.tagByName(enumeration)?.enumeration;
  const value = valueByName(set, text, what);
  if (value === undefined) throw new UsageError(`${what}: no enumeration ${enumeration}`);
  return value;
}

/** A mask from names separated by `,`, `|` or spaces (`encrypt,decrypt`). */
export function maskByNames(maskTag: string, text: string, what: string): number {
  const set = registry.tagByName(maskTag)?.mask;
  let value = 0;
  for (const part of text.split(/[\s,|]+/)) {
    if (part === '') continue;
    value = (value | (valueByName(set, part, what) ?? 0)) >>> 0;
  }
  return value > 0x7fffffff ? value - 0x100000000 : value;
}

const ATTRIBUTE_TAGS = new Map<string, number>(ATTRIBUTE_RULES.filter((r) => r.tag !== 'Attribute').map((r) => [squash(r.tag), Tag[r.tag]]));

/**
 * The attribute a command line names: a registry tag name or spec title in any case
 * (`CryptographicUsageMask`, `"Cryptographic Usage Mask"`, `cryptographic-usage-mask`), or a
 * vendor attribute `x-name` / `y-name` (KMIP 1.4 §3.39 custom attributes, 2.1 §4.60 vendor attributes).
 */
export function attributeRefFromText(text: string): AttributeRef {
  const vendor = /^([xy])-(.+)$/s.exec(text);
  if (vendor) return { vendor: vendor[1]!, name: vendor[2]! };
  const tag = ATTRIBUTE_TAGS.get(squash(text));
  if (tag === undefined) throw new UsageError(`${JSON.stringify(text)} is not a KMIP attribute name (vendor attributes are written x-name)`);
  return { tag };
}

// ── values ─────────────────────────────────────────────────────────────────────────────────────

const ISO_DAY = /^\d{4}-\d\d-\d\d$/;
const ISO_NO_ZONE = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?$/;

/** A Date-Time from ISO 8601 (`2027-01-31`, `2027-01-31T12:00`, `…Z`, `…+02:00`; UTC unless an offset is given) or `now`. */
export function parseDate(text: string, what: string): number {
  if (text === 'now') return Math.floor(Date.now() / 1000);
  let iso = text;
  if (ISO_DAY.test(iso)) iso += 'T00:00:00Z';
  else if (ISO_NO_ZONE.test(iso)) iso += 'Z';
  const ms = /^\d{4}-\d\d-\d\dT/.test(iso) ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${what}: ${JSON.stringify(text)} is not an ISO 8601 date, e.g. 2027-01-31 or 2027-01-31T12:00:00Z`);
  return Math.floor(ms / 1000);
}

/**
 * A leaf of `tag` from its command-line text, typed by the registry: enumerations by name, masks
 * as lists of names, Date-Times in ISO 8601, numbers, Booleans, Byte Strings in hex.
 */
export function leafFromText(tag: number, type: Exclude<ItemTypeName, 'Structure'>, text: string): LeafItem {
  const info = registry.tag(tag);
  const what = info?.title ?? registry.tagName(tag);
  if (type === 'Enumeration') return { tag, type, value: valueByName(info?.enumeration, text, what) ?? parseNumber(text, what) };
  if (type === 'Integer' && info?.mask !== undefined && !/^-?\d+$|^0x/.test(text)) return { tag, type, value: maskByNames(info.name, text, what) };
  if (type === 'DateTime') return { tag, type, value: parseDate(text, what) };
  if (type === 'Boolean') {
    if (/^(true|yes|1)$/i.test(text)) return { tag, type, value: true };
    if (/^(false|no|0)$/i.test(text)) return { tag, type, value: false };
    throw new UsageError(`${what}: ${JSON.stringify(text)} is not true or false`);
  }
  try {
    return parseValue(registry, tag, type, text, 0);
  } catch (err) {
    if (err instanceof TtlvError) throw new UsageError(err.message);
    throw err;
  }
}

function parseNumber(text: string, what: string): number {
  if (!/^(\d+|0x[0-9a-f]+)$/i.test(text)) throw new UsageError(`${what}: ${JSON.stringify(text)} is not a known name`);
  return Number(text);
}

/** The item type of a tag: the registry's first one (Text String where the spec leaves it open). */
function typeOf(tag: number): ItemTypeName {
  return registry.tag(tag)?.types[0] ?? 'TextString';
}

/**
 * An attribute value from text. Structures are written as `Field:value,Field:value` with registry
 * field names (`Link=LinkType:ParentLink,LinkedObjectIdentifier:abc`); a Name is also just its
 * text (`Name=payroll`, an Uninterpreted Text String).
 */
export function attributeValueFromText(tag: number, text: string): Item {
  const type = typeOf(tag);
  if (type !== 'Structure') return leafFromText(tag, type, text);
  if (tag === Tag.Name && !/^NameValue:/i.test(text)) return nameItem(text);
  const fields: Item[] = [];
  for (const part of text.split(',')) {
    const colon = part.indexOf(':');
    const field = colon < 0 ? undefined : registry.tagByName(part.slice(0, colon).trim());
    if (field === undefined) throw new UsageError(`${registry.tag(tag)?.title ?? 'value'}: write a structure as Field:value,Field:value with KMIP tag names, not ${JSON.stringify(part)}`);
    fields.push(attributeValueFromText(field.value, part.slice(colon + 1)));
  }
  return structure(tag, fields);
}

export function nameItem(text: string): StructureItem {
  return structure(Tag.Name, [item(Tag.NameValue, 'TextString', text), item(Tag.NameType, 'Enumeration', enumByName('NameType', 'UninterpretedTextString', 'Name Type'))]);
}

/** `NAME=VALUE` → the attribute in its KMIP 2.1 form; a vendor attribute's value is a Text String. */
export function attributeFromText(text: string): Item {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`an attribute is written NAME=VALUE, not ${JSON.stringify(text)}`);
  const ref = attributeRefFromText(text.slice(0, eq).trim());
  const value = text.slice(eq + 1);
  if ('vendor' in ref) return vendorAttribute(ref.vendor, ref.name, item(Tag.AttributeValue, 'TextString', value));
  return attributeValueFromText(ref.tag, value);
}

// ── protocol forms ─────────────────────────────────────────────────────────────────────────────

/** The attribute as a KMIP 1.x Attribute; an attribute 1.x lacks is a usage error, not silently dropped. */
export function v1Attribute(attr: Item, index?: number): StructureItem {
  const converted = toV1Attribute(attr, index);
  if (converted === undefined) throw new UsageError(`${titleOf(attr)} is not an attribute in KMIP 1.x; use --kmip-version 2.1`);
  return converted;
}

/** The attributes of a creation request: 2.x `Attributes` (or a variant tag), 1.x the matching Template-Attribute (1.4 §2.1.8). */
export function attributesFor(version: ProtocolVersion, attrs: readonly Item[], v2Tag: number = Tag.Attributes): Item {
  if (isV2(version)) return structure(v2Tag, [...attrs]);
  const v1Tag = { [Tag.Attributes]: Tag.TemplateAttribute, [Tag.CommonAttributes]: Tag.CommonTemplateAttribute, [Tag.PrivateKeyAttributes]: Tag.PrivateKeyTemplateAttribute, [Tag.PublicKeyAttributes]: Tag.PublicKeyTemplateAttribute }[v2Tag];
  if (v1Tag === undefined) throw new Error(`no 1.x template for tag ${v2Tag}`);
  return structure(v1Tag, attrs.map((a) => v1Attribute(a)));
}

/** Names an attribute in a request: 2.x Attribute Reference (2.1 §5.5), 1.x Attribute Name. */
export function referenceFor(version: ProtocolVersion, ref: AttributeRef): Item {
  if (isV2(version)) return attributeReference(ref);
  const name = v1Name(ref);
  if (name === undefined) throw new UsageError(`${refText(ref)} is not an attribute in KMIP 1.x; use --kmip-version 2.1`);
  return item(Tag.AttributeName, 'TextString', name);
}

/** The attributes of an answer in their 2.1 form, whichever version answered. */
export function answeredAttributes(payload: readonly Item[]): Item[] {
  const attributes = payload.find((i) => i.tag === Tag.Attributes);
  if (attributes?.type === 'Structure') return attributes.value;
  return payload.filter((i) => i.tag === Tag.Attribute).map((a) => fromV1Attribute(a).item);
}

export function refText(ref: AttributeRef): string {
  return 'vendor' in ref ? `${ref.vendor}-${ref.name}` : (registry.tag(ref.tag)?.title ?? registry.tagName(ref.tag));
}

export function titleOf(attr: Item): string {
  return refText(refOf(attr));
}

// ── output ─────────────────────────────────────────────────────────────────────────────────────

/** An attribute's value for people: names for enumerations and masks, ISO dates, hex bytes; structures as Field:value,… */
export function valueText(it: Item): string {
  if (it.tag === Tag.Attribute && it.type === 'Structure') {
    const value = it.value.find((c) => c.tag === Tag.AttributeValue);
    return value === undefined ? '' : valueText(value);
  }
  if (it.tag === Tag.Name && it.type === 'Structure') {
    const value = it.value.find((c) => c.tag === Tag.NameValue);
    const type = it.value.find((c) => c.tag === Tag.NameType);
    const plain = type?.type === 'Enumeration' && type.value === enumByName('NameType', 'UninterpretedTextString', 'Name Type');
    if (value?.type === 'TextString' && plain) return value.value;
  }
  if (it.type === 'Structure') return it.value.map((c) => `${registry.tagName(c.tag)}:${valueText(c)}`).join(',');
  return formatValue(registry, it, ',');
}

/** `Cryptographic Algorithm: AES`, one line per attribute instance. */
export function attributeLines(attrs: readonly Item[]): string[] {
  return attrs.map((a) => `${titleOf(a)}: ${valueText(a)}`);
}

/** The KMIP JSON form of items (2.1 Profiles §5.5), as `query --json` prints them. */
export function jsonItems(items: readonly Item[]): unknown[] {
  return items.map((i) => toJson(i));
}

/** Prints a command's answer: `text` lines, or the `json` value with --json. */
export function print(io: Io, args: Args, text: readonly string[], json: unknown): void {
  io.stdout.write(args.json ? `${JSON.stringify(json, null, 2)}\n` : text.length > 0 ? `${text.join('\n')}\n` : '');
}

// ── arguments ──────────────────────────────────────────────────────────────────────────────────

/** The one Unique Identifier a command acts on. */
export function oneUid(args: Args): string {
  const [uid, ...rest] = args.positionals;
  if (uid === undefined) throw new UsageError('which object? give its Unique Identifier');
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  return uid;
}

export function uidItem(uid: string): Item {
  return item(Tag.UniqueIdentifier, 'TextString', uid);
}

export function stringOption(args: Args, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function listOption(args: Args, name: string): string[] {
  const value = args.values[name];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}

export function intOption(args: Args, name: string, min = 0, max = 0x7fffffff): number | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  return Number(text);
}

/** The options every object-making command shares: the common attributes of the new object. */
export const OBJECT_ATTRIBUTE_OPTIONS = {
  name: { type: 'string' },
  group: { type: 'string' },
  usage: { type: 'string' },
  attr: { type: 'string', multiple: true },
} as const satisfies Options;

export const OBJECT_ATTRIBUTE_HELP = `  --name NAME            Name attribute (unique among your objects)
  --group GROUP          Object Group attribute
  --usage LIST           Cryptographic Usage Mask, e.g. encrypt,decrypt or sign,verify
  --attr NAME=VALUE      Any other attribute (repeatable): enumerations by name, masks as
                         lists, dates ISO 8601, x-name=value for vendor attributes`;

/** The attributes --name, --group, --usage and --attr give, in 2.1 form. */
export function objectAttributes(args: Args, prefix = ''): Item[] {
  const out: Item[] = [];
  const name = stringOption(args, `${prefix}name`);
  if (name !== undefined) out.push(nameItem(name));
  const group = stringOption(args, `${prefix}group`);
  if (group !== undefined) out.push(item(Tag.ObjectGroup, 'TextString', group));
  const usage = stringOption(args, `${prefix}usage`);
  if (usage !== undefined) out.push(item(Tag.CryptographicUsageMask, 'Integer', maskByNames('CryptographicUsageMask', usage, '--usage')));
  for (const text of listOption(args, `${prefix}attr`)) out.push(attributeFromText(text));
  return out;
}

/** The Text String value of a field of a response payload. */
export function textField(payload: readonly Item[], tag: number): string | undefined {
  const found = payload.find((i) => i.tag === tag);
  return found?.type === 'TextString' ? found.value : undefined;
}

/** --wrap-mode → the Cryptographic Parameters of the wrapping key (2.1 §2.1.5 Key Wrapping Specification). */
const WRAP_MODES: Readonly<Record<string, () => Item[]>> = {
  nist: () => [item(Tag.BlockCipherMode, 'Enumeration', enumByName('BlockCipherMode', 'NISTKeyWrap', 'mode'))],
  kwp: () => [item(Tag.BlockCipherMode, 'Enumeration', enumByName('BlockCipherMode', 'AESKeyWrapPadding', 'mode'))],
  oaep: () => [
    item(Tag.PaddingMethod, 'Enumeration', enumByName('PaddingMethod', 'OAEP', 'padding')),
    item(Tag.HashingAlgorithm, 'Enumeration', enumByName('HashingAlgorithm', 'SHA_256', 'hash')),
    // MGF1's hash defaults to SHA-1 (2.1 §2.1.5); OAEP with SHA-256 uses it for both.
    item(Tag.MaskGeneratorHashingAlgorithm, 'Enumeration', enumByName('HashingAlgorithm', 'SHA_256', 'hash')),
  ],
};

/** The Cryptographic Parameters of the wrap mode given as `--OPTION` (nist, kwp, oaep); none when it is not given. */
export function wrapModeParameters(option: string, mode: string | undefined): Item[] {
  if (mode === undefined) return [];
  const params = WRAP_MODES[mode];
  if (params === undefined) throw new UsageError(`--${option} is one of ${Object.keys(WRAP_MODES).join(', ')}, not ${JSON.stringify(mode)}`);
  return params();
}

/**
 * kmipctl export and import: move an object with its attributes from one KMIP server to another
 * (KMIP 2.1 §6.1.18 Export, §6.1.25 Import). `export` writes the Export answer (Object Type,
 * Unique Identifier, Attributes, the object, usually wrapped under a key-encryption key both
 * servers hold) to a file as TTLV; `import` sends that file's contents as an Import request.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { Tag } from '../kmip/registry.generated.js';
import { type ProtocolVersion, isV2 } from '../kmip/version.js';
import { toV1Attributes } from '../objects/v1-attributes.js';
import { type Item, TtlvError, decode, encode, item, structure } from '../ttlv/index.js';
import { type Args, UsageError, answeredAttributes, command, enumByName, oneUid, print, stringOption, uidItem, valueText, wrapModeParameters } from './operation-args.js';


function wrappingSpecification(args: Args): Item[] {
  const key = stringOption(args, 'wrap-key');
  const mode = stringOption(args, 'wrap-mode');
  if (key === undefined) {
    if (mode !== undefined) throw new UsageError('--wrap-mode goes with --wrap-key UID');
    return [];
  }
  const params = wrapModeParameters('wrap-mode', mode);
  return [
    structure(Tag.KeyWrappingSpecification, [
      item(Tag.WrappingMethod, 'Enumeration', enumByName('WrappingMethod', 'Encrypt', 'wrapping method')),
      structure(Tag.EncryptionKeyInformation, [uidItem(key), ...(params.length === 0 ? [] : [structure(Tag.CryptographicParameters, params)])]),
    ]),
  ];
}

/** The object value of an Export answer or an export file: the one Structure besides the Attributes. */
function objectOf(items: readonly Item[]): Item | undefined {
  return items.find((i) => i.type === 'Structure' && i.tag !== Tag.Attributes && i.tag !== Tag.Attribute);
}

function isWrapped(object: Item | undefined): boolean {
  if (object?.type !== 'Structure') return false;
  const block = object.value.find((c) => c.tag === Tag.KeyBlock);
  return block?.type === 'Structure' && block.value.some((c) => c.tag === Tag.KeyWrappingData);
}

/** The object with the Key Wrapping Data's Encryption Key Information naming `kek` (2.1 §3.3). */
function withWrappingKey(object: Item, kek: string): Item {
  const swap = (it: Item, tag: number, fn: (c: Item) => Item): Item => (it.type === 'Structure' ? { ...it, value: it.value.map((c) => (c.tag === tag ? fn(c) : c)) } : it);
  return swap(object, Tag.KeyBlock, (block) =>
    swap(block, Tag.KeyWrappingData, (data) => swap(data, Tag.EncryptionKeyInformation, (info) => swap(info, Tag.UniqueIdentifier, () => uidItem(kek)))),
  );
}

export const exportCommand = command({
  name: 'export',
  summary: 'Export: an object and all its attributes to a file, usually wrapped, for import elsewhere',
  usage: `Usage: kmipctl export UID --out FILE [--wrap-key UID [--wrap-mode M]] [connection options]

Fetches the object with every attribute (KMIP 2.1 §6.1.18) and writes the answer to FILE (mode
0600) as TTLV, ready for 'kmipctl import FILE' against another server. Wrap it under a
key-encryption key the other server also holds, so the key material never travels or rests in
clear: the other server unwraps it with its copy of that key.

Options:
  --out FILE       Where to write the export (required)
  --wrap-key UID   Wrap the key under this key before it leaves the server
  --wrap-mode M    nist (AES Key Wrap, RFC 3394), kwp (with padding, RFC 5649) or oaep
                   (RSA-OAEP with SHA-256); default: the wrapping key's own parameters
`,
  options: { out: { type: 'string' }, 'wrap-key': { type: 'string' }, 'wrap-mode': { type: 'string' } },
  build(args) {
    const uid = oneUid(args);
    const out = stringOption(args, 'out');
    if (out === undefined) throw new UsageError('--out FILE is required: the export holds key material');
    const wrapping = wrappingSpecification(args);
    return async (client, io) => {
      const answer = await client.call('Export', [uidItem(uid), ...wrapping]);
      const items = answer.payload?.item.value ?? [];
      const object = objectOf(items);
      const typeItem = items.find((i) => i.tag === Tag.ObjectType);
      if (object === undefined || typeItem === undefined) throw new Error('the server answered Export without the object');
      // The file keeps the 2.1 form whatever version exported it; import converts for its own.
      const file = structure(Tag.ResponsePayload, [typeItem, uidItem(uid), structure(Tag.Attributes, answeredAttributes(items)), object]);
      writeFileSync(out, encode(file), { mode: 0o600 });
      const wrapped = isWrapped(object);
      print(io, args, [`exported ${valueText(typeItem)} ${uid}${wrapped ? ' (wrapped)' : ''} to ${out}`], { uniqueIdentifier: uid, objectType: valueText(typeItem), wrapped, out });
    };
  },
});

/** The export file's parts, checked enough to give a clear usage error for a wrong file. */
function readExport(path: string): { uid: string; objectType: Item; attributes: Item[]; object: Item } {
  let top: Item;
  try {
    top = decode(readFileSync(path));
  } catch (err) {
    if (err instanceof TtlvError) throw new UsageError(`${path} is not a kmipctl export file (TTLV): ${err.message}`);
    throw new UsageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const items = top.type === 'Structure' ? top.value : [];
  const uid = items.find((i) => i.tag === Tag.UniqueIdentifier);
  const objectType = items.find((i) => i.tag === Tag.ObjectType);
  const object = objectOf(items);
  if (uid?.type !== 'TextString' || objectType === undefined || object === undefined) throw new UsageError(`${path} is not a kmipctl export file: it lacks the Unique Identifier, Object Type or object`);
  return { uid: uid.value, objectType, attributes: answeredAttributes(items), object };
}

function attributesIn(version: ProtocolVersion, attrs: Item[]): Item[] {
  // 1.x has no Attributes structure: repeated Attribute structures (1.4 §4.41); 2.x-only attributes are left for the server to set.
  return isV2(version) ? [structure(Tag.Attributes, attrs)] : toV1Attributes(attrs);
}

export const importCommand = command({
  name: 'import',
  summary: 'Import: an object from a kmipctl export file, keeping its identifier and attributes',
  usage: `Usage: kmipctl import FILE [--replace] [connection options]

Sends the object in FILE (written by 'kmipctl export') to the server with its Unique Identifier
and attributes (KMIP 2.1 §6.1.25). A wrapped key is sent with Key Wrap Type Not Wrapped: the
server unwraps it with its own key of the identifier in the wrapping data and seals it; you must
own that key there. Prints the Unique Identifier.

Options:
  --replace        Replace your object of the same Unique Identifier (Replace Existing);
                   without it an existing one is refused (Object Already Exists)
  --unwrap-key UID This server's identifier of the key-encryption key, when it differs from
                   the exporting server's (the one named in the file's wrapping data)
`,
  options: { replace: { type: 'boolean' }, 'unwrap-key': { type: 'string' } },
  build(args) {
    const [path, ...rest] = args.positionals;
    if (path === undefined) throw new UsageError('which file? give the path kmipctl export wrote');
    if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
    const file = readExport(path);
    const payload: Item[] = [uidItem(file.uid), file.objectType];
    if (args.values.replace === true) payload.push(item(Tag.ReplaceExisting, 'Boolean', true));
    if (isWrapped(file.object)) payload.push(item(Tag.KeyWrapType, 'Enumeration', enumByName('KeyWrapType', 'NotWrapped', 'key wrap type')));
    const unwrapKey = stringOption(args, 'unwrap-key');
    if (unwrapKey !== undefined && !isWrapped(file.object)) throw new UsageError(`the object in ${path} is not wrapped; --unwrap-key does not apply`);
    payload.push(...attributesIn(args.version, file.attributes), unwrapKey === undefined ? file.object : withWrappingKey(file.object, unwrapKey));
    return async (client, io) => {
      const answer = await client.call('Import', payload);
      const uid = answer.payload?.get(Tag.UniqueIdentifier, 'TextString') ?? file.uid;
      print(io, args, [uid], { uniqueIdentifier: uid, objectType: valueText(file.objectType), replaced: args.values.replace === true });
    };
  },
});

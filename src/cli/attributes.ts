/**
 * kmipctl commands that read and edit an object's attributes: get-attributes, get-attribute-list,
 * add-attribute, modify-attribute, delete-attribute, set-attribute, adjust-attribute. Attributes
 * are written NAME=VALUE (see operation-args.ts) and sent in the form of the chosen protocol
 * version: 2.x New / Current Attribute and Attribute Reference, 1.x Attribute, Attribute Name and
 * Attribute Index.
 */
import { Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import type { OperationName } from '../operations/registry.js';
import { type AttributeRef, refFromAttributeReference } from '../objects/items.js';
import { refFromV1Name } from '../objects/v1-attributes.js';
import { type Item, item, registry, structure } from '../ttlv/index.js';
import {
  type Args,
  type Step,
  UsageError,
  answeredAttributes,
  attributeFromText,
  attributeLines,
  attributeRefFromText,
  command,
  enumByName,
  intOption,
  leafFromText,
  print,
  referenceFor,
  refText,
  textField,
  titleOf,
  uidItem,
  v1Attribute,
  valueText,
} from './operation-args.js';

const ATTRIBUTE_SYNTAX = `An attribute is NAME=VALUE. NAME is a KMIP attribute (CryptographicUsageMask,
"Cryptographic Usage Mask" or cryptographic-usage-mask), or x-name for a vendor attribute.
VALUE is typed by the attribute: enumerations by name (State=Active), masks as lists
(CryptographicUsageMask=encrypt,decrypt), dates ISO 8601 (DeactivationDate=2027-01-31),
numbers, true/false, bytes in hex; a structure as Field:value,… (Name=payroll is a plain Name).
`;

/** UID and the rest of the positionals, exactly `count` of them. */
function uidAnd(args: Args, count: number, what: string): [string, ...string[]] {
  const [uid, ...rest] = args.positionals;
  if (uid === undefined) throw new UsageError('which object? give its Unique Identifier');
  if (rest.length !== count) throw new UsageError(`expected UID ${what}`);
  return [uid, ...rest];
}

export const getAttributes = command({
  name: 'get-attributes',
  summary: 'Get Attributes: an object’s attributes, all or those named',
  usage: `Usage: kmipctl get-attributes UID [NAME…] [connection options]

Prints the object's attributes (KMIP 2.1 §6.1.20), one "Title: value" line per instance, or only
the attributes named. KMIP 1.x answers only the attributes 1.x has.
`,
  options: {},
  build(args) {
    const [uid, ...names] = args.positionals;
    if (uid === undefined) throw new UsageError('which object? give its Unique Identifier');
    const refs = names.map((n) => referenceFor(args.version, attributeRefFromText(n)));
    return async (client, io) => {
      const answer = await client.call('GetAttributes', [uidItem(uid), ...refs]);
      const attrs = answeredAttributes(answer.payload?.item.value ?? []);
      print(io, args, attributeLines(attrs), { uniqueIdentifier: uid, attributes: attrs.map((a) => ({ name: titleOf(a), value: valueText(a) })) });
    };
  },
});

export const getAttributeList = command({
  name: 'get-attribute-list',
  summary: 'Get Attribute List: the names of the attributes an object has',
  usage: `Usage: kmipctl get-attribute-list UID [connection options]

Prints the names of the object's attributes (KMIP 2.1 §6.1.21), one a line.
`,
  options: {},
  build(args) {
    const [uid] = uidAnd(args, 0, '');
    return async (client, io) => {
      const answer = await client.call('GetAttributeList', [uidItem(uid)]);
      const fields = answer.payload?.item.value ?? [];
      const refs: AttributeRef[] = fields.flatMap((f) => {
        if (f.tag === Tag.AttributeReference) return [refFromAttributeReference(f)];
        if (f.tag === Tag.AttributeName && f.type === 'TextString') return [refFromV1Name(f.value)];
        return [];
      });
      const names = refs.map(refText);
      print(io, args, names, { uniqueIdentifier: uid, attributes: names });
    };
  },
});

/** A 1.x answer's Attribute Index, for --json. */
function answeredIndex(fields: readonly Item[]): number | undefined {
  const attr = fields.find((f) => f.tag === Tag.Attribute);
  const index = attr?.type === 'Structure' ? attr.value.find((c) => c.tag === Tag.AttributeIndex) : undefined;
  return index?.type === 'Integer' ? index.value : undefined;
}

/** Sends an edit and prints the Unique Identifier (and, in 1.x, the Attribute Index the server reports). */
function edit(args: Args, operation: OperationName, uid: string, payload: Item[]): Step {
  return async (client, io) => {
    const answer = await client.call(operation, [uidItem(uid), ...payload]);
    const fields = answer.payload?.item.value ?? [];
    const index = answeredIndex(fields);
    print(io, args, [textField(fields, Tag.UniqueIdentifier) ?? uid], { uniqueIdentifier: uid, ...(index === undefined ? {} : { attributeIndex: index }) });
  };
}

export const addAttribute = command({
  name: 'add-attribute',
  summary: 'Add Attribute: a new attribute (or another instance of one)',
  usage: `Usage: kmipctl add-attribute UID NAME=VALUE [connection options]

Adds an attribute instance to the object (KMIP 2.1 §6.1.2).

${ATTRIBUTE_SYNTAX}`,
  options: {},
  build(args) {
    const [uid, text] = uidAnd(args, 1, 'NAME=VALUE');
    const attr = attributeFromText(text!);
    return edit(args, 'AddAttribute', uid, [isV2(args.version) ? structure(Tag.NewAttribute, [attr]) : v1Attribute(attr)]);
  },
});

export const modifyAttribute = command({
  name: 'modify-attribute',
  summary: 'Modify Attribute: change the value of an existing attribute',
  usage: `Usage: kmipctl modify-attribute UID NAME=VALUE [--current VALUE | --index N] [connection options]

Replaces an instance of the attribute with VALUE (KMIP 2.1 §6.1.34). Where the object has
several instances, KMIP 2.x picks the one whose value is --current, KMIP 1.x the one at --index
(default 0).

Options:
  --current VALUE   (2.x) the value of the instance to change
  --index N         (1.x) the Attribute Index of the instance to change

${ATTRIBUTE_SYNTAX}`,
  options: { current: { type: 'string' }, index: { type: 'string' } },
  build(args) {
    const [uid, text] = uidAnd(args, 1, 'NAME=VALUE');
    const attr = attributeFromText(text!);
    const current = typeof args.values.current === 'string' ? args.values.current : undefined;
    const index = intOption(args, 'index');
    if (isV2(args.version)) {
      if (index !== undefined) throw new UsageError('--index is the KMIP 1.x way to pick an instance; with 2.x give --current VALUE');
      const payload: Item[] = [];
      if (current !== undefined) payload.push(structure(Tag.CurrentAttribute, [attributeFromText(`${text!.slice(0, text!.indexOf('='))}=${current}`)]));
      payload.push(structure(Tag.NewAttribute, [attr]));
      return edit(args, 'ModifyAttribute', uid, payload);
    }
    if (current !== undefined) throw new UsageError('--current is the KMIP 2.x way to pick an instance; with 1.x give --index N');
    return edit(args, 'ModifyAttribute', uid, [v1Attribute(attr, index)]);
  },
});

export const deleteAttribute = command({
  name: 'delete-attribute',
  summary: 'Delete Attribute: remove an attribute, or one instance of it',
  usage: `Usage: kmipctl delete-attribute UID NAME[=VALUE] [--index N] [connection options]

Deletes an attribute of the object (KMIP 2.1 §6.1.13). KMIP 2.x: NAME alone deletes every
instance, NAME=VALUE the instance with that value. KMIP 1.x: the instance at --index (default 0).

Options:
  --index N   (1.x) the Attribute Index of the instance to delete
`,
  options: { index: { type: 'string' } },
  build(args) {
    const [uid, text] = uidAnd(args, 1, 'NAME[=VALUE]');
    const withValue = text!.includes('=');
    const ref = attributeRefFromText(withValue ? text!.slice(0, text!.indexOf('=')) : text!);
    const index = intOption(args, 'index');
    if (isV2(args.version)) {
      if (index !== undefined) throw new UsageError('--index is the KMIP 1.x way to pick an instance; with 2.x give NAME=VALUE');
      return edit(args, 'DeleteAttribute', uid, [withValue ? structure(Tag.CurrentAttribute, [attributeFromText(text!)]) : referenceFor(args.version, ref)]);
    }
    if (withValue) throw new UsageError('KMIP 1.x deletes an instance by --index, not by value');
    const payload = [referenceFor(args.version, ref)];
    if (index !== undefined) payload.push(item(Tag.AttributeIndex, 'Integer', index));
    return edit(args, 'DeleteAttribute', uid, payload);
  },
});

export const setAttribute = command({
  name: 'set-attribute',
  summary: 'Set Attribute: give a single-valued attribute its value (KMIP 2.x)',
  usage: `Usage: kmipctl set-attribute UID NAME=VALUE [connection options]

Sets the attribute to VALUE (KMIP 2.1 §6.1.51): added if the object has none, replaced if it has
one. KMIP 1.x has no Set Attribute: use add-attribute or modify-attribute there.

${ATTRIBUTE_SYNTAX}`,
  options: {},
  build(args) {
    const [uid, text] = uidAnd(args, 1, 'NAME=VALUE');
    // Sent as asked even under 1.x: the server answers Operation Not Supported, which is the truth.
    return edit(args, 'SetAttribute', uid, [structure(Tag.NewAttribute, [attributeFromText(text!)])]);
  },
});

const ADJUSTMENTS = ['increment', 'decrement', 'negate'];

export const adjustAttribute = command({
  name: 'adjust-attribute',
  summary: 'Adjust Attribute: increment, decrement or negate an attribute (KMIP 2.x)',
  usage: `Usage: kmipctl adjust-attribute UID NAME increment|decrement|negate [--by N] [connection options]

Adjusts the attribute (KMIP 2.1 §6.1.3): increment or decrement by --by (default 1), or negate.
An attribute the object lacks counts as 0 (or false). KMIP 1.x has no Adjust Attribute.

Options:
  --by N   the Adjustment Value
`,
  options: { by: { type: 'string' } },
  build(args) {
    const [uid, name, how] = uidAnd(args, 2, 'NAME increment|decrement|negate');
    if (!ADJUSTMENTS.includes(how!)) throw new UsageError(`the adjustment is one of ${ADJUSTMENTS.join(', ')}, not ${JSON.stringify(how)}`);
    const ref = attributeRefFromText(name!);
    const payload: Item[] = [referenceFor({ major: 2, minor: 1 }, ref), item(Tag.AdjustmentType, 'Enumeration', enumByName('AdjustmentType', how!, 'adjustment'))];
    const by = typeof args.values.by === 'string' ? args.values.by : undefined;
    if (by !== undefined) {
      if (how === 'negate') throw new UsageError('--by goes with increment or decrement');
      // 2.1 §6.1.3: the Adjustment Value has the attribute's own type.
      const type = 'tag' in ref ? registry.tag(ref.tag)?.types[0] : 'Integer';
      if (type === undefined || type === 'Structure') throw new UsageError(`${refText(ref)} cannot be adjusted by a value`);
      payload.push(leafFromText(Tag.AdjustmentValue, type, by));
    }
    return edit(args, 'AdjustAttribute', uid, payload);
  },
});

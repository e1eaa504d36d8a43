/**
 * Locate end to end over mutual TLS, in KMIP 2.1 and 1.4 form: Storage Status Mask, Object Group
 * Member (Fresh and Default, Fresh cleared by Get), date ranges given as two instances of a date
 * attribute, Maximum and Offset Items with Located Items, custom attributes (2.x vendor, 1.x
 * `x-…`), and the ID Placeholder rules of KMIP 2.1 §6.1.28. Each version gets its own objects,
 * told apart by a per-version Object Group.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { vendorAttribute } from '../../src/objects/items.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

const DAY = 86_400;
const T0 = Math.floor(Date.now() / 1000);
let now = T0;

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-locate-', 'someone-else', { clock: { now: () => now } });
});
t.teardown(() => env.close());

const V1_NAMES: Record<number, string> = {
  [Tag.Name]: 'Name',
  [Tag.CryptographicUsageMask]: 'Cryptographic Usage Mask',
  [Tag.ObjectGroup]: 'Object Group',
  [Tag.InitialDate]: 'Initial Date',
  [Tag.State]: 'State',
  [Tag.ObjectType]: 'Object Type',
};

/** One attribute in the request's form: itself in 2.x, an Attribute{Name, Value} in 1.x (custom ones as `x-…`). */
function v1Attribute(a: Item): Item {
  if (a.tag === Tag.Attribute && a.type === 'Structure') {
    const attrName = a.value.find((c) => c.tag === Tag.AttributeName);
    const value = a.value.find((c) => c.tag === Tag.AttributeValue)!;
    return structure(Tag.Attribute, [text(Tag.AttributeName, `x-${attrName?.value as string}`), value]);
  }
  return structure(Tag.Attribute, [text(Tag.AttributeName, V1_NAMES[a.tag]!), { ...a, tag: Tag.AttributeValue }]);
}

const isV2 = (version: ProtocolVersion): boolean => version.major >= 2;

async function register(c: KmipClient, version: ProtocolVersion, attrs: Item[]): Promise<string> {
  const all = [integer(Tag.CryptographicUsageMask, 0x0c), ...attrs];
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    isV2(version) ? structure(Tag.Attributes, all) : structure(Tag.TemplateAttribute, all.map(v1Attribute)),
    aesKey(randomBytes(16)),
  ]);
  return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

interface LocateOptions {
  maxItems?: number;
  offsetItems?: number;
  storageStatusMask?: number;
  groupMember?: number;
}

function locatePayload(version: ProtocolVersion, attrs: Item[], o: LocateOptions = {}): Item[] {
  return [
    ...(o.maxItems === undefined ? [] : [integer(Tag.MaximumItems, o.maxItems)]),
    ...(o.offsetItems === undefined ? [] : [integer(Tag.OffsetItems, o.offsetItems)]),
    ...(o.storageStatusMask === undefined ? [] : [integer(Tag.StorageStatusMask, o.storageStatusMask)]),
    ...(o.groupMember === undefined ? [] : [enumeration(Tag.ObjectGroupMember, o.groupMember)]),
    ...(isV2(version) ? [structure(Tag.Attributes, attrs)] : attrs.map(v1Attribute)),
  ];
}

async function locate(c: KmipClient, version: ProtocolVersion, attrs: Item[], o: LocateOptions = {}): Promise<{ uids: string[]; located: number | undefined }> {
  const found = await c.call('Locate', locatePayload(version, attrs, o));
  return { uids: found.payload!.values(Tag.UniqueIdentifier, 'TextString'), located: found.payload!.get(Tag.LocatedItems, 'Integer') };
}

const group = (g: string): Item => item(Tag.ObjectGroup, 'TextString', g);
const { OnLineStorage, ArchivalStorage, DestroyedStorage } = { OnLineStorage: 1, ArchivalStorage: 2, DestroyedStorage: 4 };

for (const [label, version] of [
  ['2.1', V21],
  ['1.4', V14],
] as const) {
  t.test(`${label}: Locate`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const g = `locate-${label}`;
    // Four keys of one group, created a day apart: Locate answers newest first.
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      now = T0 + i * DAY;
      ids.push(await register(c, version, [name(`${g}-${i}`), group(g), vendorAttribute('x', 'Team', text(Tag.AttributeValue, i % 2 === 0 ? 'even' : 'odd'))]));
    }
    now = T0 + 10 * DAY;
    const [k0, k1, k2, k3] = ids as [string, string, string, string];

    t.test('Maximum Items and Offset Items page the newest-first answer; Located Items counts every match', async (t) => {
      t.same(await locate(c, version, [group(g)]), { uids: [k3, k2, k1, k0], located: 4 });
      t.same(await locate(c, version, [group(g)], { maxItems: 2 }), { uids: [k3, k2], located: 4 });
      t.same(await locate(c, version, [group(g)], { maxItems: 2, offsetItems: 1 }), { uids: [k2, k1], located: 4 });
      t.same(await locate(c, version, [group(g)], { offsetItems: 3 }), { uids: [k0], located: 4 });
      // Located Items without a second query when the page is not full; with one when it is, or empty.
      t.same(await locate(c, version, [group(g)], { maxItems: 4 }), { uids: [k3, k2, k1, k0], located: 4 }, 'a full page');
      t.same(await locate(c, version, [group(g)], { offsetItems: 6 }), { uids: [], located: 4 }, 'an offset past the last match');
      t.same(await locate(c, version, [group(g)], { maxItems: 0 }), { uids: [], located: 4 }, 'Maximum Items 0: the count alone');
      t.same(await locate(c, version, [group(g)], { groupMember: Enum.ObjectGroupMember.GroupMemberDefault }), { uids: [k3], located: 1 }, 'Group Member Default counts one');
      t.equal((await refusal(c.call('Locate', locatePayload(version, [group(g)], { maxItems: -1 })))).reason, 'InvalidField', 'a negative Maximum Items is refused');
    });

    t.test('two instances of a date attribute are a range, both ends inclusive; one instance is that date', async (t) => {
      const initial = (d: number): Item => item(Tag.InitialDate, 'DateTime', T0 + d * DAY);
      t.same((await locate(c, version, [group(g), initial(1), initial(2)])).uids, [k2, k1], 'from day 1 to day 2');
      t.same((await locate(c, version, [group(g), initial(3), initial(1)])).uids, [k3, k2, k1], 'the bounds in either order');
      t.same((await locate(c, version, [group(g), initial(2)])).uids, [k2], 'one date: exactly that date');
      t.equal((await refusal(c.call('Locate', locatePayload(version, [initial(1), initial(2), initial(3)])))).reason, 'InvalidField', 'a third instance is refused');
    });

    t.test('a custom attribute matches like any other (2.x vendor attribute, 1.x x-…)', async (t) => {
      t.same((await locate(c, version, [group(g), vendorAttribute('x', 'Team', text(Tag.AttributeValue, 'odd'))])).uids, [k3, k1]);
      t.same((await locate(c, version, [vendorAttribute('x', 'Team', text(Tag.AttributeValue, 'nobody'))])).uids, []);
    });

    t.test('Object Group Member: Default is the newest member; Fresh are those never served by Get', async (t) => {
      t.same((await locate(c, version, [group(g)], { groupMember: Enum.ObjectGroupMember.GroupMemberDefault })).uids, [k3], 'Group Member Default');
      t.same((await locate(c, version, [group(g)], { groupMember: Enum.ObjectGroupMember.GroupMemberFresh })).uids, [k3, k2, k1, k0], 'all are fresh at first');
      await c.call('Get', [uid(k2)]);
      t.same((await locate(c, version, [group(g)], { groupMember: Enum.ObjectGroupMember.GroupMemberFresh })).uids, [k3, k1, k0], 'a key handed out by Get is no longer fresh');
      const fresh = isV2(version)
        ? (await c.call('GetAttributes', [uid(k2), enumeration(Tag.AttributeReference, Tag.Fresh)])).payload!.needStruct(Tag.Attributes).get(Tag.Fresh, 'Boolean')
        : ((await c.call('GetAttributes', [uid(k2), text(Tag.AttributeName, 'Fresh')])).payload!.all(Tag.Attribute)[0]?.value as Item[]).find((x) => x.tag === Tag.AttributeValue)?.value;
      t.equal(fresh, false, 'its Fresh attribute says false');
      t.equal((await refusal(c.call('Locate', locatePayload(version, [group(g)], { groupMember: 9 })))).reason, 'InvalidField', 'an unknown Object Group Member is refused');
    });

    t.test('ID Placeholder: set by a single result, emptied by several', async (t) => {
      const batch = (attrs: Item[], o: LocateOptions = {}) =>
        c.request({
          items: [
            { operation: Enum.Operation.Locate, payload: locatePayload(version, attrs, o) },
            { operation: Enum.Operation.GetAttributeList, payload: [] },
          ],
        });
      const one = await batch([name(`${g}-1`)]);
      t.same(one.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success], 'one match: the next item uses it');
      t.equal(one.items[1]!.payload!.get(Tag.UniqueIdentifier, 'TextString'), k1);
      const many = await batch([group(g)]);
      t.same(many.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.OperationFailed], 'several matches: the next item has no Unique Identifier');
      t.equal(many.items[1]!.resultReason, Enum.ResultReason.InvalidField);
      const capped = await batch([group(g)], { maxItems: 1 });
      t.same(capped.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success], 'Maximum Items 1 of several: the one returned is used');
      t.equal(capped.items[1]!.payload!.get(Tag.UniqueIdentifier, 'TextString'), k3);
    });

    t.test('Storage Status Mask: destroyed and archived keys only when asked', async (t) => {
      await c.call('Destroy', [uid(k0)]);
      await c.call('Archive', [uid(k1)]);
      t.same((await locate(c, version, [group(g)])).uids, [k3, k2], 'by default on-line keys only');
      t.same((await locate(c, version, [group(g)], { storageStatusMask: OnLineStorage })).uids, [k3, k2]);
      t.same((await locate(c, version, [group(g)], { storageStatusMask: DestroyedStorage })).uids, [k0], 'Destroyed Storage');
      t.same((await locate(c, version, [group(g)], { storageStatusMask: ArchivalStorage })).uids, [k1], 'Archival Storage');
      t.same((await locate(c, version, [group(g)], { storageStatusMask: OnLineStorage | ArchivalStorage | DestroyedStorage })).uids, [k3, k2, k1, k0], 'all three');
      t.equal((await refusal(c.call('Locate', locatePayload(version, [group(g)], { storageStatusMask: 8 })))).reason, 'InvalidField', 'an undefined bit is refused');
    });
  });
}

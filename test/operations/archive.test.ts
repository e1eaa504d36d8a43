/**
 * Archive and Recover end to end over mutual TLS, in KMIP 2.1 and 1.4 form: an archived key is out
 * of a default Locate and every operation on it answers Object Archived until Recover brings it
 * back on-line with its key material intact.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { type Item, structure } from '../../src/ttlv/index.js';
import type { KmipClient } from '../../src/client/client.js';
import { aesKey, enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

let now = Math.floor(Date.now() / 1000);
let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-archive-', 'someone-else', { clock: { now: () => now } });
});
t.teardown(() => env.close());

const isV2 = (version: ProtocolVersion): boolean => version.major >= 2;

async function register(c: KmipClient, version: ProtocolVersion, label: string, material: Buffer): Promise<string> {
  const attrs = [name(label), integer(Tag.CryptographicUsageMask, 0x0c)];
  const reg = await c.call('Register', [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    isV2(version)
      ? structure(Tag.Attributes, attrs)
      : structure(Tag.TemplateAttribute, [
          structure(Tag.Attribute, [text(Tag.AttributeName, 'Name'), { ...attrs[0]!, tag: Tag.AttributeValue }]),
          structure(Tag.Attribute, [text(Tag.AttributeName, 'Cryptographic Usage Mask'), { ...attrs[1]!, tag: Tag.AttributeValue }]),
        ]),
    aesKey(material),
  ]);
  return reg.payload!.need(Tag.UniqueIdentifier, 'TextString');
}

function locateByName(version: ProtocolVersion, label: string, storageStatusMask?: number): Item[] {
  return [
    ...(storageStatusMask === undefined ? [] : [integer(Tag.StorageStatusMask, storageStatusMask)]),
    isV2(version) ? structure(Tag.Attributes, [name(label)]) : structure(Tag.Attribute, [text(Tag.AttributeName, 'Name'), { ...name(label), tag: Tag.AttributeValue }]),
  ];
}

async function lastChange(c: KmipClient, version: ProtocolVersion, id: string): Promise<number | undefined> {
  if (isV2(version)) {
    const got = await c.call('GetAttributes', [uid(id), enumeration(Tag.AttributeReference, Tag.LastChangeDate)]);
    return got.payload!.needStruct(Tag.Attributes).get(Tag.LastChangeDate, 'DateTime');
  }
  const got = await c.call('GetAttributes', [uid(id), text(Tag.AttributeName, 'Last Change Date')]);
  const value = (got.payload!.all(Tag.Attribute)[0]?.value as Item[] | undefined)?.find((x) => x.tag === Tag.AttributeValue);
  return value?.type === 'DateTime' ? value.value : undefined;
}

const material = (payload: { struct(tag: number): { needStruct(tag: number): { needStruct(tag: number): { need(tag: number, type: 'ByteString'): Uint8Array } } } | undefined }): Buffer =>
  Buffer.from(payload.struct(Tag.SymmetricKey)!.needStruct(Tag.KeyBlock).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));

for (const [label, version] of [
  ['2.1', V21],
  ['1.4', V14],
] as const) {
  t.test(`${label}: an archived key is refused with Object Archived until Recover brings it back whole`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const key = `archived-${label}`;
    const bytes = randomBytes(32);
    const id = await register(c, version, key, bytes);

    now += 60;
    const archived = await c.call('Archive', [uid(id)]);
    t.equal(archived.payload!.get(Tag.UniqueIdentifier, 'TextString'), id, 'Archive answers the Unique Identifier');
    for (const [operation, payload] of [
      ['Get', [uid(id)]],
      ['GetAttributes', [uid(id)]],
      ['Activate', [uid(id)]],
      ['Destroy', [uid(id)]],
      ['Archive', [uid(id)]],
    ] as const) {
      t.equal((await refusal(c.call(operation, [...payload]))).reason, 'ObjectArchived', `${operation} of an archived key: Object Archived`);
    }
    const located = await c.call('Locate', locateByName(version, key));
    t.same(located.payload!.values(Tag.UniqueIdentifier, 'TextString'), [], 'a default Locate does not find it');
    const asked = await c.call('Locate', locateByName(version, key, 2));
    t.same(asked.payload!.values(Tag.UniqueIdentifier, 'TextString'), [id], 'Locate with Archival Storage does');
    const taken = await refusal(register(c, version, key, randomBytes(16)));
    t.equal(taken.reason, isV2(version) ? 'NonUniqueNameAttribute' : 'InvalidField', 'its Name stays taken while archived');

    now += 60;
    // Recover sets the ID Placeholder: a Get batched after it needs no Unique Identifier.
    const batch = await c.request({
      items: [
        { operation: Enum.Operation.Recover, payload: [uid(id)] },
        { operation: Enum.Operation.Get, payload: [] },
      ],
    });
    t.same(batch.items.map((i) => i.resultStatus), [Enum.ResultStatus.Success, Enum.ResultStatus.Success], 'Recover, then Get through the ID Placeholder');
    t.same(material(batch.items[1]!.payload!), bytes, 'the key material is intact');
    t.equal(await lastChange(c, version, id), now, 'Recover stamped Last Change Date (KMIP 2.1 §4.29)');
    const back = await c.call('Locate', locateByName(version, key));
    t.same(back.payload!.values(Tag.UniqueIdentifier, 'TextString'), [id], 'on-line again: a default Locate finds it');
    await c.call('Recover', [uid(id)]);
    t.pass('Recover of an on-line key changes nothing and succeeds');
    await c.call('Activate', [uid(id)]);
    t.pass('operations reach it again');
  });

  t.test(`${label}: Archive and Recover of an unknown or another owner's key: Object Not Found (1.x: Item Not Found)`, async (t) => {
    const c = await env.connect(version);
    t.teardown(() => c.close());
    const id = await register(c, version, `owned-${label}`, randomBytes(16));
    const other = await env.connect(version, env.other);
    t.teardown(() => other.close());
    t.equal((await refusal(other.call('Archive', [uid(id)]))).reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound');
    t.equal((await refusal(other.call('Recover', [uid(id)]))).reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound');
    t.equal((await refusal(c.call('Recover', [uid('no-such-object')]))).reason, version.major >= 2 ? 'ObjectNotFound' : 'ItemNotFound');
    await c.call('Get', [uid(id)]);
    t.pass("the owner's key is untouched");
  });
}

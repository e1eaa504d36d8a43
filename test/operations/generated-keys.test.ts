/**
 * What a Create or Re-key makes, end to end over real mutual TLS in KMIP 2.1 and 1.4 form: the
 * server-set Lease Time (2.1 §4.30), three-key Triple DES keys with DES odd parity, the Quantum
 * Safe refusal (2.1 §4.45, OASIS QS-M-2-21), and the 1.4 Add / Modify Attribute answers that
 * leave out an Attribute Index of 0 (1.4 §4.14, §4.15).
 */
import t from 'tap';
import type { KmipClient } from '../../src/client/client.js';
import type { Fields } from '../../src/kmip/fields.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-generated-keys-', 'generated-keys-someone-else');
});
t.teardown(() => env.close());

const A = Enum.CryptographicAlgorithm;
const U = Mask.CryptographicUsageMask;
const v1Attr = (n: string, value: Item): Item => structure(Tag.Attribute, [text(Tag.AttributeName, n), { ...value, tag: Tag.AttributeValue }]);

/** Create of a Symmetric Key in the request form of `version`. */
function createPayload(version: typeof V21, algorithm: number, bits: number, extra: Item[] = []): Item[] {
  const attrs = [enumeration(Tag.CryptographicAlgorithm, algorithm), integer(Tag.CryptographicLength, bits), integer(Tag.CryptographicUsageMask, U.Encrypt | U.Decrypt), ...extra];
  return [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    version === V21
      ? structure(Tag.Attributes, attrs)
      : structure(Tag.TemplateAttribute, [
          v1Attr('Cryptographic Algorithm', attrs[0]!),
          v1Attr('Cryptographic Length', attrs[1]!),
          v1Attr('Cryptographic Usage Mask', attrs[2]!),
          ...extra.map((a) => v1Attr('Name', a)), // 1.4 extras here are Names only
        ]),
  ];
}

async function create(c: KmipClient, version: typeof V21, algorithm: number, bits: number, extra: Item[] = []): Promise<string> {
  return (await c.call('Create', createPayload(version, algorithm, bits, extra))).payload!.need(Tag.UniqueIdentifier, 'TextString');
}

async function keyBlock(c: KmipClient, id: string): Promise<Fields> {
  return (await c.call('Get', [uid(id)])).payload!.needStruct(Tag.SymmetricKey).needStruct(Tag.KeyBlock);
}

/** One attribute's value from Get Attributes, in either version's answer form. */
async function attributeValue(c: KmipClient, version: typeof V21, id: string, tag: number, v1Name: string): Promise<Item | undefined> {
  const payload = (await c.call('GetAttributes', [uid(id)])).payload!;
  if (version === V21) return payload.needStruct(Tag.Attributes).item.value.find((a) => a.tag === tag);
  const attr = payload.all(Tag.Attribute).find((a) => a.type === 'Structure' && a.value.some((x) => x.tag === Tag.AttributeName && x.value === v1Name));
  return attr?.type === 'Structure' ? attr.value.find((x) => x.tag === Tag.AttributeValue) : undefined;
}

function oddParity(bytes: Uint8Array): boolean {
  return [...bytes].every((b) => b.toString(2).split('1').length % 2 === 0);
}

for (const [v, version] of [['2.1', V21], ['1.4', V14]] as const) {
  t.test(`${v}: a created key carries the server's maximum Lease Time of 3600 s, the lease Obtain Lease grants`, async (t) => {
    const c = await env.connect(version);
    const id = await create(c, version, A.AES, 256);
    const lease = await attributeValue(c, version, id, Tag.LeaseTime, 'Lease Time');
    t.same(lease && { type: lease.type, value: lease.value }, { type: 'Interval', value: 3600 }, 'Lease Time 3600 (KMIP 2.1 §4.30: implicitly set by Create)');
    const list = (await c.call('GetAttributeList', [uid(id)])).payload!;
    if (version === V21) t.ok(list.values(Tag.AttributeReference, 'Enumeration').includes(Tag.LeaseTime), 'Get Attribute List names it');
    else t.ok(list.values(Tag.AttributeName, 'TextString').includes('Lease Time'), 'Get Attribute List names it');
    const obtained = await c.call('ObtainLease', [uid(id)]);
    t.equal(obtained.payload!.need(Tag.LeaseTime, 'Interval'), 3600, 'Obtain Lease grants that maximum');
    const readOnly = await refusal(c.call('AddAttribute', version === V21 ? [uid(id), structure(Tag.NewAttribute, [item(Tag.LeaseTime, 'Interval', 60)])] : [uid(id), v1Attr('Lease Time', item(Tag.LeaseTime, 'Interval', 60))]));
    t.equal(readOnly.reason, version === V21 ? 'AttributeReadOnly' : 'PermissionDenied', 'a client cannot set it');
    await c.close();
  });

  t.test(`${v}: Create of a Triple DES key gives 24 key bytes with DES odd parity, and Re-key replaces them likewise`, async (t) => {
    const c = await env.connect(version);
    const id = await create(c, version, A.DES3, 168);
    const block = await keyBlock(c, id);
    t.equal(block.need(Tag.KeyFormatType, 'Enumeration'), Enum.KeyFormatType.Raw, 'Raw format');
    t.equal(block.need(Tag.CryptographicAlgorithm, 'Enumeration'), A.DES3);
    t.equal(block.need(Tag.CryptographicLength, 'Integer'), 168, 'the length as asked (OASIS SKFF-M-8)');
    const material = Buffer.from(block.needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));
    t.equal(material.length, 24, 'three 8-byte DES keys');
    t.ok(oddParity(material), 'every byte has odd parity');
    t.not(material.subarray(0, 8).toString('hex'), material.subarray(8, 16).toString('hex'), 'K1 and K2 differ');

    const replacement = (await c.call('ReKey', [uid(id)])).payload!.need(Tag.UniqueIdentifier, 'TextString');
    const renewed = Buffer.from((await keyBlock(c, replacement)).needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString'));
    t.equal(renewed.length, 24, 'the replacement is a 24-byte Triple DES key too');
    t.ok(oddParity(renewed), 'with odd parity');
    t.not(renewed.toString('hex'), material.toString('hex'), 'and fresh bytes');

    const twoKey = await refusal(c.call('Create', createPayload(version, A.DES3, 112)));
    t.equal(twoKey.reason, version === V21 ? 'InvalidAttributeValue' : 'InvalidField', 'two-key Triple DES (112) is refused');
    t.match(twoKey.message, /168 bits/);
    const unknown = await refusal(c.call('Create', createPayload(version, A.Blowfish, 128)));
    t.equal(unknown.reason, version === V21 ? 'InvalidAttributeValue' : 'InvalidField', 'an algorithm kmipd does not generate is refused');
    await c.close();
  });

  t.test(`${v}: Create of ChaCha20 and HMAC keys gives random bytes of the asked length; wrong lengths are refused`, async (t) => {
    const c = await env.connect(version);
    const chacha = await keyBlock(c, await create(c, version, A.ChaCha20, 256));
    t.equal(chacha.needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString').length, 32);
    const hmac = await keyBlock(c, await create(c, version, A.HMAC_SHA256, 512));
    t.equal(hmac.needStruct(Tag.KeyValue).need(Tag.KeyMaterial, 'ByteString').length, 64);
    t.equal((await refusal(c.call('Create', createPayload(version, A.ChaCha20, 128)))).reason, version === V21 ? 'InvalidAttributeValue' : 'InvalidField', 'ChaCha20 is 256 bits');
    t.equal((await refusal(c.call('Create', createPayload(version, A.HMAC_SHA256, 100)))).reason, version === V21 ? 'InvalidAttributeValue' : 'InvalidField', 'an HMAC key is whole bytes');
    await c.close();
  });

  t.test(`${v}: Add and Modify Attribute answer the first instance without an Attribute Index, later ones with theirs`, async (t) => {
    const c = await env.connect(version);
    const id = await create(c, version, A.AES, 128);
    if (version === V21) {
      const added = await c.call('AddAttribute', [uid(id), structure(Tag.NewAttribute, [text(Tag.ContactInformation, 'ops@example.com')])]);
      t.same(added.payload!.item.value.map((x) => x.tag), [Tag.UniqueIdentifier], '2.x answers the Unique Identifier only');
      await c.close();
      return;
    }
    const indexOf = (payload: Fields): unknown => {
      const attr = payload.needStruct(Tag.Attribute);
      return attr.item.value.find((x) => x.tag === Tag.AttributeIndex)?.value;
    };
    const added = await c.call('AddAttribute', [uid(id), v1Attr('Contact Information', text(Tag.ContactInformation, 'ops@example.com'))]);
    t.equal(indexOf(added.payload!), undefined, '1.4 §4.14: index 0 is left out (OASIS AX-M-1-14)');
    const modified = await c.call('ModifyAttribute', [uid(id), v1Attr('Contact Information', text(Tag.ContactInformation, 'sec@example.com'))]);
    t.equal(indexOf(modified.payload!), undefined, '1.4 §4.15: index 0 is left out');
    await c.call('AddAttribute', [uid(id), v1Attr('Name', name('generated-keys-first'))]);
    const second = await c.call('AddAttribute', [uid(id), v1Attr('Name', name('generated-keys-second'))]);
    t.equal(indexOf(second.payload!), 1, 'a second instance is answered with Attribute Index 1');
    await c.close();
  });
}

t.test('2.1: Create of a key required to be Quantum Safe is refused unless it is (AES-256), and nothing is stored', async (t) => {
  const c = await env.connect(V21);
  const qs = (label: string): Item[] => [
    name(label),
    enumeration(Tag.ProtectionLevel, Enum.ProtectionLevel.High),
    item(Tag.ProtectionPeriod, 'Interval', 409968000),
    item(Tag.QuantumSafe, 'Boolean', true),
  ];
  const refused = await refusal(c.call('Create', createPayload(V21, A.AES, 128, qs('generated-keys-qs-128'))));
  t.equal(refused.reason, 'GeneralFailure', 'AES-128 is not quantum safe: Operation Failed, General Failure (OASIS QS-M-2-21)');
  t.match(refused.message, /not quantum safe/);
  const found = await c.call('Locate', [structure(Tag.Attributes, [name('generated-keys-qs-128')])]);
  t.same(found.payload!.values(Tag.UniqueIdentifier, 'TextString'), [], 'no key was stored');
  t.equal((await refusal(c.call('Create', createPayload(V21, A.DES3, 168, qs('generated-keys-qs-des3'))))).reason, 'GeneralFailure', 'nor is Triple DES');

  const id = await create(c, V21, A.AES, 256, qs('generated-keys-qs-256'));
  t.same((await attributeValue(c, V21, id, Tag.QuantumSafe, ''))?.value, true, 'AES-256 is made, and records Quantum Safe true');
  const plain = await create(c, V21, A.AES, 128, [item(Tag.QuantumSafe, 'Boolean', false)]);
  t.ok(plain, 'Quantum Safe false asks for nothing');
  await c.close();
});

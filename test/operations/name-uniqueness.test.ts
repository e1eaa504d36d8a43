/**
 * Names stay unique per owner when two kmipd nodes share one PostgreSQL (KMIP 2.1 §4.32): the
 * database's constraint decides between concurrent Creates of the same Name, and the losers hear
 * Non Unique Name Attribute (2.x) or Invalid Field (1.x), never General Failure. Skipped, with the
 * reason, when PostgreSQL is unreachable. On one node (SQLite) the Create is refused the same way.
 */
import t from 'tap';
import { Enum, Tag } from '../../src/kmip/registry.generated.js';
import type { ProtocolVersion } from '../../src/kmip/version.js';
import { type Item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, name, text } from '../support/items.js';
import { type TestKmipd, V14, V21, refusal, startTestKmipd } from '../support/kmipd.js';
import { pgTestStore, pgUnavailable, pgUrl } from '../support/store.js';

const pgMissing = await pgUnavailable();

function createPayload(version: ProtocolVersion, label: string): Item[] {
  const attrs = [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, 128), integer(Tag.CryptographicUsageMask, 0x0c), name(label)];
  const v1Names = ['Cryptographic Algorithm', 'Cryptographic Length', 'Cryptographic Usage Mask', 'Name'];
  return [
    enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey),
    version.major >= 2
      ? structure(Tag.Attributes, attrs)
      : structure(
          Tag.TemplateAttribute,
          attrs.map((a, i) => structure(Tag.Attribute, [text(Tag.AttributeName, v1Names[i]!), { ...a, tag: Tag.AttributeValue }])),
        ),
  ];
}

t.test('two kmipd nodes on one PostgreSQL: concurrent Creates of one Name, exactly one wins', { skip: pgMissing ?? false }, async (t) => {
  const db = await pgTestStore();
  await db.store.close();
  t.teardown(db.cleanup);
  const overrides = ['store.client=pg', `store.connection=${pgUrl}`, `store.schema=${(db.config as { schema: string }).schema}`];
  const nodes: TestKmipd[] = [];
  t.teardown(() => Promise.all(nodes.map((n) => n.close())));
  for (let i = 0; i < 2; i++) nodes.push(await startTestKmipd(`kmipd-node${i}-`, 'someone-else', { overrides }));

  for (const [label, version, loser] of [
    ['2.1', V21, 'NonUniqueNameAttribute'],
    ['1.4', V14, 'InvalidField'],
  ] as const) {
    const clients = await Promise.all(Array.from({ length: 8 }, (_, i) => nodes[i % 2]!.connect(version)));
    for (let round = 0; round < 3; round++) {
      const key = `contested-${label}-${round}`;
      const results = await Promise.allSettled(clients.map((c) => c.call('Create', createPayload(version, key))));
      const won = results.filter((r) => r.status === 'fulfilled');
      t.equal(won.length, 1, `${label} round ${round}: one of 8 concurrent Creates succeeds`);
      const reasons = await Promise.all(results.filter((r) => r.status === 'rejected').map((r) => refusal(Promise.reject((r as PromiseRejectedResult).reason))));
      t.same(new Set(reasons.map((e) => e.reason)), new Set([loser]), `the other 7 are refused with ${loser}`);
      const found = await clients[1]!.call('Locate', version.major >= 2 ? [structure(Tag.Attributes, [name(key)])] : [structure(Tag.Attribute, [text(Tag.AttributeName, 'Name'), { ...name(key), tag: Tag.AttributeValue }])]);
      t.equal(found.payload!.values(Tag.UniqueIdentifier, 'TextString').length, 1, 'one object holds the Name, seen from either node');
    }
    await Promise.all(clients.map((c) => c.close()));
  }
});

t.test('one node on SQLite: a Create with a Name in use is refused, the message naming it; the first key is untouched', async (t) => {
  const node = await startTestKmipd('kmipd-names-', 'someone-else');
  t.teardown(() => node.close());
  for (const [label, version, reason] of [
    ['2.1', V21, 'NonUniqueNameAttribute'],
    ['1.4', V14, 'InvalidField'],
  ] as const) {
    const c = await node.connect(version);
    const key = `taken-${label}`;
    const first = (await c.call('Create', createPayload(version, key))).payload!.get(Tag.UniqueIdentifier, 'TextString');
    const refused = await refusal(c.call('Create', createPayload(version, key)));
    t.equal(refused.reason, reason, `${label}: ${reason}`);
    t.match(refused.message, `the Name "${key}" is already used by another object`, `${label}: the message names the Name`);
    const found = await c.call('Locate', version.major >= 2 ? [structure(Tag.Attributes, [name(key)])] : [structure(Tag.Attribute, [text(Tag.AttributeName, 'Name'), { ...name(key), tag: Tag.AttributeValue }])]);
    t.same(found.payload!.values(Tag.UniqueIdentifier, 'TextString'), [first], `${label}: the Name still finds the first key alone`);
    await c.close();
  }
});

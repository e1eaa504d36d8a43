/**
 * Check's answer when it refuses (src/operations/check.ts): Operation Failed with the Result Reason
 * of the first refused value, a Result Message naming every refused value, and no Response Payload,
 * as the mandatory OASIS cases BL-M-2-21 and BL-M-3-21 expect. Through a real kmipd over TLS.
 */
import t from 'tap';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { item, structure } from '../../src/ttlv/index.js';
import { aesKey, enumeration, integer, uid } from '../support/items.js';
import { type TestKmipd, V14, V21, startTestKmipd } from '../support/kmipd.js';

const U = Mask.CryptographicUsageMask;

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipd-check-', 'someone-else');
});
t.teardown(() => env.close());

for (const version of [V21, V14]) {
  const v = `${version.major}.${version.minor}`;
  t.test(`${v}: a refused Check answers a reason and a message, and no payload`, async (t) => {
    const setup = await env.connect(V21);
    // BL-M-3-21: a Decrypt-only AES key.
    const r = await setup.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, [integer(Tag.CryptographicUsageMask, U.Decrypt)]), aesKey(Buffer.alloc(16, 1))]);
    const id = r.payload!.need(Tag.UniqueIdentifier, 'TextString');
    await setup.close();
    const c = await env.connect(version);

    const ok = await c.request({ items: [{ operation: Enum.Operation.Check, payload: [uid(id), integer(Tag.CryptographicUsageMask, U.Decrypt)] }] });
    t.equal(ok.items[0]!.resultStatus, Enum.ResultStatus.Success, 'Decrypt is allowed');
    t.same(ok.items[0]!.payload!.item.value.map((i) => i.tag), [Tag.UniqueIdentifier], 'and answers the Unique Identifier only');

    const refused = (await c.request({ items: [{ operation: Enum.Operation.Check, payload: [uid(id), integer(Tag.CryptographicUsageMask, U.Encrypt), item(Tag.UsageLimitsCount, 'LongInteger', 5n)] }] })).items[0]!;
    t.equal(refused.resultStatus, Enum.ResultStatus.OperationFailed);
    t.equal(refused.resultReason, version.major >= 2 ? Enum.ResultReason.IncompatibleCryptographicUsageMask : Enum.ResultReason.PermissionDenied, 'Encrypt is refused');
    t.equal(refused.payload, undefined, 'no Response Payload');
    t.match(refused.resultMessage, /Check refused: Cryptographic Usage Mask 0x4 asks for 0x4/, 'the message names the refused mask');
    await c.close();
  });
}

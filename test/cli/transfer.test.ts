/**
 * kmipctl export and import between two real kmipd servers over mutual TLS: a key exported wrapped
 * under a key-encryption key both servers hold, imported on the other with that server's KEK
 * identifier, then fetched there with kmipctl get; Replace Existing; 1.4 form; usage errors.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { KmipClient } from '../../src/client/client.js';
import { type Run, runKmipctl } from '../support/kmipctl.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { structure } from '../../src/ttlv/index.js';
import { aesKey, enumeration, integer, uid } from '../support/items.js';
import { type TestKmipd, V21, startTestKmipd } from '../support/kmipd.js';

let a: TestKmipd;
let b: TestKmipd;
const files = mkdtempSync(join(tmpdir(), 'kmipctl-transfer-'));
t.before(async () => {
  a = await startTestKmipd('kmipctl-export-', 'export-other');
  b = await startTestKmipd('kmipctl-import-', 'import-other');
});
t.teardown(async () => {
  await a.close();
  await b.close();
  rmSync(files, { recursive: true, force: true });
});

const kmipctl = (on: TestKmipd, ...args: string[]): Promise<Run> => runKmipctl(args, { dataDir: on.dir, port: on.server.tlsAddress.port });


async function registerKey(c: KmipClient, material: Buffer, mask: number): Promise<string> {
  const attrs = [enumeration(Tag.CryptographicAlgorithm, Enum.CryptographicAlgorithm.AES), integer(Tag.CryptographicLength, material.length * 8), integer(Tag.CryptographicUsageMask, mask)];
  const registered = await c.call('Register', [enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey), structure(Tag.Attributes, attrs), aesKey(material)]);
  const id = registered.payload!.need(Tag.UniqueIdentifier, 'TextString');
  await c.call('Activate', [uid(id)]);
  return id;
}

const { WrapKey, UnwrapKey, Encrypt, Decrypt } = Mask.CryptographicUsageMask;

t.test('kmipctl export --wrap-key on one server, kmipctl import --unwrap-key on another: get there prints the same key', async (t) => {
  const kek = randomBytes(32);
  const ca = await a.connect(V21);
  const cb = await b.connect(V21);
  const kekA = await registerKey(ca, kek, WrapKey | UnwrapKey);
  const kekB = await registerKey(cb, kek, WrapKey | UnwrapKey);
  const plain = randomBytes(32);
  const id = await registerKey(ca, plain, Encrypt | Decrypt);
  const plain14 = randomBytes(16);
  const id14 = await registerKey(ca, plain14, Encrypt | Decrypt);
  await Promise.all([ca.close(), cb.close()]);

  const file = join(files, 'key.ttlv');
  const exported = await kmipctl(a, 'export', id, '--wrap-key', kekA, '--out', file);
  t.equal(exported.code, 0, exported.err);
  t.match(exported.out, new RegExp(`^exported SymmetricKey ${id} \\(wrapped\\) to `));
  t.equal(statSync(file).mode & 0o777, 0o600, 'the export file is private to its owner');
  t.notOk(readFileSync(file).includes(plain), 'the file holds the key wrapped, not in clear');

  const imported = await kmipctl(b, 'import', file, '--unwrap-key', kekB);
  t.equal(imported.code, 0, imported.err);
  t.equal(imported.out, `${id}\n`, 'import prints the Unique Identifier, the same as on the exporting server');
  const got = await kmipctl(b, 'get', id);
  t.equal(got.out, `${plain.toString('hex')}\n`, 'kmipctl get on the second server prints the original key');

  const again = await kmipctl(b, 'import', file, '--unwrap-key', kekB);
  t.equal(again.code, 1);
  t.match(again.err, /^kmipctl import: Object Already Exists: /, 'importing it twice is refused');
  const replaced = await kmipctl(b, 'import', file, '--unwrap-key', kekB, '--replace', '--json');
  t.equal(replaced.code, 0, replaced.err);
  t.same(JSON.parse(replaced.out), { uniqueIdentifier: id, objectType: 'SymmetricKey', replaced: true });

  // KMIP 1.4 has Export and Import too (1.4 §4.40, §4.41).
  const file14 = join(files, 'key14.ttlv');
  t.equal((await kmipctl(a, 'export', id14, '--wrap-key', kekA, '--out', file14, '--kmip-version', '1.4')).code, 0);
  const imported14 = await kmipctl(b, 'import', file14, '--unwrap-key', kekB, '--kmip-version', '1.4');
  t.equal(imported14.code, 0, imported14.err);
  t.equal((await kmipctl(b, 'get', id14)).out, `${plain14.toString('hex')}\n`, 'and in 1.4 form');

  const foreign = await kmipctl(b, 'import', join(files, 'key.ttlv'), '--replace');
  t.equal(foreign.code, 1);
  t.match(foreign.err, /Object Not Found/, "without --unwrap-key the exporting server's KEK identifier is unknown here");
});

t.test('kmipctl export and import refuse bad command lines before connecting', async (t) => {
  const noOut = await kmipctl(a, 'export', 'some-id');
  t.equal(noOut.code, 2);
  t.match(noOut.err, /--out FILE is required/);
  const junk = join(files, 'junk.bin');
  writeFileSync(junk, 'not ttlv at all');
  const bad = await kmipctl(b, 'import', junk);
  t.equal(bad.code, 2);
  t.match(bad.err, /is not a kmipctl export file/);
  const missing = await kmipctl(b, 'import');
  t.equal(missing.code, 2);
  t.match(missing.err, /which file\?/);
});

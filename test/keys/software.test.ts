import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { KeyringError } from '../../src/keys/types.js';
import { openSoftwareKeyring } from '../../src/keys/software.js';

t.test('the software keyring seals with AES-256-GCM bound to the Unique Identifier', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kmipd-keys-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const keyring = openSoftwareKeyring(dir);
  t.equal(keyring.kind, 'software');
  t.equal(statSync(join(dir, 'master.key')).mode & 0o777, 0o600, 'master.key is created 0600');
  t.equal(readFileSync(join(dir, 'master.key')).length, 32);

  const plain = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
  const sealed = await keyring.seal('uid-1', plain);
  t.equal(sealed.length, 1 + 12 + plain.length + 16, 'version ‖ IV ‖ ciphertext ‖ tag');
  t.equal(sealed[0], 1);
  t.same(Buffer.from(await keyring.unseal('uid-1', sealed)), plain);
  t.same(Buffer.from(await openSoftwareKeyring(dir).unseal('uid-1', sealed)), plain, 'the same key file opens it again');

  await t.rejects(keyring.unseal('uid-2', sealed), KeyringError, 'moved to another object');
  const tampered = Buffer.from(sealed);
  tampered[14]! ^= 1;
  await t.rejects(keyring.unseal('uid-1', tampered), KeyringError, 'altered');
  await t.rejects(keyring.unseal('uid-1', sealed.subarray(0, 20)), KeyringError, 'truncated');
});

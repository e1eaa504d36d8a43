/**
 * `kmipctl datakey` end to end against a real kmipd over mutual TLS, in KMIP 2.1 and 1.4 form: a
 * data key generated in plaintext and wrapped under a KEK in ONE request message, unwrapped locally
 * with node:crypto and by the server (`datakey decrypt`, again one message), no usable copy left on
 * the server, and the refusals a user sees (exit 1 with the Result Reason, nothing kept).
 */
import { constants, createDecipheriv, createPrivateKey, privateDecrypt } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { KmipClient } from '../../src/client/client.js';
import { type Run as KmipctlRun, runKmipctl } from '../support/kmipctl.js';
import { Enum, Mask, Tag } from '../../src/kmip/registry.generated.js';
import { type Item, structure } from '../../src/ttlv/index.js';
import { enumeration, integer, text } from '../support/items.js';
import { type TestKmipd, V14, V21, startTestKmipd } from '../support/kmipd.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipctl-datakey-', 'datakey-someone-else');
});
t.teardown(() => env.close());

/** The operations of every request message a KmipClient sends, one array per message (a round trip). */
const sent: string[][] = [];
const send = KmipClient.prototype.send;
KmipClient.prototype.send = function (this: KmipClient, message: Item): Promise<Item> {
  sent.push(operationsOf(message));
  return send.call(this, message);
};
t.teardown(() => {
  KmipClient.prototype.send = send;
});

function operationsOf(message: Item): string[] {
  if (message.type !== 'Structure') return [];
  const names = Object.entries(Enum.Operation);
  return message.value
    .filter((c) => c.tag === Tag.BatchItem && c.type === 'Structure')
    .map((batchItem) => {
      const op = batchItem.type === 'Structure' ? batchItem.value.find((c) => c.tag === Tag.Operation) : undefined;
      return names.find(([, v]) => op?.type === 'Enumeration' && v === op.value)?.[0] ?? '?';
    });
}

interface Run extends KmipctlRun {
  /** The request messages the command sent, as lists of operations. */
  requests: string[][];
}

async function kmipctl(...args: string[]): Promise<Run> {
  const before = sent.length;
  const run = await runKmipctl(args, { dataDir: env.dir, port: env.server.tlsAddress.port });
  return { ...run, requests: sent.slice(before) };
}

async function ok(t: Test, ...args: string[]): Promise<Run> {
  const run = await kmipctl(...args);
  t.equal(run.code, 0, `kmipctl ${args.join(' ')} exits 0${run.err ? `: ${run.err}` : ''}`);
  return run;
}

/** An Active AES-256 KEK that wraps and unwraps with RFC 3394 and RFC 5649; answers its uid and (for checking only) its bytes. */
async function kek(t: Test, version: string[], ...more: string[]): Promise<{ uid: string; bytes: Buffer }> {
  const params = ['--attr', 'CryptographicParameters=BlockCipherMode:AESKeyWrapPadding', '--attr', 'CryptographicParameters=BlockCipherMode:NISTKeyWrap'];
  const uid = (await ok(t, 'create', '--usage', 'wrap-key,unwrap-key', ...params, ...more, ...version)).out.trim();
  await ok(t, 'activate', uid, ...version);
  return { uid, bytes: Buffer.from((await ok(t, 'get', uid, ...version)).out.trim(), 'hex') };
}

function aesUnwrap(kekBytes: Buffer, wrapped: Buffer, padded: boolean): Buffer {
  const iv = Buffer.from(padded ? 'A65959A6' : 'A6A6A6A6A6A6A6A6', 'hex');
  const decipher = createDecipheriv(`id-aes${kekBytes.length * 8}-wrap${padded ? '-pad' : ''}`, kekBytes, iv);
  return Buffer.concat([decipher.update(wrapped), decipher.final()]);
}

/** Unique Identifiers of my symmetric keys in a state (newest first). */
async function keysIn(t: Test, state: string, version: string[]): Promise<string[]> {
  return (await ok(t, 'locate', '--type', 'symmetric', '--state', state, ...version)).out.split('\n').filter((l) => l !== '');
}

/** My destroyed symmetric keys, newest first: a Locate with Storage Status Mask Destroyed (2.1 §6.1.28), which kmipctl locate does not send. */
async function destroyedKeys(version: string[]): Promise<string[]> {
  const v2 = version.length === 0;
  const c = await env.connect(v2 ? V21 : V14);
  try {
    const type = enumeration(Tag.ObjectType, Enum.ObjectType.SymmetricKey);
    const answer = await c.call('Locate', [
      integer(Tag.StorageStatusMask, Mask.StorageStatusMask.DestroyedStorage),
      v2 ? structure(Tag.Attributes, [type]) : structure(Tag.Attribute, [text(Tag.AttributeName, 'Object Type'), { ...type, tag: Tag.AttributeValue }]),
    ]);
    return answer.payload?.values(Tag.UniqueIdentifier, 'TextString') ?? [];
  } finally {
    await c.close();
  }
}

interface Generated {
  dataKey: string;
  wrappedKey: string;
  wrappingKey: string;
  wrapMode: string;
  encodingOption: string;
  cryptographicLength: number;
  kept: boolean;
  uniqueIdentifier?: string;
}

for (const [label, version] of [
  ['2.1', []],
  ['1.4', ['--kmip-version', '1.4']],
] as const) {
  const v = [...version];
  t.test(`${label}: datakey generate answers a data key in plaintext and wrapped under the KEK, in one request, and leaves no usable copy`, async (t) => {
    const k = await kek(t, v);
    const preActive = await keysIn(t, 'pre-active', v);
    const destroyed = await destroyedKeys(v);

    const run = await ok(t, 'datakey', 'generate', '--wrap-key', k.uid, '--wrap-mode', 'kwp', '--json', ...v);
    t.same(run.requests, [['Create', 'Get', 'Get', 'Destroy']], 'one request message: Create + wrapped Get + plain Get + Destroy');
    const out = JSON.parse(run.out) as Generated;
    t.match(out, { wrappingKey: k.uid, wrapMode: 'kwp', encodingOption: 'NoEncoding', cryptographicLength: 256, kept: false });
    t.match(out.dataKey, /^[0-9a-f]{64}$/, 'a 256-bit data key in hex');
    t.notOk('uniqueIdentifier' in out, 'no identifier of a key that no longer exists');
    const wrapped = Buffer.from(out.wrappedKey, 'base64');
    t.equal(wrapped.length, 40, 'RFC 5649 adds 8 bytes to 32');
    t.equal(aesUnwrap(k.bytes, wrapped, true).toString('hex'), out.dataKey, 'the wrapped key, unwrapped with the KEK by node:crypto, is the plaintext key');

    // Not left as a usable object: no new Pre-Active or Active key; the data key exists only as a Destroyed object.
    t.same(await keysIn(t, 'pre-active', v), preActive, 'no new Pre-Active key');
    const nowDestroyed = await destroyedKeys(v);
    t.equal(nowDestroyed.length, destroyed.length + 1, 'one more Destroyed key: the data key');
    const get = await kmipctl('get', nowDestroyed[0]!, ...v);
    t.equal(get.code, 1, 'its key material cannot be had');
    t.match(get.err, label === '2.1' ? /Object Destroyed: / : /Item Not Found: /);

    const back = await ok(t, 'datakey', 'decrypt', '--wrap-key', k.uid, '--wrapped-base64', out.wrappedKey, '--mode', 'kwp', ...v);
    t.same(back.requests, [['Register', 'Get', 'Destroy']], 'decrypt is one request message: Register (unwrapped by the server) + Get + Destroy');
    t.equal(back.out, `${out.dataKey}\n`, 'datakey decrypt answers the same plaintext');
    t.same(await keysIn(t, 'pre-active', v), preActive, 'and leaves no usable copy either');
    t.equal((await destroyedKeys(v)).length, destroyed.length + 2, 'the registered copy is destroyed too');

    const own = await ok(t, 'datakey', 'decrypt', '--wrap-key', k.uid, '--wrapped-base64', out.wrappedKey, ...v);
    t.equal(own.out, `${out.dataKey}\n`, 'without --mode the KEK’s own first Cryptographic Parameters (RFC 5649) apply');
  });

  t.test(`${label}: a deactivated KEK is refused with its Result Reason, exit 1, and nothing is kept`, async (t) => {
    const k = await kek(t, v);
    const made = JSON.parse((await ok(t, 'datakey', 'generate', '--wrap-key', k.uid, '--json', ...v)).out) as Generated;
    await ok(t, 'revoke', k.uid, '--reason', 'cessation', ...v);
    const all = async (): Promise<number> => (await ok(t, 'locate', '--type', 'symmetric', ...v)).out.split('\n').length;
    const count = await all();

    const refused = await kmipctl('datakey', 'generate', '--wrap-key', k.uid, ...v);
    t.equal(refused.code, 1);
    t.equal(refused.out, '', 'no key is printed');
    const reason = label === '2.1' ? 'Wrong Key Lifecycle State' : 'Permission Denied';
    t.match(refused.err, new RegExp(`^kmipctl datakey generate: ${reason}: Get \\(wrapped under the KEK\\): .*the whole batch was undone`), 'the reason, and which step was refused');
    t.same(refused.requests, [['Create', 'Get', 'Get', 'Destroy']]);
    t.equal(await all(), count, 'Undo: the data key Create made was rolled back');

    const decrypt = await kmipctl('datakey', 'decrypt', '--wrap-key', k.uid, '--wrapped-base64', made.wrappedKey, ...v);
    t.equal(decrypt.code, 1);
    t.match(decrypt.err, new RegExp(`^kmipctl datakey decrypt: ${reason}: Register \\(unwrap under the KEK\\): `), 'a deactivated KEK no longer unwraps');
    t.equal(await all(), count, 'nothing was registered');
  });
}

t.test('2.1: --out-plain and --out-wrapped write files (the plaintext for its owner only); RFC 3394 with --wrap-mode nist; the KEK by Name', async (t) => {
  const k = await kek(t, [], '--name', 'datakey-kek');
  const plainFile = join(env.dir, 'dek.bin');
  const wrappedFile = join(env.dir, 'dek.wrapped');
  const run = await ok(t, 'datakey', 'generate', '--wrap-key', 'datakey-kek', '--wrap-mode', 'nist', '--length', '128', '--out-plain', plainFile, '--out-wrapped', wrappedFile);
  t.same(run.requests, [['Locate'], ['Create', 'Get', 'Get', 'Destroy']], 'a KEK given by Name costs one Locate first');
  t.equal(run.out, `Data Key: 16 bytes written to ${plainFile}\nWrapped Key: 24 bytes written to ${wrappedFile}\nWrapping Key: ${k.uid}\nWrap Mode: nist\n`);
  t.equal(statSync(plainFile).mode & 0o777, 0o600, 'the plaintext key file is readable by its owner only');
  const plain = readFileSync(plainFile);
  t.equal(plain.length, 16, '--length 128');
  t.same(aesUnwrap(k.bytes, readFileSync(wrappedFile), false), plain, 'RFC 3394 unwraps to the plaintext');

  const out = join(env.dir, 'dek.again');
  const back = await ok(t, 'datakey', 'decrypt', '--wrap-key', k.uid, '--wrapped', wrappedFile, '--mode', 'nist', '--out', out);
  t.equal(back.out, `16 bytes written to ${out}\n`);
  t.same(readFileSync(out), plain, 'decrypt --out writes the same bytes');
  t.equal(statSync(out).mode & 0o777, 0o600);
});

t.test('2.1: --keep leaves the data key on the server, Pre-Active, with the same material', async (t) => {
  const k = await kek(t, []);
  const run = await ok(t, 'datakey', 'generate', '--wrap-key', k.uid, '--keep');
  t.same(run.requests, [['Create', 'Get', 'Get']], 'no Destroy in the batch');
  const lines = Object.fromEntries(run.out.trimEnd().split('\n').map((l) => l.split(': ') as [string, string]));
  t.match(lines['Unique Identifier'], /^[0-9a-f-]{36}$/);
  t.equal(lines['Wrap Mode'], 'kwp', 'the KEK’s first Cryptographic Parameters applied');
  t.equal((await ok(t, 'get', lines['Unique Identifier']!)).out, `${lines['Data Key']}\n`, 'the kept key holds the plaintext printed');
  t.equal((await ok(t, 'get-attributes', lines['Unique Identifier']!, 'State')).out, 'State: PreActive\n');
});

t.test('2.1: an altered wrapped key or the wrong mode is a Cryptographic Failure / Bad Cryptographic Parameters, never wrong bytes', async (t) => {
  const k = await kek(t, []);
  const made = JSON.parse((await ok(t, 'datakey', 'generate', '--wrap-key', k.uid, '--wrap-mode', 'kwp', '--json')).out) as Generated;
  const altered = Buffer.from(made.wrappedKey, 'base64');
  altered[5]! ^= 1;
  const run = await kmipctl('datakey', 'decrypt', '--wrap-key', k.uid, '--wrapped-base64', altered.toString('base64'), '--mode', 'kwp');
  t.equal(run.code, 1);
  t.equal(run.out, '');
  t.match(run.err, /^kmipctl datakey decrypt: Cryptographic Failure: /);

  const other = await kek(t, []);
  const wrongKek = await kmipctl('datakey', 'decrypt', '--wrap-key', other.uid, '--wrapped-base64', made.wrappedKey, '--mode', 'kwp');
  t.match(wrongKek.err, /^kmipctl datakey decrypt: Cryptographic Failure: /, 'another KEK cannot unwrap it');

  const noOaep = await kmipctl('datakey', 'generate', '--wrap-key', k.uid, '--wrap-mode', 'oaep');
  t.equal(noOaep.code, 1);
  t.match(noOaep.err, /^kmipctl datakey generate: Bad Cryptographic Parameters: /, 'a mode the KEK has no parameters for');
});

t.test('RSA-OAEP: a data key wrapped under an RSA public key, unwrapped by its private key', async (t) => {
  const params = 'CryptographicParameters=PaddingMethod:OAEP,HashingAlgorithm:SHA_256,MaskGeneratorHashingAlgorithm:SHA_256';
  const pair = (await ok(t, 'create-key-pair', '--algorithm', 'RSA', '--length', '2048', '--attr', params, '--public-usage', 'wrap-key', '--private-usage', 'unwrap-key')).out;
  const [privateUid, publicUid] = pair.trimEnd().split('\n').map((l) => l.replace(/^.*: /, ''));
  await ok(t, 'activate', publicUid!);
  await ok(t, 'activate', privateUid!);
  const made = JSON.parse((await ok(t, 'datakey', 'generate', '--wrap-key', publicUid!, '--wrap-mode', 'oaep', '--json')).out) as Generated;
  t.equal(made.wrapMode, 'oaep');
  const pkcs8 = Buffer.from((await ok(t, 'get', privateUid!, '--format', 'pkcs8')).out.trim(), 'hex');
  const local = privateDecrypt({ key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(made.wrappedKey, 'base64'));
  t.equal(local.toString('hex'), made.dataKey, 'node:crypto RSA-OAEP SHA-256 unwraps it');
  const back = await ok(t, 'datakey', 'decrypt', '--wrap-key', privateUid!, '--wrapped-base64', made.wrappedKey, '--mode', 'oaep');
  t.equal(back.out, `${made.dataKey}\n`, 'the server unwraps it with the private key');
});

t.test('command-line mistakes exit 2 before anything is sent', async (t) => {
  for (const [args, message] of [
    [['datakey'], /which command\?/],
    [['datakey', 'encrypt'], /unknown command 'encrypt'/],
    [['datakey', 'generate'], /--wrap-key KEK is required/],
    [['datakey', 'generate', '--wrap-key', 'k', '--length', '100'], /--length is 128, 192 or 256/],
    [['datakey', 'generate', '--wrap-key', 'k', '--wrap-mode', 'gcm'], /--wrap-mode is one of nist, kwp, oaep/],
    [['datakey', 'decrypt', '--wrap-key', 'k'], /--wrapped FILE or --wrapped-base64 TEXT/],
    [['datakey', 'decrypt', '--wrap-key', 'k', '--wrapped-base64', 'not base64!'], /takes base64 text/],
    [['datakey', 'decrypt', '--wrap-key', 'k', '--wrapped', join(env.dir, 'missing')], /cannot read/],
  ] as const) {
    const run = await kmipctl(...args);
    t.equal(run.code, 2, `${args.join(' ')} exits 2`);
    t.match(run.err, message);
    t.same(run.requests, [], 'nothing sent');
  }
  const help = await kmipctl('datakey', '--help');
  t.equal(help.code, 0);
  t.match(help.out, /^Usage: kmipctl datakey generate\|decrypt/);
  t.match((await kmipctl('datakey', 'generate', '--help')).out, /^Usage: kmipctl datakey generate --wrap-key KEK/);
  t.match((await kmipctl('--help')).out, /^ {2}datakey +Envelope data keys/m, 'kmipctl --help lists datakey');
});

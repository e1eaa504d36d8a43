/**
 * The kmipctl managed-object commands, run in-process against a real kmipd over mutual TLS with
 * the certificates `kmipd init` wrote, in KMIP 2.1 and 1.4 form: what a user sees on stdout and
 * stderr, and the exit codes (0 done, 1 refused by the server, 2 a mistake in the command line).
 */
import { X509Certificate, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Enum } from '../../src/kmip/registry.generated.js';
import { commands } from '../../src/cli/kmipctl.js';
import { type Run, runKmipctl } from '../support/kmipctl.js';
import { REASONS } from '../../src/cli/lifecycle.js';
import { type TestKmipd, startTestKmipd } from '../support/kmipd.js';

let env: TestKmipd;
t.before(async () => {
  env = await startTestKmipd('kmipctl-objects-', 'someone-else');
});
t.teardown(() => env.close());

const kmipctl = (...args: string[]): Promise<Run> => runKmipctl(args, { dataDir: env.dir, port: env.server.tlsAddress.port });

/** Runs a command that must succeed and answers its stdout. */
async function ok(t: Test, ...args: string[]): Promise<string> {
  const run = await kmipctl(...args);
  t.equal(run.code, 0, `kmipctl ${args.join(' ')} exits 0${run.err ? `: ${run.err}` : ''}`);
  return run.out;
}

/** The "Title: value" lines of get-attributes as a map of lists. */
async function attributes(t: Test, uid: string, ...more: string[]): Promise<Map<string, string[]>> {
  const out = await ok(t, 'get-attributes', uid, ...more);
  const map = new Map<string, string[]>();
  for (const line of out.trimEnd().split('\n')) {
    const at = line.indexOf(': ');
    const list = map.get(line.slice(0, at)) ?? [];
    list.push(line.slice(at + 2));
    map.set(line.slice(0, at), list);
  }
  return map;
}

const UID = /^[0-9a-f-]{36}\n$/;
const MANAGED_COMMANDS = [
  'create',
  'create-key-pair',
  'register',
  'get',
  'get-attributes',
  'get-attribute-list',
  'add-attribute',
  'modify-attribute',
  'delete-attribute',
  'set-attribute',
  'adjust-attribute',
  'locate',
  'check',
  'activate',
  'revoke',
  'destroy',
  'archive',
  'recover',
  'rekey',
  'rekey-key-pair',
  'derive-key',
  'obtain-lease',
  'get-usage-allocation',
];

t.test('kmipctl --help lists a command per managed-object operation, and each has its own --help', async (t) => {
  const help = await kmipctl('--help');
  for (const name of MANAGED_COMMANDS) {
    t.match(help.out, new RegExp(`^  ${name} +\\S`, 'm'), `--help lists ${name}`);
    t.ok(commands.has(name));
    const own = await kmipctl(name, '--help');
    t.equal(own.code, 0);
    t.match(own.out, new RegExp(`^Usage: kmipctl ${name} `), `${name} --help shows its usage`);
    t.match(own.out, /--kmip-version M\.N/, `${name} --help shows the connection options`);
  }
  const revoke = await kmipctl('revoke', '--help');
  for (const code of Object.keys(Enum.RevocationReasonCode)) {
    const name = Object.entries(REASONS).find(([, v]) => v === code)?.[0];
    t.ok(name !== undefined && revoke.out.includes(name), `revoke --reason covers ${code}`);
  }
});

t.test('2.1: create an AES key with attributes, read it back with get, get-attributes, get-attribute-list and locate', async (t) => {
  const uid = (await ok(t, 'create', '--algorithm', 'AES', '--length', '256', '--name', 'cli-key', '--usage', 'encrypt,decrypt', '--group', 'payroll')).trim();
  t.match(`${uid}\n`, UID, 'create prints the Unique Identifier');

  const hex = await ok(t, 'get', uid);
  t.match(hex, /^[0-9a-f]{64}\n$/, 'get prints 32 key bytes in hex');
  const file = join(env.dir, 'cli-key.bin');
  t.equal(await ok(t, 'get', uid, '--out', file), `32 bytes written to ${file}\n`);
  t.equal(readFileSync(file).toString('hex'), hex.trim(), '--out writes the same bytes');
  t.equal(statSync(file).mode & 0o777, 0o600, 'the key file is readable by its owner only');
  const json = JSON.parse(await ok(t, 'get', uid, '--json')) as Record<string, unknown>;
  t.match(json, { uniqueIdentifier: uid, objectType: 'SymmetricKey', keyFormatType: 'Raw', cryptographicAlgorithm: 'AES', cryptographicLength: 256, wrapped: false, value: hex.trim() });

  const attrs = await attributes(t, uid);
  t.same(attrs.get('Cryptographic Algorithm'), ['AES']);
  t.same(attrs.get('Cryptographic Length'), ['256']);
  t.same(attrs.get('Name'), ['cli-key']);
  t.same(attrs.get('Cryptographic Usage Mask'), ['Encrypt,Decrypt'], 'a mask prints as names');
  t.same(attrs.get('Object Group'), ['payroll']);
  t.same(attrs.get('State'), ['PreActive']);
  t.match(attrs.get('Initial Date')?.[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/, 'dates print as ISO 8601');
  const some = await attributes(t, uid, 'State', 'cryptographic-length');
  t.same([...some.keys()].sort(), ['Cryptographic Length', 'State'], 'only the attributes named, in any spelling');
  const someJson = JSON.parse(await ok(t, 'get-attributes', uid, 'State', '--json')) as unknown;
  t.same(someJson, { uniqueIdentifier: uid, attributes: [{ name: 'State', value: 'PreActive' }] });

  const list = (await ok(t, 'get-attribute-list', uid)).trimEnd().split('\n');
  for (const name of ['Unique Identifier', 'Object Type', 'Cryptographic Algorithm', 'Name', 'Object Group', 'State']) t.ok(list.includes(name), `get-attribute-list names ${name}`);

  t.equal(await ok(t, 'locate', '--name', 'cli-key'), `${uid}\n`, 'locate --name prints the uid');
  t.equal(await ok(t, 'locate', '--group', 'payroll', '--type', 'symmetric', '--state', 'pre-active'), `${uid}\n`, 'locate by group, type and state');
  t.equal(await ok(t, 'locate', '--attr', 'CryptographicUsageMask=encrypt,decrypt', '--attr', 'Name=cli-key'), `${uid}\n`, 'locate --attr with a mask');
  t.equal(await ok(t, 'locate', '--name', 'cli-key', '--state', 'active'), '', 'nothing matches a wrong state');
  await ok(t, 'create', '--length', '128', '--group', 'payroll');
  const paged = JSON.parse(await ok(t, 'locate', '--group', 'payroll', '--max', '1', '--offset', '1', '--json')) as { located: number; uniqueIdentifiers: string[] };
  t.equal(paged.located, 2, 'Located Items counts every match');
  t.same(paged.uniqueIdentifiers, [uid], 'newest first: the second match is the first key');
});

t.test('2.1: register a raw AES key and a secret from a file; get returns the same bytes', async (t) => {
  const material = randomBytes(32);
  const uid = (await ok(t, 'register', '--type', 'symmetric', '--hex', material.toString('hex'), '--name', 'imported', '--usage', 'encrypt')).trim();
  t.equal(await ok(t, 'get', uid), `${material.toString('hex')}\n`);
  t.same((await attributes(t, uid, 'CryptographicLength'))?.get('Cryptographic Length'), ['256'], 'the length comes from the bytes');

  const file = join(env.dir, 'secret.txt');
  writeFileSync(file, 'correct horse battery staple');
  const secret = JSON.parse(await ok(t, 'register', '--type', 'secret', '--file', file, '--json')) as { uniqueIdentifier: string };
  const got = JSON.parse(await ok(t, 'get', secret.uniqueIdentifier, '--json')) as Record<string, unknown>;
  t.match(got, { objectType: 'SecretData', keyFormatType: 'Opaque', value: Buffer.from('correct horse battery staple').toString('hex') });

  const refused = await kmipctl('get', uid, '--format', 'pkcs8');
  t.equal(refused.code, 1);
  t.match(refused.err, /^kmipctl get: Key Format Type Not Supported: /, 'a format the server cannot give names the Result Reason');
});

t.test('2.1: attribute edits — add, modify by current value, delete, set, adjust; vendor attributes as x-name', async (t) => {
  const uid = (await ok(t, 'create', '--name', 'edit-me')).trim();
  t.equal(await ok(t, 'add-attribute', uid, 'x-owner=alice'), `${uid}\n`);
  await ok(t, 'add-attribute', uid, 'Name=edit-me-too');
  await ok(t, 'add-attribute', uid, 'ApplicationSpecificInformation=ApplicationNamespace:ssl,ApplicationData:www.example.com');
  let attrs = await attributes(t, uid);
  t.same(attrs.get('x-owner'), ['alice'], 'a vendor attribute');
  t.same(attrs.get('Name'), ['edit-me', 'edit-me-too'], 'a second Name');
  t.same(attrs.get('Application Specific Information'), ['ApplicationNamespace:ssl,ApplicationData:www.example.com'], 'a structure written Field:value');

  await ok(t, 'modify-attribute', uid, 'Name=renamed', '--current', 'edit-me-too');
  await ok(t, 'modify-attribute', uid, 'x-owner=bob');
  await ok(t, 'set-attribute', uid, 'ContactInformation=ops@example.com');
  await ok(t, 'set-attribute', uid, 'DeactivationDate=2030-01-31');
  await ok(t, 'adjust-attribute', uid, 'x-uses', 'increment', '--by', '3');
  attrs = await attributes(t, uid);
  t.same(attrs.get('Name'), ['edit-me', 'renamed'], 'modify changed the instance --current named');
  t.same(attrs.get('x-owner'), ['bob']);
  t.same(attrs.get('Contact Information'), ['ops@example.com']);
  t.same(attrs.get('Deactivation Date'), ['2030-01-31T00:00:00+00:00'], 'a date given as an ISO 8601 day');
  t.same(attrs.get('x-uses'), ['3'], 'an absent attribute adjusts from 0');

  await ok(t, 'delete-attribute', uid, 'Name=renamed');
  await ok(t, 'delete-attribute', uid, 'x-owner');
  attrs = await attributes(t, uid);
  t.same(attrs.get('Name'), ['edit-me'], 'NAME=VALUE deletes that instance');
  t.notOk(attrs.has('x-owner'), 'NAME deletes every instance');

  const readOnly = await kmipctl('modify-attribute', uid, 'CryptographicAlgorithm=DES');
  t.equal(readOnly.code, 1);
  t.match(readOnly.err, /^kmipctl modify-attribute: Attribute Read Only: /, 'a server attribute cannot be changed, and the reason says so');
  const duplicate = await kmipctl('add-attribute', uid, 'Name=cli-key');
  t.equal(duplicate.code, 1);
  t.match(duplicate.err, /Non Unique Name Attribute/);
});

t.test('2.1: activate, revoke for a compromise, destroy; a refused step says why and exits 1', async (t) => {
  const uid = (await ok(t, 'create', '--name', 'life')).trim();
  t.equal(await ok(t, 'activate', uid), `${uid}\n`);
  t.same((await attributes(t, uid, 'State')).get('State'), ['Active']);
  const early = await kmipctl('destroy', uid);
  t.equal(early.code, 1, 'destroy of an Active key exits 1');
  t.match(early.err, /^kmipctl destroy: Wrong Key Lifecycle State: /);
  t.equal(early.out, '');

  t.equal(await ok(t, 'revoke', uid, '--reason', 'key-compromise', '--message', 'laptop stolen', '--compromise-date', '2026-01-01T08:00:00Z'), `${uid}\n`);
  const attrs = await attributes(t, uid);
  t.same(attrs.get('State'), ['Compromised']);
  t.same(attrs.get('Compromise Occurrence Date'), ['2026-01-01T08:00:00+00:00']);
  t.same(attrs.get('Revocation Reason'), ['RevocationReasonCode:KeyCompromise,RevocationMessage:laptop stolen']);

  t.equal(await ok(t, 'destroy', uid, '--json'), `${JSON.stringify({ uniqueIdentifier: uid }, null, 2)}\n`);
  const gone = await kmipctl('get', uid);
  t.equal(gone.code, 1);
  t.match(gone.err, /^kmipctl get: Object Destroyed: /, 'the key material is gone');
  const missing = await kmipctl('activate', 'no-such-object');
  t.equal(missing.code, 1);
  t.match(missing.err, /^kmipctl activate: Object Not Found: /);
});

t.test('1.4: the same commands send Template-Attributes, Attribute Names and Attribute Indexes', async (t) => {
  const v = ['--kmip-version', '1.4'];
  const uid = (await ok(t, 'create', '--length', '128', '--name', 'v14-cli', '--usage', 'encrypt', '--attr', 'x-team=blue', ...v)).trim();
  t.match(`${uid}\n`, UID);
  t.match(await ok(t, 'get', uid, ...v), /^[0-9a-f]{32}\n$/, '16 key bytes');
  let attrs = await attributes(t, uid, ...v);
  t.same(attrs.get('Cryptographic Length'), ['128']);
  t.same(attrs.get('Name'), ['v14-cli']);
  t.same(attrs.get('x-team'), ['blue'], 'a custom attribute through a 1.x Template-Attribute');
  t.equal(await ok(t, 'locate', '--name', 'v14-cli', '--type', 'symmetric', ...v), `${uid}\n`, '1.x Locate with Attribute structures');
  t.ok((await ok(t, 'get-attribute-list', uid, ...v)).split('\n').includes('Cryptographic Algorithm'));

  await ok(t, 'add-attribute', uid, 'x-team=red', ...v);
  const added = JSON.parse(await ok(t, 'add-attribute', uid, 'x-team=green', '--json', ...v)) as { attributeIndex?: number };
  t.equal(added.attributeIndex, 2, 'a 1.x answer names the new instance’s Attribute Index');
  await ok(t, 'modify-attribute', uid, 'x-team=yellow', '--index', '1', ...v);
  await ok(t, 'delete-attribute', uid, 'x-team', '--index', '0', ...v);
  attrs = await attributes(t, uid, 'x-team', ...v);
  t.same(attrs.get('x-team'), ['yellow', 'green'], 'index 1 modified, index 0 deleted');

  const reg = (await ok(t, 'register', '--type', 'symmetric', '--hex', '00'.repeat(16), '--name', 'v14-reg', ...v)).trim();
  t.equal(await ok(t, 'get', reg, ...v), `${'00'.repeat(16)}\n`);
  await ok(t, 'activate', reg, ...v);
  await ok(t, 'revoke', reg, '--reason', 'cessation', ...v);
  t.same((await attributes(t, reg, 'State', ...v)).get('State'), ['Deactivated'], 'a non-compromise reason deactivates');
  await ok(t, 'destroy', reg, ...v);

  const v2only = await kmipctl('add-attribute', uid, 'QuantumSafe=true', ...v);
  t.equal(v2only.code, 2, 'an attribute 1.x lacks is a usage error, not silently dropped');
  t.match(v2only.err, /Quantum Safe is not an attribute in KMIP 1\.x/);
});

t.test('an operation the server does not support prints Operation Not Supported and exits 1', async (t) => {
  const uid = (await ok(t, 'create')).trim();
  const set = await kmipctl('set-attribute', uid, 'ContactInformation=x', '--kmip-version', '1.4');
  t.equal(set.code, 1);
  t.equal(set.out, '');
  t.match(set.err, /^kmipctl set-attribute: Operation Not Supported: operation SetAttribute is not supported in KMIP 1\.4\n$/);
  const adjust = await kmipctl('adjust-attribute', uid, 'x-uses', 'increment', '--kmip-version', '1.2');
  t.equal(adjust.code, 1);
  t.match(adjust.err, /Operation Not Supported/);
});

t.test('mistakes in the command line exit 2 with the reason and the usage, and send nothing', async (t) => {
  const cases: [string[], RegExp][] = [
    [['get'], /which object\? give its Unique Identifier/],
    [['get', 'u', '--kmip-version', '2'], /--kmip-version must look like 2\.1/],
    [['create', '--usage', 'encrypt,fly'], /--usage: unknown value "fly"/],
    [['create', '--algorithm', 'ROT13'], /--algorithm: unknown value "ROT13"/],
    [['add-attribute', 'u', 'Colour=blue'], /"Colour" is not a KMIP attribute name/],
    [['add-attribute', 'u', 'State'], /expected|NAME=VALUE/],
    [['set-attribute', 'u', 'DeactivationDate=next tuesday'], /not an ISO 8601 date/],
    [['locate', '--state', 'sleeping'], /--state: unknown value "sleeping"/],
    [['revoke', 'u', '--reason', 'bored'], /--reason must be one of unspecified, key-compromise/],
    [['revoke', 'u', '--compromise-date', '2026-01-01'], /--compromise-date goes with --reason key-compromise/],
    [['register', '--type', 'symmetric'], /give the object as --file PATH or --hex HEX/],
    [['register', '--type', 'private', '--hex', '0011'], /not a private key in PEM or DER/],
    [['register', '--type', 'private', '--hex', Buffer.from('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n').toString('hex')], /not a private key in PEM or DER/],
    [['register', '--type', 'certificate', '--hex', '3003020100'], /not an X\.509 certificate/],
    [['register', '--type', 'secret', '--file', '/nonexistent/secret'], /cannot read \/nonexistent\/secret/],
    [['get', 'u', '--wrap-key', 'k', '--wrap-mode', 'rot13'], /--wrap-mode is one of nist, kwp, oaep/],
    [['modify-attribute', 'u', 'Name=a', '--index', '1'], /--index is the KMIP 1\.x way/],
    [['derive-key', 'u', '--length', '128'], /--method is required/],
    [['create-key-pair', '--algorithm', 'EC', '--length', '256'], /sized by --curve/],
  ];
  for (const [args, why] of cases) {
    // Port 1: a command that tried to connect would fail with ECONNREFUSED and exit 1.
    const { code, err } = await runKmipctl(args, { dataDir: env.dir, port: 1 });
    t.equal(code, 2, `kmipctl ${args.join(' ')} exits 2`);
    t.match(err, why);
    t.match(err, /\nUsage: kmipctl /, 'with the usage');
  }
});

/** Commands for operations other engineers are adding: tested end to end once the server lists them. */
t.test('operations the server lists in Query answer through their commands', async (t) => {
  const listed = (JSON.parse(await ok(t, 'query', 'Operations', '--json')) as { value: string }[]).map((f) => f.value);
  const has = (op: string): boolean => listed.includes(op);
  const objectTypes = (JSON.parse(await ok(t, 'query', 'Objects', '--json')) as { value: string }[]).map((f) => f.value);

  t.test('create-key-pair prints both Unique Identifiers; get converts the keys to the format asked', { skip: !has('CreateKeyPair') && 'the server has no Create Key Pair yet' }, async (t) => {
    const pair = JSON.parse(await ok(t, 'create-key-pair', '--algorithm', 'RSA', '--length', '2048', '--private-name', 'rsa-priv', '--private-usage', 'sign', '--public-usage', 'verify', '--group', 'signing', '--json')) as { privateKey: string; publicKey: string };
    t.match(`${pair.privateKey}\n`, UID);
    t.match(`${pair.publicKey}\n`, UID);
    t.equal(await ok(t, 'locate', '--name', 'rsa-priv', '--type', 'private'), `${pair.privateKey}\n`);
    t.same((await ok(t, 'locate', '--group', 'signing')).trimEnd().split('\n').sort(), [pair.privateKey, pair.publicKey].sort(), '--group goes on both keys');
    const priv = await attributes(t, pair.privateKey, 'CryptographicAlgorithm', 'CryptographicLength', 'CryptographicUsageMask');
    t.same([priv.get('Cryptographic Algorithm'), priv.get('Cryptographic Length'), priv.get('Cryptographic Usage Mask')], [['RSA'], ['2048'], ['Sign']]);

    const pkcs8 = Buffer.from((await ok(t, 'get', pair.privateKey, '--format', 'pkcs8')).trim(), 'hex');
    const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    t.equal(key.asymmetricKeyDetails?.modulusLength, 2048, '--format pkcs8 gives a PKCS#8 RSA key');
    const spki = Buffer.from((await ok(t, 'get', pair.publicKey, '--format', 'x509')).trim(), 'hex');
    t.ok(createPublicKey({ key: spki, format: 'der', type: 'spki' }).equals(createPublicKey(key)), '--format x509 gives the matching public key');
    const transparent = await ok(t, 'get', pair.privateKey, '--format', 'transparent');
    t.match(transparent, /^Modulus: [0-9a-f]+\n/m, 'a transparent RSA key prints its fields');
    t.match(transparent, /^PrivateExponent: [0-9a-f]+$/m);

    const ec = JSON.parse(await ok(t, 'create-key-pair', '--algorithm', 'EC', '--curve', 'P-384', '--private-usage', 'sign', '--public-usage', 'verify', '--json')) as { privateKey: string; publicKey: string };
    const ecAttrs = await attributes(t, ec.publicKey, 'CryptographicLength');
    t.same(ecAttrs.get('Cryptographic Length'), ['384'], 'the curve sets the length');
    const ecKey = createPublicKey({ key: Buffer.from((await ok(t, 'get', ec.publicKey, '--format', 'x509')).trim(), 'hex'), format: 'der', type: 'spki' });
    t.equal(ecKey.asymmetricKeyDetails?.namedCurve, 'secp384r1');

    const v14 = (await ok(t, 'create-key-pair', '--algorithm', 'EC', '--curve', 'P-256', '--private-usage', 'sign', '--public-usage', 'verify', '--public-name', 'v14-ec-pub', '--kmip-version', '1.4')).split('\n');
    t.match(v14[0], /^Private Key: [0-9a-f-]{36}$/, '1.4: Common / Private / Public Key Template-Attributes');
    t.equal(await ok(t, 'locate', '--name', 'v14-ec-pub', '--kmip-version', '1.4'), `${v14[1]!.replace('Public Key: ', '')}\n`);

    if (has('ReKeyKeyPair')) {
      await ok(t, 'activate', pair.privateKey);
      await ok(t, 'activate', pair.publicKey);
      const next = JSON.parse(await ok(t, 'rekey-key-pair', pair.privateKey, '--json')) as { privateKey: string; publicKey: string };
      t.match(`${next.privateKey}\n`, UID, 'rekey-key-pair prints the new pair');
      t.not(next.privateKey, pair.privateKey);
    }
  });

  t.test('register brings private keys, public keys and certificates from PEM or DER', { skip: !objectTypes.includes('PrivateKey') && 'the server registers no asymmetric objects yet' }, async (t) => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = join(env.dir, 'ec-key.pem');
    writeFileSync(pem, privateKey.export({ format: 'pem', type: 'sec1' }));
    const priv = (await ok(t, 'register', '--type', 'private', '--file', pem, '--name', 'ec-imported', '--usage', 'sign')).trim();
    const der = join(env.dir, 'ec-pub.der');
    writeFileSync(der, publicKey.export({ format: 'der', type: 'spki' }));
    const pub = (await ok(t, 'register', '--type', 'public', '--file', der, '--usage', 'verify')).trim();
    const got = JSON.parse(await ok(t, 'get', priv, '--json')) as { keyFormatType: string; value: string; cryptographicAlgorithm: string; cryptographicLength: number };
    t.match(got, { keyFormatType: 'PKCS_8', cryptographicAlgorithm: 'EC', cryptographicLength: 256 }, 'a SEC 1 PEM key is registered as PKCS#8');
    t.same(Buffer.from(got.value, 'hex'), privateKey.export({ format: 'der', type: 'pkcs8' }));
    t.equal(await ok(t, 'get', pub), `${publicKey.export({ format: 'der', type: 'spki' }).toString('hex')}\n`, 'the public key comes back as SubjectPublicKeyInfo');

    const cert = (await ok(t, 'register', '--type', 'certificate', '--file', join(env.dir, 'ca.pem'), '--name', 'our-ca')).trim();
    const out = join(env.dir, 'ca-back.der');
    await ok(t, 'get', cert, '--out', out);
    t.equal(new X509Certificate(readFileSync(out)).fingerprint256, new X509Certificate(readFileSync(join(env.dir, 'ca.pem'))).fingerprint256, 'the certificate comes back as its DER');
  });

  t.test('get --wrap-key wraps the key under another key (AES Key Wrap, RFC 3394)', async (t) => {
    const wrapper = (await ok(t, 'create', '--usage', 'wrap-key,unwrap-key', '--attr', 'CryptographicParameters=BlockCipherMode:NISTKeyWrap')).trim();
    await ok(t, 'activate', wrapper);
    const target = (await ok(t, 'create', '--usage', 'encrypt,decrypt')).trim();
    const plain = Buffer.from((await ok(t, 'get', target)).trim(), 'hex');
    const wrapped = JSON.parse(await ok(t, 'get', target, '--wrap-key', wrapper, '--wrap-mode', 'nist', '--wrap-encoding', 'none', '--json')) as { wrapped: boolean; value: string };
    t.equal(wrapped.wrapped, true);
    const kek = Buffer.from((await ok(t, 'get', wrapper)).trim(), 'hex');
    const decipher = createDecipheriv('id-aes256-wrap', kek, Buffer.from('A6A6A6A6A6A6A6A6', 'hex'));
    t.same(Buffer.concat([decipher.update(Buffer.from(wrapped.value, 'hex')), decipher.final()]), plain, 'unwrapping with the wrapping key gives the key');
    const kwp = await kmipctl('get', target, '--wrap-key', wrapper, '--wrap-mode', 'kwp');
    t.equal(kwp.code, 1, 'a mode the wrapping key does not list is refused (KMIP 2.1 §7.18)');
    t.match(kwp.err, /^kmipctl get: Bad Cryptographic Parameters: /);
    const refused = await kmipctl('get', target, '--wrap-key', target);
    t.equal(refused.code, 1, 'a key without the Wrap Key usage cannot wrap');
    t.match(refused.err, /^kmipctl get: [A-Z][\w ]+: /);
  });

  t.test('derive-key derives a key with PBKDF2 from a password', { skip: !has('DeriveKey') && 'the server has no Derive Key yet' }, async (t) => {
    const password = (await ok(t, 'register', '--type', 'secret', '--hex', Buffer.from('hunter2').toString('hex'), '--usage', 'derive-key')).trim();
    await ok(t, 'activate', password);
    const salt = randomBytes(16);
    const uid = (await ok(t, 'derive-key', password, '--method', 'PBKDF2', '--salt', salt.toString('hex'), '--iterations', '1000', '--hash', 'SHA-256', '--length', '256', '--usage', 'encrypt')).trim();
    t.match(`${uid}\n`, UID);
    t.equal(await ok(t, 'get', uid), `${pbkdf2Sync('hunter2', salt, 1000, 32, 'sha256').toString('hex')}\n`, 'the derived key is PBKDF2-HMAC-SHA256 of the password');
  });

  t.test('rekey prints the replacement key', { skip: !has('ReKey') && 'the server has no Re-key yet' }, async (t) => {
    const uid = (await ok(t, 'create', '--name', 'to-rekey')).trim();
    await ok(t, 'activate', uid);
    const next = (await ok(t, 'rekey', uid, '--offset', '0')).trim();
    t.match(`${next}\n`, UID);
    t.not(next, uid);
  });

  t.test('archive and recover', { skip: !(has('Archive') && has('Recover')) && 'the server has no Archive/Recover yet' }, async (t) => {
    const uid = (await ok(t, 'create')).trim();
    t.equal(await ok(t, 'archive', uid), `${uid}\n`);
    const archived = await kmipctl('get', uid);
    t.equal(archived.code, 1);
    t.match(archived.err, /^kmipctl get: Object Archived: /, 'an archived key is off-line');
    t.equal(await ok(t, 'recover', uid), `${uid}\n`);
    t.match(await ok(t, 'get', uid), /^[0-9a-f]{64}\n$/, 'a recovered key can be fetched again');
  });

  t.test('check of an allowed use prints the uid; of a forbidden one names the reason', { skip: !has('Check') && 'the server has no Check yet' }, async (t) => {
    const uid = (await ok(t, 'create', '--usage', 'encrypt,decrypt')).trim();
    t.equal(await ok(t, 'check', uid, '--usage', 'encrypt'), `${uid}\n`);
    const refused = await kmipctl('check', uid, '--usage', 'sign');
    t.equal(refused.code, 1);
    t.match(refused.err, /^kmipctl check: Incompatible Cryptographic Usage Mask/);
  });

  t.test('get-usage-allocation takes uses from a key’s Usage Limits', { skip: !has('GetUsageAllocation') && 'the server has no Get Usage Allocation yet' }, async (t) => {
    const uid = (await ok(t, 'create', '--usage', 'encrypt', '--attr', 'UsageLimits=UsageLimitsTotal:10,UsageLimitsUnit:Object')).trim();
    await ok(t, 'activate', uid);
    t.equal(await ok(t, 'get-usage-allocation', uid, '--count', '4'), `${uid}\n`);
    t.match((await attributes(t, uid, 'UsageLimits')).get('Usage Limits'), [/UsageLimitsCount:6/], 'six uses remain');
    const over = await kmipctl('get-usage-allocation', uid, '--count', '7');
    t.equal(over.code, 1, 'more than remains is refused');
    t.match(over.err, /^kmipctl get-usage-allocation: [A-Z][\w ]+: /);
  });

  t.test('obtain-lease prints the lease', { skip: !has('ObtainLease') && 'the server has no Obtain Lease yet' }, async (t) => {
    const uid = (await ok(t, 'create')).trim();
    await ok(t, 'activate', uid);
    t.match(await ok(t, 'obtain-lease', uid), /^Lease Time: \d+ s\nLast Change Date: \d{4}-/);
  });
});

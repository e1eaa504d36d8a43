import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import t, { type Test } from 'tap';
import { createCa, createDevPki, issueCertificate, writeDevPki, type CertAndKey, type DevPki } from '../../src/pki/devpki.js';

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

interface HandshakeResult {
  /** CN of the client certificate as the server saw it, when the server accepted the client. */
  peerCN?: string;
  /** Why the chain does not verify (OpenSSL's code), as a server that does not reject reports it. */
  authorizationError?: string;
  clientGotReply: boolean;
}

/**
 * A real mutual-TLS exchange on 127.0.0.1: the server answers "ok" to a client it accepted.
 * A rejecting Node server drops a bad client without saying why, so `lenient` runs one that
 * accepts everyone and reports the verification error instead.
 */
async function handshake(server: CertAndKey, ca: string, client: CertAndKey, extra: { server?: tls.TlsOptions; lenient?: boolean } = {}): Promise<HandshakeResult> {
  const result: HandshakeResult = { clientGotReply: false };
  const srv = tls.createServer({ ...server, ca, requestCert: true, rejectUnauthorized: !extra.lenient, ...extra.server }, (socket) => {
    if (socket.authorized) {
      const cn: string | string[] | undefined = socket.getPeerCertificate().subject.CN;
      const name = Array.isArray(cn) ? cn[0] : cn;
      if (name !== undefined) result.peerCN = name;
    } else {
      result.authorizationError = String(socket.authorizationError);
    }
    socket.end('ok');
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    // Host 127.0.0.1 without a servername: the client checks the server's IP SAN.
    const socket = tls.connect({ host: '127.0.0.1', port, ...client, ca });
    socket.on('data', (data: Buffer) => {
      if (data.toString() === 'ok') result.clientGotReply = true;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return result;
}

/** The client is refused by a rejecting server, for the reason a lenient one reports. */
async function assertRefused(t: Test, server: CertAndKey, ca: string, client: CertAndKey, reason: string): Promise<void> {
  const strict = await handshake(server, ca, client);
  t.equal(strict.peerCN, undefined, 'the server never accepted the connection');
  t.notOk(strict.clientGotReply, 'the client got no reply');
  const lenient = await handshake(server, ca, client, { lenient: true });
  t.equal(lenient.authorizationError, reason);
}

function client(pki: DevPki, index = 0): CertAndKey {
  const c = pki.clients[index];
  if (!c) throw new Error(`no client ${index}`);
  return c;
}

t.test('the generated CA, server and client certificates chain and carry the required extensions', async (t) => {
  const before = Date.now();
  const pki = await createDevPki({ days: 30 });
  const ca = new X509Certificate(pki.ca.cert);
  const server = new X509Certificate(pki.server.cert);
  const kmipctl = new X509Certificate(client(pki).cert);

  t.ok(ca.ca, 'the CA certificate says CA:true');
  t.ok(ca.verify(ca.publicKey), 'the CA is self-signed');
  for (const [name, cert] of [['server', server], ['client', kmipctl]] as const) {
    t.ok(cert.checkIssued(ca), `${name} names the CA as issuer`);
    t.ok(cert.verify(ca.publicKey), `${name} is signed by the CA key`);
    t.notOk(cert.ca, `${name} is not a CA`);
    t.ok(new Date(cert.validFrom).getTime() <= before, `${name} is valid already`);
    const days = (new Date(cert.validTo).getTime() - Date.now()) / 86_400_000;
    t.ok(days > 29 && days <= 30, `${name} is valid for 30 days (${days.toFixed(2)})`);
    t.match(cert.serialNumber, /^[4-7][0-9A-F]{31}$/, `${name} has a positive 16-byte serial`);
  }
  t.not(server.serialNumber, kmipctl.serialNumber, 'serials differ');

  t.match(server.subjectAltName, /DNS:localhost/);
  t.match(server.subjectAltName, /IP Address:127\.0\.0\.1/);
  t.match(server.subjectAltName, /IP Address:0:0:0:0:0:0:0:1/);
  t.ok(server.checkHost('localhost'), 'server is valid for localhost');
  t.ok(server.checkIP('127.0.0.1'), 'server is valid for 127.0.0.1');
  t.same(server.keyUsage, [SERVER_AUTH], 'server has EKU serverAuth only');

  t.match(kmipctl.subject, /^CN=kmipctl$/m);
  t.equal(kmipctl.subjectAltName, 'DNS:kmipctl', 'client carries its name as a DNS SAN too');
  t.same(kmipctl.keyUsage, [CLIENT_AUTH], 'client has EKU clientAuth only');

  for (const [name, pair] of [['ca', pki.ca], ['server', pki.server], ['client', client(pki)]] as const) {
    t.match(pair.key, /^-----BEGIN PRIVATE KEY-----\n/, `${name} key is PKCS#8 PEM`);
    const key = createPrivateKey(pair.key);
    t.equal(key.asymmetricKeyType, 'ec', `${name} key is EC`);
    t.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1', `${name} key is on P-256`);
    t.ok(new X509Certificate(pair.cert).checkPrivateKey(key), `${name} key matches its certificate`);
  }
});

t.test('server and client names are taken from the options', async (t) => {
  const pki = await createDevPki({ serverNames: ['kms.example.test', '10.1.2.3'], clientNames: ['alice', 'backup-1'] });
  const server = new X509Certificate(pki.server.cert);
  t.match(server.subject, /CN=kms\.example\.test/);
  t.equal(server.subjectAltName, 'DNS:kms.example.test, IP Address:10.1.2.3');
  t.same(pki.clients.map((c) => c.name), ['alice', 'backup-1']);
  t.match(new X509Certificate(client(pki, 1).cert).subject, /CN=backup-1/);
});

t.test('a real mutual-TLS handshake accepts the issued client and sees its CN', async (t) => {
  const pki = await createDevPki();
  const result = await handshake(pki.server, pki.ca.cert, client(pki));
  t.equal(result.peerCN, 'kmipctl');
  t.ok(result.clientGotReply, 'the client read the server reply, so it accepted the server certificate for 127.0.0.1');
});

t.test('an expired client certificate is refused by the TLS server', async (t) => {
  const pki = await createDevPki();
  const day = 86_400_000;
  const expired = await issueCertificate(pki.ca, { commonName: 'old', eku: 'client', notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
  await assertRefused(t, pki.server, pki.ca.cert, expired, 'CERT_HAS_EXPIRED');
});

t.test('a client certificate from another CA is refused by the TLS server', async (t) => {
  const pki = await createDevPki();
  const otherCa = await createCa({ commonName: 'some other CA' });
  const stranger = await issueCertificate(otherCa, { commonName: 'kmipctl', eku: 'client' });
  t.ok(new X509Certificate(stranger.cert).verify(new X509Certificate(otherCa.cert).publicKey), 'it is a valid certificate of the other CA');
  await assertRefused(t, pki.server, pki.ca.cert, stranger, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

t.test('a client certificate without clientAuth cannot authenticate a client', async (t) => {
  const pki = await createDevPki();
  const serverOnly = await issueCertificate(pki.ca, { commonName: 'not-a-client', eku: 'server' });
  await assertRefused(t, pki.server, pki.ca.cert, serverOnly, 'INVALID_PURPOSE');
});

t.test('the RSA variant works, also over TLS 1.2 with RSA key exchange (KMIP profile suite)', async (t) => {
  const pki = await createDevPki({ algorithm: 'rsa' });
  for (const pair of [pki.ca, pki.server, client(pki)]) {
    const key = createPrivateKey(pair.key);
    t.equal(key.asymmetricKeyType, 'rsa');
    t.equal(key.asymmetricKeyDetails?.modulusLength, 2048);
  }
  t.same(new X509Certificate(pki.server.cert).keyUsage, [SERVER_AUTH]);

  const tls13 = await handshake(pki.server, pki.ca.cert, client(pki));
  t.equal(tls13.peerCN, 'kmipctl', 'TLS 1.3');
  const rsaKx = await handshake(pki.server, pki.ca.cert, client(pki), {
    server: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES256-SHA256' },
  });
  t.equal(rsaKx.peerCN, 'kmipctl', 'TLS_RSA_WITH_AES_256_CBC_SHA256 needs keyEncipherment on the server certificate');
});

t.test('an EC CA can issue an RSA leaf', async (t) => {
  const pki = await createDevPki();
  const rsaClient = await issueCertificate(pki.ca, { commonName: 'rsa-client', eku: 'client', algorithm: 'rsa' });
  t.equal(createPrivateKey(rsaClient.key).asymmetricKeyType, 'rsa');
  t.equal((await handshake(pki.server, pki.ca.cert, rsaClient)).peerCN, 'rsa-client');
});

t.test('writeDevPki writes the PEM files with private keys 0600 in a 0700 directory', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'kmipd-pki-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const dir = join(root, 'nested', 'pki');
  const pki = await createDevPki({ clientNames: ['kmipctl', 'alice'] });
  const files = await writeDevPki(dir, pki);

  t.same((await readdir(dir)).sort(), [
    'ca-key.pem', 'ca.pem', 'client-alice-key.pem', 'client-alice.pem', 'client-kmipctl-key.pem', 'client-kmipctl.pem', 'server-key.pem', 'server.pem',
  ]);
  t.equal((await stat(dir)).mode & 0o777, 0o700);
  for (const key of [files.caKey, files.serverKey, ...files.clients.map((c) => c.key)]) t.equal((await stat(key)).mode & 0o777, 0o600, key);
  for (const cert of [files.ca, files.server, ...files.clients.map((c) => c.cert)]) t.equal((await stat(cert)).mode & 0o777, 0o644, cert);
  t.same(files.clients.map((c) => c.name), ['kmipctl', 'alice']);
  t.equal(files.clients[1]?.key, join(dir, 'client-alice-key.pem'));
});

t.test('writeDevPki refuses a client name that is not a safe file name', async (t) => {
  const pki = await createDevPki({ clientNames: ['../escape'] });
  await t.rejects(writeDevPki(join(tmpdir(), 'kmipd-never-written'), pki), /client name "\.\.\/escape"/);
});

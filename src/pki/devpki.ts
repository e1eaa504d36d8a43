/**
 * A development PKI for kmipd: one CA, a server certificate and client certificates, as PEM.
 * ECDSA P-256 by default (a mutual-TLS handshake costs about a third less CPU than with
 * RSA-2048), RSA-2048 on request for clients that only speak TLS 1.2's RSA key-exchange suites.
 * Nothing here is fit for production: the CA key sits in a file next to the certificates.
 */
import 'reflect-metadata';
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type KeyAlgorithm = 'ec' | 'rsa';

export interface CertAndKey {
  /** Certificate, PEM. */
  cert: string;
  /** Its private key, PKCS#8 PEM. */
  key: string;
}

export interface DevPki {
  ca: CertAndKey;
  server: CertAndKey;
  clients: (CertAndKey & { name: string })[];
}

export interface DevPkiOptions {
  /** Default `ec` (P-256). */
  algorithm?: KeyAlgorithm;
  /** DNS names and IP addresses the server certificate is valid for; the first is its CN. */
  serverNames?: string[];
  /** One client certificate per name (CN and DNS SAN). */
  clientNames?: string[];
  /** Validity of every certificate, from an hour ago (clock skew). Default 365. */
  days?: number;
}

export interface IssueOptions {
  commonName: string;
  /** Default: an hour ago. */
  notBefore?: Date;
  /** Default: 365 days after now. */
  notAfter?: Date;
  /** Extended key usage: TLS client or TLS server authentication. */
  eku: 'client' | 'server';
  /** Subject alternative names, IP addresses recognised as such, the rest DNS. Default: `[commonName]`. */
  sans?: string[];
  /** Key of the new certificate. Default: the CA's algorithm. */
  algorithm?: KeyAlgorithm;
}

export const DEFAULT_SERVER_NAMES = ['localhost', '127.0.0.1', '::1'];
export const DEFAULT_CLIENT_NAMES = ['kmipctl'];
const DEFAULT_DAYS = 365;
const DAY_MS = 86_400_000;
const SKEW_MS = 3_600_000;

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as const;

export async function createDevPki(options: DevPkiOptions = {}): Promise<DevPki> {
  const algorithm = options.algorithm ?? 'ec';
  const serverNames = options.serverNames ?? DEFAULT_SERVER_NAMES;
  const clientNames = options.clientNames ?? DEFAULT_CLIENT_NAMES;
  if (serverNames.length === 0) throw new Error('the server certificate needs at least one name');
  const notBefore = new Date(Date.now() - SKEW_MS);
  const notAfter = new Date(notBefore.getTime() + (options.days ?? DEFAULT_DAYS) * DAY_MS);

  const ca = await createCa({ algorithm, notBefore, notAfter });
  const server = await issueCertificate(ca, { commonName: serverNames[0] as string, sans: serverNames, eku: 'server', notBefore, notAfter });
  const clients = [];
  for (const name of clientNames) {
    clients.push({ name, ...(await issueCertificate(ca, { commonName: name, eku: 'client', notBefore, notAfter })) });
  }
  return { ca, server, clients };
}

/** A self-signed CA that may only sign certificates and CRLs. */
export async function createCa(options: { algorithm?: KeyAlgorithm; commonName?: string; notBefore?: Date; notAfter?: Date } = {}): Promise<CertAndKey> {
  const params = signatureParams(options.algorithm ?? 'ec');
  const keys = await generateKeys(params);
  const notBefore = options.notBefore ?? new Date(Date.now() - SKEW_MS);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [options.commonName ?? 'kmipd development CA'] }, { O: ['kmipd (development only)'] }],
    keys,
    signingAlgorithm: params,
    notBefore,
    notAfter: options.notAfter ?? new Date(notBefore.getTime() + DEFAULT_DAYS * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

/** A leaf certificate signed by `ca`, with a fresh key pair. */
export async function issueCertificate(ca: CertAndKey, options: IssueOptions): Promise<CertAndKey> {
  const caCert = new x509.X509Certificate(ca.cert);
  const caAlgorithm = algorithmOfKey(ca.key);
  const caParams = signatureParams(caAlgorithm);
  const signingKey = await webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(ca.key), caParams, false, ['sign']);

  const algorithm = options.algorithm ?? caAlgorithm;
  const keys = await generateKeys(signatureParams(algorithm));
  const notBefore = options.notBefore ?? new Date(Date.now() - SKEW_MS);
  const sans = options.sans ?? [options.commonName];
  // An RSA server certificate also serves TLS 1.2's RSA key-exchange suites (KMIP profile-required).
  const usages = x509.KeyUsageFlags.digitalSignature | (algorithm === 'rsa' && options.eku === 'server' ? x509.KeyUsageFlags.keyEncipherment : 0);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(usages, true),
    new x509.ExtendedKeyUsageExtension([options.eku === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans.map(generalName)));

  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [options.commonName] }],
    issuer: caCert.subjectName,
    publicKey: keys.publicKey,
    signingKey,
    signingAlgorithm: caParams,
    notBefore,
    notAfter: options.notAfter ?? new Date(Date.now() + DEFAULT_DAYS * DAY_MS),
    extensions,
  });
  return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey) };
}

export interface DevPkiFiles {
  ca: string;
  caKey: string;
  server: string;
  serverKey: string;
  clients: { name: string; cert: string; key: string }[];
}

/** Client names become file names, so they are kept to a safe alphabet. */
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkClientName(name: string): void {
  if (!CLIENT_NAME.test(name)) throw new Error(`client name "${name}" may hold only letters, digits, '.', '_' and '-' (and not start with one of the last three)`);
}

/**
 * Writes the PKI as `ca.pem`, `ca-key.pem`, `server.pem`, `server-key.pem`, `client-<name>.pem`
 * and `client-<name>-key.pem`; the directory is made 0700 and the key files 0600 (also when they
 * already existed). Returns the paths written.
 */
export async function writeDevPki(dir: string, pki: DevPki): Promise<DevPkiFiles> {
  for (const client of pki.clients) checkClientName(client.name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const files: DevPkiFiles = {
    ca: await writePem(dir, 'ca.pem', pki.ca.cert, 0o644),
    caKey: await writePem(dir, 'ca-key.pem', pki.ca.key, 0o600),
    server: await writePem(dir, 'server.pem', pki.server.cert, 0o644),
    serverKey: await writePem(dir, 'server-key.pem', pki.server.key, 0o600),
    clients: [],
  };
  for (const client of pki.clients) {
    files.clients.push({
      name: client.name,
      cert: await writePem(dir, `client-${client.name}.pem`, client.cert, 0o644),
      key: await writePem(dir, `client-${client.name}-key.pem`, client.key, 0o600),
    });
  }
  return files;
}

async function writePem(dir: string, name: string, pem: string, mode: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, pem.endsWith('\n') ? pem : `${pem}\n`, { mode });
  // writeFile's mode applies only to a file it creates, and through the umask.
  await chmod(path, mode);
  return path;
}

// Keys and names.

type SignatureParams = typeof EC | typeof RSA;

function signatureParams(algorithm: KeyAlgorithm): SignatureParams {
  return algorithm === 'rsa' ? RSA : EC;
}

async function generateKeys(params: SignatureParams): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(params, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function algorithmOfKey(pem: string): KeyAlgorithm {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType === 'rsa') return 'rsa';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ec';
  throw new Error(`CA key type ${key.asymmetricKeyType ?? 'unknown'} is not supported (P-256 or RSA)`);
}

/** 16 random bytes, top bit clear (positive) and second bit set (no leading zero octet to trim). */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

function generalName(name: string): x509.JsonGeneralName {
  return { type: isIP(name) ? 'ip' : 'dns', value: name };
}

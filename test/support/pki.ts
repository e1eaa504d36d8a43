/**
 * A throw-away PKI for transport tests, generated in memory at run time: a CA, and server and
 * client certificates it issues (ECDSA P-256 by default, RSA-2048 on request), including
 * deliberately broken ones (expired, without a CN).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const RSA = { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface KeyAndCert {
  cert: string;
  key: string;
}

export interface TestCa extends KeyAndCert {
  issue(options: IssueOptions): Promise<KeyAndCert>;
}

export interface IssueOptions {
  /** Subject CN; omit for a certificate whose subject has no CN (then `o` names it). */
  cn?: string;
  o?: string;
  dns?: string[];
  emails?: string[];
  uris?: string[];
  ips?: string[];
  usage: 'server' | 'client';
  rsa?: boolean;
  notBefore?: Date;
  notAfter?: Date;
}

async function generate(rsa: boolean): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(rsa ? RSA : EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function keyPem(keys: webcrypto.CryptoKeyPair): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

export async function createCa(name = 'kmipd test CA'): Promise<TestCa> {
  const keys = await generate(false);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    keys,
    signingAlgorithm: EC,
    notBefore: new Date(Date.now() - DAY),
    notAfter: new Date(Date.now() + 30 * DAY),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });

  async function issue(options: IssueOptions): Promise<KeyAndCert> {
    const leafKeys = await generate(options.rsa ?? false);
    const subject = [options.cn === undefined ? '' : `CN=${options.cn}`, `O=${options.o ?? 'kmipd tests'}`].filter(Boolean).join(', ');
    const names: x509.JsonGeneralName[] = [
      ...(options.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(options.emails ?? []).map((value) => ({ type: 'email' as const, value })),
      ...(options.uris ?? []).map((value) => ({ type: 'url' as const, value })),
      ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([options.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
    ];
    if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
    const cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: caCert.subject,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      signingAlgorithm: EC,
      notBefore: options.notBefore ?? new Date(Date.now() - DAY),
      notAfter: options.notAfter ?? new Date(Date.now() + 30 * DAY),
      extensions,
    });
    return { cert: cert.toString('pem'), key: await keyPem(leafKeys) };
  }

  return { cert: caCert.toString('pem'), key: await keyPem(keys), issue };
}

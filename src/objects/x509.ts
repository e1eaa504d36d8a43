/**
 * X.509 for Certify, Re-certify and Validate: reading PKCS#10 certificate requests, building and
 * signing v3 certificates, and the facts about a certificate that chain building needs. The ASN.1
 * is @peculiar/x509's (as src/pki/devpki.ts uses it); signatures are node:crypto's WebCrypto, with
 * the managed private key imported for the one signature and not kept.
 */
import 'reflect-metadata';
import { type KeyObject, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { type Item } from '../ttlv/index.js';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { children, curveOf, readTlv } from './key-formats.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** OIDs of the extensions kmipd sets itself; a request's copies of them are not taken over. */
const OWN_EXTENSIONS: readonly string[] = [
  '2.5.29.19', // basicConstraints
  '2.5.29.15', // keyUsage
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.35', // authorityKeyIdentifier
];

/** The RFC 2253 fields of the 2.x Certificate Subject attributes (2.1 §4.6) and the RDN attribute types they name. */
const NAME_FIELDS = [
  ['C', '2.5.4.6'],
  ['ST', '2.5.4.8'],
  ['L', '2.5.4.7'],
  ['O', '2.5.4.10'],
  ['OU', '2.5.4.11'],
  ['DC', '0.9.2342.19200300.100.1.25'],
  ['Title', '2.5.4.12'],
  ['SerialNumber', '2.5.4.5'],
  ['DNQualifier', '2.5.4.46'],
  ['UID', '0.9.2342.19200300.100.1.1'],
  ['Email', '1.2.840.113549.1.9.1'],
  ['CN', '2.5.4.3'],
] as const;

const SUBJECT_FIELDS: readonly [number, string][] = NAME_FIELDS.map(([field, oid]) => [Tag[`CertificateSubject${field}`], oid]);

/** Attributes that describe the subject of a certificate to be made; they are not kept as given (the server sets them). */
export const SUBJECT_ATTRIBUTE_TAGS: readonly number[] = SUBJECT_FIELDS.map(([tag]) => tag);

/** What a certificate request asks for. */
export interface RequestedCertificate {
  readonly subject: x509.Name;
  /** The subject public key, DER SubjectPublicKeyInfo. */
  readonly spki: Buffer;
  /** Extensions the request asks for, less those kmipd sets itself. */
  readonly extensions: x509.Extension[];
}

/**
 * A PKCS#10 request (DER, or PEM for Certificate Request Type PEM), its self-signature checked:
 * a request that does not parse or is not signed by its own key is refused with `invalid`.
 */
export async function readCertificateRequest(bytes: Uint8Array, type: number, invalid: ResultReasonName): Promise<RequestedCertificate> {
  if (type !== Enum.CertificateRequestType.PKCS_10 && type !== Enum.CertificateRequestType.PEM) {
    throw new KmipError('FeatureNotSupported', 'kmipd certifies PKCS#10 certificate requests (DER or PEM), not CRMF or PGP');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    const der = type === Enum.CertificateRequestType.PEM ? x509.PemConverter.decodeFirst(Buffer.from(bytes).toString('latin1')) : bytes;
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch {
    throw new KmipError(invalid, 'the Certificate Request is not a PKCS#10 request');
  }
  let signed = false;
  try {
    signed = await csr.verify();
  } catch {
    signed = false;
  }
  if (!signed) throw new KmipError(invalid, 'the Certificate Request is not signed by the key it holds');
  return { subject: csr.subjectName, spki: Buffer.from(csr.publicKey.rawData), extensions: csr.extensions.filter((e) => !OWN_EXTENSIONS.includes(e.type)) };
}

/** A subject name from the request's Certificate Subject attributes (2.1 §4.6), if it gives any. */
export function subjectFromAttributes(attrs: readonly Item[]): x509.Name | undefined {
  const rdns: Record<string, string[]>[] = [];
  for (const [tag, oid] of SUBJECT_FIELDS) {
    const values = attrs.filter((a) => a.tag === tag && a.type === 'TextString').map((a) => a.value as string);
    if (values.length > 0) rdns.push({ [oid]: values });
  }
  return rdns.length === 0 ? undefined : new x509.Name(rdns);
}

/** A subject with a Common Name only. */
export function commonName(cn: string): x509.Name {
  return new x509.Name([{ '2.5.4.3': [cn] }]);
}

/** What a certificate says about itself, for issuing under it and for chain building. */
export interface CertificateFacts {
  readonly cert: x509.X509Certificate;
  readonly subject: x509.Name;
  readonly spki: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** basicConstraints cA. */
  readonly ca: boolean;
}

export function readCertificate(der: Uint8Array): CertificateFacts {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(der);
  } catch {
    throw new KmipError('InvalidField', 'the Certificate Value is not a DER X.509 certificate');
  }
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  return { cert, subject: cert.subjectName, spki: Buffer.from(cert.publicKey.rawData), notBefore: cert.notBefore, notAfter: cert.notAfter, ca: constraints?.ca === true };
}

export interface IssueInput {
  readonly subject: x509.Name;
  readonly spki: Buffer;
  readonly issuer: { readonly name: x509.Name; readonly key: KeyObject; readonly spki: Buffer };
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** A CA certificate (basicConstraints cA, keyCertSign) or an end-entity one. */
  readonly ca: boolean;
  /** Further extensions (a request's subjectAltName, extKeyUsage…). */
  readonly extensions: readonly x509.Extension[];
}

/** A v3 certificate signed with the issuer's key: SHA-256 (P-384: SHA-384, P-521: SHA-512) with RSA PKCS#1 v1.5 or ECDSA. */
export async function issueCertificate(input: IssueInput): Promise<Buffer> {
  const { algorithm, signing } = signingAlgorithm(input.issuer.key);
  const pkcs8 = input.issuer.key.export({ format: 'der', type: 'pkcs8' });
  let signingKey: webcrypto.CryptoKey;
  try {
    signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
  } finally {
    pkcs8.fill(0);
  }
  const rsaSubject = isRsaSpki(input.spki);
  const usage = input.ca
    ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature
    : x509.KeyUsageFlags.digitalSignature | (rsaSubject ? x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.keyAgreement);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: input.subject,
    issuer: input.issuer.name,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    publicKey: input.spki,
    signingKey,
    signingAlgorithm: signing,
    extensions: [
      new x509.BasicConstraintsExtension(input.ca, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      await x509.SubjectKeyIdentifierExtension.create(input.spki),
      await x509.AuthorityKeyIdentifierExtension.create(input.issuer.spki),
      ...input.extensions.filter((e) => !OWN_EXTENSIONS.includes(e.type)),
    ],
  });
  return Buffer.from(cert.rawData);
}

/** The extensions of an existing certificate that a renewal keeps (not those kmipd sets itself). */
export function carriedExtensions(cert: x509.X509Certificate): x509.Extension[] {
  return cert.extensions.filter((e) => !OWN_EXTENSIONS.includes(e.type));
}

function signingAlgorithm(key: KeyObject): { algorithm: webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams; signing: webcrypto.Algorithm | webcrypto.EcdsaParams } {
  if (key.asymmetricKeyType === 'rsa') {
    const rsa = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { algorithm: rsa, signing: rsa };
  }
  const curve = key.asymmetricKeyType === 'ec' ? curveOf(key) : undefined;
  if (curve === undefined) throw new KmipError('FeatureNotSupported', 'kmipd signs certificates with RSA keys and EC keys on P-256, P-384 and P-521');
  const hash = curve.bits === 256 ? 'SHA-256' : curve.bits === 384 ? 'SHA-384' : 'SHA-512';
  return { algorithm: { name: 'ECDSA', namedCurve: curve.jwk }, signing: { name: 'ECDSA', hash } as webcrypto.EcdsaParams };
}

/** RFC 5280 §4.1.2.2: a positive integer of at most 20 octets, here 16 random ones with the top bit clear and not zero. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function isRsaSpki(spki: Buffer): boolean {
  // rsaEncryption 1.2.840.113549.1.1.1 in the AlgorithmIdentifier
  return spki.includes(Buffer.from('06092a864886f70d010101', 'hex'));
}

/**
 * The DER of a certificate's subject and issuer Names, as the X.509 Certificate Subject / Issuer
 * attributes hold them: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?,
 * serialNumber, signature, issuer, validity, subject, … }, … }.
 */
export function distinguishedNames(der: Buffer): { subjectDn: Buffer; issuerDn: Buffer } {
  try {
    const [tbs] = children(der, readTlv(der, 0));
    const fields = children(der, tbs!);
    const [, , issuer, , subject] = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
    return { subjectDn: der.subarray(subject!.at, subject!.end), issuerDn: der.subarray(issuer!.at, issuer!.end) };
  } catch {
    throw new KmipError('InvalidField', 'the certificate has no subject or issuer name');
  }
}


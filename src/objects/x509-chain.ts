/**
 * Certificate chains for Validate (KMIP 2.1 §6.1.57): putting the certificates of a request in
 * order, leaf first, and judging the chain. KMIP leaves the policy to the server; kmipd's is:
 *
 *   - Invalid: a certificate outside its validity period at the Validity Date, one revoked or
 *     compromised here, a signature its issuer's key does not verify, or an issuer that is not a
 *     CA (basicConstraints cA).
 *   - Valid: otherwise, if the chain ends in a self-signed certificate the caller holds here as a
 *     managed Certificate: the caller's managed roots are its trust anchors.
 *   - Unknown: otherwise (the chain ends in a root the caller does not hold, or in a certificate
 *     whose issuer is not known here).
 *
 * Pure: the operation (src/operations/validate.ts) reads the store and hands in the certificates.
 */
import { X509Certificate } from 'node:crypto';
import { distinguishedNames, readCertificate } from './x509.js';

export type Validity = 'Valid' | 'Invalid' | 'Unknown';

export interface ChainCert {
  readonly der: Buffer;
  readonly node: X509Certificate;
  /** DER of the subject and issuer Names, as the X.509 Certificate Subject / Issuer attributes hold them. */
  readonly subjectDn: Buffer;
  readonly issuerDn: Buffer;
  /** Validity period, seconds since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** The caller holds it as a managed Certificate (a trust anchor when self-signed). */
  readonly managed: boolean;
  /** Revoked or compromised on this server. */
  readonly revoked: boolean;
}

export function chainCert(der: Uint8Array, flags: { managed: boolean; revoked: boolean }): ChainCert {
  const bytes = Buffer.from(der);
  const facts = readCertificate(bytes);
  const node = new X509Certificate(bytes);
  const { subjectDn, issuerDn } = distinguishedNames(bytes);
  return {
    der: bytes,
    node,
    subjectDn,
    issuerDn,
    notBefore: Math.floor(facts.notBefore.getTime() / 1000),
    notAfter: Math.floor(facts.notAfter.getTime() / 1000),
    ...flags,
  };
}

/** Whether `issuer` issued `cert`: OpenSSL's name and key-identifier check (the signature is judged separately). */
export function issuedBy(cert: ChainCert, issuer: ChainCert): boolean {
  return cert.issuerDn.equals(issuer.subjectDn) && cert.node.checkIssued(issuer.node);
}

export function isSelfIssued(cert: ChainCert): boolean {
  return issuedBy(cert, cert);
}

/**
 * The certificates as one chain, leaf first: each issued by the next. Undefined when they are not
 * one chain (two leaves, a certificate no other links to, a duplicate).
 */
export function orderChain(certs: readonly ChainCert[]): ChainCert[] | undefined {
  const issuesAnother = (c: ChainCert): boolean => certs.some((o) => o !== c && issuedBy(o, c));
  const leaves = certs.filter((c) => !issuesAnother(c));
  if (leaves.length !== 1) return undefined;
  const chain = [leaves[0]!];
  const unused = new Set(certs.filter((c) => c !== leaves[0]));
  for (;;) {
    const current = chain[chain.length - 1]!;
    const next = [...unused].find((c) => issuedBy(current, c));
    if (next === undefined) break;
    chain.push(next);
    unused.delete(next);
  }
  return unused.size === 0 ? chain : undefined;
}

/** The verdict on a chain ordered leaf first, at `at` (seconds). */
export function judge(chain: readonly ChainCert[], at: number): Validity {
  for (const [i, cert] of chain.entries()) {
    if (cert.revoked) return 'Invalid';
    if (at < cert.notBefore || at > cert.notAfter) return 'Invalid';
    const issuer = chain[i + 1];
    if (issuer !== undefined && (!issuer.node.ca || !cert.node.verify(issuer.node.publicKey))) return 'Invalid';
  }
  const top = chain[chain.length - 1]!;
  if (!isSelfIssued(top)) return 'Unknown';
  if (!top.node.verify(top.node.publicKey)) return 'Invalid';
  return top.managed ? 'Valid' : 'Unknown';
}

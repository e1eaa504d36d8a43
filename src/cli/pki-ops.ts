/**
 * kmipctl commands for split keys and certificates: create-split-key, join-split-key, certify,
 * recertify, validate (KMIP 2.1 §6.1.10, §6.1.27, §6.1.6, §6.1.45, §6.1.57).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import type { OperationName } from '../operations/registry.js';
import { type Item, item, structure } from '../ttlv/index.js';
import { objectTypeValue } from './objects.js';
import {
  type Args,
  type Step,
  OBJECT_ATTRIBUTE_HELP,
  OBJECT_ATTRIBUTE_OPTIONS,
  UsageError,
  attributesFor,
  command,
  enumByName,
  intOption,
  listOption,
  objectAttributes,
  oneUid,
  parseDate,
  print,
  stringOption,
  uidItem,
} from './operation-args.js';

/** --method names and their Split Key Methods (2.1 §11.56). */
const METHODS: Record<string, number> = {
  xor: Enum.SplitKeyMethod.XOR,
  gf256: Enum.SplitKeyMethod.PolynomialSharingGF2_8,
  prime: Enum.SplitKeyMethod.PolynomialSharingPrimeField,
};

const link = (type: number, uid: string): Item => structure(Tag.Link, [item(Tag.LinkType, 'Enumeration', type), item(Tag.LinkedObjectIdentifier, 'TextString', uid)]);

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Sends a request and prints every Unique Identifier of the answer, one a line. */
function sendForUids(args: Args, operation: OperationName, payload: Item[]): Step {
  return async (client, io) => {
    const answer = await client.call(operation, payload);
    const uids = answer.payload?.values(Tag.UniqueIdentifier, 'TextString') ?? [];
    print(io, args, uids, uids.length === 1 ? { uniqueIdentifier: uids[0] } : { uniqueIdentifiers: uids });
  };
}

function noPositionals(args: Args, max: number): void {
  if (args.positionals.length > max) throw new UsageError(`unexpected arguments: ${args.positionals.slice(max).join(' ')}`);
}

export const createSplitKey = command({
  name: 'create-split-key',
  summary: 'Create Split Key: split a key into parts, any THRESHOLD of which rebuild it',
  usage: `Usage: kmipctl create-split-key [UID] --parts N --threshold T [options] [connection options]

Splits the Symmetric Key or Secret Data UID (or a new key the server generates) into N Split Key
objects (KMIP 2.1 §6.1.10) and prints their Unique Identifiers, part 1 first.

Options:
  --parts N              Split Key Parts (2 to 255)
  --threshold T          Split Key Threshold: parts needed to rebuild the key
  --method METHOD        gf256 (default: Shamir over GF(2^8)), xor (threshold = parts) or prime
  --prime P              Prime Field Size for --method prime (decimal or 0x hex), above 2^bits
  --algorithm ALG        A new key's Cryptographic Algorithm (default AES; no UID given)
  --length BITS          A new key's Cryptographic Length (default 256; no UID given)
${OBJECT_ATTRIBUTE_HELP}

Example: kmipctl create-split-key --parts 5 --threshold 3 --algorithm AES --length 256
`,
  options: { ...OBJECT_ATTRIBUTE_OPTIONS, parts: { type: 'string' }, threshold: { type: 'string' }, method: { type: 'string' }, prime: { type: 'string' }, algorithm: { type: 'string' }, length: { type: 'string' } },
  build(args) {
    noPositionals(args, 1);
    const uid = args.positionals[0];
    const parts = intOption(args, 'parts', 2, 255);
    const threshold = intOption(args, 'threshold', 1, 255);
    if (parts === undefined || threshold === undefined) throw new UsageError('--parts N and --threshold T are required');
    const methodText = stringOption(args, 'method') ?? 'gf256';
    const method = METHODS[methodText];
    if (method === undefined) throw new UsageError(`--method is one of ${Object.keys(METHODS).join(', ')}, not ${JSON.stringify(methodText)}`);
    const primeText = stringOption(args, 'prime');
    if ((primeText !== undefined) !== (method === Enum.SplitKeyMethod.PolynomialSharingPrimeField)) throw new UsageError('--prime P goes with --method prime, and --method prime needs it');
    let prime: bigint | undefined;
    try {
      prime = primeText === undefined ? undefined : BigInt(primeText);
    } catch {
      throw new UsageError(`--prime takes a whole number, not ${JSON.stringify(primeText)}`);
    }
    const generated =
      uid === undefined
        ? [item(Tag.CryptographicAlgorithm, 'Enumeration', enumByName('CryptographicAlgorithm', stringOption(args, 'algorithm') ?? 'AES', '--algorithm')), item(Tag.CryptographicLength, 'Integer', intOption(args, 'length', 1) ?? 256)]
        : [];
    const payload = [
      item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SplitKey),
      ...(uid === undefined ? [] : [uidItem(uid)]),
      item(Tag.SplitKeyParts, 'Integer', parts),
      item(Tag.SplitKeyThreshold, 'Integer', threshold),
      item(Tag.SplitKeyMethod, 'Enumeration', method),
      ...(prime === undefined ? [] : [item(Tag.PrimeFieldSize, 'BigInteger', prime)]),
      attributesFor(args.version, [...generated, ...objectAttributes(args)]),
    ];
    return sendForUids(args, 'CreateSplitKey', payload);
  },
});

export const joinSplitKey = command({
  name: 'join-split-key',
  summary: 'Join Split Key: rebuild a key from enough of its parts',
  usage: `Usage: kmipctl join-split-key UID… [--type symmetric|secret] [options] [connection options]

Joins the Split Keys UID… (at least their threshold, from one split) into a new Symmetric Key or
Secret Data (KMIP 2.1 §6.1.27) and prints its Unique Identifier.

Options:
  --type TYPE            symmetric (default) or secret
  --secret-type TYPE     Secret Data Type of a secret, e.g. seed (default) or password
${OBJECT_ATTRIBUTE_HELP}
`,
  options: { ...OBJECT_ATTRIBUTE_OPTIONS, type: { type: 'string' }, 'secret-type': { type: 'string' } },
  build(args) {
    if (args.positionals.length === 0) throw new UsageError('join which parts? give their Unique Identifiers');
    const type = objectTypeValue(stringOption(args, 'type') ?? 'symmetric');
    const secretType = stringOption(args, 'secret-type');
    const attrs = objectAttributes(args);
    const payload = [
      item(Tag.ObjectType, 'Enumeration', type),
      ...args.positionals.map(uidItem),
      ...(secretType === undefined ? [] : [item(Tag.SecretDataType, 'Enumeration', enumByName('SecretDataType', secretType, '--secret-type'))]),
      ...(attrs.length > 0 ? [attributesFor(args.version, attrs)] : []),
    ];
    return sendForUids(args, 'JoinSplitKey', payload);
  },
});

/** A PKCS#10 request from a PEM or DER file, as the request's Certificate Request fields. */
function csrFields(args: Args): Item[] {
  const path = stringOption(args, 'csr');
  if (path === undefined) return [];
  const data = readFile(path, 'certificate request');
  const pem = data.subarray(0, 64).toString('latin1').includes('-----BEGIN');
  const type = item(Tag.CertificateRequestType, 'Enumeration', pem ? Enum.CertificateRequestType.PEM : Enum.CertificateRequestType.PKCS_10);
  return [type, item(isV2(args.version) ? Tag.CertificateRequestValue : Tag.CertificateRequest, 'ByteString', data)];
}

const ISSUER_OPTIONS = { csr: { type: 'string' }, issuer: { type: 'string' }, 'issuer-key': { type: 'string' } } as const;
const ISSUER_HELP = `  --csr FILE             A PKCS#10 certificate request (PEM or DER); it takes precedence
  --issuer CERT_UID      The issuing CA's managed certificate (Certificate Link)
  --issuer-key KEY_UID   The issuer's private key, if its certificate has no key pair here`;

function issuerLinks(args: Args): Item[] {
  const issuer = stringOption(args, 'issuer');
  const key = stringOption(args, 'issuer-key');
  return [...(issuer === undefined ? [] : [link(Enum.LinkType.CertificateLink, issuer)]), ...(key === undefined ? [] : [link(Enum.LinkType.PrivateKeyLink, key)])];
}

export const certify = command({
  name: 'certify',
  summary: 'Certify: an X.509 certificate for a public key, signed by a CA key held here',
  usage: `Usage: kmipctl certify [PUBLIC_KEY_UID] [--csr FILE] [--issuer CERT_UID] [options] [connection options]

Issues an X.509 v3 certificate (KMIP 2.1 §6.1.6) for the managed public key PUBLIC_KEY_UID (or
a private key's linked public key), or for the key of a certificate request, and prints the new
certificate's Unique Identifier. Without --issuer it is a self-signed CA certificate signed by the
public key's own private key (which must be Active, with the Sign usage).

Options:
${ISSUER_HELP}
  --cn TEXT              Subject Common Name (2.x; default the public key's Name)
  --org TEXT             Subject Organization (2.x)
  --not-after DATE       Deactivation Date and certificate expiry (ISO 8601; default a year)
${OBJECT_ATTRIBUTE_HELP}

Example: kmipctl certify 5f0c… --issuer 9a1d… --cn web.example --name web-cert
`,
  options: { ...OBJECT_ATTRIBUTE_OPTIONS, ...ISSUER_OPTIONS, cn: { type: 'string' }, org: { type: 'string' }, 'not-after': { type: 'string' } },
  build(args) {
    noPositionals(args, 1);
    const uid = args.positionals[0];
    const request = csrFields(args);
    if (uid === undefined && request.length === 0) throw new UsageError('certify what? give a public key UID or --csr FILE');
    const subject: Item[] = [];
    const cn = stringOption(args, 'cn');
    const org = stringOption(args, 'org');
    if ((cn !== undefined || org !== undefined) && !isV2(args.version)) throw new UsageError('--cn and --org are KMIP 2.x attributes; use --kmip-version 2.1 or a --csr');
    if (cn !== undefined) subject.push(item(Tag.CertificateSubjectCN, 'TextString', cn));
    if (org !== undefined) subject.push(item(Tag.CertificateSubjectO, 'TextString', org));
    const notAfter = stringOption(args, 'not-after');
    const dates = notAfter === undefined ? [] : [item(Tag.DeactivationDate, 'DateTime', parseDate(notAfter, '--not-after'))];
    const payload = [...(uid === undefined ? [] : [uidItem(uid)]), ...request, attributesFor(args.version, [...subject, ...issuerLinks(args), ...dates, ...objectAttributes(args)])];
    return sendForUids(args, 'Certify', payload);
  },
});

export const recertify = command({
  name: 'recertify',
  summary: 'Re-certify: renew a certificate for the same key pair',
  usage: `Usage: kmipctl recertify CERT_UID [--offset SECONDS] [--csr FILE] [connection options]

Renews the managed certificate CERT_UID (KMIP 2.1 §6.1.45): same subject and key, signed again by
the same issuer, valid from now for as long as the old one. The new certificate takes the old
one's Names; the two are linked as Replacement / Replaced. Prints the new Unique Identifier.

Options:
  --offset SECONDS       The new certificate's Activation Date = now + SECONDS
${ISSUER_HELP}
`,
  options: { ...ISSUER_OPTIONS, offset: { type: 'string' } },
  build(args) {
    const uid = oneUid(args);
    const offset = intOption(args, 'offset', 0, 0xffffffff);
    const links = issuerLinks(args);
    const payload = [
      uidItem(uid),
      ...csrFields(args),
      ...(offset === undefined ? [] : [item(Tag.Offset, 'Interval', offset)]),
      ...(links.length > 0 ? [attributesFor(args.version, links)] : []),
    ];
    return sendForUids(args, 'ReCertify', payload);
  },
});

function certificateFile(path: string): Item {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFile(path, 'certificate'));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`${path} is not an X.509 certificate in PEM or DER`);
  }
  return structure(Tag.Certificate, [item(Tag.CertificateType, 'Enumeration', Enum.CertificateType.X_509), item(Tag.CertificateValue, 'ByteString', cert.raw)]);
}

export const validate = command({
  name: 'validate',
  summary: 'Validate: is a certificate chain Valid, Invalid or Unknown here?',
  usage: `Usage: kmipctl validate [CERT_UID…] [--certificate FILE…] [--date DATE] [connection options]

Asks the server to validate one certificate chain (KMIP 2.1 §6.1.57), given as managed
certificates and/or certificate files, and prints Valid, Invalid or Unknown. A chain is Valid when
it ends in a self-signed certificate you hold on the server; Unknown when it ends elsewhere.

Options:
  --certificate FILE     A certificate (PEM or DER) of the chain (repeatable)
  --date DATE            When the chain must be valid (ISO 8601; default now)
`,
  options: { certificate: { type: 'string', multiple: true }, date: { type: 'string' } },
  build(args) {
    const files = listOption(args, 'certificate').map(certificateFile);
    if (args.positionals.length + files.length === 0) throw new UsageError('validate what? give certificate UIDs or --certificate FILE');
    const date = stringOption(args, 'date');
    const payload = [...files, ...args.positionals.map(uidItem), ...(date === undefined ? [] : [item(Tag.ValidityDate, 'DateTime', parseDate(date, '--date'))])];
    return async (client, io) => {
      const answer = await client.call('Validate', payload);
      const value = answer.payload?.get(Tag.ValidityIndicator, 'Enumeration');
      const verdict = (Object.entries(Enum.ValidityIndicator).find(([, v]) => v === value)?.[0] ?? 'Unknown') as string;
      print(io, args, [verdict], { validityIndicator: verdict });
    };
  },
});

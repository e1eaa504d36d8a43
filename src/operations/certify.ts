/**
 * Certify (KMIP 2.1 §6.1.6; 1.4 §4.7): an X.509 v3 certificate for a public key, signed by a key
 * the caller holds here, stored as a managed Certificate. The public key is the managed Public
 * Key the Unique Identifier (or the ID Placeholder) names — a Private Key names its linked Public
 * Key, so Create Key Pair then Certify works in one batch — or the key of a PKCS#10 Certificate
 * Request given in the request (or, 2.x, as a managed Certificate Request object). The request
 * takes precedence over the attributes where they differ (2.1 §6.1.6).
 *
 * Who signs, from Links in the request's attributes: a Certificate Link names the issuer's
 * certificate (its signing key is the Private Key Link of that certificate's public key, unless a
 * Private Key Link in the request names it); with neither, the certificate is self-signed by the
 * public key's own private key and is a CA certificate. The subject is the request's, else the 2.x
 * Certificate Subject attributes, else CN = the public key's Name (or its Unique Identifier).
 * Valid from now until the Deactivation Date asked for, else a year, never past the issuer's own
 * expiry. A CA certificate is made for a self-signed one or a public key with the Certificate Sign
 * usage bit.
 *
 * The server sets the certificate's attributes from its value: Certificate Type and Length,
 * X.509 Certificate Identifier / Subject / Issuer, Digital Signature Algorithm, and (2.x) the
 * Certificate Subject / Issuer fields of 2.1 §4.6.
 *
 * Links (2.1 §6.1.6): the public key gets a Certificate Link to the new certificate, which gets a
 * Public Key Link to it and a Certificate Link to its issuer's certificate. The ID Placeholder
 * becomes the certificate's Unique Identifier.
 */
import { X509Certificate as NodeX509Certificate, type KeyObject, createPublicKey, randomUUID } from 'node:crypto';
import type * as x509 from '@peculiar/x509';
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { checkCreationAttributes, initialAttributes, stampLastChange } from '../objects/attribute-rules.js';
import { child, find, refOf, sameRef } from '../objects/items.js';
import { keyFromBlock } from '../objects/key-formats.js';
import { effectiveState, stateTitle, wrongState } from '../objects/lifecycle.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import { SUBJECT_ATTRIBUTE_TAGS, commonName, issueCertificate, readCertificate, readCertificateRequest, subjectFromAttributes, type RequestedCertificate } from '../objects/x509.js';
import type { StoreReader } from '../store/types.js';
import { RNG } from './generation.js';
import { checkNamesUnique, creationAttributes, firstUid, linkItem, ownObject, protectionStorageMask, reason, sealObject, uidItem, unsealObject } from './managed.js';
import { x509Attributes } from './register.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const L = Enum.LinkType;
const U = Mask.CryptographicUsageMask;
const DAY = 86_400;
/** Validity of a certificate when the request gives no Deactivation Date. */
export const DEFAULT_VALIDITY = 365 * DAY;

export const certify: OperationDefinition = {
  name: 'Certify',
  mutates: true,
  permission: 'write',
  objectTypes: ['Certificate'],
  placeholder: firstUid,
  async handler(payload, ctx) {
    const given = creationAttributes(payload, ctx);
    const request = certificateRequestOf(payload, ctx);
    const { kept, directives } = splitDirectives(given, ctx);

    // The subject's public key: a managed key, a managed Certificate Request, or the request's.
    const uid = payload.get(Tag.UniqueIdentifier, 'TextString') ?? (request === undefined ? ctx.idPlaceholder : undefined);
    if (uid === '') throw new KmipError('InvalidField', 'the ID Placeholder is empty: a Locate before this matched more than one object');
    const target = uid === undefined ? undefined : await ctx.store.read((reader) => subjectObject(reader, uid as UniqueIdentifier, ctx));
    let csr: RequestedCertificate | undefined;
    if (request !== undefined) csr = await readCertificateRequest(request.value, request.type, reason(ctx, 'InvalidCSR', 'InvalidField'));
    else if (target?.objectType === 'CertificateRequest') csr = await managedRequest(target, ctx);
    const publicKey = target?.objectType === 'PublicKey' ? target : undefined;
    const publicSpki = publicKey === undefined ? undefined : spkiOf(await keyOf(publicKey, 'PublicKey', ctx));
    if (csr !== undefined && publicSpki !== undefined && !csr.spki.equals(publicSpki)) {
      throw new KmipError('InvalidField', `the Certificate Request is for another key than Public Key ${publicKey!.uid}`);
    }
    const spki = csr?.spki ?? publicSpki;
    if (spki === undefined) throw new KmipError('InvalidField', 'Certify needs a Public Key (by Unique Identifier or ID Placeholder) or a Certificate Request');
    const subject = csr?.subject ?? subjectFromAttributes(directives.subject) ?? commonName(defaultCommonName(publicKey));

    const now = ctx.clock.now();
    const issuer = await resolveIssuer(ctx, { certificate: directives.issuerCertificate, privateKey: directives.issuerKey }, { spki, subject, publicKey });
    const deactivation = find(kept, Tag.DeactivationDate);
    const notAfter = Math.min(deactivation?.type === 'DateTime' ? deactivation.value : now + DEFAULT_VALIDITY, issuer.notAfter ?? Number.MAX_SAFE_INTEGER);
    if (notAfter <= now) throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), 'the certificate would not be valid at any time from now: its issuer has expired or the Deactivation Date has passed');
    const usage = publicKey === undefined ? undefined : find(publicKey.attributes, Tag.CryptographicUsageMask);
    const der = await issueCertificate({
      subject,
      spki,
      issuer,
      notBefore: new Date(now * 1000),
      notAfter: new Date(notAfter * 1000),
      ca: issuer.selfSigned || (usage?.type === 'Integer' && (usage.value & U.CertificateSign) !== 0),
      extensions: csr?.extensions ?? [],
    });

    const certUid = randomUUID();
    const links = [
      ...(publicKey === undefined ? [] : [linkItem(L.PublicKeyLink, publicKey.uid)]),
      ...(issuer.certificateUid === undefined ? [] : [linkItem(L.CertificateLink, issuer.certificateUid)]),
    ];
    const record = await certificateRecord(ctx, certUid, der, [...kept, ...links], now);
    await ctx.store.transaction(async (tx) => {
      await checkNamesUnique(tx, kept, ctx);
      await tx.insert(record, { uidGenerated: true });
      if (publicKey !== undefined) {
        const current = await ownObject(tx, publicKey.uid, ctx);
        current.attributes = stampLastChange([...current.attributes, linkItem(L.CertificateLink, certUid)], now);
        await tx.update(current);
      }
    });
    return [uidItem(certUid)];
  },
};

// ——— the request ———

/** The Certificate Request Type and Value of the request (1.x: the Certificate Request Byte String). */
export function certificateRequestOf(payload: Fields, ctx: OperationContext): { type: number; value: Uint8Array } | undefined {
  const value = isV2(ctx.version) ? payload.get(Tag.CertificateRequestValue, 'ByteString') : payload.get(Tag.CertificateRequest, 'ByteString');
  const type = payload.get(Tag.CertificateRequestType, 'Enumeration');
  if (value === undefined) return undefined;
  // 2.1 Table 179: the type "is REQUIRED if the Certificate Request is present".
  if (type === undefined) throw new KmipError('InvalidMessage', 'a Certificate Request needs its Certificate Request Type');
  return { type, value };
}

export interface Directives {
  /** Certificate Subject attributes: what the subject is to be (the server sets them on the certificate). */
  readonly subject: Item[];
  readonly issuerCertificate: string | undefined;
  readonly issuerKey: string | undefined;
}

/**
 * The request's attributes, less those that say how to make the certificate rather than what to
 * store: Certificate Type (X.509 only), Certificate Subject fields, and the issuer's Certificate
 * and Private Key Links. What is left is checked as for any new object.
 */
export function splitDirectives(given: readonly Item[], ctx: OperationContext): { kept: Item[]; directives: Directives } {
  const type = find(given, Tag.CertificateType);
  if (type !== undefined && (type.type !== 'Enumeration' || type.value !== Enum.CertificateType.X_509)) {
    throw new KmipError('FeatureNotSupported', 'kmipd issues X.509 certificates only');
  }
  const issuerCertificate = linkTarget(given, L.CertificateLink);
  const issuerKey = linkTarget(given, L.PrivateKeyLink);
  const kept = given.filter((a) => a.tag !== Tag.CertificateType && !SUBJECT_ATTRIBUTE_TAGS.includes(a.tag) && !isLinkOf(a, [L.CertificateLink, L.PrivateKeyLink, L.PublicKeyLink]));
  checkCreationAttributes('Certificate', kept, 'create', { version: ctx.version });
  return { kept, directives: { subject: given.filter((a) => SUBJECT_ATTRIBUTE_TAGS.includes(a.tag)), issuerCertificate, issuerKey } };
}

function isLinkOf(attr: Item, types: readonly number[]): boolean {
  const type = attr.tag === Tag.Link ? child(attr, Tag.LinkType) : undefined;
  return type?.type === 'Enumeration' && types.includes(type.value);
}

function linkTarget(attrs: readonly Item[], linkType: number): string | undefined {
  const link = attrs.find((a) => isLinkOf(a, [linkType]));
  const target = link === undefined ? undefined : child(link, Tag.LinkedObjectIdentifier);
  if (link !== undefined && target?.type !== 'TextString') throw new KmipError('InvalidField', 'a Link names its object by Unique Identifier (Text String)');
  return target?.value as string | undefined;
}

/** The Link target of one type among a managed object's attributes. */
export function linkOf(record: ManagedObjectRecord, linkType: number): UniqueIdentifier | undefined {
  return linkTarget(record.attributes, linkType) as UniqueIdentifier | undefined;
}

/** What a Unique Identifier names for Certify: a Public Key, a Private Key's linked Public Key, or (2.x) a Certificate Request. */
async function subjectObject(reader: StoreReader, uid: UniqueIdentifier, ctx: OperationContext): Promise<ManagedObjectRecord> {
  const record = await ownObject(reader, uid, ctx);
  if (record.objectType === 'PublicKey' || record.objectType === 'CertificateRequest') return record;
  if (record.objectType === 'PrivateKey') {
    const pub = linkOf(record, L.PublicKeyLink);
    if (pub !== undefined) return ownObject(reader, pub, ctx);
  }
  throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `object ${uid} is a ${record.objectType}; Certify certifies a Public Key or a Certificate Request`);
}

async function managedRequest(record: ManagedObjectRecord, ctx: OperationContext): Promise<RequestedCertificate> {
  const value = new Fields((await unsealObject(ctx, record)) as Extract<Item, { type: 'Structure' }>);
  return readCertificateRequest(value.need(Tag.CertificateRequestValue, 'ByteString'), value.need(Tag.CertificateRequestType, 'Enumeration'), 'InvalidCSR');
}

function defaultCommonName(publicKey: ManagedObjectRecord | undefined): string {
  const name = publicKey === undefined ? undefined : find(publicKey.attributes, Tag.Name);
  const value = name === undefined ? undefined : child(name, Tag.NameValue);
  return value?.type === 'TextString' ? value.value : (publicKey?.uid ?? 'kmipd');
}

// ——— keys ———

/** The key of a managed Public or Private Key. */
export async function keyOf(record: ManagedObjectRecord, type: 'PublicKey' | 'PrivateKey', ctx: OperationContext): Promise<KeyObject> {
  const value = await unsealObject(ctx, record);
  return keyFromBlock(type, Fields.of(child(value, Tag.KeyBlock), 'Key Block'));
}

export function spkiOf(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'der', type: 'spki' });
}

export interface Issuer {
  readonly name: x509.Name;
  readonly key: KeyObject;
  readonly spki: Buffer;
  readonly selfSigned: boolean;
  /** The issuer's managed certificate, when not self-signed. */
  readonly certificateUid?: string;
  /** The issuer certificate's expiry, seconds. */
  readonly notAfter?: number;
}

/**
 * Who signs: the issuer certificate (and its key, or the one named), or — with no certificate —
 * the subject itself with the named key or its public key's own private key.
 */
export async function resolveIssuer(
  ctx: OperationContext,
  named: { certificate: string | undefined; privateKey: string | undefined },
  subject: { spki: Buffer; subject: x509.Name; publicKey: ManagedObjectRecord | undefined },
): Promise<Issuer> {
  const found = await ctx.store.read(async (reader) => {
    const certificate = named.certificate === undefined ? undefined : await ownObject(reader, named.certificate as UniqueIdentifier, ctx);
    if (certificate !== undefined && certificate.objectType !== 'Certificate') {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `the issuer ${certificate.uid} named by the Certificate Link is a ${certificate.objectType}, not a Certificate`);
    }
    let keyUid = named.privateKey as UniqueIdentifier | undefined;
    if (keyUid === undefined) {
      const publicKeyUid = certificate === undefined ? subject.publicKey?.uid : linkOf(certificate, L.PublicKeyLink);
      const publicKey = publicKeyUid === undefined ? undefined : await reader.get(publicKeyUid, ctx.identity.name);
      keyUid = publicKey === undefined ? undefined : linkOf(publicKey, L.PrivateKeyLink);
    }
    if (keyUid === undefined) {
      throw new KmipError(
        'InvalidField',
        certificate === undefined
          ? 'no key to sign with: the public key has no Private Key Link here; name the issuer with a Certificate Link (and Private Key Link) attribute'
          : `the issuer certificate ${certificate.uid} has no Public Key Link to a key pair held here; name its private key with a Private Key Link attribute`,
      );
    }
    return { certificate, privateKey: await ownObject(reader, keyUid, ctx) };
  });
  const key = await signingKey(found.privateKey, ctx);
  const keySpki = spkiOf(key);
  if (found.certificate === undefined) {
    // Self-signed: the key must be the subject's own.
    if (!keySpki.equals(subject.spki)) {
      throw new KmipError('InvalidField', `private key ${found.privateKey.uid} is not the subject's: name the issuer's certificate with a Certificate Link attribute`);
    }
    return { name: subject.subject, key, spki: keySpki, selfSigned: true };
  }
  const cert = await unsealObject(ctx, found.certificate);
  const der = child(cert, Tag.CertificateValue);
  if (der?.type !== 'ByteString') throw new KmipError('InvalidField', `the issuer ${found.certificate.uid} has no X.509 value`);
  const facts = readCertificate(der.value);
  if (!facts.spki.equals(keySpki)) throw new KmipError('InvalidField', `private key ${found.privateKey.uid} does not belong to the issuer certificate ${found.certificate.uid}`);
  if (!facts.ca) throw new KmipError(reason(ctx, 'InvalidObjectType', 'PermissionDenied'), `certificate ${found.certificate.uid} is not a CA certificate (basicConstraints cA) and cannot issue others`);
  return { name: facts.subject, key, spki: keySpki, selfSigned: false, certificateUid: found.certificate.uid, notAfter: Math.floor(facts.notAfter.getTime() / 1000) };
}

/** The issuer's private key: held here in plain, Active, and allowed to sign. */
async function signingKey(record: ManagedObjectRecord, ctx: OperationContext): Promise<KeyObject> {
  if (record.objectType !== 'PrivateKey') throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `object ${record.uid} is a ${record.objectType}, not the issuer's Private Key`);
  const state = effectiveState(record, ctx.clock.now());
  if (state !== 'Active') throw wrongState(`the issuer's private key ${record.uid} is ${stateTitle(state)}; only an Active key signs certificates`, ctx.version);
  const mask = find(record.attributes, Tag.CryptographicUsageMask);
  if (mask?.type !== 'Integer' || (mask.value & (U.Sign | U.CertificateSign)) === 0) {
    throw new KmipError(reason(ctx, 'IncompatibleCryptographicUsageMask', 'PermissionDenied'), `the issuer's private key ${record.uid} has neither the Sign nor the Certificate Sign bit in its Cryptographic Usage Mask`);
  }
  return keyOf(record, 'PrivateKey', ctx);
}

// ——— the new certificate ———

/**
 * A Certificate record for `der`: sealed, with the attributes the server derives from it (2.1
 * §4.7, §4.8, §4.22, §4.61–4.63) and those asked for (less any the certificate itself decides).
 */
export async function certificateRecord(ctx: OperationContext, uid: string, der: Buffer, requested: readonly Item[], now: number): Promise<ManagedObjectRecord> {
  const valueItem = item(Tag.CertificateValue, 'ByteString', der);
  const value = structure(Tag.Certificate, [item(Tag.CertificateType, 'Enumeration', Enum.CertificateType.X_509), valueItem]);
  const derived = [
    item(Tag.CertificateType, 'Enumeration', Enum.CertificateType.X_509),
    item(Tag.CertificateLength, 'Integer', der.length),
    ...x509Attributes(der, new NodeX509Certificate(der)),
  ];
  const asked = requested.filter((a) => !derived.some((d) => sameRef(refOf(d), refOf(a))));
  const sealedValue = await sealObject(ctx, uid, value);
  const { state, attributes } = initialAttributes({
    objectType: 'Certificate',
    uid,
    now,
    origin: 'generated',
    requested: asked,
    digestOf: [{ value: valueItem }],
    rng: RNG,
    protectionStorageMask: protectionStorageMask(ctx),
  });
  return { uid: uid as UniqueIdentifier, objectType: 'Certificate', state, owner: ctx.identity.name, attributes: [...attributes, ...derived], sealedValue };
}

/**
 * Re-certify (KMIP 2.1 §6.1.45; 1.4 §4.8): a replacement for a managed X.509 certificate made by
 * Certify or registered with its issuer here: the same subject, public key and extensions (or
 * those of a PKCS#10 request in the payload, which take precedence), signed again by the same
 * issuer, valid from now for as long as the existing one was. Attributes follow 2.1 Table 299: the
 * client-set ones are copied, the Names move to the new certificate, Activation and Deactivation
 * Dates are copied or (with an Offset) computed as Table 298 says. Links: the existing certificate
 * gets a Replacement Object Link to the new one, the new one a Replaced Object Link back, and the
 * public key's Certificate Link moves to the new certificate — all in one store transaction.
 */
import { randomUUID } from 'node:crypto';
import { type Item, item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { ruleFor, stampLastChange } from '../objects/attribute-rules.js';
import { child, dateOf, refOf, sameItem, sameRef } from '../objects/items.js';
import type { UniqueIdentifier } from '../objects/types.js';
import { carriedExtensions, issueCertificate, readCertificate, readCertificateRequest } from '../objects/x509.js';
import { certificateRecord, certificateRequestOf, linkOf, resolveIssuer, splitDirectives } from './certify.js';
import { checkNamesUnique, creationAttributes, firstUid, linkItem, ownObject, reason, targetUid, uidItem, unsealObject } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const L = Enum.LinkType;

/** Attributes the new certificate does not copy (Table 299), or takes from the dates rule (Table 298). */
const NOT_COPIED: readonly number[] = [Tag.Link, Tag.Name, Tag.ActivationDate, Tag.DeactivationDate, Tag.ProcessStartDate, Tag.ProtectStopDate, Tag.Fresh, Tag.OriginalCreationDate, Tag.RandomNumberGenerator];

export const recertify: OperationDefinition = {
  name: 'ReCertify',
  mutates: true,
  permission: 'write',
  objectTypes: ['Certificate'],
  placeholder: firstUid,
  async handler(payload, ctx) {
    const uid = targetUid(payload, ctx);
    const offset = payload.get(Tag.Offset, 'Interval');
    const { kept: requested, directives } = splitDirectives(creationAttributes(payload, ctx), ctx);
    if (offset !== undefined && requested.some((a) => a.tag === Tag.ActivationDate || a.tag === Tag.DeactivationDate)) {
      // 1.4 §11.9: "Offset field is not permitted to be specified at the same time as any of the Activation Date or Deactivation Date attributes".
      throw new KmipError('InvalidMessage', 'an Offset cannot be given together with an Activation or Deactivation Date (KMIP 1.4 §11.9)');
    }

    const existing = await ctx.store.read((reader) => ownObject(reader, uid, ctx));
    if (existing.objectType !== 'Certificate') {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'PermissionDenied'), `object ${uid} is a ${existing.objectType}; Re-certify renews a Certificate`);
    }
    const value = await unsealObject(ctx, existing);
    const type = child(value, Tag.CertificateType);
    const der = child(value, Tag.CertificateValue);
    if (type?.value !== Enum.CertificateType.X_509 || der?.type !== 'ByteString') throw new KmipError('FeatureNotSupported', 'kmipd renews X.509 certificates only');
    const old = readCertificate(der.value);

    const csr = await requestOf(payload, ctx);
    const publicKeyUid = linkOf(existing, L.PublicKeyLink);
    const publicKey = publicKeyUid === undefined ? undefined : await ctx.store.read((reader) => reader.get(publicKeyUid, ctx.identity.name));
    if (csr !== undefined && !csr.spki.equals(old.spki)) {
      throw new KmipError('InvalidField', 'Re-certify renews a certificate for the same key pair: the Certificate Request is for another key');
    }
    const subject = csr?.subject ?? old.subject;
    // The same issuer as before, unless the request names one.
    const issuer = await resolveIssuer(
      ctx,
      { certificate: directives.issuerCertificate ?? linkOf(existing, L.CertificateLink), privateKey: directives.issuerKey },
      { spki: old.spki, subject: old.subject, publicKey },
    );

    const now = ctx.clock.now();
    const lifetime = Math.floor((old.notAfter.getTime() - old.notBefore.getTime()) / 1000);
    const notAfter = Math.min(now + lifetime, issuer.notAfter ?? Number.MAX_SAFE_INTEGER);
    if (notAfter <= now) throw new KmipError('InvalidField', 'the issuer certificate has expired: it cannot issue a renewal');
    const newDer = await issueCertificate({
      subject,
      spki: old.spki,
      issuer,
      notBefore: new Date(now * 1000),
      notAfter: new Date(notAfter * 1000),
      ca: old.ca,
      extensions: csr?.extensions ?? carriedExtensions(old.cert),
    });

    const newUid = randomUUID();
    const names = existing.attributes.filter((a) => a.tag === Tag.Name);
    const links = [
      linkItem(L.ReplacedObjectLink, existing.uid),
      ...(publicKeyUid === undefined ? [] : [linkItem(L.PublicKeyLink, publicKeyUid)]),
      ...(issuer.certificateUid === undefined ? [] : [linkItem(L.CertificateLink, issuer.certificateUid)]),
    ];
    const attributes = [...copied(existing.attributes, requested), ...requested, ...replacementDates(existing.attributes, now, offset).filter((d) => !requested.some((r) => r.tag === d.tag)), ...names, ...links];
    const record = await certificateRecord(ctx, newUid, newDer, attributes, now);
    await ctx.store.transaction(async (tx) => {
      // Table 299: "all name attributes are removed from the existing certificate" — before the new one takes them.
      const current = await ownObject(tx, existing.uid, ctx);
      current.attributes = stampLastChange([...current.attributes.filter((a) => a.tag !== Tag.Name), linkItem(L.ReplacementObjectLink, newUid)], now);
      await tx.update(current);
      await checkNamesUnique(tx, requested, ctx);
      await tx.insert(record, { uidGenerated: true });
      if (publicKeyUid !== undefined) {
        const key = await tx.get(publicKeyUid, ctx.identity.name);
        if (key !== undefined) {
          // 2.1 §6.1.45: "the server SHALL change the Link attribute of Link Type Certificate to point to the new certificate".
          const toOld = linkItem(L.CertificateLink, existing.uid);
          key.attributes = stampLastChange([...key.attributes.filter((a) => !sameItem(a, toOld)), linkItem(L.CertificateLink, newUid)], now);
          await tx.update(key);
        }
      }
    });
    return [uidItem(newUid)];
  },
};

/** The request's PKCS#10 request: in the payload, or (2.x) a managed Certificate Request by its Unique Identifier. */
async function requestOf(payload: Fields, ctx: OperationContext): Promise<Awaited<ReturnType<typeof readCertificateRequest>> | undefined> {
  const given = certificateRequestOf(payload, ctx);
  const invalid = reason(ctx, 'InvalidCSR', 'InvalidField');
  if (given !== undefined) return readCertificateRequest(given.value, given.type, invalid);
  const requestUid = isV2(ctx.version) ? payload.get(Tag.CertificateRequestUniqueIdentifier, 'TextString') : undefined;
  if (requestUid === undefined) return undefined;
  const record = await ctx.store.read((reader) => ownObject(reader, requestUid as UniqueIdentifier, ctx));
  if (record.objectType !== 'CertificateRequest') throw new KmipError('InvalidObjectType', `object ${requestUid} is a ${record.objectType}, not a Certificate Request`);
  const value = new Fields((await unsealObject(ctx, record)) as Extract<Item, { type: 'Structure' }>);
  return readCertificateRequest(value.need(Tag.CertificateRequestValue, 'ByteString'), value.need(Tag.CertificateRequestType, 'Enumeration'), invalid);
}

/** The existing certificate's client-set attributes the new one keeps (2.1 Table 299), less those the request replaces. */
function copied(attrs: readonly Item[], requested: readonly Item[]): Item[] {
  return attrs.filter((a) => {
    if (NOT_COPIED.includes(a.tag)) return false;
    const rule = ruleFor(refOf(a));
    if (rule === undefined || rule.initiallySetBy === 'server') return false;
    return !requested.some((r) => sameRef(refOf(r), refOf(a)));
  });
}

/**
 * 2.1 §6.1.45: without an Offset the Activation and Deactivation Dates are copied; with one,
 * AT2 = IT2 + Offset and DT2 = DT1 + (AT2 − AT1) (Table 298).
 */
function replacementDates(attrs: readonly Item[], now: number, offset: number | undefined): Item[] {
  const a1 = dateOf(attrs, Tag.ActivationDate);
  const d1 = dateOf(attrs, Tag.DeactivationDate);
  if (offset === undefined) {
    return [...(a1 === undefined ? [] : [item(Tag.ActivationDate, 'DateTime', a1)]), ...(d1 === undefined ? [] : [item(Tag.DeactivationDate, 'DateTime', d1)])];
  }
  const a2 = now + offset;
  const out: Item[] = [item(Tag.ActivationDate, 'DateTime', a2)];
  if (d1 !== undefined && a1 !== undefined) out.push(item(Tag.DeactivationDate, 'DateTime', d1 + (a2 - a1)));
  return out;
}

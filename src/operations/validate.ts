/**
 * Validate (KMIP 2.1 §6.1.57; 1.4 §4.24): the Validity Indicator of one certificate chain, given
 * as Certificate objects in the request and/or Unique Identifiers of the caller's managed
 * Certificates, at the Validity Date (default now). The policy is src/objects/x509-chain.ts's:
 * the caller's managed self-signed certificates are its trust anchors. When the chain given stops
 * short of a root, issuers are looked for among the caller's managed certificates (by X.509
 * Certificate Subject). A certificate given in the request counts as managed when the caller
 * holds the same certificate (same Digest). Certificates that do not form one chain are an
 * Invalid Message (1.4 §11.25).
 */
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { digest } from '../objects/attribute-rules.js';
import { child, find } from '../objects/items.js';
import { type ChainCert, chainCert, isSelfIssued, issuedBy, judge, orderChain } from '../objects/x509-chain.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import type { StoreReader } from '../store/types.js';
import { ownObject, reason, unsealObject } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

/** At most this many certificates in one chain, given and found together. */
const MAX_CHAIN = 16;
/** Candidate issuers read per missing link. */
const MAX_CANDIDATES = 8;

export const validate: OperationDefinition = {
  name: 'Validate',
  mutates: false,
  permission: 'read',
  objectTypes: ['Certificate'],
  async handler(payload, ctx) {
    const given = payload.all(Tag.Certificate);
    const uids = [...new Set(payload.values(Tag.UniqueIdentifier, 'TextString'))] as UniqueIdentifier[];
    if (given.length + uids.length === 0) throw new KmipError('InvalidMessage', 'Validate needs the certificates of a chain (Certificate objects or Unique Identifiers)');
    if (given.length + uids.length > MAX_CHAIN) throw new KmipError('InvalidMessage', `kmipd validates chains of at most ${MAX_CHAIN} certificates`);
    const at = payload.get(Tag.ValidityDate, 'DateTime') ?? ctx.clock.now();

    const records = await ctx.store.read((reader) => Promise.all(uids.map((uid) => ownObject(reader, uid, ctx))));
    const certs: ChainCert[] = [];
    for (const record of records) certs.push(await managedCert(record, ctx));
    for (const value of given) certs.push(await suppliedCert(Fields.of(value, 'Certificate'), ctx));
    const chain = orderChain(dedupe(certs));
    if (chain === undefined) throw new KmipError('InvalidMessage', 'the certificates given do not form one certificate chain (KMIP 1.4 §11.25)');
    await extendFromStore(chain, ctx);
    const verdict = judge(chain, at);
    return [item(Tag.ValidityIndicator, 'Enumeration', Enum.ValidityIndicator[verdict])];
  },
};

/** The same certificate given twice (by value and by identifier) is one link of the chain, managed if either says so. */
function dedupe(certs: readonly ChainCert[]): ChainCert[] {
  const out: ChainCert[] = [];
  for (const c of certs) {
    const same = out.findIndex((o) => o.der.equals(c.der));
    if (same < 0) out.push(c);
    else out[same] = { ...out[same]!, managed: out[same]!.managed || c.managed, revoked: out[same]!.revoked || c.revoked };
  }
  return out;
}

/** 2.1 §4.57: a Compromised certificate, or one with a Revocation Reason, is revoked. */
function isRevoked(record: ManagedObjectRecord): boolean {
  return record.state === 'Compromised' || find(record.attributes, Tag.RevocationReason) !== undefined;
}

async function managedCert(record: ManagedObjectRecord, ctx: OperationContext): Promise<ChainCert> {
  if (record.objectType !== 'Certificate') {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `object ${record.uid} is a ${record.objectType}; Validate takes Certificates`);
  }
  const value = await unsealObject(ctx, record);
  return chainCert(x509Value(new Fields(value as Extract<Item, { type: 'Structure' }>), ctx), { managed: true, revoked: isRevoked(record) });
}

async function suppliedCert(value: Fields, ctx: OperationContext): Promise<ChainCert> {
  const der = x509Value(value, ctx);
  const held = await ctx.store.read(async (reader) => {
    const found = await reader.locate({ objectTypes: ['Certificate'], attributes: [{ attribute: 'Digest', equals: digest({ value: item(Tag.CertificateValue, 'ByteString', der) }) }], maxItems: 1 }, ctx.identity.name);
    return found[0] === undefined ? undefined : reader.get(found[0], ctx.identity.name);
  });
  return chainCert(der, { managed: held !== undefined, revoked: held !== undefined && isRevoked(held) });
}

function x509Value(value: Fields, ctx: OperationContext): Uint8Array {
  const type = value.need(Tag.CertificateType, 'Enumeration');
  if (type !== Enum.CertificateType.X_509) throw new KmipError(reason(ctx, 'FeatureNotSupported', 'InvalidField'), 'kmipd validates X.509 certificate chains only');
  return value.need(Tag.CertificateValue, 'ByteString');
}

/** Issuers of the chain's top certificate from the caller's managed certificates, until a root or none is found. */
async function extendFromStore(chain: ChainCert[], ctx: OperationContext): Promise<void> {
  while (chain.length < MAX_CHAIN) {
    const top = chain[chain.length - 1]!;
    if (isSelfIssued(top)) return;
    const candidates = await ctx.store.read((reader) => issuerCandidates(reader, top, ctx));
    const issuer = await firstIssuer(top, candidates, ctx);
    if (issuer === undefined || chain.some((c) => c.der.equals(issuer.der))) return;
    chain.push(issuer);
  }
}

/** The caller's on-line certificates whose subject is `cert`'s issuer. */
async function issuerCandidates(reader: StoreReader, cert: ChainCert, ctx: OperationContext): Promise<ManagedObjectRecord[]> {
  const subject = structure(Tag.X_509CertificateSubject, [item(Tag.SubjectDistinguishedName, 'ByteString', cert.issuerDn)]);
  const uids = await reader.locate({ objectTypes: ['Certificate'], attributes: [{ attribute: 'X_509CertificateSubject', equals: subject }], maxItems: MAX_CANDIDATES }, ctx.identity.name);
  const records = await Promise.all(uids.map((uid) => reader.get(uid, ctx.identity.name)));
  return records.filter((r): r is ManagedObjectRecord => r !== undefined && r.archived !== true && r.sealedValue !== undefined);
}

async function firstIssuer(cert: ChainCert, candidates: readonly ManagedObjectRecord[], ctx: OperationContext): Promise<ChainCert | undefined> {
  for (const record of candidates) {
    const der = child(await unsealObject(ctx, record), Tag.CertificateValue);
    if (der?.type !== 'ByteString') continue;
    const candidate = chainCert(der.value, { managed: true, revoked: isRevoked(record) });
    if (issuedBy(cert, candidate)) return candidate;
  }
  return undefined;
}

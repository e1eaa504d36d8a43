/**
 * Re-key Key Pair (KMIP 2.1 §6.1.47; 1.4 §4.5): a replacement pair for an existing private key and
 * the public key it links to. The new pair has the same algorithm, length (curve) and client-given
 * attributes, takes over the existing keys' Names, and is linked to them by Replaced Object Links
 * (the existing keys get Replacement Object Links). Dates: without an Offset the Activation and
 * Deactivation Dates are copied; with one the new Activation Date is now + Offset and the
 * Deactivation Date keeps its distance (2.1 Table 308). The request's Common / Private / Public Key
 * Attributes override what is copied. All four records change in one store transaction; the ID
 * Placeholder becomes the new Private Key's Unique Identifier.
 */
import type { Item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { isMultiInstance, ruleFor, stampLastChange } from '../objects/attribute-rules.js';
import { child, dateItem, dateOf, refOf, sameItem, withReplaced } from '../objects/items.js';
import { effectiveState, stateTitle, wrongState } from '../objects/lifecycle.js';
import type { ManagedObjectRecord, ObjectTypeName, UniqueIdentifier } from '../objects/types.js';
import { buildPair, checkPairNames, checkPairStorageMasks, checkedPairAttributes, generatePair, pairAttributes, pairResponse, privateKeyUid } from './create-key-pair.js';
import { checkNamesUnique, linkItem, ownObject, reason } from './managed.js';
import { replacementUsageLimits } from './generation.js';
import type { OperationContext, OperationDefinition } from './registry.js';
import type { StoreReader } from '../store/types.js';

/** Table 309: attributes not copied (set afresh by the server, or handled here: Names, Links, dates, Usage Limits). */
const NOT_COPIED: readonly number[] = [
  Tag.Name, Tag.Link, Tag.ActivationDate, Tag.DeactivationDate, Tag.ProcessStartDate, Tag.ProtectStopDate,
  Tag.UsageLimits, Tag.Fresh, Tag.OriginalCreationDate, Tag.RandomNumberGenerator, Tag.KeyFormatType,
];

function copied(attr: Item): boolean {
  if (NOT_COPIED.includes(attr.tag)) return false;
  const rule = ruleFor(refOf(attr));
  return rule !== undefined && (rule.initiallySetBy !== 'server' || rule.inRequest.includes('create'));
}

/**
 * 2.1 Table 308. An Offset cannot place a Deactivation Date when the existing key has no
 * Activation Date (1.4 §11.6: Illegal Operation).
 */
function replacementDates(attrs: readonly Item[], offset: number | undefined, now: number): Item[] {
  const at1 = dateOf(attrs, Tag.ActivationDate);
  const dt1 = dateOf(attrs, Tag.DeactivationDate);
  if (offset === undefined) return [...(at1 === undefined ? [] : [dateItem(Tag.ActivationDate, at1)]), ...(dt1 === undefined ? [] : [dateItem(Tag.DeactivationDate, dt1)])];
  const at2 = now + offset;
  if (dt1 === undefined) return [dateItem(Tag.ActivationDate, at2)];
  if (at1 === undefined) throw new KmipError('IllegalOperation', 'the existing key has no Activation Date, so an Offset cannot place its Deactivation Date (KMIP 1.4 §11.6)');
  return [dateItem(Tag.ActivationDate, at2), dateItem(Tag.DeactivationDate, dt1 + (at2 - at1))];
}


/** What the replacement key takes over from an existing one, the request's attributes on top (Common first, then the key's own). */
function carried(objectType: ObjectTypeName, old: ManagedObjectRecord, offset: number | undefined, now: number, requested: readonly Item[]): Item[] {
  let out = [...old.attributes.filter(copied), ...replacementDates(old.attributes, offset, now), ...replacementUsageLimits(old.attributes), ...old.attributes.filter((a) => a.tag === Tag.Name)];
  for (const attr of requested) {
    const rule = ruleFor(refOf(attr));
    if (rule !== undefined && isMultiInstance(rule, objectType)) {
      if (!out.some((a) => sameItem(a, attr))) out = [...out, attr];
    } else out = withReplaced(out, [attr]);
  }
  return out;
}

function linked(record: ManagedObjectRecord, linkType: number): string | undefined {
  const link = record.attributes.find((a) => a.tag === Tag.Link && child(a, Tag.LinkType)?.value === linkType);
  const target = link === undefined ? undefined : child(link, Tag.LinkedObjectIdentifier);
  return target?.type === 'TextString' ? target.value : undefined;
}

/** The existing private key and its public key, if they can be re-keyed. */
async function existingPair(reader: StoreReader, uid: UniqueIdentifier, ctx: OperationContext): Promise<{ priv: ManagedObjectRecord; pub: ManagedObjectRecord }> {
  const priv = await ownObject(reader, uid, ctx);
  // 1.4 §11.6: "Object specified is not able to be re-keyed" → Permission Denied.
  if (priv.objectType !== 'PrivateKey') {
    throw new KmipError(reason(ctx, 'InvalidObjectType', 'PermissionDenied'), `Re-key Key Pair replaces a Private Key and its Public Key, not a ${priv.objectType} (KMIP 2.1 §6.1.47)`);
  }
  const pubUid = linked(priv, Enum.LinkType.PublicKeyLink);
  if (pubUid === undefined) throw new KmipError(reason(ctx, 'ObjectNotFound', 'PermissionDenied'), `private key ${uid} has no Public Key Link to re-key its pair with`);
  const pub = await ownObject(reader, pubUid as UniqueIdentifier, ctx);
  for (const record of [priv, pub]) {
    const state = effectiveState(record, ctx.clock.now());
    if (state === 'Destroyed' || state === 'DestroyedCompromised') throw wrongState(`key ${record.uid} is ${stateTitle(state)}; a destroyed key pair is not re-keyed`, ctx.version);
  }
  return { priv, pub };
}

export const rekeyKeyPair: OperationDefinition = {
  name: 'ReKeyKeyPair',
  mutates: true,
  permission: 'write',
  objectTypes: ['PublicKey', 'PrivateKey'],
  placeholder: privateKeyUid,
  async handler(payload, ctx) {
    const given = payload.get(Tag.PrivateKeyUniqueIdentifier, 'TextString') ?? ctx.idPlaceholder;
    // 2.1 §6.1.47: "If omitted, then the ID Placeholder is substituted"; an emptied one names nothing.
    if (given === undefined || given === '') throw new KmipError('InvalidField', 'the request names no Private Key Unique Identifier and no earlier batch item set the ID Placeholder');
    const uid = given as UniqueIdentifier;
    const offset = payload.get(Tag.Offset, 'Interval');
    const request = pairAttributes(payload, ctx);
    checkPairStorageMasks(payload, ctx);
    if (offset !== undefined && [...request.common, ...request.privateKey, ...request.publicKey].some((a) => a.tag === Tag.ActivationDate || a.tag === Tag.DeactivationDate)) {
      // 1.4 §11.6: "Offset field is not permitted to be specified at the same time as any of the Activation Date or Deactivation Date attributes".
      throw new KmipError('InvalidMessage', 'an Offset cannot be given together with an Activation or Deactivation Date');
    }

    // Generation and sealing happen outside the transaction, from what the existing pair holds now.
    const now = ctx.clock.now();
    const before = await ctx.store.read((reader) => existingPair(reader, uid, ctx));
    const attrs = checkedPairAttributes(
      {
        common: [],
        privateKey: carried('PrivateKey', before.priv, offset, now, [...request.common, ...request.privateKey]),
        publicKey: carried('PublicKey', before.pub, offset, now, [...request.common, ...request.publicKey]),
      },
      ctx,
    );
    checkPairNames(attrs.privateKey, attrs.publicKey, ctx);
    const keys = await generatePair(attrs.spec);
    const pair = await buildPair(ctx, keys, attrs, {
      privateKey: [linkItem(Enum.LinkType.ReplacedObjectLink, before.priv.uid)],
      publicKey: [linkItem(Enum.LinkType.ReplacedObjectLink, before.pub.uid)],
    }, now);

    await ctx.store.transaction(async (tx) => {
      const { priv, pub } = await existingPair(tx, uid, ctx);
      if (pub.uid !== before.pub.uid) throw new KmipError('CryptographicFailure', `key pair ${uid} changed during the Re-key Key Pair; retry`);
      // Table 309, Name: "all name attributes of the existing public/private keys are removed": first, so no Name is held twice.
      for (const [old, replacement] of [[priv, pair.privateRecord], [pub, pair.publicRecord]] as const) {
        old.attributes = stampLastChange([...old.attributes.filter((a) => a.tag !== Tag.Name), linkItem(Enum.LinkType.ReplacementObjectLink, replacement.uid)], now);
        await tx.update(old);
      }
      const newNames = [...request.common, ...request.privateKey, ...request.publicKey].filter((a) => a.tag === Tag.Name && ![...before.priv.attributes, ...before.pub.attributes].some((b) => sameItem(a, b)));
      await checkNamesUnique(tx, newNames, ctx);
      await tx.insert(pair.privateRecord, { uidGenerated: true });
      await tx.insert(pair.publicRecord, { uidGenerated: true });
    });
    return pairResponse(pair);
  },
};

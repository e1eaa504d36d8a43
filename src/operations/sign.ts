/**
 * Sign (KMIP 2.1 §6.1.55; 1.4 §4.31): the caller's Active Private Key with the Sign usage bit signs
 * the Data (or, RSA PKCS#1 v1.5 only, the Digested Data as given), single-part or multi-part. The
 * scheme comes from Cryptographic Parameters, the request's over the key's: see src/crypto/sign.ts.
 * A key with Usage Limits gives an allocation first (§6.1.55), or the Sign is Permission Denied.
 */
import type { KeyObject } from 'node:crypto';
import { type Item, item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Mask, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { keyFromBlock } from '../objects/key-formats.js';
import { find } from '../objects/items.js';
import { type Reasons, type SignScheme, reasonsFor, signData, signDigest, signScheme } from '../crypto/sign.js';
import { type KeyNeed, type UsableKey, cryptoRequest, needData, takeUsage, wipe } from './crypto-key.js';
import { uidItem } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const NEED: KeyNeed = { objectTypes: ['PrivateKey'], purpose: 'protect', usage: Mask.CryptographicUsageMask.Sign, operation: 'Sign' };

/** The node:crypto key and signature scheme of a checked key, for Sign and Signature Verify. */
export function schemeOf(key: UsableKey, params: Fields | undefined, ctx: OperationContext): { keyObject: KeyObject; scheme: SignScheme; reasons: Reasons } {
  const reasons = reasonsFor(isV2(ctx.version));
  const keyObject = keyFromBlock(key.record.objectType === 'PrivateKey' ? 'PrivateKey' : 'PublicKey', key.block);
  const dsa = find(key.record.attributes, Tag.DigitalSignatureAlgorithm);
  return { keyObject, scheme: signScheme(keyObject, params, key.parameters, dsa?.type === 'Enumeration' ? dsa.value : undefined, reasons), reasons };
}

/** Digested Data, which is single-part only and excludes Data. */
export function digestedData(payload: Fields, data: Uint8Array | undefined, multipart: boolean): Uint8Array | undefined {
  const digested = payload.get(Tag.DigestedData, 'ByteString');
  if (digested === undefined) return undefined;
  if (multipart) throw new KmipError('InvalidField', 'Digested Data is single-part: send it without Init Indicator or Correlation Value');
  if (data !== undefined) throw new KmipError('InvalidField', 'give either Data or Digested Data, not both');
  return digested;
}

export const sign: OperationDefinition = {
  name: 'Sign',
  mutates: false,
  permission: 'read',
  async handler(payload, ctx) {
    if (payload.has(Tag.DigestedData) && (payload.has(Tag.InitIndicator) || payload.has(Tag.CorrelationValue))) {
      throw new KmipError('InvalidField', 'Digested Data is single-part: send it without Init Indicator or Correlation Value');
    }
    const request = await cryptoRequest(payload, ctx, 'Sign', NEED);
    if (request.kind === 'kept') return request.response;
    const key = request.key!;
    try {
      const { keyObject, scheme, reasons } = schemeOf(key, request.params, ctx);
      const digested = digestedData(payload, request.data, request.multipart);
      const input = digested ?? needData(request.data, 'Sign');
      await takeUsage(key.record, ctx, input.length, 'PermissionDenied');
      const signature = digested !== undefined ? signDigest(scheme, keyObject, digested, reasons) : signData(scheme, keyObject, input);
      const out: Item[] = [uidItem(key.record.uid), item(Tag.SignatureData, 'ByteString', signature)];
      return out;
    } finally {
      wipe(key.value);
    }
  },
};

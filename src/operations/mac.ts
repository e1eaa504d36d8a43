/**
 * MAC (KMIP 2.1 §6.1.32; 1.4 §4.33): the caller's Active Symmetric Key with the MAC Generate usage
 * bit computes HMAC or AES-CMAC over the Data, single-part or multi-part (src/crypto/mac.ts). A key
 * with Usage Limits gives an allocation first (Usage Limit Exceeded when it cannot; 1.x Permission Denied).
 */
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import type { Fields } from '../kmip/fields.js';
import { Mask, Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { symmetricBytes } from '../objects/key-formats.js';
import { type MacScheme, computeMac, macScheme } from '../crypto/mac.js';
import { reasonsFor } from '../crypto/sign.js';
import { type KeyNeed, type UsableKey, cryptoRequest, needData, takeUsage, wipe } from './crypto-key.js';
import { reason, uidItem } from './managed.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const NEED: KeyNeed = { objectTypes: ['SymmetricKey'], purpose: 'protect', usage: Mask.CryptographicUsageMask.MACGenerate, operation: 'MAC' };

/** The MAC scheme and key bytes of a checked Symmetric Key, for MAC and MAC Verify. */
export function macKey(key: UsableKey, params: Fields | undefined, ctx: OperationContext): { scheme: MacScheme; bytes: Uint8Array } {
  const scheme = macScheme(key.algorithm, params, key.parameters, reasonsFor(isV2(ctx.version)));
  const bytes = symmetricBytes(key.block, key.block.need(Tag.KeyFormatType, 'Enumeration'));
  if (bytes === undefined) throw new KmipError('KeyFormatTypeNotSupported', `the key of ${key.record.uid} is not held as Raw or Transparent Symmetric Key bytes`);
  return { scheme, bytes };
}

export const mac: OperationDefinition = {
  name: 'MAC',
  mutates: false,
  permission: 'read',
  async handler(payload, ctx) {
    const request = await cryptoRequest(payload, ctx, 'MAC', NEED);
    if (request.kind === 'kept') return request.response;
    const key = request.key!;
    try {
      const { scheme, bytes } = macKey(key, request.params, ctx);
      const input = needData(request.data, 'MAC');
      await takeUsage(key.record, ctx, input.length, reason(ctx, 'UsageLimitExceeded', 'PermissionDenied'));
      return [uidItem(key.record.uid), item(Tag.MACData, 'ByteString', computeMac(scheme, bytes, input))];
    } finally {
      wipe(key.value);
    }
  },
};

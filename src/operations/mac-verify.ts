/**
 * MAC Verify (KMIP 2.1 §6.1.33; 1.4 §4.34): the caller's Active Symmetric Key with the MAC Verify
 * usage bit recomputes the MAC over the Data and compares it, in constant time, with the MAC Data.
 * A mismatch is a success answering Validity Indicator Invalid; non-final parts answer the
 * Correlation Value only.
 */
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { macMatches } from '../crypto/mac.js';
import { type KeyNeed, cryptoRequest, needData, wipe } from './crypto-key.js';
import { macKey } from './mac.js';
import { uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

const NEED: KeyNeed = { objectTypes: ['SymmetricKey'], purpose: 'process', usage: Mask.CryptographicUsageMask.MACVerify, operation: 'MAC Verify' };

export const macVerify: OperationDefinition = {
  name: 'MACVerify',
  mutates: false,
  permission: 'read',
  async handler(payload, ctx) {
    const request = await cryptoRequest(payload, ctx, 'MACVerify', NEED);
    if (request.kind === 'kept') return request.response;
    const key = request.key!;
    try {
      const { scheme, bytes } = macKey(key, request.params, ctx);
      const given = payload.get(Tag.MACData, 'ByteString');
      if (given === undefined) throw new KmipError('InvalidMessage', 'MAC Verify needs the MAC Data');
      const valid = macMatches(scheme, bytes, needData(request.data, 'MAC Verify'), given);
      return [uidItem(key.record.uid), item(Tag.ValidityIndicator, 'Enumeration', valid ? Enum.ValidityIndicator.Valid : Enum.ValidityIndicator.Invalid)];
    } finally {
      wipe(key.value);
    }
  },
};

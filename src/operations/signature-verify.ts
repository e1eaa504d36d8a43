/**
 * Signature Verify (KMIP 2.1 §6.1.56; 1.4 §4.32): the caller's Active Public Key with the Verify
 * usage bit checks the Signature Data over the Data (or RSA PKCS#1 v1.5 Digested Data). A wrong
 * signature — or one made with other parameters — is a success answering Validity Indicator
 * Invalid (CS-AC-M-2-21, CS-AC-M-3-21), not an error. Non-final parts of a multi-part verify
 * answer the Correlation Value and no Validity Indicator (§6.1.56).
 */
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Mask, Tag } from '../kmip/registry.generated.js';
import { verifyData, verifyDigest } from '../crypto/sign.js';
import { type KeyNeed, cryptoRequest, needData, wipe } from './crypto-key.js';
import { uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';
import { digestedData, schemeOf } from './sign.js';

const NEED: KeyNeed = { objectTypes: ['PublicKey'], purpose: 'process', usage: Mask.CryptographicUsageMask.Verify, operation: 'Signature Verify' };

export const signatureVerify: OperationDefinition = {
  name: 'SignatureVerify',
  mutates: false,
  permission: 'read',
  async handler(payload, ctx) {
    if (payload.has(Tag.DigestedData) && (payload.has(Tag.InitIndicator) || payload.has(Tag.CorrelationValue))) {
      throw new KmipError('InvalidField', 'Digested Data is single-part: send it without Init Indicator or Correlation Value');
    }
    const request = await cryptoRequest(payload, ctx, 'SignatureVerify', NEED);
    if (request.kind === 'kept') return request.response;
    const key = request.key!;
    try {
      const { keyObject, scheme, reasons } = schemeOf(key, request.params, ctx);
      const signature = payload.get(Tag.SignatureData, 'ByteString');
      if (signature === undefined) throw new KmipError('InvalidMessage', 'Signature Verify needs the Signature Data');
      const digested = digestedData(payload, request.data, request.multipart);
      const valid = digested !== undefined ? verifyDigest(scheme, keyObject, digested, signature, reasons) : verifyData(scheme, keyObject, needData(request.data, 'Signature Verify'), signature);
      return [uidItem(key.record.uid), item(Tag.ValidityIndicator, 'Enumeration', valid ? Enum.ValidityIndicator.Valid : Enum.ValidityIndicator.Invalid)];
    } finally {
      wipe(key.value);
    }
  },
};

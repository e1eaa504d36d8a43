/**
 * RNG Seed (KMIP 2.1 §6.1.50; 1.4 §4.36). kmipd's random numbers come from OpenSSL's CSPRNG
 * through node:crypto, which has no call to add seed material; so the Data is accepted, not used,
 * and the answer is Data Length 0 — which §6.1.50 allows ("The server MAY elect to ignore the
 * information provided by the client … by returning zero as the value in the Data Length
 * response"; CS-RNG-O-3-21). Nothing of the Data is kept or logged.
 */
import { item } from '../ttlv/index.js';
import { Tag } from '../kmip/registry.generated.js';
import type { OperationDefinition } from './registry.js';

export const rngSeed: OperationDefinition = {
  name: 'RNGSeed',
  mutates: false,
  permission: 'public',
  handler(payload) {
    payload.need(Tag.Data, 'ByteString');
    return [item(Tag.DataLength, 'Integer', 0)];
  },
};

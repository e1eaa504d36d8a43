/**
 * Hash (KMIP 2.1 §6.1.24; 1.4 §4.30): the digest of the Data with the Hashing Algorithm of the
 * required Cryptographic Parameters, single-part or multi-part. No key, no object.
 */
import { createHash } from 'node:crypto';
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { isV2 } from '../kmip/version.js';
import { HASHES, reasonsFor } from '../crypto/sign.js';
import { cryptoRequest, needData } from './crypto-key.js';
import type { OperationDefinition } from './registry.js';

export const hash: OperationDefinition = {
  name: 'Hash',
  mutates: false,
  permission: 'public',
  async handler(payload, ctx) {
    const request = await cryptoRequest(payload, ctx, 'Hash', undefined);
    if (request.kind === 'kept') return request.response;
    const reasons = reasonsFor(isV2(ctx.version));
    if (request.params === undefined) throw new KmipError('InvalidMessage', 'Hash needs Cryptographic Parameters with a Hashing Algorithm (KMIP 2.1 §6.1.24)');
    const algorithm = request.params.get(Tag.HashingAlgorithm, 'Enumeration');
    if (algorithm === undefined) throw new KmipError(reasons.bad, 'the Cryptographic Parameters name no Hashing Algorithm');
    const known = HASHES.get(algorithm);
    if (known === undefined) throw new KmipError(reasons.unsupported, `kmipd does not compute Hashing Algorithm 0x${algorithm.toString(16)}`);
    return [item(Tag.Data, 'ByteString', createHash(known.node).update(needData(request.data, 'Hash')).digest())];
  },
};

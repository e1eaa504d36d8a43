/**
 * RNG Retrieve (KMIP 2.1 §6.1.49; 1.4 §4.35): Data Length bytes from node:crypto's randomBytes
 * (OpenSSL's CSPRNG, seeded by the operating system). At most MAX_RNG_BYTES per request.
 */
import { randomBytes } from 'node:crypto';
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import type { OperationDefinition } from './registry.js';

export const MAX_RNG_BYTES = 65536;

export const rngRetrieve: OperationDefinition = {
  name: 'RNGRetrieve',
  mutates: false,
  permission: 'public',
  handler(payload) {
    const length = payload.need(Tag.DataLength, 'Integer');
    if (length <= 0) throw new KmipError('InvalidField', `the Data Length must be a positive number of bytes, not ${length}`);
    if (length > MAX_RNG_BYTES) throw new KmipError('ResponseTooLarge', `kmipd returns at most ${MAX_RNG_BYTES} random bytes per request, not ${length}`);
    return [item(Tag.Data, 'ByteString', randomBytes(length))];
  },
};

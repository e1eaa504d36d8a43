/**
 * RNG Retrieve (KMIP 2.1 §6.1.49; 1.4 §4.35): Data Length bytes from this process's HMAC_DRBG
 * (SHA-256, src/crypto/drbg.ts), which reseeds from node:crypto's randomBytes before every request
 * (prediction resistance) and takes what RNG Seed accepts as additional input. At most
 * MAX_RNG_BYTES per request: SP 800-90A's limit for one HMAC_DRBG Generate.
 */
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { HmacDrbg, MAX_BYTES_PER_REQUEST } from '../crypto/drbg.js';
import type { OperationDefinition } from './registry.js';

export const MAX_RNG_BYTES = MAX_BYTES_PER_REQUEST;

let drbg: HmacDrbg | undefined;

/** The generator RNG Retrieve and RNG Seed share: one per process, instantiated on first use. */
export function serverDrbg(): HmacDrbg {
  return (drbg ??= new HmacDrbg());
}

export const rngRetrieve: OperationDefinition = {
  name: 'RNGRetrieve',
  mutates: false,
  permission: 'public',
  handler(payload) {
    const length = payload.need(Tag.DataLength, 'Integer');
    if (length <= 0) throw new KmipError('InvalidField', `the Data Length must be a positive number of bytes, not ${length}`);
    if (length > MAX_RNG_BYTES) throw new KmipError('ResponseTooLarge', `kmipd returns at most ${MAX_RNG_BYTES} random bytes per request, not ${length}`);
    return [item(Tag.Data, 'ByteString', serverDrbg().generate(length))];
  },
};

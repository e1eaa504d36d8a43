/**
 * RNG Seed (KMIP 2.1 §6.1.50; 1.4 §4.36). The spec leaves it to the server whether to use the seed
 * material: all of it, part of it, none ("The server MAY elect to ignore the information provided
 * by the client … by returning zero as the value in the Data Length response"), or to refuse the
 * request (Permission Denied is among the Result Reasons of Table 321). The operator chooses with
 * config `rng.seed` (ServerDescription.rng):
 *
 * - `ignore` (default): Data Length 0, the data unused (OASIS CS-RNG-O-3).
 * - `accept`: the first `rng.seedMaxBytes` bytes become the additional input of a reseed of the
 *   RNG Retrieve generator, beside fresh entropy (src/crypto/drbg.ts); Data Length says how many
 *   bytes were used (CS-RNG-O-1: all 32, CS-RNG-O-2: 16 of 32).
 * - `refuse`: Permission Denied (CS-RNG-O-4).
 *
 * A seed never replaces the generator's own entropy, so any authenticated client may send one.
 * Nothing of the Data is kept or logged.
 */
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import type { OperationDefinition } from './registry.js';
import { serverDrbg } from './rng-retrieve.js';

export const rngSeed: OperationDefinition = {
  name: 'RNGSeed',
  mutates: false,
  permission: 'public',
  handler(payload, ctx) {
    const data = payload.need(Tag.Data, 'ByteString');
    const policy = ctx.server.rng ?? { seed: 'ignore', seedMaxBytes: 0 };
    if (policy.seed === 'refuse') throw new KmipError('PermissionDenied', 'this server refuses seed material for its random number generator (its rng.seed policy is refuse)');
    if (policy.seed === 'ignore') return [item(Tag.DataLength, 'Integer', 0)];
    const used = data.subarray(0, policy.seedMaxBytes);
    serverDrbg().reseed(used);
    return [item(Tag.DataLength, 'Integer', used.length)];
  },
};

/**
 * What the key-generating operations (Create, Create Key Pair, Re-key, Re-key Key Pair) share:
 * the description of the random number generator they draw from, and how a replacement key
 * takes over its predecessor's Usage Limits.
 */
import { type Item, item, structure } from '../ttlv/index.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { child, find } from '../objects/items.js';

/** node:crypto draws from OpenSSL 3's default DRBG: CTR_DRBG with AES-256 (SP 800-90A). */
const RNG_FIELDS: readonly Item[] = [
  item(Tag.RNGAlgorithm, 'Enumeration', Enum.RNGAlgorithm.DRBG),
  item(Tag.CryptographicAlgorithm, 'Enumeration', Enum.CryptographicAlgorithm.AES),
  item(Tag.CryptographicLength, 'Integer', 256),
  item(Tag.DRBGAlgorithm, 'Enumeration', Enum.DRBGAlgorithm.CTR),
];

/** The Random Number Generator attribute (2.1 §4.53) of every key kmipd generates. */
export const RNG = structure(Tag.RandomNumberGenerator, [...RNG_FIELDS]);

/** The same generator as Query → RNGs reports it. */
export const RNG_PARAMETERS = structure(Tag.RNGParameters, [...RNG_FIELDS]);

/**
 * Re-key and Re-key Key Pair (2.1 Tables 304 and 309), Usage Limits: "The Total value is copied
 * from the existing key, and the Count value … is set to the Total value". kmipd reads the Count
 * as the replacement's (a fresh key has its whole allowance); the existing key's remaining Count
 * is left as it is.
 */
export function replacementUsageLimits(attrs: readonly Item[]): Item[] {
  const limits = find(attrs, Tag.UsageLimits);
  const total = limits === undefined ? undefined : child(limits, Tag.UsageLimitsTotal);
  if (limits === undefined || total === undefined) return [];
  const unit = child(limits, Tag.UsageLimitsUnit);
  return [structure(Tag.UsageLimits, [total, { ...total, tag: Tag.UsageLimitsCount }, ...(unit ? [unit] : [])])];
}

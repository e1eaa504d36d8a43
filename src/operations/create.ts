/**
 * Create (KMIP 2.1 §6.1.8; 1.4 §4.1): a server-generated Symmetric Key, from the Cryptographic
 * Algorithm and Length the client gives (GENERATED_KEYS), held in Raw format and sealed before the
 * store sees it. 1.x carries the attributes in a Template-Attribute.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { checkCreationAttributes, initialAttributes } from '../objects/attribute-rules.js';
import { find } from '../objects/items.js';
import type { ManagedObjectRecord } from '../objects/types.js';
import { creationAttributes, firstUid, objectTypeOf, protectionStorageMask, reason, sealObject, uidItem } from './managed.js';
import { RNG } from './generation.js';
import { discardResident, generateResident, residentAttributes, wantsResident } from './hsm-resident.js';
import type { OperationContext, OperationDefinition } from './registry.js';

const A = Enum.CryptographicAlgorithm;
const HMAC_ALGORITHMS: readonly number[] = [
  A.HMAC_SHA1,
  A.HMAC_SHA224,
  A.HMAC_SHA256,
  A.HMAC_SHA384,
  A.HMAC_SHA512,
  A.HMAC_SHA3_224,
  A.HMAC_SHA3_256,
  A.HMAC_SHA3_384,
  A.HMAC_SHA3_512,
];

/**
 * The symmetric keys kmipd generates: each a plain random key, and the Cryptographic Lengths (bits)
 * it accepts, with the phrase a refusal names them by.
 *   - AES: 128, 192, 256 (FIPS 197).
 *   - Triple DES (DES3): three-key TDEA only, 24 key bytes with DES odd parity. Clients call that
 *     168 bits (the effective key bits, as the OASIS cases SKFF-M-4/8/12 do) or 192 (the bytes);
 *     the length is stored as given. Two-key TDEA (112) is not generated (SP 800-131A Rev. 2 §2).
 *   - ChaCha20 and ChaCha20-Poly1305: 256 (RFC 8439).
 *   - HMAC keys: whole bytes from 112 bits (SP 800-131A Rev. 2 §8) to 8192.
 */
const GENERATED_KEYS: readonly { algorithms: readonly number[]; accepts: (bits: number) => boolean; lengths: string }[] = [
  { algorithms: [A.AES], accepts: (n) => n === 128 || n === 192 || n === 256, lengths: '128, 192 or 256 bits' },
  { algorithms: [A.DES3], accepts: (n) => n === 168 || n === 192, lengths: '168 bits (three-key Triple DES; 192 with the parity bits)' },
  { algorithms: [A.ChaCha20, A.ChaCha20Poly1305], accepts: (n) => n === 256, lengths: '256 bits' },
  { algorithms: HMAC_ALGORITHMS, accepts: (n) => n % 8 === 0 && n >= 112 && n <= 8192, lengths: 'a whole number of bytes from 112 to 8192 bits' },
];

/** Whether kmipd generates keys of this algorithm, and the lengths it accepts for it. */
export function generatedKind(algorithm: number): (typeof GENERATED_KEYS)[number] | undefined {
  return GENERATED_KEYS.find((k) => k.algorithms.includes(algorithm));
}

/**
 * Three-key Triple DES key bytes: 24 random bytes from node:crypto (OpenSSL's CTR_DRBG), each with
 * its low bit set so the byte has an odd number of 1 bits (FIPS 46-3: of each key byte's 8 bits, 7
 * are key and the eighth makes its parity odd; some DES implementations check it). Drawn again in
 * the (about 2^-55) case where two of the three DES keys are equal, which would leave single or
 * two-key strength instead of three independent keys (SP 800-67 Rev. 2, keying option 1).
 */
export function tripleDesKeyBytes(): Buffer {
  for (;;) {
    const key = randomBytes(24);
    for (let i = 0; i < key.length; i++) {
      const b = key[i]! & 0xfe;
      let ones = 0;
      for (let v = b; v !== 0; v >>= 1) ones += v & 1;
      key[i] = ones % 2 === 0 ? b | 1 : b;
    }
    const [k1, k2, k3] = [key.subarray(0, 8), key.subarray(8, 16), key.subarray(16, 24)];
    if (!k1.equals(k2) && !k2.equals(k3) && !k1.equals(k3)) return key;
    key.fill(0);
  }
}

/** Classical security strength in bits of a symmetric key kmipd generates (SP 800-57 Part 1 Rev. 5 Table 2: three-key TDEA 112). */
function strengthOf(algorithm: number, length: number): number {
  return algorithm === A.DES3 ? 112 : length;
}

/**
 * KMIP 2.1 §4.45 Quantum Safe: the object "is required to be Quantum Safe for the given Protection
 * Period and Protection Level". The spec names no algorithms; kmipd takes a symmetric key as quantum
 * safe when Grover's search, which halves its strength, still leaves 128 bits: AES-256, ChaCha20 and
 * HMAC keys of 256 bits or more. AES-128 (64 bits left) and Triple DES are not, whatever the
 * Protection Period, since when a quantum adversary arrives is unknown. A key that cannot be what
 * the client requires is not made; 2.1 §11 has no Result Reason for it, and the Quantum Safe Server
 * profile's case QS-M-2-21 (AES-128, Quantum Safe true, a 13-year Protection Period) expects
 * Operation Failed with General Failure.
 */
export function checkQuantumSafe(attrs: readonly Item[], algorithm: number, length: number): void {
  const wanted = find(attrs, Tag.QuantumSafe);
  if (wanted?.type !== 'Boolean' || !wanted.value) return;
  if (strengthOf(algorithm, length) / 2 < 128) {
    throw new KmipError('GeneralFailure', `NOT_SAFE: a ${algorithmName(algorithm)} key of ${length} bits is not quantum safe (Quantum Safe true needs AES-256, ChaCha20 or an HMAC key of 256 bits or more)`);
  }
}

/** Fresh key bytes for a symmetric key of this algorithm and (accepted) length. */
export function symmetricKeyBytes(algorithm: number, length: number): Buffer {
  return algorithm === A.DES3 ? tripleDesKeyBytes() : randomBytes(length / 8);
}

export const create: OperationDefinition = {
  name: 'Create',
  mutates: true,
  permission: 'write',
  objectTypes: ['SymmetricKey'],
  placeholder: firstUid,
  async handler(payload, ctx) {
    const objectType = objectTypeOf(payload);
    if (objectType !== 'SymmetricKey') {
      throw new KmipError(reason(ctx, 'InvalidObjectType', 'InvalidField'), `Create makes Symmetric Keys only, not a ${objectType}; use Register to bring other objects`);
    }
    const requested = creationAttributes(payload, ctx);
    checkCreationAttributes(objectType, requested, 'create', { version: ctx.version });
    const algorithm = find(requested, Tag.CryptographicAlgorithm);
    const length = find(requested, Tag.CryptographicLength);
    if (algorithm === undefined || length === undefined) {
      throw new KmipError('InvalidField', 'Create of a Symmetric Key needs a Cryptographic Algorithm and a Cryptographic Length attribute');
    }
    const kind = algorithm.type === 'Enumeration' ? generatedKind(algorithm.value) : undefined;
    if (algorithm.type !== 'Enumeration' || kind === undefined) {
      throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), 'kmipd generates AES, Triple DES, ChaCha20 and HMAC symmetric keys only');
    }
    if (length.type !== 'Integer' || !kind.accepts(length.value)) {
      throw new KmipError(reason(ctx, 'InvalidAttributeValue', 'InvalidField'), `a ${algorithmName(algorithm.value)} key is ${kind.lengths} long, not ${String(length.value)}`);
    }
    checkQuantumSafe(requested, algorithm.value, length.value);
    const format = find(requested, Tag.KeyFormatType);
    if (format !== undefined && (format.type !== 'Enumeration' || format.value !== Enum.KeyFormatType.Raw)) {
      throw new KmipError('KeyFormatTypeNotSupported', 'kmipd holds symmetric keys in Raw format');
    }

    // Generation and sealing happen before the transaction: the uid is random, so it is known up front.
    const uid = randomUUID();
    if (wantsResident(requested, ctx)) {
      if (algorithm.value !== A.AES) throw new KmipError('FeatureNotSupported', 'kmipd generates AES keys only inside the HSM');
      return createResident(ctx, uid, residentAttributes(requested, ctx), length.value);
    }
    const keyMaterial = item(Tag.KeyMaterial, 'ByteString', symmetricKeyBytes(algorithm.value, length.value));
    const value = structure(Tag.SymmetricKey, [
      structure(Tag.KeyBlock, [
        item(Tag.KeyFormatType, 'Enumeration', Enum.KeyFormatType.Raw),
        structure(Tag.KeyValue, [keyMaterial]),
        algorithm,
        length,
      ]),
    ]);
    const sealedValue = await sealObject(ctx, uid, value);
    const now = ctx.clock.now();
    const { state, attributes } = initialAttributes({
      objectType,
      uid,
      now,
      origin: 'generated',
      requested,
      digestOf: [{ value: keyMaterial, keyFormatType: Enum.KeyFormatType.Raw }],
      keyFormatType: Enum.KeyFormatType.Raw,
      rng: RNG,
      protectionStorageMask: protectionStorageMask(ctx),
    });
    const record: ManagedObjectRecord = { uid: uid as ManagedObjectRecord['uid'], objectType, state, owner: ctx.identity.name, attributes, sealedValue };
    // Names are checked by the insert itself (under the write lock on SQLite, by the database's
    // constraint on PostgreSQL): NAME_TAKEN is answered Non Unique Name Attribute (processor.ts).
    await ctx.store.transaction((tx) => tx.insert(record, { uidGenerated: true }));
    const out: Item[] = [item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey), uidItem(uid)];
    return out;
  },
};

/**
 * A key generated inside the HSM and never taken out (src/keys/resident.ts): the record holds its
 * reference and no value, not even sealed. If the record cannot be stored, the token object goes.
 */
async function createResident(ctx: OperationContext, uid: string, requested: Item[], length: number): Promise<Item[]> {
  const refAttr = await generateResident(ctx, uid, length);
  const { state, attributes } = initialAttributes({
    objectType: 'SymmetricKey',
    uid,
    now: ctx.clock.now(),
    origin: 'generated',
    requested,
    keyFormatType: Enum.KeyFormatType.Raw,
    // No Digest: 2.1 §4.21 asks for one only "if the server has access to the Key Material". No RNG
    // either: the HSM's generator made the key, not node:crypto's (the attribute says Unspecified).
    protectionStorageMask: protectionStorageMask(ctx),
  });
  const record: ManagedObjectRecord = { uid: uid as ManagedObjectRecord['uid'], objectType: 'SymmetricKey', state, owner: ctx.identity.name, attributes: [...attributes, refAttr] };
  try {
    // Names are checked by the insert itself, as in Create above.
    await ctx.store.transaction((tx) => tx.insert(record, { uidGenerated: true }));
  } catch (err) {
    await discardResident(ctx, refAttr);
    throw err;
  }
  return [item(Tag.ObjectType, 'Enumeration', Enum.ObjectType.SymmetricKey), uidItem(uid)];
}

/** "DES3", "HMAC_SHA256": the enumeration name, for messages. */
function algorithmName(value: number): string {
  return Object.entries(A).find(([, v]) => v === value)?.[0] ?? `0x${value.toString(16)}`;
}

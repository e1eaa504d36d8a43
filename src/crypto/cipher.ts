/**
 * Encrypt and Decrypt on node:crypto (no hand-written primitives): which Cryptographic Parameters
 * apply, and the ciphers they name. Symmetric: AES ECB, CBC, CFB, OFB, CTR, GCM, XTS and key wrap
 * (RFC 3394, RFC 5649); Triple DES ECB and CBC; ChaCha20 and ChaCha20-Poly1305. Asymmetric: RSA
 * OAEP (with its own MGF1 hash through src/crypto/oaep.ts) and PKCS#1 v1.5 (encryption only; see
 * `rsaDecrypt`).
 *
 * Refusals: parameters the client got wrong (IV, tag or data length) are Invalid Field (a Tag
 * Length out of range is General Failure, see `tagLengthFor`); parameters
 * kmipd does not implement are Unsupported Cryptographic Parameters (2.x) / Feature Not Supported
 * (1.x); a decryption that does not authenticate or unpad is Cryptographic Failure. No message
 * quotes data or key bytes.
 */
import {
  type CipherGCM,
  type DecipherGCM,
  type KeyObject,
  constants,
  createCipheriv,
  createDecipheriv,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
} from 'node:crypto';
import { KmipError } from '../kmip/errors.js';
import { Fields } from '../kmip/fields.js';
import { type OaepHashes, oaepDecrypt, oaepEncrypt, oaepRoom } from './oaep.js';
import { Enum, Tag } from '../kmip/registry.generated.js';

export type Direction = 'encrypt' | 'decrypt';

const A = Enum.CryptographicAlgorithm;
const M = Enum.BlockCipherMode;
const P = Enum.PaddingMethod;
const H = Enum.HashingAlgorithm;

/** The Cryptographic Parameters an Encrypt or Decrypt runs with (KMIP 2.1 §2.1.10 / 1.4 §3.6). */
export interface CipherParams {
  /** The key's Cryptographic Algorithm. */
  readonly algorithm: number;
  readonly mode: number | undefined;
  readonly padding: number | undefined;
  readonly hashing: number | undefined;
  readonly maskGenerator: number | undefined;
  readonly maskGeneratorHashing: number | undefined;
  /** Bytes of the authentication tag (GCM, ChaCha20-Poly1305). */
  readonly tagLength: number | undefined;
  /** The server generates the IV when the request gives none (2.1 §6.1.17). */
  readonly randomIv: boolean;
  /** IV Length in bits (2.1 Table 59): the length a generated IV has, and a given one must have. */
  readonly ivLength: number | undefined;
  /** OAEP's encoding parameter P (the label); empty when omitted (2.1 Table 59). */
  readonly pSource: Uint8Array | undefined;
}

/**
 * The request's Cryptographic Parameters when it has them, else the key's Cryptographic Parameters
 * attribute (2.1 §6.1.17: "MAY be omitted from the request as they can be specified as associated
 * attributes"). The request's structure replaces the attribute as a whole, so a client that names
 * GCM never inherits the key's CBC padding. The algorithm is always the key's: a request that
 * names another is Invalid Field.
 */
export function resolveParams(request: Fields | undefined, attribute: Fields | undefined, keyAlgorithm: number | undefined, v2: boolean): CipherParams {
  const source = request ?? attribute;
  const named = source?.get(Tag.CryptographicAlgorithm, 'Enumeration');
  const algorithm = keyAlgorithm ?? named;
  if (algorithm === undefined) throw new KmipError(v2 ? 'BadCryptographicParameters' : 'InvalidField', 'the key has no Cryptographic Algorithm and the request names none');
  if (named !== undefined && named !== algorithm) {
    throw new KmipError('InvalidField', `the Cryptographic Parameters name ${algorithmTitle(named)}, but the key is ${algorithmTitle(algorithm)}`);
  }
  const params: CipherParams = {
    algorithm,
    mode: source?.get(Tag.BlockCipherMode, 'Enumeration'),
    padding: source?.get(Tag.PaddingMethod, 'Enumeration'),
    hashing: source?.get(Tag.HashingAlgorithm, 'Enumeration'),
    maskGenerator: source?.get(Tag.MaskGenerator, 'Enumeration'),
    maskGeneratorHashing: source?.get(Tag.MaskGeneratorHashingAlgorithm, 'Enumeration'),
    tagLength: source?.get(Tag.TagLength, 'Integer'),
    randomIv: source?.get(Tag.RandomIV, 'Boolean') === true,
    ivLength: source?.get(Tag.IVLength, 'Integer'),
    pSource: source?.get(Tag.PSource, 'ByteString'),
  };
  if (source?.has(Tag.InitialCounterValue) === true || source?.has(Tag.FixedFieldLength) === true || source?.has(Tag.InvocationFieldLength) === true || source?.has(Tag.CounterLength) === true) {
    // kmipd takes the whole IV/Counter/Nonce from the request (or generates it); it does not build one from fields.
    throw unsupported(v2, 'kmipd does not build the IV from Initial Counter Value, Fixed Field, Invocation Field or Counter Length: give the whole IV/Counter/Nonce');
  }
  return params;
}

export function algorithmTitle(value: number): string {
  return titleOf(A, value);
}

function titleOf(table: Record<string, number>, value: number): string {
  return Object.entries(table).find(([, v]) => v === value)?.[0] ?? `0x${value.toString(16)}`;
}

function unsupported(v2: boolean, message: string): KmipError {
  return new KmipError(v2 ? 'UnsupportedCryptographicParameters' : 'FeatureNotSupported', message);
}

// ——— symmetric ciphers ———

/** How one symmetric algorithm and mode runs on node:crypto. */
interface Plan {
  readonly cipher: string;
  readonly title: string;
  /** IV bytes the mode takes: 0 none (ECB), a list of accepted lengths, or 'gcm' (1 to 128 bytes). */
  readonly iv: 0 | readonly number[] | 'gcm';
  /** The IV node:crypto wants for the client's (ChaCha20 takes a 16-byte counter ‖ nonce). */
  readonly ivFor?: (iv: Uint8Array) => Buffer;
  /** The IV of the mode when the client gives none (key wrap's fixed initial value). */
  readonly defaultIv?: Buffer;
  /** Block size for modes that pad (ECB, CBC); 0 for stream-like modes. */
  readonly block: number;
  readonly aead: boolean;
  /** Whether the mode can run over several requests (Init / Final Indicator). */
  readonly streamable: boolean;
  /** The least data the mode takes. */
  readonly minData: number;
}

const AES_MODES: Partial<Record<number, (bits: number) => Plan>> = {
  [M.ECB]: (b) => ({ cipher: `aes-${b}-ecb`, title: 'AES-ECB', iv: 0, block: 16, aead: false, streamable: true, minData: 0 }),
  [M.CBC]: (b) => ({ cipher: `aes-${b}-cbc`, title: 'AES-CBC', iv: [16], block: 16, aead: false, streamable: true, minData: 0 }),
  [M.CFB]: (b) => ({ cipher: `aes-${b}-cfb`, title: 'AES-CFB', iv: [16], block: 0, aead: false, streamable: true, minData: 0 }),
  [M.OFB]: (b) => ({ cipher: `aes-${b}-ofb`, title: 'AES-OFB', iv: [16], block: 0, aead: false, streamable: true, minData: 0 }),
  [M.CTR]: (b) => ({ cipher: `aes-${b}-ctr`, title: 'AES-CTR', iv: [16], block: 0, aead: false, streamable: true, minData: 0 }),
  [M.GCM]: (b) => ({ cipher: `aes-${b}-gcm`, title: 'AES-GCM', iv: 'gcm', block: 0, aead: true, streamable: true, minData: 0 }),
  // RFC 3394 (NIST SP 800-38F KW) and RFC 5649 (KWP): one shot, default initial values as the RFCs give.
  [M.NISTKeyWrap]: (b) => ({ cipher: `id-aes${b}-wrap`, title: 'AES Key Wrap', iv: [8], defaultIv: Buffer.from('a6a6a6a6a6a6a6a6', 'hex'), block: 0, aead: false, streamable: false, minData: 16 }),
  [M.AESKeyWrapPadding]: (b) => ({ cipher: `id-aes${b}-wrap-pad`, title: 'AES Key Wrap with Padding', iv: [4], defaultIv: Buffer.from('a65959a6', 'hex'), block: 0, aead: false, streamable: false, minData: 1 }),
};

/** ChaCha20's node:crypto IV is a 32-bit block counter then a 96-bit nonce; an 8-byte (original) nonce has a 64-bit counter. */
function chachaIv(iv: Uint8Array): Buffer {
  return iv.length === 16 ? Buffer.from(iv) : Buffer.concat([Buffer.alloc(16 - iv.length), iv]);
}

/** The plan for the key's algorithm and the parameters' mode, or the refusal naming what is not supported. */
function planFor(params: CipherParams, keyLength: number, v2: boolean): Plan {
  const mode = params.mode;
  const modeTitle = mode === undefined ? 'no Block Cipher Mode' : `Block Cipher Mode ${titleOf(M, mode)}`;
  switch (params.algorithm) {
    case A.AES: {
      if (mode === undefined) {
        // 2.1 §6.1.17: parameters the algorithm requires and neither the request nor the key give → Operation Failed.
        throw new KmipError(v2 ? 'BadCryptographicParameters' : 'InvalidField', 'AES needs a Block Cipher Mode: give Cryptographic Parameters in the request or as the key\'s attribute');
      }
      if (mode === M.XTS) {
        // XTS takes two AES keys: 256 bits for AES-128-XTS, 512 for AES-256-XTS (IEEE 1619).
        if (keyLength !== 32 && keyLength !== 64) throw new KmipError('InvalidField', `AES-XTS needs a 256- or 512-bit key (two AES keys); this key is ${keyLength * 8} bits`);
        return { cipher: `aes-${keyLength * 4}-xts`, title: 'AES-XTS', iv: [16], block: 0, aead: false, streamable: false, minData: 16 };
      }
      if (![16, 24, 32].includes(keyLength)) throw new KmipError('InvalidField', `an AES key is 128, 192 or 256 bits; this one is ${keyLength * 8}`);
      const plan = AES_MODES[mode];
      if (plan === undefined) throw unsupported(v2, `kmipd does not encrypt with AES in ${modeTitle}`);
      return plan(keyLength * 8);
    }
    case A.DES3: {
      // Triple DES for legacy clients: three-key (192 bits) or two-key (128 bits) EDE.
      if (keyLength !== 24 && keyLength !== 16) throw new KmipError('InvalidField', `a Triple DES key is 128 or 192 bits; this one is ${keyLength * 8}`);
      const ede = keyLength === 24 ? 'des-ede3' : 'des-ede';
      if (mode === M.CBC) return { cipher: `${ede}-cbc`, title: '3DES-CBC', iv: [8], block: 8, aead: false, streamable: true, minData: 0 };
      if (mode === M.ECB) return { cipher: ede, title: '3DES-ECB', iv: 0, block: 8, aead: false, streamable: true, minData: 0 };
      if (mode === undefined) throw new KmipError(v2 ? 'BadCryptographicParameters' : 'InvalidField', 'Triple DES needs a Block Cipher Mode (CBC or ECB)');
      throw unsupported(v2, `kmipd does Triple DES in CBC and ECB only, not ${modeTitle}`);
    }
    case A.ChaCha20:
    case A.ChaCha20Poly1305: {
      if (keyLength !== 32) throw new KmipError('InvalidField', `a ChaCha20 key is 256 bits; this one is ${keyLength * 8}`);
      if (params.algorithm === A.ChaCha20Poly1305 || mode === M.AEAD) {
        if (mode !== undefined && mode !== M.AEAD) throw unsupported(v2, `ChaCha20-Poly1305 takes Block Cipher Mode AEAD or none, not ${modeTitle}`);
        // RFC 8439 §2.8: a 96-bit nonce and a 128-bit tag (which a client may truncate: see tagLengthFor).
        return { cipher: 'chacha20-poly1305', title: 'ChaCha20-Poly1305', iv: [12], block: 0, aead: true, streamable: true, minData: 0 };
      }
      if (mode !== undefined) throw unsupported(v2, `ChaCha20 is a stream cipher and takes no ${modeTitle} (AEAD names ChaCha20-Poly1305)`);
      // The OASIS test cases (CS-BC-M-CHACHA20-*) use 8-byte nonces with a block counter starting at 0.
      return { cipher: 'chacha20', title: 'ChaCha20', iv: [8, 12, 16], ivFor: chachaIv, block: 0, aead: false, streamable: true, minData: 0 };
    }
    default:
      throw unsupported(v2, `kmipd does not encrypt with ${algorithmTitle(params.algorithm)} keys`);
  }
}

/**
 * Tag lengths kmipd accepts: 12 to 16 bytes, for GCM (NIST SP 800-38D §5.2.1.2, without the short
 * tags of its Appendix C) and for Poly1305 truncated as CS-BC-M-CHACHA20POLY1305-1 does (12 accepted; 1 and 32 refused).
 *
 * Another Tag Length is General Failure. The spec names no reason for it (2.1 §6.1.17.1 lists
 * none that fits better than Invalid Field), but the mandatory Basic Cryptographic profile cases
 * fix it: CS-BC-M-GCM-1 (1.4 and 2.1) and CS-BC-M-CHACHA20POLY1305-1-21, requests 7 and 8 (Tag
 * Length 1 and 32), expect General Failure, and Profiles 2.1 §4.1 allows no other Result Reason.
 */
function tagLengthFor(plan: Plan, params: CipherParams): number {
  const length = params.tagLength ?? 16;
  if (length < 12 || length > 16) throw new KmipError('GeneralFailure', `Tag Length ${length} is not accepted for ${plan.title}: 12 to 16 bytes`);
  return length;
}

export interface SymmetricRequest {
  readonly direction: Direction;
  readonly params: CipherParams;
  /** The plaintext key; the caller zeroes it after `openSymmetric` returns (node:crypto keeps its own copy). */
  readonly key: Uint8Array;
  readonly iv: Uint8Array | undefined;
  readonly aad: Uint8Array | undefined;
  /** Decrypt only: the Authenticated Encryption Tag. */
  readonly tag: Uint8Array | undefined;
  /** Whether this request is part of a multi-part (streamed) operation. */
  readonly streaming: boolean;
  readonly v2: boolean;
}

/** A symmetric encryption or decryption over one or more parts. */
export interface SymmetricSession {
  readonly title: string;
  readonly direction: Direction;
  /** The IV the server generated (Random IV), to return to the client. */
  readonly generatedIv: Buffer | undefined;
  update(data: Uint8Array): Buffer;
  /** Refuses a total Data length the mode cannot take, before anything is processed (one-shot requests). */
  precheck(total: number): void;
  /** The last output and, for an AEAD encryption, the tag. */
  final(): { data: Buffer; tag?: Buffer };
}

/**
 * Starts a symmetric operation. Parameter and length errors are refused here, before any data is
 * processed, so a refusal never leaves half an answer.
 */
export function openSymmetric(req: SymmetricRequest): SymmetricSession {
  const { params, v2, direction } = req;
  const plan = planFor(params, req.key.length, v2);
  if (req.streaming && !plan.streamable) throw unsupported(v2, `${plan.title} runs in one request; it cannot be streamed with Init / Final Indicator`);
  if (req.aad !== undefined && !plan.aead) throw new KmipError('InvalidField', `Authenticated Encryption Additional Data applies to GCM and ChaCha20-Poly1305, not ${plan.title}`);
  if (req.tag !== undefined && !(plan.aead && direction === 'decrypt')) throw new KmipError('InvalidField', `an Authenticated Encryption Tag is given to Decrypt with GCM or ChaCha20-Poly1305, not to ${direction === 'encrypt' ? 'Encrypt' : plan.title}`);
  const padded = paddingOf(plan, params, v2);

  let generatedIv: Buffer | undefined;
  let iv: Buffer | null = null;
  if (plan.iv !== 0) {
    if (params.ivLength !== undefined && (params.ivLength % 8 !== 0 || (req.iv !== undefined && req.iv.length * 8 !== params.ivLength))) {
      throw new KmipError('InvalidField', `IV Length ${params.ivLength} bits does not match ${req.iv === undefined ? 'a whole number of bytes' : `the ${req.iv.length * 8}-bit IV/Counter/Nonce given`}`);
    }
    if (req.iv !== undefined) {
      const ok = plan.iv === 'gcm' ? req.iv.length >= 1 && req.iv.length <= 128 : plan.iv.includes(req.iv.length);
      if (!ok) throw new KmipError('InvalidField', `${plan.title} takes an IV/Counter/Nonce of ${plan.iv === 'gcm' ? '1 to 128' : plan.iv.join(' or ')} bytes, not ${req.iv.length}`);
      iv = Buffer.from(req.iv);
    } else if (plan.defaultIv !== undefined) {
      iv = plan.defaultIv;
    } else if (direction === 'encrypt' && params.randomIv) {
      // 2.1 §6.1.17: the server generates the IV when the parameters ask for a Random IV; it is returned, not stored.
      const length = params.ivLength !== undefined ? params.ivLength / 8 : plan.iv === 'gcm' ? 12 : Math.max(...plan.iv);
      if (plan.iv === 'gcm' ? length < 1 || length > 128 : !plan.iv.includes(length)) throw new KmipError('InvalidField', `${plan.title} cannot take a ${length * 8}-bit IV`);
      generatedIv = randomBytes(length);
      iv = generatedIv;
    } else {
      // CS-BC-M-13: a Decrypt without the IV its mode needs is answered Invalid Message.
      throw new KmipError('InvalidMessage', `${plan.title} needs an IV/Counter/Nonce${direction === 'encrypt' ? ' (or Random IV true in the Cryptographic Parameters)' : ''}`);
    }
    if (plan.ivFor !== undefined) iv = plan.ivFor(iv);
  }
  const tagLength = plan.aead ? tagLengthFor(plan, params) : 0;
  if (direction === 'decrypt' && plan.aead) {
    if (req.tag === undefined) throw new KmipError('InvalidField', `Decrypt with ${plan.title} needs the Authenticated Encryption Tag`);
    if (req.tag.length !== tagLength) throw new KmipError('InvalidField', `the Authenticated Encryption Tag is ${req.tag.length} bytes; the Tag Length is ${tagLength}`);
  }

  const key = Buffer.from(req.key);
  try {
    const options = plan.aead ? { authTagLength: tagLength } : undefined;
    const cipher = direction === 'encrypt' ? openCipher(plan.cipher, key, iv, options) : openDecipher(plan.cipher, key, iv, options);
    if (plan.block > 0) cipher.setAutoPadding(padded);
    if (req.aad !== undefined) cipher.setAAD(req.aad);
    if (direction === 'decrypt' && req.tag !== undefined) (cipher as DecipherGCM).setAuthTag(req.tag);
    let total = 0;
    return {
      title: plan.title,
      direction,
      generatedIv,
      precheck(length) {
        checkFinalLength(plan, padded, direction, length);
      },
      update(data) {
        total += data.length;
        return run(() => cipher.update(data), direction, plan.title);
      },
      final() {
        checkFinalLength(plan, padded, direction, total);
        const data = run(() => cipher.final(), direction, plan.title);
        const tag = plan.aead && direction === 'encrypt' ? (cipher as CipherGCM).getAuthTag() : undefined;
        return tag === undefined ? { data } : { data, tag };
      },
    };
  } catch (err) {
    if (err instanceof KmipError) throw err;
    throw new KmipError('CryptographicFailure', `${plan.title} could not be set up with this key and IV`);
  } finally {
    key.fill(0);
  }
}

/** node:crypto's constructors, typed for every mode kmipd uses (the GCM types carry setAAD and the tag calls). */
type Opener<T> = (name: string, key: Buffer, iv: Buffer | null, options?: { authTagLength: number }) => T;
const openCipher = createCipheriv as unknown as Opener<CipherGCM>;
const openDecipher = createDecipheriv as unknown as Opener<DecipherGCM>;

/** Whether ECB/CBC pad: PKCS#5 pads, None (or no Padding Method) does not (CS-BC-M-4: 16 bytes in, 16 out). */
function paddingOf(plan: Plan, params: CipherParams, v2: boolean): boolean {
  if (plan.block === 0 || params.padding === undefined || params.padding === P.None) return false;
  if (params.padding === P.PKCS5) return true;
  throw unsupported(v2, `kmipd pads ${plan.title} with PKCS5 or not at all, not with ${titleOf(P, params.padding)}`);
}

/** Data lengths a mode refuses, checked before the cipher's final step so the refusal names the rule. */
function checkFinalLength(plan: Plan, padded: boolean, direction: Direction, total: number): void {
  if (total < plan.minData) throw new KmipError('InvalidField', `${plan.title} needs at least ${plan.minData} bytes of Data, not ${total}`);
  if (plan.block > 0 && (!padded || direction === 'decrypt') && total % plan.block !== 0) {
    const why = direction === 'decrypt' ? 'ciphertext' : 'Data with Padding Method None';
    throw new KmipError(direction === 'decrypt' ? 'CryptographicFailure' : 'InvalidField', `${plan.title} ${why} is a multiple of ${plan.block} bytes; this is ${total}`);
  }
  if (plan.cipher.includes('-wrap') && !plan.cipher.endsWith('-pad') && total % 8 !== 0) {
    throw new KmipError('InvalidField', `${plan.title} takes a multiple of 8 bytes, not ${total}`);
  }
}

/** node:crypto's own errors carry no data; they still become Result Reasons, never General Failure. */
function run(step: () => Buffer, direction: Direction, title: string): Buffer {
  try {
    return step();
  } catch {
    throw new KmipError('CryptographicFailure', direction === 'decrypt' ? `${title} decryption failed: the key, IV, tag or padding does not match the ciphertext` : `${title} encryption failed`);
  }
}

/** One-shot symmetric encryption or decryption. */
export function symmetricOnce(req: SymmetricRequest, data: Uint8Array): { data: Buffer; tag?: Buffer; iv?: Buffer } {
  const session = openSymmetric(req);
  const head = session.update(data);
  const tail = session.final();
  const out = { data: Buffer.concat([head, tail.data]) };
  return { ...out, ...(tail.tag ? { tag: tail.tag } : {}), ...(session.generatedIv ? { iv: session.generatedIv } : {}) };
}

/** Whether a key's algorithm is one `openSymmetric` handles (before looking at the mode). */
export function isSymmetricAlgorithm(algorithm: number): boolean {
  return algorithm === A.AES || algorithm === A.DES3 || algorithm === A.ChaCha20 || algorithm === A.ChaCha20Poly1305;
}

// ——— RSA ———

const HASH_NAMES: Partial<Record<number, string>> = {
  [H.SHA_1]: 'sha1',
  [H.SHA_224]: 'sha224',
  [H.SHA_256]: 'sha256',
  [H.SHA_384]: 'sha384',
  [H.SHA_512]: 'sha512',
  [H.SHA3_224]: 'sha3-224',
  [H.SHA3_256]: 'sha3-256',
  [H.SHA3_384]: 'sha3-384',
  [H.SHA3_512]: 'sha3-512',
};

/** node:crypto's RSA options for the parameters, or the hashes of an OAEP whose MGF1 hash is not the OAEP hash. */
type RsaOptions = { padding: number; oaepHash?: string; oaepLabel?: Buffer } | { padding: 'oaep-mgf1'; oaep: OaepHashes };

function rsaOptions(params: CipherParams, direction: Direction, v2: boolean): RsaOptions {
  if (params.mode !== undefined) throw new KmipError('InvalidField', 'RSA takes no Block Cipher Mode');
  if (params.padding === P.OAEP) {
    if (params.maskGenerator !== undefined && params.maskGenerator !== Enum.MaskGenerator.MGF1) throw unsupported(v2, 'OAEP runs with MGF1 only');
    // The OAEP hash defaults to SHA-1 as in PKCS#1 v2.2 §A.2.1; the MGF1 hash defaults to SHA-1 (2.1 Table 59).
    const hashing = params.hashing ?? H.SHA_1;
    const mgfHashing = params.maskGeneratorHashing ?? H.SHA_1;
    const oaepHash = HASH_NAMES[hashing];
    if (oaepHash === undefined) throw unsupported(v2, `OAEP with ${titleOf(H, hashing)} is not supported`);
    const mgf1Hash = HASH_NAMES[mgfHashing];
    if (mgf1Hash === undefined) throw unsupported(v2, `MGF1 with ${titleOf(H, mgfHashing)} is not supported`);
    const label = params.pSource === undefined || params.pSource.length === 0 ? undefined : Buffer.from(params.pSource);
    // node:crypto runs MGF1 over the OAEP hash; when the parameters name another MGF1 hash
    // (CS-AC-M-OAEP-7..10: SHA-384 with MGF1 SHA-256), src/crypto/oaep.ts does the padding.
    if (mgfHashing !== hashing) return { padding: 'oaep-mgf1', oaep: { hash: oaepHash, mgf1Hash, ...(label ? { label } : {}) } };
    return { padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash, ...(label ? { oaepLabel: label } : {}) };
  }
  if (params.padding === P.PKCS1V1_5) {
    if (direction === 'decrypt') {
      // Node 20 refuses PKCS#1 v1.5 decryption (CVE-2023-46809, the Marvin timing attack); kmipd does not turn that protection off.
      throw unsupported(v2, 'kmipd does not decrypt RSA PKCS#1 v1.5: its padding check leaks timing (CVE-2023-46809, Marvin attack); use OAEP');
    }
    return { padding: constants.RSA_PKCS1_PADDING };
  }
  if (params.padding === undefined) throw new KmipError(v2 ? 'BadCryptographicParameters' : 'InvalidField', 'RSA needs a Padding Method (OAEP or PKCS1 v1.5) in the request or the key\'s Cryptographic Parameters');
  throw unsupported(v2, `kmipd encrypts with RSA under OAEP or PKCS1 v1.5 padding, not ${titleOf(P, params.padding)}`);
}

export function rsaEncrypt(params: CipherParams, key: KeyObject, data: Uint8Array, v2: boolean): Buffer {
  const options = rsaOptions(params, 'encrypt', v2);
  if (options.padding === 'oaep-mgf1') {
    const room = oaepRoom(key, options.oaep.hash);
    if (data.length > room) throw new KmipError('InvalidField', `this RSA key and padding take at most ${Math.max(room, 0)} bytes of Data, not ${data.length}`);
    try {
      return oaepEncrypt(key, data, options.oaep);
    } catch {
      throw new KmipError('CryptographicFailure', 'RSA encryption failed');
    }
  }
  const modulus = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const overhead = options.padding === constants.RSA_PKCS1_PADDING ? 11 : 2 * (getHashLength(options.oaepHash) ?? 20) + 2;
  const room = Math.floor(modulus / 8) - overhead;
  if (data.length > room) throw new KmipError('InvalidField', `this RSA key and padding take at most ${Math.max(room, 0)} bytes of Data, not ${data.length}`);
  try {
    return publicEncrypt({ key, ...options }, data);
  } catch {
    throw new KmipError('CryptographicFailure', 'RSA encryption failed');
  }
}

/**
 * RSA decryption. A ciphertext that does not decrypt is Cryptographic Failure, one message for
 * every cause so the answer is no padding oracle.
 */
export function rsaDecrypt(params: CipherParams, key: KeyObject, data: Uint8Array, v2: boolean): Buffer {
  const options = rsaOptions(params, 'decrypt', v2);
  try {
    if (options.padding === 'oaep-mgf1') return oaepDecrypt(key, data, options.oaep);
    return privateDecrypt({ key, ...options }, data);
  } catch {
    throw new KmipError('CryptographicFailure', 'RSA decryption failed: the ciphertext does not decrypt under this key and padding');
  }
}

function getHashLength(name: string | undefined): number | undefined {
  if (name === undefined) return undefined;
  const bits: Record<string, number> = { sha1: 160, sha224: 224, sha256: 256, sha384: 384, sha512: 512, 'sha3-224': 224, 'sha3-256': 256, 'sha3-384': 384, 'sha3-512': 512 };
  const b = bits[name];
  return b === undefined ? undefined : b / 8;
}

/** The Cryptographic Parameters a request carries, if any. */
export function requestParams(payload: Fields): Fields | undefined {
  return payload.struct(Tag.CryptographicParameters);
}

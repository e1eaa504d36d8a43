/**
 * RSAES-OAEP with an MGF1 hash of its own (RFC 8017 §7.1, MGF1 §B.2.1), for the one case node:crypto
 * cannot run: its `oaepHash` names the label hash and the MGF1 hash together, while KMIP's
 * Cryptographic Parameters give them apart (Hashing Algorithm and Mask Generator Hashing Algorithm,
 * 2.1 Table 59), and OASIS CS-AC-M-OAEP-7..10 use SHA-384 with MGF1 SHA-256.
 *
 * This is the EME-OAEP padding only, written over node:crypto's hashes and its raw RSA
 * (`publicEncrypt` / `privateDecrypt` with RSA_NO_PADDING, i.e. RSAEP / RSADP); the RSA primitive
 * and the hashes are OpenSSL's. Callers use it only when the two hashes differ.
 *
 * Decoding follows RFC 8017 §7.1.2 step 3 and its note: every check runs on every input, their
 * results are combined without branching on secret data, and every failure is the same
 * `OaepDecodeError`, so the answer is no padding oracle (Manger's attack).
 */
import { type KeyObject, constants, createHash, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';

/** The one error of a ciphertext that does not decode; it says nothing about why. */
export class OaepDecodeError extends Error {
  constructor() {
    super('decryption error');
    this.name = 'OaepDecodeError';
  }
}

/** A message too long for the key and hash (RFC 8017 §7.1.1 step 1b). */
export class OaepLengthError extends Error {
  constructor(readonly room: number) {
    super(`message too long: at most ${room} bytes`);
    this.name = 'OaepLengthError';
  }
}

export interface OaepHashes {
  /** node:crypto hash name of the label hash (and the seed length hLen). */
  readonly hash: string;
  /** node:crypto hash name of MGF1. */
  readonly mgf1Hash: string;
  /** The label L; empty when absent. */
  readonly label?: Uint8Array;
}

function digest(name: string, data: Uint8Array): Buffer {
  return createHash(name).update(data).digest();
}

/** MGF1 (RFC 8017 §B.2.1): Hash(seed ‖ C) for C = 0, 1, … truncated to `length` bytes. */
export function mgf1(hash: string, seed: Uint8Array, length: number): Buffer {
  const blocks: Buffer[] = [];
  let produced = 0;
  const counter = Buffer.alloc(4);
  for (let c = 0; produced < length; c++) {
    counter.writeUInt32BE(c);
    const block = createHash(hash).update(seed).update(counter).digest();
    blocks.push(block);
    produced += block.length;
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function xorInto(target: Buffer, mask: Uint8Array): void {
  for (let i = 0; i < target.length; i++) target[i] = target[i]! ^ mask[i]!;
}

/** Modulus length in bytes (k). */
function modulusBytes(key: KeyObject): number {
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if (bits === undefined || key.asymmetricKeyType !== 'rsa') throw new TypeError('an RSA key is needed');
  return Math.ceil(bits / 8);
}

/** The most message bytes one OAEP block takes under this key and label hash: k − 2·hLen − 2. */
export function oaepRoom(key: KeyObject, hash: string): number {
  return modulusBytes(key) - 2 * digest(hash, Buffer.alloc(0)).length - 2;
}

/** EME-OAEP encoding (RFC 8017 §7.1.1 step 2), then RSAEP. */
export function oaepEncrypt(key: KeyObject, message: Uint8Array, h: OaepHashes): Buffer {
  const k = modulusBytes(key);
  const lHash = digest(h.hash, h.label ?? Buffer.alloc(0));
  const hLen = lHash.length;
  const room = k - 2 * hLen - 2;
  if (room < 0 || message.length > room) throw new OaepLengthError(Math.max(room, 0));
  // DB = lHash ‖ PS ‖ 0x01 ‖ M, of k − hLen − 1 bytes.
  const db = Buffer.alloc(k - hLen - 1);
  lHash.copy(db, 0);
  db[db.length - message.length - 1] = 0x01;
  Buffer.from(message).copy(db, db.length - message.length);
  const seed = randomBytes(hLen);
  xorInto(db, mgf1(h.mgf1Hash, seed, db.length));
  xorInto(seed, mgf1(h.mgf1Hash, db, hLen));
  const em = Buffer.concat([Buffer.alloc(1), seed, db]);
  try {
    return publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, em);
  } finally {
    em.fill(0);
    db.fill(0);
  }
}

/** RSADP, then EME-OAEP decoding (RFC 8017 §7.1.2 step 3) in constant time over the encoded message. */
export function oaepDecrypt(key: KeyObject, ciphertext: Uint8Array, h: OaepHashes): Buffer {
  const k = modulusBytes(key);
  const lHash = digest(h.hash, h.label ?? Buffer.alloc(0));
  const hLen = lHash.length;
  // §7.1.2 step 1: lengths are public, so these checks may return early.
  if (ciphertext.length !== k || k < 2 * hLen + 2) throw new OaepDecodeError();
  let em: Buffer;
  try {
    em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, ciphertext);
  } catch {
    // A ciphertext representative not below the modulus (§5.1.2 step 1).
    throw new OaepDecodeError();
  }
  if (em.length !== k) {
    // OpenSSL answers k bytes for RSA_NO_PADDING; anything else is left-padded to k.
    const padded = Buffer.alloc(k);
    em.copy(padded, k - em.length);
    em.fill(0);
    em = padded;
  }
  const seed = Buffer.from(em.subarray(1, 1 + hLen));
  const db = Buffer.from(em.subarray(1 + hLen));
  xorInto(seed, mgf1(h.mgf1Hash, db, hLen));
  xorInto(db, mgf1(h.mgf1Hash, seed, db.length));

  // bad != 0 when Y != 0 or lHash' != lHash; then scan PS ‖ 0x01 ‖ M for the first 0x01 after zeros.
  let bad = em[0]!;
  for (let i = 0; i < hLen; i++) bad |= db[i]! ^ lHash[i]!;
  let found = 0; // 1 once the 0x01 separator has been seen
  let index = 0; // position of the separator
  for (let i = hLen; i < db.length; i++) {
    const byte = db[i]!;
    const isOne = ((byte ^ 0x01) - 1) >>> 31; // 1 iff byte == 0x01
    const isZero = (byte - 1) >>> 31; // 1 iff byte == 0x00
    const first = isOne & (found ^ 1);
    index |= -first & i;
    // Before the separator, every byte must be zero.
    bad |= (found ^ 1) & (isZero ^ 1) & (isOne ^ 1);
    found |= isOne;
  }
  bad |= found ^ 1;
  em.fill(0);
  seed.fill(0);
  if (bad !== 0) {
    db.fill(0);
    throw new OaepDecodeError();
  }
  const message = Buffer.from(db.subarray(index + 1));
  db.fill(0);
  return message;
}

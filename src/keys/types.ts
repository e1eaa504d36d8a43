/**
 * The Keyring: what seals key material before it reaches the store and unseals it for one
 * request. Implementations: software (a master key file, development only) and PKCS#11 (the
 * master key held in an HSM). The object's Unique Identifier binds a sealed blob to its object.
 */
export interface Keyring {
  readonly kind: 'software' | 'pkcs11';
  /** Encrypts and authenticates `plaintext` for the object `uid`. */
  seal(uid: string, plaintext: Uint8Array): Promise<Uint8Array>;
  /** The plaintext sealed for `uid`; throws a KeyringError if the blob was altered or belongs to another object. */
  unseal(uid: string, sealed: Uint8Array): Promise<Uint8Array>;
  /**
   * Keys that live in the HSM and never leave it (src/keys/resident.ts); absent on a keyring that
   * has no HSM (software), which therefore cannot hold a non-extractable key.
   */
  readonly resident?: ResidentKeys;
  /** The audit log's signing keys (in the HSM for pkcs11, in files of the data directory for software). */
  readonly signing?: SigningKeys;
}

/** What a symmetric key generated inside the HSM is. */
export interface ResidentKeySpec {
  algorithm: 'AES';
  /** Bits: 128, 192 or 256. */
  length: number;
}

/** AES-GCM parameters of one call with a resident key. */
export interface ResidentGcm {
  /** 12 bytes recommended (NIST SP 800-38D); `encrypt` draws a random one when absent. */
  iv?: Uint8Array;
  aad?: Uint8Array;
  /** Tag length in bytes, 12 to 16 (default 16). */
  tagLength?: number;
}

export interface ResidentGcmResult {
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

/**
 * Keys generated inside the HSM as token objects (CKA_TOKEN, CKA_SENSITIVE true, CKA_EXTRACTABLE
 * false): the store keeps only the reference `generate` answers, and every use of the key runs in
 * the HSM. A reference names no key bytes and is safe to log.
 */
export interface ResidentKeys {
  /** Generates the key of object `uid` in the HSM; answers its reference. */
  generate(uid: string, spec: ResidentKeySpec): Promise<string>;
  /** Removes the key from the HSM; false when it was not there (already destroyed). */
  destroy(ref: string): Promise<boolean>;
  /** Whether the HSM holds the key. */
  exists(ref: string): Promise<boolean>;
  /** AES-GCM encryption inside the HSM. */
  encrypt(ref: string, plaintext: Uint8Array, gcm?: ResidentGcm): Promise<ResidentGcmResult>;
  /** AES-GCM decryption inside the HSM; a KeyringError when the tag does not verify. */
  decrypt(ref: string, ciphertext: Uint8Array, tag: Uint8Array, gcm: ResidentGcm & { iv: Uint8Array }): Promise<Uint8Array>;
}

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

/**
 * The audit signing keys (src/audit): ECDSA P-256 key pairs by generation, the newest signing.
 * In an HSM the private key is a token object (CKA_SENSITIVE, not extractable) and signs there.
 */
export interface SigningKeys {
  /** The newest key pair, generated (generation 1) when there is none. */
  newest(): Promise<SigningKey>;
  /** Generates the next generation; the signer moves to it at its next checkpoint. */
  create(): Promise<SigningKey>;
}

export interface SigningKey {
  readonly generation: number;
  /** SHA-256 (hex) of the public key's SubjectPublicKeyInfo DER. */
  readonly keyId: string;
  readonly publicKeyPem: string;
  /** ECDSA P-256 over SHA-256 of `message`; the signature as r ‖ s (IEEE P1363, 64 bytes). */
  sign(message: Uint8Array): Promise<Buffer>;
}

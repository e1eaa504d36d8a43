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
}

export class KeyringError extends Error {
  override readonly name = 'KeyringError';
}

/**
 * Decrypt (KMIP 2.1 §6.1.11; 1.4 §4.30): the request flow is Encrypt's (encrypt.ts), with the
 * key's Decrypt usage bit, the process checks of the lifecycle (Active, Process Start Date reached:
 * 2.1 §4.40), and the Authenticated Encryption Tag on the request rather than the response. A tag
 * that does not verify is Cryptographic Failure and no plaintext is returned.
 */
import { cipherHandler } from './encrypt.js';
import type { OperationDefinition } from './registry.js';

export const decrypt: OperationDefinition = {
  name: 'Decrypt',
  mutates: false,
  permission: 'read',
  objectTypes: ['SymmetricKey', 'PrivateKey'],
  handler: cipherHandler('decrypt'),
};

/**
 * Put (KMIP 2.1 §6.2.3; 1.4 §5.2) is a server-to-client operation: kmipd sends it, in a request
 * message, to connections that took the Client endpoint role (src/server/push.ts). It is registered
 * so Query lists it; a client that sends one to kmipd is refused.
 */
import { type Item, item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const put: OperationDefinition = {
  name: 'Put',
  mutates: false,
  permission: 'public',
  handler() {
    throw new KmipError('OperationNotSupported', 'Put is sent by kmipd to clients (KMIP 2.1 §6.2.3); kmipd does not accept one. Use Set Endpoint Role to receive them');
  },
};

/**
 * The 2.x Put payload. With a replaced object the Put Function is Replace and the Replaced Unique
 * Identifier is present, as §6.2.3 requires; otherwise New.
 */
export function putPayload(uid: string, object: Item, attributes: readonly Item[], replaced?: string): Item[] {
  return [
    uidItem(uid),
    item(Tag.PutFunction, 'Enumeration', replaced === undefined ? Enum.PutFunction.New : Enum.PutFunction.Replace),
    ...(replaced === undefined ? [] : [item(Tag.ReplacedUniqueIdentifier, 'TextString', replaced)]),
    object,
    structure(Tag.Attributes, [...attributes]),
  ];
}

/**
 * Notify (KMIP 2.1 §6.2.2; 1.4 §5.1) is a server-to-client operation: kmipd sends it, in a request
 * message, to connections that took the Client endpoint role (src/server/push.ts). It is registered
 * so Query lists it; a client that sends one to kmipd is refused.
 */
import { type Item, structure } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { type AttributeRef, attributeReference } from '../objects/items.js';
import { uidItem } from './managed.js';
import type { OperationDefinition } from './registry.js';

export const notify: OperationDefinition = {
  name: 'Notify',
  mutates: false,
  permission: 'public',
  handler() {
    throw new KmipError('OperationNotSupported', 'Notify is sent by kmipd to clients (KMIP 2.1 §6.2.2); kmipd does not accept one. Use Set Endpoint Role to receive them');
  },
};

/** The 2.x Notify payload: the object, the attributes that changed (Attributes), the ones deleted (Attribute Reference). */
export function notifyPayload(uid: string, changed: readonly Item[], deleted: readonly AttributeRef[]): Item[] {
  const out: Item[] = [uidItem(uid)];
  if (changed.length > 0) out.push(structure(Tag.Attributes, [...changed]));
  for (const ref of deleted) out.push(attributeReference(ref));
  return out;
}

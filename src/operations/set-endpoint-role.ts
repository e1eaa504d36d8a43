/**
 * Set Endpoint Role (KMIP 2.1 §6.1.54): the client asks kmipd to take a role on the current
 * connection. With Client, kmipd becomes the sending side for server-to-client operations: it
 * sends Notify and Put request messages (src/server/push.ts) on this same TLS connection and reads
 * the client's responses. With Server, it goes back to only answering requests.
 *
 * The switch itself is made by the connection when it writes the successful response (so nothing
 * is pushed before the client has read its answer); this handler decides whether the role can be
 * taken. HTTPS carries only client requests: the Client role is refused there.
 */
import { item } from '../ttlv/index.js';
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import type { OperationDefinition } from './registry.js';

const Role = Enum.EndpointRole;

export const setEndpointRole: OperationDefinition = {
  name: 'SetEndpointRole',
  mutates: false,
  permission: 'public',
  handler(payload, ctx) {
    const role = payload.need(Tag.EndpointRole, 'Enumeration');
    if (role === Role.Client) {
      if (ctx.transport !== 'tls') {
        throw new KmipError('FeatureNotSupported', 'kmipd takes the Client endpoint role only on a KMIP-over-TLS connection (port 5696); HTTPS carries client requests only');
      }
    } else if (role !== Role.Server) {
      // 11.19: values 8XXXXXXX are extensions kmipd defines none of; anything else is not an Endpoint Role.
      const extension = role >= 0x80000000;
      throw new KmipError(extension ? 'FeatureNotSupported' : 'InvalidField', `Endpoint Role 0x${role.toString(16).padStart(8, '0')} is ${extension ? 'an extension kmipd does not implement' : 'not defined (KMIP 2.1 §11.19: Client or Server)'}`);
    }
    return [item(Tag.EndpointRole, 'Enumeration', role)];
  },
};

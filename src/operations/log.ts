/**
 * Log (KMIP 2.1 §6.1.30): the client asks the server to record a message. kmipd writes it to its
 * own log, attributed to the client's identity, at info level and cut to 1,024 characters.
 */
import { Tag } from '../kmip/registry.generated.js';
import type { OperationDefinition } from './registry.js';

const MAX_LOGGED = 1024;

export const log: OperationDefinition = {
  name: 'Log',
  mutates: false,
  permission: 'public',
  handler(payload, ctx) {
    const message = payload.need(Tag.LogMessage, 'TextString');
    ctx.log.info({ clientLog: message.length > MAX_LOGGED ? `${message.slice(0, MAX_LOGGED)}…` : message }, 'client log message');
    return [];
  },
};

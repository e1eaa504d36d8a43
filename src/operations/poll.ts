/**
 * Poll (KMIP 2.1 §6.1.38; 1.4 §4.28): the status of an operation the server answered
 * asynchronously (Result Status Pending, with an Asynchronous Correlation Value). kmipd answers
 * every request synchronously — Query → Capability Information says Asynchronous Capability
 * false — so no correlation value it could be asked about exists, and every Poll is refused.
 */
import { KmipError } from '../kmip/errors.js';
import { Tag } from '../kmip/registry.generated.js';
import { atLeast } from '../kmip/version.js';
import type { OperationDefinition } from './registry.js';

export const poll: OperationDefinition = {
  name: 'Poll',
  mutates: false,
  // KMIP 1.4 §3.18.1: Poll is outside operation policy control.
  permission: 'public',
  handler(payload, ctx) {
    payload.need(Tag.AsynchronousCorrelationValue, 'ByteString');
    // KMIP 2.1 Table 277 names Invalid Asynchronous Correlation Value; 1.4 §11.29 (Table 352), before
    // that reason existed, names Item Not Found for "no outstanding operation with the specified value".
    const reason = atLeast(ctx.version, 2, 0) ? 'InvalidAsynchronousCorrelationValue' : 'ItemNotFound';
    throw new KmipError(reason, 'no outstanding operation has that Asynchronous Correlation Value: kmipd answers every request synchronously');
  },
};

/**
 * Cancel (KMIP 2.1 §6.1.5; 1.4 §4.27): cancel an operation the server answered asynchronously.
 * kmipd answers every request synchronously (Query → Asynchronous Capability false), so no
 * correlation value names an outstanding or recently completed operation.
 */
import { KmipError } from '../kmip/errors.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { atLeast } from '../kmip/version.js';
import type { OperationDefinition } from './registry.js';

export const cancel: OperationDefinition = {
  name: 'Cancel',
  mutates: false,
  // KMIP 1.4 §3.18.1: Cancel is outside operation policy control.
  permission: 'public',
  handler(payload, ctx) {
    const correlation = payload.need(Tag.AsynchronousCorrelationValue, 'ByteString');
    if (atLeast(ctx.version, 2, 0)) {
      // KMIP 2.1 Table 178 and §11 (Result Reasons): no outstanding operation with that value.
      throw new KmipError('InvalidAsynchronousCorrelationValue', 'no outstanding operation has that Asynchronous Correlation Value: kmipd answers every request synchronously');
    }
    // KMIP 1.4 §4.27 lists no errors (§11.28 N/A) and answers an unknown value with the Cancellation
    // Result Unavailable: "did not match any recently pending or completed asynchronous operations".
    return [
      { tag: Tag.AsynchronousCorrelationValue, type: 'ByteString', value: correlation },
      { tag: Tag.CancellationResult, type: 'Enumeration', value: Enum.CancellationResult.Unavailable },
    ];
  },
};

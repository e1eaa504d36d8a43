/**
 * The one error type of the KMIP layer: a Result Reason and a message for the operator reading a
 * client log. Anything else thrown below the processor becomes General Failure with an incident id.
 */
import type { Item } from '../ttlv/index.js';
import { Enum } from './registry.generated.js';

export type ResultReasonName = keyof typeof Enum.ResultReason;

export class KmipError extends Error {
  readonly reason: ResultReasonName;
  /**
   * A response payload sent with the failure, where the operation defines one (KMIP 2.1 Table 184:
   * a refused Check returns the fields it refused). Never key material.
   */
  readonly payload: Item[] | undefined;

  constructor(reason: ResultReasonName, message: string, payload?: Item[]) {
    super(message);
    this.name = 'KmipError';
    this.reason = reason;
    this.payload = payload;
  }

  get reasonValue(): number {
    return Enum.ResultReason[this.reason];
  }
}

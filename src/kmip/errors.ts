/**
 * The one error type of the KMIP layer: a Result Reason and a message for the operator reading a
 * client log. Anything else thrown below the processor becomes General Failure with an incident id.
 */
import { Enum } from './registry.generated.js';

export type ResultReasonName = keyof typeof Enum.ResultReason;

export class KmipError extends Error {
  readonly reason: ResultReasonName;

  constructor(reason: ResultReasonName, message: string) {
    super(message);
    this.name = 'KmipError';
    this.reason = reason;
  }

  get reasonValue(): number {
    return Enum.ResultReason[this.reason];
  }
}

/** Asserting a KMIP refusal: the Result Reason, and optionally what the message says. */
import type { Test } from 'tap';
import { KmipError, type ResultReasonName } from '../../src/kmip/errors.js';

export function refused(t: Test, fn: () => unknown, reason: ResultReasonName, message?: RegExp): void {
  try {
    fn();
    t.fail(`expected a refusal with ${reason}`);
  } catch (err) {
    if (!(err instanceof KmipError)) throw err;
    t.equal(err.reason, reason, `refused with ${reason}: ${err.message}`);
    if (message) t.match(err.message, message);
  }
}

/**
 * Interop (KMIP 2.1 §6.1.26): an interoperability test suite tells the server a test case begins,
 * ends or is reset. The spec says it "SHALL NOT be available in a production server", so kmipd
 * registers it only with `interop: true` in its configuration (the conformance runner sets it).
 * kmipd keeps no per-test state; it logs the function and the test-case identifier.
 */
import { Enum, Tag } from '../kmip/registry.generated.js';
import { KmipError } from '../kmip/errors.js';
import type { OperationDefinition } from './registry.js';

const FUNCTIONS = new Map<number, string>(Object.entries(Enum.InteropFunction).map(([name, value]) => [value, name]));

export const interop: OperationDefinition = {
  name: 'Interop',
  mutates: false,
  permission: 'public',
  handler(payload, ctx) {
    const fn = FUNCTIONS.get(payload.need(Tag.InteropFunction, 'Enumeration'));
    if (fn === undefined) throw new KmipError('InvalidField', 'Interop Function is Begin, End or Reset');
    const testCase = payload.need(Tag.InteropIdentifier, 'TextString');
    ctx.log.info({ interop: fn, testCase }, 'interop');
    return [];
  },
};

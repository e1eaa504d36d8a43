/**
 * kmipctl commands that move an object through its life or ask about its use: activate, revoke,
 * destroy, archive, recover, check, obtain-lease, get-usage-allocation. Each names one object by
 * its Unique Identifier and prints it back when the server agrees.
 */
import { Tag } from '../kmip/registry.generated.js';
import type { OperationName } from '../operations/registry.js';
import { type Item, item, structure } from '../ttlv/index.js';
import { type Args, type CommandSpec, UsageError, command, enumByName, intOption, maskByNames, oneUid, parseDate, print, stringOption, textField, uidItem } from './operation-args.js';

/** A command whose request is the Unique Identifier (and `extra`), whose answer is the Unique Identifier. */
function byUid(name: string, operation: OperationName, summary: string, details: string, options: CommandSpec['options'] = {}, extra: (args: Args) => Item[] = () => []): CommandSpec {
  return {
    name,
    summary,
    usage: `Usage: kmipctl ${name} UID ${Object.keys(options).length > 0 ? '[options] ' : ''}[connection options]\n\n${details}`,
    options,
    build(args) {
      const uid = oneUid(args);
      const payload = [uidItem(uid), ...extra(args)];
      return async (client, io) => {
        const answer = await client.call(operation, payload);
        const fields = answer.payload?.item.value ?? [];
        const done = textField(fields, Tag.UniqueIdentifier) ?? uid;
        print(io, args, [done], { uniqueIdentifier: done });
      };
    },
  };
}

export const activate = command(
  byUid('activate', 'Activate', 'Activate: a Pre-Active object becomes Active', 'Activates the object (KMIP 2.1 §6.1.1): its Activation Date becomes now. Prints its Unique Identifier.\n'),
);

export const destroy = command(
  byUid(
    'destroy',
    'Destroy',
    'Destroy: erase an object’s key material (revoke an Active one first)',
    'Destroys the object (KMIP 2.1 §6.1.15): its key material is erased, its attributes stay.\nAn Active object is refused with Wrong Key Lifecycle State: revoke it first.\n',
  ),
);

export const archive = command(byUid('archive', 'Archive', 'Archive: move an object to off-line storage', 'Archives the object (KMIP 2.1 §6.1.4). Recover brings it back.\n'));

export const recover = command(byUid('recover', 'Recover', 'Recover: bring an archived object back on-line', 'Recovers an archived object (KMIP 2.1 §6.1.42).\n'));

/** --reason names and their Revocation Reason Codes (2.1 §11.43). */
export const REASONS: Record<string, string> = {
  unspecified: 'Unspecified',
  'key-compromise': 'KeyCompromise',
  'ca-compromise': 'CACompromise',
  'affiliation-changed': 'AffiliationChanged',
  superseded: 'Superseded',
  cessation: 'CessationOfOperation',
  'cessation-of-operation': 'CessationOfOperation',
  'privilege-withdrawn': 'PrivilegeWithdrawn',
};

export const revoke = command(
  byUid(
    'revoke',
    'Revoke',
    'Revoke: deactivate an object, or mark it compromised',
    `Revokes the object (KMIP 2.1 §6.1.44). A key or CA compromise makes it Compromised; any other
reason makes an Active object Deactivated.

Options:
  --reason REASON          unspecified (default), key-compromise, ca-compromise,
                           affiliation-changed, superseded, cessation, privilege-withdrawn
  --message TEXT           Revocation Message, kept for the audit trail
  --compromise-date DATE   When the compromise happened (ISO 8601), for key-/ca-compromise
`,
    { reason: { type: 'string' }, message: { type: 'string' }, 'compromise-date': { type: 'string' } },
    (args) => {
      const given = stringOption(args, 'reason') ?? 'unspecified';
      const code = REASONS[given] ?? (Object.values(REASONS).includes(given) ? given : undefined);
      if (code === undefined) throw new UsageError(`--reason must be one of ${Object.keys(REASONS).join(', ')}, not ${JSON.stringify(given)}`);
      const reason: Item[] = [item(Tag.RevocationReasonCode, 'Enumeration', enumByName('RevocationReasonCode', code, '--reason'))];
      const message = stringOption(args, 'message');
      if (message !== undefined) reason.push(item(Tag.RevocationMessage, 'TextString', message));
      const out: Item[] = [structure(Tag.RevocationReason, reason)];
      const date = stringOption(args, 'compromise-date');
      if (date !== undefined) {
        if (code !== 'KeyCompromise' && code !== 'CACompromise') throw new UsageError('--compromise-date goes with --reason key-compromise or ca-compromise');
        out.push(item(Tag.CompromiseOccurrenceDate, 'DateTime', parseDate(date, '--compromise-date')));
      }
      return out;
    },
  ),
);

export const check = command(
  byUid(
    'check',
    'Check',
    'Check: would the server allow this use of an object?',
    `Asks whether the object may be used as described (KMIP 2.1 §6.1.7). Prints its Unique
Identifier if so; a refusal names the reason (e.g. Incompatible Cryptographic Usage Mask).

Options:
  --usage LIST       Cryptographic Usage Mask to check, e.g. encrypt,decrypt
  --usage-count N    Usage Limits Count to check
  --lease SECONDS    Lease Time to check
`,
    { usage: { type: 'string' }, 'usage-count': { type: 'string' }, lease: { type: 'string' } },
    (args) => {
      const out: Item[] = [];
      const count = intOption(args, 'usage-count', 0, Number.MAX_SAFE_INTEGER);
      if (count !== undefined) out.push(item(Tag.UsageLimitsCount, 'LongInteger', BigInt(count)));
      const usage = stringOption(args, 'usage');
      if (usage !== undefined) out.push(item(Tag.CryptographicUsageMask, 'Integer', maskByNames('CryptographicUsageMask', usage, '--usage')));
      const lease = intOption(args, 'lease', 0, 0xffffffff);
      if (lease !== undefined) out.push(item(Tag.LeaseTime, 'Interval', lease));
      return out;
    },
  ),
);

export const getUsageAllocation = command(
  byUid(
    'get-usage-allocation',
    'GetUsageAllocation',
    'Get Usage Allocation: reserve uses of a key with Usage Limits',
    `Asks for N uses of the object (KMIP 2.1 §6.1.23), counted against its Usage Limits.

Options:
  --count N    Usage Limits Count to allocate (required)
`,
    { count: { type: 'string' } },
    (args) => {
      const count = intOption(args, 'count', 1, Number.MAX_SAFE_INTEGER);
      if (count === undefined) throw new UsageError('--count N is required');
      return [item(Tag.UsageLimitsCount, 'LongInteger', BigInt(count))];
    },
  ),
);

export const obtainLease = command({
  name: 'obtain-lease',
  summary: 'Obtain Lease: how long the client may use an object before asking again',
  usage: `Usage: kmipctl obtain-lease UID [connection options]

Obtains a lease on the object (KMIP 2.1 §6.1.35) and prints its Lease Time in seconds and the
object's Last Change Date.
`,
  options: {},
  build(args) {
    const uid = oneUid(args);
    return async (client, io) => {
      const answer = await client.call('ObtainLease', [uidItem(uid)]);
      const lease = answer.payload?.get(Tag.LeaseTime, 'Interval');
      const changed = answer.payload?.get(Tag.LastChangeDate, 'DateTime');
      const changedIso = changed === undefined ? undefined : new Date(changed * 1000).toISOString();
      print(io, args, [`Lease Time: ${lease ?? '(none)'} s`, `Last Change Date: ${changedIso ?? '(none)'}`], {
        uniqueIdentifier: answer.payload?.get(Tag.UniqueIdentifier, 'TextString') ?? uid,
        leaseTime: lease ?? null,
        lastChangeDate: changedIso ?? null,
      });
    };
  },
});


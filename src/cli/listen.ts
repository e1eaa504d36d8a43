/**
 * `kmipctl listen`: makes kmipd take the Client endpoint role on this connection (Set Endpoint
 * Role, KMIP 2.1 §6.1.54) and prints every Notify and Put it pushes (§6.2.2, §6.2.3) as one JSON
 * line, acknowledging each with an empty Success response.
 */
import { toJson } from '../ttlv/index.js';
import { type ServerRequestHandler, acknowledge } from '../client/client.js';
import { parseBatchItem, parseRequestHeader } from '../kmip/message.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { CONNECTION_HELP, parseCommand, withClient } from './connect.js';
import type { Io } from './kmipctl.js';

export const summary = 'Set Endpoint Role Client, then print the Notify/Put kmipd pushes (JSON lines)';

const USAGE = `Usage: kmipctl listen [--count N] [connection options]

Asks kmipd to take the Client endpoint role on this connection, then prints each Notify or Put it
sends about this identity's objects as one JSON line: {"operation", "uniqueIdentifier", "payload"}.
A Put carries the object itself, key material included. Runs until Ctrl-C, the server closes the
connection, or N messages were printed. Needs KMIP 2.0 or later.

  --count N              Stop after N messages

${CONNECTION_HELP}`;

const OPERATION_NAMES = new Map(Object.entries(Enum.Operation).map(([name, value]) => [value as number, name]));

export async function run(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand(argv, { count: { type: 'string' } }, io, USAGE);
  if (!parsed) return 2;
  if (parsed.values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const count = parsed.values.count === undefined ? Infinity : Number(parsed.values.count);
  if (!(count > 0) || (count !== Infinity && !Number.isInteger(count))) {
    io.stderr.write(`kmipctl listen: --count must be a positive integer\n\n${USAGE}`);
    return 2;
  }
  return withClient(parsed.values, io, async (client) => {
    let printed = 0;
    let stop: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const print: ServerRequestHandler = (request) => {
      const { items } = parseRequestHeader(request);
      for (const raw of items) {
        const batch = parseBatchItem(raw);
        const line = {
          operation: OPERATION_NAMES.get(batch.operation) ?? batch.operation,
          uniqueIdentifier: batch.payload.get(Tag.UniqueIdentifier, 'TextString'),
          payload: batch.payload.item.value.map((f) => toJson(f)),
        };
        if (printed < count) io.stdout.write(`${JSON.stringify(line)}\n`);
        // After this acknowledgement is written: it leaves once the handler returns.
        if (++printed >= count) setImmediate(stop);
      }
      return acknowledge(request);
    };
    client.onRequest(print);
    client.socket.once('close', () => stop());
    const interrupted = (): void => stop();
    process.once('SIGINT', interrupted);
    try {
      await client.call('SetEndpointRole', [{ tag: Tag.EndpointRole, type: 'Enumeration', value: Enum.EndpointRole.Client }]);
      io.stderr.write('listening for Notify and Put (Ctrl-C to stop)\n');
      await stopped;
    } finally {
      process.removeListener('SIGINT', interrupted);
    }
  });
}

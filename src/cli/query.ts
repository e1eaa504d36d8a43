/** `kmipctl query`: Query — what the server implements. */
import { registry, toJson, toText, type Item } from '../ttlv/index.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { CONNECTION_HELP, parseCommand, withClient } from './connect.js';
import type { Io } from './kmipctl.js';

export const summary = 'Query: operations, object types, server information, capabilities…';

const FUNCTIONS = Object.keys(Enum.QueryFunction).map((name) => name.replace(/^Query/, ''));

const USAGE = `Usage: kmipctl query [FUNCTION…] [connection options]

Sends Query with the given functions (default: Operations Objects ServerInformation) and prints
the answer. Functions: ${FUNCTIONS.join(', ')}.

${CONNECTION_HELP}`;

export async function run(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand(argv, {}, io, USAGE);
  if (!parsed) return 2;
  if (parsed.values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const names = parsed.positionals.length > 0 ? parsed.positionals : ['Operations', 'Objects', 'ServerInformation'];
  const functions: number[] = [];
  for (const name of names) {
    const value = (Enum.QueryFunction as Record<string, number>)[`Query${name}`] ?? (Enum.QueryFunction as Record<string, number>)[name];
    if (value === undefined) {
      io.stderr.write(`kmipctl query: unknown function ${name}; one of ${FUNCTIONS.join(', ')}\n`);
      return 2;
    }
    functions.push(value);
  }
  return withClient(parsed.values, io, async (client) => {
    const item = await client.call('Query', functions.map((value): Item => ({ tag: Tag.QueryFunction, type: 'Enumeration', value })));
    const fields = item.payload?.item.value ?? [];
    if (parsed.values.json) {
      io.stdout.write(`${JSON.stringify(fields.map((f) => toJson(f)), null, 2)}\n`);
      return;
    }
    const ops = registry.tagByName('Operation')?.enumeration;
    const types = registry.tagByName('ObjectType')?.enumeration;
    const list = (tag: number, names: typeof ops) => fields.filter((f) => f.tag === tag).map((f) => names?.byValue.get(f.value as number) ?? String(f.value));
    const lines: string[] = [];
    if (functions.includes(Enum.QueryFunction.QueryOperations)) lines.push(`Operations: ${list(Tag.Operation, ops).join(', ') || '(none)'}`);
    if (functions.includes(Enum.QueryFunction.QueryObjects)) lines.push(`Object types: ${list(Tag.ObjectType, types).join(', ') || '(none)'}`);
    for (const f of fields) {
      if (f.tag !== Tag.Operation && f.tag !== Tag.ObjectType) lines.push(toText(f));
    }
    io.stdout.write(`${lines.join('\n')}\n`);
  });
}

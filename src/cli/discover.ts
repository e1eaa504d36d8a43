/** `kmipctl discover`: Discover Versions — which KMIP versions the server speaks. */
import type { Item } from '../ttlv/index.js';
import { Fields } from '../kmip/fields.js';
import { readVersion, writeVersion } from '../kmip/message.js';
import { Tag } from '../kmip/registry.generated.js';
import { versionString } from '../kmip/version.js';
import { CONNECTION_HELP, parseCommand, parseVersion, withClient } from './connect.js';
import type { Io } from './kmipctl.js';

export const summary = 'Discover Versions: the KMIP versions the server speaks';

const USAGE = `Usage: kmipctl discover [--offer 2.1,1.4,…] [connection options]

Sends Discover Versions and prints the versions the server speaks, most preferred first.
With --offer, only those versions are offered and the answer is the ones both sides speak.

${CONNECTION_HELP}`;

export async function run(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand(argv, { offer: { type: 'string' } }, io, USAGE);
  if (!parsed) return 2;
  if (parsed.values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const offer = typeof parsed.values.offer === 'string' ? parsed.values.offer.split(',').map((v) => parseVersion(v.trim())!) : [];
  return withClient(parsed.values, io, async (client) => {
    const item = await client.call('DiscoverVersions', offer.map((v): Item => writeVersion(v)));
    const versions = (item.payload?.all(Tag.ProtocolVersion) ?? []).map((it) => versionString(readVersion(Fields.of(it, 'Protocol Version'))));
    io.stdout.write(parsed.values.json ? `${JSON.stringify({ versions })}\n` : `${versions.join('\n') || '(no version in common)'}\n`);
  });
}

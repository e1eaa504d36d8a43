/**
 * Discover Versions (KMIP 2.1 §6.1.16): the versions both sides speak, in the server's order of
 * preference; all of kmipd's when the client lists none; an empty list when none is shared.
 */
import type { Item } from '../ttlv/index.js';
import { readVersion, writeVersion } from '../kmip/message.js';
import { Fields } from '../kmip/fields.js';
import { Tag } from '../kmip/registry.generated.js';
import { SUPPORTED_VERSIONS } from '../kmip/version.js';
import type { OperationDefinition } from './registry.js';

export const discoverVersions: OperationDefinition = {
  name: 'DiscoverVersions',
  mutates: false,
  permission: 'public',
  handler(payload) {
    const offered = payload.all(Tag.ProtocolVersion).map((it) => readVersion(Fields.of(it, 'Protocol Version')));
    const shared =
      offered.length === 0
        ? SUPPORTED_VERSIONS
        : SUPPORTED_VERSIONS.filter((v) => offered.some((o) => o.major === v.major && o.minor === v.minor));
    return shared.map((v): Item => writeVersion(v));
  },
};

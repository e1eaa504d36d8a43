/**
 * The operation registry: each KMIP Operation kmipd implements, with its handler, whether it
 * changes state, and the permission it needs. Query and Discover Versions answer from here, so
 * what the server says it supports is what it has registered, never a hand-kept list.
 */
import type { Logger } from 'pino';
import type { Item } from '../ttlv/index.js';
import { registry as ttlvRegistry } from '../ttlv/index.js';
import type { Fields } from '../kmip/fields.js';
import { Enum } from '../kmip/registry.generated.js';
import { type ProtocolVersion, versionString } from '../kmip/version.js';
import type { ClientIdentity } from '../server/types.js';
import type { ObjectStore } from '../store/types.js';
import type { Keyring } from '../keys/types.js';
import type { ObjectTypeName } from '../objects/types.js';

export type OperationName = keyof typeof Enum.Operation;

/** `public`: any authenticated client (Discover Versions, Query); `read`/`write`: object access. */
export type Permission = 'public' | 'read' | 'write' | 'admin';

export interface Clock {
  /** Seconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Math.floor(Date.now() / 1000) };

/** Facts about this server that Query → Server Information reports. */
export interface ServerDescription {
  readonly vendor: string;
  readonly product: string;
  readonly version: string;
  readonly nodeId: string;
  /** Conditions an operator must know of, e.g. a software keystore; reported, and logged at start. */
  readonly warnings: readonly string[];
  /** The PEM of the key that signs this node's audit checkpoints (src/audit); absent with audit off. */
  readonly auditPublicKey?: () => string | undefined;
  /** What RNG Seed does with a client's seed (config `rng`, src/operations/rng-seed.ts); absent: ignore it. */
  readonly rng?: { readonly seed: 'accept' | 'ignore' | 'refuse'; readonly seedMaxBytes: number };
}

export interface OperationContext {
  readonly version: ProtocolVersion;
  readonly identity: ClientIdentity;
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** The transport the request came on: only a KMIP-over-TLS connection can take the Client endpoint role. */
  readonly transport: 'tls' | 'https';
  readonly clock: Clock;
  readonly server: ServerDescription;
  readonly operations: OperationRegistry;
  /** The object store; a mutating handler does its reads and writes in one `store.transaction`. */
  readonly store: ObjectStore;
  /** Seals key material before it reaches the store; keep its calls outside the store transaction. */
  readonly keyring: Keyring;
  /** KMIP 2.1 §6.1: the Unique Identifier carried between the items of one batch. */
  idPlaceholder: string | undefined;
}

export type OperationHandler = (payload: Fields, ctx: OperationContext) => Promise<Item[]> | Item[];

export interface OperationDefinition {
  readonly name: OperationName;
  readonly mutates: boolean;
  readonly permission: Permission;
  readonly handler: OperationHandler;
  /** The Unique Identifier a successful response puts into the ID Placeholder, if this operation sets it. */
  readonly placeholder?: (response: Item[]) => string | undefined;
  /** The Object Types this operation handles; Query → Objects lists their union. */
  readonly objectTypes?: readonly ObjectTypeName[];
}

const operationValues = ttlvRegistry.tagByName('Operation')?.enumeration;

export class OperationRegistry {
  private readonly byValue = new Map<number, OperationDefinition>();

  register(def: OperationDefinition): this {
    this.byValue.set(Enum.Operation[def.name], def);
    return this;
  }

  /** The implementation of an Operation value, if kmipd has one and it exists in this protocol version. */
  get(operation: number, version: ProtocolVersion): OperationDefinition | undefined {
    const def = this.byValue.get(operation);
    return def && existsIn(def.name, version) ? def : undefined;
  }

  /** Every implemented operation that exists in `version`, in enumeration order. */
  supported(version: ProtocolVersion): OperationDefinition[] {
    return [...this.byValue.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, def]) => def)
      .filter((def) => existsIn(def.name, version));
  }
}

/** Whether an Operation exists in a protocol version, from the registry's per-version data. */
export function existsIn(name: OperationName, version: ProtocolVersion): boolean {
  const versions = operationValues?.versions.get(name);
  return versions === undefined || versions.includes(versionString(version));
}

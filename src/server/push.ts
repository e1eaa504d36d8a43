/**
 * Server-to-client operations (KMIP 2.1 §6.2; 1.4 §5): Notify and Put pushed to clients that took
 * the Client endpoint role with Set Endpoint Role (2.1 §6.1.54) on a KMIP-over-TLS connection.
 *
 * What is pushed, and to whom: every connection in the Client role is subscribed for the objects
 * its identity owns (the only objects it can see). After a store transaction commits:
 * - an object that changed gets a Notify with its Unique Identifier, the attribute instances that
 *   are new or changed (always with Last Change Date, §6.2.2 "at least"), and Attribute References
 *   for the attributes it no longer has; an object removed from the store gets a Notify naming all
 *   its attributes as deleted;
 * - a new object that replaces another (Re-key, Re-key Key Pair: it carries a Replaced Object Link)
 *   gets a Put with Put Function Replace, the Replaced Unique Identifier, the object and its
 *   attributes. Not when its value may not leave kmipd (Extractable false, Sensitive true, kept in
 *   the HSM): Put cannot wrap it (§6.2.3 leaves wrapping to out-of-band agreement).
 * New objects that replace nothing are not pushed: their creator has just been answered.
 *
 * Events exist only within one kmipd process: with several workers or nodes, a connection hears of
 * changes made through its own process.
 */
import type { Logger } from 'pino';
import { type Item, decode, encode } from '../ttlv/index.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { type AttributeRef, child, find, refOf, sameRef } from '../objects/items.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import { isNotExtractable } from '../operations/hsm-resident.js';
import { notifyPayload } from '../operations/notify.js';
import { putPayload } from '../operations/put.js';
import type { Keyring } from '../keys/types.js';
import type { InsertOptions, ObjectStore, StoreTransaction } from '../store/types.js';
import { ForwardingTransaction } from '../store/forwarding.js';
import type { KmipProcessor } from './types.js';

/** A connection that receives pushed requests (src/server/connection.ts). */
export interface PushEndpoint {
  /** The identity whose objects it hears about. */
  readonly owner: string;
  /** Sends one request message with this operation and payload; false when it was dropped (logged). */
  deliver(operation: 'Notify' | 'Put', payload: Item[], uid: string): boolean;
}

/** Committed changes waiting for their pushes to be built; beyond this they are dropped (logged). */
export const MAX_PUSH_BACKLOG = 1024;

type Change =
  | { kind: 'inserted'; after: ManagedObjectRecord }
  | { kind: 'updated'; before: ManagedObjectRecord; after: ManagedObjectRecord }
  | { kind: 'deleted'; before: ManagedObjectRecord };

export class PushHub {
  private readonly byOwner = new Map<string, Set<PushEndpoint>>();
  /** Pushes leave in commit order: each batch of changes waits for the previous one. */
  private tail: Promise<void> = Promise.resolve();
  private backlog = 0;

  constructor(private readonly options: { keyring: Keyring; log: Logger }) {}

  subscribe(endpoint: PushEndpoint): void {
    let set = this.byOwner.get(endpoint.owner);
    if (!set) this.byOwner.set(endpoint.owner, (set = new Set()));
    set.add(endpoint);
  }

  unsubscribe(endpoint: PushEndpoint): void {
    const set = this.byOwner.get(endpoint.owner);
    if (!set?.delete(endpoint)) return;
    if (set.size === 0) this.byOwner.delete(endpoint.owner);
  }

  watching(owner: string): boolean {
    return this.byOwner.has(owner);
  }

  /** The store the Processor uses: its committed changes to watched owners' objects are pushed. */
  watch(store: ObjectStore): ObjectStore {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const hub = this;
    return {
      client: store.client,
      read: (fn) => store.read(fn),
      stats: () => store.stats(),
      close: () => store.close(),
      async transaction(fn) {
        // Nobody listening (the usual case): the transaction is not touched at all.
        if (hub.byOwner.size === 0) return store.transaction(fn);
        const changes: Change[] = [];
        const result = await store.transaction((tx) => {
          changes.length = 0; // a store that reruns `fn` keeps only the run that committed
          return fn(new WatchedTransaction(tx, (owner) => hub.watching(owner), changes));
        });
        if (changes.length > 0) hub.publish(changes);
        return result;
      },
    };
  }

  private publish(changes: Change[]): void {
    if (this.backlog + changes.length > MAX_PUSH_BACKLOG) {
      this.options.log.warn({ dropped: changes.length, backlog: this.backlog }, 'push backlog full; Notify/Put for these changes dropped');
      return;
    }
    this.backlog += changes.length;
    this.tail = this.tail
      .then(() => this.deliverAll(changes))
      .catch((err: unknown) => this.options.log.error({ err }, 'building a Notify/Put failed'))
      .finally(() => {
        this.backlog -= changes.length;
      });
  }

  private async deliverAll(changes: Change[]): Promise<void> {
    for (const change of changes) {
      const record = change.kind === 'deleted' ? change.before : change.after;
      const endpoints = this.byOwner.get(record.owner);
      if (!endpoints) continue;
      const pushed = change.kind === 'inserted' ? await this.put(change.after) : notification(change);
      if (!pushed) continue;
      for (const endpoint of endpoints) endpoint.deliver(pushed.operation, pushed.payload, record.uid);
    }
  }

  private async put(record: ManagedObjectRecord): Promise<{ operation: 'Put'; payload: Item[] } | undefined> {
    const replaced = replacedUid(record);
    if (replaced === undefined) return undefined;
    if (record.sealedValue === undefined || isNotExtractable(record) || isSensitive(record)) {
      this.options.log.info({ uid: record.uid, replaced }, 'replacement object not pushed: its value may not leave kmipd unwrapped');
      return undefined;
    }
    let plain: Uint8Array;
    try {
      plain = await this.options.keyring.unseal(record.uid, record.sealedValue);
    } catch (err) {
      this.options.log.error({ uid: record.uid, err: err instanceof Error ? err.message : String(err) }, 'replacement object not pushed: its value could not be unsealed');
      return undefined;
    }
    let value: Item;
    try {
      value = decode(plain);
    } finally {
      plain.fill(0);
    }
    return { operation: 'Put', payload: putPayload(record.uid, value, record.attributes, replaced) };
  }
}

/** The hub of a processor's server (set by startKmipd); a connection without one never pushes. */
const hubs = new WeakMap<KmipProcessor, PushHub>();

export function attachPushHub(processor: KmipProcessor, hub: PushHub): void {
  hubs.set(processor, hub);
}

export function pushHubOf(processor: KmipProcessor): PushHub | undefined {
  return hubs.get(processor);
}

/**
 * The Endpoint Role a response message accepted, if one of its batch items is a successful Set
 * Endpoint Role, with the protocol version of that response (the version pushes are sent in).
 */
export function acceptedRole(response: Item): { role: number; version: { major: number; minor: number } } | undefined {
  if (response.tag !== Tag.ResponseMessage || response.type !== 'Structure') return undefined;
  let role: number | undefined;
  for (const batch of response.value) {
    if (batch.tag !== Tag.BatchItem) continue;
    if (leaf(child(batch, Tag.Operation)) !== Enum.Operation.SetEndpointRole) continue;
    if (leaf(child(batch, Tag.ResultStatus)) !== Enum.ResultStatus.Success) continue;
    const payload = child(batch, Tag.ResponsePayload);
    const value = payload && leaf(child(payload, Tag.EndpointRole));
    if (typeof value === 'number') role = value;
  }
  if (role === undefined) return undefined;
  const header = response.value.find((c) => c.tag === Tag.ResponseHeader);
  const version = header && child(header, Tag.ProtocolVersion);
  const major = version && leaf(child(version, Tag.ProtocolVersionMajor));
  const minor = version && leaf(child(version, Tag.ProtocolVersionMinor));
  if (typeof major !== 'number' || typeof minor !== 'number') return undefined;
  return { role, version: { major, minor } };
}

function leaf(it: Item | undefined): unknown {
  return it === undefined || it.type === 'Structure' ? undefined : it.value;
}

/** `tx` noting each write to an object of a watched owner, with the version it replaced. */
class WatchedTransaction extends ForwardingTransaction {
  constructor(
    tx: StoreTransaction,
    private readonly watched: (owner: string) => boolean,
    private readonly changes: Change[],
  ) {
    super(tx);
  }

  override async insert(record: ManagedObjectRecord, options?: InsertOptions): Promise<void> {
    await super.insert(record, options);
    if (this.watched(record.owner)) this.changes.push({ kind: 'inserted', after: snapshot(record) });
  }

  override async update(record: ManagedObjectRecord): Promise<void> {
    // The row still holds the previous version: what the Notify is computed against.
    const before = this.watched(record.owner) ? await this.tx.get(record.uid, record.owner) : undefined;
    await super.update(record);
    if (before) this.changes.push({ kind: 'updated', before, after: snapshot(record) });
  }

  override async delete(uid: UniqueIdentifier, owner: string): Promise<boolean> {
    const before = this.watched(owner) ? await this.tx.get(uid, owner) : undefined;
    const gone = await super.delete(uid, owner);
    if (gone && before) this.changes.push({ kind: 'deleted', before });
    return gone;
  }
}

/** Handlers may keep mutating their record after storing it; the push describes what was stored. */
function snapshot(record: ManagedObjectRecord): ManagedObjectRecord {
  return { ...record, attributes: [...record.attributes] };
}

/** KMIP 2.1 §6.2.2: the attribute instances added or changed, and the attributes gone. */
function notification(change: Exclude<Change, { kind: 'inserted' }>): { operation: 'Notify'; payload: Item[] } | undefined {
  if (change.kind === 'deleted') {
    return { operation: 'Notify', payload: notifyPayload(change.before.uid, [], distinctRefs(change.before.attributes)) };
  }
  const { before, after } = change;
  const old = new Map<string, number>();
  for (const a of before.attributes) old.set(key(a), (old.get(key(a)) ?? 0) + 1);
  const changed: Item[] = [];
  for (const a of after.attributes) {
    const left = old.get(key(a)) ?? 0;
    if (left > 0) old.set(key(a), left - 1);
    else changed.push(a);
  }
  const deleted = distinctRefs(before.attributes).filter((ref) => !after.attributes.some((a) => sameRef(refOf(a), ref)));
  if (changed.length === 0 && deleted.length === 0) return undefined;
  const lastChange = find(after.attributes, Tag.LastChangeDate);
  if (lastChange && !changed.includes(lastChange)) changed.push(lastChange);
  return { operation: 'Notify', payload: notifyPayload(after.uid, changed, deleted) };
}

function key(attribute: Item): string {
  return encode(attribute).toString('hex');
}

function distinctRefs(attributes: readonly Item[]): AttributeRef[] {
  const refs: AttributeRef[] = [];
  for (const a of attributes) {
    const ref = refOf(a);
    if (!refs.some((r) => sameRef(r, ref))) refs.push(ref);
  }
  return refs;
}

function replacedUid(record: ManagedObjectRecord): UniqueIdentifier | undefined {
  for (const link of record.attributes) {
    if (link.tag !== Tag.Link) continue;
    if (leaf(child(link, Tag.LinkType)) !== Enum.LinkType.ReplacedObjectLink) continue;
    const uid = leaf(child(link, Tag.LinkedObjectIdentifier));
    if (typeof uid === 'string') return uid as UniqueIdentifier;
  }
  return undefined;
}

function isSensitive(record: ManagedObjectRecord): boolean {
  const sensitive = find(record.attributes, Tag.Sensitive);
  return sensitive?.type === 'Boolean' && sensitive.value;
}

/**
 * The KMIP message processor: one request message in, one response message out. It negotiates
 * the protocol version, runs the batch items in order through the operation registry with the
 * ID Placeholder and the Batch Error Continuation Option (KMIP 2.1 §9.6), enforces the Maximum
 * Response Size, and turns every failure into a Result Reason: a KmipError keeps its own, anything
 * else becomes General Failure with an incident id in the log and nothing internal on the wire.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type Item, type TtlvError, encode, registry as ttlvRegistry, structure } from '../ttlv/index.js';
import { KmipError, type ResultReasonName } from '../kmip/errors.js';
import {
  MessageError,
  type PartialHeader,
  type RequestHeader,
  type ResponseBatchItem,
  parseBatchItem,
  parseRequestHeader,
  writeResponse,
} from '../kmip/message.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { type ProtocolVersion, LATEST, SUPPORTED_VERSIONS, isV2, negotiate, versionString } from '../kmip/version.js';
import { type Clock, type OperationContext, type OperationRegistry, type ServerDescription, systemClock } from '../operations/registry.js';
import { rememberEncoding } from './encoded.js';
import type { KmipProcessor, RequestContext } from './types.js';
import { type InsertOptions, type ObjectStore, type StoreReader, type StoreTransaction, StoreError } from '../store/types.js';
import { ForwardingTransaction } from '../store/forwarding.js';
import type { ManagedObjectRecord, UniqueIdentifier } from '../objects/types.js';
import type { Keyring } from '../keys/types.js';
import type { AuditLog } from '../audit/log.js';
import { type AuditFields, eventFields, requestDigest } from '../audit/record.js';

export interface ProcessorOptions {
  operations: OperationRegistry;
  server: ServerDescription;
  /** The object store and keyring the handlers use; without them object operations fail (General Failure). */
  store?: ObjectStore;
  keyring?: Keyring;
  clock?: Clock;
  /** Batch items allowed in one request. */
  maxBatchItems?: number;
  /** Where every batch item is recorded (src/audit); none in protocol-only tests. */
  audit?: AuditLog;
}

/**
 * The audit trail of one batch item while it runs. A transaction of the item's handler carries
 * the item's row (see auditedStore); `recorded` says such a row committed. Otherwise, or if the
 * item failed after its change committed, the processor records the row after the item.
 */
interface Trail {
  base: Omit<AuditFields, 'status' | 'reason' | 'message' | 'uids'>;
  /** Unique Identifiers the item's transactions wrote. */
  touched: Set<string>;
  recorded: boolean;
  /** The request's uids after ID Placeholder resolution. */
  resolved: string[];
}

const resultReasons = ttlvRegistry.tagByName('ResultReason')?.enumeration;
const operationNames = ttlvRegistry.tagByName('Operation')?.enumeration;

export class Processor implements KmipProcessor {
  private readonly clock: Clock;
  private readonly maxBatchItems: number;
  private readonly correlationPrefix = randomBytes(4).toString('hex').toUpperCase();
  private counter = 0;

  constructor(private readonly options: ProcessorOptions) {
    this.clock = options.clock ?? systemClock;
    this.maxBatchItems = options.maxBatchItems ?? 64;
  }

  undecodable(error: TtlvError, ctx: RequestContext): Item {
    const scv = this.correlation();
    ctx.log.warn({ scv, err: { code: error.code, offset: error.offset, message: error.message } }, 'undecodable message');
    const message = `the message could not be decoded: ${error.message}`;
    // Not awaited (the transport answers at once); a failure to record it is logged.
    this.options.audit?.record([this.refusalRow(ctx, undefined, undefined, scv, 'InvalidMessage', message, null)]).catch((err: unknown) => ctx.log.error({ err }, 'the audit row of an undecodable message could not be written'));
    return this.messageFailure({}, 'InvalidMessage', message, scv);
  }

  async handle(root: Item, ctx: RequestContext): Promise<Item> {
    const started = performance.now();
    const scv = this.correlation();
    let header: RequestHeader;
    let rawItems: Item[];
    try {
      ({ header, items: rawItems } = parseRequestHeader(root));
    } catch (err) {
      const e = err instanceof MessageError ? err : new MessageError('InvalidMessage', 'the request header could not be read', {});
      ctx.log.info({ scv, status: 'OperationFailed', reason: e.reason, msg: e.message }, 'request refused');
      await this.recordRefusal(ctx, e.partial.protocolVersion, e.partial.clientCorrelationValue, scv, e.reason, e.message, root);
      return this.messageFailure(e.partial, e.reason, e.message, scv);
    }
    const version = negotiate(header.protocolVersion);
    const echo: { clientCorrelationValue?: string; serverCorrelationValue: string } = { serverCorrelationValue: scv };
    if (header.clientCorrelationValue !== undefined) echo.clientCorrelationValue = header.clientCorrelationValue;
    if (version === undefined) {
      const requested = versionString(header.protocolVersion);
      const message = `protocol version ${requested} is not supported; this server speaks ${SUPPORTED_VERSIONS.map(versionString).join(', ')}`;
      ctx.log.info({ scv, version: requested, status: 'OperationFailed', reason: 'UnsupportedProtocolVersion' }, 'request refused');
      await this.recordRefusal(ctx, header.protocolVersion, header.clientCorrelationValue, scv, 'UnsupportedProtocolVersion', message, root);
      return this.messageFailure({ ...echo, protocolVersion: header.protocolVersion }, 'UnsupportedProtocolVersion', message, scv);
    }
    if (rawItems.length > this.maxBatchItems) {
      const message = `a request may hold at most ${this.maxBatchItems} batch items, this one has ${rawItems.length}`;
      await this.recordRefusal(ctx, version, header.clientCorrelationValue, scv, 'ServerLimitExceeded', message, root);
      return this.messageFailure({ ...echo, protocolVersion: version }, 'ServerLimitExceeded', message, scv);
    }
    if (header.asynchronousMandatory) {
      await this.recordRefusal(ctx, version, header.clientCorrelationValue, scv, 'FeatureNotSupported', 'asynchronous processing is not supported', root);
      return this.messageFailure({ ...echo, protocolVersion: version }, 'FeatureNotSupported', 'asynchronous processing is not supported', scv);
    }
    const octx: OperationContext = {
      version,
      identity: ctx.identity,
      log: ctx.log,
      signal: ctx.signal,
      transport: ctx.transport,
      clock: this.clock,
      server: this.options.server,
      operations: this.options.operations,
      store: this.options.store ?? noStore,
      keyring: this.options.keyring ?? noKeyring,
      idPlaceholder: undefined,
    };
    // KMIP 2.1 §9.6 (Table 434), Undo: if an item fails, every earlier one is undone. A batch that
    // changes objects then runs in one store transaction, which is rolled back on a failure; each
    // item's own `transaction` and `read` join it (see batchStore).
    const undoable = header.batchErrorContinuationOption === 'Undo' && rawItems.length > 1 && rawItems.some((raw) => this.mutates(raw, version));
    const trails: Trail[] = [];
    const audit = this.options.audit ? { log: this.options.audit, trails, ctx, version, ccv: header.clientCorrelationValue, scv } : undefined;
    const results = undoable
      ? await this.runUndoable(rawItems, header, octx, ctx, audit)
      : await this.runItems(rawItems, header, octx, ctx, audit);

    const responseHeader = { protocolVersion: version, timeStamp: this.clock.now(), ...echo };
    let response = writeResponse(responseHeader, results);
    let bytes = tryEncode(response);
    if (bytes === undefined) {
      // A payload that cannot be encoded is a bug here, not the client's: that item becomes
      // General Failure (incident logged); the rest of the batch is answered as it was.
      for (const [i, r] of results.entries()) {
        if (r.payload === undefined || tryEncode(structure(Tag.ResponsePayload, r.payload)) !== undefined) continue;
        const incident = randomUUID();
        ctx.log.error({ incident, op: r.operation }, 'a response payload could not be encoded');
        results[i] = failure(r, 'GeneralFailure', `internal error; incident ${incident}`, version);
      }
      response = writeResponse(responseHeader, results);
      bytes = encode(response);
    }
    if (header.maximumResponseSize !== undefined && bytes.length > header.maximumResponseSize) {
      const limit = header.maximumResponseSize;
      const tooLarge = results.map((r) => failure(r, 'ResponseTooLarge', `the response exceeds the Maximum Response Size of ${limit} bytes`, version));
      response = writeResponse(responseHeader, tooLarge);
      bytes = encode(response);
      results.splice(0, results.length, ...tooLarge);
    }
    // Recorded as answered (after Response Too Large, if it struck); a Get whose row cannot be
    // written is answered General Failure instead, so the message is built again.
    if (audit && (await this.recordItems(audit, results))) {
      response = writeResponse(responseHeader, results);
      bytes = encode(response);
    }
    rememberEncoding(response, bytes);
    this.logRequest(ctx, header, version, scv, results, performance.now() - started);
    return response;
  }

  private async runItems(rawItems: Item[], header: RequestHeader, octx: OperationContext, ctx: RequestContext, audit: ItemAudit | undefined): Promise<ResponseBatchItem[]> {
    const results: ResponseBatchItem[] = [];
    for (const [index, raw] of rawItems.entries()) {
      const result = await this.runItem(raw, octx, ctx, audit && this.trail(audit, raw, index, octx));
      results.push(result);
      if (result.resultStatus !== 'OperationFailed') continue;
      if (header.batchErrorContinuationOption === 'Continue') continue;
      if (header.batchErrorContinuationOption === 'Undo') {
        for (const earlier of results.slice(0, -1)) markUndone(earlier);
      }
      break; // Stop and Undo: later items are not processed and not answered.
    }
    return results;
  }

  /** Runs the items in one transaction; a failed item rolls back the whole batch and the earlier items are answered Operation Undone. */
  private async runUndoable(rawItems: Item[], header: RequestHeader, octx: OperationContext, ctx: RequestContext, audit: ItemAudit | undefined): Promise<ResponseBatchItem[]> {
    let results: ResponseBatchItem[] = [];
    const store = octx.store;
    try {
      await store.transaction(async (tx) => {
        results = await this.runItems(rawItems, header, { ...octx, store: batchStore(store, tx) }, ctx, audit);
        if (results.some((r) => r.resultStatus === 'OperationFailed')) throw ROLLBACK;
      });
    } catch (err) {
      // The rows written inside the batch's transaction went with it: each item is recorded as it was answered.
      for (const trail of audit?.trails ?? []) trail.recorded = false;
      if (err !== ROLLBACK) {
        // The commit itself failed: nothing persisted, so no item may be reported done.
        const incident = randomUUID();
        ctx.log.error({ incident, err }, 'the transaction of an Undo batch failed');
        results = results.map((r) => (r.resultStatus === 'Success' ? failure(r, 'GeneralFailure', `internal error; incident ${incident}; nothing in this batch was applied`, octx.version) : r));
      }
    }
    return results;
  }

  private async runItem(raw: Item, octx: OperationContext, ctx: RequestContext, trail: Trail | undefined): Promise<ResponseBatchItem> {
    const result: ResponseBatchItem = { resultStatus: 'Success' };
    const store = octx.store;
    // The handler's transactions carry the item's audit row (octx belongs to this message, whose items run one at a time).
    if (trail) (octx as { store: ObjectStore }).store = auditedStore(store, trail, this.options.audit!);
    try {
      const operation = peekOperation(raw);
      if (operation !== undefined) result.operation = operation;
      const item = parseBatchItem(raw);
      if (item.uniqueBatchItemId !== undefined) result.uniqueBatchItemId = item.uniqueBatchItemId;
      if (item.criticalExtensions.length > 0) {
        throw new KmipError('FeatureNotSupported', `critical Message Extension not understood (vendor ${item.criticalExtensions.join(', ')})`);
      }
      const def = this.options.operations.get(item.operation, octx.version);
      if (!def) {
        const opName = operationNames?.byValue.get(item.operation) ?? `0x${item.operation.toString(16)}`;
        throw new KmipError('OperationNotSupported', `operation ${opName} is not supported in KMIP ${versionString(octx.version)}`);
      }
      if (ctx.signal.aborted) throw new KmipError('OperationCanceledByRequester', 'the request timed out before this item ran');
      const payload = await def.handler(item.payload, octx);
      const uid = def.placeholder?.(payload);
      if (uid !== undefined) octx.idPlaceholder = uid;
      result.payload = payload;
      return result;
    } catch (err) {
      if (err instanceof KmipError) {
        const failed = failure(result, err.reason, err.message, octx.version);
        if (err.payload !== undefined) failed.payload = err.payload;
        return failed;
      }
      // The database's Name uniqueness (store/migrations/002), which holds across nodes: 2.1 §4.32.
      if (err instanceof StoreError && err.code === 'NAME_TAKEN') {
        return failure(result, isV2(octx.version) ? 'NonUniqueNameAttribute' : 'InvalidField', err.message, octx.version);
      }
      const incident = randomUUID();
      ctx.log.error({ incident, err }, 'unexpected error while processing a batch item');
      return failure(result, 'GeneralFailure', `internal error; incident ${incident}`, octx.version);
    } finally {
      (octx as { store: ObjectStore }).store = store;
    }
  }

  /** The audit trail of batch item `index`, its request uids resolved against the ID Placeholder as it stands now. */
  private trail(audit: ItemAudit, raw: Item, index: number, octx: OperationContext): Trail {
    const { ctx } = audit;
    const op = peekOperation(raw);
    const requested = requestUids(raw);
    const id = raw.type === 'Structure' ? raw.value.find((it) => it.tag === Tag.UniqueBatchItemID) : undefined;
    const trail: Trail = {
      base: {
        time: new Date().toISOString(),
        node: this.options.server.nodeId,
        event: 'request',
        identity: ctx.identity.name,
        subject: ctx.identity.subject,
        fingerprint: ctx.identity.fingerprint256,
        peer: ctx.peer,
        transport: ctx.transport,
        version: versionString(audit.version),
        batchIndex: index,
        batchItemId: id?.type === 'ByteString' ? Buffer.from(id.value).toString('hex') : null,
        operation: op === undefined ? null : (operationNames?.byValue.get(op) ?? `0x${op.toString(16)}`),
        uidsRequested: requested,
        ccv: audit.ccv ?? null,
        scv: audit.scv,
        requestDigest: requestDigest(raw),
      },
      touched: new Set(),
      recorded: false,
      resolved: requested.length === 0 && octx.idPlaceholder !== undefined ? [octx.idPlaceholder] : requested,
    };
    audit.trails.push(trail);
    return trail;
  }

  /**
   * Records the items whose row did not commit with a change (or that failed after it did). An item
   * that hands out an object's value (a successful Get or Export) is answered only once its row is
   * durable, and if the row cannot be written it is not answered as done: no key leaves kmipd
   * without its record. The other items' rows (Encrypt, Locate, Query, refusals…) are gathered for
   * a few milliseconds into one commit and the response does not wait: they are in the chain all
   * the same, and lost only if the machine fails within those milliseconds.
   */
  private async recordItems(audit: ItemAudit, results: ResponseBatchItem[]): Promise<boolean> {
    const rows: AuditFields[] = [];
    let wait = false;
    for (const [i, trail] of audit.trails.entries()) {
      const result = results[i];
      if (!result) continue;
      if (trail.recorded && result.resultStatus === 'Success') continue;
      const row = itemRow(trail, result);
      if (row.status === 'Success' && row.operation !== null && HANDS_OUT.has(row.operation)) wait = true;
      rows.push(row);
    }
    const written = audit.log.record(rows, wait);
    if (!wait) {
      written.catch((err: unknown) => audit.ctx.log.error({ err }, 'audit rows of items that hand out no object could not be written'));
      return false;
    }
    try {
      await written;
      return false;
    } catch (err) {
      const incident = randomUUID();
      audit.ctx.log.error({ incident, err }, 'audit rows could not be written; the items they record are refused');
      for (const [i, trail] of audit.trails.entries()) {
        const result = results[i];
        if (!result || (trail.recorded && result.resultStatus === 'Success')) continue;
        if (result.resultStatus === 'Success') results[i] = failure(result, 'GeneralFailure', `the audit record could not be written; incident ${incident}`, audit.version);
      }
      return true;
    }
  }

  /** A message refused as a whole: one row, no operation. */
  private async recordRefusal(ctx: RequestContext, version: ProtocolVersion | undefined, ccv: string | undefined, scv: string, reason: ResultReasonName, message: string, root: Item): Promise<void> {
    const log = this.options.audit;
    if (!log) return;
    try {
      await log.record([this.refusalRow(ctx, version, ccv, scv, reason, message, requestDigest(root))]);
    } catch (err) {
      ctx.log.error({ err }, 'the audit row of a refused message could not be written');
    }
  }

  private refusalRow(ctx: RequestContext, version: ProtocolVersion | undefined, ccv: string | undefined, scv: string, reason: string, message: string, digest: string | null): AuditFields {
    return eventFields({
      node: this.options.server.nodeId,
      ...requester(ctx),
      version: version ? versionString(version) : null,
      status: 'OperationFailed',
      reason,
      message: asciiMessage(message),
      ccv: ccv ?? null,
      scv,
      requestDigest: digest,
    });
  }

  private mutates(raw: Item, version: ProtocolVersion): boolean {
    const op = peekOperation(raw);
    // An operation kmipd does not implement fails without changing anything.
    return op !== undefined && this.options.operations.get(op, version)?.mutates === true;
  }

  /** A whole-message failure: one batch item without Operation (KMIP 1.4 §11.1). */
  private messageFailure(partial: PartialHeader, reason: ResultReasonName, message: string, scv: string): Item {
    const version = (partial.protocolVersion && negotiate(partial.protocolVersion)) ?? answerVersionFor(partial.protocolVersion);
    const header = {
      protocolVersion: version,
      timeStamp: this.clock.now(),
      serverCorrelationValue: scv,
      ...(partial.clientCorrelationValue !== undefined ? { clientCorrelationValue: partial.clientCorrelationValue } : {}),
    };
    return writeResponse(header, [failure({ resultStatus: 'OperationFailed' }, reason, message, version)]);
  }

  private correlation(): string {
    this.counter = (this.counter + 1) % Number.MAX_SAFE_INTEGER;
    return `${this.correlationPrefix}-${this.counter.toString(16).toUpperCase()}`;
  }

  /**
   * One line per request. A single-item request (nearly all of them) is logged flat — op, status,
   * reason, uid — which is cheaper to write and to query than a nested list; a batch lists its items.
   */
  private logRequest(ctx: RequestContext, header: RequestHeader, version: ProtocolVersion, scv: string, results: ResponseBatchItem[], ms: number): void {
    const line: Record<string, unknown> = { scv };
    if (header.clientCorrelationValue !== undefined) line.ccv = header.clientCorrelationValue;
    line.version = versionString(version);
    if (results.length === 1) Object.assign(line, describeItem(results[0]!));
    else line.items = results.map(describeItem);
    line.ms = Math.round(ms * 1000) / 1000;
    ctx.log.info(line, 'request');
  }
}

/** What the request log says of one batch item: never its payload, only identifiers. */
function describeItem(r: ResponseBatchItem): Record<string, unknown> {
  const out: Record<string, unknown> = {
    op: r.operation === undefined ? undefined : (operationNames?.byValue.get(r.operation) ?? r.operation),
    status: r.resultStatus,
  };
  if (r.resultReason !== undefined) out.reason = resultReasons?.byValue.get(r.resultReason) ?? r.resultReason;
  const uids = r.payload === undefined ? [] : uidsOf(r.payload);
  if (uids.length === 1) out.uid = uids[0];
  else if (uids.length > 1) out.uids = uids;
  return out;
}

const unavailable = (what: string) => (): never => {
  throw new StoreError('CLOSED', `this processor has no ${what}`);
};

/** Stand-ins for a processor built without a store or keyring (protocol-only tests). */
const noStore: ObjectStore = {
  client: 'sqlite3',
  transaction: () => Promise.reject(new StoreError('CLOSED', 'this processor has no object store')),
  read: () => Promise.reject(new StoreError('CLOSED', 'this processor has no object store')),
  stats: () => ({ transactions: 0, failed: 0, commits: 0 }),
  close: () => Promise.resolve(),
};

const noKeyring: Keyring = { kind: 'software', seal: unavailable('keyring'), unseal: unavailable('keyring') };

/** The version to answer a message whose own version kmipd cannot speak. */
function answerVersionFor(requested: ProtocolVersion | undefined): ProtocolVersion {
  if (requested && requested.major > LATEST.major) return LATEST;
  return SUPPORTED_VERSIONS[SUPPORTED_VERSIONS.length - 1]!;
}

/**
 * A failed batch item. A Result Reason the client's protocol version does not define is sent as
 * the nearest one it does: Invalid Message for protocol problems, else General Failure.
 */
function failure(base: ResponseBatchItem, reason: ResultReasonName, message: string, version: ProtocolVersion): ResponseBatchItem {
  const { payload: _payload, ...rest } = base;
  return { ...rest, resultStatus: 'OperationFailed', resultReason: Enum.ResultReason[reasonIn(reason, version)], resultMessage: asciiMessage(message) };
}

const ASCII_FOR: Record<string, string> = { '§': 'section ', '—': '-', '–': '-', '’': "'", '‘': "'", '“': '"', '”': '"', '…': '...', '→': '->', '×': 'x', '≥': '>=', '≤': '<=', '−': '-' };

/**
 * Result Messages go out in ASCII. Text Strings are UTF-8 (KMIP 2.1 §10.1.2), but PyKMIP 0.10,
 * which many clients embed, decodes them byte by byte and fails on anything else (a "§" in a
 * clause reference made it raise UnicodeDecodeError instead of reporting the refusal).
 */
function asciiMessage(message: string): string {
  return message.replace(/[^ -~\t\n\r]/g, (c) => ASCII_FOR[c] ?? '?');
}

function reasonIn(reason: ResultReasonName, version: ProtocolVersion): ResultReasonName {
  const versions = resultReasons?.versions.get(reason);
  if (versions === undefined || versions.includes(versionString(version))) return reason;
  return reason === 'UnsupportedProtocolVersion' ? 'InvalidMessage' : 'GeneralFailure';
}

/** The Operation of a batch item, if it can be read, so even a malformed item's failure names it. */
function peekOperation(raw: Item): number | undefined {
  if (raw.type !== 'Structure') return undefined;
  const op = raw.value.find((it) => it.tag === Tag.Operation);
  return op?.type === 'Enumeration' ? op.value : undefined;
}

function tryEncode(message: Item): Buffer | undefined {
  try {
    return encode(message);
  } catch {
    return undefined;
  }
}

/** Operations whose success hands an object's value to the client (see recordItems). */
const HANDS_OUT = new Set(['Get', 'Export']);

interface ItemAudit {
  log: AuditLog;
  trails: Trail[];
  ctx: RequestContext;
  version: ProtocolVersion;
  ccv: string | undefined;
  scv: string;
}

/** Who sent a request, as its audit rows say. */
function requester(ctx: RequestContext): Pick<AuditFields, 'event' | 'identity' | 'subject' | 'fingerprint' | 'peer' | 'transport'> {
  return { event: 'request', identity: ctx.identity.name, subject: ctx.identity.subject, fingerprint: ctx.identity.fingerprint256, peer: ctx.peer, transport: ctx.transport };
}

/** The row of a batch item as it was answered. */
function itemRow(trail: Trail, result: ResponseBatchItem): AuditFields {
  const uids = [...new Set([...trail.resolved, ...trail.touched, ...(result.payload ? uidsOf(result.payload) : [])])];
  const reason = result.resultReason === undefined ? null : (resultReasons?.byValue.get(result.resultReason) ?? String(result.resultReason));
  return auditRow(trail.base, uids, result.resultStatus, reason, result.resultMessage ?? null);
}

/** A row from a trail's base and the outcome; spelled out rather than spread, so every row (one per request) has one object shape. */
function auditRow(b: Trail['base'], uids: string[], status: string, reason: string | null, message: string | null): AuditFields {
  return {
    time: b.time,
    node: b.node,
    event: b.event,
    identity: b.identity,
    subject: b.subject,
    fingerprint: b.fingerprint,
    peer: b.peer,
    transport: b.transport,
    version: b.version,
    batchIndex: b.batchIndex,
    batchItemId: b.batchItemId,
    operation: b.operation,
    uidsRequested: b.uidsRequested,
    uids,
    status,
    reason,
    message,
    ccv: b.ccv,
    scv: b.scv,
    requestDigest: b.requestDigest,
  };
}

/** The Unique Identifiers a request payload names at its top level (text; a 2.x placeholder enumeration or index as such). */
function requestUids(raw: Item): string[] {
  if (raw.type !== 'Structure') return [];
  const payload = raw.value.find((it) => it.tag === Tag.RequestPayload);
  if (payload?.type !== 'Structure') return [];
  const out: string[] = [];
  for (const it of payload.value) {
    if (it.tag !== Tag.UniqueIdentifier) continue;
    if (it.type === 'TextString') out.push(it.value);
    else if (it.type === 'Enumeration' || it.type === 'Integer') out.push(`#${it.value}`);
  }
  return out;
}

/**
 * The store as one audited item's handler sees it: each transaction it commits carries the item's
 * row (status Success, the uids it wrote), so the change and its record commit together. Within an
 * Undo batch the transaction is the batch's, and the processor re-records the items if it rolls back.
 * (Classes, not object literals of closures: one is made per audited item.)
 */
function auditedStore(store: ObjectStore, trail: Trail, log: AuditLog): ObjectStore {
  return new AuditedStore(store, trail, log);
}

class AuditedStore implements ObjectStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly trail: Trail,
    private readonly log: AuditLog,
  ) {}

  get client(): ObjectStore['client'] {
    return this.store.client;
  }

  read<T>(fn: (reader: StoreReader) => Promise<T>): Promise<T> {
    return this.store.read(fn);
  }

  stats(): ReturnType<ObjectStore['stats']> {
    return this.store.stats();
  }

  close(): Promise<void> {
    return this.store.close();
  }

  async transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    const { trail, log } = this;
    const value = await this.store.transaction(async (tx) => {
      const v = await fn(new TrackedTransaction(tx, trail.touched));
      await log.inTransaction(tx, auditRow(trail.base, [...new Set([...trail.resolved, ...trail.touched])], 'Success', null, null));
      return v;
    });
    trail.recorded = true;
    return value;
  }
}

/** `tx` noting the uid of every object it inserts, updates or deletes. */
class TrackedTransaction extends ForwardingTransaction {
  constructor(
    tx: StoreTransaction,
    private readonly touched: Set<string>,
  ) {
    super(tx);
  }

  override insert(record: ManagedObjectRecord, options?: InsertOptions): Promise<void> {
    this.touched.add(record.uid);
    return super.insert(record, options);
  }

  override update(record: ManagedObjectRecord): Promise<void> {
    this.touched.add(record.uid);
    return super.update(record);
  }

  override delete(uid: UniqueIdentifier, owner: string): Promise<boolean> {
    this.touched.add(uid);
    return super.delete(uid, owner);
  }
}

/** Thrown inside an Undo batch's transaction to roll it back. */
const ROLLBACK = Symbol('rollback the batch');

/**
 * The store as the items of an Undo batch see it: their transactions and reads run inside the
 * batch's one transaction (nested transactions are not allowed), so the batch commits or rolls back
 * as a whole, and a later item reads what an earlier one wrote.
 */
function batchStore(store: ObjectStore, tx: StoreTransaction): ObjectStore {
  return {
    client: store.client,
    transaction: (fn) => fn(tx),
    read: (fn) => fn(tx),
    stats: () => store.stats(),
    close: () => store.close(),
  };
}

function markUndone(item: ResponseBatchItem): void {
  if (item.resultStatus !== 'Success') return;
  item.resultStatus = 'OperationUndone';
}

function uidsOf(payload: Item[]): string[] {
  const uids: string[] = [];
  for (const it of payload) if (it.tag === Tag.UniqueIdentifier && it.type === 'TextString') uids.push(it.value);
  return uids;
}

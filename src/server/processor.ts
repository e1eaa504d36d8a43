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
import { type ProtocolVersion, LATEST, SUPPORTED_VERSIONS, negotiate, versionString } from '../kmip/version.js';
import { type Clock, type OperationContext, type OperationRegistry, type ServerDescription, systemClock } from '../operations/registry.js';
import { rememberEncoding } from './encoded.js';
import type { KmipProcessor, RequestContext } from './types.js';
import { type ObjectStore, StoreError } from '../store/types.js';
import type { Keyring } from '../keys/types.js';

export interface ProcessorOptions {
  operations: OperationRegistry;
  server: ServerDescription;
  /** The object store and keyring the handlers use; without them object operations fail (General Failure). */
  store?: ObjectStore;
  keyring?: Keyring;
  clock?: Clock;
  /** Batch items allowed in one request. */
  maxBatchItems?: number;
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
    return this.messageFailure({}, 'InvalidMessage', `the message could not be decoded: ${error.message}`, scv);
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
      return this.messageFailure(e.partial, e.reason, e.message, scv);
    }
    const version = negotiate(header.protocolVersion);
    const echo: { clientCorrelationValue?: string; serverCorrelationValue: string } = { serverCorrelationValue: scv };
    if (header.clientCorrelationValue !== undefined) echo.clientCorrelationValue = header.clientCorrelationValue;
    if (version === undefined) {
      const requested = versionString(header.protocolVersion);
      const message = `protocol version ${requested} is not supported; this server speaks ${SUPPORTED_VERSIONS.map(versionString).join(', ')}`;
      ctx.log.info({ scv, version: requested, status: 'OperationFailed', reason: 'UnsupportedProtocolVersion' }, 'request refused');
      return this.messageFailure({ ...echo, protocolVersion: header.protocolVersion }, 'UnsupportedProtocolVersion', message, scv);
    }
    if (rawItems.length > this.maxBatchItems) {
      const message = `a request may hold at most ${this.maxBatchItems} batch items, this one has ${rawItems.length}`;
      return this.messageFailure({ ...echo, protocolVersion: version }, 'ServerLimitExceeded', message, scv);
    }
    if (header.asynchronousMandatory) {
      return this.messageFailure({ ...echo, protocolVersion: version }, 'FeatureNotSupported', 'asynchronous processing is not supported', scv);
    }
    // Each item commits on its own, so a batch that changes objects cannot be undone as a whole
    // yet: refuse Undo for it up front rather than claim an undo that did not happen (Query
    // reports Batch Undo Capability false).
    if (header.batchErrorContinuationOption === 'Undo' && rawItems.length > 1 && rawItems.some((raw) => this.mutates(raw, version))) {
      const message = 'Batch Error Continuation Option Undo is not supported for batches that change objects; use Stop or Continue';
      return this.messageFailure({ ...echo, protocolVersion: version }, 'FeatureNotSupported', message, scv);
    }

    const octx: OperationContext = {
      version,
      identity: ctx.identity,
      log: ctx.log,
      signal: ctx.signal,
      clock: this.clock,
      server: this.options.server,
      operations: this.options.operations,
      store: this.options.store ?? noStore,
      keyring: this.options.keyring ?? noKeyring,
      idPlaceholder: undefined,
    };
    const results: ResponseBatchItem[] = [];
    for (const raw of rawItems) {
      const result = await this.runItem(raw, octx, ctx);
      results.push(result);
      if (result.resultStatus !== 'OperationFailed') continue;
      if (header.batchErrorContinuationOption === 'Continue') continue;
      if (header.batchErrorContinuationOption === 'Undo') {
        // KMIP 2.1 Table 434: every earlier item is undone and answered Operation Undone. Only
        // batches of read-only operations get here (see above), so there is nothing to roll back.
        for (const earlier of results.slice(0, -1)) markUndone(earlier);
      }
      break; // Stop and Undo: later items are not processed and not answered.
    }

    const timeStamp = this.clock.now();
    const answer = (items: ResponseBatchItem[]): Item => writeResponse({ protocolVersion: version, timeStamp, ...echo }, items);
    let response = answer(results);
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
      response = answer(results);
      bytes = encode(response);
    }
    if (header.maximumResponseSize !== undefined && bytes.length > header.maximumResponseSize) {
      const limit = header.maximumResponseSize;
      const tooLarge = results.map((r) => failure(r, 'ResponseTooLarge', `the response exceeds the Maximum Response Size of ${limit} bytes`, version));
      response = answer(tooLarge);
      bytes = encode(response);
      results.splice(0, results.length, ...tooLarge);
    }
    rememberEncoding(response, bytes);
    this.logRequest(ctx, header, version, scv, results, performance.now() - started);
    return response;
  }

  private async runItem(raw: Item, octx: OperationContext, ctx: RequestContext): Promise<ResponseBatchItem> {
    let operation: number | undefined;
    let uniqueBatchItemId: Uint8Array | undefined;
    const base = (): ResponseBatchItem => ({
      resultStatus: 'Success',
      ...(operation !== undefined ? { operation } : {}),
      ...(uniqueBatchItemId !== undefined ? { uniqueBatchItemId } : {}),
    });
    try {
      operation = peekOperation(raw);
      const item = parseBatchItem(raw);
      uniqueBatchItemId = item.uniqueBatchItemId;
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
      return { ...base(), payload };
    } catch (err) {
      if (err instanceof KmipError) return failure(base(), err.reason, err.message, octx.version);
      const incident = randomUUID();
      ctx.log.error({ incident, err }, 'unexpected error while processing a batch item');
      return failure(base(), 'GeneralFailure', `internal error; incident ${incident}`, octx.version);
    }
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

  private logRequest(ctx: RequestContext, header: RequestHeader, version: ProtocolVersion, scv: string, results: ResponseBatchItem[], ms: number): void {
    ctx.log.info(
      {
        scv,
        ...(header.clientCorrelationValue !== undefined ? { ccv: header.clientCorrelationValue } : {}),
        version: versionString(version),
        items: results.map((r) => ({
          op: r.operation === undefined ? undefined : (operationNames?.byValue.get(r.operation) ?? r.operation),
          status: r.resultStatus,
          ...(r.resultReason !== undefined ? { reason: resultReasons?.byValue.get(r.resultReason) ?? r.resultReason } : {}),
          ...(r.payload ? uidsOf(r.payload) : {}),
        })),
        ms: Math.round(ms * 1000) / 1000,
      },
      'request',
    );
  }
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
  return { ...rest, resultStatus: 'OperationFailed', resultReason: Enum.ResultReason[reasonIn(reason, version)], resultMessage: message };
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

function markUndone(item: ResponseBatchItem): void {
  if (item.resultStatus !== 'Success') return;
  item.resultStatus = 'OperationUndone';
  delete item.payload;
}

function uidsOf(payload: Item[]): { uids?: string[] } {
  const uids = payload.filter((it) => it.tag === Tag.UniqueIdentifier && it.type === 'TextString').map((it) => it.value as string);
  return uids.length > 0 ? { uids } : {};
}

/**
 * Request and response messages (KMIP 2.1 §8, §9): item tree ⇄ typed values. Payloads stay item
 * trees here; each operation parses its own. Field order in responses follows the spec's tables.
 */
import { type Item, type StructureItem, structure } from '../ttlv/index.js';
import { KmipError, type ResultReasonName } from './errors.js';
import { Fields, expectType } from './fields.js';
import { Enum, Tag } from './registry.generated.js';
import type { ProtocolVersion } from './version.js';

export type BatchErrorContinuation = 'Continue' | 'Stop' | 'Undo';

export interface RequestHeader {
  protocolVersion: ProtocolVersion;
  maximumResponseSize?: number;
  clientCorrelationValue?: string;
  serverCorrelationValue?: string;
  /** 1.x sends a Boolean, 2.x an Asynchronous Indicator enumeration; true = Mandatory. */
  asynchronousMandatory: boolean;
  batchErrorContinuationOption: BatchErrorContinuation;
  batchOrderOption: boolean;
  timeStamp?: number;
  batchCount: number;
}

export interface RequestBatchItem {
  /** The Operation enumeration value (possibly one kmipd does not know). */
  operation: number;
  uniqueBatchItemId?: Uint8Array;
  ephemeral: boolean;
  payload: Fields;
  /** Message Extensions marked critical that kmipd does not understand (it understands none). */
  criticalExtensions: string[];
}

export interface RequestMessage {
  header: RequestHeader;
  batchItems: RequestBatchItem[];
}

/** What could be read of a header that failed to parse, to echo in the error response. */
export interface PartialHeader {
  protocolVersion?: ProtocolVersion;
  clientCorrelationValue?: string;
  serverCorrelationValue?: string;
}

/** Thrown for a message that cannot be processed at all; carries what the header did say. */
export class MessageError extends KmipError {
  constructor(
    reason: ResultReasonName,
    message: string,
    readonly partial: PartialHeader,
  ) {
    super(reason, message);
  }
}

/** Reads the fields the error response echoes, never throwing. */
export function readPartialHeader(root: Item): PartialHeader {
  const partial: PartialHeader = {};
  try {
    const header = Fields.of(root, 'Request Message').struct(Tag.RequestHeader);
    if (!header) return partial;
    const client = header.get(Tag.ClientCorrelationValue, 'TextString');
    const server = header.get(Tag.ServerCorrelationValue, 'TextString');
    if (client !== undefined) partial.clientCorrelationValue = client;
    if (server !== undefined) partial.serverCorrelationValue = server;
    const version = header.struct(Tag.ProtocolVersion);
    if (version) partial.protocolVersion = readVersion(version);
  } catch {
    // Whatever did not parse is simply not echoed.
  }
  return partial;
}

export function readVersion(fields: Fields): ProtocolVersion {
  return {
    major: fields.need(Tag.ProtocolVersionMajor, 'Integer'),
    minor: fields.need(Tag.ProtocolVersionMinor, 'Integer'),
  };
}

export function writeVersion(v: ProtocolVersion, tag: number = Tag.ProtocolVersion): StructureItem {
  return structure(tag, [
    { tag: Tag.ProtocolVersionMajor, type: 'Integer', value: v.major },
    { tag: Tag.ProtocolVersionMinor, type: 'Integer', value: v.minor },
  ]);
}

/** Item tree → RequestMessage. Header problems throw MessageError; batch item problems are per item. */
export function parseRequestHeader(root: Item): { header: RequestHeader; items: Item[] } {
  const fail = (reason: ResultReasonName, message: string): never => {
    throw new MessageError(reason, message, readPartialHeader(root));
  };
  if (root.tag !== Tag.RequestMessage || root.type !== 'Structure') fail('InvalidMessage', 'the message is not a Request Message structure');
  try {
    const message = new Fields(root as StructureItem);
    const h = message.needStruct(Tag.RequestHeader);
    const header: RequestHeader = {
      protocolVersion: readVersion(h.needStruct(Tag.ProtocolVersion)),
      asynchronousMandatory: readAsynchronous(h),
      batchErrorContinuationOption: readContinuation(h),
      batchOrderOption: h.get(Tag.BatchOrderOption, 'Boolean') ?? true,
      batchCount: h.need(Tag.BatchCount, 'Integer'),
    };
    const maximumResponseSize = h.get(Tag.MaximumResponseSize, 'Integer');
    const client = h.get(Tag.ClientCorrelationValue, 'TextString');
    const server = h.get(Tag.ServerCorrelationValue, 'TextString');
    const timeStamp = h.get(Tag.TimeStamp, 'DateTime');
    if (maximumResponseSize !== undefined) header.maximumResponseSize = maximumResponseSize;
    if (client !== undefined) header.clientCorrelationValue = client;
    if (server !== undefined) header.serverCorrelationValue = server;
    if (timeStamp !== undefined) header.timeStamp = timeStamp;
    const items = message.all(Tag.BatchItem);
    if (items.length !== header.batchCount) {
      fail('InvalidMessage', `Batch Count says ${header.batchCount} but the message holds ${items.length} batch items`);
    }
    if (items.length === 0) fail('InvalidMessage', 'a request needs at least one batch item');
    return { header, items };
  } catch (err) {
    if (err instanceof MessageError) throw err;
    if (err instanceof KmipError) return fail(err.reason, err.message);
    throw err;
  }
}

function readAsynchronous(h: Fields): boolean {
  const it = h.optional(Tag.AsynchronousIndicator);
  if (it === undefined) return false;
  if (it.type === 'Boolean') return it.value;
  return expectType(it, 'Enumeration').value === Enum.AsynchronousIndicator.Mandatory;
}

function readContinuation(h: Fields): BatchErrorContinuation {
  const value = h.get(Tag.BatchErrorContinuationOption, 'Enumeration');
  switch (value) {
    case undefined:
    case Enum.BatchErrorContinuationOption.Stop:
      return 'Stop';
    case Enum.BatchErrorContinuationOption.Continue:
      return 'Continue';
    case Enum.BatchErrorContinuationOption.Undo:
      return 'Undo';
    default:
      throw new KmipError('InvalidField', `unknown Batch Error Continuation Option ${value}`);
  }
}

/** One batch item; throws KmipError (Invalid Message) when its structure is malformed. */
export function parseBatchItem(item: Item): RequestBatchItem {
  const fields = Fields.of(item, 'Batch Item');
  const parsed: RequestBatchItem = {
    operation: fields.need(Tag.Operation, 'Enumeration'),
    ephemeral: fields.get(Tag.Ephemeral, 'Boolean') ?? false,
    payload: fields.struct(Tag.RequestPayload) ?? new Fields(structure(Tag.RequestPayload, [])),
    criticalExtensions: [],
  };
  const id = fields.get(Tag.UniqueBatchItemID, 'ByteString');
  if (id !== undefined) parsed.uniqueBatchItemId = id;
  for (const ext of fields.all(Tag.MessageExtension)) {
    const e = Fields.of(ext, 'Message Extension');
    if (e.get(Tag.CriticalityIndicator, 'Boolean') === true) {
      parsed.criticalExtensions.push(e.get(Tag.VendorIdentification, 'TextString') ?? '(no vendor)');
    }
  }
  if (!fields.has(Tag.RequestPayload)) throw new KmipError('InvalidMessage', 'Batch Item is missing Request Payload');
  return parsed;
}

export type ResultStatusName = keyof typeof Enum.ResultStatus;

export interface ResponseBatchItem {
  operation?: number;
  uniqueBatchItemId?: Uint8Array;
  resultStatus: ResultStatusName;
  resultReason?: number;
  resultMessage?: string;
  payload?: Item[];
}

export interface ResponseHeader {
  protocolVersion: ProtocolVersion;
  timeStamp: number;
  clientCorrelationValue?: string;
  serverCorrelationValue?: string;
}

/** ResponseMessage → item tree, fields in the order of KMIP 2.1 Tables 398 and 399. */
export function writeResponse(header: ResponseHeader, items: ResponseBatchItem[]): StructureItem {
  const h: Item[] = [writeVersion(header.protocolVersion), { tag: Tag.TimeStamp, type: 'DateTime', value: header.timeStamp }];
  // Correlation values exist from KMIP 1.4 on. The server's is a SHOULD (1.4 §6.19); it is sent
  // in 2.1, or when the client sent one of its own: PyKMIP 0.10's 1.4 and 2.0 clients fail on any
  // header field between Time Stamp and Batch Count.
  if (header.protocolVersion.major >= 2 || header.protocolVersion.minor >= 4) {
    const ccv = header.clientCorrelationValue;
    const v21 = header.protocolVersion.major > 2 || (header.protocolVersion.major === 2 && header.protocolVersion.minor >= 1);
    if (ccv !== undefined) h.push({ tag: Tag.ClientCorrelationValue, type: 'TextString', value: ccv });
    if (header.serverCorrelationValue !== undefined && (v21 || ccv !== undefined)) {
      h.push({ tag: Tag.ServerCorrelationValue, type: 'TextString', value: header.serverCorrelationValue });
    }
  }
  h.push({ tag: Tag.BatchCount, type: 'Integer', value: items.length });
  return structure(Tag.ResponseMessage, [structure(Tag.ResponseHeader, h), ...items.map(writeBatchItem)]);
}

function writeBatchItem(b: ResponseBatchItem): StructureItem {
  const out: Item[] = [];
  if (b.operation !== undefined) out.push({ tag: Tag.Operation, type: 'Enumeration', value: b.operation });
  if (b.uniqueBatchItemId !== undefined) out.push({ tag: Tag.UniqueBatchItemID, type: 'ByteString', value: b.uniqueBatchItemId });
  out.push({ tag: Tag.ResultStatus, type: 'Enumeration', value: Enum.ResultStatus[b.resultStatus] });
  if (b.resultReason !== undefined) out.push({ tag: Tag.ResultReason, type: 'Enumeration', value: b.resultReason });
  if (b.resultMessage !== undefined) out.push({ tag: Tag.ResultMessage, type: 'TextString', value: b.resultMessage });
  if (b.payload !== undefined) out.push(structure(Tag.ResponsePayload, b.payload));
  return structure(Tag.BatchItem, out);
}

/** A response as a client reads it. */
export interface ParsedResponse {
  protocolVersion: ProtocolVersion;
  timeStamp: number;
  clientCorrelationValue?: string;
  serverCorrelationValue?: string;
  items: ParsedResponseItem[];
}

export interface ParsedResponseItem {
  operation?: number;
  uniqueBatchItemId?: Uint8Array;
  resultStatus: number;
  resultReason?: number;
  resultMessage?: string;
  payload?: Fields;
}

/** Item tree → ParsedResponse (the client side of writeResponse). Throws KmipError on a malformed response. */
export function parseResponse(root: Item): ParsedResponse {
  if (root.tag !== Tag.ResponseMessage) throw new KmipError('InvalidMessage', 'the message is not a Response Message');
  const message = Fields.of(root, 'Response Message');
  const h = message.needStruct(Tag.ResponseHeader);
  const out: ParsedResponse = {
    protocolVersion: readVersion(h.needStruct(Tag.ProtocolVersion)),
    timeStamp: h.need(Tag.TimeStamp, 'DateTime'),
    items: [],
  };
  const ccv = h.get(Tag.ClientCorrelationValue, 'TextString');
  const scv = h.get(Tag.ServerCorrelationValue, 'TextString');
  if (ccv !== undefined) out.clientCorrelationValue = ccv;
  if (scv !== undefined) out.serverCorrelationValue = scv;
  for (const it of message.all(Tag.BatchItem)) {
    const f = Fields.of(it, 'Batch Item');
    const item: ParsedResponseItem = { resultStatus: f.need(Tag.ResultStatus, 'Enumeration') };
    const op = f.get(Tag.Operation, 'Enumeration');
    const id = f.get(Tag.UniqueBatchItemID, 'ByteString');
    const reason = f.get(Tag.ResultReason, 'Enumeration');
    const msg = f.get(Tag.ResultMessage, 'TextString');
    const payload = f.struct(Tag.ResponsePayload);
    if (op !== undefined) item.operation = op;
    if (id !== undefined) item.uniqueBatchItemId = id;
    if (reason !== undefined) item.resultReason = reason;
    if (msg !== undefined) item.resultMessage = msg;
    if (payload) item.payload = payload;
    out.items.push(item);
  }
  const count = h.need(Tag.BatchCount, 'Integer');
  if (count !== out.items.length) throw new KmipError('InvalidMessage', `Batch Count says ${count} but the response holds ${out.items.length} items`);
  return out;
}

/** A request message as a client builds it. */
export interface OutgoingRequest {
  protocolVersion: ProtocolVersion;
  items: { operation: number; payload: Item[]; uniqueBatchItemId?: Uint8Array }[];
  maximumResponseSize?: number;
  clientCorrelationValue?: string;
  batchErrorContinuationOption?: BatchErrorContinuation;
}

export function writeRequest(req: OutgoingRequest): StructureItem {
  const h: Item[] = [writeVersion(req.protocolVersion)];
  if (req.maximumResponseSize !== undefined) h.push({ tag: Tag.MaximumResponseSize, type: 'Integer', value: req.maximumResponseSize });
  if (req.clientCorrelationValue !== undefined) h.push({ tag: Tag.ClientCorrelationValue, type: 'TextString', value: req.clientCorrelationValue });
  if (req.batchErrorContinuationOption !== undefined) {
    h.push({ tag: Tag.BatchErrorContinuationOption, type: 'Enumeration', value: Enum.BatchErrorContinuationOption[req.batchErrorContinuationOption] });
  }
  h.push({ tag: Tag.BatchCount, type: 'Integer', value: req.items.length });
  return structure(Tag.RequestMessage, [
    structure(Tag.RequestHeader, h),
    ...req.items.map((it) =>
      structure(Tag.BatchItem, [
        { tag: Tag.Operation, type: 'Enumeration', value: it.operation },
        ...(it.uniqueBatchItemId ? [{ tag: Tag.UniqueBatchItemID, type: 'ByteString' as const, value: it.uniqueBatchItemId }] : []),
        structure(Tag.RequestPayload, it.payload),
      ]),
    ),
  ]);
}

/**
 * One KMIP-over-TLS connection: bytes → frames → decoded requests → processor → responses
 * written back in request order.
 *
 * Requests on a connection run concurrently; responses wait in a queue and leave in the order
 * their requests arrived (clients pipeline and match responses by position). Reading pauses while
 * too many responses are pending or the socket's write buffer is full. A frame that decodes badly
 * is answered and the connection stays usable; a stream whose framing is lost (bad header,
 * oversized length) is answered once and then ended.
 *
 * After a successful Set Endpoint Role with the Client role (KMIP 2.1 §6.1.54) the connection also
 * carries kmipd's own requests, Notify and Put (push.ts), and reads the client's Response Messages
 * to them: matched by the Client Correlation Value kmipd set, logged, and never answered. Requests
 * from the client are still answered in that role.
 */
import { randomUUID } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { encodeMessage } from './encoded.js';
import { FrameError, FrameReader, type Item, TtlvError, decode, encode } from '../ttlv/index.js';
import type { TransportLimits } from './tls-options.js';
import type { ClientIdentity, KmipProcessor, RequestContext } from './types.js';
import { Enum, Tag } from '../kmip/registry.generated.js';
import { parseResponse, writeRequest } from '../kmip/message.js';
import type { ProtocolVersion } from '../kmip/version.js';
import { type PushEndpoint, type PushHub, acceptedRole, pushHubOf } from './push.js';

/** Responses allowed to wait for their turn before the connection stops reading. */
export const MAX_PENDING_RESPONSES = 16;
/** Pushed requests not answered yet; more are dropped (logged) until the client answers. */
export const MAX_OUTSTANDING_PUSHES = 64;
/** After our end of the stream is closed, how long the peer gets to close its end. */
const END_GRACE_MS = 2_000;
const QUIET_ERRORS = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_DESTROYED']);
/** The reason requests of a closed connection are aborted with: one instance (a DOMException captures a stack when made). */
const CONNECTION_CLOSED = new DOMException('the connection closed', 'AbortError');

export interface ConnectionOptions {
  processor: KmipProcessor;
  limits: TransportLimits;
  identity: ClientIdentity;
  peer: string;
  /** Child logger bound to this connection. */
  log: Logger;
}

/** A response slot: filled when its request is answered; `null` bytes after an internal failure. */
interface Slot {
  done: boolean;
  bytes: Buffer | null;
  /** A Set Endpoint Role this response accepts: the role is taken once the response is written. */
  role?: { role: number; version: ProtocolVersion };
}

/** A Notify or Put sent to the client and not answered yet. */
interface OutstandingPush {
  readonly operation: 'Notify' | 'Put';
  readonly uid: string;
  readonly sent: number;
}

/**
 * Request deadlines and idle connections are checked by one shared sweep (every SWEEP_MS) instead
 * of timers set and cleared per request and per chunk, which cost more than a small request
 * itself. The sweep also keeps a coarse clock (`now`, `tick`) so the per-request path never reads
 * the system clock.
 */
const SWEEP_MS = 100;

/**
 * The requests a connection received within one sweep tick share one AbortController and one
 * RequestContext: an AbortController per request costs about as much as answering a Discover
 * Versions. Their deadline is the tick's start plus the request timeout plus one tick, so a
 * timeout never fires early and fires at most two ticks late.
 */
interface Cohort {
  readonly tick: number;
  readonly deadline: number;
  readonly controller: AbortController;
  readonly context: RequestContext;
  /** Requests of the cohort not answered yet. */
  pending: number;
}

const sweeper = {
  connections: new Set<KmipConnection>(),
  timer: undefined as NodeJS.Timeout | undefined,
  now: Date.now(),
  tick: 0,
  add(connection: KmipConnection): void {
    this.connections.add(connection);
    if (this.timer) return;
    this.now = Date.now();
    this.timer = setInterval(() => {
      this.now = Date.now();
      this.tick++;
      for (const c of this.connections) c.sweep(this.now);
    }, SWEEP_MS);
    this.timer.unref();
  },
  delete(connection: KmipConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  },
};

/**
 * Responses are written at the end of the event-loop iteration that produced them, all together,
 * not each as soon as it is ready. A write to a client that sleeps costs a wake-up of its thread
 * (an inter-processor interrupt, expensive in a VM); written back to back, the responses of one
 * iteration (often one per connection) wake a client once instead of once each. The delay is
 * the rest of that iteration, microseconds.
 */
const writer = {
  dirty: new Set<KmipConnection>(),
  scheduled: false,
  schedule(connection: KmipConnection): void {
    this.dirty.add(connection);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const connections = [...this.dirty];
      this.dirty.clear();
      for (const c of connections) c.flush();
    });
  },
};

export class KmipConnection implements PushEndpoint {
  /** Settles when the socket has closed. */
  readonly closed: Promise<void>;
  private readonly reader: FrameReader;
  private readonly queue: Slot[] = [];
  /** Cohorts with requests still being processed, and the one new requests join. */
  private readonly cohorts = new Set<Cohort>();
  private cohort: Cohort | undefined;
  /** Aborted when the socket closes; the signal of contexts that are not a request. */
  /** Aborted when the connection closes; made the first time something needs it (rarely: see onData). */
  private lifetime: AbortController | undefined;
  /** open: reading requests · draining: answering what is queued, then ending · closed. */
  private state: 'open' | 'draining' | 'closed' = 'open';
  private writeBlocked = false;
  /** When the client last sent bytes or was last answered. */
  private lastActivity = sweeper.now;
  private endTimer: NodeJS.Timeout | undefined;
  /** Where Notify/Put come from; absent when the server pushes nothing (a bare Processor in tests). */
  private readonly hub: PushHub | undefined;
  /** The protocol version pushes are sent in, while the client has made kmipd take the Client role. */
  private pushVersion: ProtocolVersion | undefined;
  /** Pushes awaiting the client's response, by the Client Correlation Value they carry. */
  private readonly outstanding = new Map<string, OutstandingPush>();
  private pushCount = 0;

  constructor(
    private readonly socket: TLSSocket,
    private readonly options: ConnectionOptions,
  ) {
    this.reader = new FrameReader({ maxMessageSize: options.limits.maxMessageSize });
    this.hub = pushHubOf(options.processor);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onPeerEnd());
    socket.on('drain', () => {
      this.writeBlocked = false;
      this.updateFlow();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => this.onError(err));
    socket.on('close', () => this.onClose());
    sweeper.add(this);
  }

  /** Graceful shutdown: read no more requests, answer the ones in flight, then end. */
  shutdown(): void {
    this.drain();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private get log(): Logger {
    return this.options.log;
  }

  get owner(): string {
    return this.options.identity.name;
  }

  /** Sends a Notify or Put request (push.ts); false when it was dropped. */
  deliver(operation: 'Notify' | 'Put', payload: Item[], uid: string): boolean {
    if (this.state !== 'open' || this.pushVersion === undefined) return false;
    if (this.outstanding.size >= MAX_OUTSTANDING_PUSHES) {
      this.log.warn({ op: operation, uid, outstanding: this.outstanding.size }, 'push dropped: the client has not answered the earlier ones');
      return false;
    }
    const ccv = `kmipd-push-${++this.pushCount}`;
    let bytes: Buffer;
    try {
      bytes = encode(writeRequest({ protocolVersion: this.pushVersion, clientCorrelationValue: ccv, items: [{ operation: Enum.Operation[operation], payload }] }));
    } catch (err) {
      this.log.error({ incident: randomUUID(), op: operation, uid, err }, 'a push could not be encoded; dropped');
      return false;
    }
    this.outstanding.set(ccv, { operation, uid, sent: sweeper.now });
    if (!this.socket.write(bytes)) {
      this.writeBlocked = true;
      this.updateFlow();
    }
    this.log.debug({ op: operation, uid, ccv }, 'pushed');
    return true;
  }

  private onData(chunk: Buffer): void {
    // While draining, input is read and dropped: leaving it unread would make our close an RST,
    // which can destroy the answer we just sent before the client reads it.
    if (this.state !== 'open') return;
    try {
      for (const frame of this.reader.push(chunk)) this.request(frame);
    } catch (err) {
      if (err instanceof FrameError) for (const frame of err.completed) this.request(frame);
      if (err instanceof TtlvError) {
        // The length or type in a header is wrong: where the next message starts is unknowable.
        this.log.warn({ err: { code: err.code, message: err.message } }, 'unframeable input; answering and closing');
        this.answerUndecodable(err);
        this.drain();
      } else {
        this.log.error({ incident: randomUUID(), err }, 'unexpected error reading a message; closing the connection');
        this.socket.destroy();
      }
      return;
    }
    this.touch();
    this.updateFlow();
  }

  private request(frame: Buffer): void {
    let message: Item;
    try {
      message = decode(frame, { maxDepth: this.options.limits.maxDepth });
    } catch (err) {
      if (!(err instanceof TtlvError)) throw err;
      // Framing is intact (the header was valid), so the next message can still be read.
      this.answerUndecodable(err);
      return;
    }
    if (message.tag === Tag.ResponseMessage) {
      this.onPushResponse(message);
      return;
    }
    const slot: Slot = { done: false, bytes: null };
    this.queue.push(slot);
    const cohort = this.currentCohort();
    cohort.pending++;
    void this.answer(message, slot, cohort);
  }

  private currentCohort(): Cohort {
    if (this.cohort?.tick === sweeper.tick) return this.cohort;
    const controller = new AbortController();
    const cohort: Cohort = {
      tick: sweeper.tick,
      deadline: sweeper.now + this.options.limits.requestTimeoutMs + SWEEP_MS,
      controller,
      context: this.context(controller.signal),
      pending: 0,
    };
    this.cohort = cohort;
    this.cohorts.add(cohort);
    return cohort;
  }

  private async answer(message: Item, slot: Slot, cohort: Cohort): Promise<void> {
    try {
      const response = await this.options.processor.handle(message, cohort.context);
      slot.bytes = encodeMessage(response);
      if (this.hub) {
        const role = acceptedRole(response);
        if (role) slot.role = role;
      }
    } catch (err) {
      this.log.error({ incident: randomUUID(), err }, 'the processor failed to answer; closing the connection');
    } finally {
      if (--cohort.pending === 0 && cohort !== this.cohort) this.cohorts.delete(cohort);
      slot.done = true;
      writer.schedule(this);
    }
  }

  /** Called by the shared sweep: aborts requests past their deadline, closes an idle connection. */
  sweep(now: number): void {
    for (const cohort of this.cohorts) {
      if (cohort.pending === 0 && cohort !== this.cohort) this.cohorts.delete(cohort);
      else if (cohort.deadline <= now && !cohort.controller.signal.aborted) {
        cohort.controller.abort(new DOMException('the request timed out', 'TimeoutError'));
      }
    }
    for (const [ccv, push] of this.outstanding) {
      if (now - push.sent < this.options.limits.requestTimeoutMs) break; // in sending order
      this.outstanding.delete(ccv);
      this.log.warn({ op: push.operation, uid: push.uid, ccv }, 'the client did not answer a push in time');
    }
    // Idle: open, nothing queued or in flight, and no byte from the client for idleTimeoutMs
    // (a client stalled in the middle of a message is idle too). A client that made kmipd take the
    // Client role waits for pushes by design: TCP keep-alive watches it instead.
    if (this.state === 'open' && this.pushVersion === undefined && this.queue.length === 0 && now - this.lastActivity >= this.options.limits.idleTimeoutMs) this.onIdle();
  }

  private answerUndecodable(error: TtlvError): void {
    let bytes: Buffer | null = null;
    try {
      bytes = encode(this.options.processor.undecodable(error, this.context((this.lifetime ??= new AbortController()).signal)));
    } catch (err) {
      this.log.error({ incident: randomUUID(), err }, 'could not build the response to an undecodable message');
    }
    this.queue.push({ done: true, bytes });
    this.flush();
  }

  private context(signal: AbortSignal): RequestContext {
    const { identity, peer, log } = this.options;
    return { identity, peer, transport: 'tls', encoding: 'binary', log, signal };
  }

  /** The client's Response Message to a push: matched, logged, never answered. */
  private onPushResponse(message: Item): void {
    this.touch();
    let parsed;
    try {
      parsed = parseResponse(message);
    } catch (err) {
      this.log.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'unreadable response to a push; ignored');
      return;
    }
    const ccv = parsed.clientCorrelationValue;
    // A client that does not echo the correlation value answers in order: the oldest push.
    const key = ccv ?? this.outstanding.keys().next().value;
    const push = key === undefined ? undefined : this.outstanding.get(key);
    if (key === undefined || push === undefined) {
      this.log.info({ ccv }, 'a response that answers no outstanding push; ignored');
      return;
    }
    this.outstanding.delete(key);
    const item = parsed.items[0];
    if (item?.resultStatus === Enum.ResultStatus.Success) this.log.debug({ op: push.operation, uid: push.uid, ccv: key }, 'push acknowledged');
    else this.log.info({ op: push.operation, uid: push.uid, ccv: key, status: item?.resultStatus, reason: item?.resultReason, msg: item?.resultMessage }, 'the client refused a push');
  }

  /** KMIP 2.1 §6.1.54: Client → kmipd sends Notify/Put on this connection; Server → it stops. */
  private takeRole({ role, version }: { role: number; version: ProtocolVersion }): void {
    if (!this.hub) return;
    if (role === Enum.EndpointRole.Client) {
      this.pushVersion = version;
      this.hub.subscribe(this);
      this.socket.setKeepAlive(true, 30_000);
      this.log.info({ version: `${version.major}.${version.minor}` }, 'endpoint role Client: Notify and Put are pushed on this connection');
    } else {
      this.pushVersion = undefined;
      this.hub.unsubscribe(this);
      this.log.info('endpoint role Server: pushes stop');
    }
  }

  /** Writes every answered response at the head of the queue, keeping request order. */
  flush(): void {
    while (this.queue[0]?.done) {
      const { bytes, role } = this.queue.shift()!;
      if (this.state === 'closed' || this.socket.destroyed) continue;
      if (bytes === null) {
        // Without this response the ones behind it would be matched to the wrong requests.
        this.socket.destroy();
        return;
      }
      if (!this.socket.write(bytes)) this.writeBlocked = true;
      if (role) this.takeRole(role);
    }
    if (this.queue.length === 0) {
      if (this.state === 'draining') this.end();
      else this.touch();
    }
    this.updateFlow();
  }

  private updateFlow(): void {
    if (this.state === 'closed') return;
    const hold = this.state === 'open' && (this.queue.length >= MAX_PENDING_RESPONSES || this.writeBlocked);
    if (hold && !this.socket.isPaused()) {
      this.log.debug({ pending: this.queue.length, writeBlocked: this.writeBlocked }, 'reading paused');
      this.socket.pause();
    } else if (!hold && this.socket.isPaused()) this.socket.resume();
  }

  private drain(): void {
    if (this.state !== 'open') return;
    this.state = 'draining';
    this.updateFlow();
    if (this.queue.length === 0) this.end();
  }

  /** Closes our side once everything is written; a peer that never closes its side is cut off. */
  private end(): void {
    if (this.endTimer) return;
    this.socket.end();
    this.endTimer = setTimeout(() => this.socket.destroy(), END_GRACE_MS);
    this.endTimer.unref();
  }

  private onPeerEnd(): void {
    if (this.reader.buffered > 0) {
      this.log.info({ bytes: this.reader.buffered }, 'peer closed in the middle of a message; the partial message is dropped');
    }
    this.drain();
  }

  /** The idle clock runs only while no response is pending: a slow request is not idleness. */
  private touch(): void {
    this.lastActivity = sweeper.now;
  }


  private onIdle(): void {
    const partial = this.reader.buffered;
    if (partial > 0) this.log.info({ bytes: partial }, 'client stalled in the middle of a message; closing');
    else this.log.debug('idle timeout; closing');
    this.socket.destroy();
  }

  private onError(err: NodeJS.ErrnoException): void {
    if (err.code !== undefined && QUIET_ERRORS.has(err.code)) this.log.debug({ code: err.code }, 'connection reset by peer');
    else this.log.warn({ err }, 'socket error');
  }

  private onClose(): void {
    this.state = 'closed';
    sweeper.delete(this);
    this.hub?.unsubscribe(this);
    this.outstanding.clear();
    if (this.endTimer) clearTimeout(this.endTimer);
    this.lifetime?.abort(CONNECTION_CLOSED);
    for (const { controller } of this.cohorts) controller.abort(CONNECTION_CLOSED);
    this.queue.length = 0;
    this.log.debug('connection closed');
  }
}

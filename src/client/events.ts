// The fault-event service from TypeScript (CIFTS FTB style): connect as a named client in an
// event space, declare and publish events, subscribe with FTB subscription strings and read
// the events by callback, `for await` or polling a bounded queue. The requests and pushes are
// the wire format of src/services/events/protocol.ts, carried by a ServiceClient.
import * as os from 'node:os';
import { RingcastError } from '../errors';
import { MAX_HOST_NAME, type EventType, type Severity } from '../services/events/ftb';
import { isEventPush, type EventPayload, type EventPush, type EventRecord, type SubscriptionDepth, type SubscriptionInfo } from '../services/events/protocol';
import type { ServiceClient, ServiceReply } from './serviceClient';
import type { Session } from './session';

export type { EventPayload, EventRecord, EventType, Severity, SubscriptionDepth };

/** What the events client needs of a ServiceClient. */
export type EventTransport = Pick<ServiceClient, 'request' | 'onPush'>;

export type EventDeclarations = Readonly<Record<string, Severity>> | ReadonlyArray<{ readonly name: string; readonly severity: Severity }>;

export interface EventConnectOptions {
  /** 1..15 of letters, digits, `_`, `.`, `-`; one client of a name at a time in the whole ring. */
  readonly clientName: string;
  /** FTB event space `region.category.component` the client publishes in. */
  readonly space: string;
  readonly jobId?: string;
  /** Events to declare right away (name → severity, or a list). */
  readonly declare?: EventDeclarations;
  /** Per request, TRY_AGAIN retries included. Default: the ServiceClient's (10 s). */
  readonly timeoutMs?: number;
}

export interface PublishOptions {
  /** At most 368 bytes (a map: its JSON text). */
  readonly payload?: EventPayload;
  /** `response`: an answer to another event. Default `normal`. */
  readonly eventType?: EventType;
}

export interface SubscribeOptions {
  /**
   * Transaction depth: the subscribe returns once this many daemons hold the subscription
   * (`all`: every daemon of the configuration). Depth > 1 is sent SAFE. Default 1.
   */
  readonly depth?: SubscriptionDepth;
  /** Events go to this function instead of the queue (FTB's notify style). */
  readonly callback?: (event: EventRecord, subscription: Subscription) => void;
  /** Events the queue holds for poll()/for await; when full the oldest is dropped. Default 1024. */
  readonly queueSize?: number;
  /** Called on every event dropped from a full queue, with the running count. */
  readonly onOverflow?: (dropped: number, subscription: Subscription) => void;
}

export interface ResumeResult {
  /** The daemons still held the client (false: it had expired, and was made again). */
  readonly resumed: boolean;
  /** Events that matched while the client was detached, and were not delivered. */
  readonly missed: number;
}

const DEFAULT_QUEUE_SIZE = 1024;
/** Pushes that arrive before their subscribe's reply is processed wait here (at most this many). */
const MAX_EARLY_PUSHES = 1024;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** The client library's own errors (a closed client). */
export class EventClientError extends RingcastError {
  constructor(message: string) {
    super('EVENTS_CLOSED', message);
  }
}

/**
 * Hands each push to its subscription. One per transport, however many EventService objects
 * are made over it (`session.events` makes a new one each time): one push handler, one buffer.
 */
class PushRouter {
  private readonly routes = new Map<string, Subscription>();
  private early: EventPush[] = [];

  constructor(transport: EventTransport) {
    transport.onPush((body) => this.onPush(body));
  }

  route(subscription: Subscription): void {
    this.routes.set(subscription.handle, subscription);
    if (!this.early.some((p) => p.subscription === subscription.handle)) return;
    const mine = this.early.filter((p) => p.subscription === subscription.handle);
    this.early = this.early.filter((p) => p.subscription !== subscription.handle);
    for (const p of mine) subscription.deliver(p.event);
  }

  unroute(subscription: Subscription): void {
    if (this.routes.get(subscription.handle) === subscription) this.routes.delete(subscription.handle);
  }

  private onPush(body: ServiceReply): void {
    if (!isEventPush(body)) return;
    const push = body as unknown as EventPush;
    const target = this.routes.get(push.subscription);
    if (target) return target.deliver(push.event);
    // The subscribe's reply may still be on its way to the caller: keep the push a while.
    this.early.push(push);
    if (this.early.length > MAX_EARLY_PUSHES) this.early.shift();
  }
}

const routers = new WeakMap<EventTransport, PushRouter>();

/**
 * The events service over one session: `session.events`, or `new EventService(session.service('#ringcast-events'), session)`.
 */
export class EventService {
  /** @internal */
  readonly router: PushRouter;
  private sessionClosed = false;

  constructor(
    readonly transport: EventTransport,
    session: Pick<Session, 'closed'>,
  ) {
    let router = routers.get(transport);
    if (!router) routers.set(transport, (router = new PushRouter(transport)));
    this.router = router;
    void session.closed.then(() => {
      this.sessionClosed = true;
    });
  }

  /** Whether the session under this service has ended (a client on it needs resume() elsewhere). */
  get isClosed(): boolean {
    return this.sessionClosed;
  }

  /**
   * Connects a named client in an event space (and declares `declare`, if given).
   * @throws ServiceError FTB_ERR_EVENTSPACE_FORMAT, FTB_ERR_INVALID_VALUE (name, job id),
   *   FTB_ERR_DUP_CALL (the name is connected already), FTB_ERR_INVALID_FIELD (declarations);
   *   RingcastError SERVICE_TIMEOUT; SpreadError CONNECTION_CLOSED.
   */
  async connect(options: EventConnectOptions): Promise<EventClient> {
    const reply = await this.transport.request('connect', connectArgs(options, false), timeout(options.timeoutMs));
    const client = new EventClient(this, options, str(reply.client));
    if (options.declare) {
      try {
        await client.declare(options.declare);
      } catch (err) {
        // A client that cannot publish what it was asked to is no use: do not leave it connected.
        await client.disconnect().catch(() => undefined);
        throw err;
      }
    }
    return client;
  }
}

function timeout(timeoutMs: number | undefined): { timeoutMs?: number } {
  return timeoutMs === undefined ? {} : { timeoutMs };
}

function connectArgs(o: EventConnectOptions, resume: boolean): Record<string, unknown> {
  return {
    clientName: o.clientName,
    space: o.space,
    jobId: o.jobId ?? '',
    host: os.hostname().slice(0, MAX_HOST_NAME - 1),
    pid: process.pid,
    resume,
  };
}

const declarationList = (d: EventDeclarations): Array<{ name: string; severity: Severity }> =>
  Array.isArray(d) ? d.map((e) => ({ name: e.name, severity: e.severity })) : Object.entries(d).map(([name, severity]) => ({ name, severity }));

/** A connected events client (FTB_client_handle_t). */
export class EventClient {
  readonly clientName: string;
  readonly space: string;
  private clientHandle: string;
  private readonly declared = new Map<string, Severity>();
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  /** @internal use EventService.connect */
  constructor(
    private service: EventService,
    private readonly options: EventConnectOptions,
    handle: string,
  ) {
    this.clientName = options.clientName;
    this.space = options.space;
    this.clientHandle = handle;
  }

  /** The engine's handle of this client (changes when resume() had to make it again). */
  get handle(): string {
    return this.clientHandle;
  }

  /**
   * Declares publishable events. @returns how many the client has declared.
   * @throws ServiceError FTB_ERR_INVALID_FIELD (name or severity), FTB_ERR_INVALID_HANDLE.
   */
  async declare(events: EventDeclarations): Promise<number> {
    const list = declarationList(events);
    const reply = await this.request('declare', { events: list });
    for (const e of list) if (!this.declared.has(e.name.toUpperCase())) this.declared.set(e.name.toUpperCase(), e.severity);
    return num(reply.declared);
  }

  /**
   * Publishes a declared event. @returns its event handle.
   * @throws ServiceError FTB_ERR_INVALID_EVENT_NAME (not declared), FTB_ERR_INVALID_EVENT_TYPE,
   *   FTB_ERR_INVALID_VALUE (payload over 368 bytes), FTB_ERR_INVALID_HANDLE.
   */
  async publish(name: string, options: PublishOptions = {}): Promise<string> {
    const payload = options.payload instanceof Uint8Array && !Buffer.isBuffer(options.payload) ? Buffer.from(options.payload) : options.payload;
    const reply = await this.request('publish', {
      name,
      ...(payload === undefined ? {} : { payload }),
      ...(options.eventType === undefined ? {} : { eventType: options.eventType }),
    });
    return str(reply.event);
  }

  /**
   * Subscribes with an FTB subscription string; resolves once `depth` daemons hold it.
   * @throws ServiceError FTB_ERR_SUBSCRIPTION_STR, FTB_ERR_FILTER_ATTR, FTB_ERR_FILTER_VALUE,
   *   FTB_ERR_EVENTSPACE_FORMAT, FTB_FAILURE (depth over the number of daemons),
   *   FTB_ERR_INVALID_VALUE (depth), FTB_ERR_INVALID_HANDLE.
   */
  async subscribe(subscription: string, options: SubscribeOptions = {}): Promise<Subscription> {
    const queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    if (!Number.isInteger(queueSize) || queueSize < 1) throw new RangeError(`queueSize must be a whole number ≥ 1, not ${queueSize}`);
    const info = await this.requestSubscribe(subscription, options.depth);
    const sub = new Subscription(this, info, subscription, options.depth, queueSize, options);
    this.subscriptions.add(sub);
    this.service.router.route(sub);
    return sub;
  }

  /** Ends the client: its subscriptions end too (their iterators finish). */
  async disconnect(): Promise<void> {
    if (this.closed) return;
    try {
      await this.request('disconnect', {});
    } finally {
      this.closed = true;
      for (const s of [...this.subscriptions]) this.drop(s);
    }
  }

  /**
   * Reattaches the client, with its subscriptions, through `service` (another session's, after
   * the first daemon died) or the current one. Events published from now on are delivered;
   * subscriptions the daemons no longer held (retention passed) are made again.
   * @throws as connect; a subscription that cannot be made again ends with its error.
   */
  async resume(service: EventService = this.service): Promise<ResumeResult> {
    if (this.closed) throw new EventClientError(`events client ${this.clientName} is disconnected`);
    const reply = await service.transport.request('connect', connectArgs(this.options, true), timeout(this.options.timeoutMs));
    for (const s of this.subscriptions) this.service.router.unroute(s);
    this.service = service;
    this.clientHandle = str(reply.client);
    const resumed = reply.resumed === true;
    if (!resumed && this.declared.size > 0) {
      await this.request('declare', { events: [...this.declared].map(([name, severity]) => ({ name, severity })) });
    }
    const held = new Set(Array.isArray(reply.subscriptions) ? (reply.subscriptions as SubscriptionInfo[]).map((s) => s.subscription) : []);
    for (const s of [...this.subscriptions]) {
      if (held.has(s.handle)) {
        this.service.router.route(s);
        continue;
      }
      try {
        s.rebind(await this.requestSubscribe(s.text, s.requestedDepth));
        this.service.router.route(s);
      } catch (err) {
        this.drop(s, err);
      }
    }
    return { resumed, missed: num(reply.missed) };
  }

  /** @internal */
  async unsubscribe(s: Subscription): Promise<void> {
    if (!this.subscriptions.has(s)) return;
    try {
      await this.request('unsubscribe', { subscription: s.handle });
    } finally {
      this.drop(s);
    }
  }

  private drop(s: Subscription, error?: unknown): void {
    this.subscriptions.delete(s);
    this.service.router.unroute(s);
    s.end(error);
  }

  private async requestSubscribe(subscription: string, depth: SubscriptionDepth | undefined): Promise<SubscriptionInfo & { replicas: number }> {
    const safe = depth === 'all' || (typeof depth === 'number' && depth > 1);
    const reply = await this.request('subscribe', { subscription, ...(depth === undefined ? {} : { depth }) }, safe);
    return { subscription: str(reply.subscription), filter: str(reply.filter), depth: num(reply.depth), replicas: num(reply.replicas) };
  }

  private request(op: string, args: Record<string, unknown>, safe = false): Promise<ServiceReply> {
    if (this.closed) return Promise.reject(new EventClientError(`events client ${this.clientName} is disconnected`));
    return this.service.transport.request(op, { client: this.clientHandle, ...args }, { safe, ...timeout(this.options.timeoutMs) });
  }
}

/**
 * One subscription (FTB_subscribe_handle_t): an async iterator over its events and a bounded
 * queue to poll, or a callback. The iteration ends at unsubscribe() or the client's
 * disconnect(); it survives the loss of the session, so that resume() can carry it on.
 */
export class Subscription implements AsyncIterableIterator<EventRecord> {
  private handleValue: string;
  private filterValue: string;
  private depthValue: number;
  private replicasValue: number;
  private queue: EventRecord[] = [];
  private head = 0;
  private waiters: Array<{ resolve: (r: IteratorResult<EventRecord>) => void; reject: (e: unknown) => void }> = [];
  private droppedCount = 0;
  private ended = false;
  private endError: unknown;

  /** @internal use EventClient.subscribe */
  constructor(
    private readonly client: EventClient,
    info: SubscriptionInfo & { replicas: number },
    /** The subscription string as given. */
    readonly text: string,
    /** @internal the depth as asked for (`all` stays `all` on resume). */
    readonly requestedDepth: SubscriptionDepth | undefined,
    private readonly queueSize: number,
    private readonly options: SubscribeOptions,
  ) {
    this.handleValue = info.subscription;
    this.filterValue = info.filter;
    this.depthValue = info.depth;
    this.replicasValue = info.replicas;
  }

  get handle(): string {
    return this.handleValue;
  }
  /** The canonical subscription string the daemons hold. */
  get filter(): string {
    return this.filterValue;
  }
  /** The transaction depth granted (`all` resolved to the configuration size). */
  get depth(): number {
    return this.depthValue;
  }
  /** Daemons that held the subscription when subscribe() returned. */
  get replicas(): number {
    return this.replicasValue;
  }
  /** Events dropped because the queue was full (the oldest go first, as in FTB). */
  get dropped(): number {
    return this.droppedCount;
  }
  /** Events waiting in the queue. */
  get queued(): number {
    return this.queue.length - this.head;
  }
  get isEnded(): boolean {
    return this.ended;
  }

  /** The oldest queued event, or undefined when there is none (FTB_GOT_NO_EVENT). */
  poll(): EventRecord | undefined {
    if (this.queued === 0) return undefined;
    const event = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as EventRecord;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 256 && this.head * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return event;
  }

  next(): Promise<IteratorResult<EventRecord>> {
    const event = this.poll();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.ended) return this.finish();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** A `break` out of `for await`: this loop ends; the subscription and its queue stay. */
  return(): Promise<IteratorResult<EventRecord>> {
    this.settleWaiters();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Cancels the subscription at the daemons; the iteration ends after the queued events. */
  unsubscribe(): Promise<void> {
    return this.client.unsubscribe(this);
  }

  /** @internal an event pushed for this subscription. */
  deliver(event: EventRecord): void {
    if (this.ended) return;
    if (this.options.callback) {
      try {
        this.options.callback(event, this);
      } catch (err) {
        // The caller's exception must not break the session's reader: rethrow outside it.
        process.nextTick(() => {
          throw err;
        });
      }
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) return waiter.resolve({ value: event, done: false });
    if (this.queued >= this.queueSize) {
      this.poll();
      this.droppedCount++;
      this.options.onOverflow?.(this.droppedCount, this);
    }
    this.queue.push(event);
  }

  /** @internal the subscription was made again under a new handle (resume). */
  rebind(info: SubscriptionInfo & { replicas: number }): void {
    this.handleValue = info.subscription;
    this.filterValue = info.filter;
    this.depthValue = info.depth;
    this.replicasValue = info.replicas;
  }

  /** @internal no more events come. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = error;
    if (this.queued === 0) this.settleWaiters();
  }

  private finish(): Promise<IteratorResult<EventRecord>> {
    if (this.endError !== undefined) {
      const e = this.endError;
      this.endError = undefined;
      return Promise.reject(e);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  private settleWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (this.endError !== undefined) {
        const e = this.endError;
        this.endError = undefined;
        w.reject(e);
      } else w.resolve({ value: undefined, done: true });
    }
  }
}

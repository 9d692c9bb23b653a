// The fault-event service (CIFTS FTB style) as a replicated state machine: named clients in
// event spaces declare and publish events; subscriptions (FTB subscription strings) live in
// the replicated state under the client's name, so a client whose daemon dies reattaches
// through another daemon and keeps them. Every daemon computes every push; only the daemon
// where the subscriber's session is sends it (ServiceHost), so each subscriber gets each
// matching event once, in agreed order.
import {
  DAEMON_SENDER_PREFIX,
  daemonOfPrivateGroup,
  okReply,
  type ServiceConfiguration,
  type ServiceEngine,
  type ServiceInput,
  type ServiceOutput,
  type ServiceRequest,
} from '../engine';
import { EVENT_TYPES, MAX_PAYLOAD_DATA, fail, ftbErrorReply, isFailure, type EventType, type FtbFailure } from './ftb';
import { matchesPrepared, prepareEvent } from './matcher';
import { checkClientName, checkEventName, checkHostName, checkJobId, formatEventSpace, parseEventSpace, parseSeverity } from './names';
import { EVENTS_GROUP, type EventPayload, type EventPush, type EventRecord, type SubscriptionInfo } from './protocol';
import { clientNameOfHandle, emptyState, fromSnapshot, mergeStates, toSnapshot, type ClientRecord, type DeclaredEvent, type EventsState } from './state';
import { formatSubscription, parseSubscription } from './subscription';
import { SYSTEM_CLIENT, SYSTEM_EVENTS, SYSTEM_SPACE, configurationEvents, type SystemEventSpec } from './systemEvents';

export interface EventsEngineOptions {
  /** How long a detached client (its session gone) keeps its subscriptions. Default 60 000 ms. */
  readonly retentionMs?: number;
  /** Clients at most (connect fails with FTB_ERR_GENERAL beyond). Default 10 000. */
  readonly maxClients?: number;
  /** Subscriptions per client at most. Default 64. */
  readonly maxSubscriptionsPerClient?: number;
  /** Declared events per client at most (FTB allows 5000 per process). Default 1000. */
  readonly maxDeclaredPerClient?: number;
}

const DEFAULTS: Required<EventsEngineOptions> = {
  retentionMs: 60_000,
  maxClients: 10_000,
  maxSubscriptionsPerClient: 64,
  maxDeclaredPerClient: 1000,
};

/** Events per declare request at most: one request stays small. */
const MAX_DECLARE_BATCH = 256;
/** System events come from trusted engines but still travel whole in every push. */
const MAX_SYSTEM_PAYLOAD = 4096;
/** Producer-chosen handles of system events (checkpoint BEGINs) are names, not payloads. */
const MAX_HANDLE = 128;

/** A handled client request: the reply's fields (plus pushes to send after it), or why it failed. */
type Outcome = FtbFailure | { readonly result: Record<string, unknown>; readonly pushes?: ServiceOutput[] };

type Counters = {
  published: number;
  delivered: number;
  dropped: number;
  failed: number;
  expired: number;
  systemRejected: number;
  snapshotsSkipped: number;
};

export class EventsEngine implements ServiceEngine {
  readonly name = 'events';
  readonly group = EVENTS_GROUP;
  private readonly options: Required<EventsEngineOptions>;
  private state: EventsState = emptyState();
  /** Members of the latest configuration (transitional or regular): what SAFE covers now. */
  private members: readonly string[] = [];
  private readonly counts: Counters = { published: 0, delivered: 0, dropped: 0, failed: 0, expired: 0, systemRejected: 0, snapshotsSkipped: 0 };

  constructor(options: EventsEngineOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  step(input: ServiceInput): ServiceOutput[] {
    switch (input.kind) {
      case 'request':
        this.advance(input.request.time);
        return this.request(input.request);
      case 'tick':
        this.advance(input.time);
        this.expire();
        return [];
      case 'sessionGone':
        for (const c of this.state.clients.values()) if (c.session === input.privateGroup) this.detach(c);
        return [];
      case 'configuration':
        return this.configure(input.configuration);
    }
  }

  nextDeadline(): number | null {
    let earliest: number | null = null;
    for (const c of this.state.clients.values()) {
      if (c.detachedAt === null) continue;
      const due = c.detachedAt + this.options.retentionMs;
      if (earliest === null || due < earliest) earliest = due;
    }
    for (const g of this.state.gone.values()) {
      const due = g.at + this.options.retentionMs;
      if (earliest === null || due < earliest) earliest = due;
    }
    return earliest;
  }

  snapshot(): unknown {
    return toSnapshot(this.state);
  }

  merge(snapshots: readonly unknown[]): void {
    const states: EventsState[] = [];
    for (const s of snapshots) {
      const state = fromSnapshot(s);
      if (state) states.push(state);
      else this.counts.snapshotsSkipped++;
    }
    this.state = mergeStates(states);
    this.detachOutside(this.members);
  }

  counters(): Record<string, number> {
    let subscriptions = 0;
    for (const c of this.state.clients.values()) subscriptions += c.subscriptions.size;
    return { ...this.counts, subscriptions, clients: this.state.clients.size };
  }

  // ---- inputs ---------------------------------------------------------------------------

  private advance(time: number): void {
    if (Number.isFinite(time) && time > this.state.now) this.state.now = time;
  }

  private request(req: ServiceRequest): ServiceOutput[] {
    const { id, op } = req.body;
    const fromDaemon = req.from.startsWith(DAEMON_SENDER_PREFIX);
    if (op === 'systemPublish' && fromDaemon) return this.systemPublish(req);
    // Daemons' other requests are not for this engine; a client request without an id cannot be answered.
    if (fromDaemon || (typeof id !== 'string' && typeof id !== 'number')) return [];
    const outcome = this.clientRequest(op, req);
    if (isFailure(outcome)) {
      this.counts.failed++;
      return [{ kind: 'reply', to: req.from, body: ftbErrorReply(id, outcome) }];
    }
    return [{ kind: 'reply', to: req.from, body: okReply(id, outcome.result) }, ...(outcome.pushes ?? [])];
  }

  private clientRequest(op: unknown, req: ServiceRequest): Outcome {
    switch (op) {
      case 'connect':
        return this.connect(req);
      case 'declare':
        return this.withClient(req, (c) => this.declare(c, req));
      case 'publish':
        return this.withClient(req, (c) => this.publish(c, req));
      case 'subscribe':
        return this.withClient(req, (c) => this.subscribe(c, req));
      case 'unsubscribe':
        return this.withClient(req, (c) => this.unsubscribe(c, req));
      case 'disconnect':
        return this.withClient(req, (c) => {
          this.state.clients.delete(c.name);
          this.state.gone.set(c.name, { stamp: req.time, at: this.state.now });
          return { result: {} };
        });
      case 'systemPublish':
        return fail('FTB_ERR_NOT_SUPPORTED', 'systemPublish is for the daemons only');
      default:
        return fail('FTB_ERR_NOT_SUPPORTED', `unknown op ${JSON.stringify(op)}`);
    }
  }

  /** Runs `then` on the client the request's handle names, if the requesting session holds it. */
  private withClient(req: ServiceRequest, then: (c: ClientRecord) => Outcome): Outcome {
    const handle = req.body.client;
    const c = typeof handle === 'string' ? this.state.clients.get(clientNameOfHandle(handle)) : undefined;
    if (!c || c.handle !== handle) return fail('FTB_ERR_INVALID_HANDLE', `no client with handle ${JSON.stringify(handle)} (disconnected, expired or never connected)`);
    if (c.session !== req.from) {
      return fail('FTB_ERR_INVALID_HANDLE', `client ${c.name} is not attached to this session; connect with resume to reattach it`);
    }
    return then(c);
  }

  // ---- client ops -----------------------------------------------------------------------

  private connect(req: ServiceRequest): Outcome {
    const b = req.body;
    const name = checkClientName(b.clientName, 'FTB_ERR_INVALID_VALUE');
    if (isFailure(name)) return name;
    const space = parseEventSpace(b.space);
    if (isFailure(space)) return space;
    const jobId = checkJobId(b.jobId ?? '', 'FTB_ERR_INVALID_VALUE');
    if (isFailure(jobId)) return jobId;
    const host = checkHostName(b.host ?? req.origin, 'FTB_ERR_INVALID_VALUE');
    if (isFailure(host)) return host;
    const pid = b.pid ?? 0;
    if (typeof pid !== 'number' || !Number.isSafeInteger(pid) || pid < 0) return fail('FTB_ERR_INVALID_VALUE', `pid ${JSON.stringify(pid)} is not a process id`);
    const spaceText = formatEventSpace(space);
    const resume = b.resume === true;
    const existing = this.state.clients.get(name);

    if (existing && resume) {
      if (existing.space.toLowerCase() !== spaceText.toLowerCase()) {
        return fail('FTB_ERR_DUP_CALL', `client ${name} is connected in event space ${existing.space}, not ${spaceText}`);
      }
      const missed = existing.missed;
      Object.assign(existing, { jobId, host, pid, session: req.from, detachedAt: null, missed: 0, stamp: req.time });
      return { result: { ...this.clientInfo(existing), resumed: true, missed } };
    }
    if (existing && existing.session !== null) {
      const where = existing.session === req.from ? 'on this session' : `at daemon ${daemonOfPrivateGroup(existing.session) || '?'}`;
      return fail('FTB_ERR_DUP_CALL', `client ${name} is already connected ${where} (connect with resume to take it over)`);
    }
    // A detached client connected again without resume starts a new life: its old subscriptions go.
    if (!existing && this.state.clients.size >= this.options.maxClients) return fail('FTB_ERR_GENERAL', `too many clients (${this.options.maxClients})`);
    const client: ClientRecord = {
      name,
      handle: `${name}:${req.origin}:${req.time}`,
      space: spaceText,
      jobId,
      host,
      pid,
      session: req.from,
      detachedAt: null,
      declared: new Map(),
      subscriptions: new Map(),
      nextSubscription: 0,
      seq: 0,
      missed: 0,
      stamp: req.time,
    };
    this.state.clients.delete(name);
    this.state.gone.delete(name);
    this.state.clients.set(name, client);
    return { result: { ...this.clientInfo(client), resumed: false, missed: 0 } };
  }

  private clientInfo(c: ClientRecord): Record<string, unknown> {
    const subscriptions: SubscriptionInfo[] = [...c.subscriptions.values()].map((s) => ({ subscription: s.handle, filter: s.text, depth: s.depth }));
    const declared = [...c.declared.values()].map((d) => ({ name: d.name, severity: d.severity }));
    return { client: c.handle, space: c.space, seq: c.seq, subscriptions, declared };
  }

  private declare(c: ClientRecord, req: ServiceRequest): Outcome {
    const events = req.body.events;
    if (!Array.isArray(events) || events.length > MAX_DECLARE_BATCH) {
      return fail('FTB_ERR_INVALID_VALUE', `events must be a list of at most ${MAX_DECLARE_BATCH} { name, severity }`);
    }
    const adding = new Map<string, DeclaredEvent>();
    for (const e of events) {
      const entry = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
      const name = checkEventName(entry.name, 'FTB_ERR_INVALID_FIELD');
      if (isFailure(name)) return name;
      const severity = parseSeverity(entry.severity);
      if (!severity) return fail('FTB_ERR_INVALID_FIELD', `event ${name}: severity ${JSON.stringify(entry.severity)} is none of FATAL, ERROR, WARNING, INFO`);
      const key = name.toUpperCase();
      // As FTB, declaring a name again is not an error and keeps the first declaration.
      if (!c.declared.has(key) && !adding.has(key)) adding.set(key, { name, severity });
    }
    if (c.declared.size + adding.size > this.options.maxDeclaredPerClient) {
      return fail('FTB_ERR_GENERAL', `client ${c.name} would declare more than ${this.options.maxDeclaredPerClient} events`);
    }
    for (const [key, d] of adding) c.declared.set(key, d);
    c.stamp = req.time;
    return { result: { declared: c.declared.size } };
  }

  private publish(c: ClientRecord, req: ServiceRequest): Outcome {
    const b = req.body;
    const name = checkEventName(b.name, 'FTB_ERR_INVALID_EVENT_NAME');
    if (isFailure(name)) return name;
    const declared = c.declared.get(name.toUpperCase());
    if (!declared) return fail('FTB_ERR_INVALID_EVENT_NAME', `event ${name} was not declared by client ${c.name}`);
    const eventType = parseEventType(b.eventType);
    if (eventType === undefined) return fail('FTB_ERR_INVALID_EVENT_TYPE', `event type ${JSON.stringify(b.eventType)} is neither normal nor response`);
    const payload = checkPayload(b.payload, MAX_PAYLOAD_DATA);
    if (isFailure(payload)) return payload;
    c.seq++;
    const event: EventRecord = {
      handle: `${c.handle}#${c.seq}`,
      space: c.space,
      name: declared.name,
      severity: declared.severity,
      eventType,
      client: c.name,
      jobId: c.jobId,
      host: c.host,
      pid: c.pid,
      seq: c.seq,
      time: req.time,
      ...(payload === undefined ? {} : { payload }),
    };
    return { result: { event: event.handle, seq: event.seq }, pushes: this.deliver(event) };
  }

  private subscribe(c: ClientRecord, req: ServiceRequest): Outcome {
    const filter = parseSubscription(req.body.subscription);
    if (isFailure(filter)) return filter;
    const depth = this.resolveDepth(req.body.depth, req.safe);
    if (isFailure(depth)) return depth;
    if (c.subscriptions.size >= this.options.maxSubscriptionsPerClient) {
      return fail('FTB_ERR_GENERAL', `client ${c.name} has ${this.options.maxSubscriptionsPerClient} subscriptions already`);
    }
    c.nextSubscription++;
    const handle = `${c.handle}/${c.nextSubscription}`;
    const text = formatSubscription(filter);
    c.subscriptions.set(handle, { handle, filter, text, depth });
    c.stamp = req.time;
    // A SAFE delivery means every daemon of the configuration holds the subscription now.
    return { result: { subscription: handle, filter: text, depth, replicas: req.safe ? this.configurationSize() : 1 } };
  }

  /**
   * Transaction depth: 1 by default; `all` is the configuration's size. Depth > 1 needs SAFE
   * delivery (FTB_ERR_INVALID_PARAMETER otherwise) and enough daemons (FTB_FAILURE otherwise).
   */
  private resolveDepth(value: unknown, safe: boolean): number | FtbFailure {
    const size = this.configurationSize();
    const depth = value === undefined ? 1 : value === 'all' ? size : value;
    if (typeof depth !== 'number' || !Number.isSafeInteger(depth) || depth < 1) {
      return fail('FTB_ERR_INVALID_VALUE', `depth ${JSON.stringify(value)} is neither a number of daemons (1 or more) nor "all"`);
    }
    if (depth > size) return fail('FTB_FAILURE', `depth ${depth} asks for more replicas than the ${size} daemon(s) of the configuration`);
    if (depth > 1 && !safe) return fail('FTB_ERR_INVALID_PARAMETER', `depth ${depth} needs the subscribe request sent SAFE`);
    return depth;
  }

  private configurationSize(): number {
    return Math.max(1, this.members.length);
  }

  private unsubscribe(c: ClientRecord, req: ServiceRequest): Outcome {
    const handle = req.body.subscription;
    if (typeof handle !== 'string' || !c.subscriptions.delete(handle)) {
      return fail('FTB_ERR_INVALID_HANDLE', `client ${c.name} has no subscription ${JSON.stringify(handle)}`);
    }
    c.stamp = req.time;
    return { result: {} };
  }

  // ---- delivery -------------------------------------------------------------------------

  /** A push for every matching subscription of an attached client; detached ones miss it. */
  private deliver(event: EventRecord): ServiceOutput[] {
    this.counts.published++;
    const out: ServiceOutput[] = [];
    const prepared = prepareEvent(event);
    for (const c of this.state.clients.values()) {
      for (const s of c.subscriptions.values()) {
        if (!matchesPrepared(s.filter, prepared)) continue;
        if (c.session === null) {
          c.missed++;
          this.counts.dropped++;
          continue;
        }
        const push: EventPush = { push: 'event', subscription: s.handle, event };
        out.push({ kind: 'reply', to: c.session, body: push as unknown as Record<string, unknown> });
        this.counts.delivered++;
      }
    }
    return out;
  }

  // ---- system events --------------------------------------------------------------------

  private nextSystemSeq(publisher: string): number {
    const seq = (this.state.systemSeq.get(publisher) ?? 0) + 1;
    this.state.systemSeq.set(publisher, seq);
    return seq;
  }

  /** An event of a daemon: another engine's output or the host's own (links, sessions). */
  private systemPublish(req: ServiceRequest): ServiceOutput[] {
    const b = req.body;
    const space = parseEventSpace(b.space);
    const name = checkEventName(b.name, 'FTB_ERR_INVALID_EVENT_NAME');
    const severity = parseSeverity(b.severity);
    const payload = checkPayload(b.payload, MAX_SYSTEM_PAYLOAD);
    const handle = b.handle === undefined ? undefined : b.handle;
    const beginHandle = b.beginHandle === undefined || b.beginHandle === null ? undefined : b.beginHandle;
    const badHandle = (h: unknown): boolean => h !== undefined && (typeof h !== 'string' || h.length === 0 || h.length > MAX_HANDLE);
    if (isFailure(space) || isFailure(name) || !severity || isFailure(payload) || badHandle(handle) || badHandle(beginHandle)) {
      this.counts.systemRejected++;
      return [];
    }
    const publisher = req.origin;
    const seq = this.nextSystemSeq(publisher);
    return this.deliver({
      handle: (handle as string | undefined) ?? `sys:${publisher}#${seq}`,
      space: formatEventSpace(space),
      name,
      severity,
      // FTB's "response" type: an event that answers another (END/ERROR answer their BEGIN).
      eventType: beginHandle === undefined ? 'normal' : 'response',
      client: publisher,
      jobId: '',
      host: publisher,
      pid: 0,
      seq,
      time: req.time,
      ...(payload === undefined ? {} : { payload }),
      ...(beginHandle === undefined ? {} : { beginHandle: beginHandle as string }),
    });
  }

  private configure(conf: ServiceConfiguration): ServiceOutput[] {
    this.members = [...conf.members];
    this.detachOutside(this.members);
    return configurationEvents(conf).flatMap((spec) => this.deliver(this.systemEvent(spec, conf.ringId)));
  }

  private systemEvent(spec: SystemEventSpec, ringId: string): EventRecord {
    const seq = this.nextSystemSeq(SYSTEM_CLIENT);
    return {
      // The ring id makes it unique even when partitions counted the same numbers apart.
      handle: `${SYSTEM_CLIENT}@${ringId}#${seq}`,
      space: SYSTEM_SPACE,
      name: spec.name,
      severity: SYSTEM_EVENTS[spec.name],
      eventType: 'normal',
      client: SYSTEM_CLIENT,
      jobId: '',
      host: spec.host,
      pid: 0,
      seq,
      time: this.state.now,
      payload: spec.payload,
    };
  }

  // ---- attachment -----------------------------------------------------------------------

  private detach(c: ClientRecord): void {
    c.session = null;
    c.detachedAt = this.state.now;
  }

  /** Clients attached through daemons outside the configuration have lost their sessions. */
  private detachOutside(members: readonly string[]): void {
    if (members.length === 0) return;
    for (const c of this.state.clients.values()) {
      if (c.session !== null && !members.includes(daemonOfPrivateGroup(c.session))) this.detach(c);
    }
  }

  /** Detached clients whose retention has run out go, with their subscriptions. */
  private expire(): void {
    for (const c of [...this.state.clients.values()]) {
      if (c.detachedAt !== null && c.detachedAt + this.options.retentionMs <= this.state.now) {
        this.state.clients.delete(c.name);
        this.counts.expired++;
      }
    }
    for (const [name, g] of [...this.state.gone]) if (g.at + this.options.retentionMs <= this.state.now) this.state.gone.delete(name);
  }
}

function parseEventType(value: unknown): EventType | undefined {
  if (value === undefined || value === 1) return 'normal';
  if (value === 2) return 'response';
  return (EVENT_TYPES as readonly unknown[]).includes(value) ? (value as EventType) : undefined;
}

const isPlainMap = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Uint8Array);

/** A payload of at most `max` bytes (a map: its JSON text); FTB_ERR_INVALID_VALUE otherwise. */
function checkPayload(value: unknown, max: number): EventPayload | undefined | FtbFailure {
  if (value === undefined || value === null) return undefined;
  let size: number;
  if (typeof value === 'string') size = Buffer.byteLength(value, 'utf8');
  else if (value instanceof Uint8Array) size = value.byteLength;
  else if (isPlainMap(value)) {
    try {
      size = Buffer.byteLength(JSON.stringify(value), 'utf8');
    } catch {
      return fail('FTB_ERR_INVALID_VALUE', 'payload map is not JSON-able');
    }
  } else return fail('FTB_ERR_INVALID_VALUE', 'payload must be a string, bytes or a map');
  if (size > max) return fail('FTB_ERR_INVALID_VALUE', `payload of ${size} bytes is larger than ${max} bytes`);
  return value as EventPayload;
}

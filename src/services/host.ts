// Runs the service engines (checkpoints, events) inside a daemon: turns client requests into
// ring messages, feeds every engine the agreed-order deliveries and configuration changes,
// sends the replies meant for this daemon's clients, and keeps the engines' replicated state
// in step when daemons come together (state exchange).
//
// Ring traffic of the services: data envelopes whose data starts with one kind byte:
//   REQUEST  to an engine's group, sender = the client:  f64 time | msgpack body
//   DAEMON   to an engine's group, sender = DAEMON_SENDER: f64 time | msgpack body
//   TICK     to HOST_GROUP:  f64 time                       (a deadline passed somewhere)
//   SNAPSHOT to HOST_GROUP:  msgpack { ring, part, parts, chunk } (state exchange)
//
// State exchange, as Spread's groups exchange: after a regular configuration that brings
// together daemons whose states may differ (not all in this daemon's `synced` set), every
// member submits a snapshot of all its engines; when the last one is delivered every member
// merges the same list, in configuration-file order. Until then client requests are answered
// TRY_AGAIN, and kills and daemon requests wait (then apply in their order). All members decide
// alike: members of one transitional configuration have the same synced set.
import msgpack from 'msgpack-lite';
import type { ConfigurationChange } from '../core/membership/types';
import { Service, type ServiceCode } from '../core/service';
import { MessageType } from '../wire/client/constants';
import { hintFor } from '../wire/client/header';
import { encodeMessage, type DecodedMessage } from '../wire/client/message';
import { ENVELOPE_OVERHEAD, encodeDataEnvelope, type DataEnvelope } from '../wire/envelope';
import {
  DAEMON_SENDER_PREFIX,
  errorReply,
  type ServiceConfiguration,
  type ServiceEngine,
  type ServiceEvent,
  type ServiceInput,
  type ServiceOutput,
  type ServiceRequest,
} from './engine';

/** The group of the host's own traffic (ticks, snapshots): no client can be in it. */
export const HOST_GROUP = '#ringcast-svc';
/** The sender of daemon-originated envelopes (the real origin is the ring's). */
const DAEMON_SENDER = '#ringcast';

const Kind = { REQUEST: 1, DAEMON: 2, TICK: 3, SNAPSHOT: 4 } as const;

export interface ServiceHostPort {
  readonly daemonName: string;
  /** Every daemon id in configuration-file order. */
  readonly daemonOrder: readonly number[];
  nameOf(daemonId: number): string;
  /** The largest ring payload. */
  readonly maxPayload: number;
  /** Puts an envelope on the ring. @throws when the ring refuses it. */
  submit(service: ServiceCode, payload: Buffer): void;
  /** Whether `privateGroup` is a session of this daemon (only those get replies from here). */
  isLocal(privateGroup: string): boolean;
  /** Writes a frame to a local session; false when `privateGroup` is not connected here. */
  sendTo(privateGroup: string, frame: Buffer): boolean;
  now(): number;
  setTimer(ms: number, fire: () => void): { cancel(): void };
  log?(line: string): void;
}

export interface ServiceHostCounters {
  requests: number;
  daemonRequests: number;
  repliesSent: number;
  tryAgain: number;
  malformed: number;
  ticks: number;
  exchanges: number;
  engineErrors: number;
}

interface Exchange {
  readonly ring: string;
  readonly members: readonly string[];
  /** Per member: the chunks so far. */
  readonly parts: Map<string, Buffer[]>;
  readonly done: Set<string>;
  readonly waiting: Array<() => void>;
}

export class ServiceHost {
  readonly counters: ServiceHostCounters = { requests: 0, daemonRequests: 0, repliesSent: 0, tryAgain: 0, malformed: 0, ticks: 0, exchanges: 0, engineErrors: 0 };
  private readonly byGroup = new Map<string, ServiceEngine>();
  private readonly events: ServiceEngine | undefined;
  private readonly order = new Map<string, number>();
  /** Every configured daemon's name, in configuration-file order. */
  private readonly daemons: readonly string[];
  private regular: ServiceConfiguration | null = null;
  /** Daemons known to hold the same engine states as this one. */
  private synced: Set<string>;
  private exchange: Exchange | null = null;
  private timer: { cancel(): void } | null = null;
  private timerAt = Infinity;
  private rearmQueued = false;
  /** This daemon's tick is in the ring: no second one until it is delivered. */
  private tickInFlight = false;
  private stopped = false;

  constructor(
    private readonly port: ServiceHostPort,
    private readonly engines: readonly ServiceEngine[],
  ) {
    for (const e of engines) this.byGroup.set(e.group, e);
    this.events = engines.find((e) => e.name === 'events');
    port.daemonOrder.forEach((id, i) => this.order.set(port.nameOf(id), i));
    this.daemons = port.daemonOrder.map((id) => port.nameOf(id));
    this.synced = new Set([port.daemonName]);
  }

  /** Whether `group` is an engine's reserved group (requests to it are this host's). */
  isServiceGroup(group: string): boolean {
    return this.byGroup.has(group);
  }

  /** Engine by name (tests, status). */
  engine(name: string): ServiceEngine | undefined {
    return this.engines.find((e) => e.name === name);
  }

  /**
   * A local client's frame to an engine's group: stamped with this daemon's clock and put on
   * the ring (SAFE if the client asked for SAFE, else AGREED).
   * @throws when the ring refuses it (the session then ends, as for any frame).
   */
  clientRequest(privateGroup: string, frame: DecodedMessage): void {
    const service = (frame.type & MessageType.SAFE_MESS) !== 0 ? Service.SAFE : Service.AGREED;
    this.put(service, Kind.REQUEST, privateGroup, frame.groups[0]!, frame.data);
  }

  /** Publishes an event of this daemon's own (link down, session rejected) through the ring. */
  publishSystem(event: ServiceEvent): void {
    if (!this.events || this.stopped) return;
    try {
      this.put(Service.AGREED, Kind.DAEMON, DAEMON_SENDER, this.events.group, msgpack.encode({ op: 'systemPublish', ...event }));
    } catch (e) {
      this.port.log?.(`services: could not publish ${event.name}: ${(e as Error).message}`);
    }
  }

  /** A data envelope the ring delivered; false when it is none of the services'. */
  deliver(origin: number, ringService: number, env: DataEnvelope): boolean {
    if (env.groups.length !== 1) return false;
    const group = env.groups[0]!;
    const engine = this.byGroup.get(group);
    if (!engine && group !== HOST_GROUP) return false;
    const data = env.data;
    if (data.length < 1) return this.malformed();
    const kind = data[0]!;
    const originName = this.port.nameOf(origin);
    if (kind === Kind.SNAPSHOT) {
      this.onSnapshot(originName, data.subarray(1));
      return true;
    }
    if (data.length < 9) return this.malformed();
    const time = data.readDoubleLE(1);
    if (kind === Kind.TICK) {
      if (originName === this.port.daemonName) this.tickInFlight = false;
      if (this.exchange === null) {
        this.counters.ticks++;
        for (const e of this.engines) this.run(e, { kind: 'tick', time }, originName, time);
      }
      this.queueRearm();
      return true;
    }
    if (!engine || (kind !== Kind.REQUEST && kind !== Kind.DAEMON)) return this.malformed();
    let body: unknown;
    try {
      body = msgpack.decode(data.subarray(9));
    } catch {
      body = undefined;
    }
    const from = kind === Kind.DAEMON ? DAEMON_SENDER_PREFIX + originName : env.sender;
    if (body === null || typeof body !== 'object' || Array.isArray(body) || Buffer.isBuffer(body)) {
      this.malformed();
      this.reply(from, engine.group, errorReply(null, 'INVALID_PARAM', 'a request is a msgpack map { op, id, ... }'));
      return true;
    }
    const request: ServiceRequest = { from, origin: originName, time, safe: ringService === Service.SAFE, body: body as Record<string, unknown> };
    if (kind === Kind.DAEMON) this.counters.daemonRequests++;
    else this.counters.requests++;
    const apply = (): void => this.run(engine, { kind: 'request', request }, originName, time);
    if (this.exchange === null) apply();
    else if (kind === Kind.DAEMON) this.exchange.waiting.push(apply);
    else {
      this.counters.tryAgain++;
      this.reply(from, engine.group, errorReply((body as Record<string, unknown>).id ?? null, 'TRY_AGAIN', 'the daemons are exchanging service state; try again'));
    }
    this.queueRearm();
    return true;
  }

  /** A client's KILL was delivered: every engine forgets its session (after an exchange). */
  sessionGone(privateGroup: string): void {
    const apply = (): void => {
      for (const e of this.engines) this.run(e, { kind: 'sessionGone', privateGroup }, this.port.daemonName, 0);
    };
    if (this.exchange === null) apply();
    else this.exchange.waiting.push(apply);
  }

  /** A daemon configuration change, in the ring's order. */
  configuration(change: ConfigurationChange): void {
    const members = this.sortedNames(change.members);
    const previous = this.regular?.members ?? [];
    const configuration: ServiceConfiguration = {
      kind: change.kind,
      ringId: `${change.ringSeq}.${this.port.nameOf(change.ringRep)}`,
      ringSeq: change.ringSeq,
      members,
      left: previous.filter((m) => !members.includes(m)),
      joined: change.kind === 'regular' ? members.filter((m) => !previous.includes(m)) : [],
      daemons: this.daemons,
    };
    if (change.kind === 'transitional') {
      if (this.exchange !== null) {
        // The exchange cannot complete in this ring: states stay unmerged, trust no one.
        for (const apply of this.exchange.waiting) apply();
        this.exchange = null;
        this.synced = new Set([this.port.daemonName]);
      }
      this.synced = new Set([...this.synced].filter((m) => members.includes(m)));
    }
    for (const e of this.engines) this.run(e, { kind: 'configuration', configuration }, this.port.daemonName, 0);
    if (change.kind === 'regular') {
      this.regular = configuration;
      this.tickInFlight = false; // a tick lost with the old ring must not stop the clock
      if (!members.every((m) => this.synced.has(m))) this.startExchange(configuration);
    }
    this.queueRearm();
  }

  /** Status counters: the host's, and each engine's under its name. */
  allCounters(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = { services: { ...this.counters, exchanging: this.exchange ? 1 : 0 } };
    for (const e of this.engines) {
      const c = (e as { counters?: () => Record<string, number> }).counters?.();
      if (c) out[e.name] = c;
    }
    return out;
  }

  /** Whether a state exchange is under way (requests get TRY_AGAIN). */
  get exchanging(): boolean {
    return this.exchange !== null;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = null;
  }

  // ---- engines ------------------------------------------------------------------------------

  private run(engine: ServiceEngine, input: ServiceInput, origin: string, time: number): void {
    let outputs: ServiceOutput[];
    try {
      outputs = engine.step(input);
    } catch (e) {
      // An engine bug must not take the daemon down; the request's client hears of it.
      this.counters.engineErrors++;
      this.port.log?.(`services: ${engine.name} failed on ${input.kind}: ${(e as Error).stack ?? e}`);
      if (input.kind === 'request') this.reply(input.request.from, engine.group, errorReply(input.request.body.id ?? null, 'LIBRARY', `internal error: ${(e as Error).message}`));
      return;
    }
    for (const o of outputs) {
      if (o.kind === 'reply') this.reply(o.to, engine.group, o.body);
      else if (this.events && engine !== this.events) {
        const request: ServiceRequest = { from: DAEMON_SENDER_PREFIX + origin, origin, time, safe: false, body: { op: 'systemPublish', ...o.event } };
        this.run(this.events, { kind: 'request', request }, origin, time);
      }
    }
  }

  private reply(to: string, group: string, body: Readonly<Record<string, unknown>>): void {
    // Every daemon computes every reply; only the client's own daemon encodes and sends it.
    if (this.stopped || !this.port.isLocal(to)) return;
    let frame: Buffer;
    try {
      frame = encodeMessage({ type: MessageType.RELIABLE_MESS, sender: group, groups: [to], hint: hintFor(0), data: msgpack.encode(body) });
    } catch {
      return; // a private group the client frame could not name: no one to answer
    }
    if (this.port.sendTo(to, frame)) this.counters.repliesSent++;
  }

  private malformed(): true {
    this.counters.malformed++;
    return true;
  }

  // ---- ring traffic -------------------------------------------------------------------------

  private put(service: ServiceCode, kind: number, sender: string, group: string, body: Uint8Array): void {
    const data = Buffer.allocUnsafe(9 + body.length);
    data[0] = kind;
    data.writeDoubleLE(this.port.now(), 1);
    data.set(body, 9);
    this.port.submit(service, encodeDataEnvelope({ type: MessageType.AGREED_MESS, hint: hintFor(0), sender, groups: [group], data }));
  }

  // ---- state exchange -----------------------------------------------------------------------

  private startExchange(configuration: ServiceConfiguration): void {
    this.counters.exchanges++;
    this.exchange = { ring: configuration.ringId, members: configuration.members, parts: new Map(), done: new Set(), waiting: [] };
    const state: Record<string, unknown> = {};
    for (const e of this.engines) state[e.name] = e.snapshot();
    const whole = msgpack.encode(state);
    const chunkSize = Math.max(1024, Math.min(1 << 20, this.port.maxPayload - ENVELOPE_OVERHEAD - 256));
    const parts = Math.max(1, Math.ceil(whole.length / chunkSize));
    try {
      for (let part = 0; part < parts; part++) {
        const chunk = whole.subarray(part * chunkSize, (part + 1) * chunkSize);
        const body = msgpack.encode({ ring: configuration.ringId, part, parts, chunk });
        const data = Buffer.allocUnsafe(1 + body.length);
        data[0] = Kind.SNAPSHOT;
        data.set(body, 1);
        this.port.submit(Service.AGREED, encodeDataEnvelope({ type: MessageType.AGREED_MESS, hint: hintFor(0), sender: DAEMON_SENDER, groups: [HOST_GROUP], data }));
      }
    } catch (e) {
      // Without our snapshot the exchange stalls until the next configuration; say so.
      this.port.log?.(`services: could not submit the state snapshot: ${(e as Error).message}`);
    }
  }

  private onSnapshot(origin: string, data: Buffer): void {
    const x = this.exchange;
    let m: { ring?: unknown; part?: unknown; parts?: unknown; chunk?: unknown };
    try {
      m = msgpack.decode(data) as typeof m;
    } catch {
      this.malformed();
      return;
    }
    if (x === null || m === null || typeof m !== 'object' || m.ring !== x.ring || !x.members.includes(origin) || x.done.has(origin)) return;
    if (typeof m.part !== 'number' || typeof m.parts !== 'number' || !Buffer.isBuffer(m.chunk)) return void this.malformed();
    let chunks = x.parts.get(origin);
    if (!chunks) x.parts.set(origin, (chunks = []));
    if (m.part !== chunks.length) return void this.malformed(); // agreed order keeps a sender's parts in order
    chunks.push(m.chunk);
    if (chunks.length === m.parts) x.done.add(origin);
    if (x.done.size === x.members.length) this.finishExchange(x);
  }

  private finishExchange(x: Exchange): void {
    const states = x.members.map((member) => {
      try {
        return msgpack.decode(Buffer.concat(x.parts.get(member) ?? [])) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
    for (const e of this.engines) {
      try {
        e.merge(states.map((s) => (s && typeof s === 'object' ? s[e.name] : undefined)));
      } catch (err) {
        this.counters.engineErrors++;
        this.port.log?.(`services: ${e.name} merge failed: ${(err as Error).stack ?? err}`);
      }
    }
    this.exchange = null;
    this.synced = new Set(x.members);
    for (const apply of x.waiting) apply();
    this.queueRearm();
  }

  // ---- deadlines ----------------------------------------------------------------------------

  private queueRearm(): void {
    if (this.rearmQueued || this.stopped) return;
    this.rearmQueued = true;
    queueMicrotask(() => {
      this.rearmQueued = false;
      this.rearm();
    });
  }

  /** Only the first member of the configuration ticks: one tick per deadline, not one per daemon. */
  private rearm(): void {
    if (this.stopped || this.tickInFlight) return;
    const ticking = this.regular !== null && this.regular.members[0] === this.port.daemonName && this.exchange === null;
    let at = Infinity;
    if (ticking) {
      for (const e of this.engines) {
        const d = e.nextDeadline();
        if (d !== null && d < at) at = d;
      }
    }
    if (at === this.timerAt) return;
    this.timer?.cancel();
    this.timer = null;
    this.timerAt = at;
    if (at === Infinity) return;
    this.timer = this.port.setTimer(Math.max(1, at - this.port.now() + 1), () => {
      this.timer = null;
      this.timerAt = Infinity;
      try {
        this.put(Service.AGREED, Kind.TICK, DAEMON_SENDER, HOST_GROUP, Buffer.alloc(0));
        this.tickInFlight = true;
      } catch (e) {
        this.port.log?.(`services: could not submit a tick: ${(e as Error).message}`);
        this.queueRearm();
      }
    });
  }

  private sortedNames(ids: readonly number[]): string[] {
    const names = ids.map((id) => this.port.nameOf(id));
    return names.sort((a, b) => (this.order.get(a) ?? 0) - (this.order.get(b) ?? 0));
  }
}

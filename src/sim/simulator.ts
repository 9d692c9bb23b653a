// The deterministic simulator: a fake clock, a seeded in-memory network, and one ordering core
// per simulated daemon. The same options give the same event sequence and byte-identical logs.
import { RingCore } from '../core/ring/ring';
import type { RingOptions, RingOutput, RingTimer } from '../core/ring/types';
import { Service, SERVICE_NAMES, serviceName, type ServiceName } from '../core/service';
import { UsageError } from '../errors';
import type { LogEntry } from './deliveryLog';
import { EventQueue } from './eventQueue';
import { DEFAULT_LINK, SimNetwork } from './network';
import { Rng } from './rng';

export interface SimOptions {
  seed: number;
  daemons: number;
  messages: number;
  /** Message size in bytes: "1000", or a range "1-1048576" (log-uniform). */
  size: string;
  /** One service for every message, or "mixed" for a random one each. */
  service: ServiceName | 'mixed';
  loss: number;
  dup: number;
  reorder: number;
  latencyMs: number;
  jitterMs: number;
  /** Messages submitted per simulated millisecond, over all daemons. */
  rate: number;
  /** Distinct group names messages are addressed to (1–3 of them each). */
  groups: number;
  /** Give up (and report the run as failed) after this much simulated time. */
  maxTimeMs: number;
  ring: Partial<RingOptions>;
  logDir?: string;
}

export const DEFAULT_SIM_OPTIONS: SimOptions = {
  seed: 1,
  daemons: 3,
  messages: 1000,
  size: '1-1000',
  service: 'AGREED',
  loss: 0,
  dup: 0,
  reorder: 0,
  latencyMs: DEFAULT_LINK.latencyMs,
  jitterMs: DEFAULT_LINK.jitterMs,
  rate: 20,
  groups: 4,
  maxTimeMs: 600_000,
  ring: {},
};

/** What one simulated run did; the invariant check is separate (see ./run). */
export interface SimStats {
  seed: number;
  daemons: number;
  messagesSent: number;
  deliveredPerDaemon: Record<string, number>;
  payloadErrors: string[];
  /** The run hit maxTimeMs (or ran out of events) before every daemon delivered everything. */
  stalled: boolean;
  simTimeMs: number;
  tokenRotations: number;
  packets: { sent: number; dropped: number; duplicated: number; reordered: number };
  retransmissions: number;
  tokenRetransmits: number;
  events: number;
}

export interface SimRun {
  stats: SimStats;
  logs: Map<string, LogEntry[]>;
}

type SimEvent =
  | { time: number; order: number; kind: 'recv'; node: number; data: Buffer }
  | { time: number; order: number; kind: 'timer'; node: number; timer: RingTimer; gen: number }
  | { time: number; order: number; kind: 'submit' };

interface SimDaemon {
  id: number;
  name: string;
  core: RingCore;
  timerGen: Record<RingTimer, number>;
  log: LogEntry[];
  sent: number;
  delivered: number;
}

const CONFIG_HASH = 0x51a1c0de;

export class Simulator {
  readonly opts: SimOptions;
  private readonly rng: Rng;
  private readonly net: SimNetwork;
  private readonly queue = new EventQueue<SimEvent>();
  private readonly daemons: SimDaemon[] = [];
  private readonly byId = new Map<number, SimDaemon>();
  private readonly sizeRange: [number, number];
  private readonly groupNames: string[];
  private readonly payloadErrors: string[] = [];
  private now = 0;
  private submitted = 0;
  private workload: Rng;

  constructor(options: Partial<SimOptions> = {}) {
    this.opts = { ...DEFAULT_SIM_OPTIONS, ...options };
    validate(this.opts);
    this.rng = new Rng(this.opts.seed);
    this.net = new SimNetwork(this.rng.fork(1), {
      ...DEFAULT_LINK,
      loss: this.opts.loss,
      dup: this.opts.dup,
      reorder: this.opts.reorder,
      latencyMs: this.opts.latencyMs,
      jitterMs: this.opts.jitterMs,
    });
    this.workload = this.rng.fork(2);
    this.sizeRange = parseSize(this.opts.size);
    this.groupNames = Array.from({ length: this.opts.groups }, (_, i) => `g${i}`);
    const members = Array.from({ length: this.opts.daemons }, (_, i) => i + 1);
    for (const id of members) {
      const core = new RingCore(
        { myId: id, members, ringSeq: 1, ringRep: members[0], configHash: CONFIG_HASH, incarnation: 1 },
        this.opts.ring,
      );
      const d: SimDaemon = { id, name: `d${id}`, core, timerGen: { tokenRetransmit: 0, tokenHold: 0 }, log: [], sent: 0, delivered: 0 };
      this.daemons.push(d);
      this.byId.set(id, d);
    }
  }

  run(): SimRun {
    const names = this.daemons.map((d) => d.name);
    for (const d of this.daemons) d.log.push({ t: 'conf', kind: 'regular', ring: `1.${names[0]}`, members: names });
    for (const d of this.daemons) this.apply(d, d.core.step({ kind: 'start' }));
    if (this.opts.messages > 0) this.queue.push({ time: 0, kind: 'submit' });

    const target = this.opts.messages;
    let stalled = false;
    let events = 0;
    for (;;) {
      if (this.submitted === target && this.daemons.every((d) => d.delivered === target)) break;
      const ev = this.queue.pop();
      if (!ev || ev.time > this.opts.maxTimeMs) {
        stalled = true;
        break;
      }
      this.now = ev.time;
      events++;
      this.dispatch(ev);
    }

    const logs = new Map<string, LogEntry[]>(this.daemons.map((d) => [d.name, d.log]));
    const c = this.daemons.map((d) => d.core.counters);
    const stats: SimStats = {
      seed: this.opts.seed,
      daemons: this.opts.daemons,
      messagesSent: this.submitted,
      deliveredPerDaemon: Object.fromEntries(this.daemons.map((d) => [d.name, d.delivered])),
      payloadErrors: this.payloadErrors.slice(0, 10),
      stalled,
      simTimeMs: Math.round(this.now * 1000) / 1000,
      tokenRotations: this.daemons[0].core.counters.rotations,
      packets: { ...this.net.counters },
      retransmissions: c.reduce((n, x) => n + x.retransmitsSent, 0),
      tokenRetransmits: c.reduce((n, x) => n + x.tokenRetransmits, 0),
      events,
    };
    return { stats, logs };
  }

  private dispatch(ev: SimEvent): void {
    switch (ev.kind) {
      case 'recv': {
        const d = this.byId.get(ev.node)!;
        this.apply(d, d.core.step({ kind: 'packet', data: ev.data }));
        break;
      }
      case 'timer': {
        const d = this.byId.get(ev.node)!;
        if (d.timerGen[ev.timer] !== ev.gen) return; // cancelled or re-armed since
        this.apply(d, d.core.step({ kind: 'timer', timer: ev.timer }));
        break;
      }
      case 'submit':
        this.submitOne();
        break;
    }
  }

  private submitOne(): void {
    const w = this.workload;
    const d = this.daemons[w.int(0, this.daemons.length - 1)];
    const svc = this.opts.service === 'mixed' ? w.pick(SERVICE_NAMES) : this.opts.service;
    const [lo, hi] = this.sizeRange;
    const size = lo === hi ? lo : Math.min(hi, Math.floor(Math.exp(Math.log(lo) + w.next() * (Math.log(hi + 1) - Math.log(lo)))));
    const ngroups = w.int(1, Math.min(3, this.groupNames.length));
    const groups: string[] = [];
    while (groups.length < ngroups) {
      const g = w.pick(this.groupNames);
      if (!groups.includes(g)) groups.push(g);
    }
    // Cores number their messages from 1 in submission order.
    const payload = makePayload(d.id, d.sent + 1, size);
    this.apply(d, d.core.step({ kind: 'submit', service: Service[svc], groups, payload }));
    this.submitted++;
    if (this.submitted < this.opts.messages) {
      this.queue.push({ time: this.now + w.next() * (2 / this.opts.rate), kind: 'submit' });
    }
  }

  private apply(d: SimDaemon, outs: RingOutput[]): void {
    for (const o of outs) {
      switch (o.kind) {
        case 'mcast':
          for (const peer of this.daemons) if (peer.id !== d.id) this.transmit(d.id, peer.id, o.data);
          break;
        case 'send':
          this.transmit(d.id, o.to, o.data);
          break;
        case 'deliver': {
          const m = o.msg;
          const origin = this.byId.get(m.origin);
          const id = `${origin ? origin.name : `?${m.origin}`}#${m.counter}`;
          if (!checkPayload(m.origin, m.counter, m.payload)) {
            this.payloadErrors.push(`${d.name} delivered ${id} with wrong content (${m.payload.length} bytes)`);
          }
          d.log.push({ t: 'msg', id, svc: serviceName(m.service) ?? 'AGREED', groups: m.groups, len: m.payload.length });
          d.delivered++;
          break;
        }
        case 'submitted':
          d.sent++;
          d.log.push({ t: 'sent', id: `${d.name}#${o.counter}`, svc: serviceName(o.service) ?? 'AGREED' });
          break;
        case 'setTimer': {
          const gen = ++d.timerGen[o.timer];
          this.queue.push({ time: this.now + o.ms, kind: 'timer', node: d.id, timer: o.timer, gen });
          break;
        }
        case 'cancelTimer':
          d.timerGen[o.timer]++;
          break;
      }
    }
  }

  private transmit(from: number, to: number, data: Buffer): void {
    for (const delay of this.net.transmit(from, to)) {
      this.queue.push({ time: this.now + delay, kind: 'recv', node: to, data });
    }
  }
}

// A message's bytes follow from (origin, counter), so every delivery can be verified.
function patternBase(origin: number, counter: number): number {
  return (Math.imul(origin, 7919) + Math.imul(counter, 104729)) & 0xff;
}

export function makePayload(origin: number, counter: number, size: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  const base = patternBase(origin, counter);
  for (let i = 0; i < size; i++) buf[i] = (base + i * 131) & 0xff;
  return buf;
}

function checkPayload(origin: number, counter: number, p: Buffer): boolean {
  if (p.length === 0) return true;
  const base = patternBase(origin, counter);
  const at = (i: number) => p[i] === ((base + i * 131) & 0xff);
  return at(0) && at(p.length >> 1) && at(p.length - 1) && at(Math.min(p.length - 1, 1500));
}

function parseSize(s: string): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(String(s).trim());
  if (!m) throw new UsageError(`--size takes bytes or a range like 1-1048576, not "${s}"`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) throw new UsageError(`--size range ${s} is empty`);
  return [Math.max(lo, lo === hi ? 0 : 1), hi];
}

function validate(o: SimOptions): void {
  const prob = (name: string, v: number) => {
    if (!(v >= 0 && v < 1)) throw new UsageError(`--${name} must be a probability in [0, 1), not ${v}`);
  };
  prob('loss', o.loss);
  prob('dup', o.dup);
  prob('reorder', o.reorder);
  if (!Number.isInteger(o.daemons) || o.daemons < 1 || o.daemons > 64) throw new UsageError(`--daemons must be 1–64, not ${o.daemons}`);
  if (!Number.isInteger(o.messages) || o.messages < 0) throw new UsageError(`--messages must be a whole number, not ${o.messages}`);
  if (!Number.isInteger(o.seed)) throw new UsageError(`--seed must be a whole number, not ${o.seed}`);
  if (!(o.rate > 0)) throw new UsageError(`--rate must be positive`);
  if (!(o.groups >= 1)) throw new UsageError(`--groups must be at least 1`);
  if (o.service !== 'mixed' && !SERVICE_NAMES.includes(o.service)) {
    throw new UsageError(`--service must be one of ${SERVICE_NAMES.join(', ')} or mixed, not ${o.service}`);
  }
}

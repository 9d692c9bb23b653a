// The deterministic simulator: a fake clock, a seeded in-memory network, and one protocol core
// (membership + ordering) per simulated daemon, with crashes, restarts, partitions and
// asymmetric loss drawn from the seed. The same options give byte-identical logs.
import { MembershipCore } from '../core/membership/membership';
import type { CoreOutput, CoreTimer, MembershipTimeouts } from '../core/membership/types';
import type { RingOptions } from '../core/ring/types';
import { Service, SERVICE_NAMES, serviceName, type ServiceName } from '../core/service';
import { UsageError } from '../errors';
import type { LogEntry } from './deliveryLog';
import { EventQueue } from './eventQueue';
import { DEFAULT_LINK, ReplayCapture, SimNetwork } from './network';
import { Rng } from './rng';
import { planFaults, planLinkFaults, type FaultEvent, type FaultPlan } from './faults';
import { LinkSetCore, MAX_LINKS, type LinkAction, type LinkMode, type LinkSetConfig } from '../link/linkSet';
import { AUTH_KEY_BYTES, DatagramAuth, NONCE_BYTES } from '../wire/auth';
import { fnv1a32 } from '../config/hash';

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
  /** Daemon crashes (kill -9) during the run. */
  crashes: number;
  /** Of the crashed daemons, how many come back (new incarnation). */
  restarts: number;
  /** Network partitions during the run (they may overlap), each healed later. */
  partitions: number;
  /** Links that lose this much more in one direction only, for part of the run. */
  asymmetric: number;
  /** Give up (and report the run as failed) after this much simulated time. */
  maxTimeMs: number;
  ring: Partial<RingOptions>;
  timeouts: Partial<MembershipTimeouts>;
  /** Faults at given times instead of drawn ones (crash/restart: daemon; partition: sides). */
  schedule?: ScheduledFault[];
  logDir?: string;
  /**
   * Networks (multipath): 1 = one network and no link layer (as before links existed); more =
   * each daemon's datagrams go through a LinkSetCore (src/link/linkSet.ts) over that many
   * networks, each with its own loss, delay and faults.
   */
  links: number;
  linkMode: LinkMode;
  /** Drawn multipath faults (links > 1): a network, or one host's interface on it, down for a while. */
  linkDowns: number;
  /** Drawn multipath faults: one network losing 20–90% in one direction between two daemons for a while. */
  linkLossy: number;
  /** Drawn multipath faults: one network delayed by linkDelayMs for a while. */
  linkDelays: number;
  linkDelayMs: number;
  /** Heartbeat and window settings of the link sets (defaults: LinkSetCore's). */
  linkTuning?: Pick<LinkSetConfig, 'pingIntervalMs' | 'deadMs' | 'upPongs' | 'window' | 'failoverResend'>;
  /** Every datagram sealed and checked as the daemons do with AuthKeyFile (src/wire/auth.ts). */
  auth: 'off' | 'mac' | 'encrypt';
  /** Daemons whose key differs from the others' (each its own); needs auth. */
  wrongKey: number[];
  /** Daemons without a key among keyed ones; needs auth. */
  noKey: number[];
  /**
   * Probability, per datagram sent, that a datagram recorded earlier in the run (any ring, any
   * life: see ReplayCapture) is sent again, unchanged, to a random daemon.
   */
  replay: number;
}

export type ScheduledFault =
  | { time: number; kind: 'crash' | 'restart' | 'stop'; daemon: number }
  | { time: number; kind: 'partition'; index: number; sides: number[][] }
  | { time: number; kind: 'heal'; index: number }
  | { time: number; kind: 'lossy'; from: number; to: number; loss: number }
  | { time: number; kind: 'lossless'; from: number; to: number }
  | { time: number; kind: 'linkDown' | 'linkUp'; link: number; host?: number }
  | { time: number; kind: 'linkLossy'; link: number; from: number; to: number; loss: number }
  | { time: number; kind: 'linkLossless'; link: number; from: number; to: number }
  | { time: number; kind: 'linkDelay'; link: number; ms: number }
  | { time: number; kind: 'linkUndelay'; link: number };

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
  crashes: 0,
  restarts: 0,
  partitions: 0,
  asymmetric: 0,
  maxTimeMs: 600_000,
  ring: {},
  timeouts: {},
  links: 1,
  linkMode: 'active',
  linkDowns: 0,
  linkLossy: 0,
  linkDelays: 0,
  linkDelayMs: 200,
  auth: 'off',
  wrongKey: [],
  noKey: [],
  replay: 0,
};

/** What authentication did in a run with auth (summed over daemons and lives). */
export interface AuthSimStats {
  sealed: number;
  verified: number;
  /** Datagrams that failed the check and were dropped. */
  dropped: number;
  /** Datagrams accepted by a daemon whose key differs from the sender's: must stay 0. */
  acceptedAcrossKeys: number;
}

/** What the link layer did in a multipath run (links > 1). */
export interface LinkSimStats {
  links: number;
  mode: LinkMode;
  /** Datagrams lost to a down network or interface. */
  droppedDown: number;
  /** Copies dropped by the receivers' duplicate windows (within / before the window). */
  duplicates: number;
  tooOld: number;
  /** Datagrams sent again on passive failover. */
  resent: number;
  /** Link up/down events over all daemons. */
  ups: number;
  downs: number;
  /** Send errors reported by an interface that was down. */
  sendErrors: number;
  /**
   * Every pair of daemons kept, throughout, one network that was up at both ends, not delayed
   * more than 5 ms and losing at most half in each direction.
   */
  connected: boolean;
}

/** What one simulated run did; the invariant check is separate (see ./run). */
export interface SimStats {
  seed: number;
  daemons: number;
  messagesSent: number;
  deliveredPerDaemon: Record<string, number>;
  payloadErrors: string[];
  /** The run hit maxTimeMs (or ran out of events) before it settled. */
  stalled: boolean;
  simTimeMs: number;
  tokenRotations: number;
  packets: { sent: number; dropped: number; duplicated: number; reordered: number };
  retransmissions: number;
  tokenRetransmits: number;
  configurations: number;
  faults: string[];
  events: number;
  /** Multipath runs only. */
  links?: LinkSimStats;
  /** Runs with auth only. */
  auth?: AuthSimStats;
  /** Runs with replay only. */
  replays?: ReplaySimStats;
}

export interface ReplaySimStats {
  /** Datagrams replayed. */
  sent: number;
  /** Of those, recorded before the latest regular configuration (of earlier rings, mostly). */
  earlierRing: number;
  /** Of those, sent by an earlier life of a restarted daemon. */
  earlierLife: number;
}

export interface SimRun {
  stats: SimStats;
  logs: Map<string, LogEntry[]>;
  /** Log names of daemons that crashed at some point. */
  crashed: Set<string>;
  /** Log names of the daemons up at the end. */
  live: string[];
  faultFree: boolean;
}

type SimEvent =
  | { time: number; order: number; kind: 'recv'; node: number; life: number; data: Buffer; link?: number; from?: number }
  | { time: number; order: number; kind: 'linktick'; node: number; life: number }
  | { time: number; order: number; kind: 'linkerr'; node: number; life: number; link: number; to: number }
  | { time: number; order: number; kind: 'timer'; node: number; life: number; timer: CoreTimer; gen: number }
  | { time: number; order: number; kind: 'submit' }
  | { time: number; order: number; kind: 'fault'; fault: FaultEvent };

interface SimDaemon {
  id: number;
  name: string;
  core: MembershipCore;
  alive: boolean;
  /** Incarnation: 1, then one more for each restart. */
  life: number;
  timerGen: Map<CoreTimer, number>;
  log: LogEntry[];
  sent: number;
  delivered: number;
  rotations: number;
  retransmits: number;
  tokenRetransmits: number;
  /** Multipath runs: this life's link set. */
  linkSet?: LinkSetCore;
  /** Runs with auth: this life's sealer (null: this daemon has no key). */
  auth: DatagramAuth | null;
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
  private readonly plan: FaultPlan;
  private readonly workload: Rng;
  private readonly ids: number[];
  /** Active partitions: each maps a daemon id to its side. */
  private readonly partitions = new Map<number, Map<number, number>>();
  private readonly crashed = new Set<string>();
  /** Every life's log, in order of creation: a restarted daemon is a new process to the checker. */
  private readonly logs = new Map<string, LogEntry[]>();
  private now = 0;
  private submitted = 0;
  private configurations = 0;
  private faultsDone = 0;
  /** Multipath runs: one network per link (nets[0] is `net`), and their faults. */
  private readonly nets: SimNetwork[];
  /** Episodes in force (they may overlap): a link is down while any is. */
  private readonly linkDownAll: number[] = [];
  private readonly hostLinkDown = new Map<string, number>();
  private readonly linkExtraMs: number[] = [];
  private readonly linkDelayCount: number[] = [];
  private readonly linkLoss = new Map<string, number>();
  private readonly linkLossCount = new Map<string, number>();
  private linkStats: LinkSimStats | undefined;
  private readonly authStats: AuthSimStats | undefined;
  /** Runs with auth: fresh nonces for each life, from the seed. */
  private readonly authRng: Rng | undefined;
  private readonly capture: ReplayCapture | undefined;
  private readonly replayRng: Rng | undefined;
  private readonly replays: ReplaySimStats = { sent: 0, earlierRing: 0, earlierLife: 0 };

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
    this.ids = Array.from({ length: this.opts.daemons }, (_, i) => i + 1);
    const duration = Math.max(1, this.opts.messages / this.opts.rate);
    this.plan = this.opts.schedule ? scheduled(this.opts.schedule) : planFaults(this.rng.fork(3), this.ids, this.opts, duration);
    this.nets = [this.net];
    if (this.opts.links > 1) {
      // Forks after the ones above, so a one-link run draws exactly what it always did.
      const linkRng = this.rng.fork(4);
      for (let l = 1; l < this.opts.links; l++) {
        this.nets.push(new SimNetwork(this.rng.fork(16 + l), this.net.link(0, 0)));
      }
      for (let l = 0; l < this.opts.links; l++) {
        this.linkDownAll.push(0);
        this.linkExtraMs.push(0);
        this.linkDelayCount.push(0);
      }
      if (!this.opts.schedule) {
        const extra = planLinkFaults(linkRng, this.ids, this.opts.links, this.opts, duration);
        const events = [...this.plan.events, ...extra].sort((a, b) => a.time - b.time);
        this.plan = { events, endMs: events.length ? events[events.length - 1].time : 0 };
      }
      this.linkStats = {
        links: this.opts.links,
        mode: this.opts.linkMode,
        droppedDown: 0,
        duplicates: 0,
        tooOld: 0,
        resent: 0,
        ups: 0,
        downs: 0,
        sendErrors: 0,
        connected: true,
      };
    }
    if (this.opts.auth !== 'off') {
      this.authRng = this.rng.fork(5);
      this.authStats = { sealed: 0, verified: 0, dropped: 0, acceptedAcrossKeys: 0 };
    }
    if (this.opts.replay > 0) {
      this.replayRng = this.rng.fork(6);
      this.capture = new ReplayCapture(this.replayRng.fork(1));
    }
    for (const id of this.ids) {
      const d: SimDaemon = {
        id,
        name: `d${id}`,
        core: this.makeCore(id, 1),
        auth: this.makeAuth(id),
        alive: true,
        life: 1,
        timerGen: new Map(),
        log: [],
        sent: 0,
        delivered: 0,
        rotations: 0,
        retransmits: 0,
        tokenRetransmits: 0,
      };
      this.daemons.push(d);
      this.byId.set(id, d);
      this.logs.set(d.name, d.log);
    }
  }

  /** Which key a daemon holds: 'main', its own wrong one, or none. */
  private keyOf(id: number): string | null {
    if (this.opts.auth === 'off' || this.opts.noKey.includes(id)) return null;
    return this.opts.wrongKey.includes(id) ? `wrong key of d${id}` : 'main';
  }

  private makeAuth(id: number): DatagramAuth | null {
    const key = this.keyOf(id);
    if (key === null) return null;
    // Keys follow from the seed and the key's name; nonces from the seed and the life.
    const bytes = Buffer.alloc(AUTH_KEY_BYTES);
    const k = new Rng((this.opts.seed ^ fnv1a32(key)) >>> 0);
    for (let i = 0; i < AUTH_KEY_BYTES; i += 4) bytes.writeUInt32BE(k.nextU32(), i);
    const nonce = Buffer.alloc(NONCE_BYTES);
    for (let i = 0; i < NONCE_BYTES; i += 4) nonce.writeUInt32BE(this.authRng!.nextU32(), i);
    return new DatagramAuth(bytes, { encrypt: this.opts.auth === 'encrypt', firstNonce: nonce });
  }

  /** The bytes a daemon puts on the wire for a datagram (sealed when it has a key). */
  private seal(d: SimDaemon, data: Buffer, more: Buffer | null = null): Buffer {
    if (!d.auth) return more ? Buffer.concat([data, more]) : data;
    this.authStats!.sealed++;
    return d.auth.sealToBuffer(data, more);
  }

  /** What a daemon makes of bytes off the wire: the datagram, or null when it fails authentication. */
  private unseal(d: SimDaemon, bytes: Buffer, from: number | undefined): Buffer | null {
    if (!d.auth) return bytes; // no key: a sealed datagram fails the core's header check instead
    const body = d.auth.open(bytes);
    if (!body) this.authStats!.dropped++;
    else {
      this.authStats!.verified++;
      if (from !== undefined && this.keyOf(from) !== this.keyOf(d.id)) this.authStats!.acceptedAcrossKeys++;
    }
    return body;
  }

  /** Records a datagram on the wire for replay, and now and then replays a recorded one. */
  private onWire(from: number, bytes: Buffer, link?: number): void {
    if (!this.capture) return;
    const life = this.byId.get(from)!.life;
    this.capture.record({ from, life, era: this.configurations, data: bytes, ...(link === undefined ? {} : { link }) });
    const r = this.replayRng!;
    if (!r.chance(this.opts.replay)) return;
    const old = this.capture.pick();
    const dest = this.byId.get(r.pick(this.ids))!;
    if (!old || !dest.alive) return;
    this.replays.sent++;
    if (old.era < this.configurations) this.replays.earlierRing++;
    if (old.life < this.byId.get(old.from)!.life) this.replays.earlierLife++;
    const delay = this.opts.latencyMs + r.next() * DEFAULT_LINK.reorderMs;
    this.queue.push({ time: this.now + delay, kind: 'recv', node: dest.id, life: dest.life, data: old.data, from: old.from, ...(old.link === undefined ? {} : { link: old.link }) });
  }

  private makeCore(id: number, life: number): MembershipCore {
    return new MembershipCore(
      { myId: id, incarnation: life, universe: this.ids, configHash: CONFIG_HASH, ringSeqFloor: Math.floor(this.now * 1000) },
      { ring: this.opts.ring, timeouts: this.opts.timeouts },
    );
  }

  run(): SimRun {
    if (this.linkStats) for (const d of this.daemons) this.startLinks(d);
    for (const d of this.daemons) this.apply(d, d.core.step({ kind: 'start' }));
    if (this.opts.messages > 0) this.queue.push({ time: 0, kind: 'submit' });
    for (const f of this.plan.events) this.queue.push({ time: f.time, kind: 'fault', fault: f });

    let stalled = false;
    let events = 0;
    for (;;) {
      if (events % 256 === 0 && this.settled()) break;
      const ev = this.queue.pop();
      if (!ev || ev.time > this.opts.maxTimeMs) {
        stalled = !this.settled();
        break;
      }
      this.now = ev.time;
      events++;
      this.dispatch(ev);
    }

    const logs = this.logs;
    const stats: SimStats = {
      seed: this.opts.seed,
      daemons: this.opts.daemons,
      messagesSent: this.submitted,
      deliveredPerDaemon: Object.fromEntries(this.daemons.map((d) => [this.senderName(d.id, d.life), d.delivered])),
      payloadErrors: this.payloadErrors.slice(0, 10),
      stalled,
      simTimeMs: Math.round(this.now * 1000) / 1000,
      tokenRotations: this.daemons.reduce((n, d) => n + d.rotations + (d.core.ringCore?.counters.rotations ?? 0), 0),
      packets: { ...this.net.counters },
      retransmissions: this.daemons.reduce((n, d) => n + d.retransmits + (d.core.ringCore?.counters.retransmitsSent ?? 0), 0),
      tokenRetransmits: this.daemons.reduce((n, d) => n + d.tokenRetransmits + (d.core.ringCore?.counters.tokenRetransmits ?? 0), 0),
      configurations: this.configurations,
      faults: this.plan.events.map((f) => f.describe),
      events,
    };
    if (this.linkStats) {
      const ls = this.linkStats;
      for (const net of this.nets.slice(1)) {
        for (const k of ['sent', 'dropped', 'duplicated', 'reordered'] as const) stats.packets[k] += net.counters[k];
      }
      for (const d of this.daemons) this.collectLinkStats(d);
      stats.links = { ...ls };
    }
    if (this.authStats) stats.auth = { ...this.authStats };
    if (this.capture) stats.replays = { ...this.replays };
    // Daemons with another key (or none) are cut off from the rest for good: not "connected"
    // for liveness, and the run is not fault-free. Nor is one with replays: an old copy of a
    // formation's packets can fail that formation, as a long-delayed datagram can.
    const live = this.daemons.filter((d) => d.alive && this.keyOf(d.id) === this.keyOf(1)).map((d) => this.senderName(d.id, d.life));
    const apart = this.opts.wrongKey.length + this.opts.noKey.length > 0;
    return { stats, logs, crashed: this.crashed, live, faultFree: this.plan.events.length === 0 && !apart && this.opts.replay === 0 };
  }

  /**
   * Done when the workload and the faults are over, every live daemon is operational in one
   * ring, and each has sequenced and delivered everything there is. Daemons with different
   * keys cannot reach each other: each key's daemons settle in their own ring.
   */
  private settled(): boolean {
    if (this.submitted < this.opts.messages || this.faultsDone < this.plan.events.length) return false;
    const rings = new Map<string | null, { ring: string; high: number }>();
    for (const d of this.daemons) {
      if (!d.alive) continue;
      const r = d.core.currentRing;
      if (!r || d.core.backlog > 0) return false;
      const key = `${r.ringSeq}.${r.ringRep}.${r.members.join(',')}`;
      const group = this.keyOf(d.id);
      const live = this.daemons.filter((x) => x.alive && this.keyOf(x.id) === group).map((x) => x.id);
      if (r.members.length !== live.length) return false;
      const p = d.core.ringCore!.progress;
      if (p.delivered !== p.highSeq || p.safe !== p.highSeq) return false;
      const seen = rings.get(group);
      if (!seen) rings.set(group, { ring: key, high: p.highSeq });
      else if (seen.ring !== key || seen.high !== p.highSeq) return false;
    }
    return rings.size > 0;
  }

  private dispatch(ev: SimEvent): void {
    switch (ev.kind) {
      case 'recv': {
        const d = this.byId.get(ev.node)!;
        if (!d.alive || d.life !== ev.life) return;
        if (ev.link !== undefined) {
          if (this.linkCut(ev.link, ev.from!, ev.node)) {
            this.linkStats!.droppedDown++;
            return;
          }
          const datagram = this.unseal(d, ev.data, ev.from);
          if (datagram) this.carryLinks(d, d.linkSet!.receive(this.now, ev.from!, ev.link, datagram));
          return;
        }
        const packet = this.unseal(d, ev.data, ev.from);
        if (packet) this.apply(d, d.core.step({ kind: 'packet', data: packet }));
        break;
      }
      case 'linktick': {
        const d = this.byId.get(ev.node)!;
        if (!d.alive || d.life !== ev.life) return;
        this.carryLinks(d, d.linkSet!.tick(this.now));
        this.scheduleLinkTick(d);
        break;
      }
      case 'linkerr': {
        const d = this.byId.get(ev.node)!;
        if (!d.alive || d.life !== ev.life) return;
        this.linkStats!.sendErrors++;
        this.carryLinks(d, d.linkSet!.sendFailed(this.now, ev.link, ev.to, true));
        break;
      }
      case 'timer': {
        const d = this.byId.get(ev.node)!;
        if (!d.alive || d.life !== ev.life || d.timerGen.get(ev.timer) !== ev.gen) return;
        this.apply(d, d.core.step({ kind: 'timer', timer: ev.timer }));
        break;
      }
      case 'submit':
        this.submitOne();
        break;
      case 'fault':
        this.applyFault(ev.fault);
        break;
    }
  }

  private applyFault(f: FaultEvent): void {
    this.faultsDone++;
    switch (f.kind) {
      case 'stop':
      case 'crash': {
        const d = this.byId.get(f.daemon)!;
        if (!d.alive) return;
        if (f.kind === 'stop') this.apply(d, d.core.step({ kind: 'leave' }));
        const rc = d.core.ringCore?.counters;
        if (rc) {
          d.rotations += rc.rotations;
          d.retransmits += rc.retransmitsSent;
          d.tokenRetransmits += rc.tokenRetransmits;
        }
        d.alive = false;
        this.crashed.add(this.senderName(d.id, d.life));
        break;
      }
      case 'restart': {
        const d = this.byId.get(f.daemon)!;
        if (d.alive) return;
        d.life++;
        d.alive = true;
        d.sent = 0;
        d.delivered = 0;
        d.log = [];
        const name = this.senderName(d.id, d.life);
        this.logs.set(name, d.log);
        d.timerGen = new Map();
        d.core = this.makeCore(d.id, d.life);
        d.auth = this.makeAuth(d.id);
        if (this.linkStats) {
          this.collectLinkStats(d);
          this.startLinks(d);
        }
        this.apply(d, d.core.step({ kind: 'start' }));
        break;
      }
      case 'partition':
        this.partitions.set(f.index, new Map(f.sides!.flatMap((side, i) => side.map((id) => [id, i] as [number, number]))));
        break;
      case 'heal':
        this.partitions.delete(f.index);
        break;
      case 'lossy':
        this.net.setLink(f.from!, f.to!, { loss: f.loss! });
        break;
      case 'lossless':
        this.net.setLink(f.from!, f.to!, { loss: this.opts.loss });
        break;
      case 'linkDown':
      case 'linkUp': {
        const step = f.kind === 'linkDown' ? 1 : -1;
        if (f.host === undefined) this.linkDownAll[f.link!] = Math.max(0, this.linkDownAll[f.link!] + step);
        else {
          const key = `${f.host}/${f.link}`;
          const n = Math.max(0, (this.hostLinkDown.get(key) ?? 0) + step);
          if (n > 0) this.hostLinkDown.set(key, n);
          else this.hostLinkDown.delete(key);
        }
        this.checkConnected();
        break;
      }
      case 'linkLossy':
      case 'linkLossless': {
        const key = `${f.link}/${f.from}>${f.to}`;
        const n = Math.max(0, (this.linkLossCount.get(key) ?? 0) + (f.kind === 'linkLossy' ? 1 : -1));
        this.linkLossCount.set(key, n);
        if (f.kind === 'linkLossy') {
          const loss = Math.max(f.loss!, this.linkLoss.get(key) ?? 0);
          this.nets[f.link!].setLink(f.from!, f.to!, { loss });
          this.linkLoss.set(key, loss);
        } else if (n === 0) {
          this.nets[f.link!].setLink(f.from!, f.to!, { loss: this.opts.loss });
          this.linkLoss.delete(key);
        }
        this.checkConnected();
        break;
      }
      case 'linkDelay':
      case 'linkUndelay': {
        const l = f.link!;
        this.linkDelayCount[l] = Math.max(0, this.linkDelayCount[l] + (f.kind === 'linkDelay' ? 1 : -1));
        if (f.kind === 'linkDelay') this.linkExtraMs[l] = Math.max(this.linkExtraMs[l], f.ms!);
        else if (this.linkDelayCount[l] === 0) this.linkExtraMs[l] = 0;
        this.checkConnected();
        break;
      }
    }
  }

  // ---- multipath ------------------------------------------------------------------------------

  private startLinks(d: SimDaemon): void {
    d.linkSet = new LinkSetCore(
      { self: d.id, peers: this.ids, links: this.opts.links, mode: this.opts.linkMode, epoch: d.life, ...(this.opts.linkTuning ?? {}) },
      this.now,
    );
    this.scheduleLinkTick(d);
  }

  private scheduleLinkTick(d: SimDaemon): void {
    const next = d.linkSet!.nextTickAt();
    if (Number.isFinite(next)) this.queue.push({ time: Math.max(next, this.now), kind: 'linktick', node: d.id, life: d.life });
  }

  /** Adds a life's link counters to the run's (once: at restart, or at the end). */
  private collectLinkStats(d: SimDaemon): void {
    const ls = this.linkStats!;
    const st = d.linkSet?.status(this.now);
    if (!st) return;
    ls.resent += st.counters.resent;
    for (const p of st.peers) {
      for (const l of p.links) {
        ls.duplicates += l.duplicates;
        ls.tooOld += l.tooOld;
      }
    }
    d.linkSet = undefined;
  }

  private carryLinks(d: SimDaemon, actions: LinkAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'transmit':
          this.linkTransmit(d, a.to, a.link, a.header, a.data);
          break;
        case 'deliver':
          if (d.alive) this.apply(d, d.core.step({ kind: 'packet', data: a.data }));
          break;
        case 'event':
          if (a.event.kind === 'up') this.linkStats!.ups++;
          else this.linkStats!.downs++;
          break;
      }
    }
  }

  /** Is the network `link` cut between these two (at either end, or for everyone)? */
  private linkCut(link: number, from: number, to: number): boolean {
    return this.linkDownAll[link] > 0 || this.hostLinkDown.has(`${from}/${link}`) || this.hostLinkDown.has(`${to}/${link}`);
  }

  private linkTransmit(d: SimDaemon, to: number, link: number, header: Buffer, data: Buffer | null): void {
    const from = d.id;
    if (this.hostLinkDown.has(`${from}/${link}`)) {
      // Our own interface is down: the send fails at once (ENETUNREACH).
      this.queue.push({ time: this.now, kind: 'linkerr', node: from, life: d.life, link, to });
      return;
    }
    if (this.blocked(from, to)) return;
    const dest = this.byId.get(to);
    if (!dest) return;
    if (this.linkCut(link, from, to)) {
      this.linkStats!.droppedDown++;
      return;
    }
    const bytes = this.seal(d, header, data);
    this.onWire(from, bytes, link);
    const extra = this.linkExtraMs[link];
    for (const delay of this.nets[link].transmit(from, to)) {
      this.queue.push({ time: this.now + delay + extra, kind: 'recv', node: to, life: dest.life, data: bytes, link, from });
    }
  }

  /** After a link fault: does every pair still have a good network? Once not, the run is not "connected". */
  private checkConnected(): void {
    const ls = this.linkStats!;
    if (!ls.connected) return;
    const good = (l: number, a: number, b: number) =>
      !this.linkCut(l, a, b) &&
      this.linkExtraMs[l] <= 5 &&
      (this.linkLoss.get(`${l}/${a}>${b}`) ?? 0) <= 0.5 &&
      (this.linkLoss.get(`${l}/${b}>${a}`) ?? 0) <= 0.5;
    for (const a of this.ids) {
      for (const b of this.ids) {
        if (a >= b) continue;
        let any = false;
        for (let l = 0; l < this.opts.links && !any; l++) any = good(l, a, b);
        if (!any) {
          ls.connected = false;
          return;
        }
      }
    }
  }

  private submitOne(): void {
    const w = this.workload;
    const svc = this.opts.service === 'mixed' ? w.pick(SERVICE_NAMES) : this.opts.service;
    const [lo, hi] = this.sizeRange;
    const size = lo === hi ? lo : Math.min(hi, Math.floor(Math.exp(Math.log(lo) + w.next() * (Math.log(hi + 1) - Math.log(lo)))));
    const ngroups = w.int(1, Math.min(3, this.groupNames.length));
    const groups: string[] = [];
    while (groups.length < ngroups) {
      const g = w.pick(this.groupNames);
      if (!groups.includes(g)) groups.push(g);
    }
    const d = this.daemons[w.int(0, this.daemons.length - 1)];
    if (d.alive) {
      // Cores number their messages from 1 in submission order, per incarnation.
      const payload = makePayload(d.id * 64 + d.life, d.sent + 1, size);
      this.apply(d, d.core.step({ kind: 'submit', service: Service[svc], groups, payload }));
    }
    this.submitted++;
    if (this.submitted < this.opts.messages) {
      this.queue.push({ time: this.now + w.next() * (2 / this.opts.rate), kind: 'submit' });
    }
  }

  /** The log name of a daemon's incarnation: "d3" first, "d3@2" after a restart. */
  private senderName(id: number, life: number): string {
    const d = this.byId.get(id);
    const base = d ? d.name : `?${id}`;
    return life <= 1 ? base : `${base}@${life}`;
  }

  private apply(d: SimDaemon, outs: CoreOutput[]): void {
    for (const o of outs) {
      switch (o.kind) {
        case 'mcast': {
          // Sealed once for all receivers, as AuthenticatedTransport does (the link set seals per datagram).
          const bytes = this.linkStats ? o.data : this.seal(d, o.data);
          for (const to of o.to) this.transmit(d.id, to, bytes);
          break;
        }
        case 'send':
          this.transmit(d.id, o.to, this.linkStats ? o.data : this.seal(d, o.data));
          break;
        case 'deliver': {
          const m = o.msg;
          const id = `${this.senderName(m.origin, m.originIncarnation)}#${m.counter}`;
          if (!checkPayload(m.origin * 64 + m.originIncarnation, m.counter, m.payload)) {
            this.payloadErrors.push(`${d.name} delivered ${id} with wrong content (${m.payload.length} bytes)`);
          }
          d.log.push({ t: 'msg', id, svc: serviceName(m.service) ?? 'AGREED', groups: m.groups, len: m.payload.length });
          d.delivered++;
          break;
        }
        case 'submitted':
          d.sent++;
          d.log.push({ t: 'sent', id: `${this.senderName(d.id, d.life)}#${o.counter}`, svc: serviceName(o.service) ?? 'AGREED' });
          break;
        case 'configuration': {
          const c = o.conf;
          if (c.kind === 'regular') this.configurations++;
          d.log.push({
            t: 'conf',
            kind: c.kind,
            ring: `${c.ringSeq}.${this.byId.get(c.ringRep)?.name ?? c.ringRep}`,
            members: c.members.map((m, i) => this.senderName(m, c.incarnations[i])),
          });
          break;
        }
        case 'setTimer': {
          const gen = (d.timerGen.get(o.timer) ?? 0) + 1;
          d.timerGen.set(o.timer, gen);
          this.queue.push({ time: this.now + o.ms, kind: 'timer', node: d.id, life: d.life, timer: o.timer, gen });
          break;
        }
        case 'cancelTimer':
          d.timerGen.set(o.timer, (d.timerGen.get(o.timer) ?? 0) + 1);
          break;
      }
    }
  }

  private blocked(from: number, to: number): boolean {
    for (const sides of this.partitions.values()) if (sides.get(from) !== sides.get(to)) return true;
    return false;
  }

  private transmit(from: number, to: number, data: Buffer): void {
    if (this.linkStats) {
      const d = this.byId.get(from)!;
      this.carryLinks(d, d.linkSet!.send(this.now, to, data));
      return;
    }
    if (this.blocked(from, to)) return;
    const dest = this.byId.get(to);
    if (!dest) return;
    this.onWire(from, data);
    for (const delay of this.net.transmit(from, to)) {
      this.queue.push({ time: this.now + delay, kind: 'recv', node: to, life: dest.life, data, from });
    }
  }
}

function scheduled(faults: ScheduledFault[]): FaultPlan {
  const events: FaultEvent[] = faults
    .map((f) => ({ daemon: 0, index: 0, ...f, describe: `${f.time}ms ${f.kind} ${JSON.stringify(f)}` }))
    .sort((a, b) => a.time - b.time);
  return { events, endMs: events.length ? events[events.length - 1].time : 0 };
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
  for (const k of ['crashes', 'restarts', 'partitions', 'asymmetric'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new UsageError(`--${k} must be a whole number ≥ 0, not ${o[k]}`);
  }
  if (o.restarts > o.crashes) throw new UsageError(`--restarts (${o.restarts}) cannot exceed --crashes (${o.crashes})`);
  if (!Number.isInteger(o.links) || o.links < 1 || o.links > MAX_LINKS) throw new UsageError(`--links must be 1–${MAX_LINKS}, not ${o.links}`);
  if (o.linkMode !== 'active' && o.linkMode !== 'passive') throw new UsageError(`--link-mode must be active or passive, not ${o.linkMode}`);
  for (const k of ['linkDowns', 'linkLossy', 'linkDelays'] as const) {
    if (!Number.isInteger(o[k]) || o[k] < 0) throw new UsageError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} must be a whole number ≥ 0, not ${o[k]}`);
    if (o[k] > 0 && o.links < 2) throw new UsageError('link faults need --links 2 or more');
  }
  if (!(o.linkDelayMs >= 0)) throw new UsageError(`--link-delay must be ≥ 0 ms, not ${o.linkDelayMs}`);
  if (o.links < 2 && o.schedule?.some((f) => f.kind.startsWith('link'))) throw new UsageError('link faults need links ≥ 2');
  if (o.auth !== 'off' && o.auth !== 'mac' && o.auth !== 'encrypt') throw new UsageError(`--auth must be off, mac or encrypt, not ${o.auth}`);
  for (const k of ['wrongKey', 'noKey'] as const) {
    if (o[k].length > 0 && o.auth === 'off') throw new UsageError(`${k} needs auth (mac or encrypt)`);
    if (o[k].some((id) => !Number.isInteger(id) || id < 1 || id > o.daemons)) throw new UsageError(`${k} lists daemons 1–${o.daemons}, not ${o[k].join(',')}`);
  }
  if (o.wrongKey.includes(1) || o.noKey.includes(1)) throw new UsageError('daemon 1 holds the main key: wrongKey and noKey list others');
  if (!(o.replay >= 0 && o.replay <= 1)) throw new UsageError(`--replay must be a probability in [0, 1], not ${o.replay}`);
  if (o.service !== 'mixed' && !SERVICE_NAMES.includes(o.service)) {
    throw new UsageError(`--service must be one of ${SERVICE_NAMES.join(', ')} or mixed, not ${o.service}`);
  }
}


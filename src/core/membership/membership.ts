// The daemon's protocol core: membership with Extended Virtual Synchrony around the ordering
// core, as one pure state machine (Totem's gather / commit / recovery, shaped by Spread's EVS).
//
// - Operational: a RingCore orders messages. No token for tokenLossMs (confirmed once more after
//   tokenLossConfirmMs, so a merely busy daemon reads its queued packets first) → gather.
// - Gather: JOIN messages carry the sets of daemons each one knows (procs) and has given up on
//   (fails). Sets only grow; daemons silent for consensusMs go to fails. Consensus: every live
//   daemon's last join shows exactly our sets. The lowest id then sends the commit token.
// - Commit: the token goes round twice: first each member writes what it holds of its old ring
//   (ring id, aru, highest seq, safe line), then everyone learns all of it.
// - Recovery: on the new ring each member multicasts, as ordinary new-ring messages, the old-ring
//   packets its old-ring companions may lack, then a DONE marker. When every member's DONE is
//   delivered (one point of the new ring's total order, the same for all), everyone who came
//   from the same old ring holds the same old packets: deliver what is left of the old ring
//   (contiguous part in the old regular configuration, the rest after the transitional
//   configuration), then install the regular configuration. Messages submitted meanwhile wait.
// - Merge: a ring's representative sends PROBE to daemons outside its ring; hearing one (or a
//   JOIN) from outside sends a ring to gather, and the two rings become one.
import {
  HEADER_SIZE,
  HeaderOffset,
  PacketType,
  WireError,
  decodeHeader,
  encodeBare,
  type PacketHeader,
  type Stamp,
} from '../../wire/packet';
import { decodeCommit, decodeJoin, encodeCommit, encodeJoin, type Commit, type CommitEntry, type Join } from '../../wire/membership';
import { RingCore } from '../ring/ring';
import type { RingCounters, RingOutput, SubmitRequest } from '../ring/types';
import {
  DEFAULT_TIMEOUTS,
  RecoveryService,
  type CoreIdentity,
  type CoreInput,
  type CoreOptions,
  type CoreOutput,
  type CoreTimer,
  type MembershipState,
  type MembershipTimeouts,
} from './types';

interface RingInfo {
  ringSeq: number;
  ringRep: number;
  members: number[];
  incarnations: number[];
}

interface Formation {
  ringSeq: number;
  ringRep: number;
  members: number[];
  /** Highest commit-token sequence seen for this formation. */
  tokenSeq: number;
  lastSent: Buffer | null;
  started: boolean;
}

export interface MembershipCounters {
  gathers: number;
  tokenLosses: number;
  ringsInstalled: number;
  malformedPackets: number;
  foreignPackets: number;
  staleMembershipPackets: number;
}

/** Adds `from`'s counters into `into` (a missing one counts from zero). */
function addCounters(into: Partial<RingCounters>, from: Readonly<RingCounters> | undefined): void {
  if (!from) return;
  for (const k of Object.keys(from) as (keyof RingCounters)[]) into[k] = (into[k] ?? 0) + from[k];
}

export class MembershipCore {
  readonly id: CoreIdentity;
  readonly timeouts: MembershipTimeouts;
  readonly counters: MembershipCounters = {
    gathers: 0,
    tokenLosses: 0,
    ringsInstalled: 0,
    malformedPackets: 0,
    foreignPackets: 0,
    staleMembershipPackets: 0,
  };
  private readonly ringOptions: CoreOptions['ring'];
  private readonly others: number[];
  private readonly universe: Set<number>;
  /** The members of the ring we run, less ourselves (where its multicasts go). */
  private ringPeers: number[] = [];

  private state: MembershipState = 'gather';
  /** The ring being operated or recovered onto. */
  private ring: RingCore | null = null;
  private ringInfo: RingInfo | null = null;
  /** The ring we came from, kept (frozen) until the next one is installed. */
  private oldRing: RingCore | null = null;
  private oldInfo: RingInfo | null = null;

  private nextCounter = 1;
  private queue: SubmitRequest[] = [];
  private maxRingSeq: number;
  /** No commit token for a ring at or below this is taken (abandoned or installed formations). */
  private closedRingSeq = 0;
  private readonly incarnations = new Map<number, number>();

  // gather
  private procs = new Set<number>();
  private fails = new Set<number>();
  private joins = new Map<number, Join>();
  private heard = new Set<number>();
  private consensusAllowed = false;

  // commit / recovery
  private formation: Formation | null = null;
  private transitional: CommitEntry[] = [];
  /** Members we completed (but did not install) a recovery of our old ring with. */
  private recoveredWith = new Set<number>();
  private doneFrom = new Set<number>();

  private tokensSeen = 0;
  private out: CoreOutput[] = [];
  /** Counters of the rings given up (see ringTotals). */
  private readonly retiredRingCounters: Partial<RingCounters> = {};

  constructor(identity: CoreIdentity, options: Partial<CoreOptions> = {}) {
    this.id = identity;
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...(options.timeouts ?? {}) };
    this.ringOptions = options.ring ?? {};
    this.others = identity.universe.filter((d) => d !== identity.myId);
    this.universe = new Set(identity.universe);
    this.maxRingSeq = identity.ringSeqFloor;
    this.incarnations.set(identity.myId, identity.incarnation);
  }

  get membershipState(): MembershipState {
    return this.state;
  }

  /** The installed ring (operational), if any. */
  get currentRing(): Readonly<RingInfo> | null {
    return this.state === 'operational' ? this.ringInfo : null;
  }

  get ringCore(): RingCore | null {
    return this.ring;
  }

  /**
   * The ordering counters summed over every ring this core has run. Each ring's own counters
   * start at zero; these never go back, as metrics counters must not. Empty before a first ring.
   */
  get ringTotals(): Partial<RingCounters> {
    const totals = { ...this.retiredRingCounters };
    addCounters(totals, this.ring?.counters);
    if (this.oldRing !== this.ring) addCounters(totals, this.oldRing?.counters);
    return totals;
  }

  /** Messages submitted here and not yet sequenced. */
  get backlog(): number {
    return this.queue.length + (this.state === 'operational' && this.ring ? this.ring.backlog : 0);
  }

  step(input: CoreInput): CoreOutput[] {
    switch (input.kind) {
      case 'start':
        this.enterGather('start');
        break;
      case 'leave': {
        const leave = encodeBare(PacketType.LEAVE, this.stamp(this.ringInfo ?? this.oldInfo));
        this.out.push({ kind: 'mcast', to: this.others, data: leave }, { kind: 'mcast', to: this.others, data: leave });
        break;
      }
      case 'packet':
        this.onPacket(input.data);
        break;
      case 'timer':
        this.onTimer(input.timer);
        break;
      case 'submit':
        this.onSubmit(input);
        break;
    }
    const out = this.out;
    this.out = [];
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Submits and packets

  private onSubmit(req: SubmitRequest): void {
    const counter = req.internal ? 0 : this.nextCounter++;
    const msg: SubmitRequest = { service: req.service, groups: req.groups, payload: req.payload, counter };
    if (this.state === 'operational') {
      this.fromRing(this.ring!.step({ kind: 'submit', ...msg }));
    } else {
      if (counter !== 0) this.out.push({ kind: 'submitted', counter, service: req.service });
      this.queue.push(msg);
    }
  }

  private onPacket(buf: Buffer): void {
    // The hot path: data and tokens of the ring we run go straight to it (it checks the rest).
    const r = this.ringInfo;
    if (
      this.ring &&
      r &&
      buf.length >= HEADER_SIZE &&
      (buf[HeaderOffset.TYPE] === PacketType.DATA || buf[HeaderOffset.TYPE] === PacketType.TOKEN) &&
      buf.readUIntBE(HeaderOffset.RING_SEQ, 6) === r.ringSeq &&
      buf.readUInt32BE(HeaderOffset.RING_REP) === r.ringRep
    ) {
      if (this.formation && this.formation.lastSent) this.confirmCommit(); // the new ring is moving
      this.fromRing(this.ring.step({ kind: 'packet', data: buf }));
      return;
    }
    const h = decodeHeader(buf, this.id.configHash);
    if (h instanceof WireError) {
      this.counters.malformedPackets++;
      return;
    }
    if (h.sender === this.id.myId && h.incarnation !== this.id.incarnation) {
      this.counters.foreignPackets++; // an earlier life of ours, still in the network
      return;
    }
    if (!this.universe.has(h.sender)) {
      this.counters.foreignPackets++;
      return;
    }
    const known = this.incarnations.get(h.sender);
    if (known !== undefined && h.incarnation < known) {
      this.counters.staleMembershipPackets++;
      return;
    }
    if (known === undefined || h.incarnation > known) this.incarnations.set(h.sender, h.incarnation);

    switch (h.type) {
      case PacketType.DATA:
      case PacketType.TOKEN:
      case PacketType.WAKE:
        this.onRingPacket(h, buf);
        break;
      case PacketType.JOIN: {
        const j = decodeJoin(buf);
        if (j instanceof WireError) this.counters.malformedPackets++;
        else this.onJoin(h, j);
        break;
      }
      case PacketType.COMMIT: {
        const c = decodeCommit(buf);
        if (c instanceof WireError) this.counters.malformedPackets++;
        else this.onCommit(h, c, buf);
        break;
      }
      case PacketType.PROBE:
        this.onProbe(h);
        break;
      case PacketType.LEAVE:
        this.onLeave(h);
        break;
      default:
        this.counters.foreignPackets++;
    }
  }

  private onRingPacket(h: PacketHeader, buf: Buffer): void {
    const r = this.ringInfo;
    if (this.ring && r && h.ringSeq === r.ringSeq && h.ringRep === r.ringRep) {
      if (this.formation && this.formation.lastSent) this.confirmCommit(); // the new ring is moving
      this.fromRing(this.ring.step({ kind: 'packet', data: buf }));
      return;
    }
    const o = this.oldInfo;
    if (this.oldRing && o && h.type === PacketType.DATA && h.ringSeq === o.ringSeq && h.ringRep === o.ringRep) {
      this.fromOldRing(this.oldRing.addRecovered(buf)); // late data of the old ring still counts
      return;
    }
    this.counters.foreignPackets++;
  }

  // ------------------------------------------------------------------------------------------
  // Outputs of the ring cores

  private fromRing(outs: RingOutput[], alreadySubmitted = false): void {
    const ring = this.ring!;
    for (const o of outs) {
      switch (o.kind) {
        case 'mcast':
          this.out.push({ kind: 'mcast', to: this.ringPeers, data: o.data });
          break;
        case 'deliver':
          if (o.msg.service === RecoveryService.PACKET) this.onRecoveredPacket(o.msg.payload);
          else if (o.msg.service === RecoveryService.DONE) this.onRecoveryDone(o.msg.origin);
          else this.out.push(o);
          break;
        case 'submitted':
          // Counter 0: recovery traffic and the daemon's internal messages, never reported.
          if (!alreadySubmitted && o.counter !== 0) this.out.push(o);
          break;
        default:
          this.out.push(o);
      }
    }
    if (ring.counters.tokensAccepted !== this.tokensSeen && this.ring === ring) {
      this.tokensSeen = ring.counters.tokensAccepted;
      this.setTimer('tokenLoss', this.timeouts.tokenLossMs);
      this.cancelTimer('tokenLossConfirm');
    }
  }

  private fromOldRing(outs: RingOutput[]): void {
    for (const o of outs) if (o.kind === 'deliver') this.out.push(o);
  }

  /** A ring core this one holds no more: its counters go into ringTotals for good. */
  private retire(ring: RingCore | null): void {
    if (ring && ring !== this.ring && ring !== this.oldRing) addCounters(this.retiredRingCounters, ring.counters);
  }

  private peersOf(members: readonly number[]): number[] {
    return members.filter((m) => m !== this.id.myId);
  }

  // ------------------------------------------------------------------------------------------
  // Timers

  private onTimer(timer: CoreTimer): void {
    switch (timer) {
      case 'tokenRetransmit':
      case 'tokenHold':
        if (this.ring && (this.state === 'operational' || this.state === 'recovery')) {
          this.fromRing(this.ring.step({ kind: 'timer', timer }));
        }
        break;
      case 'tokenLoss':
        if (this.state === 'operational' || this.state === 'recovery') this.setTimer('tokenLossConfirm', this.timeouts.tokenLossConfirmMs);
        break;
      case 'tokenLossConfirm':
        if (this.state === 'operational' || this.state === 'recovery') {
          this.counters.tokenLosses++;
          this.enterGather('token lost');
        }
        break;
      case 'join':
        if (this.state !== 'gather') break;
        this.consensusAllowed = true;
        this.sendJoin();
        this.setTimer('join', this.timeouts.joinMs);
        this.checkConsensus();
        break;
      case 'consensus':
        if (this.state !== 'gather') break;
        this.failSilent();
        break;
      case 'form':
        if (this.state === 'commit') this.enterGather('formation timed out');
        else if (this.state === 'gather') this.enterGather('no commit token');
        break;
      case 'commitRetransmit':
        if (this.formation && this.formation.lastSent && (this.state === 'commit' || this.state === 'recovery')) {
          this.out.push({ kind: 'send', to: this.successorIn(this.formation.members), data: this.formation.lastSent });
          this.setTimer('commitRetransmit', this.timeouts.commitRetransmitMs);
        }
        break;
      case 'probe':
        if (this.state === 'operational' && this.ringInfo && this.ringInfo.ringRep === this.id.myId) {
          const outside = this.others.filter((d) => !this.ringInfo!.members.includes(d));
          if (outside.length > 0) this.out.push({ kind: 'mcast', to: outside, data: encodeBare(PacketType.PROBE, this.stamp(this.ringInfo)) });
          this.setTimer('probe', this.timeouts.probeMs);
        }
        break;
    }
  }

  private setTimer(timer: CoreTimer, ms: number): void {
    this.out.push({ kind: 'setTimer', timer, ms });
  }

  private cancelTimer(timer: CoreTimer): void {
    this.out.push({ kind: 'cancelTimer', timer });
  }

  // ------------------------------------------------------------------------------------------
  // Gather

  private enterGather(_reason: string): void {
    this.counters.gathers++;
    const before = [this.ring, this.oldRing];
    const was = this.state;
    if (was === 'operational' && this.ring) {
      const { outputs, unsent } = this.ring.freeze();
      this.fromRing(outputs);
      this.oldRing = this.ring;
      this.oldInfo = this.ringInfo;
      this.queue = unsent.concat(this.queue);
    } else if ((was === 'commit' || was === 'recovery') && this.formation) {
      // The ring being formed is abandoned; the old ring (and what recovery brought it) stays.
      if (this.ring && this.ring !== this.oldRing) {
        this.fromRing(this.ring.freeze().outputs);
        if (was === 'recovery') this.salvageRecovery(this.ring);
      }
      this.closedRingSeq = Math.max(this.closedRingSeq, this.formation.ringSeq);
    }
    this.ring = null;
    this.ringInfo = null;
    this.formation = null;
    this.state = 'gather';
    for (const r of before) this.retire(r);
    for (const t of ['tokenLoss', 'tokenLossConfirm', 'probe', 'form', 'commitRetransmit', 'tokenRetransmit', 'tokenHold'] as const) this.cancelTimer(t);

    const keep = was === 'gather' ? this.procs : new Set<number>();
    this.procs = new Set([this.id.myId, ...keep, ...(this.oldInfo ? this.oldInfo.members : [])]);
    this.fails = new Set();
    this.joins = new Map();
    this.heard = new Set();
    this.consensusAllowed = false;
    this.setTimer('join', this.timeouts.joinMs);
    this.setTimer('consensus', this.timeouts.consensusMs);
    this.sendJoin();
  }

  private myJoin(): Join {
    return { maxRingSeq: this.maxRingSeq, procs: [...this.procs].sort(cmp), fails: [...this.fails].sort(cmp) };
  }

  private sendJoin(): void {
    const j = this.myJoin();
    this.joins.set(this.id.myId, j);
    const stamp = this.stamp(this.oldInfo);
    this.out.push({ kind: 'mcast', to: this.others, data: encodeJoin(stamp, j) });
  }

  private onJoin(h: PacketHeader, j: Join): void {
    const sender = h.sender;
    if (j.maxRingSeq > this.maxRingSeq) this.maxRingSeq = j.maxRingSeq;
    // A daemon that has given up on us will form its ring without us; gathering with it, or
    // failing it in return, only sets both sides flapping. Its ring's probes bring us together
    // again, with fresh sets on both sides.
    if (j.fails.includes(this.id.myId)) {
      this.counters.staleMembershipPackets++;
      return;
    }
    if (this.state === 'operational') {
      const r = this.ringInfo!;
      if (r.members.includes(sender) && h.ringSeq < r.ringSeq && h.incarnation === this.incarnationOf(sender)) {
        this.counters.staleMembershipPackets++; // a join from before our ring formed
        return;
      }
      this.enterGather('join received');
    } else if (this.state === 'commit' || this.state === 'recovery') {
      const f = this.formation!;
      if (!f.members.includes(sender)) return; // an outsider: the next merge brings it in
      // A join stamped with the ring we are forming comes from a member that installed it and
      // has already left it: our recovery is over, go with it (salvaging what recovery brought).
      const fromNewRing = h.ringSeq === f.ringSeq && h.ringRep === f.ringRep;
      if (!fromNewRing && this.ringInfoOfJoinIsOlder(h)) return;
      // A join that shows the sets we agreed on was sent before its sender saw the commit token.
      if (!fromNewRing && sameSet(j.procs, [...this.procs]) && sameSet(j.fails, [...this.fails])) return;
      this.enterGather('member rejoined gather');
    }
    // gather
    if (this.fails.has(sender)) return;
    let changed = false;
    this.joins.set(sender, j);
    this.heard.add(sender);
    for (const p of [sender, ...j.procs]) {
      if (!this.procs.has(p) && this.id.universe.includes(p)) {
        this.procs.add(p);
        changed = true;
      }
    }
    for (const f of j.fails) {
      if (!this.fails.has(f) && this.id.universe.includes(f)) {
        this.fails.add(f);
        changed = true;
      }
    }
    if (changed) this.sendJoin();
    this.checkConsensus();
  }

  /** A join that started before the formation we are in (its sender has not seen it yet). */
  private ringInfoOfJoinIsOlder(h: PacketHeader): boolean {
    return this.oldInfo !== null && h.ringSeq < this.oldInfo.ringSeq;
  }

  private onProbe(h: PacketHeader): void {
    if (this.state === 'operational') {
      const r = this.ringInfo!;
      if (r.members.includes(h.sender) && h.incarnation === this.incarnationOf(h.sender)) return;
      this.enterGather('probe from outside the ring');
      this.procs.add(h.sender);
      this.sendJoin();
    } else if (this.state === 'gather' && !this.procs.has(h.sender) && !this.fails.has(h.sender)) {
      this.procs.add(h.sender);
      this.sendJoin();
    }
  }

  /** A daemon that shuts down cleanly is failed at once, wherever we are. */
  private onLeave(h: PacketHeader): void {
    const sender = h.sender;
    if (this.state === 'operational') {
      if (!this.ringInfo!.members.includes(sender)) return;
      this.enterGather('a member left');
    } else if (this.state === 'commit' || this.state === 'recovery') {
      if (!this.formation!.members.includes(sender)) return;
      this.enterGather('a member left during formation');
    }
    if (this.fails.has(sender) || sender === this.id.myId) return;
    this.procs.add(sender);
    this.fails.add(sender);
    this.sendJoin();
    this.checkConsensus();
  }

  private failSilent(): void {
    let changed = false;
    for (const p of this.procs) {
      if (p !== this.id.myId && !this.fails.has(p) && !this.heard.has(p)) {
        this.fails.add(p);
        changed = true;
      }
    }
    this.heard = new Set();
    this.consensusAllowed = true;
    this.setTimer('consensus', this.timeouts.consensusMs);
    if (changed) this.sendJoin();
    this.checkConsensus();
  }

  private liveMembers(): number[] {
    return [...this.procs].filter((p) => !this.fails.has(p)).sort(cmp);
  }

  private checkConsensus(): void {
    if (this.state !== 'gather' || !this.consensusAllowed) return;
    const members = this.liveMembers();
    const mine = this.joins.get(this.id.myId)!;
    for (const p of members) {
      const j = this.joins.get(p);
      if (!j || !sameSet(j.procs, mine.procs) || !sameSet(j.fails, mine.fails)) return;
    }
    if (members[0] === this.id.myId) {
      this.startFormation(members);
    } else {
      this.setTimer('form', this.timeouts.formMs); // the representative should send the commit token
    }
  }

  // ------------------------------------------------------------------------------------------
  // Commit

  private startFormation(members: number[]): void {
    const ringSeq = Math.max(this.maxRingSeq, this.closedRingSeq) + 1;
    this.maxRingSeq = ringSeq;
    const commit: Commit = {
      stage: 1,
      tokenSeq: 1,
      entries: members.map((id) => ({ id, incarnation: this.incarnationOf(id), filled: false, oldRingSeq: 0, oldRingRep: 0, oldAru: 0, oldHighSeq: 0, oldSafe: 0 })),
    };
    this.enterCommit({ ringSeq, ringRep: this.id.myId, members, tokenSeq: 1, lastSent: null, started: false });
    this.fillEntry(commit);
    this.forwardCommit(commit);
  }

  private enterCommit(f: Formation): void {
    this.state = 'commit';
    this.formation = f;
    this.cancelTimer('join');
    this.cancelTimer('consensus');
    this.setTimer('form', this.timeouts.formMs);
  }

  private fillEntry(c: Commit): void {
    const e = c.entries.find((x) => x.id === this.id.myId)!;
    e.filled = true;
    e.incarnation = this.id.incarnation;
    if (this.oldRing && this.oldInfo) {
      const p = this.oldRing.progress;
      e.oldRingSeq = this.oldInfo.ringSeq;
      e.oldRingRep = this.oldInfo.ringRep;
      e.oldAru = p.aru;
      e.oldHighSeq = p.highSeq;
      e.oldSafe = p.safe;
    }
  }

  private onCommit(h: PacketHeader, c: Commit, _buf: Buffer): void {
    const members = c.entries.map((e) => e.id);
    if (!members.includes(this.id.myId)) return;
    if (h.ringSeq > this.maxRingSeq) this.maxRingSeq = h.ringSeq;
    const f = this.formation;
    const same = f !== null && f.ringSeq === h.ringSeq && f.ringRep === h.ringRep;
    if (same) {
      if (c.tokenSeq <= f.tokenSeq) return; // a duplicate or our own retransmission
      f.tokenSeq = c.tokenSeq;
      this.confirmCommit();
    }
    this.advanceCommit(h, c, members, same);
  }

  private advanceCommit(h: { ringSeq: number; ringRep: number }, c: Commit, members: number[], same: boolean): void {
    const f = this.formation;
    if (this.state === 'gather') {
      if (c.stage !== 1 || h.ringSeq <= this.closedRingSeq) return;
      const live = this.liveMembers();
      if (!sameSet(live, members) || h.ringRep !== members[0]) return;
      this.enterCommit({ ringSeq: h.ringSeq, ringRep: h.ringRep, members, tokenSeq: c.tokenSeq, lastSent: null, started: false });
      this.fillEntry(c);
      this.forwardCommit(c);
      return;
    }
    if (!same) return;
    const iAmRep = f!.ringRep === this.id.myId;
    if (this.state === 'commit') {
      if (iAmRep && c.stage === 1) {
        if (!c.entries.every((e) => e.filled)) return;
        c.stage = 2;
        this.beginRecovery(c);
        this.forwardCommit(c);
      } else if (!iAmRep && c.stage === 2) {
        this.beginRecovery(c);
        this.forwardCommit(c);
      } else if (!iAmRep && c.stage === 1) {
        this.fillEntry(c); // a retransmitted first round
        this.forwardCommit(c);
      }
    } else if (this.state === 'recovery' && iAmRep && c.stage === 2 && !f!.started) {
      // Round two is back: every member runs the new ring core; set the token going.
      f!.started = true;
      this.cancelTimer('commitRetransmit');
      f!.lastSent = null;
      this.fromRing(this.ring!.step({ kind: 'start' }));
    }
  }

  private forwardCommit(c: Commit): void {
    const f = this.formation!;
    c.tokenSeq = f.tokenSeq + 1;
    f.tokenSeq = c.tokenSeq;
    const buf = encodeCommit({ configHash: this.id.configHash, ringSeq: f.ringSeq, ringRep: f.ringRep, sender: this.id.myId, incarnation: this.id.incarnation }, c);
    f.lastSent = buf;
    const next = this.successorIn(f.members);
    if (next === this.id.myId) {
      // Alone: the token comes straight back.
      f.lastSent = null;
      this.advanceCommit(f, { ...c, entries: c.entries.map((e) => ({ ...e })) }, f.members, true);
      return;
    }
    this.out.push({ kind: 'send', to: next, data: buf });
    this.setTimer('commitRetransmit', this.timeouts.commitRetransmitMs);
  }

  private confirmCommit(): void {
    if (!this.formation || !this.formation.lastSent) return;
    this.formation.lastSent = null;
    this.cancelTimer('commitRetransmit');
  }

  private successorIn(members: readonly number[]): number {
    return members[(members.indexOf(this.id.myId) + 1) % members.length];
  }

  // ------------------------------------------------------------------------------------------
  // Recovery

  private beginRecovery(c: Commit): void {
    const f = this.formation!;
    this.state = 'recovery';
    if (f.ringSeq > this.maxRingSeq) this.maxRingSeq = f.ringSeq;
    const ring = new RingCore(
      {
        myId: this.id.myId,
        members: f.members,
        ringSeq: f.ringSeq,
        ringRep: f.ringRep,
        configHash: this.id.configHash,
        incarnation: this.id.incarnation,
        incarnations: c.entries.map((e) => e.incarnation),
      },
      this.ringOptions,
    );
    const replaced = this.ring;
    this.ring = ring;
    this.retire(replaced);
    this.ringInfo = { ringSeq: f.ringSeq, ringRep: f.ringRep, members: f.members, incarnations: c.entries.map((e) => e.incarnation) };
    this.ringPeers = this.peersOf(f.members);
    this.tokensSeen = 0;
    this.doneFrom = new Set();
    // From here the new ring's token carries recovery, however long it takes; losing the token
    // (not a deadline) sends us back to gather.
    this.cancelTimer('form');
    this.setTimer('tokenLoss', this.timeouts.tokenLossMs);

    // Who moves with us from our old ring, and what they hold of it.
    const o = this.oldInfo;
    const companions: CommitEntry[] = o && this.oldRing ? c.entries.filter((e) => e.oldRingSeq === o.ringSeq && e.oldRingRep === o.ringRep && e.oldRingSeq !== 0) : [];
    this.transitional = companions;
    if (this.oldRing && companions.length > 0) {
      const old = this.oldRing;
      this.fromOldRing(old.raiseSafe(Math.max(...companions.map((e) => e.oldSafe))));
      const lowAru = Math.min(...companions.map((e) => e.oldAru));
      const maxAru = Math.max(...companions.map((e) => e.oldAru));
      const high = Math.max(...companions.map((e) => e.oldHighSeq));
      const keeper = companions.filter((e) => e.oldAru === maxAru).map((e) => e.id).sort(cmp)[0];
      if (companions.length > 1) {
        for (let s = lowAru + 1; s <= high; s++) {
          // Up to the best aru one member sends; above it, whoever has a packet sends it.
          if (s <= maxAru && keeper !== this.id.myId) continue;
          const pkt = old.packetAt(s);
          if (pkt) this.fromRing(ring.step({ kind: 'submit', service: RecoveryService.PACKET, groups: [], payload: pkt, counter: 0 }));
        }
      }
    }
    this.fromRing(ring.step({ kind: 'submit', service: RecoveryService.DONE, groups: [], payload: EMPTY, counter: 0 }));
  }

  private onRecoveredPacket(pkt: Buffer): void {
    if (!this.oldRing || !this.oldInfo || this.state !== 'recovery') return;
    const h = decodeHeader(pkt, this.id.configHash);
    if (h instanceof WireError || h.type !== PacketType.DATA) return;
    if (h.ringSeq !== this.oldInfo.ringSeq || h.ringRep !== this.oldInfo.ringRep) return; // another old ring's
    this.fromOldRing(this.oldRing.addRecovered(pkt));
  }

  /**
   * Leaving a recovery that may have completed elsewhere: another member installs the new ring
   * once every DONE is safe, i.e. once we too have received every DONE and every recovered
   * packet before them. If so, take them all into the old ring now, and remember who recovered
   * with us: whatever we later deliver of the old ring must include what they delivered, which
   * includes their messages after a gap (they never had the missing packets either).
   */
  private salvageRecovery(ring: RingCore): void {
    const done = new Set<number>();
    for (const o of ring.deliverReceived()) {
      if (o.kind !== 'deliver') continue;
      if (o.msg.service === RecoveryService.PACKET) this.onRecoveredPacket(o.msg.payload);
      else if (o.msg.service === RecoveryService.DONE) done.add(o.msg.origin);
    }
    for (const d of this.doneFrom) done.add(d);
    if (this.ringInfo && done.size === this.ringInfo.members.length) {
      for (const e of this.transitional) this.recoveredWith.add(e.id);
    }
  }

  private onRecoveryDone(origin: number): void {
    if (this.state !== 'recovery') return;
    this.doneFrom.add(origin);
    if (this.doneFrom.size === this.ringInfo!.members.length) this.install();
  }

  private install(): void {
    const r = this.ringInfo!;
    const f = this.formation!;
    if (this.oldRing && this.transitional.length > 0) {
      const t = this.transitional;
      this.out.push({
        kind: 'configuration',
        conf: { kind: 'transitional', ringSeq: r.ringSeq, ringRep: r.ringRep, members: t.map((e) => e.id), incarnations: t.map((e) => e.incarnation) },
      });
      this.fromOldRing(this.oldRing.deliverRemaining(new Set([...t.map((e) => e.id), ...this.recoveredWith])));
    }
    this.out.push({
      kind: 'configuration',
      conf: { kind: 'regular', ringSeq: r.ringSeq, ringRep: r.ringRep, members: r.members.slice(), incarnations: r.incarnations.slice() },
    });
    this.counters.ringsInstalled++;
    const old = this.oldRing;
    this.oldRing = null;
    this.retire(old);
    this.oldInfo = null;
    this.recoveredWith = new Set();
    this.state = 'operational';
    this.closedRingSeq = Math.max(this.closedRingSeq, r.ringSeq);
    this.cancelTimer('form');
    if (!f.started) {
      this.cancelTimer('commitRetransmit');
      f.lastSent = null;
    }
    this.formation = null;
    this.transitional = [];
    const queued = this.queue;
    this.queue = [];
    for (const m of queued) this.fromRing(this.ring!.step({ kind: 'submit', ...m }), true);
    if (r.ringRep === this.id.myId) this.setTimer('probe', this.timeouts.probeMs);
  }

  // ------------------------------------------------------------------------------------------

  private incarnationOf(id: number): number {
    return this.incarnations.get(id) ?? 0;
  }

  private stamp(info: RingInfo | null): Stamp {
    return {
      configHash: this.id.configHash,
      ringSeq: info ? info.ringSeq : 0,
      ringRep: info ? info.ringRep : this.id.myId,
      sender: this.id.myId,
      incarnation: this.id.incarnation,
    };
  }
}

const EMPTY = Buffer.alloc(0);

function cmp(a: number, b: number): number {
  return a - b;
}

function sameSet(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  for (const x of b) if (!s.has(x)) return false;
  return true;
}

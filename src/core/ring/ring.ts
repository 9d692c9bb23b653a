// The ordering protocol for one ring (one fixed membership), as a pure state machine:
// step(input) -> outputs. No sockets, no timers, no clock: time arrives as timer inputs.
//
// Totem single-ring / Spread Ring ordering, with these choices of ours:
// - `aru` on the token is a rotation minimum started by the leader (members[0]); when the token
//   comes back, the leader publishes that minimum as `safe`: everything ≤ safe is held by every
//   member. SAFE delivery and garbage collection both use it, so neither can go wrong.
// - A member proves the token left it when it sees data sequenced after the token it sent;
//   until then it retransmits the token; duplicates are dropped by token sequence.
// - An idle leader holds the token for idleHoldMs; a member with new work sends WAKE.
import {
  DATA_BODY_OFFSET,
  DataFlag,
  HEADER_SIZE,
  ITEM_HEADER_SIZE,
  ItemFlag,
  MAX_GROUP_NAME,
  MAX_GROUPS_PER_MESSAGE,
  NO_SETTER,
  PacketType,
  TokenFlag,
  WireError,
  GroupNameCache,
  HeaderOffset,
  beginData,
  checkHeader,
  dataSeq,
  decodeToken,
  encodeBare,
  encodeGroups,
  encodeToken,
  validateData,
  writeItemRaw,
  headerTemplate,
  type HeaderTemplate,
  type Token,
} from '../../wire/packet';
import { RingcastError } from '../../errors';
import { Service } from '../service';
import type {
  DeliveredMessage,
  RingCounters,
  RingIdentity,
  RingInput,
  RingOptions,
  RingOutput,
  RingTimer,
  SubmitRequest,
} from './types';
import { DEFAULT_RING_OPTIONS } from './types';

interface Pending {
  service: number;
  groups: readonly string[];
  ngroups: number;
  /** The group list as items carry it (encodeGroups), made once per message. */
  groupSection: Buffer;
  payload: Buffer;
  counter: number;
  /** Bytes of payload already put into packets. */
  offset: number;
}


interface Reassembly {
  counter: number;
  service: number;
  groups: readonly string[];
  buf: Buffer;
  filled: number;
}

const WHOLE = ItemFlag.FIRST | ItemFlag.LAST;
const NO_GROUPS: readonly string[] = Object.freeze([]);
const NO_GROUP_SECTION = Buffer.alloc(0);
const DATA_COUNT_OFFSET = HEADER_SIZE + 4;
const DATA_FLAGS_OFFSET = HEADER_SIZE + 6;

/** Where the sender and its incarnation sit in every packet header. */
const SENDER_OFFSET = HEADER_SIZE - 8;
const INCARNATION_OFFSET = HEADER_SIZE - 4;

/** Smallest fragment worth starting at the end of a packet that already holds something. */
const MIN_FRAGMENT = 200;

export class RingCore {
  readonly opts: RingOptions;
  readonly id: RingIdentity;
  readonly counters: RingCounters = {
    packetsSent: 0,
    packetsReceived: 0,
    retransmitsSent: 0,
    duplicatePackets: 0,
    malformedPackets: 0,
    foreignPackets: 0,
    overflowDrops: 0,
    tokensReceived: 0,
    tokensAccepted: 0,
    duplicateTokens: 0,
    misaddressedTokens: 0,
    tokenRetransmits: 0,
    rotations: 0,
    messagesDelivered: 0,
    orphanFragments: 0,
  };

  private readonly stamp: HeaderTemplate;
  /** Member id → incarnation (or -1 when any incarnation is accepted). */
  private readonly memberIncarnation: Map<number, number>;
  /** Frozen: the ring is over; we only store late data and deliver for recovery. */
  private frozen = false;
  private readonly successor: number;
  /** The only member a token may come from: a copy of one sent to another member (replayed or misrouted) would fork the token. */
  private readonly predecessor: number;
  private readonly leader: boolean;

  // Received packets by sequence number, in a ring buffer covering (discarded, discarded+capacity).
  private readonly slots: (Buffer | undefined)[];
  private readonly groupNames = new GroupNameCache();
  private readonly singleGroupSections = new Map<string, Buffer>();
  private readonly listSections = new WeakMap<readonly string[], Buffer>();
  private readonly mask: number;

  /** Highest sequence number such that every packet up to it is here. */
  private myAru = 0;
  /** Highest sequence number known to be assigned. */
  private highSeq = 0;
  private delivered = 0;
  /** Packets held (received and not yet discarded). */
  private storedCount = 0;
  /** Everything ≤ safeLine is held by every member. */
  private safeLine = 0;
  /** Slots ≤ discarded are freed. */
  private discarded = 0;

  private lastTokenSeq = 0;
  /** The token we forwarded and have no proof of arrival for yet. */
  private unconfirmedToken: Buffer | null = null;
  private unconfirmedSeq = 0;
  private heldToken: Token | null = null;
  private wakeRequested = false;
  private wakeSent = false;
  private myLastSent = 0;
  private myLastBacklog = 0;
  /** The ring's seq when we last passed the token on. */
  private lastForwardSeq = 0;
  /** New packets of this visit, multicast after the token when the ring is accelerated. */
  private fresh: Buffer[] = [];

  private pending: Pending[] = [];
  private pendingHead = 0;
  private nextCounter = 1;
  private readonly partials = new Map<number, Reassembly>();

  private out: RingOutput[] = [];

  // Scratch space for building one packet without per-packet arrays.
  private readonly itemMsg: Pending[] = [];
  private readonly itemFlags: number[] = [];
  private readonly itemStart: number[] = [];
  private readonly itemLen: number[] = [];

  constructor(identity: RingIdentity, options: Partial<RingOptions> = {}) {
    this.opts = { ...DEFAULT_RING_OPTIONS, ...options };
    this.id = identity;
    const idx = identity.members.indexOf(identity.myId);
    if (idx < 0) throw new RingcastError('RING_CONFIG', `daemon ${identity.myId} is not a member of its own ring`);
    this.memberIncarnation = new Map(identity.members.map((m, i) => [m, identity.incarnations ? identity.incarnations[i] : -1]));
    this.successor = identity.members[(idx + 1) % identity.members.length];
    this.predecessor = identity.members[(idx - 1 + identity.members.length) % identity.members.length];
    this.leader = idx === 0;
    this.stamp = headerTemplate({
      configHash: identity.configHash,
      ringSeq: identity.ringSeq,
      ringRep: identity.ringRep,
      sender: identity.myId,
      incarnation: identity.incarnation,
    });
    let cap = 1;
    while (cap < this.opts.maxOutstanding + 4 * this.opts.window + 64) cap <<= 1;
    this.slots = new Array(cap);
    this.mask = cap - 1;
  }

  /** Feeds one event; returns what the driver must do, in order. */
  step(input: RingInput): RingOutput[] {
    switch (input.kind) {
      case 'packet':
        this.onPacket(input.data);
        break;
      case 'timer':
        this.onTimer(input.timer);
        break;
      case 'submit':
        this.onSubmit(input);
        break;
      case 'start':
        this.onStart();
        break;
    }
    return this.drain();
  }

  /** Messages waiting to be sequenced at this daemon. */
  get backlog(): number {
    return this.pending.length - this.pendingHead;
  }

  /** Numbers for status and tests. */
  get progress(): { aru: number; highSeq: number; delivered: number; safe: number; discarded: number; stored: number } {
    return {
      aru: this.myAru,
      highSeq: this.highSeq,
      delivered: this.delivered,
      safe: this.safeLine,
      discarded: this.discarded,
      stored: this.storedCount,
    };
  }

  // ----------------------------------------------------------------------------------------
  // The end of a ring (used by membership)

  get ended(): boolean {
    return this.frozen;
  }

  /**
   * Ends the ring: no more tokens or sends, timers cancelled (in the returned outputs). Late data
   * is still stored and delivered. Returns the messages not yet wholly sequenced, in order, to be
   * sent again on the next ring (any fragments already out are never completed here).
   */
  freeze(): { outputs: RingOutput[]; unsent: SubmitRequest[] } {
    this.frozen = true;
    this.heldToken = null;
    this.unconfirmedToken = null;
    this.out.push({ kind: 'cancelTimer', timer: 'tokenRetransmit' }, { kind: 'cancelTimer', timer: 'tokenHold' });
    const unsent: SubmitRequest[] = [];
    for (let i = this.pendingHead; i < this.pending.length; i++) {
      const m = this.pending[i];
      unsent.push({ service: m.service, groups: m.groups, payload: m.payload, counter: m.counter });
    }
    this.pending = [];
    this.pendingHead = 0;
    const outputs = this.out;
    this.out = [];
    return { outputs, unsent };
  }

  /** The stored bytes of packet `seq`, if this daemon holds it. */
  packetAt(seq: number): Buffer | undefined {
    if (seq <= this.discarded || seq - this.discarded > this.mask) return undefined;
    return this.slots[seq & this.mask];
  }

  /** Feeds a data packet of this ring that arrived by another way (recovery); returns deliveries. */
  addRecovered(buf: Buffer): RingOutput[] {
    this.onPacket(buf);
    return this.drain();
  }

  /** Everything ≤ safe is known (from another member) to be held by every member. */
  raiseSafe(safe: number): RingOutput[] {
    if (safe > this.safeLine) this.safeLine = Math.min(safe, Math.max(this.highSeq, this.myAru));
    this.deliver();
    return this.drain();
  }

  /**
   * Recovery is complete: delivers everything still held, in order (the transitional
   * configuration's messages). A sequence number nobody who moved on holds is a gap: it was sent
   * by a daemon that left, and any later message from a daemon that left may depend on it, so
   * after the first gap only messages from `movedOn` (the transitional members, who never saw
   * the missing packet either) are delivered.
   */
  deliverRemaining(movedOn: ReadonlySet<number>): RingOutput[] {
    let gap = false;
    for (let seq = this.delivered + 1; seq <= this.highSeq; seq++) {
      if (seq - this.discarded > this.mask) break;
      const buf = this.slots[seq & this.mask];
      if (buf === undefined) gap = true;
      else if (!gap) this.deliverPacket(buf, seq);
      else this.deliverPacket(buf, seq, movedOn);
      this.delivered = seq;
    }
    return this.drain();
  }

  /**
   * Delivers every packet received in order so far, SAFE or not: for a ring abandoned during
   * recovery, whose messages are the membership layer's own.
   */
  deliverReceived(): RingOutput[] {
    while (this.delivered < this.myAru) {
      const seq = this.delivered + 1;
      this.deliverPacket(this.slots[seq & this.mask]!, seq);
      this.delivered = seq;
    }
    return this.drain();
  }

  private drain(): RingOutput[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  // ----------------------------------------------------------------------------------------
  // Inputs

  private onStart(): void {
    if (!this.leader || this.frozen) return;
    const t: Token = { tokenSeq: 1, seq: 0, aru: 0, aruSetter: NO_SETTER, safe: 0, fcc: 0, flags: 0, backlog: 0, rtr: [] };
    this.lastTokenSeq = 0;
    this.acceptToken(t);
  }

  private onSubmit(req: SubmitRequest): void {
    const { groups, payload } = req;
    if (this.frozen) throw new RingcastError('RING_FROZEN', 'submit to a ring that has ended');
    if (payload.length > this.opts.maxMessageSize) {
      throw new RingcastError('RING_MESSAGE_TOO_LONG', `message of ${payload.length} bytes exceeds ${this.opts.maxMessageSize}`);
    }
    if (groups.length > MAX_GROUPS_PER_MESSAGE) throw new RingcastError('RING_TOO_MANY_GROUPS', `${groups.length} groups in one message`);
    for (const g of groups) {
      const n = Buffer.byteLength(g, 'latin1');
      if (n > MAX_GROUP_NAME) throw new RingcastError('RING_GROUP_NAME', `group name of ${n} bytes`);
    }
    const groupSection = this.groupSectionOf(groups);
    if (ITEM_HEADER_SIZE + groupSection.length + 1 > this.opts.payloadBudget) {
      throw new RingcastError('RING_GROUPS_TOO_LARGE', `group list of ${groupSection.length} bytes does not fit a packet`);
    }
    let counter: number;
    if (req.counter !== undefined) {
      counter = req.counter;
      this.nextCounter = counter + 1;
    } else {
      counter = this.nextCounter++;
    }
    this.pending.push({ service: req.service, groups, ngroups: groups.length, groupSection, payload, counter, offset: 0 });
    this.out.push({ kind: 'submitted', counter, service: req.service });
    if (this.heldToken) {
      this.releaseHeldToken();
    } else if (this.backlog === 1 && !this.wakeSent && !this.leader) {
      // New work after a quiet spell: the leader may be holding an idle token (whatever the
      // token looked like when it last passed here), so ask for it; once per visit at most.
      this.wakeSent = true;
      this.out.push({ kind: 'send', to: this.id.members[0], data: encodeBare(PacketType.WAKE, this.stamp) });
    }
  }

  /** Most messages go to one group, or reuse a list: encode each group list once. */
  private groupSectionOf(groups: readonly string[]): Buffer {
    if (groups.length === 0) return NO_GROUP_SECTION;
    if (groups.length === 1) {
      let b = this.singleGroupSections.get(groups[0]);
      if (b === undefined) {
        if (this.singleGroupSections.size > 4096) this.singleGroupSections.clear();
        b = encodeGroups(groups);
        this.singleGroupSections.set(groups[0], b);
      }
      return b;
    }
    let b = this.listSections.get(groups);
    if (b === undefined) {
      b = encodeGroups(groups);
      this.listSections.set(groups, b);
    }
    return b;
  }

  private onTimer(timer: RingTimer): void {
    if (this.frozen) return;
    if (timer === 'tokenRetransmit') {
      if (!this.unconfirmedToken) return;
      this.counters.tokenRetransmits++;
      this.out.push({ kind: 'send', to: this.successor, data: this.unconfirmedToken });
      this.out.push({ kind: 'setTimer', timer: 'tokenRetransmit', ms: this.opts.tokenRetransmitMs });
    } else if (timer === 'tokenHold') {
      if (this.heldToken) this.releaseHeldToken();
    }
  }

  private onPacket(buf: Buffer): void {
    if (checkHeader(buf, this.id.configHash) !== null) {
      this.counters.malformedPackets++;
      return;
    }
    const type = buf[HeaderOffset.TYPE];
    const inc = this.memberIncarnation.get(buf.readUInt32BE(HeaderOffset.SENDER));
    if (
      buf.readUIntBE(HeaderOffset.RING_SEQ, 6) !== this.id.ringSeq ||
      buf.readUInt32BE(HeaderOffset.RING_REP) !== this.id.ringRep ||
      inc === undefined ||
      (inc !== -1 && inc !== buf.readUInt32BE(HeaderOffset.INCARNATION))
    ) {
      this.counters.foreignPackets++;
      return;
    }
    if (this.frozen && type !== PacketType.DATA) return;
    switch (type) {
      case PacketType.DATA:
        this.onData(buf);
        break;
      case PacketType.TOKEN: {
        const t = decodeToken(buf);
        if (t instanceof WireError) {
          this.counters.malformedPackets++;
          return;
        }
        this.counters.tokensReceived++;
        if (t.tokenSeq <= this.lastTokenSeq) {
          this.counters.duplicateTokens++;
          return;
        }
        if (buf.readUInt32BE(HeaderOffset.SENDER) !== this.predecessor) {
          this.counters.misaddressedTokens++;
          return;
        }
        // No honest token is further ahead of us than the ring lets anyone send.
        if (t.seq > this.highSeq + this.opts.maxOutstanding + 2 * this.opts.window) {
          this.counters.malformedPackets++;
          return;
        }
        this.acceptToken(t);
        break;
      }
      case PacketType.WAKE:
        if (this.heldToken) this.releaseHeldToken();
        else if (this.leader) this.wakeRequested = true;
        break;
      default:
        this.counters.foreignPackets++; // membership traffic is not ours to handle
    }
  }

  private onData(buf: Buffer): void {
    if (buf.length < DATA_BODY_OFFSET) {
      this.counters.malformedPackets++;
      return;
    }
    const seq = dataSeq(buf);
    if (seq <= this.discarded || this.slots[seq & this.mask] !== undefined) {
      this.counters.duplicatePackets++;
      return;
    }
    if (seq - this.discarded > this.mask) {
      this.counters.overflowDrops++; // beyond what we can hold; it will be retransmitted
      return;
    }
    if (validateData(buf, buf.readUInt32BE(SENDER_OFFSET), this.opts.maxMessageSize) !== null) {
      this.counters.malformedPackets++;
      return;
    }
    this.counters.packetsReceived++;
    this.store(seq, buf);
    if (this.unconfirmedToken && seq > this.unconfirmedSeq) this.confirmToken();
    this.deliver();
  }

  // ----------------------------------------------------------------------------------------
  // The token visit

  private acceptToken(t: Token): void {
    this.lastTokenSeq = t.tokenSeq;
    this.counters.tokensAccepted++;
    this.confirmToken();
    this.wakeSent = false;
    if (t.seq > this.highSeq) this.highSeq = t.seq;

    const retransmitted = this.answerRetransmitRequests(t);
    if (this.leader) {
      // The token is back: its aru is the minimum over a whole rotation.
      if (t.aru > t.safe) t.safe = t.aru;
      this.counters.rotations++;
    }
    if (t.safe > this.safeLine) this.safeLine = Math.min(t.safe, t.seq);
    // Free what everyone has before sending, so our own new packets find room.
    this.deliver();
    this.discard();
    this.visit(t, retransmitted);
    this.deliver();

    t.tokenSeq = (t.tokenSeq + 1) >>> 0;
    const idle = t.rtr.length === 0 && t.backlog === 0 && t.fcc === 0 && t.safe === t.seq;
    if (this.leader && idle && !this.wakeRequested && this.backlog === 0) {
      t.flags |= TokenFlag.IDLE;
      this.heldToken = t;
      this.out.push({ kind: 'setTimer', timer: 'tokenHold', ms: this.opts.idleHoldMs });
      return;
    }
    this.wakeRequested = false;
    t.flags &= ~TokenFlag.IDLE;
    this.forward(t);
  }

  /** Sends new packets and updates the token's aru, retransmit list and flow control. */
  private visit(t: Token, retransmitted: number): void {
    const sent = this.sendNewPackets(t);
    if (this.leader) {
      t.aru = this.myAru;
      t.aruSetter = NO_SETTER;
    } else if (this.myAru < t.aru) {
      t.aru = this.myAru;
      t.aruSetter = this.id.myId;
    }
    this.requestMissing(t);
    const mine = sent + retransmitted;
    t.fcc = Math.max(0, t.fcc - this.myLastSent) + mine;
    this.myLastSent = mine;
    const backlog = this.backlog;
    t.backlog = Math.max(0, t.backlog - this.myLastBacklog) + backlog;
    this.myLastBacklog = backlog;
  }

  private releaseHeldToken(): void {
    const t = this.heldToken!;
    this.heldToken = null;
    this.out.push({ kind: 'cancelTimer', timer: 'tokenHold' });
    this.visit(t, 0);
    this.deliver();
    t.flags &= ~TokenFlag.IDLE;
    this.forward(t);
  }

  private forward(t: Token): void {
    const buf = encodeToken(this.stamp, t);
    this.unconfirmedToken = buf;
    this.unconfirmedSeq = t.seq;
    this.lastForwardSeq = t.seq;
    this.out.push({ kind: 'send', to: this.successor, data: buf });
    this.out.push({ kind: 'setTimer', timer: 'tokenRetransmit', ms: this.opts.tokenRetransmitMs });
    // Accelerated ring: the successor starts its turn while our new packets are still going out.
    for (const data of this.fresh) this.out.push({ kind: 'mcast', data });
    this.fresh.length = 0;
  }

  private confirmToken(): void {
    if (!this.unconfirmedToken) return;
    this.unconfirmedToken = null;
    this.out.push({ kind: 'cancelTimer', timer: 'tokenRetransmit' });
  }

  private answerRetransmitRequests(t: Token): number {
    if (t.rtr.length === 0) return 0;
    let answered = 0;
    const keep: number[] = [];
    for (const s of t.rtr) {
      // At or below the discard line every member has it: a stale request, dropped.
      if (s <= this.discarded || s > t.seq) continue;
      const held = this.slots[s & this.mask];
      if (held !== undefined) {
        this.out.push({ kind: 'mcast', data: held });
        this.counters.retransmitsSent++;
        answered++;
      } else {
        keep.push(s);
      }
    }
    t.rtr = keep;
    return answered;
  }

  private requestMissing(t: Token): void {
    const max = this.opts.maxRetransmitRequests;
    if (this.myAru >= t.seq || t.rtr.length >= max) return;
    const already = t.rtr.length > 0 ? new Set(t.rtr) : null;
    // Accelerated, packets sequenced since our last turn may still be on their way: ask only
    // for older ones.
    const last = Math.min(this.opts.accelerated ? this.lastForwardSeq : t.seq, this.discarded + this.mask);
    for (let s = this.myAru + 1; s <= last && t.rtr.length < max; s++) {
      if (this.slots[s & this.mask] === undefined && !(already && already.has(s))) t.rtr.push(s);
    }
  }

  // ----------------------------------------------------------------------------------------
  // Sending

  private sendNewPackets(t: Token): number {
    if (this.backlog === 0) return 0;
    const othersLastRotation = Math.max(0, t.fcc - this.myLastSent);
    let allowed = Math.min(this.opts.personalWindow, this.opts.window - othersLastRotation);
    allowed = Math.min(allowed, t.safe + this.opts.maxOutstanding - t.seq);
    let n = 0;
    while (n < allowed && this.backlog > 0) {
      const seq = t.seq + 1;
      const buf = this.buildPacket(seq);
      t.seq = seq;
      if (seq > this.highSeq) this.highSeq = seq;
      this.store(seq, buf);
      if (this.opts.accelerated) this.fresh.push(buf);
      else this.out.push({ kind: 'mcast', data: buf });
      this.counters.packetsSent++;
      n++;
    }
    if (this.pendingHead > 1024 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    return n;
  }

  /** Packs queued messages (fragmenting the one that does not fit) into one data packet. */
  private buildPacket(seq: number): Buffer {
    const budget = this.opts.payloadBudget;
    let used = 0;
    let count = 0;
    let flags = 0;
    while (this.pendingHead < this.pending.length) {
      const m = this.pending[this.pendingHead];
      const first = m.offset === 0;
      const overhead = ITEM_HEADER_SIZE + (first ? m.groupSection.length : 0);
      const remaining = m.payload.length - m.offset;
      const space = budget - used - overhead;
      let chunk = remaining;
      if (space < remaining) {
        // A message that would fit an empty packet waits for the next one rather than split;
        // a larger one is cut here, unless only a sliver of room is left.
        if (count > 0 && (first && overhead + remaining <= budget || space < MIN_FRAGMENT)) break;
        chunk = space;
      }
      this.itemMsg[count] = m;
      this.itemFlags[count] = (first ? ItemFlag.FIRST : 0) | (chunk === remaining ? ItemFlag.LAST : 0);
      this.itemStart[count] = m.offset;
      this.itemLen[count] = chunk;
      count++;
      used += overhead + chunk;
      if (m.service & Service.SAFE) flags |= DataFlag.HAS_SAFE;
      m.offset += chunk;
      if (chunk < remaining) break; // packet full
      this.pendingHead++;
      if (budget - used < ITEM_HEADER_SIZE + 1 || count === 0xffff) break;
    }
    const buf = beginData(DATA_BODY_OFFSET + used, this.stamp, seq, count, flags);
    let off = DATA_BODY_OFFSET;
    for (let i = 0; i < count; i++) {
      const m = this.itemMsg[i];
      const f = this.itemFlags[i];
      off = writeItemRaw(
        buf, off, f, m.service, this.id.myId, m.counter, m.payload.length,
        m.ngroups, f & ItemFlag.FIRST ? m.groupSection : null, m.payload, this.itemStart[i], this.itemLen[i],
      );
      this.itemMsg[i] = undefined as unknown as Pending; // drop the reference for GC
    }
    return buf;
  }

  // ----------------------------------------------------------------------------------------
  // Receiving, delivery, garbage collection

  private store(seq: number, buf: Buffer): void {
    this.slots[seq & this.mask] = buf;
    this.storedCount++;
    if (seq > this.highSeq) this.highSeq = seq;
    while (this.slots[(this.myAru + 1) & this.mask] !== undefined && this.myAru + 1 - this.discarded <= this.mask) {
      this.myAru++;
    }
  }

  private deliver(): void {
    while (this.delivered < this.myAru) {
      const seq = this.delivered + 1;
      const buf = this.slots[seq & this.mask]!;
      if (buf.readUInt16BE(DATA_FLAGS_OFFSET) & DataFlag.HAS_SAFE && seq > this.safeLine) return;
      this.deliverPacket(buf, seq);
      this.delivered = seq;
    }
  }

  /** Delivers the messages a (validated) packet completes, walking its bytes in place. */
  private deliverPacket(buf: Buffer, seq: number, onlyFrom?: ReadonlySet<number>): void {
    const inc = buf.readUInt32BE(INCARNATION_OFFSET);
    const count = buf.readUInt16BE(DATA_COUNT_OFFSET);
    let off = DATA_BODY_OFFSET;
    for (let i = 0; i < count; i++) {
      const flags = buf[off];
      const service = buf[off + 1];
      const ngroups = buf[off + 2];
      const origin = buf.readUInt32BE(off + 4);
      const counter = buf.readUInt32BE(off + 8);
      const totalLen = buf.readUInt32BE(off + 12);
      const chunkLen = buf.readUInt32BE(off + 16);
      off += ITEM_HEADER_SIZE;
      let groups = NO_GROUPS;
      if (ngroups > 0) {
        const list = this.groupNames.readList(buf, off, ngroups);
        groups = list.names;
        off = list.end;
      }
      const start = off;
      off += chunkLen;
      if (onlyFrom && !onlyFrom.has(origin)) continue;

      if ((flags & WHOLE) === WHOLE) {
        this.emit({ origin, originIncarnation: inc, counter, service, groups, payload: buf.subarray(start, start + chunkLen), seq });
        continue;
      }
      if (flags & ItemFlag.FIRST) {
        const whole = Buffer.allocUnsafe(totalLen);
        buf.copy(whole, 0, start, start + chunkLen);
        this.partials.set(origin, { counter, service, groups, buf: whole, filled: chunkLen });
        continue;
      }
      const p = this.partials.get(origin);
      if (!p || p.counter !== counter || p.filled + chunkLen > p.buf.length) {
        this.counters.orphanFragments++;
        continue;
      }
      buf.copy(p.buf, p.filled, start, start + chunkLen);
      p.filled += chunkLen;
      if (flags & ItemFlag.LAST) {
        this.partials.delete(origin);
        if (p.filled !== p.buf.length) {
          this.counters.orphanFragments++;
          continue;
        }
        this.emit({ origin, originIncarnation: inc, counter: p.counter, service: p.service, groups: p.groups, payload: p.buf, seq });
      }
    }
  }

  private emit(msg: DeliveredMessage): void {
    this.counters.messagesDelivered++;
    this.out.push({ kind: 'deliver', msg });
  }

  private discard(): void {
    const line = Math.min(this.safeLine, this.delivered);
    for (let s = this.discarded + 1; s <= line; s++) {
      if (this.slots[s & this.mask] !== undefined) this.storedCount--;
      this.slots[s & this.mask] = undefined;
    }
    if (line > this.discarded) this.discarded = line;
  }

}

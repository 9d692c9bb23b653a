// Garbage never crashes the ordering core. A normal 3-member ring runs in a tiny deterministic
// loop; between its real datagrams we feed RingCore.step({kind:'packet'}) fast-check-generated
// garbage: random bytes, valid headers with random bodies, real packets with flipped bytes,
// truncated or replayed real packets, and real packets re-stamped as coming from a non-member,
// another ring or another configuration.
//
// Strict mode: only garbage the core must reject is fed (an oracle decides from the packet and
// the node's public progress); each one must produce no output, leave progress unchanged and
// raise exactly one rejection counter, and the ring must deliver exactly what a run without
// garbage delivers, in the same order. Hostile mode: everything is fed, including forged
// packets that decode fine; the core must only never throw.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { RingCore } from '../../src/core/ring/ring';
import type { RingCounters, RingOptions, RingOutput, RingTimer } from '../../src/core/ring/types';
import { Service } from '../../src/core/service';
import {
  DATA_BODY_OFFSET,
  HEADER_SIZE,
  ITEM_HEADER_SIZE,
  ItemFlag,
  PacketType,
  WireError,
  beginData,
  dataSeq,
  decodeData,
  decodeHeader,
  decodeToken,
  writeHeader,
  writeItem,
} from '../../src/wire/packet';

const MEMBERS = [1, 2, 3];
const RING_SEQ = 5;
const RING_REP = 1;
const HASH = 0xc0ffee;
const RING_OPTS: Partial<RingOptions> = { payloadBudget: 1000, personalWindow: 8, window: 40 };

// Header field offsets (src/wire/packet.ts): hash u32 at 8, ring seq u48 at 12, ring rep u32 at
// HEADER_SIZE - 12, sender u32 at HEADER_SIZE - 8.
const OFF_HASH = 8;
const OFF_RING_SEQ = 12;
const OFF_RING_REP = HEADER_SIZE - 12;
const OFF_SENDER = HEADER_SIZE - 8;

/** The fixed workload: what each member submits, and when (in loop ticks). */
interface Submission {
  at: number;
  node: number;
  size: number;
  service: number;
  groups: string[];
}

function workload(n: number): Submission[] {
  const out: Submission[] = [];
  // sizes: small packed ones, some that fragment (payloadBudget 1000), an empty one
  const sizes = [10, 200, 0, 1500, 37, 4000, 999, 64, 2500, 5];
  for (let k = 0; k < n; k++) {
    out.push({
      at: k * 4,
      node: k % 3,
      size: sizes[k % sizes.length] + (k % 7),
      service: k % 5 === 0 ? Service.SAFE : Service.AGREED,
      groups: k % 3 === 0 ? ['g'] : ['g', `h${k % 4}`],
    });
  }
  return out;
}

function payloadFor(k: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (k * 7 + i * 13) & 0xff;
  return b;
}

function checksum(b: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 0x01000193) >>> 0;
  return h;
}

// ------------------------------------------------------------------------------------------
// Garbage

type Mutation = { at: number; xor: number };
type Garbage =
  | { kind: 'random'; bytes: Uint8Array }
  | { kind: 'header'; type: number; member: boolean; sender: number; ringOk: boolean; hashOk: boolean; fixLength: boolean; body: Uint8Array }
  | { kind: 'flip'; pick: number; flips: Mutation[] }
  | { kind: 'truncate'; pick: number; at: number; fixLength: boolean }
  | { kind: 'foreign'; pick: number; how: 'sender' | 'ringSeq' | 'ringRep' | 'hash'; v: number }
  | { kind: 'replay'; pick: number }
  | { kind: 'data'; member: number; seq: number; flags: number; totalLen: number; chunk: Uint8Array; groups: string[] };

interface GarbageEvent {
  /** Loop ticks to wait before this one. */
  gap: number;
  to: number;
  g: Garbage;
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const garbageArb: fc.Arbitrary<Garbage> = fc.oneof(
  fc.record({ kind: fc.constant('random' as const), bytes: fc.uint8Array({ maxLength: 1200 }) }),
  fc.record({
    kind: fc.constant('header' as const),
    type: fc.oneof(fc.constantFrom(...Object.values(PacketType)), fc.integer({ min: 0, max: 255 })),
    member: fc.boolean(),
    sender: u32,
    ringOk: fc.boolean(),
    hashOk: fc.boolean(),
    fixLength: fc.boolean(),
    body: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({ kind: fc.constant('flip' as const), pick: fc.nat(), flips: fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('truncate' as const), pick: fc.nat(), at: fc.nat(), fixLength: fc.boolean() }),
  fc.record({ kind: fc.constant('foreign' as const), pick: fc.nat(), how: fc.constantFrom('sender' as const, 'ringSeq' as const, 'ringRep' as const, 'hash' as const), v: u32 }),
  fc.record({ kind: fc.constant('replay' as const), pick: fc.nat() }),
  // well-formed data packets from a member with a random seq and a random item
  fc.record({
    kind: fc.constant('data' as const),
    member: fc.constantFrom(...MEMBERS),
    seq: fc.oneof(fc.integer({ min: 0, max: 300 }), u32),
    flags: fc.integer({ min: 0, max: 3 }),
    totalLen: fc.oneof(fc.integer({ min: 0, max: 3000 }), u32),
    chunk: fc.uint8Array({ maxLength: 200 }),
    groups: fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  }),
);
const scheduleArb = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 3 }), to: fc.integer({ min: 0, max: 2 }), g: garbageArb }), { minLength: 60, maxLength: 200 });

function stampFor(sender: number) {
  return { configHash: HASH, ringSeq: RING_SEQ, ringRep: RING_REP, sender, incarnation: 1 };
}

/** Builds the garbage bytes; real packets are picked from the ring's recent traffic. */
function materialize(g: Garbage, recent: readonly Buffer[]): Buffer {
  const real = (pick: number) => Buffer.from(recent[pick % recent.length]);
  switch (g.kind) {
    case 'random':
      return Buffer.from(g.bytes);
    case 'header': {
      const buf = Buffer.alloc(HEADER_SIZE + g.body.length);
      const sender = g.member ? MEMBERS[g.sender % 3] : nonMember(g.sender);
      writeHeader(buf, g.type, { ...stampFor(sender), configHash: g.hashOk ? HASH : HASH ^ (1 + (g.sender & 0xff)), ringSeq: g.ringOk ? RING_SEQ : RING_SEQ + 1 });
      Buffer.from(g.body).copy(buf, HEADER_SIZE);
      if (!g.fixLength) buf.writeUInt32BE((buf.length + 1 + (g.sender % 5)) >>> 0, 4);
      return buf;
    }
    case 'flip': {
      const buf = real(g.pick);
      for (const f of g.flips) buf[f.at % buf.length] ^= f.xor;
      return buf;
    }
    case 'truncate': {
      const orig = real(g.pick);
      const buf = Buffer.from(orig.subarray(0, g.at % orig.length));
      if (g.fixLength && buf.length >= 8) buf.writeUInt32BE(buf.length, 4);
      return buf;
    }
    case 'foreign': {
      const buf = real(g.pick);
      if (g.how === 'sender') buf.writeUInt32BE(nonMember(g.v), OFF_SENDER);
      else if (g.how === 'ringSeq') buf.writeUIntBE(RING_SEQ + 1 + (g.v % 1000), OFF_RING_SEQ, 6);
      else if (g.how === 'ringRep') buf.writeUInt32BE(g.v === RING_REP ? RING_REP + 1 : g.v, OFF_RING_REP);
      else buf.writeUInt32BE(g.v === HASH ? HASH + 1 : g.v, OFF_HASH);
      return buf;
    }
    case 'replay':
      return real(g.pick);
    case 'data': {
      const chunk = Buffer.from(g.chunk);
      const first = (g.flags & ItemFlag.FIRST) !== 0;
      const groups = first ? g.groups : null;
      let totalLen = Math.max(g.totalLen, chunk.length);
      if ((g.flags & 3) === 3) totalLen = chunk.length;
      let size = DATA_BODY_OFFSET + ITEM_HEADER_SIZE + chunk.length;
      if (groups) for (const s of groups) size += 1 + Buffer.byteLength(s, 'latin1');
      const buf = beginData(size, stampFor(g.member), g.seq, 1, 0);
      writeItem(buf, DATA_BODY_OFFSET, g.flags, Service.AGREED, g.member, 1, totalLen, groups, chunk, 0, chunk.length);
      return buf;
    }
  }
}

function nonMember(v: number): number {
  return MEMBERS.includes(v) ? v + 100 : v;
}

type Verdict =
  | { reject: true; counter: 'malformedPackets' | 'foreignPackets' | 'duplicatePackets' | 'duplicateTokens' | 'any' }
  | { reject: false };

const REJECT_COUNTERS = ['malformedPackets', 'foreignPackets', 'duplicatePackets', 'duplicateTokens', 'overflowDrops'] as const;

/**
 * Must `core` reject `buf` without any change of state, and which counter must rise? Decided
 * from the bytes, the node's public progress and the highest token sequence it has been fed.
 * `{reject: false}` means "might be accepted" (a forged but well-formed packet).
 */
function oracle(buf: Buffer, core: RingCore, lastTokenSeq: number): Verdict {
  const h = decodeHeader(buf, HASH);
  if (h instanceof WireError) return { reject: true, counter: 'malformedPackets' };
  if (h.ringSeq !== RING_SEQ || h.ringRep !== RING_REP || !MEMBERS.includes(h.sender)) return { reject: true, counter: 'foreignPackets' };
  switch (h.type) {
    case PacketType.DATA: {
      if (buf.length < DATA_BODY_OFFSET) return { reject: true, counter: 'malformedPackets' };
      // everything up to aru is held (delivered or waiting): a duplicate whatever its body
      if (dataSeq(buf) <= core.progress.aru) return { reject: true, counter: 'duplicatePackets' };
      if (decodeData(buf) instanceof WireError) return { reject: true, counter: 'any' };
      return { reject: false };
    }
    case PacketType.TOKEN: {
      const t = decodeToken(buf);
      if (t instanceof WireError) return { reject: true, counter: 'malformedPackets' };
      if (t.tokenSeq <= lastTokenSeq) return { reject: true, counter: 'duplicateTokens' };
      return { reject: false };
    }
    case PacketType.WAKE:
      return { reject: false };
    default:
      return { reject: true, counter: 'foreignPackets' };
  }
}

/** A FIRST fragment announcing a message larger than any the core accepts (see the skipped test below). */
function announcesHugeMessage(buf: Buffer, maxMessageSize: number): boolean {
  const h = decodeHeader(buf);
  if (h instanceof WireError || h.type !== PacketType.DATA) return false;
  const pkt = decodeData(buf);
  if (pkt instanceof WireError) return false;
  return pkt.items.some((it) => (it.flags & 3) === ItemFlag.FIRST && it.totalLen > maxMessageSize);
}

// ------------------------------------------------------------------------------------------
// The loop

interface RunResult {
  /** Per node: "origin#counter@seq:len:checksum" in delivery order. */
  delivered: string[][];
  counters: RingCounters[];
  injected: number;
  skipped: number;
  byCounter: Record<string, number>;
}

class MiniRing {
  readonly cores: RingCore[];
  readonly delivered: string[][];
  readonly timers: Set<RingTimer>[];
  readonly queue: { to: number; data: Buffer }[] = [];
  /** Recent real datagrams (any type), for mutation. */
  readonly recent: Buffer[] = [];
  /** Highest token sequence each node has been fed (the leader took token 1 at start). */
  readonly lastTokenSeq: number[];

  constructor() {
    this.cores = MEMBERS.map((id) => new RingCore({ myId: id, members: MEMBERS, ringSeq: RING_SEQ, ringRep: RING_REP, configHash: HASH, incarnation: 1 }, RING_OPTS));
    this.delivered = MEMBERS.map(() => []);
    this.timers = MEMBERS.map(() => new Set());
    this.lastTokenSeq = MEMBERS.map((_, i) => (i === 0 ? 1 : 0));
  }

  apply(i: number, outs: RingOutput[]): void {
    for (const o of outs) {
      if (o.kind === 'mcast') {
        this.remember(o.data);
        for (let j = 0; j < this.cores.length; j++) if (j !== i) this.queue.push({ to: j, data: o.data });
      } else if (o.kind === 'send') {
        this.remember(o.data);
        this.queue.push({ to: MEMBERS.indexOf(o.to), data: o.data });
      } else if (o.kind === 'deliver') {
        const m = o.msg;
        this.delivered[i].push(`${m.origin}#${m.counter}@${m.seq}:${m.payload.length}:${checksum(m.payload)}`);
      } else if (o.kind === 'setTimer') this.timers[i].add(o.timer);
      else if (o.kind === 'cancelTimer') this.timers[i].delete(o.timer);
    }
  }

  private remember(data: Buffer): void {
    this.recent.push(data);
    if (this.recent.length > 64) this.recent.shift();
  }

  /** One tick of the ring: a queued datagram, else a timer; false when there is nothing to do. */
  tick(): boolean {
    const d = this.queue.shift();
    if (d) {
      const h = decodeHeader(d.data);
      if (!(h instanceof WireError) && h.type === PacketType.TOKEN) {
        const t = decodeToken(d.data);
        if (!(t instanceof WireError)) this.lastTokenSeq[d.to] = Math.max(this.lastTokenSeq[d.to], t.tokenSeq);
      }
      this.apply(d.to, this.cores[d.to].step({ kind: 'packet', data: d.data }));
      return true;
    }
    for (const timer of ['tokenHold', 'tokenRetransmit'] as const) {
      const i = this.timers.findIndex((s) => s.has(timer));
      if (i >= 0) {
        this.timers[i].delete(timer);
        this.apply(i, this.cores[i].step({ kind: 'timer', timer }));
        return true;
      }
    }
    return false;
  }
}

function sumRejections(c: RingCounters): number {
  let n = 0;
  for (const k of REJECT_COUNTERS) n += c[k];
  return n;
}

/**
 * Runs the fixed workload to completion, feeding `schedule` in between. strict: feed only what
 * the oracle says must be rejected, and check each rejection. Returns what every node delivered.
 */
function runRing(messages: number, schedule: readonly GarbageEvent[], mode: 'strict' | 'hostile'): RunResult {
  const ring = new MiniRing();
  const subs = workload(messages);
  const result: RunResult = { delivered: ring.delivered, counters: [], injected: 0, skipped: 0, byCounter: {} };
  ring.cores.forEach((c, i) => ring.apply(i, c.step({ kind: 'start' })));
  let si = 0;
  let gi = 0;
  let garbageAt = schedule.length > 0 ? schedule[0].gap : Infinity;
  const maxTicks = mode === 'strict' ? 200_000 : 5_000;
  const finished = () => si === subs.length && ring.delivered.every((d) => d.length >= messages);

  // The ring runs until every member delivered everything (the same number of ticks as the
  // reference run, since rejected garbage changes nothing); what is left of the schedule is
  // fed afterwards, without ticking, so the runs' own counters stay comparable.
  for (let clock = 0; clock < maxTicks && !finished(); clock++) {
    while (si < subs.length && subs[si].at <= clock) {
      const s = subs[si];
      ring.apply(s.node, ring.cores[s.node].step({ kind: 'submit', service: s.service as never, groups: s.groups, payload: payloadFor(si, s.size) }));
      si++;
    }
    while (gi < schedule.length && garbageAt <= clock) {
      const ev = schedule[gi++];
      if (gi < schedule.length) garbageAt += schedule[gi].gap;
      inject(ring, ev, mode, result);
    }
    ring.tick(); // an idle tick (nothing queued, no timer) still advances the clock
  }
  if (mode === 'strict') {
    assert.ok(finished(), `the ring finished within ${maxTicks} ticks (delivered ${ring.delivered.map((d) => d.length).join('/')} of ${messages})`);
  }
  while (gi < schedule.length) inject(ring, schedule[gi++], mode, result);
  if (mode === 'hostile') {
    // keep the ring turning a little after the storm: it must still not throw
    for (let k = 0; k < 1000 && ring.tick(); k++);
  }
  result.counters = ring.cores.map((c) => ({ ...c.counters }));
  return result;
}

function inject(ring: MiniRing, ev: GarbageEvent, mode: 'strict' | 'hostile', result: RunResult): void {
  if (ring.recent.length === 0 && ev.g.kind !== 'random' && ev.g.kind !== 'header' && ev.g.kind !== 'data') {
    result.skipped++;
    return;
  }
  const buf = materialize(ev.g, ring.recent);
  const core = ring.cores[ev.to];
  if (mode === 'strict') {
    const verdict = oracle(buf, core, ring.lastTokenSeq[ev.to]);
    if (!verdict.reject) {
      result.skipped++;
      return;
    }
    const before = { ...core.counters };
    const progress = core.progress;
    const backlog = core.backlog;
    const out = core.step({ kind: 'packet', data: buf });
    const what = `${ev.g.kind} garbage (${buf.length} bytes: ${buf.subarray(0, 48).toString('hex')}) to node ${ev.to + 1}`;
    assert.deepEqual(out, [], `${what}: no output`);
    assert.deepEqual(core.progress, progress, `${what}: progress unchanged`);
    assert.equal(core.backlog, backlog);
    assert.equal(sumRejections(core.counters), sumRejections(before) + 1, `${what}: exactly one rejection counted`);
    if (verdict.counter !== 'any') assert.equal(core.counters[verdict.counter], before[verdict.counter] + 1, `${what}: ${verdict.counter} rises`);
    const key = verdict.counter === 'any' ? REJECT_COUNTERS.find((k) => core.counters[k] !== before[k])! : verdict.counter;
    result.byCounter[key] = (result.byCounter[key] ?? 0) + 1;
    result.injected++;
  } else {
    if (announcesHugeMessage(buf, core.opts.maxMessageSize)) {
      result.skipped++; // known bug, see 'bounds the reassembly buffer' below
      return;
    }
    ring.apply(ev.to, core.step({ kind: 'packet', data: buf })); // must not throw
    result.injected++;
  }
}

// ------------------------------------------------------------------------------------------

describe('ring core under garbage (fast-check)', function () {
  this.timeout(60_000);
  const MESSAGES = 45;
  let reference: RunResult;

  before(() => {
    reference = runRing(MESSAGES, [], 'strict');
  });

  it('the reference ring (no garbage) delivers every message once, in one order at every member', () => {
    const [a, b, c] = reference.delivered;
    assert.equal(a.length, MESSAGES);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    const ids = a.map((s) => s.split('@')[0]);
    assert.equal(new Set(ids).size, MESSAGES);
    // FIFO per sender
    for (const origin of MEMBERS) {
      const counters = ids.filter((id) => id.startsWith(`${origin}#`)).map((id) => Number(id.split('#')[1]));
      assert.deepEqual(counters, [...counters].sort((x, y) => x - y));
      assert.equal(counters.length, MESSAGES / 3);
    }
    for (const c of reference.counters) {
      assert.equal(c.malformedPackets, 0);
      assert.equal(c.foreignPackets, 0);
    }
  });

  it('rejects every piece of garbage without effect, and the ring delivers the same order', () => {
    const total: Record<string, number> = {};
    let injected = 0;
    fc.assert(
      fc.property(scheduleArb, (schedule) => {
        const r = runRing(MESSAGES, schedule, 'strict');
        assert.deepEqual(r.delivered, reference.delivered, 'same deliveries, same order, at every member');
        // the counters of what was rejected rose at the nodes it was sent to
        for (const k of REJECT_COUNTERS) {
          const rise = r.counters.reduce((s, c, i) => s + c[k] - reference.counters[i][k], 0);
          assert.equal(rise, r.byCounter[k] ?? 0, `${k} rose by what the oracle predicted`);
        }
        injected += r.injected;
        for (const [k, v] of Object.entries(r.byCounter)) total[k] = (total[k] ?? 0) + v;
      }),
      { numRuns: 40 },
    );
    if (process.env.RINGFUZZ_VERBOSE) console.log('strict:', injected, total);
    assert.ok(injected >= 2000, `thousands of garbage packets fed (${injected})`);
    for (const k of ['malformedPackets', 'foreignPackets', 'duplicatePackets', 'duplicateTokens'] as const) {
      assert.ok((total[k] ?? 0) > 20, `${k}: ${total[k] ?? 0} of the injected garbage`);
    }
  });

  it('never throws when fed everything, forged well-formed packets included', () => {
    let injected = 0;
    fc.assert(
      fc.property(scheduleArb, (schedule) => {
        injected += runRing(MESSAGES, schedule, 'hostile').injected;
      }),
      { numRuns: 25 },
    );
    if (process.env.RINGFUZZ_VERBOSE) console.log('hostile:', injected);
    assert.ok(injected >= 1500, `garbage packets fed (${injected})`);
  });

  it('a burst of pure garbage before the ring starts changes nothing', () => {
    const ring = new MiniRing();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.integer({ min: 0, max: 2 }), (bytes, to) => {
        const out = ring.cores[to].step({ kind: 'packet', data: Buffer.from(bytes) });
        assert.deepEqual(out, []);
      }),
      { numRuns: 1000 },
    );
    const rejected = ring.cores.reduce((s, c) => s + sumRejections(c.counters), 0);
    assert.equal(rejected, 1000);
    assert.ok(ring.cores.every((c) => c.counters.malformedPackets > 0));
  });

  // BUG (reported): a FIRST fragment's totalLen is taken from the wire and allocated at once
  // (Buffer.allocUnsafe(item.totalLen) in deliverItem), so one 64-byte packet from a member
  // reserves up to 4 GiB, and one per origin id keeps them all alive. Un-skip when fixed.
  it('bounds the reassembly buffer a FIRST fragment can ask for (totalLen ≤ maxMessageSize)', () => {
    const core = new RingCore({ myId: 2, members: MEMBERS, ringSeq: RING_SEQ, ringRep: RING_REP, configHash: HASH, incarnation: 1 }, RING_OPTS);
    const before = process.memoryUsage().arrayBuffers;
    for (let k = 0; k < 4; k++) {
      const chunk = Buffer.from('abcd');
      const buf = beginData(DATA_BODY_OFFSET + ITEM_HEADER_SIZE + chunk.length, stampFor(1), k + 1, 1, 0);
      writeItem(buf, DATA_BODY_OFFSET, ItemFlag.FIRST, Service.AGREED, 1000 + k, 1, 0xffffffff, null, chunk, 0, chunk.length);
      core.step({ kind: 'packet', data: buf });
    }
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 64 * 1024 * 1024, `4 tiny packets made the core hold ${Math.round(grown / 2 ** 20)} MiB`);
  });
});

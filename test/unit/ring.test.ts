import { strict as assert } from 'node:assert';
import { RingCore } from '../../src/core/ring/ring';
import type { DeliveredMessage, RingOptions, RingOutput, RingTimer } from '../../src/core/ring/types';
import { Service } from '../../src/core/service';
import { PacketType, decodeHeader, decodeToken, encodeToken, NO_SETTER, WireError } from '../../src/wire/packet';

// A hand-driven ring: datagrams wait in a FIFO until `run` delivers them; tests can drop or
// hold back what they like and fire timers themselves.
class Harness {
  readonly cores: RingCore[];
  readonly delivered: DeliveredMessage[][];
  readonly timers: Set<RingTimer>[];
  queue: { to: number; data: Buffer }[] = [];
  filter: (from: number, to: number, data: Buffer) => boolean = () => true;
  mcasts = 0;

  constructor(n: number, opts: Partial<RingOptions> = {}) {
    const members = Array.from({ length: n }, (_, i) => i + 1);
    this.cores = members.map((id) => new RingCore({ myId: id, members, ringSeq: 1, ringRep: 1, configHash: 7, incarnation: 1 }, opts));
    this.delivered = members.map(() => []);
    this.timers = members.map(() => new Set());
  }

  apply(i: number, outs: RingOutput[]): void {
    for (const o of outs) {
      if (o.kind === 'mcast') {
        this.mcasts++;
        for (let j = 0; j < this.cores.length; j++) if (j !== i && this.filter(i, j, o.data)) this.queue.push({ to: j, data: o.data });
      } else if (o.kind === 'send') {
        if (this.filter(i, o.to - 1, o.data)) this.queue.push({ to: o.to - 1, data: o.data });
      } else if (o.kind === 'deliver') this.delivered[i].push(o.msg);
      else if (o.kind === 'setTimer') this.timers[i].add(o.timer);
      else if (o.kind === 'cancelTimer') this.timers[i].delete(o.timer);
    }
  }

  start(): void {
    this.cores.forEach((c, i) => this.apply(i, c.step({ kind: 'start' })));
  }

  submit(i: number, size: number, service: number = Service.AGREED, groups = ['g']): void {
    this.apply(i, this.cores[i].step({ kind: 'submit', service: service as never, groups, payload: Buffer.alloc(size, i + 1) }));
  }

  fire(i: number, timer: RingTimer): void {
    this.timers[i].delete(timer);
    this.apply(i, this.cores[i].step({ kind: 'timer', timer }));
  }

  /** Delivers queued datagrams until none are left (or `limit` of them). */
  run(limit = 1_000_000): number {
    let n = 0;
    while (this.queue.length > 0 && n < limit) {
      const { to, data } = this.queue.shift()!;
      this.apply(to, this.cores[to].step({ kind: 'packet', data }));
      n++;
    }
    return n;
  }

  /** Runs until quiet, firing held-token timers so an idle ring keeps turning. */
  settle(rounds = 50): void {
    for (let r = 0; r < rounds; r++) {
      this.run();
      let fired = false;
      if (!this.busy()) return;
      this.timers.forEach((set, i) => {
        if (set.has('tokenHold')) {
          this.fire(i, 'tokenHold');
          fired = true;
        }
      });
      if (!fired && this.queue.length === 0) {
        this.timers.forEach((set, i) => {
          if (set.has('tokenRetransmit')) {
            this.fire(i, 'tokenRetransmit');
            fired = true;
          }
        });
      }
      if (!fired) return;
    }
  }

  /** Something is still to be sent, delivered or made safe somewhere. */
  busy(): boolean {
    const high = Math.max(...this.cores.map((c) => c.progress.highSeq));
    return this.cores.some((c) => c.backlog > 0 || c.progress.delivered < high || c.progress.safe < high);
  }

  ids(i: number): string[] {
    return this.delivered[i].map((m) => `${m.origin}#${m.counter}`);
  }
}

describe('ring core', () => {
  it('delivers every member the same total order', () => {
    const h = new Harness(3);
    h.start();
    for (let k = 0; k < 30; k++) h.submit(k % 3, 10 + k);
    h.settle();
    assert.equal(h.ids(0).length, 30);
    assert.deepEqual(h.ids(1), h.ids(0));
    assert.deepEqual(h.ids(2), h.ids(0));
  });

  it('packs many small messages into one packet', () => {
    const h = new Harness(2, { payloadBudget: 1400 });
    h.start();
    for (let k = 0; k < 50; k++) h.submit(0, 10);
    h.settle();
    assert.equal(h.delivered[1].length, 50);
    // The first submit wakes the idle ring and goes alone; the other 49 (32 bytes each) fill two.
    assert.ok(h.cores[0].counters.packetsSent <= 3, `packets sent: ${h.cores[0].counters.packetsSent}`);
  });

  it('fragments and reassembles a 1 MiB message', () => {
    const h = new Harness(3);
    h.start();
    const big = Buffer.alloc(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    h.apply(1, h.cores[1].step({ kind: 'submit', service: Service.SAFE, groups: ['a', 'b'], payload: big }));
    h.submit(2, 5);
    h.settle(200);
    for (let i = 0; i < 3; i++) {
      const m = h.delivered[i].find((d) => d.origin === 2)!;
      assert.ok(m.payload.equals(big), `daemon ${i + 1} got the message intact`);
      assert.deepEqual(m.groups, ['a', 'b']);
    }
    assert.deepEqual(h.ids(0), h.ids(2));
  });

  it('keeps to the personal window per token visit', () => {
    const h = new Harness(2, { personalWindow: 5, payloadBudget: 100 });
    h.start();
    for (let k = 0; k < 40; k++) h.submit(0, 60);
    // One visit: the leader sends at most personalWindow packets before passing the token.
    h.fire(0, 'tokenHold');
    assert.ok(h.cores[0].counters.packetsSent <= 5, `sent ${h.cores[0].counters.packetsSent}`);
    h.settle(100);
    assert.equal(h.delivered[1].length, 40);
  });

  it('keeps to the global window: others back off after a busy rotation', () => {
    const h = new Harness(3, { window: 12, personalWindow: 10, payloadBudget: 100 });
    h.start();
    for (let k = 0; k < 60; k++) {
      h.submit(0, 60);
      h.submit(1, 60);
    }
    h.fire(0, 'tokenHold');
    h.run(1); // token (or first packet) reaches the next
    h.settle(100);
    assert.equal(h.delivered[2].length, 120);
    // Per rotation no more than window + personalWindow packets are in flight.
    const total = h.cores.reduce((n, c) => n + c.counters.packetsSent, 0);
    const rotations = h.cores[0].counters.rotations;
    assert.ok(total / rotations <= 12 + 10, `${total} packets over ${rotations} rotations`);
  });

  it('retransmits a lost token and ignores the duplicate', () => {
    const h = new Harness(3);
    h.start();
    h.submit(0, 10);
    let dropped = 0;
    h.filter = (from, _to, data) => {
      const hd = decodeHeader(data);
      if (!(hd instanceof WireError) && hd.type === PacketType.TOKEN && from === 1 && dropped === 0) {
        dropped++;
        return false;
      }
      return true;
    };
    h.settle();
    // d2's token to d3 was lost: d2 must still hold a retransmit timer, then resend.
    assert.equal(dropped, 1);
    h.submit(1, 10);
    h.settle();
    assert.ok(h.cores[1].counters.tokenRetransmits >= 1);
    assert.equal(h.delivered[2].length, 2);
    assert.deepEqual(h.ids(2), h.ids(0));
    // A replay of an old token is dropped by token sequence.
    const stale = encodeToken(
      { configHash: 7, ringSeq: 1, ringRep: 1, sender: 1, incarnation: 1 },
      { tokenSeq: 1, seq: 0, aru: 0, aruSetter: NO_SETTER, safe: 0, fcc: 0, flags: 0, backlog: 0, rtr: [] },
    );
    const before = h.cores[1].counters.duplicateTokens;
    h.apply(1, h.cores[1].step({ kind: 'packet', data: stale }));
    assert.equal(h.cores[1].counters.duplicateTokens, before + 1);
  });

  it('takes a token only from its predecessor: a fresh one sent to another member (replayed to us) is dropped', () => {
    const h = new Harness(3);
    h.start();
    h.submit(0, 10);
    h.settle();
    // d1's next token to d2, copied to d3 as an attacker replaying it would: newer than any d3 took.
    const t = decodeToken(encodeToken({ configHash: 7, ringSeq: 1, ringRep: 1, sender: 1, incarnation: 1 }, {
      tokenSeq: 1_000_000, seq: 0, aru: 0, aruSetter: NO_SETTER, safe: 0, fcc: 0, flags: 0, backlog: 0, rtr: [],
    }));
    assert.ok(!(t instanceof WireError));
    const copy = encodeToken({ configHash: 7, ringSeq: 1, ringRep: 1, sender: 1, incarnation: 1 }, t);
    const accepted = h.cores[2].counters.tokensAccepted;
    h.apply(2, h.cores[2].step({ kind: 'packet', data: copy }));
    assert.equal(h.cores[2].counters.misaddressedTokens, 1);
    assert.equal(h.cores[2].counters.tokensAccepted, accepted);
    h.submit(2, 10);
    h.settle();
    assert.equal(h.delivered[0].length, 2, 'the ring goes on');
    assert.deepEqual(h.ids(2), h.ids(0));
  });

  it('recovers lost data packets through retransmission requests', () => {
    const h = new Harness(3);
    h.start();
    let n = 0;
    h.filter = (_from, to, data) => {
      const hd = decodeHeader(data);
      return !(!(hd instanceof WireError) && hd.type === PacketType.DATA && to === 2 && n++ % 2 === 0);
    };
    for (let k = 0; k < 20; k++) h.submit(k % 2, 500);
    h.settle();
    h.filter = () => true;
    h.settle();
    assert.equal(h.delivered[2].length, 20);
    assert.deepEqual(h.ids(2), h.ids(0));
    assert.ok(h.cores.some((c) => c.counters.retransmitsSent > 0));
  });

  it('delivers SAFE only once every member has the message', () => {
    const h = new Harness(3);
    h.start();
    // d3 receives no data: nobody may deliver a SAFE message.
    h.filter = (_from, to, data) => {
      const hd = decodeHeader(data);
      return !(to === 2 && !(hd instanceof WireError) && hd.type === PacketType.DATA);
    };
    h.submit(0, 10, Service.SAFE);
    h.fire(0, 'tokenHold');
    h.run(50);
    assert.equal(h.delivered[0].length, 0);
    assert.equal(h.delivered[1].length, 0);
    h.filter = () => true;
    h.settle();
    for (let i = 0; i < 3; i++) assert.equal(h.delivered[i].length, 1);
  });

  it('answers retransmission requests for discarded messages safely', () => {
    const h = new Harness(3);
    h.start();
    for (let k = 0; k < 10; k++) h.submit(0, 100);
    h.settle();
    assert.ok(h.cores[0].progress.discarded >= 1);
    // A token asking for seq 1 again (long discarded everywhere) must be dropped from the list.
    const c = h.cores[1];
    const p = c.progress;
    const t = encodeToken(
      { configHash: 7, ringSeq: 1, ringRep: 1, sender: 1, incarnation: 1 },
      { tokenSeq: 1_000_000, seq: p.highSeq, aru: p.aru, aruSetter: NO_SETTER, safe: p.safe, fcc: 0, flags: 0, backlog: 0, rtr: [1, 2, p.highSeq + 5] },
    );
    const outs = c.step({ kind: 'packet', data: t });
    const token = outs.find((o) => o.kind === 'send');
    assert.ok(token && token.kind === 'send');
    const fwd = decodeToken(token.data);
    assert.ok(!(fwd instanceof WireError));
    assert.deepEqual(fwd.rtr, []);
    assert.equal(outs.filter((o) => o.kind === 'mcast').length, 0);
  });

  it('keeps memory bounded under a steady flood', () => {
    const h = new Harness(3, { payloadBudget: 1400 });
    h.start();
    let maxStored = 0;
    for (let round = 0; round < 200; round++) {
      for (let k = 0; k < 30; k++) h.submit(round % 3, 1000);
      h.run(400);
      for (const c of h.cores) maxStored = Math.max(maxStored, c.progress.stored);
    }
    h.settle(500);
    assert.equal(h.delivered[0].length, 6000);
    assert.ok(maxStored <= 1600 + 200, `at most ${maxStored} packets held`);
    for (const c of h.cores) assert.ok(c.progress.stored <= 200, `left ${c.progress.stored}`);
  });

  it('holds an idle token at the leader and wakes on new work', () => {
    const h = new Harness(3);
    h.start();
    h.settle();
    assert.ok(h.timers[0].has('tokenHold'), 'leader holds the idle token');
    h.submit(2, 10); // not the leader: sends WAKE
    const wake = h.queue.find((q) => {
      const hd = decodeHeader(q.data);
      return !(hd instanceof WireError) && hd.type === PacketType.WAKE;
    });
    assert.ok(wake, 'a WAKE went to the leader');
    h.run();
    assert.equal(h.delivered[0].length, 1);
  });

  it('rejects submits that cannot be carried', () => {
    const h = new Harness(2, { maxMessageSize: 100 });
    assert.throws(() => h.cores[0].step({ kind: 'submit', service: Service.AGREED, groups: ['g'], payload: Buffer.alloc(101) }), /exceeds/);
    assert.throws(() => h.cores[0].step({ kind: 'submit', service: Service.AGREED, groups: ['x'.repeat(300)], payload: Buffer.alloc(1) }), /group name/);
  });
});

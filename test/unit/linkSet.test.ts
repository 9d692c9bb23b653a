import { strict as assert } from 'node:assert';
import {
  DedupeWindow,
  LINK_HEADER_SIZE,
  LINK_MAGIC,
  LinkPacket,
  LinkSetCore,
  type LinkAction,
  type LinkEvent,
  type LinkSetConfig,
} from '../../src/link/linkSet';

type Transmit = Extract<LinkAction, { kind: 'transmit' }>;

const transmits = (a: LinkAction[]) => a.filter((x): x is Transmit => x.kind === 'transmit');
const delivers = (a: LinkAction[]) => a.filter((x): x is Extract<LinkAction, { kind: 'deliver' }> => x.kind === 'deliver');
const events = (a: LinkAction[]) => a.filter((x): x is Extract<LinkAction, { kind: 'event' }> => x.kind === 'event').map((x) => x.event);
const bytes = (t: Transmit) => (t.data ? Buffer.concat([t.header, t.data]) : Buffer.from(t.header));

/**
 * Link-set cores joined by a synchronous network: transmit actions go into a queue, flush()
 * hands them to their receivers (unless the link is cut), and what they answer goes on.
 */
class Harness {
  readonly cores = new Map<number, LinkSetCore>();
  readonly delivered = new Map<number, string[]>();
  readonly events: LinkEvent[] = [];
  readonly cut = new Set<string>(); // `${link}` or `${link}/${host}`
  queue: { from: number; t: Transmit }[] = [];
  now = 0;

  constructor(ids: number[], cfg: Partial<LinkSetConfig>) {
    for (const id of ids) {
      this.cores.set(id, new LinkSetCore({ self: id, peers: ids, links: 2, mode: 'active', epoch: 1, ...cfg }, 0));
      this.delivered.set(id, []);
    }
  }

  take(from: number, actions: LinkAction[]): void {
    for (const a of actions) {
      if (a.kind === 'transmit') this.queue.push({ from, t: a });
      else if (a.kind === 'deliver') this.delivered.get(from)!.push(a.data.toString());
      else this.events.push(a.event);
    }
  }

  send(from: number, to: number, text: string): void {
    this.take(from, this.cores.get(from)!.send(this.now, to, Buffer.from(text)));
  }

  down(link: number, host?: number): boolean {
    return this.cut.has(`${link}`) || (host !== undefined && this.cut.has(`${link}/${host}`));
  }

  /** Delivers everything queued (and what that causes), `ms` later. */
  flush(ms = 0.1): void {
    this.now += ms;
    while (this.queue.length) {
      const q = this.queue;
      this.queue = [];
      for (const { from, t } of q) {
        if (this.down(t.link, from) || this.down(t.link, t.to)) continue;
        this.take(t.to, this.cores.get(t.to)!.receive(this.now, from, t.link, bytes(t)));
      }
    }
  }

  /** Advances time in steps, ticking every core and flushing. */
  run(ms: number, step = 5): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += step;
      for (const [id, c] of this.cores) this.take(id, c.tick(this.now));
      this.flush(0.1);
    }
  }
}

describe('link set (multipath)', () => {
  describe('DedupeWindow', () => {
    it('takes any first number, then refuses repeats', () => {
      const w = new DedupeWindow(64);
      assert.equal(w.check(1000), 'new');
      assert.equal(w.check(1000), 'dup');
      assert.equal(w.check(1001), 'new');
      assert.equal(w.check(999), 'new', 'a late first copy inside the window');
      assert.equal(w.check(999), 'dup');
    });

    it('remembers exactly the last `size` numbers', () => {
      const w = new DedupeWindow(64);
      assert.equal(w.check(100), 'new');
      assert.equal(w.check(100 - 63), 'new', 'oldest number inside the window');
      assert.equal(w.check(100 - 63), 'dup');
      assert.equal(w.check(100 - 64), 'old', 'one before the window');
      assert.equal(w.check(150), 'new');
      assert.equal(w.check(100), 'dup', '100 is still inside (150 - 64 < 100)');
      assert.equal(w.check(164), 'new');
      assert.equal(w.check(101), 'new', 'oldest inside, never seen');
      assert.equal(w.check(100), 'old', 'now just outside');
    });

    it('forgets numbers skipped over when the window moves (bits are cleared, not inherited)', () => {
      const w = new DedupeWindow(64);
      w.check(1);
      w.check(2);
      assert.equal(w.check(66), 'new'); // 2 and 66 share a bit slot
      assert.equal(w.check(65), 'new', '65 was never seen, though its slot held 1');
      assert.equal(w.check(2), 'old');
      assert.equal(w.check(1000), 'new', 'a jump past the whole window');
      assert.equal(w.check(1000 - 64 + 2), 'new', 'slot of 66 cleared by the jump');
    });

    it('handles u32 wrap-around', () => {
      const w = new DedupeWindow(64);
      assert.equal(w.check(0xfffffffe), 'new');
      assert.equal(w.check(0xffffffff), 'new');
      assert.equal(w.check(0), 'new');
      assert.equal(w.check(1), 'new');
      assert.equal(w.check(0xffffffff), 'dup');
      assert.equal(w.check(0xfffffffd), 'new');
      assert.equal(w.highest, 1);
      assert.equal(w.check(0xffffffff - 70), 'old');
    });

    it('reset starts over; sizes must be powers of two', () => {
      const w = new DedupeWindow(128);
      w.check(5);
      w.reset();
      assert.equal(w.highest, null);
      assert.equal(w.check(5), 'new');
      assert.throws(() => new DedupeWindow(100), RangeError);
      assert.throws(() => new DedupeWindow(32), RangeError);
    });

    it('agrees with a set-based model on random sequences', () => {
      let seed = 7;
      const rand = (n: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
      for (let round = 0; round < 20; round++) {
        const size = 64 << rand(3);
        const w = new DedupeWindow(size);
        const seen = new Set<number>();
        let high = -1;
        let base = rand(1000);
        for (let i = 0; i < 3000; i++) {
          base += rand(4) === 0 ? rand(3 * size) : 1;
          const s = Math.max(0, base - rand(size + 20));
          const expect = high >= 0 && s <= high - size ? 'old' : seen.has(s) ? 'dup' : 'new';
          assert.equal(w.check(s), expect, `round ${round} seq ${s} high ${high} size ${size}`);
          if (expect === 'new') {
            seen.add(s);
            high = Math.max(high, s);
          }
        }
      }
    });
  });

  describe('LinkSetCore', () => {
    it('writes the 10-byte link header: magic, type|link, epoch, seq', () => {
      const c = new LinkSetCore({ self: 1, peers: [1, 2], links: 2, mode: 'active', epoch: 77 }, 0);
      const t = transmits(c.send(0, 2, Buffer.from('x')));
      assert.deepEqual(t.map((x) => x.link), [0, 1], 'no link known up yet: every link');
      for (const x of t) {
        assert.equal(x.header.length, LINK_HEADER_SIZE);
        assert.equal(x.header[0], LINK_MAGIC);
        assert.equal(x.header[1], (LinkPacket.DATA << 4) | x.link);
        assert.equal(x.header.readUInt32BE(2), 77);
        assert.equal(x.header.readUInt32BE(6), 1);
        assert.equal(x.data!.toString(), 'x');
      }
      assert.equal(transmits(c.send(0, 2, Buffer.from('y')))[0].header.readUInt32BE(6), 2, 'one sequence per receiver');
      assert.equal(transmits(c.send(0, 3, Buffer.from('y'))).length, 0, 'unknown peer: nothing');
    });

    it('active: first copy delivered, the other dropped and counted on its link', () => {
      const h = new Harness([1, 2], {});
      h.run(20);
      assert.deepEqual(h.events.map((e) => e.kind), ['up', 'up', 'up', 'up']);
      h.send(1, 2, 'a');
      assert.equal(h.queue.length, 2);
      h.flush();
      assert.deepEqual(h.delivered.get(2), ['a']);
      const st = h.cores.get(2)!.status(h.now).peers.find((p) => p.peer === 1)!;
      assert.equal(st.links[0].duplicates + st.links[1].duplicates, 1);
      assert.equal(h.cores.get(2)!.counters.delivered, 1);
    });

    it('active: a dead link is detected by missing pongs, not used, and used again when it answers', () => {
      const h = new Harness([1, 2, 3], { pingIntervalMs: 10, deadMs: 40 });
      h.run(30);
      h.cut.add('0/3'); // host 3's interface on link 0
      h.run(60);
      const down = h.events.filter((e) => e.kind === 'down');
      assert.deepEqual(down.map((e) => `${e.link}:${e.peer}`).sort(), ['0:1', '0:2', '0:3', '0:3'], 'both directions of link 0 at host 3');
      assert.equal(h.cores.get(1)!.state(3, 0), 'down');
      assert.equal(h.cores.get(1)!.state(2, 0), 'up', 'link 0 between 1 and 2 unaffected');
      h.send(1, 3, 'm');
      assert.deepEqual(h.queue.map((q) => q.t.link), [1], 'only the live link');
      h.flush();
      assert.deepEqual(h.delivered.get(3), ['m']);
      h.cut.delete('0/3');
      h.run(40);
      assert.equal(h.cores.get(1)!.state(3, 0), 'up');
      assert.equal(h.cores.get(3)!.state(1, 0), 'up');
      h.send(1, 3, 'n');
      assert.deepEqual(h.queue.map((q) => q.t.link), [0, 1]);
      h.flush();
      assert.deepEqual(h.delivered.get(3), ['m', 'n']);
      const ups = h.events.filter((e) => e.kind === 'up' && e.at > 100);
      assert.equal(ups.length, 4);
    });

    it('heartbeat state machine: unknown → up on a pong; down after deadMs; up again after upPongs pongs', () => {
      const a = new LinkSetCore({ self: 1, peers: [1, 2], links: 1, mode: 'active', epoch: 1, pingIntervalMs: 10, deadMs: 30, upPongs: 2 }, 0);
      const b = new LinkSetCore({ self: 2, peers: [1, 2], links: 1, mode: 'active', epoch: 5, pingIntervalMs: 10, deadMs: 30 }, 0);
      const ping = (now: number) => transmits(a.tick(now)).filter((t) => t.to === 2);
      const answer = (p: Transmit, now: number) => transmits(b.receive(now, 1, 0, bytes(p)))[0];
      assert.equal(a.state(2, 0), 'unknown');
      let p = ping(0);
      assert.equal(p.length, 1);
      assert.equal(p[0].header[1] >> 4, LinkPacket.PING);
      const pong = answer(p[0], 1);
      assert.equal(pong.header[1] >> 4, LinkPacket.PONG);
      assert.deepEqual(events(a.receive(2, 2, 0, bytes(pong))).map((e) => e.kind), ['up']);
      assert.equal(a.status(2).peers[0].links[0].rttMs, 2);
      assert.equal(a.nextTickAt(), 10);
      // Pings go unanswered: down once the newest answered ping is older than deadMs.
      assert.deepEqual(events(a.tick(10)), []);
      assert.deepEqual(events(a.tick(30)), []);
      const ev = events(a.tick(30.5));
      assert.deepEqual(ev.map((e) => [e.kind, e.reason]), [['down', 'no pong for 30 ms']]);
      // A pong that took longer than deadMs does not count.
      p = ping(40);
      assert.deepEqual(events(a.receive(75, 2, 0, bytes(answer(p[0], 41)))), []);
      p = ping(80);
      assert.deepEqual(events(a.receive(81, 2, 0, bytes(answer(p[0], 80)))), [], 'one pong is not enough');
      p = ping(90);
      assert.deepEqual(events(a.receive(91, 2, 0, bytes(answer(p[0], 90)))).map((e) => e.kind), ['up']);
      const st = a.status(91).peers[0].links[0];
      assert.equal(st.downs, 1);
      assert.equal(st.state, 'up');
      assert.ok(st.pingsSent >= 4 && st.pongsReceived === 4);
    });

    it('a link that never answers goes down after deadMs ("never answered")', () => {
      const a = new LinkSetCore({ self: 1, peers: [1, 2], links: 2, mode: 'active', epoch: 1, pingIntervalMs: 10, deadMs: 30 }, 0);
      for (let t = 0; t <= 30; t += 10) assert.deepEqual(events(a.tick(t)), []);
      assert.deepEqual(events(a.tick(31)).map((e) => `${e.kind} ${e.link} ${e.reason}`), ['down 0 never answered', 'down 1 never answered']);
    });

    it('a hard send error takes the link down at once; a soft one is only counted', () => {
      const h = new Harness([1, 2], { mode: 'passive' });
      h.run(20);
      const c = h.cores.get(1)!;
      assert.deepEqual(events(c.sendFailed(h.now, 1, 2, false)), []);
      assert.equal(c.state(2, 1), 'up');
      const ev = events(c.sendFailed(h.now, 0, 2, true));
      assert.deepEqual(ev.map((e) => `${e.kind} ${e.link} ${e.reason}`), ['down 0 send failed']);
      assert.deepEqual(events(c.sendFailed(h.now, 0, 2, true)), [], 'already down');
      const st = c.status(h.now).peers[0];
      assert.equal(st.current, 1);
      assert.equal(st.links[0].sendErrors, 2);
      assert.equal(st.links[1].sendErrors, 1);
    });

    it('passive: best live link only; failover resends the recent datagrams; recovery goes back', () => {
      const h = new Harness([1, 2], { mode: 'passive', pingIntervalMs: 10, deadMs: 40 });
      h.run(20);
      h.send(1, 2, 'a');
      assert.deepEqual(h.queue.map((q) => q.t.link), [0]);
      h.flush();
      h.cut.add('0');
      h.send(1, 2, 'b'); // lost with link 0
      h.send(1, 2, 'c');
      h.flush();
      assert.deepEqual(h.delivered.get(2), ['a']);
      h.run(60);
      assert.deepEqual(h.delivered.get(2), ['a', 'b', 'c'], 'resent on link 1 at failover, once each');
      assert.equal(h.cores.get(1)!.counters.resent, 3);
      const s2 = h.cores.get(2)!.status(h.now).peers[0].links[1];
      assert.equal(s2.duplicates, 1, '"a" had arrived already: its resent copy is dropped');
      h.send(1, 2, 'd');
      assert.deepEqual(h.queue.map((q) => q.t.link), [1]);
      h.flush();
      h.cut.delete('0');
      h.run(40);
      assert.equal(h.cores.get(1)!.status(h.now).peers[0].current, 0, 'link 0 back in use without anyone doing anything');
      h.send(1, 2, 'e');
      assert.deepEqual(h.queue.map((q) => q.t.link), [0]);
      h.flush();
      assert.deepEqual(h.delivered.get(2), ['a', 'b', 'c', 'd', 'e']);
    });

    it('no live link at all: every link, in both modes', () => {
      for (const mode of ['active', 'passive'] as const) {
        const h = new Harness([1, 2], { mode, pingIntervalMs: 10, deadMs: 30 });
        h.run(20);
        h.cut.add('0');
        h.cut.add('1');
        h.run(60);
        assert.equal(h.cores.get(1)!.reachable(2), false);
        h.send(1, 2, 'x');
        assert.deepEqual(h.queue.map((q) => q.t.link), [0, 1], mode);
      }
    });

    it('old copies arriving very late (a link many rounds behind) are dropped, never delivered again', () => {
      const h = new Harness([1, 2], { window: 64 });
      h.run(20);
      const slow: Transmit[] = [];
      for (let i = 0; i < 200; i++) {
        h.send(1, 2, `m${i}`);
        for (const q of h.queue) if (q.t.link === 1) slow.push(q.t); // link 1 holds its copies back
        h.queue = h.queue.filter((q) => q.t.link === 0);
        h.flush();
      }
      assert.equal(h.delivered.get(2)!.length, 200);
      for (const t of slow) h.take(2, h.cores.get(2)!.receive(h.now, 1, 1, bytes(t)));
      assert.equal(h.delivered.get(2)!.length, 200, 'no late copy delivered');
      const st = h.cores.get(2)!.status(h.now).peers[0].links[1];
      assert.equal(st.tooOld, 200 - 64);
      assert.equal(st.duplicates, 64);
      // The first copy lost on the fast link, the slow one still in the window: taken once.
      h.send(1, 2, 'late-first');
      const q = h.queue;
      h.queue = [];
      const copy1 = q.find((x) => x.t.link === 1)!;
      h.send(1, 2, 'after');
      h.flush();
      h.take(2, h.cores.get(2)!.receive(h.now, 1, 1, bytes(copy1.t)));
      h.take(2, h.cores.get(2)!.receive(h.now, 1, 1, bytes(copy1.t)));
      assert.deepEqual(h.delivered.get(2)!.slice(-2), ['after', 'late-first']);
    });

    it('a peer restart (larger epoch) starts a fresh window; stragglers of the old life are ignored', () => {
      const rx = new LinkSetCore({ self: 2, peers: [1, 2], links: 2, mode: 'active', epoch: 1 }, 0);
      const old = new LinkSetCore({ self: 1, peers: [1, 2], links: 2, mode: 'active', epoch: 10 }, 0);
      const oldCopies: Transmit[] = [];
      for (let i = 0; i < 50; i++) {
        const [t0, t1] = transmits(old.send(0, 2, Buffer.from(`o${i}`)));
        assert.equal(delivers(rx.receive(1, 1, 0, bytes(t0))).length, 1);
        oldCopies.push(t1);
      }
      const fresh = new LinkSetCore({ self: 1, peers: [1, 2], links: 2, mode: 'active', epoch: 11 }, 0);
      const [n0] = transmits(fresh.send(5, 2, Buffer.from('n0')));
      assert.equal(n0.header.readUInt32BE(6), 1, 'the new life numbers from 1 again');
      assert.deepEqual(delivers(rx.receive(6, 1, 0, bytes(n0))).map((d) => d.data.toString()), ['n0']);
      for (const t of oldCopies) assert.deepEqual(rx.receive(7, 1, 1, bytes(t)), []);
      assert.equal(rx.counters.staleEpoch, 50);
    });

    it('drops what is not a link datagram, or comes from no configured daemon', () => {
      const c = new LinkSetCore({ self: 1, peers: [1, 2], links: 2, mode: 'active', epoch: 1 }, 0);
      const good = Buffer.concat([transmits(new LinkSetCore({ self: 2, peers: [1, 2], links: 2, mode: 'active', epoch: 1 }, 0).send(0, 1, Buffer.from('z')))[0].header, Buffer.from('z')]);
      assert.equal(delivers(c.receive(0, 2, 0, good)).length, 1);
      assert.deepEqual(c.receive(0, 2, 0, Buffer.from([1, 2, 3])), []);
      assert.deepEqual(c.receive(0, 2, 0, Buffer.from('RC0123456789')), []);
      const badLink = Buffer.from(good);
      badLink[1] = 5;
      assert.deepEqual(c.receive(0, 2, 0, badLink), []);
      const badType = Buffer.from(good);
      badType[1] = 0x70;
      assert.deepEqual(c.receive(0, 2, 0, badType), []);
      assert.equal(c.counters.malformed, 4);
      assert.deepEqual(c.receive(0, 99, 0, good), []);
      assert.equal(c.counters.unknownSender, 1);
      const shortPing = Buffer.from(good.subarray(0, LINK_HEADER_SIZE));
      shortPing[1] = LinkPacket.PING << 4;
      assert.deepEqual(c.receive(0, 2, 0, shortPing), []);
      assert.equal(c.counters.malformed, 5);
    });

    it('four links: active uses all four; passive fails over 0 → 1 → 2 and back to 0', () => {
      const ids = [1, 2];
      const a = new Harness(ids, { links: 4, pingIntervalMs: 10, deadMs: 30 });
      a.run(20);
      a.send(1, 2, 'x');
      assert.deepEqual(a.queue.map((q) => q.t.link), [0, 1, 2, 3]);
      a.flush();
      assert.deepEqual(a.delivered.get(2), ['x']);
      assert.equal(a.cores.get(2)!.status(a.now).peers[0].links.reduce((n, l) => n + l.duplicates, 0), 3);

      const p = new Harness(ids, { links: 4, mode: 'passive', pingIntervalMs: 10, deadMs: 30 });
      p.run(20);
      const current = () => p.cores.get(1)!.status(p.now).peers[0].current;
      assert.equal(current(), 0);
      p.cut.add('0');
      p.run(50);
      assert.equal(current(), 1);
      p.cut.add('1');
      p.run(50);
      assert.equal(current(), 2);
      p.send(1, 2, 'y');
      p.flush();
      assert.deepEqual(p.delivered.get(2), ['y']);
      p.cut.clear();
      p.run(40);
      assert.equal(current(), 0);
    });

    it('a pong for an earlier life of ours does not count', () => {
      const a1 = new LinkSetCore({ self: 1, peers: [1, 2], links: 1, mode: 'active', epoch: 1 }, 0);
      const b = new LinkSetCore({ self: 2, peers: [1, 2], links: 1, mode: 'active', epoch: 1 }, 0);
      const ping = transmits(a1.tick(0)).find((t) => t.to === 2)!;
      const pong = transmits(b.receive(1, 1, 0, bytes(ping)))[0];
      const a2 = new LinkSetCore({ self: 1, peers: [1, 2], links: 1, mode: 'active', epoch: 2 }, 0);
      assert.deepEqual(a2.receive(2, 2, 0, bytes(pong)), []);
      assert.equal(a2.state(2, 0), 'unknown');
    });
  });
});

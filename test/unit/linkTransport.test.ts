import { strict as assert } from 'node:assert';
import * as dgram from 'node:dgram';
import type { LinkEvent } from '../../src/link/linkSet';
import { MemoryLinkSet, MemoryNetwork, MemoryTransport } from '../../src/link/memory';
import type { Transport } from '../../src/link/transport';
import { UdpLinkSet } from '../../src/link/udpLinkSet';
import { AUTH_KEY_BYTES, DatagramAuth } from '../../src/wire/auth';

// The LinkSet shells (real timers): the in-memory one and the UDP one (one socket per link on
// 127.0.0.0/8 addresses), with the same expectations: datagrams arrive once, a dead link is
// found and left alone, it is used again when it comes back.
const TUNING = { pingIntervalMs: 10, deadMs: 40 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function collect(t: Transport): string[] {
  const got: string[] = [];
  t.onMessage((d) => got.push(d.toString()));
  return got;
}

describe('link set transports', function () {
  this.timeout(20_000);

  describe('memory', () => {
    it('plain MemoryTransport carries datagrams on link 0', async () => {
      const net = new MemoryNetwork(1);
      const a = new MemoryTransport(net, 1);
      const b = new MemoryTransport(net, 2);
      const got = collect(b);
      a.send(2, Buffer.from('hi'));
      await until('delivery', () => got.length === 1);
      assert.deepEqual(got, ['hi']);
      await a.close();
      await b.close();
    });

    for (const mode of ['active', 'passive'] as const) {
      it(`${mode}: each datagram once; one host's link down and up: nothing lost, events out`, async () => {
        const net = new MemoryNetwork(2);
        const ids = [1, 2, 3];
        const sets = ids.map((id) => new MemoryLinkSet(net, { self: id, peers: ids, mode, epoch: 1, tuning: TUNING }));
        const events: LinkEvent[] = [];
        sets.forEach((s) => s.onLinkEvent((e) => events.push(e)));
        const got = collect(sets[1]);
        await until('links up', () => sets.every((s) => ids.every((p) => p === s.driver.core.self || s.driver.core.state(p, 0) === 'up')));
        let n = 0;
        const pump = setInterval(() => sets[0].send(2, Buffer.from(`m${n++}`)), 1);
        await sleep(30);
        net.setLinkUp(0, false, 2);
        await until('link 0 of host 2 seen down', () => sets[0].driver.core.state(2, 0) === 'down');
        await sleep(30);
        net.setLinkUp(0, true, 2);
        await until('link 0 of host 2 back', () => sets[0].driver.core.state(2, 0) === 'up');
        clearInterval(pump);
        await sleep(100);
        if (mode === 'active') {
          assert.deepEqual(got, Array.from({ length: n }, (_, i) => `m${i}`), 'every datagram once, in order');
        } else {
          // Passive may lose what was in flight before the failover resend; never a duplicate.
          assert.equal(new Set(got).size, got.length);
          assert.ok(got.length >= n - 5, `${got.length} of ${n}`);
        }
        assert.ok(events.some((e) => e.kind === 'down' && e.peer === 2 && e.link === 0));
        const st = sets[0].status().peers.find((p) => p.peer === 2)!;
        assert.equal(st.links[0].state, 'up');
        assert.ok(st.links[0].downs >= 1);
        await Promise.all(sets.map((s) => s.close()));
      });
    }
  });

  describe('udp', () => {
    const addrs = [['127.0.0.1', '127.0.1.1'], ['127.0.0.2', '127.0.1.2']];
    let port = 0;

    before(async function () {
      for (const a of addrs.flat()) {
        const ok = await new Promise<boolean>((resolve) => {
          const s = dgram.createSocket('udp4');
          s.once('error', () => resolve(false));
          s.bind(0, a, () => s.close(() => resolve(true)));
        });
        if (!ok) this.skip(); // 127.0.1.x not usable here (not Linux?)
      }
      port = 30000 + Math.floor(Math.random() * 20000);
    });

    it('two daemons on two loopback links: pings bring both links up; datagrams arrive once; status counts copies', async () => {
      const peers = new Map([
        [1, { addresses: addrs[0], port }],
        [2, { addresses: addrs[1], port }],
      ]);
      const a = await UdpLinkSet.bind({ self: 1, mode: 'active', epoch: 1, addresses: addrs[0], port, peers, tuning: TUNING });
      const b = await UdpLinkSet.bind({ self: 2, mode: 'active', epoch: 1, addresses: addrs[1], port, peers, tuning: TUNING });
      try {
        const got = collect(b);
        await until('links up', () => [0, 1].every((l) => a.driver.core.state(2, l) === 'up' && b.driver.core.state(1, l) === 'up'));
        for (let i = 0; i < 50; i++) a.send(2, Buffer.from(`d${i}`));
        await until('50 datagrams', () => got.length >= 50);
        await sleep(50);
        assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `d${i}`));
        const st = b.status().peers[0];
        assert.equal(st.links[0].duplicates + st.links[1].duplicates, 50);
        // Garbage from an address that is no daemon is dropped and counted.
        const junk = dgram.createSocket('udp4');
        try {
          await new Promise<void>((r) => junk.bind(0, '127.0.0.9', () => r()));
          const fake = Buffer.concat([Buffer.from([0x4d, 0x00, 0, 0, 0, 1, 0, 0, 0, 99]), Buffer.from('x')]);
          junk.send(fake, port, addrs[1][0]);
          junk.send(Buffer.from('not a link datagram'), port, addrs[1][1]);
          await until('junk counted', () => b.status().counters.unknownSender === 1 && b.status().counters.malformed === 1);
        } finally {
          junk.close();
        }
        assert.equal(got.length, 50);
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('with a key: every datagram sealed, pings too; another key never brings a link up; bad datagrams never reach the link layer', async () => {
      const all = [...addrs, ['127.0.0.3', '127.0.1.3']];
      const peers = new Map(all.map((addresses, i) => [i + 1, { addresses, port }]));
      const key = Buffer.alloc(AUTH_KEY_BYTES, 7);
      const auth = [new DatagramAuth(key), new DatagramAuth(key), new DatagramAuth(Buffer.alloc(AUTH_KEY_BYTES, 8))];
      const bind = (self: number) => UdpLinkSet.bind({ self, mode: 'active', epoch: 1, addresses: all[self - 1], port, peers, tuning: TUNING, auth: auth[self - 1] });
      const [a, b, c] = [await bind(1), await bind(2), await bind(3)];
      const junk = dgram.createSocket('udp4');
      try {
        const got = collect(b);
        await until('links up between the keyed two', () => [0, 1].every((l) => a.driver.core.state(2, l) === 'up' && b.driver.core.state(1, l) === 'up'));
        for (let i = 0; i < 50; i++) a.send(2, Buffer.from(`d${i}`));
        c.send(2, Buffer.from('from the stranger'));
        await until('50 datagrams', () => got.length >= 50);
        await sleep(100);
        assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `d${i}`));
        for (const l of [0, 1]) assert.ok(b.driver.core.state(3, l) !== 'up' && c.driver.core.state(2, l) !== 'up', 'pings with another key get no pong');
        assert.ok(auth[2].counters.verified === 0 && auth[2].counters.dropped > 0, 'the stranger accepts nothing either');
        assert.ok(auth[0].counters.sealed > 100, 'data on both links, and pings, sealed one by one');
        // Garbage, and a link datagram sealed with another key, from a daemon's own address.
        await c.close();
        await sleep(30);
        const dropped = auth[1].counters.dropped;
        await new Promise<void>((r) => junk.bind(0, '127.0.0.3', () => r()));
        const fake = Buffer.concat([Buffer.from([0x4d, 0x00, 0, 0, 0, 1, 0, 0, 0, 99]), Buffer.from('x')]);
        junk.send(fake, port, addrs[1][0]);
        junk.send(new DatagramAuth(Buffer.alloc(AUTH_KEY_BYTES, 8)).sealToBuffer(fake), port, addrs[1][1]);
        await until('both dropped', () => auth[1].counters.dropped === dropped + 2);
        assert.equal(b.status().counters.malformed, 0, 'nothing unauthenticated reaches the link layer');
        assert.equal(b.status().counters.unknownSender, 0);
      } finally {
        junk.close();
        await Promise.all([a, b, c].map((s) => s.close()));
      }
    });

    it('refuses an address it cannot bind (LINK_BIND), closing what it bound', async () => {
      const peers = new Map([[1, { addresses: ['127.0.0.1', '192.0.2.1'], port }]]);
      await assert.rejects(
        UdpLinkSet.bind({ self: 1, mode: 'active', epoch: 1, addresses: ['127.0.0.1', '192.0.2.1'], port, peers }),
        (e: Error & { code?: string }) => e.code === 'LINK_BIND',
      );
      // 127.0.0.1:port is free again
      const again = await UdpLinkSet.bind({ self: 1, mode: 'active', epoch: 1, addresses: ['127.0.0.1'], port, peers });
      await again.close();
    });
  });
});

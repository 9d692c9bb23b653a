// The daemon's Prometheus metrics (src/daemon/metrics.ts) over a fake daemon, the HTTP endpoint
// (src/daemon/metricsServer.ts), and MembershipCore.ringTotals across ring changes.
import { strict as assert } from 'node:assert';
import { MembershipCore } from '../../src/core/membership/membership';
import type { CoreInput, CoreOutput, CoreTimer } from '../../src/core/membership/types';
import type { RingCounters } from '../../src/core/ring/types';
import { Service } from '../../src/core/service';
import { DaemonMetrics, snakeName, statusMetricName, type DeliveryFacts, type MetricsSource } from '../../src/daemon/metrics';
import { MetricsServer } from '../../src/daemon/metricsServer';
import type { StatusReport } from '../../src/wire/status';
import { parseMetrics } from '../support/prometheus';

class FakeDaemon implements MetricsSource {
  readonly selfId = 7;
  readonly configuredDaemons = 3;
  report: StatusReport = { v: 1, id: 'x', daemon: { name: 'd1', uptimeSec: 5 }, ring: null };
  totals: Partial<RingCounters> = {};
  private listener: ((m: DeliveryFacts) => void) | undefined;
  status(): StatusReport {
    return this.report;
  }
  ringTotals(): Partial<RingCounters> {
    return this.totals;
  }
  onDeliver(listener: (m: DeliveryFacts) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  deliver(origin: number, service: number, length: number): void {
    this.listener?.({ origin, service, payload: { length } });
  }
}

async function scrape(m: DaemonMetrics): Promise<Map<string, number>> {
  return parseMetrics(await m.text());
}

describe('metrics', () => {
  it('names status counters ringcast_<area>_<snake_case name>', () => {
    assert.equal(snakeName('packetsSent'), 'packets_sent');
    assert.equal(snakeName('tooOld'), 'too_old');
    assert.equal(snakeName('a-b.c'), 'a_b_c');
    assert.equal(statusMetricName('checkpoint', 'writesApplied'), 'ringcast_checkpoint_writes_applied');
  });

  it('exports the ring, the totals, deliveries by service and every status counter area', async () => {
    const d = new FakeDaemon();
    const m = new DaemonMetrics(d, { processMetrics: false });
    let s = await scrape(m);
    assert.equal(s.get('ringcast_ring_size'), 0);
    assert.equal(s.get('ringcast_ring_operational'), 0);
    assert.equal(s.get('ringcast_daemons_configured'), 3);
    assert.equal(s.get('ringcast_token_rotations_total'), 0);
    assert.equal(s.get('ringcast_messages_delivered_total{service="AGREED"}'), 0, 'the six services are there from the start');

    d.report = {
      ...d.report,
      ring: { id: '1700000000123.d2', members: ['d1', 'd2', 'd3'], state: 'operational' },
      sessions: { local: 2 },
      counters: {
        membership: { ringsInstalled: 2, gathers: 3 },
        ring: { packetsSent: 10, backlog: 1 },
        sessions: { open: 2, submitted: 40 },
        checkpoint: { writesApplied: 5 }, // a service area: exported with no change to the metrics
      },
    };
    d.totals = { tokensAccepted: 100, rotations: 0, retransmitsSent: 4, tokenRetransmits: 1 };
    d.deliver(7, Service.AGREED, 1000);
    d.deliver(7, Service.AGREED, 500);
    d.deliver(9, Service.SAFE, 10);
    d.deliver(9, 0x81, 3);
    s = await scrape(m);
    assert.equal(s.get('ringcast_ring_info{ring="1700000000123.d2",representative="d2",state="operational"}'), 1);
    assert.equal(s.get('ringcast_ring_seq'), 1700000000123);
    assert.equal(s.get('ringcast_ring_size'), 3);
    assert.equal(s.get('ringcast_ring_operational'), 1);
    assert.equal(s.get('ringcast_token_rotations_total'), 100);
    assert.equal(s.get('ringcast_retransmissions_total'), 4);
    assert.equal(s.get('ringcast_token_retransmissions_total'), 1);
    assert.equal(s.get('ringcast_membership_changes_total'), 2);
    assert.equal(s.get('ringcast_messages_delivered_total{service="AGREED"}'), 2);
    assert.equal(s.get('ringcast_bytes_delivered_total{service="AGREED"}'), 1500);
    assert.equal(s.get('ringcast_messages_delivered_total{service="SAFE"}'), 1);
    assert.equal(s.get('ringcast_messages_delivered_total{service="internal"}'), 1);
    assert.equal(s.get('ringcast_messages_ordered_total{service="AGREED"}'), 2);
    assert.equal(s.get('ringcast_bytes_ordered_total{service="AGREED"}'), 1500);
    assert.equal(s.get('ringcast_messages_ordered_total{service="SAFE"}'), 0, 'SAFE came from another daemon');
    assert.equal(s.get('ringcast_client_sessions'), 2);
    assert.equal(s.get('ringcast_membership_gathers'), 3);
    assert.equal(s.get('ringcast_ring_packets_sent'), 10);
    assert.equal(s.get('ringcast_ring_backlog'), 1);
    assert.equal(s.get('ringcast_sessions_submitted'), 40);
    assert.equal(s.get('ringcast_checkpoint_writes_applied'), 5);

    // Counters follow the totals; an area that is gone is gone, a new one appears.
    d.totals = { tokensAccepted: 150, rotations: 0, retransmitsSent: 4, tokenRetransmits: 1 };
    d.report = { ...d.report, counters: { membership: { ringsInstalled: 2 }, events: { published: 1 } } };
    s = await scrape(m);
    assert.equal(s.get('ringcast_token_rotations_total'), 150);
    assert.equal(s.has('ringcast_checkpoint_writes_applied'), false);
    assert.equal(s.get('ringcast_events_published'), 1);
    m.close();
    d.deliver(7, Service.AGREED, 1);
    assert.equal((await scrape(m)).get('ringcast_messages_delivered_total{service="AGREED"}'), 2, 'no counting after close');
  });

  it('exports each multipath link: up, counters as _total, times in seconds', async () => {
    const d = new FakeDaemon();
    d.report = {
      ...d.report,
      links: {
        d2: [
          { address: '10.1.0.2:4803', state: 'up (current)', counters: { sent: 5, tooOld: 1, rttMs: 250, sinceMs: 2000 } },
          { address: '10.2.0.2:4803', state: 'down', counters: { sent: 2, tooOld: 0, sinceMs: 10 } },
        ],
      },
    };
    const s = await scrape(new DaemonMetrics(d, { processMetrics: false }));
    const l0 = '{peer="d2",link="0",address="10.1.0.2:4803"}';
    const l1 = '{peer="d2",link="1",address="10.2.0.2:4803"}';
    assert.equal(s.get(`ringcast_link_up${l0}`), 1);
    assert.equal(s.get(`ringcast_link_up${l1}`), 0);
    assert.equal(s.get(`ringcast_link_sent_total${l0}`), 5);
    assert.equal(s.get(`ringcast_link_too_old_total${l0}`), 1);
    assert.equal(s.get(`ringcast_link_rtt_seconds${l0}`), 0.25);
    assert.equal(s.get(`ringcast_link_since_seconds${l1}`), 0.01);
  });

  it('serves /metrics, and /health: 503 without a ring or while forming one, 200 in an operational one', async () => {
    const d = new FakeDaemon();
    const server = await MetricsServer.start(new DaemonMetrics(d), { address: '127.0.0.1', port: 0 });
    try {
      const metrics = await fetch(`${server.url}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.headers.get('content-type') ?? '', /text\/plain/);
      const text = await metrics.text();
      assert.ok(parseMetrics(text).has('ringcast_ring_size'));
      assert.ok(parseMetrics(text).has('process_cpu_user_seconds_total'), 'process metrics too');

      let health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 503);
      assert.equal(((await health.json()) as { status: string }).status, 'unavailable');
      d.report = { ...d.report, ring: { id: '5.d1', members: ['d1', 'd2'], state: 'gather' } };
      assert.equal((await fetch(`${server.url}/health`)).status, 503, 'forming a new ring');
      d.report = { ...d.report, ring: { id: '6.d1', members: ['d1', 'd2'], state: 'operational' } };
      health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: 'ok', daemon: 'd1', ring: '6.d1', state: 'operational', members: ['d1', 'd2'], uptimeSec: 5 });

      assert.equal((await fetch(`${server.url}/other`)).status, 404);
      assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
    await assert.rejects(fetch(`${server.url}/health`), 'closed');
  });

  it('refuses an address it cannot bind with METRICS_LISTEN', async () => {
    const first = await MetricsServer.start(new DaemonMetrics(new FakeDaemon(), { processMetrics: false }), { address: '127.0.0.1', port: 0 });
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(
        MetricsServer.start(new DaemonMetrics(new FakeDaemon(), { processMetrics: false }), { address: '127.0.0.1', port }),
        (e: Error & { code?: string }) => e.code === 'METRICS_LISTEN' && e.message.includes(`127.0.0.1:${port}`),
      );
    } finally {
      await first.close();
    }
  });
});

/** Two membership cores on a perfect network with a fake clock, driven to quiescence or a condition. */
class TwoCores {
  readonly cores = [1, 2].map(
    (id) => new MembershipCore({ myId: id, incarnation: 1, universe: [1, 2], configHash: 1, ringSeqFloor: 1 }, {}),
  );
  private readonly alive = [true, true];
  private readonly packets: { to: number; data: Buffer }[] = [];
  private readonly timers = [new Map<CoreTimer, number>(), new Map<CoreTimer, number>()];
  private now = 0;
  regulars = 0;

  step(i: number, input: CoreInput): void {
    if (!this.alive[i]) return;
    for (const o of this.cores[i]!.step(input)) this.carry(i, o);
  }

  kill(i: number): void {
    this.step(i, { kind: 'leave' });
    this.alive[i] = false;
  }

  /** Runs until `done` or 5 simulated seconds. */
  runUntil(done: () => boolean): void {
    const end = this.now + 5000;
    while (!done() && this.now < end) {
      const p = this.packets.shift();
      if (p) {
        this.step(p.to - 1, { kind: 'packet', data: p.data });
        continue;
      }
      let next: [number, CoreTimer, number] | undefined;
      this.timers.forEach((ts, i) => ts.forEach((at, t) => (!next || at < next[2]) && this.alive[i] && (next = [i, t, at])));
      if (!next) return;
      this.now = next[2];
      this.timers[next[0]]!.delete(next[1]);
      this.step(next[0], { kind: 'timer', timer: next[1] });
    }
  }

  private carry(i: number, o: CoreOutput): void {
    if (o.kind === 'mcast') for (const to of o.to) this.packets.push({ to, data: o.data });
    else if (o.kind === 'send') this.packets.push({ to: o.to, data: o.data });
    else if (o.kind === 'setTimer') this.timers[i]!.set(o.timer, this.now + o.ms);
    else if (o.kind === 'cancelTimer') this.timers[i]!.delete(o.timer);
    else if (o.kind === 'configuration' && o.conf.kind === 'regular') this.regulars++;
  }
}

describe('MembershipCore.ringTotals', () => {
  it('sums the ordering counters over every ring: they never go back when a new ring starts from zero', () => {
    const net = new TwoCores();
    const c1 = net.cores[0]!;
    net.step(0, { kind: 'start' });
    net.step(1, { kind: 'start' });
    net.runUntil(() => c1.currentRing?.members.length === 2);
    assert.equal(c1.currentRing?.members.length, 2);
    for (let n = 0; n < 50; n++) net.step(0, { kind: 'submit', service: Service.AGREED, groups: ['g'], payload: Buffer.alloc(100) });
    net.runUntil(() => (c1.ringCore?.counters.messagesDelivered ?? 0) >= 50);
    const before = c1.ringTotals;
    assert.ok((before.rotations ?? 0) > 0 && (before.messagesDelivered ?? 0) >= 50, JSON.stringify(before));
    assert.deepEqual(before, { ...c1.ringCore!.counters }, 'one ring so far: its own counters');

    const regulars = net.regulars;
    net.kill(1);
    net.runUntil(() => net.regulars > regulars && c1.currentRing?.members.length === 1);
    assert.equal(c1.currentRing?.members.length, 1);
    const own = c1.ringCore!.counters;
    const after = c1.ringTotals;
    assert.ok(own.messagesDelivered < before.messagesDelivered!, 'the new ring counts from zero');
    for (const k of Object.keys(before) as (keyof RingCounters)[]) {
      assert.ok(after[k]! >= before[k]!, `${k}: ${after[k]} after, ${before[k]} before`);
    }
    assert.ok(after.rotations! >= before.rotations! + own.rotations);
  });
});

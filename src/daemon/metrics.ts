// What a daemon exports to Prometheus (prom-client), read from the daemon at each scrape so the
// ring's hot path pays for nothing but a per-delivery tally.
//
// Named metrics (types and units as Prometheus expects):
//   ringcast_ring_info{ring,representative,state} 1   the last regular configuration
//   ringcast_ring_seq, ringcast_ring_size, ringcast_ring_operational, ringcast_daemons_configured
//   ringcast_token_rotations_total, ringcast_retransmissions_total,
//   ringcast_token_retransmissions_total        summed over every ring (MembershipCore.ringTotals)
//   ringcast_membership_changes_total            regular configurations installed
//   ringcast_messages_delivered_total{service}, ringcast_bytes_delivered_total{service}
//   ringcast_messages_ordered_total{service}, ringcast_bytes_ordered_total{service}
//                                                delivered: every message this daemon delivered
//                                                in the total order; ordered: those of them it
//                                                originated (its share of the order)
//   ringcast_link_up{peer,link,address}          multipath links (1 up, 0 down or unknown)
//   ringcast_link_<counter>_total{peer,link,address}, ringcast_link_<x>_seconds{…}
//                                                every numeric field of the link's status
//   ringcast_client_sessions                     open client sessions here
//   plus prom-client's process and Node.js metrics (process_*, nodejs_*).
//
// Generic export of the status counters: every counter `ringcast status` shows, area by area
// (StatusReport.counters: membership, ring, links, sessions, and whatever a service adds, e.g.
// checkpoint, events), is a gauge `ringcast_<area>_<name>` with the name in snake case
// (ring.packetsSent → ringcast_ring_packets_sent). A new area or counter appears at the next
// scrape with no change here; one that is gone disappears. They are gauges because the status
// mixes levels (sessions.open) with counts that restart (the ring area is the current ring's).
// A generic name that a named metric already has is left out.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { RingCounters } from '../core/ring/types';
import { serviceName } from '../core/service';
import type { StatusReport } from '../wire/status';

/** A delivered message as the tally needs it. */
export interface DeliveryFacts {
  readonly origin: number;
  readonly service: number;
  readonly payload: { readonly length: number };
}

/** What the metrics read; `daemonMetricsSource` (metricsServer.ts) makes one of a Daemon. */
export interface MetricsSource {
  /** This daemon's id (which deliveries it originated). */
  readonly selfId: number;
  /** Daemons in the configuration file. */
  readonly configuredDaemons: number;
  /** What `ringcast status` reports now. */
  status(): StatusReport;
  /** Ordering counters summed over every ring so far. */
  ringTotals(): Partial<RingCounters>;
  /** Calls `listener` for every message delivered in the total order; returns the unsubscribe. */
  onDeliver(listener: (m: DeliveryFacts) => void): () => void;
}

/** What /health answers. */
export interface Health {
  readonly ok: boolean;
  readonly body: Record<string, unknown>;
}

const PREFIX = 'ringcast_';

/** `packetsSent` → `packets_sent`, and anything Prometheus does not allow → `_`. */
export function snakeName(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase();
}

/** The generic metric name of a status counter. */
export function statusMetricName(area: string, name: string): string {
  return `${PREFIX}${snakeName(area)}_${snakeName(name)}`;
}

/** The service label of a ring service code: its name, or "internal" for the daemons' own traffic. */
function serviceLabel(code: number): string {
  return serviceName(code) ?? ((code & 0x80) !== 0 ? 'internal' : `0x${code.toString(16)}`);
}

/** Messages and bytes per service code (0..255), delivered and of them originated here. */
class DeliveryTally {
  readonly delivered = new Float64Array(256);
  readonly deliveredBytes = new Float64Array(256);
  readonly ordered = new Float64Array(256);
  readonly orderedBytes = new Float64Array(256);

  constructor(private readonly selfId: number) {}

  readonly add = (m: DeliveryFacts): void => {
    const s = m.service & 0xff;
    this.delivered[s]!++;
    this.deliveredBytes[s]! += m.payload.length;
    if (m.origin === this.selfId) {
      this.ordered[s]!++;
      this.orderedBytes[s]! += m.payload.length;
    }
  };
}

/** Adds `value` to a counter the caller has just reset: prom-client counters cannot be set. */
function setCounter(counter: Counter, value: number, labels?: Record<string, string | number>): void {
  if (labels) counter.inc(labels, value);
  else counter.inc(value);
}

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly tally: DeliveryTally;
  private readonly unsubscribe: () => void;
  private readonly ringInfo: Gauge;
  private readonly ringSeq: Gauge;
  private readonly ringSize: Gauge;
  private readonly operational: Gauge;
  private readonly configured: Gauge;
  private readonly rotations: Counter;
  private readonly retransmissions: Counter;
  private readonly tokenRetransmissions: Counter;
  private readonly membershipChanges: Counter;
  private readonly byService: ReadonlyArray<[Counter, Float64Array]>;
  private readonly linkUp: Gauge;
  private readonly sessions: Gauge;
  /** Per-link metrics, made when a link status field first shows up. */
  private readonly linkMetrics = new Map<string, Counter | Gauge>();
  /** The generic gauges of the status counters, by metric name. */
  private readonly statusGauges = new Map<string, Gauge>();

  constructor(
    private readonly source: MetricsSource,
    options: { processMetrics?: boolean } = {},
  ) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name: PREFIX + name, help, labelNames, registers });
    const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name: PREFIX + name, help, labelNames, registers });
    this.ringInfo = gauge('ring_info', 'The last regular configuration installed (1), by ring id, representative and membership state', ['ring', 'representative', 'state']);
    this.ringSeq = gauge('ring_seq', 'Ring sequence number of the last regular configuration');
    this.ringSize = gauge('ring_size', 'Members of the last regular configuration');
    this.operational = gauge('ring_operational', '1 while the daemon orders messages in a ring, 0 while it forms one');
    this.configured = gauge('daemons_configured', 'Daemons in the configuration file');
    this.rotations = counter('token_rotations_total', 'Token visits at this daemon, one per rotation of the ring, over every ring (the rate is rotations per second)');
    this.retransmissions = counter('retransmissions_total', 'Data packets this daemon retransmitted on request, over every ring');
    this.tokenRetransmissions = counter('token_retransmissions_total', 'Tokens this daemon sent again for want of a sign the successor had it, over every ring');
    this.membershipChanges = counter('membership_changes_total', 'Regular configurations installed');
    const t = (this.tally = new DeliveryTally(source.selfId));
    const service = ['service'];
    this.byService = [
      [counter('messages_delivered_total', 'Messages delivered in the total order, by service type', service), t.delivered],
      [counter('bytes_delivered_total', 'Payload bytes delivered in the total order, by service type', service), t.deliveredBytes],
      [counter('messages_ordered_total', 'Messages this daemon originated that reached the total order, by service type', service), t.ordered],
      [counter('bytes_ordered_total', 'Payload bytes of the messages this daemon originated that reached the total order', service), t.orderedBytes],
    ];
    this.linkUp = gauge('link_up', 'Multipath link to a peer: 1 up, 0 down or not yet known', ['peer', 'link', 'address']);
    this.sessions = gauge('client_sessions', 'Client sessions open at this daemon');
    this.unsubscribe = source.onDeliver(this.tally.add);
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** The Prometheus text exposition of everything, read now. */
  async text(): Promise<string> {
    this.refresh(this.source.status());
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Healthy: the daemon is in a ring that orders messages (a regular configuration, operational). */
  health(): Health {
    const s = this.source.status();
    const ok = s.ring !== null && s.ring.state === 'operational';
    return {
      ok,
      body: {
        status: ok ? 'ok' : 'unavailable',
        daemon: s.daemon.name,
        ring: s.ring?.id ?? null,
        state: s.ring?.state ?? 'no ring yet',
        members: s.ring?.members ?? [],
        ...(s.daemon.uptimeSec !== undefined ? { uptimeSec: s.daemon.uptimeSec } : {}),
      },
    };
  }

  /** Stops counting deliveries (the registry stays readable). */
  close(): void {
    this.unsubscribe();
  }

  private refresh(s: StatusReport): void {
    this.ringInfo.reset();
    if (s.ring) {
      const dot = s.ring.id.indexOf('.');
      this.ringInfo.set({ ring: s.ring.id, representative: s.ring.id.slice(dot + 1), state: s.ring.state ?? 'unknown' }, 1);
      this.ringSeq.set(Number(s.ring.id.slice(0, dot)));
    }
    this.ringSize.set(s.ring?.members.length ?? 0);
    this.operational.set(s.ring?.state === 'operational' ? 1 : 0);
    this.configured.set(this.source.configuredDaemons);

    const totals = this.source.ringTotals();
    for (const [metric, value] of [
      // Every member takes the token once a rotation (the ring's own rotation count is the leader's only).
      [this.rotations, totals.tokensAccepted],
      [this.retransmissions, totals.retransmitsSent],
      [this.tokenRetransmissions, totals.tokenRetransmits],
      [this.membershipChanges, s.counters?.membership?.ringsInstalled],
    ] as const) {
      metric.reset();
      setCounter(metric, value ?? 0);
    }
    for (const [metric, values] of this.byService) {
      metric.reset();
      // The six service types always (at 0 too, so rates start from the first scrape); others once seen.
      values.forEach((v, code) => (v > 0 || serviceName(code)) && setCounter(metric, v, { service: serviceLabel(code) }));
    }
    this.sessions.set(s.sessions?.local ?? 0);
    this.refreshLinks(s);
    this.refreshStatusCounters(s);
  }

  private refreshLinks(s: StatusReport): void {
    this.linkUp.reset();
    for (const m of this.linkMetrics.values()) m.reset();
    for (const [peer, links] of Object.entries(s.links ?? {})) {
      links.forEach((l, link) => {
        const labels = { peer, link, address: l.address };
        this.linkUp.set(labels, l.state.startsWith('up') ? 1 : 0);
        for (const [field, value] of Object.entries(l.counters)) {
          const metric = this.linkMetric(field);
          if (metric instanceof Gauge) metric.set(labels, value / 1000);
          else setCounter(metric, value, labels);
        }
      });
    }
  }

  /** `rttMs` → gauge ringcast_link_rtt_seconds; `sent` → counter ringcast_link_sent_total. */
  private linkMetric(field: string): Counter | Gauge {
    let metric = this.linkMetrics.get(field);
    if (!metric) {
      const labelNames = ['peer', 'link', 'address'];
      const registers = [this.registry];
      metric = field.endsWith('Ms')
        ? new Gauge({ name: `${PREFIX}link_${snakeName(field.slice(0, -2))}_seconds`, help: `Link status field ${field}, in seconds`, labelNames, registers })
        : new Counter({ name: `${PREFIX}link_${snakeName(field)}_total`, help: `Link status counter ${field}`, labelNames, registers });
      this.linkMetrics.set(field, metric);
    }
    return metric;
  }

  private refreshStatusCounters(s: StatusReport): void {
    const seen = new Set<string>();
    for (const [area, counters] of Object.entries(s.counters ?? {})) {
      for (const [name, value] of Object.entries(counters)) {
        if (typeof value !== 'number') continue;
        const metricName = statusMetricName(area, name);
        let gauge = this.statusGauges.get(metricName);
        if (!gauge) {
          if (this.registry.getSingleMetric(metricName)) continue; // a named metric has it
          gauge = new Gauge({ name: metricName, help: `Status counter ${area}.${name} (as ringcast status shows it)`, registers: [this.registry] });
          this.statusGauges.set(metricName, gauge);
        }
        gauge.set(value);
        seen.add(metricName);
      }
    }
    for (const name of this.statusGauges.keys()) {
      if (seen.has(name)) continue;
      this.registry.removeSingleMetric(name);
      this.statusGauges.delete(name);
    }
  }
}

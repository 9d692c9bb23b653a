// Test traffic a daemon makes itself (`ringcast daemon --generate N`): the ring's own load
// generator for integration tests and end-to-end benchmarks, before clients exist.
import { Service, type ServiceName } from '../core/service';
import type { Daemon } from './daemon';
import type { DeliveredMessage } from '../core/ring/types';

export interface GeneratorOptions {
  /** Messages this daemon sends. */
  count: number;
  size: number;
  service: ServiceName;
  groups: string[];
  /** Messages delivered (from every sender) before the run is complete. */
  expect: number;
  /** Own messages submitted but not yet delivered, at most. */
  inFlight: number;
}

export interface GeneratorReport {
  event: 'done';
  daemon: string;
  sent: number;
  delivered: number;
  elapsedMs: number;
  msgsPerSec: number;
  mbPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export class TrafficGenerator {
  private submitted = 0;
  private ownDelivered = 0;
  private delivered = 0;
  private bytes = 0;
  private firstDelivery = 0n;
  private readonly sendTimes: Float64Array;
  private readonly latencies: number[] = [];
  private readonly payload: Buffer;
  private pumping = false;
  private finished = false;

  constructor(
    private readonly daemon: Daemon,
    private readonly opts: GeneratorOptions,
    private readonly onDone: (r: GeneratorReport) => void,
  ) {
    this.sendTimes = new Float64Array(opts.count + 2);
    this.payload = Buffer.alloc(opts.size, 0x61);
    daemon.on('deliver', (m) => this.onDeliver(m));
    daemon.on('submitted', (counter) => {
      if (counter < this.sendTimes.length) this.sendTimes[counter] = nowMs();
    });
  }

  start(): void {
    this.pump();
    this.checkDone();
  }

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    const svc = Service[this.opts.service];
    while (this.submitted < this.opts.count && this.submitted - this.ownDelivered < this.opts.inFlight) {
      this.submitted++;
      this.daemon.submit(svc, this.opts.groups, this.payload);
    }
    this.pumping = false;
  }

  private onDeliver(m: DeliveredMessage): void {
    if (this.finished || m.counter === 0) return; // counter 0: the client layer's own traffic
    if (this.delivered === 0) this.firstDelivery = process.hrtime.bigint();
    this.delivered++;
    this.bytes += m.payload.length;
    if (m.origin === this.daemon.host.id) {
      this.ownDelivered++;
      if (m.counter < this.sendTimes.length) this.latencies.push(nowMs() - this.sendTimes[m.counter]);
      if (this.submitted < this.opts.count) setImmediate(() => this.pump());
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (this.finished || this.delivered < this.opts.expect) return;
    this.finished = true;
    const elapsedMs = this.delivered === 0 ? 0 : Number(process.hrtime.bigint() - this.firstDelivery) / 1e6;
    const secs = Math.max(elapsedMs, 0.001) / 1000;
    const sorted = Float64Array.from(this.latencies).sort();
    const pct = (p: number) => (sorted.length === 0 ? 0 : round3(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]));
    this.onDone({
      event: 'done',
      daemon: this.daemon.host.name,
      sent: this.submitted,
      delivered: this.delivered,
      elapsedMs: round3(elapsedMs),
      msgsPerSec: Math.round(this.delivered / secs),
      mbPerSec: round3(this.bytes / secs / 1e6),
      latencyMs: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), max: round3(sorted.length ? sorted[sorted.length - 1] : 0) },
    });
  }
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// The simulator's in-memory network: per directed link loss, duplication, reordering and delay
// jitter, all drawn from one seeded generator. It only decides when (and whether) a datagram
// arrives; the simulator schedules the arrival.
import { Rng } from './rng';

export interface LinkFaults {
  /** Probability a datagram is dropped. */
  loss: number;
  /** Probability a datagram is delivered twice. */
  dup: number;
  /** Probability a datagram is held back by up to reorderMs, overtaking later ones. */
  reorder: number;
  /** Base one-way delay (ms). */
  latencyMs: number;
  /** Uniform extra delay in [0, jitterMs) (ms). */
  jitterMs: number;
  /** Largest extra hold-back of a reordered datagram (ms). */
  reorderMs: number;
}

export const DEFAULT_LINK: LinkFaults = {
  loss: 0,
  dup: 0,
  reorder: 0,
  latencyMs: 0.05,
  jitterMs: 0.02,
  reorderMs: 0.5,
};

export interface NetworkCounters {
  sent: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

export class SimNetwork {
  readonly counters: NetworkCounters = { sent: 0, dropped: 0, duplicated: 0, reordered: 0 };
  private readonly overrides = new Map<string, LinkFaults>();

  constructor(
    private readonly rng: Rng,
    private readonly defaults: LinkFaults,
  ) {}

  /** Faults for the link from → to (a daemon's datagrams to itself never fail). */
  setLink(from: number, to: number, faults: Partial<LinkFaults>): void {
    this.overrides.set(`${from}>${to}`, { ...this.link(from, to), ...faults });
  }

  link(from: number, to: number): LinkFaults {
    return this.overrides.get(`${from}>${to}`) ?? this.defaults;
  }

  /** Arrival delays (ms) of the copies of one datagram: empty when it is lost. */
  transmit(from: number, to: number): number[] {
    this.counters.sent++;
    const f = this.link(from, to);
    if (from === to) return [f.latencyMs / 2];
    if (this.rng.chance(f.loss)) {
      this.counters.dropped++;
      return [];
    }
    const copies = this.rng.chance(f.dup) ? 2 : 1;
    if (copies === 2) this.counters.duplicated++;
    const delays: number[] = [];
    for (let i = 0; i < copies; i++) {
      let d = f.latencyMs + this.rng.next() * f.jitterMs;
      if (this.rng.chance(f.reorder)) {
        d += this.rng.next() * f.reorderMs;
        this.counters.reordered++;
      }
      delays.push(d);
    }
    return delays;
  }
}

/** A datagram as it was on the wire, for replay: its sender and (multipath) network. */
export interface CapturedDatagram {
  from: number;
  /** The sender's life when it sent it. */
  life: number;
  /** Regular configurations installed in the run before it was sent. */
  era: number;
  link?: number;
  data: Buffer;
}

/**
 * What an attacker on the network could record for replay: a uniform sample of every datagram
 * of the run so far (reservoir sampling, so earlier rings and earlier lives stay in it) and the
 * last few (fresh ones, still of the current ring).
 */
export class ReplayCapture {
  private readonly old: CapturedDatagram[] = [];
  private readonly recent: CapturedDatagram[] = [];
  private seen = 0;
  private nextRecent = 0;

  constructor(
    private readonly rng: Rng,
    private readonly keepOld = 1024,
    private readonly keepRecent = 64,
  ) {}

  record(d: CapturedDatagram): void {
    this.seen++;
    if (this.old.length < this.keepOld) this.old.push(d);
    else {
      const i = this.rng.int(0, this.seen - 1);
      if (i < this.keepOld) this.old[i] = d;
    }
    this.recent[this.nextRecent] = d;
    this.nextRecent = (this.nextRecent + 1) % this.keepRecent;
  }

  /** One recorded datagram, old or recent, at random (undefined before any). */
  pick(): CapturedDatagram | undefined {
    const pool = this.rng.chance(0.5) || this.recent.length === 0 ? this.old : this.recent;
    return pool.length === 0 ? undefined : this.rng.pick(pool);
  }
}

// Fault schedules drawn from the seed: crashes (kill -9), restarts, partitions with heals (they
// may overlap), and links that turn lossy in one direction for a while. With several networks
// (multipath): a network going down and up (for everyone, or one host's interface), one network
// lossy in one direction, one network delayed by many token rotations.
import { Rng } from './rng';

export interface FaultEvent {
  time: number;
  kind:
    | 'crash' | 'stop' | 'restart' | 'partition' | 'heal' | 'lossy' | 'lossless'
    | 'linkDown' | 'linkUp' | 'linkLossy' | 'linkLossless' | 'linkDelay' | 'linkUndelay';
  daemon: number;
  /** Partition number, for partition/heal. */
  index: number;
  sides?: number[][];
  from?: number;
  to?: number;
  loss?: number;
  /** Multipath faults: which network (link index). */
  link?: number;
  /** linkDown/linkUp: only this daemon's interface on the link (else the whole network). */
  host?: number;
  /** linkDelay: extra one-way delay (ms). */
  ms?: number;
  describe: string;
}

export interface FaultPlan {
  events: FaultEvent[];
  /** When the last fault is over (ms). */
  endMs: number;
}

export interface FaultCounts {
  crashes: number;
  restarts: number;
  partitions: number;
  asymmetric: number;
}

/** Faults fall in a window that covers the flood (or 3 s at least), starting after the first ring. */
export function planFaults(rng: Rng, ids: readonly number[], counts: FaultCounts, floodMs: number): FaultPlan {
  const events: FaultEvent[] = [];
  const start = 100;
  const window = Math.max(floodMs, 3000);
  const at = () => Math.round((start + rng.next() * window) * 1000) / 1000;
  const push = (e: Omit<FaultEvent, 'daemon' | 'index'> & Partial<Pick<FaultEvent, 'daemon' | 'index'>>) =>
    events.push({ daemon: 0, index: 0, ...e });

  const victims = shuffle(rng, ids.slice()).slice(0, Math.min(counts.crashes, ids.length - 1));
  victims.forEach((d, i) => {
    const t = at();
    push({ time: t, kind: 'crash', daemon: d, describe: `${t}ms crash d${d}` });
    if (i < counts.restarts) {
      const back = Math.round((t + 200 + rng.next() * 2000) * 1000) / 1000;
      push({ time: back, kind: 'restart', daemon: d, describe: `${back}ms restart d${d}` });
    }
  });

  for (let p = 0; p < counts.partitions && ids.length > 1; p++) {
    const order = shuffle(rng, ids.slice());
    const cut = rng.int(1, ids.length - 1);
    const sides = [order.slice(0, cut), order.slice(cut)].map((s) => s.sort((a, b) => a - b));
    const t = at();
    const heal = Math.round((t + 200 + rng.next() * 2500) * 1000) / 1000;
    const names = sides.map((s) => s.map((d) => `d${d}`).join(',')).join(' | ');
    push({ time: t, kind: 'partition', index: p, sides, describe: `${t}ms partition ${names}` });
    push({ time: heal, kind: 'heal', index: p, describe: `${heal}ms heal partition ${p}` });
  }

  for (let a = 0; a < counts.asymmetric && ids.length > 1; a++) {
    const [from, to] = shuffle(rng, ids.slice());
    const loss = Math.round((0.2 + rng.next() * 0.5) * 100) / 100;
    const t = at();
    const end = Math.round((t + 200 + rng.next() * 2000) * 1000) / 1000;
    push({ time: t, kind: 'lossy', from, to, loss, describe: `${t}ms d${from}->d${to} loses ${loss}` });
    push({ time: end, kind: 'lossless', from, to, describe: `${end}ms d${from}->d${to} recovers` });
  }

  events.sort((x, y) => x.time - y.time);
  return { events, endMs: events.length ? events[events.length - 1].time : 0 };
}

export interface LinkFaultCounts {
  /** Episodes of a network (or one host's interface on it) going down and coming back. */
  linkDowns: number;
  /** Episodes of one network losing much more in one direction between two daemons. */
  linkLossy: number;
  /** Episodes of one network delayed by linkDelayMs (many token rotations). */
  linkDelays: number;
  linkDelayMs: number;
}

/** Multipath faults over `links` networks, in the same window as planFaults. */
export function planLinkFaults(rng: Rng, ids: readonly number[], links: number, counts: LinkFaultCounts, floodMs: number): FaultEvent[] {
  const events: FaultEvent[] = [];
  const start = 100;
  const window = Math.max(floodMs, 3000);
  const at = () => Math.round((start + rng.next() * window) * 1000) / 1000;
  const until = (t: number) => Math.round((t + 200 + rng.next() * 2000) * 1000) / 1000;
  const base = { daemon: 0, index: 0 };
  for (let i = 0; i < counts.linkDowns; i++) {
    const link = rng.int(0, links - 1);
    const host = rng.chance(0.5) ? ids[rng.int(0, ids.length - 1)] : undefined;
    const t = at();
    const end = until(t);
    const where = host === undefined ? `link ${link}` : `link ${link} of d${host}`;
    events.push({ ...base, time: t, kind: 'linkDown', link, ...(host === undefined ? {} : { host }), describe: `${t}ms ${where} down` });
    events.push({ ...base, time: end, kind: 'linkUp', link, ...(host === undefined ? {} : { host }), describe: `${end}ms ${where} up` });
  }
  for (let i = 0; i < counts.linkLossy && ids.length > 1; i++) {
    const link = rng.int(0, links - 1);
    const [from, to] = shuffle(rng, ids.slice());
    const loss = Math.round((0.2 + rng.next() * 0.7) * 100) / 100;
    const t = at();
    const end = until(t);
    events.push({ ...base, time: t, kind: 'linkLossy', link, from, to, loss, describe: `${t}ms link ${link} d${from}->d${to} loses ${loss}` });
    events.push({ ...base, time: end, kind: 'linkLossless', link, from, to, describe: `${end}ms link ${link} d${from}->d${to} recovers` });
  }
  for (let i = 0; i < counts.linkDelays; i++) {
    const link = rng.int(0, links - 1);
    const t = at();
    const end = until(t);
    const ms = counts.linkDelayMs;
    events.push({ ...base, time: t, kind: 'linkDelay', link, ms, describe: `${t}ms link ${link} delayed +${ms}ms` });
    events.push({ ...base, time: end, kind: 'linkUndelay', link, describe: `${end}ms link ${link} delay over` });
  }
  return events;
}

function shuffle<T>(rng: Rng, xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

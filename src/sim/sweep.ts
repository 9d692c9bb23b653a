// Parameters of a seed sweep: each seed picks its own ring size, faults, services and sizes,
// so that N seeds cover the space (3–7 daemons, 0–20% loss, duplication, reordering,
// every service type, 1 byte to 1 MiB).
import { SERVICE_NAMES } from '../core/service';
import { Rng } from './rng';
import type { SimOptions } from './simulator';

export function sweepOptions(seed: number): Partial<SimOptions> {
  const r = new Rng(seed ^ 0x5eed5eed);
  const daemons = r.int(3, 7);
  const loss = r.pick([0, 0, 0.01, 0.05, 0.1, 0.2]) * (0.5 + r.next() / 2);
  const dup = r.pick([0, 0, 0.02, 0.1]);
  const reorder = r.pick([0, 0.1, 0.3]);
  const service = r.chance(0.4) ? 'mixed' : r.pick(SERVICE_NAMES);
  // Mostly small messages; some seeds carry large ones, fewer of them.
  const kind = r.int(0, 9);
  let size: string;
  let messages: number;
  if (kind <= 5) {
    size = r.pick(['1', '1-100', '1-1500', '100-4000']);
    messages = r.int(100, 600);
  } else if (kind <= 8) {
    size = r.pick(['1000-20000', '1-65536']);
    messages = r.int(30, 120);
  } else {
    size = r.pick(['1048576', '1-1048576', '500000-1048576']);
    messages = r.int(2, 6);
  }
  return {
    seed,
    daemons,
    loss: Math.round(loss * 1000) / 1000,
    dup,
    reorder,
    service,
    size,
    messages,
    rate: r.pick([1, 5, 20, 100]),
    groups: r.int(1, 6),
  };
}

/**
 * A seed of the fault sweep: a flood of a few seconds with crashes, restarts, partitions
 * (overlapping) and asymmetric loss, on top of the usual loss, duplication and reordering.
 */
export function faultSweepOptions(seed: number): Partial<SimOptions> {
  const r = new Rng(seed ^ 0xfa017);
  const daemons = r.int(3, 7);
  const crashes = r.int(0, Math.min(3, daemons - 1));
  const restarts = crashes === 0 ? 0 : r.int(0, crashes);
  const partitions = r.pick([0, 0, 1, 1, 2, 3]);
  const asymmetric = r.pick([0, 0, 0, 1]);
  const messages = r.int(300, 1500);
  return {
    seed,
    daemons,
    crashes: crashes + (crashes + partitions + asymmetric === 0 ? 1 : 0),
    restarts,
    partitions,
    asymmetric,
    loss: r.pick([0, 0, 0.01, 0.05, 0.1, 0.2]),
    dup: r.pick([0, 0.02, 0.05]),
    reorder: r.pick([0, 0.1, 0.2]),
    service: r.chance(0.5) ? 'mixed' : r.pick(SERVICE_NAMES),
    size: r.pick(['1-200', '1-1500', '1-5000', '1-40000']),
    messages,
    rate: messages / r.int(1500, 4000),
    groups: r.int(1, 5),
  };
}

/**
 * A seed of the multipath sweep: 2–4 networks, active or passive, with networks (or one host's
 * interface) going down and up, one network lossy in one direction, one network delayed by many
 * token rotations (20–300 ms), on top of light loss, duplication and reordering; now and then a
 * daemon restart (a new life: the link layer's duplicate windows must start over). Small
 * duplicate windows in some seeds, so that late copies fall before the window.
 */
export function linkSweepOptions(seed: number): Partial<SimOptions> {
  const r = new Rng(seed ^ 0x11ab5);
  const daemons = r.int(3, 5);
  const links = r.pick([2, 2, 2, 3, 4]);
  const linkMode = r.chance(0.5) ? 'active' : 'passive';
  let linkDowns = r.pick([0, 1, 1, 2, 3]);
  const linkLossy = r.pick([0, 0, 1, 2]);
  const linkDelays = r.pick([0, 0, 1, 1]);
  if (linkDowns + linkLossy + linkDelays === 0) linkDowns = 1;
  const restart = r.chance(0.1);
  const messages = r.int(200, 800);
  return {
    seed,
    daemons,
    links,
    linkMode,
    linkDowns,
    linkLossy,
    linkDelays,
    linkDelayMs: r.pick([20, 50, 200, 300]),
    linkTuning: { window: r.pick([64, 256, 4096, 4096]) },
    crashes: restart ? 1 : 0,
    restarts: restart ? 1 : 0,
    loss: r.pick([0, 0, 0, 0.01, 0.05]),
    dup: r.pick([0, 0, 0.02]),
    reorder: r.pick([0, 0, 0.1]),
    service: r.chance(0.5) ? 'mixed' : r.pick(SERVICE_NAMES),
    size: r.pick(['1-200', '1-1500', '1-5000', '1-40000']),
    messages,
    rate: messages / r.int(1500, 4000),
    groups: r.int(1, 4),
  };
}

/**
 * A seed of the replay sweep: datagrams recorded earlier in the run (this ring's, earlier
 * rings', earlier lives') sent again at random, on top of crashes, restarts (earlier lives),
 * partitions (earlier rings) and loss; some seeds authenticate (replays pass the check: they
 * are the genuine bytes), some run two networks (replays through the link layer).
 */
export function replaySweepOptions(seed: number): Partial<SimOptions> {
  const r = new Rng(seed ^ 0x7e91a7);
  const daemons = r.int(3, 6);
  const crashes = r.int(0, Math.min(2, daemons - 1));
  const restarts = crashes === 0 ? 0 : r.int(1, crashes);
  const links = r.chance(0.2) ? 2 : 1;
  const messages = r.int(200, 1000);
  return {
    seed,
    daemons,
    crashes,
    restarts,
    partitions: r.pick([0, 0, 1, 2]),
    replay: r.pick([0.01, 0.05, 0.2]),
    auth: r.pick(['off', 'off', 'mac', 'encrypt'] as const),
    links,
    linkMode: r.chance(0.5) ? 'active' : 'passive',
    loss: r.pick([0, 0, 0.01, 0.05]),
    dup: r.pick([0, 0.02]),
    reorder: r.pick([0, 0.1]),
    service: r.chance(0.5) ? 'mixed' : r.pick(SERVICE_NAMES),
    size: r.pick(['1-200', '1-1500', '1-5000', '1-40000']),
    messages,
    rate: messages / r.int(1500, 4000),
    groups: r.int(1, 4),
  };
}

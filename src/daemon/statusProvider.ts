// What a Daemon tells `ringcast status` (the session server's status provider): its identity,
// the ring it is in, the membership and ring counters, and its links when it runs several
// (multipath). The session server adds sessions, groups and its own counters.
import type { DaemonStatus, StatusProvider } from '../session';
import type { LinkStatus } from '../wire/status';
import type { Daemon } from './daemon';

/** The shape of Daemon.linkStatus() this reads (multipath daemons only; null otherwise). */
interface LinkStatusLike {
  readonly mode?: string;
  readonly counters?: Readonly<Record<string, unknown>>;
  readonly peers: ReadonlyArray<{
    readonly name: string;
    readonly addresses?: readonly string[];
    readonly current?: number;
    readonly links: ReadonlyArray<Readonly<Record<string, unknown>> & { readonly link: number; readonly state: string }>;
  }>;
}

function numbers(record: Readonly<Record<string, unknown>> | undefined, except: readonly string[] = []): Record<string, number> {
  const out: Record<string, number> = {};
  // Times in ms come with sub-µs fractions: three decimals are plenty.
  for (const [k, v] of Object.entries(record ?? {})) if (typeof v === 'number' && !except.includes(k)) out[k] = Math.round(v * 1000) / 1000;
  return out;
}

/** Per peer name, its links: address, state and the numeric fields of the link's status. */
export function linksOf(status: LinkStatusLike, port: number): Record<string, LinkStatus[]> {
  const out: Record<string, LinkStatus[]> = {};
  for (const peer of status.peers) {
    out[peer.name] = peer.links.map((l) => ({
      address: `${peer.addresses?.[l.link] ?? `link ${l.link}`}:${port}`,
      state: peer.current !== undefined && peer.current === l.link ? `${l.state} (current)` : l.state,
      counters: numbers(l, ['link']),
    }));
  }
  return out;
}

/** The process's memory in bytes, and the ring's packets held for retransmission (the bounds README states). */
export function memoryCounters(storedPackets = 0): Record<string, number> {
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, storedPackets };
}

export interface DaemonStatusOptions {
  /** ringcast's version, for the report. */
  readonly version?: string;
}

/** A status provider for `daemon`: each call reads the daemon's state of the moment. */
export function daemonStatusProvider(daemon: Daemon, options: DaemonStatusOptions = {}): StatusProvider {
  return (): DaemonStatus => {
    const membership = daemon.membership;
    const conf = daemon.configuration;
    const operational = membership.currentRing !== null;
    const counters: Record<string, Record<string, number>> = { membership: { ...membership.counters } };
    const ring = membership.ringCore?.counters;
    if (ring) counters.ring = { ...ring, backlog: membership.backlog };
    const auth = daemon.authCounters();
    if (auth) counters.auth = { ...auth }; // dropped: datagrams that failed authentication
    counters.memory = memoryCounters(membership.ringCore?.progress.stored);
    // linkStatus() is there with multipath support; it returns null when the daemon runs one link.
    const getLinks = (daemon as { linkStatus?: () => LinkStatusLike | null }).linkStatus;
    const links = getLinks?.call(daemon) ?? null;
    if (links?.counters) counters.links = numbers(links.counters);
    return {
      daemon: { id: daemon.host.id, incarnation: daemon.incarnation, ...(options.version !== undefined ? { version: options.version } : {}) },
      ring: conf ? { id: conf.ring, members: conf.members, state: operational ? 'operational' : membership.membershipState } : null,
      ...(links
        ? { links: linksOf(links, daemon.host.port) }
        : { linksNote: `link status not available (${daemon.host.daemonAddrs.length > 1 ? 'no link layer report' : 'one link per daemon'})` }),
      counters,
    };
  };
}

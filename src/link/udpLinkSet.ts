// A Transport over several networks: one UDP socket per local link address (the host's D
// addresses, all on the same port), unicast to each peer's address on the same link, with a
// LinkSetCore choosing links, filtering copies and keeping per-link health.
// Send errors (network unreachable, no route, interface down) are counted and reported to the
// core, never thrown; every socket sends on its own, so a dead link never holds up another.
import * as dgram from 'node:dgram';
import { RingcastError } from '../errors';
import type { DatagramAuth } from '../wire/auth';
import type { LinkMode, LinkSetConfig } from './linkSet';
import { DrivenLinkSet, LinkSetDriver, type RawLinks } from './linkSetDriver';

export interface UdpLinkPeer {
  /** The peer's address on link 0, 1, … */
  addresses: string[];
  port: number;
}

export interface UdpLinkSetOptions {
  self: number;
  mode: LinkMode;
  /** This life (the daemon's incarnation). */
  epoch: number;
  /** Local address of each link, in link order (the host's daemonAddrs). */
  addresses: string[];
  port: number;
  peers: Map<number, UdpLinkPeer>;
  recvBufferBytes?: number;
  /** Authenticates every datagram, link header and heartbeats included (AuthKeyFile). */
  auth?: DatagramAuth;
  /** Heartbeat and window settings (see LinkSetConfig). */
  tuning?: Pick<LinkSetConfig, 'pingIntervalMs' | 'deadMs' | 'upPongs' | 'window' | 'failoverResend'>;
}

/**
 * A send with a callback costs a deferred call per datagram; heartbeats are always checked, data
 * sends one in this many per peer and link (a dead interface is found by the heartbeats' failed
 * sends within one ping interval anyway). Errors of unchecked sends go uncounted.
 */
const CHECK_EVERY = 8;

/** Errors that mean the link cannot carry anything now (as opposed to a full buffer). */
const HARD_ERRORS = new Set(['ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'EADDRNOTAVAIL', 'EINVAL', 'EPERM', 'EACCES']);

class UdpRawLinks implements RawLinks {
  readonly sendErrors: number[];
  /** peer id → its address per link. */
  private readonly dest = new Map<number, string[]>();
  private readonly ports = new Map<number, number>();
  /** peer id → one send callback per link, made once: sends are the hot path. */
  private readonly done = new Map<number, ((err: Error | null) => void)[]>();
  /** peer id → data sends per link, for CHECK_EVERY. */
  private readonly sends = new Map<number, number[]>();
  private failed: (link: number, to: number, hard: boolean) => void = () => {};

  constructor(
    readonly sockets: dgram.Socket[],
    peers: Map<number, UdpLinkPeer>,
    private readonly auth: DatagramAuth | null = null,
  ) {
    this.sendErrors = sockets.map(() => 0);
    for (const [id, p] of peers) {
      this.dest.set(id, p.addresses);
      this.ports.set(id, p.port);
      this.sends.set(id, sockets.map(() => 0));
      this.done.set(
        id,
        sockets.map((_, link) => (err: Error | null) => {
          if (err) {
            this.sendErrors[link]++;
            this.failed(link, id, HARD_ERRORS.has((err as NodeJS.ErrnoException).code ?? ''));
          }
        }),
      );
    }
  }

  onSendFailed(handler: (link: number, to: number, hard: boolean) => void): void {
    this.failed = handler;
  }

  transmit(link: number, to: number, header: Buffer, data: Buffer | null): void {
    const addr = this.dest.get(to)?.[link];
    const sock = this.sockets[link];
    if (addr === undefined || !sock) {
      this.failed(link, to, false);
      return;
    }
    const done = this.done.get(to)![link];
    const heartbeat = data === null;
    // The link header differs per receiver and link: with a key, one seal per datagram on the wire.
    const chunks = this.auth ? this.auth.seal(header, data) : data === null ? header : [header, data];
    try {
      if (heartbeat) sock.send(chunks, this.ports.get(to)!, addr, done);
      else {
        const n = this.sends.get(to)!;
        if (n[link]++ % CHECK_EVERY === 0) sock.send(chunks, this.ports.get(to)!, addr, done);
        else sock.send(chunks, this.ports.get(to)!, addr);
      }
    } catch (err) {
      // A socket that is closing, or an argument the platform refuses: counted, never thrown.
      done(err as Error);
    }
  }

  close(): Promise<void> {
    return Promise.all(
      this.sockets.map((s) => new Promise<void>((resolve) => {
        try {
          s.close(() => resolve());
        } catch {
          resolve();
        }
      })),
    ).then(() => undefined);
  }
}

export class UdpLinkSet extends DrivenLinkSet {
  private constructor(
    readonly driver: LinkSetDriver,
    private readonly raw: UdpRawLinks,
  ) {
    super();
  }

  /** Send errors per link, as the sockets reported them. */
  get sendErrors(): readonly number[] {
    return this.raw.sendErrors;
  }

  /**
   * Binds one socket per link address (same port). Throws a RingcastError ('LINK_BIND') when an
   * address cannot be bound (sockets bound so far are closed again).
   */
  // (override: a class constructor already has Function.prototype.bind)
  static override async bind(opts: UdpLinkSetOptions): Promise<UdpLinkSet> {
    const sockets: dgram.Socket[] = [];
    try {
      for (const address of opts.addresses) sockets.push(await bindOne(address, opts.port, opts.recvBufferBytes ?? 8 << 20));
    } catch (err) {
      for (const s of sockets) s.close();
      throw err;
    }
    const raw = new UdpRawLinks(sockets, opts.peers, opts.auth ?? null);
    const cfg: LinkSetConfig = {
      self: opts.self,
      peers: [...opts.peers.keys()],
      links: opts.addresses.length,
      mode: opts.mode,
      epoch: opts.epoch,
      ...(opts.tuning ?? {}),
    };
    const driver = new LinkSetDriver(cfg, raw);
    // Who sent a datagram: its source address and port, per link.
    sockets.forEach((sock, link) => {
      const from = new Map<string, [port: number, id: number][]>();
      for (const [id, p] of opts.peers) {
        const a = p.addresses[link];
        if (a === undefined) continue;
        if (!from.has(a)) from.set(a, []);
        from.get(a)!.push([p.port, id]);
      }
      const who = (address: string, port: number): number => {
        const xs = from.get(address);
        if (xs) for (const [p, id] of xs) if (p === port) return id;
        return -1;
      };
      const auth = opts.auth;
      sock.on('message', auth
        ? (msg, rinfo) => {
            const body = auth.open(msg); // before anything reads it, the link header included
            if (body) driver.input(link, who(rinfo.address, rinfo.port), body);
          }
        : (msg, rinfo) => driver.input(link, who(rinfo.address, rinfo.port), msg));
      // Errors surface here on some platforms (ICMP); they must never take the daemon down.
      sock.on('error', () => {
        raw.sendErrors[link]++;
      });
    });
    return new UdpLinkSet(driver, raw);
  }

}

async function bindOne(address: string, port: number, recvBufferBytes: number): Promise<dgram.Socket> {
  // Peers are addresses, never names: answer the per-send lookup at once, instead of on the
  // next tick as dns.lookup does even for an address (one deferred call per datagram saved).
  const family = address.includes(':') ? 6 : 4;
  const lookup = (host: string, _opts: unknown, cb: (err: Error | null, address: string, family: number) => void) => cb(null, host, family);
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', reuseAddr: false, lookup: lookup as never });
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      try {
        socket.close();
      } catch {
        /* not open */
      }
      reject(new RingcastError('LINK_BIND', `cannot bind UDP ${address}:${port}: ${err.message}`, { cause: err }));
    };
    socket.once('error', fail);
    socket.bind(port, address, () => {
      socket.off('error', fail);
      resolve();
    });
  });
  for (const [set, bytes] of [[(n: number) => socket.setRecvBufferSize(n), recvBufferBytes], [(n: number) => socket.setSendBufferSize(n), 4 << 20]] as const) {
    try {
      set(bytes);
    } catch {
      /* the kernel caps it; keep the default */
    }
  }
  return socket;
}

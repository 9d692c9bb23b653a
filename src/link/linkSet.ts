// One logical network over N physical links (multipath), as a pure state machine: no sockets,
// no timers, no clock — `now` (ms) comes with every input, and what to do comes back as actions.
// The shells (udpLinkSet.ts, memory.ts, the simulator) carry the actions out.
//
// - Active mode: every datagram goes out on every live link; the receiver takes the first copy
//   and drops the others with a bounded per-peer duplicate window.
// - Passive mode: every datagram goes out on the best live link (lowest index). When that link
//   dies, the datagrams sent to the peer in the last moments are sent again on the next one (the
//   window drops what had arrived after all), so a token in flight is not left to the ring's
//   token-retransmit timer.
// - With no live link to a peer (start-up, or everything down) datagrams go out on every link.
// - Health: every link to every peer is pinged; a link is up while pongs come back for pings
//   sent within `deadMs`, down otherwise (or at once when the shell reports a hard send error,
//   such as an unreachable network). Changes come out as events. A link that answers again is
//   used again, with no operator action.
//
// Link header, in front of every datagram (10 bytes, big-endian):
//   0 magic u8 0x4D   1 type (high 4 bits: 0 data, 1 ping, 2 pong) | link index (low 4 bits)
//   2 epoch u32: the sender's life (a later life has a larger epoch; the receiver then starts a
//     fresh window and ignores the older life's stragglers)
//   6 seq u32: data: the sender's sequence number of datagrams to this receiver (the same on
//     every link, so copies can be recognised); ping: the ping number; pong: the echoed ping number
// Ping body: time f64 (the pinger's clock). Pong body: echoed epoch u32, echoed time f64.

export const LINK_MAGIC = 0x4d;
export const LINK_HEADER_SIZE = 10;
export const MAX_LINKS = 16;
export const LinkPacket = { DATA: 0, PING: 1, PONG: 2 } as const;
const PING_SIZE = LINK_HEADER_SIZE + 8;
const PONG_SIZE = LINK_HEADER_SIZE + 12;

export type LinkMode = 'active' | 'passive';
export type LinkState = 'unknown' | 'up' | 'down';

export interface LinkSetConfig {
  /** This daemon's id. */
  self: number;
  /** Every daemon of the configuration (self may be included; it is never pinged). */
  peers: readonly number[];
  /** Number of links, 1–16. */
  links: number;
  mode: LinkMode;
  /** This life of the daemon (u32); a restart must use a larger one. */
  epoch: number;
  /** Pings per link per peer, one every this many ms (default 40). */
  pingIntervalMs?: number;
  /** A link is down when no pong has come back for a ping sent in the last this many ms (default 160). */
  deadMs?: number;
  /** Pongs needed, after a link went down, before it is up again (default 2). */
  upPongs?: number;
  /** Duplicate window per peer, in datagrams: a power of two, at least 64 (default 4096). */
  window?: number;
  /** Passive mode: datagrams per peer kept to be sent again on failover (default 256). */
  failoverResend?: number;
}

export interface LinkEvent {
  kind: 'up' | 'down';
  peer: number;
  link: number;
  /** `now` of the input that caused it. */
  at: number;
  reason: string;
}

/**
 * What the shell does: put `header` (then `data`, when there is one) on `link` to `to`; hand
 * `data` to the layer above as a datagram from `from`; report `event`.
 */
export type LinkAction =
  | { kind: 'transmit'; link: number; to: number; header: Buffer; data: Buffer | null }
  | { kind: 'deliver'; from: number; data: Buffer }
  | { kind: 'event'; event: LinkEvent };

export interface PathCounters {
  /** Datagrams put on this link to the peer (data, resent data, pings and pongs). */
  sent: number;
  /** Datagrams that came in on this link from the peer. */
  received: number;
  /** Data copies that came in on this link after another copy had been taken. */
  duplicates: number;
  /** Data copies older than the duplicate window (dropped: the ring retransmits if needed). */
  tooOld: number;
  /** Sends the shell reported as failed. */
  sendErrors: number;
  pingsSent: number;
  pongsReceived: number;
  /** Times the link went down. */
  downs: number;
}

export interface PathStatus extends PathCounters {
  link: number;
  state: LinkState;
  /** ms since the state last changed. */
  sinceMs: number;
  /** ms since anything came in on this link from the peer; null = never. */
  lastHeardMs: number | null;
  /** Round trip of the newest pong, ms; null = none yet. */
  rttMs: number | null;
}

export interface PeerStatus {
  peer: number;
  /** Passive mode: the link data goes out on now (-1 = none is up: every link). Active: -1. */
  current: number;
  links: PathStatus[];
}

export interface LinkSetCounters {
  /** Datagrams handed up (first copies). */
  delivered: number;
  /** Datagrams that were not link datagrams (too short, wrong magic, bad type or link). */
  malformed: number;
  /** Datagrams from an address that is no configured daemon. */
  unknownSender: number;
  /** Datagrams from an earlier life of a peer. */
  staleEpoch: number;
  /** Datagrams whose header names another link than the one they came in on. */
  misrouted: number;
  /** Datagrams sent again on failover (passive). */
  resent: number;
}

export interface LinkSetStatus {
  mode: LinkMode;
  links: number;
  epoch: number;
  counters: LinkSetCounters;
  peers: PeerStatus[];
}

/**
 * Which sequence numbers have been seen, over the last `size` of them: a ring of bits indexed by
 * seq mod size, plus the highest seq. Sequence numbers are u32 and compared by serial-number
 * arithmetic, so they may wrap.
 */
export class DedupeWindow {
  private readonly bits: Uint32Array;
  private readonly mask: number;
  private high = 0;
  private empty = true;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 64 || (size & (size - 1)) !== 0 || size > 1 << 24) {
      throw new RangeError(`duplicate window must be a power of two in 64..2^24, not ${size}`);
    }
    this.bits = new Uint32Array(size >>> 5);
    this.mask = size - 1;
  }

  /** 'new' (and remembers it), 'dup' (seen already) or 'old' (before the window: unknown, dropped). */
  check(seq: number): 'new' | 'dup' | 'old' {
    seq >>>= 0;
    if (this.empty) {
      this.empty = false;
      this.high = seq;
      this.set(seq);
      return 'new';
    }
    const d = (seq - this.high) | 0;
    if (d > 0) {
      if (d >= this.size) this.bits.fill(0);
      else for (let s = (this.high + 1) >>> 0, i = 0; i < d - 1; i++, s = (s + 1) >>> 0) this.clear(s);
      this.high = seq;
      this.set(seq);
      return 'new';
    }
    if (-d >= this.size) return 'old';
    if (this.has(seq)) return 'dup';
    this.set(seq);
    return 'new';
  }

  /** Forgets everything (the peer started a new life). */
  reset(): void {
    this.bits.fill(0);
    this.empty = true;
  }

  get highest(): number | null {
    return this.empty ? null : this.high;
  }

  private set(seq: number): void {
    const i = seq & this.mask;
    this.bits[i >>> 5] |= 1 << (i & 31);
  }

  private clear(seq: number): void {
    const i = seq & this.mask;
    this.bits[i >>> 5] &= ~(1 << (i & 31));
  }

  private has(seq: number): boolean {
    const i = seq & this.mask;
    return (this.bits[i >>> 5] & (1 << (i & 31))) !== 0;
  }
}

interface Path {
  link: number;
  state: LinkState;
  since: number;
  lastHeard: number | null;
  /** Send time (our clock) of the newest ping a pong came back for. */
  lastEchoed: number;
  rttMs: number | null;
  pongsSinceDown: number;
  nextPingAt: number;
  pingSeq: number;
  c: PathCounters;
}

interface Recent {
  seq: number;
  at: number;
  data: Buffer;
}

interface Peer {
  id: number;
  /** Next sequence number of a data datagram to this peer. */
  txSeq: number;
  rxEpoch: number | null;
  rx: DedupeWindow;
  paths: Path[];
  /** Passive: ring of the last datagrams sent to this peer. */
  recent: (Recent | undefined)[];
  recentNext: number;
}

/** Serial-number comparison of u32s (RFC 1982): is a after b? */
function after(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

export class LinkSetCore {
  readonly mode: LinkMode;
  readonly links: number;
  readonly self: number;
  readonly epoch: number;
  readonly pingIntervalMs: number;
  readonly deadMs: number;
  readonly counters: LinkSetCounters = { delivered: 0, malformed: 0, unknownSender: 0, staleEpoch: 0, misrouted: 0, resent: 0 };
  private readonly upPongs: number;
  private readonly windowSize: number;
  private readonly resendKeep: number;
  private readonly peers = new Map<number, Peer>();
  private readonly pingPeers: Peer[] = [];
  private readonly created: number;

  constructor(cfg: LinkSetConfig, now: number) {
    if (!Number.isInteger(cfg.links) || cfg.links < 1 || cfg.links > MAX_LINKS) {
      throw new RangeError(`links must be 1..${MAX_LINKS}, not ${cfg.links}`);
    }
    this.mode = cfg.mode;
    this.links = cfg.links;
    this.self = cfg.self;
    this.epoch = cfg.epoch >>> 0;
    this.pingIntervalMs = cfg.pingIntervalMs ?? 40;
    this.deadMs = cfg.deadMs ?? 160;
    this.upPongs = Math.max(1, cfg.upPongs ?? 2);
    this.windowSize = cfg.window ?? 4096;
    this.resendKeep = cfg.mode === 'passive' ? Math.max(0, cfg.failoverResend ?? 256) : 0;
    if (!(this.pingIntervalMs > 0) || !(this.deadMs > this.pingIntervalMs)) {
      throw new RangeError(`deadMs (${this.deadMs}) must exceed pingIntervalMs (${this.pingIntervalMs}) > 0`);
    }
    this.created = now;
    const ids = new Set(cfg.peers);
    ids.add(cfg.self);
    for (const id of ids) {
      const p: Peer = {
        id,
        txSeq: 1,
        rxEpoch: null,
        rx: new DedupeWindow(this.windowSize),
        paths: Array.from({ length: this.links }, (_, link) => ({
          link,
          state: 'unknown' as LinkState,
          since: now,
          lastHeard: null,
          lastEchoed: -Infinity,
          rttMs: null,
          pongsSinceDown: 0,
          nextPingAt: now,
          pingSeq: 0,
          c: { sent: 0, received: 0, duplicates: 0, tooOld: 0, sendErrors: 0, pingsSent: 0, pongsReceived: 0, downs: 0 },
        })),
        recent: new Array(this.resendKeep),
        recentNext: 0,
      };
      this.peers.set(id, p);
      if (id !== cfg.self) this.pingPeers.push(p);
    }
  }

  /** One datagram for the peer `to`: transmit actions on the chosen link(s). Unknown peers: nothing. */
  send(now: number, to: number, data: Buffer): LinkAction[] {
    const p = this.peers.get(to);
    if (!p) return [];
    const seq = p.txSeq;
    p.txSeq = (p.txSeq + 1) >>> 0;
    if (this.resendKeep > 0) {
      p.recent[p.recentNext] = { seq, at: now, data };
      p.recentNext = (p.recentNext + 1) % this.resendKeep;
    }
    const out: LinkAction[] = [];
    this.transmitData(p, seq, data, out);
    return out;
  }

  /** A datagram that came in on `link` from the daemon `from` (the shell knows who by its address). */
  receive(now: number, from: number, link: number, datagram: Buffer): LinkAction[] {
    if (datagram.length < LINK_HEADER_SIZE || datagram[0] !== LINK_MAGIC) {
      this.counters.malformed++;
      return [];
    }
    const type = datagram[1] >>> 4;
    const hdrLink = datagram[1] & 0x0f;
    if (hdrLink >= this.links || type > LinkPacket.PONG) {
      this.counters.malformed++;
      return [];
    }
    const p = this.peers.get(from);
    if (!p) {
      this.counters.unknownSender++;
      return [];
    }
    if (link < 0 || link >= this.links) link = hdrLink;
    else if (hdrLink !== link) this.counters.misrouted++;
    const path = p.paths[link];
    path.c.received++;
    path.lastHeard = now;
    const epoch = datagram.readUInt32BE(2);
    if (p.rxEpoch === null || after(epoch, p.rxEpoch)) {
      p.rxEpoch = epoch;
      p.rx.reset();
    } else if (epoch !== p.rxEpoch) {
      this.counters.staleEpoch++;
      return [];
    }
    const seq = datagram.readUInt32BE(6);
    switch (type) {
      case LinkPacket.DATA: {
        const verdict = p.rx.check(seq);
        if (verdict === 'new') {
          this.counters.delivered++;
          return [{ kind: 'deliver', from, data: datagram.subarray(LINK_HEADER_SIZE) }];
        }
        if (verdict === 'dup') path.c.duplicates++;
        else path.c.tooOld++;
        return [];
      }
      case LinkPacket.PING: {
        if (datagram.length < PING_SIZE) {
          this.counters.malformed++;
          return [];
        }
        const pong = Buffer.allocUnsafe(PONG_SIZE);
        this.writeHeader(pong, LinkPacket.PONG, link, seq);
        pong.writeUInt32BE(epoch, LINK_HEADER_SIZE);
        pong.writeDoubleBE(datagram.readDoubleBE(LINK_HEADER_SIZE), LINK_HEADER_SIZE + 4);
        path.c.sent++;
        return [{ kind: 'transmit', link, to: from, header: pong, data: null }];
      }
      default: {
        if (datagram.length < PONG_SIZE) {
          this.counters.malformed++;
          return [];
        }
        if (datagram.readUInt32BE(LINK_HEADER_SIZE) !== this.epoch) return []; // a pong to an earlier life of ours
        const sentAt = datagram.readDoubleBE(LINK_HEADER_SIZE + 4);
        if (!(sentAt <= now)) return [];
        path.c.pongsReceived++;
        if (sentAt > path.lastEchoed) {
          path.lastEchoed = sentAt;
          path.rttMs = now - sentAt;
        }
        if (path.state !== 'up' && now - sentAt <= this.deadMs) {
          path.pongsSinceDown++;
          if (path.pongsSinceDown >= this.upPongs || path.state === 'unknown') {
            const out: LinkAction[] = [];
            this.setState(p, path, 'up', now, path.state === 'unknown' ? 'answering' : 'pongs again', out);
            return out;
          }
        }
        return [];
      }
    }
  }

  /**
   * The shell could not send on `link` to `to`. A hard error (network unreachable, no route,
   * interface down) takes the link down at once; others are only counted.
   */
  sendFailed(now: number, link: number, to: number, hard: boolean): LinkAction[] {
    const p = this.peers.get(to);
    if (!p || link < 0 || link >= this.links) return [];
    const path = p.paths[link];
    path.c.sendErrors++;
    if (!hard || to === this.self) return [];
    path.pongsSinceDown = 0;
    if (path.state === 'down') return [];
    const out: LinkAction[] = [];
    this.setState(p, path, 'down', now, 'send failed', out);
    return out;
  }

  /** Pings that are due, and links whose pongs stopped. Call at nextTickAt() (earlier is harmless). */
  tick(now: number): LinkAction[] {
    const out: LinkAction[] = [];
    for (const p of this.pingPeers) {
      for (const path of p.paths) {
        if (path.state === 'up' && now - path.lastEchoed > this.deadMs) {
          this.setState(p, path, 'down', now, `no pong for ${this.deadMs} ms`, out);
        } else if (path.state === 'unknown' && now - this.created > this.deadMs) {
          this.setState(p, path, 'down', now, 'never answered', out);
        }
        if (now >= path.nextPingAt) {
          path.nextPingAt = Math.max(path.nextPingAt + this.pingIntervalMs, now + this.pingIntervalMs / 2);
          const ping = Buffer.allocUnsafe(PING_SIZE);
          path.pingSeq = (path.pingSeq + 1) >>> 0;
          this.writeHeader(ping, LinkPacket.PING, path.link, path.pingSeq);
          ping.writeDoubleBE(now, LINK_HEADER_SIZE);
          path.c.sent++;
          path.c.pingsSent++;
          out.push({ kind: 'transmit', link: path.link, to: p.id, header: ping, data: null });
        }
      }
    }
    return out;
  }

  /** When tick() has something to do next. */
  nextTickAt(): number {
    let next = Infinity;
    for (const p of this.pingPeers) {
      for (const path of p.paths) {
        next = Math.min(next, path.nextPingAt);
        if (path.state === 'up') next = Math.min(next, path.lastEchoed + this.deadMs + 1e-3);
        else if (path.state === 'unknown') next = Math.min(next, this.created + this.deadMs + 1e-3);
      }
    }
    return next;
  }

  /** Is some link to this peer up? */
  reachable(peer: number): boolean {
    const p = this.peers.get(peer);
    return !!p && p.paths.some((x) => x.state === 'up');
  }

  state(peer: number, link: number): LinkState | undefined {
    return this.peers.get(peer)?.paths[link]?.state;
  }

  status(now: number): LinkSetStatus {
    return {
      mode: this.mode,
      links: this.links,
      epoch: this.epoch,
      counters: { ...this.counters },
      peers: this.pingPeers.map((p) => ({
        peer: p.id,
        current: this.mode === 'passive' ? this.bestLink(p) : -1,
        links: p.paths.map((x) => ({
          link: x.link,
          state: x.state,
          sinceMs: now - x.since,
          lastHeardMs: x.lastHeard === null ? null : now - x.lastHeard,
          rttMs: x.rttMs,
          ...x.c,
        })),
      })),
    };
  }

  // ------------------------------------------------------------------------------------------

  private writeHeader(buf: Buffer, type: number, link: number, seq: number): void {
    buf[0] = LINK_MAGIC;
    buf[1] = (type << 4) | link;
    buf.writeUInt32BE(this.epoch, 2);
    buf.writeUInt32BE(seq >>> 0, 6);
  }

  private dataHeader(link: number, seq: number): Buffer {
    const h = Buffer.allocUnsafe(LINK_HEADER_SIZE);
    this.writeHeader(h, LinkPacket.DATA, link, seq);
    return h;
  }

  /** Passive: the lowest link that is up, or -1. */
  private bestLink(p: Peer): number {
    for (const x of p.paths) if (x.state === 'up') return x.link;
    return -1;
  }

  private transmitData(p: Peer, seq: number, data: Buffer, out: LinkAction[]): void {
    if (p.id === this.self || this.links === 1) {
      this.put(p.paths[0], p.id, seq, data, out);
      return;
    }
    if (this.mode === 'passive') {
      const best = this.bestLink(p);
      if (best >= 0) {
        this.put(p.paths[best], p.id, seq, data, out);
        return;
      }
    } else {
      let any = false;
      for (const x of p.paths) {
        if (x.state === 'up') {
          this.put(x, p.id, seq, data, out);
          any = true;
        }
      }
      if (any) return;
    }
    // No link known to work: every link, so nothing is lost while heartbeats catch up.
    for (const x of p.paths) this.put(x, p.id, seq, data, out);
  }

  private put(path: Path, to: number, seq: number, data: Buffer, out: LinkAction[]): void {
    path.c.sent++;
    out.push({ kind: 'transmit', link: path.link, to, header: this.dataHeader(path.link, seq), data });
  }

  private setState(p: Peer, path: Path, state: LinkState, now: number, reason: string, out: LinkAction[]): void {
    const wasBest = this.mode === 'passive' ? this.bestLink(p) : -1;
    path.state = state;
    path.since = now;
    if (state === 'down') {
      path.c.downs++;
      path.pongsSinceDown = 0;
    }
    out.push({ kind: 'event', event: { kind: state === 'up' ? 'up' : 'down', peer: p.id, link: path.link, at: now, reason } });
    if (this.mode === 'passive' && state === 'down' && wasBest === path.link) this.failover(p, now, out);
  }

  /**
   * Passive: the link in use to p died. What was sent to p lately may be lost with it; send it
   * again on the next link (or on all, when none is up). Copies that had arrived are dropped by
   * the receiver's window, and the ring ignores anything older anyway.
   */
  private failover(p: Peer, now: number, out: LinkAction[]): void {
    const horizon = now - this.deadMs - this.pingIntervalMs;
    const n = this.resendKeep;
    for (let i = 0; i < n; i++) {
      const r = p.recent[(p.recentNext + i) % n];
      if (!r || r.at < horizon) continue;
      this.counters.resent++;
      this.transmitData(p, r.seq, r.data, out);
    }
  }
}

// In-memory Transports for tests: a MemoryNetwork of N links joins daemons in one process.
// A link can be cut for everyone (the switch died) or for one host (its interface is down:
// its sends fail at once, as with ENETUNREACH, and nothing reaches it), or delayed.
// MemoryTransport is one plain link (no link header, like UdpTransport); MemoryLinkSet runs a
// LinkSetCore over all the links (like UdpLinkSet).
import type { LinkMode, LinkSetConfig } from './linkSet';
import { DrivenLinkSet, LinkSetDriver, type RawLinks } from './linkSetDriver';
import type { Transport, TransportCounters } from './transport';

type Receiver = (link: number, from: number, data: Buffer) => void;

export class MemoryNetwork {
  private readonly receivers = new Map<number, Receiver>();
  private readonly linkDown: boolean[];
  private readonly hostDown = new Set<string>();
  private readonly delayMs: number[];
  /** Datagrams that were dropped because a link was down. */
  dropped = 0;

  constructor(readonly links = 1) {
    this.linkDown = new Array<boolean>(links).fill(false);
    this.delayMs = new Array<number>(links).fill(0);
  }

  /** Cuts (or restores) a link for everyone, or only one host's interface on it. */
  setLinkUp(link: number, up: boolean, host?: number): void {
    if (host === undefined) this.linkDown[link] = !up;
    else if (up) this.hostDown.delete(`${host}/${link}`);
    else this.hostDown.add(`${host}/${link}`);
  }

  /** Extra one-way delay on a link (ms); 0 = next turn of the event loop. */
  setDelay(link: number, ms: number): void {
    this.delayMs[link] = ms;
  }

  /** @internal */
  attach(id: number, receiver: Receiver): void {
    this.receivers.set(id, receiver);
  }

  /** @internal */
  detach(id: number): void {
    this.receivers.delete(id);
  }

  /** @internal Sends a copy of the bytes; false when the sender's own interface is down. */
  transmit(link: number, from: number, to: number, chunks: Buffer[]): boolean {
    if (this.hostDown.has(`${from}/${link}`)) return false;
    const data = chunks.length === 1 ? Buffer.from(chunks[0]) : Buffer.concat(chunks);
    const arrive = () => {
      if (this.linkDown[link] || this.hostDown.has(`${to}/${link}`) || this.hostDown.has(`${from}/${link}`)) {
        this.dropped++;
        return;
      }
      this.receivers.get(to)?.(link, from, data);
    };
    if (this.linkDown[link]) {
      this.dropped++;
      return true;
    }
    const delay = this.delayMs[link];
    if (delay > 0) setTimeout(arrive, delay);
    else setImmediate(arrive);
    return true;
  }
}

/** One plain link (link 0) of a MemoryNetwork. */
export class MemoryTransport implements Transport {
  readonly counters: TransportCounters = { sent: 0, received: 0, sendErrors: 0 };
  /** send() takes a datagram in pieces too (see GatheringTransport in auth.ts). */
  readonly gathers = true;
  private handler: (data: Buffer) => void = () => {};

  constructor(
    private readonly net: MemoryNetwork,
    readonly id: number,
  ) {
    net.attach(id, (link, _from, data) => {
      if (link !== 0) return;
      this.counters.received++;
      this.handler(data);
    });
  }

  send(to: number, data: Buffer | readonly Buffer[]): void {
    this.counters.sent++;
    if (!this.net.transmit(0, this.id, to, Buffer.isBuffer(data) ? [data] : [...data])) this.counters.sendErrors++;
  }

  onMessage(handler: (data: Buffer) => void): void {
    this.handler = handler;
  }

  async close(): Promise<void> {
    this.net.detach(this.id);
  }
}

export interface MemoryLinkSetOptions {
  self: number;
  peers: readonly number[];
  mode: LinkMode;
  epoch: number;
  tuning?: Pick<LinkSetConfig, 'pingIntervalMs' | 'deadMs' | 'upPongs' | 'window' | 'failoverResend'>;
}

/** A LinkSetCore over every link of a MemoryNetwork, with real timers. */
export class MemoryLinkSet extends DrivenLinkSet {
  readonly driver: LinkSetDriver;

  constructor(net: MemoryNetwork, opts: MemoryLinkSetOptions) {
    super();
    let failed: (link: number, to: number, hard: boolean) => void = () => {};
    const raw: RawLinks = {
      transmit: (link, to, header, data) => {
        if (!net.transmit(link, opts.self, to, data ? [header, data] : [header])) {
          queueMicrotask(() => failed(link, to, true));
        }
      },
      onSendFailed: (h) => {
        failed = h;
      },
      close: async () => net.detach(opts.self),
    };
    this.driver = new LinkSetDriver(
      { self: opts.self, peers: opts.peers, links: net.links, mode: opts.mode, epoch: opts.epoch, ...(opts.tuning ?? {}) },
      raw,
    );
    net.attach(opts.self, (link, from, data) => this.driver.input(link, from, data));
  }

}

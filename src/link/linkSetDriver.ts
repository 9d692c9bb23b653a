// The part of a LinkSet shell that is the same for every kind of link: it owns the clock and
// the heartbeat timer, feeds the pure LinkSetCore and carries out its actions on raw links
// (UDP sockets in udpLinkSet.ts, in-memory links in memory.ts).
import { performance } from 'node:perf_hooks';
import { EventEmitter } from 'node:events';
import { LinkSetCore, type LinkAction, type LinkEvent, type LinkSetConfig, type LinkSetStatus } from './linkSet';
import type { Transport } from './transport';

/**
 * Puts bytes on one link. A send that fails is reported to the handler given to onSendFailed
 * (hard: the link cannot carry anything now), later or at once, never thrown.
 */
export interface RawLinks {
  transmit(link: number, to: number, header: Buffer, data: Buffer | null): void;
  onSendFailed(handler: (link: number, to: number, hard: boolean) => void): void;
  close(): Promise<void>;
}

export interface LinkSetEvents {
  link: [event: LinkEvent];
}

export class LinkSetDriver extends EventEmitter<LinkSetEvents> implements Transport {
  readonly core: LinkSetCore;
  private handler: (data: Buffer) => void = () => {};
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    cfg: LinkSetConfig,
    private readonly raw: RawLinks,
    private readonly clock: () => number = () => performance.now(),
  ) {
    super();
    this.core = new LinkSetCore(cfg, clock());
    raw.onSendFailed((link, to, hard) => {
      if (!this.closed) this.carryOut(this.core.sendFailed(this.clock(), link, to, hard));
    });
    this.tick();
  }

  send(to: number, data: Buffer): void {
    if (this.closed) return;
    this.carryOut(this.core.send(this.clock(), to, data));
  }

  onMessage(handler: (data: Buffer) => void): void {
    this.handler = handler;
  }

  /** A datagram from a raw link; `from` is the daemon id its source address belongs to (-1: none). */
  input(link: number, from: number, datagram: Buffer): void {
    if (this.closed) return;
    this.carryOut(this.core.receive(this.clock(), from, link, datagram));
  }

  status(): LinkSetStatus {
    return this.core.status(this.clock());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.raw.close();
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.clock();
    this.carryOut(this.core.tick(now));
    const next = this.core.nextTickAt();
    if (Number.isFinite(next)) {
      this.timer = setTimeout(() => this.tick(), Math.max(1, Math.ceil(next - this.clock())));
      this.timer.unref();
    }
  }

  private carryOut(actions: LinkAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'transmit':
          this.raw.transmit(a.link, a.to, a.header, a.data);
          break;
        case 'deliver':
          this.handler(a.data);
          break;
        case 'event':
          this.emit('link', a.event);
          break;
      }
    }
  }
}

/** What the link-set shells (UDP, in-memory) have in common: a Transport over their driver. */
export abstract class DrivenLinkSet implements Transport {
  abstract readonly driver: LinkSetDriver;

  send(to: number, data: Buffer): void {
    this.driver.send(to, data);
  }

  onMessage(handler: (data: Buffer) => void): void {
    this.driver.onMessage(handler);
  }

  /** Link up/down events. */
  onLinkEvent(handler: (e: LinkEvent) => void): void {
    this.driver.on('link', handler);
  }

  status(): LinkSetStatus {
    return this.driver.status();
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}

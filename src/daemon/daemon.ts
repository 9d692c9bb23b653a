// The driver around the pure core: owns the socket, the timers and the clock, feeds the core
// its inputs and carries out its outputs. Membership is static for now (every host of the
// configuration, all up); the membership protocol replaces `startStaticRing`.
import { EventEmitter } from 'node:events';
import { RingCore } from '../core/ring/ring';
import type { DeliveredMessage, RingInput, RingOptions, RingOutput, RingTimer } from '../core/ring/types';
import type { ServiceCode } from '../core/service';
import type { HostEntry, SpreadConfig } from '../config/types';
import type { Transport } from '../link/transport';
import { UdpTransport, type UdpPeer } from '../link/udp';

export interface Configuration {
  kind: 'regular' | 'transitional';
  /** Printable ring id, "<ring seq>.<representative's name>". */
  ring: string;
  members: string[];
}

export interface DaemonEvents {
  deliver: [msg: DeliveredMessage];
  configuration: [conf: Configuration];
  submitted: [counter: number, service: number];
}

export class Daemon extends EventEmitter<DaemonEvents> {
  readonly host: HostEntry;
  private core!: RingCore;
  private transport!: Transport;
  private readonly timers = new Map<RingTimer, NodeJS.Timeout>();
  private readonly names = new Map<number, string>();
  private stopped = false;

  constructor(
    readonly config: SpreadConfig,
    host: HostEntry,
    private readonly ringOptions: Partial<RingOptions> = {},
  ) {
    super();
    this.host = host;
    for (const h of config.hosts) this.names.set(h.id, h.name);
  }

  /** The name of a daemon id as the configuration spells it. */
  nameOf(id: number): string {
    return this.names.get(id) ?? `#${id}`;
  }

  async start(transport?: Transport): Promise<void> {
    if (!transport) {
      const peers = new Map<number, UdpPeer>(this.config.hosts.map((h) => [h.id, { address: h.daemonAddrs[0], port: h.port }]));
      transport = await UdpTransport.bind(this.host.daemonAddrs[0], this.host.port, peers);
    }
    this.transport = transport;
    transport.onMessage((data) => this.feed({ kind: 'packet', data }));
    this.startStaticRing();
  }

  private startStaticRing(): void {
    const members = this.config.hosts.map((h) => h.id);
    const o = this.config.options;
    this.core = new RingCore(
      {
        myId: this.host.id,
        members,
        ringSeq: 1,
        ringRep: members[0],
        configHash: this.config.configHash,
        incarnation: 1,
      },
      { window: o.window, personalWindow: o.personalWindow, payloadBudget: o.payloadBudget, maxMessageSize: o.maxMessageSize, ...this.ringOptions },
    );
    this.emit('configuration', { kind: 'regular', ring: `1.${this.nameOf(members[0])}`, members: members.map((m) => this.nameOf(m)) });
    this.feed({ kind: 'start' });
  }

  /** Queues a message for the ring; its counter (the n of "<daemon>#<n>") comes with the "submitted" event. */
  submit(service: ServiceCode, groups: readonly string[], payload: Buffer): void {
    this.feed({ kind: 'submit', service, groups, payload });
  }

  get counters(): RingCore['counters'] {
    return this.core.counters;
  }

  get progress(): RingCore['progress'] {
    return this.core.progress;
  }

  get backlog(): number {
    return this.core.backlog;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.transport?.close();
  }

  private feed(input: RingInput): void {
    if (this.stopped) return;
    this.carryOut(this.core.step(input));
  }

  private carryOut(outs: RingOutput[]): void {
    for (const o of outs) {
      switch (o.kind) {
        case 'mcast':
          for (const h of this.config.hosts) if (h.id !== this.host.id) this.transport.send(h.id, o.data);
          break;
        case 'send':
          this.transport.send(o.to, o.data);
          break;
        case 'deliver':
          this.emit('deliver', o.msg);
          break;
        case 'submitted':
          this.emit('submitted', o.counter, o.service);
          break;
        case 'setTimer': {
          const old = this.timers.get(o.timer);
          if (old) clearTimeout(old);
          const timer = o.timer;
          this.timers.set(
            timer,
            setTimeout(() => {
              this.timers.delete(timer);
              this.feed({ kind: 'timer', timer });
            }, o.ms),
          );
          break;
        }
        case 'cancelTimer': {
          const old = this.timers.get(o.timer);
          if (old) {
            clearTimeout(old);
            this.timers.delete(o.timer);
          }
          break;
        }
      }
    }
  }
}

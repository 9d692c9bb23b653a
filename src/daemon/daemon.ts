// The driver around the pure core: owns the socket, the timers and the clock, feeds the core
// (membership + ordering) its inputs and carries out its outputs.
import { EventEmitter } from 'node:events';
import { MembershipCore } from '../core/membership/membership';
import type { ConfigurationChange, CoreInput, CoreOutput, CoreTimer, MembershipTimeouts } from '../core/membership/types';
import type { DeliveredMessage, RingOptions } from '../core/ring/types';
import type { ServiceCode } from '../core/service';
import type { HostEntry, SpreadConfig, Timeouts } from '../config/types';
import type { Transport } from '../link/transport';
import { UdpTransport, type UdpPeer } from '../link/udp';
import { UdpLinkSet } from '../link/udpLinkSet';
import type { LinkEvent, LinkSetStatus, PeerStatus } from '../link/linkSet';
import { AuthenticatedTransport } from '../link/auth';
import { DatagramAuth, type AuthCounters } from '../wire/auth';
import { authKeyPath, readAuthKey } from '../config/authKey';

export interface Configuration {
  kind: 'regular' | 'transitional';
  /** Printable ring id, "<ring seq>.<representative's name>". */
  ring: string;
  /** Member names; a daemon's later lives are "name@incarnation" (see memberName). */
  members: string[];
  change: ConfigurationChange;
}

export interface DaemonEvents {
  deliver: [msg: DeliveredMessage];
  configuration: [conf: Configuration];
  submitted: [counter: number, service: number];
  /** A link to a peer went up or down (multipath only). */
  link: [event: LinkEvent & { peerName: string }];
}

export interface DaemonOptions {
  ring?: Partial<RingOptions>;
  /** This life's incarnation (default: tenths of a second since 2024, so a restart has a larger one). */
  incarnation?: number;
  /** Authentication of daemon traffic; default: from the configuration's AuthKeyFile (null: none). */
  auth?: DatagramAuth | null;
}

/** Spread's timeout options, as ringcast uses them (see config/options.ts). */
export function membershipTimeouts(t: Timeouts): MembershipTimeouts {
  return {
    tokenLossMs: t.token,
    tokenLossConfirmMs: Math.max(1, Math.min(20, Math.floor(t.token / 10))),
    joinMs: t.join,
    consensusMs: t.gather,
    formMs: t.form,
    commitRetransmitMs: t.hurry,
    probeMs: t.alive,
  };
}

const EPOCH_2024 = Date.UTC(2024, 0, 1);

/** AuthKeyFile's key, checked; throws RingcastError ('AUTH_KEY') for a bad key file. */
function loadAuth(config: SpreadConfig): DatagramAuth | null {
  const file = authKeyPath(config);
  return file === null ? null : new DatagramAuth(readAuthKey(file), { encrypt: config.options.encryption });
}

export class Daemon extends EventEmitter<DaemonEvents> {
  readonly host: HostEntry;
  readonly incarnation: number;
  /** What seals and checks every datagram; null when daemon traffic is unauthenticated. */
  readonly auth: DatagramAuth | null;
  private readonly core: MembershipCore;
  private transport!: Transport;
  private linkSet: UdpLinkSet | null = null;
  private readonly timers = new Map<CoreTimer, NodeJS.Timeout>();
  private readonly names = new Map<number, string>();
  private regular: Configuration | null = null;
  private stopped = false;

  constructor(
    readonly config: SpreadConfig,
    host: HostEntry,
    options: DaemonOptions = {},
  ) {
    super();
    this.host = host;
    for (const h of config.hosts) this.names.set(h.id, h.name);
    this.incarnation = options.incarnation ?? Math.floor((Date.now() - EPOCH_2024) / 100);
    this.auth = options.auth !== undefined ? options.auth : loadAuth(config);
    const o = config.options;
    this.core = new MembershipCore(
      {
        myId: host.id,
        incarnation: this.incarnation,
        universe: config.hosts.map((h) => h.id),
        configHash: config.configHash,
        ringSeqFloor: Date.now(),
      },
      {
        ring: {
          window: o.window,
          personalWindow: o.personalWindow,
          payloadBudget: o.payloadBudget,
          maxMessageSize: o.maxMessageSize,
          tokenRetransmitMs: o.timeouts.hurry,
          accelerated: o.acceleratedRing,
          ...(options.ring ?? {}),
        },
        timeouts: membershipTimeouts(o.timeouts),
      },
    );
  }

  /** The name of a daemon id as the configuration spells it. */
  nameOf(id: number): string {
    return this.names.get(id) ?? `#${id}`;
  }

  /** A daemon's name in logs: its configured name, with "@incarnation" after a restart (incarnation ≠ 1). */
  memberName(id: number, incarnation: number): string {
    const n = this.nameOf(id);
    return incarnation === 1 ? n : `${n}@${incarnation}`;
  }

  async start(transport?: Transport): Promise<void> {
    if (!transport && this.host.daemonAddrs.length > 1) {
      // Multipath: one socket per network, a LinkSet choosing links and dropping copies.
      const links = await UdpLinkSet.bind({
        self: this.host.id,
        mode: this.config.multipath === 'passive' ? 'passive' : 'active',
        epoch: this.incarnation,
        addresses: this.host.daemonAddrs,
        port: this.host.port,
        peers: new Map(this.config.hosts.map((h) => [h.id, { addresses: h.daemonAddrs, port: h.port }])),
        ...(this.auth ? { auth: this.auth } : {}),
      });
      links.onLinkEvent((e) => this.emit('link', { ...e, peerName: this.nameOf(e.peer) }));
      this.linkSet = links;
      transport = links;
    }
    if (!transport) {
      const peers = new Map<number, UdpPeer>(this.config.hosts.map((h) => [h.id, { address: h.daemonAddrs[0], port: h.port }]));
      transport = await UdpTransport.bind(this.host.daemonAddrs[0], this.host.port, peers);
    }
    // A link set seals below its link header itself; any other transport is wrapped.
    if (this.auth && transport !== this.linkSet) transport = new AuthenticatedTransport(transport, this.auth);
    this.transport = transport;
    transport.onMessage((data) => this.feed({ kind: 'packet', data }));
    this.feed({ kind: 'start' });
  }

  /**
   * Queues a message for the ring; its counter (the n of "<daemon>#<n>") comes with the
   * "submitted" event. `internal`: the client layer's own traffic, delivered with counter 0 and
   * never reported as submitted (see SubmitRequest.internal).
   */
  submit(service: ServiceCode, groups: readonly string[], payload: Buffer, internal = false): void {
    this.feed({ kind: 'submit', service, groups, payload, internal });
  }

  /**
   * Every link to every peer with its state and counters, when this daemon runs several links
   * (multipath); null with a single link.
   */
  linkStatus(): (Omit<LinkSetStatus, 'peers'> & { addresses: string[]; peers: (PeerStatus & { name: string; addresses: string[] })[] }) | null {
    if (!this.linkSet) return null;
    const s = this.linkSet.status();
    const addrs = new Map(this.config.hosts.map((h) => [h.id, h.daemonAddrs]));
    return { ...s, addresses: this.host.daemonAddrs, peers: s.peers.map((p) => ({ ...p, name: this.nameOf(p.peer), addresses: addrs.get(p.peer) ?? [] })) };
  }

  /** Datagrams sealed, verified and dropped (failed authentication); null without a key. */
  authCounters(): AuthCounters | null {
    return this.auth ? { ...this.auth.counters } : null;
  }

  /** The regular configuration installed last, if any. */
  get configuration(): Configuration | null {
    return this.regular;
  }

  get membership(): MembershipCore {
    return this.core;
  }

  /** Leaves the ring (the others re-form at once) and closes the socket. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    if (this.transport) {
      this.carryOut(this.core.step({ kind: 'leave' }));
      await new Promise((r) => setTimeout(r, 20)); // let the leave go out before the socket closes
    }
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.transport?.close();
  }

  private feed(input: CoreInput): void {
    if (this.stopped) return;
    this.carryOut(this.core.step(input));
  }

  private carryOut(outs: CoreOutput[]): void {
    for (const o of outs) {
      switch (o.kind) {
        case 'mcast':
          for (const to of o.to) this.transport.send(to, o.data);
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
        case 'configuration': {
          const c = o.conf;
          const conf: Configuration = {
            kind: c.kind,
            ring: `${c.ringSeq}.${this.nameOf(c.ringRep)}`,
            members: c.members.map((m, i) => this.memberName(m, c.incarnations[i])),
            change: c,
          };
          if (c.kind === 'regular') this.regular = conf;
          this.emit('configuration', conf);
          break;
        }
        case 'setTimer': {
          const timer = o.timer;
          const old = this.timers.get(timer);
          if (old) clearTimeout(old);
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

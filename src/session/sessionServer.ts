// The daemon side of Spread's client protocol: accepts sessions on any duplex stream (TCP,
// a Unix socket, or in memory), puts their requests on the ring, and runs the groups layer on
// what the ring delivers, writing each local session its messages.
//
// Flow control both ways: a client that does not read is given MaxSessionMessages of slack and
// then disconnected (OutputQueue); when this daemon's messages pile up in the ring (submitted,
// not yet delivered back), every session's input pauses until half of them are through, as
// Spread blocks session reads while its protocol queue is long.
//
// Access: each connection is judged by where it comes from (auth.ts: NULL, IP), sessions are
// limited (MaxSessions, MaxGroupsPerSession, ClientHandshakeTimeout), the Unix socket gets its
// mode, owner and group (socketAccess.ts), and refusals are reported (sessionRejected).
//
// Status queries (a message to #ringcast-status, src/wire/status.ts) are answered here, from the
// groups state, the sessions and what the status provider (set by the daemon's owner) tells.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Daemon } from '../daemon/daemon';
import { GroupsCore } from '../core/groups/groupsCore';
import type { GroupView, GroupsInput, GroupsOutput } from '../core/groups/types';
import type { ConfigurationChange } from '../core/membership/types';
import { RingcastError } from '../errors';
import { MessageType } from '../wire/client/constants';
import { hintFor } from '../wire/client/header';
import { encodeMessage, type DecodedMessage } from '../wire/client/message';
import { encodeReject } from '../wire/client/handshakeReplies';
import { decodeEnvelope } from '../wire/envelope';
import type { ServiceEngine } from '../services/engine';
import { ServiceHost, type ServiceHostPort } from '../services/host';
import {
  STATUS_GROUP,
  STATUS_PROTOCOL_VERSION,
  STATUS_REPLY,
  decodeStatusRequest,
  encodeStatusReport,
  type GroupStatus,
  type LinkStatus,
  type StatusReport,
} from '../wire/status';
import { authPolicyFor } from './auth';
import { ClientSession, type SessionEnd, type SessionHost } from './clientSession';
import { LOCAL_ORIGIN, describeOrigin, tcpOrigin, type ClientOrigin } from './clientOrigin';
import type { NameClaimer } from './handshake';
import { IpAllowList } from './ipAllowList';
import { quotaRejection, rejectionOf, type SessionRejection } from './sessionRejection';
import { applySocketAccess, withPrivateUmask } from './socketAccess';
import { resolveSessionOptions, sessionOptionsFromConfig, type SessionServerOptions } from './options';
import { PrivateNames } from './privateNames';
import type { RingRequest } from './ringRequests';
import { daemonRingPort, type RingDelivery, type RingPort } from './ringPort';

type RingEvent = { readonly kind: 'deliver'; readonly message: RingDelivery } | { readonly kind: 'configuration'; readonly change: ConfigurationChange };

/** Ring services with this bit are the ring's own messages. */
const RING_INTERNAL = 0x80;

export interface SessionServerCounters {
  accepted: number;
  rejected: number;
  /** Sessions closed for a frame that broke the rules. */
  badFrames: number;
  /** Sessions closed for not reading (MaxSessionMessages, MaxSessionBytes). */
  tooSlow: number;
  /** Connections closed for not completing the handshake in time. */
  handshakeTimeouts: number;
  /** JOINs sent back for going past MaxGroupsPerSession. */
  joinsRefused: number;
  submitted: number;
  /** Ring payloads that carried the envelope magic but did not decode. */
  malformedEnvelopes: number;
  /** Frames written to sessions. */
  framesDelivered: number;
}

/** Status queries answered, and messages to the status group that were no query. */
export interface StatusCounters {
  statusRequests: number;
  statusIgnored: number;
}

/**
 * What the daemon around a session server tells status queries; every field is optional (the
 * server reports the ring from its RingPort when `ring` is absent).
 */
export interface DaemonStatus {
  readonly daemon?: { readonly id?: number; readonly incarnation?: number; readonly version?: string };
  readonly ring?: StatusReport['ring'];
  /** Links per ring member; null or absent: not available (say why in linksNote). */
  readonly links?: Readonly<Record<string, readonly LinkStatus[]>> | null;
  readonly linksNote?: string;
  /** Counters by area (e.g. membership, ring); the server adds `sessions`. */
  readonly counters?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export type StatusProvider = () => DaemonStatus;

/** Groups and session names a status report lists at most (the counts are always whole). */
const STATUS_LIST_LIMIT = 100;

export interface SessionServerEvents {
  /** A session ended (for logs). */
  sessionEnded?(privateGroup: string | undefined, end: SessionEnd): void;
  /** A session was refused or thrown out (see SessionRejection); `remote`: `address:port`, or `local`. */
  sessionRejected?(reason: SessionRejection, remote: string): void;
  /** A line for the daemon's log (service host troubles). */
  log?(line: string): void;
}

export class SessionServer {
  readonly options: SessionServerOptions;
  readonly counters: SessionServerCounters = {
    accepted: 0,
    rejected: 0,
    badFrames: 0,
    tooSlow: 0,
    handshakeTimeouts: 0,
    joinsRefused: 0,
    submitted: 0,
    malformedEnvelopes: 0,
    framesDelivered: 0,
  };
  readonly statusCounters: StatusCounters = { statusRequests: 0, statusIgnored: 0 };
  private statusProvider: StatusProvider | undefined;
  private readonly startedAt = Date.now();
  private readonly core: GroupsCore;
  private readonly names: PrivateNames;
  /** Every session, from its first byte on. */
  private readonly all = new Set<ClientSession>();
  /** Open sessions by private group. */
  private readonly open = new Map<string, ClientSession>();
  /** Private groups whose KILL is in the ring. */
  private readonly dying = new Set<string>();
  private readonly unsubscribe: () => void;
  private readonly listeners: net.Server[] = [];
  private connections = 0;
  private inFlight = 0;
  private inFlightBytes = 0;
  private readonly ipAllow: IpAllowList;
  private paused = false;
  private closed = false;
  // The core is fed one input at a time; inputs that arrive meanwhile (a ring that delivers
  // synchronously from submit) wait their turn.
  private feeding = false;
  private readonly backlog: GroupsInput[] = [];
  private killsDrained: (() => void) | null = null;
  // A ring may deliver from inside submit (a daemon alone in its ring holding the token does).
  // What it delivers then waits until the code that submitted has finished: a session's KILL,
  // say, must be recorded as pending before its delivery frees the name.
  private submitting = 0;
  private readonly ringEvents: RingEvent[] = [];
  private ringEventsScheduled = false;
  /** The service engines (checkpoints, events), when this server runs them. */
  readonly services: ServiceHost | null;

  constructor(
    private readonly ring: RingPort,
    options: Partial<SessionServerOptions> = {},
    private readonly events: SessionServerEvents = {},
    engines: readonly ServiceEngine[] = [],
  ) {
    this.options = resolveSessionOptions(options);
    this.ipAllow = new IpAllowList(this.options.ipAllow);
    this.core = new GroupsCore({ myId: ring.daemonId, daemonOrder: ring.daemonOrder });
    this.names = new PrivateNames(ring.daemonName, this.options.random);
    // Every daemon of a ring must run the same engines: their state exchange waits for all.
    this.services = engines.length === 0 ? null : new ServiceHost(this.servicePort(), engines);
    this.unsubscribe = ring.subscribe({
      deliver: (message) => this.fromRing({ kind: 'deliver', message }),
      configuration: (change) => this.fromRing({ kind: 'configuration', change }),
    });
    const current = ring.currentConfiguration?.();
    if (current) this.feed({ kind: 'configuration', change: current });
  }

  /**
   * A server for a Daemon, listening as spread.conf says for it (its client addresses and port,
   * and `<ClientSocketDir>/<port>`); `options` override (e.g. unixSocketPath, so several
   * daemons on one host keep apart). Attach before `daemon.start()`: every daemon of a ring
   * must run the groups layer from its first configuration on.
   * @throws as listen().
   */
  static async attach(
    daemon: Daemon,
    options: Partial<SessionServerOptions> = {},
    events: SessionServerEvents = {},
    engines: readonly ServiceEngine[] = [],
  ): Promise<SessionServer> {
    const server = new SessionServer(
      daemonRingPort(daemon),
      { ...sessionOptionsFromConfig(daemon.config, daemon.host), ...options },
      events,
      engines,
    );
    try {
      await server.listen();
    } catch (e) {
      await server.close();
      throw e;
    }
    return server;
  }

  /** Open sessions. */
  get sessionCount(): number {
    return this.open.size;
  }

  /** Where clients can connect: TCP `host:port` (the port chosen when 0 was asked) and the Unix socket path. */
  addresses(): string[] {
    return this.listeners.flatMap((l) => {
      const a = l.address();
      if (a === null) return [];
      return [typeof a === 'string' ? a : a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`];
    });
  }

  /** The groups as this daemon knows them. */
  groups(): GroupView[] {
    return this.core.snapshot();
  }

  /**
   * Sets (or clears) what status queries learn of the daemon: called for each query, so it
   * reports the state of the moment. Keeps this layer free of the daemon's internals.
   */
  setStatusProvider(provider: StatusProvider | undefined): void {
    this.statusProvider = provider;
  }

  /** The report a status query with `id` gets now. */
  statusReport(id: string): StatusReport {
    let d: DaemonStatus = {};
    let providerError: string | undefined;
    try {
      d = this.statusProvider?.() ?? {};
    } catch (e) {
      providerError = (e as Error).message; // a status query must never hurt the daemon
    }
    const nameOf = (daemonId: number): string => this.ring.nameOf?.(daemonId) ?? `#${daemonId}`;
    const current = this.ring.currentConfiguration?.() ?? null;
    const ring =
      d.ring !== undefined
        ? d.ring
        : current
          ? { id: `${current.ringSeq}.${nameOf(current.ringRep)}`, members: current.members.map(nameOf) }
          : null;
    const perDaemon: Record<string, number> = {};
    for (const id of current?.members ?? [this.ring.daemonId]) perDaemon[nameOf(id)] = 0;
    for (const [id, n] of this.core.clientsPerDaemon()) perDaemon[nameOf(id)] = n;
    const views = this.core.snapshot();
    const groups: GroupStatus[] = views.slice(0, STATUS_LIST_LIMIT).map((g) => ({
      name: g.name,
      id: `${g.groupId.time}.${g.groupId.index}.${g.groupId.daemonId}`,
      members: g.members.length,
    }));
    const links = d.links ?? undefined;
    return {
      v: STATUS_PROTOCOL_VERSION,
      id,
      time: new Date().toISOString(),
      daemon: {
        name: this.ring.daemonName,
        id: d.daemon?.id ?? this.ring.daemonId,
        ...(d.daemon?.incarnation !== undefined ? { incarnation: d.daemon.incarnation } : {}),
        ...(d.daemon?.version !== undefined ? { version: d.daemon.version } : {}),
        uptimeSec: Math.round((Date.now() - this.startedAt) / 1000),
        clients: this.addresses(),
      },
      ring,
      ...(links !== undefined ? { links } : { linksNote: d.linksNote ?? 'link status not available' }),
      sessions: {
        local: this.open.size,
        names: [...this.open.keys()].slice(0, STATUS_LIST_LIMIT),
        perDaemon,
      },
      groups,
      groupCount: views.length,
      groupsState: this.core.state,
      counters: {
        ...(d.counters ?? {}),
        ...(this.services?.allCounters() ?? {}),
        sessions: { open: this.open.size, connections: this.all.size, inFlight: this.inFlight, inFlightBytes: this.inFlightBytes, ...this.counters, ...this.statusCounters },
      },
      ...(providerError !== undefined ? { error: `status provider failed: ${providerError}` } : {}),
    };
  }

  /**
   * Starts accepting on the TCP addresses and the Unix socket of the options (with its mode,
   * owner and group). Call close() after a failure: listeners already open stay open.
   * @throws RingcastError SESSION_LISTEN when an address cannot be bound, or the socket's owner,
   *   group or mode cannot be set.
   */
  async listen(): Promise<void> {
    for (const { host, port } of this.options.tcp) {
      await this.listenOn({ host, port }, `${host}:${port}`, (socket) => socket.setNoDelay(true));
    }
    const unixPath = this.options.unixSocketPath;
    if (unixPath !== null) {
      removeStaleSocket(unixPath);
      await withPrivateUmask(() => this.listenOn({ path: unixPath }, unixPath));
      const { unixSocketMode: mode, unixSocketOwner: owner, unixSocketGroup: group } = this.options;
      applySocketAccess(unixPath, { mode, owner, group });
    }
  }

  /**
   * Serves one client on `stream` (any duplex: a socket, or an in-memory pair in tests) that
   * comes from `origin` (the IP auth method judges by it; in-memory streams are local).
   */
  handle(stream: Duplex, origin: ClientOrigin = LOCAL_ORIGIN): void {
    if (this.closed || this.all.size >= this.options.maxSessions) {
      this.counters.rejected++;
      stream.on('error', () => {});
      stream.end(encodeReject('REJECT_QUOTA'));
      if (!this.closed) this.events.sessionRejected?.(quotaRejection(this.options.maxSessions), describeOrigin(origin));
      return;
    }
    const session = new ClientSession(++this.connections, stream, this.hostFor(this.connections, origin));
    this.all.add(session);
    if (this.paused) session.pauseInput();
  }

  /**
   * Stops accepting, closes every session (their KILLs go to the ring, so other daemons see
   * the disconnects) and waits up to closeTimeoutMs for the ring to deliver them.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const stopping = this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve())));
    for (const s of [...this.all]) s.shutdown();
    if (this.dying.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.closeTimeoutMs);
        this.killsDrained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.killsDrained = null;
    this.services?.stop();
    this.unsubscribe();
    await Promise.all(stopping);
    if (this.options.unixSocketPath !== null) removeStaleSocket(this.options.unixSocketPath);
  }

  // ---- sessions -----------------------------------------------------------------------------

  private hostFor(connection: number, origin: ClientOrigin): SessionHost {
    const server = this;
    const names: NameClaimer = this.names.claimerFor(connection);
    return {
      names,
      auth: authPolicyFor(this.options, this.ipAllow, origin),
      maxSessionMessages: this.options.maxSessionMessages,
      maxSessionBytes: this.options.maxSessionBytes,
      maxMessageBytes: this.options.maxMessageBytes,
      maxGroupsPerSession: this.options.maxGroupsPerSession,
      handshakeTimeoutMs: this.options.handshakeTimeoutMs,
      opened(session, membership) {
        server.counters.accepted++;
        server.open.set(session.privateGroup!, session);
        server.feed({ kind: 'sessionOpened', privateGroup: session.privateGroup!, membership });
      },
      submit(request) {
        server.submit(request);
      },
      statusRequest(session, frame) {
        server.answerStatus(session, frame);
      },
      serviceRequest(session, frame) {
        const services = server.services;
        if (services === null || !services.isServiceGroup(frame.groups[0]!)) return false;
        services.clientRequest(session.privateGroup!, frame);
        return true;
      },
      joinRefused() {
        server.counters.joinsRefused++;
      },
      ended(session, end, killed) {
        server.onSessionEnded(session, end, killed, origin);
      },
    };
  }

  private onSessionEnded(session: ClientSession, end: SessionEnd, killed: boolean, origin: ClientOrigin): void {
    this.all.delete(session);
    if (end.kind === 'rejected') this.counters.rejected++;
    if (end.kind === 'badFrame') this.counters.badFrames++;
    if (end.kind === 'tooSlow') this.counters.tooSlow++;
    if (end.kind === 'handshakeTimeout') this.counters.handshakeTimeouts++;
    const group = session.privateGroup;
    if (group !== undefined && this.open.get(group) === session) {
      this.open.delete(group);
      this.feed({ kind: 'sessionClosed', privateGroup: group });
      if (killed) this.dying.add(group);
      else this.names.release(group);
    }
    this.events.sessionEnded?.(group, end);
    const rejection = rejectionOf(end, group);
    if (rejection) this.events.sessionRejected?.(rejection, describeOrigin(origin));
  }

  /** A query on STATUS_GROUP: the report goes back to the session alone, as a RELIABLE message. */
  private answerStatus(session: ClientSession, frame: DecodedMessage): void {
    const request = decodeStatusRequest(frame.data);
    const to = session.privateGroup;
    if (!request || to === undefined) {
      this.statusCounters.statusIgnored++; // to a group no one is in: delivered to no one
      return;
    }
    this.statusCounters.statusRequests++;
    const data = encodeStatusReport(this.statusReport(request.id));
    session.send(encodeMessage({ type: MessageType.RELIABLE_MESS, sender: STATUS_GROUP, groups: [to], hint: hintFor(STATUS_REPLY), data }));
    this.counters.framesDelivered++;
  }

  // ---- the ring -----------------------------------------------------------------------------

  private submit(request: RingRequest): void {
    this.inFlight++; // before: the ring may deliver it back at once
    this.inFlightBytes += request.payload.length;
    this.submitting++;
    try {
      this.ring.submit(request.service, [], request.payload); // throws to the session if refused
    } catch (e) {
      this.inFlight--;
      this.inFlightBytes -= request.payload.length;
      throw e;
    } finally {
      this.submitting--;
    }
    this.counters.submitted++;
    if (!this.paused && (this.inFlight >= this.options.maxInFlight || this.inFlightBytes >= this.options.maxInFlightBytes)) {
      this.paused = true;
      for (const s of this.all) s.pauseInput();
    }
  }

  /** Ring events in ring order; those that come while a submit is on the stack wait for it to unwind. */
  private fromRing(event: RingEvent): void {
    if (this.submitting === 0 && this.ringEvents.length === 0) {
      this.onRingEvent(event);
      return;
    }
    this.ringEvents.push(event);
    if (!this.ringEventsScheduled) {
      this.ringEventsScheduled = true;
      queueMicrotask(() => this.drainRingEvents());
    }
  }

  private drainRingEvents(): void {
    this.ringEventsScheduled = false;
    // Events that come while these are handled (a groups report delivered at once) queue behind.
    for (let e = this.ringEvents.shift(); e; e = this.ringEvents.shift()) this.onRingEvent(e);
  }

  private onRingEvent(event: RingEvent): void {
    if (event.kind === 'configuration') {
      this.services?.configuration(event.change);
      this.feed(event);
    } else this.onDelivery(event.message);
  }

  private onDelivery(m: RingDelivery): void {
    if ((m.service & RING_INTERNAL) !== 0) return;
    const r = decodeEnvelope(m.payload);
    if (r.status === 'foreign') return;
    if (m.origin >>> 0 === this.ring.daemonId >>> 0) this.oneDelivered(m.payload.length);
    if (r.status === 'error') {
      this.counters.malformedEnvelopes++;
      return;
    }
    const services = this.services;
    if (services !== null) {
      // Requests to a service's group reach no client: the host alone handles them.
      if (r.envelope.kind === 'data' && services.deliver(m.origin, m.service, r.envelope)) return;
      if (r.envelope.kind === 'kill') services.sessionGone(r.envelope.member);
    }
    this.feed({ kind: 'deliver', origin: m.origin, envelope: r.envelope });
  }

  private oneDelivered(bytes: number): void {
    if (this.inFlight > 0) this.inFlight--;
    this.inFlightBytes = Math.max(0, this.inFlightBytes - bytes);
    if (this.paused && this.inFlight <= this.options.maxInFlight >> 1 && this.inFlightBytes <= this.options.maxInFlightBytes / 2) {
      this.paused = false;
      for (const s of this.all) s.resumeInput();
    }
  }

  private feed(input: GroupsInput): void {
    this.backlog.push(input);
    if (this.feeding) return;
    this.feeding = true;
    try {
      for (let next = this.backlog.shift(); next; next = this.backlog.shift()) this.carryOut(this.core.step(next));
    } finally {
      this.feeding = false;
    }
  }

  private carryOut(outputs: GroupsOutput[]): void {
    for (const o of outputs) {
      switch (o.kind) {
        case 'deliver': {
          const frame = encodeMessage(o.message);
          for (const to of o.sessions) {
            const s = this.open.get(to);
            if (s) {
              s.send(frame);
              this.counters.framesDelivered++;
            }
          }
          break;
        }
        case 'submit':
          try {
            this.submit({ service: o.service, payload: o.payload });
          } catch (e) {
            // Without its report the exchange cannot complete: nothing sensible is left to do.
            throw new RingcastError('SESSION_RING_REFUSED', `the ring refused this daemon's groups report: ${(e as Error).message}`, { cause: e });
          }
          break;
        case 'sessionReleased':
          if (this.dying.delete(o.privateGroup)) this.names.release(o.privateGroup);
          if (this.dying.size === 0) this.killsDrained?.();
          break;
      }
    }
  }

  /** What the service host needs: this server's ring, sessions, clock and timers. */
  private servicePort(): ServiceHostPort {
    const ring = this.ring;
    return {
      daemonName: ring.daemonName,
      daemonOrder: ring.daemonOrder,
      nameOf: (id) => ring.nameOf?.(id) ?? `#${id}`,
      maxPayload: ring.maxPayload,
      submit: (service, payload) => this.submit({ service, payload }),
      isLocal: (privateGroup) => this.open.has(privateGroup),
      sendTo: (privateGroup, frame) => {
        const s = this.open.get(privateGroup);
        if (!s) return false;
        s.send(frame);
        this.counters.framesDelivered++;
        return true;
      },
      now: () => Date.now(),
      setTimer: (ms, fire) => {
        const t = setTimeout(fire, ms);
        t.unref();
        return { cancel: () => clearTimeout(t) };
      },
      log: (line) => this.events.log?.(line),
    };
  }

  private listenOn(address: net.ListenOptions, label: string, prepare?: (s: net.Socket) => void): Promise<void> {
    const server = net.createServer((socket) => {
      prepare?.(socket);
      this.handle(socket, 'path' in address ? LOCAL_ORIGIN : tcpOrigin(socket));
    });
    this.listeners.push(server);
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => reject(new RingcastError('SESSION_LISTEN', `cannot accept clients on ${label}: ${e.message}`, { cause: e }));
      server.once('error', onError);
      server.listen(address, () => {
        server.off('error', onError);
        server.on('error', () => {}); // later accept errors concern one connection only
        resolve();
      });
    });
  }
}

/** Removes a Unix socket file left behind (only a socket: never another kind of file). */
function removeStaleSocket(path: string): void {
  try {
    if (fs.lstatSync(path).isSocket()) fs.unlinkSync(path);
  } catch {
    /* absent */
  }
}

// One client connection on any duplex stream: the handshake, then frames read and checked
// with FrameReader and handed to the ring, and what the groups layer delivers written back.
// A frame that breaks the rules closes this session only, with no reply (as Spread does); any
// end of an accepted session puts its KILL on the ring, so its groups learn of the disconnect.
// A message to the reserved group #ringcast-status alone is a status query (src/wire/status.ts),
// answered by the server from this daemon's state and never put on the ring.
// A JOIN that would put the session in more than maxGroupsPerSession groups never reaches the
// ring: it comes back as a REJECT_MESS (what Spread sends for a refused join), the session stays.
import type { Duplex } from 'node:stream';
import type { SpreadCodeName } from '../errors';
import { ChunkQueue } from '../wire/client/chunkQueue';
import { MAX_GROUPS_PER_MESSAGE, MessageType, isJoinMessage, isKillMessage, isLeaveMessage } from '../wire/client/constants';
import { rejectMessage } from '../wire/client/daemonMessages';
import { FrameReader } from '../wire/client/frameReader';
import { encodeMessage, type DecodedMessage } from '../wire/client/message';
import { STATUS_GROUP } from '../wire/status';
import { Handshake, type AuthPolicy, type NameClaimer } from './handshake';
import { OutputQueue } from './outputQueue';
import { killRequest, ringRequestFor, type RingRequest } from './ringRequests';

/** Why a session ended. */
export type SessionEnd =
  | { readonly kind: 'rejected'; readonly code: SpreadCodeName; readonly detail: string }
  | { readonly kind: 'disconnected' } // the client's KILL
  | { readonly kind: 'closedByClient' } // the connection ended or failed
  | { readonly kind: 'badFrame'; readonly code: SpreadCodeName; readonly detail: string }
  | { readonly kind: 'tooSlow' } // more than MaxSessionMessages waiting
  | { readonly kind: 'handshakeTimeout' }
  | { readonly kind: 'shutdown' };

/** What a session needs from its server. */
export interface SessionHost {
  readonly names: NameClaimer;
  readonly auth: AuthPolicy;
  readonly maxSessionMessages: number;
  readonly maxSessionBytes: number;
  readonly maxMessageBytes: number;
  readonly maxGroupsPerSession: number;
  readonly handshakeTimeoutMs: number;
  /** The handshake completed. */
  opened(session: ClientSession, membership: boolean): void;
  /** A message to STATUS_GROUP alone: answered by the server, never put on the ring. */
  statusRequest(session: ClientSession, frame: DecodedMessage): void;
  /** Puts a request on the ring. @throws when the ring refuses it. */
  submit(request: RingRequest): void;
  /** A JOIN beyond maxGroupsPerSession was sent back (for counters). */
  joinRefused(session: ClientSession, group: string): void;
  /** A message to one group that may be a service's: true when the service host took it.
   *  @throws when the ring refuses it. */
  serviceRequest?(session: ClientSession, frame: DecodedMessage): boolean;
  /** The session is over; `killed`: its KILL went to the ring (the name is freed once it is delivered). */
  ended(session: ClientSession, end: SessionEnd, killed: boolean): void;
}

/** A closed session's stream is destroyed if it has not finished closing by then. */
const LINGER_MS = 2000;

export class ClientSession {
  private phase: 'handshake' | 'open' | 'over' = 'handshake';
  private readonly handshake: Handshake;
  private readonly pending = new ChunkQueue();
  private reader: FrameReader | undefined;
  private readonly output: OutputQueue;
  private timer: NodeJS.Timeout | undefined;
  private group: string | undefined;
  /** Input paused by the server (the ring is behind): frames already read wait too. */
  private inputPaused = false;
  /** The client finished sending while frames still waited: end once they are handled. */
  private endAfterInput = false;
  /** Groups this session is in once its requests on the ring are through (they keep their order). */
  private readonly joined = new Set<string>();

  constructor(
    readonly id: number,
    private readonly stream: Duplex,
    private readonly host: SessionHost,
  ) {
    this.handshake = new Handshake(host.auth, host.names);
    this.output = new OutputQueue(stream, host.maxSessionMessages, () => this.end({ kind: 'tooSlow' }, 'destroy'), host.maxSessionBytes);
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.onStreamEnd('end'));
    stream.on('close', () => this.onStreamEnd('destroy'));
    stream.on('error', () => this.end({ kind: 'closedByClient' }, 'destroy'));
    this.timer = setTimeout(() => this.end({ kind: 'handshakeTimeout' }, 'destroy'), host.handshakeTimeoutMs);
    this.timer.unref();
  }

  /** The private group, once the handshake gave it. */
  get privateGroup(): string | undefined {
    return this.group;
  }

  get isOpen(): boolean {
    return this.phase === 'open';
  }

  /** Frames waiting for a slow client. */
  get backlog(): number {
    return this.output.backlog;
  }

  /** Groups the session has joined (and not left). */
  get groupCount(): number {
    return this.joined.size;
  }

  /** Writes a frame to the client (dropped once the session is over). */
  send(frame: Buffer): void {
    if (this.phase === 'open') this.output.write(frame);
  }

  pauseInput(): void {
    this.inputPaused = true;
    this.stream.pause();
  }

  resumeInput(): void {
    if (this.phase === 'over' || !this.inputPaused) return;
    this.inputPaused = false;
    this.stream.resume();
    this.readFrames();
  }

  /** The daemon closes the session (its KILL goes to the ring). */
  shutdown(): void {
    this.end({ kind: 'shutdown' }, 'destroy');
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'over') return;
    if (this.phase === 'handshake') {
      this.pending.push(chunk);
      const progress = this.handshake.advance(this.pending);
      if (progress.status === 'pending') {
        if (progress.reply) this.stream.write(progress.reply);
        return;
      }
      if (progress.status === 'rejected') {
        this.stream.write(progress.reply);
        this.end({ kind: 'rejected', code: progress.code, detail: progress.detail }, 'end');
        return;
      }
      this.stream.write(progress.reply);
      this.phase = 'open';
      this.group = progress.privateGroup;
      clearTimeout(this.timer);
      this.reader = new FrameReader({
        direction: 'toDaemon',
        privateGroup: progress.privateGroup,
        limits: { maxGroups: MAX_GROUPS_PER_MESSAGE, maxBodyBytes: this.host.maxMessageBytes },
      });
      this.host.opened(this, progress.membership);
      if (this.pending.length === 0 || this.phase !== 'open') return;
      chunk = this.pending.take(this.pending.length);
    }
    this.reader!.push(chunk);
    this.readFrames();
  }

  /** The client finished sending (or the connection closed): frames it sent before still count. */
  private onStreamEnd(close: 'end' | 'destroy'): void {
    if (this.phase === 'open' && this.inputPaused && (this.reader?.buffered ?? 0) > 0) this.endAfterInput = true;
    else this.end({ kind: 'closedByClient' }, close);
  }

  private readFrames(): void {
    const reader = this.reader;
    if (!reader) return;
    while (this.phase === 'open' && !this.inputPaused) {
      const r = reader.next();
      if (r.status === 'incomplete') {
        if (this.endAfterInput) this.end({ kind: 'closedByClient' }, 'end');
        return;
      }
      if (r.status === 'error') {
        this.end({ kind: 'badFrame', code: r.code === 'UNKNOWN' ? 'ILLEGAL_MESSAGE' : r.code, detail: `${r.reason}: ${r.detail}` }, 'end');
        return;
      }
      this.onFrame(r.value);
    }
  }

  private onFrame(frame: DecodedMessage): void {
    const group = this.group!;
    if (isKillMessage(frame.type)) {
      this.end({ kind: 'disconnected' }, 'end');
      return;
    }
    if (frame.groups.length === 1 && frame.groups[0] === STATUS_GROUP && (frame.type & MessageType.REGULAR_MESS) !== 0) {
      this.host.statusRequest(this, frame);
      return;
    }
    if (isJoinMessage(frame.type) && !this.mayJoin(frame)) return;
    let request: RingRequest;
    try {
      if (frame.groups.length === 1 && (frame.type & MessageType.REGULAR_MESS) !== 0 && this.host.serviceRequest?.(this, frame)) return;
      request = ringRequestFor(frame, group);
      this.host.submit(request);
      if (isJoinMessage(frame.type)) this.joined.add(frame.groups[0]!);
      else if (isLeaveMessage(frame.type)) this.joined.delete(frame.groups[0]!);
    } catch (e) {
      const code = (e as { code?: string }).code;
      this.end({ kind: 'badFrame', code: code === 'ILLEGAL_GROUP' ? 'ILLEGAL_GROUP' : 'MESSAGE_TOO_LONG', detail: (e as Error).message }, 'end');
    }
  }

  /** Whether a JOIN is within maxGroupsPerSession; if not, it goes back to the client as a REJECT_MESS. */
  private mayJoin(frame: DecodedMessage): boolean {
    const group = frame.groups[0]!;
    if (this.joined.has(group) || this.joined.size < this.host.maxGroupsPerSession) return true;
    this.send(encodeMessage(rejectMessage(frame, MessageType.CAUSED_BY_JOIN)));
    this.host.joinRefused(this, group);
    return false;
  }

  /**
   * Ends the session once: an accepted session's KILL goes to the ring; the stream is ended
   * (what it holds still goes out, as after Spread's close) or destroyed.
   */
  private end(how: SessionEnd, close: 'end' | 'destroy'): void {
    if (this.phase === 'over') return;
    const wasOpen = this.phase === 'open';
    this.phase = 'over';
    clearTimeout(this.timer);
    this.output.clear();
    let killed = false;
    if (wasOpen) {
      try {
        this.host.submit(killRequest(this.group!));
        killed = true;
      } catch {
        killed = false; // the ring refused even a KILL: the name is freed at once
      }
    } else {
      const claimed = this.handshake.claimed;
      if (claimed !== undefined) this.host.names.release(claimed);
    }
    if (close === 'destroy' || this.stream.destroyed) {
      this.stream.destroy();
    } else {
      this.stream.end();
      const linger = setTimeout(() => this.stream.destroy(), LINGER_MS);
      linger.unref();
      this.stream.once('close', () => clearTimeout(linger));
    }
    this.host.ended(this, how, killed);
  }
}

// A connected client session: send (join, leave, multicast, disconnect) and receive (events,
// async iterators). Owns the stream after the handshake.
//
// Receiving: every message goes to the event listeners ('message', 'membership', 'reject') and
// to every open iterator. Messages that arrive while there is neither wait in a backlog that
// the first consumer gets, so nothing is lost between connect() and the first `for await`.
// When a backlog or an iterator holds `receiveBuffer` unread messages, reading from the daemon
// pauses (TCP backpressure, as an unread Spread mailbox) and resumes at half that.
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import type { Duplex } from 'node:stream';
import { SpreadError, type RingcastError } from '../errors';
import { MAX_GROUPS_PER_MESSAGE } from '../wire/client/constants';
import type { SpreadVersion } from '../wire/client/connect';
import { faultToError } from '../wire/client/decodeResult';
import { FrameReader } from '../wire/client/frameReader';
import type { FrameLimits } from '../wire/client/frameRules';
import type { SessionAccept } from '../wire/client/handshakeReplies';
import { splitPrivateGroup } from '../wire/client/names';
import { FrameWriter } from './frameWriter';
import { encodeJoin, encodeKill, encodeLeave, encodeMulticast, type MessageData, type MulticastOptions } from './outgoing';
import { toReceivedMessage, type DataMessage, type MembershipMessage, type ReceivedMessage, type RejectedMessage } from './received';
import { ReceiveQueue } from './receiveQueue';
import { ServiceClient } from './serviceClient';
import { CheckpointService } from './checkpoints';
import { EventService } from './events';
import { HaService } from '../services/ha/group';
import { CHECKPOINT_GROUP } from '../services/checkpoint/protocol';
import { EVENTS_GROUP } from '../services/events/protocol';

export interface SessionEvents {
  message: (message: DataMessage) => void;
  membership: (message: MembershipMessage) => void;
  reject: (message: RejectedMessage) => void;
  /** The session ended: `error` undefined after disconnect(), else why (e.g. CONNECTION_CLOSED). */
  close: (error: RingcastError | undefined) => void;
}

export interface SessionOptions {
  /** The daemon address as given to connect(), for messages and `session.daemon`. */
  readonly daemon: string;
  /** What this session may send (checked before sending). */
  readonly sendLimits: FrameLimits;
  /** Unsent bytes allowed before multicast() makes its caller wait. */
  readonly maxBufferedBytes: number;
  /** Unread messages (per iterator, or in the backlog) at which reading pauses. */
  readonly receiveBuffer: number;
  /** How long disconnect() waits for the daemon to close before dropping the connection. */
  readonly disconnectTimeoutMs: number;
}

// What the client accepts from the daemon: sane lengths only; ringcast daemons may be
// configured past Spread's 144 kB, so allow far more.
const RECEIVE_LIMITS: FrameLimits = { maxGroups: MAX_GROUPS_PER_MESSAGE, maxBodyBytes: 256 * 1024 * 1024 };

// Frames go out in this machine's byte order, as Spread's library writes them.
const LITTLE_ENDIAN = os.endianness() === 'LE';

const CONSUMER_EVENTS = ['message', 'membership', 'reject'] as const;

export interface Session {
  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): this;
  once<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): this;
  off<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): this;
  emit<E extends keyof SessionEvents>(event: E, ...args: Parameters<SessionEvents[E]>): boolean;
}

export class Session extends EventEmitter implements AsyncIterable<ReceivedMessage> {
  /** This session's private group, `#name#daemon`: the address other clients reply to. */
  readonly privateGroup: string;
  /** The private name (given, or made up by the daemon). */
  readonly privateName: string;
  /** The daemon's name, from the private group. */
  readonly daemonName: string;
  readonly daemonVersion: SpreadVersion;
  /** The daemon address this session was opened with. */
  readonly daemon: string;
  /** Settles (never rejects) when the session has ended: undefined after disconnect(), else the error that ended it. */
  readonly closed: Promise<RingcastError | undefined>;

  private readonly reader = new FrameReader({ direction: 'toClient', limits: RECEIVE_LIMITS });
  private readonly writer: FrameWriter;
  private readonly iterators = new Set<ReceiveQueue<ReceivedMessage>>();
  private backlog: ReceivedMessage[] = [];
  /** Service clients by their engine's group: its replies are theirs, not the application's. */
  private readonly services = new Map<string, ServiceClient>();
  /** The library's own watchers (e.g. HA groups): they see messages without consuming them. */
  private readonly observers = new Set<(message: ReceivedMessage) => void>();
  private checkpointService: CheckpointService | undefined;
  private eventService: EventService | undefined;
  private haService: HaService | undefined;
  private paused = false;
  private disconnecting = false;
  private ended = false;
  private endError: RingcastError | undefined;
  private resolveClosed!: (error: RingcastError | undefined) => void;

  constructor(
    private readonly stream: Duplex,
    accept: SessionAccept,
    leftover: Buffer,
    private readonly options: SessionOptions,
  ) {
    super();
    this.privateGroup = accept.privateGroup;
    const parts = splitPrivateGroup(accept.privateGroup);
    this.privateName = parts?.privateName ?? '';
    this.daemonName = parts?.daemonName ?? '';
    this.daemonVersion = accept.daemonVersion;
    this.daemon = options.daemon;
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.writer = new FrameWriter(stream, options.maxBufferedBytes);

    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      // The first listener takes over the backlog, after it is attached.
      if ((CONSUMER_EVENTS as readonly (string | symbol)[]).includes(event) && this.backlog.length > 0) {
        queueMicrotask(() => this.flushBacklogToListeners());
      }
    });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('error', (err: Error) => {
      this.endError ??= this.disconnecting ? undefined : new SpreadError('CONNECTION_CLOSED', `connection to ${this.daemon} failed: ${err.message}`, { cause: err });
    });
    stream.on('close', () => this.finish());
    // Frames that came with the accept go to the backlog like any unconsumed message.
    if (leftover.length > 0) this.onData(leftover);
    if (!this.ended && !this.paused) stream.resume();
  }

  /** The request/reply client of the service engine whose reserved group is `group` (one per group). */
  service(group: string): ServiceClient {
    let client = this.services.get(group);
    if (!client) this.services.set(group, (client = new ServiceClient(this, group)));
    return client;
  }

  /** The checkpoint service (SA Forum AIS checkpoints) through this session's daemon. */
  get checkpoints(): CheckpointService {
    return (this.checkpointService ??= new CheckpointService(this.service(CHECKPOINT_GROUP)));
  }

  /** The fault-event service (FTB-style publish/subscribe) through this session's daemon. */
  get events(): EventService {
    return (this.eventService ??= new EventService(this.service(EVENTS_GROUP), this));
  }

  /** Active/standby groups decided from the agreed group views. */
  get ha(): HaService {
    return (this.haService ??= new HaService(this));
  }

  /**
   * Sees every message the application will get, without being a consumer: unlike a listener,
   * an observer does not stop the session keeping its backlog for the application's first
   * listener or iterator. @returns the function that stops it.
   */
  observe(observer: (message: ReceivedMessage) => void): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** Whether the session has ended (closed promise settled). */
  get isClosed(): boolean {
    return this.ended;
  }

  /**
   * Joins a group; the daemon answers with a membership message (if asked for at connect).
   * Resolves when the request is on its way.
   * @throws SpreadError ILLEGAL_GROUP (name not 1..31 characters in '$'..'~'), CONNECTION_CLOSED.
   */
  join(group: string): Promise<void> {
    return this.send(() => encodeJoin(this.privateGroup, group, LITTLE_ENDIAN));
  }

  /** Leaves a group; the daemon answers with a self-leave message. @throws as join. */
  leave(group: string): Promise<void> {
    return this.send(() => encodeLeave(this.privateGroup, group, LITTLE_ENDIAN));
  }

  /**
   * Sends `data` to one or more groups (members or not: groups are open). Resolves when the
   * frame is written or buffered under the session's bound — await it to get backpressure.
   * @throws SpreadError ILLEGAL_GROUP, ILLEGAL_SERVICE, ILLEGAL_MESSAGE, MESSAGE_TOO_LONG
   *   (checked before sending), CONNECTION_CLOSED.
   */
  multicast(groups: string | readonly string[], data: MessageData, options: MulticastOptions = {}): Promise<void> {
    return this.send(() => encodeMulticast(this.privateGroup, groups, data, options, LITTLE_ENDIAN, this.options.sendLimits));
  }

  /**
   * Ends the session as Spread's SP_disconnect does (a KILL request, then closing the
   * connection). Resolves when the connection is closed; harmless if already closed.
   */
  async disconnect(): Promise<void> {
    if (!this.ended && !this.disconnecting) {
      this.disconnecting = true;
      try {
        this.stream.write(encodeKill(this.privateGroup, LITTLE_ENDIAN));
      } catch {
        // The stream may be gone already; closing is all that is left to do.
      }
      this.stream.end();
      const timer = setTimeout(() => this.stream.destroy(), this.options.disconnectTimeoutMs);
      timer.unref?.();
      void this.closed.then(() => clearTimeout(timer));
    }
    await this.closed;
  }

  /**
   * An async iterator over everything received from now on (plus the backlog, if it is the
   * first consumer). Ends after disconnect(); throws the error that ended the session otherwise.
   */
  messages(): AsyncIterableIterator<ReceivedMessage> {
    const queue = new ReceiveQueue<ReceivedMessage>(
      (q) => {
        this.iterators.delete(q);
        this.updateFlow();
      },
      () => this.updateFlow(),
    );
    for (const m of this.backlog) queue.push(m);
    this.backlog = [];
    if (this.ended) queue.end(this.endError);
    else this.iterators.add(queue);
    this.updateFlow();
    return queue;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ReceivedMessage> {
    return this.messages();
  }

  private send(build: () => Buffer): Promise<void> {
    if (this.ended || this.disconnecting) {
      return Promise.reject(this.endError ?? new SpreadError('CONNECTION_CLOSED', `session ${this.privateGroup} is closed`));
    }
    let frame: Buffer;
    try {
      frame = build();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.write(frame);
  }

  private onData(chunk: Buffer): void {
    if (this.ended) return;
    this.reader.push(chunk);
    for (;;) {
      const result = this.reader.next();
      if (result.status === 'incomplete') return;
      if (result.status === 'error') return this.abort(faultToError(result));
      const message = toReceivedMessage(result.value);
      if ('status' in message) return this.abort(faultToError(message));
      this.deliver(message);
      if (this.ended) return;
    }
  }

  private hasListeners(): boolean {
    return this.listenerCount('message') + this.listenerCount('membership') + this.listenerCount('reject') > 0;
  }

  private deliver(message: ReceivedMessage): void {
    if (message.type === 'message' && this.services.size > 0) {
      const service = this.services.get(message.sender);
      if (service && message.groups.length === 1 && message.groups[0] === this.privateGroup) return service.handle(message);
    }
    if (this.observers.size > 0) this.notifyObservers(message);
    if (this.iterators.size === 0 && !this.hasListeners()) {
      this.backlog.push(message);
      this.updateFlow();
      return;
    }
    for (const queue of this.iterators) queue.push(message);
    this.emitSafely(message);
    if (this.iterators.size > 0) this.updateFlow();
  }

  // A watcher that throws must not break the reader's loop: rethrow outside it.
  private notifyObservers(message: ReceivedMessage): void {
    for (const observe of this.observers) {
      try {
        observe(message);
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }

  private flushBacklogToListeners(): void {
    if (!this.hasListeners()) return;
    const backlog = this.backlog;
    this.backlog = [];
    for (const message of backlog) this.emitSafely(message);
    this.updateFlow();
  }

  // A listener that throws must not break the reader's loop: rethrow outside it.
  private emitSafely(message: ReceivedMessage): void {
    try {
      switch (message.type) {
        case 'message':
          this.emit('message', message);
          break;
        case 'membership':
          this.emit('membership', message);
          break;
        case 'reject':
          this.emit('reject', message);
          break;
      }
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
  }

  private updateFlow(): void {
    if (this.ended) return;
    let most = this.backlog.length;
    for (const queue of this.iterators) most = Math.max(most, queue.length);
    const limit = this.options.receiveBuffer;
    if (!this.paused && most >= limit) {
      this.paused = true;
      this.stream.pause();
    } else if (this.paused && most <= limit / 2) {
      this.paused = false;
      this.stream.resume();
    }
  }

  /** A protocol fault: the stream can no longer be trusted, so close it. */
  private abort(error: RingcastError): void {
    this.endError ??= error;
    this.stream.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.disconnecting) {
      this.endError ??= new SpreadError('CONNECTION_CLOSED', `daemon ${this.daemon} closed session ${this.privateGroup}`);
    }
    const error = this.endError;
    this.writer.fail(error ?? new SpreadError('CONNECTION_CLOSED', `session ${this.privateGroup} is closed`));
    for (const queue of [...this.iterators]) queue.end(error);
    this.iterators.clear();
    this.emit('close', error);
    this.resolveClosed(error);
  }
}

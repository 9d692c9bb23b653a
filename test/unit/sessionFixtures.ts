// Test stand for the session server: an in-memory duplex pair with real backpressure, a fake
// ring (RingPort) that delivers every submit back to every daemon in one order, and a raw
// client that speaks the Spread protocol byte by byte with the client codecs.
import { strict as assert } from 'node:assert';
import { Duplex } from 'node:stream';
import type { ConfigurationChange } from '../../src/core/membership/types';
import type { ServiceCode } from '../../src/core/service';
import type { RingListener, RingPort } from '../../src/session/ringPort';
import { SessionServer, type SessionServerOptions } from '../../src/session';
import {
  HEADER_SIZE,
  decodeAccept,
  decodeAuthList,
  decodeHeader,
  decodeMessage,
  encodeAuthChoice,
  encodeConnect,
  encodeMessage,
  frameBodyLength,
  hintFor,
  type DecodedMessage,
  type SpreadVersion,
} from '../../src/wire/client';

// ---- an in-memory connection ----

class PairEnd extends Duplex {
  peer!: PairEnd;
  /** The peer's write waiting for this end to be read. */
  waitingWriter: (() => void) | null = null;

  constructor(highWaterMark: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: highWaterMark, writableHighWaterMark: highWaterMark });
  }

  override _read(): void {
    const w = this.waitingWriter;
    this.waitingWriter = null;
    w?.();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (this.peer.destroyed || this.peer.readableEnded) return cb();
    if (this.peer.push(chunk)) cb();
    else this.peer.waitingWriter = () => cb();
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    cb();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // As a closed socket: the peer reads what was sent, then its end.
    if (!this.peer.destroyed && !this.peer.readableEnded) this.peer.push(null);
    cb(err);
  }
}

/** Two connected ends: what one writes the other reads, and a writer waits for a slow reader. */
export function memoryPair(highWaterMark = 16 * 1024): [Duplex, Duplex] {
  const a = new PairEnd(highWaterMark);
  const b = new PairEnd(highWaterMark);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

// ---- a fake ring ----

export interface FakeDaemon {
  readonly id: number;
  readonly name: string;
}

/** Several daemons' RingPorts on one pretend ring: deliveries in submit order, asynchronously. */
export class FakeRing {
  readonly ports = new Map<number, FakePort>();
  readonly names: ReadonlyMap<number, string>;
  private readonly queue: Array<{ origin: number; service: number; payload: Buffer }> = [];
  private scheduled = false;
  /** While true, submitted messages wait (the ring is "slow"). */
  held = false;
  delivered = 0;

  constructor(daemons: readonly FakeDaemon[], readonly maxPayload = 4 * 1024 * 1024) {
    const order = daemons.map((d) => d.id);
    for (const d of daemons) this.ports.set(d.id, new FakePort(this, d.id, d.name, order));
    this.names = new Map(daemons.map((d) => [d.id, d.name]));
  }

  port(id: number): FakePort {
    return this.ports.get(id)!;
  }

  enqueue(origin: number, service: number, payload: Buffer): void {
    if (payload.length > this.maxPayload) throw new Error(`payload of ${payload.length} bytes`);
    this.queue.push({ origin, service, payload });
    this.schedule();
  }

  /** Configuration change at these daemons (after what is queued has been delivered). */
  configure(change: ConfigurationChange, daemons: readonly number[] = [...this.ports.keys()]): void {
    this.flush();
    for (const d of daemons) this.port(d).current = change.kind === 'regular' ? change : this.port(d).current;
    for (const d of daemons) for (const l of this.port(d).listeners) l.configuration(change);
  }

  release(): void {
    this.held = false;
    this.schedule();
  }

  get queued(): number {
    return this.queue.length;
  }

  flush(): void {
    if (this.held) return;
    for (let m = this.queue.shift(); m; m = this.held ? undefined : this.queue.shift()) {
      this.delivered++;
      for (const p of this.ports.values()) for (const l of [...p.listeners]) l.deliver(m);
    }
  }

  private schedule(): void {
    if (this.scheduled || this.held) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }
}

export class FakePort implements RingPort {
  readonly listeners = new Set<RingListener>();
  current: ConfigurationChange | null = null;
  readonly maxPayload: number;

  constructor(
    private readonly ring: FakeRing,
    readonly daemonId: number,
    readonly daemonName: string,
    readonly daemonOrder: readonly number[],
  ) {
    this.maxPayload = ring.maxPayload;
  }

  nameOf(daemonId: number): string {
    return this.ring.names.get(daemonId) ?? `#${daemonId}`;
  }

  submit(service: ServiceCode, _groups: readonly string[], payload: Buffer): void {
    this.ring.enqueue(this.daemonId, service, payload);
  }

  subscribe(listener: RingListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  currentConfiguration(): ConfigurationChange | null {
    return this.current;
  }
}

export function regularOf(ringSeq: number, ringRep: number, members: number[]): ConfigurationChange {
  return { kind: 'regular', ringSeq, ringRep, members, incarnations: members.map(() => 1) };
}

/** One daemon with a session server on a fake ring, already in a regular configuration. */
export function singleDaemon(
  daemon: FakeDaemon,
  ringSeq: number,
  options: Partial<SessionServerOptions> = {},
): { ring: FakeRing; server: SessionServer; connect: () => RawClient } {
  const ring = new FakeRing([daemon]);
  ring.port(daemon.id).current = regularOf(ringSeq, daemon.id, [daemon.id]);
  const server = new SessionServer(ring.port(daemon.id), options);
  return { ring, server, connect: () => connectTo(server) };
}

export function connectTo(server: SessionServer, highWaterMark?: number): RawClient {
  const [client, daemonSide] = memoryPair(highWaterMark);
  server.handle(daemonSide);
  return new RawClient(client);
}

// ---- a raw client ----

export class RawClient {
  private buf = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  ended = false;
  privateGroup = '';
  /** Every byte received, in order. */
  readonly received: Buffer[] = [];

  constructor(readonly stream: Duplex) {
    stream.on('data', (c: Buffer) => {
      this.received.push(c);
      this.buf = Buffer.concat([this.buf, c]);
      this.notify();
    });
    stream.on('end', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('close', () => {
      this.ended = true;
      this.notify();
    });
    stream.on('error', () => {});
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private async waitFor(test: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (have ${this.buf.length} bytes, ended ${this.ended})`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 20);
      });
    }
  }

  /** Bytes received and not yet read. */
  get buffered(): Buffer {
    return this.buf;
  }

  /** Exactly n bytes. @throws when the connection ends first. */
  async read(n: number): Promise<Buffer> {
    await this.waitFor(() => this.buf.length >= n || this.ended, `${n} bytes`);
    if (this.buf.length < n) throw new Error(`connection ended with ${this.buf.length} of ${n} bytes`);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  write(bytes: Buffer): void {
    this.stream.write(bytes);
  }

  /** Resolves once the daemon has closed the connection; returns what came before. */
  async closed(timeoutMs = 2000): Promise<Buffer> {
    await this.waitFor(() => this.ended, 'the end of the connection', timeoutMs);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }

  /** The whole handshake; returns the private group. */
  async connect(name: string, opts: { membership?: boolean; version?: SpreadVersion; auth?: string[] } = {}): Promise<string> {
    this.write(encodeConnect({ name, membership: opts.membership ?? true, version: opts.version }));
    const list = decodeAuthList(await this.read(1).then(async (len) => Buffer.concat([len, await this.read(len[0]! & 0x80 ? 0 : len[0]!)])));
    assert.equal(list.status, 'ok', `auth list: ${JSON.stringify(list)}`);
    this.write(encodeAuthChoice(opts.auth ?? ['NULL']));
    const head = await this.read(5);
    const accept = decodeAccept(Buffer.concat([head, await this.read(head[4]!)]));
    assert.equal(accept.status, 'ok', JSON.stringify(accept));
    this.privateGroup = (accept as { value: { privateGroup: string } }).value.privateGroup;
    return this.privateGroup;
  }

  send(type: number, groups: string[], data: Buffer | string = Buffer.alloc(0), messType = 0): void {
    this.write(
      encodeMessage({ type, sender: this.privateGroup, groups, hint: hintFor(messType), data: typeof data === 'string' ? Buffer.from(data) : data }),
    );
  }

  /** The next whole frame, raw. */
  async frameBytes(): Promise<Buffer> {
    const head = await this.read(HEADER_SIZE);
    const h = decodeHeader(head);
    assert.equal(h.status, 'ok');
    const rest = await this.read(frameBodyLength((h as { value: Parameters<typeof frameBodyLength>[0] }).value, 'toClient'));
    return Buffer.concat([head, rest]);
  }

  async frame(): Promise<DecodedMessage> {
    const r = decodeMessage(await this.frameBytes(), 0, { direction: 'toClient' });
    assert.equal(r.status, 'ok');
    return (r as { value: DecodedMessage }).value;
  }

  /** Asserts nothing more arrives within `ms`. */
  async quiet(ms = 50): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    assert.equal(this.buf.length, 0, `unexpected bytes: ${this.buf.toString('hex')}`);
  }

  close(): void {
    this.stream.end();
  }

  /** Stops reading (a client that does not call SP_receive). */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves when `test` holds (polling), or fails after timeoutMs. */
export async function until(test: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

// The events client (src/client/events.ts) over a loopback that feeds its requests straight to
// an EventsEngine (as every daemon would, in agreed order) and hands back replies and pushes
// like a ServiceClient; and the `ringcast events` formatting.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import msgpack from 'msgpack-lite';
import { connect, type Session } from '../../src/client';
import { EventService, EventClientError, type EventRecord, type EventTransport, type Subscription } from '../../src/client/events';
import { ServiceError, type ServiceReply, type ServiceRequestOptions } from '../../src/client/serviceClient';
import type { ServiceConfiguration } from '../../src/services/engine';
import { EventsEngine } from '../../src/services/events/eventsEngine';
import { FtbCode } from '../../src/services/events/ftb';
import { formatEventLine, parseDaemonList, severityColour, useColour } from '../../src/cli/events';
import { buildProgram } from '../../src/cli/main';
import { EVENTS_GROUP } from '../../src/services/events/protocol';
import { SessionServer } from '../../src/session';
import { FakeRing as FakeSessionRing, regularOf, until } from './sessionFixtures';

const conf = (members: string[], seq = 1): ServiceConfiguration => ({ kind: 'regular', ringId: `${seq}.${members[0]}`, ringSeq: seq, members, joined: members, left: [] });

/** The ring: one engine (all daemons compute the same), and the sessions connected to it. */
class FakeRing {
  readonly engine = new EventsEngine({ retentionMs: 1000 });
  readonly sessions = new Map<string, Loopback>();
  time = 1_000;
  readonly sent: Array<{ op: unknown; safe: boolean }> = [];
  constructor(members = ['d1', 'd2', 'd3']) {
    this.engine.step({ kind: 'configuration', configuration: conf(members) });
  }
  /** A session at `daemon` with its EventService. */
  open(name: string, daemon: string): { loop: Loopback; events: EventService } {
    const loop = new Loopback(this, `#${name}#${daemon}`);
    this.sessions.set(loop.group, loop);
    return { loop, events: new EventService(loop, loop) };
  }
  /** A session's end as the daemons see it (KILL delivered, or its daemon gone). */
  gone(loop: Loopback): void {
    loop.close();
    this.sessions.delete(loop.group);
    this.engine.step({ kind: 'sessionGone', privateGroup: loop.group });
  }
  submit(from: string, body: Record<string, unknown>, safe: boolean): void {
    this.time += 1;
    // Through msgpack as on the wire, so the client sends only what encodes.
    const decoded = msgpack.decode(msgpack.encode(body)) as Record<string, unknown>;
    this.sent.push({ op: body.op, safe });
    const origin = from.slice(from.lastIndexOf('#') + 1);
    const outputs = this.engine.step({ kind: 'request', request: { from, origin, time: this.time, safe, body: decoded } });
    for (const o of outputs) if (o.kind === 'reply') this.sessions.get(o.to)?.receive(msgpack.decode(msgpack.encode(o.body)) as ServiceReply);
  }
}

/** A ServiceClient stand-in for one session (and the session's `closed`). */
class Loopback implements EventTransport {
  private nextId = 1;
  private readonly pending = new Map<number, { op: string; resolve: (r: ServiceReply) => void; reject: (e: Error) => void }>();
  private readonly handlers = new Set<(body: ServiceReply) => void>();
  private resolveClosed!: (e: undefined) => void;
  readonly closed = new Promise<undefined>((r) => (this.resolveClosed = r));
  private isOpen = true;
  /** Called with each reply before its request resolves (to put a push in between). */
  beforeReply?: (reply: ServiceReply, op: string) => void;

  constructor(
    private readonly ring: FakeRing,
    readonly group: string,
  ) {}

  request(op: string, args: Record<string, unknown> = {}, options: ServiceRequestOptions = {}): Promise<ServiceReply> {
    if (!this.isOpen) return Promise.reject(new Error('session closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { op, resolve, reject });
      this.ring.submit(this.group, { ...args, op, id }, options.safe ?? false);
    });
  }
  onPush(handler: (body: ServiceReply) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
  receive(body: ServiceReply): void {
    if (typeof body.id !== 'number') {
      for (const h of this.handlers) h(body);
      return;
    }
    const p = this.pending.get(body.id);
    if (!p) return;
    this.pending.delete(body.id);
    this.beforeReply?.(body, p.op);
    if (body.ok === true) p.resolve(body);
    else p.reject(new ServiceError(String(body.error), Number(body.code), String(body.message), p.op));
  }
  close(): void {
    this.isOpen = false;
    this.resolveClosed(undefined);
  }
}

async function rejectsWith(p: Promise<unknown>, error: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ServiceError, String(e));
    assert.equal(e.error, error);
    assert.equal(e.errorCode, FtbCode[error as keyof typeof FtbCode]);
    return true;
  });
}

async function take(sub: Subscription, n: number): Promise<EventRecord[]> {
  const out: EventRecord[] = [];
  for await (const e of sub) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

describe('events client', () => {
  it('connects, declares, publishes and delivers to a for-await subscriber', async () => {
    const ring = new FakeRing();
    const { events: ea } = ring.open('alice', 'd1');
    const { events: eb } = ring.open('bob', 'd2');
    const alice = await ea.connect({ clientName: 'alice', space: 'app.mpi.rank', jobId: 'j1', declare: { RANK_DEAD: 'ERROR', RANK_OK: 'INFO' } });
    const bob = await eb.connect({ clientName: 'bob', space: 'app.mon.bob' });
    const sub = await bob.subscribe('event_space=app.mpi.rank , severity=error');
    assert.equal(sub.filter, 'event_space=app.mpi.rank,severity=ERROR');
    assert.equal(sub.depth, 1);
    const h1 = await alice.publish('RANK_DEAD', { payload: 'rank 3' });
    await alice.publish('RANK_OK');
    await alice.publish('RANK_DEAD', { payload: { rank: 4 }, eventType: 'response' });
    assert.ok(h1.startsWith(alice.handle));
    const got = await take(sub, 2);
    assert.deepEqual(got.map((e) => [e.name, e.seq, e.payload, e.eventType, e.client, e.jobId, e.pid]), [
      ['RANK_DEAD', 1, 'rank 3', 'normal', 'alice', 'j1', process.pid],
      ['RANK_DEAD', 3, { rank: 4 }, 'response', 'alice', 'j1', process.pid],
    ]);
    assert.equal(got[0]!.handle, h1);
  });

  it('delivers bytes payloads as bytes', async () => {
    const ring = new FakeRing();
    const { events } = ring.open('alice', 'd1');
    const alice = await events.connect({ clientName: 'alice', space: 'a.b.c', declare: [{ name: 'X', severity: 'INFO' }] });
    const sub = await alice.subscribe('all');
    await alice.publish('X', { payload: new Uint8Array([1, 2, 3]) });
    const e = sub.poll()!;
    assert.ok(Buffer.isBuffer(e.payload));
    assert.deepEqual([...(e.payload as Buffer)], [1, 2, 3]);
  });

  it('rejects with ServiceError carrying the FTB error name and code', async () => {
    const ring = new FakeRing();
    const { events } = ring.open('alice', 'd1');
    await rejectsWith(events.connect({ clientName: 'alice', space: 'not-a-space' }), 'FTB_ERR_EVENTSPACE_FORMAT');
    await rejectsWith(events.connect({ clientName: 'alice', space: 'a.b.c', declare: { 'bad name': 'INFO' } }), 'FTB_ERR_INVALID_FIELD');
    assert.equal(ring.engine.counters().clients, 0); // not left connected
    const alice = await events.connect({ clientName: 'alice2', space: 'a.b.c' });
    await rejectsWith(events.connect({ clientName: 'alice2', space: 'a.b.c' }), 'FTB_ERR_DUP_CALL');
    await rejectsWith(alice.publish('NOPE'), 'FTB_ERR_INVALID_EVENT_NAME');
    await rejectsWith(alice.subscribe('severity=loud'), 'FTB_ERR_FILTER_VALUE');
    await rejectsWith(alice.subscribe('x=y'), 'FTB_ERR_FILTER_ATTR');
    await rejectsWith(alice.subscribe('severity'), 'FTB_ERR_SUBSCRIPTION_STR');
    await rejectsWith(alice.subscribe('all', { depth: 4 }), 'FTB_FAILURE');
    await rejectsWith(alice.subscribe('all', { depth: 0 }), 'FTB_ERR_INVALID_VALUE');
    await assert.rejects(alice.subscribe('all', { queueSize: 0 }), RangeError);
  });

  it('sends depth > 1 and "all" SAFE and reports the replicas', async () => {
    const ring = new FakeRing();
    const { events } = ring.open('alice', 'd1');
    const alice = await events.connect({ clientName: 'alice', space: 'a.b.c' });
    const one = await alice.subscribe('all');
    const two = await alice.subscribe('all', { depth: 2 });
    const all = await alice.subscribe('all', { depth: 'all' });
    const subscribes = ring.sent.filter((s) => s.op === 'subscribe').map((s) => s.safe);
    assert.deepEqual(subscribes, [false, true, true]);
    assert.deepEqual([one.depth, one.replicas], [1, 1]);
    assert.deepEqual([two.depth, two.replicas], [2, 3]);
    assert.deepEqual([all.depth, all.replicas], [3, 3]);
  });

  it('calls the callback instead of queueing', async () => {
    const ring = new FakeRing();
    const { events } = ring.open('alice', 'd1');
    const alice = await events.connect({ clientName: 'alice', space: 'a.b.c', declare: { X: 'WARNING' } });
    const seen: string[] = [];
    const sub = await alice.subscribe('event_name=X', { callback: (e, s) => seen.push(`${e.severity}@${s.handle === sub.handle}`) });
    await alice.publish('X');
    await alice.publish('X');
    assert.deepEqual(seen, ['WARNING@true', 'WARNING@true']);
    assert.equal(sub.queued, 0);
    assert.equal(sub.poll(), undefined);
  });

  it('polls a bounded queue: the oldest events are dropped, counted and reported', async () => {
    const ring = new FakeRing();
    const { events } = ring.open('alice', 'd1');
    const alice = await events.connect({ clientName: 'alice', space: 'a.b.c', declare: { X: 'INFO' } });
    const reports: number[] = [];
    const sub = await alice.subscribe('all', { queueSize: 3, onOverflow: (n) => reports.push(n) });
    for (let i = 0; i < 5; i++) await alice.publish('X', { payload: `${i}` });
    assert.equal(sub.queued, 3);
    assert.equal(sub.dropped, 2);
    assert.deepEqual(reports, [1, 2]);
    assert.deepEqual([sub.poll(), sub.poll(), sub.poll()].map((e) => e?.payload), ['2', '3', '4']);
    assert.equal(sub.poll(), undefined);
    // Memory stays bounded under a long flood with nobody reading.
    for (let i = 0; i < 500; i++) await alice.publish('X');
    assert.equal(sub.queued, 3);
    assert.equal(sub.dropped, 2 + 497);
  });

  it('keeps a push that arrives before its subscribe reply is processed', async () => {
    const ring = new FakeRing();
    const { loop, events } = ring.open('alice', 'd1');
    const alice = await events.connect({ clientName: 'alice', space: 'a.b.c', declare: { X: 'INFO' } });
    const { events: eb } = ring.open('bob', 'd2');
    const bob = await eb.connect({ clientName: 'bob', space: 'a.b.c', declare: { X: 'INFO' } });
    // Bob publishes between the subscribe's reply and its caller's continuation.
    loop.beforeReply = (reply, op) => {
      if (op === 'subscribe') {
        loop.beforeReply = undefined;
        void bob.publish('X', { payload: 'early' });
      }
    };
    const sub = await alice.subscribe('client_name=bob');
    await new Promise((r) => setImmediate(r));
    assert.equal(sub.poll()?.payload, 'early');
  });

  it('shares one push handler among EventService objects over one session', async () => {
    const ring = new FakeRing();
    const { loop } = ring.open('alice', 'd1');
    const one = new EventService(loop, loop);
    const two = new EventService(loop, loop);
    const c1 = await one.connect({ clientName: 'c1', space: 'a.b.c', declare: { X: 'INFO' } });
    const c2 = await two.connect({ clientName: 'c2', space: 'a.b.c' });
    const s1 = await c1.subscribe('all');
    const s2 = await c2.subscribe('all');
    await c1.publish('X');
    assert.deepEqual([s1.queued, s2.queued], [1, 1]);
  });

  it('ends the iteration at unsubscribe, after the queued events', async () => {
    const ring = new FakeRing();
    const { events } = ring.open('alice', 'd1');
    const alice = await events.connect({ clientName: 'alice', space: 'a.b.c', declare: { X: 'INFO' } });
    const sub = await alice.subscribe('all');
    await alice.publish('X', { payload: 'a' });
    const loop = (async () => {
      const got: unknown[] = [];
      for await (const e of sub) got.push(e.payload);
      return got;
    })();
    await new Promise((r) => setImmediate(r));
    await alice.publish('X', { payload: 'b' });
    await sub.unsubscribe();
    await alice.publish('X', { payload: 'c' });
    assert.deepEqual(await loop, ['a', 'b']);
    assert.ok(sub.isEnded);
    await sub.unsubscribe(); // harmless twice
  });

  it('a break ends one loop; the queue goes on for the next', async () => {
    const ring = new FakeRing();
    const { events } = ring.open('alice', 'd1');
    const alice = await events.connect({ clientName: 'alice', space: 'a.b.c', declare: { X: 'INFO' } });
    const sub = await alice.subscribe('all');
    for (const p of ['1', '2', '3']) await alice.publish('X', { payload: p });
    assert.deepEqual((await take(sub, 1)).map((e) => e.payload), ['1']);
    assert.deepEqual((await take(sub, 2)).map((e) => e.payload), ['2', '3']);
  });

  it('disconnect ends every subscription and the client', async () => {
    const ring = new FakeRing();
    const { events } = ring.open('alice', 'd1');
    const alice = await events.connect({ clientName: 'alice', space: 'a.b.c', declare: { X: 'INFO' } });
    const s1 = await alice.subscribe('all');
    const s2 = await alice.subscribe('severity=info');
    const waiting = s1.next();
    await alice.disconnect();
    assert.deepEqual(await waiting, { value: undefined, done: true });
    assert.ok(s1.isEnded && s2.isEnded);
    await assert.rejects(alice.publish('X'), EventClientError);
    await assert.rejects(alice.resume(), EventClientError);
    await alice.disconnect();
    assert.equal(ring.engine.counters().clients, 0);
  });

  it('resumes through another session: the same Subscription gets every event published after', async () => {
    const ring = new FakeRing();
    const { events: ep } = ring.open('pub', 'd1');
    const publisher = await ep.connect({ clientName: 'pub', space: 'a.b.c', declare: { X: 'INFO' } });
    const first = ring.open('sub', 'd2');
    const subscriber = await first.events.connect({ clientName: 'watcher', space: 'w.a.tch' });
    const sub = await subscriber.subscribe('event_space=a.b.c', { depth: 'all' });
    const handle = sub.handle;
    await publisher.publish('X', { payload: 'before' });
    // d2 dies: its session is gone; events published now are missed.
    ring.gone(first.loop);
    await new Promise((r) => setImmediate(r));
    assert.ok(first.events.isClosed);
    await publisher.publish('X', { payload: 'while away' });
    const second = ring.open('sub', 'd3');
    const r = await subscriber.resume(second.events);
    assert.deepEqual(r, { resumed: true, missed: 1 });
    assert.equal(sub.handle, handle);
    await publisher.publish('X', { payload: 'after 1' });
    await publisher.publish('X', { payload: 'after 2' });
    assert.deepEqual((await take(sub, 3)).map((e) => e.payload), ['before', 'after 1', 'after 2']);
    assert.equal(sub.queued, 0);
    // Later requests go through the new session.
    await sub.unsubscribe();
    assert.ok(sub.isEnded);
  });

  it('resume after the retention passed makes the client, declarations and subscriptions again', async () => {
    const ring = new FakeRing();
    const first = ring.open('alice', 'd1');
    const alice = await first.events.connect({ clientName: 'alice', space: 'a.b.c', declare: { X: 'INFO' } });
    const sub = await alice.subscribe('event_name=X', { depth: 2 });
    const oldHandle = sub.handle;
    ring.gone(first.loop);
    ring.engine.step({ kind: 'tick', time: ring.time + 5_000 });
    assert.equal(ring.engine.counters().clients, 0);
    const second = ring.open('alice', 'd2');
    const r = await alice.resume(second.events);
    assert.deepEqual(r, { resumed: false, missed: 0 });
    assert.notEqual(sub.handle, oldHandle);
    assert.equal(sub.depth, 2);
    await alice.publish('X', { payload: 'again' });
    assert.equal(sub.poll()?.payload, 'again');
  });
});

describe('ringcast events: output', () => {
  const event: EventRecord = {
    handle: 'alice:d1:1#1',
    space: 'app.mpi.rank',
    name: 'RANK_DEAD',
    severity: 'ERROR',
    eventType: 'normal',
    client: 'alice',
    jobId: 'j1',
    host: 'node7',
    pid: 42,
    seq: 1,
    time: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    payload: 'rank 3 died',
  };
  it('formats one line per event, without colour', () => {
    const line = formatEventLine(event, { colour: false, utc: true });
    assert.equal(line, '2024-01-02 03:04:05.678  ERROR    app.mpi.rank  RANK_DEAD  alice@node7  rank 3 died');
  });
  it('shows map and byte payloads, beginHandle, and no payload', () => {
    assert.match(formatEventLine({ ...event, payload: { rank: 3 } }, { colour: false, utc: true }), /alice@node7  \{"rank":3\}$/);
    assert.match(formatEventLine({ ...event, payload: Buffer.from([0xde, 0xad]) }, { colour: false, utc: true }), /alice@node7  0xdead$/);
    assert.match(formatEventLine({ ...event, payload: undefined, beginHandle: 'b#1' }, { colour: false, utc: true }), /alice@node7  \(ends b#1\)$/);
    assert.match(formatEventLine({ ...event, payload: 'a\nb' }, { colour: false, utc: true }), /alice@node7  a\\nb$/);
  });
  it('colours by severity when asked', () => {
    const line = formatEventLine(event, { colour: true, utc: true });
    assert.ok(line.includes(`${severityColour('ERROR')}ERROR`));
    assert.ok(line.endsWith('\u001b[0m') || line.includes('\u001b[0m'));
    assert.notEqual(severityColour('FATAL'), severityColour('INFO'));
  });
  it('colours only on a terminal without NO_COLOR', () => {
    assert.equal(useColour({ isTTY: true }, {}), true);
    assert.equal(useColour({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(useColour({ isTTY: false }, {}), false);
    assert.equal(useColour({}, {}), false);
  });
  it('parses --daemon lists', () => {
    assert.deepEqual(parseDaemonList('4803@127.0.0.1'), ['4803@127.0.0.1']);
    assert.deepEqual(parseDaemonList('4803@127.0.0.1, 4803@127.0.0.2'), ['4803@127.0.0.1', '4803@127.0.0.2']);
  });
});

describe('events client through session servers and the service host (fake ring)', function () {
  this.timeout(10_000);
  let dir: string;
  let ring: FakeSessionRing;
  const servers = new Map<number, SessionServer>();
  const sessions: Session[] = [];

  const open = async (id: number, name: string): Promise<{ session: Session; events: EventService }> => {
    const session = await connect({ daemon: path.join(dir, `d${id}`), name, membership: false });
    sessions.push(session);
    return { session, events: new EventService(session.service(EVENTS_GROUP), session) };
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'events-'));
    ring = new FakeSessionRing([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
      { id: 3, name: 'c' },
    ]);
    for (const id of [1, 2, 3]) {
      const server = new SessionServer(ring.port(id), { unixSocketPath: path.join(dir, `d${id}`) }, {}, [new EventsEngine()]);
      await server.listen();
      servers.set(id, server);
    }
    ring.configure(regularOf(10, 1, [1, 2, 3]));
    await until(() => [...servers.values()].every((s) => !s.services!.exchanging), 'state exchange done');
  });

  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.disconnect().catch(() => {});
    for (const s of servers.values()) await s.close();
    servers.clear();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('publishes, subscribes with depth all, and carries a subscriber over to another daemon', async () => {
    const { events: ep } = await open(1, 'pub');
    const publisher = await ep.connect({ clientName: 'pub', space: 'app.mpi.rank', declare: { RANK_DEAD: 'ERROR' } });
    const second = await open(2, 'w');
    const watcher = await second.events.connect({ clientName: 'watcher', space: 'ringcast.cli.watch' });
    const sub = await watcher.subscribe('event_space=app.mpi.rank', { depth: 'all' });
    assert.deepEqual([sub.depth, sub.replicas], [3, 3]);
    const system = await watcher.subscribe('event_space=ringcast.system.daemon,severity=warning');
    await assert.rejects(watcher.subscribe('severity=loud'), (e: ServiceError) => e.error === 'FTB_ERR_FILTER_VALUE' && e.errorCode === -16);
    await publisher.publish('RANK_DEAD', { payload: 'before' });
    assert.deepEqual((await take(sub, 1)).map((e) => e.payload), ['before']);

    // Daemon b dies: its sessions end, the others install a configuration without it.
    await servers.get(2)!.close();
    servers.delete(2);
    await second.session.closed;
    ring.configure(regularOf(20, 1, [1, 3]), [1, 3]);
    await until(() => [1, 3].every((id) => !servers.get(id)!.services!.exchanging), 'exchange done');
    await publisher.publish('RANK_DEAD', { payload: 'while away' });

    const third = await open(3, 'w');
    const r = await watcher.resume(third.events);
    assert.equal(r.resumed, true);
    assert.equal(r.missed, 1 + 1); // the publish, and DAEMON_LEFT for b (the system subscription)
    for (let i = 0; i < 5; i++) await publisher.publish('RANK_DEAD', { payload: `after ${i}` });
    // Every event after the reattach, once, in order.
    assert.deepEqual((await take(sub, 5)).map((e) => e.payload), ['after 0', 'after 1', 'after 2', 'after 3', 'after 4']);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sub.queued, 0);
    assert.equal(system.queued, 0);
    // The system events reach the reattached subscriber too.
    ring.configure(regularOf(30, 3, [3]), [3]);
    await until(() => system.queued > 0, 'DAEMON_LEFT pushed');
    const left = system.poll()!;
    assert.deepEqual([left.space, left.name, left.severity, left.host, left.payload], ['ringcast.system.daemon', 'DAEMON_LEFT', 'WARNING', 'a', { daemon: 'a', ring: '30.c', members: ['c'] }]);
  });

  /** Captures this process's stdout and stderr lines until restore(). */
  function capture(): { out: string[]; err: string[]; restore: () => void } {
    const out: string[] = [];
    const err: string[] = [];
    const write = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
    const lines = (into: string[]) => ((chunk: string) => into.push(...String(chunk).split('\n').filter((l) => l !== '')) >= 0) as typeof process.stdout.write;
    process.stdout.write = lines(out);
    process.stderr.write = lines(err);
    return {
      out,
      err,
      restore: () => {
        process.stdout.write = write.out;
        process.stderr.write = write.err;
      },
    };
  }

  const ringcast = (...args: string[]): Promise<void> => buildProgram().parseAsync(args, { from: 'user' }).then(() => undefined);

  it('ringcast events publish and watch (JSON lines), the watch failing over to the next daemon', async () => {
    const sock = (id: number): string => path.join(dir, `d${id}`);
    const io = capture();
    let watch: Promise<void> | undefined;
    try {
      watch = ringcast('events', 'watch', 'event_space=app.cli.all', '--json', '--count', '3', '--client', 'w1', '--daemon', `${sock(2)},${sock(3)}`);
      await until(() => io.err.some((l) => l.includes('watching event_space=app.cli.all')), 'watch subscribed');
      await ringcast('events', 'publish', '--space', 'app.cli.one', '--name', 'HELLO', '--severity', 'warning', '--payload', 'hi', '--client', 'p1', '--daemon', sock(1));
      assert.ok(io.out.some((l) => /^published HELLO \(WARNING\) in app\.cli\.one as p1:/.test(l)), io.out.join('\n'));
      await until(() => io.out.some((l) => l.startsWith('{')), 'first event printed');
      // The watch's daemon dies; it resumes through the next one in its list.
      await servers.get(2)!.close();
      servers.delete(2);
      ring.configure(regularOf(20, 1, [1, 3]), [1, 3]);
      await until(() => io.err.some((l) => l.includes('resumed through')), 'watch resumed');
      for (const n of ['TWO', 'THREE']) await ringcast('events', 'publish', '--space', 'app.cli.one', '--name', n, '--client', `p${n}`, '--daemon', sock(1), '--json');
      await watch;
    } finally {
      io.restore();
      await watch?.catch(() => undefined);
    }
    const events = io.out.filter((l) => l.startsWith('{"handle"')).map((l) => JSON.parse(l) as EventRecord);
    assert.deepEqual(events.map((e) => [e.name, e.severity, e.space]), [
      ['HELLO', 'WARNING', 'app.cli.one'],
      ['TWO', 'INFO', 'app.cli.one'],
      ['THREE', 'INFO', 'app.cli.one'],
    ]);
    assert.equal(events[0]!.payload, 'hi');
    const published = io.out.filter((l) => l.startsWith('{"event"')).map((l) => JSON.parse(l) as { event: string; client: string });
    assert.deepEqual(published.map((p) => p.client), ['pTWO', 'pTHREE']);
  });
});

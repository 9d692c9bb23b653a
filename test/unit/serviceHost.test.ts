// The service host inside session servers on a fake ring, with a toy replicated key-value
// engine: requests and replies through the real client library, the state exchange (TRY_AGAIN
// meanwhile, then one merged state), ticks, session ends, and events routed to an engine
// named 'events'.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect, type Session } from '../../src/client';
import { ServiceError } from '../../src/client/serviceClient';
import { okReply, errorReply, type ServiceEngine, type ServiceInput, type ServiceOutput } from '../../src/services/engine';
import { SessionServer } from '../../src/session';
import { FakeRing, regularOf, until } from './sessionFixtures';

interface Entry {
  value: string;
  stamp: number;
  expires?: number;
}

/** A replicated map; merge keeps the entry with the greater stamp. */
class KvEngine implements ServiceEngine {
  readonly name = 'kv';
  readonly group = '#ringcast-kv';
  entries = new Map<string, Entry>();
  gone: string[] = [];
  configurations: string[] = [];
  ticks = 0;
  private stamp = 0;

  step(input: ServiceInput): ServiceOutput[] {
    switch (input.kind) {
      case 'configuration':
        this.configurations.push(`${input.configuration.kind}:${input.configuration.members.join(',')}`);
        return [];
      case 'sessionGone':
        this.gone.push(input.privateGroup);
        return [];
      case 'tick':
        this.ticks++;
        for (const [k, e] of this.entries) if (e.expires !== undefined && e.expires <= input.time) this.entries.delete(k);
        return [];
      case 'request': {
        const { body, from, time } = input.request;
        if (body.op === 'set') {
          const ttl = typeof body.ttl === 'number' ? body.ttl : undefined;
          this.entries.set(String(body.key), { value: String(body.value), stamp: ++this.stamp, ...(ttl !== undefined ? { expires: time + ttl } : {}) });
          return [
            { kind: 'reply', to: from, body: okReply(body.id) },
            { kind: 'event', event: { space: 'test.kv.store', name: 'SET', severity: 'INFO', payload: { key: body.key } } },
          ];
        }
        if (body.op === 'get') {
          const e = this.entries.get(String(body.key));
          return [{ kind: 'reply', to: from, body: e ? okReply(body.id, { value: e.value }) : errorReply(body.id, 'NOT_EXIST', 'no such key') }];
        }
        if (body.op === 'boom') throw new Error('boom');
        return [{ kind: 'reply', to: from, body: errorReply(body.id, 'INVALID_PARAM', 'unknown op') }];
      }
    }
  }

  nextDeadline(): number | null {
    let at: number | null = null;
    for (const e of this.entries.values()) if (e.expires !== undefined && (at === null || e.expires < at)) at = e.expires;
    return at;
  }

  snapshot(): unknown {
    return [...this.entries];
  }

  merge(snapshots: readonly unknown[]): void {
    const merged = new Map<string, Entry>();
    for (const s of snapshots) {
      if (!Array.isArray(s)) continue;
      for (const [k, e] of s as Array<[string, Entry]>) {
        const have = merged.get(k);
        if (!have || e.stamp > have.stamp) merged.set(k, e);
      }
    }
    this.entries = merged;
    this.stamp = Math.max(0, ...[...merged.values()].map((e) => e.stamp));
  }
}

/** Collects systemPublish requests and pushes them to every client that said 'watch'. */
class EventsSink implements ServiceEngine {
  readonly name = 'events';
  readonly group = '#ringcast-evsink';
  readonly published: string[] = [];
  private readonly watchers = new Set<string>();

  step(input: ServiceInput): ServiceOutput[] {
    if (input.kind !== 'request') return [];
    const { body, from } = input.request;
    if (body.op === 'watch') {
      this.watchers.add(from);
      return [{ kind: 'reply', to: from, body: okReply(body.id) }];
    }
    if (body.op === 'systemPublish' && from.startsWith('#ringcast#')) {
      this.published.push(`${String(body.space)}/${String(body.name)}`);
      return [...this.watchers].map((to) => ({ kind: 'reply' as const, to, body: { push: 'event', name: body.name } }));
    }
    return [];
  }
  nextDeadline(): number | null {
    return null;
  }
  snapshot(): unknown {
    return [...this.watchers];
  }
  merge(snapshots: readonly unknown[]): void {
    for (const s of snapshots) if (Array.isArray(s)) for (const w of s) this.watchers.add(String(w));
  }
}

describe('service host (fake ring, real client library)', function () {
  this.timeout(10_000);
  let dir: string;
  let ring: FakeRing;
  const servers: SessionServer[] = [];
  const sessions: Session[] = [];
  const kv = new Map<number, KvEngine>();
  const sinks = new Map<number, EventsSink>();

  async function startDaemon(id: number): Promise<SessionServer> {
    const engine = new KvEngine();
    const sink = new EventsSink();
    kv.set(id, engine);
    sinks.set(id, sink);
    const server = new SessionServer(ring.port(id), { unixSocketPath: path.join(dir, `d${id}`) }, {}, [engine, sink]);
    await server.listen();
    servers.push(server);
    return server;
  }

  async function client(id: number, name: string): Promise<Session> {
    const s = await connect({ daemon: path.join(dir, `d${id}`), name });
    sessions.push(s);
    return s;
  }

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'svc-'));
    ring = new FakeRing([
      { id: 1, name: 'a' },
      { id: 2, name: 'b' },
    ]);
    await startDaemon(1);
    await startDaemon(2);
  });

  afterEach(async () => {
    for (const s of sessions.splice(0)) await s.disconnect().catch(() => {});
    for (const s of servers.splice(0)) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('replicates requests, answers only the requester, exchanges state on a join', async () => {
    // Each daemon alone first: no exchange needed.
    ring.configure(regularOf(10, 1, [1]), [1]);
    ring.configure(regularOf(10, 2, [2]), [2]);
    const a = await client(1, 'ca');
    const b = await client(2, 'cb');
    await a.service('#ringcast-kv').request('set', { key: 'x', value: 'from-a' });
    await b.service('#ringcast-kv').request('set', { key: 'y', value: 'from-b' });
    // The fake ring delivers every submit everywhere, so both engines saw both: make them differ.
    kv.get(2)!.entries.delete('x');
    // A request delivered during the exchange is answered TRY_AGAIN, retried, then served.
    ring.held = true;
    const getting = b.service('#ringcast-kv').request('get', { key: 'x' });
    await until(() => ring.queued === 1, 'request queued');
    ring.configure(regularOf(20, 1, [1, 2]));
    assert.equal(servers[0]!.services!.exchanging, true);
    ring.release();
    const got = await getting;
    assert.equal(got.value, 'from-a');
    assert.equal(servers[1]!.services!.exchanging, false);
    assert.ok(servers[1]!.services!.counters.tryAgain >= 1);
    assert.deepEqual([...kv.get(1)!.entries.keys()].sort(), [...kv.get(2)!.entries.keys()].sort());
    assert.deepEqual(kv.get(1)!.configurations.at(-1), 'regular:a,b');
  });

  it('passes errors as ServiceError, survives an engine that throws and garbage bodies', async () => {
    ring.configure(regularOf(10, 1, [1, 2]));
    const a = await client(1, 'ca');
    await until(() => !servers[0]!.services!.exchanging, 'exchange done');
    await assert.rejects(a.service('#ringcast-kv').request('get', { key: 'nope' }), (e: ServiceError) => e.error === 'SA_AIS_ERR_NOT_EXIST' && e.errorCode === 12);
    await assert.rejects(a.service('#ringcast-kv').request('boom'), (e: ServiceError) => e.error === 'SA_AIS_ERR_LIBRARY');
    await a.multicast('#ringcast-kv', Buffer.from([0xc1, 0xff])); // not msgpack
    await until(() => servers[0]!.services!.counters.malformed >= 1, 'malformed counted');
    assert.equal((await a.service('#ringcast-kv').request('set', { key: 'k', value: 'v' })).ok, true);
  });

  it('routes engine events to the events engine, ticks deadlines, reports gone sessions', async () => {
    ring.configure(regularOf(10, 1, [1, 2]));
    const a = await client(1, 'ca');
    const w = await client(2, 'cw');
    const pushes: unknown[] = [];
    w.service('#ringcast-evsink').onPush((body) => pushes.push(body.name));
    await w.service('#ringcast-evsink').request('watch');
    await a.service('#ringcast-kv').request('set', { key: 't', value: 'v', ttl: 30 });
    await until(() => pushes.length === 1, 'event pushed to the watcher');
    assert.deepEqual(sinks.get(1)!.published, ['test.kv.store/SET']);
    await until(() => !kv.get(1)!.entries.has('t') && !kv.get(2)!.entries.has('t'), 'entry expired everywhere');
    assert.ok(kv.get(2)!.ticks >= 1);
    await a.disconnect();
    await until(() => kv.get(2)!.gone.includes(a.privateGroup), 'session gone at the other daemon');
  });
});

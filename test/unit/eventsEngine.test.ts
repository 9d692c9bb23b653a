// The events engine (src/services/events) alone: every op and FTB error code, subscription
// strings, matching, transaction depth, reattach, retention, system events, snapshot/merge.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import msgpack from 'msgpack-lite';
import { DAEMON_SENDER_PREFIX, type ServiceConfiguration, type ServiceOutput } from '../../src/services/engine';
import { EventsEngine, type EventsEngineOptions } from '../../src/services/events/eventsEngine';
import { FtbCode, MAX_PAYLOAD_DATA, isFailure } from '../../src/services/events/ftb';
import { matches } from '../../src/services/events/matcher';
import { parseEventSpace } from '../../src/services/events/names';
import type { EventPush, EventRecord } from '../../src/services/events/protocol';
import { MATCH_ALL, formatSubscription, parseSubscription, type SubscriptionFilter } from '../../src/services/events/subscription';

// ---- helpers ------------------------------------------------------------------------------

const A = '#alice#d1';
const B = '#bob#d2';
const C = '#carol#d3';

const regular = (members: string[], prev: string[] = [], seq = 1): ServiceConfiguration => ({
  kind: 'regular',
  ringId: `${seq}.${members[0]}`,
  ringSeq: seq,
  members,
  joined: members.filter((m) => !prev.includes(m)),
  left: prev.filter((m) => !members.includes(m)),
});

/** An engine in a 3-daemon configuration with a request helper that keeps time and ids going. */
class Rig {
  readonly engine: EventsEngine;
  time = 1000;
  private id = 0;
  constructor(options: EventsEngineOptions = {}, members = ['d1', 'd2', 'd3']) {
    this.engine = new EventsEngine(options);
    this.engine.step({ kind: 'configuration', configuration: regular(members) });
  }
  send(from: string, body: Record<string, unknown>, opts: { safe?: boolean; origin?: string; noId?: boolean } = {}): ServiceOutput[] {
    this.time += 10;
    const origin = opts.origin ?? (from.startsWith(DAEMON_SENDER_PREFIX) ? from.slice(DAEMON_SENDER_PREFIX.length) : from.slice(from.lastIndexOf('#') + 1));
    const fullBody = opts.noId ? body : { id: ++this.id, ...body };
    return this.engine.step({ kind: 'request', request: { from, origin, time: this.time, safe: opts.safe ?? false, body: fullBody } });
  }
  /** The reply to `from` (asserting there is exactly one with an id). */
  call(from: string, body: Record<string, unknown>, opts: { safe?: boolean } = {}): Record<string, unknown> {
    return reply(this.send(from, body, opts), from);
  }
  ok(from: string, body: Record<string, unknown>, opts: { safe?: boolean } = {}): Record<string, unknown> {
    const r = this.call(from, body, opts);
    assert.equal(r.ok, true, `expected ok, got ${JSON.stringify(r)}`);
    return r;
  }
  err(from: string, body: Record<string, unknown>, error: string, opts: { safe?: boolean } = {}): Record<string, unknown> {
    const r = this.call(from, body, opts);
    assert.equal(r.ok, false, `expected ${error}, got ${JSON.stringify(r)}`);
    assert.equal(r.error, error, String(r.message));
    assert.equal(r.code, FtbCode[error as keyof typeof FtbCode]);
    assert.equal(typeof r.message, 'string');
    return r;
  }
  connect(from: string, clientName: string, extra: Record<string, unknown> = {}): string {
    return this.ok(from, { op: 'connect', clientName, space: 'app.mpi.rank', jobId: 'job7', host: 'h1', pid: 42, ...extra }).client as string;
  }
  /** A connected client with events E1 (ERROR) and I1 (INFO) declared. */
  publisher(from: string, clientName: string, extra: Record<string, unknown> = {}): string {
    const client = this.connect(from, clientName, extra);
    this.ok(from, { op: 'declare', client, events: [{ name: 'E1', severity: 'error' }, { name: 'I1', severity: 'INFO' }] });
    return client;
  }
}

function reply(out: ServiceOutput[], to: string): Record<string, unknown> {
  const replies = out.filter((o) => o.kind === 'reply' && o.body.id !== undefined);
  assert.equal(replies.length, 1, `one reply expected, got ${JSON.stringify(out)}`);
  const r = replies[0]!;
  assert.ok(r.kind === 'reply' && r.to === to);
  return r.body as Record<string, unknown>;
}

const pushes = (out: ServiceOutput[]): Array<{ to: string; push: EventPush }> =>
  out.flatMap((o) => (o.kind === 'reply' && o.body.push === 'event' ? [{ to: o.to, push: o.body as unknown as EventPush }] : []));

// ---- tests --------------------------------------------------------------------------------

describe('events engine: FTB codes', () => {
  it('uses FTB 0.6 numbers', () => {
    assert.equal(FtbCode.FTB_ERR_EVENTSPACE_FORMAT, -2);
    assert.equal(FtbCode.FTB_ERR_INVALID_VALUE, -4);
    assert.equal(FtbCode.FTB_ERR_DUP_CALL, -5);
    assert.equal(FtbCode.FTB_ERR_INVALID_HANDLE, -9);
    assert.equal(FtbCode.FTB_ERR_INVALID_EVENT_NAME, -12);
    assert.equal(FtbCode.FTB_ERR_INVALID_EVENT_TYPE, -13);
    assert.equal(FtbCode.FTB_ERR_SUBSCRIPTION_STR, -14);
    assert.equal(FtbCode.FTB_ERR_FILTER_ATTR, -15);
    assert.equal(FtbCode.FTB_ERR_FILTER_VALUE, -16);
    assert.equal(FtbCode.FTB_FAILURE, -18);
    assert.equal(FtbCode.FTB_ERR_INVALID_PARAMETER, -19);
  });
});

describe('events engine: event spaces and names', () => {
  it('accepts region.category.component of letters, digits and _', () => {
    assert.deepEqual(parseEventSpace('ftb.mpi_2.rank0'), { region: 'ftb', category: 'mpi_2', component: 'rank0' });
  });
  for (const bad of ['', 'a', 'a.b', 'a.b.c.d', 'a..c', '.b.c', 'a.b.', 'a.b-x.c', 'a.b.c ', `a.b.${'c'.repeat(62)}`, 7, null]) {
    it(`rejects event space ${JSON.stringify(bad)} with FTB_ERR_EVENTSPACE_FORMAT`, () => {
      const r = parseEventSpace(bad);
      assert.ok(isFailure(r) && r.error === 'FTB_ERR_EVENTSPACE_FORMAT');
    });
  }
});

describe('events engine: connect', () => {
  it('gives a handle and echoes the client', () => {
    const rig = new Rig();
    const r = rig.ok(A, { op: 'connect', clientName: 'alice', space: 'app.mpi.rank', jobId: 'j1', host: 'node1', pid: 7 });
    assert.equal(typeof r.client, 'string');
    assert.ok((r.client as string).startsWith('alice:'));
    assert.equal(r.resumed, false);
    assert.equal(r.space, 'app.mpi.rank');
    assert.deepEqual(r.subscriptions, []);
  });
  it('rejects bad fields with FTB codes', () => {
    const rig = new Rig();
    const base = { op: 'connect', clientName: 'alice', space: 'app.mpi.rank' };
    rig.err(A, { ...base, space: 'app.mpi' }, 'FTB_ERR_EVENTSPACE_FORMAT');
    rig.err(A, { ...base, space: undefined }, 'FTB_ERR_EVENTSPACE_FORMAT');
    rig.err(A, { ...base, clientName: 'x'.repeat(16) }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { ...base, clientName: '' }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { ...base, clientName: 'a:b' }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { ...base, jobId: 'j'.repeat(16) }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { ...base, host: 'h'.repeat(64) }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { ...base, pid: -1 }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { ...base, pid: 'x' }, 'FTB_ERR_INVALID_VALUE');
  });
  it('defaults host to the daemon and pid to 0', () => {
    const rig = new Rig();
    const client = rig.publisher(A, 'alice', { host: undefined, pid: undefined, jobId: undefined });
    rig.ok(A, { op: 'subscribe', client, subscription: 'all' });
    const event = pushes(rig.send(A, { op: 'publish', client, name: 'I1' }))[0]!.push.event;
    assert.equal(event.host, 'd1');
    assert.equal(event.pid, 0);
    assert.equal(event.jobId, '');
  });
  it('refuses a second connect of an attached name with FTB_ERR_DUP_CALL', () => {
    const rig = new Rig();
    rig.connect(A, 'alice');
    rig.err(A, { op: 'connect', clientName: 'alice', space: 'app.mpi.rank' }, 'FTB_ERR_DUP_CALL');
    rig.err(B, { op: 'connect', clientName: 'alice', space: 'app.mpi.rank' }, 'FTB_ERR_DUP_CALL');
  });
  it('lets one session connect several clients', () => {
    const rig = new Rig();
    const a1 = rig.connect(A, 'a1');
    const a2 = rig.connect(A, 'a2');
    assert.notEqual(a1, a2);
  });
});

describe('events engine: declare and publish', () => {
  it('publishes a declared event with every field, to a matching subscriber', () => {
    const rig = new Rig();
    const pub = rig.publisher(A, 'alice');
    const sub = rig.connect(B, 'bob');
    const s = rig.ok(B, { op: 'subscribe', client: sub, subscription: 'event_space=app.mpi.rank' }).subscription as string;
    const out = rig.send(A, { op: 'publish', client: pub, name: 'e1', payload: 'disk full', eventType: 'normal' });
    const r = reply(out, A);
    assert.equal(r.ok, true);
    assert.equal(r.seq, 1);
    assert.equal(r.event, `${pub}#1`);
    const ps = pushes(out);
    assert.equal(ps.length, 1);
    assert.equal(ps[0]!.to, B);
    assert.equal(ps[0]!.push.subscription, s);
    const e = ps[0]!.push.event;
    assert.deepEqual(e, {
      handle: `${pub}#1`,
      space: 'app.mpi.rank',
      name: 'E1',
      severity: 'ERROR',
      eventType: 'normal',
      client: 'alice',
      jobId: 'job7',
      host: 'h1',
      pid: 42,
      seq: 1,
      time: rig.time,
      payload: 'disk full',
    });
    // The reply comes before the pushes.
    assert.equal(out[0]!.kind === 'reply' && out[0]!.body.id !== undefined, true);
  });
  it('numbers events per client', () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    const b = rig.publisher(B, 'bob');
    assert.equal(rig.ok(A, { op: 'publish', client: a, name: 'E1' }).seq, 1);
    assert.equal(rig.ok(A, { op: 'publish', client: a, name: 'I1' }).seq, 2);
    assert.equal(rig.ok(B, { op: 'publish', client: b, name: 'E1' }).seq, 1);
  });
  it('rejects undeclared and malformed names with FTB_ERR_INVALID_EVENT_NAME', () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    rig.err(A, { op: 'publish', client: a, name: 'NOPE' }, 'FTB_ERR_INVALID_EVENT_NAME');
    rig.err(A, { op: 'publish', client: a, name: '' }, 'FTB_ERR_INVALID_EVENT_NAME');
    rig.err(A, { op: 'publish', client: a, name: 'E'.repeat(32) }, 'FTB_ERR_INVALID_EVENT_NAME');
    rig.err(A, { op: 'publish', client: a }, 'FTB_ERR_INVALID_EVENT_NAME');
  });
  it('rejects an unknown event type with FTB_ERR_INVALID_EVENT_TYPE', () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    rig.err(A, { op: 'publish', client: a, name: 'E1', eventType: 'urgent' }, 'FTB_ERR_INVALID_EVENT_TYPE');
    rig.err(A, { op: 'publish', client: a, name: 'E1', eventType: 3 }, 'FTB_ERR_INVALID_EVENT_TYPE');
    rig.ok(A, { op: 'publish', client: a, name: 'E1', eventType: 'response' });
    rig.ok(A, { op: 'publish', client: a, name: 'E1', eventType: 2 });
  });
  it(`takes payloads up to ${MAX_PAYLOAD_DATA} bytes, larger ones fail with FTB_ERR_INVALID_VALUE`, () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    rig.ok(A, { op: 'publish', client: a, name: 'E1', payload: 'x'.repeat(MAX_PAYLOAD_DATA) });
    rig.err(A, { op: 'publish', client: a, name: 'E1', payload: 'x'.repeat(MAX_PAYLOAD_DATA + 1) }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { op: 'publish', client: a, name: 'E1', payload: 'é'.repeat(185) }, 'FTB_ERR_INVALID_VALUE'); // 370 bytes
    rig.ok(A, { op: 'publish', client: a, name: 'E1', payload: Buffer.alloc(MAX_PAYLOAD_DATA) });
    rig.err(A, { op: 'publish', client: a, name: 'E1', payload: Buffer.alloc(MAX_PAYLOAD_DATA + 1) }, 'FTB_ERR_INVALID_VALUE');
    rig.ok(A, { op: 'publish', client: a, name: 'E1', payload: { code: 5, text: 'ok' } });
    rig.err(A, { op: 'publish', client: a, name: 'E1', payload: { text: 'y'.repeat(400) } }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { op: 'publish', client: a, name: 'E1', payload: 12 }, 'FTB_ERR_INVALID_VALUE');
    rig.err(A, { op: 'publish', client: a, name: 'E1', payload: [1, 2] }, 'FTB_ERR_INVALID_VALUE');
  });
  it('checks declarations with FTB_ERR_INVALID_FIELD, keeps the first of a name, bounds the count', () => {
    const rig = new Rig({ maxDeclaredPerClient: 3 });
    const a = rig.connect(A, 'alice');
    rig.err(A, { op: 'declare', client: a, events: [{ name: 'BAD-NAME', severity: 'INFO' }] }, 'FTB_ERR_INVALID_FIELD');
    rig.err(A, { op: 'declare', client: a, events: [{ name: 'X', severity: 'PERFORMANCE' }] }, 'FTB_ERR_INVALID_FIELD');
    rig.err(A, { op: 'declare', client: a, events: ['X'] }, 'FTB_ERR_INVALID_FIELD');
    rig.err(A, { op: 'declare', client: a, events: 'X' }, 'FTB_ERR_INVALID_VALUE');
    // A failed declare declares nothing.
    rig.err(A, { op: 'declare', client: a, events: [{ name: 'GOOD', severity: 'INFO' }, { name: '', severity: 'INFO' }] }, 'FTB_ERR_INVALID_FIELD');
    rig.err(A, { op: 'publish', client: a, name: 'GOOD' }, 'FTB_ERR_INVALID_EVENT_NAME');
    assert.equal(rig.ok(A, { op: 'declare', client: a, events: [{ name: 'X', severity: 'fatal' }, { name: 'x', severity: 'INFO' }] }).declared, 1);
    rig.ok(A, { op: 'declare', client: a, events: [{ name: 'Y', severity: 'WARNING' }, { name: 'Z', severity: 'INFO' }] });
    rig.err(A, { op: 'declare', client: a, events: [{ name: 'W', severity: 'INFO' }] }, 'FTB_ERR_GENERAL');
    const sub = rig.connect(B, 'bob');
    rig.ok(B, { op: 'subscribe', client: sub, subscription: '' });
    const e = pushes(rig.send(A, { op: 'publish', client: a, name: 'x' }))[0]!.push.event;
    assert.equal(e.name, 'X');
    assert.equal(e.severity, 'FATAL');
  });
});

describe('events engine: handles and ops', () => {
  it('answers FTB_ERR_INVALID_HANDLE for unknown, foreign and stale handles', () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    for (const op of ['declare', 'publish', 'subscribe', 'unsubscribe', 'disconnect']) {
      rig.err(A, { op, client: 'nobody:d1:1', name: 'E1', subscription: '' }, 'FTB_ERR_INVALID_HANDLE');
      rig.err(A, { op, name: 'E1', subscription: '' }, 'FTB_ERR_INVALID_HANDLE');
      rig.err(B, { op, client: a, name: 'E1', subscription: '' }, 'FTB_ERR_INVALID_HANDLE');
    }
    rig.ok(A, { op: 'disconnect', client: a });
    rig.err(A, { op: 'publish', client: a, name: 'E1' }, 'FTB_ERR_INVALID_HANDLE');
    // A new life of the same name gets a new handle: the old one stays invalid.
    const a2 = rig.publisher(A, 'alice');
    assert.notEqual(a2, a);
    rig.err(A, { op: 'publish', client: a, name: 'E1' }, 'FTB_ERR_INVALID_HANDLE');
  });
  it('answers unknown ops and client systemPublish with FTB_ERR_NOT_SUPPORTED', () => {
    const rig = new Rig();
    rig.err(A, { op: 'frobnicate' }, 'FTB_ERR_NOT_SUPPORTED');
    rig.err(A, {}, 'FTB_ERR_NOT_SUPPORTED');
    rig.err(A, { op: 'systemPublish', space: 'ringcast.system.daemon', name: 'FAKE', severity: 'FATAL' }, 'FTB_ERR_NOT_SUPPORTED');
  });
  it('ignores requests without an id, and daemon requests other than systemPublish', () => {
    const rig = new Rig();
    assert.deepEqual(rig.send(A, { op: 'connect', clientName: 'alice', space: 'a.b.c' }, { noId: true }), []);
    assert.deepEqual(rig.send(`${DAEMON_SENDER_PREFIX}d1`, { op: 'connect', clientName: 'alice', space: 'a.b.c' }), []);
  });
  it('unsubscribes (FTB_ERR_INVALID_HANDLE for unknown subscriptions) and disconnects', () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    const s = rig.ok(A, { op: 'subscribe', client: a, subscription: 'all' }).subscription as string;
    assert.equal(pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' })).length, 1);
    rig.ok(A, { op: 'unsubscribe', client: a, subscription: s });
    rig.err(A, { op: 'unsubscribe', client: a, subscription: s }, 'FTB_ERR_INVALID_HANDLE');
    rig.err(A, { op: 'unsubscribe', client: a }, 'FTB_ERR_INVALID_HANDLE');
    assert.equal(pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' })).length, 0);
    const b = rig.connect(B, 'bob');
    const sb = rig.ok(B, { op: 'subscribe', client: b, subscription: 'all' }).subscription as string;
    rig.err(A, { op: 'unsubscribe', client: a, subscription: sb }, 'FTB_ERR_INVALID_HANDLE');
    rig.ok(B, { op: 'disconnect', client: b });
    assert.equal(pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' })).length, 0);
    assert.equal(rig.engine.counters().clients, 1);
  });
});

describe('events engine: subscribe', () => {
  it('answers bad subscription strings with FTB codes', () => {
    const rig = new Rig();
    const a = rig.connect(A, 'alice');
    rig.err(A, { op: 'subscribe', client: a, subscription: 'severity' }, 'FTB_ERR_SUBSCRIPTION_STR');
    rig.err(A, { op: 'subscribe', client: a, subscription: 'colour=red' }, 'FTB_ERR_FILTER_ATTR');
    rig.err(A, { op: 'subscribe', client: a, subscription: 'severity=loud' }, 'FTB_ERR_FILTER_VALUE');
    rig.err(A, { op: 'subscribe', client: a, subscription: 'event_space=a.b' }, 'FTB_ERR_EVENTSPACE_FORMAT');
    rig.err(A, { op: 'subscribe', client: a, subscription: 42 }, 'FTB_ERR_SUBSCRIPTION_STR');
  });
  it('bounds subscriptions per client', () => {
    const rig = new Rig({ maxSubscriptionsPerClient: 2 });
    const a = rig.connect(A, 'alice');
    rig.ok(A, { op: 'subscribe', client: a, subscription: 'all' });
    rig.ok(A, { op: 'subscribe', client: a, subscription: 'all' });
    rig.err(A, { op: 'subscribe', client: a, subscription: 'all' }, 'FTB_ERR_GENERAL');
  });
  it('answers with the canonical filter, the depth and the replicas', () => {
    const rig = new Rig();
    const a = rig.connect(A, 'alice');
    const r = rig.ok(A, { op: 'subscribe', client: a, subscription: ' SEVERITY = error , event_space=App.all.all ' });
    assert.equal(r.filter, 'event_space=App.all.all,severity=ERROR');
    assert.equal(r.depth, 1);
    assert.equal(r.replicas, 1);
  });
  describe('transaction depth', () => {
    it('takes depth n > 1 only SAFE (FTB_ERR_INVALID_PARAMETER otherwise) and answers the configuration size', () => {
      const rig = new Rig();
      const a = rig.connect(A, 'alice');
      rig.err(A, { op: 'subscribe', client: a, subscription: 'all', depth: 2 }, 'FTB_ERR_INVALID_PARAMETER');
      rig.err(A, { op: 'subscribe', client: a, subscription: 'all', depth: 'all' }, 'FTB_ERR_INVALID_PARAMETER');
      const r = rig.ok(A, { op: 'subscribe', client: a, subscription: 'all', depth: 2 }, { safe: true });
      assert.equal(r.depth, 2);
      assert.equal(r.replicas, 3);
      const all = rig.ok(A, { op: 'subscribe', client: a, subscription: 'all', depth: 'all' }, { safe: true });
      assert.equal(all.depth, 3);
      assert.equal(all.replicas, 3);
      // Depth 1 sent SAFE is held by all as well.
      assert.equal(rig.ok(A, { op: 'subscribe', client: a, subscription: 'all', depth: 1 }, { safe: true }).replicas, 3);
    });
    it('fails with FTB_FAILURE when n exceeds the configuration', () => {
      const rig = new Rig();
      const a = rig.connect(A, 'alice');
      rig.err(A, { op: 'subscribe', client: a, subscription: 'all', depth: 4 }, 'FTB_FAILURE', { safe: true });
      rig.engine.step({ kind: 'configuration', configuration: regular(['d1', 'd2'], ['d1', 'd2', 'd3'], 2) });
      rig.err(A, { op: 'subscribe', client: a, subscription: 'all', depth: 3 }, 'FTB_FAILURE', { safe: true });
      assert.equal(rig.ok(A, { op: 'subscribe', client: a, subscription: 'all', depth: 'all' }, { safe: true }).depth, 2);
    });
    it('answers FTB_ERR_INVALID_VALUE for depths that are not 1.. or "all"', () => {
      const rig = new Rig();
      const a = rig.connect(A, 'alice');
      for (const depth of [0, -1, 1.5, 'two', null]) {
        rig.err(A, { op: 'subscribe', client: a, subscription: 'all', depth }, 'FTB_ERR_INVALID_VALUE', { safe: true });
      }
    });
  });
});

describe('events engine: delivery', () => {
  it('delivers to every matching subscription, in publish order, to the subscriber group', () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    const b = rig.connect(B, 'bob');
    const errors = rig.ok(B, { op: 'subscribe', client: b, subscription: 'severity=error' }).subscription;
    const everything = rig.ok(B, { op: 'subscribe', client: b, subscription: 'all' }).subscription;
    const seen: Array<[string, number]> = [];
    for (const name of ['E1', 'I1', 'E1']) {
      for (const p of pushes(rig.send(A, { op: 'publish', client: a, name }))) {
        assert.equal(p.to, B);
        seen.push([p.push.subscription, p.push.event.seq]);
      }
    }
    assert.deepEqual(seen, [
      [errors, 1],
      [everything, 1],
      [everything, 2],
      [errors, 3],
      [everything, 3],
    ]);
    const c = rig.engine.counters();
    assert.equal(c.published, 3 + 4); // and the first configuration's 4 system events
    assert.equal(c.delivered, 5);
    assert.equal(c.subscriptions, 2);
    assert.equal(c.clients, 2);
  });
  it('computes the same outputs on every daemon', () => {
    const run = (): ServiceOutput[][] => {
      const rig = new Rig();
      const outs: ServiceOutput[][] = [];
      const a = rig.publisher(A, 'alice');
      const b = rig.connect(B, 'bob');
      outs.push(rig.send(B, { op: 'subscribe', client: b, subscription: 'event_name=E1' }));
      for (let i = 0; i < 5; i++) outs.push(rig.send(A, { op: 'publish', client: a, name: i % 2 ? 'E1' : 'I1', payload: `n${i}` }));
      outs.push(rig.engine.step({ kind: 'configuration', configuration: regular(['d1', 'd3'], ['d1', 'd2', 'd3'], 2) }));
      return outs;
    };
    assert.deepEqual(run(), run());
  });
});

describe('events engine: reattach and retention', () => {
  it('keeps a subscriber whose daemon left, and delivers after it resumes elsewhere (missed ones counted)', () => {
    const rig = new Rig({ retentionMs: 5000 });
    const a = rig.publisher(A, 'alice');
    const sub = rig.connect(B, 'bob', { space: 'app.mon.bob' });
    const s = rig.ok(B, { op: 'subscribe', client: sub, subscription: 'event_space=app.all.all', depth: 'all' }, { safe: true }).subscription;
    assert.equal(pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' }))[0]!.to, B);
    // d2 dies: the configuration without it detaches bob.
    rig.engine.step({ kind: 'configuration', configuration: regular(['d1', 'd3'], ['d1', 'd2', 'd3'], 2) });
    assert.deepEqual(pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' })), []);
    assert.equal(rig.engine.counters().dropped, 1);
    assert.notEqual(rig.engine.nextDeadline(), null);
    // bob reconnects through d3.
    const B2 = '#bob#d3';
    const r = rig.ok(B2, { op: 'connect', clientName: 'bob', space: 'app.mon.bob', resume: true, host: 'h2', pid: 43 });
    assert.equal(r.resumed, true);
    assert.equal(r.client, sub);
    assert.equal(r.missed, 1);
    assert.deepEqual(r.subscriptions, [{ subscription: s, filter: 'event_space=app.all.all', depth: 3 }]);
    assert.equal(rig.engine.nextDeadline(), null);
    const after = pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' }));
    assert.deepEqual(after.map((p) => [p.to, p.push.subscription, p.push.event.seq]), [[B2, s, 3]]);
    // The old session can no longer use the handle; the new one can.
    rig.err(B, { op: 'unsubscribe', client: sub, subscription: s }, 'FTB_ERR_INVALID_HANDLE');
    rig.ok(B2, { op: 'unsubscribe', client: sub, subscription: s });
  });
  it('detaches on sessionGone, and resume takes over a name still attached elsewhere', () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    const b = rig.connect(B, 'bob');
    rig.ok(B, { op: 'subscribe', client: b, subscription: 'all' });
    rig.engine.step({ kind: 'sessionGone', privateGroup: B });
    assert.deepEqual(pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' })), []);
    const r = rig.ok(C, { op: 'connect', clientName: 'bob', space: 'app.mpi.rank', resume: true });
    assert.equal(r.missed, 1);
    assert.deepEqual(pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' })).map((p) => p.to), [C]);
    // Still attached at C; resume from B (e.g. the client thinks C died) takes it over.
    rig.ok(B, { op: 'connect', clientName: 'bob', space: 'app.mpi.rank', resume: true });
    assert.deepEqual(pushes(rig.send(A, { op: 'publish', client: a, name: 'E1' })).map((p) => p.to), [B]);
    rig.err(C, { op: 'connect', clientName: 'bob', space: 'other.space.x', resume: true }, 'FTB_ERR_DUP_CALL');
  });
  it('resume of an unknown name starts a new client', () => {
    const rig = new Rig();
    const r = rig.ok(A, { op: 'connect', clientName: 'alice', space: 'a.b.c', resume: true });
    assert.equal(r.resumed, false);
    assert.deepEqual(r.subscriptions, []);
  });
  it('a connect without resume of a detached name starts over without the old subscriptions', () => {
    const rig = new Rig();
    const b = rig.connect(B, 'bob');
    rig.ok(B, { op: 'subscribe', client: b, subscription: 'all' });
    rig.engine.step({ kind: 'sessionGone', privateGroup: B });
    const r = rig.ok(C, { op: 'connect', clientName: 'bob', space: 'app.mpi.rank' });
    assert.notEqual(r.client, b);
    assert.deepEqual(r.subscriptions, []);
  });
  it('drops detached clients once the retention has passed (ticks)', () => {
    const rig = new Rig({ retentionMs: 1000 });
    const b = rig.connect(B, 'bob');
    rig.ok(B, { op: 'subscribe', client: b, subscription: 'all' });
    rig.engine.step({ kind: 'sessionGone', privateGroup: B });
    const due = rig.engine.nextDeadline();
    assert.equal(due, rig.time + 1000);
    rig.engine.step({ kind: 'tick', time: due! - 1 });
    assert.equal(rig.engine.counters().clients, 1);
    rig.engine.step({ kind: 'tick', time: due! });
    assert.equal(rig.engine.counters().clients, 0);
    assert.equal(rig.engine.counters().expired, 1);
    assert.equal(rig.engine.nextDeadline(), null);
    assert.equal(rig.ok(C, { op: 'connect', clientName: 'bob', space: 'app.mpi.rank', resume: true }).resumed, false);
  });
  it('refuses more clients than allowed', () => {
    const rig = new Rig({ maxClients: 1 });
    rig.connect(A, 'alice');
    rig.err(B, { op: 'connect', clientName: 'bob', space: 'a.b.c' }, 'FTB_ERR_GENERAL');
  });
});

describe('events engine: system events', () => {
  const watch = (rig: Rig, from: string, subscription = 'event_space=ringcast.system.daemon'): void => {
    const c = rig.connect(from, `w${from.length}${from.slice(-2)}`);
    rig.ok(from, { op: 'subscribe', client: c, subscription });
  };
  it('publishes DAEMON_LEFT, DAEMON_JOINED and CONFIGURATION_INSTALLED for regular configurations', () => {
    const rig = new Rig();
    watch(rig, A);
    rig.time = 5000;
    rig.send(A, { op: 'nothing' }); // the engine's clock: the latest input time
    const out = rig.engine.step({ kind: 'configuration', configuration: regular(['d1', 'd3', 'd4'], ['d1', 'd2', 'd3'], 7) });
    const events = pushes(out).map((p) => p.push.event);
    assert.deepEqual(
      events.map((e) => [e.name, e.severity, e.host]),
      [
        ['DAEMON_LEFT', 'WARNING', 'd2'],
        ['DAEMON_JOINED', 'INFO', 'd4'],
        ['CONFIGURATION_INSTALLED', 'INFO', 'd1'],
      ],
    );
    assert.deepEqual(events[0]!.payload, { daemon: 'd2', ring: '7.d1', members: ['d1', 'd3', 'd4'] });
    assert.deepEqual(events[2]!.payload, { ring: '7.d1', ringSeq: 7, members: ['d1', 'd3', 'd4'], joined: ['d4'], left: ['d2'] });
    for (const e of events) {
      assert.equal(e.space, 'ringcast.system.daemon');
      assert.equal(e.client, 'ringcast');
      assert.equal(e.time, 5010);
    }
    assert.equal(new Set(events.map((e) => e.handle)).size, 3);
    assert.deepEqual(events.map((e) => e.seq), [5, 6, 7]); // 1..4: the first configuration's
    const transitional = rig.engine.step({ kind: 'configuration', configuration: { ...regular(['d1'], ['d1', 'd3', 'd4'], 8), kind: 'transitional' } });
    assert.deepEqual(pushes(transitional), []);
  });
  it('publishes systemPublish requests of daemons only, with handle and beginHandle', () => {
    const rig = new Rig();
    watch(rig, A, 'event_space=ringcast.checkpoint.blcr');
    const daemon = `${DAEMON_SENDER_PREFIX}d2`;
    const begin = pushes(
      rig.send(daemon, { op: 'systemPublish', space: 'ringcast.checkpoint.blcr', name: 'CHKPT_BEGIN', severity: 'INFO', payload: { checkpoint: 'c1' }, handle: 'ckpt:7.d1#3' }, { noId: true }),
    );
    assert.equal(begin.length, 1);
    const b = begin[0]!.push.event;
    assert.equal(b.handle, 'ckpt:7.d1#3');
    assert.equal(b.eventType, 'normal');
    assert.equal(b.client, 'd2');
    assert.equal(b.host, 'd2');
    const end = pushes(rig.send(daemon, { op: 'systemPublish', space: 'ringcast.checkpoint.blcr', name: 'CHKPT_ERROR', severity: 'ERROR', payload: { code: 12 }, beginHandle: b.handle }, { noId: true }))[0]!.push.event;
    assert.equal(end.beginHandle, 'ckpt:7.d1#3');
    assert.equal(end.eventType, 'response');
    assert.equal(end.handle, `sys:d2#${end.seq}`);
    assert.equal(end.seq, b.seq + 1);
    // Malformed ones are dropped and counted; there is no one to answer.
    const bad = [
      { space: 'bad', name: 'X', severity: 'INFO' },
      { space: 'a.b.c', name: 'bad name', severity: 'INFO' },
      { space: 'a.b.c', name: 'X', severity: 'LOUD' },
      { space: 'a.b.c', name: 'X', severity: 'INFO', payload: 'p'.repeat(5000) },
      { space: 'a.b.c', name: 'X', severity: 'INFO', beginHandle: 7 },
      { space: 'a.b.c', name: 'X', severity: 'INFO', handle: '' },
    ];
    for (const body of bad) assert.deepEqual(rig.send(daemon, { op: 'systemPublish', ...body }, { noId: true }), []);
    assert.equal(rig.engine.counters().systemRejected, bad.length);
  });
  it('takes a payload map with error and message fields for a payload, not a failure (regression)', () => {
    const rig = new Rig();
    watch(rig, A, 'event_space=ringcast.checkpoint.service');
    const payload = { checkpoint: 'small', op: 'overwrite', error: 'SA_AIS_ERR_INVALID_PARAM', message: 'too big' };
    const got = pushes(rig.send(`${DAEMON_SENDER_PREFIX}d2`, { op: 'systemPublish', space: 'ringcast.checkpoint.service', name: 'WRITE_ERROR', severity: 'WARNING', payload }, { noId: true }));
    assert.equal(got.length, 1);
    assert.deepEqual(got[0]!.push.event.payload, payload);
    assert.equal(rig.engine.counters().systemRejected, 0);
  });
});

describe('events engine: snapshot and merge', () => {
  const roundTrip = (s: unknown): unknown => msgpack.decode(msgpack.encode(s));

  it('snapshots to msgpack and back unchanged', () => {
    const rig = new Rig();
    const a = rig.publisher(A, 'alice');
    rig.ok(A, { op: 'subscribe', client: a, subscription: 'severity=error,jobid=j1' });
    const snap = rig.engine.snapshot();
    const other = new EventsEngine();
    other.merge([roundTrip(snap)]);
    assert.deepEqual(other.snapshot(), snap);
  });
  it('merges deterministically: union by name, newest stamp, largest sequence numbers', () => {
    // Two partitions that shared alice, then went apart.
    const p1 = new Rig();
    const p2 = new Rig();
    for (const rig of [p1, p2]) {
      const a = rig.publisher(A, 'alice');
      rig.ok(A, { op: 'subscribe', client: a, subscription: 'all' });
    }
    p1.time = p2.time; // same history so far
    const a1 = p1.engine.snapshot();
    // p1: alice publishes 3 times; carol appears. p2: bob appears; alice resumes at d2 later (newer stamp).
    const alice1 = (a1 as { clients: Array<{ handle: string }> }).clients[0]!.handle;
    for (let i = 0; i < 3; i++) p1.ok(A, { op: 'publish', client: alice1, name: 'E1' });
    p1.connect(C, 'carol');
    p2.engine.step({ kind: 'configuration', configuration: regular(['d2'], ['d1', 'd2', 'd3'], 2) });
    p2.connect(B, 'bob');
    p2.time += 1000;
    const aliceAtD2 = '#alice#d2';
    p2.ok(aliceAtD2, { op: 'connect', clientName: 'alice', space: 'app.mpi.rank', resume: true });
    const s1 = roundTrip(p1.engine.snapshot());
    const s2 = roundTrip(p2.engine.snapshot());
    const m1 = new EventsEngine();
    const m2 = new EventsEngine();
    m1.merge([s1, s2]);
    m2.merge([s1, s2]);
    assert.deepEqual(m1.snapshot(), m2.snapshot());
    const merged = m1.snapshot() as { clients: Array<{ name: string; session: string | null; seq: number }> };
    assert.deepEqual(merged.clients.map((c) => c.name), ['alice', 'bob', 'carol']);
    const alice = merged.clients[0]!;
    assert.equal(alice.session, aliceAtD2); // p2's resume is newer
    assert.equal(alice.seq, 3); // p1's publishes are not forgotten
  });
  it('prefers the attached record when stamps tie, and detaches clients of daemons outside the configuration', () => {
    const p1 = new Rig();
    const b = p1.connect(B, 'bob');
    p1.ok(B, { op: 'subscribe', client: b, subscription: 'all' });
    const p2 = new EventsEngine();
    p2.merge([p1.engine.snapshot()]);
    // p2's side lost d2: bob is detached there with the same stamp.
    p2.step({ kind: 'configuration', configuration: regular(['d1', 'd3'], ['d1', 'd2', 'd3'], 2) });
    const detached = (p2.snapshot() as { clients: Array<{ session: string | null }> }).clients[0]!;
    assert.equal(detached.session, null);
    for (const order of [[p2.snapshot(), p1.engine.snapshot()], [p1.engine.snapshot(), p2.snapshot()]]) {
      const m = new EventsEngine();
      m.step({ kind: 'configuration', configuration: regular(['d1', 'd2', 'd3'], [], 3) });
      m.merge(order);
      assert.equal((m.snapshot() as { clients: Array<{ session: string | null }> }).clients[0]!.session, B);
      // With d2 not in the merged configuration, bob is detached after the merge.
      const m2 = new EventsEngine();
      m2.step({ kind: 'configuration', configuration: regular(['d1', 'd3'], [], 3) });
      m2.merge(order);
      assert.equal((m2.snapshot() as { clients: Array<{ session: string | null }> }).clients[0]!.session, null);
    }
  });
  it('a disconnect on one side of a partition outweighs the other side\'s older record; a newer resume outweighs it', () => {
    // alice attached through d1; the partition puts d1 alone (p1) and d2, d3 apart (p2, alice detached there).
    const p1 = new Rig();
    const a = p1.connect(A, 'alice');
    p1.ok(A, { op: 'subscribe', client: a, subscription: 'all' });
    const p2 = new Rig();
    p2.engine.merge([p1.engine.snapshot()]);
    p2.time = p1.time;
    p1.engine.step({ kind: 'configuration', configuration: regular(['d1'], ['d1', 'd2', 'd3'], 2) });
    p2.engine.step({ kind: 'configuration', configuration: regular(['d2', 'd3'], ['d1', 'd2', 'd3'], 2) });
    p1.ok(A, { op: 'disconnect', client: a });
    const healed = (...snaps: unknown[]) => {
      const m = new EventsEngine();
      m.step({ kind: 'configuration', configuration: regular(['d1', 'd2', 'd3'], [], 3) });
      m.merge(snaps.map(roundTrip));
      return m;
    };
    for (const m of [healed(p1.engine.snapshot(), p2.engine.snapshot()), healed(p2.engine.snapshot(), p1.engine.snapshot())]) {
      assert.equal(m.counters().clients, 0, 'alice stays disconnected');
      // The tombstone goes after the retention, through ticks.
      const due = m.nextDeadline();
      assert.ok(due !== null);
      m.step({ kind: 'tick', time: due });
      assert.equal(m.nextDeadline(), null);
      assert.equal((m.snapshot() as { gone: unknown[] }).gone.length, 0);
    }
    // alice resumed on p2's side after the disconnect on p1's: the resume is the latest change.
    p2.time = p1.time + 1000;
    p2.ok('#alice#d2', { op: 'connect', clientName: 'alice', space: 'app.mpi.rank', resume: true });
    const m = healed(p1.engine.snapshot(), p2.engine.snapshot());
    assert.deepEqual((m.snapshot() as { clients: Array<{ name: string; session: string }> }).clients.map((c) => [c.name, c.session]), [['alice', '#alice#d2']]);
    assert.deepEqual((m.snapshot() as { gone: unknown[] }).gone, []);
  });

  it('takes snapshots without tombstones (daemons from before them)', () => {
    const rig = new Rig();
    rig.connect(A, 'alice');
    const old = roundTrip(rig.engine.snapshot()) as Record<string, unknown>;
    delete old.gone;
    const m = new EventsEngine();
    m.merge([old]);
    assert.equal(m.counters().clients, 1);
    assert.equal(m.counters().snapshotsSkipped, 0);
  });

  it('skips snapshots that do not decode, and counts them', () => {
    const rig = new Rig();
    rig.connect(A, 'alice');
    const good = rig.engine.snapshot();
    const m = new EventsEngine();
    const bad: unknown[] = [
      null,
      42,
      { v: 2 },
      { v: 1, now: 0, systemSeq: [], clients: [{ name: 'x' }] },
      { v: 1, now: 0, systemSeq: [['a', -1]], clients: [] },
      { ...(good as object), clients: [{ ...(good as { clients: object[] }).clients[0]!, subscriptions: [['h', 'colour=red', 1]] }] },
    ];
    m.merge([...bad, good]);
    assert.equal(m.counters().snapshotsSkipped, bad.length);
    assert.deepEqual(m.snapshot(), good);
  });
  it('merge is a function of the list alone (property)', function () {
    this.timeout(30_000);
    const names = ['alice', 'bob', 'carol'];
    const action = fc.record({
      who: fc.constantFrom(...names),
      daemon: fc.constantFrom('d1', 'd2', 'd3'),
      what: fc.constantFrom('connect', 'resume', 'subscribe', 'publish', 'gone', 'disconnect'),
    });
    fc.assert(
      fc.property(fc.array(fc.array(action, { maxLength: 12 }), { minLength: 1, maxLength: 3 }), (histories) => {
        const snaps = histories.map((history, i) => {
          const rig = new Rig();
          rig.time += i * 7;
          const handles = new Map<string, string>();
          for (const { who, daemon, what } of history) {
            const group = `#${who}#${daemon}`;
            const space = 'app.x.y';
            if (what === 'connect' || what === 'resume') {
              const r = rig.call(group, { op: 'connect', clientName: who, space, resume: what === 'resume' });
              if (r.ok) {
                handles.set(who, r.client as string);
                rig.call(group, { op: 'declare', client: r.client, events: [{ name: 'E', severity: 'INFO' }] });
              }
            } else if (what === 'gone') rig.engine.step({ kind: 'sessionGone', privateGroup: group });
            else rig.send(group, { op: what, client: handles.get(who), subscription: 'all', name: 'E' });
          }
          return roundTrip(rig.engine.snapshot());
        });
        const m1 = new EventsEngine();
        const m2 = new EventsEngine();
        m1.merge(snaps);
        m2.merge(snaps.map(roundTrip));
        assert.deepEqual(m1.snapshot(), m2.snapshot());
        // Merging the merge with itself changes nothing.
        const m3 = new EventsEngine();
        m3.merge([m1.snapshot(), m1.snapshot()]);
        assert.deepEqual(m3.snapshot(), m1.snapshot());
        // A client is either there or disconnected (a tombstone), never both.
        const merged = m1.snapshot() as { clients: Array<{ name: string }>; gone: Array<[string]> };
        for (const [name] of merged.gone) assert.ok(!merged.clients.some((c) => c.name === name), name);
      }),
      { numRuns: 200 },
    );
  });
});

describe('events: subscription strings', () => {
  const valid: Array<[string, Partial<SubscriptionFilter>]> = [
    ['', {}],
    ['all', {}],
    ['  ALL ', {}],
    ['severity=fatal', { severity: 'FATAL' }],
    ['severity=all', {}],
    ['event_space=ftb.mpi.all', { region: 'ftb', category: 'mpi', component: 'all' }],
    ['event_space=ALL.All.all', {}],
    ['event_space=all', {}],
    ['jobid=1234,host_name=node-7.cluster', { jobId: '1234', host: 'node-7.cluster' }],
    ['Event_Name=CHKPT_BEGIN , client_name=bob', { eventName: 'CHKPT_BEGIN', clientName: 'bob' }],
    ['\tseverity = warning\t', { severity: 'WARNING' }],
  ];
  for (const [text, fields] of valid) {
    it(`parses ${JSON.stringify(text)}`, () => {
      assert.deepEqual(parseSubscription(text), { ...MATCH_ALL, ...fields });
    });
  }
  const invalid: Array<[unknown, string]> = [
    ['severity', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['severity=', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['=error', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['severity=error,', 'FTB_ERR_SUBSCRIPTION_STR'],
    [',severity=error', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['severity=error=fatal', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['severity=error,severity=info', 'FTB_ERR_SUBSCRIPTION_STR'],
    ['severity=error,SEVERITY=info', 'FTB_ERR_SUBSCRIPTION_STR'],
    [Array(11).fill('severity=info').join(','), 'FTB_ERR_SUBSCRIPTION_STR'],
    ['x'.repeat(2000), 'FTB_ERR_SUBSCRIPTION_STR'],
    [undefined, 'FTB_ERR_SUBSCRIPTION_STR'],
    [['severity=info'], 'FTB_ERR_SUBSCRIPTION_STR'],
    ['sever ity=error', 'FTB_ERR_FILTER_ATTR'],
    ['colour=red', 'FTB_ERR_FILTER_ATTR'],
    ['severity=very bad', 'FTB_ERR_FILTER_VALUE'],
    ['severity=performance', 'FTB_ERR_FILTER_VALUE'],
    ['jobid=12345678901234567', 'FTB_ERR_FILTER_VALUE'],
    [`host_name=${'h'.repeat(64)}`, 'FTB_ERR_FILTER_VALUE'],
    ['event_name=bad-name', 'FTB_ERR_FILTER_VALUE'],
    [`event_name=${'E'.repeat(32)}`, 'FTB_ERR_FILTER_VALUE'],
    ['client_name=a:b', 'FTB_ERR_FILTER_VALUE'],
    ['event_space=a.b', 'FTB_ERR_EVENTSPACE_FORMAT'],
    ['event_space=a.b.c.d', 'FTB_ERR_EVENTSPACE_FORMAT'],
    ['event_space=a.b-c.d', 'FTB_ERR_EVENTSPACE_FORMAT'],
  ];
  for (const [text, error] of invalid) {
    it(`rejects ${JSON.stringify(text)?.slice(0, 60)} with ${error}`, () => {
      const r = parseSubscription(text);
      assert.ok(isFailure(r), JSON.stringify(r));
      assert.equal(r.error, error);
    });
  }
  it('never throws, whatever the input (fuzz)', function () {
    this.timeout(30_000);
    const token = fc.constantFrom('severity', 'event_space', 'jobid', 'host_name', 'event_name', 'client_name', 'all', 'error', 'a.b.c', '=', ',', ' ', '\t', '.', 'x');
    const built = fc.array(token, { maxLength: 30 }).map((t) => t.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 100 }), built, fc.anything()), (input) => {
        const r = parseSubscription(input);
        assert.ok(isFailure(r) || typeof r.severity === 'string');
        if (!isFailure(r)) assert.deepEqual(parseSubscription(formatSubscription(r)), r);
      }),
      { numRuns: 1000 },
    );
  });
  it('formats a filter so that it parses back (property)', () => {
    const word = fc.stringMatching(/^[A-Za-z0-9_]{1,8}$/);
    const filter = fc.record({
      region: word,
      category: word,
      component: word,
      severity: fc.constantFrom('all', 'FATAL', 'ERROR', 'WARNING', 'INFO'),
      jobId: fc.oneof(fc.constant('all'), fc.stringMatching(/^[a-z0-9.-]{1,15}$/)),
      host: fc.oneof(fc.constant('all'), fc.stringMatching(/^[a-z0-9.-]{1,30}$/)),
      eventName: fc.oneof(fc.constant('all'), word),
      clientName: fc.oneof(fc.constant('all'), word),
    });
    fc.assert(
      fc.property(filter, (f) => {
        const parsed = parseSubscription(formatSubscription(f));
        assert.ok(!isFailure(parsed));
        // Wildcards come back as the canonical lower-case `all`.
        const canon = Object.fromEntries(Object.entries(f).map(([k, v]) => [k, v.toLowerCase() === 'all' ? 'all' : v]));
        assert.deepEqual(parsed, canon);
      }),
    );
  });
});

describe('events: matching', () => {
  const event: EventRecord = {
    handle: 'h',
    space: 'ftb.mpi.rank',
    name: 'PROC_DEAD',
    severity: 'ERROR',
    eventType: 'normal',
    client: 'mpirun',
    jobId: 'j42',
    host: 'node7',
    pid: 1,
    seq: 1,
    time: 0,
  };
  const cases: Array<[string, boolean]> = [
    ['all', true],
    ['event_space=ftb.mpi.rank', true],
    ['event_space=FTB.MPI.RANK', true],
    ['event_space=ftb.all.all', true],
    ['event_space=all.mpi.all', true],
    ['event_space=ftb.mpi.other', false],
    ['event_space=other.mpi.rank', false],
    ['severity=error', true],
    ['severity=fatal', false],
    ['event_name=proc_dead', true],
    ['event_name=PROC_ALIVE', false],
    ['event_name=PROC_DEAD,severity=fatal', false], // every field counts (FTB would skip severity here)
    ['client_name=mpirun,jobid=j42,host_name=node7', true],
    ['client_name=other', false],
    ['jobid=j43', false],
    ['host_name=node8', false],
  ];
  for (const [text, expected] of cases) {
    it(`${text} ${expected ? 'matches' : 'does not match'}`, () => {
      const filter = parseSubscription(text);
      assert.ok(!isFailure(filter));
      assert.equal(matches(filter, event), expected);
    });
  }
});

// The daemon side of `ringcast status`: a message to #ringcast-status is answered by the session
// server from its own state (sessions, groups, per-daemon clients) and the status provider
// (ring, links, counters), never put on the ring; anything else sent there is dropped; a provider
// that fails does not hurt the session. Also the client library and the CLI formatting against
// a real server on TCP, and the Daemon's provider.
import { strict as assert } from 'node:assert';
import { connect } from '../../src/client/connect';
import { requestStatus } from '../../src/client/statusProtocol';
import { formatStatus, statusOutput } from '../../src/cli/status';
import { parseConfig } from '../../src/config';
import { Daemon } from '../../src/daemon/daemon';
import { daemonStatusProvider, linksOf } from '../../src/daemon/statusProvider';
import { SessionServer } from '../../src/session';
import { MessageType, messTypeOf } from '../../src/wire/client';
import { STATUS_GROUP, STATUS_REPLY, STATUS_REQUEST, decodeStatusReport, encodeStatusRequest, type StatusReport } from '../../src/wire/status';
import { summarize } from './groupsFixtures';
import { FakeRing, RawClient, connectTo, regularOf, singleDaemon, sleep } from './sessionFixtures';

const { RELIABLE_MESS, AGREED_MESS, JOIN_MESS } = MessageType;
const D1 = { id: 1, name: 'd1' };
const D2 = { id: 2, name: 'd2' };

async function next(c: RawClient): Promise<string> {
  return summarize([await c.frameBytes()])[0]!;
}

async function joined(c: RawClient, ...groups: string[]): Promise<void> {
  for (const g of groups) {
    c.send(JOIN_MESS, [g]);
    for (;;) if ((await next(c)).includes(`vs=*[${c.privateGroup}]`)) break;
  }
}

/** Sends a status request and reads the reply frame (asserting its header). */
async function ask(c: RawClient, id = 'q1', service: number = RELIABLE_MESS): Promise<StatusReport> {
  c.send(service, [STATUS_GROUP], encodeStatusRequest(id), STATUS_REQUEST);
  let f = await c.frame();
  while (f.sender !== STATUS_GROUP) f = await c.frame(); // membership messages sent before
  assert.equal(f.type, RELIABLE_MESS);
  assert.equal(f.sender, STATUS_GROUP);
  assert.deepEqual(f.groups, [c.privateGroup]);
  assert.equal(messTypeOf(f.hint), STATUS_REPLY);
  const report = decodeStatusReport(f.data, id);
  assert.ok(report, `a report for ${id}: ${f.data.toString()}`);
  return report;
}

describe('session server: status queries', function () {
  it('answers locally with ring, sessions, groups and counters; nothing goes on the ring', async function () {
    const { ring, server, connect: open } = singleDaemon(D1, 7);
    const a = open();
    await a.connect('a');
    await joined(a, 'g', 'h');
    const b = open();
    await b.connect('b');
    await joined(b, 'g');
    assert.match(await next(a), /^CAUSED_BY_JOIN\|REG_MEMB_MESS g \[#a#d1 #b#d1\]/);
    const before = ring.delivered;
    const submitted = server.counters.submitted;

    const r = await ask(b, 'first');
    assert.equal(r.v, 1);
    assert.equal(r.id, 'first');
    assert.equal(r.daemon.name, 'd1');
    assert.equal(r.daemon.id, 1);
    assert.deepEqual(r.ring, { id: '7.d1', members: ['d1'] });
    assert.equal(r.linksNote, 'link status not available');
    assert.equal(r.links, undefined);
    assert.equal(r.sessions?.local, 2);
    assert.deepEqual([...(r.sessions?.names ?? [])].sort(), ['#a#d1', '#b#d1']);
    assert.deepEqual(r.sessions?.perDaemon, { d1: 2 });
    assert.deepEqual(
      r.groups?.map((g) => [g.name, g.members]),
      [
        ['g', 2],
        ['h', 1],
      ],
    );
    assert.match(r.groups![0]!.id, /^7\.\d+\.1$/);
    assert.equal(r.groupCount, 2);
    assert.equal(r.groupsState, 'operational');
    assert.equal(r.counters?.sessions?.statusRequests, 1);
    assert.equal(r.counters?.sessions?.open, 2);
    // Not through the ring, and no one else hears of it.
    await sleep(10);
    assert.equal(ring.delivered, before);
    assert.equal(server.counters.submitted, submitted);
    await a.quiet(30);

    // Asked again (any service), answered again; the session still works.
    const again = await ask(b, 'second', AGREED_MESS);
    assert.equal(again.counters?.sessions?.statusRequests, 2);
    b.send(AGREED_MESS, ['g'], 'after');
    assert.equal(await next(b), 'AGREED #b#d1 -> g: after');
    assert.equal(await next(a), 'AGREED #b#d1 -> g: after');
    await server.close();
  });

  it('drops other messages to the status group (no reply, the session stays) and goes on', async function () {
    const { server, connect: open } = singleDaemon(D1, 3);
    const a = open();
    await a.connect('a');
    a.send(RELIABLE_MESS, [STATUS_GROUP], 'not json', STATUS_REQUEST);
    a.send(RELIABLE_MESS, [STATUS_GROUP], JSON.stringify({ v: 1, request: 'other', id: 'x' }));
    await a.quiet(30);
    assert.equal(server.statusCounters.statusIgnored, 2);
    const r = await ask(a, 'ok');
    assert.equal(r.counters?.sessions?.statusIgnored, 2);
    await server.close();
  });

  it('takes ring, links and counters from the provider; a failing provider gives an error field only', async function () {
    const { server, connect: open } = singleDaemon(D1, 3);
    server.setStatusProvider(() => ({
      daemon: { incarnation: 5, version: '9.9.9' },
      ring: { id: '3.d1', members: ['d1', 'd2@5'], state: 'operational' },
      links: { d2: [{ address: '10.0.0.2:4803', state: 'up', counters: { sent: 4 } }] },
      counters: { ring: { rotations: 10 } },
    }));
    const a = open();
    await a.connect('a');
    const r = await ask(a);
    assert.equal(r.daemon.incarnation, 5);
    assert.equal(r.daemon.version, '9.9.9');
    assert.deepEqual(r.ring, { id: '3.d1', members: ['d1', 'd2@5'], state: 'operational' });
    assert.deepEqual(r.links, { d2: [{ address: '10.0.0.2:4803', state: 'up', counters: { sent: 4 } }] });
    assert.equal(r.linksNote, undefined);
    assert.deepEqual(r.counters?.ring, { rotations: 10 });
    assert.ok(r.counters?.sessions);

    server.setStatusProvider(() => {
      throw new Error('boom');
    });
    const broken = await ask(a, 'q2');
    assert.equal(broken.error, 'status provider failed: boom');
    assert.deepEqual(broken.ring, { id: '3.d1', members: ['d1'] });
    await server.close();
  });

  it('counts the clients of every daemon that the groups state knows', async function () {
    const ring = new FakeRing([D1, D2]);
    const change = regularOf(4, 1, [1, 2]);
    for (const d of [1, 2]) ring.port(d).current = change;
    const s1 = new SessionServer(ring.port(1));
    const s2 = new SessionServer(ring.port(2));
    const a = connectTo(s1);
    await a.connect('a');
    const b = connectTo(s2);
    await b.connect('b');
    const c = connectTo(s2);
    await c.connect('c');
    const idle = connectTo(s2);
    await idle.connect('idle'); // in no group: only d2 itself knows of it
    await joined(a, 'g');
    await joined(b, 'g');
    await joined(c, 'h');
    await sleep(10);
    const r = await ask(a);
    assert.deepEqual(r.ring, { id: '4.d1', members: ['d1', 'd2'] });
    assert.deepEqual(r.sessions?.perDaemon, { d1: 1, d2: 2 });
    assert.equal(r.sessions?.local, 1);
    const r2 = await ask(idle);
    assert.equal(r2.sessions?.local, 3);
    await Promise.all([s1.close(), s2.close()]);
  });

  it('client library and `ringcast status` formatting against a server on TCP', async function () {
    const { server } = singleDaemon(D1, 3, { tcp: [{ host: '127.0.0.1', port: 0 }] });
    await server.listen();
    try {
      const port = Number(server.addresses()[0]!.split(':').pop());
      const session = await connect({ daemon: `${port}@127.0.0.1`, name: 'st', membership: false });
      await session.join('g');
      await sleep(20);
      const report = await requestStatus(session, 2000);
      assert.ok(report);
      assert.deepEqual(report.sessions?.names, ['#st#d1']);
      const lines = formatStatus(statusOutput(session, report), 2000);
      const text = lines.join('\n');
      assert.match(lines[0]!, /^daemon {5}d1 at \d+@127\.0\.0\.1 \(Spread protocol 5\.0\.1; id 1, up \d+s\)$/);
      assert.match(text, /^clients {4}127\.0\.0\.1:\d+$/m);
      assert.match(text, /^session {4}#st#d1$/m);
      assert.match(text, /^ring {7}3\.d1: d1$/m);
      assert.match(text, /^links {6}link status not available$/m);
      assert.match(text, /^sessions {3}1 here: #st#d1$/m);
      assert.match(text, /^ {11}clients in groups per daemon: d1 1$/m);
      assert.match(text, /^groups {5}1:\n {11}g 1 member \(id 3\.1\.1\)$/m);
      assert.match(text, /^counters {3}sessions {2}open=1 .*statusRequests=1/m);
      await session.disconnect();
    } finally {
      await server.close();
    }
  });
});

describe('the Daemon status provider', function () {
  it('reports identity, ring (none yet), counters and "link status not available" with one link', function () {
    const config = parseConfig('Spread_Segment 127.0.0.255:4803 {\n  d1 127.0.0.1\n  d2 127.0.0.2\n}\n', 'test.conf');
    const daemon = new Daemon(config, config.hosts[0]!, { incarnation: 3 });
    const s = daemonStatusProvider(daemon, { version: '1.2.3' })();
    assert.deepEqual(s.daemon, { id: config.hosts[0]!.id, incarnation: 3, version: '1.2.3' });
    assert.equal(s.ring, null);
    assert.match(s.linksNote ?? '', /^link status not available/);
    assert.equal(s.links, undefined);
    assert.deepEqual(Object.keys(s.counters ?? {}), ['membership', 'memory']);
    assert.equal(s.counters?.membership?.ringsInstalled, 0);
    const memory = s.counters!.memory!;
    assert.ok(memory.rss! > 0 && memory.heapUsed! > 0 && memory.heapUsed! <= memory.heapTotal!, JSON.stringify(memory));
    assert.equal(memory.storedPackets, 0);
  });

  it('turns a multipath link report into per-member links', function () {
    const links = linksOf(
      {
        mode: 'passive',
        counters: { delivered: 3 },
        peers: [
          {
            name: 'd2',
            addresses: ['10.0.0.2', '10.1.0.2'],
            current: 1,
            links: [
              { link: 0, state: 'down', sent: 5, received: 0, rttMs: null },
              { link: 1, state: 'up', sent: 7, received: 6, rttMs: 0.2 },
            ],
          },
        ],
      },
      4803,
    );
    assert.deepEqual(links, {
      d2: [
        { address: '10.0.0.2:4803', state: 'down', counters: { sent: 5, received: 0 } },
        { address: '10.1.0.2:4803', state: 'up (current)', counters: { sent: 7, received: 6, rttMs: 0.2 } },
      ],
    });
  });
});

// The session server end to end over in-memory connections and a fake ring: the s1 scenario
// byte for byte, every service type, several groups, SELF_DISCARD, open and private groups,
// messages of 1 MiB, several daemons; bad frames of every kind (each closes only its own
// session, with no reply); a client that does not read (backpressure, then disconnect); a ring
// that falls behind (client input pauses); and closing the server.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { daemonVid } from '../../src/config/hash';
import { SessionServer } from '../../src/session';
import { SPREAD_MESSAGE_BYTES } from '../../src/session/options';
import { MessageType, encodeConnect, encodeMessage, hintFor } from '../../src/wire/client';
import { findVectors, loadScenarios, readHex } from './clientWireFixtures';
import { summarize, withoutNamePadding } from './groupsFixtures';
import { FakeRing, RawClient, connectTo, regularOf, singleDaemon, sleep, until } from './sessionFixtures';

const { UNRELIABLE_MESS, RELIABLE_MESS, FIFO_MESS, CAUSAL_MESS, AGREED_MESS, SAFE_MESS, SELF_DISCARD, JOIN_MESS, LEAVE_MESS, KILL_MESS } =
  MessageType;
const SP1 = { id: daemonVid('sp1'), name: 'sp1' };
const vectors = findVectors();

async function next(c: RawClient): Promise<string> {
  return summarize([await c.frameBytes()])[0]!;
}

async function member(connect: () => RawClient, name: string, ...groups: string[]): Promise<RawClient> {
  const c = connect();
  await c.connect(name);
  for (const g of groups) {
    c.send(JOIN_MESS, [g]);
    // Its own join notice (the group may have other members: read until ours).
    for (;;) if ((await next(c)).includes(`vs=*[${c.privateGroup}]`)) break;
  }
  return c;
}

describe('session server: the s1 capture end to end', function () {
  before(function () {
    if (!vectors.dir) this.skip();
  });

  it('gives alice and bob the byte streams Spread gave them', async function () {
    const s = loadScenarios(vectors.dir!).find((x) => x.name === 's1_basic')!;
    const { server, connect } = singleDaemon(SP1, 1795306493);
    const c2s = (file: string): Buffer => readHex(path.join(s.dir, file));
    const alice = connect();
    const bob = connect();
    alice.write(Buffer.concat([c2s('alice_00_c2s_connect.hex'), c2s('alice_02_c2s_authchoice.hex')]));
    await alice.read(6 + 15);
    bob.write(Buffer.concat([c2s('bob_00_c2s_connect.hex'), c2s('bob_02_c2s_authchoice.hex')]));
    await bob.read(6 + 13);
    alice.write(c2s('alice_04_c2s_JOIN_MESS.hex'));
    await alice.frameBytes();
    bob.write(c2s('bob_04_c2s_JOIN_MESS.hex'));
    await alice.frameBytes();
    await bob.frameBytes();
    alice.write(c2s('alice_05_c2s_SAFE.hex'));
    await alice.frameBytes();
    await bob.frameBytes();
    bob.write(c2s('bob_05_c2s_LEAVE_MESS.hex'));
    await bob.frameBytes();
    await alice.frameBytes();
    alice.write(c2s('alice_06_c2s_LEAVE_MESS.hex'));
    await alice.frameBytes();
    alice.write(c2s('alice_07_c2s_KILL_MESS.hex'));
    bob.write(c2s('bob_06_c2s_KILL_MESS.hex'));
    await alice.closed();
    await bob.closed();
    for (const [who, c] of [['alice', alice], ['bob', bob]] as const) {
      const got = Buffer.concat(c.received);
      const want = readHex(path.join(s.dir, `${who}_full_s2c.hex`));
      assert.equal(got.length, want.length, who);
      const handshake = who === 'alice' ? 21 : 19;
      assert.equal(got.subarray(0, handshake).toString('hex'), want.subarray(0, handshake).toString('hex'));
      let at = handshake;
      while (at < want.length) {
        const len = 48 + 32 * want.readInt32LE(at + 36) + want.readInt32LE(at + 44);
        assert.equal(withoutNamePadding(got.subarray(at, at + len)).toString('hex'), withoutNamePadding(want.subarray(at, at + len)).toString('hex'), `${who} at ${at}`);
        at += len;
      }
    }
    // dup2 gets REJECT_NOT_UNIQUE while dup1 is connected.
    const dup1 = connect();
    dup1.write(Buffer.concat([c2s('dup1_00_c2s_connect.hex'), c2s('dup1_02_c2s_authchoice.hex')]));
    await dup1.read(6 + 13);
    const dup2 = connect();
    dup2.write(c2s('dup2_00_c2s_connect.hex'));
    assert.equal((await dup2.closed()).toString('hex'), readHex(path.join(s.dir, 'dup2_01_s2c_reject.hex')).toString('hex'));
    await server.close();
  });
});

describe('session server: messages', function () {
  it('delivers every service type with its type and mess_type, in the order sent', async function () {
    const { server, connect } = singleDaemon(SP1, 1);
    const a = await member(connect, 'a', 'g');
    const b = await member(connect, 'b', 'g');
    await next(a); // b's join
    const services = [UNRELIABLE_MESS, RELIABLE_MESS, FIFO_MESS, CAUSAL_MESS, AGREED_MESS, SAFE_MESS];
    services.forEach((t, i) => a.send(t, ['g'], `m${i}`, 100 + i));
    for (const c of [a, b]) {
      for (const [i, t] of services.entries()) {
        const f = await c.frame();
        assert.equal(f.type, t);
        assert.equal(f.hint, hintFor(100 + i));
        assert.equal(f.data.toString(), `m${i}`);
        assert.deepEqual(f.groups, ['g']);
        assert.equal(f.sender, '#a#sp1');
      }
    }
    await server.close();
  });

  it('several groups reach a session once; SELF_DISCARD; open groups; private groups', async function () {
    const { server, connect } = singleDaemon(SP1, 1);
    const a = await member(connect, 'a', 'g1', 'g2');
    const b = await member(connect, 'b', 'g2');
    await next(a);
    const outsider = await member(connect, 'out');
    a.send(AGREED_MESS, ['g1', 'g2'], 'both');
    a.send(AGREED_MESS | SELF_DISCARD, ['g1', 'g2'], 'others');
    outsider.send(SAFE_MESS, ['g2'], 'open');
    b.send(FIFO_MESS, ['#out#sp1'], 'private');
    assert.deepEqual([await next(a), await next(a)], ['AGREED #a#sp1 -> g1,g2: both', 'SAFE #out#sp1 -> g2: open']);
    assert.deepEqual([await next(b), await next(b), await next(b)], [
      'AGREED #a#sp1 -> g1,g2: both',
      'AGREED|SELF_DISCARD #a#sp1 -> g1,g2: others',
      'SAFE #out#sp1 -> g2: open',
    ]);
    assert.equal(await next(outsider), 'FIFO #b#sp1 -> #out#sp1: private');
    await a.quiet();
    await outsider.quiet();
    await server.close();
  });

  it('carries messages of 1 MiB, and of Spread\'s largest size to 100 groups', async function () {
    const { server, connect } = singleDaemon(SP1, 1);
    const a = await member(connect, 'a', 'g');
    const big = Buffer.alloc(1024 * 1024, 0x5a);
    a.send(AGREED_MESS, ['g'], big);
    const f = await a.frame();
    assert.equal(f.data.length, big.length);
    assert.ok(f.data.equals(big));
    const groups = Array.from({ length: 100 }, (_, i) => `grp${i}`);
    groups[0] = 'g';
    a.send(AGREED_MESS, groups, Buffer.alloc(SPREAD_MESSAGE_BYTES - 3200, 1));
    const g = await a.frame();
    assert.equal(g.groups.length, 100);
    assert.equal(g.data.length, SPREAD_MESSAGE_BYTES - 3200);
    await server.close();
  });

  it('ignores frames after a KILL and tells the others of the disconnect', async function () {
    const { server, connect } = singleDaemon(SP1, 1);
    const a = await member(connect, 'a', 'g');
    const b = await member(connect, 'b', 'g');
    await next(a);
    b.write(
      Buffer.concat([
        encodeMessage({ type: KILL_MESS, sender: '#b#sp1', groups: ['#b#sp1'], hint: hintFor(0), data: Buffer.alloc(0) }),
        encodeMessage({ type: AGREED_MESS, sender: '#b#sp1', groups: ['g'], hint: hintFor(0), data: Buffer.from('after') }),
      ]),
    );
    await b.closed();
    assert.equal(await next(a), 'CAUSED_BY_DISCONNECT|REG_MEMB_MESS g [#a#sp1] vs=*[#b#sp1] #3');
    await a.quiet();
    await server.close();
  });

  it('joins and leaves: the member that leaves gets its self-leave, the group its new membership', async function () {
    const { server, connect } = singleDaemon(SP1, 1);
    const a = await member(connect, 'a', 'g');
    const b = await member(connect, 'b', 'g');
    await next(a);
    b.send(LEAVE_MESS, ['g']);
    assert.equal(await next(b), 'CAUSED_BY_LEAVE g');
    assert.equal(await next(a), 'CAUSED_BY_LEAVE|REG_MEMB_MESS g [#a#sp1] vs=*[#b#sp1] #3');
    const quiet = connect();
    await quiet.connect('quiet', { membership: false });
    quiet.send(JOIN_MESS, ['g']);
    assert.equal(await next(a), 'CAUSED_BY_JOIN|REG_MEMB_MESS g [#a#sp1 #quiet#sp1] vs=*[#quiet#sp1] #4');
    a.send(AGREED_MESS, ['g'], 'hi');
    assert.equal(await next(quiet), 'AGREED #a#sp1 -> g: hi');
    await quiet.quiet();
    assert.deepEqual(server.groups().map((g) => [g.name, g.members]), [['g', ['#a#sp1', '#quiet#sp1']]]);
    await server.close();
  });

  it('joins clients of several daemons into one group, ordered by the configuration', async function () {
    const D1 = { id: daemonVid('d1'), name: 'd1' };
    const D2 = { id: daemonVid('d2'), name: 'd2' };
    const ring = new FakeRing([D2, D1]); // the configuration names d2 first
    const conf = regularOf(50, D1.id, [D1.id, D2.id]);
    const servers = [D1, D2].map((d) => new SessionServer(ring.port(d.id)));
    ring.configure(conf);
    await until(() => ring.queued === 0 && servers.every((s) => s.groups().length === 0), 'the exchange');
    await sleep(10);
    const a = await member(() => connectTo(servers[0]!), 'a', 'g');
    const b = await member(() => connectTo(servers[1]!), 'b', 'g');
    assert.equal(await next(a), 'CAUSED_BY_JOIN|REG_MEMB_MESS g [#b#d2 #a#d1] vs=*[#b#d2] #2');
    a.send(SAFE_MESS, ['g', '#b#d2'], 'across');
    assert.equal(await next(b), 'SAFE #a#d1 -> g,#b#d2: across');
    assert.equal(await next(a), 'SAFE #a#d1 -> g,#b#d2: across');
    await Promise.all(servers.map((s) => s.close()));
  });
});

describe('session server: bad frames close only their own session', function () {
  const header = (type: number, sender: string, numGroups: number, dataLen: number, hint = 0x80000080): Buffer => {
    const b = Buffer.alloc(48);
    b.writeUInt32LE((type | 0x80000080) >>> 0, 0);
    b.write(sender, 4, 'latin1');
    b.writeInt32LE(numGroups, 36);
    b.writeUInt32LE(hint >>> 0, 40);
    b.writeInt32LE(dataLen, 44);
    return b;
  };
  const group = (name: string): Buffer => {
    const b = Buffer.alloc(32);
    b.write(name, 0, 'latin1');
    return b;
  };
  const cases: Array<[string, (pg: string) => Buffer, boolean?]> = [
    ['garbage', () => Buffer.alloc(200, 0xff)],
    ['a truncated frame, then the end of input', (pg) => Buffer.concat([header(AGREED_MESS, pg, 1, 100), group('g'), Buffer.alloc(10)]), true],
    ['an oversized data length', (pg) => header(AGREED_MESS, pg, 1, 0x7fffffff)],
    ['a negative data length', (pg) => header(AGREED_MESS, pg, 1, -5)],
    ['a negative group count', (pg) => header(AGREED_MESS, pg, -1, 0)],
    ['too many groups (101)', (pg) => Buffer.concat([header(AGREED_MESS, pg, 101, 0), ...Array.from({ length: 101 }, (_, i) => group(`g${i}`))])],
    ['a JOIN of an illegal group name', (pg) => Buffer.concat([header(JOIN_MESS, pg, 1, 0), group('bad name')])],
    ['a JOIN of a private group', (pg) => Buffer.concat([header(JOIN_MESS, pg, 1, 0), group('#b#sp1')])],
    ['a JOIN with no group', (pg) => header(JOIN_MESS, pg, 0, 0)],
    ['a group name without its NUL', (pg) => Buffer.concat([header(AGREED_MESS, pg, 1, 0), Buffer.alloc(32, 0x61)])],
    ['another session as sender', () => Buffer.concat([header(AGREED_MESS, '#b#sp1', 1, 0), group('g')])],
    ['two services at once', (pg) => Buffer.concat([header(AGREED_MESS | SAFE_MESS, pg, 1, 0), group('g')])],
    ['GROUPS_MESS', (pg) => header(MessageType.GROUPS_MESS, pg, 0, 0)],
    ['a REJECT_MESS', (pg) => Buffer.concat([header(AGREED_MESS | MessageType.REJECT_MESS, pg, 1, 0), group('g')])],
    ['hint bits outside mess_type', (pg) => Buffer.concat([header(AGREED_MESS, pg, 1, 0, 0x81000080), group('g')])],
    ['a message over the size limit', (pg) => Buffer.concat([header(AGREED_MESS, pg, 1, SPREAD_MESSAGE_BYTES - 31), group('g')])],
  ];

  for (const [what, bytes, thenEnd] of cases) {
    it(what, async function () {
      const { server, connect } = singleDaemon(SP1, 1, { maxMessageBytes: SPREAD_MESSAGE_BYTES });
      const bystander = await member(connect, 'b', 'g');
      const bad = await member(connect, 'bad', 'g');
      assert.match(await next(bystander), /CAUSED_BY_JOIN/);
      bad.write(bytes(bad.privateGroup));
      if (thenEnd) bad.close();
      assert.equal((await bad.closed()).length, 0, 'no reply');
      assert.equal(await next(bystander), 'CAUSED_BY_DISCONNECT|REG_MEMB_MESS g [#b#sp1] vs=*[#bad#sp1] #3');
      if (!thenEnd) assert.equal(server.counters.badFrames, 1);
      // The bystander and new sessions carry on.
      bystander.send(AGREED_MESS, ['g'], 'still here');
      assert.equal(await next(bystander), 'AGREED #b#sp1 -> g: still here');
      const late = await member(connect, 'late', 'g');
      assert.equal(await next(bystander), 'CAUSED_BY_JOIN|REG_MEMB_MESS g [#b#sp1 #late#sp1] vs=*[#late#sp1] #4');
      late.close();
      await server.close();
    });
  }

  it('a name the client never finished (connection closed mid-handshake) is free again', async function () {
    const { server, connect } = singleDaemon(SP1, 1);
    const c = connect();
    c.write(encodeConnect({ name: 'gone', membership: true }));
    await c.read(6);
    c.stream.destroy();
    await sleep(10);
    assert.equal(await connect().connect('gone'), '#gone#sp1');
    await server.close();
  });
});

describe('session server: flow control', function () {
  it('a client that does not read gets backpressure, then is disconnected past MaxSessionMessages', async function () {
    const { server, ring } = singleDaemon(SP1, 1, { maxSessionMessages: 20 });
    const connect = (): RawClient => connectTo(server, 1024);
    const flooder = await member(connect, 'flood', 'g');
    const slow = await member(connect, 'slow', 'g');
    const watcher = await member(connect, 'watch', 'g');
    await next(flooder);
    await next(flooder);
    await next(slow);
    slow.pause();
    // Within the bound: held back, not dropped.
    for (let i = 0; i < 10; i++) flooder.send(AGREED_MESS, ['g'], Buffer.alloc(400, i));
    for (let i = 0; i < 10; i++) await flooder.frame();
    await sleep(20);
    assert.equal(slow.ended, false);
    slow.resume();
    for (let i = 0; i < 10; i++) assert.equal((await slow.frame()).data[0], i);
    slow.pause();
    // Past it: disconnected, and the group is told.
    for (let i = 0; i < 200; i++) flooder.send(AGREED_MESS, ['g'], Buffer.alloc(400, i));
    await until(() => server.counters.tooSlow === 1, 'the slow client to be dropped');
    const seen: string[] = [];
    for (let i = 0; i < 10 + 200 + 1; i++) {
      const s = await next(watcher);
      if (!s.startsWith('AGREED')) seen.push(s);
    }
    assert.deepEqual(seen, ['CAUSED_BY_DISCONNECT|REG_MEMB_MESS g [#flood#sp1 #watch#sp1] vs=*[#slow#sp1] #4']);
    for (let i = 0; i < 200; i++) await flooder.frame();
    slow.resume(); // it reads what reached it before the daemon dropped it, then the end
    await slow.closed();
    assert.ok(ring.delivered > 0);
    await server.close();
  });

  it('a burst from the ring larger than MaxSessionMessages does not drop a client that reads', async function () {
    const { server, ring } = singleDaemon(SP1, 1, { maxSessionMessages: 20 });
    const reader = await member(() => connectTo(server, 1024), 'r', 'g');
    const sender = await member(() => connectTo(server, 1024), 's');
    ring.held = true;
    for (let i = 0; i < 300; i++) sender.send(AGREED_MESS, ['g'], Buffer.alloc(500, i & 0xff));
    await until(() => ring.queued === 300, 'the messages in the ring');
    ring.release(); // all 300 delivered in one go
    for (let i = 0; i < 300; i++) assert.equal((await reader.frame()).data[0], i & 0xff);
    assert.equal(server.counters.tooSlow, 0);
    await server.close();
  });

  it('pauses client input while its messages wait in the ring, and goes on when they are through', async function () {
    const { server, ring, connect } = singleDaemon(SP1, 1, { maxInFlight: 10 });
    const a = await member(connect, 'a', 'g');
    ring.held = true;
    for (let i = 0; i < 60; i++) a.send(AGREED_MESS, ['g'], `m${i}`);
    await sleep(30);
    assert.equal(ring.queued, 10, 'submitted while the ring is held');
    ring.release();
    for (let i = 0; i < 60; i++) assert.equal((await a.frame()).data.toString(), `m${i}`);
    assert.equal(server.counters.submitted, 1 + 60);
    await server.close();
  });

  it('frames read before input paused are not lost when the client then hangs up', async function () {
    const { server, ring, connect } = singleDaemon(SP1, 1, { maxInFlight: 4 });
    const watcher = await member(connect, 'w', 'g');
    const a = await member(connect, 'a');
    ring.held = true;
    a.write(Buffer.concat(Array.from({ length: 12 }, (_, i) => encodeMessage({ type: AGREED_MESS, sender: '#a#sp1', groups: ['g'], hint: hintFor(0), data: Buffer.from(`m${i}`) }))));
    a.close();
    await sleep(20);
    ring.release();
    for (let i = 0; i < 12; i++) assert.equal((await watcher.frame()).data.toString(), `m${i}`);
    await server.close();
  });
});

describe('session server: close()', function () {
  it('closes every session; the other daemons see them disconnect', async function () {
    const D1 = { id: 1, name: 'd1' };
    const D2 = { id: 2, name: 'd2' };
    const ring = new FakeRing([D1, D2]);
    const s1 = new SessionServer(ring.port(1));
    const s2 = new SessionServer(ring.port(2));
    ring.configure(regularOf(10, 1, [1, 2]));
    await until(() => ring.queued === 0, 'the exchange');
    const a = await member(() => connectTo(s1), 'a', 'g');
    const b = await member(() => connectTo(s2), 'b', 'g');
    await next(a);
    await s1.close();
    await a.closed();
    assert.equal(await next(b), 'CAUSED_BY_DISCONNECT|REG_MEMB_MESS g [#b#d2] vs=*[#a#d1] #3');
    assert.equal(s1.sessionCount, 0);
    await s2.close();
  });
});

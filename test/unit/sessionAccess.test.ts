// Client access control and limits of the session server: the auth methods (NULL, IP with its
// allow list, RequiredAuthMethods) over in-memory connections from chosen origins; the Unix
// socket's mode, owner and group and the TCP addresses it listens on (real sockets); sessions per
// daemon, groups per session, a join/leave flood, handshakes that never finish, a client that
// does not read (by bytes) and the ring's in-flight bytes; the sessionRejected hook; and the
// client library choosing its auth methods.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../src/client/connect';
import { parseConfig } from '../../src/config';
import { parseCidr } from '../../src/config/addresses';
import { daemonVid } from '../../src/config/hash';
import { SpreadError } from '../../src/errors';
import { SessionServer, sessionOptionsFromConfig, type SessionServerOptions } from '../../src/session';
import { tcpOrigin, type ClientOrigin } from '../../src/session/clientOrigin';
import { IpAllowList } from '../../src/session/ipAllowList';
import type { SessionRejection } from '../../src/session/sessionRejection';
import { lookupId, withPrivateUmask } from '../../src/session/socketAccess';
import { MessageType, encodeAuthChoice, encodeConnect } from '../../src/wire/client';
import { tcpReach } from '../support/repo';
import { summarize } from './groupsFixtures';
import { FakeRing, RawClient, memoryPair, regularOf, sleep, until } from './sessionFixtures';

const { AGREED_MESS, JOIN_MESS, LEAVE_MESS, REJECT_MESS, CAUSED_BY_JOIN } = MessageType;
const SP1 = { id: daemonVid('sp1'), name: 'sp1' };
const tcp = (address: string): ClientOrigin => ({ kind: 'tcp', address, port: 5000 });

interface Stand {
  server: SessionServer;
  ring: FakeRing;
  rejections: { reason: SessionRejection; remote: string }[];
  /** A raw client on an in-memory connection from `origin` (default: local). */
  from(origin?: ClientOrigin, highWaterMark?: number): RawClient;
}

function stand(options: Partial<SessionServerOptions> = {}): Stand {
  const ring = new FakeRing([SP1]);
  ring.port(SP1.id).current = regularOf(1, SP1.id, [SP1.id]);
  const rejections: Stand['rejections'] = [];
  const server = new SessionServer(ring.port(SP1.id), options, { sessionRejected: (reason, remote) => rejections.push({ reason, remote }) });
  return {
    server,
    ring,
    rejections,
    from(origin, highWaterMark) {
      const [client, daemonSide] = memoryPair(highWaterMark);
      server.handle(daemonSide, origin);
      return new RawClient(client);
    },
  };
}

/** Connect bytes and an auth choice at once; resolves with everything the daemon sent before closing. */
async function refused(c: RawClient, name: string, methods: string[]): Promise<string> {
  c.write(Buffer.concat([encodeConnect({ name, membership: true }), encodeAuthChoice(methods)]));
  return (await c.closed()).toString('hex');
}

const NULL_IP_LIST = '084e554c4c20495020'; // 8, "NULL IP "
const REJECT_AUTH = 'f7';

/** A counter of the `sessions` area of the server's status report. */
function sessionCounter(server: SessionServer, name: string): number {
  return server.statusReport('test').counters?.sessions?.[name] ?? NaN;
}

async function next(c: RawClient): Promise<string> {
  return summarize([await c.frameBytes()])[0]!;
}

describe('session access: auth methods', function () {
  it('NULL lets everyone in by default, from anywhere', async function () {
    const s = stand();
    assert.match(await s.from(tcp('203.0.113.9')).connect('a'), /^#a#sp1$/);
    assert.match(await s.from().connect('b'), /^#b#sp1$/);
    await s.server.close();
  });

  it('IP lets in the addresses of IpAllow and local clients, and refuses others with REJECT_AUTH', async function () {
    const s = stand({ allowedAuthMethods: ['NULL', 'IP'], ipAllow: ['10.0.0.0/8', '2001:db8::/32'] });
    assert.equal(await s.from(tcp('10.1.2.3')).connect('a', { auth: ['IP'] }), '#a#sp1');
    assert.equal(await s.from(tcp('2001:db8::7')).connect('b', { auth: ['IP'] }), '#b#sp1');
    assert.equal(await s.from().connect('c', { auth: ['IP'] }), '#c#sp1', 'the Unix socket is local');
    assert.equal(await refused(s.from(tcp('192.168.1.1')), 'd', ['IP']), NULL_IP_LIST + REJECT_AUTH);
    assert.equal(await refused(s.from(tcp('')), 'e', ['IP']), NULL_IP_LIST + REJECT_AUTH, 'a peer already gone');
    // NULL needs no address; choosing both means both must pass.
    assert.equal(await s.from(tcp('192.168.1.1')).connect('f', { auth: ['NULL'] }), '#f#sp1');
    assert.equal(await refused(s.from(tcp('192.168.1.1')), 'g', ['NULL', 'IP']), NULL_IP_LIST + REJECT_AUTH);
    assert.equal(await s.from(tcp('10.9.9.9')).connect('h', { auth: ['NULL', 'IP'] }), '#h#sp1');
    assert.deepEqual(
      s.rejections.map((r) => [r.reason.kind, r.reason.code, r.remote]),
      [['handshake', 'REJECT_AUTH', '192.168.1.1:5000'], ['handshake', 'REJECT_AUTH', ':5000'], ['handshake', 'REJECT_AUTH', '192.168.1.1:5000']],
    );
    assert.match(s.rejections[0]!.reason.detail, /IP refused: address 192\.168\.1\.1 is not in IpAllow/);
    assert.equal(s.server.counters.rejected, 3);
    // The name a refused client asked for is free again.
    assert.equal(await s.from(tcp('10.0.0.1')).connect('d', { auth: ['IP'] }), '#d#sp1');
    await s.server.close();
  });

  it('refuses a method that is not allowed, even one it could run', async function () {
    const s = stand({ ipAllow: ['0.0.0.0/0'] });
    assert.equal(await refused(s.from(tcp('10.0.0.1')), 'a', ['IP']), '054e554c4c20' + REJECT_AUTH);
    await s.server.close();
  });

  it('RequiredAuthMethods: a client must choose IP, and pass it', async function () {
    const s = stand({ allowedAuthMethods: ['NULL', 'IP'], requiredAuthMethods: ['IP'], ipAllow: ['127.0.0.0/8'] });
    assert.equal(await refused(s.from(tcp('127.0.0.1')), 'a', ['NULL']), NULL_IP_LIST + REJECT_AUTH);
    assert.equal(await s.from(tcp('127.0.0.1')).connect('b', { auth: ['IP'] }), '#b#sp1');
    assert.equal(await s.from(tcp('127.0.0.1')).connect('c', { auth: ['NULL', 'IP'] }), '#c#sp1');
    assert.equal(await refused(s.from(tcp('10.0.0.1')), 'd', ['IP']), NULL_IP_LIST + REJECT_AUTH);
    assert.match(s.rejections[0]!.reason.detail, /auth method IP is required/);
    await s.server.close();
  });

  it('takes its methods from spread.conf: a required method is offered too; IpAllow defaults to loopback', function () {
    const conf = (options: string) => {
      const config = parseConfig(`Spread_Segment 127.0.0.1:4803 { rc1 127.0.0.1 }\n${options}`);
      return sessionOptionsFromConfig(config, config.hosts[0]!);
    };
    assert.deepEqual([conf('').allowedAuthMethods, conf('').requiredAuthMethods, conf('').ipAllow], [['NULL'], [], ['127.0.0.0/8', '::1/128']]);
    assert.deepEqual(conf('RequiredAuthMethods = "IP"').allowedAuthMethods, ['IP']);
    assert.deepEqual(conf('AllowedAuthMethods = "NULL IP PASSWORD"').allowedAuthMethods, ['NULL', 'IP']);
    // A required method ringcast cannot run is not offered, so every client is refused (never let in unchecked).
    assert.deepEqual([conf('RequiredAuthMethods = "PASSWORD"').allowedAuthMethods, conf('RequiredAuthMethods = "PASSWORD"').requiredAuthMethods], [[], ['PASSWORD']]);
    assert.deepEqual(conf('IpAllow = { 10.0.0.0/8 }').ipAllow, ['10.0.0.0/8']);
  });

  it('matches addresses against CIDRs, IPv4-mapped IPv6 peers as IPv4', function () {
    const list = new IpAllowList(['127.0.0.0/8', '10.1.0.0/16', '::1/128', 'fe80::/10']);
    for (const a of ['127.0.0.1', '127.255.0.9', '10.1.200.1', '::1', 'fe80::1234']) assert.ok(list.allows(a), a);
    for (const a of ['10.2.0.1', '128.0.0.1', '::2', 'fec0::1', '', 'localhost']) assert.ok(!list.allows(a), a);
    assert.ok(!new IpAllowList([]).allows('127.0.0.1'));
    assert.throws(() => new IpAllowList(['10.0.0.0/40']), { code: 'SESSION_OPTIONS' });
    assert.deepEqual(tcpOrigin({ remoteAddress: '::ffff:10.1.2.3', remotePort: 9 } as net.Socket), { kind: 'tcp', address: '10.1.2.3', port: 9 });
    assert.deepEqual(tcpOrigin({} as net.Socket), { kind: 'tcp', address: '', port: 0 });
    assert.deepEqual(['10.0.0.0/8', '10.0.0.1', 'FE80::1/64', '::/0', '10.0.0.0/33', 'x/8', '10.0.0.0/', 'fe80::1%eth0'].map(parseCidr),
      ['10.0.0.0/8', '10.0.0.1/32', 'fe80::1/64', '::/0', undefined, undefined, undefined, undefined]);
  });
});

describe('session access: the Unix socket and the TCP addresses', function () {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-access-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  async function listening(options: Partial<SessionServerOptions>): Promise<SessionServer> {
    const ring = new FakeRing([SP1]);
    ring.port(SP1.id).current = regularOf(1, SP1.id, [SP1.id]);
    const server = new SessionServer(ring.port(SP1.id), options);
    await server.listen();
    return server;
  }

  it('creates the socket 0660 for the daemon\'s user and group by default', async function () {
    const sock = path.join(tmp, 'd.sock');
    const server = await listening({ unixSocketPath: sock });
    const st = fs.statSync(sock);
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o7777, 0o660);
    assert.deepEqual([st.uid, st.gid], [process.getuid!(), process.getgid!()]);
    await server.close();
    assert.equal(fs.existsSync(sock), false);
  });

  it('applies ClientSocketMode, ClientSocketOwner and ClientSocketGroup (names or ids)', async function () {
    const sock = path.join(tmp, 'd.sock');
    const server = await listening({ unixSocketPath: sock, unixSocketMode: 0o600 });
    assert.equal(fs.statSync(sock).mode & 0o7777, 0o600);
    await server.close();
    if (process.getuid!() !== 0) this.skip(); // chown to another user needs root
    const nobody = lookupId('/etc/passwd', 'user', 'nobody');
    const owned = await listening({ unixSocketPath: sock, unixSocketMode: 0o640, unixSocketOwner: 'nobody', unixSocketGroup: '4242' });
    const st = fs.statSync(sock);
    assert.deepEqual([st.mode & 0o7777, st.uid, st.gid], [0o640, nobody, 4242]);
    await owned.close();
  });

  it('binds the socket under umask 0177: it is 0600 before its mode is set, and the umask is restored', async function () {
    const sock = path.join(tmp, 'u.sock');
    const before = process.umask();
    const server = net.createServer();
    withPrivateUmask(() => server.listen(sock));
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
    assert.equal(process.umask(), before);
    await new Promise((r) => server.close(r));
  });

  it('refuses to listen with an unknown owner or group (SESSION_LISTEN), leaving no socket open', async function () {
    const sock = path.join(tmp, 'd.sock');
    const ring = new FakeRing([SP1]);
    const server = new SessionServer(ring.port(SP1.id), { unixSocketPath: sock, unixSocketGroup: 'no-such-group-here' });
    await assert.rejects(server.listen(), (e: Error & { code?: string }) => e.code === 'SESSION_LISTEN' && /unknown group "no-such-group-here"/.test(e.message));
    await server.close();
    assert.equal(fs.existsSync(sock), false);
    assert.throws(() => lookupId('/etc/passwd', 'user', 'no-such-user-here'), /unknown user/);
    assert.equal(lookupId('/etc/passwd', 'user', '123'), 123);
  });

  it('listens for TCP clients on the configured addresses only', async function () {
    const server = await listening({ tcp: [{ host: '127.0.0.1', port: 0 }] });
    const port = Number(server.addresses()[0]!.split(':')[1]);
    assert.equal(await tcpReach('127.0.0.1', port), 'connected');
    assert.equal(await tcpReach('127.0.0.2', port), 'ECONNREFUSED');
    await server.close();
  });

  it('takes loopback from spread.conf when a host names no C address', function () {
    const config = parseConfig(`Spread_Segment 225.0.1.1:4803 {
      a 10.0.0.1
      b 10.0.0.2 { D 10.0.0.2 C 10.0.0.2 C 127.0.0.1 }
      c 10.0.0.3 { D 10.0.0.3 }
    }`);
    assert.deepEqual(config.hosts.map((h) => sessionOptionsFromConfig(config, h).tcp), [
      [{ host: '127.0.0.1', port: 4803 }],
      [{ host: '10.0.0.2', port: 4803 }, { host: '127.0.0.1', port: 4803 }],
      [{ host: '127.0.0.1', port: 4803 }],
    ]);
  });
});

describe('session access: limits', function () {
  it('MaxSessions: REJECT_QUOTA past the limit, handshakes included; sessionRejected says so', async function () {
    const s = stand({ maxSessions: 2 });
    await s.from().connect('a');
    const waiting = s.from(tcp('10.0.0.1')); // never sends a byte, still counts
    assert.equal((await s.from(tcp('10.0.0.2')).closed()).toString('hex'), 'fd');
    assert.deepEqual(s.rejections.map((r) => [r.reason.kind, r.reason.code, r.remote]), [['quota', 'REJECT_QUOTA', '10.0.0.2:5000']]);
    waiting.close();
    await until(() => s.server.counters.rejected === 1 && sessionCounter(s.server, 'connections') === 1, 'the idle connection gone');
    assert.equal(await s.from().connect('b'), '#b#sp1');
    await s.server.close();
  });

  it('MaxGroupsPerSession: a join beyond comes back as REJECT_MESS (old type CAUSED_BY_JOIN); the session goes on', async function () {
    const s = stand({ maxGroupsPerSession: 3 });
    const c = s.from();
    await c.connect('a');
    for (const g of ['g1', 'g2', 'g3']) {
      c.send(JOIN_MESS, [g]);
      assert.match(await next(c), new RegExp(`CAUSED_BY_JOIN\\|REG_MEMB_MESS ${g} `));
    }
    c.send(JOIN_MESS, ['g4'], 'hi');
    const reject = await c.frame();
    assert.equal(reject.type & REJECT_MESS, REJECT_MESS);
    assert.equal(reject.oldType, CAUSED_BY_JOIN);
    assert.deepEqual([reject.sender, reject.groups, reject.data.toString()], ['#a#sp1', ['g4', '#a#sp1'], 'hi']);
    assert.equal(s.server.counters.joinsRefused, 1);
    c.send(JOIN_MESS, ['g2']); // already a member: not a new group, and nothing to tell
    c.send(LEAVE_MESS, ['g1']);
    c.send(JOIN_MESS, ['g4']);
    assert.match(await next(c), /CAUSED_BY_LEAVE g1/);
    assert.match(await next(c), /CAUSED_BY_JOIN\|REG_MEMB_MESS g4 /);
    c.send(AGREED_MESS, ['g4'], 'still here');
    assert.match(await next(c), /AGREED #a#sp1 -> g4: still here/);
    assert.deepEqual(s.server.groups().map((g) => g.name).sort(), ['g2', 'g3', 'g4']);
    assert.equal(s.rejections.length, 0, 'a refused join is not a refused session');
    await s.server.close();
  });

  it('a flood of joins and leaves leaves no groups behind, and never more than the limit at once', async function () {
    this.timeout(20_000);
    const s = stand({ maxGroupsPerSession: 10 });
    const c = s.from(undefined, 1024 * 1024);
    await c.connect('f', { membership: false });
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, s.server.groups().length)), 1);
    for (let i = 0; i < 5000; i++) {
      c.send(JOIN_MESS, [`g${i}`]);
      c.send(LEAVE_MESS, [`g${i}`]);
      if (i % 500 === 0) await sleep(1);
    }
    for (let i = 0; i < 100; i++) c.send(JOIN_MESS, [`h${i}`]);
    await until(() => s.ring.queued === 0 && s.server.counters.submitted === 10000 + 10, 'the requests through the ring', 15_000);
    await sleep(10);
    clearInterval(watch);
    assert.equal(s.server.counters.joinsRefused, 90);
    assert.deepEqual(s.server.groups().map((g) => g.name).sort(), Array.from({ length: 10 }, (_, i) => `h${i}`).sort());
    assert.ok(most <= 10, `at most 10 groups at once, saw ${most}`);
    await s.server.close();
  });

  it('closes handshakes that never finish (ClientHandshakeTimeout), and tells sessionRejected', async function () {
    const s = stand({ handshakeTimeoutMs: 30 });
    const idle = s.from(tcp('10.0.0.7'));
    const half = s.from(tcp('10.0.0.8'));
    half.write(encodeConnect({ name: 'half', membership: true }));
    await idle.closed();
    await half.closed();
    assert.equal(s.server.counters.handshakeTimeouts, 2);
    assert.deepEqual(s.rejections.map((r) => [r.reason.kind, r.remote]).sort(), [['handshakeTimeout', '10.0.0.7:5000'], ['handshakeTimeout', '10.0.0.8:5000']]);
    assert.equal(await s.from().connect('half'), '#half#sp1');
    await s.server.close();
  });

  it('disconnects a client that does not read once MaxSessionBytes wait for it, whatever the count', async function () {
    // maxSessionBytes is raised to one largest message (Spread's, about 144 KB, here).
    const s = stand({ maxSessionMessages: 1_000_000, maxSessionBytes: 0, maxMessageBytes: 0 });
    assert.ok(s.server.options.maxSessionBytes > 144_000 && s.server.options.maxSessionBytes < 150_000);
    const slow = s.from(undefined, 1024);
    await slow.connect('slow');
    slow.send(JOIN_MESS, ['g']);
    await next(slow);
    slow.pause();
    const sender = s.from();
    await sender.connect('s', { membership: false });
    for (let i = 0; i < 400; i++) sender.send(AGREED_MESS, ['g'], Buffer.alloc(1000, i));
    await until(() => s.server.counters.tooSlow === 1, 'the slow client dropped');
    assert.deepEqual(s.rejections.map((r) => [r.reason.kind, r.reason.privateGroup, r.remote]), [['tooSlow', '#slow#sp1', 'local']]);
    await s.server.close();
  });

  it('pauses client input when the bytes of its messages in the ring reach maxInFlightBytes', async function () {
    const s = stand({ maxInFlight: 1_000_000, maxInFlightBytes: 10_000 });
    const a = s.from();
    await a.connect('a', { membership: false });
    s.ring.held = true;
    for (let i = 0; i < 40; i++) a.send(AGREED_MESS, ['g'], Buffer.alloc(1000, i));
    await sleep(30);
    assert.ok(s.ring.queued >= 9 && s.ring.queued <= 11, `submitted while the ring is held: ${s.ring.queued}`);
    assert.ok(sessionCounter(s.server, 'inFlightBytes') >= 10_000);
    s.ring.release();
    await until(() => s.server.counters.submitted === 40 && s.ring.queued === 0, 'all 40 through');
    assert.equal(sessionCounter(s.server, 'inFlightBytes'), 0);
    await s.server.close();
  });
});

describe('session access: the client library chooses its auth methods', function () {
  async function tcpServer(options: Partial<SessionServerOptions>): Promise<{ server: SessionServer; daemon: string }> {
    const ring = new FakeRing([SP1]);
    ring.port(SP1.id).current = regularOf(1, SP1.id, [SP1.id]);
    const server = new SessionServer(ring.port(SP1.id), { tcp: [{ host: '127.0.0.1', port: 0 }], ...options });
    await server.listen();
    return { server, daemon: `${server.addresses()[0]!.split(':')[1]}@127.0.0.1` };
  }

  it('sends the methods it is given; REJECT_AUTH when the daemon refuses or does not offer them', async function () {
    const strict = await tcpServer({ allowedAuthMethods: ['NULL', 'IP'], requiredAuthMethods: ['IP'], ipAllow: ['127.0.0.0/8'] });
    const ok = await connect({ daemon: strict.daemon, name: 'ip', authMethods: ['IP'] });
    assert.equal(ok.privateGroup, '#ip#sp1');
    await ok.disconnect();
    await assert.rejects(connect({ daemon: strict.daemon, name: 'null' }), (e: SpreadError) => e.code === 'REJECT_AUTH' && e.spreadCode === -9);
    await assert.rejects(connect({ daemon: strict.daemon, authMethods: ['KERBEROS'] }), (e: SpreadError) => e.code === 'REJECT_AUTH' && /not KERBEROS/.test(e.message));
    await assert.rejects(connect({ daemon: strict.daemon, authMethods: [] }), { code: 'ILLEGAL_SESSION' });
    await strict.server.close();
    const elsewhere = await tcpServer({ allowedAuthMethods: ['IP'], ipAllow: ['10.0.0.0/8'] });
    await assert.rejects(connect({ daemon: elsewhere.daemon, authMethods: ['IP'] }), { code: 'REJECT_AUTH' });
    await elsewhere.server.close();
  });
});

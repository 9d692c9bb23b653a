// Three real daemons (in this process, UDP on 127.0.0.1/.2/.3) with a session server each, and
// Spread-protocol clients over TCP and the Unix socket: joins, multi-group multicast of every
// service type (everyone sees the same order), a client disconnect, then a daemon dies and the
// others' clients get TRANSITION_MESS and the new CAUSED_BY_NETWORK membership.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../src/config';
import { Daemon } from '../../src/daemon/daemon';
import { SessionServer } from '../../src/session';
import { MessageType, encodeMessage, hintFor } from '../../src/wire/client';
import { summarize } from '../unit/groupsFixtures';
import { RawClient, singleDaemon, sleep, until } from '../unit/sessionFixtures';
import { socketTo } from '../support/repo';

const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const NAMES = ['d1', 'd2', 'd3'];
const { UNRELIABLE_MESS, RELIABLE_MESS, FIFO_MESS, CAUSAL_MESS, AGREED_MESS, SAFE_MESS, JOIN_MESS, KILL_MESS } = MessageType;

async function next(c: RawClient): Promise<string> {
  return summarize([await c.frameBytes()])[0]!;
}

/** Reads frames until one matches; returns the ones before it too. */
async function until_(c: RawClient, test: (s: string) => boolean): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const s = await next(c);
    seen.push(s);
    if (test(s)) return seen;
  }
}

describe('session servers on a ring of three real daemons', function () {
  this.timeout(30_000);
  let tmp: string;
  let daemons: Daemon[] = [];
  let servers: SessionServer[] = [];
  const sockets: net.Socket[] = [];

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-session-'));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = parseConfig(`Spread_Segment 127.0.0.255:${port} {\n${NAMES.map((n, i) => `    ${n} ${ADDRS[i]}\n`).join('')}}\n`, 'test.conf');
    daemons = config.hosts.map((h) => new Daemon(config, h));
    servers = await Promise.all(
      daemons.map((d, i) => SessionServer.attach(d, { unixSocketPath: path.join(tmp, `${NAMES[i]}.sock`), closeTimeoutMs: 300 })),
    );
    await Promise.all(daemons.map((d) => d.start()));
    await until(() => daemons.every((d) => d.configuration?.members.length === 3), 'a ring of three', 10_000);
  });

  after(async function () {
    for (const s of sockets) s.destroy();
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all(daemons.map((d) => d.stop()));
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function client(daemon: number, name: string, via: 'tcp' | 'unix'): Promise<RawClient> {
    const port = daemons[daemon]!.host.port;
    const socket = await socketTo(via === 'tcp' ? { host: ADDRS[daemon]!, port } : { path: path.join(tmp, `${NAMES[daemon]}.sock`) });
    sockets.push(socket);
    const c = new RawClient(socket);
    await c.connect(name);
    return c;
  }

  it('orders every service type to several groups the same for all, then survives a disconnect and a dead daemon', async function () {
    const a = await client(0, 'a', 'tcp');
    const b = await client(1, 'b', 'unix');
    const c = await client(2, 'c', 'tcp');
    const c2 = await client(2, 'c2', 'unix');
    for (const [x, groups] of [[a, ['g', 'g2']], [b, ['g']], [c, ['g2']]] as const) {
      for (const g of groups) {
        x.send(JOIN_MESS, [g]);
        await until_(x, (s) => s.includes(`vs=*[${x.privateGroup}]`));
      }
    }
    assert.deepEqual([await next(a), await next(a)], [
      'CAUSED_BY_JOIN|REG_MEMB_MESS g [#a#d1 #b#d2] vs=*[#b#d2] #2',
      'CAUSED_BY_JOIN|REG_MEMB_MESS g2 [#a#d1 #c#d3] vs=*[#c#d3] #2',
    ]);

    const services = [UNRELIABLE_MESS, RELIABLE_MESS, FIFO_MESS, CAUSAL_MESS, AGREED_MESS, SAFE_MESS];
    const senders = [a, b, c];
    const perSender = 20;
    for (let i = 0; i < perSender; i++) {
      for (const x of senders) x.send(services[i % services.length]!, ['g', 'g2'], `${x.privateGroup}:${i}`);
    }
    const total = perSender * senders.length;
    const orders: string[][] = [];
    for (const x of senders) {
      const got: string[] = [];
      while (got.length < total) got.push((await x.frame()).data.toString());
      orders.push(got);
    }
    // One total order, FIFO per sender.
    assert.deepEqual(orders[1], orders[0]);
    assert.deepEqual(orders[2], orders[0]);
    for (const x of senders) {
      const mine = orders[0]!.filter((m) => m.startsWith(`${x.privateGroup}:`));
      assert.deepEqual(mine, Array.from({ length: perSender }, (_, i) => `${x.privateGroup}:${i}`));
    }

    // c disconnects: the members of g2 (a) see it, g (a, b) does not change.
    c.send(KILL_MESS, [c.privateGroup]);
    await c.closed();
    assert.equal(await next(a), 'CAUSED_BY_DISCONNECT|REG_MEMB_MESS g2 [#a#d1] vs=*[#c#d3] #3');

    // c2 joins g; then d3 dies.
    c2.send(JOIN_MESS, ['g']);
    assert.equal(await next(a), 'CAUSED_BY_JOIN|REG_MEMB_MESS g [#a#d1 #b#d2 #c2#d3] vs=*[#c2#d3] #3');
    await next(b);
    await daemons[2]!.stop();
    const seenByA = await until_(a, (s) => s.startsWith('CAUSED_BY_NETWORK'));
    assert.deepEqual(seenByA, ['TRANSITION_MESS g #3', 'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#d1 #b#d2] vs=*[#a#d1 #b#d2] #1']);
    const seenByB = await until_(b, (s) => s.startsWith('CAUSED_BY_NETWORK'));
    assert.deepEqual(seenByB, ['TRANSITION_MESS g #3', 'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#d1 #b#d2] vs=*[#a#d1 #b#d2] #1']);
    // The new group id comes from the new ring.
    const ring = daemons[0]!.configuration!.change;
    assert.deepEqual(servers[0]!.groups().find((g) => g.name === 'g')!.groupId, { daemonId: ring.ringRep, time: ring.ringSeq % 2 ** 32, index: 1 });
    // And the survivors carry on.
    a.send(SAFE_MESS, ['g'], 'after');
    assert.equal(await next(b), 'SAFE #a#d1 -> g: after');
  });
});

describe('session server on real sockets (TCP and Unix) with a fake ring', function () {
  this.timeout(10_000);
  const SP1 = { id: 1, name: 'sp1' };
  let tmp: string;

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-sock-'));
  });
  after(function () {
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('serves TCP and Unix clients; a bad frame closes only its connection; close() removes the socket file', async function () {
    const unixPath = path.join(tmp, '4803');
    fs.writeFileSync(path.join(tmp, 'not-a-socket'), 'x');
    const { server } = singleDaemon(SP1, 7, { tcp: [{ host: '127.0.0.1', port: 0 }], unixSocketPath: unixPath });
    await server.listen();
    const [tcpAddress, unixAddress] = server.addresses();
    assert.equal(unixAddress, unixPath);
    const port = Number(tcpAddress!.split(':')[1]);
    const viaTcp = new RawClient(await socketTo({ host: '127.0.0.1', port }));
    const viaUnix = new RawClient(await socketTo({ path: unixPath }));
    await viaTcp.connect('t');
    await viaUnix.connect('u');
    for (const c of [viaTcp, viaUnix]) {
      c.send(JOIN_MESS, ['g']);
      await until_(c, (s) => s.includes(`vs=*[${c.privateGroup}]`));
    }
    assert.equal(await next(viaTcp), 'CAUSED_BY_JOIN|REG_MEMB_MESS g [#t#sp1 #u#sp1] vs=*[#u#sp1] #2');
    viaUnix.write(Buffer.alloc(100, 0xee)); // garbage
    assert.equal((await viaUnix.closed()).length, 0);
    assert.equal(await next(viaTcp), 'CAUSED_BY_DISCONNECT|REG_MEMB_MESS g [#t#sp1] vs=*[#u#sp1] #3');
    await server.close();
    await viaTcp.closed();
    assert.equal(fs.existsSync(unixPath), false);
    assert.equal(fs.existsSync(path.join(tmp, 'not-a-socket')), true);
  });

  it('frames a TCP client sent before hanging up are all handled, even while its input was paused', async function () {
    const { server, ring } = singleDaemon(SP1, 7, { tcp: [{ host: '127.0.0.1', port: 0 }], unixSocketPath: null, maxInFlight: 4 });
    await server.listen();
    const port = Number(server.addresses()[0]!.split(':')[1]);
    const watcher = new RawClient(await socketTo({ host: '127.0.0.1', port }));
    await watcher.connect('w');
    watcher.send(JOIN_MESS, ['g']);
    await next(watcher);
    const sender = new RawClient(await socketTo({ host: '127.0.0.1', port }));
    await sender.connect('s');
    ring.held = true;
    sender.write(
      Buffer.concat(
        Array.from({ length: 30 }, (_, i) => encodeMessage({ type: AGREED_MESS, sender: '#s#sp1', groups: ['g'], hint: hintFor(0), data: Buffer.from(`m${i}`) })),
      ),
    );
    sender.close();
    await sleep(50);
    ring.release();
    for (let i = 0; i < 30; i++) assert.equal((await watcher.frame()).data.toString(), `m${i}`);
    await server.close();
  });
});

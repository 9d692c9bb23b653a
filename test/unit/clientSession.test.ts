// The client session's behaviour around the protocol: addresses, checks before sending,
// connection failures, closing, backlog and backpressure. Runs against the test daemons of
// clientFakeDaemon.ts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { connect, parseDaemonAddress, formatDaemonAddress, type ReceivedMessage, type Session } from '../../src/client';
import { RINGCAST_FRAME_LIMITS, SpreadError } from '../../src';
import { encodeAccept, encodeAuthList, encodeMessage, hintFor, MessageType, rejectMessage } from '../../src/wire/client';
import { FakeDaemon, serveEcho, type FakeConnection } from './clientFakeDaemon';

const isSpreadError = (code: string) => (err: unknown) => err instanceof SpreadError && err.code === code;

/** Accepts a session on the fake daemon with NULL auth, private group `#name#fake`. */
async function acceptSession(daemon: FakeDaemon, name: string): Promise<FakeConnection> {
  const conn = await daemon.accepted();
  await conn.take(5 + name.length);
  conn.send(encodeAuthList(['NULL']));
  await conn.take(90);
  conn.send(encodeAccept(`#${name}#fake`, { includePatch: true }));
  return conn;
}

function dataFrame(n: number, group = 'g'): Buffer {
  return encodeMessage({ type: MessageType.AGREED_MESS, sender: '#other#fake', groups: [group], hint: hintFor(n & 0xffff), data: Buffer.from(`m${n}`) });
}

async function withDaemon(run: (daemon: FakeDaemon) => Promise<void>, unixPath?: string): Promise<void> {
  const daemon = await FakeDaemon.listen(unixPath);
  try {
    await run(daemon);
  } finally {
    await daemon.close();
  }
}

async function openSession(daemon: FakeDaemon, name: string, options: Parameters<typeof connect>[0] = {}): Promise<{ session: Session; conn: FakeConnection }> {
  const sessionPromise = connect({ daemon: daemon.address, name, ...options });
  const conn = await acceptSession(daemon, name);
  return { session: await sessionPromise, conn };
}

describe('client: daemon addresses', () => {
  it('reads PORT@HOST, PORT and Unix socket paths', () => {
    assert.deepEqual(parseDaemonAddress('4803@127.0.0.1'), { kind: 'tcp', host: '127.0.0.1', port: 4803 });
    assert.deepEqual(parseDaemonAddress('14803@db.example.org'), { kind: 'tcp', host: 'db.example.org', port: 14803 });
    assert.deepEqual(parseDaemonAddress('4803@::1'), { kind: 'tcp', host: '::1', port: 4803 });
    assert.deepEqual(parseDaemonAddress('4803'), { kind: 'tcp', host: '127.0.0.1', port: 4803 });
    assert.deepEqual(parseDaemonAddress(' 4803 '), { kind: 'tcp', host: '127.0.0.1', port: 4803 });
    assert.deepEqual(parseDaemonAddress('/tmp/4803'), { kind: 'unix', path: '/tmp/4803' });
    assert.deepEqual(parseDaemonAddress('./run/d1.sock'), { kind: 'unix', path: './run/d1.sock' });
    assert.deepEqual(parseDaemonAddress(), { kind: 'tcp', host: '127.0.0.1', port: 4803 });
  });

  it('refuses other forms with ILLEGAL_SPREAD', () => {
    for (const bad of ['', 'x', '4803@', '@host', '0', '65536', '48a3@h', '-1@h', '1.5']) {
      assert.throws(() => parseDaemonAddress(bad), isSpreadError('ILLEGAL_SPREAD'), bad);
    }
  });

  it('formats back to the same string', () => {
    for (const s of ['4803@127.0.0.1', '/tmp/4803', '1@h']) assert.equal(formatDaemonAddress(parseDaemonAddress(s)), s);
  });
});

describe('client: connecting', () => {
  it('a name Spread would refuse fails before connecting (REJECT_ILLEGAL_NAME)', async () => {
    await withDaemon(async (daemon) => {
      for (const name of ['a#b', 'abcdefghijk', 'sp ace', 'é']) {
        await assert.rejects(connect({ daemon: daemon.address, name }), isSpreadError('REJECT_ILLEGAL_NAME'), name);
      }
      assert.equal(daemon.connections.length, 0);
    });
  });

  it('no daemon listening: COULD_NOT_CONNECT', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(port));
      });
    });
    await assert.rejects(connect({ daemon: `${free}@127.0.0.1` }), isSpreadError('COULD_NOT_CONNECT'));
    await assert.rejects(connect({ daemon: path.join(os.tmpdir(), `ringcast-none-${process.pid}`) }), isSpreadError('COULD_NOT_CONNECT'));
  });

  it('the daemon closes during the handshake: CONNECTION_CLOSED', async () => {
    await withDaemon(async (daemon) => {
      const sessionPromise = connect({ daemon: daemon.address, name: 'x' });
      const conn = await daemon.accepted();
      await conn.take(6);
      conn.end();
      await assert.rejects(sessionPromise, isSpreadError('CONNECTION_CLOSED'));
    });
  });

  it('no handshake reply in time: COULD_NOT_CONNECT', async () => {
    await withDaemon(async (daemon) => {
      await assert.rejects(connect({ daemon: daemon.address, name: 'x', timeoutMs: 100 }), isSpreadError('COULD_NOT_CONNECT'));
    });
  });

  it('a daemon that does not offer NULL auth: REJECT_AUTH', async () => {
    await withDaemon(async (daemon) => {
      const sessionPromise = connect({ daemon: daemon.address, name: 'x' });
      const conn = await daemon.accepted();
      conn.send(encodeAuthList(['IP']));
      await assert.rejects(sessionPromise, isSpreadError('REJECT_AUTH'));
    });
  });

  it('a garbage auth list: CONNECTION_CLOSED', async () => {
    await withDaemon(async (daemon) => {
      const sessionPromise = connect({ daemon: daemon.address, name: 'x' });
      const conn = await daemon.accepted();
      conn.send(Buffer.from([0x7f]));
      await assert.rejects(sessionPromise, isSpreadError('CONNECTION_CLOSED'));
    });
  });

  it('works over a Unix socket', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-client-'));
    const socketPath = path.join(dir, '4803');
    try {
      await withDaemon(async (daemon) => {
        assert.equal(daemon.address, socketPath);
        const { session } = await openSession(daemon, 'unixy');
        assert.equal(session.privateGroup, '#unixy#fake');
        assert.equal(session.daemon, socketPath);
        await session.disconnect();
      }, socketPath);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('frames that arrive together with the accept are not lost', async () => {
    await withDaemon(async (daemon) => {
      const sessionPromise = connect({ daemon: daemon.address, name: 'early' });
      const conn = await daemon.accepted();
      await conn.take(10);
      conn.send(encodeAuthList(['NULL']));
      await conn.take(90);
      conn.send(Buffer.concat([encodeAccept('#early#fake', { includePatch: true }), dataFrame(1), dataFrame(2)]));
      const session = await sessionPromise;
      const got: number[] = [];
      for await (const m of session) {
        if (m.type === 'message') got.push(m.messType);
        if (got.length === 2) break;
      }
      assert.deepEqual(got, [1, 2]);
      await session.disconnect();
    });
  });
});

describe('client: checks before sending', () => {
  let daemon: FakeDaemon;
  let session: Session;
  let conn: FakeConnection;
  before(async () => {
    daemon = await FakeDaemon.listen();
    ({ session, conn } = await openSession(daemon, 'checker'));
  });
  after(async () => {
    await session.disconnect();
    await daemon.close();
  });

  it('join and leave take names of 1..31 characters in $..~ (ILLEGAL_GROUP)', async () => {
    for (const bad of ['', '#private', 'with space', 'x'.repeat(32), 'tab\t', 'ü']) {
      await assert.rejects(session.join(bad), isSpreadError('ILLEGAL_GROUP'), JSON.stringify(bad));
      await assert.rejects(session.leave(bad), isSpreadError('ILLEGAL_GROUP'), JSON.stringify(bad));
    }
    await session.join('x'.repeat(31));
  });

  it('multicast: groups, service, mess_type and size are checked', async () => {
    await assert.rejects(session.multicast([], 'x'), isSpreadError('ILLEGAL_GROUP'));
    await assert.rejects(session.multicast('', 'x'), isSpreadError('ILLEGAL_GROUP'));
    await assert.rejects(session.multicast('y'.repeat(32), 'x'), isSpreadError('ILLEGAL_GROUP'));
    await assert.rejects(session.multicast('a\u0000b', 'x'), isSpreadError('ILLEGAL_GROUP'));
    await assert.rejects(session.multicast('g', 'x', { service: 'BEST' as never }), isSpreadError('ILLEGAL_SERVICE'));
    await assert.rejects(session.multicast('g', 'x', { messType: 0x10000 }), isSpreadError('ILLEGAL_MESSAGE'));
    await assert.rejects(session.multicast('g', 'x', { messType: 1.5 }), isSpreadError('ILLEGAL_MESSAGE'));
    await assert.rejects(session.multicast('g', 42 as never), isSpreadError('ILLEGAL_MESSAGE'));
    const groups101 = Array.from({ length: 101 }, (_, i) => `g${i}`);
    await assert.rejects(session.multicast(groups101, 'x'), isSpreadError('MESSAGE_TOO_LONG'));
    // Spread's limit: 32·groups + data ≤ 144000 − 48.
    await assert.rejects(session.multicast('g', Buffer.alloc(144000 - 48 - 32 + 1)), isSpreadError('MESSAGE_TOO_LONG'));
    const before = conn.available;
    await session.multicast('g', Buffer.alloc(144000 - 48 - 32));
    await session.multicast('#someone#else', 'to a private group', { service: 'RELIABLE' });
    await conn.take(before + 144000 + 48 + 32 + 18);
  });

  it('RINGCAST_FRAME_LIMITS lets a session send 1 MiB', async () => {
    await withDaemon(async (d) => {
      const { session: big, conn: bigConn } = await openSession(d, 'big', { sendLimits: RINGCAST_FRAME_LIMITS });
      await big.multicast('g', Buffer.alloc(1024 * 1024));
      await bigConn.take(48 + 32 + 1024 * 1024);
      await big.disconnect();
    });
  });
});

describe('client: rejects', () => {
  it("a daemon's REJECT_MESS comes as a 'reject' event and iterator item with the original type", async () => {
    await withDaemon(async (daemon) => {
      const { session, conn } = await openSession(daemon, 'rej');
      const iterated = session.messages();
      const event = new Promise<ReceivedMessage>((resolve) => session.once('reject', resolve));
      const original = { type: MessageType.SAFE_MESS, sender: '#rej#fake', groups: ['locked'], hint: hintFor(3), data: Buffer.from('no') };
      conn.send(encodeMessage(rejectMessage(original)));
      const expected = { type: 'reject', sender: '#rej#fake', groups: ['locked', '#rej#fake'], rejectedType: MessageType.SAFE_MESS, messType: 3, data: Buffer.from('no') };
      assert.deepEqual(await event, expected);
      assert.deepEqual((await iterated.next()).value, expected);
      await session.disconnect();
    });
  });
});

describe('client: closing', () => {
  it('the daemon closing the session: closed gives CONNECTION_CLOSED, sends reject with it, iterators throw it', async () => {
    await withDaemon(async (daemon) => {
      const { session, conn } = await openSession(daemon, 'gone');
      const messages = session.messages();
      const closeEvent = new Promise<unknown>((resolve) => session.once('close', resolve));
      conn.send(dataFrame(3));
      conn.end();
      assert.equal(((await messages.next()).value as ReceivedMessage).type, 'message');
      await assert.rejects(messages.next(), isSpreadError('CONNECTION_CLOSED'));
      assert.equal((await session.closed)?.code, 'CONNECTION_CLOSED');
      assert.equal(((await closeEvent) as SpreadError).code, 'CONNECTION_CLOSED');
      assert.equal(session.isClosed, true);
      await assert.rejects(session.join('g'), isSpreadError('CONNECTION_CLOSED'));
      await assert.rejects(session.multicast('g', 'x'), isSpreadError('CONNECTION_CLOSED'));
      await session.disconnect(); // harmless
      // A late iterator still gets the end.
      await assert.rejects(session.messages().next(), isSpreadError('CONNECTION_CLOSED'));
    });
  });

  it('garbage from the daemon closes the session with the Spread error', async () => {
    await withDaemon(async (daemon) => {
      const { session, conn } = await openSession(daemon, 'garbage');
      const frame = dataFrame(1);
      frame.writeInt32LE(-5, 44); // negative data_len
      conn.send(frame);
      const error = await session.closed;
      assert.equal(error?.code, 'ILLEGAL_MESSAGE');
      await conn.ended;
    });
  });

  it('a membership frame with a broken body closes the session (ILLEGAL_MESSAGE)', async () => {
    await withDaemon(async (daemon) => {
      const { session, conn } = await openSession(daemon, 'badmemb');
      conn.send(encodeMessage({ type: MessageType.REG_MEMB_MESS | MessageType.CAUSED_BY_JOIN, sender: 'g', groups: ['#badmemb#fake'], hint: hintFor(0), data: Buffer.alloc(7) }));
      assert.equal((await session.closed)?.code, 'ILLEGAL_MESSAGE');
    });
  });

  it('disconnect: KILL, then closed resolves undefined; twice is harmless; later sends reject', async () => {
    await withDaemon(async (daemon) => {
      const { session, conn } = await openSession(daemon, 'bye');
      const messages = session.messages();
      const done = session.disconnect();
      const kill = await conn.take(80);
      assert.equal(kill.readUInt32LE(0), (MessageType.KILL_MESS | 0x80000080) >>> 0);
      assert.equal(kill.toString('latin1', 48, 48 + 9), '#bye#fake');
      conn.end();
      await done;
      await session.disconnect();
      assert.equal(await session.closed, undefined);
      assert.deepEqual(await messages.next(), { value: undefined, done: true });
      await assert.rejects(session.join('g'), isSpreadError('CONNECTION_CLOSED'));
    });
  });

  it('disconnect gives up waiting for a daemon that never closes', async () => {
    await withDaemon(async (daemon) => {
      const { session } = await openSession(daemon, 'stuck', { disconnectTimeoutMs: 50 });
      const started = Date.now();
      await session.disconnect();
      assert.ok(Date.now() - started < 1000);
      assert.equal(await session.closed, undefined);
    });
  });

  it('reconnecting after a disconnect: a new session under the same name', async () => {
    await withDaemon(async (daemon) => {
      const echo = serveEcho(daemon);
      try {
        for (let round = 0; round < 3; round++) {
          const session = await connect({ daemon: daemon.address, name: 'again' });
          assert.equal(session.privateGroup, '#again#echo');
          await session.join('room');
          const m = (await session.messages().next()).value as ReceivedMessage;
          assert.ok(m.type === 'membership' && m.kind === 'regular' && m.cause === 'JOIN');
          await session.disconnect();
        }
        assert.equal(daemon.connections.length, 3);
      } finally {
        echo.stop();
      }
    });
  });
});

describe('client: receiving and sending through a daemon', () => {
  let daemon: FakeDaemon;
  let echo: { stop: () => void };
  before(async () => {
    daemon = await FakeDaemon.listen();
    echo = serveEcho(daemon);
  });
  after(async () => {
    echo.stop();
    await daemon.close();
  });

  it('multi-group multicast arrives once with all groups; SELF_DISCARD is not echoed', async () => {
    const a = await connect({ daemon: daemon.address, name: 'a' });
    const b = await connect({ daemon: daemon.address, name: 'b' });
    const fromA = a.messages();
    const fromB = b.messages();
    await a.join('g1');
    await a.join('g2');
    await b.join('g1');
    // The join has taken effect once b hears of it.
    assert.equal(((await fromB.next()).value as ReceivedMessage).type, 'membership');
    await a.multicast(['g1', 'g2'], 'both', { service: 'SAFE', messType: 9 });
    await a.multicast('g1', 'not to me', { selfDiscard: true });
    await b.multicast('g2', Uint8Array.from([1, 2, 3]), { service: 'FIFO' });
    const data: ReceivedMessage[] = [];
    while (data.length < 2) {
      const m = (await fromA.next()).value as ReceivedMessage;
      if (m.type === 'message') data.push(m);
    }
    assert.ok(data[0]!.type === 'message' && data[1]!.type === 'message');
    assert.deepEqual([data[0].groups, data[0].data.toString(), data[0].service, data[0].messType], [['g1', 'g2'], 'both', 'SAFE', 9]);
    assert.deepEqual([data[1].sender, data[1].groups, [...data[1].data], data[1].service], ['#b#echo', ['g2'], [1, 2, 3], 'FIFO']);
    const atB: string[] = [];
    while (atB.length < 2) {
      const m = (await fromB.next()).value as ReceivedMessage;
      if (m.type === 'message') atB.push(m.data.toString());
    }
    assert.deepEqual(atB, ['both', 'not to me']);
    await b.leave('g1');
    let selfLeave: ReceivedMessage | undefined;
    while (selfLeave === undefined) {
      const m = (await fromB.next()).value as ReceivedMessage;
      if (m.type === 'membership' && m.kind === 'self-leave') selfLeave = m;
    }
    assert.equal(selfLeave.type === 'membership' && selfLeave.group, 'g1');
    const causeSeenByA = async (cause: string, member: string) => {
      for (;;) {
        const m = (await fromA.next()).value as ReceivedMessage;
        if (m.type === 'membership' && m.kind === 'regular' && m.cause === cause && m.changedMember === member) return m;
      }
    };
    assert.deepEqual((await causeSeenByA('LEAVE', '#b#echo')).members, ['#a#echo']);
    const c = await connect({ daemon: daemon.address, name: 'c' });
    await c.join('g2');
    assert.deepEqual((await causeSeenByA('JOIN', '#c#echo')).members, ['#a#echo', '#c#echo']);
    await c.disconnect();
    assert.deepEqual((await causeSeenByA('DISCONNECT', '#c#echo')).members, ['#a#echo']);
    await b.disconnect();
    await a.disconnect();
  });

  it('messages received before any consumer wait for the first one (events or iterator)', async () => {
    const s = await connect({ daemon: daemon.address, name: 'late' });
    await s.join('late');
    for (let i = 0; i < 5; i++) await s.multicast('late', `n${i}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const seen: string[] = [];
    s.on('membership', (m) => seen.push(`${m.kind}`));
    s.on('message', (m) => seen.push(m.data.toString()));
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(seen, ['regular', 'n0', 'n1', 'n2', 'n3', 'n4']);
    await s.disconnect();
  });

  it('a slow iterator pauses reading and loses nothing', async () => {
    const s = await connect({ daemon: daemon.address, name: 'slow', receiveBuffer: 4 });
    const sender = await connect({ daemon: daemon.address, name: 'fast' });
    await s.join('slow');
    const it = s.messages();
    assert.equal(((await it.next()).value as ReceivedMessage).type, 'membership');
    for (let i = 0; i < 200; i++) await sender.multicast('slow', `m${i}`);
    const got: string[] = [];
    for await (const m of it) {
      if (m.type === 'message') got.push(m.data.toString());
      if (got.length === 200) break;
      if (got.length % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.deepEqual(got, Array.from({ length: 200 }, (_, i) => `m${i}`));
    await s.disconnect();
    await sender.disconnect();
  });

  it('breaking out of for-await detaches that iterator only', async () => {
    const s = await connect({ daemon: daemon.address, name: 'brk' });
    await s.join('brk');
    const keep = s.messages();
    for await (const m of s) {
      assert.equal(m.type, 'membership');
      break;
    }
    await s.multicast('brk', 'after');
    assert.equal(((await keep.next()).value as ReceivedMessage).type, 'membership');
    const after = (await keep.next()).value as ReceivedMessage;
    assert.ok(after.type === 'message' && after.data.toString() === 'after');
    await s.disconnect();
  });
});

describe('client: backpressure', () => {
  it('multicast waits while the daemon does not read, and goes on when it does', async () => {
    await withDaemon(async (daemon) => {
      const { session, conn } = await openSession(daemon, 'bp', { maxBufferedBytes: 1, sendLimits: RINGCAST_FRAME_LIMITS });
      conn.socket.pause();
      const payload = Buffer.alloc(512 * 1024);
      let waited = false;
      let sent = 0;
      for (let i = 0; i < 64 && !waited; i++) {
        const p = session.multicast('g', payload);
        sent++;
        const first = await Promise.race([p.then(() => 'written'), new Promise((resolve) => setTimeout(() => resolve('waiting'), 20))]);
        if (first === 'waiting') {
          waited = true;
          conn.socket.resume();
          await p;
        }
      }
      assert.ok(waited, 'some multicast had to wait');
      await conn.take(sent * (48 + 32 + payload.length), 10_000);
      await session.disconnect();
    });
  });
});

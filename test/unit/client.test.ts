// The client library against the golden captures: a fake daemon replays each captured
// connection's server bytes (in random pieces) and checks that the client's bytes equal the
// captured client bytes — up to the garbage Spread's library leaves after the NUL of a name
// field (see maskNamePadding), and with the same content for generated names.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { connect, type Session } from '../../src/client';
import type { ReceivedMessage } from '../../src/client/received';
import { serviceOfType } from '../../src/client/received';
import { SpreadError } from '../../src/errors';
import {
  MessageType,
  decodeConnect,
  decodeMessage,
  isSelfDiscard,
  messTypeOf,
  type DecodedMessage,
} from '../../src/wire/client';
import { FakeDaemon, maskNamePadding, seededRandom, type FakeConnection } from './clientFakeDaemon';
import { findVectors, loadProbes, loadScenarios, readHex, type ManifestEntry, type Scenario } from './clientWireFixtures';

const vectors = findVectors();

interface CapturedConnection {
  scenario: Scenario;
  conn: string;
  c2s: Array<{ entry: ManifestEntry; bytes: Buffer }>;
  s2c: Array<{ entry: ManifestEntry; bytes: Buffer }>;
  fullC2s: Buffer;
  fullS2c: Buffer;
}

function capturedConnections(): CapturedConnection[] {
  if (!vectors.dir) return [];
  const out: CapturedConnection[] = [];
  for (const scenario of loadScenarios(vectors.dir)) {
    const conns = [...new Set(scenario.manifest.map((e) => e.conn))];
    for (const conn of conns) {
      const units = (dir: 'c2s' | 's2c') =>
        scenario.manifest
          .filter((e) => e.conn === conn && e.dir === dir)
          .sort((a, b) => a.file.localeCompare(b.file))
          .map((entry) => ({ entry, bytes: readHex(path.join(scenario.dir, entry.file)) }));
      out.push({
        scenario,
        conn,
        c2s: units('c2s'),
        s2c: units('s2c'),
        fullC2s: readHex(path.join(scenario.dir, `${conn}_full_c2s.hex`)),
        fullS2c: readHex(path.join(scenario.dir, `${conn}_full_s2c.hex`)),
      });
    }
  }
  return out;
}

/** What the client must do to produce a captured client frame. */
function actionFor(frame: DecodedMessage): { kind: 'kill' } | { kind: 'do'; run: (s: Session) => Promise<void> } {
  if (frame.type & MessageType.KILL_MESS) return { kind: 'kill' };
  if (frame.type & MessageType.JOIN_MESS) return { kind: 'do', run: (s) => s.join(frame.groups[0]!) };
  if (frame.type & MessageType.LEAVE_MESS) return { kind: 'do', run: (s) => s.leave(frame.groups[0]!) };
  const data = Buffer.from(frame.data);
  return {
    kind: 'do',
    run: (s) =>
      s.multicast(frame.groups, data, { service: serviceOfType(frame.type), messType: messTypeOf(frame.hint), selfDiscard: isSelfDiscard(frame.type) }),
  };
}

/** Checks a typed received message against its manifest entry. */
function assertMatchesEntry(m: ReceivedMessage, e: ManifestEntry, bytes: Buffer): void {
  const where = e.file;
  const groups = e.groups as string[];
  if (e.kind === 'TRANSITION_MESS') {
    assert.equal(m.type === 'membership' && m.kind, 'transitional', where);
  } else if (e.kind === 'CAUSED_BY_LEAVE') {
    assert.deepEqual(m, { type: 'membership', kind: 'self-leave', group: e.sender }, where);
    return;
  } else if (String(e.kind).includes('REG_MEMB_MESS')) {
    assert.ok(m.type === 'membership' && m.kind === 'regular', where);
    if (m.type !== 'membership' || m.kind !== 'regular') return;
    assert.equal(m.group, e.sender, where);
    assert.equal(`CAUSED_BY_${m.cause}+REG_MEMB_MESS`, e.kind, where);
    assert.deepEqual(m.members, groups, where);
    assert.deepEqual(m.vsSets, e.vs_sets, where);
    assert.equal(m.localVsSetIndex, 0, where);
  } else {
    assert.ok(m.type === 'message', where);
    if (m.type !== 'message') return;
    assert.equal(m.sender, e.sender, where);
    assert.deepEqual(m.groups, groups, where);
    assert.equal(m.service, e.type_flags, where);
    assert.equal(m.messType, e.mess_type, where);
    assert.equal(m.endianMismatch, false, where);
    assert.deepEqual(m.data, bytes.subarray(bytes.length - (e.data_len as number)), where);
  }
  if (m.type === 'membership' && m.kind !== 'self-leave') {
    const [daemonId, time, index] = e.group_id as number[];
    assert.deepEqual(m.groupId, { daemonId: daemonId! >>> 0, time, index }, where);
  }
}

/** Handshake on the daemon's side of a captured connection: checks the client's bytes and answers with the captured ones. */
async function replayHandshake(conn: FakeConnection, c: CapturedConnection): Promise<void> {
  assert.deepEqual(await conn.take(c.c2s[0]!.bytes.length), c.c2s[0]!.bytes, `${c.conn}: connect bytes`);
  conn.send(c.s2c[0]!.bytes);
  if (c.s2c[0]!.entry.kind !== 'authlist') return;
  assert.deepEqual(await conn.take(c.c2s[1]!.bytes.length), c.c2s[1]!.bytes, `${c.conn}: auth choice bytes`);
  conn.send(c.s2c[1]!.bytes);
}

describe('client against the golden captures', function () {
  before(function () {
    if (!vectors.dir) this.skip();
  });

  for (const c of capturedConnections()) {
    it(`${c.scenario.name}/${c.conn}: same client bytes, every server frame typed`, async () => {
      const daemon = await FakeDaemon.listen();
      try {
        const request = decodeConnect(c.c2s[0]!.bytes);
        assert.equal(request.status, 'ok');
        if (request.status !== 'ok') return;
        const sessionPromise = connect({
          daemon: daemon.address,
          name: request.value.name,
          membership: request.value.membership,
          priority: request.value.priority,
        });
        const conn = await daemon.accepted();
        const rejected = c.s2c[0]!.entry.kind === 'reject';
        const handshake = replayHandshake(conn, c);
        if (rejected) {
          await handshake;
          await assert.rejects(sessionPromise, (err: SpreadError) => err.code === 'REJECT_NOT_UNIQUE' && err.spreadCode === -6);
          return;
        }
        await handshake;
        const session = await sessionPromise;
        assert.equal(session.privateGroup, c.s2c[1]!.entry.private_group);
        assert.deepEqual(session.daemonVersion, { major: 5, minor: 0, patch: 1 });
        const messages = session.messages();

        // Server frames: all at once, in random pieces.
        const serverFrames = c.s2c.slice(2);
        conn.sendInPieces(Buffer.concat(serverFrames.map((u) => u.bytes)), seededRandom(c.conn.length * 7919 + c.fullS2c.length));
        for (const unit of serverFrames) {
          const next = await messages.next();
          assert.equal(next.done, false);
          assertMatchesEntry(next.value as ReceivedMessage, unit.entry, unit.bytes);
        }

        // Client frames: the actions that produced them, then the disconnect if it has one.
        const actions = c.c2s.slice(2).map((u) => {
          const frame = decodeMessage(u.bytes, 0, { direction: 'toDaemon' });
          assert.equal(frame.status, 'ok', u.entry.file);
          return actionFor((frame as { value: DecodedMessage }).value);
        });
        for (const a of actions) if (a.kind === 'do') await a.run(session);
        const handshakeBytes = c.c2s[0]!.bytes.length + c.c2s[1]!.bytes.length;
        if (actions.some((a) => a.kind === 'kill')) {
          const done = session.disconnect();
          await conn.take(c.fullC2s.length - handshakeBytes);
          conn.end();
          await done;
          assert.equal(await session.closed, undefined);
          assert.deepEqual(await messages.next(), { value: undefined, done: true });
        } else {
          // s3's carol: the daemon goes away under the session.
          await conn.take(c.fullC2s.length - handshakeBytes);
          conn.end();
          const error = await session.closed;
          assert.equal(error?.code, 'CONNECTION_CLOSED');
          await assert.rejects(messages.next(), (err: SpreadError) => err.code === 'CONNECTION_CLOSED');
        }
        const ours = conn.received();
        assert.deepEqual(ours.subarray(0, handshakeBytes), c.fullC2s.subarray(0, handshakeBytes));
        assert.deepEqual(maskNamePadding(ours.subarray(handshakeBytes)), maskNamePadding(c.fullC2s.subarray(handshakeBytes)));
        assert.deepEqual(Buffer.concat(c.s2c.map((u) => u.bytes)), c.fullS2c, 'the split files are the full stream');
      } finally {
        await daemon.close();
      }
    });
  }

  it('KILL garbage: the capture has bytes after the NUL that the mask hides and the client never sends', () => {
    const c = capturedConnections().find((x) => x.scenario.name.startsWith('s2') && x.conn === 'alice')!;
    const kill = c.c2s.find((u) => u.entry.kind === 'KILL_MESS')!.bytes;
    assert.notDeepEqual(maskNamePadding(kill), kill);
  });

  it('s1/alice step by step: memberships with cause and changed member, SAFE message, self-leave', async () => {
    const c = capturedConnections().find((x) => x.scenario.name.startsWith('s1') && x.conn === 'alice')!;
    const unit = (prefix: string) => c.s2c.find((u) => u.entry.file.startsWith(prefix))?.bytes ?? c.c2s.find((u) => u.entry.file.startsWith(prefix))!.bytes;
    const daemon = await FakeDaemon.listen();
    try {
      const sessionPromise = connect({ daemon: daemon.address, name: 'alice' });
      const conn = await daemon.accepted();
      await replayHandshake(conn, c);
      const session = await sessionPromise;
      const got: ReceivedMessage[] = [];
      session.on('membership', (m) => got.push(m));
      session.on('message', (m) => got.push(m));
      const nextArrival = (n: number) => new Promise<void>((resolve) => {
        const check = () => (got.length >= n ? resolve() : setTimeout(check, 2));
        check();
      });

      await session.join('grp');
      assert.deepEqual(await conn.take(80), unit('alice_04'));
      conn.send(unit('alice_08'));
      conn.send(unit('alice_09'));
      await nextArrival(2);
      assert.deepEqual(got[1], {
        type: 'membership',
        kind: 'regular',
        group: 'grp',
        cause: 'JOIN',
        members: ['#alice#sp1', '#bob#sp1'],
        groupId: { daemonId: 4254043461, time: 1795306493, index: 2 },
        vsSets: [['#bob#sp1']],
        localVsSetIndex: 0,
        changedMember: '#bob#sp1',
      });

      await session.multicast('grp', 'hello\n', { service: 'SAFE', messType: 1 });
      assert.deepEqual(await conn.take(86), unit('alice_05'));
      conn.send(unit('alice_10'));
      await nextArrival(3);
      const safe = got[2]!;
      assert.ok(safe.type === 'message');
      assert.equal(safe.service, 'SAFE');
      assert.equal(safe.data.toString(), 'hello\n');

      conn.send(unit('alice_11'));
      await session.leave('grp');
      assert.deepEqual(await conn.take(80), unit('alice_06'));
      conn.send(unit('alice_12'));
      await nextArrival(5);
      assert.ok(got[3]!.type === 'membership' && got[3]!.kind === 'regular' && got[3]!.cause === 'LEAVE');
      assert.deepEqual(got[4], { type: 'membership', kind: 'self-leave', group: 'grp' });

      const done = session.disconnect();
      assert.deepEqual(await conn.take(80), unit('alice_07'));
      conn.end();
      await done;
      assert.equal(session.isClosed, true);
    } finally {
      await daemon.close();
    }
  });

  it('s3: a transitional membership, then NETWORK with the new group id and vs_sets', async () => {
    const c = capturedConnections().find((x) => x.scenario.name.startsWith('s3') && x.conn === 'd1_alice')!;
    const daemon = await FakeDaemon.listen();
    try {
      const sessionPromise = connect({ daemon: daemon.address, name: 'alice' });
      const conn = await daemon.accepted();
      await replayHandshake(conn, c);
      const session = await sessionPromise;
      for (const u of c.s2c.slice(2)) conn.send(u.bytes);
      const received: ReceivedMessage[] = [];
      for await (const m of session) {
        received.push(m);
        if (received.length === c.s2c.length - 2) break;
      }
      const [transitional, network] = received.slice(-2);
      assert.deepEqual(transitional, { type: 'membership', kind: 'transitional', group: 'grp', groupId: { daemonId: 1552775919, time: 1795307741, index: 3 } });
      assert.ok(network!.type === 'membership' && network!.kind === 'regular');
      assert.equal(network.cause, 'NETWORK');
      assert.deepEqual(network.members, ['#alice#d1', '#bob#d2']);
      assert.deepEqual(network.vsSets, [['#alice#d1', '#bob#d2']]);
      assert.equal(network.changedMember, undefined);
      assert.deepEqual(network.groupId, { daemonId: 1552775919, time: 1795307779, index: 1 });
      await session.disconnect();
    } finally {
      await daemon.close();
    }
  });
});

describe('client against the handshake probes', function () {
  before(function () {
    if (!vectors.dir) this.skip();
  });
  const probes = () => loadProbes(vectors.dir!).probes;
  const probe = (name: string) => probes().find((p) => p.name === name)!;

  for (const [name, options] of [
    ['ok_v5_memb_prio0', { name: 'probe', membership: true }],
    ['ok_v5_nomemb', { name: 'probe2', membership: false }],
    ['ok_v5_prio1', { name: 'probe3', membership: true, priority: 1 }],
  ] as const) {
    it(`${name}: the same connect and auth bytes, and the accept read`, async () => {
      const p = probe(name);
      const daemon = await FakeDaemon.listen();
      try {
        const sessionPromise = connect({ daemon: daemon.address, ...options });
        const conn = await daemon.accepted();
        const c2s = Buffer.from(p.c2s, 'hex');
        conn.send(Buffer.from(p.s2c, 'hex'));
        assert.deepEqual(await conn.take(c2s.length), c2s);
        const session = await sessionPromise;
        assert.equal(session.privateGroup, `#${options.name}#sp1`);
        assert.equal(session.privateName, options.name);
        assert.equal(session.daemonName, 'sp1');
        await session.disconnect();
      } finally {
        await daemon.close();
      }
    });
  }

  for (const [name, code, spreadCode] of [
    ['reject_version_3_0', 'REJECT_VERSION', -7],
    ['reject_illegal_name_hash', 'REJECT_ILLEGAL_NAME', -5],
    ['reject_auth_unknown_method', 'REJECT_AUTH', -9],
  ] as const) {
    it(`${name}: the daemon's reject byte becomes SpreadError ${code}`, async () => {
      const daemon = await FakeDaemon.listen();
      try {
        const sessionPromise = connect({ daemon: daemon.address, name: 'probe' });
        const conn = await daemon.accepted();
        conn.send(Buffer.from(probe(name).s2c, 'hex'));
        conn.end();
        await assert.rejects(sessionPromise, (err: SpreadError) => err instanceof SpreadError && err.code === code && err.spreadCode === spreadCode);
      } finally {
        await daemon.close();
      }
    });
  }

  it('agreed_self_discard_bigendian_hint: same frames from the client; mess_type and endian mismatch read as Spread does', async () => {
    const p = probe('agreed_self_discard_bigendian_hint');
    const c2s = Buffer.from(p.c2s, 'hex');
    const s2c = Buffer.from(p.s2c, 'hex');
    const daemon = await FakeDaemon.listen();
    try {
      const sessionPromise = connect({ daemon: daemon.address, name: 'probe6' });
      const conn = await daemon.accepted();
      conn.send(s2c.subarray(0, 6 + 16)); // auth list and accept
      const session = await sessionPromise;
      const messages = session.messages();
      await session.join('pg');
      await session.multicast('pg', 'ABCD', { service: 'AGREED', messType: 0x1234 });
      await session.multicast('pg', 'SELF', { service: 'AGREED', messType: 7, selfDiscard: true });
      // The probe's fourth frame was encoded big-endian by hand; ours are host order, so compare the first three.
      const handshake = 11 + 90;
      const ourFrames = 80 + 84 + 84;
      const ours = await conn.take(handshake + ourFrames);
      assert.deepEqual(ours, c2s.subarray(0, handshake + ourFrames));
      conn.send(s2c.subarray(22));
      const membership = (await messages.next()).value as ReceivedMessage;
      assert.ok(membership.type === 'membership' && membership.kind === 'regular' && membership.cause === 'JOIN');
      const echoed = (await messages.next()).value as ReceivedMessage;
      assert.ok(echoed.type === 'message');
      assert.equal(echoed.messType, 0x1234);
      assert.equal(echoed.endianMismatch, false);
      const bigEndian = (await messages.next()).value as ReceivedMessage;
      assert.ok(bigEndian.type === 'message');
      assert.equal(bigEndian.messType, 5);
      assert.equal(bigEndian.endianMismatch, true);
      assert.equal(bigEndian.service, 'AGREED');
      await session.disconnect();
    } finally {
      await daemon.close();
    }
  });
});

// The active/standby helper: roles from synthetic membership messages (first view, a failover,
// a merge after a partition, other groups and transitional views ignored, leave, the session's
// end), then real client sessions through a ringcast session server (fake ring): the first
// joiner is active, the second takes over when the first disconnects, and the application
// still gets its messages.
import { strict as assert } from 'node:assert';
import { EventEmitter } from 'node:events';
import { daemonVid } from '../../src/config/hash';
import { connect } from '../../src/client/connect';
import type { DataMessage, MembershipCause, MembershipMessage } from '../../src/client/received';
import type { Session } from '../../src/client/session';
import { SpreadError } from '../../src/errors';
import { HaService, type HaGroup } from '../../src/services/ha/group';
import { singleDaemon, until } from './sessionFixtures';

const ME = '#me#d1';

/** A Session stand-in: records joins and leaves, delivers what the test feeds it. */
class FakeSession extends EventEmitter {
  readonly privateGroup = ME;
  isClosed = false;
  readonly sent: string[] = [];
  failJoin = false;
  join(group: string): Promise<void> {
    this.sent.push(`join ${group}`);
    return this.failJoin ? Promise.reject(new SpreadError('ILLEGAL_GROUP', 'bad group')) : Promise.resolve();
  }
  leave(group: string): Promise<void> {
    this.sent.push(`leave ${group}`);
    return Promise.resolve();
  }
  view(group: string, members: string[], cause: MembershipCause = 'JOIN'): void {
    const m: MembershipMessage = { type: 'membership', kind: 'regular', group, cause, members, groupId: { daemonId: 1, time: 1, index: 1 }, vsSets: [members], localVsSetIndex: 0 };
    this.emit('membership', m);
  }
}

/** Records a group's events as strings. */
function record(group: HaGroup): string[] {
  const seen: string[] = [];
  group.on('active', () => seen.push('active'));
  group.on('standby', () => seen.push('standby'));
  group.on('view', (members) => seen.push(`view ${members.join(' ')}`));
  group.on('closed', (e) => seen.push(`closed ${e?.code ?? ''}`));
  return seen;
}

describe('HA active/standby groups', () => {
  it('first member of the first view: active at once', async () => {
    const s = new FakeSession();
    const g = await new HaService(s).group('svc');
    const seen = record(g);
    assert.deepEqual(s.sent, ['join svc']);
    assert.equal(g.role, 'standby', 'standby until a view says otherwise');
    s.view('svc', [ME]);
    assert.equal(await g.ready, 'active');
    assert.equal(g.role, 'active');
    s.view('svc', [ME, '#b#d2']);
    assert.deepEqual(seen, [`view ${ME}`, 'active', `view ${ME} #b#d2`]);
    assert.deepEqual([g.members, g.activeMember], [[ME, '#b#d2'], ME]);
  });

  it('standby until the members before it are gone, then active (once)', async () => {
    const s = new FakeSession();
    const g = await new HaService(s).group('svc');
    const seen = record(g);
    s.view('svc', ['#a#d1', ME]);
    s.view('svc', ['#a#d1', ME, '#c#d3']);
    s.view('svc', [ME, '#c#d3'], 'DISCONNECT');
    s.view('svc', [ME], 'NETWORK');
    assert.deepEqual(seen.filter((e) => !e.startsWith('view')), ['standby', 'active']);
    assert.equal(await g.ready, 'standby', 'the role of the first view');
  });

  it('a merge that puts another member first makes the active one a standby', async () => {
    const s = new FakeSession();
    const g = await new HaService(s).group('svc');
    const seen = record(g);
    s.view('svc', [ME], 'NETWORK');
    s.view('svc', ['#x#d0', ME], 'NETWORK');
    assert.deepEqual(seen.filter((e) => !e.startsWith('view')), ['active', 'standby']);
  });

  it('ignores other groups and transitional views', async () => {
    const s = new FakeSession();
    const g = await new HaService(s).group('svc');
    const seen = record(g);
    s.view('other', [ME]);
    s.emit('membership', { type: 'membership', kind: 'transitional', group: 'svc', groupId: { daemonId: 1, time: 1, index: 1 } });
    s.emit('membership', { type: 'membership', kind: 'self-leave', group: 'other' });
    assert.deepEqual(seen, []);
  });

  it('leave(): resolves on the self-leave; no events after; the next group() joins again', async () => {
    const s = new FakeSession();
    const ha = new HaService(s);
    const g = await ha.group('svc');
    assert.equal(await ha.group('svc'), g, 'one HaGroup per name');
    const seen = record(g);
    s.view('svc', [ME]);
    const left = g.leave();
    await Promise.resolve();
    assert.deepEqual(s.sent, ['join svc', 'leave svc']);
    s.emit('membership', { type: 'membership', kind: 'self-leave', group: 'svc' });
    await left;
    assert.equal(g.role, 'standby');
    s.view('svc', [ME]);
    assert.deepEqual(seen, [`view ${ME}`, 'active']);
    assert.equal(s.listenerCount('membership'), 0);
    assert.notEqual(await ha.group('svc'), g);
  });

  it("the session's end: an active member steps down ('standby'), then 'closed'", async () => {
    const s = new FakeSession();
    const g = await new HaService(s).group('svc');
    const seen = record(g);
    s.view('svc', [ME]);
    s.emit('close', new SpreadError('CONNECTION_CLOSED', 'daemon gone'));
    assert.deepEqual(seen, [`view ${ME}`, 'active', 'standby', 'closed CONNECTION_CLOSED']);
    assert.equal(g.role, 'standby');
  });

  it('a join that fails rejects and leaves nothing behind; a closed session is refused', async () => {
    const s = new FakeSession();
    const ha = new HaService(s);
    s.failJoin = true;
    await assert.rejects(ha.group('svc'), (e: SpreadError) => e.code === 'ILLEGAL_GROUP');
    assert.equal(s.listenerCount('membership'), 0);
    s.failJoin = false;
    await ha.group('svc');
    s.isClosed = true;
    await assert.rejects(new HaService(s).group('x'), (e: SpreadError) => e.code === 'CONNECTION_CLOSED');
  });

  describe('through a session server', function () {
    this.timeout(10_000);
    it('first joiner active, second standby; the second takes over on disconnect; messages still reach the application', async () => {
      const { server } = singleDaemon({ id: daemonVid('sp1'), name: 'sp1' }, 7, { tcp: [{ host: '127.0.0.1', port: 0 }], unixSocketPath: null });
      await server.listen();
      const daemon = `${server.addresses()[0]!.split(':')[1]}@127.0.0.1`;
      const sessions: Session[] = [];
      try {
        const a = await connect({ daemon, name: 'a' });
        const b = await connect({ daemon, name: 'b' });
        sessions.push(a, b);
        const appMessages: string[] = [];
        b.on('message', (m: DataMessage) => appMessages.push(m.data.toString()));
        const ga = await new HaService(a).group('svc');
        const aSeen = record(ga);
        assert.equal(await ga.ready, 'active');
        const gb = await new HaService(b).group('svc');
        const bSeen = record(gb);
        assert.equal(await gb.ready, 'standby');
        await a.multicast('svc', 'hello');
        await until(() => appMessages.length === 1, 'the application gets the message');
        await a.disconnect();
        await until(() => gb.role === 'active', 'b takes over');
        assert.deepEqual(bSeen, ['view #a#sp1 #b#sp1', 'standby', 'view #b#sp1', 'active']);
        assert.deepEqual(aSeen.slice(0, 3), ['view #a#sp1', 'active', 'view #a#sp1 #b#sp1']);
        assert.deepEqual(appMessages, ['hello']);
        await gb.leave();
        assert.equal(gb.role, 'standby');
      } finally {
        for (const s of sessions) await s.disconnect();
        await server.close();
      }
    });
  });
});

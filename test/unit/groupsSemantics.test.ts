// GroupsCore semantics beyond the captures: delivery to sessions (several groups, SELF_DISCARD,
// open groups, private groups), membership rules, the transitional period, merges with the
// state exchange (and a configuration change in the middle of one), and a seeded random run in
// which every daemon of a component must end up with the same groups.
import { strict as assert } from 'node:assert';
import { MessageType } from '../../src/wire/client';
import { encodeDataEnvelope } from '../../src/wire/envelope';
import { Cluster, clientFrame, regular, take, transitional } from './groupsFixtures';

const { AGREED_MESS, SAFE_MESS, FIFO_MESS, SELF_DISCARD, JOIN_MESS, LEAVE_MESS, KILL_MESS } = MessageType;
const A = 1;
const B = 2;
const C = 3;

function join(cluster: Cluster, daemon: number, member: string, group: string): void {
  cluster.sendFrame(daemon, member, clientFrame(JOIN_MESS, member, [group]));
}
function leave(cluster: Cluster, daemon: number, member: string, group: string): void {
  cluster.sendFrame(daemon, member, clientFrame(LEAVE_MESS, member, [group]));
}
function kill(cluster: Cluster, daemon: number, member: string): void {
  cluster.sendFrame(daemon, member, clientFrame(KILL_MESS, member, [member]));
}
function send(cluster: Cluster, daemon: number, member: string, groups: string[], text: string, type: number = AGREED_MESS): void {
  cluster.sendFrame(daemon, member, clientFrame(type, member, groups, Buffer.from(text)));
}

/** One daemon A with a regular configuration and these sessions. */
function single(...sessions: string[]): Cluster {
  const cluster = new Cluster([A]);
  cluster.configure([A], regular(100, A, [A]));
  for (const s of sessions) cluster.openSession(A, s);
  return cluster;
}

/** A, B, C in one ring (after their state exchange). */
function threeDaemons(): Cluster {
  const cluster = new Cluster([A, B, C]);
  cluster.configure([A, B, C], regular(100, A, [A, B, C]));
  return cluster;
}

describe('GroupsCore: delivery to sessions', function () {
  it('reaches each session once with all the target groups; SELF_DISCARD; open groups', function () {
    const cluster = single('#a#A', '#b#A', '#c#A', '#d#A');
    join(cluster, A, '#a#A', 'g1');
    join(cluster, A, '#b#A', 'g1');
    join(cluster, A, '#b#A', 'g2');
    join(cluster, A, '#c#A', 'g2');
    for (const s of ['#a#A', '#b#A', '#c#A']) take(cluster, s);

    send(cluster, A, '#a#A', ['g1', 'g2'], 'both');
    send(cluster, A, '#a#A', ['g1', 'g2'], 'not me', AGREED_MESS | SELF_DISCARD);
    send(cluster, A, '#d#A', ['g1'], 'from outside', SAFE_MESS); // d is in no group
    const both = 'AGREED #a#A -> g1,g2: both';
    const notMe = 'AGREED|SELF_DISCARD #a#A -> g1,g2: not me';
    const outside = 'SAFE #d#A -> g1: from outside';
    assert.deepEqual(take(cluster, '#a#A'), [both, outside]);
    assert.deepEqual(take(cluster, '#b#A'), [both, notMe, outside]);
    assert.deepEqual(take(cluster, '#c#A'), [both, notMe]);
    assert.deepEqual(take(cluster, '#d#A'), []);
  });

  it('delivers to private groups of this daemon, once even when also reached through a group', function () {
    const cluster = single('#a#A', '#b#A', '#c#A');
    join(cluster, A, '#b#A', 'g');
    take(cluster, '#b#A');
    send(cluster, A, '#a#A', ['#b#A'], 'p2p', FIFO_MESS);
    send(cluster, A, '#a#A', ['#b#A', 'g', '#c#A', '#x#B'], 'mixed');
    send(cluster, A, '#a#A', ['#a#A'], 'self', AGREED_MESS | SELF_DISCARD);
    assert.deepEqual(take(cluster, '#a#A'), []);
    assert.deepEqual(take(cluster, '#b#A'), ['FIFO #a#A -> #b#A: p2p', 'AGREED #a#A -> #b#A,g,#c#A,#x#B: mixed']);
    assert.deepEqual(take(cluster, '#c#A'), ['AGREED #a#A -> #b#A,g,#c#A,#x#B: mixed']);
  });

  it('reaches sessions on every daemon, and the hint bytes stay as the sender wrote them', function () {
    const cluster = threeDaemons();
    cluster.openSession(A, '#a#A');
    cluster.openSession(B, '#b#B');
    cluster.openSession(C, '#c#C');
    join(cluster, A, '#a#A', 'g');
    join(cluster, C, '#c#C', 'g');
    const bigEndianHint = 0x00050000; // a big-endian sender's mess_type 5, read little-endian
    cluster.submit(B, encodeDataEnvelope({ type: AGREED_MESS, hint: bigEndianHint, sender: '#b#B', groups: ['g'], data: Buffer.from('x') }));
    for (const s of ['#a#A', '#c#C']) {
      const frame = cluster.frames(s).at(-1)!;
      assert.equal(frame.readUInt32LE(0), 0x80000090);
      assert.equal(frame.readUInt32LE(40), bigEndianHint);
    }
    assert.deepEqual(cluster.frames('#b#B'), []);
  });

  it('gives sessions without the membership flag their data but no membership messages', function () {
    const cluster = single('#a#A');
    cluster.openSession(A, '#quiet#A', false);
    join(cluster, A, '#quiet#A', 'g');
    join(cluster, A, '#a#A', 'g');
    send(cluster, A, '#a#A', ['g'], 'hi');
    leave(cluster, A, '#quiet#A', 'g');
    assert.deepEqual(take(cluster, '#quiet#A'), ['AGREED #a#A -> g: hi']);
    assert.deepEqual(take(cluster, '#a#A'), [
      'CAUSED_BY_JOIN|REG_MEMB_MESS g [#a#A #quiet#A] vs=*[#a#A] #2',
      'AGREED #a#A -> g: hi',
      'CAUSED_BY_LEAVE|REG_MEMB_MESS g [#a#A] vs=*[#quiet#A] #3',
    ]);
  });

  it('sends nothing to a closed session, and releases its name when its KILL is delivered', function () {
    const cluster = single('#a#A', '#b#A');
    join(cluster, A, '#a#A', 'g');
    join(cluster, A, '#b#A', 'g');
    take(cluster, '#a#A');
    take(cluster, '#b#A');
    cluster.closeSession(A, '#b#A');
    send(cluster, A, '#a#A', ['g', '#b#A'], 'late');
    assert.deepEqual(take(cluster, '#b#A'), []);
    assert.deepEqual(cluster.released, []);
    kill(cluster, A, '#b#A');
    assert.deepEqual(cluster.released, ['#b#A']);
    assert.deepEqual(take(cluster, '#a#A'), ['AGREED #a#A -> g,#b#A: late', 'CAUSED_BY_DISCONNECT|REG_MEMB_MESS g [#a#A] vs=*[#b#A] #3']);
  });
});

describe('GroupsCore: membership', function () {
  it('ignores a second join and a leave of a non-member; a kill leaves every group in name order', function () {
    const cluster = single('#a#A', '#b#A');
    join(cluster, A, '#a#A', 'zeta');
    join(cluster, A, '#a#A', 'alpha');
    join(cluster, A, '#b#A', 'zeta');
    join(cluster, A, '#b#A', 'alpha');
    join(cluster, A, '#b#A', 'alpha');
    leave(cluster, A, '#a#A', 'nowhere');
    take(cluster, '#a#A');
    kill(cluster, A, '#b#A');
    assert.deepEqual(take(cluster, '#a#A'), [
      'CAUSED_BY_DISCONNECT|REG_MEMB_MESS alpha [#a#A] vs=*[#b#A] #3',
      'CAUSED_BY_DISCONNECT|REG_MEMB_MESS zeta [#a#A] vs=*[#b#A] #3',
    ]);
    assert.deepEqual(cluster.core(A).snapshot().map((g) => [g.name, g.members]), [
      ['alpha', ['#a#A']],
      ['zeta', ['#a#A']],
    ]);
  });

  it('lists members daemon by daemon in configuration order, then by name; ids count changes per group', function () {
    const cluster = new Cluster([C, A, B]); // the configuration file names C first
    cluster.configure([A, B, C], regular(100, A, [A, B, C]));
    cluster.openSession(A, '#z#A');
    cluster.openSession(A, '#y#A');
    cluster.openSession(C, '#x#C');
    cluster.openSession(B, '#w#B');
    join(cluster, A, '#z#A', 'g');
    join(cluster, A, '#y#A', 'g');
    join(cluster, B, '#w#B', 'g');
    join(cluster, C, '#x#C', 'g');
    join(cluster, C, '#x#C', 'h');
    assert.deepEqual(take(cluster, '#x#C'), [
      'CAUSED_BY_JOIN|REG_MEMB_MESS g [#x#C #y#A #z#A #w#B] vs=*[#x#C] #4',
      'CAUSED_BY_JOIN|REG_MEMB_MESS h [#x#C] vs=*[#x#C] #1',
    ]);
    const ids = cluster.core(B).snapshot().map((g) => g.groupId);
    assert.deepEqual(ids, [
      { daemonId: A, time: 100, index: 4 },
      { daemonId: A, time: 100, index: 1 },
    ]);
  });

  it('the self-leave comes before the others learn of the leave; the last leave removes the group', function () {
    const cluster = single('#a#A', '#b#A');
    join(cluster, A, '#a#A', 'g');
    join(cluster, A, '#b#A', 'g');
    take(cluster, '#a#A');
    take(cluster, '#b#A');
    leave(cluster, A, '#b#A', 'g');
    leave(cluster, A, '#a#A', 'g');
    assert.deepEqual(take(cluster, '#b#A'), ['CAUSED_BY_LEAVE g']);
    assert.deepEqual(take(cluster, '#a#A'), ['CAUSED_BY_LEAVE|REG_MEMB_MESS g [#a#A] vs=*[#b#A] #3', 'CAUSED_BY_LEAVE g']);
    assert.deepEqual(cluster.core(A).snapshot(), []);
  });
});

describe('GroupsCore: daemon configuration changes', function () {
  /** a@A, b@B, c@C in g; everyone's messages drained. */
  function groupOnThree(): Cluster {
    const cluster = threeDaemons();
    cluster.openSession(A, '#a#A');
    cluster.openSession(A, '#a2#A');
    cluster.openSession(B, '#b#B');
    cluster.openSession(C, '#c#C');
    cluster.openSession(C, '#c2#C');
    join(cluster, A, '#a#A', 'g');
    join(cluster, B, '#b#B', 'g');
    join(cluster, C, '#c#C', 'g');
    for (const s of ['#a#A', '#b#B', '#c#C']) take(cluster, s);
    return cluster;
  }

  it('transitional period: messages in it, a join to the changed group is heavyweight with the joiner alone', function () {
    const cluster = groupOnThree();
    cluster.kill(C);
    cluster.configure([A, B], transitional(200, A, [A, B]));
    // EVS clean-up messages: still from the old ring, C's among them.
    cluster.enqueue(C, encodeDataEnvelope({ type: AGREED_MESS, hint: 0x80000080, sender: '#c#C', groups: ['g'], data: Buffer.from('last words') }));
    cluster.flush();
    join(cluster, A, '#a2#A', 'g');
    join(cluster, C, '#c2#C', 'g'); // C is gone: its member comes alone, and goes with it
    cluster.configure([A, B], regular(200, A, [A, B]));
    const aliceSaw = [
      'TRANSITION_MESS g #3',
      'AGREED #c#C -> g: last words',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #a2#A #b#B #c#C] vs=*[#a#A #b#B][#c#C][#a2#A] #2',
      'TRANSITION_MESS g #2',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #a2#A #b#B #c#C #c2#C] vs=*[#a#A #a2#A #b#B][#c#C][#c2#C] #3',
      'TRANSITION_MESS g #3',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #a2#A #b#B] vs=*[#a#A #a2#A #b#B] #1',
    ];
    assert.deepEqual(take(cluster, '#a#A'), aliceSaw);
    assert.deepEqual(take(cluster, '#a2#A'), [
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #a2#A #b#B #c#C] vs=[#a#A #b#B][#c#C]*[#a2#A] #2',
      'TRANSITION_MESS g #2',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #a2#A #b#B #c#C #c2#C] vs=*[#a#A #a2#A #b#B][#c#C][#c2#C] #3',
      'TRANSITION_MESS g #3',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #a2#A #b#B] vs=*[#a#A #a2#A #b#B] #1',
    ]);
    // b's vs_set is the first one too: the same frames.
    assert.deepEqual(take(cluster, '#b#B'), aliceSaw);
    const snapshots = [A, B].map((d) => cluster.core(d).snapshot());
    assert.deepEqual(snapshots[0], snapshots[1]);
    assert.deepEqual(snapshots[0]![0]!.groupId, { daemonId: A, time: 200, index: 1 });
  });

  it('partition and merge: the merged group has one vs_set per partition; deliveries during the exchange wait for it', function () {
    const cluster = groupOnThree();
    cluster.partition([[A, B], [C]]);
    cluster.configure([A, B], transitional(200, A, [A, B]));
    cluster.configure([A, B], regular(200, A, [A, B]));
    cluster.configure([C], transitional(201, C, [C]));
    cluster.configure([C], regular(201, C, [C]));
    assert.deepEqual(take(cluster, '#c#C'), [
      'TRANSITION_MESS g #3',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#c#C] vs=*[#c#C] #1',
    ]);
    join(cluster, A, '#a2#A', 'g');
    join(cluster, C, '#c#C', 'h');
    take(cluster, '#a#A');
    take(cluster, '#c#C');

    cluster.partition([[A, B, C]]);
    // Queued before the configuration: delivered during the exchange, held until it completes.
    cluster.enqueue(B, encodeDataEnvelope({ type: AGREED_MESS, hint: 0x80000080, sender: '#b#B', groups: ['g'], data: Buffer.from('early') }));
    cluster.enqueue(B, encodeDataEnvelope({ type: AGREED_MESS, hint: 0x80000080, sender: '#b#B', groups: ['g', 'h'], data: Buffer.from('during') }));
    cluster.configure([A, B], transitional(300, A, [A, B]), false);
    cluster.configure([C], transitional(300, A, [C]), false);
    cluster.configure([A, B, C], regular(300, A, [A, B, C]), false);
    for (const d of [A, B, C]) assert.equal(cluster.core(d).state, 'exchanging');
    cluster.flush();
    for (const d of [A, B, C]) assert.equal(cluster.core(d).state, 'operational');
    assert.deepEqual(take(cluster, '#a#A'), [
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #a2#A #b#B #c#C] vs=*[#a#A #a2#A #b#B][#c#C] #1',
      'AGREED #b#B -> g: early',
      'AGREED #b#B -> g,h: during',
    ]);
    assert.deepEqual(take(cluster, '#c#C'), [
      // h was C's alone and did not change: no message for it.
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #a2#A #b#B #c#C] vs=[#a#A #a2#A #b#B]*[#c#C] #1',
      'AGREED #b#B -> g: early',
      'AGREED #b#B -> g,h: during',
    ]);
    const snapshots = [A, B, C].map((d) => cluster.core(d).snapshot());
    assert.deepEqual(snapshots[1], snapshots[0]);
    assert.deepEqual(snapshots[2], snapshots[0]);
    assert.deepEqual(snapshots[0]!.map((g) => [g.name, g.groupId.time, g.groupId.index]), [
      ['g', 300, 1],
      ['h', 201, 1],
    ]);
  });

  it('a daemon that joins the ring learns the groups from the exchange', function () {
    const cluster = new Cluster([A, B]);
    cluster.partition([[A], [B]]);
    cluster.configure([A], regular(100, A, [A]));
    cluster.configure([B], regular(101, B, [B]));
    cluster.openSession(A, '#a#A');
    cluster.openSession(B, '#b#B');
    join(cluster, A, '#a#A', 'g');
    join(cluster, B, '#b#B', 'g');
    take(cluster, '#a#A');
    cluster.partition([[A, B]]);
    cluster.configure([A], transitional(102, A, [A]), false);
    cluster.configure([B], transitional(102, A, [B]), false);
    cluster.configure([A, B], regular(102, A, [A, B]));
    assert.deepEqual(take(cluster, '#a#A'), ['CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #b#B] vs=*[#a#A][#b#B] #1']);
    assert.deepEqual(take(cluster, '#b#B'), [
      'CAUSED_BY_JOIN|REG_MEMB_MESS g [#b#B] vs=*[#b#B] #1',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #b#B] vs=[#a#A]*[#b#B] #1',
    ]);
  });

  it('a configuration change during the exchange abandons it; the next exchange settles everything', function () {
    const cluster = groupOnThree();
    cluster.partition([[A, B], [C]]);
    cluster.configure([A, B], transitional(200, A, [A, B]));
    cluster.configure([A, B], regular(200, A, [A, B]));
    cluster.configure([C], transitional(201, C, [C]));
    cluster.configure([C], regular(201, C, [C]));
    for (const s of ['#a#A', '#b#B', '#c#C']) take(cluster, s);

    // Merge: the exchange starts; a message and A's report are delivered, then the ring
    // changes again (B goes) before the other reports are.
    cluster.partition([[A, B, C]]);
    cluster.enqueue(A, encodeDataEnvelope({ type: AGREED_MESS, hint: 0x80000080, sender: '#a#A', groups: ['g'], data: Buffer.from('held') }));
    cluster.configure([A, B], transitional(300, A, [A, B]), false);
    cluster.configure([C], transitional(300, A, [C]), false);
    cluster.configure([A, B, C], regular(300, A, [A, B, C]), false);
    assert.equal(cluster.queued, 4);
    cluster.deliverNext(2);
    for (const d of [A, B, C]) assert.equal(cluster.core(d).state, 'exchanging');
    assert.deepEqual(take(cluster, '#a#A'), []);

    cluster.partition([[A, C], [B]]);
    cluster.configure([A, C], transitional(400, A, [A, C]), false);
    cluster.configure([A, C], regular(400, A, [A, C]), false);
    cluster.configure([B], transitional(401, B, [B]), false);
    cluster.configure([B], regular(401, B, [B]), false);
    assert.equal(cluster.core(B).state, 'operational');
    cluster.flush(); // the old reports (ignored now) and the new ones
    join(cluster, C, '#c2#C', 'g');
    assert.deepEqual(take(cluster, '#a#A'), [
      'AGREED #a#A -> g: held',
      'TRANSITION_MESS g #1',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #c#C] vs=*[#a#A][#c#C] #1',
      'CAUSED_BY_JOIN|REG_MEMB_MESS g [#a#A #c#C #c2#C] vs=*[#c2#C] #2',
    ]);
    assert.deepEqual(take(cluster, '#c#C'), [
      'AGREED #a#A -> g: held', // c was in g at C when the ring delivered it
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#a#A #c#C] vs=[#a#A]*[#c#C] #1',
      'CAUSED_BY_JOIN|REG_MEMB_MESS g [#a#A #c#C #c2#C] vs=*[#c2#C] #2',
    ]);
    assert.deepEqual(take(cluster, '#b#B'), [
      'AGREED #a#A -> g: held',
      'TRANSITION_MESS g #1',
      'CAUSED_BY_NETWORK|REG_MEMB_MESS g [#b#B] vs=*[#b#B] #1',
    ]);
    const [a, c] = [A, C].map((d) => cluster.core(d).snapshot());
    assert.deepEqual(c, a);
    assert.deepEqual(a!.map((g) => [g.name, g.members, g.groupId.time, g.groupId.index]), [['g', ['#a#A', '#c#C', '#c2#C'], 400, 2]]);
    assert.equal(cluster.core(A).state, 'operational');
  });
});

describe('GroupsCore: seeded random runs', function () {
  /** xorshift32 */
  function rng(seed: number): () => number {
    let x = seed >>> 0 || 1;
    return () => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x / 2 ** 32;
    };
  }

  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}: daemons that share a configuration hold the same groups`, function () {
      const random = rng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const daemons = [A, B, C, 4];
      const cluster = new Cluster(daemons);
      let ringSeq = 1000;
      let parts: number[][] = [daemons.slice()];
      cluster.configure(daemons, regular(ringSeq, A, daemons));
      const sessions = daemons.flatMap((d) => ['p', 'q', 'r'].map((n) => ({ daemon: d, pg: `#${n}#D${d}` })));
      for (const s of sessions) cluster.openSession(s.daemon, s.pg);
      const groups = ['g1', 'g2', 'g3'];

      const reconfigure = (next: number[][], deliverBetween: boolean): void => {
        ringSeq += 10;
        cluster.partition(next);
        for (const [i, part] of next.entries()) {
          const seq = ringSeq + i;
          const rep = Math.min(...part);
          // Transitional: the daemons that come along from each one's old part.
          for (const d of part) {
            const old = parts.find((p) => p.includes(d))!;
            const trans = part.filter((x) => old.includes(x));
            cluster.configure([d], transitional(seq, rep, trans), false);
          }
          cluster.configure(part, regular(seq, rep, part), false);
        }
        parts = next;
        if (deliverBetween) cluster.flush();
      };

      for (let step = 0; step < 400; step++) {
        const r = random();
        const s = pick(sessions);
        if (r < 0.35) join(cluster, s.daemon, s.pg, pick(groups));
        else if (r < 0.55) leave(cluster, s.daemon, s.pg, pick(groups));
        else if (r < 0.75) send(cluster, s.daemon, s.pg, [pick(groups), pick(groups)], `m${step}`);
        else if (r < 0.8) {
          // A disconnect; the name comes back as a new session at once.
          kill(cluster, s.daemon, s.pg);
          cluster.openSession(s.daemon, s.pg);
        } else if (r < 0.9) {
          const shuffled = daemons.slice().sort(() => random() - 0.5);
          const cut = 1 + Math.floor(random() * (daemons.length - 1));
          reconfigure(random() < 0.5 ? [shuffled.slice(0, cut), shuffled.slice(cut)] : [daemons.slice()], random() < 0.7);
        } else {
          cluster.flush();
        }
        if (cluster.queued === 0) {
          for (const part of parts) {
            const states = part.map((d) => cluster.core(d).state);
            if (states.some((st) => st !== 'operational')) continue;
            const first = JSON.stringify(cluster.core(part[0]!).snapshot());
            for (const d of part.slice(1)) assert.equal(JSON.stringify(cluster.core(d).snapshot()), first, `step ${step}: ${part}`);
            // Members only at daemons of this configuration.
            for (const g of cluster.core(part[0]!).snapshot()) {
              for (const m of g.members) assert.ok(part.some((d) => m.endsWith(`#D${d}`)), `step ${step}: ${m} in ${g.name} with ${part}`);
            }
          }
        }
      }
      reconfigure([daemons.slice()], true);
      const first = JSON.stringify(cluster.core(A).snapshot());
      for (const d of daemons) {
        assert.equal(cluster.core(d).state, 'operational');
        assert.equal(JSON.stringify(cluster.core(d).snapshot()), first);
      }
    });
  }
});

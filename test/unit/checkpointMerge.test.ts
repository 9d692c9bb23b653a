import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import msgpack from 'msgpack-lite';
import { CheckpointEngine } from '../../src/services/checkpoint';
import { ALICE, ATTRS, BOB, CAROL, Harness, READ, RWC, type Reply } from './checkpointFixtures';

/** Two replicas with the same history: Y loads X's snapshot. */
function twins(): [Harness, Harness] {
  const x = new Harness();
  const y = new Harness();
  y.engine.merge([x.engine.snapshot()]);
  return [x, y];
}

/** d1 alone on one side (X), d2 and d3 on the other (Y). */
function partition(x: Harness, y: Harness): void {
  x.configure(['d1'], 2, ['d2', 'd3'], 'd1');
  y.configure(['d2', 'd3'], 2, ['d1'], 'd2');
}

/** Heals: both install ring 3 with everyone, then merge in configuration order; returns the merged snapshot. */
function heal(x: Harness, y: Harness, members: readonly string[] = ['d1', 'd2', 'd3']): unknown {
  x.configure(members, 3, [], 'd1');
  y.configure(members, 3, [], 'd1');
  const sx = x.engine.snapshot();
  const sy = y.engine.snapshot();
  x.engine.merge([sx, sy]);
  y.engine.merge([sx, sy]);
  const z = new CheckpointEngine();
  z.merge([sy, sx]);
  const merged = x.engine.snapshot();
  assert.deepEqual(y.engine.snapshot(), merged, 'every member holds the same state');
  assert.deepEqual(z.snapshot(), merged, 'the order of the snapshots does not matter');
  assert.equal(x.engine.nextDeadline(), y.engine.nextDeadline());
  y.time = x.time = Math.max(x.time, y.time);
  return merged;
}

const section = (h: Harness, from: string, handle: number, id: string): string | undefined => {
  const r = h.request(from, 'read', { handle, ioVector: [{ sectionId: id }] });
  return r.ok ? (r.ioVector as Array<{ data: Buffer }>)[0]!.data.toString() : undefined;
};

describe('checkpoint merge', () => {
  it('a single snapshot merges into the same state', () => {
    const x = new Harness();
    const a = x.open(ALICE, 'c', RWC, { ...ATTRS, retentionDuration: 10 });
    x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'v', expirationTime: x.time + 50 });
    x.ok(ALICE, 'chkptBegin', { handle: a });
    x.ok(BOB, 'close', { handle: x.open(BOB, 'idle') });
    x.ok(ALICE, 'initialize');
    const y = new Harness();
    y.engine.merge([x.engine.snapshot()]);
    assert.deepEqual(y.engine.snapshot(), x.engine.snapshot());
    assert.equal(y.engine.nextDeadline(), x.engine.nextDeadline());
  });

  it('writes on both sides of a partition to different sections all survive', () => {
    const [x, y] = twins();
    const a = x.open(ALICE, 'c');
    const b = x.open(BOB, 'c');
    y.engine.merge([x.engine.snapshot()]);
    for (const h of [x, y]) h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'shared', data: 'base' });
    partition(x, y);
    x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'from-x', data: 'x' });
    y.ok(BOB, 'sectionCreate', { handle: b, sectionId: 'from-y', data: 'y' });
    heal(x, y);
    assert.equal(section(x, ALICE, a, 'from-x'), 'x');
    assert.equal(section(x, ALICE, a, 'from-y'), 'y');
    assert.equal(section(y, BOB, b, 'shared'), 'base');
    assert.equal(x.ok(ALICE, 'status', { handle: a }).numberOfSections, 3);
  });

  it('sections with generated ids made on both sides of a partition all survive', () => {
    const [x, y] = twins();
    const a = x.open(ALICE, 'c');
    const b = x.open(BOB, 'c');
    y.engine.merge([x.engine.snapshot()]);
    partition(x, y);
    const fromX = x.ok(ALICE, 'sectionCreate', { handle: a, generated: true, data: 'x' }).sectionId as Buffer;
    const fromY = y.ok(BOB, 'sectionCreate', { handle: b, generated: true, data: 'y' }).sectionId as Buffer;
    assert.notDeepEqual(fromX, fromY);
    heal(x, y);
    assert.equal(section(x, ALICE, a, fromX.toString()), 'x');
    assert.equal(section(y, BOB, b, fromY.toString()), 'y');
    const next = x.ok(ALICE, 'sectionCreate', { handle: a, generated: true }).sectionId as Buffer;
    assert.ok(![fromX, fromY].some((id) => id.equals(next)), 'ids after the heal are new too');
  });

  it('one section written on both sides: the later stamp wins everywhere', () => {
    const [x, y] = twins();
    const a = x.open(ALICE, 'c');
    x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'base' });
    const b = x.open(BOB, 'c');
    y.engine.merge([x.engine.snapshot()]);
    partition(x, y);
    x.ok(ALICE, 'overwrite', { handle: a, sectionId: 's', data: 'x1' });
    y.ok(BOB, 'overwrite', { handle: b, sectionId: 's', data: 'y1' });
    y.ok(BOB, 'overwrite', { handle: b, sectionId: 's', data: 'y2' }); // more changes in its ring: later
    heal(x, y);
    assert.equal(section(x, ALICE, a, 's'), 'y2');
  });

  it('a delete against a later write: the write survives; a later delete wins', () => {
    const [x, y] = twins();
    const a = x.open(ALICE, 'c');
    for (const id of ['s', 't']) x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: id, data: 'base' });
    const b = x.open(BOB, 'c');
    y.engine.merge([x.engine.snapshot()]);
    partition(x, y);
    // Stamps count the changes in each side's ring (the partition's closes were the first).
    x.ok(ALICE, 'sectionDelete', { handle: a, sectionId: 's' }); // x: 2
    y.ok(BOB, 'sectionCreate', { handle: b, sectionId: 'v' }); // y: 2
    y.ok(BOB, 'overwrite', { handle: b, sectionId: 's', data: 'kept' }); // y: 3, later than x's delete
    y.ok(BOB, 'overwrite', { handle: b, sectionId: 't', data: 'lost' }); // y: 4
    for (const id of ['p', 'q', 'r']) x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: id }); // x: 3..5
    x.ok(ALICE, 'sectionDelete', { handle: a, sectionId: 't' }); // x: 6, later than y's write
    heal(x, y);
    assert.equal(section(x, ALICE, a, 's'), 'kept');
    assert.equal(section(x, ALICE, a, 't'), undefined);
  });

  it('an unlink on one side is final; the checkpoint lives on for the other side\'s openers', () => {
    const [x, y] = twins();
    const b = x.open(BOB, 'c');
    x.ok(BOB, 'sectionCreate', { handle: b, sectionId: 's', data: 'v' });
    y.engine.merge([x.engine.snapshot()]);
    partition(x, y);
    x.ok(ALICE, 'unlink', { name: 'c' }); // BOB's handle was closed on x: deleted there
    y.ok(BOB, 'overwrite', { handle: b, sectionId: 's', data: 'w' });
    heal(x, y);
    x.fail(ALICE, 'open', { name: 'c', flags: READ }, 'NOT_EXIST');
    assert.equal(section(x, BOB, b, 's'), 'w');
    x.ok(BOB, 'close', { handle: b });
    assert.equal(x.engine.counters().checkpoints, 0);
  });

  it('retention that ran out on one side: kept when the other side has it open, gone otherwise', () => {
    const [x, y] = twins();
    const short = { ...ATTRS, retentionDuration: 100 };
    const b = x.open(BOB, 'open-on-y', RWC, short);
    x.ok(BOB, 'close', { handle: x.open(BOB, 'idle', RWC, short) });
    x.ok(BOB, 'sectionCreate', { handle: b, sectionId: 's', data: 'v' });
    y.engine.merge([x.engine.snapshot()]);
    partition(x, y);
    x.tick(x.time + 1000); // both idle on x: both expire there
    assert.equal(x.engine.counters().checkpoints, 0);
    y.time += 50;
    heal(x, y);
    assert.equal(section(x, BOB, b, 's'), 'v');
    x.fail(ALICE, 'open', { name: 'idle', flags: READ }, 'NOT_EXIST');
  });

  it('one name created on both sides: equal attributes fold into one checkpoint', () => {
    const [x, y] = twins();
    partition(x, y);
    const a = x.open(ALICE, 'c');
    x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'x', data: 'from x' });
    const b = y.open(BOB, 'c');
    y.ok(BOB, 'sectionCreate', { handle: b, sectionId: 'y', data: 'from y' });
    heal(x, y);
    assert.equal((x.ok(CAROL, 'list').checkpoints as Reply[]).length, 1);
    assert.equal(x.engine.counters().checkpoints, 1);
    assert.equal(section(x, ALICE, a, 'y'), 'from y');
    assert.equal(section(x, BOB, b, 'x'), 'from x');
    assert.equal(x.ok(CAROL, 'describe', { name: 'c' }).openers, 2);
  });

  it('one name created on both sides with other attributes: the older keeps the name', () => {
    const [x, y] = twins();
    partition(x, y);
    y.time += 1;
    const b = y.open(BOB, 'c', RWC, { ...ATTRS, maxSections: 3, checkpointSize: 2048 }); // ring 2.d2 > 2.d1: the newer
    x.open(ALICE, 'c');
    x.ok(ALICE, 'close', { handle: x.open(ALICE, 'lonely') });
    y.ok(BOB, 'close', { handle: y.open(BOB, 'lonely', RWC, { ...ATTRS, maxSections: 2, checkpointSize: 2048 }) });
    heal(x, y);
    const c = x.ok(CAROL, 'describe', { name: 'c' });
    assert.equal((c.attrs as Reply).maxSections, ATTRS.maxSections);
    assert.equal((x.ok(BOB, 'status', { handle: b }).attrs as Reply).maxSections, 3); // BOB's, unlinked, still open
    assert.equal((x.ok(CAROL, 'describe', { name: 'lonely' }).attrs as Reply).maxSections, ATTRS.maxSections);
    assert.equal(x.engine.counters().checkpoints, 3);
    x.ok(BOB, 'close', { handle: b });
    assert.equal(x.engine.counters().checkpoints, 2);
  });

  it('changes in the transitional configurations of one new ring stay apart', () => {
    const [x, y] = twins();
    partition(x, y);
    // Both sides move to ring 3.d1: each first delivers its old ring's rest in a transitional configuration.
    x.step({ kind: 'configuration', configuration: { kind: 'transitional', ringId: '3.d1', ringSeq: 3, members: ['d1'], left: [], joined: [] } });
    y.step({ kind: 'configuration', configuration: { kind: 'transitional', ringId: '3.d1', ringSeq: 3, members: ['d2', 'd3'], left: [], joined: [] } });
    const a = x.open(ALICE, 'c');
    x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'x', data: 'from x' });
    const b = y.open(BOB, 'c');
    y.ok(BOB, 'sectionCreate', { handle: b, sectionId: 'y', data: 'from y' });
    assert.notEqual(x.ok(ALICE, 'describe', { name: 'c' }).checkpointId, y.ok(BOB, 'describe', { name: 'c' }).checkpointId);
    heal(x, y);
    assert.equal(section(x, ALICE, a, 'y'), 'from y');
    assert.equal(section(y, BOB, b, 'x'), 'from x');
  });

  it('keeps the handles and BLCR runs of clients whose daemon is present, drops the others', () => {
    const [x, y] = twins();
    partition(x, y);
    const a = x.open(ALICE, 'c');
    const run = x.ok(ALICE, 'chkptBegin', { handle: a }).beginHandle;
    const b = y.open(BOB, 'c');
    const c = y.open(CAROL, 'c');
    assert.equal(a, b); // handle numbers are per side; clients tell them apart
    heal(x, y, ['d1', 'd2']);
    x.ok(ALICE, 'status', { handle: a });
    y.ok(BOB, 'status', { handle: b });
    x.fail(CAROL, 'status', { handle: c }, 'BAD_HANDLE');
    x.ok(ALICE, 'chkptEnd', { beginHandle: run });
    const fresh = x.open(ALICE, 'c');
    assert.ok(fresh > Math.max(a, b, c));
  });

  it('a restarted daemon (empty state) gets everything', () => {
    const x = new Harness();
    const a = x.open(ALICE, 'c');
    x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'v' });
    const y = new Harness();
    const merged = heal(x, y);
    assert.ok(merged);
    assert.equal(section(y, ALICE, a, 's'), 'v');
  });

  it('skips snapshots that do not decode, and counts them', () => {
    const x = new Harness();
    x.open(ALICE, 'c');
    const good = x.engine.snapshot();
    const e = new CheckpointEngine();
    const bad: unknown[] = [null, 'garbage', 42, { v: 2 }, { ...good, checkpoints: 'none' }, { ...good, now: -1 }, { ...good, handles: [{ client: 1 }] }, undefined];
    e.merge([...bad, good]);
    assert.equal(e.counters().snapshotsSkipped, bad.length);
    assert.deepEqual(e.snapshot(), good);
    e.merge([null]);
    assert.deepEqual(e.snapshot(), good, 'nothing that decodes: the state stays');
  });

  it('snapshots survive msgpack', () => {
    const x = new Harness();
    const a = x.open(ALICE, 'c');
    x.ok(ALICE, 'sectionCreate', { handle: a, sectionId: Buffer.from([0, 1, 255]), data: Buffer.from([9, 8, 7]), expirationTime: x.time + 5 });
    const wire = msgpack.decode(msgpack.encode(x.engine.snapshot()));
    const e = new CheckpointEngine();
    e.merge([wire]);
    assert.equal(e.counters().snapshotsSkipped, 0);
    assert.deepEqual(e.snapshot(), x.engine.snapshot());
  });

  it('merge(a, b) equals merge(b, a), and every member ends alike, for random histories', function () {
    this.timeout(60_000);
    const op = fc.oneof(
      fc.record({ op: fc.constant('open'), name: fc.constantFrom('a', 'b'), flags: fc.constant(RWC), attrs: fc.constantFrom(ATTRS, { ...ATTRS, retentionDuration: 20 }, { ...ATTRS, maxSections: 4 }) }),
      fc.record({ op: fc.constantFrom('close', 'chkptBegin'), handle: fc.integer({ min: 1, max: 6 }) }),
      fc.record({ op: fc.constant('sectionCreate'), handle: fc.integer({ min: 1, max: 6 }), sectionId: fc.constantFrom('s', 't', 'u'), data: fc.string({ maxLength: 4 }), expirationTime: fc.constantFrom(undefined, 1_000_030) }),
      fc.record({ op: fc.constant('sectionDelete'), handle: fc.integer({ min: 1, max: 6 }), sectionId: fc.constantFrom('s', 't', 'u') }),
      fc.record({ op: fc.constant('overwrite'), handle: fc.integer({ min: 1, max: 6 }), sectionId: fc.constantFrom('s', 't', 'u'), data: fc.string({ maxLength: 4 }) }),
      fc.record({ op: fc.constant('unlink'), name: fc.constantFrom('a', 'b') }),
      fc.record({ op: fc.constant('retentionSet'), handle: fc.integer({ min: 1, max: 6 }), retentionDuration: fc.constantFrom(null, 5) }),
    );
    const side = fc.array(fc.tuple(fc.constantFrom(0, 1), op, fc.nat(15)), { maxLength: 25 });
    fc.assert(
      fc.property(side, side, side, (common, onX, onY) => {
        const x = new Harness();
        const y = new Harness();
        const play = (hs: Harness[], steps: typeof common, clients: readonly string[]): void => {
          for (const [who, r, dt] of steps) {
            for (const h of hs) {
              h.time += dt;
              h.request(clients[who]!, r.op, r);
              if (dt > 10) h.tick(h.time);
            }
          }
        };
        play([x, y], common, [ALICE, BOB]);
        assert.deepEqual(x.engine.snapshot(), y.engine.snapshot());
        partition(x, y);
        play([x], onX, [ALICE, ALICE]);
        play([y], onY, [BOB, CAROL]);
        heal(x, y);
        assert.equal(x.engine.counters().internalErrors, 0);
      }),
      { numRuns: 300 },
    );
  });
});

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import msgpack from 'msgpack-lite';
import { CheckpointEngine, CHECKPOINT_GROUP, BLCR_SPACE, CHECKPOINT_EVENT_SPACE } from '../../src/services/checkpoint';
import { ALICE, ATTRS, BOB, CAROL, Harness, READ, RW, RWC, WRITE, names, type Reply } from './checkpointFixtures';

const bytes = (s: string): Buffer => Buffer.from(s);

describe('checkpoint engine', () => {
  it('is named checkpoint on #ringcast-ckpt', () => {
    const e = new CheckpointEngine();
    assert.equal(e.name, 'checkpoint');
    assert.equal(e.group, '#ringcast-ckpt');
    assert.equal(CHECKPOINT_GROUP, e.group);
    assert.equal(e.nextDeadline(), null);
  });

  describe('initialize / finalize', () => {
    it('hands out library handles and answers the version implemented', () => {
      const h = new Harness();
      const r = h.ok(ALICE, 'initialize', { version: { releaseCode: 'B', majorVersion: 1, minorVersion: 1 } });
      assert.equal(typeof r.ckptHandle, 'number');
      assert.deepEqual(r.version, { releaseCode: 'B', majorVersion: 2, minorVersion: 2 });
      assert.ok(h.ok(ALICE, 'initialize').ckptHandle !== r.ckptHandle);
    });

    it('refuses other release codes and later major versions with VERSION', () => {
      const h = new Harness();
      const r = h.fail(ALICE, 'initialize', { version: { releaseCode: 'A', majorVersion: 1, minorVersion: 1 } }, 'VERSION');
      assert.deepEqual(r.version, { releaseCode: 'B', majorVersion: 2, minorVersion: 2 });
      h.fail(ALICE, 'initialize', { version: { releaseCode: 'B', majorVersion: 3, minorVersion: 0 } }, 'VERSION');
      h.fail(ALICE, 'initialize', { version: 'B.02.02' }, 'INVALID_PARAM');
    });

    it('finalize closes the opens made under that library handle only', () => {
      const h = new Harness();
      const lib = h.ok(ALICE, 'initialize').ckptHandle as number;
      const a = h.ok(ALICE, 'open', { name: 'a', flags: RWC, attrs: ATTRS, ckptHandle: lib }).handle as number;
      const b = h.open(ALICE, 'b');
      assert.equal(h.ok(ALICE, 'finalize', { ckptHandle: lib }).closed, 1);
      h.fail(ALICE, 'status', { handle: a }, 'BAD_HANDLE');
      h.ok(ALICE, 'status', { handle: b });
      h.fail(ALICE, 'finalize', { ckptHandle: lib }, 'BAD_HANDLE');
      h.fail(ALICE, 'open', { name: 'a', flags: READ, ckptHandle: lib }, 'BAD_HANDLE');
      assert.equal(h.ok(ALICE, 'finalize', { ckptHandle: 0 }).closed, 1);
      h.fail(ALICE, 'status', { handle: b }, 'BAD_HANDLE');
    });

    it("another client's library handle is BAD_HANDLE", () => {
      const h = new Harness();
      const lib = h.ok(ALICE, 'initialize').ckptHandle as number;
      h.fail(BOB, 'finalize', { ckptHandle: lib }, 'BAD_HANDLE');
      h.fail(BOB, 'open', { name: 'x', flags: RWC, attrs: ATTRS, ckptHandle: lib }, 'BAD_HANDLE');
    });
  });

  describe('open', () => {
    it('creates with CREATE and attributes, then opens the same checkpoint', () => {
      const h = new Harness();
      const r = h.ok(ALICE, 'open', { name: 'c', flags: RWC, attrs: ATTRS });
      assert.equal(r.created, true);
      assert.deepEqual(r.attrs, ATTRS);
      const again = h.ok(BOB, 'open', { name: 'c', flags: RWC, attrs: ATTRS });
      assert.equal(again.created, false);
      assert.notEqual(again.handle, r.handle);
      assert.equal(h.ok(BOB, 'open', { name: 'c', flags: READ }).created, false);
    });

    it('NOT_EXIST without CREATE', () => {
      new Harness().fail(ALICE, 'open', { name: 'nope', flags: READ }, 'NOT_EXIST');
    });

    it('BAD_FLAGS for unknown open flags or none', () => {
      const h = new Harness();
      for (const flags of [0, 8, 16 | READ, -1, 1.5, 'READ', null]) h.fail(ALICE, 'open', { name: 'c', flags }, 'BAD_FLAGS');
    });

    it('INVALID_PARAM: CREATE without attributes, attributes without CREATE', () => {
      const h = new Harness();
      h.fail(ALICE, 'open', { name: 'c', flags: RWC }, 'INVALID_PARAM');
      h.fail(ALICE, 'open', { name: 'c', flags: RW, attrs: ATTRS }, 'INVALID_PARAM');
    });

    it('INVALID_PARAM for bad creation attributes', () => {
      const h = new Harness();
      const bad = [
        { creationFlags: 0 },
        { creationFlags: 8 }, // COLLOCATED alone: no update option
        { creationFlags: 3 }, // ALL_REPLICAS | ACTIVE_REPLICA
        { creationFlags: 6 }, // ACTIVE_REPLICA | _WEAK
        { creationFlags: 16 | 1 },
        { checkpointSize: 8 * 1024 + 1 }, // more than maxSections × maxSectionSize
        { maxSections: 0 },
        { maxSectionIdSize: 70000 },
        { checkpointSize: -1 },
        { maxSectionSize: 'big' },
        { retentionDuration: -5 },
      ];
      for (const b of bad) h.fail(ALICE, 'open', { name: 'c', flags: RWC, attrs: { ...ATTRS, ...b } }, 'INVALID_PARAM');
      h.fail(ALICE, 'open', { name: 'c', flags: RWC, attrs: 'ATTRS' }, 'INVALID_PARAM');
      h.ok(ALICE, 'open', { name: 'coll', flags: RWC, attrs: { ...ATTRS, creationFlags: 8 | 2 } });
    });

    it('INVALID_PARAM for empty or over-long names', () => {
      const h = new Harness();
      h.fail(ALICE, 'open', { name: '', flags: RWC, attrs: ATTRS }, 'INVALID_PARAM');
      h.fail(ALICE, 'open', { name: 'x'.repeat(257), flags: RWC, attrs: ATTRS }, 'INVALID_PARAM');
      h.fail(ALICE, 'open', { name: 42, flags: RWC, attrs: ATTRS }, 'INVALID_PARAM');
      h.ok(ALICE, 'open', { name: 'x'.repeat(256), flags: RWC, attrs: ATTRS });
    });

    it('EXIST when the checkpoint exists with other creation attributes', () => {
      const h = new Harness();
      h.open(ALICE, 'c');
      h.fail(BOB, 'open', { name: 'c', flags: RWC, attrs: { ...ATTRS, maxSections: 9 } }, 'EXIST');
      h.fail(BOB, 'open', { name: 'c', flags: RWC, attrs: { ...ATTRS, retentionDuration: 5 } }, 'EXIST');
    });

    it('NO_RESOURCES past the limits of checkpoints and handles', () => {
      const h = new Harness({ limits: { maxCheckpoints: 2, maxHandles: 3 } });
      h.open(ALICE, 'a');
      h.open(ALICE, 'b');
      h.fail(ALICE, 'open', { name: 'c', flags: RWC, attrs: ATTRS }, 'NO_RESOURCES');
      h.open(ALICE, 'a', READ);
      h.fail(ALICE, 'open', { name: 'a', flags: READ }, 'NO_RESOURCES');
      h.fail(ALICE, 'initialize', {}, 'NO_RESOURCES');
    });
  });

  describe('close', () => {
    it('closes once; a second close or another client is BAD_HANDLE', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.fail(BOB, 'close', { handle: a }, 'BAD_HANDLE');
      h.ok(ALICE, 'close', { handle: a });
      h.fail(ALICE, 'close', { handle: a }, 'BAD_HANDLE');
      h.fail(ALICE, 'close', { handle: 12345 }, 'BAD_HANDLE');
      h.fail(ALICE, 'close', { handle: 'one' }, 'INVALID_PARAM');
      h.fail(ALICE, 'close', {}, 'INVALID_PARAM');
    });
  });

  describe('unlink', () => {
    it('removes the name at once; the data lives until the last close', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'kept' });
      h.ok(BOB, 'unlink', { name: 'c' });
      h.fail(BOB, 'open', { name: 'c', flags: READ }, 'NOT_EXIST');
      h.fail(BOB, 'unlink', { name: 'c' }, 'NOT_EXIST');
      assert.equal(h.text(ALICE, a, 's'), 'kept');
      assert.deepEqual(h.ok(ALICE, 'list').checkpoints, []);
      // The name is free: a new checkpoint of the same name is another checkpoint.
      const b = h.open(BOB, 'c');
      h.fail(BOB, 'read', { handle: b, ioVector: [{ sectionId: 's' }] }, 'NOT_EXIST');
      assert.equal(h.engine.counters().checkpoints, 2);
      h.ok(ALICE, 'close', { handle: a });
      assert.equal(h.engine.counters().checkpoints, 1);
    });

    it('NOT_EXIST and INVALID_PARAM', () => {
      const h = new Harness();
      h.fail(ALICE, 'unlink', { name: 'none' }, 'NOT_EXIST');
      h.fail(ALICE, 'unlink', {}, 'INVALID_PARAM');
    });

    it('deletes a checkpoint nobody has open at once', () => {
      const h = new Harness();
      h.ok(ALICE, 'close', { handle: h.open(ALICE, 'c') });
      h.ok(ALICE, 'unlink', { name: 'c' });
      assert.equal(h.engine.counters().checkpoints, 0);
      assert.equal(h.engine.nextDeadline(), null);
    });
  });

  describe('retention', () => {
    it('deletes a checkpoint nobody opened for its retention duration', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c', RWC, { ...ATTRS, retentionDuration: 1000 });
      assert.equal(h.engine.nextDeadline(), null);
      h.ok(ALICE, 'close', { handle: a });
      const closedAt = h.time;
      assert.equal(h.engine.nextDeadline(), closedAt + 1000);
      h.tick(closedAt + 999);
      h.ok(BOB, 'close', { handle: h.open(BOB, 'c', READ) }); // reopened: the clock starts again
      const again = h.time;
      assert.equal(h.engine.nextDeadline(), again + 1000);
      h.tick(again + 1000);
      h.fail(BOB, 'open', { name: 'c', flags: READ }, 'NOT_EXIST');
      assert.equal(h.engine.nextDeadline(), null);
    });

    it('a retention of 0 deletes at the last close; null keeps forever', () => {
      const h = new Harness();
      h.ok(ALICE, 'close', { handle: h.open(ALICE, 'zero', RWC, { ...ATTRS, retentionDuration: 0 }) });
      h.fail(ALICE, 'open', { name: 'zero', flags: READ }, 'NOT_EXIST');
      h.ok(ALICE, 'close', { handle: h.open(ALICE, 'forever') });
      h.tick(h.time + 1e12);
      h.ok(ALICE, 'open', { name: 'forever', flags: READ });
    });

    it('retentionSet changes the duration; BAD_OPERATION once unlinked', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'retentionSet', { handle: a, retentionDuration: 50 });
      assert.equal((h.ok(ALICE, 'status', { handle: a }).attrs as Reply).retentionDuration, 50);
      h.ok(ALICE, 'close', { handle: a });
      assert.equal(h.engine.nextDeadline(), h.time + 50);
      const b = h.open(ALICE, 'c', READ);
      h.ok(ALICE, 'unlink', { name: 'c' });
      h.fail(ALICE, 'retentionSet', { handle: b, retentionDuration: 50 }, 'BAD_OPERATION');
      h.fail(ALICE, 'retentionSet', { handle: b, retentionDuration: 'soon' }, 'INVALID_PARAM');
    });

    it('the original attributes, not the changed retention, decide EXIST', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'retentionSet', { handle: a, retentionDuration: 50 });
      h.ok(BOB, 'open', { name: 'c', flags: RWC, attrs: ATTRS });
    });
  });

  describe('active replica (collocated, asynchronous)', () => {
    const COLLOCATED_ACTIVE = { ...ATTRS, creationFlags: 8 | 2 };

    it('BAD_OPERATION unless collocated and asynchronous; ACCESS without WRITE', () => {
      const h = new Harness();
      h.fail(ALICE, 'activeReplicaSet', { handle: h.open(ALICE, 'all') }, 'BAD_OPERATION');
      h.fail(ALICE, 'activeReplicaSet', { handle: h.open(ALICE, 'async', RWC, { ...ATTRS, creationFlags: 2 }) }, 'BAD_OPERATION');
      h.fail(ALICE, 'activeReplicaSet', { handle: h.open(ALICE, 'allcoll', RWC, { ...ATTRS, creationFlags: 8 | 1 }) }, 'BAD_OPERATION');
      h.open(ALICE, 'coll', RWC, COLLOCATED_ACTIVE);
      h.fail(ALICE, 'activeReplicaSet', { handle: h.open(ALICE, 'coll', READ) }, 'ACCESS');
    });

    it('data calls are NOT_EXIST until an active replica is set, and again when its daemon leaves', () => {
      const h = new Harness();
      const a = h.open(BOB, 'coll', RWC, COLLOCATED_ACTIVE);
      h.fail(BOB, 'sectionCreate', { handle: a, sectionId: 's' }, 'NOT_EXIST');
      h.fail(BOB, 'write', { handle: a, ioVector: [{ sectionId: 's', data: 'x' }] }, 'NOT_EXIST');
      h.fail(BOB, 'read', { handle: a, ioVector: [{ sectionId: 's' }] }, 'NOT_EXIST');
      h.fail(BOB, 'status', { handle: a }, 'NOT_EXIST');
      h.fail(BOB, 'synchronize', { handle: a }, 'NOT_EXIST');
      h.fail(BOB, 'sections', { handle: a }, 'NOT_EXIST');
      assert.equal(h.ok(BOB, 'activeReplicaSet', { handle: a }).activeReplica, 'd2');
      h.ok(BOB, 'sectionCreate', { handle: a, sectionId: 's', data: 'v' });
      h.ok(BOB, 'synchronize', { handle: a });
      const c = h.open(CAROL, 'coll', RW);
      h.configure(['d1', 'd3'], 2, ['d2']);
      h.fail(CAROL, 'read', { handle: c, ioVector: [{ sectionId: 's' }] }, 'NOT_EXIST');
      h.ok(CAROL, 'activeReplicaSet', { handle: c });
      assert.equal(h.text(CAROL, c, 's'), 'v');
    });
  });

  describe('status', () => {
    it('counts sections and the memory they use', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's1', data: 'abc' });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's2', data: 'defgh' });
      const s = h.ok(ALICE, 'status', { handle: a });
      assert.equal(s.numberOfSections, 2);
      assert.equal(s.memoryUsed, 8);
      assert.deepEqual(s.attrs, ATTRS);
      h.fail(ALICE, 'status', { handle: 999 }, 'BAD_HANDLE');
    });
  });

  describe('sectionCreate', () => {
    it('creates given ids with initial data and expiration', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      assert.deepEqual(h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'one', data: 'hello', expirationTime: h.time + 10_000 }).sectionId, bytes('one'));
      assert.equal(h.text(ALICE, a, 'one'), 'hello');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: Buffer.from([0, 255]) });
      assert.equal(h.text(ALICE, a, Buffer.from([0, 255])), '');
    });

    it('generates ids for generated: true or an empty id, skipping ids in use', () => {
      // A configuration whose first member is d1, of three daemons: ids 1, 4, 7 … (the slot of d1).
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: '4' });
      assert.deepEqual(h.ok(ALICE, 'sectionCreate', { handle: a, generated: true }).sectionId, bytes('1'));
      assert.deepEqual(h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: '' }).sectionId, bytes('7'));
      assert.deepEqual(h.ok(ALICE, 'sectionCreate', { handle: a }).sectionId, bytes('10'));
    });

    it('generates ids in the slot of the configuration\'s first member: partitions never make the same one', () => {
      const h = new Harness();
      const a = h.open(BOB, 'c');
      h.configure(['d2', 'd3'], 2, ['d1']);
      assert.deepEqual(h.ok(BOB, 'sectionCreate', { handle: a, generated: true }).sectionId, bytes('2'));
      assert.deepEqual(h.ok(BOB, 'sectionCreate', { handle: a, generated: true }).sectionId, bytes('5'));
      h.configure(['d3'], 3, ['d2']);
      assert.deepEqual(h.ok(CAROL, 'sectionCreate', { handle: h.open(CAROL, 'c'), generated: true }).sectionId, bytes('6'));
      h.configure(['d1', 'd2', 'd3'], 4);
      assert.deepEqual(h.ok(CAROL, 'sectionCreate', { handle: h.open(CAROL, 'c'), generated: true }).sectionId, bytes('7'));
    });

    it('a checkpoint of one section has the default section and no other (EXIST)', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'one', RWC, { ...ATTRS, maxSections: 1, checkpointSize: 1024 });
      assert.equal(h.ok(ALICE, 'status', { handle: a }).numberOfSections, 1);
      h.fail(ALICE, 'sectionCreate', { handle: a, sectionId: 's' }, 'EXIST');
      h.fail(ALICE, 'sectionCreate', { handle: a, generated: true }, 'EXIST');
      h.ok(ALICE, 'write', { handle: a, ioVector: [{ data: 'default' }] });
      assert.equal(h.text(ALICE, a, ''), 'default');
      h.ok(ALICE, 'overwrite', { handle: a, data: 'again' });
      assert.equal(h.text(ALICE, a, Buffer.alloc(0)), 'again');
    });

    it('EXIST for a section id in use', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's' });
      h.fail(ALICE, 'sectionCreate', { handle: a, sectionId: 's' }, 'EXIST');
    });

    it('NO_SPACE at maxSections or past checkpointSize; NO_RESOURCES past the service limit', () => {
      const h = new Harness({ limits: { maxTotalBytes: 2000 } });
      const a = h.open(ALICE, 'c', RWC, { ...ATTRS, maxSections: 2, checkpointSize: 1500 });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's1', data: Buffer.alloc(1000) });
      h.fail(ALICE, 'sectionCreate', { handle: a, sectionId: 's2', data: Buffer.alloc(501) }, 'NO_SPACE');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's2', data: Buffer.alloc(500) });
      h.fail(ALICE, 'sectionCreate', { handle: a, sectionId: 's3' }, 'NO_SPACE');
      const b = h.open(ALICE, 'd');
      h.fail(ALICE, 'sectionCreate', { handle: b, sectionId: 'big', data: Buffer.alloc(600) }, 'NO_RESOURCES');
    });

    it('INVALID_PARAM for data over maxSectionSize or an id over maxSectionIdSize', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c', RWC, { ...ATTRS, maxSectionIdSize: 1 });
      h.fail(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: Buffer.alloc(1025) }, 'INVALID_PARAM');
      h.fail(ALICE, 'sectionCreate', { handle: a, sectionId: 'ss' }, 'INVALID_PARAM');
      h.fail(ALICE, 'sectionCreate', { handle: a, sectionId: 's', expirationTime: 'later' }, 'INVALID_PARAM');
      h.fail(ALICE, 'sectionCreate', { handle: a, sectionId: 7 }, 'INVALID_PARAM');
      for (let i = 1; i <= 8; i++) h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: String(i) });
    });

    it('INVALID_PARAM when a generated id would not fit maxSectionIdSize', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c', RWC, { ...ATTRS, maxSectionIdSize: 0 });
      h.fail(ALICE, 'sectionCreate', { handle: a, generated: true }, 'INVALID_PARAM');
    });

    it('ACCESS without WRITE', () => {
      const h = new Harness();
      h.open(ALICE, 'c');
      h.fail(BOB, 'sectionCreate', { handle: h.open(BOB, 'c', READ), sectionId: 's' }, 'ACCESS');
    });
  });

  describe('sectionDelete', () => {
    it('deletes; NOT_EXIST after; the default section is INVALID_PARAM; ACCESS without WRITE', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's' });
      h.fail(BOB, 'sectionDelete', { handle: h.open(BOB, 'c', READ), sectionId: 's' }, 'ACCESS');
      h.ok(ALICE, 'sectionDelete', { handle: a, sectionId: 's' });
      h.fail(ALICE, 'sectionDelete', { handle: a, sectionId: 's' }, 'NOT_EXIST');
      h.fail(ALICE, 'sectionDelete', { handle: a, sectionId: '' }, 'INVALID_PARAM');
      h.fail(ALICE, 'sectionDelete', { handle: a }, 'INVALID_PARAM');
    });
  });

  describe('section expiration', () => {
    it('deletes a section when its expiration time comes, through ticks', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      const t = h.time;
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'short', expirationTime: t + 500 });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'long', expirationTime: t + 900 });
      assert.equal(h.engine.nextDeadline(), t + 500);
      h.tick(t + 499);
      h.ok(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 'short' }] });
      h.tick(t + 500);
      h.fail(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 'short' }] }, 'NOT_EXIST');
      assert.equal(h.engine.nextDeadline(), t + 900);
      h.ok(ALICE, 'sectionExpirationSet', { handle: a, sectionId: 'long', expirationTime: null });
      assert.equal(h.engine.nextDeadline(), null);
      h.ok(ALICE, 'sectionExpirationSet', { handle: a, sectionId: 'long', expirationTime: t + 2000 });
      assert.equal(h.engine.nextDeadline(), t + 2000);
    });

    it('a request after the expiration time no longer sees the section, tick or not', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', expirationTime: h.time + 10 });
      h.time += 10;
      h.fail(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 's' }] }, 'NOT_EXIST');
    });

    it('expirationTime set: the default section is INVALID_PARAM, a missing one NOT_EXIST, ACCESS without WRITE', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.fail(ALICE, 'sectionExpirationSet', { handle: a, sectionId: '', expirationTime: 5 }, 'INVALID_PARAM');
      h.fail(ALICE, 'sectionExpirationSet', { handle: a, sectionId: 'x', expirationTime: 5 }, 'NOT_EXIST');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'x' });
      h.fail(BOB, 'sectionExpirationSet', { handle: h.open(BOB, 'c', READ), sectionId: 'x', expirationTime: 5 }, 'ACCESS');
      h.fail(ALICE, 'sectionExpirationSet', { handle: a, sectionId: 'x', expirationTime: -1 }, 'INVALID_PARAM');
    });
  });

  describe('write', () => {
    it('writes an io-vector at offsets, growing sections (gaps are zeros)', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's1', data: 'abcdef' });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's2' });
      h.ok(ALICE, 'write', {
        handle: a,
        ioVector: [
          { sectionId: 's1', dataOffset: 2, data: 'XY' },
          { sectionId: 's2', dataOffset: 3, data: bytes('z') },
          { sectionId: 's1', dataOffset: 5, data: '123' },
        ],
      });
      assert.equal(h.text(ALICE, a, 's1'), 'abXYe123');
      assert.deepEqual(h.ok(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 's2' }] }).ioVector, [{ data: Buffer.from([0, 0, 0, 122]), readSize: 4 }]);
      assert.equal(h.ok(ALICE, 'status', { handle: a }).memoryUsed, 12);
    });

    it('fails as a whole, naming the erroneous element', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'old' });
      const r = h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 's', data: 'new' }, { sectionId: 'missing', data: 'x' }] }, 'NOT_EXIST');
      assert.equal(r.erroneousVectorIndex, 1);
      assert.equal(h.text(ALICE, a, 's'), 'old');
    });

    it('INVALID_PARAM for empty data and for data past maxSectionSize', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's' });
      assert.equal(h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 's', data: 'a' }, { sectionId: 's', data: '' }] }, 'INVALID_PARAM').erroneousVectorIndex, 1);
      assert.equal(h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 's', data: Buffer.alloc(1025) }] }, 'INVALID_PARAM').erroneousVectorIndex, 0);
      assert.equal(h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 's', dataOffset: 1020, data: 'hello' }] }, 'INVALID_PARAM').erroneousVectorIndex, 0);
      h.fail(ALICE, 'write', { handle: a, ioVector: [] }, 'INVALID_PARAM');
      h.fail(ALICE, 'write', { handle: a, ioVector: 'data' }, 'INVALID_PARAM');
      h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 's', dataOffset: -1, data: 'x' }] }, 'INVALID_PARAM');
      h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 's', data: 5 }] }, 'INVALID_PARAM');
      h.fail(ALICE, 'write', { handle: a, ioVector: [null] }, 'INVALID_PARAM');
    });

    it('NO_SPACE past checkpointSize, counting the elements before', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c', RWC, { ...ATTRS, checkpointSize: 1500 });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's1' });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's2' });
      const r = h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 's1', data: Buffer.alloc(1000) }, { sectionId: 's2', data: Buffer.alloc(501) }] }, 'NO_SPACE');
      assert.equal(r.erroneousVectorIndex, 1);
      h.ok(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 's1', data: Buffer.alloc(1000) }, { sectionId: 's2', data: Buffer.alloc(500) }] });
    });

    it('ACCESS on a handle opened read-only; BAD_HANDLE on none', () => {
      const h = new Harness();
      h.ok(ALICE, 'sectionCreate', { handle: h.open(ALICE, 'c'), sectionId: 's' });
      h.fail(BOB, 'write', { handle: h.open(BOB, 'c', READ), ioVector: [{ sectionId: 's', data: 'x' }] }, 'ACCESS');
      h.fail(BOB, 'write', { handle: 77, ioVector: [{ sectionId: 's', data: 'x' }] }, 'BAD_HANDLE');
    });

    it('NO_RESOURCES past more elements than the limit', () => {
      const h = new Harness({ limits: { maxIoVector: 2 } });
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's' });
      h.fail(ALICE, 'write', { handle: a, ioVector: [1, 2, 3].map(() => ({ sectionId: 's', data: 'x' })) }, 'INVALID_PARAM');
    });
  });

  describe('overwrite', () => {
    it('replaces the whole section; NOT_EXIST, INVALID_PARAM, ACCESS, NO_SPACE', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c', RWC, { ...ATTRS, checkpointSize: 1100 });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'a long value' });
      h.ok(ALICE, 'overwrite', { handle: a, sectionId: 's', data: 'short' });
      assert.equal(h.text(ALICE, a, 's'), 'short');
      h.ok(ALICE, 'overwrite', { handle: a, sectionId: 's', data: '' });
      assert.equal(h.ok(ALICE, 'status', { handle: a }).memoryUsed, 0);
      h.fail(ALICE, 'overwrite', { handle: a, sectionId: 'x', data: 'v' }, 'NOT_EXIST');
      h.fail(ALICE, 'overwrite', { handle: a, sectionId: 's', data: Buffer.alloc(1025) }, 'INVALID_PARAM');
      h.fail(ALICE, 'overwrite', { handle: a, sectionId: 's' }, 'INVALID_PARAM');
      h.fail(BOB, 'overwrite', { handle: h.open(BOB, 'c', READ), sectionId: 's', data: 'v' }, 'ACCESS');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 't', data: Buffer.alloc(1000) });
      h.fail(ALICE, 'overwrite', { handle: a, sectionId: 's', data: Buffer.alloc(101) }, 'NO_SPACE');
    });
  });

  describe('read', () => {
    it('reads io-vectors with offsets and sizes; readSize is what was read', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: '0123456789' });
      const r = h.ok(ALICE, 'read', {
        handle: a,
        ioVector: [
          { sectionId: 's', dataOffset: 2, dataSize: 3 },
          { sectionId: 's', dataOffset: 8, dataSize: 100 },
          { sectionId: 's', dataOffset: 10 },
        ],
      });
      assert.deepEqual(r.ioVector, [
        { data: bytes('234'), readSize: 3 },
        { data: bytes('89'), readSize: 2 },
        { data: Buffer.alloc(0), readSize: 0 },
      ]);
    });

    it('INVALID_PARAM past the end or over maxSectionSize; NOT_EXIST with the index; ACCESS without READ', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'abc' });
      assert.equal(h.fail(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 's' }, { sectionId: 's', dataOffset: 4 }] }, 'INVALID_PARAM').erroneousVectorIndex, 1);
      h.fail(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 's', dataSize: 1025 }] }, 'INVALID_PARAM');
      assert.equal(h.fail(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 's' }, { sectionId: 'x' }] }, 'NOT_EXIST').erroneousVectorIndex, 1);
      h.fail(BOB, 'read', { handle: h.open(BOB, 'c', WRITE), ioVector: [{ sectionId: 's' }] }, 'ACCESS');
    });
  });

  describe('reply size', () => {
    it('TOO_BIG for a read that would not fit a reply; sections pages by bytes too', () => {
      const h = new Harness({ limits: { maxReplyBytes: 1500 } });
      const a = h.open(ALICE, 'c');
      for (const id of ['a', 'b']) h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: id, data: Buffer.alloc(1000) });
      h.ok(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 'a' }, { sectionId: 'b', dataSize: 500 }] });
      assert.equal(h.fail(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 'a' }, { sectionId: 'b' }] }, 'TOO_BIG').erroneousVectorIndex, 1);
      const b = h.open(ALICE, 'ids', RWC, { ...ATTRS, maxSectionIdSize: 1000 });
      for (const id of ['x', 'y']) h.ok(ALICE, 'sectionCreate', { handle: b, sectionId: id.repeat(1000) });
      const page = h.ok(ALICE, 'sections', { handle: b });
      assert.equal((page.sections as unknown[]).length, 1);
      assert.equal(page.more, true);
    });
  });

  describe('synchronize', () => {
    it('BAD_OPERATION for WR_ALL_REPLICAS; OK once ordered otherwise; TIMEOUT for 0; ACCESS without WRITE', () => {
      const h = new Harness();
      h.fail(ALICE, 'synchronize', { handle: h.open(ALICE, 'all') }, 'BAD_OPERATION');
      const a = h.open(ALICE, 'async', RWC, { ...ATTRS, creationFlags: 4 });
      h.ok(ALICE, 'synchronize', { handle: a });
      h.ok(ALICE, 'synchronize', { handle: a, timeout: 1000 });
      h.fail(ALICE, 'synchronize', { handle: a, timeout: 0 }, 'TIMEOUT');
      h.fail(BOB, 'synchronize', { handle: h.open(BOB, 'async', READ) }, 'ACCESS');
    });
  });

  describe('sections (iteration)', () => {
    const setup = (): { h: Harness; a: number; t: number } => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      const t = h.time;
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'forever', data: 'f' });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'early', expirationTime: t + 100 });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'late', expirationTime: t + 300 });
      return { h, a, t };
    };
    const ids = (r: Reply): string[] => (r.sections as Array<{ sectionId: Buffer }>).map((s) => s.sectionId.toString());

    it('selects by FOREVER, LEQ/GEQ_EXPIRATION_TIME, CORRUPTED and ANY', () => {
      const { h, a, t } = setup();
      assert.deepEqual(ids(h.ok(ALICE, 'sections', { handle: a, filter: 'FOREVER' })), ['forever']);
      assert.deepEqual(ids(h.ok(ALICE, 'sections', { handle: a, filter: 'LEQ_EXPIRATION_TIME', expirationTime: t + 100 })), ['early']);
      assert.deepEqual(ids(h.ok(ALICE, 'sections', { handle: a, filter: 3, expirationTime: t + 101 })), ['forever', 'late']);
      assert.deepEqual(ids(h.ok(ALICE, 'sections', { handle: a, filter: 'CORRUPTED' })), []);
      assert.deepEqual(ids(h.ok(ALICE, 'sections', { handle: a, filter: 'ANY' })), ['early', 'forever', 'late']);
      assert.deepEqual(ids(h.ok(ALICE, 'sections', { handle: a })), ['early', 'forever', 'late']);
      const f = (h.ok(ALICE, 'sections', { handle: a, filter: 'FOREVER' }).sections as Reply[])[0]!;
      assert.deepEqual(f, { sectionId: bytes('forever'), expirationTime: null, sectionSize: 1, sectionState: 1, lastUpdate: t });
    });

    it('pages with limit and after', () => {
      const { h, a } = setup();
      const p1 = h.ok(ALICE, 'sections', { handle: a, limit: 2 });
      assert.deepEqual(ids(p1), ['early', 'forever']);
      assert.equal(p1.more, true);
      const p2 = h.ok(ALICE, 'sections', { handle: a, limit: 2, after: 'forever' });
      assert.deepEqual(ids(p2), ['late']);
      assert.equal(p2.more, false);
    });

    it('INVALID_PARAM for an unknown selection', () => {
      const { h, a } = setup();
      for (const filter of [0, 6, 'SOME', true]) h.fail(ALICE, 'sections', { handle: a, filter }, 'INVALID_PARAM');
      h.fail(ALICE, 'sections', { handle: a, limit: 0 }, 'INVALID_PARAM');
    });
  });

  describe('list and describe', () => {
    it('list shows linked checkpoints by name; describe shows one with sections and openers', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'b-ckpt');
      h.ok(ALICE, 'close', { handle: h.open(ALICE, 'a-ckpt') });
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'xyz' });
      const list = h.ok(BOB, 'list').checkpoints as Reply[];
      assert.deepEqual(list.map((c) => [c.name, c.numberOfSections, c.memoryUsed, c.openers]), [['a-ckpt', 0, 0, 0], ['b-ckpt', 1, 3, 1]]);
      const d = h.ok(BOB, 'describe', { name: 'b-ckpt' });
      assert.equal(d.name, 'b-ckpt');
      assert.deepEqual((d.sections as Reply[]).map((s) => s.sectionId), [bytes('s')]);
      assert.deepEqual(d.openedBy, [{ client: ALICE, handle: a, flags: RWC }]);
      h.fail(BOB, 'describe', { name: 'none' }, 'NOT_EXIST');
    });
  });

  describe('departures', () => {
    it("sessionGone closes the client's handles: unlinked ones go, retention starts", () => {
      const h = new Harness();
      const a = h.open(ALICE, 'kept', RWC, { ...ATTRS, retentionDuration: 100 });
      h.open(ALICE, 'unlinked');
      h.ok(BOB, 'unlink', { name: 'unlinked' });
      h.ok(ALICE, 'initialize');
      assert.equal(h.engine.counters().checkpoints, 2);
      h.gone(ALICE);
      assert.equal(h.engine.counters().checkpoints, 1);
      assert.equal(h.engine.nextDeadline(), h.time + 100);
      h.fail(ALICE, 'status', { handle: a }, 'BAD_HANDLE');
      assert.equal(h.engine.counters().handles, 0);
    });

    it('a configuration without a daemon closes the handles of its clients', () => {
      const h = new Harness();
      const a = h.open(ALICE, 'c');
      const b = h.open(BOB, 'c');
      h.configure(['d1', 'd3'], 2, ['d2']);
      h.ok(ALICE, 'status', { handle: a });
      h.fail(BOB, 'status', { handle: b }, 'BAD_HANDLE');
    });
  });

  describe('BLCR events', () => {
    const setup = (): { h: Harness; a: number } => {
      const h = new Harness();
      const a = h.open(ALICE, 'app');
      h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 'state' });
      return { h, a };
    };

    it('chkptBegin / chkptEnd: END carries the BEGIN handle; a second END is BAD_OPERATION', () => {
      const { h, a } = setup();
      const begin = h.ok(ALICE, 'chkptBegin', { handle: a }).beginHandle as string;
      assert.equal(h.events.length, 1);
      const b = h.events[0]!;
      assert.deepEqual([b.space, b.name, b.severity, b.handle, b.beginHandle], [BLCR_SPACE, 'CHKPT_BEGIN', 'INFO', begin, undefined]);
      assert.equal(b.payload?.checkpoint, 'app');
      h.ok(ALICE, 'chkptEnd', { beginHandle: begin });
      assert.deepEqual(names(h.events), ['CHKPT_END']);
      assert.equal(h.events[0]!.beginHandle, begin);
      h.fail(ALICE, 'chkptEnd', { beginHandle: begin }, 'BAD_OPERATION');
      h.fail(ALICE, 'chkptError', { beginHandle: begin, errorCode: 3 }, 'BAD_OPERATION');
      assert.equal(h.events.length, 0);
    });

    it('chkptError and the RSTRT runs; runs are per kind and per client', () => {
      const { h, a } = setup();
      const c = h.ok(ALICE, 'chkptBegin', { handle: a }).beginHandle as string;
      const r = h.ok(ALICE, 'rstrtBegin', { handle: a }).beginHandle as string;
      assert.deepEqual(names(h.events), ['RSTRT_BEGIN']);
      h.fail(ALICE, 'rstrtEnd', { beginHandle: c }, 'BAD_OPERATION');
      h.fail(BOB, 'chkptEnd', { beginHandle: c }, 'BAD_OPERATION');
      h.ok(ALICE, 'chkptError', { beginHandle: c, errorCode: 42, message: 'disk full' });
      assert.deepEqual([h.events[0]!.name, h.events[0]!.severity, h.events[0]!.beginHandle, h.events[0]!.payload?.errorCode], ['CHKPT_ERROR', 'ERROR', c, 42]);
      h.ok(ALICE, 'rstrtEnd', { beginHandle: r });
      assert.deepEqual(names(h.events), ['RSTRT_END']);
      h.fail(ALICE, 'chkptBegin', { handle: 999 }, 'BAD_HANDLE');
    });

    it('markers: once wraps one write; begin … end spans several', () => {
      const { h, a } = setup();
      const once = h.ok(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 'state', data: '1' }], blcr: 'once' });
      assert.deepEqual(names(h.events), ['CHKPT_BEGIN', 'CHKPT_END']);
      assert.equal(h.events[1]!.beginHandle, once.beginHandle);
      const begin = h.ok(ALICE, 'overwrite', { handle: a, sectionId: 'state', data: '2', blcr: 'begin' }).beginHandle as string;
      assert.deepEqual(names(h.events), ['CHKPT_BEGIN']);
      h.ok(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 'state', data: '3' }] });
      assert.deepEqual(names(h.events), []);
      h.ok(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 'state', data: '4' }], blcr: 'end', beginHandle: begin });
      assert.deepEqual(names(h.events), ['CHKPT_END']);
      const restart = h.ok(ALICE, 'read', { handle: a, ioVector: [{ sectionId: 'state' }], blcr: 'once' });
      assert.deepEqual(names(h.events), ['RSTRT_BEGIN', 'RSTRT_END']);
      assert.equal(typeof restart.beginHandle, 'string');
      h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 'state', data: '5' }], blcr: 'end', beginHandle: begin }, 'BAD_OPERATION');
      h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 'state', data: '5' }], blcr: 'end' }, 'INVALID_PARAM');
      h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 'state', data: '5' }], blcr: 'maybe' }, 'INVALID_PARAM');
    });

    it('a failed write ends its run with ERROR, with the error code', () => {
      const { h, a } = setup();
      const r = h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 'none', data: 'x' }], blcr: 'once' }, 'NOT_EXIST');
      assert.deepEqual(names(h.events), ['CHKPT_BEGIN', 'CHKPT_ERROR']);
      assert.equal(h.events[1]!.beginHandle, r.beginHandle);
      assert.equal(h.events[1]!.payload?.errorCode, 12);
      const begin = h.ok(ALICE, 'chkptBegin', { handle: a }).beginHandle;
      h.fail(ALICE, 'overwrite', { handle: a, sectionId: 'none', data: 'x' }, 'NOT_EXIST');
      assert.deepEqual(names(h.events), ['CHKPT_ERROR']);
      assert.equal(h.events[0]!.beginHandle, begin);
      h.fail(ALICE, 'chkptEnd', { beginHandle: begin }, 'BAD_OPERATION');
    });

    it('a failed write outside any run publishes WRITE_ERROR', () => {
      const { h, a } = setup();
      h.fail(ALICE, 'write', { handle: a, ioVector: [{ sectionId: 'none', data: 'x' }] }, 'NOT_EXIST');
      assert.deepEqual(h.events.map((e) => [e.space, e.name, e.severity]), [[CHECKPOINT_EVENT_SPACE, 'WRITE_ERROR', 'WARNING']]);
      h.fail(BOB, 'write', { handle: h.open(BOB, 'app', READ), ioVector: [{ sectionId: 'state', data: 'x' }] }, 'ACCESS');
      assert.deepEqual(names(h.events), ['WRITE_ERROR']);
    });

    it('closing the handle, or the client going, ends open runs with ERROR', () => {
      const { h, a } = setup();
      const begin = h.ok(ALICE, 'chkptBegin', { handle: a }).beginHandle;
      h.ok(ALICE, 'close', { handle: a });
      assert.deepEqual(names(h.events), ['CHKPT_ERROR']);
      assert.equal(h.events[0]!.beginHandle, begin);
      const b = h.open(ALICE, 'app');
      h.ok(ALICE, 'rstrtBegin', { handle: b });
      h.gone(ALICE);
      assert.deepEqual(names(h.events), ['RSTRT_ERROR']);
      h.open(BOB, 'app');
      h.ok(BOB, 'chkptBegin', { handle: h.open(BOB, 'app') });
      h.configure(['d1', 'd3'], 2, ['d2']);
      assert.deepEqual(names(h.events), ['CHKPT_ERROR']);
    });
  });

  describe('malformed requests', function () {
    this.timeout(30_000); // property runs
    it('INVALID_PARAM for a missing op, NOT_SUPPORTED for an unknown one', () => {
      const h = new Harness();
      h.fail(ALICE, undefined, {}, 'INVALID_PARAM');
      h.fail(ALICE, 7, {}, 'INVALID_PARAM');
      h.fail(ALICE, 'explode', {}, 'NOT_SUPPORTED');
      h.fail(ALICE, 'toString', {}, 'NOT_SUPPORTED');
      h.fail(ALICE, '__proto__', {}, 'NOT_SUPPORTED');
    });

    it('any body for any op: one reply, never an exception, no internal error', () => {
      const ops = ['initialize', 'finalize', 'open', 'close', 'unlink', 'retentionSet', 'activeReplicaSet', 'status', 'sectionCreate', 'sectionDelete', 'sectionExpirationSet', 'write', 'overwrite', 'read', 'synchronize', 'sections', 'list', 'describe', 'chkptBegin', 'chkptEnd', 'chkptError', 'rstrtBegin', 'rstrtEnd', 'rstrtError'];
      const value = fc.letrec((tie) => ({
        v: fc.oneof(
          { depthSize: 'small' },
          fc.constantFrom(null, undefined, 0, 1, 2, 3, 4, 7, -1, 1.5, NaN, Infinity, 1e20, '', 's', 'c', 'ANY', 'begin', 'once', 'end'),
          fc.integer(),
          fc.string(),
          fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
          fc.array(tie('v'), { maxLength: 4 }),
          fc.dictionary(fc.constantFrom('sectionId', 'data', 'dataOffset', 'dataSize', 'creationFlags', 'checkpointSize', 'maxSections', 'maxSectionSize', 'maxSectionIdSize', 'retentionDuration', 'x'), tie('v'), { maxKeys: 6 }),
        ),
      })).v;
      const body = fc.record(
        {
          op: fc.constantFrom(...ops),
          name: fc.oneof(fc.constantFrom('c', 'd'), value),
          flags: fc.oneof(fc.integer({ min: 0, max: 8 }), value),
          attrs: fc.oneof(fc.constant(ATTRS), value),
          handle: fc.oneof(fc.integer({ min: 0, max: 12 }), value),
          ckptHandle: value,
          sectionId: fc.oneof(fc.constantFrom('s', ''), value),
          data: value,
          ioVector: value,
          expirationTime: value,
          retentionDuration: value,
          filter: value,
          after: value,
          limit: value,
          generated: value,
          blcr: value,
          beginHandle: value,
          errorCode: value,
          timeout: value,
          version: value,
        },
        { requiredKeys: ['op'] },
      );
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.constantFrom(ALICE, BOB), body), { minLength: 1, maxLength: 30 }), (requests) => {
          const h = new Harness();
          const a = h.open(ALICE, 'c');
          h.ok(ALICE, 'sectionCreate', { handle: a, sectionId: 's', data: 'x' });
          for (const [from, b] of requests) {
            const r = h.request(from, b.op, b as Record<string, unknown>);
            assert.equal(typeof r.ok, 'boolean');
            if (r.ok === false) assert.match(String(r.error), /^SA_AIS_ERR_/);
          }
          assert.equal(h.engine.counters().internalErrors, 0);
          // The state is still a snapshot that decodes.
          const again = new CheckpointEngine();
          again.merge([msgpack.decode(msgpack.encode(h.engine.snapshot()))]);
          assert.equal(again.counters().snapshotsSkipped, 0);
        }),
        { numRuns: 300 },
      );
    });
  });

  describe('replication', function () {
    this.timeout(30_000);
    it('two engines fed the same inputs hold the same state and answer alike', () => {
      const ops = fc.array(
        fc.oneof(
          fc.record({ op: fc.constant('open'), name: fc.constantFrom('a', 'b'), flags: fc.constantFrom(RWC, READ, RW), attrs: fc.constantFrom(ATTRS, undefined, { ...ATTRS, retentionDuration: 5 }) }),
          fc.record({ op: fc.constantFrom('close', 'status', 'synchronize', 'chkptBegin'), handle: fc.integer({ min: 1, max: 8 }) }),
          fc.record({ op: fc.constant('sectionCreate'), handle: fc.integer({ min: 1, max: 8 }), sectionId: fc.constantFrom('s', 't', ''), expirationTime: fc.constantFrom(undefined, 1_000_050), data: fc.string({ maxLength: 8 }) }),
          fc.record({ op: fc.constant('write'), handle: fc.integer({ min: 1, max: 8 }), ioVector: fc.array(fc.record({ sectionId: fc.constantFrom('s', 't'), dataOffset: fc.nat(20), data: fc.string({ minLength: 1, maxLength: 5 }) }), { minLength: 1, maxLength: 3 }), blcr: fc.constantFrom(undefined, 'once') }),
          fc.record({ op: fc.constant('unlink'), name: fc.constantFrom('a', 'b') }),
        ),
        { maxLength: 40 },
      );
      fc.assert(
        fc.property(ops, fc.array(fc.nat(40), { maxLength: 40 }), (requests, advances) => {
          const x = new Harness();
          const y = new Harness();
          requests.forEach((r, i) => {
            const from = i % 3 === 0 ? BOB : ALICE;
            for (const h of [x, y]) h.time += advances[i] ?? 0;
            const rx = x.request(from, r.op, r);
            const ry = y.request(from, r.op, r);
            assert.deepEqual(rx, ry);
            assert.deepEqual(x.events, y.events);
            if (i % 7 === 6) for (const h of [x, y]) h.tick(h.time);
          });
          assert.deepEqual(x.engine.snapshot(), y.engine.snapshot());
          assert.equal(x.engine.nextDeadline(), y.engine.nextDeadline());
        }),
        { numRuns: 200 },
      );
    });
  });
});

import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { decodeCommit, decodeJoin, encodeCommit, encodeJoin, type Commit } from '../../src/wire/membership';
import { HEADER_SIZE, WireError, decodeHeader } from '../../src/wire/packet';

const stamp = { configHash: 7, ringSeq: 2 ** 40 + 5, ringRep: 3, sender: 4, incarnation: 9 };

describe('membership packets', () => {
  it('round-trips a join', () => {
    const j = { maxRingSeq: 2 ** 45 + 1, procs: [1, 2, 3, 0xffffffff], fails: [2] };
    const buf = encodeJoin(stamp, j);
    const h = decodeHeader(buf, 7);
    assert.ok(!(h instanceof WireError));
    assert.equal(h.ringSeq, stamp.ringSeq);
    assert.deepEqual(decodeJoin(buf), j);
  });

  it('round-trips a commit token', () => {
    const c: Commit = {
      stage: 2,
      tokenSeq: 17,
      entries: [
        { id: 1, incarnation: 3, filled: true, oldRingSeq: 2 ** 47, oldRingRep: 1, oldAru: 10, oldHighSeq: 12, oldSafe: 9 },
        { id: 2, incarnation: 1, filled: false, oldRingSeq: 0, oldRingRep: 0, oldAru: 0, oldHighSeq: 0, oldSafe: 0 },
      ],
    };
    assert.deepEqual(decodeCommit(encodeCommit(stamp, c)), c);
  });

  it('rejects truncated and padded bodies with a typed error', () => {
    const j = encodeJoin(stamp, { maxRingSeq: 1, procs: [1, 2], fails: [] });
    for (let n = HEADER_SIZE; n < j.length; n++) assert.ok(decodeJoin(j.subarray(0, n)) instanceof WireError, `join cut at ${n}`);
    assert.ok(decodeJoin(Buffer.concat([j, Buffer.alloc(1)])) instanceof WireError);
    const c = encodeCommit(stamp, { stage: 1, tokenSeq: 1, entries: [{ id: 1, incarnation: 1, filled: false, oldRingSeq: 0, oldRingRep: 0, oldAru: 0, oldHighSeq: 0, oldSafe: 0 }] });
    for (let n = HEADER_SIZE; n < c.length; n++) assert.ok(decodeCommit(c.subarray(0, n)) instanceof WireError, `commit cut at ${n}`);
    const bad = Buffer.from(c);
    bad[HEADER_SIZE] = 3; // no such stage
    assert.ok(decodeCommit(bad) instanceof WireError);
  });

  it('never throws on arbitrary bodies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (body) => {
        const buf = Buffer.concat([encodeJoin(stamp, { maxRingSeq: 0, procs: [], fails: [] }).subarray(0, HEADER_SIZE), Buffer.from(body)]);
        decodeJoin(buf);
        decodeCommit(buf);
      }),
      { numRuns: 2000 },
    );
  });
});

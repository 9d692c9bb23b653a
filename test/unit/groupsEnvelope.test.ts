// The ring envelope codec (src/wire/envelope.ts): round trips, foreign traffic, and damaged
// input (every truncation, random bytes) that must give an error value, never an exception.
import { strict as assert } from 'node:assert';
import {
  ENVELOPE_MAGIC,
  ENVELOPE_OVERHEAD,
  decodeEnvelope,
  encodeDataEnvelope,
  encodeEnvelope,
  encodeKillEnvelope,
  type Envelope,
} from '../../src/wire/envelope';
import { SpreadError } from '../../src/errors';

const samples: Envelope[] = [
  { kind: 'data', type: 0x50, hint: 0x80123480, sender: '#alice#sp1', groups: ['grp', 'grp2'], data: Buffer.from('hello') },
  { kind: 'data', type: 0x20, hint: 0x00050000, sender: '#a#b', groups: [], data: Buffer.alloc(0) },
  { kind: 'data', type: 0x04, hint: 0x80000080, sender: '#x#y', groups: Array.from({ length: 100 }, (_, i) => `g${i}`.padEnd(31, 'x')), data: Buffer.alloc(1000, 7) },
  { kind: 'join', member: '#alice#sp1', group: 'grp' },
  { kind: 'leave', member: '#alice#sp1', group: 'g'.repeat(31) },
  { kind: 'kill', member: '#r9838-9#sp1' },
  { kind: 'groups', ringSeq: 1_795_306_493_123, ringRep: 4254043461, groups: [] },
  {
    kind: 'groups',
    ringSeq: 7,
    ringRep: 1,
    groups: [
      { name: 'grp', groupId: { daemonId: 4254043461, time: 1795306493, index: 3 }, changed: true, members: ['#a#sp1', '#b#sp1'] },
      { name: 'other', groupId: { daemonId: 1, time: 2, index: 1 }, changed: false, members: ['#c#sp1'] },
    ],
  },
];

describe('envelope codec', function () {
  it('round-trips every kind', function () {
    for (const e of samples) {
      const bytes = encodeEnvelope(e);
      assert.equal(bytes[0], ENVELOPE_MAGIC);
      const r = decodeEnvelope(bytes);
      assert.equal(r.status, 'ok', JSON.stringify(r));
      assert.deepEqual((r as { envelope: Envelope }).envelope, e);
    }
  });

  it('keeps a data envelope within data + 32 per group + ENVELOPE_OVERHEAD', function () {
    for (const e of samples) {
      if (e.kind !== 'data') continue;
      assert.ok(encodeEnvelope(e).length <= e.data.length + 32 * e.groups.length + ENVELOPE_OVERHEAD);
    }
    const worst = encodeDataEnvelope({ type: 1, hint: 0, sender: 's'.repeat(31), groups: Array(100).fill('g'.repeat(31)), data: Buffer.alloc(5) });
    assert.equal(worst.length, 5 + 32 * 100 + ENVELOPE_OVERHEAD);
  });

  it('calls payloads without the magic byte foreign', function () {
    for (const p of [Buffer.alloc(0), Buffer.from([ENVELOPE_MAGIC]), Buffer.alloc(1000, 0x61), Buffer.from([0, 1, 2])]) {
      assert.equal(decodeEnvelope(p).status, 'foreign');
    }
  });

  it('gives an error for every truncation and unknown kinds, and never throws on random bytes', function () {
    for (const e of samples) {
      const bytes = encodeEnvelope(e);
      // A data envelope's data runs to the end: cutting into it is still a valid (shorter) message.
      const dataStart = e.kind === 'data' ? bytes.length - e.data.length : bytes.length;
      for (let cut = 2; cut < dataStart; cut++) {
        const r = decodeEnvelope(bytes.subarray(0, cut));
        assert.equal(r.status, 'error', `${e.kind} cut at ${cut}`);
      }
    }
    assert.deepEqual(decodeEnvelope(Buffer.from([ENVELOPE_MAGIC, 99])).status, 'error');
    const trailing = Buffer.concat([encodeKillEnvelope('#a#b'), Buffer.from([1])]);
    assert.equal(decodeEnvelope(trailing).status, 'error');
    let seed = 12345;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    for (let i = 0; i < 20000; i++) {
      const buf = Buffer.alloc(next() % 200);
      for (let j = 0; j < buf.length; j++) buf[j] = next() >>> 24;
      if (buf.length > 0) buf[0] = ENVELOPE_MAGIC;
      if (buf.length > 1) buf[1] = 1 + (next() % 5);
      decodeEnvelope(buf); // must not throw
    }
  });

  it('refuses names it cannot carry, with SpreadError', function () {
    assert.throws(() => encodeKillEnvelope('x'.repeat(32)), (e: unknown) => e instanceof SpreadError && e.code === 'ILLEGAL_GROUP');
    assert.throws(() => encodeKillEnvelope('a\u0100'), SpreadError);
    assert.throws(
      () => encodeDataEnvelope({ type: 1, hint: 0, sender: '#a#b', groups: Array(101).fill('g'), data: Buffer.alloc(0) }),
      (e: unknown) => e instanceof SpreadError && e.code === 'MESSAGE_TOO_LONG',
    );
  });
});

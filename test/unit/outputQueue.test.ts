import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { OutputQueue } from '../../src/session/outputQueue';

/** A stream that records how the queue writes to it: one frame per write, or several per writev. */
function recordingStream(highWaterMark: number) {
  const calls: number[] = []; // frames per call
  const bytes: Buffer[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      calls.push(1);
      bytes.push(chunk);
      setImmediate(done);
    },
    writev(chunks, done) {
      calls.push(chunks.length);
      for (const c of chunks) bytes.push(c.chunk as Buffer);
      setImmediate(done);
    },
  });
  return { stream, calls, bytes };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('OutputQueue', () => {
  it('writes the frames that waited for a full stream in one writev once it drains', async () => {
    const { stream, calls, bytes } = recordingStream(100);
    let overflowed = false;
    const q = new OutputQueue(stream, 1000, () => (overflowed = true));
    q.write(Buffer.alloc(200, 1)); // past the high-water mark: the stream is full
    const later = Array.from({ length: 5 }, (_, i) => Buffer.alloc(10, i + 2));
    for (const f of later) q.write(f);
    assert.equal(q.backlog, 5);
    for (let i = 0; i < 10 && q.backlog > 0; i++) await tick();
    for (let i = 0; i < 5; i++) await tick();
    assert.equal(q.backlog, 0);
    assert.deepEqual(calls, [1, 5], 'the big frame alone, then the five that waited together');
    assert.deepEqual(Buffer.concat(bytes), Buffer.concat([Buffer.alloc(200, 1), ...later]), 'every frame, in order');
    assert.equal(overflowed, false);
  });

  it('closes a client that leaves more than the limit waiting', async () => {
    const { stream } = recordingStream(10);
    let overflowed = false;
    const q = new OutputQueue(stream, 3, () => (overflowed = true));
    for (let i = 0; i < 10; i++) q.write(Buffer.alloc(20));
    await tick();
    assert.equal(overflowed, true);
    assert.equal(q.backlog, 0);
  });
});

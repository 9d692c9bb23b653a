// Rollback sequences: policies (retry, rollback, abort), the default policy's bounds, rollbacks
// in reverse order when giving up, the typed error, and progress saved in a store (in memory and
// in a checkpoint) so that a new process resumes at the step the old one was in.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import msgpack from 'msgpack-lite';
import { connect, type Session } from '../../src/client';
import { CheckpointService } from '../../src/client/checkpoints';
import { ServiceError } from '../../src/client/serviceClient';
import { HaError, SequenceAbortedError } from '../../src/errors';
import { CheckpointEngine } from '../../src/services/checkpoint/engine';
import { CHECKPOINT_GROUP } from '../../src/services/checkpoint/protocol';
import { CheckpointProgressStore, openCheckpointProgressStore, progressSectionId, type CheckpointSections } from '../../src/services/ha/checkpointStore';
import { MemoryProgressStore } from '../../src/services/ha/progressStore';
import { Sequence, retryThenRollback, type SequenceStep, type StepContext } from '../../src/services/ha/sequence';
import { SessionServer } from '../../src/session';
import { FakeRing, regularOf } from './sessionFixtures';

interface State {
  done: string[];
  n: number;
}

/** A step that appends its name to state.done and records runs and rollbacks in `trace`. */
function step(name: string, trace: string[], fail: (ctx: StepContext<State>) => boolean = () => false, extra: Partial<SequenceStep<State>> = {}): SequenceStep<State> {
  return {
    name,
    run(ctx) {
      trace.push(`run ${name}#${ctx.attempt}`);
      ctx.state.done.push(name);
      ctx.state.n++;
      if (fail(ctx)) throw new Error(`${name} failed`);
    },
    rollback(ctx) {
      trace.push(`undo ${name} [${ctx.state.done.join(',')}]`);
    },
    ...extra,
  };
}

const initial = (): State => ({ done: [], n: 0 });

/** A run that never ends (the process "dies" in it); `reached` resolves when it starts. */
function dying(): { run: () => Promise<void>; reached: Promise<void> } {
  let reach!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  return { run: () => (reach(), new Promise<void>(() => {})), reached };
}

async function rejects<E>(p: Promise<unknown>, type: new (...a: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('HA rollback sequences', () => {
  it('runs the steps in order, passing the state on, checkpointing each step and clearing the store at the end', async () => {
    const trace: string[] = [];
    const store = new MemoryProgressStore();
    const seq = new Sequence<State>({ name: 's', steps: ['a', 'b', 'c'].map((n) => step(n, trace)), store });
    const checkpoints: string[] = [];
    seq.on('checkpoint', (e) => checkpoints.push(e.step));
    const result = await seq.run(initial());
    assert.deepEqual(result, { state: { done: ['a', 'b', 'c'], n: 3 }, resumed: false, retries: 0, rollbacks: 0 });
    assert.deepEqual(trace, ['run a#1', 'run b#1', 'run c#1']);
    assert.deepEqual(checkpoints, ['a', 'b', 'c']);
    assert.equal(store.saves, 3, 'progress saved before every step');
    assert.deepEqual(store.sequences(), [], 'cleared when the run ends');
  });

  it('default policy: retries a failing step from its checkpoint, undoing each failed attempt', async () => {
    const trace: string[] = [];
    const seq = new Sequence<State>({ name: 's', steps: [step('a', trace), step('b', trace, (ctx) => ctx.attempt <= 2)] });
    const decisions: string[] = [];
    seq.on('failure', (e) => decisions.push(`${e.step}#${e.attempt}:${e.decision}`));
    const result = await seq.run(initial());
    assert.deepEqual(decisions, ['b#1:retry', 'b#2:retry']);
    assert.deepEqual(trace, ['run a#1', 'run b#1', 'undo b [a,b]', 'run b#2', 'undo b [a,b]', 'run b#3']);
    // The failed attempts' changes to the state are gone: b appears once.
    assert.deepEqual(result.state, { done: ['a', 'b'], n: 2 });
    assert.equal(result.retries, 2);
    assert.equal(result.rollbacks, 0);
  });

  it('default policy: after 3 retries rolls back to the previous step (its rollback, then both again)', async () => {
    const trace: string[] = [];
    let bRuns = 0;
    const seq = new Sequence<State>({ name: 's', steps: [step('a', trace), step('b', trace), step('c', trace, () => ++bRuns <= 4)] });
    const rollbacks: string[] = [];
    seq.on('rollback', (e) => rollbacks.push(`${e.from}->${e.to} (${e.rollbacks})`));
    const result = await seq.run(initial());
    assert.deepEqual(rollbacks, ['c->b (1)']);
    assert.deepEqual(trace, [
      'run a#1',
      'run b#1',
      'run c#1',
      'undo c [a,b,c]',
      'run c#2',
      'undo c [a,b,c]',
      'run c#3',
      'undo c [a,b,c]',
      'run c#4',
      'undo c [a,b,c]',
      'undo b [a,b]',
      'run b#1',
      'run c#1',
    ]);
    assert.deepEqual(result.state, { done: ['a', 'b', 'c'], n: 3 });
    assert.deepEqual([result.retries, result.rollbacks], [3, 1]);
  });

  it('a policy of its own decides per step; rolling back the first step runs it again', async () => {
    const trace: string[] = [];
    let runs = 0;
    const seq = new Sequence<State>({ name: 's', steps: [step('a', trace, () => ++runs === 1, { policy: () => 'rollback' })] });
    const result = await seq.run(initial());
    assert.deepEqual(trace, ['run a#1', 'undo a [a]', 'run a#1']);
    assert.equal(result.rollbacks, 1);
    assert.deepEqual(retryThenRollback(1)({ sequence: 's', step: 'a', index: 0, error: null }, 2), 'rollback');
  });

  it('abort: rolls back the completed steps newest first and rejects with SequenceAbortedError', async () => {
    const trace: string[] = [];
    const store = new MemoryProgressStore();
    const seq = new Sequence<State>({ name: 's', store, steps: [step('a', trace), step('b', trace), step('c', trace, () => true, { policy: () => 'abort' })] });
    const err = await rejects(seq.run(initial()), SequenceAbortedError);
    assert.deepEqual(trace, ['run a#1', 'run b#1', 'run c#1', 'undo c [a,b,c]', 'undo b [a,b]', 'undo a [a]']);
    assert.equal(err.code, 'HA_SEQUENCE_ABORTED');
    assert.equal(err.reason, 'policy');
    assert.equal(err.step, 'c');
    assert.equal((err.cause as Error).message, 'c failed');
    assert.ok(err instanceof HaError);
    assert.deepEqual(store.sequences(), []);
  });

  it('gives up after maxRollbacks rollbacks (rollback-limit)', async () => {
    const trace: string[] = [];
    const seq = new Sequence<State>({ name: 's', maxRollbacks: 2, steps: [step('a', trace), step('b', trace, () => true, { policy: () => 'rollback' })] });
    const err = await rejects(seq.run(initial()), SequenceAbortedError);
    assert.equal(err.reason, 'rollback-limit');
    assert.equal(trace.filter((t) => t === 'run a#1').length, 3, 'a ran first, then once after each of 2 rollbacks');
    assert.deepEqual(trace.slice(-2), ['undo b [a,b]', 'undo a [a]']);
  });

  it('a rollback that throws gives up (rollback-failed); the other rollbacks still run and their errors are kept', async () => {
    const trace: string[] = [];
    const boom = new Error('cannot undo b');
    const seq = new Sequence<State>({
      name: 's',
      steps: [
        step('a', trace),
        step('b', trace, () => false, { rollback: () => Promise.reject(boom) }),
        step('c', trace, () => true, { policy: () => 'rollback' }),
      ],
    });
    const err = await rejects(seq.run(initial()), SequenceAbortedError);
    assert.equal(err.reason, 'rollback-failed');
    assert.equal(err.step, 'b');
    assert.deepEqual(err.rollbackErrors, [boom]);
    assert.deepEqual(trace, ['run a#1', 'run b#1', 'run c#1', 'undo c [a,b,c]', 'undo a [a]']);
  });

  it('a policy that throws or answers nonsense gives up', async () => {
    for (const policy of [() => 'later' as never, () => assert.fail('policy bug')]) {
      const seq = new Sequence<State>({ name: 's', steps: [step('a', [], () => true, { policy })] });
      assert.equal((await rejects(seq.run(initial()), SequenceAbortedError)).reason, 'policy');
    }
  });

  it('resumes where a stopped process was: the interrupted step is undone and run again, earlier steps are not', async () => {
    const store = new MemoryProgressStore();
    const trace: string[] = [];
    const death = dying();
    // The first "process": step c never finishes (the process dies there).
    const first = new Sequence<State>({ name: 'job', store, steps: [step('a', trace), step('b', trace), { ...step('c', trace), run: (ctx) => (trace.push(`run c#${ctx.attempt}`), death.run()) }] });
    void first.run(initial());
    await death.reached;
    assert.deepEqual(trace, ['run a#1', 'run b#1', 'run c#1']);
    assert.deepEqual(store.sequences(), ['job']);
    const saved = msgpack.decode((await store.load('job'))!) as { index: number; checkpoints: State[] };
    assert.equal(saved.index, 2);
    assert.deepEqual(saved.checkpoints[2], { done: ['a', 'b'], n: 2 });

    // The restarted process: same steps, same store.
    trace.length = 0;
    const seen: boolean[] = [];
    const second = new Sequence<State>({ name: 'job', store, steps: [step('a', trace), step('b', trace), step('c', trace, (ctx) => (seen.push(ctx.resumed), false))] });
    const resumes: string[] = [];
    second.on('resume', (e) => resumes.push(`${e.step}#${e.attempt}`));
    const result = await second.run({ done: ['ignored'], n: 99 });
    assert.deepEqual(resumes, ['c#1']);
    assert.deepEqual(trace, ['undo c [a,b]', 'run c#2']);
    assert.deepEqual(seen, [true]);
    assert.equal(result.resumed, true);
    assert.deepEqual(result.state, { done: ['a', 'b', 'c'], n: 3 });
    assert.deepEqual(store.sequences(), []);
  });

  it('keeps the attempt count and rollbacks across a restart', async () => {
    const store = new MemoryProgressStore();
    let calls = 0;
    const death = dying();
    const flaky: SequenceStep<State> = { name: 'x', run: () => (++calls < 3 ? Promise.reject(new Error('no')) : death.run()) };
    void new Sequence<State>({ name: 'j', store, steps: [flaky] }).run(initial());
    await death.reached;
    const saved = msgpack.decode((await store.load('j'))!) as { attempt: number; retries: number };
    assert.deepEqual([saved.attempt, saved.retries], [3, 2]);
    const attempts: number[] = [];
    const result = await new Sequence<State>({ name: 'j', store, steps: [{ name: 'x', run: (ctx) => void attempts.push(ctx.attempt) }] }).run(initial());
    assert.deepEqual(attempts, [4]);
    assert.equal(result.retries, 2);
  });

  it('refuses stored progress of other steps or damaged bytes (HA_BAD_PROGRESS), a second concurrent run (HA_BUSY), bad definitions (HA_INVALID)', async () => {
    const store = new MemoryProgressStore();
    await store.save('j', msgpack.encode({ v: 1, steps: ['other'], index: 0, attempt: 1, retries: 0, rollbacks: 0, checkpoints: [{}] }));
    const seq = new Sequence<State>({ name: 'j', store, steps: [step('a', [])] });
    assert.equal((await rejects(seq.run(initial()), HaError)).code, 'HA_BAD_PROGRESS');
    await store.save('j', Buffer.from([0xc1]));
    assert.equal((await rejects(seq.run(initial()), HaError)).code, 'HA_BAD_PROGRESS');
    await store.clear('j');

    const slow = new Sequence<State>({ name: 'k', steps: [{ name: 'a', run: () => new Promise((r) => setTimeout(r, 5)) }] });
    const running = slow.run(initial());
    assert.equal((await rejects(slow.run(initial()), HaError)).code, 'HA_BUSY');
    await running;

    assert.throws(() => new Sequence<State>({ name: 'e', steps: [] }), (e: HaError) => e.code === 'HA_INVALID');
    assert.throws(() => new Sequence<State>({ name: 'e', steps: [step('a', []), step('a', [])] }), /used twice/);
    assert.throws(() => new Sequence<State>({ name: 'e', steps: [step('a', [])], maxRollbacks: -1 }), /maxRollbacks/);
  });

  describe('CheckpointProgressStore', () => {
    /** Sections in memory, answering as the checkpoint service does (NOT_EXIST for a missing section). */
    class FakeCheckpoint implements CheckpointSections {
      readonly sections = new Map<string, Buffer>();
      readonly ops: string[] = [];
      private missing(id: string): ServiceError {
        return new ServiceError('SA_AIS_ERR_NOT_EXIST', 12, `no section ${id}`, 'read');
      }
      createSection(id: string, options: { data: Buffer }): Promise<unknown> {
        this.ops.push(`create ${id}`);
        if (this.sections.has(id)) return Promise.reject(new ServiceError('SA_AIS_ERR_EXIST', 14, 'exists', 'sectionCreate'));
        this.sections.set(id, Buffer.from(options.data));
        return Promise.resolve({});
      }
      overwrite(id: string, data: Buffer): Promise<unknown> {
        this.ops.push(`overwrite ${id}`);
        if (!this.sections.has(id)) return Promise.reject(this.missing(id));
        this.sections.set(id, Buffer.from(data));
        return Promise.resolve({});
      }
      read(items: readonly { sectionId: string }[]): Promise<{ data: Buffer }[]> {
        const out: { data: Buffer }[] = [];
        for (const { sectionId } of items) {
          const data = this.sections.get(sectionId);
          if (!data) return Promise.reject(this.missing(sectionId));
          out.push({ data });
        }
        return Promise.resolve(out);
      }
    }

    it('creates the section at the first save, overwrites it after, reads it back, empties it on clear', async () => {
      const ckpt = new FakeCheckpoint();
      const store = new CheckpointProgressStore(ckpt);
      assert.equal(await store.load('s'), undefined);
      await store.save('s', Buffer.from('one'));
      await store.save('s', Buffer.from('two'));
      assert.deepEqual(await store.load('s'), Buffer.from('two'));
      await store.clear('s');
      assert.equal(await store.load('s'), undefined);
      const id = progressSectionId('s');
      assert.deepEqual(ckpt.ops, [`overwrite ${id}`, `create ${id}`, `overwrite ${id}`, `overwrite ${id}`]);
    });

    it('lets a sequence resume from the checkpoint', async () => {
      const ckpt = new FakeCheckpoint();
      const trace: string[] = [];
      const death = dying();
      void new Sequence<State>({ name: 'c', store: new CheckpointProgressStore(ckpt), steps: [step('a', trace), { name: 'b', run: death.run }] }).run(initial());
      await death.reached;
      const result = await new Sequence<State>({ name: 'c', store: new CheckpointProgressStore(ckpt), steps: [step('a', trace), step('b', trace)] }).run(initial());
      assert.deepEqual(trace, ['run a#1', 'undo b [a]', 'run b#2']);
      assert.deepEqual(result.state.done, ['a', 'b']);
    });

    it('through the checkpoint service of a daemon: a second session resumes the first one\'s sequence', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-ha-ckpt-'));
      const ring = new FakeRing([{ id: 1, name: 'd1' }]);
      const server = new SessionServer(ring.port(1), { unixSocketPath: path.join(dir, 'd1') }, {}, [new CheckpointEngine()]);
      const sessions: Session[] = [];
      const storeOf = async () => {
        const session = await connect({ daemon: path.join(dir, 'd1') });
        sessions.push(session);
        return openCheckpointProgressStore(new CheckpointService(session.service(CHECKPOINT_GROUP)), 'ha-progress');
      };
      try {
        await server.listen();
        ring.configure(regularOf(10, 1, [1]));
        const trace: string[] = [];
        const death = dying();
        void new Sequence<State>({ name: 'job', store: await storeOf(), steps: [step('a', trace), step('b', trace), { name: 'c', run: death.run }] }).run(initial());
        await death.reached;
        // The first process is gone; another one, with its own session, carries on.
        await sessions[0]!.disconnect();
        const result = await new Sequence<State>({ name: 'job', store: await storeOf(), steps: [step('a', trace), step('b', trace), step('c', trace)] }).run(initial());
        assert.equal(result.resumed, true);
        assert.deepEqual(trace, ['run a#1', 'run b#1', 'undo c [a,b]', 'run c#2']);
        assert.deepEqual(result.state.done, ['a', 'b', 'c']);
        assert.equal(await (await storeOf()).load('job'), undefined, 'cleared at the end');
      } finally {
        for (const s of sessions) await s.disconnect();
        await server.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('passes on other errors of the service', async () => {
      const failing: CheckpointSections = {
        createSection: () => Promise.reject(new Error('x')),
        overwrite: () => Promise.reject(new ServiceError('SA_AIS_ERR_NO_SPACE', 19, 'too big', 'overwrite')),
        read: () => Promise.reject(new ServiceError('SA_AIS_ERR_ACCESS', 36, 'no', 'read')),
      };
      const store = new CheckpointProgressStore(failing);
      await assert.rejects(store.save('s', Buffer.from('x')), /NO_SPACE/);
      await assert.rejects(store.load('s'), /ACCESS/);
    });
  });
});

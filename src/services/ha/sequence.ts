// Rollback sequences in the manner of HAFTA: work written as a list of named steps, each with a
// rollback and a policy for its failures (retry it, roll back to the previous step, give up).
//
// The sequence's state is plain msgpack-able data. The state before each step is kept as that
// step's checkpoint: every attempt starts from it, and a rollback restores it, so a step's
// `rollback` only has to undo effects outside the state (files, processes, remote calls). With a
// ProgressStore, the position, attempt and checkpoints are saved before every step runs, so a
// process that dies and is restarted resumes at the step it was in.
import { EventEmitter } from 'node:events';
import msgpack from 'msgpack-lite';
import { HaError, SequenceAbortedError } from '../../errors';
import type { ProgressStore } from './progressStore';

export type PolicyDecision = 'retry' | 'rollback' | 'abort';

export interface StepFailure {
  readonly sequence: string;
  readonly step: string;
  /** The step's position, from 0. */
  readonly index: number;
  readonly error: unknown;
}

/** What follows a failed run of a step. `attempt` is the failed run's number: 1 for the first since the step was reached. */
export type FailurePolicy = (failure: StepFailure, attempt: number) => PolicyDecision;

export const DEFAULT_RETRIES = 3;
export const DEFAULT_MAX_ROLLBACKS = 3;

/** The default policy: retry a step `retries` times, then roll back to the previous step. */
export function retryThenRollback(retries = DEFAULT_RETRIES): FailurePolicy {
  return (_failure, attempt) => (attempt <= retries ? 'retry' : 'rollback');
}

export interface StepContext<S> {
  /** The state: a copy of the step's checkpoint. Change it or replace it; what it holds when run() returns is the next checkpoint. */
  state: S;
  readonly sequence: string;
  readonly step: string;
  readonly index: number;
  readonly attempt: number;
  /** This run follows one that a previous process was in when it stopped (resumed from the store). */
  readonly resumed: boolean;
}

export interface SequenceStep<S> {
  readonly name: string;
  /** Does the step's work; throws (or rejects) to fail. */
  run(ctx: StepContext<S>): unknown;
  /**
   * Undoes the effects of run() outside the state (the state is restored from the checkpoint).
   * Called after a failed run too, and on resume for a run that was interrupted — so it must
   * cope with a run that did part of its work, or none.
   */
  rollback?(ctx: StepContext<S>): unknown;
  /** Default: the sequence's policy. */
  readonly policy?: FailurePolicy;
}

export interface SequenceOptions<S> {
  /** Names the sequence in events, errors and the store (one stored progress per name). */
  readonly name: string;
  readonly steps: readonly SequenceStep<S>[];
  /** Where progress is saved for resuming; none by default. */
  readonly store?: ProgressStore;
  /** For steps without a policy of their own. Default retryThenRollback(DEFAULT_RETRIES). */
  readonly policy?: FailurePolicy;
  /** Rollbacks allowed in one run before it gives up (bounds retry/rollback cycles). Default DEFAULT_MAX_ROLLBACKS. */
  readonly maxRollbacks?: number;
}

export interface SequenceResult<S> {
  /** The state after the last step. */
  readonly state: S;
  /** The run continued progress found in the store. */
  readonly resumed: boolean;
  readonly retries: number;
  readonly rollbacks: number;
}

export interface StepEvent {
  readonly step: string;
  readonly index: number;
  readonly attempt: number;
}

export interface SequenceEvents {
  /** A step starts a run. */
  step: (e: StepEvent) => void;
  /** A step completed; its state is the next step's checkpoint. */
  checkpoint: (e: StepEvent) => void;
  /** A step's run failed and its policy decided. */
  failure: (e: StepEvent & { readonly error: unknown; readonly decision: PolicyDecision }) => void;
  /** The sequence rolled back from step `from` to re-run from step `to`. */
  rollback: (e: { readonly from: string; readonly to: string; readonly rollbacks: number }) => void;
  /** Progress was found in the store; the run goes on from `step`. */
  resume: (e: StepEvent) => void;
}

export interface Sequence<S> {
  on<E extends keyof SequenceEvents>(event: E, listener: SequenceEvents[E]): this;
  once<E extends keyof SequenceEvents>(event: E, listener: SequenceEvents[E]): this;
  off<E extends keyof SequenceEvents>(event: E, listener: SequenceEvents[E]): this;
  emit<E extends keyof SequenceEvents>(event: E, ...args: Parameters<SequenceEvents[E]>): boolean;
}

/** The saved progress: step `index` is about to run (or was running) as `attempt`. */
interface Progress<S> {
  readonly v: 1;
  /** The step names, to refuse progress saved by a different sequence. */
  readonly steps: string[];
  index: number;
  attempt: number;
  retries: number;
  rollbacks: number;
  /** checkpoints[i]: the state before step i; there are index + 1 of them. */
  checkpoints: S[];
}

/** A deep copy through msgpack: the state behaves alike whether or not it went through a store. */
function copy<S>(state: S): S {
  return msgpack.decode(msgpack.encode(state)) as S;
}

export class Sequence<S> extends EventEmitter {
  readonly name: string;
  private readonly steps: readonly SequenceStep<S>[];
  private readonly store: ProgressStore | undefined;
  private readonly policy: FailurePolicy;
  private readonly maxRollbacks: number;
  private running = false;

  /** @throws HaError HA_INVALID: no steps, a step name used twice, a bad maxRollbacks. */
  constructor(options: SequenceOptions<S>) {
    super();
    const names = options.steps.map((s) => s.name);
    if (names.length === 0) throw new HaError('HA_INVALID', `sequence ${options.name} has no steps`);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new HaError('HA_INVALID', `sequence ${options.name}: step name ${twice} is used twice`);
    const maxRollbacks = options.maxRollbacks ?? DEFAULT_MAX_ROLLBACKS;
    if (!Number.isInteger(maxRollbacks) || maxRollbacks < 0) throw new HaError('HA_INVALID', `maxRollbacks must be a whole number ≥ 0, not ${maxRollbacks}`);
    this.name = options.name;
    this.steps = [...options.steps];
    this.store = options.store;
    this.policy = options.policy ?? retryThenRollback();
    this.maxRollbacks = maxRollbacks;
  }

  /**
   * Runs the steps from `initial`, or resumes the progress the store holds for this sequence
   * (then `initial` is not used). The stored progress is cleared when the run ends either way.
   * @throws SequenceAbortedError when it gives up (after the rollbacks of the completed steps);
   *   HaError HA_BUSY (already running), HA_BAD_PROGRESS (stored progress unreadable or saved
   *   by other steps); whatever the store throws.
   */
  async run(initial: S): Promise<SequenceResult<S>> {
    if (this.running) throw new HaError('HA_BUSY', `sequence ${this.name} is already running`);
    this.running = true;
    try {
      return await this.execute(initial);
    } finally {
      this.running = false;
    }
  }

  private async execute(initial: S): Promise<SequenceResult<S>> {
    const saved = await this.load();
    const p: Progress<S> = saved ?? { v: 1, steps: this.steps.map((s) => s.name), index: 0, attempt: 1, retries: 0, rollbacks: 0, checkpoints: [copy(initial)] };
    let resumedStep = saved !== undefined;
    if (saved) {
      // The previous process stopped in this step: undo what it may have done, run it again.
      const step = this.steps[p.index]!;
      this.emit('resume', { step: step.name, index: p.index, attempt: p.attempt });
      const ctx = this.context(p, true);
      try {
        await step.rollback?.(ctx);
      } catch (err) {
        return this.giveUp(p, 'rollback-failed', err);
      }
      p.attempt++;
    }
    while (p.index < this.steps.length) {
      const step = this.steps[p.index]!;
      await this.store?.save(this.name, msgpack.encode(p));
      const ctx = this.context(p, resumedStep);
      resumedStep = false;
      const event: StepEvent = { step: step.name, index: p.index, attempt: p.attempt };
      this.emit('step', event);
      let error: unknown;
      let failed = false;
      try {
        await step.run(ctx);
      } catch (err) {
        failed = true;
        error = err;
      }
      if (!failed) {
        p.checkpoints[p.index + 1] = copy(ctx.state);
        p.index++;
        p.attempt = 1;
        this.emit('checkpoint', event);
        continue;
      }
      const decision = this.decide(step, p, error);
      this.emit('failure', { ...event, error, decision });
      try {
        await step.rollback?.(ctx);
      } catch (err) {
        return this.giveUp(p, 'rollback-failed', err);
      }
      if (decision === 'abort') return this.giveUp(p, 'policy', error);
      if (decision === 'retry') {
        p.attempt++;
        p.retries++;
        continue;
      }
      if (p.rollbacks >= this.maxRollbacks) return this.giveUp(p, 'rollback-limit', error);
      p.rollbacks++;
      const to = Math.max(0, p.index - 1);
      if (to < p.index) {
        // Undo the previous step (its context holds the state it produced), re-run it.
        const previous = this.steps[to]!;
        try {
          await previous.rollback?.(this.context(p, false, to));
        } catch (err) {
          p.index = to;
          return this.giveUp(p, 'rollback-failed', err);
        }
      }
      this.emit('rollback', { from: step.name, to: this.steps[to]!.name, rollbacks: p.rollbacks });
      p.index = to;
      p.checkpoints.length = to + 1;
      p.attempt = 1;
    }
    await this.store?.clear(this.name);
    return { state: p.checkpoints[this.steps.length]!, resumed: saved !== undefined, retries: p.retries, rollbacks: p.rollbacks };
  }

  /** The policy's decision; one that throws or answers nonsense gives up. */
  private decide(step: SequenceStep<S>, p: Progress<S>, error: unknown): PolicyDecision {
    try {
      const decision = (step.policy ?? this.policy)({ sequence: this.name, step: step.name, index: p.index, error }, p.attempt);
      return decision === 'retry' || decision === 'rollback' ? decision : 'abort';
    } catch {
      return 'abort';
    }
  }

  /** Context for step `index`, its state the checkpoint after it (completed steps) or before it. */
  private context(p: Progress<S>, resumed: boolean, index = p.index): StepContext<S> {
    const state = p.checkpoints[Math.min(index + 1, p.checkpoints.length - 1)]!;
    return { state: copy(state), sequence: this.name, step: this.steps[index]!.name, index, attempt: p.attempt, resumed };
  }

  /** Rolls back the steps before `p.index` (newest first), clears the store, throws. */
  private async giveUp(p: Progress<S>, reason: SequenceAbortedError['reason'], cause: unknown): Promise<never> {
    const failed = this.steps[Math.min(p.index, this.steps.length - 1)]!.name;
    const rollbackErrors: unknown[] = reason === 'rollback-failed' ? [cause] : [];
    for (let i = p.index - 1; i >= 0; i--) {
      try {
        await this.steps[i]!.rollback?.(this.context(p, false, i));
      } catch (err) {
        rollbackErrors.push(err);
      }
    }
    await this.store?.clear(this.name);
    throw new SequenceAbortedError(this.name, failed, reason, cause, rollbackErrors);
  }

  private async load(): Promise<Progress<S> | undefined> {
    const bytes = await this.store?.load(this.name);
    if (bytes === undefined || bytes.length === 0) return undefined;
    let p: Progress<S>;
    try {
      p = msgpack.decode(bytes) as Progress<S>;
    } catch (err) {
      throw new HaError('HA_BAD_PROGRESS', `stored progress of sequence ${this.name} does not decode`, { cause: err });
    }
    const names = this.steps.map((s) => s.name);
    const valid =
      p !== null &&
      typeof p === 'object' &&
      p.v === 1 &&
      Array.isArray(p.steps) &&
      p.steps.join('\u0000') === names.join('\u0000') &&
      Number.isInteger(p.index) &&
      p.index >= 0 &&
      p.index < names.length &&
      Array.isArray(p.checkpoints) &&
      p.checkpoints.length === p.index + 1 &&
      [p.attempt, p.retries, p.rollbacks].every((n) => Number.isInteger(n) && n >= 0);
    if (!valid) throw new HaError('HA_BAD_PROGRESS', `stored progress of sequence ${this.name} was saved by other steps or is damaged`);
    return p;
  }
}

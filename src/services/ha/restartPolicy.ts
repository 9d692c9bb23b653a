// When the supervisor restarts its child, as a pure state machine: the times of starts and
// exits go in, decisions come out (no timers, no clock), so every case is a plain unit test.
//
// Backoff doubles with every consecutive failure, from backoffMs up to maxBackoffMs. A child
// that ran at least resetAfterMs before failing counts as having worked: the consecutive count
// (which the restart limit and the backoff are about) starts again, so a long-lived server that
// crashes once a day is not given up on after a week.
import { HaError } from '../../errors';

export interface RestartPolicyOptions {
  /** Consecutive restarts allowed; one more failure gives up. Default 5. */
  readonly maxRestarts?: number;
  /** Delay before the first restart. Default 200 ms. */
  readonly backoffMs?: number;
  /** Longest delay. Default 30 000 ms. */
  readonly maxBackoffMs?: number;
  /** A run this long resets the consecutive count. Default 60 000 ms. */
  readonly resetAfterMs?: number;
}

export const RESTART_DEFAULTS = { maxRestarts: 5, backoffMs: 200, maxBackoffMs: 30_000, resetAfterMs: 60_000 } as const;

/** How a child ended: an exit code, or the signal that killed it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export type RestartDecision =
  /** Exited 0: its work is done. */
  | { readonly action: 'done' }
  /** Stopped on request: do not restart. */
  | { readonly action: 'stopped' }
  /** Failed: start it again after delayMs; `restarts` counts this one. */
  | { readonly action: 'restart'; readonly delayMs: number; readonly restarts: number }
  /** Failed once more than the limit allows. */
  | { readonly action: 'give-up'; readonly restarts: number };

/** Exit 0 is success; any other code, or a signal, is a failure. */
export const isFailure = (status: ExitStatus): boolean => status.signal !== null || status.code !== 0;

export class RestartPolicy {
  readonly maxRestarts: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  readonly resetAfterMs: number;
  private startedAt = 0;
  private consecutive = 0;
  private total = 0;
  private stopping = false;

  /** @throws HaError HA_INVALID for a negative or non-integer option, or maxBackoffMs < backoffMs. */
  constructor(options: RestartPolicyOptions = {}) {
    const d = RESTART_DEFAULTS;
    const o = {
      maxRestarts: options.maxRestarts ?? d.maxRestarts,
      backoffMs: options.backoffMs ?? d.backoffMs,
      maxBackoffMs: options.maxBackoffMs ?? d.maxBackoffMs,
      resetAfterMs: options.resetAfterMs ?? d.resetAfterMs,
    };
    for (const [key, value] of Object.entries(o)) {
      if (!Number.isInteger(value) || value < 0) throw new HaError('HA_INVALID', `${key} must be a whole number ≥ 0, not ${value}`);
    }
    if (o.maxBackoffMs < o.backoffMs) throw new HaError('HA_INVALID', `maxBackoffMs (${o.maxBackoffMs}) is less than backoffMs (${o.backoffMs})`);
    this.maxRestarts = o.maxRestarts;
    this.backoffMs = o.backoffMs;
    this.maxBackoffMs = o.maxBackoffMs;
    this.resetAfterMs = o.resetAfterMs;
  }

  /** Restarts so far (all of them, not only consecutive ones). */
  get restarts(): number {
    return this.total;
  }

  /** Whether stop() was called. */
  get stopRequested(): boolean {
    return this.stopping;
  }

  /** The child was started at `now` (ms). */
  started(now: number): void {
    this.startedAt = now;
  }

  /** No restarts from now on: the next exit is 'stopped'. */
  stop(): void {
    this.stopping = true;
  }

  /** The child ended at `now` (ms) with `status`: what to do next. */
  exited(now: number, status: ExitStatus): RestartDecision {
    if (this.stopping) return { action: 'stopped' };
    if (!isFailure(status)) return { action: 'done' };
    if (now - this.startedAt >= this.resetAfterMs) this.consecutive = 0;
    if (this.consecutive >= this.maxRestarts) return { action: 'give-up', restarts: this.total };
    const delayMs = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.min(this.consecutive, 30));
    this.consecutive++;
    this.total++;
    return { action: 'restart', delayMs, restarts: this.total };
  }
}

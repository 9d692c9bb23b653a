// The supervisor (HAFTA's overlord): runs a command, restarts it when it fails, as the
// RestartPolicy decides, and reports each failure and restart as a fault event. It owns the
// child process, the timers and the clock; the policy owns the decisions.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import { HaError } from '../../errors';
import { NO_FAULTS, SUPERVISOR_EVENTS, type FaultPublisher, type SupervisorEventName, type SupervisorPayload } from './faults';
import { RestartPolicy, type ExitStatus, type RestartPolicyOptions } from './restartPolicy';

export interface SupervisorOptions extends RestartPolicyOptions {
  readonly command: string;
  readonly args?: readonly string[];
  /** Names the program in logs and events. Default: the command's base name. */
  readonly name?: string;
  /** Where fault events go. Default: nowhere. */
  readonly publisher?: FaultPublisher;
  /** One line per thing that happens. Default: stderr. */
  readonly log?: (line: string) => void;
  /** The child's stdio. Default 'inherit'. */
  readonly stdio?: StdioOptions;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** After stop(), how long the child has to end before it is killed (SIGKILL). Default 10 000 ms. */
  readonly stopTimeoutMs?: number;
  /** The clock the policy is fed (ms). Default Date.now. */
  readonly now?: () => number;
}

export type SupervisorOutcome = 'completed' | 'stopped' | 'gave-up';

export interface SupervisorResult {
  /** completed: the child exited 0; stopped: stop() was called; gave-up: the restart limit was reached. */
  readonly outcome: SupervisorOutcome;
  /** What the supervisor should exit with: 0, or for gave-up the child's last code (128 + signal number if killed). */
  readonly exitCode: number;
  readonly restarts: number;
  /** How the last child ended (null code and signal: stopped before one started). */
  readonly last: ExitStatus;
}

export interface SupervisorEvents {
  /** A child was started (its stdio is reachable here when stdio is 'pipe'). */
  spawn: (child: ChildProcess) => void;
  /** A child ended. */
  exit: (status: ExitStatus, pid: number | null) => void;
}

export interface Supervisor {
  on<E extends keyof SupervisorEvents>(event: E, listener: SupervisorEvents[E]): this;
  once<E extends keyof SupervisorEvents>(event: E, listener: SupervisorEvents[E]): this;
  off<E extends keyof SupervisorEvents>(event: E, listener: SupervisorEvents[E]): this;
  emit<E extends keyof SupervisorEvents>(event: E, ...args: Parameters<SupervisorEvents[E]>): boolean;
}

/** The exit code for a child's end: its code, or 128 + the signal's number as shells report it. */
export function exitCodeOf(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  const n = status.signal === null ? undefined : os.constants.signals[status.signal];
  return 128 + (n ?? 0);
}

const NOT_STARTED: ExitStatus = { code: null, signal: null };
// What a shell reports for a command it cannot run.
const CANNOT_START: ExitStatus = { code: 127, signal: null };

export class Supervisor extends EventEmitter {
  readonly name: string;
  private readonly policy: RestartPolicy;
  private readonly publisher: FaultPublisher;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  private child: ChildProcess | undefined;
  private running = false;
  private stopSignal: NodeJS.Signals = 'SIGTERM';
  private killTimer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;
  private publishing: Promise<void> = Promise.resolve();
  private unpublished = 0;
  private publishFailure: string | undefined;

  /** @throws HaError HA_INVALID for bad policy options or an empty command. */
  constructor(private readonly options: SupervisorOptions) {
    super();
    if (options.command.trim() === '') throw new HaError('HA_INVALID', 'the command to supervise is empty');
    this.policy = new RestartPolicy(options);
    this.name = options.name ?? path.basename(options.command);
    this.publisher = options.publisher ?? NO_FAULTS;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.now = options.now ?? Date.now;
  }

  /** The running child's pid. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Restarts so far. */
  get restarts(): number {
    return this.policy.restarts;
  }

  /**
   * Runs the command until it exits 0, stop() is called, or the restart limit is reached.
   * Resolves once the events are published (or failed to be). Never rejects for the child's
   * failures; @throws HaError HA_BUSY when already running.
   */
  async run(): Promise<SupervisorResult> {
    if (this.running) throw new HaError('HA_BUSY', `supervisor ${this.name} is already running`);
    this.running = true;
    try {
      if (this.policy.stopRequested) return this.result('stopped', 0, NOT_STARTED);
      let last = await this.runChild();
      for (;;) {
        // PROCESS_EXITED counts the restarts before this failure.
        const restartsBefore = this.policy.restarts;
        const decision = this.policy.exited(this.now(), last.status);
        if (decision.action === 'done') {
          this.log(`${this.name} exited 0: done`);
          return this.result('completed', 0, last.status);
        }
        if (decision.action === 'stopped') return this.stopped(last.pid, last.status);
        this.publish('PROCESS_EXITED', last.pid, last.status, restartsBefore);
        if (decision.action === 'give-up') {
          this.log(`${this.name} ${describe(last.status)}: gave up after ${decision.restarts} restart(s)`);
          this.publish('RESTART_LIMIT', last.pid, last.status);
          return this.result('gave-up', exitCodeOf(last.status), last.status);
        }
        this.log(`${this.name} ${describe(last.status)}: restart ${decision.restarts} in ${decision.delayMs} ms`);
        await this.sleep(decision.delayMs);
        if (this.policy.stopRequested) return this.stopped(null, last.status);
        const failure = last.status;
        last = await this.runChild((pid) => this.publish('PROCESS_RESTARTED', pid, failure));
      }
    } finally {
      await this.publishing;
      if (this.unpublished > 0) this.log(`${this.unpublished} fault event(s) not published`);
      this.running = false;
    }
  }

  /**
   * Stops supervising: no more restarts; the running child gets `signal` (SIGTERM by default),
   * then SIGKILL if it has not ended within stopTimeoutMs. run() then resolves 'stopped'.
   */
  stop(signal: NodeJS.Signals = 'SIGTERM'): void {
    const again = this.policy.stopRequested;
    this.policy.stop();
    this.stopSignal = signal;
    this.wake?.();
    const child = this.child;
    if (!child || child.pid === undefined) return;
    // A second stop (a second Ctrl-C) does not wait any longer.
    if (again) child.kill('SIGKILL');
    else this.signalChild(child, signal);
  }

  /** Sends the stop signal, and SIGKILL if the child outlives stopTimeoutMs. */
  private signalChild(child: ChildProcess, signal: NodeJS.Signals): void {
    child.kill(signal);
    const timeout = this.options.stopTimeoutMs ?? 10_000;
    this.killTimer ??= setTimeout(() => {
      this.log(`${this.name} did not stop within ${timeout} ms: SIGKILL`);
      child.kill('SIGKILL');
    }, timeout);
  }

  /** Starts the child and resolves when it has ended. */
  private runChild(onStart?: (pid: number | null) => void): Promise<{ pid: number | null; status: ExitStatus }> {
    return new Promise((resolve) => {
      const args = this.options.args ?? [];
      let child: ChildProcess;
      try {
        child = spawn(this.options.command, [...args], { stdio: this.options.stdio ?? 'inherit', cwd: this.options.cwd, env: this.options.env });
      } catch (err) {
        this.log(`${this.name} cannot start: ${(err as Error).message}`);
        onStart?.(null);
        return resolve({ pid: null, status: CANNOT_START });
      }
      this.policy.started(this.now());
      let ended = false;
      const end = (status: ExitStatus): void => {
        if (ended) return;
        ended = true;
        clearTimeout(this.killTimer);
        this.killTimer = undefined;
        this.child = undefined;
        this.emit('exit', status, child.pid ?? null);
        resolve({ pid: child.pid ?? null, status });
      };
      // 'error' with no pid: the command could not be run (ENOENT, EACCES); later errors (a kill that failed) change nothing.
      child.once('error', (err) => {
        if (child.pid !== undefined) return;
        this.log(`${this.name} cannot start: ${err.message}`);
        end(CANNOT_START);
      });
      child.once('exit', (code, signal) => end({ code, signal }));
      if (child.pid === undefined) return onStart?.(null);
      this.child = child;
      this.log(`${this.name} started, pid ${child.pid}`);
      onStart?.(child.pid);
      this.emit('spawn', child);
      // A stop that came while there was no child (during the backoff) still reaches this one.
      if (this.policy.stopRequested) this.signalChild(child, this.stopSignal);
    });
  }

  /** Waits ms, or less if stop() is called (or was already). */
  private sleep(ms: number): Promise<void> {
    if (this.policy.stopRequested) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private publish(name: SupervisorEventName, pid: number | null, status: ExitStatus, restarts = this.policy.restarts): void {
    // The name is cut so that the payload stays well inside FTB's 368 bytes.
    const payload: SupervisorPayload = { name: this.name.slice(0, 64), pid, code: status.code, signal: status.signal, restarts };
    const event = { name, severity: SUPERVISOR_EVENTS[name], payload };
    // In order, one at a time, never holding up a restart. While the daemon is unreachable, say so once, not per event.
    this.publishing = this.publishing
      .then(() => this.publisher.publish(event))
      .then(
        () => {
          if (this.unpublished > 0) this.log(`fault events are published again (${this.unpublished} were not)`);
          this.unpublished = 0;
          this.publishFailure = undefined;
        },
        (err: unknown) => {
          this.unpublished++;
          const why = err instanceof Error ? err.message : String(err);
          if (why !== this.publishFailure) this.log(`event ${name} not published: ${why}`);
          this.publishFailure = why;
        },
      );
  }

  private stopped(pid: number | null, last: ExitStatus): SupervisorResult {
    this.log(`${this.name} stopped`);
    this.publish('PROCESS_STOPPED', pid, last);
    return this.result('stopped', 0, last);
  }

  private result(outcome: SupervisorOutcome, exitCode: number, last: ExitStatus): SupervisorResult {
    return { outcome, exitCode, restarts: this.policy.restarts, last };
  }
}

function describe(status: ExitStatus): string {
  return status.signal !== null ? `killed by ${status.signal}` : `exited ${status.code}`;
}

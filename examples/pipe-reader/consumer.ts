// The pipe reader's consumer: each record is one run of a rollback sequence
//   open → read → validate → apply
// open starts the producer (from the next record needed) unless it runs; read takes 26 bytes
// from its stdout; validate checks the record; apply hands it on and moves to the next one.
//
// A pipe cannot be read twice, so undoing a read means dropping the pipe (read's rollback kills
// the producer). A bad record makes validate roll back to read, which finds no pipe and rolls
// back to open, which starts a new producer at the record that was bad. A producer that dies
// (or stalls) makes read fail, and the same rollback to open restarts it.
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { RingcastError } from '../../src/errors';
import type { ProgressStore } from '../../src/services/ha/progressStore';
import { Sequence, type SequenceStep } from '../../src/services/ha/sequence';
import { RECORD_SIZE, checkRecord } from './records';

export interface PipeReaderOptions {
  /** Records to consume. Default 52 (the alphabet twice). */
  readonly count?: number;
  /** The first record to consume (records before it were consumed by an earlier run). Default 0. */
  readonly from?: number;
  /** The producer's planned faults, e.g. `5:bad,9:short,14:die`. */
  readonly faults?: string;
  /** The producer's chance of a random fault per record, with `seed`. Default 0. */
  readonly faultRate?: number;
  readonly seed?: number;
  /** The producer's pause after each record. Default 0. */
  readonly intervalMs?: number;
  /** A producer silent this long counts as dead. Default 5000 ms. */
  readonly readTimeoutMs?: number;
  /** Rollbacks allowed per record. Default 5. */
  readonly maxRollbacks?: number;
  /** Where the sequence saves its progress (see Sequence). */
  readonly store?: ProgressStore;
  /** Each record consumed, in order, once. */
  readonly onRecord?: (n: number, record: string) => void;
  /** One line for every failure, rollback and producer start. */
  readonly log?: (line: string) => void;
}

export interface PipeReaderResult {
  /** The records consumed by this run, in order. */
  readonly records: string[];
  readonly producerStarts: number;
  readonly badRecords: number;
  /** Producers that died or stalled before writing all their records. */
  readonly producerDeaths: number;
  readonly retries: number;
  readonly rollbacks: number;
}

interface State {
  /** The record to consume next. */
  next: number;
  record: string | null;
  /** Every record has been consumed. */
  done: boolean;
}

interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The producer ended (or went silent) before the record was complete. */
export class ProducerGoneError extends RingcastError {
  constructor(message: string) {
    super('PIPE_PRODUCER_GONE', message);
  }
}

/** A record failed its check. */
export class BadRecordError extends RingcastError {
  constructor(message: string) {
    super('PIPE_BAD_RECORD', message);
  }
}

// Pause the producer's pipe when this much is read ahead.
const READ_AHEAD = 64 * 1024;

/** A running producer's stdout, read record by record. */
class ProducerPipe {
  private buffered = Buffer.alloc(0);
  private ended: ExitStatus | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      if (this.buffered.length >= READ_AHEAD) child.stdout!.pause();
      this.wake?.();
    });
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
      this.ended = { code, signal };
      this.wake?.();
    });
    child.once('error', () => {
      this.ended ??= { code: 127, signal: null };
      this.wake?.();
    });
  }

  /** The next `n` bytes. @throws ProducerGoneError when the producer ends or is silent for timeoutMs first. */
  async take(n: number, timeoutMs: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      if (this.ended) {
        const how = this.ended.signal ? `killed by ${this.ended.signal}` : `exited ${this.ended.code}`;
        throw new ProducerGoneError(`producer ${how} after ${this.buffered.length} byte(s) of a record`);
      }
      const woken = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.wake = undefined;
      if (!woken) throw new ProducerGoneError(`producer silent for ${timeoutMs} ms`);
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    if (this.buffered.length < READ_AHEAD / 2) this.child.stdout!.resume();
    return out;
  }

  close(): void {
    if (!this.ended) this.child.kill('SIGKILL');
    this.child.stdout!.destroy();
  }
}

/** How to run the producer: its compiled file, or its source through tsx when running from the sources. */
function producerCommand(): { args: string[]; cwd: string } {
  const fromSource = path.extname(__filename) === '.ts';
  const file = path.join(__dirname, fromSource ? 'producer.ts' : 'producer.js');
  return { args: fromSource ? ['--import', 'tsx', file] : [file], cwd: path.join(__dirname, '..', '..') };
}

/**
 * Consumes records `from` … `count`−1 from producers it starts and restarts, rolling back on
 * bad records and dead producers.
 * @throws SequenceAbortedError when a record needs more than maxRollbacks rollbacks.
 */
export async function runPipeReader(options: PipeReaderOptions = {}): Promise<PipeReaderResult> {
  const count = options.count ?? 52;
  const log = options.log ?? (() => {});
  const timeoutMs = options.readTimeoutMs ?? 5000;
  const records: string[] = [];
  const stats = { producerStarts: 0, badRecords: 0, producerDeaths: 0, retries: 0, rollbacks: 0 };
  let pipe: ProducerPipe | undefined;
  const closePipe = (): void => {
    pipe?.close();
    pipe = undefined;
  };

  const steps: SequenceStep<State>[] = [
    {
      name: 'open',
      run(ctx) {
        if (pipe || ctx.state.next >= count) return;
        const { args, cwd } = producerCommand();
        const producerArgs = ['--from', String(ctx.state.next), '--count', String(count), '--faults', options.faults ?? ''];
        producerArgs.push('--fault-rate', String(options.faultRate ?? 0), '--seed', String(options.seed ?? 1), '--interval-ms', String(options.intervalMs ?? 0));
        const child = spawn(process.execPath, [...args, ...producerArgs], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
        pipe = new ProducerPipe(child);
        stats.producerStarts++;
        log(`producer started at record ${ctx.state.next} (pid ${child.pid})`);
      },
      rollback: closePipe,
    },
    {
      name: 'read',
      async run(ctx) {
        if (ctx.state.next >= count) return void (ctx.state.done = true);
        if (!pipe) throw new ProducerGoneError('no producer: the pipe was dropped');
        try {
          ctx.state.record = (await pipe.take(RECORD_SIZE, timeoutMs)).toString('latin1');
        } catch (err) {
          stats.producerDeaths++;
          throw err;
        }
      },
      // What was read cannot be put back: drop the pipe; the next open starts at the record needed.
      rollback: closePipe,
      policy: () => 'rollback',
    },
    {
      name: 'validate',
      run(ctx) {
        if (ctx.state.done) return;
        const why = checkRecord(Buffer.from(ctx.state.record!, 'latin1'), ctx.state.next);
        if (why) throw new BadRecordError(`record ${ctx.state.next}: ${why}`);
      },
      // Reading the same bytes again would not help.
      policy: () => 'rollback',
    },
    {
      name: 'apply',
      run(ctx) {
        if (ctx.state.done) return;
        records.push(ctx.state.record!);
        options.onRecord?.(ctx.state.next, ctx.state.record!);
        ctx.state.next++;
      },
    },
  ];
  const sequence = new Sequence<State>({ name: 'pipe-reader', steps, store: options.store, maxRollbacks: options.maxRollbacks ?? 5 });
  sequence.on('failure', (e) => {
    if (e.error instanceof BadRecordError) stats.badRecords++;
    log(`${e.step} failed: ${e.error instanceof Error ? e.error.message : String(e.error)} → ${e.decision}`);
  });
  sequence.on('rollback', (e) => log(`rolled back from ${e.from} to ${e.to}`));

  let state: State = { next: options.from ?? 0, record: null, done: false };
  try {
    while (!state.done) {
      const result = await sequence.run({ next: state.next, record: null, done: false });
      state = result.state;
      stats.retries += result.retries;
      stats.rollbacks += result.rollbacks;
    }
  } finally {
    closePipe();
  }
  return { records, ...stats };
}

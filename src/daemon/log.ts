// The daemon's event log: one line per event, `<time stamp> <LEVEL> <daemon>: <text>`, honouring
// Spread's EventLogFile, EventPriority, EventTimeStamp and EventPreciseTimeStamp.
// - EventLogFile: appended to (`%h` = the daemon's name); standard output when unset.
// - EventPriority: lines below it are dropped; FATAL lines always go out, as in Spread.
// - Time stamps: ringcast always stamps lines, ISO 8601 UTC by default (what the daemon printed
//   before these options were honoured). EventTimeStamp switches to Spread's local-time strftime
//   format (its default, or the one given; `EventTimeStamp = ""` for no stamp at all, e.g. under
//   journald); EventPreciseTimeStamp adds microseconds, as Spread's ".uuuuuu".
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ConfigOptions, EventPriority } from '../config/types';
import { EVENT_PRIORITIES } from '../config/types';
import { RingcastError } from '../errors';
import { strftime } from './timeFormat';

/** Spread 5.0.1's time stamp format when EventTimeStamp is given without one. */
export const SPREAD_TIMESTAMP_FORMAT = '%m/%d/%y %H:%M:%S';

export interface LogOptions {
  /** File to append to; `%h` is replaced by the daemon's name. null = standard output. */
  readonly file: string | null;
  readonly priority: EventPriority;
  /** strftime format (local time); '' = no stamp; null = ISO 8601 UTC. */
  readonly timeStampFormat: string | null;
  /** Microseconds in the stamp. */
  readonly precise: boolean;
}

export function logOptionsFromConfig(o: Pick<ConfigOptions, 'eventLogFile' | 'eventPriority' | 'eventTimeStamp' | 'eventTimeStampFormat' | 'eventPreciseTimeStamp'>): LogOptions {
  return {
    file: o.eventLogFile,
    priority: o.eventPriority,
    timeStampFormat: o.eventTimeStamp ? (o.eventTimeStampFormat ?? SPREAD_TIMESTAMP_FORMAT) : null,
    precise: o.eventPreciseTimeStamp,
  };
}

/** EventLogFile with `%h` expanded. */
export function logFilePath(file: string, daemonName: string): string {
  return file.replaceAll('%h', daemonName);
}

/** Microseconds since the epoch, finer than Date.now(). */
const nowMicros = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000);

export interface LogSinks {
  /** Where lines go instead of the file or standard output (tests). */
  readonly write?: (line: string) => void;
  /** The clock, in microseconds since the epoch (tests). */
  readonly nowMicros?: () => number;
}

export class DaemonLog {
  private readonly min: number;
  private fd: number | null = null;
  private readonly write: (line: string) => void;
  private readonly now: () => number;

  /** @throws RingcastError LOG_FILE when EventLogFile cannot be opened for appending. */
  constructor(
    readonly daemonName: string,
    readonly options: LogOptions,
    sinks: LogSinks = {},
  ) {
    this.min = EVENT_PRIORITIES.indexOf(options.priority);
    this.now = sinks.nowMicros ?? nowMicros;
    if (sinks.write) {
      this.write = sinks.write;
    } else if (options.file !== null) {
      const path = logFilePath(options.file, daemonName);
      try {
        this.fd = fs.openSync(path, 'a');
      } catch (e) {
        throw new RingcastError('LOG_FILE', `cannot open EventLogFile ${path}: ${(e as Error).message}`, { cause: e });
      }
      // Synchronous: the line is in the file before anything that follows it can happen.
      this.write = (line) => {
        if (this.fd !== null) fs.writeSync(this.fd, line);
      };
    } else {
      this.write = (line) => process.stdout.write(line);
    }
  }

  /** Whether lines of this level go out (so callers can skip building costly ones). */
  enabled(level: EventPriority): boolean {
    return level === 'FATAL' || EVENT_PRIORITIES.indexOf(level) >= this.min;
  }

  log(level: EventPriority, text: string): void {
    if (!this.enabled(level)) return;
    const stamp = this.stamp();
    this.write(`${stamp}${stamp ? ' ' : ''}${level === 'pDEBUG' ? 'DEBUG' : level} ${this.daemonName}: ${text}\n`);
  }

  // The levels the daemon uses most; the others through log().
  info(text: string): void {
    this.log('INFO', text);
  }
  warning(text: string): void {
    this.log('WARNING', text);
  }
  error(text: string): void {
    this.log('ERROR', text);
  }

  /** Closes the file, if there is one; later lines go nowhere. */
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private stamp(): string {
    const micros = this.now();
    const date = new Date(Math.floor(micros / 1000));
    const format = this.options.timeStampFormat;
    if (format === '') return '';
    const fraction = String(micros % 1_000_000).padStart(6, '0');
    if (format === null) {
      const iso = date.toISOString(); // 2024-06-12T10:00:00.123Z
      return this.options.precise ? `${iso.slice(0, 19)}.${fraction}Z` : iso;
    }
    const text = strftime(format, date);
    return this.options.precise ? `${text}.${fraction}` : text;
  }
}

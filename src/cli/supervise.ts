// `ringcast supervise [options] -- command args…`: runs a command under the HA supervisor
// (src/services/ha/supervisor.ts): restarts it when it fails, with backoff and a limit, and
// publishes each failure and restart as a fault event in space ringcast.ha.supervisor.
import * as path from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../errors';
import { DEFAULT_DAEMON, parseDaemonAddress } from '../client/address';
import { daemonFaultPublisher } from '../services/ha/daemonEvents';
import { NO_FAULTS } from '../services/ha/faults';
import { RESTART_DEFAULTS } from '../services/ha/restartPolicy';
import { Supervisor, type SupervisorOptions } from '../services/ha/supervisor';
import { numberOption } from './options';

export interface SuperviseFlags {
  name?: string;
  maxRestarts: number;
  backoffMs: number;
  maxBackoffMs: number;
  resetAfterMs: number;
  stopTimeoutMs: number;
  daemon: string;
  /** false with --no-events. */
  events: boolean;
}

export const SUPERVISE_DEFAULTS = { ...RESTART_DEFAULTS, stopTimeoutMs: 10_000, daemon: DEFAULT_DAEMON } as const;

/**
 * Checks the flags and the command; the supervisor's options without publisher and log.
 * @throws UsageError naming the flag.
 */
export function superviseOptions(flags: SuperviseFlags, command: string, args: readonly string[]): SupervisorOptions {
  if (command.trim() === '') throw new UsageError('give the command to supervise after --');
  const policy = { maxRestarts: flags.maxRestarts, backoffMs: flags.backoffMs, maxBackoffMs: flags.maxBackoffMs, resetAfterMs: flags.resetAfterMs };
  const counts: ReadonlyArray<readonly [string, number]> = [
    ['--max-restarts', flags.maxRestarts],
    ['--backoff-ms', flags.backoffMs],
    ['--max-backoff-ms', flags.maxBackoffMs],
    ['--reset-after-ms', flags.resetAfterMs],
    ['--stop-timeout-ms', flags.stopTimeoutMs],
  ];
  for (const [flag, value] of counts) if (value < 0) throw new UsageError(`${flag} must be 0 or more, not ${value}`);
  if (flags.maxBackoffMs < flags.backoffMs) throw new UsageError(`--max-backoff-ms (${flags.maxBackoffMs}) is less than --backoff-ms (${flags.backoffMs})`);
  try {
    parseDaemonAddress(flags.daemon);
  } catch (err) {
    throw new UsageError(`--daemon: ${(err as Error).message}`);
  }
  return { command, args, name: flags.name ?? path.basename(command), ...policy, stopTimeoutMs: flags.stopTimeoutMs };
}

export function registerSupervise(program: Command): void {
  const d = SUPERVISE_DEFAULTS;
  const whole = (flag: string) => numberOption(flag, true);
  program
    .command('supervise')
    .description('run a command and restart it when it fails (exponential backoff, restart limit); failures and restarts become fault events')
    .usage('[options] -- <command> [args...]')
    .argument('<command>', 'the program to run (after --)')
    .argument('[args...]', 'its arguments')
    .option('--name <name>', 'the name in logs and events (default: the command base name)')
    .option('--max-restarts <k>', 'consecutive restarts before giving up', whole('--max-restarts'), d.maxRestarts)
    .option('--backoff-ms <ms>', 'delay before the first restart; doubles with each consecutive failure', whole('--backoff-ms'), d.backoffMs)
    .option('--max-backoff-ms <ms>', 'longest delay between restarts', whole('--max-backoff-ms'), d.maxBackoffMs)
    .option('--reset-after-ms <ms>', 'a run this long resets the consecutive count', whole('--reset-after-ms'), d.resetAfterMs)
    .option('--stop-timeout-ms <ms>', 'after SIGTERM/SIGINT, how long the child has before SIGKILL', whole('--stop-timeout-ms'), d.stopTimeoutMs)
    .option('--daemon <address>', "daemon whose events service gets the fault events: PORT@HOST, PORT or a Unix socket path", d.daemon)
    .option('--no-events', 'publish no fault events')
    .action(async (command: string, args: string[], flags: SuperviseFlags) => {
      const options = superviseOptions(flags, command, args);
      const name = options.name!;
      const log = (line: string): void => void process.stderr.write(`ringcast supervise: ${line}\n`);
      const publisher = flags.events ? daemonFaultPublisher({ daemon: flags.daemon, name }) : NO_FAULTS;
      const supervisor = new Supervisor({ ...options, publisher, log });
      const onSignal = (signal: NodeJS.Signals): void => {
        log(`${signal}: stopping ${name}`);
        supervisor.stop(signal);
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      try {
        const result = await supervisor.run();
        process.exitCode = result.exitCode;
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        await publisher.close();
      }
    });
}

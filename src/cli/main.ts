// The `ringcast` command: one CLI, subcommands per concern (shared/design/cli.md).
import { Command, CommanderError } from 'commander';
import { RingcastError } from '../errors';
import { registerSim } from './sim';
import { registerDaemon } from './daemon';
import { registerUser } from './user';
import { registerFlood } from './flood';
import { registerStatus } from './status';
import { registerEvents } from './events';
import { registerSupervise } from './supervise';
import { registerKeygen } from './keygen';
import { registerCkpt } from './ckpt';

export function buildProgram(): Command {
  const program = new Command('ringcast')
    .description('group communication on a token ring (Spread/Totem lineage)')
    .version(readVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerDaemon(program);
  registerSim(program);
  registerUser(program);
  registerFlood(program);
  registerStatus(program);
  registerEvents(program);
  registerSupervise(program);
  registerKeygen(program);
  registerCkpt(program);
  return program;
}

/** Runs the CLI; every failure ends as one readable line on stderr and a non-zero exit. */
export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    const msg = err instanceof RingcastError ? err.message : err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    process.stderr.write(`ringcast: ${msg}\n`);
    process.exitCode = 1;
  }
}

function readVersion(): string {
  // dist/src/cli/main.js → ../../../package.json
  try {
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

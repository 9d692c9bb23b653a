// Standby takeover (the SAFplus csa103 example): run two of these against a daemon. The
// active one prints the next number once per interval and writes it to a checkpoint section;
// the standby waits. Kill the active (kill -9): the standby becomes active — decided from the
// agreed group view, the first member is active — reads the checkpoint and continues with the
// next number. A restarted process joins as the standby.
//
//   node dist/examples/counter-failover/counter.js [--daemon PORT@HOST] [--interval MS] [--name NAME]
//
// stdout: one line per number, `<n> <name>`; stderr: role changes.
// A number is printed before it is checkpointed, so a kill between the two repeats it once in
// the successor; one is never skipped, because the checkpoint never runs ahead of the output.
import { connect, type Session } from '../../src/client';
import { ServiceError } from '../../src/client/serviceClient';
import type { CheckpointHandle } from '../../src/client/checkpoints';

const CHECKPOINT = 'counter-failover';
/** The default section: a checkpoint of one section (maxSections 1) has only that one. */
const SECTION = '';
const GROUP = 'counter-failover';

interface Args {
  daemon: string;
  intervalMs: number;
  name: string;
}

function parseArgs(argv: readonly string[]): Args {
  // Names sort by start time (base-36 clock), so a restarted process comes after the running one
  // in its daemon's member order and joins as the standby.
  const args: Args = { daemon: '4803@127.0.0.1', intervalMs: 1000, name: `c${Date.now().toString(36)}`.slice(0, 10) };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--daemon':
        args.daemon = value ?? args.daemon;
        i++;
        break;
      case '--interval':
        args.intervalMs = Number(value);
        i++;
        break;
      case '--name':
        args.name = value ?? args.name;
        i++;
        break;
      case '--help':
      case '-h':
        process.stdout.write('usage: counter.js [--daemon PORT@HOST] [--interval MS] [--name NAME]\n');
        process.exit(0);
    }
  }
  if (!Number.isFinite(args.intervalMs) || args.intervalMs < 1) throw new Error(`--interval must be a positive number of ms`);
  return args;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function openCheckpoint(session: Session): Promise<CheckpointHandle> {
  const ckpt = await session.checkpoints.open(CHECKPOINT, {
    create: true,
    attrs: { creationFlags: ['WR_ALL_REPLICAS'], checkpointSize: 64, retentionDuration: 3_600_000, maxSections: 1, maxSectionSize: 64, maxSectionIdSize: 0 },
  });
  return ckpt;
}

/** The last checkpointed number (0 before the first). */
async function lastNumber(ckpt: CheckpointHandle): Promise<number> {
  try {
    const text = (await ckpt.readSection(SECTION)).toString('utf8');
    return text === '' ? 0 : Number(text);
  } catch (e) {
    if (e instanceof ServiceError && e.error === 'SA_AIS_ERR_NOT_EXIST') return 0;
    throw e;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const session = await connect({ daemon: args.daemon, name: args.name });
  const ckpt = await openCheckpoint(session);
  const group = await session.ha.group(GROUP);
  const say = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${session.privateGroup}: ${line}\n`);
  let running = false;

  const runActive = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      let n = (await lastNumber(ckpt)) + 1;
      say(`active: continuing at ${n}`);
      while (group.role === 'active') {
        process.stdout.write(`${n} ${args.name}\n`);
        await ckpt.overwrite(SECTION, String(n));
        n++;
        await sleep(args.intervalMs);
      }
    } finally {
      running = false;
    }
  };

  group.on('active', () => void runActive().catch(fail));
  group.on('standby', () => say('standby'));
  if (group.role === 'active') void runActive().catch(fail);
  const stop = (): void => void session.disconnect().finally(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const error = await session.closed;
  if (error) fail(error);
}

function fail(e: unknown): void {
  process.stderr.write(`counter: ${(e as Error).message ?? e}\n`);
  process.exit(1);
}

main().catch(fail);

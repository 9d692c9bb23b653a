// The pipe reader's producer: writes records `--from` … `--count`−1 to stdout, making the
// faults it is told to: at given records (`--faults 5:bad,9:short,14:die,20:kill`) and/or at
// random (`--fault-rate 0.1 --seed 7`). bad: a record that fails its check; short: 25 bytes
// (every record after it is out of step); die: part of a record, then exit 3; kill: SIGKILL
// itself. It never faults at its first record, so a producer restarted there makes progress.
import { parseArgs } from 'node:util';
import { Rng } from '../../src/sim/rng';
import { FAULTS, RECORD_SIZE, makeRecord, parseFaults, type Fault } from './records';

function write(bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      from: { type: 'string', default: '0' },
      count: { type: 'string', default: '52' },
      faults: { type: 'string', default: '' },
      'fault-rate': { type: 'string', default: '0' },
      seed: { type: 'string', default: '1' },
      'interval-ms': { type: 'string', default: '0' },
    },
  });
  const from = Number(values.from);
  const count = Number(values.count);
  const rate = Number(values['fault-rate']);
  const interval = Number(values['interval-ms']);
  const planned = parseFaults(values.faults!);
  // Each life draws its own faults: a restarted producer does not repeat the last one's.
  const rng = new Rng(Number(values.seed) * 7919 + from);
  for (let n = from; n < count; n++) {
    const drawn: Fault | undefined = rng.next() < rate ? FAULTS[Math.floor(rng.next() * FAULTS.length)] : undefined;
    const fault = n === from ? undefined : (planned.get(n) ?? drawn);
    const record = makeRecord(n);
    switch (fault) {
      case 'bad':
        record[1 + (n % (RECORD_SIZE - 1))] = '#'.charCodeAt(0);
        await write(record);
        break;
      case 'short':
        await write(record.subarray(0, RECORD_SIZE - 1));
        break;
      case 'die':
        await write(record.subarray(0, 10));
        process.exit(3);
      case 'kill':
        await write(record);
        process.kill(process.pid, 'SIGKILL');
        return;
      default:
        await write(record);
    }
    if (interval > 0) await new Promise((r) => setTimeout(r, interval));
  }
}

main().catch((err: unknown) => {
  // A consumer that went away closes the pipe (EPIPE): nothing more to do.
  if ((err as NodeJS.ErrnoException).code !== 'EPIPE') process.stderr.write(`producer: ${String(err)}\n`);
  process.exitCode = 1;
});

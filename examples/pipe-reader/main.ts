// The pipe reader example (HAFTA's): a producer writes 26-byte records into a pipe, sometimes a
// bad one, sometimes dying; the consumer, a rollback sequence, rolls back and restarts it until
// every record has been consumed once, in order.
//
//   node dist/examples/pipe-reader/main.js [--count 52] [--faults 5:bad,9:short,14:die,20:kill]
//       [--fault-rate 0.1] [--seed 1] [--interval-ms 0] [--out FILE] [--daemon ADDRESS] [--quiet]
//
// Records go to stdout (or into --out, which a later run continues: kill it and run it again,
// or run it under `ringcast supervise`); what happens goes to stderr. With --daemon, the
// sequence keeps its progress in checkpoint `pipe-reader` there, and a run killed in the
// middle of a record resumes at the step it was in.
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { CheckpointService } from '../../src/client/checkpoints';
import { connect } from '../../src/client/connect';
import type { Session } from '../../src/client/session';
import { CHECKPOINT_GROUP } from '../../src/services/checkpoint/protocol';
import { openCheckpointProgressStore } from '../../src/services/ha/checkpointStore';
import type { ProgressStore } from '../../src/services/ha/progressStore';
import { runPipeReader } from './consumer';
import { RECORD_SIZE, checkRecord } from './records';

async function main(): Promise<void> {
  // Piped into `head`: stop quietly when the reader has gone.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '52' },
      faults: { type: 'string', default: '5:bad,9:short,14:die,20:kill' },
      'fault-rate': { type: 'string', default: '0.05' },
      seed: { type: 'string', default: '1' },
      'interval-ms': { type: 'string', default: '0' },
      out: { type: 'string' },
      daemon: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const count = Number(values.count);
  const line = RECORD_SIZE + 1;
  // With --out, the records already in the file were consumed by an earlier run.
  // Not opened for appending: each record is written at its own offset.
  const out = values.out === undefined ? undefined : fs.openSync(values.out, fs.existsSync(values.out) ? 'r+' : 'w+');
  const from = out === undefined ? 0 : Math.floor(fs.fstatSync(out).size / line);
  const say = (text: string): void => {
    if (!values.quiet) process.stderr.write(`pipe-reader: ${text}\n`);
  };
  if (from > 0) say(`${from} record(s) already in ${values.out}: continuing at record ${from}`);
  let session: Session | undefined;
  let store: ProgressStore | undefined;
  if (values.daemon !== undefined) {
    session = await connect({ daemon: values.daemon });
    store = await openCheckpointProgressStore(new CheckpointService(session.service(CHECKPOINT_GROUP)), 'pipe-reader');
  }
  const result = await runPipeReader({
    store,
    count,
    from,
    faults: values.faults!,
    faultRate: Number(values['fault-rate']),
    seed: Number(values.seed),
    intervalMs: Number(values['interval-ms']),
    log: say,
    onRecord: (n, record) => {
      // Written at the record's own place, so writing it again after a crash changes nothing.
      if (out !== undefined) fs.writeSync(out, `${record}\n`, n * line);
      else process.stdout.write(`${record}\n`);
    },
  }).finally(() => session?.disconnect());
  const bad = result.records.findIndex((r, i) => checkRecord(Buffer.from(r, 'latin1'), from + i) !== undefined);
  process.stderr.write(
    `pipe-reader: ${result.records.length} record(s) consumed (${from}..${count - 1}); ${result.badRecords} bad record(s), ` +
      `${result.producerDeaths} dead producer(s), ${result.producerStarts} producer start(s), ${result.retries} retries, ${result.rollbacks} rollbacks\n`,
  );
  if (bad >= 0 || from + result.records.length !== count) {
    process.stderr.write('pipe-reader: the consumed records are not the expected ones\n');
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`pipe-reader: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});

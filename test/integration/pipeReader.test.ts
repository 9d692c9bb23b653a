// The pipe reader example: a producer process writing 26-byte records, with bad records, a
// short one and deaths at planned places (then random ones), and the consumer — a rollback
// sequence — rolling back and restarting it. What the consumer hands on must be every record
// once, in order. Then the example's command line, as the README runs it.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runPipeReader } from '../../examples/pipe-reader/consumer';
import { checkRecord, makeRecord } from '../../examples/pipe-reader/records';
import { MemoryProgressStore } from '../../src/services/ha/progressStore';

const expected = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => makeRecord(from + i).toString('latin1'));

describe('pipe reader example (rollback sequences)', function () {
  this.timeout(60_000);

  it('records and checks: record n is the alphabet rotated by n; bad and misplaced records are caught', () => {
    assert.equal(makeRecord(0).toString(), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
    assert.equal(makeRecord(27).toString(), 'BCDEFGHIJKLMNOPQRSTUVWXYZA');
    assert.equal(checkRecord(makeRecord(3), 3), undefined);
    assert.match(checkRecord(makeRecord(3), 4)!, /not record 4/);
    assert.match(checkRecord(makeRecord(3).subarray(0, 25), 3)!, /25 bytes/);
    const bad = makeRecord(3);
    bad[7] = 0x23;
    assert.match(checkRecord(bad, 3)!, /byte 7 is "#": check failed/);
  });

  it('rolls back on bad data and restarts a dead producer; every record consumed once, in order', async () => {
    const log: string[] = [];
    const store = new MemoryProgressStore();
    const consumed: number[] = [];
    const result = await runPipeReader({
      count: 52,
      faults: '5:bad,9:short,14:die,20:kill',
      store,
      log: (l) => log.push(l),
      onRecord: (n) => consumed.push(n),
    });
    assert.deepEqual(result.records, expected(0, 52));
    assert.deepEqual(consumed, Array.from({ length: 52 }, (_, i) => i));
    // 5 bad, 9 short (read as record 9 with the first byte of 10); 14 died mid-record; killed after 20.
    assert.equal(result.badRecords, 2);
    assert.equal(result.producerDeaths, 2);
    assert.equal(result.producerStarts, 5);
    // A bad record: validate → read, read (no pipe) → open. A dead producer: read → open.
    assert.equal(result.rollbacks, 2 * 2 + 2);
    const text = log.join('\n');
    assert.match(text, /validate failed: record 5: byte 6 is "#": check failed → rollback/);
    assert.match(text, /validate failed: record 9: byte 25 is "K"/);
    assert.match(text, /read failed: producer exited 3 after 10 byte\(s\) of a record → rollback/);
    assert.match(text, /read failed: producer killed by SIGKILL after 0 byte\(s\)/);
    assert.deepEqual(
      log.filter((l) => l.startsWith('producer started')).map((l) => /at record (\d+)/.exec(l)![1]),
      ['0', '5', '9', '14', '21'],
    );
    assert.ok(store.saves > 52 * 4, 'the sequence saved its progress before every step');
    assert.deepEqual(store.sequences(), []);
  });

  it('recovers from random faults too', async () => {
    const result = await runPipeReader({ count: 60, faultRate: 0.1, seed: 11 });
    assert.deepEqual(result.records, expected(0, 60));
    assert.ok(result.rollbacks > 0 && result.producerStarts > 1, JSON.stringify(result));
  });

  it('runs from the command line; --out continues a file an earlier run left', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-pipe-'));
    try {
      const out = path.join(tmp, 'out.txt');
      // An earlier run consumed records 0..9 and died in the middle of writing record 10.
      fs.writeFileSync(out, expected(0, 10).join('\n') + '\n' + 'KLMNO');
      const fromSource = path.extname(__filename) === '.ts';
      const main = path.join(__dirname, '..', '..', 'examples', 'pipe-reader', fromSource ? 'main.ts' : 'main.js');
      const proc = spawn(process.execPath, [...(fromSource ? ['--import', 'tsx'] : []), main, '--out', out, '--count', '40'], { cwd: path.join(__dirname, '..', '..') });
      let stderr = '';
      proc.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((resolve) => proc.once('close', resolve));
      assert.equal(code, 0, stderr);
      assert.match(stderr, /10 record\(s\) already in .*: continuing at record 10/);
      assert.match(stderr, /30 record\(s\) consumed \(10\.\.39\)/);
      assert.match(stderr, /rolled back from read to open/);
      assert.equal(fs.readFileSync(out, 'latin1'), expected(0, 40).join('\n') + '\n');
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

// Multipath on real networks (issue 5): three hosts in network namespaces this test creates,
// each on two bridged networks (veth pairs into two bridges; 10.99.1.0/24 and 10.99.2.0/24 exist
// only inside the namespaces). One daemon per namespace floods (--generate); meanwhile host h3's
// link 0 goes down (`ip link set e0 down` in its namespace) and later up again. The delivery logs
// must satisfy the invariants with nothing lost and no membership change; the longest delivery
// gap (timestamps of our own: the logs come through FIFOs) is printed.
// Skipped unless root (namespaces). Needs `npx tsc -p .` first (it runs bin/ringcast.js).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkLogs, formatReport } from '../../src/sim/checker';
import { readLogDir } from '../../src/sim/logFiles';
import {
  canUseNetns,
  createLab,
  showLabOutput,
  startLabFlood,
  stopLabDaemons,
  waitDelivered,
  type LabDaemon,
  type NetnsLab,
} from './netns';
import { repoRoot } from '../support/repo';

const ROOT = repoRoot();
const BIN = path.join(ROOT, 'bin', 'ringcast.js');
const COUNT = Number(process.env.RINGCAST_MP_COUNT ?? 40_000); // per daemon, 1000 B AGREED
const DONE_TIMEOUT_MS = 120_000;

describe('integration: multipath, three hosts in network namespaces on two networks', function () {
  this.timeout(DONE_TIMEOUT_MS + 60_000);
  let lab: NetnsLab | undefined;
  let tmp = '';
  let daemons: LabDaemon[] = [];

  before(function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('build first: npx tsc -p .');
    if (!canUseNetns()) this.skip(); // not root: cannot make namespaces
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-mp-'));
    lab = createLab(3, 2);
  });

  afterEach(async () => {
    for (const d of daemons) if (!d.exit) d.proc.kill('SIGKILL');
    if (daemons.length) await stopLabDaemons(daemons, 2000);
    daemons = [];
  });

  after(() => {
    lab?.destroy();
    lab = undefined;
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const mode of ['active', 'passive'] as const) {
    it(`${mode}: h3's link 0 down and up during a flood — nothing lost, no membership change`, async () => {
      const l = lab!;
      for (let h = 0; h < 3; h++) for (let k = 0; k < 2; k++) l.setLink(h, k, true);
      daemons = startLabFlood(l, { mode, count: COUNT, size: 1000, service: 'AGREED', dir: tmp, bin: BIN });
      const total = COUNT * 3;

      const started = await waitDelivered(daemons, Math.floor(total * 0.2), 60_000);
      assert.ok(started, `the flood did not get going\n${daemons.map(showLabOutput).join('\n')}`);
      const tDown = performance.now();
      l.setLink(2, 0, false);
      const mid = await waitDelivered(daemons, Math.floor(total * 0.55), 60_000);
      assert.ok(mid, `the flood stalled with h3's link 0 down\n${daemons.map(showLabOutput).join('\n')}`);
      while (performance.now() < tDown + 1000) await new Promise((r) => setTimeout(r, 10));
      const tUp = performance.now();
      l.setLink(2, 0, true);

      let timer: NodeJS.Timeout | undefined;
      const reports = await Promise.race([
        Promise.all(daemons.map((d) => d.done)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no done line within ${DONE_TIMEOUT_MS / 1000} s\n${daemons.map(showLabOutput).join('\n')}`)), DONE_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      // Let heartbeats see link 0 back before stopping (the up events are checked below).
      await new Promise((r) => setTimeout(r, 500));
      const outputs = daemons.map((d) => ({ name: d.name, out: d.out.slice() }));
      const gaps = daemons.map((d) => ({ name: d.name, all: d.log.maxGap(), failure: d.log.maxGap(tDown - 50, tUp + 1000), floodMs: d.log.lastAt - d.log.firstAt }));
      await stopLabDaemons(daemons);
      for (const d of daemons) assert.equal(d.exit?.code, 0, `${d.name} exits 0 after SIGTERM (${JSON.stringify(d.exit)})\n${showLabOutput(d)}`);

      const logs = readLogDir(path.join(tmp, `logs-${mode}`));
      assert.deepEqual([...logs.keys()], ['h1', 'h2', 'h3']);
      const report = checkLogs(logs, { invariants: [1, 2, 3, 4, 5, 6, 7, 8, 9], faultFree: true, label: `multipath ${mode}` });
      assert.ok(report.ok, formatReport(report));
      for (const [name, log] of logs) {
        const msgs = log.filter((e) => e.t === 'msg').length;
        assert.equal(msgs, total, `${name} delivered ${msgs} of ${total}`);
        // Between the first and the last delivery (SIGTERM afterwards makes each daemon leave).
        const firstMsg = log.findIndex((e) => e.t === 'msg');
        const lastMsg = log.map((e) => e.t).lastIndexOf('msg');
        const during = log.slice(firstMsg, lastMsg).filter((e) => e.t === 'conf');
        assert.deepEqual(during, [], `${name}: no configuration change during the flood`);
      }
      for (const r of reports) assert.equal(r.sent, COUNT);

      // The link events were logged: h3 lost link 0 to both peers and got it back; so did they.
      const events = (name: string) => outputs.find((o) => o.name === name)!.out.filter((x) => / link 0 \(/.test(x));
      for (const [name, peer] of [['h3', 'h1'], ['h3', 'h2'], ['h1', 'h3'], ['h2', 'h3']]) {
        const ev = events(name).filter((x) => x.includes(` to ${peer} `));
        const down = ev.findIndex((x) => / down: /.test(x));
        assert.ok(down >= 0 && ev.slice(down).some((x) => / up: /.test(x)), `${name} logged link 0 to ${peer} down, then up:\n${ev.join('\n')}`);
      }

      const worst = gaps.reduce((a, b) => (b.failure.ms > a.failure.ms ? b : a));
      const line = `multipath ${mode}: longest delivery gap around the link failure ${worst.failure.ms.toFixed(1)} ms (${worst.name}); ` +
        `longest over the flood: ${gaps.map((g) => `${g.name} ${g.all.ms.toFixed(1)} ms`).join(', ')}; flood ${(gaps[0].floodMs / 1000).toFixed(2)} s, ` +
        `${Math.round(total / (gaps[0].floodMs / 1000))} msgs/s`;
      // Recorded, not asserted (timings belong in bench/RESULTS.md, against the targets of 50 ms
      // active and 300 ms passive); what this test asserts is no loss and no membership change.
      console.log(`      ${line}`);
    });
  }
});

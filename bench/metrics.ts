// What the metrics endpoint costs: the e2e flood (three `ringcast daemon` processes on
// 127.0.0.1–3, each sending a third of N 1000-byte AGREED messages with --generate) with and
// without `MetricsAddress = 0` in the file, rounds alternating. With metrics on, every daemon's
// /metrics is scraped every --scrape-ms meanwhile (Prometheus scrapes every 15 s by default, so
// this is a harsh case; 0 = not at all). Prints the msgs/s and the daemons' CPU per message of
// each run and the medians. First, in this process (robust where the e2e figures are at the mercy
// of the machine's load): the CPU one scrape takes, and what one delivery costs the daemon
// (the tally and the extra 'deliver' listener).
//   npx tsc -p . && node dist/bench/metrics.js [--messages N] [--rounds R] [--scrape-ms MS]
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { markdownTable, num, progress } from './format';
import { snapshotBuild } from './e2e';
import { freeUdpPort, watchDaemon, type WatchedDaemon } from '../test/support/repo';
import { DaemonMetrics, type DeliveryFacts, type MetricsSource } from '../src/daemon/metrics';
import type { StatusReport } from '../src/wire/status';

const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const NAMES = ['d1', 'd2', 'd3'];
const RUN_TIMEOUT_MS = 60_000;

interface Run {
  metrics: boolean;
  msgsPerSec: number;
  /** CPU (user + system) of the three daemons during the flood per message delivered at each, µs. */
  cpuMicrosPerMsg: number;
  scrapes: number;
}

/** A process's CPU time so far (user + system), seconds, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function runOnce(launcher: string, messages: number, metrics: boolean, scrapeMs: number): Promise<Run> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-bench-metrics-'));
  const daemons: WatchedDaemon[] = [];
  let scrapes = 0;
  let scraper: NodeJS.Timeout | undefined;
  try {
    const port = await freeUdpPort(ADDRS, true);
    const conf = path.join(dir, 'spread.conf');
    const hosts = NAMES.map((n, i) => `    ${n} ${ADDRS[i]}\n`).join('');
    fs.writeFileSync(conf, `Spread_Segment 127.0.0.255:${port} {\n${hosts}}\n${metrics ? 'MetricsAddress = 0\n' : ''}`);
    NAMES.forEach((name, i) => {
      const share = Math.floor(messages / 3) + (i < messages % 3 ? 1 : 0);
      const args = [launcher, 'daemon', '-c', conf, '-n', name, '--socket', 'none', '--generate', String(share), '--expect', String(messages), '--size', '1000'];
      daemons.push(watchDaemon(name, spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })));
    });
    if (metrics && scrapeMs > 0) {
      scraper = setInterval(() => {
        for (const d of daemons) {
          const url = d.out.map((l) => / metrics: (http:\/\/\S+), /.exec(l)?.[1]).find((u) => u !== undefined);
          if (url) void fetch(url).then((r) => r.text()).then(() => scrapes++, () => undefined);
        }
      }, scrapeMs);
    }
    // CPU from the flood's start (generators start once the ring has all three), not the
    // processes': loading prom-client alone takes ~50 ms of CPU.
    const ringOfThree = (d: WatchedDaemon) => d.out.some((l) => /: regular configuration \S+: \S+ \S+ \S+$/.test(l));
    while (!daemons.every(ringOfThree)) {
      if (daemons.some((d) => d.exit)) break; // the done promise reports it
      await new Promise((r) => setTimeout(r, 2));
    }
    const cpu0 = daemons.reduce((n, d) => n + cpuSeconds(d.proc.pid!), 0);
    let timer: NodeJS.Timeout | undefined;
    const reports = await Promise.race([
      Promise.all(daemons.map((d) => d.done)),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no done line from every daemon within ${RUN_TIMEOUT_MS / 1000} s`)), RUN_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    const cpu = daemons.reduce((n, d) => n + cpuSeconds(d.proc.pid!), 0) - cpu0;
    return {
      metrics,
      msgsPerSec: reports.reduce((n, r) => n + Number(r.msgsPerSec), 0) / reports.length,
      cpuMicrosPerMsg: (cpu / (3 * messages)) * 1e6,
      scrapes,
    };
  } finally {
    clearInterval(scraper);
    for (const d of daemons) d.proc.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU milliseconds `f` takes. */
async function cpuMs(f: () => unknown): Promise<number> {
  const t = process.cpuUsage();
  await f();
  const d = process.cpuUsage(t);
  return (d.user + d.system) / 1000;
}

/** A status as a daemon of a three-daemon ring with a few clients reports it. */
function typicalStatus(): StatusReport {
  const counters = (names: string[]) => Object.fromEntries(names.map((n, i) => [n, i * 1000]));
  return {
    v: 1, id: 'metrics', daemon: { name: 'd1', uptimeSec: 60 },
    ring: { id: '1795321476443.d1', members: NAMES, state: 'operational' },
    sessions: { local: 3 },
    counters: {
      membership: counters(['gathers', 'tokenLosses', 'ringsInstalled', 'malformedPackets', 'foreignPackets', 'staleMembershipPackets']),
      ring: counters(['packetsSent', 'packetsReceived', 'retransmitsSent', 'duplicatePackets', 'malformedPackets', 'foreignPackets', 'overflowDrops', 'tokensReceived', 'tokensAccepted', 'duplicateTokens', 'tokenRetransmits', 'rotations', 'messagesDelivered', 'orphanFragments', 'backlog']),
      sessions: counters(['open', 'connections', 'inFlight', 'accepted', 'rejected', 'badFrames', 'tooSlow', 'submitted', 'malformedEnvelopes', 'framesDelivered', 'statusRequests', 'statusIgnored']),
    },
  };
}

/** In-process costs: one scrape, and one delivery with metrics on less one with metrics off. */
async function micro(): Promise<string> {
  const emitter = new EventEmitter();
  const status = typicalStatus();
  const source = (): MetricsSource => ({
    selfId: 1, configuredDaemons: 3, status: () => status, ringTotals: () => ({ tokensAccepted: 1 }),
    onDeliver: (l) => (emitter.on('deliver', l), () => emitter.off('deliver', l)),
  });
  const scrape = async (processMetrics: boolean): Promise<number> => {
    const m = new DaemonMetrics(source(), { processMetrics });
    for (let i = 0; i < 100; i++) await m.text(); // warm up
    const n = 500;
    const ms = await cpuMs(async () => {
      for (let i = 0; i < n; i++) await m.text();
    });
    m.close();
    return ms / n;
  };
  const [withProcess, own] = [await scrape(true), await scrape(false)];
  const msg: DeliveryFacts = { origin: 1, service: 0x10, payload: { length: 1000 } };
  const n = 5_000_000;
  emitter.on('deliver', () => undefined); // the session server's listener, there in any case
  const deliveries = () => cpuMs(() => {
    for (let i = 0; i < n; i++) emitter.emit('deliver', msg);
  });
  await deliveries(); // warm up
  const off = await deliveries();
  const m = new DaemonMetrics(source(), { processMetrics: false });
  const on = await deliveries();
  m.close();
  return markdownTable(
    ['in this process', '>CPU'],
    [
      ['one scrape of /metrics (a three-daemon ring\'s series, prom-client\'s process metrics included)', `${num(withProcess, 2)} ms`],
      ['… of which ringcast\'s own metrics', `${num(own, 2)} ms`],
      ['one delivery, metrics on less metrics off (tally + second listener)', `${num(((on - off) / n) * 1e6, 1)} ns`],
    ],
  );
}

async function main(): Promise<void> {
  const o = { messages: 150_000, rounds: 5, scrapeMs: 100 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const v = Number(argv[i + 1]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${argv[i]} takes a whole number`);
    if (argv[i] === '--messages') o.messages = v;
    else if (argv[i] === '--rounds') o.rounds = v;
    else if (argv[i] === '--scrape-ms') o.scrapeMs = v;
    else throw new Error(`unknown argument "${argv[i]}" (usage: node dist/bench/metrics.js [--messages N] [--rounds R] [--scrape-ms MS])`);
  }
  process.stdout.write(`${await micro()}\n\n`);
  const build = snapshotBuild();
  const runs: Run[] = [];
  try {
    for (let r = 0; r < o.rounds; r++) {
      // Alternating, and swapping which goes first, so drift in the machine's load hits both.
      for (const metrics of r % 2 ? [true, false] : [false, true]) {
        const run = await runOnce(build.launcher, o.messages, metrics, o.scrapeMs).catch((e: Error) => {
          progress(`round ${r + 1}, metrics ${metrics ? 'on' : 'off'}: failed (${e.message}), left out`);
          return undefined;
        });
        if (!run) continue;
        progress(`round ${r + 1}, metrics ${metrics ? 'on' : 'off'}: ${num(run.msgsPerSec)} msgs/s, ${num(run.cpuMicrosPerMsg, 2)} µs CPU/msg${metrics ? `, ${run.scrapes} scrapes` : ''}`);
        runs.push(run);
      }
    }
  } finally {
    build.remove();
  }
  const of = (on: boolean, pick: (r: Run) => number) => runs.filter((r) => r.metrics === on).map(pick);
  const row = (on: boolean, label: string) => [
    label,
    num(median(of(on, (r) => r.msgsPerSec))),
    num(median(of(on, (r) => r.cpuMicrosPerMsg)), 2),
    of(on, (r) => r.msgsPerSec).map((x) => num(x)).join(', '),
    on ? num(median(of(on, (r) => r.scrapes))) : '',
  ];
  const change = (pick: (r: Run) => number) => ((median(of(true, pick)) / median(of(false, pick)) - 1) * 100).toFixed(1);
  process.stdout.write(
    markdownTable(
      ['metrics', '>msgs/s (median)', '>daemon CPU µs per message (median)', 'msgs/s of each run', '>scrapes per run'],
      [row(false, 'off'), row(true, o.scrapeMs > 0 ? `on, scraped every ${o.scrapeMs} ms` : 'on, not scraped')],
    ) + `\nmetrics on: throughput ${change((r) => r.msgsPerSec)}%, CPU per message ${change((r) => r.cpuMicrosPerMsg)}%\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/metrics: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

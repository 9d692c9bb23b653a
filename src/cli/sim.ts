// `ringcast sim`: the deterministic simulator from the command line.
import type { Command } from 'commander';
import { isServiceName } from '../core/service';
import { UsageError } from '../errors';
import { DEFAULT_SIM_OPTIONS, type SimOptions } from '../sim/simulator';
import { failureReason, runSimulation, type SimSummary } from '../sim/run';
import { faultSweepOptions } from '../sim/sweep';
import { numberOption } from './options';

interface SimFlags {
  seed: number;
  daemons: number;
  messages: number;
  size: string;
  service: string;
  loss: number;
  dup: number;
  reorder: number;
  latency: number;
  jitter: number;
  rate: number;
  groups: number;
  crashes: number;
  restarts: number;
  partitions: number;
  asymmetric: number;
  faults?: string;
  window?: number;
  personalWindow?: number;
  payloadBudget?: number;
  logDir?: string;
  json?: boolean;
  soak?: number;
  links: number;
  linkMode: string;
  linkDowns: number;
  linkLossy: number;
  linkDelays: number;
  linkDelay: number;
  auth: string;
  wrongKey?: number;
  replay: number;
}

export function registerSim(program: Command): void {
  const d = DEFAULT_SIM_OPTIONS;
  program
    .command('sim')
    .description('run the deterministic simulator and check the delivery invariants (exit 0 iff all hold)')
    .option('--seed <n>', 'random seed', numberOption('--seed', true), d.seed)
    .option('--daemons <n>', 'daemons in the ring', numberOption('--daemons', true), d.daemons)
    .option('--messages <n>', 'messages submitted, over all daemons', numberOption('--messages', true), d.messages)
    .option('--size <bytes>', 'message size, or a range like 1-1048576', d.size)
    .option('--service <name>', 'UNRELIABLE, RELIABLE, FIFO, CAUSAL, AGREED, SAFE or mixed', d.service)
    .option('--loss <p>', 'probability a datagram is lost', numberOption('--loss'), d.loss)
    .option('--dup <p>', 'probability a datagram is duplicated', numberOption('--dup'), d.dup)
    .option('--reorder <p>', 'probability a datagram is delayed past later ones', numberOption('--reorder'), d.reorder)
    .option('--latency <ms>', 'one-way network delay', numberOption('--latency'), d.latencyMs)
    .option('--jitter <ms>', 'uniform extra delay', numberOption('--jitter'), d.jitterMs)
    .option('--rate <n>', 'messages submitted per simulated ms', numberOption('--rate'), d.rate)
    .option('--groups <n>', 'distinct groups messages go to', numberOption('--groups', true), d.groups)
    .option('--crashes <n>', 'daemons killed (kill -9) during the run', numberOption('--crashes', true), d.crashes)
    .option('--restarts <n>', 'of the crashed daemons, how many restart (new incarnation)', numberOption('--restarts', true), d.restarts)
    .option('--partitions <n>', 'network partitions during the run (may overlap), each healed later', numberOption('--partitions', true), d.partitions)
    .option('--asymmetric <n>', 'links that turn lossy in one direction for a while', numberOption('--asymmetric', true), d.asymmetric)
    .option('--faults <spec>', 'all four at once: "crashes=2,restarts=1,partitions=2,asymmetric=1"')
    .option('--window <n>', 'flow control: packets per rotation', numberOption('--window', true))
    .option('--personal-window <n>', 'flow control: packets per daemon per visit', numberOption('--personal-window', true))
    .option('--payload-budget <bytes>', 'packed bytes per data packet', numberOption('--payload-budget', true))
    .option('--links <n>', 'networks (multipath): each daemon sends through a link set over n networks', numberOption('--links', true), d.links)
    .option('--link-mode <mode>', 'multipath: active (every link) or passive (best live link)', d.linkMode)
    .option('--link-downs <n>', 'multipath: a network, or one host\'s interface on it, down for a while', numberOption('--link-downs', true), d.linkDowns)
    .option('--link-lossy <n>', 'multipath: a network losing 20–90% in one direction between two daemons for a while', numberOption('--link-lossy', true), d.linkLossy)
    .option('--link-delays <n>', 'multipath: a network delayed by --link-delay ms for a while', numberOption('--link-delays', true), d.linkDelays)
    .option('--link-delay <ms>', 'multipath: the extra delay of a delayed network', numberOption('--link-delay'), d.linkDelayMs)
    .option('--auth <mode>', 'every datagram sealed and checked as with AuthKeyFile: off, mac or encrypt', d.auth)
    .option('--wrong-key <n>', 'with --auth: this many daemons (the last ones) each hold another key', numberOption('--wrong-key', true))
    .option('--replay <p>', 'probability, per datagram sent, that one recorded earlier (any ring, any life) is sent again', numberOption('--replay'), d.replay)
    .option('--log-dir <dir>', 'write <daemon>.jsonl delivery logs here')
    .option('--json', 'print a JSON summary')
    .option('--soak <n>', 'run n seeds from --seed on, each with its own mix of faults, sizes and services (the test sweep), and print a table of outcomes', numberOption('--soak', true))
    .action((flags: SimFlags) => {
      const opts = toSimOptions(flags);
      if (flags.soak !== undefined) {
        soak(flags.seed, flags.soak, Boolean(flags.json));
        return;
      }
      const { summary } = runSimulation(opts);
      if (flags.json) process.stdout.write(JSON.stringify(summary) + '\n');
      else printSummary(summary);
      const why = failureReason(summary);
      if (why) {
        process.stderr.write(`ringcast sim: seed ${summary.seed}: ${why}\n`);
        process.exitCode = 1;
      }
    });
}

function toSimOptions(f: SimFlags): Partial<SimOptions> {
  if (f.service !== 'mixed' && !isServiceName(f.service)) {
    throw new UsageError(`--service must be UNRELIABLE, RELIABLE, FIFO, CAUSAL, AGREED, SAFE or mixed, not "${f.service}"`);
  }
  const faults = { crashes: f.crashes, restarts: f.restarts, partitions: f.partitions, asymmetric: f.asymmetric };
  if (f.faults !== undefined) {
    for (const part of f.faults.split(',').map((x) => x.trim()).filter(Boolean)) {
      const m = /^(crashes|restarts|partitions|asymmetric)=(\d+)$/.exec(part);
      if (!m) throw new UsageError(`--faults takes name=count pairs (crashes, restarts, partitions, asymmetric), not "${part}"`);
      faults[m[1] as keyof typeof faults] = Number(m[2]);
    }
  }
  const ring: SimOptions['ring'] = {};
  if (f.window !== undefined) ring.window = f.window;
  if (f.personalWindow !== undefined) ring.personalWindow = f.personalWindow;
  if (f.payloadBudget !== undefined) ring.payloadBudget = f.payloadBudget;
  return {
    seed: f.seed,
    daemons: f.daemons,
    messages: f.messages,
    size: f.size,
    service: f.service as SimOptions['service'],
    loss: f.loss,
    dup: f.dup,
    reorder: f.reorder,
    latencyMs: f.latency,
    jitterMs: f.jitter,
    rate: f.rate,
    groups: f.groups,
    ...faults,
    links: f.links,
    linkMode: f.linkMode as SimOptions['linkMode'],
    linkDowns: f.linkDowns,
    linkLossy: f.linkLossy,
    linkDelays: f.linkDelays,
    linkDelayMs: f.linkDelay,
    auth: f.auth as SimOptions['auth'],
    wrongKey: Array.from({ length: f.wrongKey ?? 0 }, (_, i) => f.daemons - i),
    replay: f.replay,
    ring,
    ...(f.logDir ? { logDir: f.logDir } : {}),
  };
}

function printSummary(s: SimSummary): void {
  const lines = [
    `seed ${s.seed}: ${s.daemons} daemons, ${s.messagesSent} messages sent, simulated ${s.simTimeMs} ms, ${s.tokenRotations} token rotations`,
    `delivered: ${Object.entries(s.deliveredPerDaemon).map(([d, n]) => `${d}=${n}`).join(' ')}`,
    `configurations installed: ${s.configurations}${s.faults.length ? `; faults: ${s.faults.join('; ')}` : ''}`,
    `network: ${s.packets.sent} datagrams, ${s.packets.dropped} lost, ${s.packets.duplicated} duplicated, ${s.packets.reordered} reordered; ` +
      `${s.retransmissions} retransmissions, ${s.tokenRetransmits} token retransmits`,
    ...(s.links
      ? [
          `links: ${s.links.links} (${s.links.mode}), ${s.links.downs} down / ${s.links.ups} up events, ${s.links.duplicates} copies dropped, ` +
            `${s.links.tooOld} before the window, ${s.links.resent} resent on failover, ${s.links.droppedDown} lost to down links; ` +
            `a good link between every pair throughout: ${s.links.connected ? 'yes' : 'no'}`,
        ]
      : []),
    ...(s.auth ? [`auth: ${s.auth.sealed} sealed, ${s.auth.verified} verified, ${s.auth.dropped} dropped, ${s.auth.acceptedAcrossKeys} accepted across keys`] : []),
    ...(s.replays ? [`replays: ${s.replays.sent} datagrams (${s.replays.earlierRing} from before the latest ring, ${s.replays.earlierLife} from earlier lives)`] : []),
    ...s.invariants.map((r) => `invariant ${r.invariant} ${r.name}: ${r.ok ? 'ok' : `VIOLATED: ${r.violation}`}`),
    s.ok ? 'ok' : 'FAILED',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

function soak(first: number, n: number, json: boolean): void {
  let failed = 0;
  const started = process.hrtime.bigint();
  if (!json) process.stdout.write('seed        ok    daemons  faults (c/r/p/a)  loss   delivered   sim-ms  configs  reason\n');
  for (let seed = first; seed < first + n; seed++) {
    const o = faultSweepOptions(seed);
    const { summary: s } = runSimulation(o);
    const why = failureReason(s);
    if (why) failed++;
    if (json) {
      process.stdout.write(JSON.stringify({ seed, ok: s.ok, reason: why ?? null, simTimeMs: s.simTimeMs, configurations: s.configurations }) + '\n');
    } else {
      const delivered = Math.min(...Object.values(s.deliveredPerDaemon));
      const faults = `${o.crashes}/${o.restarts}/${o.partitions}/${o.asymmetric}`;
      process.stdout.write(
        `${String(seed).padEnd(10)}  ${(s.ok ? 'ok' : 'FAIL').padEnd(4)}  ${String(o.daemons).padStart(7)}  ${faults.padEnd(16)}  ` +
          `${String(o.loss).padEnd(5)}  ${String(delivered).padStart(9)}  ${String(Math.round(s.simTimeMs)).padStart(7)}  ${String(s.configurations).padStart(7)}  ${why ?? ''}\n`,
      );
    }
  }
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${n} seeds, ${n - failed} ok, ${failed} failed, ${secs.toFixed(1)} s\n`);
  if (failed > 0) process.exitCode = 1;
}

// The ordering core alone, no sockets: what the ring's state machines cost per message.
//
// Two harnesses:
// - "core only": N RingCore instances wired by one FIFO of datagrams; every output is carried
//   out at once, nothing is lost, timers are ignored except the leader's idle hold (fired only
//   when nothing else is left to do). This is the core's own cost.
// - "simulator": the deterministic Simulator (src/sim) with no faults: adds its event heap,
//   simulated latencies and its delivery logs.
//
// The figure: messages ordered per CPU second = distinct messages delivered in total order at
// every daemon (each counted once) ÷ CPU time of this process (user + system, process.cpuUsage)
// for the whole run. All N daemons share the one thread, so it is the whole ring's cost.
import { RingCore } from '../src/core/ring/ring';
import type { RingOutput } from '../src/core/ring/types';
import { Service } from '../src/core/service';
import { Simulator } from '../src/sim/simulator';
import { markdownTable, num, progress, sizeLabel } from './format';

export type Harness = 'core only' | 'simulator';

export interface CoreCase {
  daemons: number;
  size: number;
  service: 'AGREED' | 'SAFE';
  messages: number;
}

export interface CoreResult extends CoreCase {
  harness: Harness;
  cpuSec: number;
  wallSec: number;
  /** Distinct messages delivered at every daemon ÷ CPU seconds. */
  msgsPerCpuSec: number;
  /** Deliveries summed over daemons ÷ CPU seconds (= msgsPerCpuSec × daemons). */
  deliveriesPerCpuSec: number;
  /** Data packets sequenced (core only; the simulator does not expose its cores). */
  dataPackets: number | undefined;
  /** Empty when every daemon delivered every message in the same order. */
  problem: string;
}

const CONFIG_HASH = 0x51a1c0de;
const GROUPS = ['test'];
/** A sender's queue is topped up to this many messages whenever it falls below half of it. */
const SENDER_QUEUE = 2000;

/** N cores and a FIFO of datagrams in flight; returns when every daemon delivered everything. */
function runCoreOnly(c: CoreCase): Omit<CoreResult, 'harness' | 'cpuSec' | 'wallSec' | 'msgsPerCpuSec' | 'deliveriesPerCpuSec'> {
  const members = Array.from({ length: c.daemons }, (_, i) => i + 1);
  const cores = members.map(
    (id) => new RingCore({ myId: id, members, ringSeq: 1, ringRep: members[0], configHash: CONFIG_HASH, incarnation: 1 }),
  );
  const n = cores.length;
  const service = Service[c.service];
  const payload = Buffer.alloc(c.size, 0x61);
  // Every daemon sends; the first ones take the remainder so the total is exact.
  const toSubmit = members.map((_, i) => Math.floor(c.messages / n) + (i < c.messages % n ? 1 : 0));
  const delivered = new Array<number>(n).fill(0);
  // A running hash of (origin, counter) in delivery order: equal at the end = same total order.
  const orderHash = new Array<number>(n).fill(0x811c9dc5);
  const holdArmed = new Array<boolean>(n).fill(false);

  // The FIFO: parallel arrays of destination index and bytes, consumed from `head`.
  let qTo: number[] = [];
  let qData: Buffer[] = [];
  let head = 0;

  const apply = (from: number, outs: RingOutput[]) => {
    for (const o of outs) {
      switch (o.kind) {
        case 'mcast':
          for (let p = 0; p < n; p++) {
            if (p !== from) {
              qTo.push(p);
              qData.push(o.data);
            }
          }
          break;
        case 'send':
          qTo.push(o.to - 1);
          qData.push(o.data);
          break;
        case 'deliver':
          delivered[from]++;
          orderHash[from] = Math.imul(orderHash[from] ^ (o.msg.origin * 0x10000 + o.msg.counter), 16777619);
          break;
        case 'setTimer':
          if (o.timer === 'tokenHold') holdArmed[from] = true;
          break;
        case 'cancelTimer':
          if (o.timer === 'tokenHold') holdArmed[from] = false;
          break;
        // 'submitted' needs nothing; tokenRetransmit never fires: nothing is lost.
      }
    }
  };
  const topUp = (i: number) => {
    const core = cores[i];
    if (toSubmit[i] === 0 || core.backlog > SENDER_QUEUE / 2) return;
    while (toSubmit[i] > 0 && core.backlog < SENDER_QUEUE) {
      toSubmit[i]--;
      apply(i, core.step({ kind: 'submit', service, groups: GROUPS, payload }));
    }
  };

  for (let i = 0; i < n; i++) topUp(i);
  for (let i = 0; i < n; i++) apply(i, cores[i].step({ kind: 'start' }));
  let problem = '';
  for (;;) {
    while (head < qTo.length) {
      const to = qTo[head];
      const data = qData[head];
      head++;
      topUp(to);
      apply(to, cores[to].step({ kind: 'packet', data }));
      if (head > 65536 && head * 2 > qTo.length) {
        qTo = qTo.slice(head);
        qData = qData.slice(head);
        head = 0;
      }
    }
    if (delivered.every((d) => d === c.messages)) break;
    // Nothing in flight: only a held token can move things on.
    const held = holdArmed.findIndex((a) => a);
    if (held < 0) {
      problem = `stalled: delivered ${delivered.join('/')} of ${c.messages}`;
      break;
    }
    holdArmed[held] = false;
    apply(held, cores[held].step({ kind: 'timer', timer: 'tokenHold' }));
  }
  if (!problem && orderHash.some((h) => h !== orderHash[0])) problem = 'daemons delivered in different orders';
  return { ...c, dataPackets: cores.reduce((s, k) => s + k.counters.packetsSent, 0), problem };
}

function runSimulator(c: CoreCase): Omit<CoreResult, 'harness' | 'cpuSec' | 'wallSec' | 'msgsPerCpuSec' | 'deliveriesPerCpuSec'> {
  // A very high submission rate queues the whole workload at the start, as "core only" keeps
  // senders' queues full.
  const sim = new Simulator({ seed: 1, daemons: c.daemons, messages: c.messages, size: String(c.size), service: c.service, rate: 1e6, groups: 1 });
  const { stats } = sim.run();
  const short = Object.entries(stats.deliveredPerDaemon).filter(([, d]) => d !== c.messages);
  let problem = '';
  if (stats.stalled || short.length > 0) problem = `stalled: ${short.map(([name, d]) => `${name} ${d}`).join(', ')}`;
  else if (stats.payloadErrors.length > 0) problem = stats.payloadErrors[0];
  return { ...c, dataPackets: undefined, problem };
}

/** One run of one case under one harness (exported for ad-hoc profiling). */
export function measure(harness: Harness, c: CoreCase): CoreResult {
  const run = harness === 'core only' ? runCoreOnly : runSimulator;
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  const r = run(c);
  const cpu = process.cpuUsage(cpu0);
  const wallSec = Number(process.hrtime.bigint() - wall0) / 1e9;
  const cpuSec = (cpu.user + cpu.system) / 1e6;
  return {
    ...r,
    harness,
    cpuSec,
    wallSec,
    msgsPerCpuSec: c.messages / cpuSec,
    deliveriesPerCpuSec: (c.messages * c.daemons) / cpuSec,
  };
}

export function coreCases(quick: boolean): CoreCase[] {
  const cases: CoreCase[] = [];
  for (const daemons of [3, 5]) {
    for (const size of [100, 1024]) {
      for (const service of ['AGREED', 'SAFE'] as const) {
        const messages = (size === 100 ? 400_000 : 200_000) / (quick ? 10 : 1);
        cases.push({ daemons, size, service, messages });
      }
    }
  }
  return cases;
}

export function runCore(opts: { quick: boolean; harnesses?: Harness[] }): CoreResult[] {
  const harnesses = opts.harnesses ?? ['core only', 'simulator'];
  const results: CoreResult[] = [];
  for (const harness of harnesses) {
    // Warm the JIT on a small run so the first measured case is not charged for compilation.
    const warm = measure(harness, { daemons: 3, size: 100, service: 'SAFE', messages: 20_000 });
    if (warm.problem) throw new Error(`core bench warm-up (${harness}) failed: ${warm.problem}`);
    for (const c of coreCases(opts.quick)) {
      // Median of several runs: CPU time still wobbles when the machine is shared.
      const runs = Array.from({ length: opts.quick ? 1 : 3 }, () => measure(harness, c));
      runs.sort((a, b) => a.msgsPerCpuSec - b.msgsPerCpuSec);
      const r = runs.find((x) => x.problem) ?? runs[runs.length >> 1];
      results.push(r);
      progress(
        `core: ${harness}, ${c.daemons} daemons, ${sizeLabel(c.size)} ${c.service}: ${num(r.msgsPerCpuSec)} msgs ordered/CPU s` +
          ` (${r.cpuSec.toFixed(2)} CPU s)${r.problem ? ` — ${r.problem}` : ''}`,
      );
    }
  }
  return results;
}

export function coreMarkdown(results: CoreResult[]): string {
  const rows = results.map((r) => [
    r.harness,
    r.daemons,
    sizeLabel(r.size),
    r.service,
    num(r.messages),
    r.dataPackets === undefined ? '—' : num(r.dataPackets),
    r.cpuSec.toFixed(2),
    r.problem ? `failed: ${r.problem}` : num(r.msgsPerCpuSec),
    r.problem ? '' : num(r.deliveriesPerCpuSec),
  ]);
  return [
    '### Ordering core, no sockets',
    '',
    'Median of 3 runs per row (1 with --quick). **msgs ordered / CPU s** = distinct messages delivered in total order at every daemon (each message counted once) ÷ ' +
      'CPU time (user + system) of the benchmark process for the run; all daemons run in that one thread, so this is the ' +
      'cost of the whole ring. **deliveries / CPU s** counts each delivery at each daemon (× daemons). Every daemon sends; ' +
      'each message is addressed to one group. "core only": RingCore instances joined by a FIFO of datagrams, no loss, ' +
      'timers ignored (the leader\'s idle hold fires only when nothing is in flight). "simulator": src/sim Simulator, no ' +
      'faults, with its event heap, simulated latency and delivery logs; messages go to a random daemon each. ' +
      '**data packets**: packets sequenced on the ring (several small messages share one; a large one spans several).',
    '',
    markdownTable(
      ['harness', '>daemons', '>size', 'service', '>messages', '>data packets', '>CPU s', '>msgs ordered / CPU s', '>deliveries / CPU s'],
      rows,
    ),
  ].join('\n');
}

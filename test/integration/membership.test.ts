// Membership with real daemons: three `ringcast daemon` processes (the built CLI) send test
// traffic (--generate; d1 and d3 AGREED, d2 and the restarted d3 SAFE) while one of them is
// killed with SIGKILL, restarted as a new incarnation, cut off by a network partition and
// reconnected. Their delivery logs — the killed life's included — must satisfy all ten
// invariants of shared/design/invariants.md.
//
// As root the daemons run inside a network namespace this test creates (127.0.0.1/.2/.3 on its
// own loopback) and the partition is an nftables table in that namespace; nftables is installed
// with apt-get when `nft` is missing. Without root (or without namespaces) the daemons run on the
// host's loopback and the partition part is skipped with a message.
// Needs `npx tsc -p .` first (it runs bin/ringcast.js, which loads dist/).
// RINGCAST_IT_VERBOSE=1 prints the phases and their timings; RINGCAST_IT_KEEP=1 keeps the logs.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { checkLogs, formatReport } from '../../src/sim/checker';
import { readLogFile } from '../../src/sim/logFiles';
import type { LogEntry } from '../../src/sim/deliveryLog';
import { repoRoot, canBind, freeUdpPort } from '../support/repo';

const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const HOSTS = ['d1', 'd2', 'd3'];
/** Messages each first life sends (at most one undelivered at a time: ~1–3 k/s per sender). */
const FIRST_COUNT = 8_000;
/** Messages the restarted life sends. */
const SECOND_COUNT = 4_000;
const SIZE = 200;
const PHASE_TIMEOUT_MS = 10_000;
const QUIET_TIMEOUT_MS = 30_000;

const ROOT = repoRoot();
const BIN = path.join(ROOT, 'bin', 'ringcast.js');
const VERBOSE = !!process.env.RINGCAST_IT_VERBOSE;

function run(cmd: string, args: string[], input?: string): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 170_000 });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim() };
}

function have(cmd: string): boolean {
  return run('sh', ['-c', `command -v ${cmd}`]).ok;
}

/** Namespaces "rc-it-<pid>" left by runs that were killed (their pid is gone): deleted. */
function removeStaleNamespaces(): void {
  const list = run('ip', ['netns', 'list']);
  if (!list.ok) return;
  for (const m of list.out.matchAll(/^rc-it-(\d+)\b/gm)) {
    if (!fs.existsSync(`/proc/${m[1]}`)) run('ip', ['netns', 'del', `rc-it-${m[1]}`]);
  }
}

interface Conf {
  kind: 'regular' | 'transitional';
  ring: string;
  members: string[];
}

/** One life of a daemon: a process with its own log file ("d3", then "d3@2"). */
interface Life {
  /** Log name = member name: "d3" for incarnation 1, "d3@2" for incarnation 2. */
  name: string;
  host: string;
  count: number;
  log: string;
  proc: ChildProcess;
  out: string[];
  err: string[];
  /** The regular configuration this life logged last (stdout). */
  regular?: Conf;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

const CONF_LINE = / \S+: (regular|transitional) configuration (\S+):(.*)$/; // after the log's stamp and level

function showOutput(l: Life): string {
  const tail = (a: string[]) => a.slice(-12).map((x) => `    ${x.slice(0, 300)}`).join('\n');
  return `  ${l.name} stdout:\n${tail(l.out)}\n  ${l.name} stderr:\n${tail(l.err)}`;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitUntil(cond: () => boolean, timeoutMs: number, what: () => string, pollMs = 20): Promise<number> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what()}`);
    await sleep(pollMs);
  }
  return Date.now() - t0;
}

/** The entries of logs being written, read incrementally (a last line may be half written). */
const tails = new Map<string, { offset: number; rest: string; entries: LogEntry[] }>();
function readLive(file: string): LogEntry[] {
  let t = tails.get(file);
  if (!t) tails.set(file, (t = { offset: 0, rest: '', entries: [] }));
  if (!fs.existsSync(file)) return t.entries;
  const size = fs.statSync(file).size;
  if (size <= t.offset) return t.entries;
  const buf = Buffer.alloc(size - t.offset);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, buf, 0, buf.length, t.offset);
  } finally {
    fs.closeSync(fd);
  }
  t.offset = size;
  const lines = (t.rest + buf.toString('utf8')).split('\n');
  t.rest = lines.pop()!;
  for (const line of lines) t.entries.push(JSON.parse(line) as LogEntry);
  return t.entries;
}

/** Messages delivered after the last regular conf line of `ring` (all of them for ring undefined). */
function deliveredIn(entries: readonly LogEntry[], ring: string | undefined, from?: string): number {
  let start = 0;
  if (ring !== undefined) {
    start = -1;
    for (let i = entries.length - 1; i >= 0; i--) {
      const e = entries[i];
      if (e.t === 'conf' && e.kind === 'regular' && e.ring === ring) {
        start = i;
        break;
      }
    }
    if (start < 0) return 0;
  }
  let n = 0;
  for (let i = start; i < entries.length; i++) {
    const e = entries[i];
    if (e.t === 'msg' && (from === undefined || e.id.startsWith(`${from}#`))) n++;
  }
  return n;
}

function sentCount(entries: readonly LogEntry[]): number {
  let n = 0;
  for (const e of entries) if (e.t === 'sent') n++;
  return n;
}

describe('integration: membership with three real daemons (kill -9, restart, partition, heal)', function () {
  this.timeout(120_000);
  const ns = `rc-it-${process.pid}`;
  let nsCreated = false;
  let partitionSkip = '';
  let tmp = '';
  let lives: Life[] = [];
  const deleteNs = () => {
    if (nsCreated) run('ip', ['netns', 'del', ns]);
    nsCreated = false;
  };

  before(async function () {
    this.timeout(300_000); // an apt-get install, at most
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('build first: npx tsc -p .');
    if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
      partitionSkip = 'not root: no network namespace or nftables';
    } else if (!have('ip')) {
      partitionSkip = 'no `ip` command (iproute2)';
    } else {
      if (!have('nft')) {
        let r = run('apt-get', ['install', '-y', 'nftables']);
        if (!r.ok) {
          run('apt-get', ['update']);
          r = run('apt-get', ['install', '-y', 'nftables']);
        }
        if (!r.ok || !have('nft')) throw new Error(`cannot install nftables (needed for the partition part):\n${r.out.slice(-2000)}`);
      }
      removeStaleNamespaces();
      const add = run('ip', ['netns', 'add', ns]);
      if (!add.ok) {
        partitionSkip = `cannot create a network namespace: ${add.out}`;
      } else {
        nsCreated = true;
        process.once('exit', deleteNs);
        const up = run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
        if (!up.ok) throw new Error(`cannot bring lo up in namespace ${ns}: ${up.out}`);
      }
    }
    if (partitionSkip) {
      for (const a of ADDRS) if (!(await canBind(a, 0))) this.skip(); // 127.0.0.2/3 unusable (not Linux?)
    }
  });

  afterEach(async function () {
    for (const l of lives) if (!l.exit) l.proc.kill('SIGKILL');
    await Promise.race([Promise.all(lives.map((l) => l.exited)), sleep(5000)]);
    if (this.currentTest?.state === 'failed') for (const l of lives) console.log(showOutput(l));
    lives = [];
    if (tmp && !process.env.RINGCAST_IT_KEEP) fs.rmSync(tmp, { recursive: true, force: true });
    else if (tmp) console.log(`  logs kept in ${tmp}`);
    tmp = '';
    tails.clear();
  });

  after(() => {
    deleteNs();
    process.removeListener('exit', deleteNs);
  });

  it('keeps all ten invariants across a kill -9 during a flood, a restart, a partition and its heal', async () => {
    const t0 = Date.now();
    const phase = (s: string) => {
      if (VERBOSE) console.log(`    ${((Date.now() - t0) / 1000).toFixed(2)} s  ${s}`);
    };
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-membership-it-'));
    const logDir = path.join(tmp, 'logs');
    fs.mkdirSync(logDir);
    const port = nsCreated ? 4803 : await freeUdpPort(ADDRS);
    const conf = path.join(tmp, 'spread.conf');
    fs.writeFileSync(conf, `Spread_Segment 127.0.0.255:${port} {\n${HOSTS.map((n, i) => `    ${n} ${ADDRS[i]}\n`).join('')}}\n`);

    const start = (host: string, incarnation: number, count: number, service: 'AGREED' | 'SAFE'): Life => {
      const name = incarnation === 1 ? host : `${host}@${incarnation}`;
      const log = path.join(logDir, `${name}.jsonl`);
      const args = [
        BIN, 'daemon', '-c', conf, '-n', host,
        '--incarnation', String(incarnation),
        '--log', log,
        '--generate', String(count),
        '--expect', String(1_000_000_000), // never "done": only the logs matter
        '--in-flight', '1',
        '--size', String(SIZE),
        '--service', service,
      ];
      const proc = nsCreated
        ? spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const l = { name, host, count, log, proc, out: [] as string[], err: [] as string[] } as Life;
      l.exited = new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          l.exit = { code, signal };
          resolve(l.exit);
        });
      });
      readline.createInterface({ input: proc.stderr! }).on('line', (x) => l.err.push(x));
      readline.createInterface({ input: proc.stdout! }).on('line', (x) => {
        l.out.push(x);
        const m = CONF_LINE.exec(x);
        if (m && m[1] === 'regular') l.regular = { kind: 'regular', ring: m[2], members: m[3].trim().split(/\s+/).filter(Boolean) };
      });
      lives.push(l);
      return l;
    };
    const alive = () => lives.filter((l) => !l.exit);
    const state = () => lives.map((l) => `${l.name}${l.exit ? ' (exited)' : ''}: ${l.regular ? `${l.regular.ring} [${l.regular.members.join(' ')}]` : 'no regular configuration'}`).join('; ');
    /** Every life in `group` has logged the same regular configuration, of exactly `group`. */
    const together = (group: Life[]) => {
      const r = group[0].regular;
      return !!r && group.every((l) => l.regular?.ring === r.ring && sameSet(l.regular.members, group.map((g) => g.name)));
    };
    const waitTogether = (groups: Life[][], what: string) =>
      waitUntil(() => groups.every(together), PHASE_TIMEOUT_MS, () => `${what} (now: ${state()})`);
    const generatorDone = (l: Life) => sentCount(readLive(l.log)) >= l.count;
    /**
     * Waits for `n` deliveries at `l` in its current regular configuration (from `from` only, if
     * given), unless every generator in `senders` is done (none: the traffic must flow).
     */
    const waitTraffic = async (l: Life, n: number, senders: Life[] | null, what: string, from?: string): Promise<boolean> => {
      const ring = l.regular?.ring;
      let flowing = false;
      await waitUntil(
        () => {
          flowing = deliveredIn(readLive(l.log), ring, from) >= n;
          return flowing || (senders !== null && senders.every(generatorDone));
        },
        PHASE_TIMEOUT_MS,
        () => `${what}: ${n} deliveries at ${l.name} in ${ring}`,
        100,
      );
      return flowing;
    };

    // 1. Three daemons, first lives; test traffic from all three once the ring is complete.
    const [d1, d2, d3] = HOSTS.map((h) => start(h, 1, FIRST_COUNT, h === 'd2' ? 'SAFE' : 'AGREED'));
    let ms = await waitTogether([[d1, d2, d3]], 'one 3-member ring');
    phase(`3-member ring after ${ms} ms: ${d1.regular!.ring}`);
    await waitTraffic(d1, 300, null, 'the flood', 'd3'); // must flow: the generators have just started
    phase('flood running');

    // 2. kill -9 one of them during the flood; the survivors form a 2-member ring.
    d3.proc.kill('SIGKILL');
    await d3.exited;
    ms = await waitTogether([[d1, d2]], 'd1 and d2 in a 2-member ring after d3 was killed');
    phase(`kill -9 d3: 2-member ring after ${ms} ms: ${d1.regular!.ring}`);
    const afterKill = await waitTraffic(d1, 100, [d1, d2], 'traffic in the 2-member ring');
    assert.ok(afterKill, 'traffic flows in the 2-member ring after the kill');

    // 3. Restart it: a new incarnation with its own log; back in a 3-member ring.
    const d3b = start('d3', 2, SECOND_COUNT, 'SAFE');
    ms = await waitTogether([[d1, d2, d3b]], 'one 3-member ring with the restarted d3@2');
    phase(`restart: 3-member ring after ${ms} ms: ${d1.regular!.ring}`);
    const afterRestart = await waitTraffic(d1, 100, [d1, d2, d3b], 'traffic after the restart', 'd3@2');

    // 4. Partition d3 from the others, then heal.
    let inPartition = [false, false];
    if (!partitionSkip) {
      const table = `table inet rcpart {\n  chain input {\n    type filter hook input priority 0; policy accept;\n` +
        `    ip saddr ${ADDRS[2]} ip daddr { ${ADDRS[0]}, ${ADDRS[1]} } drop\n` +
        `    ip saddr { ${ADDRS[0]}, ${ADDRS[1]} } ip daddr ${ADDRS[2]} drop\n  }\n}\n`;
      const cut = run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], table);
      assert.ok(cut.ok, `nft: ${cut.out}`);
      ms = await waitTogether([[d1, d2], [d3b]], 'the split into {d1, d2} and {d3@2}');
      phase(`partition: split after ${ms} ms: ${d1.regular!.ring} and ${d3b.regular!.ring}`);
      inPartition = [
        await waitTraffic(d1, 50, [d1, d2], 'traffic in {d1, d2} during the partition'),
        await waitTraffic(d3b, 50, [d3b], 'traffic in {d3@2} during the partition'),
      ];
      const heal = run('ip', ['netns', 'exec', ns, 'nft', 'delete', 'table', 'inet', 'rcpart']);
      assert.ok(heal.ok, `nft: ${heal.out}`);
      ms = await waitTogether([[d1, d2, d3b]], 'one 3-member ring after the heal');
      phase(`heal: 3-member ring after ${ms} ms: ${d1.regular!.ring}`);
    } else {
      console.log(`    partition and heal skipped: ${partitionSkip}`);
    }

    // 5. Let the generators finish and the logs go quiet, then stop the live daemons cleanly.
    let sizes = '';
    let quietSince = Date.now();
    await waitUntil(
      () => {
        const now = lives.map((l) => (fs.existsSync(l.log) ? fs.statSync(l.log).size : -1)).join(',');
        if (now !== sizes) {
          sizes = now;
          quietSince = Date.now();
        }
        return alive().every(generatorDone) && Date.now() - quietSince > 500;
      },
      QUIET_TIMEOUT_MS,
      () => `every generator to finish and the logs to go quiet (sent: ${alive().map((l) => `${l.name} ${sentCount(readLive(l.log))}/${l.count}`).join(', ')})`,
      100,
    );
    assert.ok(together(alive()), `still one ring at the end (${state()})`);
    phase('quiet');
    for (const l of alive()) l.proc.kill('SIGTERM');
    for (const l of lives) {
      if (l === d3) continue;
      const e = await Promise.race([l.exited, sleep(10_000).then(() => null)]);
      assert.ok(e, `${l.name} exits within 10 s of SIGTERM`);
      assert.equal(e.code, 0, `${l.name} exits 0 after SIGTERM (${JSON.stringify(e)})`);
    }

    // 6. The checker of the simulator, on every life's log.
    const logs = new Map<string, LogEntry[]>();
    for (const l of lives) logs.set(l.name, readLogFile(l.log, { tolerateTruncatedTail: l === d3 }));
    const report = checkLogs(logs, { crashed: ['d3'], liveProcesses: ['d1', 'd2', 'd3@2'], label: 'membership integration' });
    if (VERBOSE) {
      for (const r of report.results) console.log(`    invariant ${r.invariant} ${r.name}: ${r.ok ? 'ok' : 'FAILED'} (${r.checked} checked)`);
      for (const l of lives) {
        const e = logs.get(l.name)!;
        const confs = e.filter((x) => x.t === 'conf').length;
        console.log(`    ${l.name}: ${sentCount(e)} sent, ${e.length - confs - sentCount(e)} delivered, ${confs} conf lines`);
      }
      console.log(`    traffic: after restart ${afterRestart}, in partition ${inPartition.join('/')}; ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    assert.ok(report.ok, formatReport(report));
    assert.equal(report.results.length, 10, 'all ten invariants checked');
    for (const r of report.results) assert.ok(r.checked > 0, `invariant ${r.invariant} (${r.name}) checked something`);
    const d3Sent = sentCount(logs.get('d3')!);
    assert.ok(d3Sent > 0 && d3Sent < FIRST_COUNT, `d3 was killed during its flood (${d3Sent} of ${FIRST_COUNT} sent)`);
  });
});

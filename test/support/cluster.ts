// Real daemons for service tests: N `ringcast daemon` processes on 127.0.0.1..N, each with a
// Unix client socket in a temporary directory, started and waited for until they form one ring.
// Needs `npx tsc -p .` first (bin/ringcast.js loads dist/).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freeUdpPort, repoRoot, showOutput, watchDaemon, type WatchedDaemon } from './repo';

export const BIN = path.join(repoRoot(), 'bin', 'ringcast.js');

export interface ClusterDaemon extends WatchedDaemon {
  readonly host: string;
  /** Its Unix client socket: what `connect({ daemon })` takes. */
  readonly socket: string;
}

export interface Cluster {
  readonly dir: string;
  readonly conf: string;
  readonly names: readonly string[];
  readonly daemons: Map<string, ClusterDaemon>;
  /** Starts (or restarts) daemon `name`. */
  start(name: string, incarnation?: number): ClusterDaemon;
  /** Waits until every daemon in `names` logged a regular configuration of exactly them. */
  waitRing(names: readonly string[], timeoutMs?: number): Promise<void>;
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 20 ms; throws after `ms` naming `what`. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The members of the last regular configuration a daemon logged (names without @incarnation). */
function lastRegular(d: WatchedDaemon): string[] | null {
  for (let i = d.out.length - 1; i >= 0; i--) {
    const m = /regular configuration \S+: (.*)$/.exec(d.out[i]!);
    if (m && !d.out[i]!.includes('transitional')) return m[1]!.trim().split(/\s+/).map((x) => x.replace(/@.*$/, ''));
  }
  return null;
}

export interface ClusterOptions {
  /** spread.conf lines before the segment (options). */
  readonly extraConf?: string;
  /** Part of the temporary directory's name. */
  readonly label?: string;
  /** Run the daemons inside this network namespace (created by the caller, `lo` up). */
  readonly netns?: string;
}

export async function startCluster(count: number, options: ClusterOptions = {}): Promise<Cluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ringcast-${options.label ?? 'cluster'}-`));
  const names = Array.from({ length: count }, (_, i) => `d${i + 1}`);
  const addrs = names.map((_, i) => `127.0.0.${i + 1}`);
  const port = options.netns ? 4803 : await freeUdpPort(addrs, true);
  const conf = path.join(dir, 'spread.conf');
  fs.writeFileSync(conf, `${options.extraConf ?? ''}\nSpread_Segment 127.0.0.255:${port} {\n${names.map((n, i) => `  ${n} ${addrs[i]}\n`).join('')}}\n`);
  const daemons = new Map<string, ClusterDaemon>();
  const cluster: Cluster = {
    dir,
    conf,
    names,
    daemons,
    start(name, incarnation = 1) {
      const socket = path.join(dir, `${name}.sock`);
      const args = [BIN, 'daemon', '-c', conf, '-n', name, '--socket', socket, '--incarnation', String(incarnation)];
      // `ip netns exec` execs the command: the child's pid is the daemon's.
      const proc = options.netns
        ? spawn('ip', ['netns', 'exec', options.netns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const d = Object.assign(watchDaemon(name, proc), { host: addrs[names.indexOf(name)]!, socket });
      daemons.set(name, d);
      return d;
    },
    async waitRing(members, timeoutMs = 20_000) {
      const t0 = Date.now();
      const want = [...members].sort().join(' ');
      for (;;) {
        const ok = members.every((n) => {
          const d = daemons.get(n);
          const last = d && !d.exit ? lastRegular(d) : null;
          return last !== null && [...last].sort().join(' ') === want && fs.existsSync(d!.socket);
        });
        if (ok) return;
        if (Date.now() - t0 > timeoutMs) {
          throw new Error(`no ring of ${want} within ${timeoutMs} ms\n${members.map((n) => (daemons.get(n) ? showOutput(daemons.get(n)!) : `${n}: not started`)).join('\n')}`);
        }
        await sleep(25);
      }
    },
    async kill(name, signal = 'SIGKILL') {
      const d = daemons.get(name);
      if (!d || d.exit) return;
      d.proc.kill(signal);
      await d.exited;
    },
    async stop() {
      for (const d of daemons.values()) if (!d.exit) d.proc.kill('SIGTERM');
      await Promise.race([Promise.all([...daemons.values()].map((d) => d.exited)), sleep(5000)]);
      for (const d of daemons.values()) if (!d.exit) d.proc.kill('SIGKILL');
      if (!process.env.RINGCAST_IT_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const n of names) cluster.start(n);
  await cluster.waitRing(names);
  return cluster;
}

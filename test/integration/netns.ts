// A small lab of network namespaces for multipath tests and benchmarks: N hosts, each on L
// bridged networks. Everything lives inside namespaces this process creates (hosts "rcm<tag>h1"…,
// and one "switch" namespace "rcm<tag>sw" holding a bridge per network); the addresses
// (10.99.<link+1>.<host>/24) exist only inside them. destroy() deletes the namespaces, which
// takes the veth pairs and bridges with them.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { showOutput, watchDaemon, type WatchedDaemon } from '../support/repo';

export interface NetnsLab {
  tag: string;
  /** Namespace of host i (0-based). */
  hosts: string[];
  switchNs: string;
  links: number;
  /** addresses[host][link] */
  addresses: string[][];
  /** Interface of host i on link l, inside its namespace. */
  iface(host: number, link: number): string;
  setLink(host: number, link: number, up: boolean): void;
  /** Takes a whole network down (its bridge) or up again. */
  setNetwork(link: number, up: boolean): void;
  /** Runs a command inside host i's namespace. */
  spawn(host: number, argv: string[]): ChildProcess;
  destroy(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Can this process make namespaces (root, iproute2, kernel support)? */
export function canUseNetns(): boolean {
  if (process.platform !== 'linux' || typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  const probe = `rcmprobe${process.pid}`;
  try {
    ip('netns', 'add', probe);
    ip('-n', probe, 'link', 'add', 'b0', 'type', 'bridge');
    return true;
  } catch {
    return false;
  } finally {
    try {
      ip('netns', 'del', probe);
    } catch {
      /* was never made */
    }
  }
}

export function createLab(hostCount = 3, links = 2): NetnsLab {
  const tag = crypto.randomBytes(2).toString('hex');
  const switchNs = `rcm${tag}sw`;
  const hosts = Array.from({ length: hostCount }, (_, h) => `rcm${tag}h${h + 1}`);
  const addresses = hosts.map((_, h) => Array.from({ length: links }, (_, l) => `10.99.${l + 1}.${h + 1}`));
  const made: string[] = [];
  const lab: NetnsLab = {
    tag,
    hosts,
    switchNs,
    links,
    addresses,
    iface: (_h, l) => `e${l}`,
    setLink(h, l, up) {
      ip('-n', hosts[h], 'link', 'set', `e${l}`, up ? 'up' : 'down');
    },
    setNetwork(l, up) {
      ip('-n', switchNs, 'link', 'set', `br${l}`, up ? 'up' : 'down');
    },
    spawn(h, argv) {
      return spawn('ip', ['netns', 'exec', hosts[h], ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    },
    destroy() {
      for (const ns of made.splice(0).reverse()) {
        try {
          ip('netns', 'del', ns);
        } catch {
          /* gone already */
        }
      }
    },
  };
  try {
    ip('netns', 'add', switchNs);
    made.push(switchNs);
    for (let l = 0; l < links; l++) {
      ip('-n', switchNs, 'link', 'add', `br${l}`, 'type', 'bridge');
      ip('-n', switchNs, 'link', 'set', `br${l}`, 'up');
    }
    hosts.forEach((ns, h) => {
      ip('netns', 'add', ns);
      made.push(ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      for (let l = 0; l < links; l++) {
        const port = `h${h + 1}l${l}`;
        ip('link', 'add', 'name', `e${l}`, 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', switchNs);
        ip('-n', ns, 'addr', 'add', `${addresses[h][l]}/24`, 'dev', `e${l}`);
        ip('-n', ns, 'link', 'set', `e${l}`, 'up');
        ip('-n', switchNs, 'link', 'set', port, 'master', `br${l}`);
        ip('-n', switchNs, 'link', 'set', port, 'up');
      }
    });
  } catch (err) {
    lab.destroy();
    throw err;
  }
  return lab;
}

// ---- daemons in a lab ---------------------------------------------------------------------------

/**
 * A daemon's delivery log read through a FIFO, so that every delivery gets a timestamp of ours
 * (the log format has none): chunks are copied to `file` (for the checker) and the time between
 * consecutive deliveries is recorded.
 */
export class TappedLog {
  readonly file: string;
  readonly fifo: string;
  msgs = 0;
  firstAt = 0;
  lastAt = 0;
  /** Times between consecutive deliveries longer than 5 ms: [arrival of the later one, gap]. */
  readonly gaps: [number, number][] = [];
  readonly ended: Promise<void>;
  private carry = '';
  private readonly fd: number;

  constructor(dir: string, name: string) {
    this.file = path.join(dir, `${name}.jsonl`);
    this.fifo = path.join(dir, `${name}.fifo`);
    execFileSync('mkfifo', [this.fifo]);
    this.fd = fs.openSync(this.file, 'w');
    const stream = fs.createReadStream(this.fifo, { highWaterMark: 1 << 16 });
    stream.on('data', (chunk) => this.onChunk(chunk as Buffer));
    this.ended = new Promise((resolve) => {
      stream.once('close', () => {
        fs.closeSync(this.fd);
        resolve();
      });
      stream.once('error', () => resolve());
    });
  }

  /** The longest time between deliveries whose later one came in [from, to] (ms, performance.now()). */
  maxGap(from = -Infinity, to = Infinity): { ms: number; at: number } {
    let best = { ms: 0, at: 0 };
    for (const [at, ms] of this.gaps) if (at >= from && at - ms <= to && ms > best.ms) best = { ms, at };
    return best;
  }

  private onChunk(chunk: Buffer): void {
    const now = performance.now();
    fs.writeSync(this.fd, chunk);
    const text = this.carry + chunk.toString('latin1');
    const lines = text.split('\n');
    this.carry = lines.pop()!;
    let got = 0;
    for (const l of lines) if (l.startsWith('{"t":"msg"')) got++;
    if (got === 0) return;
    if (this.msgs === 0) this.firstAt = now;
    else if (now - this.lastAt > 5) this.gaps.push([now, now - this.lastAt]);
    this.lastAt = now;
    this.msgs += got;
  }
}

export interface LabDaemon extends WatchedDaemon {
  log: TappedLog;
}

export interface LabFloodOptions {
  mode: 'active' | 'passive' | 'single';
  /** Messages each daemon sends. */
  count: number;
  size: number;
  service: 'AGREED' | 'SAFE';
  dir: string;
  bin: string;
  /** Extra node options (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

/** spread.conf for the lab: one D address per link (or link 0 only for 'single'), clients on 127.0.0.1. */
export function labConfig(lab: NetnsLab, mode: LabFloodOptions['mode']): string {
  const lines = lab.hosts.map((_, h) => {
    const ds = mode === 'single' ? [lab.addresses[h][0]] : lab.addresses[h];
    return `    h${h + 1} ${lab.addresses[h][0]} { ${ds.map((a) => `D ${a}`).join(' ')} C 127.0.0.1 }`;
  });
  return `${mode === 'passive' ? 'Multipath = passive\n' : mode === 'active' ? 'Multipath = active\n' : ''}Spread_Segment unicast:4803 {\n${lines.join('\n')}\n}\n`;
}

/** Starts one flooding daemon per lab host (names h1, h2, …). */
export function startLabFlood(lab: NetnsLab, o: LabFloodOptions): LabDaemon[] {
  const conf = path.join(o.dir, `spread-${o.mode}.conf`);
  fs.writeFileSync(conf, labConfig(lab, o.mode));
  const logDir = path.join(o.dir, `logs-${o.mode}`);
  fs.mkdirSync(logDir, { recursive: true });
  const total = o.count * lab.hosts.length;
  return lab.hosts.map((_, h) => {
    const name = `h${h + 1}`;
    const log = new TappedLog(logDir, name);
    const proc = lab.spawn(h, [
      process.execPath, ...(o.nodeArgs ?? []), o.bin, 'daemon', '-c', conf, '-n', name,
      '--log', log.fifo,
      '--generate', String(o.count),
      '--expect', String(total),
      '--size', String(o.size),
      '--service', o.service,
    ]);
    // The watcher fills in `exit` later on the object it returns: extend that one, not a copy.
    return Object.assign(watchDaemon(name, proc), { log });
  });
}

export const showLabOutput = showOutput;

/** SIGTERM, then SIGKILL after `ms`; waits for the exits and the logs' ends. */
export async function stopLabDaemons(daemons: LabDaemon[], ms = 10_000): Promise<void> {
  for (const d of daemons) if (!d.exit) d.proc.kill('SIGTERM');
  await Promise.all(
    daemons.map(async (d) => {
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([d.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), ms)))]);
      clearTimeout(timer);
      if (!exited) {
        d.proc.kill('SIGKILL');
        await d.exited;
      }
    }),
  );
  // A FIFO nobody opened for writing (a daemon that died early) would wait for ever: open it once.
  for (const d of daemons) {
    try {
      fs.closeSync(fs.openSync(d.log.fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      /* no reader left, or gone */
    }
  }
  await Promise.all(daemons.map((d) => d.log.ended));
}

/** Waits until every daemon has delivered `n` messages (or `ms` passes: false). */
export async function waitDelivered(daemons: LabDaemon[], n: number, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (daemons.every((d) => d.log.msgs >= n)) return true;
    if (daemons.some((d) => d.exit)) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

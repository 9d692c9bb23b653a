// Shared by the integration tests and the benchmarks that run real daemons.
import type { ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as readline from 'node:readline';

/** The repository's root: the nearest folder above `from` with a package.json (works from src and dist). */
export function repoRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${from}`);
    dir = up;
  }
}

/** Whether a UDP socket can bind address:port right now. */
export function canBind(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => {
      s.close();
      resolve(false);
    });
    s.bind(port, address, () => s.close(() => resolve(true)));
  });
}

/** Whether a TCP server can listen on address:port right now. */
export function canListen(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, address, () => s.close(() => resolve(true)));
  });
}

/** A connected TCP (or Unix) socket. @throws the connect error. */
export function socketTo(options: net.NetConnectOpts): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(options, () => resolve(s));
    s.once('error', reject);
  });
}

/** 'connected' when something accepts TCP connections at host:port (the socket is closed at once), else the error code (ECONNREFUSED…). */
export function tcpReach(host: string, port: number): Promise<string> {
  return socketTo({ host, port }).then(
    (s) => (s.destroy(), 'connected'),
    (e: NodeJS.ErrnoException) => e.code ?? 'error',
  );
}

/**
 * A port in 20000–40000 free on every address for a daemon: UDP port and port+1 (the ring),
 * and with `clients` also TCP port (the client port).
 */
export async function freeUdpPort(addresses: readonly string[], clients = false): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    let free = true;
    for (const a of addresses) {
      for (const p of [port, port + 1]) if (free && !(await canBind(a, p))) free = false;
      if (free && clients && !(await canListen(a, port))) free = false;
    }
    if (free) return port;
  }
  throw new Error('no free port in 20000–40000');
}

/** A daemon child process as the tests and benches watch it. */
export interface WatchedDaemon {
  name: string;
  proc: ChildProcess;
  /** Its stdout and stderr, line by line. */
  out: string[];
  err: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  /** The `{"event":"done",…}` line of --generate; rejects if the process exits first. */
  done: Promise<Record<string, unknown>>;
}

/** Collects a spawned daemon's output and its done line. */
export function watchDaemon(name: string, proc: ChildProcess): WatchedDaemon {
  const d = { name, proc, out: [] as string[], err: [] as string[] } as WatchedDaemon;
  d.exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      d.exit = { code, signal };
      resolve(d.exit);
    });
  });
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => d.err.push(l));
  const lines = readline.createInterface({ input: proc.stdout! });
  d.done = new Promise((resolve, reject) => {
    lines.on('line', (l) => {
      d.out.push(l);
      if (!l.startsWith('{')) return;
      try {
        const j = JSON.parse(l) as Record<string, unknown>;
        if (j.event === 'done') resolve(j);
      } catch {
        /* not ours */
      }
    });
    void d.exited.then((e) => reject(new Error(`daemon ${name} exited (${JSON.stringify(e)}) before its done line\n${showOutput(d)}`)));
  });
  d.done.catch(() => {}); // observed by whoever waits for it
  return d;
}

/** The last lines of a daemon's stdout and stderr, for failure messages. */
export function showOutput(d: Pick<WatchedDaemon, 'name' | 'out' | 'err'>): string {
  const tail = (a: string[]) => a.slice(-15).map((l) => `    ${l.slice(0, 300)}`).join('\n');
  return `  ${d.name} stdout:\n${tail(d.out)}\n  ${d.name} stderr:\n${tail(d.err)}`;
}

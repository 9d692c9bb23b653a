// Shared by the integration tests and the benchmarks that run real daemons.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

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

// Three real daemon processes (`ringcast daemon`, the built CLI) on 127.0.0.1/.2/.3 send test
// traffic themselves (--generate); their delivery logs must satisfy the invariants and list the
// same messages in the same order. One case floods the daemons with garbage datagrams meanwhile.
// Needs `npx tsc -p .` first (it runs bin/ringcast.js, which loads dist/).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkLogs, formatReport } from '../../src/sim/checker';
import { readLogDir } from '../../src/sim/logFiles';
import type { LogEntry } from '../../src/sim/deliveryLog';
import { loadConfig } from '../../src/config';
import type { SpreadConfig } from '../../src/config/types';
import { DATA_BODY_OFFSET, HEADER_SIZE, ITEM_HEADER_SIZE, PacketType, TOKEN_FIXED_SIZE, writeHeader } from '../../src/wire/packet';
import { repoRoot, canBind, freeUdpPort, showOutput, watchDaemon, type WatchedDaemon } from '../support/repo';

const ADDRS = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
const NAMES = ['d1', 'd2', 'd3'];
const DONE_TIMEOUT_MS = 60_000;

const ROOT = repoRoot();
const BIN = path.join(ROOT, 'bin', 'ringcast.js');

interface DoneReport {
  event: 'done';
  daemon: string;
  sent: number;
  delivered: number;
  [k: string]: unknown;
}

interface Daemon extends WatchedDaemon {
  done: Promise<DoneReport>;
}

function startDaemon(conf: string, name: string, args: string[]): Daemon {
  const proc = spawn(process.execPath, [BIN, 'daemon', '-c', conf, '-n', name, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  return watchDaemon(name, proc) as Daemon;
}

async function waitDone(daemons: Daemon[]): Promise<DoneReport[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no done line from every daemon within ${DONE_TIMEOUT_MS / 1000} s\n${daemons.map(showOutput).join('\n')}`)),
      DONE_TIMEOUT_MS,
    );
  });
  try {
    return await Promise.race([Promise.all(daemons.map((d) => d.done)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then wait for a clean exit; SIGKILL (and fail) if it takes more than 10 s. */
async function stopAll(daemons: Daemon[]): Promise<void> {
  for (const d of daemons) if (!d.exit) d.proc.kill('SIGTERM');
  await Promise.all(
    daemons.map(async (d) => {
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([d.exited, new Promise<null>((r) => (timer = setTimeout(() => r(null), 10_000)))]);
      clearTimeout(timer);
      if (!exited) {
        d.proc.kill('SIGKILL');
        await d.exited;
        assert.fail(`daemon ${d.name} did not exit within 10 s of SIGTERM\n${showOutput(d)}`);
      }
      assert.equal(exited.code, 0, `daemon ${d.name} exits 0 after SIGTERM (${JSON.stringify(exited)})\n${showOutput(d)}`);
    }),
  );
}

function msgIds(log: readonly LogEntry[]): string[] {
  const ids: string[] = [];
  for (const e of log) if (e.t === 'msg') ids.push(e.id);
  return ids;
}

interface RunSpec {
  label: string;
  count: number;
  size: number;
  service: 'AGREED' | 'SAFE';
  /** Called once every daemon has printed something; returns a stopper. */
  meanwhile?: (ctx: { port: number; config: SpreadConfig; daemons: Daemon[] }) => () => void;
}

describe('integration: three daemons on loopback', function () {
  this.timeout(DONE_TIMEOUT_MS + 30_000);
  let tmp = '';
  let daemons: Daemon[] = [];
  let stoppers: (() => void)[] = [];

  before(async function () {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) throw new Error('build first: npx tsc -p .');
    for (const a of ADDRS) {
      if (!(await canBind(a, 0))) {
        this.skip(); // 127.0.0.2/3 are not usable here (not Linux?)
      }
    }
  });

  afterEach(async () => {
    for (const s of stoppers) s();
    stoppers = [];
    for (const d of daemons) if (!d.exit) d.proc.kill('SIGKILL');
    await Promise.all(daemons.map((d) => d.exited));
    daemons = [];
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    tmp = '';
  });

  async function run(spec: RunSpec): Promise<{ logs: Map<string, LogEntry[]>; reports: DoneReport[] }> {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-it-'));
    const logDir = path.join(tmp, 'logs');
    fs.mkdirSync(logDir);
    const port = await freeUdpPort(ADDRS);
    const conf = path.join(tmp, 'spread.conf');
    fs.writeFileSync(conf, `Spread_Segment 127.0.0.255:${port} {\n${NAMES.map((n, i) => `    ${n} ${ADDRS[i]}\n`).join('')}}\n`);
    const config = loadConfig(conf);
    const total = spec.count * NAMES.length;
    for (const name of NAMES) {
      daemons.push(
        startDaemon(conf, name, [
          '--log', path.join(logDir, `${name}.jsonl`),
          '--generate', String(spec.count),
          '--expect', String(total),
          '--size', String(spec.size),
          '--service', spec.service,
        ]),
      );
    }
    if (spec.meanwhile) stoppers.push(spec.meanwhile({ port, config, daemons }));
    const reports = await waitDone(daemons);
    for (const s of stoppers) s();
    stoppers = [];
    for (const d of daemons) assert.equal(d.exit, undefined, `daemon ${d.name} still running after its done line`);
    await stopAll(daemons);

    for (const r of reports) {
      assert.equal(r.sent, spec.count, `${r.daemon} sent`);
      assert.ok(r.delivered >= total, `${r.daemon} delivered ${r.delivered} of ${total}`);
    }
    const logs = readLogDir(logDir);
    assert.deepEqual([...logs.keys()], NAMES);
    const report = checkLogs(logs, { invariants: [1, 2, 3, 4, 5, 9], faultFree: true, label: spec.label });
    assert.ok(report.ok, formatReport(report));

    const order = NAMES.map((n) => msgIds(logs.get(n)!));
    assert.equal(order[0].length, total, `d1 delivered ${order[0].length} of ${total}`);
    assert.equal(new Set(order[0]).size, total);
    for (let i = 1; i < order.length; i++) {
      const k = order[i].findIndex((id, j) => id !== order[0][j]);
      assert.equal(k === -1 && order[i].length === order[0].length, true, `${NAMES[i]} delivers the same ids in the same order as d1 (first difference at #${k}: ${order[i][k]} vs ${order[0][k]})`);
    }
    for (const n of NAMES) {
      const log = logs.get(n)!;
      const msgs = log.filter((e): e is Extract<LogEntry, { t: 'msg' }> => e.t === 'msg');
      assert.ok(msgs.every((m) => m.len === spec.size && m.svc === spec.service), `${n}: every message has ${spec.size} bytes and service ${spec.service}`);
      assert.equal(log.filter((e) => e.t === 'sent').length, spec.count, `${n}: ${spec.count} sent lines`);
    }
    if (process.env.RINGCAST_IT_VERBOSE) for (const r of reports) console.log(JSON.stringify(r));
    return { logs, reports };
  }

  it('AGREED: 3 × 3000 messages of 1000 bytes, one order everywhere', async () => {
    await run({ label: 'AGREED 1000 B', count: 3000, size: 1000, service: 'AGREED' });
  });

  it('SAFE: 3 × 150 messages of 20000 bytes (fragmented), one order everywhere', async () => {
    await run({ label: 'SAFE 20000 B', count: 150, size: 20000, service: 'SAFE' });
  });

  it('garbage datagrams to every daemon while the ring runs: they keep running and finish correctly', async () => {
    let sentGarbage = 0;
    await run({
      label: 'AGREED 300 B + garbage',
      count: 2000,
      size: 300,
      service: 'AGREED',
      meanwhile: ({ port, config, daemons }) => {
        const sock = dgram.createSocket('udp4');
        sock.on('error', () => {}); // ICMP unreachable after a daemon exits: not our concern
        sock.bind(0, '127.0.0.1');
        const ids = config.hosts.map((h) => h.id);
        let seed = 12345;
        const rand = (n: number) => {
          seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
          return seed % n;
        };
        const send = (buf: Buffer) => {
          for (const a of ADDRS) sock.send(buf, port, a);
          sentGarbage += ADDRS.length;
        };
        const burst = () => {
          for (let k = 0; k < 8; k++) send(garbage(k, rand, config.configHash, ids, daemons));
        };
        burst(); // some arrive before any traffic
        const timer = setInterval(burst, 5);
        return () => {
          clearInterval(timer);
          sock.close();
        };
      },
    });
    if (process.env.RINGCAST_IT_VERBOSE) console.log(`garbage datagrams sent: ${sentGarbage}`);
    assert.ok(sentGarbage > 0);
  });
});

/**
 * One garbage datagram: random bytes, truncated real-looking headers, headers of another
 * version/type/configuration, packets from a non-member, and (when the daemons' ring id and
 * incarnations can be read from their output) ring packets from a member of the running ring
 * whose bodies are malformed. None of it is a well-formed packet of the running ring.
 */
function garbage(k: number, rand: (n: number) => number, hash: number, ids: number[], daemons: Daemon[]): Buffer {
  const stamp = { configHash: hash, ringSeq: 1 + rand(1000), ringRep: ids[rand(3)], sender: ids[rand(3)], incarnation: rand(1000) };
  switch (k % 8) {
    case 0: {
      const b = Buffer.alloc(1 + rand(1400));
      for (let i = 0; i < b.length; i++) b[i] = rand(256);
      return b;
    }
    case 1: {
      // a real-looking header cut short, or with a length field that lies
      const b = Buffer.alloc(HEADER_SIZE + rand(200));
      writeHeader(b, [PacketType.DATA, PacketType.TOKEN, PacketType.JOIN][rand(3)], stamp);
      return rand(2) ? b.subarray(0, rand(b.length)) : (b.writeUInt32BE(b.length + 1 + rand(50), 4), b);
    }
    case 2: {
      const b = Buffer.alloc(HEADER_SIZE + rand(100));
      writeHeader(b, PacketType.DATA, { ...stamp, configHash: (hash ^ (1 + rand(0xffff))) >>> 0 });
      return b;
    }
    case 3: {
      const b = Buffer.alloc(HEADER_SIZE + rand(100));
      writeHeader(b, PacketType.DATA, stamp);
      b[2] = 2 + rand(250); // another wire version
      return b;
    }
    case 4: {
      const b = Buffer.alloc(HEADER_SIZE + rand(100));
      writeHeader(b, PacketType.TOKEN, stamp);
      b[3] = 100 + rand(100); // unknown type
      return b;
    }
    case 5: {
      // a whole data packet from a daemon that is not in the configuration
      const b = Buffer.alloc(DATA_BODY_OFFSET + 40);
      let sender = 0x7000000 + rand(1000);
      while (ids.includes(sender)) sender++;
      writeHeader(b, [PacketType.DATA, PacketType.TOKEN, PacketType.JOIN, PacketType.PROBE][rand(4)], { ...stamp, sender });
      return b;
    }
    default: {
      const ring = currentRing(daemons, ids);
      if (!ring) return garbage(rand(6), rand, hash, ids, daemons);
      // the running ring's stamp, from a member, with a body no decoder accepts
      const s = rand(3);
      const member = { configHash: hash, ringSeq: ring.ringSeq, ringRep: ring.ringRep, sender: ids[s], incarnation: ring.incarnations[s] };
      if (k % 2) {
        // no items (count 0), or an item header cut short
        const b = Buffer.alloc(DATA_BODY_OFFSET + rand(ITEM_HEADER_SIZE));
        writeHeader(b, PacketType.DATA, member);
        b.writeUInt32BE(1 + rand(100000), HEADER_SIZE);
        if (b.length > DATA_BODY_OFFSET) b.writeUInt16BE(1 + rand(5), HEADER_SIZE + 4);
        return b;
      }
      const b = Buffer.alloc(TOKEN_FIXED_SIZE + 1 + rand(3)); // no whole number of rtr entries
      writeHeader(b, PacketType.TOKEN, member);
      return b;
    }
  }
}

/** The running ring as the daemons print it ("regular configuration <seq>.<rep>: d1@inc ..."), if they do. */
function currentRing(daemons: Daemon[], ids: number[]): { ringSeq: number; ringRep: number; incarnations: number[] } | undefined {
  const d = daemons[0];
  for (let i = d.out.length - 1; i >= 0; i--) {
    const m = /regular configuration (\d+)\.(\w+)[^:]*: (.*)$/.exec(d.out[i]);
    if (!m) continue;
    const members = m[3].trim().split(/\s+/);
    if (members.length !== NAMES.length) return undefined;
    const incarnations: number[] = [];
    for (const n of NAMES) {
      const e = members.find((x) => x === n || x.startsWith(`${n}@`));
      if (!e) return undefined;
      incarnations.push(e.includes('@') ? Number(e.split('@')[1]) : 1);
    }
    const rep = NAMES.indexOf(m[2]);
    if (rep < 0 || !Number.isSafeInteger(Number(m[1]))) return undefined;
    return { ringSeq: Number(m[1]), ringRep: ids[rep], incarnations };
  }
  return undefined;
}

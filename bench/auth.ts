// What authenticated daemon traffic costs (AuthKeyFile, src/wire/auth.ts).
//
//   npx tsc -p . && node dist/bench/auth.js [--only micro|e2e] [--rounds R] [--messages N] [--quick] [--write]
//
// 1. Per datagram (benchmark.js): the constructions node:crypto offers, on the datagram sizes a
//    ring sends (a token, a 1 KB message on Ethernet, a packed loopback datagram); each makes its
//    objects per datagram, as it must (a cipher object cannot be reused), then DatagramAuth itself.
// 2. End to end: AGREED 1 KB throughput of three daemons on 127.0.0.1–3 (bench/e2e.ts) without a
//    key, with one (AES-256-GCM as a MAC) and with Encryption = on; the three alternate round by
//    round so that drift in the machine's load hits them alike; medians.
// --write appends the Markdown section to bench/RESULTS.md.
import Benchmark from 'benchmark';
import { createCipheriv, createHmac, randomBytes, type CipherGCM } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { AUTH_KEY_BYTES, DatagramAuth } from '../src/wire/auth';
import { runE2eCase, snapshotBuild, type E2eCase, type E2eResult } from './e2e';
import { markdownTable, num, progress } from './format';
import { commit, machine } from './machine';

const RESULTS_FILE = path.resolve(__dirname, '../../bench/RESULTS.md');
const MODES = ['none', 'mac', 'encrypt'] as const;
type Mode = (typeof MODES)[number];

/** Datagram sizes: a token with a few retransmit requests, one 1 KB message, a packed loopback datagram. */
const SIZES = [
  { label: 'token (80 B)', bytes: 80 },
  { label: '1 KB message (1,100 B)', bytes: 1100 },
  { label: 'loopback datagram (16,040 B)', bytes: 16040 },
];

interface Options {
  rounds: number;
  messages: number;
  quick: boolean;
  write: boolean;
  only: 'micro' | 'e2e' | null;
}

function parseOptions(argv: string[]): Options {
  const usage = 'usage: node dist/bench/auth.js [--only micro|e2e] [--rounds R] [--messages N] [--quick] [--write]';
  const { values: v } = parseArgs({
    args: argv,
    options: { rounds: { type: 'string' }, messages: { type: 'string' }, only: { type: 'string' }, quick: { type: 'boolean' }, write: { type: 'boolean' } },
  });
  const count = (name: string, text: string | undefined, dflt: number): number => {
    const n = text === undefined ? dflt : Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} takes a positive whole number (${usage})`);
    return n;
  };
  if (v.only !== undefined && v.only !== 'micro' && v.only !== 'e2e') throw new Error(`--only takes micro or e2e (${usage})`);
  const quick = v.quick ?? false;
  return {
    rounds: quick ? 1 : count('rounds', v.rounds, 5),
    messages: Math.min(count('messages', v.messages, 100_000), quick ? 20_000 : Infinity),
    quick,
    write: v.write ?? false,
    only: (v.only as Options['only'] | undefined) ?? null,
  };
}

// ---- per datagram

interface Construction {
  name: string;
  /** Returns a function that tags (or seals) one datagram. */
  make(): (p: Buffer) => unknown;
}

const KEY = randomBytes(AUTH_KEY_BYTES);

function gcmLike(cipher: 'aes-256-gcm' | 'chacha20-poly1305', encrypt: boolean): () => (p: Buffer) => unknown {
  return () => {
    const nonce = Buffer.alloc(12);
    let n = 0;
    return (p) => {
      nonce.writeUInt32BE(++n, 8);
      const c = createCipheriv(cipher, KEY, nonce, { authTagLength: 16 } as never) as unknown as CipherGCM;
      let out: Buffer | undefined;
      if (encrypt) out = c.update(p);
      else c.setAAD(p);
      c.final();
      return [out, c.getAuthTag()];
    };
  };
}

const CONSTRUCTIONS: Construction[] = [
  { name: 'HMAC-SHA256, tag cut to 16 bytes', make: () => (p) => createHmac('sha256', KEY).update(p).digest().subarray(0, 16) },
  { name: 'AES-256-GCM, datagram as AAD (GMAC)', make: gcmLike('aes-256-gcm', false) },
  { name: 'ChaCha20-Poly1305, datagram as AAD', make: gcmLike('chacha20-poly1305', false) },
  { name: 'AES-256-GCM, encrypting', make: gcmLike('aes-256-gcm', true) },
  { name: 'ChaCha20-Poly1305, encrypting', make: gcmLike('chacha20-poly1305', true) },
  { name: 'DatagramAuth.seal (mac: AES-256-GCM as a MAC)', make: () => ((a) => (p: Buffer) => a.seal(p))(new DatagramAuth(KEY)) },
  {
    name: 'DatagramAuth.open (mac)',
    make: () => {
      const a = new DatagramAuth(KEY);
      const sealed = new Map<number, Buffer>();
      return (p) => a.open(sealed.get(p.length) ?? sealed.set(p.length, a.sealToBuffer(p)).get(p.length)!);
    },
  },
  { name: 'DatagramAuth.seal (encrypt)', make: () => ((a) => (p: Buffer) => a.seal(p))(new DatagramAuth(KEY, { encrypt: true })) },
  {
    name: 'DatagramAuth.open (encrypt)',
    make: () => {
      const a = new DatagramAuth(KEY, { encrypt: true });
      const sealed = new Map<number, Buffer>();
      return (p) => a.open(sealed.get(p.length) ?? sealed.set(p.length, a.sealToBuffer(p)).get(p.length)!);
    },
  },
];

interface MicroRow {
  name: string;
  /** µs per datagram, per size. */
  micros: number[];
  rme: number[];
}

let sink: unknown;

async function runMicro(quick: boolean): Promise<MicroRow[]> {
  const suite = new Benchmark.Suite('auth');
  const timing: Benchmark.Options = quick ? { minSamples: 5, maxTime: 0.3 } : { minSamples: 20, maxTime: 1.5 };
  const rows = CONSTRUCTIONS.map((c) => ({ name: c.name, micros: SIZES.map(() => NaN), rme: SIZES.map(() => NaN) }));
  CONSTRUCTIONS.forEach((c, ci) =>
    SIZES.forEach((s, si) => {
      const p = randomBytes(s.bytes);
      const f = c.make();
      if (f(p) === null) throw new Error(`${c.name} fails on its own datagram`);
      suite.add(`${ci}/${si}`, () => (sink = f(p)), timing);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    suite
      .on('cycle', (ev: Benchmark.Event) => {
        const b = ev.target as unknown as Benchmark;
        if (b.error) return reject(b.error);
        const [ci, si] = String(b.name).split('/').map(Number) as [number, number];
        rows[ci]!.micros[si] = 1e6 / b.hz;
        rows[ci]!.rme[si] = b.stats.rme;
        progress(`micro: ${CONSTRUCTIONS[ci]!.name}, ${SIZES[si]!.label}: ${(1e6 / b.hz).toFixed(2)} µs ±${b.stats.rme.toFixed(1)}%`);
      })
      .on('complete', () => resolve())
      .run({ async: false });
  });
  void sink;
  return rows;
}

function microMarkdown(rows: MicroRow[]): string {
  const big = SIZES.length - 1;
  return [
    '### Per datagram (benchmark.js, one core)',
    '',
    'µs per datagram ± relative margin of error (95%), objects made per datagram as the daemon must; the last column is the throughput on packed loopback datagrams. DatagramAuth rows are what the daemons run (key derived once, nonce counter; seal returns the body and a 28-byte trailer for a gathering send, open checks and returns a view).',
    '',
    markdownTable(
      ['construction', ...SIZES.map((s) => `>${s.label}`), '>MB/s at 16 KB'],
      rows.map((r) => [r.name, ...r.micros.map((m, i) => `${m.toFixed(2)} ±${r.rme[i]!.toFixed(0)}%`), num(SIZES[big]!.bytes / r.micros[big]!, 0)]),
    ),
  ].join('\n');
}

// ---- end to end

interface E2eRow {
  label: string;
  results: Record<Mode, E2eResult[]>;
}

async function runEndToEnd(o: Options, launcher: string): Promise<E2eRow[]> {
  const cases: { label: string; c: E2eCase }[] = [
    { label: '1 KB AGREED, 3 senders', c: { size: 1024, service: 'AGREED', senders: 3, messages: o.messages } },
    { label: '1 KB AGREED, 1 sender', c: { size: 1024, service: 'AGREED', senders: 1, messages: o.messages } },
  ];
  const rows: E2eRow[] = cases.map((x) => ({ label: x.label, results: { none: [], mac: [], encrypt: [] } }));
  for (let round = 0; round < o.rounds; round++) {
    for (const [i, x] of cases.entries()) {
      for (const mode of MODES) {
        const r = await runE2eCase({ ...x.c, ...(mode === 'none' ? {} : { auth: mode }) }, launcher);
        rows[i]!.results[mode].push(r);
        progress(`e2e round ${round + 1}/${o.rounds}: ${x.label}, ${mode}: ${r.problem || `${num(r.msgsPerSec)} msgs/s`}`);
      }
    }
  }
  return rows;
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** CPU of the three daemons per message, µs, from the traffic's start (the done lines' cpuMs). */
const cpuPerMessage = (r: E2eResult): number =>
  (1000 * r.reports.reduce((sum, d) => sum + ((d as { cpuMs?: number }).cpuMs ?? NaN), 0)) / r.messages;

function e2eMarkdown(rows: E2eRow[], o: Options): string {
  const ok = (rs: E2eResult[]) => rs.filter((r) => !r.problem && r.reports.length === 3);
  const range = (xs: number[], digits: number) => `${num(median(xs), digits)} (${num(Math.min(...xs), digits)}–${num(Math.max(...xs), digits)})`;
  const change = (x: number, base: number) => (x === base ? '' : `${x > base ? '+' : ''}${(100 * (x / base - 1)).toFixed(0)}%`);
  const table: (string | number)[][] = [];
  for (const r of rows) {
    const base = ok(r.results.none);
    for (const mode of MODES) {
      const rs = ok(r.results[mode]);
      const failed = r.results[mode].length - rs.length;
      const rate = rs.map((x) => x.msgsPerSec);
      const cpu = rs.map(cpuPerMessage);
      table.push([
        r.label,
        { none: 'no key', mac: 'AuthKeyFile', encrypt: 'AuthKeyFile + Encryption = on' }[mode],
        `${range(rate, 0)}${failed ? `, ${failed} failed` : ''}`,
        change(median(rate), median(base.map((x) => x.msgsPerSec))),
        range(cpu, 1),
        change(median(cpu), median(base.map(cpuPerMessage))),
      ]);
    }
  }
  return [
    '### End to end: 3 daemons on 127.0.0.1–3, AGREED 1 KB',
    '',
    `\`ringcast daemon --generate --expect\` as in the end-to-end bench (bench/e2e.ts), ${num(o.messages)} messages per run, ${o.rounds} round(s); in each round the three variants run one after the other. **msgs/s**: mean over the receiving daemons, median of the rounds (range in brackets). **CPU µs/msg**: user + system time of the three daemons from the start of the traffic to their done line, per message: what the work costs, less sensitive than msgs/s to other load on the machine. **vs no key**: change of the medians.`,
    '',
    markdownTable(['case', 'daemon traffic', '>msgs/s', '>vs no key', '>CPU µs/msg', '>vs no key'], table),
  ].join('\n');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const o = parseOptions(argv);
  const started = new Date();
  const header = [
    `## ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC — authenticated daemon traffic (bench/auth.ts)${o.quick ? ' (quick)' : ''}`,
    '',
    `- Machine: ${machine()}`,
    `- Commit: ${commit()}`,
    `- Command: \`npx tsc -p . && node dist/bench/auth.js${argv.length ? ` ${argv.join(' ')}` : ''}\``,
  ];
  const build = snapshotBuild();
  const body: string[] = [];
  try {
    if (o.only !== 'e2e') body.push(microMarkdown(await runMicro(o.quick)));
    if (o.only !== 'micro') body.push(e2eMarkdown(await runEndToEnd(o, build.launcher), o));
  } finally {
    build.remove();
  }
  header.push(`- Took ${((Date.now() - started.getTime()) / 60_000).toFixed(1)} min`);
  const section = [...header, '', ...body.flatMap((b) => [b, ''])].join('\n');
  process.stdout.write(section);
  if (o.write) {
    const existing = fs.readFileSync(RESULTS_FILE, 'utf8');
    fs.writeFileSync(RESULTS_FILE, `${existing.trimEnd()}\n\n${section}`);
    progress(`appended to ${path.relative(process.cwd(), RESULTS_FILE)}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});

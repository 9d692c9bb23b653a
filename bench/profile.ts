// Reads a V8 .cpuprofile (node --cpu-prof) and sums self time per function.
//
//   node dist/bench/profile.js FILE.cpuprofile [TOP] [--all]
// prints self time by area and the top functions; --all keeps the start-up samples.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  /** "name (file:line)", or V8's own "(garbage collector)", "(program)", "(idle)". */
  fn: string;
  ms: number;
  /** Share of the busy (non-idle) sampled time, %. */
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  top: SelfTime[];
  /** Self time rolled up by where the code lives (ringcast folder, Node module, GC…). */
  areas: SelfTime[];
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const name = functionName || '(anonymous)';
  if (!url) return name;
  // node:internal/… and file:///…/dist/src/core/ring/ring.js → the last two path parts.
  const file = url.replace(/^file:\/\//, '').split(/[\\/]/).slice(-2).join('/');
  return `${name} (${file}:${lineNumber + 1})`;
}

// Our compiled code: dist/src/…, dist/bench/…, or a bench run's copy of dist/src (bench/e2e.ts).
const OUR_CODE = /\/dist\/(?:\.bench-snapshot-[^/]+\/)?((?:src|bench)(?:\/.*)?)\/[^/]+\.js$/;
const RING_CORE = /\/dist\/(?:\.bench-snapshot-[^/]+\/)?src\/core\//;

/** Where a function lives, coarsely: enough to tell our code from Node's and from GC. */
function area(node: ProfileNode): string {
  const { functionName, url } = node.callFrame;
  if (!url) {
    if (functionName === '(garbage collector)' || functionName === '(program)' || functionName === '(idle)') return functionName;
    return 'native builtins (e.g. latin1Slice, copy)';
  }
  const ours = OUR_CODE.exec(url);
  if (ours) return `ringcast ${ours[1]}`;
  if (/^node:(internal\/)?dgram/.test(url)) return 'node:dgram (UDP send/receive)';
  if (/^node:(internal\/)?buffer/.test(url)) return 'node:buffer (Buffer reads/writes/slices)';
  if (url.startsWith('node:')) return 'other Node internals';
  if (url.includes('/node_modules/')) return 'dependencies';
  return 'other';
}

function rank(totals: Map<string, number>, busyMs: number, top: number): SelfTime[] {
  return [...totals.entries()]
    .filter(([fn]) => fn !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, ms]) => ({ fn, ms, pct: busyMs > 0 ? (100 * ms) / busyMs : 0 }));
}

/**
 * Self time per function and per area. Samples before the first one in `startAt` (a URL pattern;
 * default: the ring core) are skipped, so process start-up (module loading, config) does not
 * count; pass null to keep everything.
 */
export function summarizeProfile(file: string, top = 12, startAt: RegExp | null = RING_CORE): ProfileSummary {
  const prof = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>(prof.nodes.map((n) => [n.id, n]));
  let first = 0;
  if (startAt) {
    first = prof.samples.findIndex((id) => startAt.test(byId.get(id)?.callFrame.url ?? ''));
    if (first < 0) first = 0;
  }
  const selfMs = new Map<string, number>();
  const areaMs = new Map<string, number>();
  let totalMs = 0;
  // timeDeltas[i] is the time since the previous sample; it is charged to sample i's function.
  for (let i = first; i < prof.samples.length; i++) {
    const ms = (prof.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(prof.samples[i]);
    if (!node || ms <= 0) continue;
    const key = label(node);
    selfMs.set(key, (selfMs.get(key) ?? 0) + ms);
    const where = area(node);
    areaMs.set(where, (areaMs.get(where) ?? 0) + ms);
    totalMs += ms;
  }
  const idleMs = selfMs.get('(idle)') ?? 0;
  const busyMs = totalMs - idleMs;
  return { totalMs, idleMs, busyMs, top: rank(selfMs, busyMs, top), areas: rank(areaMs, busyMs, 20) };
}

/** The newest .cpuprofile in a directory (node names them by time and pid). */
export function findProfile(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  files.sort();
  return files.length > 0 ? path.join(dir, files[files.length - 1]) : undefined;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const keepStartup = args.includes('--all');
  const [file, topArg] = args.filter((a) => a !== '--all');
  if (!file) {
    process.stderr.write('usage: node dist/bench/profile.js FILE.cpuprofile [TOP] [--all]\n');
    process.exit(2);
  }
  const s = summarizeProfile(file, topArg ? Number(topArg) : 25, keepStartup ? null : undefined);
  process.stdout.write(`sampled ${s.totalMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms, busy ${s.busyMs.toFixed(0)} ms\n`);
  const print = (t: SelfTime) => process.stdout.write(`${t.pct.toFixed(1).padStart(5)}%  ${t.ms.toFixed(0).padStart(7)} ms  ${t.fn}\n`);
  process.stdout.write('\nby area (self time, % of busy):\n');
  s.areas.forEach(print);
  process.stdout.write('\nby function:\n');
  s.top.forEach(print);
}

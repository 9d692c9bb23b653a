// The invariant checker: reads the delivery logs of one run (one log per daemon, or per
// client) and checks the ten properties of shared/design/invariants.md.
//
// Model of a log
// - Line numbers are 1-based entry indices (= file lines, see logFiles.ts).
// - A process's log is cut into segments by its *regular* conf lines: segment k holds what
//   the process delivered from its k-th regular configuration up to the next regular one,
//   transitional part (after a transitional conf line) included. Deliveries before the first
//   regular conf line (all of them, for a log with no conf lines) belong to an implicit
//   configuration "(implicit)" whose members are every process in the map.
// - Names: a process is known by its log name (the map key) and by a member name — the name
//   that conf member lists and the sender part of message ids use. For a daemon both are the
//   daemon name; for a client the member name is its private group ("#name#daemon"). It is
//   `memberNames[log]` if given, else the sender part of the log's 'sent' ids, else the one
//   member "#<log>#…" of its conf lines, else the log name. Several logs may share a member
//   name: the incarnations of a restarted daemon (the simulator writes "d3@2.jsonl", sender
//   "d3@2", memberNames d3@2 → d3). A member name in a configuration then means the
//   incarnation(s) that installed that configuration.
// - Client logs (member names starting with '#', or mode 'client'): a client delivers only
//   the messages of the groups it is in, so a missing delivery of m at client q counts only
//   when m is "expected at q": one of m's groups is q's private group or a (non-private) group
//   q delivered something in. For daemon logs every message is expected everywhere. Each log
//   is assumed to hold one stream of configurations (a daemon, or a client in one group).
// - A message's service is the one on its 'sent' line, else on its first delivery.
// - Ids are unique per run: a restarted process continues its counter in the same log, or
//   starts a new log under a new sender name. Ring ids never repeat within one log.
// - Checks that need "everyone eventually delivers" (5, 8, 9, 10) assume the logs end after
//   the run went quiet.
// Each invariant stops at its first violation; the report names it with processes, lines
// and message ids.
import { InvariantViolation } from '../errors';
import { SERVICE_NAMES, type ServiceName } from '../core/service';
import { parseMessageId, type LogEntry } from './deliveryLog';

export const INVARIANT_NAMES: Readonly<Record<number, string>> = {
  1: 'integrity',
  2: 'total order',
  3: 'FIFO',
  4: 'causal',
  5: 'self delivery',
  6: 'membership agreement',
  7: 'virtual synchrony',
  8: 'safe delivery',
  9: 'reliability',
  10: 'liveness',
};
export const ALL_INVARIANTS: readonly number[] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
export const IMPLICIT_RING = '(implicit)';

export interface CheckOptions {
  /** Which of 1..10 to check; default all. */
  invariants?: readonly number[];
  /** Log names of processes that crashed at some point (exempt from 5, 8, 9; not live in 10). */
  crashed?: Iterable<string>;
  /** The run had no membership change: invariant 9 applies to the whole run. */
  faultFree?: boolean;
  /**
   * Log names of the processes that are up and connected at the end (invariant 10). Default:
   * every process not in `crashed`, plus crashed ones that end in the common final
   * configuration (restarted and rejoined).
   */
  liveProcesses?: readonly string[];
  /**
   * Orders ring ids for invariant 6: negative when a is older than b, positive when newer,
   * 0/undefined/NaN when they cannot be compared (then only uniqueness is checked). Default
   * `defaultRingOrder`: compares the leading integer of "N", "N.rest" or "N:rest".
   */
  ringOrder?: (a: string, b: string) => number | undefined;
  /** Log name → member name, where the inference described above is not right. */
  memberNames?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** 'auto' (default): client logs when member names start with '#'. */
  mode?: 'auto' | 'daemon' | 'client';
  /** Services that invariant 2 orders; default AGREED and SAFE. */
  orderedServices?: readonly ServiceName[];
  /** Names the run (e.g. "seed 42") in every violation message. */
  label?: string;
}

/** One event of a violation: a line of a process's log. */
export interface EventRef {
  process: string;
  line: number;
  id?: string;
  ring?: string;
}

export interface InvariantResult {
  invariant: number;
  name: string;
  ok: boolean;
  /** How many elementary facts were checked (deliveries, pairs, …; per invariant). */
  checked: number;
  violation?: string;
  /** The offending events of the violation. */
  events?: EventRef[];
}

export interface CheckReport {
  ok: boolean;
  results: InvariantResult[];
  firstViolation?: InvariantViolation;
  label?: string;
}

/** Leading integer of "N", "N.x" or "N:x"; compares those, undefined otherwise or when equal. */
export function defaultRingOrder(a: string, b: string): number | undefined {
  const na = leadingNumber(a);
  const nb = leadingNumber(b);
  if (na === undefined || nb === undefined || na === nb) return undefined;
  return na < nb ? -1 : 1;
}

function leadingNumber(s: string): number | undefined {
  const m = /^(\d+)(?:[.:]|$)/.exec(s);
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------------------------------
// The model

const SVC_UNRELIABLE = SERVICE_NAMES.indexOf('UNRELIABLE');
const SVC_SAFE = SERVICE_NAMES.indexOf('SAFE');
const svcCode = new Map<string, number>(SERVICE_NAMES.map((n, i) => [n, i]));

interface Conf {
  line: number;
  kind: 'regular' | 'transitional';
  ring: string;
  members: string[];
}

interface Seg {
  ring: string;
  members: string[];
  /** Line of its regular conf; 0 for the implicit configuration. */
  line: number;
  /** Index in Proc.confs of its regular conf, −1 for the implicit one. */
  confIdx: number;
  /** Deliveries [start, end). */
  start: number;
  end: number;
  trans: Conf[];
  /** Ring of the next regular configuration at this process. */
  next?: string;
  /** Some conf line (regular or transitional) follows the segment's start. */
  followed: boolean;
}

interface Proc {
  idx: number;
  name: string;
  member: string;
  /** Names that map to this process: member name and senders of its 'sent' ids. */
  aliases: Set<string>;
  client: boolean;
  crashed: boolean;
  // deliveries
  nDel: number;
  dId: Int32Array;
  dLine: Int32Array;
  dSeg: Int32Array;
  /** 0: regular part of its segment; k > 0: after the segment's k-th transitional conf. */
  dTrans: Int32Array;
  /** 1 when the process delivered the same id earlier. */
  dDup: Uint8Array;
  // sent lines
  nSent: number;
  sId: Int32Array;
  sLine: Int32Array;
  /** Deliveries before the sent line. */
  sDelBefore: Int32Array;
  sSeg: Int32Array;
  confs: Conf[];
  segs: Seg[];
  /** Ring → indices of segments with that ring. */
  ringSegs: Map<string, number[]>;
  /** Non-private groups it delivered messages of. */
  groups: Set<string>;
}

class Model {
  readonly procs: Proc[] = [];
  readonly byName = new Map<string, Proc>();
  /** Member name or sender name → process. */
  readonly byMember = new Map<string, Proc>();
  /** Member name → every log with that member name (several: incarnations of a restarted daemon). */
  private readonly logsOfMember = new Map<string, Proc[]>();
  // messages, by interned index
  /** Ids that are not "<sender>#<small n>", or collide with one that is. */
  private readonly gid = new Map<string, number>();
  private readonly bySender = new Map<string, number[]>();
  readonly ids: string[] = [];
  readonly sender: string[] = [];
  readonly n: number[] = [];
  readonly svc: number[] = [];
  readonly sentProc: number[] = [];
  readonly sentIdx: number[] = [];
  readonly groups: (readonly string[] | undefined)[] = [];
  clientMode = false;
  readonly allMembers: string[] = [];
  private posBuf: Int32Array | undefined;
  private posFor = -1;
  private stampBuf: Int32Array | undefined;
  private stampN = 0;

  constructor(logs: ReadonlyMap<string, readonly LogEntry[]>, opts: CheckOptions) {
    const crashed = new Set(opts.crashed ?? []);
    const given = opts.memberNames;
    const givenName = (log: string): string | undefined =>
      given === undefined
        ? undefined
        : given instanceof Map
          ? given.get(log)
          : Object.prototype.hasOwnProperty.call(given, log)
            ? (given as Record<string, string>)[log]
            : undefined;
    for (const [name, entries] of logs) this.procs.push(this.build(name, entries, crashed.has(name)));
    // repeated deliveries
    const seen = new Int32Array(this.ids.length);
    for (const p of this.procs) {
      const stamp = p.idx + 1;
      for (let i = 0; i < p.nDel; i++) {
        const g = p.dId[i];
        if (seen[g] === stamp) p.dDup[i] = 1;
        else seen[g] = stamp;
      }
    }
    // member names
    for (const p of this.procs) {
      const g = givenName(p.name);
      if (g !== undefined) p.member = g;
      else if (p.nSent > 0) p.member = this.sender[p.sId[0]];
      else {
        const prefix = `#${p.name}#`;
        const cands = new Set<string>();
        for (const c of p.confs) for (const m of c.members) if (m.startsWith(prefix)) cands.add(m);
        p.member = cands.size === 1 ? [...cands][0] : p.name;
      }
      p.aliases.add(p.member);
      for (let i = 0; i < p.nSent; i++) p.aliases.add(this.sender[p.sId[i]]);
      this.byName.set(p.name, p);
      this.allMembers.push(p.member);
    }
    for (const p of this.procs) {
      const l = this.logsOfMember.get(p.member);
      if (l) l.push(p);
      else this.logsOfMember.set(p.member, [p]);
    }
    for (const p of this.procs) for (const a of p.aliases) if (!this.byMember.has(a)) this.byMember.set(a, p);
    // implicit configuration: every process
    for (const p of this.procs) p.segs[0].members = this.allMembers;
    // mode
    const mode = opts.mode ?? 'auto';
    if (mode === 'client') this.clientMode = true;
    else if (mode === 'auto')
      this.clientMode = this.procs.some((p) => p.member.startsWith('#') || p.confs.some((c) => c.members.some((m) => m.startsWith('#'))));
    if (this.clientMode) {
      for (const p of this.procs) {
        p.client = true;
        let prev: readonly string[] | undefined;
        for (const e of logs.get(p.name) ?? []) {
          if (e.t !== 'msg' || e.groups === prev) continue;
          prev = e.groups;
          for (const gr of e.groups) if (!gr.startsWith('#')) p.groups.add(gr);
        }
      }
    }
  }

  /** The n of "<sender>#<n>" when it is a plain decimal below 1e8, else −1. */
  private static smallN(id: string, at: number): number {
    if (at <= 0 || at >= id.length - 1 || id.length - at > 9) return -1;
    let n = 0;
    for (let k = at + 1; k < id.length; k++) {
      const d = id.charCodeAt(k) - 48;
      if (d < 0 || d > 9) return -1;
      n = n * 10 + d;
    }
    return n;
  }

  /** Message index of an id, or undefined. Ids go through sender → n → index (cheaper than one big string map). */
  find(id: string): number | undefined {
    const at = id.lastIndexOf('#');
    const n = Model.smallN(id, at);
    if (n >= 0) {
      const g = this.bySender.get(id.slice(0, at))?.[n];
      if (g !== undefined && this.ids[g] === id) return g;
    }
    return this.gid.get(id);
  }

  private intern(id: string): number {
    const at = id.lastIndexOf('#');
    const n = Model.smallN(id, at);
    let byN: number[] | undefined;
    let snd = '';
    if (n >= 0) {
      snd = id.slice(0, at);
      byN = this.bySender.get(snd);
      if (byN === undefined) this.bySender.set(snd, (byN = []));
      const g = byN[n];
      if (g !== undefined) {
        if (this.ids[g] === id) return g;
        byN = undefined; // "x#01" after "x#1": a different id with the same number
      }
    }
    let g: number | undefined;
    if (byN === undefined) {
      g = this.gid.get(id);
      if (g !== undefined) return g;
    }
    g = this.ids.length;
    if (byN !== undefined) byN[n] = g;
    else this.gid.set(id, g);
    this.ids.push(id);
    if (n >= 0) {
      this.sender.push(snd);
      this.n.push(n);
    } else {
      const pm = parseMessageId(id);
      this.sender.push(pm ? pm.sender : '');
      this.n.push(pm ? pm.n : -1);
    }
    this.svc.push(-1);
    this.sentProc.push(-1);
    this.sentIdx.push(-1);
    this.groups.push(undefined);
    return g;
  }

  private build(name: string, entries: readonly LogEntry[], crashed: boolean): Proc {
    let nDel = 0;
    let nSent = 0;
    for (const e of entries) {
      if (e.t === 'msg') nDel++;
      else if (e.t === 'sent') nSent++;
    }
    const idx = this.procs.length;
    const p: Proc = {
      idx,
      name,
      member: name,
      aliases: new Set(),
      client: false,
      crashed,
      nDel,
      dId: new Int32Array(nDel),
      dLine: new Int32Array(nDel),
      dSeg: new Int32Array(nDel),
      dTrans: new Int32Array(nDel),
      dDup: new Uint8Array(nDel),
      nSent,
      sId: new Int32Array(nSent),
      sLine: new Int32Array(nSent),
      sDelBefore: new Int32Array(nSent),
      sSeg: new Int32Array(nSent),
      confs: [],
      segs: [],
      ringSegs: new Map(),
      groups: new Set(),
    };
    const addSeg = (s: Seg) => {
      p.segs.push(s);
      const l = p.ringSegs.get(s.ring);
      if (l) l.push(p.segs.length - 1);
      else p.ringSegs.set(s.ring, [p.segs.length - 1]);
    };
    addSeg({ ring: IMPLICIT_RING, members: [], line: 0, confIdx: -1, start: 0, end: 0, trans: [], followed: false });
    let cur = p.segs[0];
    let d = 0;
    let s = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const line = i + 1;
      if (e.t === 'msg') {
        const g = this.intern(e.id);
        if (this.svc[g] < 0) this.svc[g] = svcCode.get(e.svc) ?? -1;
        if (this.groups[g] === undefined) this.groups[g] = e.groups;
        p.dId[d] = g;
        p.dLine[d] = line;
        p.dSeg[d] = p.segs.length - 1;
        p.dTrans[d] = cur.trans.length;
        d++;
      } else if (e.t === 'sent') {
        const g = this.intern(e.id);
        if (this.sentProc[g] < 0) {
          this.sentProc[g] = idx;
          this.sentIdx[g] = s;
          this.svc[g] = svcCode.get(e.svc) ?? -1;
        }
        p.sId[s] = g;
        p.sLine[s] = line;
        p.sDelBefore[s] = d;
        p.sSeg[s] = p.segs.length - 1;
        s++;
      } else {
        const c: Conf = { line, kind: e.kind, ring: e.ring, members: e.members };
        p.confs.push(c);
        cur.followed = true;
        if (e.kind === 'regular') {
          cur.end = d;
          cur.next = e.ring;
          cur = { ring: e.ring, members: e.members, line, confIdx: p.confs.length - 1, start: d, end: d, trans: [], followed: false };
          addSeg(cur);
        } else cur.trans.push(c);
      }
    }
    cur.end = d;
    return p;
  }

  /** First delivery position of each message at p (−1: never); valid until the next call. */
  pos(p: Proc): Int32Array {
    if (this.posBuf === undefined || this.posBuf.length < this.ids.length) this.posBuf = new Int32Array(this.ids.length);
    if (this.posFor === p.idx) return this.posBuf;
    const a = this.posBuf;
    a.fill(-1);
    for (let i = 0; i < p.nDel; i++) if (!p.dDup[i]) a[p.dId[i]] = i;
    this.posFor = p.idx;
    return a;
  }

  /** A fresh mark set over message indices: mark(g), marked(g). */
  stamps(): { mark: (g: number) => void; marked: (g: number) => boolean } {
    if (this.stampBuf === undefined || this.stampBuf.length < this.ids.length) this.stampBuf = new Int32Array(this.ids.length);
    const buf = this.stampBuf;
    const st = ++this.stampN;
    return { mark: (g) => void (buf[g] = st), marked: (g) => buf[g] === st };
  }

  unreliable(g: number): boolean {
    return this.svc[g] === SVC_UNRELIABLE;
  }

  /**
   * Whether q is meant to deliver message g. Daemons: always. Clients: when one of g's groups
   * is q's private group or a group q delivered something in; a message nobody delivered
   * (groups unknown) is expected at its sender only.
   */
  expected(q: Proc, g: number): boolean {
    if (!q.client) return true;
    const gs = this.groups[g];
    if (gs === undefined) return this.sentProc[g] === q.idx || q.aliases.has(this.sender[g]);
    for (const gr of gs) {
      if (gr.startsWith('#')) {
        if (q.aliases.has(gr)) return true;
      } else if (q.groups.has(gr)) return true;
    }
    return false;
  }

  /**
   * The logs behind a configuration's member names. A name borne by several logs (incarnations)
   * means the one(s) that installed `ring`; when none did, the crashed ones (exempt from the
   * checks that ask), else all of them.
   */
  procsOf(members: readonly string[], ring?: string): Proc[] {
    const out: Proc[] = [];
    const seen = new Set<Proc>();
    for (const name of members) {
      let cands = this.logsOfMember.get(name);
      if (cands === undefined) {
        const p = this.byMember.get(name);
        if (p === undefined) continue;
        cands = [p];
      } else if (cands.length > 1 && ring !== undefined) {
        const inst = cands.filter((p) => p.ringSegs.has(ring));
        const dead = cands.filter((p) => p.crashed);
        cands = inst.length > 0 ? inst : dead.length > 0 ? dead : cands;
      }
      for (const p of cands) {
        if (!seen.has(p)) {
          seen.add(p);
          out.push(p);
        }
      }
    }
    return out;
  }

  /** The member name a sender (the part of an id before '#') appears as in configurations. */
  memberOfSender(sender: string): string {
    return this.byMember.get(sender)?.member ?? sender;
  }

}

// ---------------------------------------------------------------------------------------
// Helpers for messages

class Fail {
  constructor(
    readonly message: string,
    readonly events: EventRef[],
  ) {}
}

interface Outcome {
  checked: number;
  fail?: Fail;
}

function at(p: Proc, line: number): string {
  return `${p.name} line ${line}`;
}

function list(members: readonly string[]): string {
  const shown = members.length > 12 ? members.slice(0, 12).join(', ') + `, … (+${members.length - 12})` : members.join(', ');
  return `[${shown}]`;
}

function ev(p: Proc, line: number, id?: string, ring?: string): EventRef {
  const e: EventRef = { process: p.name, line };
  if (id !== undefined) e.id = id;
  if (ring !== undefined) e.ring = ring;
  return e;
}

function ringOf(p: Proc, di: number): string {
  return p.segs[p.dSeg[di]].ring;
}

function inConf(p: Proc, di: number): string {
  const seg = p.segs[p.dSeg[di]];
  const t = p.dTrans[di];
  return t > 0 ? `transitional configuration of ring ${seg.trans[t - 1].ring} after ring ${seg.ring}` : `configuration ${seg.ring}`;
}

/** Index of the first conf of p with line > after. */
function firstConfAfter(p: Proc, after: number): number {
  let lo = 0;
  let hi = p.confs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (p.confs[mid].line > after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

// ---------------------------------------------------------------------------------------
// 1 integrity

function checkIntegrity(m: Model): Outcome {
  let checked = 0;
  for (const p of m.procs) {
    let fail: Fail | undefined;
    let failLine = Infinity;
    const lastN = new Map<string, number>();
    for (let i = 0; i < p.nSent; i++) {
      checked++;
      const g = p.sId[i];
      const line = p.sLine[i];
      const id = m.ids[g];
      if (m.n[g] < 0) {
        fail = new Fail(`${at(p, line)} sends malformed id "${id}" (expected "<sender>#<n>")`, [ev(p, line, id)]);
        failLine = line;
        break;
      }
      if (m.sentProc[g] !== p.idx || p.sId[m.sentIdx[g]] !== g || m.sentIdx[g] !== i) {
        const q = m.procs[m.sentProc[g]];
        const ql = q.sLine[m.sentIdx[g]];
        fail = new Fail(`${id} is sent twice: ${at(q, ql)} and ${at(p, line)}`, [ev(q, ql, id), ev(p, line, id)]);
        failLine = line;
        break;
      }
      const s = m.sender[g];
      const prev = lastN.get(s) ?? 0;
      if (m.n[g] !== prev + 1) {
        fail = new Fail(
          `${at(p, line)} sends ${id} but the previous id of ${s} in this log is ${prev === 0 ? 'none' : `${s}#${prev}`} (counters run 1, 2, 3, … in submission order)`,
          [ev(p, line, id)],
        );
        failLine = line;
        break;
      }
      lastN.set(s, m.n[g]);
    }
    const pos = m.pos(p);
    for (let i = 0; i < p.nDel; i++) {
      const line = p.dLine[i];
      if (line >= failLine) break;
      checked++;
      const g = p.dId[i];
      const id = m.ids[g];
      if (m.n[g] < 0) {
        fail = new Fail(`${at(p, line)} delivers malformed id "${id}"`, [ev(p, line, id)]);
        break;
      }
      if (p.dDup[i]) {
        const fl = p.dLine[pos[g]];
        fail = new Fail(`${p.name} delivers ${id} twice: line ${fl} and line ${line}`, [ev(p, fl, id), ev(p, line, id)]);
        break;
      }
      if (m.sentProc[g] < 0) {
        const owner = m.byMember.get(m.sender[g]);
        if (owner) {
          fail = new Fail(`${at(p, line)} delivers ${id}, which was never sent (no 'sent' line for it in ${owner.name}'s log)`, [
            ev(p, line, id),
          ]);
          break;
        }
      } else if (m.sentProc[g] === p.idx) {
        const sl = p.sLine[m.sentIdx[g]];
        if (sl > line) {
          fail = new Fail(`${p.name} delivers its own ${id} at line ${line} before sending it at line ${sl}`, [ev(p, line, id), ev(p, sl, id)]);
          break;
        }
      }
    }
    if (fail) return { checked, fail };
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 2 total order: pairwise, O(processes² · deliveries) with one position array.

function checkTotalOrder(m: Model, services: readonly ServiceName[]): Outcome {
  const ordered = new Uint8Array(SERVICE_NAMES.length);
  for (const s of services) ordered[svcCode.get(s) ?? 0] = 1;
  const isOrdered = (g: number) => m.svc[g] >= 0 && ordered[m.svc[g]] === 1;
  let checked = 0;
  const P = m.procs.length;
  for (let qi = 1; qi < P; qi++) {
    const q = m.procs[qi];
    const posQ = m.pos(q);
    for (let pi = 0; pi < qi; pi++) {
      const p = m.procs[pi];
      let lastQ = -1;
      let lastP = -1;
      for (let i = 0; i < p.nDel; i++) {
        if (p.dDup[i]) continue;
        const g = p.dId[i];
        const j = posQ[g];
        if (j < 0 || !isOrdered(g)) continue;
        checked++;
        if (j < lastQ) {
          const a = m.ids[p.dId[lastP]];
          const b = m.ids[g];
          return {
            checked,
            fail: new Fail(
              `${p.name} delivers ${a} (line ${p.dLine[lastP]}) before ${b} (line ${p.dLine[i]}), but ${q.name} delivers ${b} (line ${q.dLine[j]}) before ${a} (line ${q.dLine[lastQ]})`,
              [ev(p, p.dLine[lastP], a), ev(p, p.dLine[i], b), ev(q, q.dLine[j], b), ev(q, q.dLine[lastQ], a)],
            ),
          };
        }
        lastQ = j;
        lastP = i;
      }
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 3 FIFO

/**
 * Whether the sender `s` was out of p's configuration somewhere from the delivery at `from` to
 * the one at `to`: some conf line between them leaves it out, or the configuration in force at
 * `from` (regular or transitional) already did — a message delivered in a transitional
 * configuration without its sender, then one after the sender is back, spans a partition.
 */
function confExcludes(p: Proc, from: number, to: number, s: string): boolean {
  const first = firstConfAfter(p, from);
  if (first > 0 && !p.confs[first - 1].members.includes(s)) return true;
  for (let c = first; c < p.confs.length && p.confs[c].line < to; c++) if (!p.confs[c].members.includes(s)) return true;
  return false;
}

/**
 * A leading gap: p's first message from s is s#n, n > 1, and s#missing (sent, not UNRELIABLE)
 * never reaches p. Allowed when p and s were together and then apart (a conf of p with s,
 * later one without s, both before the delivery), when s's log is absent or has no 'sent'
 * line for it (integrity's business), or when s sent it while p was not in s's configuration
 * (p joined later).
 */
function leadingGapExcused(m: Model, p: Proc, line: number, s: string, missing: number | undefined): boolean {
  let together = false;
  for (const c of p.confs) {
    if (c.line >= line) break;
    if (c.members.includes(s)) together = true;
    else if (together) return true;
  }
  if (missing === undefined || m.sentProc[missing] < 0) return true;
  const o = m.procs[m.sentProc[missing]];
  const si = m.sentIdx[missing];
  const sl = o.sLine[si];
  // A message sent before the sender's first configuration waited for it (a daemon gathering
  // sends nothing): it was sent in that first regular configuration.
  const after = firstConfAfter(o, sl);
  let c = o.confs[after - 1];
  if (c === undefined) {
    for (let k = after; k < o.confs.length && c === undefined; k++) if (o.confs[k].kind === 'regular') c = o.confs[k];
  }
  if (c === undefined) return !m.procsOf(m.allMembers, o.segs[o.sSeg[si]].ring).includes(p);
  const ring = c.kind === 'regular' ? c.ring : o.segs[o.sSeg[si]].ring;
  // A member that never installed that configuration (it failed while the ring formed, as seen
  // from the sender) was never in it.
  if (!p.ringSegs.has(ring)) return true;
  // p itself (not an earlier incarnation with its name) was in s's configuration?
  return !m.procsOf(c.members, ring).includes(p);
}

function checkFifo(m: Model): Outcome {
  let checked = 0;
  for (const p of m.procs) {
    const pos = m.pos(p);
    const last = new Map<string, number>(); // sender → delivery index of the highest n so far
    for (let i = 0; i < p.nDel; i++) {
      if (p.dDup[i]) continue;
      const g = p.dId[i];
      const n = m.n[g];
      if (n < 0) continue;
      checked++;
      const s = m.sender[g];
      const sm = m.memberOfSender(s);
      const li = last.get(s);
      const lg = li === undefined ? -1 : p.dId[li];
      const ln = li === undefined ? 0 : m.n[lg];
      if (li !== undefined && n < ln) {
        return {
          checked,
          fail: new Fail(`${p.name} delivers ${m.ids[g]} (line ${p.dLine[i]}) after ${m.ids[lg]} (line ${p.dLine[li]})`, [
            ev(p, p.dLine[li], m.ids[lg]),
            ev(p, p.dLine[i], m.ids[g]),
          ]),
        };
      }
      if (n > ln + 1) {
        // the first k in (ln, n) that p never delivers and that is not UNRELIABLE
        let missing: string | undefined;
        let missingG: number | undefined;
        for (let k = ln + 1; k < n && missing === undefined; k++) {
          const id = `${s}#${k}`;
          const mg = m.find(id);
          if (mg !== undefined && pos[mg] > i) {
            // not missing: delivered later, i.e. out of order
            return {
              checked,
              fail: new Fail(`${p.name} delivers ${m.ids[g]} (line ${p.dLine[i]}) before ${id} (line ${p.dLine[pos[mg]]})`, [
                ev(p, p.dLine[i], m.ids[g]),
                ev(p, p.dLine[pos[mg]], id),
              ]),
            };
          }
          if (mg !== undefined && (m.unreliable(mg) || !m.expected(p, mg))) continue;
          missing = id;
          missingG = mg;
        }
        const to = p.dLine[i];
        if (missing !== undefined && li === undefined && !leadingGapExcused(m, p, to, sm, missingG)) {
          return {
            checked,
            fail: new Fail(
              `${p.name} delivers ${m.ids[g]} (line ${to}) as its first message from ${s}, but never ${missing}, which ${s} sent (${at(m.procs[m.sentProc[missingG!]], m.procs[m.sentProc[missingG!]].sLine[m.sentIdx[missingG!]])}) while ${p.name} was in its configuration`,
              [ev(p, to, m.ids[g]), ev(m.procs[m.sentProc[missingG!]], m.procs[m.sentProc[missingG!]].sLine[m.sentIdx[missingG!]], missing)],
            ),
          };
        }
        if (missing !== undefined && li !== undefined && !confExcludes(p, p.dLine[li], to, sm)) {
          const from = p.dLine[li];
          return {
            checked,
            fail: new Fail(
              `${p.name} delivers ${m.ids[lg]} (line ${from}) then ${m.ids[g]} (line ${to}) but not ${missing}, and no configuration change at ${p.name} between them excludes ${sm}`,
              [ev(p, from, m.ids[lg]), ev(p, to, m.ids[g])],
            ),
          };
        }
      }
      last.set(s, i);
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 4 causal: if x delivers m1 before its 'sent m2', whoever delivers m2 delivered m1 before.
// Per deliverer r and sender process x the prefixes of x's log grow with x's send order, so
// each (r, m1 of x) pair is checked once: O(processes · deliveries).

/** r may legitimately lack m1 (delivered by x in ring R1) when delivering at line `line`. */
function causalExcusedByConf(r: Proc, line: number, ring1: string): boolean {
  const segs = r.ringSegs.get(ring1);
  if (segs === undefined) return true; // r never was in the configuration m1 was delivered in
  let best = -1;
  for (const si of segs) if (r.segs[si].line < line) best = si;
  if (best < 0) return true;
  const next = r.confs[r.segs[best].confIdx + 1];
  return next !== undefined && next.line < line;
}

function checkCausal(m: Model): Outcome {
  let checked = 0;
  const P = m.procs.length;
  for (const r of m.procs) {
    const pos = m.pos(r);
    const maxK = new Int32Array(P);
    for (let j = 0; j < r.nDel; j++) {
      if (r.dDup[j]) continue;
      const g2 = r.dId[j];
      const xi = m.sentProc[g2];
      if (xi < 0) continue;
      const x = m.procs[xi];
      const sIdx = m.sentIdx[g2];
      const k = x.sDelBefore[sIdx];
      for (let i = maxK[xi]; i < k; i++) {
        if (x.dDup[i]) continue;
        const g1 = x.dId[i];
        if (g1 === g2) continue;
        checked++;
        const pj = pos[g1];
        if (pj >= 0 && pj < j) continue;
        const id1 = m.ids[g1];
        const id2 = m.ids[g2];
        const because = `${x.name} delivered ${id1} (line ${x.dLine[i]}) before sending ${id2} (line ${x.sLine[sIdx]})`;
        if (pj > j) {
          return {
            checked,
            fail: new Fail(`${because}, but ${r.name} delivers ${id2} (line ${r.dLine[j]}) before ${id1} (line ${r.dLine[pj]})`, [
              ev(x, x.dLine[i], id1),
              ev(x, x.sLine[sIdx], id2),
              ev(r, r.dLine[j], id2),
              ev(r, r.dLine[pj], id1),
            ]),
          };
        }
        if (pj < 0 && !m.unreliable(g1) && m.expected(r, g1) && !causalExcusedByConf(r, r.dLine[j], ringOf(x, i))) {
          return {
            checked,
            fail: new Fail(
              `${because}, but ${r.name} delivers ${id2} (line ${r.dLine[j]}) and never ${id1}, with no configuration change at ${r.name} to excuse it`,
              [ev(x, x.dLine[i], id1), ev(x, x.sLine[sIdx], id2), ev(r, r.dLine[j], id2)],
            ),
          };
        }
      }
      if (k > maxK[xi]) maxK[xi] = k;
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 5 self delivery

function checkSelfDelivery(m: Model): Outcome {
  let checked = 0;
  for (const p of m.procs) {
    if (p.crashed || p.nSent === 0) continue;
    const pos = m.pos(p);
    for (let i = 0; i < p.nSent; i++) {
      const g = p.sId[i];
      if (m.sentProc[g] !== p.idx || m.unreliable(g) || !m.expected(p, g)) continue;
      checked++;
      if (pos[g] < 0) {
        return {
          checked,
          fail: new Fail(`${p.name} sends ${m.ids[g]} (line ${p.sLine[i]}) and never delivers it`, [ev(p, p.sLine[i], m.ids[g])]),
        };
      }
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 6 membership agreement

function checkMembership(m: Model, order: (a: string, b: string) => number | undefined): Outcome {
  let checked = 0;
  const first = new Map<string, { p: Proc; c: Conf }>();
  for (const p of m.procs) {
    const mine = new Map<string, Conf>();
    let prev: Conf | undefined;
    for (const c of p.confs) {
      if (c.kind !== 'regular') continue;
      checked++;
      const f = first.get(c.ring);
      if (f === undefined) first.set(c.ring, { p, c });
      else if (f.c.members.length !== c.members.length || f.c.members.some((x, i) => x !== c.members[i])) {
        return {
          checked,
          fail: new Fail(
            `ring ${c.ring} has members ${list(f.c.members)} at ${at(f.p, f.c.line)} but ${list(c.members)} at ${at(p, c.line)}`,
            [ev(f.p, f.c.line, undefined, c.ring), ev(p, c.line, undefined, c.ring)],
          ),
        };
      }
      const again = mine.get(c.ring);
      if (again !== undefined) {
        return {
          checked,
          fail: new Fail(`${p.name} installs ring ${c.ring} twice: line ${again.line} and line ${c.line}`, [
            ev(p, again.line, undefined, c.ring),
            ev(p, c.line, undefined, c.ring),
          ]),
        };
      }
      mine.set(c.ring, c);
      if (prev !== undefined) {
        const o = order(prev.ring, c.ring);
        if (o !== undefined && o > 0) {
          return {
            checked,
            fail: new Fail(`${p.name} installs ring ${c.ring} (line ${c.line}) after the newer ring ${prev.ring} (line ${prev.line})`, [
              ev(p, prev.line, undefined, prev.ring),
              ev(p, c.line, undefined, c.ring),
            ]),
          };
        }
      }
      prev = c;
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 7 virtual synchrony

function checkVirtualSynchrony(m: Model): Outcome {
  let checked = 0;
  const groups = new Map<string, { p: Proc; s: Seg }[]>();
  for (const p of m.procs) {
    for (const s of p.segs) {
      if (s.next === undefined) continue;
      const key = `${s.ring}\u0000${s.next}`;
      const l = groups.get(key);
      if (l) l.push({ p, s });
      else groups.set(key, [{ p, s }]);
    }
  }
  /** Something a delivers in segment sa that b (meant to) does not deliver in sb. */
  const missingIn = (a: Proc, sa: Seg, b: Proc, sb: Seg): number => {
    const st = m.stamps();
    for (let i = sb.start; i < sb.end; i++) if (!b.dDup[i]) st.mark(b.dId[i]);
    for (let i = sa.start; i < sa.end; i++) {
      if (a.dDup[i]) continue;
      checked++;
      if (!st.marked(a.dId[i]) && m.expected(b, a.dId[i])) return i;
    }
    return -1;
  };
  for (const list2 of groups.values()) {
    for (let x = 0; x < list2.length; x++) {
      for (let y = x + 1; y < list2.length; y++) {
        const A = list2[x];
        const B = list2[y];
        if (A.p === B.p) continue;
        for (const [a, sa, b, sb] of [
          [A.p, A.s, B.p, B.s],
          [B.p, B.s, A.p, A.s],
        ] as const) {
          const i = missingIn(a, sa, b, sb);
          if (i >= 0) {
            const id = m.ids[a.dId[i]];
            return {
              checked,
              fail: new Fail(
                `${a.name} (line ${sa.line}) and ${b.name} (line ${sb.line}) both install ring ${sa.ring} and then ring ${sa.next}, but ${a.name} delivers ${id} in it (line ${a.dLine[i]}) and ${b.name} does not`,
                [ev(a, sa.line, undefined, sa.ring), ev(b, sb.line, undefined, sb.ring), ev(a, a.dLine[i], id)],
              ),
            };
          }
        }
      }
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 8 safe delivery

function checkSafeDelivery(m: Model): Outcome {
  let checked = 0;
  interface Req {
    /** 1-based index in list2. */
    n: number;
    ring: string;
    members: string[];
    procs: Set<Proc>;
    /** Requirements: message, delivering process index, delivery index (parallel arrays). */
    g: number[];
    p: number[];
    i: number[];
  }
  const reqs = new Map<string, Req>();
  const list2: Req[] = [];
  /** reqOf[g] = 1 + index of the first Req that holds g (dedupe; a second Req may repeat it). */
  const reqOf = new Int32Array(m.ids.length);
  for (const p of m.procs) {
    for (const seg of p.segs) {
      let r: Req | undefined;
      let part = -1;
      for (let i = seg.start; i < seg.end; i++) {
        if (p.dDup[i]) continue;
        const g = p.dId[i];
        if (m.svc[g] !== SVC_SAFE) continue;
        const t = p.dTrans[i];
        if (t !== part) {
          part = t;
          const members = t > 0 ? seg.trans[t - 1].members : seg.members;
          const key = `${seg.ring}\u0000${t > 0 ? `T${seg.trans[t - 1].ring}` : 'R'}\u0000${members.join('\u0001')}`;
          r = reqs.get(key);
          if (r === undefined) {
            r = { n: list2.length + 1, ring: seg.ring, members, procs: new Set(m.procsOf(members, seg.ring)), g: [], p: [], i: [] };
            reqs.set(key, r);
            list2.push(r);
          }
        }
        const ri = r!.n;
        if (reqOf[g] === ri) continue;
        if (reqOf[g] === 0) reqOf[g] = ri;
        r!.g.push(g);
        r!.p.push(p.idx);
        r!.i.push(i);
      }
    }
  }
  for (const q of m.procs) {
    if (q.crashed) continue;
    const pos = m.pos(q);
    for (const r of list2) {
      if (!r.procs.has(q)) continue;
      for (let k = 0; k < r.g.length; k++) {
        const g = r.g[k];
        const p = m.procs[r.p[k]];
        const i = r.i[k];
        if (p === q || !m.expected(q, g)) continue;
        checked++;
        const j = pos[g];
        if (j >= 0 && q.segs[q.dSeg[j]].ring === r.ring) continue;
        const id = m.ids[g];
        const head = `SAFE ${id} is delivered by ${p.name} (line ${p.dLine[i]}) in ${inConf(p, i)} with members ${list(r.members)}, but member ${q.name}`;
        if (j < 0) return { checked, fail: new Fail(`${head} never delivers it`, [ev(p, p.dLine[i], id, r.ring)]) };
        if (ringOf(q, j) !== r.ring) {
          return {
            checked,
            fail: new Fail(`${head} delivers it in ${inConf(q, j)} (line ${q.dLine[j]})`, [
              ev(p, p.dLine[i], id, r.ring),
              ev(q, q.dLine[j], id, ringOf(q, j)),
            ]),
          };
        }
      }
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 9 reliability

/** Messages with where each was first seen (sent or delivered), without repeats; compact. */
class MsgList {
  readonly g: number[] = [];
  readonly p: number[] = [];
  readonly line: number[] = [];
  readonly sent: boolean[] = [];
  private readonly st: { mark: (g: number) => void; marked: (g: number) => boolean };
  constructor(private readonly m: Model) {
    this.st = m.stamps();
  }
  /** Adds g unless it is UNRELIABLE or already there. */
  add(g: number, p: Proc, line: number, sent: boolean): void {
    if (this.m.unreliable(g) || this.st.marked(g)) return;
    this.st.mark(g);
    this.g.push(g);
    this.p.push(p.idx);
    this.line.push(line);
    this.sent.push(sent);
  }
  source(k: number): string {
    return `${this.m.procs[this.p[k]].name} ${this.sent[k] ? 'sends' : 'delivers'} ${this.m.ids[this.g[k]]} (line ${this.line[k]})`;
  }
  event(k: number): EventRef {
    return ev(this.m.procs[this.p[k]], this.line[k], this.m.ids[this.g[k]]);
  }
}

function checkReliability(m: Model, faultFree: boolean): Outcome {
  let checked = 0;
  interface Scope {
    what: string;
    members: Proc[];
    msgs: MsgList;
  }
  const scopes: Scope[] = [];
  if (faultFree) {
    // one scope: every message sent or delivered, every process a member
    const msgs = new MsgList(m);
    for (const p of m.procs) for (let i = 0; i < p.nSent; i++) msgs.add(p.sId[i], p, p.sLine[i], true);
    for (const p of m.procs) for (let i = 0; i < p.nDel; i++) if (!p.dDup[i]) msgs.add(p.dId[i], p, p.dLine[i], false);
    scopes.push({ what: 'the fault-free run', members: m.procs, msgs });
  } else {
    // configurations never followed by another one at any process
    const followed = new Map<string, boolean>();
    const order: { ring: string; members: string[] }[] = [];
    for (const p of m.procs) {
      for (const s of p.segs) {
        const f = followed.get(s.ring);
        if (f === undefined) order.push({ ring: s.ring, members: s.members });
        followed.set(s.ring, (f ?? false) || s.followed);
      }
    }
    for (const { ring, members } of order) {
      if (followed.get(ring)) continue;
      // A member that never installed it (it failed while the ring formed) is a fault too.
      if (m.procsOf(members, ring).some((q) => !q.ringSegs.has(ring) && !q.crashed)) continue;
      const msgs = new MsgList(m);
      for (const p of m.procs) {
        for (const si of p.ringSegs.get(ring) ?? []) for (let i = 0; i < p.nSent; i++) if (p.sSeg[i] === si) msgs.add(p.sId[i], p, p.sLine[i], true);
      }
      for (const p of m.procs) {
        for (const si of p.ringSegs.get(ring) ?? []) {
          const s = p.segs[si];
          for (let i = s.start; i < s.end; i++) if (!p.dDup[i]) msgs.add(p.dId[i], p, p.dLine[i], false);
        }
      }
      scopes.push({ what: `configuration ${ring}, which no process leaves`, members: m.procsOf(members, ring), msgs });
    }
  }
  for (const sc of scopes) {
    const { msgs } = sc;
    for (const q of sc.members) {
      if (q.crashed) continue;
      const pos = m.pos(q);
      for (let k = 0; k < msgs.g.length; k++) {
        const g = msgs.g[k];
        if (!m.expected(q, g)) continue;
        checked++;
        if (pos[g] < 0) {
          return {
            checked,
            fail: new Fail(`in ${sc.what}, ${msgs.source(k)} but member ${q.name} never delivers it`, [msgs.event(k)]),
          };
        }
      }
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------
// 10 liveness

function checkLiveness(m: Model, liveNames: readonly string[] | undefined): Outcome {
  let checked = 0;
  const live = new Set<Proc>();
  if (liveNames !== undefined) {
    for (const n of liveNames) {
      const p = m.byName.get(n);
      if (p) live.add(p);
    }
  } else for (const p of m.procs) if (!p.crashed) live.add(p);
  if (live.size === 0) return { checked };
  const finalSeg = (p: Proc) => p.segs[p.segs.length - 1];
  // every live process ends in a regular configuration
  for (const p of live) {
    checked++;
    const lc = p.confs[p.confs.length - 1];
    if (lc !== undefined && lc.kind !== 'regular') {
      return {
        checked,
        fail: new Fail(`live ${p.name} ends in a transitional configuration (ring ${lc.ring}, line ${lc.line})`, [ev(p, lc.line, undefined, lc.ring)]),
      };
    }
  }
  // daemons: one common final configuration
  const liveList = [...live];
  if (!m.clientMode) {
    const a = liveList[0];
    const ra = finalSeg(a);
    for (const b of liveList) {
      const rb = finalSeg(b);
      if (rb.ring !== ra.ring) {
        return {
          checked,
          fail: new Fail(`live processes end in different configurations: ${a.name} in ${ra.ring} (line ${ra.line}), ${b.name} in ${rb.ring} (line ${rb.line})`, [
            ev(a, ra.line, undefined, ra.ring),
            ev(b, rb.line, undefined, rb.ring),
          ]),
        };
      }
    }
  }
  // per final configuration: its members are exactly the live processes that end in it
  const classes = new Map<string, Proc[]>();
  for (const p of liveList) {
    const r = finalSeg(p).ring;
    const l = classes.get(r);
    if (l) l.push(p);
    else classes.set(r, [p]);
  }
  for (const [ring, procs] of classes) {
    const rep = procs[0];
    const seg = finalSeg(rep);
    const inClass = new Set(procs);
    for (const p of procs) {
      if (!seg.members.some((x) => p.aliases.has(x))) {
        return {
          checked,
          fail: new Fail(`live ${p.name} ends in configuration ${ring} (line ${finalSeg(p).line}), which does not list it: ${list(seg.members)}`, [
            ev(p, finalSeg(p).line, undefined, ring),
          ]),
        };
      }
    }
    for (const q of m.procsOf(seg.members, ring)) {
      checked++;
      if (inClass.has(q)) continue;
      const qs = finalSeg(q);
      if (qs.ring === ring && liveNames === undefined) {
        inClass.add(q); // crashed, restarted and back in the final configuration: live
        continue;
      }
      const state = live.has(q) ? 'live' : 'not live';
      return {
        checked,
        fail: new Fail(
          `final configuration ${ring} of ${rep.name} (line ${seg.line}) lists ${q.name} (${state}), which ends in ${qs.ring === ring ? 'it but is not counted live' : `configuration ${qs.ring}${qs.line ? ` (line ${qs.line})` : ''}`}`,
          [ev(rep, seg.line, undefined, ring), ev(q, qs.line, undefined, qs.ring)],
        ),
      };
    }
    // messages sent after the final configuration reach every process in it
    const msgs = new MsgList(m);
    for (const p of inClass) {
      const last = p.segs.length - 1;
      for (let i = 0; i < p.nSent; i++) if (p.sSeg[i] === last) msgs.add(p.sId[i], p, p.sLine[i], true);
    }
    for (const q of inClass) {
      const pos = m.pos(q);
      for (let k = 0; k < msgs.g.length; k++) {
        const g = msgs.g[k];
        if (!m.expected(q, g)) continue;
        checked++;
        if (pos[g] < 0) {
          return {
            checked,
            fail: new Fail(`${msgs.source(k)} in the final configuration ${ring}, but ${q.name}, live in it, never delivers it`, [msgs.event(k)]),
          };
        }
      }
    }
  }
  return { checked };
}

// ---------------------------------------------------------------------------------------

/**
 * Checks the delivery logs of one run (map key: log name; entries in log order).
 * Never throws for bad logs: violations are in the report. Throws RangeError for an
 * invariant number outside 1..10.
 */
export function checkLogs(logs: ReadonlyMap<string, readonly LogEntry[]>, opts: CheckOptions = {}): CheckReport {
  const wanted = [...new Set(opts.invariants ?? ALL_INVARIANTS)].sort((a, b) => a - b);
  for (const k of wanted) if (!(k in INVARIANT_NAMES)) throw new RangeError(`no invariant ${k} (1..10)`);
  const m = new Model(logs, opts);
  const results: InvariantResult[] = [];
  let firstViolation: InvariantViolation | undefined;
  const prefix = opts.label ? `[${opts.label}] ` : '';
  for (const k of wanted) {
    let o: Outcome;
    switch (k) {
      case 1:
        o = checkIntegrity(m);
        break;
      case 2:
        o = checkTotalOrder(m, opts.orderedServices ?? ['AGREED', 'SAFE']);
        break;
      case 3:
        o = checkFifo(m);
        break;
      case 4:
        o = checkCausal(m);
        break;
      case 5:
        o = checkSelfDelivery(m);
        break;
      case 6:
        o = checkMembership(m, opts.ringOrder ?? defaultRingOrder);
        break;
      case 7:
        o = checkVirtualSynchrony(m);
        break;
      case 8:
        o = checkSafeDelivery(m);
        break;
      case 9:
        o = checkReliability(m, opts.faultFree ?? false);
        break;
      default:
        o = checkLiveness(m, opts.liveProcesses);
        break;
    }
    const r: InvariantResult = { invariant: k, name: INVARIANT_NAMES[k], ok: o.fail === undefined, checked: o.checked };
    if (o.fail) {
      r.violation = prefix + o.fail.message;
      r.events = o.fail.events;
      firstViolation ??= new InvariantViolation(k, INVARIANT_NAMES[k], r.violation);
    }
    results.push(r);
  }
  const report: CheckReport = { ok: firstViolation === undefined, results };
  if (firstViolation) report.firstViolation = firstViolation;
  if (opts.label !== undefined) report.label = opts.label;
  return report;
}

/**
 * checkLogs, throwing the first violation.
 * @throws InvariantViolation
 */
export function assertLogs(logs: ReadonlyMap<string, readonly LogEntry[]>, opts: CheckOptions = {}): CheckReport {
  const r = checkLogs(logs, opts);
  if (r.firstViolation) throw r.firstViolation;
  return r;
}

/** A human-readable report: one line per invariant, then the verdict. */
export function formatReport(report: CheckReport): string {
  const lines: string[] = [];
  if (report.label !== undefined) lines.push(`run: ${report.label}`);
  const w = Math.max(...report.results.map((r) => r.name.length), 0);
  for (const r of report.results) {
    const head = `${String(r.invariant).padStart(2)} ${r.name.padEnd(w)}  ${r.ok ? 'ok  ' : 'FAIL'}  (${r.checked} checked)`;
    lines.push(r.ok ? head : `${head}\n     ${r.violation}`);
  }
  const bad = report.results.filter((r) => !r.ok).length;
  lines.push(bad === 0 ? `all ${report.results.length} checked invariants hold` : `${bad} of ${report.results.length} invariants violated`);
  return lines.join('\n');
}

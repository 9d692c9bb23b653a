import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkLogs, assertLogs, formatReport, defaultRingOrder, type CheckOptions, type CheckReport } from '../../src/sim/checker';
import { readLogDir, readLogFile, writeLog, writeLogDir, LogWriter, LogFileError, parseLog } from '../../src/sim/logFiles';
import type { LogEntry, ConfEntry, SentEntry, MsgEntry } from '../../src/sim/deliveryLog';
import type { ServiceName } from '../../src/core/service';
import { InvariantViolation } from '../../src/errors';

// ---- building logs by hand -----------------------------------------------------------------

const C = (ring: string, members: string[], kind: 'regular' | 'transitional' = 'regular'): ConfEntry => ({ t: 'conf', kind, ring, members });
const T = (ring: string, members: string[]): ConfEntry => C(ring, members, 'transitional');
const S = (id: string, svc: ServiceName = 'AGREED'): SentEntry => ({ t: 'sent', id, svc });
const M = (id: string, svc: ServiceName = 'AGREED', groups: string[] = ['g']): MsgEntry => ({ t: 'msg', id, svc, groups, len: 10 });

function logsOf(o: Record<string, LogEntry[]>): Map<string, LogEntry[]> {
  return new Map(Object.entries(o));
}

function result(r: CheckReport, k: number) {
  const x = r.results.find((y) => y.invariant === k);
  assert.ok(x, `no result for invariant ${k}`);
  return x;
}

/** Asserts invariant k fails (alone, to keep it specific) with a message matching every pattern. */
function expectViolation(logs: Map<string, LogEntry[]>, k: number, patterns: RegExp[], opts: CheckOptions = {}): string {
  const r = checkLogs(logs, { ...opts, invariants: [k] });
  const x = result(r, k);
  assert.equal(x.ok, false, `invariant ${k} should fail:\n${formatReport(r)}`);
  assert.equal(r.ok, false);
  assert.ok(r.firstViolation instanceof InvariantViolation);
  assert.equal(r.firstViolation.invariant, k);
  for (const p of patterns) assert.match(x.violation ?? '', p);
  assert.ok((x.events ?? []).length > 0);
  return x.violation ?? '';
}

function expectAllOk(logs: Map<string, LogEntry[]>, opts: CheckOptions = {}): CheckReport {
  const r = checkLogs(logs, opts);
  assert.ok(r.ok, formatReport(r));
  assert.equal(r.results.length, (opts.invariants ?? [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]).length);
  return r;
}

const D3 = ['d1', 'd2', 'd3'];

/** Three daemons in one ring; each sends and all deliver in one order. */
function goodRun(): Map<string, LogEntry[]> {
  const order = ['d1#1', 'd2#1', 'd1#2', 'd3#1', 'd2#2'];
  const svc: Record<string, ServiceName> = { 'd1#1': 'AGREED', 'd2#1': 'SAFE', 'd1#2': 'FIFO', 'd3#1': 'RELIABLE', 'd2#2': 'AGREED' };
  const logs: Record<string, LogEntry[]> = {};
  for (const d of D3) {
    const l: LogEntry[] = [C('1.d1', D3)];
    let k = 0;
    for (const id of order) {
      // each daemon "sends" just before the ring orders its message
      if (id.startsWith(d + '#')) l.push(S(id, svc[id]));
      l.push(M(id, svc[id]));
      k++;
    }
    logs[d] = l;
  }
  return logsOf(logs);
}

// ---- a generator of consistent runs (EVS model) ----------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface GenOpts {
  seed: number;
  procs: number;
  sends: number;
  /** Partitions, merges and crashes. */
  faults?: boolean;
  services?: ServiceName[];
}

interface Gen {
  logs: Map<string, LogEntry[]>;
  crashed: Set<string>;
  changes: number;
}

/**
 * Messages are ordered when sent, into the sender's current configuration; members deliver
 * their configuration's order at their own pace; on a change every moving member delivers
 * the rest of the old order (some of it after a transitional conf) before the new regular conf.
 */
function generate(o: GenOpts): Gen {
  const rnd = mulberry32(o.seed);
  const services = o.services ?? (['UNRELIABLE', 'RELIABLE', 'FIFO', 'CAUSAL', 'AGREED', 'SAFE'] as ServiceName[]);
  const names = Array.from({ length: o.procs }, (_, i) => `d${i}`);
  const logs = names.map((): LogEntry[] => []);
  interface Cfg {
    ring: string;
    members: number[];
    order: { id: string; svc: ServiceName }[];
  }
  let ringN = 1;
  const cfgOf: Cfg[] = [];
  const dp = names.map(() => 0);
  const cnt = names.map(() => 0);
  const alive = names.map(() => true);
  const crashed = new Set<string>();
  let changes = 0;
  const install = (members: number[]): Cfg => {
    members.sort((a, b) => a - b);
    const c: Cfg = { ring: `${ringN++}.${names[members[0]]}`, members, order: [] };
    for (const p of members) {
      logs[p].push(C(c.ring, members.map((i) => names[i])));
      cfgOf[p] = c;
      dp[p] = 0;
    }
    return c;
  };
  install(names.map((_, i) => i));
  const deliver = (p: number) => {
    const m = cfgOf[p].order[dp[p]++];
    logs[p].push(M(m.id, m.svc));
  };
  const configs = () => [...new Set(cfgOf.filter((_, i) => alive[i]))];
  /** Members `part` of old leave it together (each flushes the old order). */
  const flush = (part: number[], transMembers: number[]) => {
    for (const p of part) {
      const c = cfgOf[p];
      const cut = dp[p] + Math.floor(rnd() * (c.order.length - dp[p] + 1));
      while (dp[p] < cut) deliver(p);
      logs[p].push(T(c.ring, transMembers.map((i) => names[i])));
      while (dp[p] < c.order.length) deliver(p);
    }
  };
  const split = (c: Cfg) => {
    const ms = c.members.filter((p) => alive[p]);
    const a = ms.filter(() => rnd() < 0.5);
    if (a.length === 0 || a.length === ms.length) return;
    const b = ms.filter((p) => !a.includes(p));
    for (const part of [a, b]) flush(part, part);
    install(a);
    install(b);
    changes++;
  };
  const merge = (x: Cfg, y: Cfg) => {
    const xs = x.members.filter((p) => alive[p]);
    const ys = y.members.filter((p) => alive[p]);
    flush(xs, xs);
    flush(ys, ys);
    install([...xs, ...ys]);
    changes++;
  };
  const crash = (p: number) => {
    const c = cfgOf[p];
    alive[p] = false;
    crashed.add(names[p]);
    const rest = c.members.filter((q) => alive[q]);
    if (rest.length > 0) {
      flush(rest, rest);
      install(rest);
    }
    changes++;
  };
  let sent = 0;
  const faultEvery = Math.max(50, Math.floor(o.sends / 8));
  let step = 0;
  while (sent < o.sends) {
    step++;
    const live = names.map((_, i) => i).filter((i) => alive[i]);
    if (o.faults && step % faultEvery === 0) {
      const r = rnd();
      const cs = configs();
      if (r < 0.45) {
        const big = cs.filter((c) => c.members.filter((p) => alive[p]).length >= 2);
        if (big.length) split(big[Math.floor(rnd() * big.length)]);
      } else if (r < 0.9) {
        if (cs.length >= 2) merge(cs[0], cs[1]);
      } else if (live.length > 2 && crashed.size === 0) {
        crash(live[Math.floor(rnd() * live.length)]);
      }
      continue;
    }
    const p = live[Math.floor(rnd() * live.length)];
    if (rnd() < 0.45) {
      const svc = services[Math.floor(rnd() * services.length)];
      const id = `${names[p]}#${++cnt[p]}`;
      logs[p].push(S(id, svc));
      cfgOf[p].order.push({ id, svc });
      sent++;
    } else if (dp[p] < cfgOf[p].order.length) deliver(p);
  }
  // heal: merge everything, then everyone catches up
  for (let cs = configs(); cs.length > 1; cs = configs()) merge(cs[0], cs[1]);
  for (let p = 0; p < names.length; p++) if (alive[p]) while (dp[p] < cfgOf[p].order.length) deliver(p);
  return { logs: new Map(names.map((n, i) => [n, logs[i]])), crashed, changes };
}

// ---- tests -------------------------------------------------------------------------------

describe('invariant checker', () => {
  describe('consistent runs pass', () => {
    it('a fault-free ring of three daemons', () => {
      const r = expectAllOk(goodRun(), { faultFree: true });
      for (const x of r.results) if (x.invariant !== 7) assert.ok(x.checked > 0, `invariant ${x.invariant} checked nothing`);
      assert.equal(result(r, 7).checked, 0, 'no process moves to a next configuration');
      assert.match(formatReport(r), /all 10 checked invariants hold/);
    });

    it('logs without conf lines form one implicit configuration', () => {
      const logs = goodRun();
      for (const [n, l] of logs) logs.set(n, l.filter((e) => e.t !== 'conf'));
      expectAllOk(logs);
      // and a member that misses a message there is caught (reliability, in the implicit configuration)
      logs.set('d3', logs.get('d3')!.filter((e) => !(e.t === 'msg' && e.id === 'd1#1')));
      expectViolation(logs, 9, [/in configuration \(implicit\), which no process leaves, d1 sends d1#1 \(line 1\) but member d3 never delivers it/]);
    });

    it('partition and merge with messages in both parts', () => {
      const A = ['d1', 'd2'];
      const logs = logsOf({
        d1: [C('1.d1', D3), S('d1#1'), M('d1#1'), M('d3#1'), T('1.d1', A), C('2.d1', A), S('d1#2', 'SAFE'), M('d1#2', 'SAFE'), T('2.d1', A), C('3.d1', D3), M('d3#3'), S('d1#3'), M('d1#3')],
        d2: [C('1.d1', D3), M('d1#1'), T('1.d1', A), M('d3#1'), C('2.d1', A), M('d1#2', 'SAFE'), T('2.d1', A), C('3.d1', D3), M('d3#3'), M('d1#3')],
        d3: [C('1.d1', D3), S('d3#1'), M('d1#1'), M('d3#1'), T('1.d1', ['d3']), C('2.d3', ['d3']), S('d3#2'), M('d3#2'), T('2.d3', ['d3']), C('3.d1', D3), S('d3#3'), M('d3#3'), M('d1#3')],
      });
      // d1 and d2 miss d3#2 (FIFO gap across the partition; d3#3 causally after it) and d3 misses d1#2
      expectAllOk(logs);
    });

    it('a restarted daemon logged as a new incarnation (memberNames d3@2 → d3)', () => {
      const logs = logsOf({
        d1: [C('1.d1', D3), M('d3#1'), T('1.d1', ['d1', 'd2']), C('2.d1', ['d1', 'd2']), T('2.d1', ['d1', 'd2']), C('4.d1', D3), M('d3@2#2')],
        d2: [C('1.d1', D3), M('d3#1'), T('1.d1', ['d1', 'd2']), C('2.d1', ['d1', 'd2']), T('2.d1', ['d1', 'd2']), C('4.d1', D3), M('d3@2#2')],
        d3: [C('1.d1', D3), S('d3#1'), M('d3#1'), S('d3#2')],
        'd3@2': [C('3.d3', ['d3']), S('d3@2#1'), M('d3@2#1'), T('3.d3', ['d3']), C('4.d1', D3), S('d3@2#2'), M('d3@2#2')],
      });
      const opts: CheckOptions = { crashed: ['d3'], memberNames: { 'd3@2': 'd3' } };
      expectAllOk(logs, opts);
      // "d3" in 4.d1 is the new incarnation: it must deliver what is sent there
      const l2 = new Map(logs);
      l2.set('d3@2', logs.get('d3@2')!.slice(0, -1));
      expectViolation(l2, 10, [/d3@2 sends d3@2#2 \(line 6\) in the final configuration 4\.d1, but d3@2, live in it, never delivers it/], opts);
      // and a message d3@2 sent in 4.d1 that d1 misses is a FIFO gap (d3 stays in d1's configuration)
      const l3 = new Map(logs);
      l3.set('d3@2', [...logs.get('d3@2')!, S('d3@2#3'), M('d3@2#3'), S('d3@2#4'), M('d3@2#4')]);
      for (const d of ['d1', 'd2']) l3.set(d, [...logs.get(d)!, ...(d === 'd1' ? [] : [M('d3@2#3')]), M('d3@2#4')]);
      expectViolation(l3, 3, [/d1 delivers d3@2#2 \(line 7\) then d3@2#4 \(line 8\) but not d3@2#3, and no configuration change at d1 between them excludes d3/], opts);
    });

    it('client logs: private groups, several groups, members are private group names', () => {
      const c1 = '#c1#d1';
      const c2 = '#c2#d1';
      const c3 = '#c3#d2';
      const mem = [c1, c2, c3];
      const logs = logsOf({
        c1: [C('1.d1.1', mem), S(`${c1}#1`), M(`${c1}#1`, 'AGREED', ['flood']), M(`${c2}#1`, 'SAFE', ['flood']), S(`${c1}#2`), M(`${c3}#1`, 'AGREED', [c1]), M(`${c1}#2`, 'AGREED', ['flood'])],
        c2: [C('1.d1.1', mem), M(`${c1}#1`, 'AGREED', ['flood']), S(`${c2}#1`, 'SAFE'), M(`${c2}#1`, 'SAFE', ['flood']), M(`${c3}#2`, 'AGREED', ['other']), M(`${c1}#2`, 'AGREED', ['flood'])],
        c3: [C('1.d1.1', mem), M(`${c1}#1`, 'AGREED', ['flood']), M(`${c2}#1`, 'SAFE', ['flood']), S(`${c3}#1`), S(`${c3}#2`), M(`${c3}#2`, 'AGREED', ['other']), M(`${c1}#2`, 'AGREED', ['flood'])],
      });
      // c3#1 goes to c1's private group only (c3 is not in it); c3#2 to "other", which c1 is not in
      const r = expectAllOk(logs);
      assert.ok(result(r, 9).checked > 0);
      // in daemon mode the same logs would fail: every message is expected everywhere
      assert.equal(checkLogs(logs, { mode: 'daemon', invariants: [9] }).ok, false);
    });

    it('random consistent runs with partitions, merges and a crash', function () {
      this.timeout(20000);
      let changes = 0;
      for (let seed = 1; seed <= 40; seed++) {
        const g = generate({ seed, procs: 5, sends: 600, faults: true });
        changes += g.changes;
        const r = checkLogs(g.logs, { crashed: g.crashed, label: `seed ${seed}` });
        assert.ok(r.ok, formatReport(r));
      }
      assert.ok(changes > 100, `only ${changes} configuration changes generated`);
    });

    it('5 processes × 20k messages, fault-free, pass quickly', function () {
      this.timeout(20000);
      const g = generate({ seed: 7, procs: 5, sends: 100_000 });
      let entries = 0;
      for (const l of g.logs.values()) entries += l.length;
      assert.ok(entries > 500_000);
      const r = checkLogs(g.logs, { faultFree: true });
      assert.ok(r.ok, formatReport(r));
    });

    it('a larger random run with faults passes', function () {
      this.timeout(20000);
      const g = generate({ seed: 99, procs: 6, sends: 30_000, faults: true });
      const r = checkLogs(g.logs, { crashed: g.crashed });
      assert.ok(r.ok, formatReport(r));
    });
  });

  describe('1 integrity', () => {
    it('flags a delivered message nobody sent', () => {
      const logs = goodRun();
      logs.get('d3')!.push(M('d2#9'));
      expectViolation(logs, 1, [/d3 line 8 delivers d2#9, which was never sent/, /d2's log/]);
    });
    it('does not judge ids of senders without a log', () => {
      const logs = goodRun();
      for (const l of logs.values()) l.push(M('d9#1'));
      assert.ok(checkLogs(logs, { invariants: [1] }).ok);
    });
    it('flags a message delivered twice', () => {
      const logs = goodRun();
      logs.get('d2')!.push(M('d1#2', 'FIFO'));
      expectViolation(logs, 1, [/d2 delivers d1#2 twice: line 5 and line 9/]);
    });
    it('flags an id sent twice and a broken counter', () => {
      const logs = goodRun();
      logs.get('d2')!.push(S('d2#2'));
      expectViolation(logs, 1, [/d2#2 is sent twice: d2 line 7 and d2 line 9/]);
      const l2 = goodRun();
      l2.get('d1')!.push(S('d1#4'));
      expectViolation(l2, 1, [/d1 line 9 sends d1#4 but the previous id of d1 in this log is d1#2/]);
    });
  });

  describe('2 total order', () => {
    it('flags two processes delivering two AGREED messages in opposite orders', () => {
      const logs = goodRun();
      const d3 = logs.get('d3')!; // [C, d1#1, d2#1, d1#2, S d3#1, d3#1, d2#2]
      [d3[1], d3[2]] = [d3[2], d3[1]];
      expectViolation(logs, 2, [/d1 delivers d1#1 \(line 3\) before d2#1 \(line 4\), but d3 delivers d2#1 \(line 2\) before d1#1 \(line 3\)/]);
    });
    it('ignores the order of FIFO/RELIABLE messages and finds inversions no single log holds', () => {
      const logs = goodRun();
      const d2 = logs.get('d2')!; // [C, d1#1, S, d2#1, d1#2(FIFO), d3#1(RELIABLE), S, d2#2]
      [d2[4], d2[5]] = [d2[5], d2[4]];
      assert.ok(checkLogs(logs, { invariants: [2] }).ok);
      // p: a b, q: b c, r: c a — every pair shares one message, the cycle is still an inversion
      const cyc = logsOf({
        p: [S('p#1'), M('p#1'), M('q#1')],
        q: [S('q#1'), M('q#1'), M('r#1')],
        r: [S('r#1'), M('r#1'), M('p#1')],
      });
      assert.ok(checkLogs(cyc, { invariants: [2] }).ok, 'pairwise orders alone are consistent');
      cyc.get('r')!.push(M('q#1'));
      expectViolation(cyc, 2, [/q delivers q#1 \(line 2\) before r#1 \(line 3\), but r delivers r#1 \(line 2\) before q#1 \(line 4\)/]);
    });
  });

  describe('3 FIFO', () => {
    const base = () =>
      logsOf({
        d1: [C('1.d1', ['d1', 'd2']), M('d2#1'), M('d2#2'), M('d2#3')],
        d2: [C('1.d1', ['d1', 'd2']), S('d2#1'), S('d2#2'), S('d2#3'), M('d2#1'), M('d2#2'), M('d2#3')],
      });
    it('flags messages of one sender out of order', () => {
      const logs = base();
      const d1 = logs.get('d1')!;
      [d1[1], d1[2]] = [d1[2], d1[1]];
      expectViolation(logs, 3, [/d1 delivers d2#2 \(line 2\) before d2#1 \(line 3\)/]);
      // d2#2 is lost across a change that excludes d2 (allowed), then d2#3 comes after d2#4
      const l3 = logsOf({
        d1: [C('1.d1', ['d1', 'd2']), M('d2#1'), T('1.d1', ['d1']), C('2.d1', ['d1']), C('3.d1', ['d1', 'd2']), M('d2#4'), M('d2#3')],
        d2: [C('1.d1', ['d1', 'd2']), S('d2#1'), S('d2#2'), S('d2#3'), S('d2#4')],
      });
      expectViolation(l3, 3, [/d1 delivers d2#3 \(line 7\) after d2#4 \(line 6\)/]);
      const l2 = base();
      const e = l2.get('d1')!;
      [e[2], e[3]] = [e[3], e[2]];
      expectViolation(l2, 3, [/d1 delivers d2#3 \(line 3\) before d2#2 \(line 4\)/]);
    });
    it('flags a gap with no configuration change that excludes the sender', () => {
      const logs = base();
      logs.get('d1')!.splice(2, 1);
      expectViolation(logs, 3, [/d1 delivers d2#1 \(line 2\) then d2#3 \(line 3\) but not d2#2/]);
      // a change in which d2 stays does not excuse it either
      logs.get('d1')!.splice(2, 0, C('2.d1', ['d1', 'd2']));
      expectViolation(logs, 3, [/not d2#2/]);
    });
    it('judges a leading gap by whether the receiver was in the sender\'s configuration', () => {
      // d1 never gets d2#1 although both were in 1.d1 when d2 sent it
      const logs = base();
      logs.get('d1')!.splice(1, 1);
      expectViolation(logs, 3, [/d1 delivers d2#2 \(line 2\) as its first message from d2, but never d2#1, which d2 sent \(d2 line 2\) while d1 was in its configuration/]);
      // d2 sent d2#1 before d1 joined: allowed
      const joined = logsOf({
        d1: [C('2.d1', ['d1', 'd2']), M('d2#2')],
        d2: [C('1.d2', ['d2']), S('d2#1'), M('d2#1'), C('2.d1', ['d1', 'd2']), S('d2#2'), M('d2#2')],
      });
      assert.ok(checkLogs(joined, { invariants: [3] }).ok);
      // d1 and d2 were together, then apart (d1 may have lost d2#1 then), then together again: allowed
      const apart = logsOf({
        d1: [C('1.d1', ['d1', 'd2']), T('1.d1', ['d1']), C('2.d1', ['d1']), C('3.d1', ['d1', 'd2']), M('d2#2')],
        d2: [C('1.d1', ['d1', 'd2']), S('d2#1'), T('1.d1', ['d2']), M('d2#1'), C('2.d2', ['d2']), C('3.d1', ['d1', 'd2']), S('d2#2'), M('d2#2')],
      });
      assert.ok(checkLogs(apart, { invariants: [3] }).ok);
      // but being apart before ever being together is no excuse
      const before = logsOf({
        d1: [C('1.d1', ['d1']), C('2.d1', ['d1', 'd2']), M('d2#2')],
        d2: [C('2.d1', ['d1', 'd2']), S('d2#1'), S('d2#2'), M('d2#1'), M('d2#2')],
      });
      expectViolation(before, 3, [/never d2#1, which d2 sent \(d2 line 2\)/]);
    });
    it('allows a gap across a change in which the sender left, and gaps of UNRELIABLE messages', () => {
      const logs = base();
      logs.get('d1')!.splice(2, 1, T('1.d1', ['d1']), C('2.d1', ['d1']), C('3.d1', ['d1', 'd2']));
      assert.ok(checkLogs(logs, { invariants: [3] }).ok);
      const l2 = logsOf({
        d1: [M('d2#1'), M('d2#3')],
        d2: [S('d2#1'), S('d2#2', 'UNRELIABLE'), S('d2#3'), M('d2#1'), M('d2#3')],
      });
      assert.ok(checkLogs(l2, { invariants: [3] }).ok);
    });
  });

  describe('4 causal', () => {
    // d1 delivers d2#1, then sends d1#1; FIFO service so that total order does not apply
    const base = () =>
      logsOf({
        d1: [C('1.d1', D3), M('d2#1', 'FIFO'), S('d1#1', 'FIFO'), M('d1#1', 'FIFO')],
        d2: [C('1.d1', D3), S('d2#1', 'FIFO'), M('d2#1', 'FIFO'), M('d1#1', 'FIFO')],
        d3: [C('1.d1', D3), M('d2#1', 'FIFO'), M('d1#1', 'FIFO')],
      });
    it('passes when everyone delivers the cause first', () => {
      expectAllOk(base());
    });
    it('flags a delivery of the effect before the cause', () => {
      const logs = base();
      const d3 = logs.get('d3')!;
      [d3[1], d3[2]] = [d3[2], d3[1]];
      expectViolation(logs, 4, [/d1 delivered d2#1 \(line 2\) before sending d1#1 \(line 3\), but d3 delivers d1#1 \(line 2\) before d2#1 \(line 3\)/]);
      assert.ok(checkLogs(logs, { invariants: [2, 3] }).ok, 'only causal order is broken');
    });
    it('flags the effect delivered without the cause, unless a configuration change excuses it', () => {
      const logs = base();
      logs.get('d3')!.splice(1, 1);
      expectViolation(logs, 4, [/d3 delivers d1#1 \(line 2\) and never d2#1/]);
      logs.get('d3')!.splice(1, 0, T('1.d1', ['d3']), C('2.d3', ['d3']), C('3.d1', D3));
      assert.ok(checkLogs(logs, { invariants: [4] }).ok);
    });
  });

  describe('5 self delivery', () => {
    it('flags a sender that never delivers its own message, unless it crashed', () => {
      const logs = goodRun();
      const d3 = logs.get('d3')!;
      d3.splice(d3.findIndex((e) => e.t === 'msg' && e.id === 'd3#1'), 1);
      expectViolation(logs, 5, [/d3 sends d3#1 \(line 5\) and never delivers it/]);
      assert.ok(checkLogs(logs, { invariants: [5], crashed: new Set(['d3']) }).ok);
    });
    it('does not require UNRELIABLE messages', () => {
      const logs = logsOf({ d1: [S('d1#1', 'UNRELIABLE')] });
      assert.ok(checkLogs(logs, { invariants: [5] }).ok);
    });
  });

  describe('6 membership agreement', () => {
    it('flags the same ring with different member orders', () => {
      const logs = goodRun();
      logs.get('d2')![0] = C('1.d1', ['d2', 'd1', 'd3']);
      expectViolation(logs, 6, [/ring 1\.d1 has members \[d1, d2, d3\] at d1 line 1 but \[d2, d1, d3\] at d2 line 1/]);
    });
    it('flags a ring installed twice and a ring older than the previous one', () => {
      const logs = goodRun();
      logs.get('d1')!.push(C('2.d1', D3), C('1.d1', D3));
      expectViolation(logs, 6, [/d1 installs ring 1\.d1 twice: line 1 and line 10/]);
      const l2 = goodRun();
      l2.get('d1')!.push(C('3.d1', D3), C('2.d2', D3));
      expectViolation(l2, 6, [/d1 installs ring 2\.d2 \(line 10\) after the newer ring 3\.d1 \(line 9\)/]);
    });
    it('orders ring ids by their leading number, or by a given order', () => {
      assert.equal(defaultRingOrder('2.d1', '10.d1'), -1);
      assert.equal(defaultRingOrder('7:x', '3'), 1);
      assert.equal(defaultRingOrder('4.a', '4.b'), undefined);
      assert.equal(defaultRingOrder('abc', '3'), undefined);
      const logs = logsOf({ d1: [C('b', ['d1']), C('a', ['d1'])] });
      assert.ok(checkLogs(logs, { invariants: [6] }).ok);
      const o = checkLogs(logs, { invariants: [6], ringOrder: (a, b) => a.localeCompare(b) });
      assert.match(result(o, 6).violation ?? '', /installs ring a \(line 2\) after the newer ring b/);
    });
  });

  describe('7 virtual synchrony', () => {
    it('flags two processes that move together but delivered different sets', () => {
      const logs = goodRun();
      for (const l of logs.values()) l.push(T('1.d1', D3), C('2.d1', D3));
      const d3 = logs.get('d3')!;
      const i = d3.findIndex((e) => e.t === 'msg' && e.id === 'd1#2');
      d3.splice(i, 1);
      d3.push(M('d1#2', 'FIFO')); // delivered, but in the next configuration
      expectViolation(logs, 7, [/d1 \(line 1\) and d3 \(line 1\) both install ring 1\.d1 and then ring 2\.d1, but d1 delivers d1#2 in it \(line 6\) and d3 does not/]);
    });
    it('does not compare processes that move to different configurations', () => {
      const logs = logsOf({
        d1: [C('1.d1', ['d1', 'd2']), S('d1#1', 'RELIABLE'), M('d1#1', 'RELIABLE'), T('1.d1', ['d1']), C('2.d1', ['d1'])],
        d2: [C('1.d1', ['d1', 'd2']), T('1.d1', ['d2']), C('2.d2', ['d2'])],
      });
      assert.ok(checkLogs(logs, { invariants: [7] }).ok);
    });
  });

  describe('8 safe delivery', () => {
    const base = () =>
      logsOf({
        d1: [C('1.d1', D3), S('d1#1', 'SAFE'), M('d1#1', 'SAFE'), T('1.d1', ['d1', 'd2']), C('2.d1', ['d1', 'd2'])],
        d2: [C('1.d1', D3), M('d1#1', 'SAFE'), T('1.d1', ['d1', 'd2']), C('2.d1', ['d1', 'd2'])],
        d3: [C('1.d1', D3), T('1.d1', ['d3']), C('2.d3', ['d3'])],
      });
    it('flags a member that does not deliver a SAFE message, unless it crashed', () => {
      expectViolation(base(), 8, [/SAFE d1#1 is delivered by d1 \(line 3\) in configuration 1\.d1 with members \[d1, d2, d3\], but member d3 never delivers it/]);
      assert.ok(checkLogs(base(), { invariants: [8], crashed: ['d3'] }).ok);
    });
    it('accepts delivery in the transitional configuration, flags delivery in a later one', () => {
      const logs = base();
      logs.get('d3')!.splice(2, 0, M('d1#1', 'SAFE'));
      assert.ok(checkLogs(logs, { invariants: [8] }).ok);
      const l2 = base();
      l2.get('d3')!.push(M('d1#1', 'SAFE'));
      expectViolation(l2, 8, [/member d3 delivers it in configuration 2\.d3 \(line 4\)/]);
    });
    it('a SAFE message delivered in a transitional configuration binds its members only', () => {
      const logs = base();
      const d1 = logs.get('d1')!;
      d1.splice(2, 1);
      d1.splice(3, 0, M('d1#1', 'SAFE')); // d1 delivers after its transitional conf [d1, d2]
      logs.get('d2')!.splice(1, 1); // d2 never delivers it
      expectViolation(logs, 8, [/by d1 \(line 4\) in transitional configuration of ring 1\.d1 after ring 1\.d1 with members \[d1, d2\], but member d2 never/]);
      logs.get('d2')!.splice(2, 0, M('d1#1', 'SAFE'));
      assert.ok(checkLogs(logs, { invariants: [8] }).ok, 'd3 is not bound by it');
    });
  });

  describe('9 reliability', () => {
    it('flags a message a member misses in a fault-free run', () => {
      const logs = goodRun();
      logs.set('d2', logs.get('d2')!.filter((e) => !(e.t === 'msg' && e.id === 'd3#1')));
      expectViolation(logs, 9, [/in the fault-free run, d3 sends d3#1 \(line 5\) but member d2 never delivers it/], { faultFree: true });
      assert.ok(checkLogs(logs, { invariants: [9], faultFree: true, crashed: ['d2'] }).ok);
    });
    it('applies to a final configuration without faults', () => {
      const logs = logsOf({
        d1: [C('1.d1', ['d1', 'd2']), T('1.d1', ['d1']), C('2.d1', ['d1', 'd2']), S('d1#1', 'RELIABLE'), M('d1#1', 'RELIABLE')],
        d2: [C('1.d1', ['d1', 'd2']), T('1.d1', ['d2']), C('2.d1', ['d1', 'd2'])],
      });
      expectViolation(logs, 9, [/in configuration 2\.d1, which no process leaves, d1 sends d1#1 \(line 4\) but member d2 never delivers it/]);
      // not in configuration 1.d1, which is followed by another one
      const l2 = logsOf({
        d1: [C('1.d1', ['d1', 'd2']), S('d1#1', 'RELIABLE'), M('d1#1', 'RELIABLE'), T('1.d1', ['d1']), C('2.d1', ['d1'])],
        d2: [C('1.d1', ['d1', 'd2']), T('1.d1', ['d2']), C('2.d2', ['d2'])],
      });
      assert.ok(checkLogs(l2, { invariants: [9] }).ok);
    });
  });

  describe('10 liveness', () => {
    it('flags live processes that end in different configurations', () => {
      const logs = logsOf({
        d1: [C('1.d1', ['d1', 'd2']), T('1.d1', ['d1']), C('2.d1', ['d1'])],
        d2: [C('1.d1', ['d1', 'd2']), T('1.d1', ['d2']), C('2.d2', ['d2'])],
      });
      expectViolation(logs, 10, [/live processes end in different configurations: d1 in 2\.d1 \(line 3\), d2 in 2\.d2 \(line 3\)/]);
      assert.ok(checkLogs(logs, { invariants: [10], liveProcesses: ['d1'] }).ok);
    });
    it('flags a final configuration that still lists a crashed process', () => {
      const logs = logsOf({
        d1: [C('1.d1', ['d1', 'd2', 'd3']), T('1.d1', ['d1', 'd2']), C('2.d1', ['d1', 'd2', 'd3'])],
        d2: [C('1.d1', ['d1', 'd2', 'd3']), T('1.d1', ['d1', 'd2']), C('2.d1', ['d1', 'd2', 'd3'])],
        d3: [C('1.d1', ['d1', 'd2', 'd3'])],
      });
      expectViolation(logs, 10, [/final configuration 2\.d1 of d1 \(line 3\) lists d3 \(not live\), which ends in configuration 1\.d1 \(line 1\)/], {
        crashed: ['d3'],
      });
    });
    it('flags a message sent in the final configuration that a live member never delivers', () => {
      const logs = goodRun();
      const d1 = logs.get('d1')!;
      d1.push(S('d1#3', 'RELIABLE'), M('d1#3', 'RELIABLE'));
      expectViolation(logs, 10, [/d1 sends d1#3 \(line 9\) in the final configuration 1\.d1, but d2, live in it, never delivers it/]);
    });
    it('flags a live process that ends in a transitional configuration', () => {
      const logs = goodRun();
      for (const l of logs.values()) l.push(T('1.d1', D3));
      expectViolation(logs, 10, [/live d1 ends in a transitional configuration \(ring 1\.d1, line 9\)/]);
    });
    it('counts a crashed process that rejoined the final configuration as live', () => {
      const logs = goodRun();
      logs.get('d3')!.push(C('2.d3', ['d3']), C('3.d1', D3));
      for (const d of ['d1', 'd2']) logs.get(d)!.push(T('1.d1', ['d1', 'd2']), C('2.d1', ['d1', 'd2']), C('3.d1', D3));
      expectAllOk(logs, { crashed: ['d3'] });
    });
  });

  describe('report', () => {
    it('names the run, checks only the selected invariants, and formats', () => {
      const logs = goodRun();
      logs.get('d2')!.push(M('d1#2', 'FIFO'));
      const r = checkLogs(logs, { label: 'seed 42', invariants: [2, 1] });
      assert.deepEqual(
        r.results.map((x) => x.invariant),
        [1, 2],
      );
      assert.equal(r.ok, false);
      assert.match(r.firstViolation!.message, /^invariant 1 \(integrity\) violated: \[seed 42\] d2 delivers d1#2 twice/);
      const text = formatReport(r);
      assert.match(text, /run: seed 42/);
      assert.match(text, / 1 integrity\s+FAIL/);
      assert.match(text, / 2 total order\s+ok/);
      assert.match(text, /1 of 2 invariants violated/);
      assert.throws(() => assertLogs(logs), InvariantViolation);
      assert.throws(() => checkLogs(logs, { invariants: [11] }), RangeError);
    });
  });

  describe('mutations of consistent runs are caught', () => {
    it('swapping two deliveries or duplicating one breaks an invariant', function () {
      this.timeout(20000);
      const rnd = mulberry32(5);
      let tried = 0;
      for (let seed = 1; seed <= 30; seed++) {
        const g = generate({ seed, procs: 4, sends: 300, faults: seed % 2 === 0, services: ['AGREED', 'SAFE'] });
        const names = [...g.logs.keys()].filter((n) => !g.crashed.has(n));
        const n = names[Math.floor(rnd() * names.length)];
        const l = g.logs.get(n)!;
        const msgIdx = l.map((e, i) => (e.t === 'msg' ? i : -1)).filter((i) => i >= 0);
        const i = msgIdx[Math.floor(rnd() * msgIdx.length)];
        const mutated = new Map(g.logs);
        if (seed % 3 === 0) {
          mutated.set(n, [...l, l[i]]);
        } else {
          // swap with the next delivery from a different sender in the same configuration
          const j = msgIdx.find((k) => k > i && (l[k] as MsgEntry).id.split('#')[0] !== (l[i] as MsgEntry).id.split('#')[0]);
          if (j === undefined || l.slice(i, j).some((e) => e.t === 'conf')) continue;
          const copy = [...l];
          [copy[i], copy[j]] = [copy[j], copy[i]];
          mutated.set(n, copy);
        }
        tried++;
        const r = checkLogs(mutated, { crashed: g.crashed });
        assert.equal(r.ok, false, `seed ${seed}: mutation at ${n} line ${i + 1} went unnoticed`);
      }
      assert.ok(tried >= 15);
    });
  });
});

// ---- log files ---------------------------------------------------------------------------

describe('delivery log files', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ringcast-logs-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes and reads back a log directory', () => {
    const logs = goodRun();
    writeLogDir(dir, logs);
    fs.writeFileSync(path.join(dir, 'README.txt'), 'not a log');
    const back = readLogDir(dir);
    assert.deepEqual([...back.keys()], ['d1', 'd2', 'd3']);
    assert.deepEqual(back, logs);
    assert.equal(
      fs.readFileSync(path.join(dir, 'd1.jsonl'), 'utf8').split('\n')[0],
      '{"t":"conf","kind":"regular","ring":"1.d1","members":["d1","d2","d3"]}',
    );
    assert.ok(checkLogs(back).ok);
  });

  it('names the file and line of a malformed entry', () => {
    const f = path.join(dir, 'd1.jsonl');
    writeLog(f, [C('1.d1', ['d1']), S('d1#1')]);
    fs.appendFileSync(f, '{"t":"msg","id":"d1#1","svc":"AGREED","groups":["g"]}\n');
    assert.throws(
      () => readLogDir(dir),
      (e: unknown) => e instanceof LogFileError && e.code === 'LOG_FORMAT' && e.file === f && e.line === 3 && /d1\.jsonl:3: msg: "len"/.test(e.message),
    );
    fs.writeFileSync(f, '{"t":"sent","id":"nohash","svc":"AGREED"}\n');
    assert.throws(() => readLogFile(f), /d1\.jsonl:1: sent: "id" must be "<sender>#<n>"/);
    fs.writeFileSync(f, '{"t":"sent","id":"a#1","svc":"FAST"}\n');
    assert.throws(() => readLogFile(f), /:1: sent: "svc" must be a service name/);
    fs.writeFileSync(f, '{"t":"conf","kind":"regular","ring":"1","members":["a"]}\n\n');
    assert.throws(() => readLogFile(f), /:2: blank line/);
    assert.throws(() => parseLog('{"t":"conf"', 'x.jsonl'), (e: unknown) => e instanceof LogFileError && e.line === 1 && /not JSON/.test(e.message));
    assert.throws(() => readLogDir(path.join(dir, 'missing')), (e: unknown) => e instanceof LogFileError && e.code === 'LOG_IO');
  });

  it('can drop a truncated last line when asked', () => {
    const text = '{"t":"sent","id":"a#1","svc":"AGREED"}\n{"t":"msg","id":"a#1","sv';
    assert.throws(() => parseLog(text, 'a.jsonl'), /a\.jsonl:2:/);
    assert.deepEqual(parseLog(text, 'a.jsonl', { tolerateTruncatedTail: true }), [S('a#1')]);
    assert.deepEqual(parseLog('', 'a.jsonl'), []);
  });

  it('LogWriter buffers, flushes, appends and closes', () => {
    const f = path.join(dir, 'w.jsonl');
    const w = new LogWriter(f, { flushAt: 200, keep: true });
    w.conf('regular', '1.d1', ['d1']);
    assert.equal(fs.readFileSync(f, 'utf8'), '', 'still buffered');
    for (let i = 1; i <= 10; i++) {
      w.sent(`d1#${i}`, 'SAFE');
      w.msg(`d1#${i}`, 'SAFE', ['g'], 100);
    }
    assert.ok(fs.readFileSync(f, 'utf8').length > 0, 'flushed past flushAt');
    w.close();
    w.close();
    assert.throws(() => w.write(S('d1#11')), /closed/);
    assert.equal(w.count, 21);
    assert.deepEqual(readLogFile(f), w.entries);
    const w2 = new LogWriter(f, { append: true });
    w2.write(T('1.d1', ['d1']));
    w2.flush();
    assert.equal(readLogFile(f).length, 22);
    w2.close();
    assert.ok(checkLogs(new Map([['d1', readLogFile(f)]]), { invariants: [1, 2, 3, 4, 5, 6, 7, 8, 9] }).ok);
  });
});

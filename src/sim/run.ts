// One simulated run end to end: simulate, check the invariants, write the logs.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkLogs, type CheckReport } from './checker';
import { formatEntry, type LogEntry } from './deliveryLog';
import { Simulator, type SimOptions, type SimStats } from './simulator';

/** Invariants a run of the ordering core alone is checked against (shared/design/invariants.md). */
export const RING_INVARIANTS = [1, 2, 3, 4, 5, 9];

export interface SimSummary extends SimStats {
  ok: boolean;
  invariants: { invariant: number; name: string; ok: boolean; violation?: string }[];
}

export interface SimResult {
  summary: SimSummary;
  report: CheckReport;
  logs: Map<string, LogEntry[]>;
}

export function runSimulation(options: Partial<SimOptions> = {}): SimResult {
  const sim = new Simulator(options);
  const { stats, logs } = sim.run();
  const report = checkLogs(logs, { invariants: RING_INVARIANTS, faultFree: true });
  if (sim.opts.logDir) writeLogDir(sim.opts.logDir, logs);
  const summary: SimSummary = {
    ok: report.ok && !stats.stalled && stats.payloadErrors.length === 0,
    ...stats,
    invariants: report.results.map((r) => ({
      invariant: r.invariant,
      name: r.name,
      ok: r.ok,
      ...(r.violation ? { violation: r.violation } : {}),
    })),
  };
  return { summary, report, logs };
}

/** The first reason a run failed, in one line, or undefined when it passed. */
export function failureReason(s: SimSummary): string | undefined {
  const bad = s.invariants.find((r) => !r.ok);
  if (bad) return `invariant ${bad.invariant} (${bad.name}): ${bad.violation ?? 'violated'}`;
  if (s.payloadErrors.length > 0) return `payload: ${s.payloadErrors[0]}`;
  if (s.stalled) {
    const short = Object.entries(s.deliveredPerDaemon).filter(([, n]) => n < s.messagesSent);
    return `stalled at ${s.simTimeMs} ms: ${short.map(([d, n]) => `${d} delivered ${n}/${s.messagesSent}`).join(', ')}`;
  }
  return undefined;
}

export function writeLogDir(dir: string, logs: Map<string, LogEntry[]>): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, entries] of logs) {
    fs.writeFileSync(path.join(dir, `${name}.jsonl`), entries.map((e) => formatEntry(e) + '\n').join(''));
  }
}

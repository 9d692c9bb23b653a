// One simulated run end to end: simulate, check the invariants, write the logs.
import { checkLogs, type CheckReport } from './checker';
import type { LogEntry } from './deliveryLog';
import { writeLogDir } from './logFiles';
import { Simulator, type SimOptions, type SimStats } from './simulator';


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
  const { stats, logs, crashed, live, faultFree } = sim.run();
  // All ten invariants of shared/design/invariants.md.
  const report = checkLogs(logs, { crashed, liveProcesses: live, faultFree, label: `seed ${stats.seed}` });
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

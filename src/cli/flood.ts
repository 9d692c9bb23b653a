// `ringcast flood`: a throughput and latency test through the client protocol, in the manner
// of Spread's spflooder. Contract: shared/design/cli.md.
import type { Command } from 'commander';
import * as cliProgress from 'cli-progress';
import { isServiceName, type ServiceName } from '../core/service';
import { UsageError } from '../errors';
import { DEFAULT_DAEMON, parseDaemonAddress } from '../client/address';
import { checkJoinableGroup } from '../client/outgoing';
import { FLOOD_HEADER_SIZE } from '../client/floodPayload';
import { runFlood, type FloodOptions, type FloodResult } from '../client/flood';
import { LogWriter } from '../sim/logFiles';
import { numberOption } from './options';

export interface FloodFlags {
  daemon: string;
  name?: string;
  group: string;
  senders: number;
  size: number;
  count: number;
  service: string;
  log?: string;
  json?: boolean;
  readOnly?: boolean;
  members?: number;
  window: number;
  messType: number;
}

/** What the flags ask for: the engine's options (without log, signal and callbacks). */
export type FloodPlan = Omit<FloodOptions, 'log' | 'signal' | 'onProgress' | 'onStatus'>;

export const FLOOD_DEFAULTS = {
  daemon: DEFAULT_DAEMON,
  group: 'flood',
  senders: 1,
  size: 1000,
  count: 10_000,
  service: 'AGREED',
  window: 1000,
  messType: 0,
} as const;

/**
 * Checks the flags and turns them into a plan.
 * @throws UsageError naming the flag.
 */
export function floodPlan(flags: FloodFlags): FloodPlan {
  try {
    parseDaemonAddress(flags.daemon);
  } catch (err) {
    throw new UsageError(`--daemon: ${(err as Error).message}`);
  }
  try {
    checkJoinableGroup(flags.group);
  } catch (err) {
    throw new UsageError(`--group: ${(err as Error).message}`);
  }
  const service = flags.service.toUpperCase();
  if (!isServiceName(service)) throw new UsageError(`--service must be UNRELIABLE, RELIABLE, FIFO, CAUSAL, AGREED or SAFE, not "${flags.service}"`);
  if (flags.senders < 0) throw new UsageError(`--senders must be 0 or more, not ${flags.senders}`);
  if (flags.count < 1) throw new UsageError(`--count must be at least 1, not ${flags.count}`);
  if (flags.size < FLOOD_HEADER_SIZE) {
    throw new UsageError(`--size must be at least ${FLOOD_HEADER_SIZE} (each message carries a marker, its number and its send time), not ${flags.size}`);
  }
  if (flags.window < 1) throw new UsageError(`--window must be at least 1, not ${flags.window}`);
  if (flags.messType < 0 || flags.messType > 0xffff) throw new UsageError(`--mess-type must be 0..65535, not ${flags.messType}`);
  // --senders 0 and --read-only: this process only listens.
  const send = !flags.readOnly && flags.senders > 0;
  const waitMembers = flags.members ?? flags.senders;
  if (waitMembers < 0) throw new UsageError(`--members must be 0 or more, not ${waitMembers}`);
  return {
    daemon: flags.daemon,
    ...(flags.name !== undefined ? { name: flags.name } : {}),
    group: flags.group,
    senders: flags.senders,
    send,
    waitMembers,
    size: flags.size,
    count: flags.count,
    service: service as ServiceName,
    messType: flags.messType,
    window: flags.window,
  };
}

const fixed = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** The plain report; its last line holds `<number> msgs/s`. */
export function formatFloodReport(plan: FloodPlan, result: FloodResult): string[] {
  const senders = Object.keys(result.perSender).length;
  const lines = [
    `${result.privateGroup}: delivered ${result.delivered} messages (${fixed(result.bytes / 1e6, 2)} MB) from ${senders} sender(s) in ${fixed(result.seconds, 3)} s, ${plan.service} to ${plan.group}${result.complete ? '' : ' (incomplete)'}`,
  ];
  const l = result.latencyMs;
  if (l) lines.push(`latency of own messages (ms): min ${fixed(l.min, 3)} p50 ${fixed(l.p50, 3)} p90 ${fixed(l.p90, 3)} p99 ${fixed(l.p99, 3)} max ${fixed(l.max, 3)} (${l.count} messages)`);
  lines.push(`${fixed(result.msgsPerSec, 1)} msgs/s, ${fixed(result.mbPerSec, 2)} MB/s`);
  return lines;
}

/** The --json object. */
export function floodJson(plan: FloodPlan, result: FloodResult): Record<string, unknown> {
  return {
    msgsPerSec: result.msgsPerSec,
    mbPerSec: result.mbPerSec,
    latencyMs: result.latencyMs ?? null,
    messages: result.delivered,
    bytes: result.bytes,
    seconds: result.seconds,
    sent: result.sent,
    complete: result.complete,
    privateGroup: result.privateGroup,
    group: plan.group,
    service: plan.service,
    size: plan.size,
    count: plan.count,
    senders: plan.senders,
    perSender: result.perSender,
  };
}

/** A progress bar on stderr when it is a terminal; updates at most every 100 ms. */
function progressReporter(): { update: (delivered: number, expected: number | undefined) => void; stop: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  let bar: cliProgress.SingleBar | undefined;
  let lastDraw = 0;
  return {
    update(delivered, expected) {
      if (expected === undefined) return;
      if (bar === undefined) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: 'flood [{bar}] {percentage}% | {value}/{total} msgs | {eta_formatted} left', hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        bar.start(expected, 0);
      }
      const now = Date.now();
      if (now - lastDraw >= 100 || delivered >= expected) {
        lastDraw = now;
        bar.update(delivered);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

export function registerFlood(program: Command): void {
  const d = FLOOD_DEFAULTS;
  program
    .command('flood')
    .description('join a group, send numbered messages and measure throughput and latency (like spflooder)')
    .option('--daemon <address>', 'daemon: PORT@HOST, PORT (TCP on 127.0.0.1) or a Unix socket path', d.daemon)
    .option('--name <name>', 'private name (default: the daemon makes one up)')
    .option('--group <group>', 'group to flood', d.group)
    .option('--senders <k>', 'sending processes to wait for, this one included; 0: only listen, until Ctrl-C', numberOption('--senders', true), d.senders)
    .option('--size <bytes>', `bytes per message (at least ${FLOOD_HEADER_SIZE})`, numberOption('--size', true), d.size)
    .option('--count <n>', 'messages per sender', numberOption('--count', true), d.count)
    .option('--service <name>', 'UNRELIABLE, RELIABLE, FIFO, CAUSAL, AGREED or SAFE', d.service)
    .option('--log <file>', "write this client's delivery log (JSON lines) to file")
    .option('--json', 'print one JSON object with msgsPerSec, mbPerSec and latency percentiles (ms)')
    .option('--read-only', 'do not send; wait for the other --senders processes')
    .option('--members <m>', 'group members to wait for before sending (default: --senders)', numberOption('--members', true))
    .option('--window <n>', 'own messages in flight (sent, not yet delivered back) at most', numberOption('--window', true), d.window)
    .option('--mess-type <n>', "Spread's mess_type on every message", numberOption('--mess-type', true), d.messType)
    .action(async (flags: FloodFlags) => {
      const plan = floodPlan(flags);
      const log = flags.log ? new LogWriter(flags.log) : undefined;
      const progress = progressReporter();
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      let result: FloodResult;
      try {
        result = await runFlood({
          ...plan,
          ...(log ? { log } : {}),
          signal: abort.signal,
          onProgress: progress.update,
          onStatus: (line) => {
            if (!flags.json) process.stderr.write(`${line}\n`);
          },
        });
      } finally {
        progress.stop();
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        log?.close();
      }
      if (flags.json) process.stdout.write(JSON.stringify(floodJson(plan, result)) + '\n');
      else process.stdout.write(formatFloodReport(plan, result).join('\n') + '\n');
      if (!result.complete && plan.senders > 0) {
        process.stderr.write(`ringcast flood: stopped before every sender's ${plan.count} messages arrived\n`);
        process.exitCode = 1;
      }
    });
}

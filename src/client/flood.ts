// The engine of `ringcast flood` (in the manner of Spread's spflooder): join a group, wait for
// the members, send numbered, timestamped messages with a bounded number in flight, and count
// deliveries until every sender's messages have arrived.
import { performance } from 'node:perf_hooks';
import type { RingcastError } from '../errors';
import type { ServiceName } from '../core/service';
import { DEFAULT_FRAME_LIMITS, MAX_GROUP_NAME, SPREAD_FRAME_LIMITS, type FrameLimits } from '../wire/client';
import { connect } from './connect';
import { ClientDeliveryRecorder, type DeliveryLogSink } from './deliveryRecorder';
import { allocFloodPayload, readFloodPayload, stampFloodPayload } from './floodPayload';
import { LatencySamples, type LatencySummary } from './latency';
import type { DataMessage, MembershipMessage } from './received';

export interface FloodOptions {
  readonly daemon?: string;
  readonly name?: string;
  readonly group: string;
  /** Sending processes to wait for (this one included when `send`); 0: count until aborted. */
  readonly senders: number;
  /** Whether this process sends. */
  readonly send: boolean;
  /** Group members to wait for before sending. */
  readonly waitMembers: number;
  /** Payload bytes per message (≥ FLOOD_HEADER_SIZE). */
  readonly size: number;
  /** Messages per sender. */
  readonly count: number;
  readonly service: ServiceName;
  readonly messType?: number;
  /** Own messages sent but not yet delivered back, at most. */
  readonly window: number;
  /** Default: Spread's limits, or ringcast's when `size` needs them. */
  readonly sendLimits?: FrameLimits;
  /** Writes this client's delivery log. */
  readonly log?: DeliveryLogSink;
  /** Stops the run early (the result then has complete: false). */
  readonly signal?: AbortSignal;
  readonly onProgress?: (delivered: number, expected: number | undefined) => void;
  /** Joined, waiting for members, sending: one line each. */
  readonly onStatus?: (line: string) => void;
}

export interface FloodResult {
  readonly privateGroup: string;
  /** Every sender's messages arrived (false when aborted first). */
  readonly complete: boolean;
  readonly sent: number;
  readonly delivered: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly msgsPerSec: number;
  readonly mbPerSec: number;
  /** Of this process's own messages; undefined when it sent none. */
  readonly latencyMs: LatencySummary | undefined;
  /** Messages delivered per sender. */
  readonly perSender: Readonly<Record<string, number>>;
}

const wallClockMs = (): number => performance.timeOrigin + performance.now();

/**
 * Runs one flood client to the end.
 * @throws SpreadError from connect(), join and multicast (e.g. MESSAGE_TOO_LONG), and
 *   CONNECTION_CLOSED when the daemon closes the session before the run is complete.
 */
export async function runFlood(options: FloodOptions): Promise<FloodResult> {
  const { group, count, senders, service } = options;
  const sendLimits =
    options.sendLimits ?? (options.size + MAX_GROUP_NAME > SPREAD_FRAME_LIMITS.maxBodyBytes ? DEFAULT_FRAME_LIMITS : SPREAD_FRAME_LIMITS);
  const session = await connect({ daemon: options.daemon, name: options.name, membership: true, sendLimits });
  const me = session.privateGroup;
  const recorder = options.log ? new ClientDeliveryRecorder(options.log, group) : undefined;
  const expected = senders > 0 ? senders * count : undefined;

  const perSender = new Map<string, number>();
  const latencies = new LatencySamples();
  let members: readonly string[] = [];
  let sendersDone = 0;
  let delivered = 0;
  let bytes = 0;
  let ownDelivered = 0;
  let sent = 0;
  let firstDeliveryAt: number | undefined;
  let lastDeliveryAt = 0;
  let startedAt: number | undefined;
  let finished = false;
  let closeError: RingcastError | undefined;
  // Whoever waits (for members, for the window) is woken by any change and looks again.
  let wake: (() => void) | undefined;
  const nudge = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const nextChange = () => new Promise<void>((resolve) => (wake = resolve));

  let endRun!: () => void;
  const runEnded = new Promise<void>((resolve) => (endRun = resolve));
  const finish = () => {
    if (finished) return;
    finished = true;
    endRun();
    nudge();
  };

  session.on('membership', (m: MembershipMessage) => {
    recorder?.membership(m);
    if (m.kind === 'regular' && m.group === group) {
      members = m.members;
      nudge();
    }
  });
  session.on('message', (m: DataMessage) => {
    if (finished || !m.groups.includes(group)) return;
    const payload = readFloodPayload(m.data);
    if (payload === undefined) return;
    const now = wallClockMs();
    recorder?.delivered(`${m.sender}#${payload.n}`, m.service, m.groups, m.data.length);
    delivered++;
    bytes += m.data.length;
    firstDeliveryAt ??= now;
    lastDeliveryAt = now;
    const fromSender = (perSender.get(m.sender) ?? 0) + 1;
    perSender.set(m.sender, fromSender);
    if (fromSender === count) sendersDone++;
    if (m.sender === me) {
      ownDelivered++;
      latencies.add(now - payload.sentAtMs);
      nudge();
    }
    options.onProgress?.(delivered, expected);
    if (senders > 0 && sendersDone >= senders) finish();
  });
  void session.closed.then((error) => {
    closeError = error;
    finish();
  });
  options.signal?.addEventListener('abort', finish, { once: true });
  if (options.signal?.aborted) finish();

  try {
    await session.join(group);
    options.onStatus?.(`${me} joined ${group}`);
    if (options.send && count > 0) {
      if (members.length < options.waitMembers) options.onStatus?.(`waiting for ${options.waitMembers} members of ${group}`);
      while (!finished && members.length < options.waitMembers) await nextChange();
      if (!finished) {
        options.onStatus?.(`sending ${count} messages of ${options.size} bytes (${service}) to ${group}`);
        startedAt = wallClockMs();
        const payload = allocFloodPayload(options.size);
        for (let n = 1; n <= count && !finished; n++) {
          while (!finished && sent - ownDelivered >= options.window) await nextChange();
          if (finished) break;
          recorder?.sent(`${me}#${n}`, service);
          sent++;
          await session.multicast(group, stampFloodPayload(payload, n, wallClockMs()), { service, messType: options.messType ?? 0 });
        }
      }
    }
    await runEnded;
  } finally {
    recorder?.finish();
    await session.disconnect();
  }
  const complete = expected !== undefined && sendersDone >= senders;
  if (!complete && closeError) throw closeError;

  const from = startedAt ?? firstDeliveryAt ?? lastDeliveryAt;
  const seconds = Math.max(0, lastDeliveryAt - from) / 1000;
  return {
    privateGroup: me,
    complete,
    sent,
    delivered,
    bytes,
    seconds,
    msgsPerSec: seconds > 0 ? delivered / seconds : 0,
    mbPerSec: seconds > 0 ? bytes / 1e6 / seconds : 0,
    latencyMs: latencies.summary(),
    perSender: Object.fromEntries(perSender),
  };
}

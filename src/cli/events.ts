// `ringcast events publish …` and `ringcast events watch '<subscription>'`: the fault-event
// service from the shell. watch prints one line per event (coloured by severity on a
// terminal) or JSON lines, and with several --daemon addresses carries on through the next
// daemon when its own dies (the subscription is resumed, not made again).
import type { Command } from 'commander';
import { DEFAULT_DAEMON, parseDaemonAddress } from '../client/address';
import { connect } from '../client/connect';
import { EventService, type EventClient, type EventRecord, type Subscription } from '../client/events';
import type { Session } from '../client/session';
import { strftime } from '../daemon/timeFormat';
import { RingcastError, UsageError } from '../errors';
import { EVENT_TYPES, SEVERITIES, type EventType, type Severity } from '../services/events/ftb';
import { EVENTS_GROUP, type SubscriptionDepth } from '../services/events/protocol';
import { numberOption } from './options';

// ---- output -------------------------------------------------------------------------------

const RESET = '\u001b[0m';
const COLOURS: Readonly<Record<Severity, string>> = {
  FATAL: '\u001b[1;97;41m', // bold white on red
  ERROR: '\u001b[1;31m',
  WARNING: '\u001b[33m',
  INFO: '\u001b[36m',
};

export const severityColour = (s: Severity): string => COLOURS[s];

/** Colour only on a terminal, and never with NO_COLOR set (no-color.org). */
export const useColour = (stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean =>
  stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');

function timestamp(ms: number, utc: boolean): string {
  const d = new Date(ms);
  if (utc) return d.toISOString().replace('T', ' ').replace('Z', '');
  return `${strftime('%F %T', d)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

const MAX_SHOWN_BYTES = 64;

/** A payload on one line: text with its control characters escaped, maps as JSON, bytes as hex. */
function payloadText(p: EventRecord['payload']): string {
  if (p === undefined || p === null) return '';
  if (typeof p === 'string') return JSON.stringify(p).slice(1, -1);
  if (p instanceof Uint8Array) {
    const hex = Buffer.from(p.subarray(0, MAX_SHOWN_BYTES)).toString('hex');
    return `0x${hex}${p.byteLength > MAX_SHOWN_BYTES ? `… (${p.byteLength} bytes)` : ''}`;
  }
  return JSON.stringify(p);
}

/** One readable line: time, severity, space, name, client@host, payload (and what it ends). */
export function formatEventLine(e: EventRecord, opts: { colour: boolean; utc?: boolean }): string {
  const severity = e.severity.padEnd(7);
  const shown = opts.colour ? `${severityColour(e.severity)}${severity}${RESET}` : severity;
  const tail = [payloadText(e.payload), e.beginHandle ? `(ends ${e.beginHandle})` : ''].filter((x) => x !== '').join('  ');
  return `${timestamp(e.time, opts.utc ?? false)}  ${shown}  ${e.space}  ${e.name}  ${e.client}@${e.host}  ${tail}`.trimEnd();
}

/** The event as one JSON line; bytes payloads as base64. */
export function eventJson(e: EventRecord): string {
  if (e.payload instanceof Uint8Array) return JSON.stringify({ ...e, payload: Buffer.from(e.payload).toString('base64'), payloadEncoding: 'base64' });
  return JSON.stringify(e);
}

// ---- options ------------------------------------------------------------------------------

/** `--daemon A[,B,…]`: the daemons to try, in order. */
export function parseDaemonList(text: string): string[] {
  const list = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new UsageError('--daemon: give PORT@HOST (or several, separated by commas)');
  for (const d of list) {
    try {
      parseDaemonAddress(d);
    } catch (err) {
      throw new UsageError(`--daemon: ${(err as Error).message}`);
    }
  }
  return list;
}

function severityOption(v: string): Severity {
  const s = v.toUpperCase();
  if (!(SEVERITIES as readonly string[]).includes(s)) throw new UsageError(`--severity takes one of ${SEVERITIES.join(', ')}, not "${v}"`);
  return s as Severity;
}

function eventTypeOption(v: string): EventType {
  if (!(EVENT_TYPES as readonly string[]).includes(v)) throw new UsageError(`--event-type takes normal or response, not "${v}"`);
  return v as EventType;
}

function depthOption(v: string): SubscriptionDepth {
  if (v.toLowerCase() === 'all') return 'all';
  return numberOption('--depth', true)(v);
}

/** A default client name of at most 15 characters. */
const defaultClient = (prefix: string): string => `${prefix}${process.pid}`.slice(0, 15);

// ---- connecting ---------------------------------------------------------------------------

/** The first daemon of `daemons` (from `start` on, round and round) that accepts a session. */
async function connectAny(daemons: readonly string[], start: number, timeoutMs: number): Promise<{ session: Session; index: number }> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let round = 0; ; round++) {
    for (let i = 0; i < daemons.length; i++) {
      const index = (start + i) % daemons.length;
      try {
        const session = await connect({ daemon: daemons[index], membership: false, timeoutMs: Math.max(500, Math.min(5000, deadline - Date.now())) });
        return { session, index };
      } catch (err) {
        last = err;
      }
    }
    if (Date.now() >= deadline) throw last instanceof Error ? last : new RingcastError('COULD_NOT_CONNECT', `no daemon of ${daemons.join(', ')} answered`);
    await new Promise((r) => setTimeout(r, Math.min(200 * (round + 1), 1000)));
  }
}

const eventsOf = (session: Session): EventService => new EventService(session.service(EVENTS_GROUP), session);

// ---- publish ------------------------------------------------------------------------------

interface PublishFlags {
  space: string;
  name: string;
  severity: Severity;
  payload?: string;
  client?: string;
  job?: string;
  eventType?: EventType;
  daemon: string;
  json?: boolean;
  timeout: number;
}

async function runPublish(flags: PublishFlags): Promise<void> {
  const daemons = parseDaemonList(flags.daemon);
  const { session } = await connectAny(daemons, 0, flags.timeout);
  try {
    const client = await eventsOf(session).connect({
      clientName: flags.client ?? defaultClient('cli'),
      space: flags.space,
      ...(flags.job === undefined ? {} : { jobId: flags.job }),
      declare: { [flags.name]: flags.severity },
      timeoutMs: flags.timeout,
    });
    const handle = await client.publish(flags.name, {
      ...(flags.payload === undefined ? {} : { payload: flags.payload }),
      ...(flags.eventType === undefined ? {} : { eventType: flags.eventType }),
    });
    await client.disconnect();
    const out = flags.json
      ? JSON.stringify({ event: handle, space: flags.space, name: flags.name, severity: flags.severity, client: client.clientName })
      : `published ${flags.name} (${flags.severity}) in ${flags.space} as ${handle}`;
    process.stdout.write(out + '\n');
  } finally {
    await session.disconnect();
  }
}

// ---- watch --------------------------------------------------------------------------------

interface WatchFlags {
  depth?: SubscriptionDepth;
  json?: boolean;
  daemon: string;
  client?: string;
  space: string;
  count?: number;
  queue: number;
  utc?: boolean;
  timeout: number;
}

const note = (text: string): void => void process.stderr.write(`ringcast: ${text}\n`);

/** Writes a line; waits when stdout is full, so a slow reader backs up into the bounded queue. */
function writeLine(line: string): Promise<void> | undefined {
  if (process.stdout.write(line + '\n')) return undefined;
  return new Promise((resolve) => process.stdout.once('drain', () => resolve()));
}

async function runWatch(text: string, flags: WatchFlags): Promise<void> {
  const daemons = parseDaemonList(flags.daemon);
  let { session, index } = await connectAny(daemons, 0, flags.timeout);
  let client: EventClient | undefined;
  let stopping = false;
  const stop = (): void => {
    stopping = true;
    void session.disconnect();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    client = await eventsOf(session).connect({ clientName: flags.client ?? defaultClient('watch'), space: flags.space, timeoutMs: flags.timeout });
    let lastDropReport = 0;
    const sub: Subscription = await client.subscribe(text, {
      ...(flags.depth === undefined ? {} : { depth: flags.depth }),
      queueSize: flags.queue,
      onOverflow: (dropped) => {
        // Reported at most once a second: the report must not add to the flood.
        if (Date.now() - lastDropReport < 1000) return;
        lastDropReport = Date.now();
        note(`${dropped} event(s) dropped so far: output too slow for the queue of ${flags.queue}`);
      },
    });
    note(`watching ${sub.filter} (depth ${sub.depth}, held by ${sub.replicas} daemon(s)) through ${daemons[index]}`);
    const colour = !flags.json && useColour(process.stdout);
    let shown = 0;
    // One next() outstanding at a time, kept across a failover, so no event is taken and lost.
    let pending = sub.next();
    for (;;) {
      const closed = session.closed.then(() => 'closed' as const);
      const first = await Promise.race([pending, closed]);
      if (first === 'closed') {
        if (stopping) return;
        if (daemons.length < 2) throw new RingcastError('CONNECTION_CLOSED', `the session with ${daemons[index]} ended`);
        const gone = daemons[index];
        ({ session, index } = await connectAny(daemons, index + 1, flags.timeout));
        const r = await client.resume(eventsOf(session));
        note(`${gone} is gone; resumed through ${daemons[index]}${r.resumed ? '' : ' (subscription made again)'}${r.missed > 0 ? `, ${r.missed} event(s) missed meanwhile` : ''}`);
        continue;
      }
      if (first.done) return;
      await writeLine(flags.json ? eventJson(first.value) : formatEventLine(first.value, { colour, utc: flags.utc ?? false }));
      if (flags.count !== undefined && ++shown >= flags.count) return;
      pending = sub.next();
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (client && !session.isClosed) await client.disconnect().catch(() => undefined);
    await session.disconnect();
  }
}

// ---- registration -------------------------------------------------------------------------

export function registerEvents(program: Command): void {
  const events = program.command('events').description('publish and watch fault events (CIFTS FTB style) on the ring');
  const daemonHelp = 'daemon: PORT@HOST, PORT or a Unix socket path; several, comma-separated, to fail over';
  events
    .command('publish')
    .description('publish one event')
    .requiredOption('--space <space>', 'event space region.category.component')
    .requiredOption('--name <name>', 'event name (letters, digits, _)')
    .option('--severity <severity>', 'FATAL, ERROR, WARNING or INFO', severityOption, 'INFO' as Severity)
    .option('--payload <text>', 'payload, up to 368 bytes')
    .option('--event-type <type>', 'normal or response', eventTypeOption)
    .option('--client <name>', 'client name (default cli<pid>)')
    .option('--job <id>', 'job id')
    .option('--daemon <address>', daemonHelp, DEFAULT_DAEMON)
    .option('--json', 'print one JSON object')
    .option('--timeout <ms>', 'give up after this long', numberOption('--timeout', true), 10_000)
    .action((flags: PublishFlags) => runPublish(flags));
  events
    .command('watch')
    .description('print the events a subscription string matches, as they are published')
    .argument('[subscription]', "FTB subscription string, e.g. 'event_space=ringcast.system.daemon,severity=warning'", 'all')
    .option('--depth <n>', 'transaction depth: daemons that must hold the subscription (a number or all)', depthOption)
    .option('--json', 'one JSON object per event')
    .option('--count <n>', 'exit after n events', numberOption('--count', true))
    .option('--queue <n>', 'events held while the output is slow (the oldest are dropped beyond)', numberOption('--queue', true), 1024)
    .option('--client <name>', 'client name (default watch<pid>)')
    .option('--space <space>', "the watcher's own event space", 'ringcast.cli.watch')
    .option('--utc', 'print times in UTC')
    .option('--daemon <address>', daemonHelp, DEFAULT_DAEMON)
    .option('--timeout <ms>', 'how long to try to reach a daemon, and per request', numberOption('--timeout', true), 10_000)
    .action((subscription: string, flags: WatchFlags) => runWatch(subscription, flags));
}

// The replicated state of the events service (clients by name, their declared events and
// subscriptions), its msgpack-able snapshot, and the deterministic merge of snapshots that
// daemons run when configurations come together.
import { SEVERITIES, isFailure, type Severity } from './ftb';
import { formatSubscription, parseSubscription, type SubscriptionFilter } from './subscription';

export interface SubscriptionRecord {
  readonly handle: string;
  readonly filter: SubscriptionFilter;
  /** The canonical subscription string. */
  readonly text: string;
  readonly depth: number;
}

export interface DeclaredEvent {
  readonly name: string;
  readonly severity: Severity;
}

export interface ClientRecord {
  readonly name: string;
  /** `name:origin:time` of the connect that created it: a new life gets a new handle. */
  readonly handle: string;
  readonly space: string;
  jobId: string;
  host: string;
  pid: number;
  /** Private group of the session it is attached to; null while detached. */
  session: string | null;
  /** `now` when it was detached: retention runs from here. */
  detachedAt: number | null;
  /** By upper-case name (FTB looks event names up without case). */
  readonly declared: Map<string, DeclaredEvent>;
  readonly subscriptions: Map<string, SubscriptionRecord>;
  nextSubscription: number;
  /** Sequence number of the last event it published. */
  seq: number;
  /** Events that matched its subscriptions while it was detached (told on resume). */
  missed: number;
  /** Time of its last own change (connect, resume, declare, subscribe, unsubscribe): newest wins a merge. */
  stamp: number;
}

/** A client that disconnected: kept for a merge, where it outweighs older records of the client. */
export interface GoneRecord {
  /** Time of the disconnect: a merge drops the other side's record of the client unless newer. */
  readonly stamp: number;
  /** `now` at the disconnect: the tombstone goes after the retention (the other sides' records have gone by then). */
  readonly at: number;
}

export interface EventsState {
  /** The largest time of any input so far: the engine's clock for inputs that carry none. */
  now: number;
  /** By client name, in an order every daemon shares (agreed order, or sorted after a merge). */
  readonly clients: Map<string, ClientRecord>;
  /** Sequence numbers of the system's own publishers (daemons, `ringcast`). */
  readonly systemSeq: Map<string, number>;
  /** Disconnected clients by name (tombstones), for merges. */
  readonly gone: Map<string, GoneRecord>;
}

export const emptyState = (): EventsState => ({ now: 0, clients: new Map(), systemSeq: new Map(), gone: new Map() });

/** The client name a handle `name:origin:time` (or a subscription handle under it) belongs to. */
export const clientNameOfHandle = (handle: string): string => handle.slice(0, Math.max(0, handle.indexOf(':')));

// ---- snapshot ---------------------------------------------------------------------------

const SNAPSHOT_VERSION = 1;

type PlainClient = {
  name: string;
  handle: string;
  space: string;
  jobId: string;
  host: string;
  pid: number;
  session: string | null;
  detachedAt: number | null;
  declared: Array<[string, Severity]>;
  subscriptions: Array<[string, string, number]>;
  nextSubscription: number;
  seq: number;
  missed: number;
  stamp: number;
};

export function toSnapshot(state: EventsState): unknown {
  const clients: PlainClient[] = [...state.clients.values()].map((c) => ({
    name: c.name,
    handle: c.handle,
    space: c.space,
    jobId: c.jobId,
    host: c.host,
    pid: c.pid,
    session: c.session,
    detachedAt: c.detachedAt,
    declared: [...c.declared.values()].map((d) => [d.name, d.severity]),
    subscriptions: [...c.subscriptions.values()].map((s) => [s.handle, s.text, s.depth]),
    nextSubscription: c.nextSubscription,
    seq: c.seq,
    missed: c.missed,
    stamp: c.stamp,
  }));
  const gone = [...state.gone].map(([name, g]) => [name, g.stamp, g.at]);
  return { v: SNAPSHOT_VERSION, now: state.now, systemSeq: [...state.systemSeq], clients, gone };
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
const isTime = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isString = (x: unknown): x is string => typeof x === 'string';

function decodeClient(x: unknown): ClientRecord | undefined {
  if (!isObject(x)) return undefined;
  const { name, handle, space, jobId, host, pid, session, detachedAt, declared, subscriptions, nextSubscription, seq, missed, stamp } = x;
  if (!isString(name) || !isString(handle) || clientNameOfHandle(handle) !== name || !isString(space) || !isString(jobId) || !isString(host)) return undefined;
  if (!isCount(pid) || !isCount(nextSubscription) || !isCount(seq) || !isCount(missed) || !isTime(stamp)) return undefined;
  if (!(session === null || isString(session)) || !(detachedAt === null || isTime(detachedAt))) return undefined;
  if (!Array.isArray(declared) || !Array.isArray(subscriptions)) return undefined;
  const record: ClientRecord = {
    name, handle, space, jobId, host, pid, session, detachedAt,
    declared: new Map(), subscriptions: new Map(), nextSubscription, seq, missed, stamp,
  };
  for (const d of declared) {
    if (!Array.isArray(d) || !isString(d[0]) || !(SEVERITIES as readonly unknown[]).includes(d[1])) return undefined;
    record.declared.set(d[0].toUpperCase(), { name: d[0], severity: d[1] as Severity });
  }
  for (const s of subscriptions) {
    if (!Array.isArray(s) || !isString(s[0]) || !isCount(s[2])) return undefined;
    const filter = parseSubscription(s[1]);
    if (isFailure(filter)) return undefined;
    record.subscriptions.set(s[0], { handle: s[0], filter, text: formatSubscription(filter), depth: s[2] });
  }
  return record;
}

/** A snapshot back to state; undefined when it does not decode (the caller skips it). */
export function fromSnapshot(snapshot: unknown): EventsState | undefined {
  if (!isObject(snapshot) || snapshot.v !== SNAPSHOT_VERSION || !isTime(snapshot.now)) return undefined;
  if (!Array.isArray(snapshot.systemSeq) || !Array.isArray(snapshot.clients)) return undefined;
  const state = emptyState();
  state.now = snapshot.now;
  for (const entry of snapshot.systemSeq) {
    if (!Array.isArray(entry) || !isString(entry[0]) || !isCount(entry[1])) return undefined;
    state.systemSeq.set(entry[0], entry[1]);
  }
  for (const plain of snapshot.clients) {
    const client = decodeClient(plain);
    if (!client || state.clients.has(client.name)) return undefined;
    state.clients.set(client.name, client);
  }
  // Absent in snapshots of daemons from before tombstones: none.
  for (const entry of Array.isArray(snapshot.gone) ? snapshot.gone : []) {
    if (!Array.isArray(entry) || !isString(entry[0]) || !isTime(entry[1]) || !isTime(entry[2])) return undefined;
    state.gone.set(entry[0], { stamp: entry[1], at: entry[2] });
  }
  return state;
}

// ---- merge ------------------------------------------------------------------------------

/** Whether `a` should replace `b` (b came from an earlier snapshot). */
function newer(a: ClientRecord, b: ClientRecord): boolean {
  if (a.stamp !== b.stamp) return a.stamp > b.stamp;
  // The same last action on both sides: one side detached it (its daemon left that side), so
  // the side where it is still attached knows better. Otherwise the earlier snapshot stays.
  return a.session !== null && b.session === null;
}

/**
 * The deterministic merge of states (in the order every member shares): clients united by
 * name, the newest stamp winning (ties: attached over detached, then the earlier state), and a
 * disconnect (tombstone) winning over every record of the client that is not newer; sequence
 * numbers the largest seen, so no handle is used twice; clients sorted by name.
 */
export function mergeStates(states: readonly EventsState[]): EventsState {
  const merged = emptyState();
  const winners = new Map<string, ClientRecord>();
  const tombstones = new Map<string, GoneRecord>();
  const seqs = new Map<string, number>();
  for (const state of states) {
    merged.now = Math.max(merged.now, state.now);
    for (const [name, n] of state.systemSeq) merged.systemSeq.set(name, Math.max(n, merged.systemSeq.get(name) ?? 0));
    for (const client of state.clients.values()) {
      seqs.set(client.name, Math.max(client.seq, seqs.get(client.name) ?? 0));
      const held = winners.get(client.name);
      if (!held || newer(client, held)) winners.set(client.name, client);
    }
    for (const [name, g] of state.gone) {
      const held = tombstones.get(name);
      if (!held || g.stamp > held.stamp) tombstones.set(name, g);
    }
  }
  for (const name of [...tombstones.keys()].sort()) {
    // A newer life of the client on some side: the tombstone has no more to say.
    const w = winners.get(name);
    if (!w || w.stamp <= tombstones.get(name)!.stamp) merged.gone.set(name, tombstones.get(name)!);
  }
  for (const name of [...winners.keys()].sort()) {
    const w = winners.get(name)!;
    if (merged.gone.has(name)) continue; // disconnected on some side after its last change elsewhere
    merged.clients.set(name, {
      ...w,
      declared: new Map(w.declared),
      subscriptions: new Map(w.subscriptions),
      seq: seqs.get(name)!,
    });
  }
  return merged;
}

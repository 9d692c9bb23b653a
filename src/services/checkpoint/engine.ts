// The checkpoint service engine (SA Forum AIS checkpoint service, B.02.02) as a replicated
// state machine: every daemon feeds it the same requests, ticks, departures and configurations
// in the same order and so holds the same checkpoints. Pure: time comes from the inputs only.
import {
  DAEMON_SENDER_PREFIX,
  daemonOfPrivateGroup,
  errorReply,
  okReply,
  type ServiceConfiguration,
  type ServiceEngine,
  type ServiceEvent,
  type ServiceInput,
  type ServiceOutput,
  type ServiceRequest,
} from '../engine';
import { BlcrTracker } from './blcr';
import { closeHandles, dispatch, type RequestContext } from './dispatcher';
import { CheckpointFailure } from './failure';
import { handleKey, type Checkpoint } from './model';
import { mergeStates } from './merge';
import { CHECKPOINT_GROUP } from './protocol';
import { decodeState, encodeState, type EngineState } from './snapshot';
import type { Stamp } from './stamp';
import { CheckpointStore, DEFAULT_LIMITS, type CheckpointLimits } from './store';

export interface CheckpointEngineOptions {
  readonly limits?: Partial<CheckpointLimits>;
}

export interface CheckpointCounters {
  requests: number;
  errors: number;
  events: number;
  merges: number;
  snapshotsSkipped: number;
  internalErrors: number;
}

export class CheckpointEngine implements ServiceEngine {
  readonly name = 'checkpoint';
  readonly group = CHECKPOINT_GROUP;
  private readonly store: CheckpointStore;
  private readonly blcr: BlcrTracker;
  private readonly stats: CheckpointCounters = { requests: 0, errors: 0, events: 0, merges: 0, snapshotsSkipped: 0, internalErrors: 0 };

  constructor(options: CheckpointEngineOptions = {}) {
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.store = new CheckpointStore(limits);
    this.blcr = new BlcrTracker(limits.maxOpenBegins);
  }

  step(input: ServiceInput): ServiceOutput[] {
    switch (input.kind) {
      case 'request':
        return this.request(input.request);
      case 'tick':
        this.store.advance(input.time);
        this.store.expire();
        return [];
      case 'sessionGone':
        return this.forget(input.privateGroup);
      case 'configuration':
        return this.configure(input.configuration);
    }
  }

  nextDeadline(): number | null {
    return this.store.nextDeadline();
  }

  snapshot(): EngineState {
    return encodeState(this.store, this.blcr.begins.values());
  }

  merge(snapshots: readonly unknown[]): void {
    const states: EngineState[] = [];
    for (const s of snapshots) {
      const state = decodeState(s);
      if (state) states.push(state);
      else this.stats.snapshotsSkipped++;
    }
    if (states.length === 0) return; // nothing to go by: keep what we have
    this.load(mergeStates(states, this.store.limits));
    this.stats.merges++;
  }

  counters(): Record<string, number> {
    return { ...this.stats, checkpoints: this.store.checkpoints.size, handles: this.store.handles.size, bytes: this.store.totalBytes, blcrRuns: this.blcr.begins.size };
  }

  // ---- inputs -------------------------------------------------------------------------------

  private context(client: string, events: ServiceEvent[]): RequestContext {
    let stamp: Stamp | undefined;
    return { store: this.store, blcr: this.blcr, client, events, stamp: () => (stamp ??= this.store.clock.next()) };
  }

  private request(r: ServiceRequest): ServiceOutput[] {
    this.stats.requests++;
    this.store.advance(r.time);
    this.store.expire();
    const events: ServiceEvent[] = [];
    const body = r.body ?? {};
    let reply: Record<string, unknown>;
    try {
      reply = okReply(body.id, dispatch(this.context(r.from, events), body));
    } catch (e) {
      this.stats.errors++;
      if (e instanceof CheckpointFailure) reply = { ...errorReply(body.id, e.error, e.message), ...e.details };
      else {
        // A bug, not a bad request: every daemon fails alike, so the state stays the same everywhere.
        this.stats.internalErrors++;
        reply = errorReply(body.id, 'LIBRARY', `internal error: ${e instanceof Error ? e.message : 'a non-error was thrown'}`);
      }
    }
    this.store.expire(); // a retention of 0 ends at the close that started it
    return [...this.publish(events), { kind: 'reply', to: r.from, body: reply }];
  }

  private publish(events: ServiceEvent[]): ServiceOutput[] {
    this.stats.events += events.length;
    return events.map((event) => ({ kind: 'event', event }));
  }

  /** A client is gone: its handles close (its BLCR runs end with ERROR), its library handles go. */
  private forget(client: string): ServiceOutput[] {
    const events: ServiceEvent[] = [];
    closeHandles(this.context(client, events), this.store.handlesOf(client), 'client gone');
    this.store.libraries.delete(client);
    this.store.expire();
    return this.publish(events);
  }

  private configure(c: ServiceConfiguration): ServiceOutput[] {
    this.store.clock.enter(c.ringSeq, c.kind === 'transitional' ? `${c.ringId}~${c.members[0] ?? ''}` : c.ringId);
    this.store.members = c.members;
    const slot = c.daemons?.indexOf(c.members[0] ?? '') ?? -1;
    this.store.idSlot = slot < 0 ? { slot: 0, slots: 1 } : { slot, slots: c.daemons!.length };
    const events: ServiceEvent[] = [];
    // Clients of daemons outside the configuration are gone (their daemon left, or we did).
    const ctx = this.context(DAEMON_SENDER_PREFIX, events);
    closeHandles(ctx, this.store.handlesOutside(c.members), 'daemon left the configuration');
    for (const client of [...this.store.libraries.keys()]) if (!c.members.includes(daemonOfPrivateGroup(client))) this.store.libraries.delete(client);
    for (const ck of this.store.checkpoints.values()) if (ck.activeReplica !== null && !c.members.includes(ck.activeReplica)) this.dropActiveReplica(ck, ctx.stamp());
    this.store.expire();
    return this.publish(events);
  }

  private dropActiveReplica(c: Checkpoint, stamp: Stamp): void {
    c.activeReplica = null;
    c.metaStamp = c.lastChange = stamp;
  }

  private load(state: EngineState): void {
    const store = this.store;
    store.clear();
    this.blcr.begins.clear();
    store.now = state.now;
    store.clock.restore(state.position);
    store.members = state.members;
    store.nextHandle = state.nextHandle;
    for (const c of state.checkpoints) {
      const ck: Checkpoint = { ...c, sections: new Map(), sectionTombstones: new Map(), openers: new Set(), bytes: 0 };
      store.checkpoints.set(ck.id, ck);
      if (!ck.unlinked) store.byName.set(ck.name, ck.id);
      for (const s of c.sections) store.putSection(ck, { ...s });
      for (const t of c.sectionTombstones) ck.sectionTombstones.set(t.id.toString('hex'), t.stamp);
    }
    for (const t of state.tombstones) store.tombstones.set(t.id, t);
    for (const h of state.handles) {
      const key = handleKey(h.client, h.handle);
      store.handles.set(key, { ...h, key });
      store.checkpoints.get(h.checkpoint)?.openers.add(key);
    }
    for (const l of state.libraries) {
      const set = store.libraries.get(l.client) ?? new Set<number>();
      store.libraries.set(l.client, set.add(l.handle));
    }
    for (const b of state.begins) this.blcr.begins.set(b.beginHandle, b);
  }
}

// The checkpoint store: checkpoints by id and by name, open handles, library handles and
// tombstones, with the bookkeeping every operation shares (byte accounting, openers,
// retention and expiry, deadlines). AIS argument checks live in the dispatcher and in
// sections.ts; this module keeps the records consistent.
import { daemonOfPrivateGroup } from '../engine';
import { fail } from './failure';
import { handleKey, sectionKey, type Checkpoint, type CheckpointTombstone, type OpenHandle, type Section, type TombstoneKind } from './model';
import { CreationFlag, type CreationAttributes } from './protocol';
import { compareStamps, stampText, StampClock, type Stamp } from './stamp';

export interface CheckpointLimits {
  /** Live checkpoints (linked or not); more: NO_RESOURCES. */
  readonly maxCheckpoints: number;
  /** Section data and ids of all checkpoints together; more: NO_RESOURCES. */
  readonly maxTotalBytes: number;
  /** Open handles and library handles of all clients; more: NO_RESOURCES. */
  readonly maxHandles: number;
  /** Elements of one write or read. */
  readonly maxIoVector: number;
  /** Section descriptors in one `sections` answer. */
  readonly maxSectionsPerReply: number;
  /** Bytes of data (read) or ids (sections) one reply may carry: a client frame holds about 1 MiB. */
  readonly maxReplyBytes: number;
  /** Remembered deleted sections per checkpoint (for merges). */
  readonly maxSectionTombstones: number;
  /** Remembered deleted checkpoints (for merges). */
  readonly maxCheckpointTombstones: number;
  /** Open BLCR begins of all clients. */
  readonly maxOpenBegins: number;
}

export const DEFAULT_LIMITS: CheckpointLimits = {
  maxCheckpoints: 10_000,
  maxTotalBytes: 256 * 1024 * 1024,
  maxHandles: 100_000,
  maxIoVector: 1024,
  maxSectionsPerReply: 1000,
  maxReplyBytes: 1_000_000,
  maxSectionTombstones: 256,
  maxCheckpointTombstones: 1024,
  maxOpenBegins: 10_000,
};

/** Asynchronous update: WR_ACTIVE_REPLICA or WR_ACTIVE_REPLICA_WEAK. */
export const isAsync = (a: CreationAttributes): boolean => (a.creationFlags & (CreationFlag.WR_ACTIVE_REPLICA | CreationFlag.WR_ACTIVE_REPLICA_WEAK)) !== 0;

export const isCollocated = (a: CreationAttributes): boolean => (a.creationFlags & CreationFlag.CHECKPOINT_COLLOCATED) !== 0;

/** Collocated asynchronous checkpoints write through an active replica only once one is set. */
export function hasActiveReplica(c: Checkpoint): boolean {
  return !(isCollocated(c.attrs) && isAsync(c.attrs)) || c.activeReplica !== null;
}

export class CheckpointStore {
  readonly checkpoints = new Map<string, Checkpoint>();
  readonly byName = new Map<string, string>();
  readonly tombstones = new Map<string, CheckpointTombstone>();
  readonly handles = new Map<string, OpenHandle>();
  /** Library handles (initialize) per client. */
  readonly libraries = new Map<string, Set<number>>();
  readonly clock = new StampClock();
  nextHandle = 1;
  /** The latest time seen in an input: never goes back. */
  now = 0;
  /** Daemons of the current configuration (empty before the first). */
  members: readonly string[] = [];
  /**
   * Generated section ids made in this configuration are the numbers n with (n − 1) mod slots =
   * slot: the configuration-file index of its first member among all the daemons. Concurrent
   * partitions have disjoint members, so they never generate the same id (a heal would keep only
   * one of two different sections); one configuration alone counts 1, 1 + slots, 1 + 2·slots …
   */
  idSlot = { slot: 0, slots: 1 };
  totalBytes = 0;
  private deadline: number | null = null;
  private deadlineDirty = false;

  constructor(readonly limits: CheckpointLimits) {}

  advance(time: number): void {
    if (Number.isFinite(time) && time > this.now) this.now = time;
  }

  touchDeadline(): void {
    this.deadlineDirty = true;
  }

  // ---- lookups ------------------------------------------------------------------------------

  linked(name: string): Checkpoint | undefined {
    const id = this.byName.get(name);
    return id === undefined ? undefined : this.checkpoints.get(id);
  }

  /** The client's open handle `handle`: another client's, or none, is BAD_HANDLE. */
  handleOf(client: string, handle: number): { open: OpenHandle; checkpoint: Checkpoint } {
    const open = this.handles.get(handleKey(client, handle));
    const checkpoint = open && this.checkpoints.get(open.checkpoint);
    if (!open || !checkpoint) return fail('BAD_HANDLE', `handle ${handle} is not an open checkpoint of this client`);
    return { open, checkpoint };
  }

  handlesOf(client: string): OpenHandle[] {
    return [...this.handles.values()].filter((h) => h.client === client);
  }

  // ---- checkpoints --------------------------------------------------------------------------

  create(name: string, attrs: CreationAttributes, stamp: Stamp): Checkpoint {
    if (this.checkpoints.size >= this.limits.maxCheckpoints) fail('NO_RESOURCES', `the service holds ${this.checkpoints.size} checkpoints, its limit`);
    const checkpoint: Checkpoint = {
      id: stampText(stamp),
      name,
      created: stamp,
      attrs,
      retention: attrs.retentionDuration,
      unlinked: false,
      activeReplica: null,
      idleSince: this.now,
      metaStamp: stamp,
      lastChange: stamp,
      generated: 0,
      sections: new Map(),
      sectionTombstones: new Map(),
      openers: new Set(),
      bytes: 0,
    };
    this.checkpoints.set(checkpoint.id, checkpoint);
    this.byName.set(name, checkpoint.id);
    this.tombstones.delete(checkpoint.id);
    // One section, no id: AIS's default section (OpenAIS and SAFplus create it when maxSections is 1).
    if (attrs.maxSections === 1) this.putSection(checkpoint, { id: Buffer.alloc(0), data: Buffer.alloc(0), expiration: null, lastUpdate: this.now, stamp });
    this.touchDeadline();
    return checkpoint;
  }

  /** Removes a checkpoint and its data; a tombstone remembers it for merges. */
  deleteCheckpoint(c: Checkpoint, kind: TombstoneKind, stamp: Stamp): void {
    for (const s of c.sections.values()) this.totalBytes -= s.data.length + s.id.length;
    this.checkpoints.delete(c.id);
    if (this.byName.get(c.name) === c.id) this.byName.delete(c.name);
    this.addTombstone({ id: c.id, name: c.name, stamp, kind });
    this.touchDeadline();
  }

  addTombstone(t: CheckpointTombstone): void {
    this.tombstones.set(t.id, t);
    pruneOldest(this.tombstones, this.limits.maxCheckpointTombstones, (x) => x.stamp);
  }

  unlink(c: Checkpoint, stamp: Stamp): void {
    c.unlinked = true;
    c.lastChange = stamp;
    if (this.byName.get(c.name) === c.id) this.byName.delete(c.name);
    if (c.openers.size === 0) this.deleteCheckpoint(c, 'unlink', stamp);
  }

  // ---- handles ------------------------------------------------------------------------------

  /** NO_RESOURCES when no more handles (open or library) fit. */
  checkHandleRoom(): void {
    let n = this.handles.size;
    for (const l of this.libraries.values()) n += l.size;
    if (n >= this.limits.maxHandles) fail('NO_RESOURCES', `the service holds ${n} handles, its limit`);
  }

  newLibrary(client: string): number {
    this.checkHandleRoom();
    const n = this.nextHandle++;
    let set = this.libraries.get(client);
    if (!set) this.libraries.set(client, (set = new Set()));
    set.add(n);
    return n;
  }

  open(client: string, c: Checkpoint, flags: number, library: number, stamp: Stamp): OpenHandle {
    this.checkHandleRoom();
    const handle = this.nextHandle++;
    const open: OpenHandle = { key: handleKey(client, handle), client, handle, checkpoint: c.id, flags, library, opened: stamp };
    this.handles.set(open.key, open);
    c.openers.add(open.key);
    c.lastChange = stamp;
    if (c.idleSince !== null) {
      c.idleSince = null;
      this.touchDeadline();
    }
    return open;
  }

  /** Closes a handle: the last close deletes an unlinked checkpoint or starts its retention. */
  close(open: OpenHandle, stamp: Stamp): void {
    this.handles.delete(open.key);
    const c = this.checkpoints.get(open.checkpoint);
    if (!c) return;
    c.openers.delete(open.key);
    c.lastChange = stamp;
    if (c.openers.size > 0) return;
    if (c.unlinked) this.deleteCheckpoint(c, 'unlink', stamp);
    else {
      c.idleSince = this.now;
      this.touchDeadline();
    }
  }

  /** Handles of clients whose daemon is not in `members`. */
  handlesOutside(members: readonly string[]): OpenHandle[] {
    return [...this.handles.values()].filter((h) => !members.includes(daemonOfPrivateGroup(h.client)));
  }

  // ---- sections -----------------------------------------------------------------------------

  putSection(c: Checkpoint, s: Section): void {
    const key = sectionKey(s.id);
    const old = c.sections.get(key);
    if (old) this.account(c, old, -1);
    c.sections.set(key, s);
    c.sectionTombstones.delete(key);
    this.account(c, s, 1);
    if (s.expiration !== null || old?.expiration != null) this.touchDeadline();
  }

  removeSection(c: Checkpoint, s: Section, stamp: Stamp): void {
    const key = sectionKey(s.id);
    c.sections.delete(key);
    this.account(c, s, -1);
    c.sectionTombstones.set(key, stamp);
    pruneOldest(c.sectionTombstones, this.limits.maxSectionTombstones, (x) => x);
    c.lastChange = stamp;
    if (s.expiration !== null) this.touchDeadline();
  }

  /** Replaces a section's data (the caller has checked the limits). */
  setData(c: Checkpoint, s: Section, data: Buffer): void {
    this.totalBytes += data.length - s.data.length;
    c.bytes += data.length - s.data.length;
    s.data = data;
  }

  /** Counts a section in (+1) or out (-1): ids count toward the service's bytes, not memoryUsed. */
  private account(c: Checkpoint, s: Section, sign: 1 | -1): void {
    this.totalBytes += sign * (s.data.length + s.id.length);
    c.bytes += sign * s.data.length;
  }

  /** NO_RESOURCES when `extra` more bytes would pass the service's limit. */
  checkRoom(extra: number): void {
    if (extra > 0 && this.totalBytes + extra > this.limits.maxTotalBytes) fail('NO_RESOURCES', `the service holds ${this.totalBytes} bytes; ${extra} more would pass its limit of ${this.limits.maxTotalBytes}`);
  }

  // ---- time ---------------------------------------------------------------------------------

  /** Deletes the sections whose expiration time has come and the checkpoints whose retention ran out. */
  expire(): void {
    const next = this.nextDeadline();
    if (next === null || next > this.now) return;
    let stamp: Stamp | undefined;
    const take = (): Stamp => (stamp ??= this.clock.next());
    for (const c of [...this.checkpoints.values()]) {
      for (const s of [...c.sections.values()]) if (s.expiration !== null && s.expiration <= this.now) this.removeSection(c, s, take());
      if (!c.unlinked && c.openers.size === 0 && c.idleSince !== null && c.retention !== null && c.idleSince + c.retention <= this.now) {
        this.deleteCheckpoint(c, 'expired', take());
      }
    }
    this.touchDeadline();
  }

  /** The earliest section expiration or end of retention, or null. */
  nextDeadline(): number | null {
    if (!this.deadlineDirty) return this.deadline;
    let at = Infinity;
    for (const c of this.checkpoints.values()) {
      if (!c.unlinked && c.openers.size === 0 && c.idleSince !== null && c.retention !== null) at = Math.min(at, c.idleSince + c.retention);
      for (const s of c.sections.values()) if (s.expiration !== null && s.expiration < at) at = s.expiration;
    }
    this.deadline = at === Infinity ? null : at;
    this.deadlineDirty = false;
    return this.deadline;
  }

  /** Empties the store (before a merge rebuilds it). */
  clear(): void {
    this.checkpoints.clear();
    this.byName.clear();
    this.tombstones.clear();
    this.handles.clear();
    this.libraries.clear();
    this.totalBytes = 0;
    this.touchDeadline();
  }
}

/** Drops the entries with the smallest stamps (then keys) until `map` holds at most `max`. */
export function pruneOldest<T>(map: Map<string, T>, max: number, stampOf: (v: T) => Stamp): void {
  while (map.size > max) {
    let oldest: string | undefined;
    let oldestStamp: Stamp | undefined;
    for (const [k, v] of map) {
      const s = stampOf(v);
      const c = oldestStamp === undefined ? -1 : compareStamps(s, oldestStamp);
      if (c < 0 || (c === 0 && k < oldest!)) {
        oldest = k;
        oldestStamp = s;
      }
    }
    map.delete(oldest!);
  }
}

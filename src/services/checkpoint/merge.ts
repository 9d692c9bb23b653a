// The merge rule for daemons that come together after a partition or a restart. Every member
// calls it with the same snapshots, and the result depends only on their contents (never on
// their order or this daemon's own state), so every member ends with the same state.
//
// The rule:
// - Changes carry stamps (stamp.ts): the sequence number of the ring they were applied in,
//   then the engine's change count (which never goes back), then the ring id. A change made in
//   a later ring outranks one made in an earlier ring; changes made apart in two partitions of
//   one ring sequence are ordered by change count, then ring id: arbitrary, but the same
//   everywhere. No clock is involved, so clock skew between daemons cannot reorder anything.
// - Sections: per checkpoint and section id, the version (or deletion, kept as a bounded
//   tombstone) with the greatest stamp wins. A write made on one side survives unless the
//   other side changed or deleted that same section later; sections touched on one side only
//   are all kept, so a write acknowledged on either side is lost only to a later change of the
//   same section. Over-full results are kept (further creates get NO_SPACE).
// - Checkpoint attributes (retention, active replica): the version with the greatest stamp.
//   An unlink anywhere is final (the name was released on purpose); the checkpoint then lives
//   only while opened.
// - A checkpoint deleted on one side because its retention ran out stays deleted unless the
//   other side changed it later or has it open.
// - Two checkpoints of one name (created apart): with equal creation attributes they fold into
//   the older one (sections by stamp as above); otherwise the older keeps the name and the
//   other is unlinked (its openers keep it until they close it).
// - Open handles, library handles and BLCR runs: the union of all sides, less those of clients
//   whose daemon is not in the configuration (each side already dropped the other side's).
import { daemonOfPrivateGroup } from '../engine';
import { sameAttributes } from './attributes';
import type { BlcrBegin, Checkpoint, CheckpointTombstone } from './model';
import { handleKey, sectionKey } from './model';
import { canonical, type CheckpointState, type EngineState, type HandleState, type SectionState } from './snapshot';
import { compareStamps, maxStamp, type Stamp } from './stamp';
import { pruneOldest, type CheckpointLimits } from './store';

/** A checkpoint being merged: the store's record without the derived openers and bytes. */
type Work = Omit<Checkpoint, 'openers' | 'bytes'>;

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const maxOf = (xs: readonly number[]): number => xs.reduce((a, b) => Math.max(a, b), 0);
const expiry = (s: SectionState): number => s.expiration ?? Infinity;

/** Of two versions of one section with equal stamps (not from real changes): a fixed choice. */
function compareSections(a: SectionState, b: SectionState): number {
  return compareStamps(a.stamp, b.stamp) || Buffer.compare(a.data, b.data) || expiry(a) - expiry(b) || a.lastUpdate - b.lastUpdate;
}

/** Section `b` (or its deletion) into `w`: the greatest stamp wins; a deletion wins a tie. */
function mergeSection(w: Work, key: string, live: SectionState | undefined, deleted: Stamp | undefined): void {
  const mine = w.sections.get(key);
  const myTomb = w.sectionTombstones.get(key);
  const candidates: Array<{ live?: SectionState; tomb?: Stamp }> = [];
  if (mine) candidates.push({ live: mine });
  if (myTomb) candidates.push({ tomb: myTomb });
  if (live) candidates.push({ live });
  if (deleted) candidates.push({ tomb: deleted });
  let best = candidates[0]!;
  for (const c of candidates.slice(1)) {
    const cs = c.live?.stamp ?? c.tomb!;
    const bs = best.live?.stamp ?? best.tomb!;
    const d = compareStamps(cs, bs);
    if (d > 0 || (d === 0 && c.tomb && best.live) || (d === 0 && c.live && best.live && compareSections(c.live, best.live) > 0)) best = c;
  }
  w.sections.delete(key);
  w.sectionTombstones.delete(key);
  if (best.live) w.sections.set(key, best.live);
  else w.sectionTombstones.set(key, best.tomb!);
}

/** Folds the content and attributes of `v` into `w` (same checkpoint, or one folded into another). */
function absorb(w: Work, v: Omit<Work, 'sections' | 'sectionTombstones'> & { sections: Iterable<SectionState>; sectionTombstones: Iterable<{ id: Buffer; stamp: Stamp }> }): void {
  for (const s of v.sections) mergeSection(w, sectionKey(s.id), s, undefined);
  for (const t of v.sectionTombstones) mergeSection(w, sectionKey(t.id), undefined, t.stamp);
  if (compareStamps(v.metaStamp, w.metaStamp) > 0) {
    w.retention = v.retention;
    w.activeReplica = v.activeReplica;
    w.metaStamp = v.metaStamp;
  }
  w.unlinked ||= v.unlinked;
  w.lastChange = maxStamp(w.lastChange, v.lastChange);
  w.generated = Math.max(w.generated, v.generated);
  if (v.idleSince !== null) w.idleSince = Math.max(w.idleSince ?? 0, v.idleSince);
}

function toWork(c: CheckpointState): Work {
  return { ...c, sections: new Map(), sectionTombstones: new Map() };
}

/** Versions of one checkpoint, most recently changed first (a fixed order for any input order). */
function combine(versions: CheckpointState[]): Work {
  const sorted = [...versions].sort((a, b) => compareStamps(b.lastChange, a.lastChange) || compareStamps(b.metaStamp, a.metaStamp) || byText(a.name, b.name));
  const w = toWork(sorted[0]!);
  for (const v of sorted) absorb(w, v);
  return w;
}

function mergeTombstones(a: CheckpointTombstone | undefined, b: CheckpointTombstone): CheckpointTombstone {
  if (!a) return b;
  const later = compareStamps(a.stamp, b.stamp) >= 0 ? a : b;
  return { ...later, kind: a.kind === 'unlink' || b.kind === 'unlink' ? 'unlink' : 'expired' };
}

/** Of two copies of one handle: a fixed choice. */
function laterHandle(a: HandleState, b: HandleState): HandleState {
  const d = compareStamps(a.opened, b.opened) || byText(a.checkpoint, b.checkpoint) || a.flags - b.flags || a.library - b.library;
  return d >= 0 ? a : b;
}

/** The merge of `states` (see the rule above); the input states are not changed. */
export function mergeStates(states: readonly EngineState[], limits: CheckpointLimits): EngineState {
  const now = maxOf(states.map((s) => s.now));
  const latest = states.map((s) => s.position).reduce(maxStamp);
  // Counting on from the highest count anywhere keeps every later change above every merged one.
  const position: Stamp = [latest[0], maxOf(states.map((s) => s.position[1])), latest[2]];
  const members = [...new Set(states.filter((s) => s.position[2] === position[2]).flatMap((s) => s.members))].sort(byText);
  const present = (client: string): boolean => members.length === 0 || members.includes(daemonOfPrivateGroup(client));

  // Checkpoints by id, and deleted ones.
  const versions = new Map<string, CheckpointState[]>();
  for (const s of states) for (const c of s.checkpoints) versions.set(c.id, [...(versions.get(c.id) ?? []), c]);
  const work = new Map<string, Work>();
  for (const [id, vs] of versions) work.set(id, combine(vs));
  const tombstones = new Map<string, CheckpointTombstone>();
  for (const s of states) for (const t of s.tombstones) tombstones.set(t.id, mergeTombstones(tombstones.get(t.id), t));

  // Handles of clients still around, on checkpoints that exist.
  const handles = new Map<string, HandleState>();
  for (const s of states) {
    for (const h of s.handles) {
      if (!present(h.client) || !work.has(h.checkpoint)) continue;
      const key = handleKey(h.client, h.handle);
      const had = handles.get(key);
      handles.set(key, had ? laterHandle(had, h) : h);
    }
  }
  const openerCount = new Map<string, number>();
  for (const h of handles.values()) openerCount.set(h.checkpoint, (openerCount.get(h.checkpoint) ?? 0) + 1);
  const openers = (id: string): number => openerCount.get(id) ?? 0;
  const remove = (w: Work, stamp: Stamp): void => {
    work.delete(w.id);
    tombstones.set(w.id, { id: w.id, name: w.name, stamp, kind: 'unlink' });
  };

  // Deletions against live versions.
  for (const w of [...work.values()].sort((a, b) => byText(a.id, b.id))) {
    const t = tombstones.get(w.id);
    if (t?.kind === 'unlink') w.unlinked = true;
    else if (t && openers(w.id) === 0 && compareStamps(t.stamp, w.lastChange) > 0) {
      work.delete(w.id);
      continue;
    }
    tombstones.delete(w.id);
    if (w.unlinked && openers(w.id) === 0) remove(w, t ? maxStamp(t.stamp, w.lastChange) : w.lastChange);
  }

  // One name, one linked checkpoint: the oldest; equal attributes fold into it.
  const byName = new Map<string, Work[]>();
  for (const w of work.values()) if (!w.unlinked) byName.set(w.name, [...(byName.get(w.name) ?? []), w]);
  for (const group of byName.values()) {
    if (group.length < 2) continue;
    group.sort((a, b) => compareStamps(a.created, b.created) || byText(a.id, b.id));
    const [winner, ...others] = group as [Work, ...Work[]];
    for (const other of others) {
      if (sameAttributes(winner.attrs, other.attrs)) {
        absorb(winner, { ...other, sections: other.sections.values(), sectionTombstones: [...other.sectionTombstones].map(([k, stamp]) => ({ id: Buffer.from(k, 'hex'), stamp })) });
        for (const [k, h] of handles) if (h.checkpoint === other.id) handles.set(k, { ...h, checkpoint: winner.id });
        openerCount.set(winner.id, openers(winner.id) + openers(other.id));
        openerCount.delete(other.id);
        remove(other, other.lastChange);
      } else {
        other.unlinked = true;
        if (openers(other.id) === 0) remove(other, other.lastChange);
      }
    }
  }

  // Derived fields: retention runs from the latest idle time; a departed active replica is gone.
  for (const w of work.values()) {
    w.idleSince = openers(w.id) > 0 ? null : (w.idleSince ?? now);
    if (w.activeReplica !== null && members.length > 0 && !members.includes(w.activeReplica)) w.activeReplica = null;
    pruneOldest(w.sectionTombstones, limits.maxSectionTombstones, (x) => x);
  }
  pruneOldest(tombstones, limits.maxCheckpointTombstones, (x) => x.stamp);

  const libraries = new Map<string, { client: string; handle: number }>();
  for (const s of states) for (const l of s.libraries) if (present(l.client)) libraries.set(handleKey(l.client, l.handle), l);
  const begins = new Map<string, BlcrBegin>();
  for (const s of states) {
    for (const b of s.begins) {
      const h = handles.get(b.openKey);
      if (!h || h.client !== b.client) continue;
      const had = begins.get(b.beginHandle);
      if (!had || JSON.stringify(b) < JSON.stringify(had)) begins.set(b.beginHandle, b);
    }
  }
  const usedHandles = [...handles.values(), ...libraries.values()].map((h) => h.handle + 1);

  return canonical({
    v: 1,
    now,
    position,
    members,
    nextHandle: maxOf([...states.map((s) => s.nextHandle), ...usedHandles]),
    checkpoints: [...work.values()].map((w) => ({
      ...w,
      sections: [...w.sections.values()],
      sectionTombstones: [...w.sectionTombstones].map(([k, stamp]) => ({ id: Buffer.from(k, 'hex'), stamp })),
    })),
    tombstones: [...tombstones.values()],
    handles: [...handles.values()],
    libraries: [...libraries.values()],
    begins: [...begins.values()],
  });
}

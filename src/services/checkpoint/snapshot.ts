// The snapshot format (state sync): the whole replicated state as msgpack-able plain data, in
// a canonical order (every list sorted), so equal states give equal snapshots. decode() checks
// every field and returns undefined for anything that is not a snapshot of this version.
import { parseCreationAttributes } from './attributes';
import type { BlcrBegin, CheckpointTombstone } from './model';
import { handleKey, sectionKey } from './model';
import type { CreationAttributes } from './protocol';
import { isStamp, type Stamp } from './stamp';
import type { CheckpointStore } from './store';

export const SNAPSHOT_VERSION = 1;

export interface SectionState {
  readonly id: Buffer;
  readonly data: Buffer;
  readonly expiration: number | null;
  readonly lastUpdate: number;
  readonly stamp: Stamp;
}

export interface CheckpointState {
  readonly id: string;
  readonly name: string;
  readonly created: Stamp;
  readonly attrs: CreationAttributes;
  readonly retention: number | null;
  readonly unlinked: boolean;
  readonly activeReplica: string | null;
  readonly idleSince: number | null;
  readonly metaStamp: Stamp;
  readonly lastChange: Stamp;
  readonly generated: number;
  readonly sections: readonly SectionState[];
  readonly sectionTombstones: ReadonlyArray<{ readonly id: Buffer; readonly stamp: Stamp }>;
}

export interface HandleState {
  readonly client: string;
  readonly handle: number;
  readonly checkpoint: string;
  readonly flags: number;
  readonly library: number;
  readonly opened: Stamp;
}

export interface EngineState {
  readonly v: typeof SNAPSHOT_VERSION;
  /** The latest input time. */
  readonly now: number;
  /** The stamp clock: ring and change count. */
  readonly position: Stamp;
  /** The configuration's daemons. */
  readonly members: readonly string[];
  readonly nextHandle: number;
  readonly checkpoints: readonly CheckpointState[];
  readonly tombstones: readonly CheckpointTombstone[];
  readonly handles: readonly HandleState[];
  readonly libraries: ReadonlyArray<{ readonly client: string; readonly handle: number }>;
  readonly begins: readonly BlcrBegin[];
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The store and open BLCR runs as an EngineState (buffers copied: sections are written in place). */
export function encodeState(store: CheckpointStore, begins: Iterable<BlcrBegin>): EngineState {
  return canonical({
    v: SNAPSHOT_VERSION,
    now: store.now,
    position: store.clock.position,
    members: [...store.members],
    nextHandle: store.nextHandle,
    checkpoints: [...store.checkpoints.values()].map((c) => ({
      id: c.id,
      name: c.name,
      created: c.created,
      attrs: { ...c.attrs },
      retention: c.retention,
      unlinked: c.unlinked,
      activeReplica: c.activeReplica,
      idleSince: c.idleSince,
      metaStamp: c.metaStamp,
      lastChange: c.lastChange,
      generated: c.generated,
      sections: [...c.sections.values()].map((x) => ({ id: Buffer.from(x.id), data: Buffer.from(x.data), expiration: x.expiration, lastUpdate: x.lastUpdate, stamp: x.stamp })),
      sectionTombstones: [...c.sectionTombstones.entries()].map(([k, stamp]) => ({ id: Buffer.from(k, 'hex'), stamp })),
    })),
    tombstones: [...store.tombstones.values()].map((t) => ({ ...t })),
    handles: [...store.handles.values()].map((h) => ({ client: h.client, handle: h.handle, checkpoint: h.checkpoint, flags: h.flags, library: h.library, opened: h.opened })),
    libraries: [...store.libraries.entries()].flatMap(([client, set]) => [...set].map((handle) => ({ client, handle }))),
    begins: [...begins].map((b) => ({ ...b })),
  });
}

/** The same state with every list in its canonical order: equal states, equal snapshots. */
export function canonical(s: EngineState): EngineState {
  const bySection = (a: { id: Buffer }, b: { id: Buffer }): number => byText(sectionKey(a.id), sectionKey(b.id));
  return {
    ...s,
    members: [...s.members].sort(byText),
    checkpoints: s.checkpoints
      .map((c) => ({ ...c, sections: [...c.sections].sort(bySection), sectionTombstones: [...c.sectionTombstones].sort(bySection) }))
      .sort((a, b) => byText(a.id, b.id)),
    tombstones: [...s.tombstones].sort((a, b) => byText(a.id, b.id)),
    handles: [...s.handles].sort((a, b) => byText(handleKey(a.client, a.handle), handleKey(b.client, b.handle))),
    libraries: [...s.libraries].sort((a, b) => byText(handleKey(a.client, a.handle), handleKey(b.client, b.handle))),
    begins: [...s.begins].sort((a, b) => byText(a.beginHandle, b.beginHandle)),
  };
}

// ---- decoding -----------------------------------------------------------------------------

class NotASnapshot extends Error {}

function check(ok: boolean, what: string): void {
  if (!ok) throw new NotASnapshot(what);
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isTimeOrNull = (v: unknown): v is number | null => v === null || isTime(v);

function list(v: unknown, what: string): unknown[] {
  check(Array.isArray(v), what);
  return v as unknown[];
}

function map(v: unknown, what: string): Record<string, unknown> {
  check(isMap(v), what);
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string): string {
  check(typeof v === 'string', what);
  return v as string;
}

function bytes(v: unknown, what: string): Buffer {
  check(v instanceof Uint8Array, what);
  return Buffer.from(v as Uint8Array);
}

function stamp(v: unknown, what: string): Stamp {
  check(isStamp(v), what);
  const s = v as Stamp;
  return [s[0], s[1], s[2]];
}

function decodeSection(v: unknown): SectionState {
  const m = map(v, 'section');
  check(isTimeOrNull(m.expiration) && isTime(m.lastUpdate), 'section times');
  return { id: bytes(m.id, 'section id'), data: bytes(m.data, 'section data'), expiration: m.expiration as number | null, lastUpdate: m.lastUpdate as number, stamp: stamp(m.stamp, 'section stamp') };
}

function decodeCheckpoint(v: unknown): CheckpointState {
  const m = map(v, 'checkpoint');
  check(isTimeOrNull(m.retention) && isTimeOrNull(m.idleSince) && typeof m.unlinked === 'boolean' && isCount(m.generated), 'checkpoint fields');
  check(m.activeReplica === null || typeof m.activeReplica === 'string', 'activeReplica');
  let attrs: CreationAttributes;
  try {
    attrs = parseCreationAttributes(m.attrs);
  } catch {
    throw new NotASnapshot('attrs');
  }
  const sections = list(m.sections, 'sections').map(decodeSection);
  check(new Set(sections.map((s) => sectionKey(s.id))).size === sections.length, 'duplicate section');
  return {
    id: str(m.id, 'checkpoint id'),
    name: str(m.name, 'checkpoint name'),
    created: stamp(m.created, 'created'),
    attrs,
    retention: m.retention as number | null,
    unlinked: m.unlinked as boolean,
    activeReplica: m.activeReplica as string | null,
    idleSince: m.idleSince as number | null,
    metaStamp: stamp(m.metaStamp, 'metaStamp'),
    lastChange: stamp(m.lastChange, 'lastChange'),
    generated: m.generated as number,
    sections,
    sectionTombstones: list(m.sectionTombstones, 'sectionTombstones').map((t) => {
      const x = map(t, 'section tombstone');
      return { id: bytes(x.id, 'tombstone id'), stamp: stamp(x.stamp, 'tombstone stamp') };
    }),
  };
}

function decodeTombstone(v: unknown): CheckpointTombstone {
  const m = map(v, 'tombstone');
  check(m.kind === 'unlink' || m.kind === 'expired', 'tombstone kind');
  return { id: str(m.id, 'tombstone id'), name: str(m.name, 'tombstone name'), stamp: stamp(m.stamp, 'tombstone stamp'), kind: m.kind as 'unlink' | 'expired' };
}

function decodeHandle(v: unknown): HandleState {
  const m = map(v, 'handle');
  check(isCount(m.handle) && isCount(m.flags) && isCount(m.library), 'handle numbers');
  return { client: str(m.client, 'client'), handle: m.handle as number, checkpoint: str(m.checkpoint, 'handle checkpoint'), flags: m.flags as number, library: m.library as number, opened: stamp(m.opened, 'opened') };
}

function decodeBegin(v: unknown): BlcrBegin {
  const m = map(v, 'begin');
  check(m.kind === 'CHKPT' || m.kind === 'RSTRT', 'begin kind');
  return { beginHandle: str(m.beginHandle, 'beginHandle'), kind: m.kind as 'CHKPT' | 'RSTRT', client: str(m.client, 'begin client'), openKey: str(m.openKey, 'openKey'), checkpoint: str(m.checkpoint, 'begin checkpoint') };
}

/** The state in `v`, or undefined when `v` is not a version-1 snapshot. */
export function decodeState(v: unknown): EngineState | undefined {
  try {
    const m = map(v, 'snapshot');
    check(m.v === SNAPSHOT_VERSION && isTime(m.now) && isCount(m.nextHandle), 'header');
    return {
      v: SNAPSHOT_VERSION,
      now: m.now as number,
      position: stamp(m.position, 'position'),
      members: list(m.members, 'members').map((x) => str(x, 'member')),
      nextHandle: m.nextHandle as number,
      checkpoints: list(m.checkpoints, 'checkpoints').map(decodeCheckpoint),
      tombstones: list(m.tombstones, 'tombstones').map(decodeTombstone),
      handles: list(m.handles, 'handles').map(decodeHandle),
      libraries: list(m.libraries, 'libraries').map((x) => {
        const l = map(x, 'library');
        check(isCount(l.handle), 'library handle');
        return { client: str(l.client, 'library client'), handle: l.handle as number };
      }),
      begins: list(m.begins, 'begins').map(decodeBegin),
    };
  } catch {
    return undefined; // NotASnapshot, or anything else a foreign value makes the checks trip on
  }
}

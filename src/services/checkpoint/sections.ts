// Section operations with the AIS checks of the reference implementations, in their order
// (OpenAIS services/ckpt.c message handlers): no active replica, then sizes, then existence.
// A write of several elements is checked as a whole before any byte is written, so a failed
// write changes nothing (the spec allows either; all-or-nothing keeps replicas simple).
import { fail } from './failure';
import { sectionKey, type Checkpoint, type Section } from './model';
import { SectionsChosen, SectionState, type SectionDescriptor } from './protocol';
import { hasActiveReplica, type CheckpointStore } from './store';
import type { Stamp } from './stamp';

export interface WriteElement {
  readonly sectionId: Buffer;
  readonly dataOffset: number;
  readonly data: Buffer;
}

export interface ReadElement {
  readonly sectionId: Buffer;
  readonly dataOffset: number;
  /** null: up to the end of the section. */
  readonly dataSize: number | null;
}

const at = (index: number | undefined): Record<string, unknown> | undefined => (index === undefined ? undefined : { erroneousVectorIndex: index });
const prefix = (index: number | undefined): string => (index === undefined ? '' : `ioVector[${index}]: `);

export function requireActiveReplica(c: Checkpoint, index?: number): void {
  if (!hasActiveReplica(c)) fail('NOT_EXIST', `${prefix(index)}checkpoint ${c.name} has no active replica (collocated: call activeReplicaSet)`, at(index));
}

function sectionOf(c: Checkpoint, id: Buffer, index?: number): Section {
  const s = c.sections.get(sectionKey(id));
  if (!s) fail('NOT_EXIST', `${prefix(index)}no section ${showId(id)} in checkpoint ${c.name}`, at(index));
  return s;
}

/** A section id for messages: text when it is printable, hex otherwise. */
export function showId(id: Buffer): string {
  if (id.length === 0) return '(default)';
  const text = id.toString('utf8');
  return /^[\x20-\x7e]*$/.test(text) && Buffer.byteLength(text) === id.length ? JSON.stringify(text) : `0x${id.toString('hex')}`;
}

/** Fails when growing checkpoint `c` by `extra` bytes passes checkpointSize or the service's limit. */
function checkGrowth(store: CheckpointStore, c: Checkpoint, extra: number, index?: number): void {
  if (extra > 0 && c.bytes + extra > c.attrs.checkpointSize) fail('NO_SPACE', `${prefix(index)}checkpoint ${c.name} would hold more than its checkpointSize of ${c.attrs.checkpointSize} bytes`, at(index));
  store.checkRoom(extra);
}

/** The least number above `after` that is `slot` + 1 modulo `slots`. */
export function nextInSlot(after: number, { slot, slots }: { slot: number; slots: number }): number {
  const next = after + 1;
  return next + ((slot - ((next - 1) % slots) + slots) % slots);
}

/** saCkptSectionCreate; `id` null: SA_CKPT_GENERATED_SECTION_ID. @returns the section's id. */
export function createSection(store: CheckpointStore, c: Checkpoint, id: Buffer | null, expiration: number | null, data: Buffer, stamp: Stamp): Buffer {
  requireActiveReplica(c);
  // The default section is not counted against maxSections (as in OpenAIS): EXIST, not NO_SPACE.
  if (c.attrs.maxSections === 1) fail('EXIST', `checkpoint ${c.name} has only its default section`);
  if (c.sections.size >= c.attrs.maxSections) fail('NO_SPACE', `checkpoint ${c.name} already has its maxSections (${c.attrs.maxSections})`);
  if (data.length > c.attrs.maxSectionSize) fail('INVALID_PARAM', `initial data (${data.length} bytes) is larger than maxSectionSize (${c.attrs.maxSectionSize})`);
  let sectionId = id;
  let generated = c.generated;
  if (sectionId === null) {
    // Generated ids count up per checkpoint, in this configuration's slot (store.idSlot); a
    // number already taken by a given id is skipped.
    do sectionId = Buffer.from(String((generated = nextInSlot(generated, store.idSlot))));
    while (c.sections.has(sectionKey(sectionId)));
  }
  if (sectionId.length > c.attrs.maxSectionIdSize) fail('INVALID_PARAM', `section id ${showId(sectionId)} is longer than maxSectionIdSize (${c.attrs.maxSectionIdSize})`);
  if (c.sections.has(sectionKey(sectionId))) fail('EXIST', `section ${showId(sectionId)} exists in checkpoint ${c.name}`);
  checkGrowth(store, c, data.length);
  store.checkRoom(data.length + sectionId.length);
  store.putSection(c, { id: sectionId, data, expiration, lastUpdate: store.now, stamp });
  c.generated = generated;
  c.lastChange = stamp;
  return sectionId;
}

export function deleteSection(store: CheckpointStore, c: Checkpoint, id: Buffer, stamp: Stamp): void {
  requireActiveReplica(c);
  if (id.length === 0) fail('INVALID_PARAM', 'the default section cannot be deleted');
  store.removeSection(c, sectionOf(c, id), stamp);
}

export function setSectionExpiration(store: CheckpointStore, c: Checkpoint, id: Buffer, expiration: number | null, stamp: Stamp): void {
  requireActiveReplica(c);
  if (id.length === 0) fail('INVALID_PARAM', 'the default section never expires');
  const s = sectionOf(c, id);
  s.expiration = expiration;
  s.stamp = stamp;
  c.lastChange = stamp;
  store.touchDeadline();
}

/** saCkptCheckpointWrite: every element is checked (as if the earlier ones were written), then all are written. */
export function write(store: CheckpointStore, c: Checkpoint, elements: readonly WriteElement[], stamp: Stamp): void {
  // The library's own check, before anything reaches the ring: no empty element.
  elements.forEach((e, i) => {
    if (e.data.length === 0) fail('INVALID_PARAM', `ioVector[${i}]: no data to write`, at(i));
  });
  requireActiveReplica(c, 0);
  const sizes = new Map<string, number>();
  let growth = 0;
  elements.forEach((e, i) => {
    if (e.data.length > c.attrs.maxSectionSize) fail('INVALID_PARAM', `ioVector[${i}]: ${e.data.length} bytes is more than maxSectionSize (${c.attrs.maxSectionSize})`, at(i));
    if (e.dataOffset + e.data.length > c.attrs.maxSectionSize) fail('INVALID_PARAM', `ioVector[${i}]: offset ${e.dataOffset} + ${e.data.length} bytes passes maxSectionSize (${c.attrs.maxSectionSize})`, at(i));
    const key = sectionKey(e.sectionId);
    const size = sizes.get(key) ?? sectionOf(c, e.sectionId, i).data.length;
    const end = Math.max(size, e.dataOffset + e.data.length);
    checkGrowth(store, c, growth + end - size, i);
    growth += end - size;
    sizes.set(key, end);
  });
  for (const e of elements) {
    const s = sectionOf(c, e.sectionId);
    const end = e.dataOffset + e.data.length;
    if (end > s.data.length) {
      const grown = Buffer.alloc(end);
      s.data.copy(grown);
      store.setData(c, s, grown);
    }
    e.data.copy(s.data, e.dataOffset);
    s.lastUpdate = store.now;
    s.stamp = stamp;
  }
  c.lastChange = stamp;
}

/** saCkptSectionOverwrite: the section's data becomes `data`. */
export function overwrite(store: CheckpointStore, c: Checkpoint, id: Buffer, data: Buffer, stamp: Stamp): void {
  requireActiveReplica(c);
  if (data.length > c.attrs.maxSectionSize) fail('INVALID_PARAM', `${data.length} bytes is more than maxSectionSize (${c.attrs.maxSectionSize})`);
  const s = sectionOf(c, id);
  checkGrowth(store, c, data.length - s.data.length);
  store.setData(c, s, data);
  s.lastUpdate = store.now;
  s.stamp = stamp;
  c.lastChange = stamp;
}

/**
 * saCkptCheckpointRead: per element the bytes read (readSize = their number). More than
 * `maxBytes` in all would not fit the reply: TOO_BIG at the element that passes it.
 */
export function read(c: Checkpoint, elements: readonly ReadElement[], maxBytes: number): Array<{ data: Buffer; readSize: number }> {
  requireActiveReplica(c, 0);
  let total = 0;
  return elements.map((e, i) => {
    const s = sectionOf(c, e.sectionId, i);
    const size = e.dataSize ?? c.attrs.maxSectionSize;
    if (size > c.attrs.maxSectionSize) fail('INVALID_PARAM', `ioVector[${i}]: dataSize ${size} is more than maxSectionSize (${c.attrs.maxSectionSize})`, at(i));
    if (e.dataOffset > s.data.length) fail('INVALID_PARAM', `ioVector[${i}]: offset ${e.dataOffset} is past the section's end (${s.data.length})`, at(i));
    const part = s.data.subarray(e.dataOffset, e.dataOffset + size);
    total += part.length;
    if (total > maxBytes) fail('TOO_BIG', `ioVector[${i}]: the reply would carry more than ${maxBytes} bytes; read less at once`, at(i));
    // A copy: the section's buffer is written in place later.
    const data = Buffer.from(part);
    return { data, readSize: data.length };
  });
}

export function descriptor(s: Section): SectionDescriptor {
  return { sectionId: Buffer.from(s.id), expirationTime: s.expiration, sectionSize: s.data.length, sectionState: SectionState.VALID, lastUpdate: s.lastUpdate };
}

/**
 * The sections an iteration with `chosen` walks, in id (byte) order, from after `after`, at
 * most `limit` and about `maxBytes` of ids. Sections are never corrupted here (every replica
 * applies every write).
 */
export function chooseSections(c: Checkpoint, chosen: number, time: number | null, after: Buffer | null, limit: number, maxBytes: number): { sections: SectionDescriptor[]; more: boolean } {
  const t = time ?? Infinity;
  const keep = (s: Section): boolean => {
    const exp = s.expiration ?? Infinity;
    switch (chosen) {
      case SectionsChosen.FOREVER:
        return s.expiration === null;
      case SectionsChosen.LEQ_EXPIRATION_TIME:
        return exp <= t;
      case SectionsChosen.GEQ_EXPIRATION_TIME:
        return exp >= t;
      case SectionsChosen.CORRUPTED:
        return false;
      default:
        return true;
    }
  };
  const from = after === null ? null : sectionKey(after);
  const keys = [...c.sections.keys()].filter((k) => from === null || k > from).sort();
  const out: SectionDescriptor[] = [];
  let bytes = 0;
  for (const k of keys) {
    const s = c.sections.get(k)!;
    if (!keep(s)) continue;
    bytes += s.id.length + 64; // the id and the descriptor's other fields
    if (out.length === limit || (out.length > 0 && bytes > maxBytes)) return { sections: out, more: true };
    out.push(descriptor(s));
  }
  return { sections: out, more: false };
}

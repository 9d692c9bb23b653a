// Version stamps: what orders two versions of a checkpoint or section when daemons that were
// apart come together (see merge.ts). A stamp is taken from the ring the change was applied in
// and the engine's count of changes, so every member of a ring stamps a change alike, and no
// clock is involved. The count never goes back (not at a new ring, not at a merge), so a
// daemon's own history is always in stamp order.

/** [ring sequence, change count, ring key: the ring id `<seq>.<representative>` (see StampClock.enter)]. */
export type Stamp = readonly [ringSeq: number, counter: number, ringId: string];

export const ZERO_STAMP: Stamp = [0, 0, ''];

/**
 * Total order: a later ring wins; within rings of one sequence number (two partitions formed
 * at once) the higher change count, then the ring key, which tells the partitions apart.
 */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] < b[2] ? -1 : a[2] > b[2] ? 1 : 0;
}

export const maxStamp = (a: Stamp, b: Stamp): Stamp => (compareStamps(a, b) >= 0 ? a : b);

/** A text unique to the change that took the stamp (checkpoint ids, BLCR handles). */
export const stampText = (s: Stamp): string => `${s[2]}#${s[1]}`;

export function isStamp(v: unknown): v is Stamp {
  return (
    Array.isArray(v) &&
    v.length === 3 &&
    Number.isSafeInteger(v[0]) &&
    Number.isSafeInteger(v[1]) &&
    (v[1] as number) >= 0 &&
    typeof v[2] === 'string'
  );
}

/** Hands out stamps: one per change applied. */
export class StampClock {
  private ringSeq = 0;
  private ringId = '';
  private counter = 0;

  /**
   * A configuration was installed. `ringKey` names it apart from every configuration another
   * partition may install: the ring id, and for a transitional configuration (which carries the
   * new ring's id on both sides) its first member too.
   */
  enter(ringSeq: number, ringKey: string): void {
    this.ringSeq = ringSeq;
    this.ringId = ringKey;
  }

  next(): Stamp {
    this.counter++;
    return [this.ringSeq, this.counter, this.ringId];
  }

  /** The ring and count, for snapshots. */
  get position(): Stamp {
    return [this.ringSeq, this.counter, this.ringId];
  }

  /** After a merge: continue from the merged position. */
  restore(position: Stamp): void {
    [this.ringSeq, this.counter, this.ringId] = position;
  }
}

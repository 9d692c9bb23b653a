// Membership ids and the deterministic orders every daemon must agree on.
//
// A group id is (membership id, per-group counter), as in Spread. Spread's membership id is the
// daemon ring's (representative, formation time); ringcast's is (ring representative's daemon
// id, low 32 bits of the ring sequence number). A transitional configuration gets an id of its
// own, distinct from every regular one (Spread: Trans_memb_id), so a group changed in two
// partitions of one ring never gets the same id twice.
import type { ConfigurationChange } from '../membership/types';
import type { GroupId } from '../../wire/client/membershipBody';

export interface MembershipId {
  readonly daemonId: number;
  readonly time: number;
}

const TWO_32 = 2 ** 32;
/** Flipped in the time of transitional ids: keeps them apart from the regular id of the same ring. */
const TRANSITIONAL_BIT = 0x80000000;

/** The low 32 bits of a (non-negative, integral) ring sequence number. */
export function ringTime(ringSeq: number): number {
  return (ringSeq % TWO_32) >>> 0;
}

/** The id of a regular configuration: (representative, ring time). */
export function regularMembershipId(change: Pick<ConfigurationChange, 'ringSeq' | 'ringRep'>): MembershipId {
  return { daemonId: change.ringRep >>> 0, time: ringTime(change.ringSeq) };
}

/** The id of a transitional configuration: (its leader, the new ring's time with the top bit flipped). */
export function transitionalMembershipId(change: Pick<ConfigurationChange, 'ringSeq'>, leader: number): MembershipId {
  return { daemonId: leader >>> 0, time: (ringTime(change.ringSeq) ^ TRANSITIONAL_BIT) >>> 0 };
}

export function sameMembershipId(a: MembershipId | null, b: MembershipId | null): boolean {
  if (a === null || b === null) return a === b;
  return a.daemonId === b.daemonId && a.time === b.time;
}

export function sameGroupId(a: GroupId, b: GroupId): boolean {
  return a.daemonId === b.daemonId && a.time === b.time && a.index === b.index;
}

export function groupIdOf(membId: MembershipId, index: number): GroupId {
  return { daemonId: membId.daemonId, time: membId.time, index };
}

export function membershipIdOf(id: GroupId): MembershipId {
  return { daemonId: id.daemonId, time: id.time };
}

/**
 * Spread's G_compare_memb_ids: by daemon id, then time (as signed 32-bit numbers, as Spread
 * stores them); an unknown id (null: a partitioned daemon) sorts after every known one.
 */
export function compareMembershipIds(a: MembershipId | null, b: MembershipId | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (a.daemonId !== b.daemonId) return (a.daemonId | 0) < (b.daemonId | 0) ? -1 : 1;
  if (a.time !== b.time) return (a.time | 0) < (b.time | 0) ? -1 : 1;
  return 0;
}

/** Byte order of latin1 names (Spread's strncmp). */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The order of daemons in the configuration file (Spread's G_compare_proc_ids_by_conf): members
 * are listed daemon by daemon in this order. Daemons the configuration does not know sort
 * after all others, by id.
 */
export class DaemonOrder {
  private readonly rank = new Map<number, number>();

  constructor(ids: readonly number[]) {
    ids.forEach((id, i) => {
      if (!this.rank.has(id)) this.rank.set(id, i);
    });
  }

  compare = (a: number, b: number): number => {
    const ra = this.rank.get(a);
    const rb = this.rank.get(b);
    if (ra !== undefined && rb !== undefined) return ra - rb;
    if (ra === undefined && rb === undefined) return a === b ? 0 : a >>> 0 < b >>> 0 ? -1 : 1;
    return ra === undefined ? 1 : -1;
  };

  /** The first of these daemons in configuration order. @throws RangeError when empty. */
  first(ids: Iterable<number>): number {
    let best: number | undefined;
    for (const id of ids) if (best === undefined || this.compare(id, best) < 0) best = id;
    if (best === undefined) throw new RangeError('no daemons');
    return best;
  }
}

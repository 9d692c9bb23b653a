// One process group as every daemon holds it: its members daemon by daemon, its id, and what
// Spread calls "changed" (it includes daemons we are partitioned from, or members whose
// daemons came from different memberships, until the next regular configuration settles it).
import type { GroupId } from '../../wire/client/membershipBody';
import { compareMembershipIds, compareNames, membershipIdOf, type DaemonOrder, type MembershipId } from './ids';

/** The members of one group at one daemon. */
export interface DaemonMembers {
  readonly daemonId: number;
  /** The membership this daemon's members come from; null when we are partitioned from it. */
  membId: MembershipId | null;
  /** Private group names, sorted. */
  readonly members: string[];
}

function insertSorted(list: string[], name: string): boolean {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareNames(list[mid]!, name);
    if (c === 0) return false;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, name);
  return true;
}

export class Group {
  id: GroupId;
  changed = false;
  private readonly daemons = new Map<number, DaemonMembers>();
  private count = 0;

  constructor(
    readonly name: string,
    id: GroupId,
    private readonly order: DaemonOrder,
  ) {
    this.id = id;
  }

  get size(): number {
    return this.count;
  }

  daemon(daemonId: number): DaemonMembers | undefined {
    return this.daemons.get(daemonId);
  }

  /** The daemon's entry, created with `membId` if it has none. */
  daemonOrAdd(daemonId: number, membId: MembershipId | null): DaemonMembers {
    let d = this.daemons.get(daemonId);
    if (!d) {
      d = { daemonId, membId, members: [] };
      this.daemons.set(daemonId, d);
    }
    return d;
  }

  /** Adds a member at a daemon that has an entry; false if it is already there. */
  addMember(d: DaemonMembers, member: string): boolean {
    if (!insertSorted(d.members, member)) return false;
    this.count++;
    return true;
  }

  /** Removes a member; a daemon left without members goes too. False if it was not there. */
  removeMember(daemonId: number, member: string): boolean {
    const d = this.daemons.get(daemonId);
    if (!d) return false;
    const i = d.members.indexOf(member);
    if (i < 0) return false;
    d.members.splice(i, 1);
    this.count--;
    if (d.members.length === 0) this.daemons.delete(daemonId);
    return true;
  }

  hasMember(daemonId: number, member: string): boolean {
    return this.daemons.get(daemonId)?.members.includes(member) ?? false;
  }

  /** Daemons in configuration order. */
  daemonsInOrder(): DaemonMembers[] {
    return [...this.daemons.values()].sort((a, b) => this.order.compare(a.daemonId, b.daemonId));
  }

  /** All members: daemon by daemon in configuration order, then by name. */
  members(): string[] {
    const out: string[] = [];
    for (const d of this.daemonsInOrder()) out.push(...d.members);
    return out;
  }

  /** Members at one daemon (for this daemon: its local members). */
  membersAt(daemonId: number): readonly string[] {
    return this.daemons.get(daemonId)?.members ?? [];
  }

  /** Marks daemons outside `present` as partitioned; true if any was newly marked. */
  partitionDaemonsOutside(present: ReadonlySet<number>): boolean {
    let changed = false;
    for (const d of this.daemons.values()) {
      if (!present.has(d.daemonId)) {
        if (d.membId !== null) changed = true;
        d.membId = null;
      }
    }
    return changed;
  }

  /** Whether some daemon is outside `present` (Spread: a cascading membership change affects it). */
  hasDaemonOutside(present: ReadonlySet<number>): boolean {
    for (const id of this.daemons.keys()) if (!present.has(id)) return true;
    return false;
  }

  /** Drops the daemons we are partitioned from, with their members; returns those members. */
  removePartitionedDaemons(): string[] {
    const gone: string[] = [];
    for (const [id, d] of this.daemons) {
      if (d.membId === null) {
        gone.push(...d.members);
        this.count -= d.members.length;
        this.daemons.delete(id);
      }
    }
    return gone;
  }

  /** Every daemon we are not partitioned from now comes from the group's current membership. */
  syncDaemonMembIds(): void {
    const membId = membershipIdOf(this.id);
    for (const d of this.daemons.values()) if (d.membId !== null) d.membId = membId;
  }

  /**
   * The vs_sets of a heavyweight (CAUSED_BY_NETWORK) membership, as Spread's
   * G_build_memb_vs_buf: daemons sorted by the membership they come from, then by configuration
   * order; one set per membership, a partitioned daemon alone in its set; a `joiner` (a join
   * during a transitional period) is taken out of its daemon's set and put last, alone.
   * `localDaemon`'s set is the receiver's; returns its index (the joiner's for the joiner).
   */
  vsSets(localDaemon: number, joiner?: string): { sets: string[][]; localIndex: number; joinerIndex: number } {
    const daemons = [...this.daemons.values()].sort(
      (a, b) => compareMembershipIds(a.membId, b.membId) || this.order.compare(a.daemonId, b.daemonId),
    );
    const sets: string[][] = [];
    let localIndex = -1;
    let current: MembershipId | null = null;
    for (const d of daemons) {
      if (sets.length === 0 || current === null || d.membId === null || compareMembershipIds(current, d.membId) !== 0) {
        sets.push([]);
        current = d.membId;
      }
      if (d.daemonId === localDaemon) localIndex = sets.length - 1;
      const set = sets[sets.length - 1]!;
      for (const m of d.members) if (m !== joiner) set.push(m);
    }
    let joinerIndex = -1;
    if (joiner !== undefined) {
      sets.push([joiner]);
      joinerIndex = sets.length - 1;
    }
    return { sets, localIndex: localIndex < 0 ? 0 : localIndex, joinerIndex };
  }
}

// Group membership replicated through the ring, and what each local client session receives:
// a pure state machine in the manner of Spread 5.0.1's groups.c. Every daemon feeds it the same
// agreed-order deliveries and configuration changes, so every daemon holds the same groups.
//
// - Operational (GOP): JOIN / LEAVE / KILL change a group and its local members get
//   REG_MEMB_MESS caused by JOIN / LEAVE / DISCONNECT ("lightweight": one vs_set, the member that
//   changed); a data message reaches each local session of its target groups once.
// - Transitional (GTRANS): a daemon configuration change began. Groups with members at daemons
//   that did not come along are "changed": their local members get TRANSITION_MESS (old id) and
//   the group takes a transitional id. Deliveries until the regular configuration are the EVS
//   clean-up messages; a change to a changed group is announced "heavyweight" (CAUSED_BY_NETWORK,
//   vs_sets by origin) followed by another TRANSITION_MESS.
// - Regular configuration: if no daemon joined (the regular set is the transitional one), the
//   changed groups drop the departed daemons' members, take id (ring, 1) and announce
//   CAUSED_BY_NETWORK. Otherwise the daemons exchange their groups state (Spread's GROUPS
//   messages): each submits a report of its own members; once every member daemon's report is
//   delivered, all rebuild the same groups from them and announce the changed ones. Deliveries
//   that come during the exchange are held and replayed after it, in order.
import { MessageType, isSelfDiscard } from '../../wire/client/constants';
import type { SpreadMessage } from '../../wire/client/message';
import { encodeGroupsReport, type DataEnvelope, type Envelope, type GroupsReportEnvelope, type ReportedGroup } from '../../wire/envelope';
import type { ConfigurationChange } from '../membership/types';
import { Service } from '../service';
import { Group } from './group';
import {
  DaemonOrder,
  compareNames,
  groupIdOf,
  membershipIdOf,
  regularMembershipId,
  sameGroupId,
  transitionalMembershipId,
  type MembershipId,
} from './ids';
import { heavyweightMembership, lightweightMembership, selfLeaveNotice, transitionalNotice } from './notices';
import type { GroupView, GroupsCoreOptions, GroupsInput, GroupsOutput, GroupsPhase } from './types';

interface LocalSession {
  /** Asked for membership messages (connect flags bit 0). */
  readonly membership: boolean;
  /** False once the connection is gone (its KILL may still be in the ring). */
  open: boolean;
}

type HeldInput = Extract<GroupsInput, { kind: 'deliver' | 'configuration' }>;

const HASH = 0x23; // '#': private groups start with it

export class GroupsCore {
  private readonly myId: number;
  private readonly order: DaemonOrder;
  private phase: GroupsPhase = 'operational';
  private readonly groups = new Map<string, Group>();
  /** member → names of the groups it is in (KILL finds them without a scan). */
  private readonly groupsOfMember = new Map<string, Set<string>>();
  private readonly sessions = new Map<string, LocalSession>();

  /** The regular configuration last installed, and its id. */
  private regular: ConfigurationChange | null = null;
  private regId: MembershipId = { daemonId: 0, time: 0 };
  private transMembers: ReadonlySet<number>;
  /** Daemons whose groups state this one holds (Spread's synced set): no exchange is needed
   *  for a regular configuration of these daemons only. */
  private synced: Set<number>;
  private transId: MembershipId = { daemonId: 0, time: 0 };

  // The state exchange after a regular configuration that brought daemons together.
  private expected = new Set<number>();
  private reports: Array<{ origin: number; groups: readonly ReportedGroup[] }> = [];
  private held: HeldInput[] = [];

  private out: GroupsOutput[] = [];

  constructor(options: GroupsCoreOptions) {
    this.myId = options.myId >>> 0;
    this.order = new DaemonOrder(options.daemonOrder);
    // Before any configuration this daemon knows (only) its own, empty, state.
    this.transMembers = new Set([this.myId]);
    this.synced = new Set([this.myId]);
  }

  /** Where the groups layer stands towards the daemon configuration. */
  get state(): GroupsPhase {
    return this.phase;
  }

  /** Feeds one input; returns what to do, in order. */
  step(input: GroupsInput): GroupsOutput[] {
    const outer = this.out;
    const out: GroupsOutput[] = [];
    this.out = out;
    try {
      this.dispatch(input);
    } finally {
      this.out = outer;
    }
    return out;
  }

  /** The groups, sorted by name, members in Spread's order. */
  snapshot(): GroupView[] {
    return this.sortedGroups().map((g) => ({ name: g.name, groupId: { ...g.id }, members: g.members() }));
  }

  /**
   * Per daemon id, how many distinct clients are members of some group there (what the
   * replicated state knows of other daemons' clients: a session in no group is invisible).
   */
  clientsPerDaemon(): Map<number, number> {
    const members = new Map<number, Set<string>>();
    for (const g of this.groups.values()) {
      for (const d of g.daemonsInOrder()) {
        let set = members.get(d.daemonId);
        if (!set) members.set(d.daemonId, (set = new Set()));
        for (const m of d.members) set.add(m);
      }
    }
    return new Map([...members].map(([id, set]) => [id, set.size]));
  }

  // ------------------------------------------------------------------------------------------

  private dispatch(input: GroupsInput): void {
    switch (input.kind) {
      case 'sessionOpened':
        this.sessions.set(input.privateGroup, { membership: input.membership, open: true });
        return;
      case 'sessionClosed': {
        const s = this.sessions.get(input.privateGroup);
        if (s) s.open = false;
        return;
      }
      case 'deliver':
        if (this.phase === 'exchanging') {
          if (input.envelope.kind === 'groups') this.onReport(input.origin, input.envelope);
          else this.held.push(input);
        } else {
          this.onEnvelope(input.origin, input.envelope);
        }
        return;
      case 'configuration':
        if (input.change.kind === 'transitional') {
          if (this.phase === 'exchanging') this.held.push(input);
          else this.onTransitional(input.change);
        } else {
          this.onRegular(input.change);
        }
        return;
    }
  }

  private onEnvelope(origin: number, e: Envelope): void {
    switch (e.kind) {
      case 'data':
        this.deliverData(e);
        return;
      case 'join':
        this.onJoin(origin >>> 0, e.member, e.group);
        return;
      case 'leave':
        this.onLeave(origin >>> 0, e.member, e.group);
        return;
      case 'kill':
        this.onKill(origin >>> 0, e.member);
        return;
      case 'groups':
        return; // a report for an exchange that is over or was abandoned
    }
  }

  // ---- configuration changes ----------------------------------------------------------------

  private onTransitional(change: ConfigurationChange): void {
    const members = change.members.length > 0 ? change.members.map((m) => m >>> 0) : [this.myId];
    this.transMembers = new Set(members);
    this.transId = transitionalMembershipId(change, this.order.first(members));
    for (const id of this.synced) if (!this.transMembers.has(id)) this.synced.delete(id);
    for (const g of this.sortedGroups()) {
      if (!g.partitionDaemonsOutside(this.transMembers)) continue;
      this.toMembers(g, transitionalNotice(g));
      g.id = groupIdOf(this.transId, 1);
      g.changed = true;
      g.syncDaemonMembIds();
    }
    this.phase = 'transitional';
  }

  private onRegular(change: ConfigurationChange): void {
    if (this.phase === 'exchanging') this.abandonExchange();
    // A regular configuration with no transitional one before it (this daemon's first ring):
    // the daemons this one knows about are itself.
    if (this.phase === 'operational') this.onTransitional({ ...change, kind: 'transitional', members: [this.myId] });

    this.regular = change;
    this.regId = regularMembershipId(change);
    const members = change.members.map((m) => m >>> 0);
    // Only daemons whose state we hold (Spread: the transitional set equals the regular one).
    const onlyLosses = members.every((m) => this.synced.has(m));
    for (const g of this.sortedGroups()) {
      if (!g.changed) continue;
      for (const m of g.removePartitionedDaemons()) this.unindex(m, g.name);
      if (g.size === 0) this.groups.delete(g.name);
    }
    if (onlyLosses) {
      for (const g of this.sortedGroups()) {
        if (!g.changed) continue;
        g.id = groupIdOf(this.regId, 1);
        g.changed = false;
        g.syncDaemonMembIds();
        this.announceNetwork(g);
      }
      this.synced = new Set(members);
      this.phase = 'operational';
      return;
    }
    this.phase = 'exchanging';
    this.expected = new Set(members);
    this.reports = [];
    this.held = [];
    this.out.push({ kind: 'submit', service: Service.AGREED, payload: encodeGroupsReport(this.ownReport(change)) });
  }

  private ownReport(change: ConfigurationChange): Omit<GroupsReportEnvelope, 'kind'> {
    const groups: ReportedGroup[] = [];
    for (const g of this.sortedGroups()) {
      const mine = g.membersAt(this.myId);
      if (mine.length > 0) groups.push({ name: g.name, groupId: { ...g.id }, changed: g.changed, members: [...mine] });
    }
    return { ringSeq: change.ringSeq, ringRep: change.ringRep, groups };
  }

  private onReport(origin: number, report: GroupsReportEnvelope): void {
    const r = this.regular;
    origin >>>= 0;
    if (!r || report.ringSeq !== r.ringSeq || report.ringRep >>> 0 !== r.ringRep >>> 0) return; // another exchange's
    if (!this.expected.has(origin) || this.reports.some((x) => x.origin === origin)) return;
    this.reports.push({ origin, groups: report.groups });
    if (this.reports.length === this.expected.size) this.completeExchange();
  }

  /** Every member daemon's report is in: everyone rebuilds the same groups from them. */
  private completeExchange(): void {
    this.groups.clear();
    this.groupsOfMember.clear();
    for (const { origin, groups } of this.reports) {
      for (const rg of groups) {
        let g = this.groups.get(rg.name);
        if (!g) {
          g = new Group(rg.name, { ...rg.groupId }, this.order);
          this.groups.set(rg.name, g);
        }
        // Members that come from different memberships: the group changed.
        if (rg.changed || !sameGroupId(g.id, rg.groupId)) g.changed = true;
        const d = g.daemonOrAdd(origin, membershipIdOf(rg.groupId));
        for (const m of rg.members) if (g.addMember(d, m)) this.index(m, g.name);
      }
    }
    for (const g of this.sortedGroups()) {
      if (!g.changed) continue;
      g.id = groupIdOf(this.regId, 1);
      g.changed = false;
      this.announceNetwork(g); // vs_sets still show where members come from
      g.syncDaemonMembIds();
    }
    this.synced = new Set(this.expected);
    this.finishExchange();
  }

  /**
   * A new regular configuration before the exchange completed (Spread's GGT): keep the state as
   * it was before the exchange (still synced only with the daemons it was synced with), apply
   * what was held (so its effects are in the next report), and start over with the new
   * configuration.
   */
  private abandonExchange(): void {
    this.finishExchange();
  }

  private finishExchange(): void {
    const held = this.held;
    this.phase = 'operational';
    this.expected = new Set();
    this.reports = [];
    this.held = [];
    for (const input of held) this.dispatch(input);
  }

  // ---- client operations --------------------------------------------------------------------

  private onJoin(origin: number, member: string, name: string): void {
    let g = this.groups.get(name);
    if (!g) {
      g = new Group(name, groupIdOf(this.phase === 'operational' ? this.regId : this.transId, 0), this.order);
      this.groups.set(name, g);
    }
    // A join from a daemon we are partitioned from (delivered in the transitional period).
    const partitioned = this.phase !== 'operational' && !this.transMembers.has(origin);
    const d = g.daemonOrAdd(origin, partitioned ? null : membershipIdOf(g.id));
    if (!g.addMember(d, member)) return; // already a member
    this.index(member, name);
    g.id = { ...g.id, index: g.id.index + 1 };
    if (d.membId === null) g.changed = true;
    if (g.changed) {
      const { toMembers, toJoiner } = heavyweightMembership(g, this.myId, member);
      const joinerIsLocal = origin === this.myId;
      this.toMembers(g, toMembers, joinerIsLocal ? member : undefined);
      if (joinerIsLocal && toJoiner && this.wantsMembership(member)) this.emit([member], toJoiner);
      this.toMembers(g, transitionalNotice(g));
    } else {
      this.toMembers(g, lightweightMembership(g, MessageType.CAUSED_BY_JOIN, member));
    }
  }

  private onLeave(origin: number, member: string, name: string): void {
    const g = this.groups.get(name);
    if (!g || !g.hasMember(origin, member)) return;
    if (origin === this.myId && this.wantsMembership(member)) this.emit([member], selfLeaveNotice(g));
    this.removeMember(g, origin, member, MessageType.CAUSED_BY_LEAVE);
  }

  private onKill(origin: number, member: string): void {
    const names = this.groupsOfMember.get(member);
    if (names) {
      for (const name of [...names].sort(compareNames)) {
        const g = this.groups.get(name);
        if (g && g.hasMember(origin, member)) this.removeMember(g, origin, member, MessageType.CAUSED_BY_DISCONNECT);
      }
    }
    if (origin === this.myId) {
      this.sessions.delete(member);
      this.out.push({ kind: 'sessionReleased', privateGroup: member });
    }
  }

  private removeMember(
    g: Group,
    origin: number,
    member: string,
    cause: typeof MessageType.CAUSED_BY_LEAVE | typeof MessageType.CAUSED_BY_DISCONNECT,
  ): void {
    g.removeMember(origin, member);
    this.unindex(member, g.name);
    if (g.size === 0) {
      this.groups.delete(g.name);
      return;
    }
    g.id = { ...g.id, index: g.id.index + 1 };
    if (g.changed) {
      this.toMembers(g, heavyweightMembership(g, this.myId).toMembers);
      this.toMembers(g, transitionalNotice(g));
    } else {
      this.toMembers(g, lightweightMembership(g, cause, member));
    }
  }

  private deliverData(e: DataEnvelope): void {
    const discard = isSelfDiscard(e.type) ? e.sender : undefined;
    const isTarget = (s: string): boolean => s !== discard && this.sessions.get(s)?.open === true;
    let targets: string[];
    if (e.groups.length === 1 && e.groups[0]!.charCodeAt(0) !== HASH) {
      // The common case: one group, whose members are distinct already.
      targets = (this.groups.get(e.groups[0]!)?.membersAt(this.myId) ?? []).filter(isTarget);
    } else {
      const seen = new Set<string>();
      for (const target of e.groups) {
        if (target.charCodeAt(0) === HASH) {
          if (isTarget(target)) seen.add(target);
        } else {
          const g = this.groups.get(target);
          if (g) for (const m of g.membersAt(this.myId)) if (isTarget(m)) seen.add(m);
        }
      }
      targets = [...seen];
    }
    if (targets.length > 0) this.emit(targets, { type: e.type, sender: e.sender, groups: e.groups, hint: e.hint, data: e.data });
  }

  // ---- helpers ------------------------------------------------------------------------------

  /** CAUSED_BY_NETWORK to the local members of a group that changed with the configuration. */
  private announceNetwork(g: Group): void {
    this.toMembers(g, heavyweightMembership(g, this.myId).toMembers);
  }

  private wantsMembership(member: string): boolean {
    const s = this.sessions.get(member);
    return s !== undefined && s.open && s.membership;
  }

  /** A membership message to the group's local members that asked for them (but `except`). */
  private toMembers(g: Group, message: SpreadMessage, except?: string): void {
    const to = g.membersAt(this.myId).filter((m) => m !== except && this.wantsMembership(m));
    if (to.length > 0) this.emit(to, message);
  }

  private emit(sessions: string[], message: SpreadMessage): void {
    this.out.push({ kind: 'deliver', sessions, message });
  }

  private sortedGroups(): Group[] {
    return [...this.groups.values()].sort((a, b) => compareNames(a.name, b.name));
  }

  private index(member: string, group: string): void {
    let set = this.groupsOfMember.get(member);
    if (!set) {
      set = new Set();
      this.groupsOfMember.set(member, set);
    }
    set.add(group);
  }

  private unindex(member: string, group: string): void {
    const set = this.groupsOfMember.get(member);
    if (!set) return;
    set.delete(group);
    if (set.size === 0) this.groupsOfMember.delete(member);
  }
}

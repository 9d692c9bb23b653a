// The active/standby helper: the members of a group agree on its regular views (every member
// gets the same member list, in the daemons' agreed order, at the same point of the message
// order), so "the first member is active" picks one active member per view with no messages of
// its own. When the active member dies or leaves, the next view names its successor.
//
// A network partition gives each side its own view and so its own active member; when the
// partition heals, the merged view leaves one of them active and tells the other 'standby'.
import { EventEmitter } from 'node:events';
import { SpreadError, type RingcastError } from '../../errors';
import type { MembershipMessage, ReceivedMessage } from '../../client/received';
import type { Session, SessionEvents } from '../../client/session';

export type HaRole = 'active' | 'standby';

export interface HaGroupEvents {
  /** This member must take over (also on the first view, if it comes first). */
  active: () => void;
  /** This member is, or is again, a standby (also on the first view, if it does not come first). */
  standby: () => void;
  /** Every regular view of the group, members in the agreed order. */
  view: (members: readonly string[]) => void;
  /** The session ended: this process is no longer a member (an active member first gets 'standby': it must step down). */
  closed: (error: RingcastError | undefined) => void;
}

/** What the helper needs of a Session (tests pass a stand-in). */
export type HaSession = Pick<Session, 'privateGroup' | 'join' | 'leave' | 'isClosed'> & {
  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): unknown;
  off<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): unknown;
  /** Session.observe: watching without consuming (stand-ins may leave it out and get listeners). */
  observe?(observer: (message: ReceivedMessage) => void): () => void;
};

export interface HaGroup {
  on<E extends keyof HaGroupEvents>(event: E, listener: HaGroupEvents[E]): this;
  once<E extends keyof HaGroupEvents>(event: E, listener: HaGroupEvents[E]): this;
  off<E extends keyof HaGroupEvents>(event: E, listener: HaGroupEvents[E]): this;
  emit<E extends keyof HaGroupEvents>(event: E, ...args: Parameters<HaGroupEvents[E]>): boolean;
}

export class HaGroup extends EventEmitter {
  /** Resolves with the role of the first view (or 'standby' if the session ends first). */
  readonly ready: Promise<HaRole>;
  private currentRole: HaRole = 'standby';
  private currentMembers: readonly string[] = [];
  private left = false;
  private viewed = false;
  private leaving: Promise<void> | undefined;
  private resolveReady!: (role: HaRole) => void;
  private resolveLeft: (() => void) | undefined;
  private readonly onMembership = (m: MembershipMessage): void => this.membership(m);
  private unobserve: (() => void) | undefined;
  private readonly onClose = (error: RingcastError | undefined): void => this.sessionClosed(error);

  /** Use HaService.group(). */
  constructor(
    private readonly session: HaSession,
    readonly name: string,
    private readonly forget: () => void = () => {},
  ) {
    super();
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    // An observer takes nothing from the application and leaves its backlog alone.
    if (session.observe) {
      this.unobserve = session.observe((m) => {
        if (m.type === 'membership') this.onMembership(m);
      });
    } else session.on('membership', this.onMembership);
    session.on('close', this.onClose);
  }

  /** 'standby' until the first view says otherwise, and after leave() or the session's end. */
  get role(): HaRole {
    return this.currentRole;
  }

  /** The members of the current view (private groups), in the agreed order; empty before the first. */
  get members(): readonly string[] {
    return this.currentMembers;
  }

  /** The private group of the current view's active member. */
  get activeMember(): string | undefined {
    return this.currentMembers[0];
  }

  /**
   * Leaves the group; resolves when the daemon has confirmed it (or the session has ended).
   * The role is 'standby' from then on and no more events come.
   * @throws SpreadError CONNECTION_CLOSED when the session ends while sending.
   */
  leave(): Promise<void> {
    if (this.left) return Promise.resolve();
    this.leaving ??= (async () => {
      const confirmed = new Promise<void>((resolve) => (this.resolveLeft = resolve));
      await this.session.leave(this.name);
      await confirmed;
    })();
    return this.leaving;
  }

  private membership(m: MembershipMessage): void {
    if (m.group !== this.name || this.left) return;
    if (m.kind === 'self-leave') return this.detach();
    // A transitional view only announces the regular one that follows; roles change there.
    if (m.kind !== 'regular') return;
    const role: HaRole = m.members[0] === this.session.privateGroup ? 'active' : 'standby';
    const changed = role !== this.currentRole || !this.viewed;
    this.viewed = true;
    this.currentMembers = m.members;
    this.currentRole = role;
    this.emit('view', m.members);
    this.resolveReady(role);
    if (changed) this.emit(role);
  }

  private sessionClosed(error: RingcastError | undefined): void {
    if (this.left) return;
    const wasActive = this.currentRole === 'active';
    this.detach();
    if (wasActive) this.emit('standby');
    this.emit('closed', error);
  }

  /** @internal Stops following the group (self-leave, session end, or a join that failed). */
  detach(): void {
    if (this.left) return;
    this.left = true;
    this.currentRole = 'standby';
    this.currentMembers = [];
    if (this.unobserve) this.unobserve();
    else this.session.off('membership', this.onMembership);
    this.session.off('close', this.onClose);
    this.resolveReady('standby');
    this.resolveLeft?.();
    this.forget();
  }
}

/** `session.ha`: active/standby groups over one session. */
export class HaService {
  private readonly groups = new Map<string, Promise<HaGroup>>();

  constructor(private readonly session: HaSession) {}

  /**
   * Joins group `name` and follows its views. One HaGroup per name and session until it is left.
   * The session must have been connected with membership messages (connect's default).
   * @throws SpreadError ILLEGAL_GROUP (bad name), CONNECTION_CLOSED.
   */
  group(name: string): Promise<HaGroup> {
    const existing = this.groups.get(name);
    if (existing) return existing;
    const forget = (): void => {
      if (this.groups.get(name) === entry) this.groups.delete(name);
    };
    const entry = this.join(name, forget);
    this.groups.set(name, entry);
    entry.catch(forget);
    return entry;
  }

  private async join(name: string, forget: () => void): Promise<HaGroup> {
    if (this.session.isClosed) throw new SpreadError('CONNECTION_CLOSED', `session ${this.session.privateGroup} is closed`);
    // Listen before joining, so the first view cannot pass by.
    const group = new HaGroup(this.session, name, forget);
    try {
      await this.session.join(name);
    } catch (err) {
      group.detach();
      throw err;
    }
    return group;
  }
}

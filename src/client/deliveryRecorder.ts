// A client's deliveries in the delivery-log format (shared/design/cli.md), so the invariant
// checker can verify real runs: `sent`/`msg` lines with ids `<private group>#<n>`, and `conf`
// lines for one group's memberships (ring = the group id, members = private groups).
//
// A transitional membership message carries no member list, and the checker needs one. The
// transitional configuration is the set of members that move on together with this client:
// the next regular membership's local vs_set. So after a transitional message the entries are
// held back until that regular membership arrives, then written as
//   conf transitional (ring = the new group id, as daemons log it) · held entries · conf regular.
import type { ServiceName } from '../core/service';
import type { LogEntry } from '../sim/deliveryLog';
import { formatGroupId, type MembershipMessage, type RegularMembershipMessage } from './received';

/** Where entries go: a LogWriter, or anything with its write(). */
export interface DeliveryLogSink {
  write(entry: LogEntry): void;
}

export class ClientDeliveryRecorder {
  private members: readonly string[] = [];
  private ring = '(none)';
  /** Entries held back since a transitional membership; undefined when none is pending. */
  private held: LogEntry[] | undefined;

  /** @param group the group whose memberships become conf lines. */
  constructor(
    private readonly sink: DeliveryLogSink,
    readonly group: string,
  ) {}

  sent(id: string, svc: ServiceName): void {
    this.write({ t: 'sent', id, svc });
  }

  delivered(id: string, svc: ServiceName, groups: readonly string[], len: number): void {
    this.write({ t: 'msg', id, svc, groups: [...groups], len });
  }

  membership(message: MembershipMessage): void {
    if (message.group !== this.group) return;
    if (message.kind === 'transitional') {
      this.held ??= [];
    } else if (message.kind === 'regular') {
      this.regular(message);
    }
  }

  /** Writes anything held back (the log ends inside a transitional configuration). */
  finish(): void {
    if (this.held === undefined) return;
    const held = this.held;
    this.held = undefined;
    // No regular membership followed: the best we know is the last regular one.
    this.sink.write({ t: 'conf', kind: 'transitional', ring: `${this.ring}/transitional`, members: [...this.members] });
    for (const e of held) this.sink.write(e);
  }

  private regular(message: RegularMembershipMessage): void {
    const ring = formatGroupId(message.groupId);
    if (this.held !== undefined) {
      const held = this.held;
      this.held = undefined;
      this.sink.write({ t: 'conf', kind: 'transitional', ring, members: transitionalMembers(message, this.members) });
      for (const e of held) this.sink.write(e);
    }
    this.members = message.members;
    this.ring = ring;
    this.sink.write({ t: 'conf', kind: 'regular', ring, members: [...message.members] });
  }

  private write(entry: LogEntry): void {
    if (this.held !== undefined) this.held.push(entry);
    else this.sink.write(entry);
  }
}

/** The members that went through the transitional configuration with this client. */
function transitionalMembers(next: RegularMembershipMessage, previous: readonly string[]): string[] {
  const local = next.vsSets[next.localVsSetIndex];
  if (next.cause === 'NETWORK' && local !== undefined) return [...local];
  const before = new Set(previous);
  return next.members.filter((m) => before.has(m));
}

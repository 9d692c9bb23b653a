// Messages the daemon originates, built as Spread 5.0.1 builds them (Message_create_message,
// G_* membership notices, Sess_create_reject_message): hint = the endian flag alone
// (mess_type 0), membership data in the frame's byte order.
import { SpreadError } from '../../errors';
import { MAX_GROUPS_PER_MESSAGE, MessageType } from './constants';
import { hintFor } from './header';
import { encodeRegularMembershipBody, encodeTransitionalBody, type GroupId } from './membershipBody';
import type { SpreadMessage } from './message';

export type MembershipCause =
  | typeof MessageType.CAUSED_BY_JOIN
  | typeof MessageType.CAUSED_BY_LEAVE
  | typeof MessageType.CAUSED_BY_DISCONNECT
  | typeof MessageType.CAUSED_BY_NETWORK;

const CAUSES: ReadonlySet<number> = new Set([
  MessageType.CAUSED_BY_JOIN,
  MessageType.CAUSED_BY_LEAVE,
  MessageType.CAUSED_BY_DISCONNECT,
  MessageType.CAUSED_BY_NETWORK,
]);

const EMPTY = Buffer.alloc(0);

export interface RegularMembershipNotice {
  readonly group: string;
  readonly cause: MembershipCause;
  /** All members' private groups, in Spread's order (daemons' configuration order, then name). */
  readonly members: readonly string[];
  readonly groupId: GroupId;
  /** JOIN/LEAVE/DISCONNECT: one set holding the member that changed; NETWORK: one set per previous membership. */
  readonly vsSets: readonly (readonly string[])[];
  /** The vs_set of the receiving member (0 for JOIN/LEAVE/DISCONNECT). */
  readonly localVsSetIndex: number;
}

/**
 * REG_MEMB_MESS | cause to the group's members. `littleEndian` must match the order the frame
 * is then encoded in, since the body's integers follow it.
 * @throws SpreadError ILLEGAL_MESSAGE for a cause that is not exactly one CAUSED_BY_* flag;
 *   RangeError for a bad localVsSetIndex.
 */
export function regularMembershipMessage(notice: RegularMembershipNotice, littleEndian = true): SpreadMessage {
  if (!CAUSES.has(notice.cause)) throw new SpreadError('ILLEGAL_MESSAGE', `cause 0x${Number(notice.cause).toString(16)} is not one CAUSED_BY_* flag`);
  return {
    type: MessageType.REG_MEMB_MESS | notice.cause,
    sender: notice.group,
    groups: notice.members,
    hint: hintFor(0, littleEndian),
    data: encodeRegularMembershipBody(notice.groupId, notice.vsSets, notice.localVsSetIndex, littleEndian),
  };
}

/** TRANSITION_MESS: no groups, data = the ending membership's group id. */
export function transitionalMessage(group: string, endingGroupId: GroupId, littleEndian = true): SpreadMessage {
  return {
    type: MessageType.TRANSITION_MESS,
    sender: group,
    groups: [],
    hint: hintFor(0, littleEndian),
    data: encodeTransitionalBody(endingGroupId, littleEndian),
  };
}

/** The 48-byte notice a member gets after its own LEAVE: type CAUSED_BY_LEAVE alone. */
export function selfLeaveMessage(group: string, littleEndian = true): SpreadMessage {
  return { type: MessageType.CAUSED_BY_LEAVE, sender: group, groups: [], hint: hintFor(0, littleEndian), data: EMPTY };
}

/**
 * The reject of a client's message, sent back to its sender: type REJECT_MESS (plus
 * SELF_DISCARD if the original had it), the original sender, hint and data, and the original
 * groups with the sender appended (replacing the last when there are already 100).
 * `oldType` defaults to the original type; Spread turns a refused JOIN into
 * CAUSED_BY_JOIN (and LEAVE into CAUSED_BY_LEAVE) in place of JOIN_MESS/LEAVE_MESS.
 */
export function rejectMessage(original: SpreadMessage, oldType = original.type): SpreadMessage {
  const groups =
    original.groups.length < MAX_GROUPS_PER_MESSAGE
      ? [...original.groups, original.sender]
      : [...original.groups.slice(0, MAX_GROUPS_PER_MESSAGE - 1), original.sender];
  return {
    type: MessageType.REJECT_MESS | (original.type & MessageType.SELF_DISCARD),
    sender: original.sender,
    groups,
    hint: original.hint,
    data: original.data,
    oldType,
  };
}

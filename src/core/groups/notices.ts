// The membership messages a group's local members receive, built as Spread's groups.c builds
// them (G_send_lightweight_memb, G_send_heavyweight_join, G_build_trans_mess,
// G_send_self_leave), with the client codecs.
import { MessageType } from '../../wire/client/constants';
import {
  regularMembershipMessage,
  selfLeaveMessage,
  transitionalMessage,
  type MembershipCause,
} from '../../wire/client/daemonMessages';
import type { SpreadMessage } from '../../wire/client/message';
import type { Group } from './group';

/** JOIN, LEAVE or DISCONNECT: one vs_set holding just the member that changed. */
export function lightweightMembership(group: Group, cause: MembershipCause, changedMember: string): SpreadMessage {
  return regularMembershipMessage({
    group: group.name,
    cause,
    members: group.members(),
    groupId: group.id,
    vsSets: [[changedMember]],
    localVsSetIndex: 0,
  });
}

export interface HeavyweightMembership {
  /** For the local members (except a local joiner). */
  readonly toMembers: SpreadMessage;
  /** For a joiner: the same, with its own vs_set as the local one. */
  readonly toJoiner?: SpreadMessage;
}

/**
 * CAUSED_BY_NETWORK: one vs_set per membership the members come from. `joiner`: a member whose
 * join was delivered while the group is changed; it is listed last, in a vs_set of its own.
 */
export function heavyweightMembership(group: Group, localDaemon: number, joiner?: string): HeavyweightMembership {
  const { sets, localIndex, joinerIndex } = group.vsSets(localDaemon, joiner);
  const notice = {
    group: group.name,
    cause: MessageType.CAUSED_BY_NETWORK,
    members: group.members(),
    groupId: group.id,
    vsSets: sets,
  };
  const toMembers = regularMembershipMessage({ ...notice, localVsSetIndex: localIndex });
  if (joiner === undefined) return { toMembers };
  return { toMembers, toJoiner: regularMembershipMessage({ ...notice, localVsSetIndex: joinerIndex }) };
}

/** TRANSITION_MESS with the id of the membership that ends. */
export function transitionalNotice(group: Group): SpreadMessage {
  return transitionalMessage(group.name, group.id);
}

/** The notice a member gets after its own LEAVE. */
export function selfLeaveNotice(group: Group): SpreadMessage {
  return selfLeaveMessage(group.name);
}

// The groups layer: replicated group membership and the messages client sessions receive.
export { GroupsCore } from './groupsCore';
export { DaemonOrder, regularMembershipId, transitionalMembershipId, ringTime, type MembershipId } from './ids';
export type { GroupView, GroupsCoreOptions, GroupsInput, GroupsOutput, GroupsPhase } from './types';

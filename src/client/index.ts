// The TypeScript client of the Spread 5.0.1 client protocol: connect() → Session.
export { connect, type ConnectOptions } from './connect';
export { Session, type SessionEvents } from './session';
export { DEFAULT_DAEMON, formatDaemonAddress, parseDaemonAddress, type DaemonAddress } from './address';
export { checkDestinationGroup, checkJoinableGroup, type MessageData, type MulticastOptions } from './outgoing';
export {
  compareGroupIdStrings,
  formatGroupId,
  spreadGroupIdText,
  type DataMessage,
  type GroupId,
  type MembershipCause,
  type MembershipMessage,
  type ReceivedMessage,
  type RegularMembershipMessage,
  type RejectedMessage,
  type SelfLeaveMessage,
  type TransitionalMembershipMessage,
} from './received';
export { describeMessage } from './describe';
export { ClientDeliveryRecorder, type DeliveryLogSink } from './deliveryRecorder';
export { requestStatus, STATUS_GROUP, type StatusReport } from './statusProtocol';
export { runFlood, type FloodOptions, type FloodResult } from './flood';
export type { LatencySummary } from './latency';

// ringcast's public API: `import { connect } from "ringcast"`. Everything not exported here is
// internal and may change.
export {
  connect,
  Session,
  parseDaemonAddress,
  formatDaemonAddress,
  DEFAULT_DAEMON,
  formatGroupId,
  compareGroupIdStrings,
  describeMessage,
  requestStatus,
  STATUS_GROUP,
  type ConnectOptions,
  type SessionEvents,
  type DaemonAddress,
  type MessageData,
  type MulticastOptions,
  type DataMessage,
  type GroupId,
  type MembershipCause,
  type MembershipMessage,
  type ReceivedMessage,
  type RegularMembershipMessage,
  type RejectedMessage,
  type SelfLeaveMessage,
  type TransitionalMembershipMessage,
  type StatusReport,
} from './client';
export { RingcastError, SpreadError, UsageError, ConfigError, SpreadCode, type SpreadCodeName } from './errors';
export { Service, SERVICE_NAMES, type ServiceName } from './core/service';
export {
  MessageType,
  SPREAD_FRAME_LIMITS,
  DEFAULT_FRAME_LIMITS as RINGCAST_FRAME_LIMITS,
  MAX_GROUP_NAME,
  MAX_PRIVATE_NAME,
  MAX_GROUPS_PER_MESSAGE,
  type FrameLimits,
} from './wire/client';

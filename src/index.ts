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
// The HA toolkit: active/standby groups, rollback sequences, the supervisor (README "HA toolkit").
export {
  HaService,
  HaGroup,
  Sequence,
  retryThenRollback,
  MemoryProgressStore,
  CheckpointProgressStore,
  openCheckpointProgressStore,
  Supervisor,
  RestartPolicy,
  MemoryFaultPublisher,
  daemonFaultPublisher,
  SUPERVISOR_EVENTS,
  SUPERVISOR_SPACE,
  type HaRole,
  type HaGroupEvents,
  type FailurePolicy,
  type PolicyDecision,
  type ProgressStore,
  type SequenceOptions,
  type SequenceResult,
  type SequenceStep,
  type StepContext,
  type StepFailure,
  type SupervisorOptions,
  type SupervisorResult,
  type RestartPolicyOptions,
  type RestartDecision,
  type FaultEvent,
  type FaultPublisher,
} from './services/ha';
export { HaError, SequenceAbortedError } from './errors';
// Services through any session (`session.checkpoints`, `session.events`, `session.service(group)`).
export { ServiceClient, ServiceError, type ServiceRequestOptions, type ServiceReply } from './client/serviceClient';
export { CheckpointService, CheckpointHandle } from './client/checkpoints';
export { EventService, EventClient, Subscription, EventClientError } from './client/events';
export type { EventRecord } from './services/events/protocol';
export { CHECKPOINT_GROUP } from './services/checkpoint/protocol';
export { EVENTS_GROUP } from './services/events/protocol';

// The HA toolkit: the supervisor, the active/standby helper and rollback sequences.
export { HaService, HaGroup, type HaRole, type HaGroupEvents, type HaSession } from './group';
export {
  Sequence,
  retryThenRollback,
  DEFAULT_RETRIES,
  DEFAULT_MAX_ROLLBACKS,
  type FailurePolicy,
  type PolicyDecision,
  type SequenceEvents,
  type SequenceOptions,
  type SequenceResult,
  type SequenceStep,
  type StepContext,
  type StepEvent,
  type StepFailure,
} from './sequence';
export { MemoryProgressStore, type ProgressStore } from './progressStore';
export { CheckpointProgressStore, openCheckpointProgressStore, progressSectionId, PROGRESS_CHECKPOINT_ATTRIBUTES, type CheckpointSections } from './checkpointStore';
export { RestartPolicy, RESTART_DEFAULTS, isFailure, type ExitStatus, type RestartDecision, type RestartPolicyOptions } from './restartPolicy';
export { Supervisor, exitCodeOf, type SupervisorEvents, type SupervisorOptions, type SupervisorOutcome, type SupervisorResult } from './supervisor';
export {
  MemoryFaultPublisher,
  NO_FAULTS,
  SUPERVISOR_EVENTS,
  SUPERVISOR_SPACE,
  type FaultEvent,
  type FaultPublisher,
  type FaultSeverity,
  type SupervisorEventName,
  type SupervisorPayload,
} from './faults';
export { ReconnectingFaultPublisher, type EventPublisherClient, type OpenEvents } from './eventsPublisher';
export { daemonFaultPublisher, supervisorClientName, type DaemonFaultPublisherOptions } from './daemonEvents';

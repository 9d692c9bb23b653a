// The checkpoint service (SA Forum AIS checkpoints on the ring): the engine the daemons run,
// and the wire vocabulary clients share.
export { CheckpointEngine, type CheckpointEngineOptions, type CheckpointCounters } from './engine';
export { DEFAULT_LIMITS, type CheckpointLimits } from './store';
export * from './protocol';

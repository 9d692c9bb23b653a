// The checkpoint service's wire vocabulary, shared by the engine and the client library: the
// reserved group, the ops, the SA Forum AIS constants (saCkpt.h, B.02.02 numbering) and the
// BLCR event names. Requests and replies are msgpack maps (docs/services-contract.md); README
// "Checkpoints" documents every op and field.

export const CHECKPOINT_GROUP = '#ringcast-ckpt';

export const CHECKPOINT_OPS = [
  'initialize',
  'finalize',
  'open',
  'close',
  'unlink',
  'retentionSet',
  'activeReplicaSet',
  'status',
  'sectionCreate',
  'sectionDelete',
  'sectionExpirationSet',
  'write',
  'overwrite',
  'read',
  'synchronize',
  'sections',
  'list',
  'describe',
  'chkptBegin',
  'chkptEnd',
  'chkptError',
  'rstrtBegin',
  'rstrtEnd',
  'rstrtError',
] as const;
export type CheckpointOp = (typeof CHECKPOINT_OPS)[number];

/** SaCkptCheckpointOpenFlagsT. */
export const OpenFlag = { READ: 0x1, WRITE: 0x2, CREATE: 0x4 } as const;

/** SaCkptCheckpointCreationFlagsT. */
export const CreationFlag = {
  WR_ALL_REPLICAS: 0x1,
  WR_ACTIVE_REPLICA: 0x2,
  WR_ACTIVE_REPLICA_WEAK: 0x4,
  CHECKPOINT_COLLOCATED: 0x8,
} as const;
export type CreationFlagName = keyof typeof CreationFlag;

/** SaCkptSectionsChosenT: which sections an iteration walks. */
export const SectionsChosen = {
  FOREVER: 1,
  LEQ_EXPIRATION_TIME: 2,
  GEQ_EXPIRATION_TIME: 3,
  CORRUPTED: 4,
  ANY: 5,
} as const;
export type SectionsChosenName = keyof typeof SectionsChosen;

/** SaCkptSectionStateT. */
export const SectionState = { VALID: 1, CORRUPTED: 2 } as const;

/** The AIS version this service implements (saCkptInitialize answers it). */
export const SUPPORTED_VERSION = { releaseCode: 'B', majorVersion: 2, minorVersion: 2 } as const;

/** SA_MAX_NAME_LENGTH: a checkpoint name holds at most this many UTF-8 bytes. */
export const MAX_NAME_BYTES = 256;
/** SaCkptSectionIdT.idLen is a SaUint16T. */
export const MAX_SECTION_ID_BYTES = 0xffff;

/**
 * SaCkptCheckpointCreationAttributesT. Sizes in bytes; retentionDuration in ms, null for
 * SA_TIME_END (kept until unlinked).
 */
export interface CreationAttributes {
  readonly creationFlags: number;
  readonly checkpointSize: number;
  readonly retentionDuration: number | null;
  readonly maxSections: number;
  readonly maxSectionSize: number;
  readonly maxSectionIdSize: number;
}

/** SaCkptSectionDescriptorT as `sections` answers it. */
export interface SectionDescriptor {
  readonly sectionId: Buffer;
  /** ms since the epoch; null for SA_TIME_END (never expires). */
  readonly expirationTime: number | null;
  readonly sectionSize: number;
  readonly sectionState: number;
  /** ms since the epoch of the last change. */
  readonly lastUpdate: number;
}

/** The event space of the BLCR-schema events this service publishes. */
export const BLCR_SPACE = 'ringcast.checkpoint.blcr';
/** The event space of the service's own events (a write that failed outside a BLCR checkpoint). */
export const CHECKPOINT_EVENT_SPACE = 'ringcast.checkpoint.service';

export const BLCR_EVENTS = ['CHKPT_BEGIN', 'CHKPT_END', 'CHKPT_ERROR', 'RSTRT_BEGIN', 'RSTRT_END', 'RSTRT_ERROR'] as const;
export type BlcrEventName = (typeof BLCR_EVENTS)[number];
/** CHKPT: an application saving its state; RSTRT: an application restarting from it. */
export type BlcrKind = 'CHKPT' | 'RSTRT';
/** The `blcr` marker of write / overwrite / read requests. */
export const BLCR_MARKERS = ['begin', 'end', 'once'] as const;
export type BlcrMarker = (typeof BLCR_MARKERS)[number];

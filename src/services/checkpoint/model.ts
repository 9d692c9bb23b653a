// The replicated state's records: checkpoints with their sections, open handles, tombstones
// and open BLCR begins. Every daemon of a configuration holds the same records.
import type { Stamp } from './stamp';
import type { CreationAttributes, BlcrKind } from './protocol';

export interface Section {
  readonly id: Buffer;
  data: Buffer;
  /** ms since the epoch; null = SA_TIME_END. */
  expiration: number | null;
  lastUpdate: number;
  /** The last change to this section (merge picks the greatest). */
  stamp: Stamp;
}

export interface Checkpoint {
  /** Unique for the checkpoint's life: stampText of its creation. */
  readonly id: string;
  readonly name: string;
  readonly created: Stamp;
  /** As given at creation: an open that names other attributes gets EXIST. */
  readonly attrs: CreationAttributes;
  /** The current retention duration (saCkptCheckpointRetentionDurationSet changes it). */
  retention: number | null;
  /** The name is gone; the checkpoint lives until its last opener closes. */
  unlinked: boolean;
  /** Collocated asynchronous checkpoints: the daemon whose replica is active, if any. */
  activeReplica: string | null;
  /** When the last opener closed (retention runs from here); null while opened. */
  idleSince: number | null;
  /** The last change of retention or active replica. */
  metaStamp: Stamp;
  /** The last change of anything in the checkpoint (opens and closes included). */
  lastChange: Stamp;
  /** The last number used for a generated section id. */
  generated: number;
  readonly sections: Map<string, Section>;
  /** Deleted or expired sections by key, with the stamp of the deletion (bounded). */
  readonly sectionTombstones: Map<string, Stamp>;
  /** Keys of the handles that have it open. */
  readonly openers: Set<string>;
  /** memoryUsed: the sum of the sections' sizes. */
  bytes: number;
}

export interface OpenHandle {
  readonly key: string;
  /** The client's private group. */
  readonly client: string;
  readonly handle: number;
  checkpoint: string;
  readonly flags: number;
  /** The library handle (initialize) it was opened under; 0 = the client's implicit one. */
  readonly library: number;
  readonly opened: Stamp;
}

/** Why a checkpoint is gone: unlinked (sticky in merges), or its retention ran out. */
export type TombstoneKind = 'unlink' | 'expired';

export interface CheckpointTombstone {
  readonly id: string;
  readonly name: string;
  readonly stamp: Stamp;
  readonly kind: TombstoneKind;
}

export interface BlcrBegin {
  /** The handle of the BEGIN event, which END/ERROR carry as beginHandle. */
  readonly beginHandle: string;
  readonly kind: BlcrKind;
  readonly client: string;
  /** The open handle (key) it was begun on. */
  readonly openKey: string;
  readonly checkpoint: string;
}

/** Map key of a section id: its hex (hex order is byte order). */
export const sectionKey = (id: Buffer): string => id.toString('hex');

export const handleKey = (client: string, handle: number): string => `${handle}@${client}`;

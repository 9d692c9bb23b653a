// A ProgressStore in a replicated checkpoint: one section per sequence, overwritten whole at
// every save, so a process restarted on any host (connected to any daemon) resumes.
import type { CheckpointAttributesInput, CheckpointService } from '../../client/checkpoints';
import { ServiceError } from '../../client/serviceClient';
import type { ProgressStore } from './progressStore';

/**
 * What the store needs of an open checkpoint (src/client/checkpoints.ts CheckpointHandle,
 * opened with read and write access).
 */
export interface CheckpointSections {
  createSection(sectionId: string, options: { data: Buffer }): Promise<unknown>;
  overwrite(sectionId: string, data: Buffer): Promise<unknown>;
  read(items: readonly { sectionId: string }[]): Promise<readonly { readonly data: Buffer | Uint8Array }[]>;
}

const isNotExist = (err: unknown): boolean => err instanceof ServiceError && err.error === 'SA_AIS_ERR_NOT_EXIST';

/** Section id of a sequence's progress. */
export const progressSectionId = (sequence: string): string => `ha.seq.${sequence}`;

export class CheckpointProgressStore implements ProgressStore {
  constructor(private readonly checkpoint: CheckpointSections) {}

  /** @throws ServiceError from the checkpoint service (other than NOT_EXIST). */
  async load(sequence: string): Promise<Buffer | undefined> {
    try {
      const [item] = await this.checkpoint.read([{ sectionId: progressSectionId(sequence) }]);
      return item && item.data.length > 0 ? Buffer.from(item.data) : undefined;
    } catch (err) {
      if (isNotExist(err)) return undefined;
      throw err;
    }
  }

  /** @throws ServiceError (e.g. SA_AIS_ERR_NO_SPACE when the section's maximum size is too small). */
  async save(sequence: string, progress: Buffer): Promise<void> {
    const id = progressSectionId(sequence);
    try {
      await this.checkpoint.overwrite(id, progress);
    } catch (err) {
      if (!isNotExist(err)) throw err;
      await this.checkpoint.createSection(id, { data: progress });
    }
  }

  /** Empties the section (an empty section reads as no progress). */
  async clear(sequence: string): Promise<void> {
    try {
      await this.checkpoint.overwrite(progressSectionId(sequence), Buffer.alloc(0));
    } catch (err) {
      if (!isNotExist(err)) throw err;
    }
  }
}

/** Room for 64 sequences of up to 64 KiB of progress each, kept until unlinked. */
export const PROGRESS_CHECKPOINT_ATTRIBUTES: CheckpointAttributesInput = { maxSections: 64, maxSectionSize: 65536, retentionDuration: null };

/**
 * Opens (creating it if needed) checkpoint `name` for reading and writing, as a ProgressStore.
 * @throws ServiceError from open (e.g. SA_AIS_ERR_EXIST: it exists with other attributes).
 */
export async function openCheckpointProgressStore(
  checkpoints: CheckpointService,
  name: string,
  attrs: CheckpointAttributesInput = PROGRESS_CHECKPOINT_ATTRIBUTES,
): Promise<CheckpointProgressStore> {
  return new CheckpointProgressStore(await checkpoints.open(name, { read: true, write: true, create: true, attrs }));
}

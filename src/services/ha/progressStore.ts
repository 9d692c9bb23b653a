// Where a rollback sequence keeps its progress between steps, so that a restarted process
// resumes: opaque bytes per sequence name. In memory here; checkpointStore.ts keeps them in a
// replicated checkpoint.

export interface ProgressStore {
  /** The bytes last saved for `sequence`, or undefined when there are none (or they were cleared). */
  load(sequence: string): Promise<Buffer | undefined>;
  save(sequence: string, progress: Buffer): Promise<void>;
  /** Forgets the progress of a sequence that ended. */
  clear(sequence: string): Promise<void>;
}

/** A ProgressStore in this process: survives a sequence object, not the process. */
export class MemoryProgressStore implements ProgressStore {
  private readonly saved = new Map<string, Buffer>();
  /** Saves so far, for tests and diagnostics. */
  saves = 0;

  load(sequence: string): Promise<Buffer | undefined> {
    const bytes = this.saved.get(sequence);
    return Promise.resolve(bytes && Buffer.from(bytes));
  }

  save(sequence: string, progress: Buffer): Promise<void> {
    // A copy: the caller may reuse its buffer.
    this.saved.set(sequence, Buffer.from(progress));
    this.saves++;
    return Promise.resolve();
  }

  clear(sequence: string): Promise<void> {
    this.saved.delete(sequence);
    return Promise.resolve();
  }

  /** Names with saved progress. */
  sequences(): string[] {
    return [...this.saved.keys()];
  }
}

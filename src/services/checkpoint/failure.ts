// The one way a checkpoint request fails inside the engine: an AIS error name, a readable
// message, and reply fields that go with it (erroneousVectorIndex). The dispatcher turns it
// into an error reply; nothing else is thrown on purpose.
import type { AisErrorName } from '../engine';

export class CheckpointFailure extends Error {
  constructor(
    readonly error: AisErrorName,
    message: string,
    /** Extra reply fields, e.g. `{ erroneousVectorIndex }`. */
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
    this.name = 'CheckpointFailure';
  }
}

export function fail(error: AisErrorName, message: string, details?: Readonly<Record<string, unknown>>): never {
  throw new CheckpointFailure(error, message, details);
}

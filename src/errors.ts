// One error vocabulary for the whole project: a class per condition, a stable string code,
// and Spread's numeric code (sp.h) where one exists.

/** Spread's numeric error codes, as in Spread 5.0.1's sp.h. */
export const SpreadCode = {
  ILLEGAL_SPREAD: -1,
  COULD_NOT_CONNECT: -2,
  REJECT_QUOTA: -3,
  REJECT_NO_NAME: -4,
  REJECT_ILLEGAL_NAME: -5,
  REJECT_NOT_UNIQUE: -6,
  REJECT_VERSION: -7,
  CONNECTION_CLOSED: -8,
  REJECT_AUTH: -9,
  ILLEGAL_SESSION: -11,
  ILLEGAL_SERVICE: -12,
  ILLEGAL_MESSAGE: -13,
  ILLEGAL_GROUP: -14,
  BUFFER_TOO_SHORT: -15,
  GROUPS_TOO_SHORT: -16,
  MESSAGE_TOO_LONG: -17,
  NET_ERROR_ON_SESSION: -18,
} as const;
export type SpreadCodeName = keyof typeof SpreadCode;

export class RingcastError extends Error {
  /** Stable machine-readable code, e.g. "CONFIG_SYNTAX". */
  readonly code: string;
  /** Spread's numeric code, where the condition has one. */
  readonly spreadCode?: number;
  constructor(code: string, message: string, opts: { spreadCode?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    if (opts.spreadCode !== undefined) this.spreadCode = opts.spreadCode;
  }
}

/** A spread.conf problem; the message names file, line and column and says what was expected. */
export class ConfigError extends RingcastError {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly hint?: string,
  ) {
    super('CONFIG', `${file}:${line}:${column}: ${message}${hint ? ` (${hint})` : ''}`);
  }
}

/** A condition Spread reports with one of its codes (client protocol, session limits). */
export class SpreadError extends RingcastError {
  constructor(name: SpreadCodeName, message: string, opts: { cause?: unknown } = {}) {
    super(name, message, { spreadCode: SpreadCode[name], cause: opts.cause });
  }
}

/** Wrong command-line usage or option values. */
export class UsageError extends RingcastError {
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** An invariant of shared/design/invariants.md that a run violated. */
export class InvariantViolation extends RingcastError {
  constructor(readonly invariant: number, readonly invariantName: string, message: string) {
    super('INVARIANT', `invariant ${invariant} (${invariantName}) violated: ${message}`);
  }
}

/** The HA toolkit (src/services/ha): a bad option, a run already going, unreadable stored progress. */
export class HaError extends RingcastError {
  constructor(code: 'HA_INVALID' | 'HA_BUSY' | 'HA_BAD_PROGRESS' | 'HA_SEQUENCE_ABORTED', message: string, opts: { cause?: unknown } = {}) {
    super(code, message, opts);
  }
}

/** A rollback sequence gave up; the rollbacks of its completed steps have run (reverse order). */
export class SequenceAbortedError extends HaError {
  constructor(
    readonly sequence: string,
    /** The step that failed last. */
    readonly step: string,
    /** 'policy': a policy said abort; 'rollback-limit': too many rollbacks; 'rollback-failed': a rollback threw. */
    readonly reason: 'policy' | 'rollback-limit' | 'rollback-failed',
    cause: unknown,
    /** Errors thrown by rollbacks while giving up (they do not stop the other rollbacks). */
    readonly rollbackErrors: readonly unknown[] = [],
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super('HA_SEQUENCE_ABORTED', `sequence ${sequence} gave up at step ${step} (${reason}): ${why}`, { cause });
  }
}

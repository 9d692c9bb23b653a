// What every decoder in this folder returns: a value, "need more bytes", or an error value.
// Decoders never throw on input bytes: a session must be able to feed them anything.
import { RingcastError, SpreadCode, SpreadError, type SpreadCodeName } from '../../errors';

/** Why a decoder refused its input; `code` is the Spread error it maps to. */
export type WireFaultReason =
  // handshake, daemon side
  | 'VERSION_TOO_OLD'
  | 'NAME_TOO_LONG'
  | 'NAME_ILLEGAL_CHARACTER'
  // handshake, client side
  | 'REJECTED_BY_DAEMON'
  | 'BAD_HANDSHAKE_REPLY'
  // frames
  | 'NEGATIVE_LENGTH'
  | 'TOO_MANY_GROUPS'
  | 'TOO_LONG'
  | 'BAD_TYPE'
  | 'BAD_HINT'
  | 'WRONG_SENDER'
  | 'ILLEGAL_GROUP'
  | 'MISSING_GROUP'
  | 'BAD_MEMBERSHIP_BODY';

export interface Decoded<T> {
  readonly status: 'ok';
  readonly value: T;
  /** Bytes of input the value took. */
  readonly length: number;
}

export interface Incomplete {
  readonly status: 'incomplete';
  /** Total bytes (from the decoder's start offset) needed before it can say more. */
  readonly needed: number;
}

export interface WireFault {
  readonly status: 'error';
  /** Spread's name for the condition, or 'UNKNOWN' for a code a daemon sent that sp.h lacks. */
  readonly code: SpreadCodeName | 'UNKNOWN';
  /** Spread's numeric code (the byte a daemon sends to reject a connection). */
  readonly spreadCode: number;
  readonly reason: WireFaultReason;
  readonly detail: string;
}

export type DecodeResult<T> = Decoded<T> | Incomplete | WireFault;

export function decoded<T>(value: T, length: number): Decoded<T> {
  return { status: 'ok', value, length };
}

export function incomplete(needed: number): Incomplete {
  return { status: 'incomplete', needed };
}

export function wireFault(code: SpreadCodeName, reason: WireFaultReason, detail: string): WireFault {
  return { status: 'error', code, spreadCode: SpreadCode[code], reason, detail };
}

const nameByCode = new Map<number, SpreadCodeName>(
  (Object.keys(SpreadCode) as SpreadCodeName[]).map((name) => [SpreadCode[name], name]),
);

/** Spread's name for a numeric code, if sp.h has one that src/errors.ts knows. */
export function spreadCodeName(code: number): SpreadCodeName | undefined {
  return nameByCode.get(code);
}

/** A fault carrying a code a daemon sent (e.g. a reject byte). */
export function faultFromSpreadCode(spreadCode: number, reason: WireFaultReason, detail: string): WireFault {
  return { status: 'error', code: spreadCodeName(spreadCode) ?? 'UNKNOWN', spreadCode, reason, detail };
}

/** The error to throw or report for a fault, for callers that turn faults into exceptions. */
export function faultToError(fault: WireFault): RingcastError {
  const message = `${fault.reason}: ${fault.detail}`;
  if (fault.code === 'UNKNOWN') return new RingcastError('SPREAD_UNKNOWN', message, { spreadCode: fault.spreadCode });
  return new SpreadError(fault.code, message);
}

// The CIFTS Fault Tolerance Backplane (FTB 0.6) vocabulary the events service speaks: its
// return codes (ftb_def.h, same names and numbers), its field limits and severities.

/** FTB return codes, as numbered in FTB 0.6's ftb_def.h. */
export const FtbCode = {
  FTB_SUCCESS: 0,
  FTB_ERR_GENERAL: -1,
  FTB_ERR_EVENTSPACE_FORMAT: -2,
  FTB_ERR_SUBSCRIPTION_STYLE: -3,
  FTB_ERR_INVALID_VALUE: -4,
  FTB_ERR_DUP_CALL: -5,
  FTB_ERR_NULL_POINTER: -6,
  FTB_ERR_NOT_SUPPORTED: -7,
  FTB_ERR_INVALID_FIELD: -8,
  FTB_ERR_INVALID_HANDLE: -9,
  FTB_ERR_DUP_EVENT: -10,
  FTB_ERR_INVALID_SCHEMA_FILE: -11,
  FTB_ERR_INVALID_EVENT_NAME: -12,
  FTB_ERR_INVALID_EVENT_TYPE: -13,
  FTB_ERR_SUBSCRIPTION_STR: -14,
  FTB_ERR_FILTER_ATTR: -15,
  FTB_ERR_FILTER_VALUE: -16,
  FTB_GOT_NO_EVENT: -17,
  FTB_FAILURE: -18,
  FTB_ERR_INVALID_PARAMETER: -19,
  FTB_ERR_NETWORK_GENERAL: -20,
  FTB_ERR_NETWORK_NO_ROUTE: -21,
} as const;
export type FtbErrorName = Exclude<keyof typeof FtbCode, 'FTB_SUCCESS' | 'FTB_GOT_NO_EVENT'>;

/** Why a request failed: the FTB code's name and a readable message. */
/** Marks failures, so that a payload map with `error` and `message` fields is never taken for one. */
const FAILURE: unique symbol = Symbol('FtbFailure');

export interface FtbFailure {
  readonly error: FtbErrorName;
  readonly message: string;
  readonly [FAILURE]: true;
}

export const fail = (error: FtbErrorName, message: string): FtbFailure => ({ error, message, [FAILURE]: true });

export const isFailure = (x: unknown): x is FtbFailure => typeof x === 'object' && x !== null && (x as { [FAILURE]?: unknown })[FAILURE] === true;

/** A reply body for a request that failed, in the shape of engine.ts's errorReply. */
export function ftbErrorReply(id: unknown, failure: FtbFailure): Record<string, unknown> {
  return { id, ok: false, error: failure.error, code: FtbCode[failure.error], message: failure.message };
}

// Field sizes of ftb_def.h: C buffers with a terminating NUL, so a value holds one less.
export const MAX_EVENTSPACE = 64;
export const MAX_CLIENT_NAME = 16;
export const MAX_CLIENT_JOBID = 16;
export const MAX_EVENT_NAME = 32;
export const MAX_HOST_NAME = 64;
/** FTB_MAX_PAYLOAD_DATA: a payload may fill the whole buffer (it is not a C string). */
export const MAX_PAYLOAD_DATA = 368;

export const SEVERITIES = ['FATAL', 'ERROR', 'WARNING', 'INFO'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** FTB's event_type 1 (normal) and 2 (response, an answer to another event). */
export const EVENT_TYPES = ['normal', 'response'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

// Validation of the names FTB checks: event spaces (`region.category.component`, as
// FTBCI_split_namespace), event names, client names, job ids and host names.
import {
  MAX_CLIENT_JOBID,
  MAX_CLIENT_NAME,
  MAX_EVENTSPACE,
  MAX_EVENT_NAME,
  MAX_HOST_NAME,
  SEVERITIES,
  fail,
  type FtbErrorName,
  type FtbFailure,
  type Severity,
} from './ftb';

/** FTB's check_alphanumeric_underscore_format, for a non-empty string. */
export const isWord = (s: string): boolean => /^[A-Za-z0-9_]+$/.test(s);

export interface EventSpace {
  readonly region: string;
  readonly category: string;
  readonly component: string;
}

/**
 * Splits an event space: exactly three non-empty parts of letters, digits and `_`, shorter
 * than FTB_MAX_EVENTSPACE in all.
 */
export function parseEventSpace(text: unknown): EventSpace | FtbFailure {
  if (typeof text !== 'string') return fail('FTB_ERR_EVENTSPACE_FORMAT', 'event space must be a string region.category.component');
  if (text.length >= MAX_EVENTSPACE) return fail('FTB_ERR_EVENTSPACE_FORMAT', `event space "${text}" is longer than ${MAX_EVENTSPACE - 1} characters`);
  const parts = text.split('.');
  if (parts.length !== 3 || !parts.every(isWord)) {
    return fail('FTB_ERR_EVENTSPACE_FORMAT', `event space "${text}" is not region.category.component (letters, digits and _ in each part)`);
  }
  return { region: parts[0]!, category: parts[1]!, component: parts[2]! };
}

export const formatEventSpace = (s: EventSpace): string => `${s.region}.${s.category}.${s.component}`;

/** An FTB event name: letters, digits and `_`, 1..31 characters. */
export function checkEventName(name: unknown, error: FtbErrorName): string | FtbFailure {
  if (typeof name !== 'string' || name.length === 0 || name.length >= MAX_EVENT_NAME || !isWord(name)) {
    return fail(error, `event name ${JSON.stringify(name)} must be 1..${MAX_EVENT_NAME - 1} letters, digits or _`);
  }
  return name;
}

/** Client names key the replicated state and appear in handles, so they stay plain: 1..15 of [A-Za-z0-9_.-]. */
export function checkClientName(name: unknown, error: FtbErrorName): string | FtbFailure {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(name) || name.length >= MAX_CLIENT_NAME) {
    return fail(error, `client name ${JSON.stringify(name)} must be 1..${MAX_CLIENT_NAME - 1} letters, digits, _ . or -`);
  }
  return name;
}

/** A free-text field of FTB (job id, host name): no separators of subscription strings, bounded. */
function checkText(value: unknown, what: string, max: number, error: FtbErrorName, allowEmpty: boolean): string | FtbFailure {
  if (typeof value !== 'string' || value.length >= max || (!allowEmpty && value.length === 0) || /[\s,=]/.test(value)) {
    return fail(error, `${what} ${JSON.stringify(value)} must be ${allowEmpty ? 'up to' : '1..'}${max - 1} characters without spaces, ',' or '='`);
  }
  return value;
}

export const checkJobId = (v: unknown, error: FtbErrorName, allowEmpty = true): string | FtbFailure =>
  checkText(v, 'job id', MAX_CLIENT_JOBID, error, allowEmpty);

export const checkHostName = (v: unknown, error: FtbErrorName, allowEmpty = true): string | FtbFailure =>
  checkText(v, 'host name', MAX_HOST_NAME, error, allowEmpty);

/** A severity in any case (FTB compares with strcasecmp); the canonical upper-case name. */
export function parseSeverity(value: unknown): Severity | undefined {
  if (typeof value !== 'string') return undefined;
  const upper = value.toUpperCase();
  return (SEVERITIES as readonly string[]).includes(upper) ? (upper as Severity) : undefined;
}

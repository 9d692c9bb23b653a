// FTB subscription strings: `attr=value,attr=value` with the attributes event_space, severity,
// jobid, host_name, event_name and client_name (any case), `all` as a value's wildcard, and ''
// or `all` alone for every event. The rules and error codes are FTBCI_parse_subscription_string's:
// a pair without exactly one '=' or with an empty side, a repeated attribute or too many
// fields → FTB_ERR_SUBSCRIPTION_STR; an unknown attribute (or one with blanks inside) →
// FTB_ERR_FILTER_ATTR; a bad value → FTB_ERR_FILTER_VALUE; a bad event space →
// FTB_ERR_EVENTSPACE_FORMAT.
import { fail, isFailure, type FtbFailure } from './ftb';
import { checkClientName, checkEventName, checkHostName, checkJobId, parseEventSpace, parseSeverity } from './names';

export const WILDCARD = 'all';

/** Every field is a value to match (case-insensitively, as FTB's strcasecmp) or `all`. */
export interface SubscriptionFilter {
  readonly region: string;
  readonly category: string;
  readonly component: string;
  readonly severity: string;
  readonly jobId: string;
  readonly host: string;
  readonly eventName: string;
  readonly clientName: string;
}

export const MATCH_ALL: SubscriptionFilter = {
  region: WILDCARD,
  category: WILDCARD,
  component: WILDCARD,
  severity: WILDCARD,
  jobId: WILDCARD,
  host: WILDCARD,
  eventName: WILDCARD,
  clientName: WILDCARD,
};

/** FTBCI_MAX_SUBSCRIPTION_FIELDS. */
const MAX_FIELDS = 10;
/** A string longer than every field's limit together cannot be valid; stop before splitting it. */
export const MAX_SUBSCRIPTION_LENGTH = 1024;

const isWildcard = (v: string): boolean => v.toLowerCase() === WILDCARD;
const trimBlanks = (s: string): string => s.replace(/^[ \t]+|[ \t]+$/g, '');

type Field = Partial<SubscriptionFilter>;

/** One attribute's value → the filter fields it sets, or why not. */
function parseValue(attr: string, value: string): Field | FtbFailure {
  const wild = isWildcard(value);
  const checked = (r: string | FtbFailure, set: (v: string) => Field): Field | FtbFailure => (isFailure(r) ? r : set(r));
  switch (attr) {
    case 'event_space': {
      if (wild) return { region: WILDCARD, category: WILDCARD, component: WILDCARD };
      const space = parseEventSpace(value);
      if (isFailure(space)) return space;
      const part = (p: string): string => (isWildcard(p) ? WILDCARD : p);
      return { region: part(space.region), category: part(space.category), component: part(space.component) };
    }
    case 'severity': {
      if (wild) return { severity: WILDCARD };
      const severity = parseSeverity(value);
      return severity ? { severity } : fail('FTB_ERR_FILTER_VALUE', `severity "${value}" is none of fatal, error, warning, info, all`);
    }
    case 'jobid':
      return checked(wild ? WILDCARD : checkJobId(value, 'FTB_ERR_FILTER_VALUE', false), (jobId) => ({ jobId }));
    case 'host_name':
      return checked(wild ? WILDCARD : checkHostName(value, 'FTB_ERR_FILTER_VALUE', false), (host) => ({ host }));
    case 'event_name':
      return checked(wild ? WILDCARD : checkEventName(value, 'FTB_ERR_FILTER_VALUE'), (eventName) => ({ eventName }));
    case 'client_name':
      return checked(wild ? WILDCARD : checkClientName(value, 'FTB_ERR_FILTER_VALUE'), (clientName) => ({ clientName }));
    default:
      return fail('FTB_ERR_FILTER_ATTR', `unknown attribute "${attr}" (event_space, severity, jobid, host_name, event_name, client_name)`);
  }
}

/** Parses a subscription string. Never throws: anything that is not a valid string is a failure. */
export function parseSubscription(text: unknown): SubscriptionFilter | FtbFailure {
  if (typeof text !== 'string') return fail('FTB_ERR_SUBSCRIPTION_STR', 'the subscription must be a string');
  if (text.length > MAX_SUBSCRIPTION_LENGTH) return fail('FTB_ERR_SUBSCRIPTION_STR', `subscription string longer than ${MAX_SUBSCRIPTION_LENGTH} characters`);
  const whole = trimBlanks(text);
  if (whole === '' || isWildcard(whole)) return MATCH_ALL;
  const pairs = whole.split(',');
  if (pairs.length > MAX_FIELDS) return fail('FTB_ERR_SUBSCRIPTION_STR', `subscription string has more than ${MAX_FIELDS} fields`);
  const seen = new Set<string>();
  let filter: Field = { ...MATCH_ALL };
  for (const pair of pairs) {
    const sides = pair.split('=');
    if (sides.length !== 2) return fail('FTB_ERR_SUBSCRIPTION_STR', `"${pair}" is not attribute=value`);
    const lhs = trimBlanks(sides[0]!);
    const rhs = trimBlanks(sides[1]!);
    if (lhs === '' || rhs === '') return fail('FTB_ERR_SUBSCRIPTION_STR', `"${pair}" has an empty attribute or value`);
    if (/\s/.test(lhs)) return fail('FTB_ERR_FILTER_ATTR', `attribute "${lhs}" contains blanks`);
    if (/\s/.test(rhs)) return fail('FTB_ERR_FILTER_VALUE', `value "${rhs}" contains blanks`);
    const attr = lhs.toLowerCase();
    if (seen.has(attr)) return fail('FTB_ERR_SUBSCRIPTION_STR', `attribute "${attr}" given twice`);
    seen.add(attr);
    const fields = parseValue(attr, rhs);
    if (isFailure(fields)) return fields;
    filter = { ...filter, ...fields };
  }
  return filter as SubscriptionFilter;
}

/** The canonical text of a filter (only the fields that are not wildcards), which parses back to it. */
export function formatSubscription(f: SubscriptionFilter): string {
  const space = [f.region, f.category, f.component];
  const parts: string[] = [];
  if (!space.every(isWildcard)) parts.push(`event_space=${space.join('.')}`);
  const rest: Array<[string, string]> = [
    ['severity', f.severity],
    ['jobid', f.jobId],
    ['host_name', f.host],
    ['event_name', f.eventName],
    ['client_name', f.clientName],
  ];
  for (const [attr, value] of rest) if (!isWildcard(value)) parts.push(`${attr}=${value}`);
  return parts.length === 0 ? WILDCARD : parts.join(',');
}

// Does an event match a subscription filter? Every field of the filter must match: equal
// ignoring case (FTB's strcasecmp) or `all`. (FTB's own FTBU_match_mask skips severity and
// category when an event name is given; here a filter means all of its fields.)
// An event is prepared once (its space split, its fields lower-cased) and then tested against
// every subscription: the events engine does that for each event it delivers.
import type { EventRecord } from './protocol';
import { WILDCARD, type SubscriptionFilter } from './subscription';

export type MatchableEvent = Pick<EventRecord, 'space' | 'name' | 'severity' | 'client' | 'jobId' | 'host'>;

/** An event's fields as the filters compare them: lower case, the space in its three parts. */
export interface PreparedEvent {
  readonly region: string;
  readonly category: string;
  readonly component: string;
  readonly severity: string;
  readonly eventName: string;
  readonly clientName: string;
  readonly jobId: string;
  readonly host: string;
}

export function prepareEvent(event: MatchableEvent): PreparedEvent {
  const [region = '', category = '', component = ''] = event.space.toLowerCase().split('.');
  return {
    region,
    category,
    component,
    severity: event.severity.toLowerCase(),
    eventName: event.name.toLowerCase(),
    clientName: event.client.toLowerCase(),
    jobId: event.jobId.toLowerCase(),
    host: event.host.toLowerCase(),
  };
}

const fieldMatches = (want: string, have: string): boolean => want === WILDCARD || want.toLowerCase() === have;

export function matchesPrepared(filter: SubscriptionFilter, e: PreparedEvent): boolean {
  return (
    fieldMatches(filter.region, e.region) &&
    fieldMatches(filter.category, e.category) &&
    fieldMatches(filter.component, e.component) &&
    fieldMatches(filter.severity, e.severity) &&
    fieldMatches(filter.eventName, e.eventName) &&
    fieldMatches(filter.clientName, e.clientName) &&
    fieldMatches(filter.jobId, e.jobId) &&
    fieldMatches(filter.host, e.host)
  );
}

export function matches(filter: SubscriptionFilter, event: MatchableEvent): boolean {
  return matchesPrepared(filter, prepareEvent(event));
}

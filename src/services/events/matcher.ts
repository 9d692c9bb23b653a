// Does an event match a subscription filter? Every field of the filter must match: equal
// ignoring case (FTB's strcasecmp) or `all`. (FTB's own FTBU_match_mask skips severity and
// category when an event name is given; here a filter means all of its fields.)
import type { EventRecord } from './protocol';
import { WILDCARD, type SubscriptionFilter } from './subscription';

const fieldMatches = (want: string, have: string): boolean => want === WILDCARD || want.toLowerCase() === have.toLowerCase();

export type MatchableEvent = Pick<EventRecord, 'space' | 'name' | 'severity' | 'client' | 'jobId' | 'host'>;

export function matches(filter: SubscriptionFilter, event: MatchableEvent): boolean {
  const [region = '', category = '', component = ''] = event.space.split('.');
  return (
    fieldMatches(filter.region, region) &&
    fieldMatches(filter.category, category) &&
    fieldMatches(filter.component, component) &&
    fieldMatches(filter.severity, event.severity) &&
    fieldMatches(filter.eventName, event.name) &&
    fieldMatches(filter.clientName, event.client) &&
    fieldMatches(filter.jobId, event.jobId) &&
    fieldMatches(filter.host, event.host)
  );
}

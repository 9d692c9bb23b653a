// The fault-event service: engine, wire format, FTB vocabulary and subscription strings.
export { EventsEngine, type EventsEngineOptions } from './eventsEngine';
export * from './protocol';
export { FtbCode, MAX_PAYLOAD_DATA, SEVERITIES, EVENT_TYPES, type FtbErrorName, type Severity, type EventType } from './ftb';
export { parseSubscription, formatSubscription, MATCH_ALL, type SubscriptionFilter } from './subscription';
export { matches } from './matcher';
export { SYSTEM_SPACE, SYSTEM_CLIENT, SYSTEM_EVENTS, type SystemEventName } from './systemEvents';

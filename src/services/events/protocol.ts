// The events service's wire format, shared by the engine and the client library: the reserved
// group, request ops, the event record and the push that delivers it. Requests and replies
// are msgpack maps (docs/services-contract.md); README "Events" documents every field.
import type { EventType, Severity } from './ftb';

export const EVENTS_GROUP = '#ringcast-events';

export const EVENT_OPS = ['connect', 'declare', 'publish', 'subscribe', 'unsubscribe', 'disconnect', 'systemPublish'] as const;
export type EventOp = (typeof EVENT_OPS)[number];

/** A payload: text, bytes, or a small JSON-able map (what system events carry). */
export type EventPayload = string | Uint8Array | Readonly<Record<string, unknown>>;

/** One published event, as every subscriber receives it. */
export interface EventRecord {
  /** The event handle: unique for the event, what a later event's beginHandle names. */
  readonly handle: string;
  readonly space: string;
  readonly name: string;
  readonly severity: Severity;
  readonly eventType: EventType;
  /** The publishing client's name (for system events: the daemon, or `ringcast`). */
  readonly client: string;
  readonly jobId: string;
  readonly host: string;
  readonly pid: number;
  /** Per-client sequence number, from 1. */
  readonly seq: number;
  /** ms since the epoch: the clock of the daemon that put the publish on the ring. */
  readonly time: number;
  readonly payload?: EventPayload;
  /** The event this one closes (BLCR END/ERROR name their BEGIN). */
  readonly beginHandle?: string;
}

/** The push that delivers an event to one subscription (a reply body without `id`). */
export interface EventPush {
  readonly push: 'event';
  readonly subscription: string;
  readonly event: EventRecord;
}

/** What `subscribe` answers (and `connect` with resume lists for the subscriptions kept). */
export interface SubscriptionInfo {
  readonly subscription: string;
  /** The canonical subscription string. */
  readonly filter: string;
  /** The transaction depth asked for (resolved: `all` is the configuration size then). */
  readonly depth: number;
}

/** Depth of a subscription: a number of daemons, or every daemon of the configuration. */
export type SubscriptionDepth = number | 'all';

export const isEventPush = (body: Readonly<Record<string, unknown>>): boolean =>
  body.push === 'event' && typeof body.subscription === 'string' && typeof body.event === 'object' && body.event !== null;

// The contract between a service engine (a replicated state machine: checkpoints, events) and
// the ServiceHost that feeds it inside a daemon (src/services/host.ts).
//
// An engine is pure: no sockets, timers, clock or randomness. Every daemon feeds its engine the
// same inputs in the same (agreed) order, so every daemon holds the same state. Time enters
// only as the `time` of an input: the clock of the daemon that put the request on the ring.
//
// Requests come from clients as msgpack maps `{ op, id, ...args }` sent to the engine's
// reserved group; replies go back as msgpack maps `{ id, ok: true, ...result }` or
// `{ id, ok: false, error, code, message }` (error = the spec's error name, code its number).
// Every daemon computes every reply; only the daemon the client is connected to sends it.

/** A request as it was delivered in agreed order. */
export interface ServiceRequest {
  /** The requesting client's private group `#user#daemon`, or DAEMON_SENDER_PREFIX + daemon name
   *  for the daemons' own requests (timer ticks, link events). */
  readonly from: string;
  /** Name of the daemon that submitted it. */
  readonly origin: string;
  /** ms since the epoch on the origin daemon's clock when it submitted the request. */
  readonly time: number;
  /** True when it was ordered SAFE: every daemon of the configuration had received it. */
  readonly safe: boolean;
  /** The decoded msgpack map; `op` and `id` are not checked yet (the engine checks them). */
  readonly body: Readonly<Record<string, unknown>>;
}

/** The daemon configuration, as the ring installs it. */
export interface ServiceConfiguration {
  readonly kind: 'transitional' | 'regular';
  /** `<ringSeq>.<representative name>`. */
  readonly ringId: string;
  /** The ring sequence: grows with every new ring, so it orders rings in time. */
  readonly ringSeq: number;
  /** Daemon names of the configuration, in configuration-file order. */
  readonly members: readonly string[];
  /** Daemons of the previous regular configuration that are not in this one. */
  readonly left: readonly string[];
  /** Daemons of this configuration that were not in the previous regular one. */
  readonly joined: readonly string[];
  /**
   * Every daemon of the configuration file, in its order (absent: unknown). Concurrent
   * configurations (partitions) have disjoint members, so the index of a configuration's first
   * member tells them apart: what an engine needs to make ids no other partition makes.
   */
  readonly daemons?: readonly string[];
}

export type ServiceInput =
  | { readonly kind: 'request'; readonly request: ServiceRequest }
  /** A timer of some daemon fired and its tick was delivered: act on deadlines up to `time`. */
  | { readonly kind: 'tick'; readonly time: number }
  /** A client session is gone (its KILL was delivered; or its daemon left the configuration). */
  | { readonly kind: 'sessionGone'; readonly privateGroup: string }
  | { readonly kind: 'configuration'; readonly configuration: ServiceConfiguration };

/** An event for the fault-event service (src/services/events), produced by any engine. */
export interface ServiceEvent {
  /** FTB event space `region.category.component`, e.g. `ringcast.system.daemon`. */
  readonly space: string;
  readonly name: string;
  readonly severity: 'INFO' | 'WARNING' | 'ERROR' | 'FATAL';
  /** Small JSON-able payload. */
  readonly payload?: Readonly<Record<string, unknown>>;
  /** The event this one closes (BLCR END/ERROR carry their BEGIN's handle). */
  readonly beginHandle?: string;
  /** This event's handle, chosen by the producer so that a later END/ERROR can name it in
   *  beginHandle (1..128 characters); the events engine makes one up when it is absent. */
  readonly handle?: string;
}

export type ServiceOutput =
  /** Send `body` to the client whose private group is `to` (if it is connected here). */
  | { readonly kind: 'reply'; readonly to: string; readonly body: Readonly<Record<string, unknown>> }
  /** Publish an event (every daemon produces the same ones in the same order). */
  | { readonly kind: 'event'; readonly event: ServiceEvent };

export interface ServiceEngine {
  /** Short name, e.g. `checkpoint`. */
  readonly name: string;
  /** The reserved group clients send requests to, e.g. `#ringcast-ckpt`. */
  readonly group: string;
  step(input: ServiceInput): ServiceOutput[];
  /** The earliest time at which a tick would change something (expiry, retention), or null. */
  nextDeadline(): number | null;
  /** The whole replicated state, msgpack-able, for daemons that join (state sync). */
  snapshot(): unknown;
  /**
   * Replaces the state with the deterministic merge of `snapshots` (one per member daemon of the
   * new configuration, this daemon's own among them, in configuration-file order). Every member
   * calls it with the same list, so every member ends with the same state.
   * @throws nothing: a snapshot that does not decode is skipped (and counted by the engine).
   */
  merge(snapshots: readonly unknown[]): void;
}

/** `from` of the daemons' own requests: this prefix and the daemon's name. */
export const DAEMON_SENDER_PREFIX = '#ringcast#';

/** The daemon name in a private group `#user#daemon` ('' when it is none). */
export function daemonOfPrivateGroup(privateGroup: string): string {
  if (!privateGroup.startsWith('#')) return '';
  const at = privateGroup.indexOf('#', 1);
  return at < 0 ? '' : privateGroup.slice(at + 1);
}

/** SA Forum AIS error codes (SaAisErrorT), which every service's replies use. */
export const AisError = {
  OK: 1,
  LIBRARY: 2,
  VERSION: 3,
  INIT: 4,
  TIMEOUT: 5,
  TRY_AGAIN: 6,
  INVALID_PARAM: 7,
  NO_MEMORY: 8,
  BAD_HANDLE: 9,
  BUSY: 10,
  ACCESS: 11,
  NOT_EXIST: 12,
  NAME_TOO_LONG: 13,
  EXIST: 14,
  NO_SPACE: 15,
  INTERRUPT: 16,
  NAME_NOT_FOUND: 17,
  NO_RESOURCES: 18,
  NOT_SUPPORTED: 19,
  BAD_OPERATION: 20,
  FAILED_OPERATION: 21,
  MESSAGE_ERROR: 22,
  QUEUE_FULL: 23,
  QUEUE_NOT_AVAILABLE: 24,
  BAD_FLAGS: 25,
  TOO_BIG: 26,
  NO_SECTIONS: 27,
} as const;
export type AisErrorName = Exclude<keyof typeof AisError, 'OK'>;

/** A reply body for a request that failed with `error`. */
export function errorReply(id: unknown, error: AisErrorName, message: string): Record<string, unknown> {
  return { id, ok: false, error: `SA_AIS_ERR_${error}`, code: AisError[error], message };
}

/** A reply body for a request that succeeded. */
export function okReply(id: unknown, result: Record<string, unknown> = {}): Record<string, unknown> {
  return { id, ok: true, ...result };
}

// Fault events of the HA toolkit: what the supervisor reports, in FTB terms (space, name,
// severity, small payload), and where it goes. The events service adapter is eventsPublisher.ts;
// MemoryFaultPublisher keeps them for tests.

import type { Severity } from '../events/ftb';

/** FTB's severities. */
export type FaultSeverity = Severity;

/** The supervisor's event space (FTB `region.category.component`). */
export const SUPERVISOR_SPACE = 'ringcast.ha.supervisor';

/** The supervisor's events and their severities (declared when it connects to the events service). */
export const SUPERVISOR_EVENTS = {
  /** The child exited abnormally (non-zero code, or a signal). */
  PROCESS_EXITED: 'ERROR',
  /** The child was started again after a failure. */
  PROCESS_RESTARTED: 'WARNING',
  /** The child failed once more than the restart limit allows: the supervisor gave up. */
  RESTART_LIMIT: 'FATAL',
  /** The supervisor was told to stop and the child has ended. */
  PROCESS_STOPPED: 'INFO',
} as const satisfies Record<string, FaultSeverity>;
export type SupervisorEventName = keyof typeof SUPERVISOR_EVENTS;

/** What every supervisor event carries (well under FTB's 368-byte payload). */
export interface SupervisorPayload {
  readonly [key: string]: unknown;
  /** The --name of the supervised program. */
  readonly name: string;
  /** The child's pid (the new one for PROCESS_RESTARTED); null when it never started. */
  readonly pid: number | null;
  readonly code: number | null;
  readonly signal: string | null;
  /** Restarts so far. */
  readonly restarts: number;
}

export interface FaultEvent {
  readonly name: string;
  readonly severity: FaultSeverity;
  readonly payload: Readonly<Record<string, unknown>>;
}

export interface FaultPublisher {
  /** Publishes one event; rejects when it could not (the supervisor logs that and goes on). */
  publish(event: FaultEvent): Promise<void>;
  /** Lets go of connections; pending publishes are finished or dropped. */
  close(): Promise<void>;
}

/** Keeps what is published, in order. */
export class MemoryFaultPublisher implements FaultPublisher {
  readonly events: FaultEvent[] = [];
  closed = false;

  publish(event: FaultEvent): Promise<void> {
    this.events.push(event);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** The names published so far. */
  names(): string[] {
    return this.events.map((e) => e.name);
  }
}

/** Publishes nothing (no daemon asked for). */
export const NO_FAULTS: FaultPublisher = { publish: () => Promise.resolve(), close: () => Promise.resolve() };

// The services every ringcast daemon runs, and the events a daemon publishes of its own.
import { CheckpointEngine } from './checkpoint';
import type { ServiceEngine } from './engine';
import { EventsEngine, SYSTEM_EVENTS, SYSTEM_SPACE, type SystemEventName } from './events';
import type { ServiceHost } from './host';

/** Every daemon of a ring must run the same engines (their state exchange waits for all). */
export function standardEngines(): ServiceEngine[] {
  return [new CheckpointEngine(), new EventsEngine()];
}

/** Publishes one of the system events the host sends (link, session) through the ring. */
export function publishDaemonEvent(host: ServiceHost | null, name: SystemEventName, payload: Record<string, unknown>): void {
  host?.publishSystem({ space: SYSTEM_SPACE, name, severity: SYSTEM_EVENTS[name], payload });
}

// The supervisor's fault events through a daemon: a client session of its own and an events
// client (src/client/events.ts) in space ringcast.ha.supervisor that declares the supervisor's
// events. When the session breaks, the next event opens a new one and resumes the same events
// client there (the daemons keep a client whose session went, for a while, under its name).
import { EventService, type EventClient } from '../../client/events';
import { connect } from '../../client/connect';
import { EVENTS_GROUP } from '../events/protocol';
import { ReconnectingFaultPublisher } from './eventsPublisher';
import { SUPERVISOR_EVENTS, SUPERVISOR_SPACE, type FaultPublisher } from './faults';

export interface DaemonFaultPublisherOptions {
  /** PORT@HOST, PORT or a Unix socket path. */
  readonly daemon: string;
  /** The supervised program's name; the events client is named after it. */
  readonly name: string;
  /** FTB client name (1..15 of letters, digits, _ . -; one at a time in the ring). Default supervisorClientName(name). */
  readonly clientName?: string;
  /** Limit for connecting to the daemon, and for each request. Default 2000 ms. */
  readonly timeoutMs?: number;
}

/**
 * An events client name from a program name and this process's pid (names are unique in the
 * ring, and two supervisors of one program may run): `name.pid`, 15 characters at most.
 */
export function supervisorClientName(name: string, pid: number = process.pid): string {
  const plain = name.replace(/[^A-Za-z0-9_.-]/g, '') || 'sv';
  const suffix = `.${pid}`;
  return `${plain.slice(0, 15 - suffix.length)}${suffix}`;
}

/** Publishes to the events service of `daemon`, connecting at the first event and again after a failure. */
export function daemonFaultPublisher(options: DaemonFaultPublisherOptions): FaultPublisher {
  const timeoutMs = options.timeoutMs ?? 2000;
  let client: EventClient | undefined;
  return new ReconnectingFaultPublisher(async () => {
    const session = await connect({ daemon: options.daemon, membership: false, timeoutMs });
    try {
      const service = new EventService(session.service(EVENTS_GROUP), session);
      if (client) await client.resume(service);
      else client = await service.connect({ clientName: options.clientName ?? supervisorClientName(options.name), space: SUPERVISOR_SPACE, declare: SUPERVISOR_EVENTS, timeoutMs });
      const events = client;
      return {
        client: events,
        isClosed: () => session.isClosed,
        close: async (final) => {
          if (final) await events.disconnect().catch(() => {});
          await session.disconnect();
        },
      };
    } catch (err) {
      await session.disconnect();
      throw err;
    }
  });
}

// The events ringcast publishes itself, in space `ringcast.system.daemon`. The engine derives
// the membership ones from configuration inputs (every daemon computes them identically); the
// ServiceHost sends the others as `systemPublish` requests.
import type { ServiceConfiguration } from '../engine';
import type { Severity } from './ftb';

export const SYSTEM_SPACE = 'ringcast.system.daemon';
/** The publisher named in events the engine derives from configurations. */
export const SYSTEM_CLIENT = 'ringcast';

/** Names and severities of the system events (README "Events" documents the payloads). */
export const SYSTEM_EVENTS = {
  /** A daemon is in the new regular configuration and was not in the previous one. payload { daemon, ring, members } */
  DAEMON_JOINED: 'INFO',
  /** A daemon of the previous regular configuration is not in the new one. payload { daemon, ring, members } */
  DAEMON_LEFT: 'WARNING',
  /** A regular configuration was installed. payload { ring, ringSeq, members, joined, left } */
  CONFIGURATION_INSTALLED: 'INFO',
  // Sent by the host (systemPublish):
  /** A multipath link to a peer went down. payload { daemon, peer, link, address, reason } */
  LINK_DOWN: 'WARNING',
  /** A multipath link to a peer answers again. payload { daemon, peer, link, address } */
  LINK_UP: 'INFO',
  /** A client's connection was refused. payload { daemon, client, reason, code } */
  SESSION_REJECTED: 'WARNING',
  /** A client session was closed by the daemon (slow, protocol error, …). payload { daemon, client, reason } */
  SESSION_KICKED: 'WARNING',
} as const satisfies Record<string, Severity>;
export type SystemEventName = keyof typeof SYSTEM_EVENTS;

/** An event to publish as the system: what the engine turns into an EventRecord. */
export interface SystemEventSpec {
  readonly name: SystemEventName;
  /** Where it happened (the event's host field): the daemon concerned. */
  readonly host: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** The representative's name in a ring id `<ringSeq>.<representative>`. */
const representative = (ringId: string): string => ringId.slice(ringId.indexOf('.') + 1);

/** The events a regular configuration gives: who left, who joined, then the installation itself. */
export function configurationEvents(conf: ServiceConfiguration): SystemEventSpec[] {
  if (conf.kind !== 'regular') return [];
  const ring = conf.ringId;
  const members = [...conf.members];
  return [
    ...conf.left.map((daemon) => ({ name: 'DAEMON_LEFT' as const, host: daemon, payload: { daemon, ring, members } })),
    ...conf.joined.map((daemon) => ({ name: 'DAEMON_JOINED' as const, host: daemon, payload: { daemon, ring, members } })),
    {
      name: 'CONFIGURATION_INSTALLED' as const,
      host: representative(ring),
      payload: { ring, ringSeq: conf.ringSeq, members, joined: [...conf.joined], left: [...conf.left] },
    },
  ];
}

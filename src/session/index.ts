// The daemon side of Spread's client protocol: sessions on TCP, Unix sockets or any duplex
// stream, their requests on the ring, and what the groups layer delivers back to them.
export {
  SessionServer,
  type DaemonStatus,
  type SessionServerCounters,
  type SessionServerEvents,
  type StatusCounters,
  type StatusProvider,
} from './sessionServer';
export { daemonRingPort, type RingDelivery, type RingListener, type RingPort } from './ringPort';
export {
  DEFAULT_SESSION_OPTIONS,
  SPREAD_MESSAGE_BYTES,
  SUPPORTED_AUTH_METHODS,
  resolveSessionOptions,
  sessionOptionsFromConfig,
  type ListenAddress,
  type SessionServerOptions,
} from './options';
export type { SessionEnd } from './clientSession';
export type { ClientOrigin } from './clientOrigin';
export type { SessionRejection } from './sessionRejection';
export { ringRequestFor, ringServiceFor, type RingRequest } from './ringRequests';

// The session server's settings: Spread's (MaxSessionMessages, auth methods) and ringcast's,
// with defaults, and how they follow from spread.conf for one daemon.
import * as path from 'node:path';
import {
  DEFAULT_CLIENT_HANDSHAKE_TIMEOUT,
  DEFAULT_CLIENT_SOCKET_MODE,
  DEFAULT_IP_ALLOW,
  DEFAULT_MAX_GROUPS_PER_SESSION,
  DEFAULT_MAX_SESSION_BYTES,
  DEFAULT_MAX_SESSIONS,
} from '../config/options';
import type { HostEntry, SpreadConfig } from '../config/types';
import { HEADER_SIZE, SPREAD_MAX_MESSAGE_BODY_LEN } from '../wire/client/constants';
import { ENVELOPE_OVERHEAD } from '../wire/envelope';
import { SUPPORTED_AUTH_METHODS } from './auth';

export { SUPPORTED_AUTH_METHODS } from './auth';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface SessionServerOptions {
  /** TCP addresses to accept clients on (listen()). */
  readonly tcp: readonly ListenAddress[];
  /** The Unix-domain socket to accept clients on, or null for none (Spread: /tmp/<port>). */
  readonly unixSocketPath: string | null;
  /** The Unix socket's permission bits (Spread: 0666). */
  readonly unixSocketMode: number;
  /** User (name or uid) and group (name or gid) to own the Unix socket; null: the daemon's. */
  readonly unixSocketOwner: string | null;
  readonly unixSocketGroup: string | null;
  /** Messages queued for a client that does not read before it is disconnected (Spread's MaxSessionMessages). */
  readonly maxSessionMessages: number;
  /** Most bytes of data plus 32 per group in one client message (Spread: 144000 − 48; never less). */
  readonly maxMessageBytes: number;
  /** Bytes queued for a client that does not read before it is disconnected (at least one largest message). */
  readonly maxSessionBytes: number;
  /** Sessions (including ones in their handshake) before new connections get REJECT_QUOTA. */
  readonly maxSessions: number;
  /** Groups one session may be in; a join beyond comes back as a REJECT_MESS. */
  readonly maxGroupsPerSession: number;
  /** Auth methods offered and accepted (SUPPORTED_AUTH_METHODS: NULL and IP). */
  readonly allowedAuthMethods: readonly string[];
  /** Auth methods a client must choose (Spread's RequiredAuthMethods). */
  readonly requiredAuthMethods: readonly string[];
  /** Networks (CIDRs) the IP auth method lets in. */
  readonly ipAllow: readonly string[];
  /** A connection that has not completed its handshake by then is closed. */
  readonly handshakeTimeoutMs: number;
  /** This daemon's messages submitted and not yet delivered back before client input pauses. */
  readonly maxInFlight: number;
  /** The same in bytes of payload (the count alone lets large messages hold gigabytes). */
  readonly maxInFlightBytes: number;
  /** close(): how long to wait for the ring to deliver the sessions' disconnects. */
  readonly closeTimeoutMs: number;
  /** Randomness for generated private names ([0, 1)). */
  readonly random: () => number;
}

/** Spread's own limit on data + groups of one message; ringcast accepts at least this. */
export const SPREAD_MESSAGE_BYTES = SPREAD_MAX_MESSAGE_BODY_LEN - HEADER_SIZE;

/** A frame to a client beyond its data and groups: the header, and a reject's old type and extra group. */
const MAX_FRAME_OVERHEAD = HEADER_SIZE + 4 + 32;

export const DEFAULT_SESSION_OPTIONS: SessionServerOptions = {
  tcp: [],
  unixSocketPath: null,
  unixSocketMode: DEFAULT_CLIENT_SOCKET_MODE,
  unixSocketOwner: null,
  unixSocketGroup: null,
  maxSessionMessages: 1000,
  maxMessageBytes: 4 * 1024 * 1024 - ENVELOPE_OVERHEAD,
  maxSessionBytes: DEFAULT_MAX_SESSION_BYTES,
  maxSessions: DEFAULT_MAX_SESSIONS,
  maxGroupsPerSession: DEFAULT_MAX_GROUPS_PER_SESSION,
  allowedAuthMethods: ['NULL'],
  requiredAuthMethods: [],
  ipAllow: DEFAULT_IP_ALLOW,
  handshakeTimeoutMs: DEFAULT_CLIENT_HANDSHAKE_TIMEOUT,
  maxInFlight: 2000,
  maxInFlightBytes: 64 * 1024 * 1024,
  closeTimeoutMs: 1000,
  random: Math.random,
};

/** Defaults filled in; maxMessageBytes never below Spread's limit, maxSessionBytes never below one such message. */
export function resolveSessionOptions(options: Partial<SessionServerOptions> = {}): SessionServerOptions {
  const o = { ...DEFAULT_SESSION_OPTIONS, ...options };
  const maxMessageBytes = Math.max(o.maxMessageBytes, SPREAD_MESSAGE_BYTES);
  return { ...o, maxMessageBytes, maxSessionBytes: Math.max(o.maxSessionBytes, maxMessageBytes + MAX_FRAME_OVERHEAD) };
}

/**
 * What spread.conf says for `host`: its client addresses and port, the Unix socket
 * `<ClientSocketDir>/<port>` and its access, MaxSessionMessages, MaxMessageSize (less the ring
 * envelope), the limits, and the auth methods: those allowed or required (a required method is
 * offered too) that ringcast can run. A required method it cannot run is kept: every client is
 * then refused, rather than let in unchecked.
 */
export function sessionOptionsFromConfig(config: SpreadConfig, host: HostEntry): Partial<SessionServerOptions> {
  const o = config.options;
  const offered = [...new Set([...o.allowedAuthMethods, ...o.requiredAuthMethods])];
  return {
    tcp: host.clientAddrs.map((address) => ({ host: address, port: host.port })),
    unixSocketPath: defaultSocketPath(config, host),
    unixSocketMode: o.clientSocketMode,
    unixSocketOwner: o.clientSocketOwner,
    unixSocketGroup: o.clientSocketGroup,
    maxSessionMessages: o.maxSessionMessages,
    maxSessionBytes: o.maxSessionBytes,
    maxMessageBytes: o.maxMessageSize - ENVELOPE_OVERHEAD,
    maxSessions: o.maxSessions,
    maxGroupsPerSession: o.maxGroupsPerSession,
    handshakeTimeoutMs: o.clientHandshakeTimeout,
    allowedAuthMethods: offered.filter((m) => SUPPORTED_AUTH_METHODS.includes(m)),
    requiredAuthMethods: o.requiredAuthMethods,
    ipAllow: o.ipAllow,
  };
}

/**
 * `<ClientSocketDir>/<port>` as Spread; when several daemons of the file share that port (on one
 * machine, on loopback addresses), `<ClientSocketDir>/<port>-<name>` so they keep apart.
 */
export function defaultSocketPath(config: SpreadConfig, host: HostEntry): string {
  const shared = config.hosts.some((h) => h !== host && h.port === host.port);
  return path.join(config.options.clientSocketDir, shared ? `${host.port}-${host.name}` : String(host.port));
}

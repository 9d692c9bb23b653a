// The session server's settings: Spread's (MaxSessionMessages, auth methods) and ringcast's,
// with defaults, and how they follow from spread.conf for one daemon.
import * as path from 'node:path';
import type { HostEntry, SpreadConfig } from '../config/types';
import { HEADER_SIZE, SPREAD_MAX_MESSAGE_BODY_LEN } from '../wire/client/constants';
import { ENVELOPE_OVERHEAD } from '../wire/envelope';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface SessionServerOptions {
  /** TCP addresses to accept clients on (listen()). */
  readonly tcp: readonly ListenAddress[];
  /** The Unix-domain socket to accept clients on, or null for none (Spread: /tmp/<port>). */
  readonly unixSocketPath: string | null;
  /** Messages queued for a client that does not read before it is disconnected (Spread's MaxSessionMessages). */
  readonly maxSessionMessages: number;
  /** Most bytes of data plus 32 per group in one client message (Spread: 144000 − 48; never less). */
  readonly maxMessageBytes: number;
  /** Sessions (including ones in their handshake) before new connections get REJECT_QUOTA. */
  readonly maxSessions: number;
  /** Auth methods offered and accepted; ringcast implements NULL only. */
  readonly allowedAuthMethods: readonly string[];
  /** Auth methods a client must choose (Spread's RequiredAuthMethods). */
  readonly requiredAuthMethods: readonly string[];
  /** A connection that has not completed its handshake by then is closed. */
  readonly handshakeTimeoutMs: number;
  /** This daemon's messages submitted and not yet delivered back before client input pauses. */
  readonly maxInFlight: number;
  /** close(): how long to wait for the ring to deliver the sessions' disconnects. */
  readonly closeTimeoutMs: number;
  /** Randomness for generated private names ([0, 1)). */
  readonly random: () => number;
}

/** Auth methods this daemon can run. */
export const SUPPORTED_AUTH_METHODS: readonly string[] = ['NULL'];

/** Spread's own limit on data + groups of one message; ringcast accepts at least this. */
export const SPREAD_MESSAGE_BYTES = SPREAD_MAX_MESSAGE_BODY_LEN - HEADER_SIZE;

export const DEFAULT_SESSION_OPTIONS: SessionServerOptions = {
  tcp: [],
  unixSocketPath: null,
  maxSessionMessages: 1000,
  maxMessageBytes: 4 * 1024 * 1024 - ENVELOPE_OVERHEAD,
  maxSessions: 4096,
  allowedAuthMethods: ['NULL'],
  requiredAuthMethods: [],
  handshakeTimeoutMs: 10_000,
  maxInFlight: 2000,
  closeTimeoutMs: 1000,
  random: Math.random,
};

/** Defaults filled in; maxMessageBytes never below Spread's limit. */
export function resolveSessionOptions(options: Partial<SessionServerOptions> = {}): SessionServerOptions {
  const o = { ...DEFAULT_SESSION_OPTIONS, ...options };
  return { ...o, maxMessageBytes: Math.max(o.maxMessageBytes, SPREAD_MESSAGE_BYTES) };
}

/**
 * What spread.conf says for `host`: its client addresses and port, the Unix socket
 * `<ClientSocketDir>/<port>`, MaxSessionMessages, MaxMessageSize (less the ring envelope), and
 * the auth methods ringcast can run among those allowed.
 */
export function sessionOptionsFromConfig(config: SpreadConfig, host: HostEntry): Partial<SessionServerOptions> {
  const o = config.options;
  return {
    tcp: host.clientAddrs.map((address) => ({ host: address, port: host.port })),
    unixSocketPath: defaultSocketPath(config, host),
    maxSessionMessages: o.maxSessionMessages,
    maxMessageBytes: o.maxMessageSize - ENVELOPE_OVERHEAD,
    allowedAuthMethods: o.allowedAuthMethods.filter((m) => SUPPORTED_AUTH_METHODS.includes(m)),
    requiredAuthMethods: o.requiredAuthMethods,
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

// connect(): open a session with a daemon (TCP or Unix socket), run the handshake, hand back
// a Session. The one entry point of the client library.
import * as net from 'node:net';
import { SpreadError } from '../errors';
import { SPREAD_FRAME_LIMITS, isLegalPrivateName, type FrameLimits } from '../wire/client';
import { DEFAULT_DAEMON, formatDaemonAddress, parseDaemonAddress, type DaemonAddress } from './address';
import { runHandshake } from './handshake';
import { Session } from './session';

export interface ConnectOptions {
  /** `PORT@HOST`, `PORT` (TCP on 127.0.0.1) or a Unix socket path. Default `4803@127.0.0.1`. */
  readonly daemon?: string;
  /** Private name, up to 10 characters from '$' to '~'; unique per daemon. Omitted or '': the daemon makes one up. */
  readonly name?: string;
  /** Receive membership messages. Default true. */
  readonly membership?: boolean;
  /** Spread's session priority, 0 or 1 (sent as 0..15). Default 0. */
  readonly priority?: number;
  /** Auth methods to choose, 1 to 3 (e.g. ['IP'] for a daemon that requires it). Default ['NULL']. */
  readonly authMethods?: readonly string[];
  /** Limit for connecting and the handshake together. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /**
   * What multicast() may send. Default: Spread's own limits (100 groups, 144 000 bytes of
   * header, groups and data), which every Spread daemon accepts; pass RINGCAST_FRAME_LIMITS
   * (or your daemon's configured limit) to send larger messages to a ringcast daemon.
   */
  readonly sendLimits?: FrameLimits;
  /** Unsent bytes a session buffers before multicast() makes its caller wait. Default 1 MiB. */
  readonly maxBufferedBytes?: number;
  /** Unread received messages at which reading from the daemon pauses. Default 10 000. */
  readonly receiveBuffer?: number;
  /** How long disconnect() waits for the daemon to close the connection. Default 2000 ms. */
  readonly disconnectTimeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function openSocket(address: DaemonAddress): net.Socket {
  return address.kind === 'unix' ? net.createConnection({ path: address.path }) : net.createConnection({ host: address.host, port: address.port });
}

/** Resolves when the socket is connected; rejects (COULD_NOT_CONNECT) on error or timeout. */
function whenConnected(socket: net.Socket, where: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: SpreadError) => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onConnect = () => done();
    const onError = (err: Error) => done(new SpreadError('COULD_NOT_CONNECT', `cannot connect to daemon ${where}: ${err.message}`, { cause: err }));
    const timer = setTimeout(() => done(new SpreadError('COULD_NOT_CONNECT', `cannot connect to daemon ${where}: no answer within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

function positiveInteger(value: number | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new SpreadError('ILLEGAL_SESSION', `${what} must be a positive whole number, not ${value}`);
  return value;
}

/**
 * Connects to a daemon and opens a session.
 * @throws SpreadError: ILLEGAL_SPREAD (bad daemon address), REJECT_ILLEGAL_NAME (bad name,
 *   checked before connecting, or the daemon's reject), ILLEGAL_SESSION (bad option),
 *   COULD_NOT_CONNECT (no daemon there, or timeout), REJECT_AUTH (an auth method the daemon
 *   does not offer, or more than three), the daemon's reject code
 *   (REJECT_NOT_UNIQUE, REJECT_VERSION, REJECT_AUTH, REJECT_QUOTA, …), CONNECTION_CLOSED
 *   (connection lost during the handshake).
 */
export async function connect(options: ConnectOptions = {}): Promise<Session> {
  const daemonText = options.daemon ?? DEFAULT_DAEMON;
  const address = parseDaemonAddress(daemonText);
  const where = formatDaemonAddress(address);
  const name = options.name ?? '';
  if (!isLegalPrivateName(name)) {
    throw new SpreadError('REJECT_ILLEGAL_NAME', `private name ${JSON.stringify(name)} must be at most 10 characters from '$' to '~'`);
  }
  const priority = options.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 15) throw new SpreadError('ILLEGAL_SESSION', `priority ${priority} is not 0..15`);
  if (options.authMethods?.length === 0) throw new SpreadError('ILLEGAL_SESSION', 'authMethods must name at least one method');
  const timeoutMs = positiveInteger(options.timeoutMs, DEFAULT_TIMEOUT_MS, 'timeoutMs');
  const sessionOptions = {
    daemon: where,
    sendLimits: options.sendLimits ?? SPREAD_FRAME_LIMITS,
    maxBufferedBytes: positiveInteger(options.maxBufferedBytes, 1024 * 1024, 'maxBufferedBytes'),
    receiveBuffer: positiveInteger(options.receiveBuffer, 10_000, 'receiveBuffer'),
    disconnectTimeoutMs: positiveInteger(options.disconnectTimeoutMs, 2000, 'disconnectTimeoutMs'),
  };

  const started = Date.now();
  const socket = openSocket(address);
  try {
    await whenConnected(socket, where, timeoutMs);
    if (address.kind === 'tcp') socket.setNoDelay(true);
    const remaining = Math.max(1, timeoutMs - (Date.now() - started));
    const request = { name, membership: options.membership ?? true, priority, ...(options.authMethods ? { authMethods: options.authMethods } : {}) };
    const { accept, leftover } = await runHandshake(socket, request, remaining);
    return new Session(socket, accept, leftover, sessionOptions);
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

// Where a client connects from: a TCP peer, or this host (the Unix socket; in-memory streams in
// tests). Read once, when the connection is accepted: a socket whose peer has already gone has
// no address, and it must not pass for a local one.
import type * as net from 'node:net';

export type ClientOrigin =
  | { readonly kind: 'tcp'; readonly address: string; readonly port: number }
  | { readonly kind: 'local' };

export const LOCAL_ORIGIN: ClientOrigin = { kind: 'local' };

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** A socket a TCP listener accepted; address '' when the peer is already gone. IPv4-mapped IPv6 addresses (a dual-stack listener) read as IPv4. */
export function tcpOrigin(socket: net.Socket): ClientOrigin {
  const raw = socket.remoteAddress ?? '';
  return { kind: 'tcp', address: V4_MAPPED.exec(raw)?.[1] ?? raw, port: socket.remotePort ?? 0 };
}

/** `10.0.0.5:40312`, `[::1]:40312`, or `local`. */
export function describeOrigin(origin: ClientOrigin): string {
  if (origin.kind === 'local') return 'local';
  return origin.address.includes(':') ? `[${origin.address}]:${origin.port}` : `${origin.address}:${origin.port}`;
}

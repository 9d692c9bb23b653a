// Where a daemon listens for clients, in Spread's spelling: `PORT@HOST` (TCP), `PORT` alone
// (TCP on 127.0.0.1), or a path with a `/` in it (a Unix stream socket, e.g. `/tmp/4803`).
// Spread's own library maps a bare `PORT` to the Unix socket /tmp/PORT; ringcast daemons may
// put their socket elsewhere (several on one host), so a bare port means TCP on loopback and
// the socket is named by its path.
import { SpreadError } from '../errors';

export type DaemonAddress =
  | { readonly kind: 'tcp'; readonly host: string; readonly port: number }
  | { readonly kind: 'unix'; readonly path: string };

export const DEFAULT_PORT = 4803;
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DAEMON = `${DEFAULT_PORT}@${DEFAULT_HOST}`;

function parsePort(text: string, whole: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new SpreadError('ILLEGAL_SPREAD', `daemon address "${whole}": port "${text}" is not a number`);
  const port = Number(text);
  if (port < 1 || port > 65535) throw new SpreadError('ILLEGAL_SPREAD', `daemon address "${whole}": port ${port} is not 1..65535`);
  return port;
}

/**
 * Parses a daemon address.
 * @throws SpreadError ILLEGAL_SPREAD (Spread's code for a bad daemon name) when it is none of
 *   the three forms.
 */
export function parseDaemonAddress(text: string = DEFAULT_DAEMON): DaemonAddress {
  const spec = text.trim();
  if (spec.includes('/')) return { kind: 'unix', path: spec };
  if (spec === '') throw new SpreadError('ILLEGAL_SPREAD', 'daemon address is empty');
  const at = spec.indexOf('@');
  if (at < 0) return { kind: 'tcp', host: DEFAULT_HOST, port: parsePort(spec, text) };
  const host = spec.slice(at + 1);
  if (host === '') throw new SpreadError('ILLEGAL_SPREAD', `daemon address "${text}" has no host after "@"`);
  return { kind: 'tcp', host, port: parsePort(spec.slice(0, at), text) };
}

/** The address in the form parseDaemonAddress reads. */
export function formatDaemonAddress(address: DaemonAddress): string {
  return address.kind === 'unix' ? address.path : `${address.port}@${address.host}`;
}

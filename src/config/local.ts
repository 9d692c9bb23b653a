// Which host entry of the configuration is this daemon?

import { networkInterfaces } from 'node:os';
import { RingcastError } from '../errors';
import { isLoopback, parseIp } from './addresses';
import type { HostEntry, SpreadConfig } from './types';

/** The addresses of this machine's interfaces, canonical. */
export function localAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .map((entry) => parseIp(entry.address)?.address ?? entry.address);
}

/**
 * Picks this daemon's entry: the one named `name` if given (like `spread -n`), else the one
 * whose address is local. Loopback addresses (127.0.0.0/8, ::1) always count as local, as
 * Linux answers on all of 127/8; so a file with several loopback daemons needs a name.
 * @param localAddrs this machine's addresses; default os.networkInterfaces().
 * @throws RingcastError (code 'CONFIG') when the name is unknown, or no entry or several
 *   entries are local.
 */
export function findLocalHost(config: SpreadConfig, name?: string, localAddrs?: readonly string[]): HostEntry {
  const names = config.hosts.map((host) => host.name).join(', ');
  if (name !== undefined) {
    const host = config.hosts.find((candidate) => candidate.name === name);
    if (!host) throw new RingcastError('CONFIG', `${config.file}: no daemon named '${name}' (daemons: ${names})`);
    return host;
  }
  const local = new Set((localAddrs ?? localAddresses()).map((address) => parseIp(address)?.address ?? address));
  const isLocal = (address: string): boolean => isLoopback(address) || local.has(address);
  const candidates = config.hosts.filter((host) => isLocal(host.address));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) {
    throw new RingcastError('CONFIG',
      `${config.file}: no daemon's address is an address of this machine (daemons: ${names}); choose one by name`);
  }
  throw new RingcastError('CONFIG',
    `${config.file}: several daemons have local addresses (${candidates.map((host) => host.name).join(', ')}); choose one by name`);
}

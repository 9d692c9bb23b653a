// Hashes that every daemon must compute identically from the configuration.

import type { HostEntry, Segment } from './types';

/** Bob Jenkins' one-at-a-time hash, seeded with the length, as Spread's stdhcode_oaat.
 *  Spread feeds `const char`, which is signed on x86: bytes >= 0x80 are added as negatives. */
export function oneAtATime(bytes: Uint8Array): number {
  let hash = bytes.length >>> 0;
  for (const byte of bytes) {
    hash = (hash + ((byte << 24) >> 24)) >>> 0;
    hash = (hash + (hash << 10)) >>> 0;
    hash = (hash ^ (hash >>> 6)) >>> 0;
  }
  hash = (hash + (hash << 3)) >>> 0;
  hash = (hash ^ (hash >>> 11)) >>> 0;
  hash = (hash + (hash << 15)) >>> 0;
  return hash;
}

/**
 * Spread's automatic daemon id (Conf_str_to_id): one-at-a-time over the UTF-8 name and its
 * NUL. 0 and 0xFFFFFFFF are reserved ids, so a name hashing to one of them gets
 * (length incl. NUL) << 16 instead, exactly as Spread does.
 */
export function daemonVid(name: string): number {
  const bytes = Buffer.from(`${name}\0`, 'utf8');
  const hash = oneAtATime(bytes);
  if (hash !== 0 && hash !== 0xffffffff) return hash;
  return ((bytes.length << 16) >>> 0) || 0x10000;
}

/** 32-bit FNV-1a over UTF-8 bytes. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/**
 * The configuration hash carried in every daemon packet: FNV-1a 32 over a canonical text of
 * the membership-relevant part of the file, one line per segment and per daemon:
 *
 *   ringcast-config 1
 *   segment <port> <unicast|multicast> [<addr> ...]      (addresses omitted with ExcludeSegAddrsFromHash)
 *   daemon '<name>' <id> <daemon addr link 0> [<link 1> ...]
 *
 * Addresses are canonical, so spelling, comments, whitespace, `;` and options other than
 * ExcludeSegAddrsFromHash (whose whole purpose is this hash) do not change it; names, ids,
 * addresses, ports, unicast-ness and order all do.
 */
export function configHash(segments: readonly Segment[], hosts: readonly HostEntry[], excludeSegAddrs: boolean): number {
  return fnv1a32(canonicalConfigText(segments, hosts, excludeSegAddrs));
}

/** The text configHash hashes (exported for diagnostics and tests). */
export function canonicalConfigText(segments: readonly Segment[], hosts: readonly HostEntry[], excludeSegAddrs: boolean): string {
  const lines = ['ringcast-config 1'];
  for (const segment of segments) {
    const addresses = excludeSegAddrs ? [] : segment.addresses;
    lines.push(['segment', segment.port, segment.unicast ? 'unicast' : 'multicast', ...addresses].join(' '));
    for (const hostIndex of segment.hosts) {
      const host = hosts[hostIndex]!;
      lines.push(['daemon', `'${host.name}'`, host.id, ...host.daemonAddrs].join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

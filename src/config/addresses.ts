// IP literals as spread.conf writes them: `a.b.c.d`, `a.b.c.d:port`, IPv6 `x::y[%zone]`,
// `[x::y]:port`. No DNS, ever: a configuration must mean the same thing on every host.

import { isIPv4, isIPv6 } from 'node:net';
import type { IpFamily } from './types';

export interface IpLiteral {
  /** Canonical text: dotted quad, or compressed lower-case IPv6 with any %zone kept. */
  address: string;
  family: IpFamily;
  /** Present only when the literal carried `:port`. */
  port?: number;
  /** The port text as written, for range errors. */
  portText?: string;
}

/** Canonical form, so that `::1` and `0::1` are the same daemon and hash the same. */
function canonicalIPv6(text: string): string {
  const zoneAt = text.indexOf('%');
  const bare = zoneAt < 0 ? text : text.slice(0, zoneAt);
  const zone = zoneAt < 0 ? '' : text.slice(zoneAt);
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1) + zone;
}

/** An IP literal without a port, or undefined if `text` is not one. */
export function parseIp(text: string): IpLiteral | undefined {
  if (isIPv4(text)) return { address: text, family: 'IPv4' };
  if (isIPv6(text)) return { address: canonicalIPv6(text), family: 'IPv6' };
  return undefined;
}

/** An IP literal with an optional port (`a.b.c.d:p`, `[v6]:p`), or undefined. The port is
 *  returned unchecked (any digits) so the caller can report its range. */
export function parseIpWithPort(text: string): IpLiteral | undefined {
  const plain = parseIp(text);
  if (plain) return plain;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  if (v6 && isIPv6(v6[1]!)) {
    return { address: canonicalIPv6(v6[1]!), family: 'IPv6', port: Number(v6[2]), portText: v6[2]! };
  }
  const v4 = /^([^:]+):(\d+)$/.exec(text);
  if (v4 && isIPv4(v4[1]!)) return { address: v4[1]!, family: 'IPv4', port: Number(v4[2]), portText: v4[2]! };
  return undefined;
}

/** True for text that looks like an address attempt (digits and dots, or has a colon), so a
 *  bad one is reported as a bad address rather than taken for a daemon name. */
export function looksLikeAddress(text: string): boolean {
  return /^[0-9.]+(:\d*)?$/.test(text) || /^\[?[0-9a-fA-F:]*:[0-9a-fA-F:.%\]]*$/.test(text);
}

/** `addr/prefix`, or a bare address (one host), in canonical text (`10.0.0.0/8`, `fe80::/10`);
 *  undefined if `text` is not one. Zones (`%eth0`) are refused: a network has none. */
export function parseCidr(text: string): string | undefined {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (!ip || ip.address.includes('%')) return undefined;
  const bits = ip.family === 'IPv4' ? 32 : 128;
  const prefixText = slash < 0 ? String(bits) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > bits) return undefined;
  return `${ip.address}/${Number(prefixText)}`;
}

export function familyOf(address: string): IpFamily {
  return address.includes(':') ? 'IPv6' : 'IPv4';
}

export function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/** 127.0.0.0/8 and ::1. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** 224.0.0.0/4 and ff00::/8. */
export function isMulticast(address: string): boolean {
  if (familyOf(address) === 'IPv6') return address.startsWith('ff');
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** The loopback address of a family. */
export function loopbackAddress(family: IpFamily): string {
  return family === 'IPv4' ? '127.0.0.1' : '::1';
}

/** The "any" address of a family. */
export function anyAddress(family: IpFamily): string {
  return family === 'IPv4' ? '0.0.0.0' : '::';
}

// Names on the wire: fixed-width NUL-padded fields (group names, sender, auth slots), and the
// rules Spread applies to private names, group names and private groups.
// Bytes map to characters one to one (latin1), so any field survives a decode/encode round trip.
import { SpreadError } from '../../errors';
import { MAX_GROUP_NAME, MAX_PRIVATE_NAME, MAX_PROC_NAME } from './constants';

const NUL = 0;
const HASH = 0x23; // '#'
const DOLLAR = 0x24; // '$': first character a joinable group name may use
const TILDE = 0x7e; // '~'

// Senders and group names repeat from message to message, and making a string from bytes is
// the costliest step of decoding a small frame; a direct-mapped cache of recent names (keyed
// by a hash of their bytes, checked byte for byte) lets most reads allocate nothing.
const CACHE_SLOTS = 1024;
const cachedBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(CACHE_SLOTS);
const cachedNames: string[] = new Array<string>(CACHE_SLOTS).fill('');

/** The characters of a fixed-width field up to its first NUL (all `width` bytes if none). */
export function readName(buf: Buffer, offset: number, width: number): string {
  const limit = offset + width;
  let end = offset;
  let hash = 0x811c9dc5; // FNV-1a
  while (end < limit) {
    const c = buf[end]!;
    if (c === NUL) break;
    hash = Math.imul(hash ^ c, 0x01000193);
    end++;
  }
  const length = end - offset;
  if (length === 0) return '';
  const slot = (hash ^ (hash >>> 16)) & (CACHE_SLOTS - 1);
  const known = cachedBytes[slot];
  if (known !== undefined && known.length === length) {
    let i = 0;
    while (i < length && known[i] === buf[offset + i]) i++;
    if (i === length) return cachedNames[slot]!;
  }
  const name = buf.toString('latin1', offset, end);
  cachedBytes[slot] = Uint8Array.prototype.slice.call(buf, offset, end);
  cachedNames[slot] = name;
  return name;
}

/** Whether a fixed-width field holds a NUL, i.e. a C string that ends inside it. */
export function nameIsTerminated(buf: Buffer, offset: number, width: number): boolean {
  const end = offset + width;
  for (let i = offset; i < end; i++) if (buf[i] === NUL) return true;
  return false;
}

/**
 * Writes `name` and NUL padding into a `width`-byte field.
 * @throws SpreadError ILLEGAL_GROUP when the name needs more than width − 1 bytes or has a
 *   character above U+00FF (it would not survive as one byte).
 */
export function writeName(buf: Buffer, offset: number, name: string, width: number): void {
  const n = name.length;
  if (n >= width) throw new SpreadError('ILLEGAL_GROUP', `name "${name}" is longer than ${width - 1} bytes`);
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) throw new SpreadError('ILLEGAL_GROUP', `name "${name}" has a character outside latin1`);
    buf[offset + i] = c;
  }
  buf.fill(NUL, offset + n, offset + width);
}

/** Spread's rule for a connecting client's name: ≤ 10 characters, each in '$'..'~'. Empty is legal (the daemon invents one). */
export function isLegalPrivateName(name: string): boolean {
  if (name.length > MAX_PRIVATE_NAME) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= HASH || c > TILDE) return false;
  }
  return true;
}

/** Spread's rule (SP_join/SP_leave) for a group one can join or leave: 1–31 characters in '$'..'~'. */
export function isLegalGroupName(name: string): boolean {
  if (name.length === 0 || name.length >= MAX_GROUP_NAME) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c < DOLLAR || c > TILDE) return false;
  }
  return true;
}

/** `#name#daemon`, cut to 31 characters as Spread's snprintf into a group-name buffer does. */
export function privateGroupName(privateName: string, daemonName: string): string {
  const full = `#${privateName}#${daemonName}`;
  return full.length < MAX_GROUP_NAME ? full : full.slice(0, MAX_GROUP_NAME - 1);
}

/** The private name and daemon name of a private group `#name#daemon`, or undefined if it is not one. */
export function splitPrivateGroup(group: string): { privateName: string; daemonName: string } | undefined {
  if (group.charCodeAt(0) !== HASH) return undefined;
  const second = group.indexOf('#', 1);
  if (second < 0) return undefined;
  const privateName = group.slice(1, second);
  const daemonName = group.slice(second + 1);
  if (privateName.length > MAX_PRIVATE_NAME || daemonName.length === 0 || daemonName.length > MAX_PROC_NAME) {
    return undefined;
  }
  return { privateName, daemonName };
}

/**
 * The name Spread gives a client that connects without one: `r<random>-<connection>` (Spread
 * uses a random number below 9999 and the socket's fd), cut to 9 characters by its snprintf.
 * Randomness is the caller's: this module stays pure.
 */
export function generatedPrivateName(randomNumber: number, connectionNumber: number): string {
  return `r${randomNumber >>> 0}-${connectionNumber >>> 0}`.slice(0, MAX_PRIVATE_NAME - 1);
}

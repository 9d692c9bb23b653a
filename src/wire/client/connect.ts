// The client's first message (handshake step 1) and the version rules that shape the rest of
// the handshake. Mirrors Spread 5.0.1's Sess_accept_continue, including its use of signed chars.
import { SpreadError } from '../../errors';
import { MAX_PRIVATE_NAME, SPREAD_VERSION } from './constants';
import { decoded, incomplete, wireFault, type DecodeResult } from './decodeResult';

export interface SpreadVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

export interface ConnectRequest {
  /** The library's version; patch is 0 when the library (≤ 3.14) sent no patch byte. */
  readonly version: SpreadVersion;
  /** major·10000 + minor·100 + patch over signed bytes, the number Spread compares. */
  readonly versionCode: number;
  /** Whether the patch byte was on the wire. */
  readonly patchSent: boolean;
  /** The raw flags byte: bit 0 membership, high nibble priority. */
  readonly flags: number;
  /** Whether the client asked for membership messages. */
  readonly membership: boolean;
  readonly priority: number;
  /** The requested private name; '' asks the daemon to invent one. */
  readonly name: string;
}

/** Oldest library Spread accepts (3.1.0). */
export const MIN_LIBRARY_VERSION_CODE = 30100;

// Spread reads version, flags and name length into `char`, which is signed on its platforms;
// mirroring that keeps odd bytes (≥ 0x80) rejected exactly as Spread rejects them.
const signed = (byte: number): number => (byte << 24) >> 24;

/** Spread's version number of three version bytes. */
export function versionCode(major: number, minor: number, patch: number): number {
  return signed(major) * 10000 + signed(minor) * 100 + signed(patch);
}

/** Libraries after 3.14 send a third (patch) version byte; older ones send two. */
export function sendsPatchByte(major: number, minor: number): boolean {
  return versionCode(major, minor, 0) > 31400;
}

/** Libraries from 3.16 on take part in the auth exchange (handshake steps 2–3). */
export function expectsAuthExchange(libraryVersionCode: number): boolean {
  return libraryVersionCode >= 31600;
}

/** The accept carries the daemon's patch byte only for libraries from 3.15 on. */
export function acceptCarriesPatch(libraryVersionCode: number): boolean {
  return libraryVersionCode >= 31500;
}

export interface ConnectOptions {
  /** Defaults to 5.0.1. */
  readonly version?: SpreadVersion;
  readonly membership: boolean;
  /** 0–15; Spread clients use 0 or 1. Defaults to 0. */
  readonly priority?: number;
  /** Up to 10 characters; '' asks the daemon for a generated name. Not checked for legality, so tests can send illegal names. */
  readonly name: string;
}

/**
 * Encodes the connect message.
 * @throws SpreadError REJECT_ILLEGAL_NAME when the name is longer than 10 bytes or not latin1;
 *   ILLEGAL_SESSION when a version byte or the priority is out of range.
 */
export function encodeConnect(options: ConnectOptions): Buffer {
  const { major, minor, patch } = options.version ?? SPREAD_VERSION;
  const priority = options.priority ?? 0;
  for (const b of [major, minor, patch]) {
    if (!Number.isInteger(b) || b < 0 || b > 0xff) throw new SpreadError('ILLEGAL_SESSION', `version byte ${b} out of range`);
  }
  if (!Number.isInteger(priority) || priority < 0 || priority > 15) {
    throw new SpreadError('ILLEGAL_SESSION', `priority ${priority} out of range 0..15`);
  }
  const name = options.name;
  if (name.length > MAX_PRIVATE_NAME) {
    throw new SpreadError('REJECT_ILLEGAL_NAME', `private name "${name}" is longer than ${MAX_PRIVATE_NAME}`);
  }
  const withPatch = sendsPatchByte(major, minor);
  const out = Buffer.allocUnsafe((withPatch ? 3 : 2) + 2 + name.length);
  let at = 0;
  out[at++] = major;
  out[at++] = minor;
  if (withPatch) out[at++] = patch;
  out[at++] = (priority << 4) | (options.membership ? 1 : 0);
  out[at++] = name.length;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff) throw new SpreadError('REJECT_ILLEGAL_NAME', `private name "${name}" is not latin1`);
    out[at++] = c;
  }
  return out;
}

/**
 * Decodes the connect message from the bytes received so far (daemon side). Faults are the
 * reject codes to send back: REJECT_VERSION, REJECT_ILLEGAL_NAME. A version fault comes as
 * soon as the version bytes are in, as Spread rejects before reading on.
 * Unlike Spread, which rejects a name that has not fully arrived with its first read, this
 * reports 'incomplete' and leaves the waiting (and its time limit) to the caller.
 */
export function decodeConnect(buf: Buffer, offset = 0): DecodeResult<ConnectRequest> {
  const available = buf.length - offset;
  if (available < 2) return incomplete(2);
  const major = buf[offset]!;
  const minor = buf[offset + 1]!;
  const patchSent = sendsPatchByte(major, minor);
  const versionBytes = patchSent ? 3 : 2;
  if (available < versionBytes) return incomplete(versionBytes);
  const patch = patchSent ? buf[offset + 2]! : 0;
  const code = versionCode(major, minor, patch);
  if (code < MIN_LIBRARY_VERSION_CODE) {
    return wireFault('REJECT_VERSION', 'VERSION_TOO_OLD', `library version ${major}.${minor}.${patch} is older than 3.1.0`);
  }
  if (available < versionBytes + 2) return incomplete(versionBytes + 2);
  const flags = buf[offset + versionBytes]!;
  const nameLength = signed(buf[offset + versionBytes + 1]!);
  if (nameLength < 0 || nameLength > MAX_PRIVATE_NAME) {
    return wireFault('REJECT_ILLEGAL_NAME', 'NAME_TOO_LONG', `private name length ${nameLength} is not 0..${MAX_PRIVATE_NAME}`);
  }
  const total = versionBytes + 2 + nameLength;
  if (available < total) return incomplete(total);
  const nameStart = offset + versionBytes + 2;
  for (let i = nameStart; i < nameStart + nameLength; i++) {
    const c = signed(buf[i]!);
    if (c <= 0x23 || c > 0x7e) {
      return wireFault('REJECT_ILLEGAL_NAME', 'NAME_ILLEGAL_CHARACTER', `private name byte 0x${buf[i]!.toString(16)} is not in '$'..'~'`);
    }
  }
  const signedFlags = signed(flags);
  return decoded(
    {
      version: { major, minor, patch },
      versionCode: code,
      patchSent,
      flags,
      // C's % and / on a signed char: a flags byte ≥ 0x80 asks for no membership messages.
      membership: signedFlags % 2 === 1,
      priority: (signedFlags / 16) | 0, // truncates toward zero, as C does (and never yields -0)
      name: nameLength === 0 ? '' : buf.toString('latin1', nameStart, nameStart + nameLength),
    },
    total,
  );
}

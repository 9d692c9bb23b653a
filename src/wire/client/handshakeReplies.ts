// Handshake steps 2–4 after the connect message: the daemon's auth list, the client's auth
// choice, and the daemon's accept — or, in place of the list or the accept, one reject byte.
import { SpreadCode, SpreadError, type SpreadCodeName } from '../../errors';
import {
  ACCEPT_SESSION,
  AUTH_CHOICE_SIZE,
  MAX_AUTH_METHODS,
  MAX_AUTH_NAME,
  MAX_GROUP_NAME,
  SPREAD_VERSION,
} from './constants';
import type { SpreadVersion } from './connect';
import { decoded, faultFromSpreadCode, incomplete, wireFault, type DecodeResult } from './decodeResult';
import { readName, writeName } from './names';

const signed = (byte: number): number => (byte << 24) >> 24;

// ---- reject byte ----

/** The single byte that rejects a connection: the (negative) Spread code. */
export function encodeReject(code: SpreadCodeName | number): Buffer {
  const n = typeof code === 'number' ? code : SpreadCode[code];
  if (!Number.isInteger(n) || n >= 0 || n < -128) throw new SpreadError('ILLEGAL_SESSION', `reject code ${n} is not a negative byte`);
  return Buffer.from([n & 0xff]);
}

// ---- auth list (step 2) ----

/** `len` then each method followed by a space, as Spread sends it (`05 "NULL "`). */
export function encodeAuthList(methods: readonly string[]): Buffer {
  const text = methods.map((m) => `${m} `).join('');
  if (text.length > AUTH_CHOICE_SIZE) throw new SpreadError('REJECT_AUTH', `auth list "${text}" is longer than ${AUTH_CHOICE_SIZE}`);
  const out = Buffer.allocUnsafe(1 + text.length);
  out[0] = text.length;
  out.write(text, 1, 'latin1');
  return out;
}

/**
 * Decodes the daemon's auth list (client side). A negative first byte is the daemon's reject
 * (e.g. REJECT_NOT_UNIQUE); a length above 90 is garbage (Spread's library closes: CONNECTION_CLOSED).
 */
export function decodeAuthList(buf: Buffer, offset = 0): DecodeResult<string[]> {
  if (buf.length - offset < 1) return incomplete(1);
  const length = signed(buf[offset]!);
  if (length < 0) return faultFromSpreadCode(length, 'REJECTED_BY_DAEMON', `daemon rejected the connection with ${length}`);
  if (length > AUTH_CHOICE_SIZE) {
    return wireFault('CONNECTION_CLOSED', 'BAD_HANDSHAKE_REPLY', `auth list length ${length} exceeds ${AUTH_CHOICE_SIZE}`);
  }
  if (buf.length - offset < 1 + length) return incomplete(1 + length);
  const text = buf.toString('latin1', offset + 1, offset + 1 + length);
  return decoded(
    text.split(' ').filter((m) => m.length > 0),
    1 + length,
  );
}

// ---- auth choice (step 3) ----

/**
 * The client's 90-byte choice: up to three NUL-padded 30-byte method names.
 * @throws SpreadError REJECT_AUTH for more than three methods, or a name over 29 bytes.
 */
export function encodeAuthChoice(methods: readonly string[]): Buffer {
  if (methods.length > MAX_AUTH_METHODS) throw new SpreadError('REJECT_AUTH', `at most ${MAX_AUTH_METHODS} auth methods`);
  const out = Buffer.alloc(AUTH_CHOICE_SIZE);
  methods.forEach((m, i) => {
    if (m.length === 0 || m.length >= MAX_AUTH_NAME) throw new SpreadError('REJECT_AUTH', `auth method name "${m}" must be 1..${MAX_AUTH_NAME - 1} bytes`);
    writeName(out, i * MAX_AUTH_NAME, m, MAX_AUTH_NAME);
  });
  return out;
}

/**
 * Decodes the auth choice (daemon side): the methods up to the first empty slot, as Spread's
 * loop reads them. Whether they are allowed is the session's call (REJECT_AUTH if not).
 */
export function decodeAuthChoice(buf: Buffer, offset = 0): DecodeResult<string[]> {
  if (buf.length - offset < AUTH_CHOICE_SIZE) return incomplete(AUTH_CHOICE_SIZE);
  const methods: string[] = [];
  for (let i = 0; i < MAX_AUTH_METHODS; i++) {
    const name = readName(buf, offset + i * MAX_AUTH_NAME, MAX_AUTH_NAME);
    if (name.length === 0) break;
    methods.push(name);
  }
  return decoded(methods, AUTH_CHOICE_SIZE);
}

// ---- accept (step 4) ----

export interface SessionAccept {
  /** The daemon's version; patch is 0 when the accept carried no patch byte. */
  readonly daemonVersion: SpreadVersion;
  /** The session's private group, `#name#daemon`. */
  readonly privateGroup: string;
}

export interface AcceptOptions {
  /** Whether to send the patch byte: only libraries ≥ 3.15 expect it (see acceptCarriesPatch). */
  readonly includePatch: boolean;
  /** Defaults to 5.0.1. */
  readonly daemonVersion?: SpreadVersion;
}

/**
 * `01`, the daemon version, a length byte and the private group name (no NUL).
 * @throws SpreadError ILLEGAL_GROUP when the private group is longer than 31 bytes.
 */
export function encodeAccept(privateGroup: string, options: AcceptOptions): Buffer {
  const { major, minor, patch } = options.daemonVersion ?? SPREAD_VERSION;
  if (privateGroup.length >= MAX_GROUP_NAME) throw new SpreadError('ILLEGAL_GROUP', `private group "${privateGroup}" is longer than ${MAX_GROUP_NAME - 1}`);
  const head = options.includePatch ? 5 : 4;
  const out = Buffer.allocUnsafe(head + privateGroup.length);
  out[0] = ACCEPT_SESSION;
  out[1] = major;
  out[2] = minor;
  if (options.includePatch) out[3] = patch;
  out[head - 1] = privateGroup.length;
  out.write(privateGroup, head, 'latin1');
  return out;
}

/**
 * Decodes the accept (client side). `expectPatch`: whether this library is ≥ 3.15 (then the
 * daemon sends the patch byte). A negative first byte is the daemon's reject (e.g. REJECT_AUTH).
 */
export function decodeAccept(buf: Buffer, offset = 0, expectPatch = true): DecodeResult<SessionAccept> {
  const available = buf.length - offset;
  if (available < 1) return incomplete(1);
  const first = signed(buf[offset]!);
  if (first < 0) return faultFromSpreadCode(first, 'REJECTED_BY_DAEMON', `daemon rejected the connection with ${first}`);
  if (first !== ACCEPT_SESSION) return wireFault('CONNECTION_CLOSED', 'BAD_HANDSHAKE_REPLY', `accept byte is ${first}, not ${ACCEPT_SESSION}`);
  const head = expectPatch ? 5 : 4;
  if (available < head) return incomplete(head);
  const length = buf[offset + head - 1]!;
  if (length >= MAX_GROUP_NAME) {
    return wireFault('CONNECTION_CLOSED', 'BAD_HANDSHAKE_REPLY', `private group length ${length} exceeds ${MAX_GROUP_NAME - 1}`);
  }
  if (available < head + length) return incomplete(head + length);
  return decoded(
    {
      daemonVersion: { major: buf[offset + 1]!, minor: buf[offset + 2]!, patch: expectPatch ? buf[offset + 3]! : 0 },
      privateGroup: buf.toString('latin1', offset + head, offset + head + length),
    },
    head + length,
  );
}

// The frames a client sends after the handshake — JOIN, LEAVE, KILL and data messages — checked
// here first, so a mistake is a typed error at the caller instead of the daemon silently
// closing the session (what Spread does with a bad frame).
import { SpreadError } from '../errors';
import { Service, isServiceName, type ServiceName } from '../core/service';
import { MAX_GROUP_NAME, MessageType } from '../wire/client/constants';
import { SPREAD_FRAME_LIMITS, type FrameLimits } from '../wire/client/frameRules';
import { hintFor } from '../wire/client/header';
import { encodeMessage } from '../wire/client/message';
import { isLegalGroupName } from '../wire/client/names';

export interface MulticastOptions {
  /** Default 'AGREED'. */
  readonly service?: ServiceName;
  /** Spread's mess_type: an application tag, -32768..65535 (sent as 16 bits). Default 0. */
  readonly messType?: number;
  /** Do not deliver the message back to this session. Default false. */
  readonly selfDiscard?: boolean;
}

export type MessageData = Buffer | Uint8Array | string;

const EMPTY = Buffer.alloc(0);

/** Buffer view of the data; strings are UTF-8. */
export function dataBytes(data: MessageData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  throw new SpreadError('ILLEGAL_MESSAGE', 'message data must be a Buffer, Uint8Array or string');
}

/**
 * A group one may send to: 1..31 bytes of latin1 without NUL (private groups `#name#daemon`
 * included, as Spread allows).
 * @throws SpreadError ILLEGAL_GROUP.
 */
export function checkDestinationGroup(group: unknown): string {
  if (typeof group !== 'string' || group.length === 0 || group.length >= MAX_GROUP_NAME) {
    throw new SpreadError('ILLEGAL_GROUP', `group ${JSON.stringify(group)} must be 1..${MAX_GROUP_NAME - 1} characters`);
  }
  for (let i = 0; i < group.length; i++) {
    const c = group.charCodeAt(i);
    if (c === 0 || c > 0xff) throw new SpreadError('ILLEGAL_GROUP', `group ${JSON.stringify(group)} has a character that is not one latin1 byte`);
  }
  return group;
}

/**
 * A group one may join or leave (Spread's SP_join rule: 1..31 characters in '$'..'~').
 * @throws SpreadError ILLEGAL_GROUP.
 */
export function checkJoinableGroup(group: unknown): string {
  if (typeof group !== 'string' || !isLegalGroupName(group)) {
    throw new SpreadError('ILLEGAL_GROUP', `${JSON.stringify(group)} is not a group one can join or leave (1..31 characters from '$' to '~')`);
  }
  return group;
}

function controlFrame(type: number, privateGroup: string, group: string, littleEndian: boolean): Buffer {
  return encodeMessage({ type, sender: privateGroup, groups: [group], hint: hintFor(0, littleEndian), data: EMPTY }, littleEndian);
}

/** @throws SpreadError ILLEGAL_GROUP. */
export function encodeJoin(privateGroup: string, group: string, littleEndian: boolean): Buffer {
  return controlFrame(MessageType.JOIN_MESS, privateGroup, checkJoinableGroup(group), littleEndian);
}

/** @throws SpreadError ILLEGAL_GROUP. */
export function encodeLeave(privateGroup: string, group: string, littleEndian: boolean): Buffer {
  return controlFrame(MessageType.LEAVE_MESS, privateGroup, checkJoinableGroup(group), littleEndian);
}

/** The disconnect request: KILL naming the session's own private group. */
export function encodeKill(privateGroup: string, littleEndian: boolean): Buffer {
  return controlFrame(MessageType.KILL_MESS, privateGroup, privateGroup, littleEndian);
}

/**
 * A data message to one or more groups.
 * @throws SpreadError ILLEGAL_GROUP (no group, or a bad name), ILLEGAL_SERVICE (unknown
 *   service), ILLEGAL_MESSAGE (bad messType or data), MESSAGE_TOO_LONG (more groups or bytes
 *   than `limits` allow; Spread's own limits by default).
 */
export function encodeMulticast(
  privateGroup: string,
  groups: string | readonly string[],
  data: MessageData,
  options: MulticastOptions,
  littleEndian: boolean,
  limits: FrameLimits = SPREAD_FRAME_LIMITS,
): Buffer {
  const list = typeof groups === 'string' ? [groups] : groups;
  if (!Array.isArray(list) || list.length === 0) throw new SpreadError('ILLEGAL_GROUP', 'multicast names no group');
  if (list.length > limits.maxGroups) throw new SpreadError('MESSAGE_TOO_LONG', `${list.length} groups exceed ${limits.maxGroups}`);
  for (const g of list) checkDestinationGroup(g);
  const service = options.service ?? 'AGREED';
  if (!isServiceName(service)) throw new SpreadError('ILLEGAL_SERVICE', `service ${JSON.stringify(service)} is not one of UNRELIABLE RELIABLE FIFO CAUSAL AGREED SAFE`);
  const messType = options.messType ?? 0;
  if (!Number.isInteger(messType) || messType < -0x8000 || messType > 0xffff) {
    throw new SpreadError('ILLEGAL_MESSAGE', `messType ${messType} is not a 16-bit integer`);
  }
  const bytes = dataBytes(data);
  const bodyBytes = bytes.length + list.length * MAX_GROUP_NAME;
  if (bodyBytes > limits.maxBodyBytes) {
    throw new SpreadError('MESSAGE_TOO_LONG', `${bytes.length} bytes of data to ${list.length} group(s) exceed the limit of ${limits.maxBodyBytes} bytes of groups and data`);
  }
  const type = Service[service] | (options.selfDiscard ? MessageType.SELF_DISCARD : 0);
  return encodeMessage({ type, sender: privateGroup, groups: list, hint: hintFor(messType & 0xffff, littleEndian), data: bytes }, littleEndian);
}

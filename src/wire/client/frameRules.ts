// What makes a frame acceptable, and how long its body is. Frames to the daemon get the checks
// of Spread 5.0.1's Sess_validate_read_header (any failure: Spread closes the session without
// a reply), plus a few that Spread lacks and whose absence would let one client corrupt what
// others receive. Frames to a client only need sane lengths.
import {
  HEADER_SIZE,
  MAX_GROUP_NAME,
  MAX_GROUPS_PER_MESSAGE,
  MessageType,
  REJECT_OLD_TYPE_SIZE,
  SPREAD_MAX_MESSAGE_BODY_LEN,
  isRejectMessage,
} from './constants';
import { wireFault, type WireFault } from './decodeResult';
import type { MessageHeader } from './header';

export type Direction = 'toDaemon' | 'toClient';

export interface FrameLimits {
  /** Most groups one frame may name. */
  readonly maxGroups: number;
  /** Most bytes of groups list (32 per group) plus data one frame may carry. */
  readonly maxBodyBytes: number;
}

/** Exactly Spread's limits: 100 groups, groups + data ≤ 144000 − 48. */
export const SPREAD_FRAME_LIMITS: FrameLimits = {
  maxGroups: MAX_GROUPS_PER_MESSAGE,
  maxBodyBytes: SPREAD_MAX_MESSAGE_BODY_LEN - HEADER_SIZE,
};

/** ringcast's default: 1 MiB of data even with the full 100 groups; a superset of Spread's. */
export const DEFAULT_FRAME_LIMITS: FrameLimits = {
  maxGroups: MAX_GROUPS_PER_MESSAGE,
  maxBodyBytes: 1024 * 1024 + MAX_GROUPS_PER_MESSAGE * MAX_GROUP_NAME,
};

export interface FrameOptions {
  readonly direction: Direction;
  /** Defaults to DEFAULT_FRAME_LIMITS. */
  readonly limits?: FrameLimits;
  /** toDaemon: the session's private group; frames naming another sender are refused. */
  readonly privateGroup?: string;
}

const SERVICE_BITS = MessageType.REGULAR_MESS;
const CONTROL_BITS = MessageType.JOIN_MESS | MessageType.LEAVE_MESS | MessageType.KILL_MESS;
// Bits Spread lets through from a client but that would make receivers misread the frame:
// a reject expects 4 extra bytes, membership bits a membership body; GROUPS is daemon-internal.
const NEVER_FROM_CLIENT = MessageType.REJECT_MESS | MessageType.MEMBERSHIP_MESS | MessageType.GROUPS_MESS;
const HINT_BITS = 0x80ffff80;

function bitCount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++;
  return n;
}

/** Bytes after the header: a reject's old type (to clients only), the groups, the data. */
export function frameBodyLength(header: MessageHeader, direction: Direction): number {
  const oldType = direction === 'toClient' && isRejectMessage(header.type) ? REJECT_OLD_TYPE_SIZE : 0;
  return oldType + header.numGroups * MAX_GROUP_NAME + header.dataLen;
}

/** The fault in a header, or undefined if the frame may be read on. */
export function checkHeader(header: MessageHeader, options: FrameOptions): WireFault | undefined {
  const limits = options.limits ?? DEFAULT_FRAME_LIMITS;
  const { type, numGroups, dataLen } = header;
  if (options.direction === 'toDaemon') {
    if (bitCount(type & SERVICE_BITS) + bitCount(type & CONTROL_BITS) !== 1 || (type & NEVER_FROM_CLIENT) !== 0) {
      return wireFault('ILLEGAL_SERVICE', 'BAD_TYPE', `type 0x${type.toString(16)} is not exactly one service or one of JOIN/LEAVE/KILL`);
    }
    // Spread NUL-terminates the field at byte 31 before comparing.
    if (options.privateGroup !== undefined && header.sender.slice(0, MAX_GROUP_NAME - 1) !== options.privateGroup) {
      return wireFault('ILLEGAL_SESSION', 'WRONG_SENDER', `sender "${header.sender}" is not this session's "${options.privateGroup}"`);
    }
  }
  if (numGroups < 0) return wireFault('ILLEGAL_MESSAGE', 'NEGATIVE_LENGTH', `num_groups ${numGroups} is negative`);
  if (numGroups > limits.maxGroups) {
    return wireFault('MESSAGE_TOO_LONG', 'TOO_MANY_GROUPS', `num_groups ${numGroups} exceeds ${limits.maxGroups}`);
  }
  if (options.direction === 'toDaemon' && (header.hint & ~HINT_BITS) !== 0) {
    return wireFault('ILLEGAL_MESSAGE', 'BAD_HINT', `hint 0x${header.hint.toString(16)} has bits outside 0x80ffff80`);
  }
  if (dataLen < 0) return wireFault('ILLEGAL_MESSAGE', 'NEGATIVE_LENGTH', `data_len ${dataLen} is negative`);
  if (dataLen + numGroups * MAX_GROUP_NAME > limits.maxBodyBytes) {
    return wireFault('MESSAGE_TOO_LONG', 'TOO_LONG', `data ${dataLen} + groups ${numGroups * MAX_GROUP_NAME} exceeds ${limits.maxBodyBytes}`);
  }
  if (options.direction === 'toDaemon' && (type & (MessageType.JOIN_MESS | MessageType.LEAVE_MESS)) !== 0 && numGroups < 1) {
    return wireFault('ILLEGAL_GROUP', 'MISSING_GROUP', 'JOIN or LEAVE names no group');
  }
  return undefined;
}

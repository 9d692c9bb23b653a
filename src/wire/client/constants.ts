// Constants of the Spread client protocol, with the names and values of Spread 5.0.1's sp.h
// (service/type flags) and sess_types.h (JOIN/LEAVE/KILL/GROUPS), so code can be read
// side by side with Spread's.
import { Service } from '../../core/service';

/** Type-field flags, named as in sp.h. */
export const MessageType = {
  UNRELIABLE_MESS: Service.UNRELIABLE,
  RELIABLE_MESS: Service.RELIABLE,
  FIFO_MESS: Service.FIFO,
  CAUSAL_MESS: Service.CAUSAL,
  AGREED_MESS: Service.AGREED,
  SAFE_MESS: Service.SAFE,
  /** Any of the six services. */
  REGULAR_MESS: 0x0000003f,
  /** Do not deliver the message back to its sender. */
  SELF_DISCARD: 0x00000040,

  CAUSED_BY_JOIN: 0x00000100,
  CAUSED_BY_LEAVE: 0x00000200,
  CAUSED_BY_DISCONNECT: 0x00000400,
  CAUSED_BY_NETWORK: 0x00000800,
  REG_MEMB_MESS: 0x00001000,
  TRANSITION_MESS: 0x00002000,
  MEMBERSHIP_MESS: 0x00003f00,

  // Control messages a client sends (sess_types.h); the daemon orders them like AGREED.
  JOIN_MESS: 0x00010000,
  LEAVE_MESS: 0x00020000,
  KILL_MESS: 0x00040000,
  /** Daemon-internal; never valid from a client. */
  GROUPS_MESS: 0x00080000,

  RESERVED: 0x003fc000,
  REJECT_MESS: 0x00400000,
  /** Receive-side flag of SP_receive (drop what does not fit); never on the wire from Spread. */
  DROP_RECV: 0x01000000,
  /** The two bits a little-endian sender sets in `type` and `hint` (sp.h ENDIAN_RESERVED). */
  ENDIAN_RESERVED: 0x80000080,
} as const;
export type MessageTypeName = keyof typeof MessageType;

/** The endian flag bits; symmetric under byte swap, so they can be tested in either order. */
export const ENDIAN_FLAG = 0x80000080;

/** Handshake reply byte that accepts a session (every other reply is a negative error code). */
export const ACCEPT_SESSION = 1;

/** The Spread version ringcast speaks and announces. */
export const SPREAD_VERSION = { major: 5, minor: 0, patch: 1 } as const;

// Sizes and limits (spread_params.h, acm.h).
export const HEADER_SIZE = 48;
/** A group name field: 31 characters and a NUL. */
export const MAX_GROUP_NAME = 32;
export const MAX_PRIVATE_NAME = 10;
export const MAX_PROC_NAME = 20;
export const MAX_GROUPS_PER_MESSAGE = 100;
/** Spread's MAX_MESSAGE_BODY_LEN: header + groups + data of one client message. */
export const SPREAD_MAX_MESSAGE_BODY_LEN = 144000;
export const MAX_AUTH_NAME = 30;
export const MAX_AUTH_METHODS = 3;
/** The client's auth choice: MAX_AUTH_METHODS NUL-padded slots of MAX_AUTH_NAME bytes. */
export const AUTH_CHOICE_SIZE = MAX_AUTH_NAME * MAX_AUTH_METHODS;
/** Bytes of the old type a REJECT_MESS carries between its header and its groups. */
export const REJECT_OLD_TYPE_SIZE = 4;

const SERVICE_BITS = MessageType.REGULAR_MESS;
const CONTROL_BITS = MessageType.JOIN_MESS | MessageType.LEAVE_MESS | MessageType.KILL_MESS;

// Predicates, as sp.h's Is_* macros. A reject carries its original service bits, hence the
// REJECT_MESS exclusions.
export const isRegularMessage = (type: number): boolean =>
  (type & SERVICE_BITS) !== 0 && (type & MessageType.REJECT_MESS) === 0;
export const isMembershipMessage = (type: number): boolean =>
  (type & MessageType.MEMBERSHIP_MESS) !== 0 && (type & MessageType.REJECT_MESS) === 0;
export const isRegularMembership = (type: number): boolean =>
  isMembershipMessage(type) && (type & MessageType.REG_MEMB_MESS) !== 0;
export const isTransitionalMembership = (type: number): boolean =>
  isMembershipMessage(type) && (type & MessageType.TRANSITION_MESS) !== 0;
/** The notice a member gets after its own LEAVE: CAUSED_BY_LEAVE without a membership kind. */
export const isSelfLeave = (type: number): boolean =>
  isMembershipMessage(type) &&
  (type & MessageType.CAUSED_BY_LEAVE) !== 0 &&
  (type & (MessageType.REG_MEMB_MESS | MessageType.TRANSITION_MESS)) === 0;
export const isRejectMessage = (type: number): boolean => (type & MessageType.REJECT_MESS) !== 0;
export const isSelfDiscard = (type: number): boolean => (type & MessageType.SELF_DISCARD) !== 0;
export const isJoinMessage = (type: number): boolean => (type & MessageType.JOIN_MESS) !== 0;
export const isLeaveMessage = (type: number): boolean => (type & MessageType.LEAVE_MESS) !== 0;
export const isKillMessage = (type: number): boolean => (type & MessageType.KILL_MESS) !== 0;
/** A JOIN, LEAVE or KILL request. */
export const isControlMessage = (type: number): boolean => (type & CONTROL_BITS) !== 0;

// Names in ascending bit order; services without the _MESS suffix, as spuser prints them.
const FLAG_NAMES: ReadonlyArray<readonly [number, string]> = [
  [MessageType.UNRELIABLE_MESS, 'UNRELIABLE'],
  [MessageType.RELIABLE_MESS, 'RELIABLE'],
  [MessageType.FIFO_MESS, 'FIFO'],
  [MessageType.CAUSAL_MESS, 'CAUSAL'],
  [MessageType.AGREED_MESS, 'AGREED'],
  [MessageType.SAFE_MESS, 'SAFE'],
  [MessageType.SELF_DISCARD, 'SELF_DISCARD'],
  [MessageType.CAUSED_BY_JOIN, 'CAUSED_BY_JOIN'],
  [MessageType.CAUSED_BY_LEAVE, 'CAUSED_BY_LEAVE'],
  [MessageType.CAUSED_BY_DISCONNECT, 'CAUSED_BY_DISCONNECT'],
  [MessageType.CAUSED_BY_NETWORK, 'CAUSED_BY_NETWORK'],
  [MessageType.REG_MEMB_MESS, 'REG_MEMB_MESS'],
  [MessageType.TRANSITION_MESS, 'TRANSITION_MESS'],
  [MessageType.JOIN_MESS, 'JOIN_MESS'],
  [MessageType.LEAVE_MESS, 'LEAVE_MESS'],
  [MessageType.KILL_MESS, 'KILL_MESS'],
  [MessageType.GROUPS_MESS, 'GROUPS_MESS'],
  [MessageType.REJECT_MESS, 'REJECT_MESS'],
  [MessageType.DROP_RECV, 'DROP_RECV'],
];

/** "CAUSED_BY_JOIN|REG_MEMB_MESS"-style rendering of a type (endian bits ignored), for logs. */
export function typeFlagNames(type: number): string {
  let rest = (type & ~ENDIAN_FLAG) >>> 0;
  const parts: string[] = [];
  for (const [bit, name] of FLAG_NAMES) {
    if ((rest & bit) !== 0) {
      parts.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) parts.push(`0x${rest.toString(16)}`);
  return parts.length === 0 ? '0' : parts.join('|');
}

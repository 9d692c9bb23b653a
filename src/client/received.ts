// What a session receives, as typed values: data messages, the three kinds of membership
// message, and rejects. Built from the decoded frames of src/wire/client.
import * as os from 'node:os';
import { SERVICE_NAMES, Service, type ServiceName } from '../core/service';
import { MessageType, isMembershipMessage, isRejectMessage } from '../wire/client/constants';
import { wireFault, type WireFault } from '../wire/client/decodeResult';
import { hintIsLittleEndian, messTypeOf } from '../wire/client/header';
import { decodeMembershipBody, type GroupId } from '../wire/client/membershipBody';
import type { DecodedMessage } from '../wire/client/message';

export type { GroupId } from '../wire/client/membershipBody';

/** Why a regular membership changed (Spread's CAUSED_BY_* flags). */
export type MembershipCause = 'JOIN' | 'LEAVE' | 'DISCONNECT' | 'NETWORK';

export interface DataMessage {
  readonly type: 'message';
  /** The sender's private group, `#name#daemon`. */
  readonly sender: string;
  /** Every group the message was sent to (a multi-group message arrives once, with all of them). */
  readonly groups: readonly string[];
  readonly service: ServiceName;
  /** The raw type flags (service bits, SELF_DISCARD), endian bits cleared. */
  readonly serviceType: number;
  /** The sender's mess_type, 0..65535 (Spread's API gives it as int16). */
  readonly messType: number;
  /** A view of the received bytes (no copy). */
  readonly data: Buffer;
  /** The sender's byte order differs from this machine's: integers the sender put in `data` may need swapping. */
  readonly endianMismatch: boolean;
}

export interface RegularMembershipMessage {
  readonly type: 'membership';
  readonly kind: 'regular';
  readonly group: string;
  readonly cause: MembershipCause;
  /** All members' private groups, in the daemons' order. */
  readonly members: readonly string[];
  readonly groupId: GroupId;
  /** JOIN/LEAVE/DISCONNECT: one set holding the member that changed. NETWORK: the members grouped by the membership they come from. */
  readonly vsSets: readonly (readonly string[])[];
  /** Index in vsSets of the set this session belongs to (-1 if none). */
  readonly localVsSetIndex: number;
  /** JOIN/LEAVE/DISCONNECT: the member that joined or went. */
  readonly changedMember?: string;
}

export interface TransitionalMembershipMessage {
  readonly type: 'membership';
  readonly kind: 'transitional';
  readonly group: string;
  /** The id of the membership that is ending. Messages until the next regular membership were delivered in the reduced configuration. */
  readonly groupId: GroupId;
}

export interface SelfLeaveMessage {
  readonly type: 'membership';
  readonly kind: 'self-leave';
  /** The group this session left. */
  readonly group: string;
}

export type MembershipMessage = RegularMembershipMessage | TransitionalMembershipMessage | SelfLeaveMessage;

/** A message of ours the daemon refused, handed back with its original type. */
export interface RejectedMessage {
  readonly type: 'reject';
  readonly sender: string;
  /** The original groups, with the sender appended as Spread does. */
  readonly groups: readonly string[];
  /** The rejected message's type flags. */
  readonly rejectedType: number;
  readonly messType: number;
  readonly data: Buffer;
}

export type ReceivedMessage = DataMessage | MembershipMessage | RejectedMessage;

const CAUSES: ReadonlyArray<readonly [number, MembershipCause]> = [
  [MessageType.CAUSED_BY_JOIN, 'JOIN'],
  [MessageType.CAUSED_BY_LEAVE, 'LEAVE'],
  [MessageType.CAUSED_BY_DISCONNECT, 'DISCONNECT'],
  [MessageType.CAUSED_BY_NETWORK, 'NETWORK'],
];

const HOST_IS_LITTLE_ENDIAN = os.endianness() === 'LE';

/**
 * A group id as delivery logs write it (`conf` ring): `time.index.daemonId`. The formation time
 * leads so that the checker's default ring order (by leading number) follows it; the leader's
 * daemon id says nothing about age. Compare fully with compareGroupIdStrings.
 */
export function formatGroupId(id: GroupId): string {
  return `${id.time}.${id.index}.${id.daemonId}`;
}

/**
 * Orders two formatGroupId strings by formation time, then per-group counter: negative when
 * `a` is older. Undefined when either is not such a string or they are equal. Suits the
 * checker's `ringOrder` option for client logs.
 */
export function compareGroupIdStrings(a: string, b: string): number | undefined {
  const pa = /^(\d+)\.(\d+)\.\d+$/.exec(a);
  const pb = /^(\d+)\.(\d+)\.\d+$/.exec(b);
  if (!pa || !pb || a === b) return undefined;
  const byTime = Number(pa[1]) - Number(pb[1]);
  const order = byTime !== 0 ? byTime : Number(pa[2]) - Number(pb[2]);
  return order === 0 ? undefined : Math.sign(order);
}

/** A group id the way spuser prints it: `daemonId time index`. */
export function spreadGroupIdText(id: GroupId): string {
  return `${id.daemonId} ${id.time} ${id.index}`;
}

// Service name by the six service bits (index: type & 0x3f); with several bits set (no daemon
// sends that), the strongest.
const SERVICE_BY_BITS: readonly ServiceName[] = Array.from({ length: 64 }, (_, bits) => {
  for (let i = SERVICE_NAMES.length - 1; i >= 0; i--) if ((bits & Service[SERVICE_NAMES[i]!]) !== 0) return SERVICE_NAMES[i]!;
  return 'UNRELIABLE';
});

/** The service a type's service bits name (the strongest, should several be set). */
export function serviceOfType(type: number): ServiceName {
  return SERVICE_BY_BITS[type & MessageType.REGULAR_MESS]!;
}

function causeOf(type: number): MembershipCause | undefined {
  for (const [bit, cause] of CAUSES) if ((type & bit) !== 0) return cause;
  return undefined;
}

/**
 * Turns a frame from the daemon into a typed message, or a fault (ILLEGAL_MESSAGE) when a
 * membership body does not parse or the type is none of the known kinds.
 */
export function toReceivedMessage(frame: DecodedMessage): ReceivedMessage | WireFault {
  const { type } = frame;
  if (isRejectMessage(type)) {
    return {
      type: 'reject',
      sender: frame.sender,
      groups: frame.groups,
      rejectedType: frame.oldType ?? 0,
      messType: messTypeOf(frame.hint),
      data: frame.data,
    };
  }
  if (isMembershipMessage(type)) {
    const body = decodeMembershipBody(type, frame.data, frame.littleEndian);
    if (body.status !== 'ok') {
      return body.status === 'error' ? body : wireFault('ILLEGAL_MESSAGE', 'BAD_MEMBERSHIP_BODY', 'membership body is truncated');
    }
    const value = body.value;
    const group = frame.sender;
    if (value.kind === 'selfLeave') return { type: 'membership', kind: 'self-leave', group };
    if (value.kind === 'transitional') return { type: 'membership', kind: 'transitional', group, groupId: value.groupId };
    const cause = causeOf(type);
    if (cause === undefined) return wireFault('ILLEGAL_MESSAGE', 'BAD_TYPE', `regular membership 0x${type.toString(16)} has no cause`);
    const changedMember = cause !== 'NETWORK' && value.vsSets.length === 1 && value.vsSets[0]!.length === 1 ? value.vsSets[0]![0] : undefined;
    return {
      type: 'membership',
      kind: 'regular',
      group,
      cause,
      members: frame.groups,
      groupId: value.groupId,
      vsSets: value.vsSets,
      localVsSetIndex: value.localVsSetIndex,
      ...(changedMember !== undefined ? { changedMember } : {}),
    };
  }
  if ((type & MessageType.REGULAR_MESS) === 0) return wireFault('ILLEGAL_MESSAGE', 'BAD_TYPE', `type 0x${type.toString(16)} is no message a client receives`);
  return {
    type: 'message',
    sender: frame.sender,
    groups: frame.groups,
    service: serviceOfType(type),
    serviceType: type & (MessageType.REGULAR_MESS | MessageType.SELF_DISCARD),
    messType: messTypeOf(frame.hint),
    data: frame.data,
    endianMismatch: hintIsLittleEndian(frame.hint) !== HOST_IS_LITTLE_ENDIAN,
  };
}


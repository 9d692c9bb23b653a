// What a checked client frame becomes on the ring: an envelope and the ring service that orders
// it. UNRELIABLE travels as RELIABLE and CAUSAL as AGREED (the ring orders everything totally);
// JOIN, LEAVE and KILL are ordered like AGREED messages, as in Spread.
import { Service, type ServiceCode } from '../core/service';
import { MessageType, isJoinMessage, isKillMessage, isLeaveMessage } from '../wire/client/constants';
import type { SpreadMessage } from '../wire/client/message';
import { encodeDataEnvelope, encodeJoinEnvelope, encodeKillEnvelope, encodeLeaveEnvelope } from '../wire/envelope';

export interface RingRequest {
  readonly service: ServiceCode;
  readonly payload: Buffer;
}

/** The ring service for a client's service bits (exactly one is set on a checked frame). */
export function ringServiceFor(type: number): ServiceCode {
  if (type & MessageType.SAFE_MESS) return Service.SAFE;
  if (type & (MessageType.AGREED_MESS | MessageType.CAUSAL_MESS)) return Service.AGREED;
  if (type & MessageType.FIFO_MESS) return Service.FIFO;
  return Service.RELIABLE;
}

/**
 * The ring request for a frame that FrameReader accepted from the session whose private group
 * is `privateGroup` (used as the sender: Spread checks the header's sender against it and
 * overwrites a KILL's group with it).
 * @throws SpreadError ILLEGAL_GROUP for a name the envelope cannot carry (the frame checks
 *   should have refused it).
 */
export function ringRequestFor(frame: SpreadMessage, privateGroup: string): RingRequest {
  const { type } = frame;
  if (isJoinMessage(type)) return { service: Service.AGREED, payload: encodeJoinEnvelope(privateGroup, frame.groups[0]!) };
  if (isLeaveMessage(type)) return { service: Service.AGREED, payload: encodeLeaveEnvelope(privateGroup, frame.groups[0]!) };
  if (isKillMessage(type)) return killRequest(privateGroup);
  return {
    service: ringServiceFor(type),
    payload: encodeDataEnvelope({ type, hint: frame.hint, sender: privateGroup, groups: frame.groups, data: frame.data }),
  };
}

/** The request that ends a session: its KILL (also sent when the connection just drops). */
export function killRequest(privateGroup: string): RingRequest {
  return { service: Service.AGREED, payload: encodeKillEnvelope(privateGroup) };
}

// A whole message frame: header, (for a reject to a client) the old type, the groups list
// (32-byte NUL-padded names) and the data.
import {
  ENDIAN_FLAG,
  HEADER_SIZE,
  MAX_GROUP_NAME,
  MessageType,
  REJECT_OLD_TYPE_SIZE,
  isRejectMessage,
} from './constants';
import { decoded, incomplete, wireFault, type DecodeResult, type WireFault } from './decodeResult';
import { checkHeader, frameBodyLength, type FrameOptions } from './frameRules';
import { encodeHeader, readHeader, type MessageHeader } from './header';
import { isLegalGroupName, nameIsTerminated, readName, writeName } from './names';

export interface SpreadMessage {
  /** Type flags, endian bits cleared. */
  readonly type: number;
  readonly sender: string;
  readonly groups: readonly string[];
  /** Raw hint bytes as a little-endian u32 (see header.ts: hintFor, messTypeOf). */
  readonly hint: number;
  readonly data: Uint8Array;
  /** REJECT_MESS only: the type of the message that was rejected (endian bits cleared). */
  readonly oldType?: number;
}

export interface DecodedMessage extends SpreadMessage {
  /** A view into the decoded bytes, not a copy. */
  readonly data: Buffer;
  /** The sender's byte order. */
  readonly littleEndian: boolean;
}

/** Bytes `encodeMessage` produces for a message. */
export function encodedLength(message: SpreadMessage): number {
  const oldType = isRejectMessage(message.type) ? REJECT_OLD_TYPE_SIZE : 0;
  return HEADER_SIZE + oldType + message.groups.length * MAX_GROUP_NAME + message.data.length;
}

/**
 * Writes a message at `offset` and returns the bytes written. A REJECT_MESS gets its old type
 * after the header (such frames only go to clients).
 * @throws SpreadError ILLEGAL_GROUP when the sender or a group does not fit 31 bytes.
 */
export function encodeMessageInto(buf: Buffer, offset: number, message: SpreadMessage, littleEndian = true): number {
  const { groups, data } = message;
  encodeHeader(buf, offset, message, groups.length, data.length, littleEndian);
  let at = offset + HEADER_SIZE;
  if (isRejectMessage(message.type)) {
    const oldType = (message.oldType ?? 0) & ~ENDIAN_FLAG;
    if (littleEndian) buf.writeUInt32LE((oldType | ENDIAN_FLAG) >>> 0, at);
    else buf.writeUInt32BE(oldType >>> 0, at);
    at += REJECT_OLD_TYPE_SIZE;
  }
  for (let i = 0; i < groups.length; i++, at += MAX_GROUP_NAME) writeName(buf, at, groups[i]!, MAX_GROUP_NAME);
  buf.set(data, at);
  return at + data.length - offset;
}

/** Encodes a message into a new buffer of exactly its length. Throws as encodeMessageInto. */
export function encodeMessage(message: SpreadMessage, littleEndian = true): Buffer {
  const out = Buffer.allocUnsafe(encodedLength(message));
  encodeMessageInto(out, 0, message, littleEndian);
  return out;
}

/**
 * Decodes the body that follows a header (which checkHeader should have passed): `body` holds
 * frameBodyLength(header) bytes from `offset`. Frames to the daemon also get their group names
 * checked (ILLEGAL_GROUP): each must end inside its 32 bytes (KILL's is ignored, as Spread
 * overwrites it), and a JOIN/LEAVE group must be a name SP_join/SP_leave would send.
 */
export function decodeBody(
  header: MessageHeader,
  body: Buffer,
  offset: number,
  options: FrameOptions,
): DecodeResult<DecodedMessage> {
  // Guards a header that skipped checkHeader: the decoders never throw on input.
  if (header.numGroups < 0 || header.dataLen < 0) {
    return wireFault('ILLEGAL_MESSAGE', 'NEGATIVE_LENGTH', `num_groups ${header.numGroups}, data_len ${header.dataLen}`);
  }
  const length = frameBodyLength(header, options.direction);
  if (body.length - offset < length) return incomplete(length);
  const result = readBody(header, body, offset, length, options);
  return 'status' in result ? result : decoded(result, length);
}

/** decodeBody without the result wrapper, for callers that know the `length` body bytes are there. */
export function readBody(
  header: MessageHeader,
  body: Buffer,
  offset: number,
  length: number,
  options: FrameOptions,
): DecodedMessage | WireFault {
  const { type, numGroups, littleEndian } = header;
  let at = offset;
  let oldType: number | undefined;
  if (options.direction === 'toClient' && isRejectMessage(type)) {
    const raw = littleEndian ? body.readUInt32LE(at) : body.readUInt32BE(at);
    oldType = (raw & ~ENDIAN_FLAG) >>> 0;
    at += REJECT_OLD_TYPE_SIZE;
  }
  const checkNames = options.direction === 'toDaemon' && (type & MessageType.KILL_MESS) === 0;
  const groups = new Array<string>(numGroups);
  for (let i = 0; i < numGroups; i++, at += MAX_GROUP_NAME) {
    if (checkNames && !nameIsTerminated(body, at, MAX_GROUP_NAME)) {
      return wireFault('ILLEGAL_GROUP', 'ILLEGAL_GROUP', `group ${i} has no NUL within ${MAX_GROUP_NAME} bytes`);
    }
    groups[i] = readName(body, at, MAX_GROUP_NAME);
  }
  if (checkNames && (type & (MessageType.JOIN_MESS | MessageType.LEAVE_MESS)) !== 0 && !isLegalGroupName(groups[0]!)) {
    return wireFault('ILLEGAL_GROUP', 'ILLEGAL_GROUP', `"${groups[0]}" is not a group name one can join or leave`);
  }
  return {
    type,
    sender: header.sender,
    groups,
    hint: header.hint,
    data: body.subarray(at, offset + length),
    littleEndian,
    oldType, // always present (undefined unless a reject) so every message has one shape
  };
}

/**
 * Decodes and checks one whole frame from a contiguous buffer. 'incomplete' says how many
 * bytes from `offset` the frame needs; faults are as checkHeader and decodeBody give them.
 */
export function decodeMessage(buf: Buffer, offset: number, options: FrameOptions): DecodeResult<DecodedMessage> {
  if (buf.length - offset < HEADER_SIZE) return incomplete(HEADER_SIZE);
  const header = readHeader(buf, offset);
  const fault = checkHeader(header, options);
  if (fault) return fault;
  const bodyLength = frameBodyLength(header, options.direction);
  if (buf.length - offset - HEADER_SIZE < bodyLength) return incomplete(HEADER_SIZE + bodyLength);
  const result = readBody(header, buf, offset + HEADER_SIZE, bodyLength, options);
  return 'status' in result ? result : decoded(result, HEADER_SIZE + bodyLength);
}

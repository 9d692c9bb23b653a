// The 48-byte message header, both directions:
//   0 int32 type | 4 char[32] sender | 36 int32 num_groups | 40 int32 hint | 44 int32 data_len
// Integers are in the sender's byte order; a little-endian sender sets ENDIAN_FLAG in `type`
// (and in `hint`), a big-endian one leaves it clear. The flag bits are symmetric under byte
// swap, so reading `type` little-endian tells the order either way.
// Spread's daemon converts type/num_groups/data_len to its own order but copies the hint bytes
// as they came, so `hint` is kept here as its raw bytes (read little-endian): re-encoding then
// forwards it untouched, and hintIsLittleEndian/messTypeOf read it as a receiving library does.
import { ENDIAN_FLAG, HEADER_SIZE, MAX_GROUP_NAME } from './constants';
import { decoded, incomplete, type DecodeResult } from './decodeResult';
import { readName, writeName } from './names';

export interface HeaderFields {
  /** Type flags, endian bits cleared (Spread's Set_endian normalizes them on every read). */
  readonly type: number;
  /** The sender's private group; on membership messages, the group's name. */
  readonly sender: string;
  /** Raw hint bytes as a little-endian u32 — see messTypeOf, hintFor. */
  readonly hint: number;
}

export interface MessageHeader extends HeaderFields {
  /** Signed as on the wire: negative values are garbage a validator must refuse. */
  readonly numGroups: number;
  readonly dataLen: number;
  /** The byte order the sender used for type, num_groups, data_len (and membership bodies). */
  readonly littleEndian: boolean;
}

const SENDER_OFFSET = 4;
const NUM_GROUPS_OFFSET = 36;
const HINT_OFFSET = 40;
const DATA_LEN_OFFSET = 44;

const clearEndian = (word: number): number => (word & ~ENDIAN_FLAG) >>> 0;

/** Whether a raw type or hint word (either byte order) carries the little-endian flag. */
export function hasLittleEndianFlag(word: number): boolean {
  return ((word & ENDIAN_FLAG) >>> 0) === ENDIAN_FLAG;
}

/** Decodes the header at `offset`; never faults (validation is frameRules'). */
export function decodeHeader(buf: Buffer, offset = 0): DecodeResult<MessageHeader> {
  if (buf.length - offset < HEADER_SIZE) return incomplete(HEADER_SIZE);
  return decoded(readHeader(buf, offset), HEADER_SIZE);
}

/** decodeHeader without the result wrapper, for callers that know 48 bytes are there. */
export function readHeader(buf: Buffer, offset: number): MessageHeader {
  const littleEndian = hasLittleEndianFlag(buf.readUInt32LE(offset));
  return {
    type: clearEndian(littleEndian ? buf.readUInt32LE(offset) : buf.readUInt32BE(offset)),
    sender: readName(buf, offset + SENDER_OFFSET, MAX_GROUP_NAME),
    numGroups: littleEndian ? buf.readInt32LE(offset + NUM_GROUPS_OFFSET) : buf.readInt32BE(offset + NUM_GROUPS_OFFSET),
    hint: buf.readUInt32LE(offset + HINT_OFFSET),
    dataLen: littleEndian ? buf.readInt32LE(offset + DATA_LEN_OFFSET) : buf.readInt32BE(offset + DATA_LEN_OFFSET),
    littleEndian,
  };
}

/**
 * Writes a header at `offset` in the given byte order (ringcast's daemon: always little-endian,
 * as Spread on x86). Sets or clears the endian flag in `type`; writes `hint` bytes as they are.
 * @throws SpreadError ILLEGAL_GROUP when the sender does not fit 31 bytes.
 */
export function encodeHeader(
  buf: Buffer,
  offset: number,
  fields: HeaderFields,
  numGroups: number,
  dataLen: number,
  littleEndian = true,
): void {
  if (littleEndian) {
    buf.writeUInt32LE((clearEndian(fields.type) | ENDIAN_FLAG) >>> 0, offset);
    buf.writeInt32LE(numGroups, offset + NUM_GROUPS_OFFSET);
    buf.writeInt32LE(dataLen, offset + DATA_LEN_OFFSET);
  } else {
    buf.writeUInt32BE(clearEndian(fields.type), offset);
    buf.writeInt32BE(numGroups, offset + NUM_GROUPS_OFFSET);
    buf.writeInt32BE(dataLen, offset + DATA_LEN_OFFSET);
  }
  writeName(buf, offset + SENDER_OFFSET, fields.sender, MAX_GROUP_NAME);
  buf.writeUInt32LE(fields.hint >>> 0, offset + HINT_OFFSET);
}

const swap32 = (x: number): number =>
  (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/**
 * The raw hint for a mess_type, as a sender in the given order writes it:
 * `((mess_type << 8) & 0x00ffff00)` plus the endian flag when little-endian.
 */
export function hintFor(messType: number, littleEndian = true): number {
  const value = (messType << 8) & 0x00ffff00;
  return littleEndian ? (value | ENDIAN_FLAG) >>> 0 : swap32(value);
}

/** Whether the hint was written by a little-endian sender (Spread's endian_mismatch is the opposite, for a little-endian receiver). */
export function hintIsLittleEndian(hint: number): boolean {
  return hasLittleEndianFlag(hint);
}

/** The mess_type (0–65535) a hint carries, whichever order its sender used. Spread's API returns it as int16. */
export function messTypeOf(hint: number): number {
  const value = hasLittleEndianFlag(hint) ? hint : swap32(hint);
  return (value >>> 8) & 0xffff;
}

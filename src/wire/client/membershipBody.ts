// The data of membership messages, in the byte order of the message's header:
//   regular:      group id (3 × u32) | u32 num_vs_sets | u32 local vs_set offset |
//                 num_vs_sets × (u32 count | count × 32-byte member names)
//   transitional: group id
//   self-leave:   nothing
// The local vs_set offset counts bytes from the first vs_set (Spread's SP_get_vs_sets_info).
import { MAX_GROUP_NAME, isMembershipMessage, isRegularMembership, isSelfLeave, isTransitionalMembership } from './constants';
import { decoded, wireFault, type DecodeResult } from './decodeResult';
import { readName, writeName } from './names';

/** A group's view id: the daemons' ring membership id (leader id, formation time) and a per-group counter. */
export interface GroupId {
  readonly daemonId: number;
  readonly time: number;
  readonly index: number;
}

export interface RegularMembership {
  readonly kind: 'regular';
  readonly groupId: GroupId;
  /** Members grouped by the previous membership they come from; one set for JOIN/LEAVE/DISCONNECT (the member that changed). */
  readonly vsSets: string[][];
  /** Which vs_set holds the receiving member (-1 when there are none). */
  readonly localVsSetIndex: number;
}

export interface TransitionalMembership {
  readonly kind: 'transitional';
  /** The id of the membership that is ending. */
  readonly groupId: GroupId;
}

export interface SelfLeave {
  readonly kind: 'selfLeave';
}

export type MembershipBody = RegularMembership | TransitionalMembership | SelfLeave;

export const GROUP_ID_SIZE = 12;
const VS_HEADER_SIZE = GROUP_ID_SIZE + 8;

function readU32(buf: Buffer, at: number, littleEndian: boolean): number {
  return littleEndian ? buf.readUInt32LE(at) : buf.readUInt32BE(at);
}

function writeU32(buf: Buffer, at: number, value: number, littleEndian: boolean): void {
  if (littleEndian) buf.writeUInt32LE(value >>> 0, at);
  else buf.writeUInt32BE(value >>> 0, at);
}

function readGroupId(buf: Buffer, at: number, littleEndian: boolean): GroupId {
  return {
    daemonId: readU32(buf, at, littleEndian),
    time: readU32(buf, at + 4, littleEndian),
    index: readU32(buf, at + 8, littleEndian),
  };
}

export function writeGroupId(buf: Buffer, at: number, id: GroupId, littleEndian: boolean): void {
  writeU32(buf, at, id.daemonId, littleEndian);
  writeU32(buf, at + 4, id.time, littleEndian);
  writeU32(buf, at + 8, id.index, littleEndian);
}

const badBody = (detail: string) => wireFault('ILLEGAL_MESSAGE', 'BAD_MEMBERSHIP_BODY', detail);

/**
 * Decodes a membership message's data. `length` is the bytes the layout took; bytes after it
 * are ignored. Faults (ILLEGAL_MESSAGE) when the type is no membership type or the layout
 * runs past the data.
 */
export function decodeMembershipBody(type: number, data: Buffer, littleEndian: boolean): DecodeResult<MembershipBody> {
  if (!isMembershipMessage(type)) return badBody(`type 0x${type.toString(16)} is not a membership message`);
  if (isSelfLeave(type)) return decoded({ kind: 'selfLeave' }, 0);
  // Regular first, as Spread's SP_get_memb_info tests it first.
  if (!isRegularMembership(type)) {
    if (!isTransitionalMembership(type)) return badBody(`type 0x${type.toString(16)} is neither regular, transitional nor self-leave`);
    if (data.length < GROUP_ID_SIZE) return badBody(`transitional data is ${data.length} bytes, not ${GROUP_ID_SIZE}`);
    return decoded({ kind: 'transitional', groupId: readGroupId(data, 0, littleEndian) }, GROUP_ID_SIZE);
  }
  if (data.length < VS_HEADER_SIZE) return badBody(`regular membership data is ${data.length} bytes, under ${VS_HEADER_SIZE}`);
  const groupId = readGroupId(data, 0, littleEndian);
  const numVsSets = readU32(data, GROUP_ID_SIZE, littleEndian);
  const localOffset = readU32(data, GROUP_ID_SIZE + 4, littleEndian);
  // Each vs_set takes at least its 4-byte count: bounds the loop before anything is allocated.
  if (numVsSets > (data.length - VS_HEADER_SIZE) / 4) return badBody(`${numVsSets} vs_sets cannot fit ${data.length} bytes`);
  const vsSets: string[][] = new Array<string[]>(numVsSets);
  let localVsSetIndex = -1;
  let at = VS_HEADER_SIZE;
  for (let s = 0; s < numVsSets; s++) {
    if (at - VS_HEADER_SIZE === localOffset) localVsSetIndex = s;
    if (data.length - at < 4) return badBody(`vs_set ${s} runs past the data`);
    const count = readU32(data, at, littleEndian);
    at += 4;
    if (count > (data.length - at) / MAX_GROUP_NAME) return badBody(`vs_set ${s} of ${count} members runs past the data`);
    const members = new Array<string>(count);
    for (let m = 0; m < count; m++, at += MAX_GROUP_NAME) members[m] = readName(data, at, MAX_GROUP_NAME);
    vsSets[s] = members;
  }
  if (numVsSets > 0 && localVsSetIndex < 0) return badBody(`local vs_set offset ${localOffset} is not the start of a vs_set`);
  return decoded({ kind: 'regular', groupId, vsSets, localVsSetIndex }, at);
}

/** Bytes of a regular membership body with these vs_sets. */
export function regularMembershipBodyLength(vsSets: readonly (readonly string[])[]): number {
  let n = VS_HEADER_SIZE;
  for (const set of vsSets) n += 4 + set.length * MAX_GROUP_NAME;
  return n;
}

/**
 * Encodes a regular membership body.
 * @throws RangeError when localVsSetIndex is not an index of vsSets (or -1 for none);
 *   SpreadError ILLEGAL_GROUP for a member name over 31 bytes.
 */
export function encodeRegularMembershipBody(
  groupId: GroupId,
  vsSets: readonly (readonly string[])[],
  localVsSetIndex: number,
  littleEndian = true,
): Buffer {
  if (!(localVsSetIndex === -1 && vsSets.length === 0) && !(localVsSetIndex >= 0 && localVsSetIndex < vsSets.length)) {
    throw new RangeError(`local vs_set index ${localVsSetIndex} is not one of ${vsSets.length} vs_sets`);
  }
  const out = Buffer.allocUnsafe(regularMembershipBodyLength(vsSets));
  writeGroupId(out, 0, groupId, littleEndian);
  writeU32(out, GROUP_ID_SIZE, vsSets.length, littleEndian);
  let at = VS_HEADER_SIZE;
  let localOffset = 0;
  vsSets.forEach((set, s) => {
    if (s === localVsSetIndex) localOffset = at - VS_HEADER_SIZE;
    writeU32(out, at, set.length, littleEndian);
    at += 4;
    for (const member of set) {
      writeName(out, at, member, MAX_GROUP_NAME);
      at += MAX_GROUP_NAME;
    }
  });
  writeU32(out, GROUP_ID_SIZE + 4, localOffset, littleEndian);
  return out;
}

/** Encodes a transitional membership body: the ending membership's group id. */
export function encodeTransitionalBody(groupId: GroupId, littleEndian = true): Buffer {
  const out = Buffer.allocUnsafe(GROUP_ID_SIZE);
  writeGroupId(out, 0, groupId, littleEndian);
  return out;
}

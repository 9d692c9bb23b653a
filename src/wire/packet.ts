// Daemon-to-daemon packet codecs: hand-written, big-endian (network order), no I/O.
//
// Every packet starts with one 32-byte header, checked once before dispatch:
//   0 magic u16 'RC'   2 version u8   3 type u8   4 length u32 (whole packet)
//   8 configHash u32   12 ringSeq u48   18 reserved u16   20 ringRep u32   24 sender u32
//   28 incarnation u32
// ringSeq is 48 bits so a restarted daemon can start its ring numbers above anything its
// earlier life used (from a clock), and a ring id is never reused.
// Decoders never throw: malformed bytes come back as a WireError value.
import { RingcastError } from '../errors';

export const MAGIC = 0x5243; // "RC"
export const WIRE_VERSION = 1;
export const HEADER_SIZE = 32;

export const PacketType = {
  DATA: 1,
  TOKEN: 2,
  /** A member with new work asks the ring leader to release a token it holds while idle. */
  WAKE: 3,
  // Reserved for membership (src/core/membership): bodies are opaque to this layer.
  JOIN: 16,
  COMMIT: 17,
  ALIVE: 18,
  PROBE: 19,
  RECOVERY: 20,
  /** A daemon shutting down cleanly: its ring re-forms at once instead of waiting for the token. */
  LEAVE: 21,
} as const;
export type PacketTypeCode = (typeof PacketType)[keyof typeof PacketType];
const KNOWN_TYPES = new Set<number>(Object.values(PacketType));

export type WireErrorCode =
  | 'WIRE_TRUNCATED'
  | 'WIRE_BAD_MAGIC'
  | 'WIRE_BAD_VERSION'
  | 'WIRE_BAD_TYPE'
  | 'WIRE_BAD_LENGTH'
  | 'WIRE_BAD_HASH'
  | 'WIRE_BAD_FIELD';

/** A malformed packet, returned (never thrown) by the decoders. */
export class WireError extends RingcastError {
  constructor(code: WireErrorCode, message: string) {
    super(code, message);
  }
}

export interface PacketHeader {
  type: number;
  length: number;
  configHash: number;
  ringSeq: number;
  ringRep: number;
  sender: number;
  incarnation: number;
}

/** The header fields a daemon stamps on everything it sends in one ring. */
export interface Stamp {
  configHash: number;
  ringSeq: number;
  ringRep: number;
  sender: number;
  incarnation: number;
}

/**
 * A stamp's header bytes, made once: a daemon sends thousands of packets with the same ring,
 * sender and incarnation, so writing one is a copy plus type and length.
 */
export type HeaderTemplate = Buffer & { readonly __headerTemplate: true };

export function headerTemplate(stamp: Stamp): HeaderTemplate {
  const t = Buffer.alloc(HEADER_SIZE);
  writeHeader(t, 0, stamp);
  return t as HeaderTemplate;
}

/** Whatever takes a stamp also takes its template (faster). */
export type StampLike = Stamp | HeaderTemplate;

function writeStamped(buf: Buffer, type: number, stamp: StampLike): void {
  if (Buffer.isBuffer(stamp)) {
    stamp.copy(buf, 0, 0, HEADER_SIZE);
    buf[3] = type;
    buf.writeUInt32BE(buf.length, 4);
  } else {
    writeHeader(buf, type, stamp);
  }
}

export function writeHeader(buf: Buffer, type: number, stamp: Stamp): void {
  buf.writeUInt16BE(MAGIC, 0);
  buf.writeUInt8(WIRE_VERSION, 2);
  buf.writeUInt8(type, 3);
  buf.writeUInt32BE(buf.length, 4);
  buf.writeUInt32BE(stamp.configHash >>> 0, 8);
  buf.writeUIntBE(stamp.ringSeq, 12, 6);
  buf.writeUInt16BE(0, 18);
  buf.writeUInt32BE(stamp.ringRep >>> 0, 20);
  buf.writeUInt32BE(stamp.sender >>> 0, 24);
  buf.writeUInt32BE(stamp.incarnation >>> 0, 28);
}

/** Where the header's fields sit, for readers that take them one at a time (hot path). */
export const HeaderOffset = { TYPE: 3, LENGTH: 4, HASH: 8, RING_SEQ: 12, RING_REP: 20, SENDER: 24, INCARNATION: 28 } as const;

/** The header check of decodeHeader without building the header object: null when it passes. */
export function checkHeader(buf: Buffer, expectedHash?: number): WireError | null {
  if (
    buf.length >= HEADER_SIZE &&
    buf.readUInt16BE(0) === MAGIC &&
    buf[2] === WIRE_VERSION &&
    KNOWN_TYPES.has(buf[3]) &&
    buf.readUInt32BE(4) === buf.length &&
    (expectedHash === undefined || buf.readUInt32BE(8) === expectedHash >>> 0)
  ) {
    return null;
  }
  const h = decodeHeader(buf, expectedHash);
  return h instanceof WireError ? h : new WireError('WIRE_BAD_FIELD', 'header check failed');
}

/**
 * The one header check before dispatch: magic, version, known type, length equal to the
 * datagram's, and (when given) the configuration hash.
 */
export function decodeHeader(buf: Buffer, expectedHash?: number): PacketHeader | WireError {
  if (buf.length < HEADER_SIZE) return new WireError('WIRE_TRUNCATED', `packet of ${buf.length} bytes is shorter than the header`);
  if (buf.readUInt16BE(0) !== MAGIC) return new WireError('WIRE_BAD_MAGIC', 'not a ringcast packet (bad magic)');
  const version = buf.readUInt8(2);
  if (version !== WIRE_VERSION) return new WireError('WIRE_BAD_VERSION', `wire version ${version}, expected ${WIRE_VERSION}`);
  const type = buf.readUInt8(3);
  if (!KNOWN_TYPES.has(type)) return new WireError('WIRE_BAD_TYPE', `unknown packet type ${type}`);
  const length = buf.readUInt32BE(4);
  if (length !== buf.length) return new WireError('WIRE_BAD_LENGTH', `header says ${length} bytes, datagram has ${buf.length}`);
  const configHash = buf.readUInt32BE(8);
  if (expectedHash !== undefined && configHash !== expectedHash >>> 0) {
    return new WireError('WIRE_BAD_HASH', `configuration hash ${configHash.toString(16)} is not ours`);
  }
  return {
    type,
    length,
    configHash,
    ringSeq: buf.readUIntBE(12, 6),
    ringRep: buf.readUInt32BE(20),
    sender: buf.readUInt32BE(24),
    incarnation: buf.readUInt32BE(28),
  };
}

// ---------------------------------------------------------------------------------------------
// Data packets: one ring sequence number, one or more packed messages or fragments.
// After the header: 0 seq u32   4 count u16   6 flags u16   8 items…
// Item: 0 flags u8 (FIRST|LAST)  1 service u8  2 ngroups u8  3 reserved u8  4 origin u32
//       8 counter u32  12 totalLen u32  16 chunkLen u32  20 groups (first fragment only:
//       u8 length + bytes each)  then chunkLen bytes of the message.

export const DATA_BODY_OFFSET = HEADER_SIZE + 8;
export const ITEM_HEADER_SIZE = 20;
export const ItemFlag = { FIRST: 1, LAST: 2 } as const;
export const DataFlag = { HAS_SAFE: 1 } as const;
export const MAX_GROUPS_PER_MESSAGE = 255;
export const MAX_GROUP_NAME = 255;

export interface DataItem {
  flags: number;
  service: number;
  origin: number;
  counter: number;
  totalLen: number;
  groups: string[];
  chunk: Buffer;
}

export interface DataPacket {
  seq: number;
  flags: number;
  items: DataItem[];
}

/** Bytes an item takes on the wire. */
export function itemSize(groups: readonly string[] | null, chunkLen: number): number {
  let n = ITEM_HEADER_SIZE + chunkLen;
  if (groups) for (const g of groups) n += 1 + Buffer.byteLength(g, 'latin1');
  return n;
}

/** Writes one item at `off`; returns the offset after it. Groups are written only when given. */
export function writeItem(
  buf: Buffer,
  off: number,
  flags: number,
  service: number,
  origin: number,
  counter: number,
  totalLen: number,
  groups: readonly string[] | null,
  payload: Buffer,
  chunkStart: number,
  chunkLen: number,
): number {
  const section = groups ? encodeGroups(groups) : null;
  return writeItemRaw(buf, off, flags, service, origin, counter, totalLen, groups ? groups.length : 0, section, payload, chunkStart, chunkLen);
}

/** writeItem with the group list already encoded (encodeGroups), as the ring core keeps it. */
export function writeItemRaw(
  buf: Buffer,
  off: number,
  flags: number,
  service: number,
  origin: number,
  counter: number,
  totalLen: number,
  ngroups: number,
  groupSection: Buffer | null,
  payload: Buffer,
  chunkStart: number,
  chunkLen: number,
): number {
  buf[off] = flags;
  buf[off + 1] = service;
  buf[off + 2] = groupSection ? ngroups : 0;
  buf[off + 3] = 0;
  buf.writeUInt32BE(origin >>> 0, off + 4);
  buf.writeUInt32BE(counter >>> 0, off + 8);
  buf.writeUInt32BE(totalLen >>> 0, off + 12);
  buf.writeUInt32BE(chunkLen >>> 0, off + 16);
  off += ITEM_HEADER_SIZE;
  if (groupSection) {
    groupSection.copy(buf, off);
    off += groupSection.length;
  }
  payload.copy(buf, off, chunkStart, chunkStart + chunkLen);
  return off + chunkLen;
}

/** Starts a data packet of `size` bytes in total; items follow at DATA_BODY_OFFSET. */
export function beginData(size: number, stamp: StampLike, seq: number, count: number, flags: number): Buffer {
  const buf = Buffer.allocUnsafe(size);
  writeStamped(buf, PacketType.DATA, stamp);
  buf.writeUInt32BE(seq >>> 0, HEADER_SIZE);
  buf.writeUInt16BE(count, HEADER_SIZE + 4);
  buf.writeUInt16BE(flags, HEADER_SIZE + 6);
  return buf;
}

export function dataSeq(buf: Buffer): number {
  return buf.readUInt32BE(HEADER_SIZE);
}

/** Decodes the body of a DATA packet whose header has been checked; chunks are views into buf. */
export function decodeData(buf: Buffer): DataPacket | WireError {
  if (buf.length < DATA_BODY_OFFSET) return new WireError('WIRE_TRUNCATED', 'data packet shorter than its fixed fields');
  const seq = buf.readUInt32BE(HEADER_SIZE);
  const count = buf.readUInt16BE(HEADER_SIZE + 4);
  const flags = buf.readUInt16BE(HEADER_SIZE + 6);
  if (count === 0) return new WireError('WIRE_BAD_FIELD', 'data packet with no items');
  const items: DataItem[] = new Array(count);
  let off = DATA_BODY_OFFSET;
  for (let i = 0; i < count; i++) {
    if (off + ITEM_HEADER_SIZE > buf.length) return new WireError('WIRE_TRUNCATED', `item ${i} header runs past the packet`);
    const iflags = buf[off];
    const ngroups = buf[off + 2];
    if (iflags & ~3) return new WireError('WIRE_BAD_FIELD', `item ${i} has unknown flags ${iflags}`);
    if (ngroups > 0 && !(iflags & ItemFlag.FIRST)) return new WireError('WIRE_BAD_FIELD', `item ${i}: groups on a non-first fragment`);
    const totalLen = buf.readUInt32BE(off + 12);
    const chunkLen = buf.readUInt32BE(off + 16);
    if (chunkLen > totalLen) return new WireError('WIRE_BAD_FIELD', `item ${i}: chunk longer than its message`);
    if ((iflags & 3) === 3 && chunkLen !== totalLen) return new WireError('WIRE_BAD_FIELD', `item ${i}: whole message with a partial chunk`);
    const item: DataItem = {
      flags: iflags,
      service: buf[off + 1],
      origin: buf.readUInt32BE(off + 4),
      counter: buf.readUInt32BE(off + 8),
      totalLen,
      groups: ngroups === 0 ? NO_GROUPS : new Array(ngroups),
      chunk: EMPTY,
    };
    off += ITEM_HEADER_SIZE;
    for (let g = 0; g < ngroups; g++) {
      if (off >= buf.length) return new WireError('WIRE_TRUNCATED', `item ${i}: group list runs past the packet`);
      const len = buf[off];
      if (off + 1 + len > buf.length) return new WireError('WIRE_TRUNCATED', `item ${i}: group name runs past the packet`);
      item.groups[g] = buf.toString('latin1', off + 1, off + 1 + len);
      off += 1 + len;
    }
    if (off + chunkLen > buf.length) return new WireError('WIRE_TRUNCATED', `item ${i}: data runs past the packet`);
    item.chunk = buf.subarray(off, off + chunkLen);
    off += chunkLen;
    items[i] = item;
  }
  if (off !== buf.length) return new WireError('WIRE_BAD_LENGTH', `${buf.length - off} stray bytes after the last item`);
  return { seq, flags, items };
}

const NO_GROUPS: string[] = [];
const EMPTY = Buffer.alloc(0);

/**
 * Checks a DATA packet (header already checked) without allocating: every item within bounds,
 * from `sender` when given, and no message longer than `maxTotal`. Returns null when well formed.
 */
export function validateData(buf: Buffer, sender = -1, maxTotal = 0xffffffff): WireError | null {
  if (buf.length < DATA_BODY_OFFSET) return new WireError('WIRE_TRUNCATED', 'data packet shorter than its fixed fields');
  const count = buf.readUInt16BE(HEADER_SIZE + 4);
  if (count === 0) return new WireError('WIRE_BAD_FIELD', 'data packet with no items');
  let off = DATA_BODY_OFFSET;
  for (let i = 0; i < count; i++) {
    if (off + ITEM_HEADER_SIZE > buf.length) return new WireError('WIRE_TRUNCATED', `item ${i} header runs past the packet`);
    const iflags = buf[off];
    const ngroups = buf[off + 2];
    if (iflags & ~3) return new WireError('WIRE_BAD_FIELD', `item ${i} has unknown flags ${iflags}`);
    if (ngroups > 0 && !(iflags & ItemFlag.FIRST)) return new WireError('WIRE_BAD_FIELD', `item ${i}: groups on a non-first fragment`);
    if (sender !== -1 && buf.readUInt32BE(off + 4) !== sender) return new WireError('WIRE_BAD_FIELD', `item ${i} is not from the packet's sender`);
    const totalLen = buf.readUInt32BE(off + 12);
    const chunkLen = buf.readUInt32BE(off + 16);
    if (totalLen > maxTotal) return new WireError('WIRE_BAD_FIELD', `item ${i}: message of ${totalLen} bytes is over the limit`);
    if (chunkLen > totalLen) return new WireError('WIRE_BAD_FIELD', `item ${i}: chunk longer than its message`);
    if ((iflags & 3) === 3 && chunkLen !== totalLen) return new WireError('WIRE_BAD_FIELD', `item ${i}: whole message with a partial chunk`);
    off += ITEM_HEADER_SIZE;
    for (let g = 0; g < ngroups; g++) {
      if (off >= buf.length) return new WireError('WIRE_TRUNCATED', `item ${i}: group list runs past the packet`);
      off += 1 + buf[off];
    }
    if (off + chunkLen > buf.length) return new WireError('WIRE_TRUNCATED', `item ${i}: data runs past the packet`);
    off += chunkLen;
  }
  if (off !== buf.length) return new WireError('WIRE_BAD_LENGTH', `${buf.length - off} stray bytes after the last item`);
  return null;
}

/**
 * Group names seen before, so decoding a name is a lookup rather than a new string each time
 * (the same few groups recur in almost every message).
 */
export class GroupNameCache {
  private readonly bytes: (Buffer | undefined)[];
  private readonly names: string[];
  private readonly listBytes: (Buffer | undefined)[];
  private readonly lists: (readonly string[])[];
  private readonly mask: number;

  constructor(size = 256) {
    this.bytes = new Array(size);
    this.names = new Array(size);
    this.listBytes = new Array(size);
    this.lists = new Array(size);
    this.mask = size - 1;
  }

  /**
   * The list of `count` names encoded at buf[start…] (encodeGroups), and where it ends. Lists
   * are shared between the messages that carry the same bytes: treat them as read-only.
   */
  readList(buf: Buffer, start: number, count: number): { names: readonly string[]; end: number } {
    let end = start;
    for (let g = 0; g < count; g++) end += 1 + buf[end];
    const len = end - start;
    let h = 0x811c9dc5 ^ (len << 8) ^ count;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i], 0x01000193);
    const slot = (h >>> 0) & this.mask;
    if (sameBytes(this.listBytes[slot], buf, start, len)) return { names: this.lists[slot], end };
    const names = new Array<string>(count);
    let off = start;
    for (let g = 0; g < count; g++) {
      const n = buf[off];
      names[g] = this.read(buf, off + 1, n);
      off += 1 + n;
    }
    this.listBytes[slot] = Buffer.from(buf.subarray(start, end));
    this.lists[slot] = Object.freeze(names);
    return { names: this.lists[slot], end };
  }

  /** The name stored in buf[start, start + len). */
  read(buf: Buffer, start: number, len: number): string {
    let h = 0x811c9dc5 ^ len;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ buf[start + i], 0x01000193);
    const slot = (h >>> 0) & this.mask;
    if (sameBytes(this.bytes[slot], buf, start, len)) return this.names[slot];
    const name = buf.toString('latin1', start, start + len);
    this.bytes[slot] = Buffer.from(buf.subarray(start, start + len));
    this.names[slot] = name;
    return name;
  }
}

/** Whether `known` holds exactly buf[start, start + len) (a loop: no view to allocate). */
function sameBytes(known: Buffer | undefined, buf: Buffer, start: number, len: number): boolean {
  if (known === undefined || known.length !== len) return false;
  for (let i = 0; i < len; i++) if (known[i] !== buf[start + i]) return false;
  return true;
}

/** Encodes a group list as items carry it: per name a length byte, then its bytes. */
export function encodeGroups(groups: readonly string[]): Buffer {
  let n = 0;
  for (const g of groups) n += 1 + Buffer.byteLength(g, 'latin1');
  const buf = Buffer.allocUnsafe(n);
  let off = 0;
  for (const g of groups) {
    const len = buf.write(g, off + 1, 'latin1');
    buf[off] = len;
    off += 1 + len;
  }
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Token: unicast to the successor. Offsets after the header:
//   0 tokenSeq u32  4 seq u32  8 aru u32  12 aruSetter u32  16 safe u32  20 fcc u16
//   22 flags u16  24 backlog u32  28 rtrCount u16  30 rtr u32 × rtrCount

export const TOKEN_FIXED_SIZE = HEADER_SIZE + 30;
export const NO_SETTER = 0xffffffff;
export const TokenFlag = { IDLE: 1 } as const;

export interface Token {
  /** Incremented at every hop; a daemon accepts only a token newer than the last it took. */
  tokenSeq: number;
  /** Highest sequence number assigned on this ring. */
  seq: number;
  /** Lowest "all received up to" seen by the members so far in this rotation. */
  aru: number;
  /** The member that last lowered aru (NO_SETTER when the leader started the rotation). */
  aruSetter: number;
  /** Everything ≤ safe is held by every member (the aru of the last completed rotation). */
  safe: number;
  /** Packets sent during the last rotation (flow control). */
  fcc: number;
  flags: number;
  /** Messages waiting to be sent, summed over members (flow control, idleness). */
  backlog: number;
  /** Sequence numbers some member is missing. */
  rtr: number[];
}

export function encodeToken(stamp: StampLike, t: Token): Buffer {
  const buf = Buffer.allocUnsafe(TOKEN_FIXED_SIZE + 4 * t.rtr.length);
  writeStamped(buf, PacketType.TOKEN, stamp);
  const h = HEADER_SIZE;
  buf.writeUInt32BE(t.tokenSeq >>> 0, h);
  buf.writeUInt32BE(t.seq >>> 0, h + 4);
  buf.writeUInt32BE(t.aru >>> 0, h + 8);
  buf.writeUInt32BE(t.aruSetter >>> 0, h + 12);
  buf.writeUInt32BE(t.safe >>> 0, h + 16);
  buf.writeUInt16BE(Math.min(t.fcc, 0xffff), h + 20);
  buf.writeUInt16BE(t.flags, h + 22);
  buf.writeUInt32BE(Math.min(t.backlog, 0xffffffff), h + 24);
  buf.writeUInt16BE(t.rtr.length, h + 28);
  let off = h + 30;
  for (const s of t.rtr) {
    buf.writeUInt32BE(s >>> 0, off);
    off += 4;
  }
  return buf;
}

export function decodeToken(buf: Buffer): Token | WireError {
  if (buf.length < TOKEN_FIXED_SIZE) return new WireError('WIRE_TRUNCATED', 'token shorter than its fixed fields');
  const h = HEADER_SIZE;
  const n = buf.readUInt16BE(h + 28);
  if (buf.length !== TOKEN_FIXED_SIZE + 4 * n) {
    return new WireError('WIRE_BAD_LENGTH', `token with ${n} retransmit requests must be ${TOKEN_FIXED_SIZE + 4 * n} bytes, is ${buf.length}`);
  }
  const t: Token = {
    tokenSeq: buf.readUInt32BE(h),
    seq: buf.readUInt32BE(h + 4),
    aru: buf.readUInt32BE(h + 8),
    aruSetter: buf.readUInt32BE(h + 12),
    safe: buf.readUInt32BE(h + 16),
    fcc: buf.readUInt16BE(h + 20),
    flags: buf.readUInt16BE(h + 22),
    backlog: buf.readUInt32BE(h + 24),
    rtr: new Array(n),
  };
  if (t.aru > t.seq || t.safe > t.seq) {
    return new WireError('WIRE_BAD_FIELD', `token aru ${t.aru} / safe ${t.safe} above seq ${t.seq}`);
  }
  let off = h + 30;
  for (let i = 0; i < n; i++, off += 4) t.rtr[i] = buf.readUInt32BE(off);
  return t;
}

/** A packet that is only a header (WAKE). */
export function encodeBare(type: number, stamp: StampLike): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE);
  writeStamped(buf, type, stamp);
  return buf;
}

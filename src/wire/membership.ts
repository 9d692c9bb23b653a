// Membership packet bodies (after the common header of packet.ts). Decoders never throw.
//
// JOIN (header ring id = the sender's current ring):
//   0 maxRingSeq u48  6 reserved u16  8 procCount u16  10 proc ids u32…  then failCount u16,
//   fail ids u32…
// COMMIT (header ring id = the ring being formed):
//   0 stage u8  1 reserved u8  2 tokenSeq u32  6 count u16  8 entries × 32 bytes:
//   id u32, incarnation u32, oldRingSeq u48, filled u8, reserved u8, oldRingRep u32,
//   oldAru u32, oldHighSeq u32, oldSafe u32
// PROBE: the header alone ("my ring exists"), sent by a ring's representative for merges.
import { HEADER_SIZE, PacketType, WireError, writeHeader, type Stamp } from './packet';

export interface Join {
  maxRingSeq: number;
  procs: number[];
  fails: number[];
}

export interface CommitEntry {
  id: number;
  incarnation: number;
  /** Filled in by the member itself on the first rotation. */
  filled: boolean;
  oldRingSeq: number;
  oldRingRep: number;
  oldAru: number;
  oldHighSeq: number;
  oldSafe: number;
}

export interface Commit {
  /** 1: members fill in their entries; 2: every entry is known. */
  stage: number;
  tokenSeq: number;
  entries: CommitEntry[];
}

const MAX_MEMBERS = 1024;
const COMMIT_ENTRY_SIZE = 32;

export function encodeJoin(stamp: Stamp, j: Join): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 12 + 4 * (j.procs.length + j.fails.length));
  writeHeader(buf, PacketType.JOIN, stamp);
  let off = HEADER_SIZE;
  buf.writeUIntBE(j.maxRingSeq, off, 6);
  buf.writeUInt16BE(0, off + 6);
  buf.writeUInt16BE(j.procs.length, off + 8);
  off += 10;
  for (const p of j.procs) off = buf.writeUInt32BE(p >>> 0, off);
  off = buf.writeUInt16BE(j.fails.length, off);
  for (const f of j.fails) off = buf.writeUInt32BE(f >>> 0, off);
  return buf;
}

export function decodeJoin(buf: Buffer): Join | WireError {
  let off = HEADER_SIZE;
  if (buf.length < off + 12) return new WireError('WIRE_TRUNCATED', 'join shorter than its fixed fields');
  const maxRingSeq = buf.readUIntBE(off, 6);
  const np = buf.readUInt16BE(off + 8);
  off += 10;
  if (np > MAX_MEMBERS || buf.length < off + 4 * np + 2) return new WireError('WIRE_TRUNCATED', `join with ${np} members runs past the packet`);
  const procs = new Array<number>(np);
  for (let i = 0; i < np; i++, off += 4) procs[i] = buf.readUInt32BE(off);
  const nf = buf.readUInt16BE(off);
  off += 2;
  if (nf > MAX_MEMBERS || buf.length !== off + 4 * nf) return new WireError('WIRE_BAD_LENGTH', `join with ${nf} failed members has the wrong length`);
  const fails = new Array<number>(nf);
  for (let i = 0; i < nf; i++, off += 4) fails[i] = buf.readUInt32BE(off);
  return { maxRingSeq, procs, fails };
}

export function encodeCommit(stamp: Stamp, c: Commit): Buffer {
  const buf = Buffer.allocUnsafe(HEADER_SIZE + 8 + COMMIT_ENTRY_SIZE * c.entries.length);
  writeHeader(buf, PacketType.COMMIT, stamp);
  let off = HEADER_SIZE;
  buf[off] = c.stage;
  buf[off + 1] = 0;
  buf.writeUInt32BE(c.tokenSeq >>> 0, off + 2);
  buf.writeUInt16BE(c.entries.length, off + 6);
  off += 8;
  for (const e of c.entries) {
    buf.writeUInt32BE(e.id >>> 0, off);
    buf.writeUInt32BE(e.incarnation >>> 0, off + 4);
    buf.writeUIntBE(e.oldRingSeq, off + 8, 6);
    buf[off + 14] = e.filled ? 1 : 0;
    buf[off + 15] = 0;
    buf.writeUInt32BE(e.oldRingRep >>> 0, off + 16);
    buf.writeUInt32BE(e.oldAru >>> 0, off + 20);
    buf.writeUInt32BE(e.oldHighSeq >>> 0, off + 24);
    buf.writeUInt32BE(e.oldSafe >>> 0, off + 28);
    off += COMMIT_ENTRY_SIZE;
  }
  return buf;
}

export function decodeCommit(buf: Buffer): Commit | WireError {
  let off = HEADER_SIZE;
  if (buf.length < off + 8) return new WireError('WIRE_TRUNCATED', 'commit shorter than its fixed fields');
  const stage = buf[off];
  if (stage !== 1 && stage !== 2) return new WireError('WIRE_BAD_FIELD', `commit stage ${stage}`);
  const tokenSeq = buf.readUInt32BE(off + 2);
  const n = buf.readUInt16BE(off + 6);
  off += 8;
  if (n === 0 || n > MAX_MEMBERS || buf.length !== off + COMMIT_ENTRY_SIZE * n) {
    return new WireError('WIRE_BAD_LENGTH', `commit with ${n} entries has the wrong length`);
  }
  const entries = new Array<CommitEntry>(n);
  for (let i = 0; i < n; i++, off += COMMIT_ENTRY_SIZE) {
    entries[i] = {
      id: buf.readUInt32BE(off),
      incarnation: buf.readUInt32BE(off + 4),
      oldRingSeq: buf.readUIntBE(off + 8, 6),
      filled: buf[off + 14] === 1,
      oldRingRep: buf.readUInt32BE(off + 16),
      oldAru: buf.readUInt32BE(off + 20),
      oldHighSeq: buf.readUInt32BE(off + 24),
      oldSafe: buf.readUInt32BE(off + 28),
    };
  }
  return { stage, tokenSeq, entries };
}

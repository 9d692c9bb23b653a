// What a daemon puts on the ring on behalf of its clients: a client's multicast, its JOIN,
// LEAVE and disconnect (KILL), and the groups state report daemons exchange after a merge.
// Every envelope starts with ENVELOPE_MAGIC, so other ring traffic (e.g. a daemon's own test
// traffic) is told apart and ignored. Integers are little-endian; names are written with a
// terminating NUL (at most 31 characters, latin1), so the cached fixed-field reader applies.
//
//   data:   magic kind | u32 type | u32 hint (raw bytes) | u8 num_groups | sender\0 | groups\0… | data
//   join:   magic kind | member\0 | group\0
//   leave:  magic kind | member\0 | group\0
//   kill:   magic kind | member\0
//   groups: magic kind | f64 ring_seq | u32 ring_rep | u32 num_groups |
//           num_groups × (name\0 | u32 id.daemon | u32 id.time | u32 id.index | u8 changed |
//                         u16 num_members | members\0…)
// Decoders never throw on input; encoders throw SpreadError for names that cannot be carried.
import { SpreadError } from '../errors';
import { MAX_GROUP_NAME, MAX_GROUPS_PER_MESSAGE } from './client/constants';
import type { GroupId } from './client/membershipBody';
import { nameIsTerminated, readName } from './client/names';

/** First byte of every envelope; ring payloads that start otherwise are not client traffic. */
export const ENVELOPE_MAGIC = 0xc5;

export const EnvelopeKind = { DATA: 1, JOIN: 2, LEAVE: 3, KILL: 4, GROUPS: 5 } as const;

/** Bytes a data envelope adds to the client's data and 32-byte-per-group list, at most:
 *  the ring must accept client limit + this. */
export const ENVELOPE_OVERHEAD = 2 + 4 + 4 + 1 + MAX_GROUP_NAME;

/** A client's message to groups, as the receiving daemons deliver it. */
export interface DataEnvelope {
  readonly kind: 'data';
  /** The client's type flags (service, SELF_DISCARD), endian bits cleared. */
  readonly type: number;
  /** The client's hint bytes, untouched (mess_type and the sender's endian flag). */
  readonly hint: number;
  /** The sender's private group. */
  readonly sender: string;
  readonly groups: readonly string[];
  readonly data: Buffer;
}

export interface JoinEnvelope {
  readonly kind: 'join';
  readonly member: string;
  readonly group: string;
}

export interface LeaveEnvelope {
  readonly kind: 'leave';
  readonly member: string;
  readonly group: string;
}

/** A session is gone (its KILL, a closed connection, or the daemon closed it). */
export interface KillEnvelope {
  readonly kind: 'kill';
  readonly member: string;
}

/** One group as a daemon reports it in the state exchange: its own members only. */
export interface ReportedGroup {
  readonly name: string;
  /** The group's id at the reporter. */
  readonly groupId: GroupId;
  /** Whether the group changed (lost daemons) at the reporter since its last regular id. */
  readonly changed: boolean;
  /** The reporter's members, sorted by name. */
  readonly members: readonly string[];
}

/** A daemon's groups state after a regular configuration that brings daemons together. */
export interface GroupsReportEnvelope {
  readonly kind: 'groups';
  /** The configuration this report answers; reports for another one are stale. */
  readonly ringSeq: number;
  readonly ringRep: number;
  readonly groups: readonly ReportedGroup[];
}

export type Envelope = DataEnvelope | JoinEnvelope | LeaveEnvelope | KillEnvelope | GroupsReportEnvelope;

export type EnvelopeFaultReason = 'TRUNCATED' | 'UNKNOWN_KIND' | 'BAD_NAME' | 'TOO_MANY_GROUPS' | 'TRAILING_BYTES';

export type EnvelopeDecodeResult =
  | { readonly status: 'ok'; readonly envelope: Envelope }
  /** Not client traffic (no magic byte): ignore. */
  | { readonly status: 'foreign' }
  | { readonly status: 'error'; readonly reason: EnvelopeFaultReason; readonly detail: string };

// ---- encoding ----

const NAME_LIMIT = MAX_GROUP_NAME - 1;

function nameBytes(name: string): number {
  if (name.length > NAME_LIMIT) throw new SpreadError('ILLEGAL_GROUP', `name "${name}" is longer than ${NAME_LIMIT} bytes`);
  return name.length + 1;
}

function putName(buf: Buffer, at: number, name: string): number {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 0xff || c === 0) throw new SpreadError('ILLEGAL_GROUP', `name "${name}" has a character outside latin1 or a NUL`);
    buf[at + i] = c;
  }
  buf[at + name.length] = 0;
  return at + name.length + 1;
}

function start(kind: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  out[0] = ENVELOPE_MAGIC;
  out[1] = kind;
  return out;
}

/**
 * Encodes a client's message for the ring.
 * @throws SpreadError ILLEGAL_GROUP for a name over 31 bytes or outside latin1;
 *   MESSAGE_TOO_LONG for more than 100 groups.
 */
export function encodeDataEnvelope(m: Omit<DataEnvelope, 'kind' | 'data'> & { readonly data: Uint8Array }): Buffer {
  if (m.groups.length > MAX_GROUPS_PER_MESSAGE) throw new SpreadError('MESSAGE_TOO_LONG', `${m.groups.length} groups in one message`);
  let length = 11 + nameBytes(m.sender) + m.data.length;
  for (const g of m.groups) length += nameBytes(g);
  const out = start(EnvelopeKind.DATA, length);
  out.writeUInt32LE(m.type >>> 0, 2);
  out.writeUInt32LE(m.hint >>> 0, 6);
  out[10] = m.groups.length;
  let at = putName(out, 11, m.sender);
  for (const g of m.groups) at = putName(out, at, g);
  out.set(m.data, at);
  return out;
}

function encodeMemberGroup(kind: number, member: string, group: string): Buffer {
  const out = start(kind, 2 + nameBytes(member) + nameBytes(group));
  putName(out, putName(out, 2, member), group);
  return out;
}

/** @throws SpreadError ILLEGAL_GROUP for a name that cannot be carried. */
export function encodeJoinEnvelope(member: string, group: string): Buffer {
  return encodeMemberGroup(EnvelopeKind.JOIN, member, group);
}

/** @throws SpreadError ILLEGAL_GROUP for a name that cannot be carried. */
export function encodeLeaveEnvelope(member: string, group: string): Buffer {
  return encodeMemberGroup(EnvelopeKind.LEAVE, member, group);
}

/** @throws SpreadError ILLEGAL_GROUP for a name that cannot be carried. */
export function encodeKillEnvelope(member: string): Buffer {
  const out = start(EnvelopeKind.KILL, 2 + nameBytes(member));
  putName(out, 2, member);
  return out;
}

/**
 * @throws SpreadError ILLEGAL_GROUP for a name that cannot be carried; RangeError for more than
 *   65535 members of one group.
 */
export function encodeGroupsReport(report: Omit<GroupsReportEnvelope, 'kind'>): Buffer {
  let length = 2 + 8 + 4 + 4;
  for (const g of report.groups) {
    if (g.members.length > 0xffff) throw new RangeError(`group ${g.name} has ${g.members.length} members at one daemon`);
    length += nameBytes(g.name) + 12 + 1 + 2;
    for (const m of g.members) length += nameBytes(m);
  }
  const out = start(EnvelopeKind.GROUPS, length);
  out.writeDoubleLE(report.ringSeq, 2);
  out.writeUInt32LE(report.ringRep >>> 0, 10);
  out.writeUInt32LE(report.groups.length, 14);
  let at = 18;
  for (const g of report.groups) {
    at = putName(out, at, g.name);
    out.writeUInt32LE(g.groupId.daemonId >>> 0, at);
    out.writeUInt32LE(g.groupId.time >>> 0, at + 4);
    out.writeUInt32LE(g.groupId.index >>> 0, at + 8);
    out[at + 12] = g.changed ? 1 : 0;
    out.writeUInt16LE(g.members.length, at + 13);
    at += 15;
    for (const m of g.members) at = putName(out, at, m);
  }
  return out;
}

/** Encodes any envelope (the kind-specific encoders throw as documented there). */
export function encodeEnvelope(e: Envelope): Buffer {
  switch (e.kind) {
    case 'data':
      return encodeDataEnvelope(e);
    case 'join':
      return encodeJoinEnvelope(e.member, e.group);
    case 'leave':
      return encodeLeaveEnvelope(e.member, e.group);
    case 'kill':
      return encodeKillEnvelope(e.member);
    case 'groups':
      return encodeGroupsReport(e);
  }
}

// ---- decoding ----

class Fault {
  constructor(
    readonly reason: EnvelopeFaultReason,
    readonly detail: string,
  ) {}
}

/** Reads the NUL-terminated name at `at`; its end (after the NUL) goes to cursor.at. */
class Cursor {
  constructor(
    readonly buf: Buffer,
    public at: number,
  ) {}

  name(what: string): string | Fault {
    const width = Math.min(MAX_GROUP_NAME, this.buf.length - this.at);
    if (width <= 0) return new Fault('TRUNCATED', `${what} missing at byte ${this.at}`);
    if (!nameIsTerminated(this.buf, this.at, width)) return new Fault('BAD_NAME', `${what} at byte ${this.at} has no NUL within ${width} bytes`);
    const name = readName(this.buf, this.at, width);
    this.at += name.length + 1;
    return name;
  }

  need(n: number, what: string): Fault | undefined {
    return this.buf.length - this.at < n ? new Fault('TRUNCATED', `${what}: ${n} bytes needed at byte ${this.at}, ${this.buf.length - this.at} left`) : undefined;
  }
}

const fault = (f: Fault): EnvelopeDecodeResult => ({ status: 'error', reason: f.reason, detail: f.detail });
const ok = (envelope: Envelope): EnvelopeDecodeResult => ({ status: 'ok', envelope });
const FOREIGN: EnvelopeDecodeResult = { status: 'foreign' };

function decodeData(buf: Buffer): EnvelopeDecodeResult {
  const c = new Cursor(buf, 2);
  const short = c.need(9, 'data header');
  if (short) return fault(short);
  const type = buf.readUInt32LE(2);
  const hint = buf.readUInt32LE(6);
  const numGroups = buf[10]!;
  if (numGroups > MAX_GROUPS_PER_MESSAGE) return fault(new Fault('TOO_MANY_GROUPS', `${numGroups} groups`));
  c.at = 11;
  const sender = c.name('sender');
  if (sender instanceof Fault) return fault(sender);
  const groups = new Array<string>(numGroups);
  for (let i = 0; i < numGroups; i++) {
    const g = c.name(`group ${i}`);
    if (g instanceof Fault) return fault(g);
    groups[i] = g;
  }
  return ok({ kind: 'data', type, hint, sender, groups, data: buf.subarray(c.at) });
}

function decodeMemberGroup(buf: Buffer, kind: 'join' | 'leave'): EnvelopeDecodeResult {
  const c = new Cursor(buf, 2);
  const member = c.name('member');
  if (member instanceof Fault) return fault(member);
  const group = c.name('group');
  if (group instanceof Fault) return fault(group);
  if (c.at !== buf.length) return fault(new Fault('TRAILING_BYTES', `${buf.length - c.at} bytes after the ${kind}`));
  return ok({ kind, member, group });
}

function decodeKill(buf: Buffer): EnvelopeDecodeResult {
  const c = new Cursor(buf, 2);
  const member = c.name('member');
  if (member instanceof Fault) return fault(member);
  if (c.at !== buf.length) return fault(new Fault('TRAILING_BYTES', `${buf.length - c.at} bytes after the kill`));
  return ok({ kind: 'kill', member });
}

function decodeGroups(buf: Buffer): EnvelopeDecodeResult {
  const c = new Cursor(buf, 2);
  const short = c.need(16, 'report header');
  if (short) return fault(short);
  const ringSeq = buf.readDoubleLE(2);
  const ringRep = buf.readUInt32LE(10);
  const count = buf.readUInt32LE(14);
  c.at = 18;
  // Each group takes at least 17 bytes: bounds the loop before anything is allocated.
  if (count > (buf.length - c.at) / 17) return fault(new Fault('TRUNCATED', `${count} groups cannot fit ${buf.length} bytes`));
  const groups: ReportedGroup[] = [];
  for (let i = 0; i < count; i++) {
    const name = c.name(`group ${i}`);
    if (name instanceof Fault) return fault(name);
    const tooShort = c.need(15, `group ${name}`);
    if (tooShort) return fault(tooShort);
    const at = c.at;
    const groupId: GroupId = { daemonId: buf.readUInt32LE(at), time: buf.readUInt32LE(at + 4), index: buf.readUInt32LE(at + 8) };
    const changed = buf[at + 12] !== 0;
    const numMembers = buf.readUInt16LE(at + 13);
    c.at = at + 15;
    const members = new Array<string>(numMembers);
    for (let m = 0; m < numMembers; m++) {
      const member = c.name(`member ${m} of ${name}`);
      if (member instanceof Fault) return fault(member);
      members[m] = member;
    }
    groups.push({ name, groupId, changed, members });
  }
  if (c.at !== buf.length) return fault(new Fault('TRAILING_BYTES', `${buf.length - c.at} bytes after the report`));
  return ok({ kind: 'groups', ringSeq, ringRep, groups });
}

/** Decodes a ring payload. Never throws: 'foreign' for other traffic, 'error' for a damaged envelope. */
export function decodeEnvelope(buf: Buffer): EnvelopeDecodeResult {
  if (buf.length < 2 || buf[0] !== ENVELOPE_MAGIC) return FOREIGN;
  switch (buf[1]) {
    case EnvelopeKind.DATA:
      return decodeData(buf);
    case EnvelopeKind.JOIN:
      return decodeMemberGroup(buf, 'join');
    case EnvelopeKind.LEAVE:
      return decodeMemberGroup(buf, 'leave');
    case EnvelopeKind.KILL:
      return decodeKill(buf);
    case EnvelopeKind.GROUPS:
      return decodeGroups(buf);
    default:
      return fault(new Fault('UNKNOWN_KIND', `envelope kind ${buf[1]}`));
  }
}

// A test stand for GroupsCore: several daemons' cores behind a pretend ring that delivers every
// submitted envelope to every live core in one total order, and records what each local
// session receives as encoded client frames. Also: the capture helpers the groups tests share.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { GroupsCore } from '../../src/core/groups';
import type { ConfigurationChange } from '../../src/core/membership/types';
import {
  HEADER_SIZE,
  MAX_GROUP_NAME,
  MessageType,
  decodeMembershipBody,
  decodeMessage,
  encodeMessage,
  isMembershipMessage,
  typeFlagNames,
  type DecodedMessage,
} from '../../src/wire/client';
import { decodeEnvelope, type Envelope } from '../../src/wire/envelope';
import { ringRequestFor } from '../../src/session/ringRequests';
import { readHex, type ManifestEntry, type Scenario } from './clientWireFixtures';

export class Cluster {
  readonly cores = new Map<number, GroupsCore>();
  /** Frames each session received, by private group. */
  readonly received = new Map<string, Buffer[]>();
  readonly released: string[] = [];
  private readonly dead = new Set<number>();
  /** Which daemons hear each other; by default everyone. */
  private component = new Map<number, number>();
  private readonly queue: Array<{ origin: number; payload: Buffer }> = [];

  constructor(readonly daemonOrder: readonly number[]) {
    for (const id of daemonOrder) this.cores.set(id, new GroupsCore({ myId: id, daemonOrder }));
  }

  core(id: number): GroupsCore {
    const c = this.cores.get(id);
    assert.ok(c, `no daemon ${id}`);
    return c;
  }

  /** Splits the daemons into groups that hear only each other (deliveries stay within one). */
  partition(parts: number[][]): void {
    this.component = new Map(parts.flatMap((p, i) => p.map((d) => [d, i] as const)));
  }

  /** The daemon stops taking part: it gets nothing more. */
  kill(id: number): void {
    this.dead.add(id);
  }

  openSession(daemon: number, privateGroup: string, membership = true): void {
    this.received.set(privateGroup, []);
    this.apply(daemon, this.core(daemon).step({ kind: 'sessionOpened', privateGroup, membership }));
  }

  closeSession(daemon: number, privateGroup: string): void {
    this.apply(daemon, this.core(daemon).step({ kind: 'sessionClosed', privateGroup }));
  }

  /** A client frame from `privateGroup` at `daemon`, put on the ring as the session would. */
  sendFrame(daemon: number, privateGroup: string, frame: DecodedMessage): void {
    this.submit(daemon, ringRequestFor(frame, privateGroup).payload);
  }

  submit(origin: number, payload: Buffer): void {
    this.queue.push({ origin, payload });
    this.pump();
  }

  /** Queues a payload without delivering it yet (it goes at the next pump). */
  enqueue(origin: number, payload: Buffer): void {
    this.queue.push({ origin, payload });
  }

  /** Envelopes submitted and not yet delivered. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * A configuration change at the given daemons (each gets it in the same place of its stream).
   * `deliver: false` leaves queued envelopes (e.g. the groups reports) undelivered.
   */
  configure(daemons: readonly number[], change: ConfigurationChange, deliver = true): void {
    for (const d of daemons) this.apply(d, this.core(d).step({ kind: 'configuration', change }));
    if (deliver) this.pump();
  }

  /** Delivers everything queued. */
  flush(): void {
    this.pump();
  }

  /** Delivers only the first `n` queued envelopes (the rest stay queued). */
  deliverNext(n: number): void {
    const rest = this.queue.splice(n);
    this.pump();
    this.queue.push(...rest);
  }

  frames(privateGroup: string): Buffer[] {
    return this.received.get(privateGroup) ?? [];
  }

  private pumping = false;

  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) {
        const r = decodeEnvelope(next.payload);
        assert.equal(r.status, 'ok', `envelope from ${next.origin}: ${JSON.stringify(r)}`);
        const envelope = (r as { envelope: Envelope }).envelope;
        const from = this.component.get(next.origin);
        for (const [id, core] of this.cores) {
          if (this.dead.has(id) || this.component.get(id) !== from) continue;
          this.apply(id, core.step({ kind: 'deliver', origin: next.origin, envelope }));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private apply(daemon: number, outs: ReturnType<GroupsCore['step']>): void {
    for (const o of outs) {
      if (o.kind === 'deliver') {
        const bytes = encodeMessage(o.message);
        for (const s of o.sessions) {
          const list = this.received.get(s);
          assert.ok(list, `delivery to unknown session ${s}`);
          list.push(bytes);
        }
      } else if (o.kind === 'submit') {
        this.queue.push({ origin: daemon, payload: o.payload });
      } else {
        this.released.push(o.privateGroup);
      }
    }
  }
}

export function regular(ringSeq: number, ringRep: number, members: number[]): ConfigurationChange {
  return { kind: 'regular', ringSeq, ringRep, members, incarnations: members.map(() => 1) };
}

export function transitional(ringSeq: number, ringRep: number, members: number[]): ConfigurationChange {
  return { kind: 'transitional', ringSeq, ringRep, members, incarnations: members.map(() => 1) };
}

/** A client frame as the library sends it (for scripted tests). */
export function clientFrame(type: number, sender: string, groups: string[], data: Buffer = Buffer.alloc(0), messType = 0): DecodedMessage {
  const r = decodeMessage(
    encodeMessage({ type, sender, groups, hint: ((messType << 8) & 0x00ffff00) | 0x80000080, data }),
    0,
    { direction: 'toDaemon', privateGroup: sender },
  );
  assert.equal(r.status, 'ok', JSON.stringify(r));
  return (r as { value: DecodedMessage }).value;
}

// ---- captures ----

/** The c2s frame of a capture file, decoded as the daemon's session reads it. */
export function captureFrame(scenario: Scenario, file: string, privateGroup: string): DecodedMessage {
  const r = decodeMessage(readHex(path.join(scenario.dir, file)), 0, { direction: 'toDaemon', privateGroup });
  assert.equal(r.status, 'ok', `${file}: ${JSON.stringify(r)}`);
  return (r as { value: DecodedMessage }).value;
}

const HANDSHAKE_KINDS = new Set(['connect', 'authlist', 'authchoice', 'accept', 'reject']);

/** The frames the daemon sent a connection after its handshake, in order. */
export function expectedFrames(scenario: Scenario, conn: string): Array<{ file: string; bytes: Buffer }> {
  return scenario.manifest
    .filter((e: ManifestEntry) => e.conn === conn && e.dir === 's2c' && !HANDSHAKE_KINDS.has(e.kind))
    .map((e) => ({ file: e.file, bytes: readHex(path.join(scenario.dir, e.file)) }));
}

/** The frames a connection sent after its handshake, in order. */
export function sentFrames(scenario: Scenario, conn: string): string[] {
  return scenario.manifest.filter((e) => e.conn === conn && e.dir === 'c2s' && !HANDSHAKE_KINDS.has(e.kind)).map((e) => e.file);
}

function zeroAfterNul(buf: Buffer, at: number): void {
  const end = at + MAX_GROUP_NAME;
  const nul = buf.indexOf(0, at);
  if (nul >= 0 && nul < end) buf.fill(0, nul, end);
}

/**
 * A little-endian frame to a client with every 32-byte name field cleared after its NUL:
 * Spread forwards whatever a client library left there, ringcast writes zeros.
 */
export function withoutNamePadding(frame: Buffer): Buffer {
  const buf = Buffer.from(frame);
  zeroAfterNul(buf, 4);
  const type = buf.readUInt32LE(0);
  const numGroups = buf.readInt32LE(36);
  let at = HEADER_SIZE + ((type & MessageType.REJECT_MESS) !== 0 ? 4 : 0);
  for (let i = 0; i < numGroups; i++, at += MAX_GROUP_NAME) zeroAfterNul(buf, at);
  if ((type & MessageType.REG_MEMB_MESS) !== 0 && (type & MessageType.REJECT_MESS) === 0) {
    const numSets = buf.readUInt32LE(at + 12);
    at += 20;
    for (let s = 0; s < numSets; s++) {
      const count = buf.readUInt32LE(at);
      at += 4;
      for (let m = 0; m < count; m++, at += MAX_GROUP_NAME) zeroAfterNul(buf, at);
    }
  }
  return buf;
}

/** Asserts that a session received exactly the capture's frames (name padding aside). */
export function assertSameFrames(actual: Buffer[], expected: Array<{ file: string; bytes: Buffer }>, who: string): void {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const e = expected[i];
    const a = actual[i];
    assert.ok(a, `${who}: frame ${i} missing (expected ${e?.file})`);
    assert.ok(e, `${who}: unexpected frame ${i}: ${a.toString('hex')}`);
    assert.equal(withoutNamePadding(a).toString('hex'), withoutNamePadding(e.bytes).toString('hex'), `${who}: frame ${i} (${e.file})`);
  }
}

/** One line per frame, for readable expectations: membership (with vs_sets and id index) or data. */
export function summarize(frames: Buffer[]): string[] {
  return frames.map((f) => {
    const r = decodeMessage(f, 0, { direction: 'toClient' });
    assert.equal(r.status, 'ok');
    const m = (r as { value: DecodedMessage }).value;
    const flags = typeFlagNames(m.type);
    if (!isMembershipMessage(m.type)) return `${flags} ${m.sender} -> ${m.groups.join(',')}: ${m.data.toString('latin1')}`;
    const body = decodeMembershipBody(m.type, m.data, true);
    assert.equal(body.status, 'ok');
    const b = (body as { value: import('../../src/wire/client').MembershipBody }).value;
    if (b.kind === 'selfLeave') return `${flags} ${m.sender}`;
    if (b.kind === 'transitional') return `${flags} ${m.sender} #${b.groupId.index}`;
    const vs = b.vsSets.map((set, i) => `${i === b.localVsSetIndex ? '*' : ''}[${set.join(' ')}]`).join('');
    return `${flags} ${m.sender} [${m.groups.join(' ')}] vs=${vs} #${b.groupId.index}`;
  });
}

/** Drains a session's received frames as summaries. */
export function take(cluster: Cluster, privateGroup: string): string[] {
  const list = cluster.received.get(privateGroup) ?? [];
  const out = summarize(list);
  list.length = 0;
  return out;
}

// Daemon packet codecs (src/wire/packet.ts): round trips, every malformed case as a WireError
// value with the right code, and property tests that no input makes a decoder throw.
import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import {
  DATA_BODY_OFFSET,
  DataFlag,
  HEADER_SIZE,
  ITEM_HEADER_SIZE,
  ItemFlag,
  MAGIC,
  NO_SETTER,
  PacketType,
  TOKEN_FIXED_SIZE,
  TokenFlag,
  WIRE_VERSION,
  WireError,
  beginData,
  dataSeq,
  decodeData,
  decodeHeader,
  decodeToken,
  encodeBare,
  encodeToken,
  itemSize,
  writeHeader,
  writeItem,
  type DataItem,
  type DataPacket,
  type PacketHeader,
  type Stamp,
  type Token,
  type WireErrorCode,
} from '../../src/wire/packet';
import { RingcastError } from '../../src/errors';

const HASH = 0x1d76f166;
const STAMP: Stamp = { configHash: HASH, ringSeq: 42, ringRep: 0x01020304, sender: 0xa0b0c0d0, incarnation: 9 };
const MAX_RING_SEQ = 2 ** 48 - 1; // ringSeq is a u48
const MAX_STAMP: Stamp = { configHash: 0xffffffff, ringSeq: MAX_RING_SEQ, ringRep: 0xffffffff, sender: 0xffffffff, incarnation: 0xffffffff };

/** One item to write: a whole message or one fragment of `payload` ([start, start+len)). */
interface ItemSpec {
  flags: number;
  service: number;
  origin: number;
  counter: number;
  groups: string[] | null;
  payload: Buffer;
  start: number;
  len: number;
}

function whole(payload: Buffer, groups: string[] | null = ['g'], origin = 7, counter = 1, service = 0x10): ItemSpec {
  return { flags: ItemFlag.FIRST | ItemFlag.LAST, service, origin, counter, groups, payload, start: 0, len: payload.length };
}

function encodeData(stamp: Stamp, seq: number, flags: number, items: ItemSpec[]): Buffer {
  let size = DATA_BODY_OFFSET;
  for (const it of items) size += itemSize(it.groups, it.len);
  const buf = beginData(size, stamp, seq, items.length, flags);
  let off = DATA_BODY_OFFSET;
  for (const it of items) {
    off = writeItem(buf, off, it.flags, it.service, it.origin, it.counter, it.payload.length, it.groups, it.payload, it.start, it.len);
  }
  assert.equal(off, size, 'itemSize agrees with writeItem');
  return buf;
}

function isErr(v: unknown, code: WireErrorCode, what = ''): void {
  assert.ok(v instanceof WireError, `${what}: expected WireError ${code}, got ${JSON.stringify(v)}`);
  assert.ok(v instanceof RingcastError);
  assert.equal(v.code, code, `${what}: ${v.message}`);
  assert.ok(v.message.length > 0);
}

function ok<T>(v: T | WireError, what = ''): T {
  if (v instanceof WireError) assert.fail(`${what}: unexpected ${v.code}: ${v.message}`);
  return v;
}

function expectItem(got: DataItem, spec: ItemSpec): void {
  assert.equal(got.flags, spec.flags);
  assert.equal(got.service, spec.service);
  assert.equal(got.origin, spec.origin >>> 0);
  assert.equal(got.counter, spec.counter >>> 0);
  assert.equal(got.totalLen, spec.payload.length);
  assert.deepEqual(got.groups, spec.groups ?? []);
  assert.ok(got.chunk.equals(spec.payload.subarray(spec.start, spec.start + spec.len)), 'chunk bytes');
}

function checkStamp(h: PacketHeader, stamp: Stamp, type: number, length: number): void {
  assert.deepEqual(h, {
    type,
    length,
    configHash: stamp.configHash >>> 0,
    ringSeq: stamp.ringSeq,
    ringRep: stamp.ringRep >>> 0,
    sender: stamp.sender >>> 0,
    incarnation: stamp.incarnation >>> 0,
  });
}

function bytes(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) & 0xff;
  return b;
}

function token(over: Partial<Token> = {}): Token {
  return { tokenSeq: 5, seq: 100, aru: 90, aruSetter: NO_SETTER, safe: 80, fcc: 12, flags: 0, backlog: 3, rtr: [], ...over };
}

const ALL_CODES: ReadonlySet<string> = new Set<WireErrorCode>([
  'WIRE_TRUNCATED', 'WIRE_BAD_MAGIC', 'WIRE_BAD_VERSION', 'WIRE_BAD_TYPE', 'WIRE_BAD_LENGTH', 'WIRE_BAD_HASH', 'WIRE_BAD_FIELD',
]);

describe('wire/packet: daemon packet codecs', () => {
  describe('header', () => {
    it('writes the documented layout, big-endian', () => {
      const buf = encodeBare(PacketType.WAKE, STAMP);
      assert.equal(buf.length, HEADER_SIZE);
      assert.equal(buf.toString('latin1', 0, 2), 'RC');
      assert.equal(buf.readUInt16BE(0), MAGIC);
      assert.equal(buf[2], WIRE_VERSION);
      assert.equal(buf[3], PacketType.WAKE);
      assert.equal(buf.readUInt32BE(4), HEADER_SIZE);
      assert.equal(buf.readUInt32BE(8), STAMP.configHash);
      assert.equal(buf.readUIntBE(12, 6), STAMP.ringSeq);
      assert.equal(buf.readUInt16BE(18), 0, 'reserved');
      assert.equal(buf.readUInt32BE(20), STAMP.ringRep);
      assert.equal(buf.readUInt32BE(24), STAMP.sender);
      assert.equal(buf.readUInt32BE(28), STAMP.incarnation);
      assert.equal(HEADER_SIZE, 32);
    });

    it('round-trips WAKE, with and without the expected hash', () => {
      const buf = encodeBare(PacketType.WAKE, STAMP);
      checkStamp(ok(decodeHeader(buf, HASH)), STAMP, PacketType.WAKE, HEADER_SIZE);
      checkStamp(ok(decodeHeader(buf)), STAMP, PacketType.WAKE, HEADER_SIZE);
    });

    it('round-trips all-ones header fields (u32 and the u48 ring seq, no sign trouble)', () => {
      const buf = encodeBare(PacketType.WAKE, MAX_STAMP);
      checkStamp(ok(decodeHeader(buf, 0xffffffff)), MAX_STAMP, PacketType.WAKE, HEADER_SIZE);
      // a hash held as a signed 32-bit number is the same hash
      checkStamp(ok(decodeHeader(buf, -1)), MAX_STAMP, PacketType.WAKE, HEADER_SIZE);
      const neg = encodeBare(PacketType.WAKE, { configHash: -2, ringSeq: 2 ** 32 + 5, ringRep: -4, sender: -5, incarnation: -6 });
      assert.deepEqual(ok(decodeHeader(neg, 0xfffffffe)), {
        type: PacketType.WAKE, length: HEADER_SIZE, configHash: 0xfffffffe, ringSeq: 2 ** 32 + 5, ringRep: 0xfffffffc, sender: 0xfffffffb, incarnation: 0xfffffffa,
      });
    });

    it('accepts every known type, including the membership types (opaque bodies)', () => {
      for (const type of Object.values(PacketType)) {
        const buf = Buffer.alloc(HEADER_SIZE + 5, 0xee);
        writeHeader(buf, type, STAMP);
        checkStamp(ok(decodeHeader(buf, HASH), `type ${type}`), STAMP, type, HEADER_SIZE + 5);
      }
    });

    it('WIRE_TRUNCATED for every length below the header', () => {
      const full = encodeBare(PacketType.WAKE, STAMP);
      for (let n = 0; n < HEADER_SIZE; n++) isErr(decodeHeader(full.subarray(0, n), HASH), 'WIRE_TRUNCATED', `length ${n}`);
      isErr(decodeHeader(Buffer.alloc(0)), 'WIRE_TRUNCATED');
    });

    it('WIRE_BAD_MAGIC when either magic byte is wrong', () => {
      for (const [i, v] of [[0, 0x00], [0, 0x43], [1, 0x52], [1, 0xff]] as const) {
        const buf = encodeBare(PacketType.WAKE, STAMP);
        buf[i] = v;
        isErr(decodeHeader(buf, HASH), 'WIRE_BAD_MAGIC', `byte ${i} = ${v}`);
      }
      isErr(decodeHeader(Buffer.alloc(HEADER_SIZE)), 'WIRE_BAD_MAGIC');
    });

    it('WIRE_BAD_VERSION for any other version', () => {
      for (const v of [0, 2, 0x80, 0xff]) {
        const buf = encodeBare(PacketType.WAKE, STAMP);
        buf[2] = v;
        isErr(decodeHeader(buf, HASH), 'WIRE_BAD_VERSION', `version ${v}`);
      }
    });

    it('WIRE_BAD_TYPE for every unknown type byte', () => {
      const known = new Set<number>(Object.values(PacketType));
      for (let t = 0; t < 256; t++) {
        if (known.has(t)) continue;
        const buf = encodeBare(PacketType.WAKE, STAMP);
        buf[3] = t;
        isErr(decodeHeader(buf, HASH), 'WIRE_BAD_TYPE', `type ${t}`);
      }
    });

    it('WIRE_BAD_LENGTH when the length field is not the datagram length', () => {
      const base = encodeToken(STAMP, token({ rtr: [1, 2] }));
      for (const len of [0, 1, HEADER_SIZE, base.length - 1, base.length + 1, 0xffffffff]) {
        const buf = Buffer.from(base);
        buf.writeUInt32BE(len >>> 0, 4);
        isErr(decodeHeader(buf, HASH), 'WIRE_BAD_LENGTH', `length field ${len}`);
      }
      // one stray byte after a whole packet, and a packet cut short
      isErr(decodeHeader(Buffer.concat([base, Buffer.from([0])]), HASH), 'WIRE_BAD_LENGTH');
      for (let n = HEADER_SIZE; n < base.length; n++) isErr(decodeHeader(base.subarray(0, n), HASH), 'WIRE_BAD_LENGTH', `cut at ${n}`);
    });

    it('WIRE_BAD_HASH for another configuration, only when a hash is expected', () => {
      const buf = encodeBare(PacketType.WAKE, STAMP);
      isErr(decodeHeader(buf, HASH ^ 1), 'WIRE_BAD_HASH');
      isErr(decodeHeader(buf, 0), 'WIRE_BAD_HASH');
      ok(decodeHeader(buf));
    });

    it('checks in order: length, magic, version, type, length field, hash', () => {
      const buf = encodeBare(PacketType.WAKE, STAMP);
      buf.writeUInt32BE(1234, 4);
      buf.writeUInt32BE(0, 8);
      isErr(decodeHeader(buf, HASH), 'WIRE_BAD_LENGTH');
      buf[3] = 99;
      isErr(decodeHeader(buf, HASH), 'WIRE_BAD_TYPE');
      buf[2] = 7;
      isErr(decodeHeader(buf, HASH), 'WIRE_BAD_VERSION');
      buf[0] = 0;
      isErr(decodeHeader(buf, HASH), 'WIRE_BAD_MAGIC');
      isErr(decodeHeader(buf.subarray(0, 27), HASH), 'WIRE_TRUNCATED');
    });
  });

  describe('data packets', () => {
    it('round-trips one whole message', () => {
      const spec = whole(bytes(100), ['group-a']);
      const buf = encodeData(STAMP, 77, 0, [spec]);
      assert.equal(buf.length, DATA_BODY_OFFSET + ITEM_HEADER_SIZE + 1 + 7 + 100);
      checkStamp(ok(decodeHeader(buf, HASH)), STAMP, PacketType.DATA, buf.length);
      assert.equal(dataSeq(buf), 77);
      const pkt = ok(decodeData(buf));
      assert.equal(pkt.seq, 77);
      assert.equal(pkt.flags, 0);
      assert.equal(pkt.items.length, 1);
      expectItem(pkt.items[0], spec);
    });

    it('round-trips many packed items, with the HAS_SAFE flag and all-ones numbers', () => {
      const specs: ItemSpec[] = [];
      for (let i = 0; i < 60; i++) {
        specs.push(whole(bytes(i % 7 === 0 ? 0 : 1 + i, i), i % 3 === 0 ? null : ['g', `grp${i}`].slice(0, 1 + (i % 2)), 0xffffffff - i, 0xffffff00 + i, i % 2 ? 0x20 : 0x10));
      }
      const buf = encodeData(MAX_STAMP, 0xffffffff, DataFlag.HAS_SAFE, specs);
      checkStamp(ok(decodeHeader(buf, 0xffffffff)), MAX_STAMP, PacketType.DATA, buf.length);
      const pkt = ok(decodeData(buf));
      assert.equal(pkt.seq, 0xffffffff);
      assert.equal(pkt.flags, DataFlag.HAS_SAFE);
      assert.equal(pkt.items.length, specs.length);
      pkt.items.forEach((it, i) => expectItem(it, specs[i]));
    });

    it('round-trips the fragments of one message: FIRST (with groups), middle, LAST', () => {
      const payload = bytes(3000, 3);
      const groups = ['alpha', 'beta', ''];
      const frags: ItemSpec[] = [
        { flags: ItemFlag.FIRST, service: 0x20, origin: 3, counter: 9, groups, payload, start: 0, len: 1200 },
        { flags: 0, service: 0x20, origin: 3, counter: 9, groups: null, payload, start: 1200, len: 1300 },
        { flags: ItemFlag.LAST, service: 0x20, origin: 3, counter: 9, groups: null, payload, start: 2500, len: 500 },
      ];
      const joined: Buffer[] = [];
      frags.forEach((f, i) => {
        const buf = encodeData(STAMP, 10 + i, DataFlag.HAS_SAFE, [f]);
        const pkt = ok(decodeData(buf), `fragment ${i}`);
        expectItem(pkt.items[0], f);
        joined.push(pkt.items[0].chunk);
      });
      assert.ok(Buffer.concat(joined).equals(payload));
    });

    it('round-trips a LAST fragment packed before a whole message and a FIRST fragment', () => {
      const a = bytes(900, 1);
      const b = bytes(50, 2);
      const c = bytes(5000, 3);
      const specs: ItemSpec[] = [
        { flags: ItemFlag.LAST, service: 0x10, origin: 1, counter: 1, groups: null, payload: a, start: 400, len: 500 },
        whole(b, ['x', 'y']),
        { flags: ItemFlag.FIRST, service: 0x10, origin: 1, counter: 3, groups: ['z'], payload: c, start: 0, len: 300 },
      ];
      const pkt = ok(decodeData(encodeData(STAMP, 1, 0, specs)));
      pkt.items.forEach((it, i) => expectItem(it, specs[i]));
    });

    it('round-trips groups: none, many, a 255-byte name, latin1 bytes', () => {
      const names = Array.from({ length: 255 }, (_, i) => `g${i}`);
      const long = 'n'.repeat(255);
      for (const groups of [null, [], ['one'], names, [long], ['caf\u00e9', '\u00ff\u0001']]) {
        const spec = whole(bytes(10), groups);
        const pkt = ok(decodeData(encodeData(STAMP, 5, 0, [spec])), `groups ${JSON.stringify(groups)?.slice(0, 40)}`);
        expectItem(pkt.items[0], spec);
      }
    });

    it('round-trips zero-length payloads (whole and as items among others)', () => {
      const empty = Buffer.alloc(0);
      const buf = encodeData(STAMP, 3, 0, [whole(empty, null)]);
      assert.equal(buf.length, DATA_BODY_OFFSET + ITEM_HEADER_SIZE);
      const pkt = ok(decodeData(buf));
      assert.equal(pkt.items[0].chunk.length, 0);
      assert.equal(pkt.items[0].totalLen, 0);
      const specs = [whole(empty, ['g']), whole(bytes(3)), whole(empty, null)];
      ok(decodeData(encodeData(STAMP, 4, 0, specs))).items.forEach((it, i) => expectItem(it, specs[i]));
    });

    it('chunks are views into the datagram (no copy)', () => {
      const buf = encodeData(STAMP, 1, 0, [whole(bytes(20))]);
      const pkt = ok(decodeData(buf));
      buf[buf.length - 1] ^= 0xff;
      assert.equal(pkt.items[0].chunk[19], buf[buf.length - 1]);
    });

    it('WIRE_TRUNCATED for every prefix of a packet (fixed fields, item header, groups, data)', () => {
      const payload = bytes(2000, 5);
      const specs: ItemSpec[] = [
        whole(bytes(30), ['abc', 'de']),
        { flags: ItemFlag.FIRST, service: 0x10, origin: 2, counter: 4, groups: ['grp', 'x'], payload, start: 0, len: 100 },
      ];
      const full = encodeData(STAMP, 8, 0, specs);
      ok(decodeData(full));
      for (let n = 0; n < full.length; n++) {
        const cut = Buffer.from(full.subarray(0, n));
        isErr(decodeData(cut), 'WIRE_TRUNCATED', `prefix ${n}`);
        // the header check sees the cut first (length field), unless the length field is fixed up
        if (n >= HEADER_SIZE) {
          isErr(decodeHeader(cut, HASH), 'WIRE_BAD_LENGTH', `header of prefix ${n}`);
          cut.writeUInt32BE(n, 4);
          ok(decodeHeader(cut, HASH), `fixed header of prefix ${n}`);
        } else {
          isErr(decodeHeader(cut, HASH), 'WIRE_TRUNCATED', `header of prefix ${n}`);
        }
      }
    });

    it('WIRE_TRUNCATED when count promises more items than the packet holds', () => {
      const buf = encodeData(STAMP, 8, 0, [whole(bytes(10)), whole(bytes(10))]);
      buf.writeUInt16BE(3, HEADER_SIZE + 4);
      isErr(decodeData(buf), 'WIRE_TRUNCATED');
      buf.writeUInt16BE(0xffff, HEADER_SIZE + 4);
      isErr(decodeData(buf), 'WIRE_TRUNCATED');
    });

    it('WIRE_BAD_LENGTH for stray bytes after the last item (or count too small)', () => {
      const buf = encodeData(STAMP, 8, 0, [whole(bytes(10)), whole(bytes(10))]);
      for (const extra of [1, 3, ITEM_HEADER_SIZE, 1000]) {
        const longer = Buffer.concat([buf, Buffer.alloc(extra)]);
        isErr(decodeData(longer), 'WIRE_BAD_LENGTH', `${extra} stray bytes`);
        longer.writeUInt32BE(longer.length, 4); // even when the header agrees
        ok(decodeHeader(longer, HASH));
        isErr(decodeData(longer), 'WIRE_BAD_LENGTH', `${extra} stray bytes, header fixed`);
      }
      const fewer = Buffer.from(buf);
      fewer.writeUInt16BE(1, HEADER_SIZE + 4);
      isErr(decodeData(fewer), 'WIRE_BAD_LENGTH');
    });

    it('WIRE_BAD_FIELD for a packet with no items', () => {
      const buf = beginData(DATA_BODY_OFFSET, STAMP, 1, 0, 0);
      ok(decodeHeader(buf, HASH));
      isErr(decodeData(buf), 'WIRE_BAD_FIELD');
    });

    it('WIRE_BAD_FIELD for unknown item flags', () => {
      for (const f of [4, 8, 0x10, 0x80, 0xff, 0x07]) {
        const buf = encodeData(STAMP, 1, 0, [whole(bytes(5))]);
        buf[DATA_BODY_OFFSET] = f;
        isErr(decodeData(buf), 'WIRE_BAD_FIELD', `flags ${f}`);
      }
      // ... also in a later item
      const buf = encodeData(STAMP, 1, 0, [whole(bytes(5)), whole(bytes(5))]);
      buf[DATA_BODY_OFFSET + itemSize(['g'], 5)] = 0x40;
      isErr(decodeData(buf), 'WIRE_BAD_FIELD');
    });

    it('WIRE_BAD_FIELD for groups on a middle or LAST fragment', () => {
      const payload = bytes(500);
      for (const flags of [0, ItemFlag.LAST]) {
        const spec: ItemSpec = { flags, service: 0x10, origin: 1, counter: 1, groups: ['g'], payload, start: 100, len: 100 };
        isErr(decodeData(encodeData(STAMP, 1, 0, [spec])), 'WIRE_BAD_FIELD', `flags ${flags}`);
      }
      // a FIRST fragment may carry them
      ok(decodeData(encodeData(STAMP, 1, 0, [{ flags: ItemFlag.FIRST, service: 0x10, origin: 1, counter: 1, groups: ['g'], payload, start: 0, len: 100 }])));
    });

    it('WIRE_BAD_FIELD for a chunk longer than its message', () => {
      const buf = encodeData(STAMP, 1, 0, [{ flags: ItemFlag.FIRST, service: 0x10, origin: 1, counter: 1, groups: null, payload: bytes(50), start: 0, len: 40 }]);
      const off = DATA_BODY_OFFSET;
      buf.writeUInt32BE(39, off + 12); // totalLen 39 < chunkLen 40
      isErr(decodeData(buf), 'WIRE_BAD_FIELD');
      buf.writeUInt32BE(0, off + 12);
      isErr(decodeData(buf), 'WIRE_BAD_FIELD');
      buf.writeUInt32BE(40, off + 12);
      ok(decodeData(buf));
    });

    it('WIRE_BAD_FIELD for a whole message (FIRST|LAST) with a partial chunk', () => {
      const buf = encodeData(STAMP, 1, 0, [whole(bytes(40))]);
      buf.writeUInt32BE(41, DATA_BODY_OFFSET + 12);
      isErr(decodeData(buf), 'WIRE_BAD_FIELD');
    });

    it('WIRE_TRUNCATED for a chunk length beyond the packet', () => {
      const buf = encodeData(STAMP, 1, 0, [{ flags: ItemFlag.FIRST, service: 0x10, origin: 1, counter: 1, groups: ['g'], payload: bytes(5000), start: 0, len: 40 }]);
      buf.writeUInt32BE(41, DATA_BODY_OFFSET + 16);
      isErr(decodeData(buf), 'WIRE_TRUNCATED');
      buf.writeUInt32BE(0xffffffff, DATA_BODY_OFFSET + 12);
      buf.writeUInt32BE(0xfffffff0, DATA_BODY_OFFSET + 16);
      isErr(decodeData(buf), 'WIRE_TRUNCATED');
    });

    it('WIRE_TRUNCATED when ngroups promises more groups than there are bytes', () => {
      const buf = encodeData(STAMP, 1, 0, [whole(Buffer.alloc(0), ['ab'])]);
      buf[DATA_BODY_OFFSET + 2] = 2; // second group would start at the end of the packet
      isErr(decodeData(buf), 'WIRE_TRUNCATED');
      const buf2 = encodeData(STAMP, 1, 0, [whole(Buffer.alloc(0), ['ab'])]);
      buf2[DATA_BODY_OFFSET + ITEM_HEADER_SIZE] = 3; // name longer than what is left
      isErr(decodeData(buf2), 'WIRE_TRUNCATED');
    });
  });

  describe('tokens', () => {
    it('round-trips a token with no retransmit requests', () => {
      const t = token();
      const buf = encodeToken(STAMP, t);
      assert.equal(buf.length, TOKEN_FIXED_SIZE);
      checkStamp(ok(decodeHeader(buf, HASH)), STAMP, PacketType.TOKEN, TOKEN_FIXED_SIZE);
      assert.deepEqual(ok(decodeToken(buf)), t);
    });

    it('round-trips many retransmit requests and extreme values', () => {
      const rtr = Array.from({ length: 1000 }, (_, i) => 0xffffffff - i * 7);
      const t = token({ tokenSeq: 0xffffffff, seq: 0xffffffff, aru: 0xffffffff, safe: 0xfffffffe, aruSetter: 0, fcc: 0xffff, flags: TokenFlag.IDLE, backlog: 0xffffffff, rtr });
      const buf = encodeToken(MAX_STAMP, t);
      assert.equal(buf.length, TOKEN_FIXED_SIZE + 4 * 1000);
      checkStamp(ok(decodeHeader(buf)), MAX_STAMP, PacketType.TOKEN, buf.length);
      assert.deepEqual(ok(decodeToken(buf)), t);
    });

    it('round-trips the largest retransmit list (u16 count)', () => {
      const rtr = Array.from({ length: 0xffff }, (_, i) => i + 1);
      const t = token({ seq: 0x10000, rtr });
      assert.deepEqual(ok(decodeToken(encodeToken(STAMP, t))), t);
    });

    it('clamps fcc and backlog to their field widths', () => {
      const got = ok(decodeToken(encodeToken(STAMP, token({ fcc: 70000, backlog: 2 ** 40 }))));
      assert.equal(got.fcc, 0xffff);
      assert.equal(got.backlog, 0xffffffff);
    });

    it('WIRE_TRUNCATED for every length below the fixed fields', () => {
      const full = encodeToken(STAMP, token({ rtr: [3, 4] }));
      for (let n = 0; n < TOKEN_FIXED_SIZE; n++) isErr(decodeToken(full.subarray(0, n)), 'WIRE_TRUNCATED', `length ${n}`);
    });

    it('WIRE_BAD_LENGTH when the byte count disagrees with the rtr count', () => {
      const full = encodeToken(STAMP, token({ rtr: [3, 4, 5] }));
      for (let n = TOKEN_FIXED_SIZE; n < full.length; n++) isErr(decodeToken(full.subarray(0, n)), 'WIRE_BAD_LENGTH', `length ${n}`);
      isErr(decodeToken(Buffer.concat([full, Buffer.alloc(1)])), 'WIRE_BAD_LENGTH');
      isErr(decodeToken(Buffer.concat([full, Buffer.alloc(4)])), 'WIRE_BAD_LENGTH');
      for (const n of [0, 2, 4, 0xffff]) {
        const b = Buffer.from(full);
        b.writeUInt16BE(n, HEADER_SIZE + 28);
        isErr(decodeToken(b), 'WIRE_BAD_LENGTH', `rtr count ${n}`);
      }
    });

    it('WIRE_BAD_FIELD when aru or safe is above seq', () => {
      isErr(decodeToken(encodeToken(STAMP, token({ seq: 10, aru: 11, safe: 0 }))), 'WIRE_BAD_FIELD');
      isErr(decodeToken(encodeToken(STAMP, token({ seq: 10, aru: 5, safe: 11 }))), 'WIRE_BAD_FIELD');
      isErr(decodeToken(encodeToken(STAMP, token({ seq: 0, aru: 0xffffffff, safe: 0 }))), 'WIRE_BAD_FIELD');
      ok(decodeToken(encodeToken(STAMP, token({ seq: 10, aru: 10, safe: 10 }))));
      ok(decodeToken(encodeToken(STAMP, token({ seq: 0, aru: 0, safe: 0 }))));
    });
  });

  describe('properties (fast-check)', () => {
    const NUM_RUNS = 400;

    function stampOf(h: PacketHeader): Stamp {
      return { configHash: h.configHash, ringSeq: h.ringSeq, ringRep: h.ringRep, sender: h.sender, incarnation: h.incarnation };
    }

    /** Calls every decoder the way a receiver would (header first, then by type) and directly. */
    function decodeEverything(buf: Buffer): void {
      for (const r of [decodeHeader(buf), decodeHeader(buf, HASH), decodeData(buf), decodeToken(buf)]) {
        assert.ok(r !== null && typeof r === 'object');
        if (r instanceof WireError) assert.ok(ALL_CODES.has(r.code), `unknown code ${r.code}`);
      }
      const h = decodeHeader(buf, HASH);
      if (h instanceof WireError) return;
      assert.equal(h.length, buf.length);
      if (h.type === PacketType.DATA) checkDecodedData(buf, decodeData(buf));
      if (h.type === PacketType.TOKEN) checkDecodedToken(buf, decodeToken(buf));
    }

    /** What decodeData accepts is self-consistent and re-encodes to the same bytes. */
    function checkDecodedData(buf: Buffer, r: DataPacket | WireError): void {
      if (r instanceof WireError) return;
      assert.ok(r.items.length > 0);
      let size = DATA_BODY_OFFSET;
      for (const it of r.items) {
        assert.equal(it.flags & ~3, 0);
        assert.ok(it.chunk.length <= it.totalLen);
        if ((it.flags & 3) === 3) assert.equal(it.chunk.length, it.totalLen);
        if (!(it.flags & ItemFlag.FIRST)) assert.equal(it.groups.length, 0);
        size += itemSize(it.groups.length ? it.groups : null, it.chunk.length);
      }
      assert.equal(size, buf.length);
      // Re-encode: identical except the items' reserved byte, which the decoder ignores.
      const again = beginData(size, stampOf(decodeHeader(buf) as PacketHeader), r.seq, r.items.length, r.flags);
      const expected = Buffer.from(buf);
      expected.writeUInt16BE(0, 18); // the header's reserved field, which the decoder ignores
      let off = DATA_BODY_OFFSET;
      for (const it of r.items) {
        expected[off + 3] = 0;
        off = writeItemChunk(again, off, it);
      }
      assert.ok(again.equals(expected), 're-encoding a decoded data packet gives the same bytes');
    }

    function writeItemChunk(buf: Buffer, off: number, it: DataItem): number {
      buf[off] = it.flags;
      buf[off + 1] = it.service;
      buf[off + 2] = it.groups.length;
      buf[off + 3] = 0;
      buf.writeUInt32BE(it.origin, off + 4);
      buf.writeUInt32BE(it.counter, off + 8);
      buf.writeUInt32BE(it.totalLen, off + 12);
      buf.writeUInt32BE(it.chunk.length, off + 16);
      off += ITEM_HEADER_SIZE;
      for (const g of it.groups) {
        buf[off] = g.length;
        buf.write(g, off + 1, 'latin1');
        off += 1 + g.length;
      }
      it.chunk.copy(buf, off);
      return off + it.chunk.length;
    }

    function checkDecodedToken(buf: Buffer, r: Token | WireError): void {
      if (r instanceof WireError) return;
      assert.ok(r.aru <= r.seq && r.safe <= r.seq);
      const again = encodeToken(stampOf(decodeHeader(buf) as PacketHeader), r);
      const expected = Buffer.from(buf);
      expected.writeUInt16BE(0, 18); // the header's reserved field, which the decoder ignores
      assert.ok(again.equals(expected), 're-encoding a decoded token gives the same bytes');
    }

    const u32 = fc.integer({ min: 0, max: 0xffffffff });
    const u48 = fc.tuple(u32, fc.integer({ min: 0, max: 0xffff })).map(([lo, hi]) => hi * 2 ** 32 + lo);
    const stampArb: fc.Arbitrary<Stamp> = fc.record({ configHash: fc.constant(HASH), ringSeq: u48, ringRep: u32, sender: u32, incarnation: u32 });
    const groupArb = fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 12 });
    const itemArb: fc.Arbitrary<ItemSpec> = fc
      .record({
        kind: fc.constantFrom('whole', 'first', 'middle', 'last'),
        service: fc.integer({ min: 0, max: 255 }),
        origin: u32,
        counter: u32,
        groups: fc.array(groupArb, { maxLength: 4 }),
        payload: fc.uint8Array({ maxLength: 300 }),
        a: fc.nat(),
        b: fc.nat(),
      })
      .map(({ kind, service, origin, counter, groups, payload, a, b }) => {
        const p = Buffer.from(payload);
        const x = a % (p.length + 1);
        const y = b % (p.length + 1);
        // The decoder does not know positions: any chunk no longer than the message will do.
        const [flags, start, len] =
          kind === 'whole' ? [ItemFlag.FIRST | ItemFlag.LAST, 0, p.length]
          : kind === 'first' ? [ItemFlag.FIRST, 0, x]
          : kind === 'middle' ? [0, Math.min(x, y), Math.abs(x - y)]
          : [ItemFlag.LAST, x, p.length - x];
        const g = flags & ItemFlag.FIRST ? groups : null;
        return { flags, service, origin, counter, groups: g, payload: p, start, len };
      });
    const dataArb = fc.record({ stamp: stampArb, seq: u32, flags: fc.integer({ min: 0, max: 0xffff }), items: fc.array(itemArb, { minLength: 1, maxLength: 8 }) });
    const tokenArb: fc.Arbitrary<{ stamp: Stamp; t: Token }> = fc
      .record({
        stamp: stampArb,
        tokenSeq: u32,
        seq: u32,
        a: u32,
        s: u32,
        aruSetter: u32,
        fcc: fc.integer({ min: 0, max: 0xffff }),
        flags: fc.integer({ min: 0, max: 0xffff }),
        backlog: u32,
        rtr: fc.array(u32, { maxLength: 40 }),
      })
      .map(({ stamp, tokenSeq, seq, a, s, aruSetter, fcc, flags, backlog, rtr }) => ({
        stamp,
        t: { tokenSeq, seq, aru: seq === 0 ? 0 : a % (seq + 1), aruSetter, safe: seq === 0 ? 0 : s % (seq + 1), fcc, flags, backlog, rtr },
      }));
    const bareArb = fc.record({ stamp: stampArb, type: fc.constantFrom(...Object.values(PacketType)) });
    const validPacketArb: fc.Arbitrary<Buffer> = fc.oneof(
      dataArb.map((d) => encodeData(d.stamp, d.seq, d.flags, d.items)),
      tokenArb.map(({ stamp, t }) => encodeToken(stamp, t)),
      bareArb.map(({ stamp, type }) => encodeBare(type, stamp)),
    );

    it('arbitrary bytes never make a decoder throw', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), (arr) => {
          decodeEverything(Buffer.from(arr));
        }),
        { numRuns: NUM_RUNS * 2 },
      );
    });

    it('arbitrary bytes behind a valid header never make a decoder throw', () => {
      fc.assert(
        fc.property(stampArb, fc.constantFrom(PacketType.DATA, PacketType.TOKEN, PacketType.WAKE, PacketType.JOIN), fc.uint8Array({ maxLength: 400 }), (stamp, type, body) => {
          const buf = Buffer.alloc(HEADER_SIZE + body.length);
          writeHeader(buf, type, stamp);
          Buffer.from(body).copy(buf, HEADER_SIZE);
          ok(decodeHeader(buf, HASH));
          decodeEverything(buf);
        }),
        { numRuns: NUM_RUNS * 2 },
      );
    });

    it('valid data packets round-trip', () => {
      fc.assert(
        fc.property(dataArb, ({ stamp, seq, flags, items }) => {
          const buf = encodeData(stamp, seq, flags, items);
          checkStamp(ok(decodeHeader(buf, HASH)), stamp, PacketType.DATA, buf.length);
          const pkt = ok(decodeData(buf));
          assert.equal(pkt.seq, seq);
          assert.equal(pkt.flags, flags);
          assert.equal(pkt.items.length, items.length);
          pkt.items.forEach((it, i) => expectItem(it, items[i]));
          checkDecodedData(buf, pkt);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('valid tokens round-trip', () => {
      fc.assert(
        fc.property(tokenArb, ({ stamp, t }) => {
          const buf = encodeToken(stamp, t);
          checkStamp(ok(decodeHeader(buf, HASH)), stamp, PacketType.TOKEN, buf.length);
          assert.deepEqual(ok(decodeToken(buf)), t);
        }),
        { numRuns: NUM_RUNS },
      );
    });

    it('valid packets with random byte mutations, truncations and extensions never make a decoder throw', () => {
      const mutation = fc.oneof(
        fc.record({ op: fc.constant('xor' as const), at: fc.nat(), v: fc.integer({ min: 1, max: 255 }) }),
        fc.record({ op: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), v: fc.constant(0) }),
        fc.record({ op: fc.constant('append' as const), at: fc.nat({ max: 64 }), v: fc.integer({ min: 0, max: 255 }) }),
        fc.record({ op: fc.constant('fixLength' as const), at: fc.constant(0), v: fc.constant(0) }),
        // big numbers into a u32 field (counts, lengths, seqs)
        fc.record({ op: fc.constant('u32' as const), at: fc.nat(), v: fc.constantFrom(0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xffff, 0x10000) }),
      );
      fc.assert(
        fc.property(validPacketArb, fc.array(mutation, { minLength: 1, maxLength: 6 }), (orig, muts) => {
          let buf: Buffer = Buffer.from(orig);
          for (const m of muts) {
            if (buf.length === 0) break;
            const at = m.at % buf.length;
            if (m.op === 'xor') buf[at] ^= m.v;
            else if (m.op === 'set') buf[at] = m.v;
            else if (m.op === 'truncate') buf = buf.subarray(0, at);
            else if (m.op === 'append') buf = Buffer.concat([buf, Buffer.alloc(m.at + 1, m.v)]);
            else if (m.op === 'fixLength' && buf.length >= 8) buf.writeUInt32BE(buf.length, 4);
            else if (m.op === 'u32' && buf.length >= 4) buf.writeUInt32BE(m.v, Math.min(at, buf.length - 4));
          }
          decodeEverything(buf);
        }),
        { numRuns: NUM_RUNS * 3 },
      );
    });

    it('valid data packets with a mutated item field are rejected or decoded consistently', () => {
      // Aimed mutations at the fields the decoder validates: count, item flags, ngroups,
      // totalLen, chunkLen, group lengths.
      fc.assert(
        fc.property(dataArb, fc.nat(), fc.integer({ min: 0, max: 19 }), u32, (d, pick, field, v) => {
          const buf = encodeData(d.stamp, d.seq, d.flags, d.items);
          let off = DATA_BODY_OFFSET;
          const k = pick % d.items.length;
          for (let i = 0; i < k; i++) off += itemSize(d.items[i].groups, d.items[i].len);
          if (field < 4) buf[off + field] = v & 0xff;
          else buf.writeUInt32BE(v, off + 4 * Math.floor(field / 4));
          if (pick % 5 === 0) buf.writeUInt16BE(v & 0xffff, HEADER_SIZE + 4);
          decodeEverything(buf);
        }),
        { numRuns: NUM_RUNS * 2 },
      );
    });
  });
});

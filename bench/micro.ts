// Codec micro-benchmarks (benchmark.js): the daemon packet encoders and decoders of
// src/wire/packet.ts, on the packet shapes the ring sends most.
import Benchmark from 'benchmark';
import {
  DATA_BODY_OFFSET,
  ItemFlag,
  NO_SETTER,
  PacketType,
  WireError,
  beginData,
  checkHeader,
  decodeData,
  decodeHeader,
  decodeToken,
  encodeGroups,
  encodeToken,
  itemSize,
  validateData,
  writeItem,
  writeItemRaw,
  type Stamp,
  type Token,
} from '../src/wire/packet';
import { Service } from '../src/core/service';
import { markdownTable, num, progress } from './format';

export interface MicroResult {
  name: string;
  opsPerSec: number;
  /** Relative margin of error (%), 95% confidence. */
  rme: number;
  samples: number;
  /** Message bytes per operation, for the MB/s column (0 when it does not apply). */
  payloadBytes: number;
}

const STAMP: Stamp = { configHash: 0x51a1c0de, ringSeq: 7, ringRep: 1, sender: 2, incarnation: 1 };
const GROUPS = ['test'];

const GROUP_BYTES = encodeGroups(GROUPS);
const WHOLE = ItemFlag.FIRST | ItemFlag.LAST;

/** One data packet of whole messages through the general encoder (group names written each time). */
function encodeDataPacket(payloads: Buffer[], seq: number): Buffer {
  let size = DATA_BODY_OFFSET;
  for (const p of payloads) size += itemSize(GROUPS, p.length);
  const buf = beginData(size, STAMP, seq, payloads.length, 0);
  let off = DATA_BODY_OFFSET;
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i];
    off = writeItem(buf, off, WHOLE, Service.AGREED, STAMP.sender, seq * 16 + i, p.length, GROUPS, p, 0, p.length);
  }
  return buf;
}

/** The same packet as RingCore builds it: the group list encoded once per message, then copied. */
function encodeDataPacketRaw(payloads: Buffer[], seq: number): Buffer {
  let size = DATA_BODY_OFFSET;
  for (const p of payloads) size += 20 + GROUP_BYTES.length + p.length;
  const buf = beginData(size, STAMP, seq, payloads.length, 0);
  let off = DATA_BODY_OFFSET;
  for (let i = 0; i < payloads.length; i++) {
    const p = payloads[i];
    off = writeItemRaw(buf, off, WHOLE, Service.AGREED, STAMP.sender, seq * 16 + i, p.length, GROUPS.length, GROUP_BYTES, p, 0, p.length);
  }
  return buf;
}

function makeToken(retransmitRequests: number): Token {
  return {
    tokenSeq: 1234,
    seq: 50_000,
    aru: 49_000,
    aruSetter: NO_SETTER,
    safe: 48_000,
    fcc: 140,
    flags: 0,
    backlog: 3000,
    rtr: Array.from({ length: retransmitRequests }, (_, i) => 49_001 + 3 * i),
  };
}

// Results go here so the optimiser cannot drop the work being measured.
let sink: unknown;

export async function runMicro(opts: { quick: boolean }): Promise<MicroResult[]> {
  const oneKb = [Buffer.alloc(1024, 0x61)];
  const tenSmall = Array.from({ length: 10 }, () => Buffer.alloc(100, 0x62));
  const oneKbPacket = encodeDataPacket(oneKb, 1);
  const tenSmallPacket = encodeDataPacket(tenSmall, 2);
  const token0 = makeToken(0);
  const token20 = makeToken(20);
  const token0Bytes = encodeToken(STAMP, token0);
  const token20Bytes = encodeToken(STAMP, token20);

  // The receive path: one header check, then the body decoder for the type.
  const decodeDataPacket = (buf: Buffer) => {
    const h = decodeHeader(buf, STAMP.configHash);
    if (h instanceof WireError || h.type !== PacketType.DATA) throw new Error('bench packet does not decode');
    return decodeData(buf);
  };
  const decodeTokenPacket = (buf: Buffer) => {
    const h = decodeHeader(buf, STAMP.configHash);
    if (h instanceof WireError || h.type !== PacketType.TOKEN) throw new Error('bench token does not decode');
    return decodeToken(buf);
  };
  // What RingCore does to a received data packet before storing it: check, no objects built.
  const checkDataPacket = (buf: Buffer) => checkHeader(buf, STAMP.configHash) ?? validateData(buf, STAMP.sender);
  // A benchmark that measures a broken codec is worse than none: check once before timing.
  for (const [buf, n] of [[oneKbPacket, 1], [tenSmallPacket, 10]] as const) {
    const d = decodeDataPacket(buf);
    if (d instanceof WireError || d.items.length !== n) throw new Error(`data packet round trip failed: ${String(d)}`);
    if (checkDataPacket(buf) !== null) throw new Error('data packet fails its own check');
    if (!encodeDataPacketRaw(n === 1 ? oneKb : tenSmall, n === 1 ? 1 : 2).equals(buf)) throw new Error('the two encoders disagree');
  }

  const cases: { name: string; payloadBytes: number; fn: () => void }[] = [
    { name: 'data 1×1 KB: encode (writeItem)', payloadBytes: 1024, fn: () => (sink = encodeDataPacket(oneKb, 1)) },
    { name: 'data 1×1 KB: encode as the core does (writeItemRaw)', payloadBytes: 1024, fn: () => (sink = encodeDataPacketRaw(oneKb, 1)) },
    { name: 'data 1×1 KB: decode to objects (decodeHeader + decodeData)', payloadBytes: 1024, fn: () => (sink = decodeDataPacket(oneKbPacket)) },
    { name: 'data 1×1 KB: receive check (checkHeader + validateData)', payloadBytes: 1024, fn: () => (sink = checkDataPacket(oneKbPacket)) },
    { name: 'data 10×100 B: encode (writeItem)', payloadBytes: 1000, fn: () => (sink = encodeDataPacket(tenSmall, 2)) },
    { name: 'data 10×100 B: encode as the core does (writeItemRaw)', payloadBytes: 1000, fn: () => (sink = encodeDataPacketRaw(tenSmall, 2)) },
    { name: 'data 10×100 B: decode to objects (decodeHeader + decodeData)', payloadBytes: 1000, fn: () => (sink = decodeDataPacket(tenSmallPacket)) },
    { name: 'data 10×100 B: receive check (checkHeader + validateData)', payloadBytes: 1000, fn: () => (sink = checkDataPacket(tenSmallPacket)) },
    { name: 'token, 0 rtr: encode', payloadBytes: 0, fn: () => (sink = encodeToken(STAMP, token0)) },
    { name: 'token, 0 rtr: decode (header check + body)', payloadBytes: 0, fn: () => (sink = decodeTokenPacket(token0Bytes)) },
    { name: 'token, 20 rtr: encode', payloadBytes: 0, fn: () => (sink = encodeToken(STAMP, token20)) },
    { name: 'token, 20 rtr: decode (header check + body)', payloadBytes: 0, fn: () => (sink = decodeTokenPacket(token20Bytes)) },
    { name: 'decodeHeader alone (data packet)', payloadBytes: 0, fn: () => (sink = decodeHeader(oneKbPacket, STAMP.configHash)) },
    { name: 'checkHeader alone (data packet)', payloadBytes: 0, fn: () => (sink = checkHeader(oneKbPacket, STAMP.configHash)) },
  ];

  const suite = new Benchmark.Suite('codecs');
  const timing: Benchmark.Options = opts.quick ? { minSamples: 5, maxTime: 0.5 } : { minSamples: 20, maxTime: 3 };
  for (const c of cases) suite.add(c.name, c.fn, timing);

  const results: MicroResult[] = [];
  await new Promise<void>((resolve, reject) => {
    suite
      .on('cycle', (ev: Benchmark.Event) => {
        const b = ev.target as unknown as Benchmark;
        if (b.error) return reject(b.error);
        const c = cases.find((x) => x.name === b.name)!;
        results.push({ name: c.name, opsPerSec: b.hz, rme: b.stats.rme, samples: b.stats.sample.length, payloadBytes: c.payloadBytes });
        progress(`micro: ${String(b)}`);
      })
      .on('complete', () => resolve())
      .on('error', (ev: Benchmark.Event) => reject((ev.target as unknown as Benchmark).error))
      .run({ async: false });
  });
  void sink;
  return results;
}

export function microMarkdown(results: MicroResult[]): string {
  const rows = results.map((r) => [
    r.name,
    num(r.opsPerSec),
    `±${r.rme.toFixed(2)}%`,
    r.samples,
    r.payloadBytes > 0 ? num((r.opsPerSec * r.payloadBytes) / 1e6, 0) : '',
  ]);
  return [
    '### Codecs (src/wire/packet.ts), benchmark.js',
    '',
    'Decode and check rows include the header check a received packet gets before dispatch. "Receive check" is ' +
      'what RingCore does to a data packet on arrival (validate in place, no objects); "decode to objects" is the ' +
      'general decoder. Every message is addressed to one group.',
    '',
    markdownTable(['operation', '>ops/s', '>± rme', '>samples', '>payload MB/s'], rows),
  ].join('\n');
}

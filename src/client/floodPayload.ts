// The payload `ringcast flood` sends: a marker, the sender's message number and the send time,
// then padding to the requested size. The number gives the log id `<private group>#<n>`; the
// time gives the latency of the sender's own messages.
//   0 u32 "RCF1" | 4 u32 n | 8 f64 send time (ms since the epoch, sub-ms precision) | padding

export const FLOOD_MAGIC = 0x52434631; // "RCF1"
/** Smallest payload that holds the marker, number and time. */
export const FLOOD_HEADER_SIZE = 16;

/** A reusable payload buffer of `size` bytes (size ≥ FLOOD_HEADER_SIZE), padding zeroed. */
export function allocFloodPayload(size: number): Buffer {
  const buf = Buffer.alloc(Math.max(size, FLOOD_HEADER_SIZE));
  buf.writeUInt32BE(FLOOD_MAGIC, 0);
  return buf;
}

/** Stamps message number and send time into a buffer from allocFloodPayload. */
export function stampFloodPayload(buf: Buffer, n: number, sentAtMs: number): Buffer {
  buf.writeUInt32BE(n >>> 0, 4);
  buf.writeDoubleBE(sentAtMs, 8);
  return buf;
}

/** Number and send time of a flood payload, or undefined when the data is not one. */
export function readFloodPayload(data: Buffer): { n: number; sentAtMs: number } | undefined {
  if (data.length < FLOOD_HEADER_SIZE || data.readUInt32BE(0) !== FLOOD_MAGIC) return undefined;
  return { n: data.readUInt32BE(4), sentAtMs: data.readDoubleBE(8) };
}

// The pipe reader's records: 26 bytes, record n being the alphabet rotated by n (record 0 is
// A…Z, record 1 is B…ZA). Every letter must follow the one before it (Z then A): that is the
// record's check, and its first letter says where it belongs in the stream.
const A = 'A'.charCodeAt(0);
export const RECORD_SIZE = 26;

/** Record number `n`. */
export function makeRecord(n: number): Buffer {
  const out = Buffer.alloc(RECORD_SIZE);
  for (let i = 0; i < RECORD_SIZE; i++) out[i] = A + ((n + i) % 26);
  return out;
}

/** Why a record is bad, or undefined when it is record `n`. */
export function checkRecord(bytes: Buffer, n: number): string | undefined {
  if (bytes.length !== RECORD_SIZE) return `${bytes.length} bytes, not ${RECORD_SIZE}`;
  for (let i = 0; i < RECORD_SIZE; i++) {
    const expected = A + ((n + i) % 26);
    if (bytes[i] === expected) continue;
    const got = JSON.stringify(String.fromCharCode(bytes[i]!));
    return i === 0 ? `starts with ${got}: not record ${n}` : `byte ${i} is ${got}: check failed`;
  }
  return undefined;
}

/** The faults a producer can be told to make at a record. */
export const FAULTS = ['bad', 'short', 'die', 'kill'] as const;
export type Fault = (typeof FAULTS)[number];

/** `5:bad,9:short` → record number → fault. @throws Error naming the bad item. */
export function parseFaults(text: string): Map<number, Fault> {
  const faults = new Map<number, Fault>();
  for (const item of text.split(',').filter(Boolean)) {
    const m = /^(\d+):(\w+)$/.exec(item.trim());
    if (!m || !(FAULTS as readonly string[]).includes(m[2]!)) throw new Error(`fault "${item}" is not N:${FAULTS.join('|')}`);
    faults.set(Number(m[1]), m[2] as Fault);
  }
  return faults;
}

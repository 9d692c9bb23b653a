// A test-side reader of one whole connection stream, fed in arbitrary chunks, the way a session
// would use the codecs: handshake units with a ChunkQueue, then a FrameReader.
import {
  ChunkQueue,
  FrameReader,
  decodeAccept,
  decodeAuthChoice,
  decodeAuthList,
  decodeConnect,
  expectsAuthExchange,
  privateGroupName,
  type ConnectRequest,
  type DecodeResult,
  type DecodedMessage,
  type SessionAccept,
  type WireFault,
} from '../../src/wire/client';

export type StreamUnit =
  | { kind: 'connect'; length: number; value: ConnectRequest }
  | { kind: 'authchoice'; length: number; value: string[] }
  | { kind: 'authlist'; length: number; value: string[] }
  | { kind: 'accept'; length: number; value: SessionAccept }
  | { kind: 'reject'; length: 1; code: number }
  | { kind: 'frame'; length: number; value: DecodedMessage }
  | { kind: 'fault'; fault: WireFault };

export interface StreamOptions {
  /** c2s: the session's private group for the sender check. */
  privateGroup?: string;
  /** c2s: compute the private group from the connect name and this daemon name. */
  daemonName?: string;
}

type Phase = 'connect' | 'authchoice' | 'authlist' | 'accept' | 'frames' | 'stopped';

export function decodeStream(chunks: Iterable<Buffer>, dir: 'c2s' | 's2c', options: StreamOptions = {}): StreamUnit[] {
  const units: StreamUnit[] = [];
  const queue = new ChunkQueue();
  const reader = new FrameReader({ direction: dir === 'c2s' ? 'toDaemon' : 'toClient', privateGroup: options.privateGroup });
  // Widened on purpose: the step callbacks move the phase on, which narrowing cannot see.
  let phase = (dir === 'c2s' ? 'connect' : 'authlist') as Phase;
  const current = (): Phase => phase;

  // One handshake step: decode from what is buffered; true when it produced a unit.
  const step = <T>(result: DecodeResult<T>, onOk: (value: T, length: number) => void): boolean => {
    if (result.status === 'incomplete') return false;
    if (result.status === 'error') {
      if (result.reason === 'REJECTED_BY_DAEMON') units.push({ kind: 'reject', length: 1, code: result.spreadCode });
      else units.push({ kind: 'fault', fault: result });
      phase = 'stopped';
      return true;
    }
    queue.skip(result.length);
    onOk(result.value, result.length);
    return true;
  };

  for (const chunk of chunks) {
    if (phase === 'frames') {
      reader.push(chunk);
    } else {
      queue.push(chunk);
      let progressed = true;
      while (progressed && current() !== 'frames' && current() !== 'stopped') {
        const view = queue.peek(queue.length);
        switch (current()) {
          case 'connect':
            progressed = step(decodeConnect(view), (value, length) => {
              units.push({ kind: 'connect', length, value });
              if (options.privateGroup === undefined && options.daemonName && value.name) {
                reader.setPrivateGroup(privateGroupName(value.name, options.daemonName));
              }
              phase = expectsAuthExchange(value.versionCode) ? 'authchoice' : 'frames';
            });
            break;
          case 'authchoice':
            progressed = step(decodeAuthChoice(view), (value, length) => {
              units.push({ kind: 'authchoice', length, value });
              phase = 'frames';
            });
            break;
          case 'authlist':
            progressed = step(decodeAuthList(view), (value, length) => {
              units.push({ kind: 'authlist', length, value });
              phase = 'accept';
            });
            break;
          case 'accept':
            progressed = step(decodeAccept(view), (value, length) => {
              units.push({ kind: 'accept', length, value });
              phase = 'frames';
            });
            break;
        }
      }
      if (current() === 'frames' && queue.length > 0) reader.push(queue.take(queue.length));
    }
    if (current() === 'frames') {
      for (;;) {
        const r = reader.next();
        if (r.status === 'incomplete') break;
        if (r.status === 'error') {
          units.push({ kind: 'fault', fault: r });
          phase = 'stopped';
          break;
        }
        units.push({ kind: 'frame', length: r.length, value: r.value });
      }
    }
  }
  return units;
}

/** Cuts `bytes` at the given ascending offsets. */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** A JSON-comparable rendering of units (Buffers as hex). */
export function summarize(units: readonly StreamUnit[]): unknown[] {
  return units.map((u) =>
    u.kind === 'frame' ? { ...u, value: { ...u.value, data: u.value.data.toString('hex') } } : u,
  );
}

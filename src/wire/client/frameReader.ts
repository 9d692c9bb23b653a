// Reassembles message frames from a byte stream cut anywhere (TCP chunks): header, then the
// rest once the header says how much. Garbage yields a fault value, never an exception; after
// a fault the stream has lost its framing, so the reader keeps returning that fault (Spread
// closes the session).
import { HEADER_SIZE } from './constants';
import { decoded, incomplete, type DecodeResult, type Incomplete, type WireFault } from './decodeResult';
import { checkHeader, frameBodyLength, type FrameOptions } from './frameRules';
import { readHeader, type MessageHeader } from './header';
import { readBody, type DecodedMessage } from './message';
import { ChunkQueue } from './chunkQueue';

const NEED_HEADER: Incomplete = incomplete(HEADER_SIZE);

export class FrameReader {
  private readonly queue = new ChunkQueue();
  private options: FrameOptions;
  /** The checked header of the frame whose body is awaited. */
  private pending: MessageHeader | undefined;
  private pendingBodyLength = 0;
  private fault: WireFault | undefined;

  constructor(options: FrameOptions) {
    this.options = options;
  }

  /** Bytes received and not yet returned as frames (including a pending header). */
  get buffered(): number {
    return this.queue.length + (this.pending ? HEADER_SIZE : 0);
  }

  /** The fault that stopped this reader, if any. */
  get failure(): WireFault | undefined {
    return this.fault;
  }

  /** Sets the session's private group once the handshake has named it (checked on frames to the daemon). */
  setPrivateGroup(privateGroup: string): void {
    this.options = { ...this.options, privateGroup };
  }

  push(chunk: Buffer): void {
    if (this.fault === undefined) this.queue.push(chunk);
  }

  /**
   * The next frame: 'ok' with the message (`length`: its bytes on the wire), 'incomplete' when
   * more bytes are needed (`needed`: bytes of the awaited header or body in all), or the fault.
   * Message data is a view into the pushed chunks when the frame arrived in one chunk.
   */
  next(): DecodeResult<DecodedMessage> {
    if (this.fault) return this.fault;
    const queue = this.queue;
    if (this.pending === undefined) {
      if (queue.length < HEADER_SIZE) return NEED_HEADER;
      const inPlace = queue.contiguousLength >= HEADER_SIZE;
      const header = inPlace ? readHeader(queue.front, queue.frontOffset) : readHeader(queue.peek(HEADER_SIZE), 0);
      const fault = checkHeader(header, this.options);
      if (fault) return this.fail(fault);
      const bodyLength = frameBodyLength(header, this.options.direction);
      if (inPlace && queue.contiguousLength >= HEADER_SIZE + bodyLength) {
        // The usual case: the whole frame sits in one chunk; decode it where it lies.
        const body = readBody(header, queue.front, queue.frontOffset + HEADER_SIZE, bodyLength, this.options);
        queue.skip(HEADER_SIZE + bodyLength);
        return 'status' in body ? this.fail(body) : decoded(body, HEADER_SIZE + bodyLength);
      }
      queue.skip(HEADER_SIZE);
      this.pending = header;
      this.pendingBodyLength = bodyLength;
    }
    if (queue.length < this.pendingBodyLength) return incomplete(this.pendingBodyLength);
    const header = this.pending;
    const bodyLength = this.pendingBodyLength;
    this.pending = undefined;
    const body = readBody(header, queue.take(bodyLength), 0, bodyLength, this.options);
    return 'status' in body ? this.fail(body) : decoded(body, HEADER_SIZE + bodyLength);
  }

  private fail(fault: WireFault): WireFault {
    this.fault = fault;
    this.pending = undefined;
    this.queue.clear();
    return fault;
  }
}

// Reassembles message frames from a byte stream cut anywhere (TCP chunks): header, then the
// rest once the header says how much. Garbage yields a fault value, never an exception; after
// a fault the stream has lost its framing, so the reader keeps returning that fault (Spread
// closes the session).
import { HEADER_SIZE } from './constants';
import { decoded, incomplete, type DecodeResult, type Incomplete, type WireFault } from './decodeResult';
import { checkHeader, frameBodyLength, type FrameOptions } from './frameRules';
import { decodeHeader, type MessageHeader } from './header';
import { decodeBody, type DecodedMessage } from './message';
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
   */
  next(): DecodeResult<DecodedMessage> {
    if (this.fault) return this.fault;
    if (this.pending === undefined) {
      if (this.queue.length < HEADER_SIZE) return NEED_HEADER;
      const head = decodeHeader(this.queue.take(HEADER_SIZE), 0);
      if (head.status !== 'ok') return head; // cannot happen: 48 bytes were taken
      const fault = checkHeader(head.value, this.options);
      if (fault) return this.fail(fault);
      this.pending = head.value;
      this.pendingBodyLength = frameBodyLength(head.value, this.options.direction);
    }
    if (this.queue.length < this.pendingBodyLength) return incomplete(this.pendingBodyLength);
    const header = this.pending;
    const bodyLength = this.pendingBodyLength;
    this.pending = undefined;
    const body = decodeBody(header, this.queue.take(bodyLength), 0, this.options);
    if (body.status === 'error') return this.fail(body);
    if (body.status === 'incomplete') return body; // cannot happen: the whole body was taken
    return decoded(body.value, HEADER_SIZE + bodyLength);
  }

  private fail(fault: WireFault): WireFault {
    this.fault = fault;
    this.pending = undefined;
    this.queue.clear();
    return fault;
  }
}

// Writes frames to the daemon with a bound on what may wait in the socket's buffer: a write
// resolves at once while the buffer is under the bound, otherwise when it has drained. Frames
// written in the same tick go out together (cork/uncork), so a burst costs few syscalls.
import type { Duplex } from 'node:stream';

const DONE: Promise<void> = Promise.resolve();

export class FrameWriter {
  private readonly bound: number;
  private corked = false;
  private waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private failure: unknown;

  /** @param maxBufferedBytes bytes that may sit unsent before write() makes callers wait. */
  constructor(
    private readonly stream: Duplex,
    maxBufferedBytes: number,
  ) {
    // Below the stream's high-water mark 'drain' would never fire for a waiting writer.
    this.bound = Math.max(maxBufferedBytes, stream.writableHighWaterMark);
    stream.on('drain', () => this.release());
  }

  /** Bytes written and not yet handed to the OS. */
  get buffered(): number {
    return this.stream.writableLength;
  }

  /** Queues a frame; the promise says when the caller may send more. Rejects after fail(). */
  write(frame: Buffer): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stream.uncork();
      });
    }
    this.stream.write(frame);
    if (this.stream.writableLength <= this.bound) return DONE;
    return new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The stream is gone: waiting and later writes reject with `error`. */
  fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.reject(error);
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w.resolve();
  }
}

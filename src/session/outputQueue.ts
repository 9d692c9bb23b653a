// What a session has to write to its client, with Spread's bound: frames go to the stream while
// it takes them; once its buffer is full they wait here, and a client that leaves more than
// MaxSessionMessages waiting is disconnected (Spread's Sess_write: "killing mbox for not
// reading"), or more than maxBytes of them (ringcast: a count alone lets large messages hold
// gigabytes). The ring delivers in bursts (everything a token visit completed, at once), which
// no client can read while the burst is being written; so the bound is checked once the event
// loop has had a turn (network I/O included) after frames began to wait, not frame by frame.
import type { Writable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

export class OutputQueue {
  private readonly waiting: Buffer[] = [];
  private head = 0;
  /** Bytes of the frames in `waiting` from `head` on. */
  private waitingBytes = 0;
  private blocked = false;
  private overflowed = false;
  private corked = false;
  private checkScheduled = false;

  constructor(
    private readonly stream: Writable,
    private readonly limit: number,
    private readonly onOverflow: () => void,
    private readonly maxBytes = Infinity,
  ) {
    stream.on('drain', () => this.flush());
  }

  /** Frames waiting for the stream (not counting what the stream itself buffers). */
  get backlog(): number {
    return this.waiting.length - this.head;
  }

  /** Bytes of the frames waiting. */
  get backlogBytes(): number {
    return this.waitingBytes;
  }

  write(frame: Buffer): void {
    if (this.overflowed || this.stream.destroyed || this.stream.writableEnded) return;
    if (!this.blocked && this.backlog === 0) {
      // Frames delivered in one turn of the event loop go out in one write.
      if (!this.corked) {
        this.corked = true;
        this.stream.cork();
        process.nextTick(() => {
          this.corked = false;
          this.stream.uncork();
        });
      }
      this.blocked = !this.stream.write(frame);
      return;
    }
    this.waiting.push(frame);
    this.waitingBytes += frame.length;
    if (!this.checkScheduled) {
      this.checkScheduled = true;
      setImmediate(() => this.checkBound());
    }
  }

  /** Forgets what waits (the session is going). */
  clear(): void {
    this.waiting.length = 0;
    this.head = 0;
    this.waitingBytes = 0;
  }

  private checkBound(): void {
    this.checkScheduled = false;
    if (this.overflowed || (this.backlog <= this.limit && this.waitingBytes <= this.maxBytes)) return;
    this.overflowed = true;
    this.clear();
    this.onOverflow();
  }

  private flush(): void {
    this.blocked = false;
    // Corked, the frames written here go out in one writev, not a write each.
    this.stream.cork();
    try {
      while (this.backlog > 0 && !this.blocked) {
        if (this.stream.destroyed || this.stream.writableEnded) return this.clear();
        const frame = this.waiting[this.head]!;
        this.waiting[this.head++] = EMPTY;
        this.waitingBytes -= frame.length;
        this.blocked = !this.stream.write(frame);
      }
    } finally {
      this.stream.uncork();
    }
    if (this.backlog === 0) this.clear();
    else if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }
}

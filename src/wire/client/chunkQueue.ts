// Bytes received but not yet decoded, kept as the chunks they arrived in. Taking bytes that lie
// in one chunk returns a view of it; only units that straddle chunks are copied.

export class ChunkQueue {
  // Taken chunks are set to undefined at once, so they can be collected.
  private chunks: Array<Buffer | undefined> = [];
  /** Index in `chunks` of the first chunk still (partly) unread. */
  private head = 0;
  /** Bytes of chunks[head] already taken. */
  private offset = 0;
  private buffered = 0;

  /** Bytes available. */
  get length(): number {
    return this.buffered;
  }

  /** Bytes available in the first chunk, i.e. readable in place at front/frontOffset. */
  get contiguousLength(): number {
    return this.buffered === 0 ? 0 : this.chunks[this.head]!.length - this.offset;
  }

  /** The first chunk (with frontOffset, where the unread bytes start), for in-place decoding. @throws RangeError when empty. */
  get front(): Buffer {
    if (this.buffered === 0) throw new RangeError('front of an empty ChunkQueue');
    return this.chunks[this.head]!;
  }

  get frontOffset(): number {
    return this.offset;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The first `n` bytes as one buffer (a view when they lie in one chunk, else a copy), without
   * removing them.
   * @throws RangeError when fewer than `n` bytes are buffered.
   */
  peek(n: number): Buffer {
    if (n > this.buffered) throw new RangeError(`peek(${n}) with ${this.buffered} bytes buffered`);
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[this.head]!;
    if (first.length - this.offset >= n) return first.subarray(this.offset, this.offset + n);
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    for (let i = this.head, from = this.offset; copied < n; i++, from = 0) {
      const chunk = this.chunks[i]!;
      const count = Math.min(chunk.length - from, n - copied);
      chunk.copy(out, copied, from, from + count);
      copied += count;
    }
    return out;
  }

  /** Removes and returns the first `n` bytes (as peek). @throws RangeError as peek. */
  take(n: number): Buffer {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /** Removes the first `n` bytes. @throws RangeError when fewer are buffered. */
  skip(n: number): void {
    if (n > this.buffered) throw new RangeError(`skip(${n}) with ${this.buffered} bytes buffered`);
    this.buffered -= n;
    while (n > 0) {
      const rest = this.chunks[this.head]!.length - this.offset;
      if (n < rest) {
        this.offset += n;
        return;
      }
      n -= rest;
      this.chunks[this.head] = undefined;
      this.head++;
      this.offset = 0;
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= this.chunks.length) {
      // Drop consumed chunks now and then, so a reader that never drains fully stays small.
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** Removes everything buffered. */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
  }
}

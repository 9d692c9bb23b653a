// One async iterator over received messages: a FIFO the session pushes into and a `for await`
// loop pulls from. Ends cleanly, or with an error once the buffered items are read.

export class ReceiveQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private head = 0;
  private waiting: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
  private ended = false;
  private endError: unknown;

  /** @param onDetach called once when the consumer stops (break/return) or the queue ends. */
  constructor(
    private readonly onDetach: (queue: ReceiveQueue<T>) => void,
    private readonly onTake: () => void = () => {},
  ) {}

  /** Items buffered and not yet taken. */
  get length(): number {
    return this.items.length - this.head;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  push(item: T): void {
    if (this.ended) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  /** No more items will come; pending and later next() calls see `error` (if any) after the buffered items. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.endError = error;
    if (this.length === 0) this.settleWaiters();
    this.onDetach(this);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.length > 0) {
      const value = this.items[this.head]!;
      this.items[this.head] = undefined as T; // let it be collected
      this.head++;
      if (this.head === this.items.length) {
        this.items = [];
        this.head = 0;
      } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      this.onTake();
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return this.finalResult();
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  /** The consumer is done (a `break` out of `for await`): drop what is buffered. */
  return(): Promise<IteratorResult<T>> {
    this.items = [];
    this.head = 0;
    this.endError = undefined;
    if (!this.ended) {
      this.ended = true;
      this.onDetach(this);
    }
    this.settleWaiters();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private finalResult(): Promise<IteratorResult<T>> {
    if (this.endError !== undefined) {
      const error = this.endError;
      this.endError = undefined; // report it once; later calls just see the end
      return Promise.reject(error);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  private settleWaiters(): void {
    const waiters = this.waiting;
    this.waiting = [];
    for (const w of waiters) {
      if (this.endError !== undefined) {
        const error = this.endError;
        this.endError = undefined;
        w.reject(error);
      } else w.resolve({ value: undefined, done: true });
    }
  }
}

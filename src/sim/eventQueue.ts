// A binary min-heap of timed events; ties are broken by insertion order, so runs are deterministic.

export interface Timed {
  time: number;
  order: number;
}

/** Omit that keeps a union a union. */
type Unordered<E> = E extends Timed ? Omit<E, 'order'> : never;

export class EventQueue<E extends Timed> {
  private heap: E[] = [];
  private nextOrder = 0;

  get size(): number {
    return this.heap.length;
  }

  push(e: Unordered<E>): void {
    const ev = e as unknown as E;
    ev.order = this.nextOrder++;
    const h = this.heap;
    h.push(ev);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  pop(): E | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l], h[m])) m = l;
        if (r < h.length && less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function less(a: Timed, b: Timed): boolean {
  return a.time < b.time || (a.time === b.time && a.order < b.order);
}

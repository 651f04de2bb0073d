/**
 * A binary min-heap of timed events. Events due at the same instant come out in the order they
 * were scheduled, so a run never depends on how the heap happens to break ties.
 *
 * Times and sequence numbers live in typed arrays (grown by doubling), the events in a parallel
 * array: a sift compares numbers in contiguous memory and follows no pointer. Each event carries
 * a small tag (0 or 1, e.g. "counts as work"), stored in the low bit of its sequence number so
 * that it costs no array of its own and never changes the order.
 */
export class EventQueue<E> {
  #at = new Float64Array(1024);
  /** 2 * scheduling order + tag. */
  #seq = new Float64Array(1024);
  #events: (E | undefined)[] = [];
  #size = 0;
  #nextSeq = 0;

  get size(): number {
    return this.#size;
  }

  /** When the next event is due; Infinity when there is none. */
  peekTime(): number {
    return this.#size === 0 ? Infinity : this.#at[0]!;
  }

  push(at: number, event: E, tag: 0 | 1 = 0): void {
    if (!(at >= 0) || at === Infinity) throw new RangeError(`an event time must be finite and >= 0, got ${at}`);
    if (this.#size === this.#at.length) this.#grow();
    const at_ = this.#at;
    const seq_ = this.#seq;
    const events = this.#events;
    const seq = 2 * this.#nextSeq++ + tag;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pa = at_[parent]!;
      if (pa < at || (pa === at && seq_[parent]! < seq)) break;
      at_[i] = pa;
      seq_[i] = seq_[parent]!;
      events[i] = events[parent];
      i = parent;
    }
    at_[i] = at;
    seq_[i] = seq;
    events[i] = event;
  }

  /**
   * Removes and returns the earliest event; undefined when empty. `lastTime` and `lastTag` tell
   * when it was due and how it was tagged.
   */
  pop(): E | undefined {
    const n = this.#size;
    if (n === 0) return undefined;
    const at_ = this.#at;
    const seq_ = this.#seq;
    const events = this.#events;
    const top = events[0];
    this.lastTime = at_[0]!;
    this.lastTag = seq_[0]! % 2;
    const size = n - 1;
    this.#size = size;
    const lastAt = at_[size]!;
    const lastSeq = seq_[size]!;
    const lastEvent = events[size];
    events[size] = undefined;
    if (size > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        let child = left;
        let ca = at_[left]!;
        if (right < size) {
          const ra = at_[right]!;
          if (ra < ca || (ra === ca && seq_[right]! < seq_[left]!)) {
            child = right;
            ca = ra;
          }
        }
        if (lastAt < ca || (lastAt === ca && lastSeq < seq_[child]!)) break;
        at_[i] = ca;
        seq_[i] = seq_[child]!;
        events[i] = events[child];
        i = child;
      }
      at_[i] = lastAt;
      seq_[i] = lastSeq;
      events[i] = lastEvent;
    }
    return top;
  }

  /** The due time of the event `pop()` returned last. */
  lastTime = 0;
  /** The tag of the event `pop()` returned last. */
  lastTag = 0;

  #grow(): void {
    const at = new Float64Array(this.#at.length * 2);
    at.set(this.#at);
    this.#at = at;
    const seq = new Float64Array(this.#seq.length * 2);
    seq.set(this.#seq);
    this.#seq = seq;
  }
}

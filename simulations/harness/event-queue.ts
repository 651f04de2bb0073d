/**
 * A binary min-heap of timed events. Events due at the same instant come out in the order they
 * were scheduled, so a run never depends on how the heap happens to break ties.
 */
export class EventQueue<E> {
  #at: number[] = [];
  #seq: number[] = [];
  #events: E[] = [];
  #nextSeq = 0;

  get size(): number {
    return this.#events.length;
  }

  /** When the next event is due; Infinity when there is none. */
  peekTime(): number {
    return this.#events.length === 0 ? Infinity : this.#at[0]!;
  }

  push(at: number, event: E): void {
    if (!(at >= 0) || at === Infinity) throw new RangeError(`an event time must be finite and >= 0, got ${at}`);
    const at_ = this.#at;
    const seq_ = this.#seq;
    const events = this.#events;
    const seq = this.#nextSeq++;
    let i = events.length;
    at_.push(at);
    seq_.push(seq);
    events.push(event);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pa = at_[parent]!;
      if (pa < at || (pa === at && seq_[parent]! < seq)) break;
      at_[i] = pa;
      seq_[i] = seq_[parent]!;
      events[i] = events[parent]!;
      i = parent;
    }
    at_[i] = at;
    seq_[i] = seq;
    events[i] = event;
  }

  /** Removes and returns the earliest event; undefined when empty. `lastTime` tells when it was due. */
  pop(): E | undefined {
    const events = this.#events;
    const n = events.length;
    if (n === 0) return undefined;
    const at_ = this.#at;
    const seq_ = this.#seq;
    const top = events[0]!;
    this.lastTime = at_[0]!;
    const lastAt = at_.pop()!;
    const lastSeq = seq_.pop()!;
    const lastEvent = events.pop()!;
    const size = n - 1;
    if (size > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        let child = left;
        if (right < size && (at_[right]! < at_[left]! || (at_[right] === at_[left] && seq_[right]! < seq_[left]!))) child = right;
        const ca = at_[child]!;
        if (lastAt < ca || (lastAt === ca && lastSeq < seq_[child]!)) break;
        at_[i] = ca;
        seq_[i] = seq_[child]!;
        events[i] = events[child]!;
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
}

import { EventQueue } from './event-queue.ts';

/**
 * A discrete-event simulation on a virtual clock: time advances only from one scheduled event to
 * the next, never with the wall clock, so a run is as fast as its events and the same every time.
 * Times are virtual milliseconds from the start of the run.
 *
 * An event scheduled with `work` counts as pending work until it has run (`pendingWork`): a
 * world tells by it whether anything but its own periodic ticks is still to come, without
 * wrapping every event in a closure that counts.
 */
export class Simulation {
  readonly #queue = new EventQueue<() => void>();
  #now = 0;
  #events = 0;
  #work = 0;

  get now(): number {
    return this.#now;
  }

  /** Events run so far. */
  get events(): number {
    return this.#events;
  }

  /** Events still scheduled. */
  get pending(): number {
    return this.#queue.size;
  }

  /** Events scheduled with `work` that have not run yet. */
  get pendingWork(): number {
    return this.#work;
  }

  /** Runs `fn` at virtual time `time` (not before now). */
  at(time: number, fn: () => void): void {
    if (time < this.#now) throw new RangeError(`cannot schedule at ${time}, the clock is already at ${this.#now}`);
    this.#queue.push(time, fn);
  }

  /** As `at`, counted in pendingWork until it has run. */
  work(time: number, fn: () => void): void {
    if (time < this.#now) throw new RangeError(`cannot schedule at ${time}, the clock is already at ${this.#now}`);
    this.#queue.push(time, fn, 1);
    this.#work++;
  }

  /** Runs `fn` `delay` ms from now. */
  after(delay: number, fn: () => void): void {
    this.at(this.#now + delay, fn);
  }

  /**
   * Runs events in time order until none is left, the next one is after `until`, or `done()`
   * says so (checked after each event). `onProgress` is called every `progressEvery` events.
   */
  run(options: { until?: number; done?: () => boolean; onProgress?: (events: number) => void; progressEvery?: number } = {}): void {
    const until = options.until ?? Infinity;
    const every = options.progressEvery ?? 65_536;
    const { done, onProgress } = options;
    const queue = this.#queue;
    while (queue.size > 0 && queue.peekTime() <= until) {
      const fn = queue.pop() as () => void;
      this.#now = queue.lastTime;
      if (queue.lastTag === 1) this.#work--;
      fn();
      this.#events++;
      if (done !== undefined && done()) return;
      if (onProgress !== undefined && this.#events % every === 0) onProgress(this.#events);
    }
    if (until !== Infinity && until > this.#now) this.#now = until;
  }
}

import type { TaskStatus } from '../src/core/model.ts';

/**
 * How many tasks were in each status, sampled over time: what the dashboard's "tasks per status"
 * chart draws. The engine keeps only the present, so this keeps a bounded past (a ring of
 * samples, oldest dropped first) by reading the engine's counts on a timer and whenever a caller
 * asks, so the last sample is always now.
 */

export interface StatusSample {
  at: number;
  tasks: Record<TaskStatus, number>;
}

export interface StatusHistoryComponents {
  /** The counts now (the engine's network view). */
  read(): Record<TaskStatus, number>;
  clock?: () => number;
}

export interface StatusHistoryOptions {
  intervalMs: number;
  /** Samples kept; the oldest goes first. */
  capacity: number;
}

export interface StatusHistory {
  start(): void;
  stop(): void;
  /** Oldest first, ending with a sample taken now. */
  samples(): StatusSample[];
}

export function createStatusHistory(components: StatusHistoryComponents, options: StatusHistoryOptions): StatusHistory {
  const clock = components.clock ?? Date.now;
  const ring: StatusSample[] = [];
  let timer: NodeJS.Timeout | undefined;
  const take = (): StatusSample => ({ at: clock(), tasks: { ...components.read() } });
  const keep = (sample: StatusSample) => {
    ring.push(sample);
    if (ring.length > options.capacity) ring.splice(0, ring.length - options.capacity);
  };
  return {
    start() {
      if (timer !== undefined) return;
      keep(take());
      timer = setInterval(() => keep(take()), options.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    samples() {
      return [...ring, take()];
    },
  };
}

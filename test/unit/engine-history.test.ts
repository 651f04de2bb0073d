// The status history behind the dashboard's chart (hub/engine-history.ts): a bounded ring whose
// last sample is always now.
import { afterEach, describe, expect, it } from 'vitest';
import { createStatusHistory, type StatusHistory } from '../../hub/engine-history.ts';

const counts = (validated: number) => ({ validating: 0, pending: 0, invalid: 0, in_queue: 0, in_progress: 0, completed: 0, validated, failed: 0, abandoned: 0 });

let history: StatusHistory | undefined;
afterEach(() => history?.stop());

describe('the status history', () => {
  it('keeps at most `capacity` samples, oldest dropped first, and ends with one taken now', async () => {
    let now = 1_000;
    let validated = 0;
    history = createStatusHistory({ read: () => counts(validated), clock: () => now }, { intervalMs: 5, capacity: 3 });
    history.start();
    for (let i = 1; i <= 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 15));
      now += 1_000;
      validated = i;
    }
    const samples = history.samples();
    expect(samples).toHaveLength(4);
    expect(samples.at(-1)).toEqual({ at: now, tasks: counts(5) });
    // Oldest first, and the first sample (taken at start) is gone.
    expect(samples.map((s) => s.at)).toEqual([...samples.map((s) => s.at)].sort((a, b) => a - b));
    expect(samples[0]!.at).toBeGreaterThan(1_000);
  });

  it('copies what it reads, so later changes do not rewrite the past', () => {
    const live = counts(1);
    history = createStatusHistory({ read: () => live, clock: () => 1 }, { intervalMs: 60_000, capacity: 10 });
    history.start();
    live.validated = 9;
    const [first, now] = history.samples();
    expect(first!.tasks.validated).toBe(1);
    expect(now!.tasks.validated).toBe(9);
  });
});

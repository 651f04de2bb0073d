import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/core/backoff.ts';

const policy = { baseMs: 100, maxMs: 5_000 };

describe('backoffDelay', () => {
  it('doubles the ceiling with each consecutive failure', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, policy, 0.999999))).toEqual([100, 200, 400, 800]);
  });

  it('waits between half and all of the ceiling, by the random number', () => {
    expect(backoffDelay(3, policy, 0)).toBe(200);
    expect(backoffDelay(3, policy, 0.5)).toBe(300);
  });

  it('never exceeds the cap, however many failures', () => {
    expect(backoffDelay(10, policy, 0.999999)).toBe(5_000);
    expect(backoffDelay(1_000_000, policy, 0.999999)).toBe(5_000);
    expect(backoffDelay(1_000_000, policy, 0)).toBe(2_500);
  });

  it('treats zero or negative failure counts as the first', () => {
    expect(backoffDelay(0, policy, 0)).toBe(50);
    expect(backoffDelay(-3, policy, 0)).toBe(50);
  });
});

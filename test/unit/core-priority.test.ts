import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, MIN_RESOURCE_WEIGHT, mergeParams, priority, taskWeight } from '../../src/core/index.ts';
import { makeTask } from './core-fixtures.ts';

describe('priority P = (A / R - S * Ps) * W', () => {
  it('divides the age in seconds by R = cpu + (ramGb / 2)', () => {
    // R = 2 + 4 / 2 = 4 (not (2 + 4) / 2 = 3): 40 s / 4 = 10.
    const task = makeTask({ submittedAt: 1_000, spec: { cpu: 2, ramGb: 4 } });
    expect(taskWeight(task)).toBe(4);
    expect(priority(task, 41_000, DEFAULT_PARAMS)).toBe(10);
  });

  it('subtracts S * Ps', () => {
    const task = makeTask({ submittedAt: 0, staleness: 2, spec: { cpu: 1, ramGb: 2 } });
    // 100 / 2 - 2 * 10 = 30
    expect(priority(task, 100_000, DEFAULT_PARAMS)).toBe(30);
  });

  it('applies the in-progress boost to a task that already has running replicas', () => {
    const waiting = makeTask({ status: 'pending', spec: { cpu: 1, ramGb: 2 } });
    const running = makeTask({ status: 'in_progress', spec: { cpu: 1, ramGb: 2 } });
    const now = 60_000;
    expect(priority(waiting, now, DEFAULT_PARAMS)).toBe(30);
    expect(priority(running, now, DEFAULT_PARAMS)).toBeCloseTo(36, 12);
    const boosted = mergeParams({ scheduling: { inProgressBoost: 2 } });
    expect(priority(running, now, boosted)).toBe(60);
  });

  it('never divides by zero, even for an empty or malformed request', () => {
    const empty = makeTask({ spec: { cpu: 0, ramGb: 0 } });
    expect(taskWeight(empty)).toBe(MIN_RESOURCE_WEIGHT);
    expect(Number.isFinite(priority(empty, 10_000, DEFAULT_PARAMS))).toBe(true);
    const broken = makeTask({ spec: { cpu: Number.NaN, ramGb: 1 } });
    expect(Number.isFinite(priority(broken, 10_000, DEFAULT_PARAMS))).toBe(true);
  });

  it('favours older and smaller tasks', () => {
    const now = 100_000;
    const old = makeTask({ submittedAt: 0 });
    const young = makeTask({ submittedAt: 50_000 });
    const big = makeTask({ submittedAt: 0, spec: { cpu: 8, ramGb: 16 } });
    expect(priority(old, now, DEFAULT_PARAMS)).toBeGreaterThan(priority(young, now, DEFAULT_PARAMS));
    expect(priority(old, now, DEFAULT_PARAMS)).toBeGreaterThan(priority(big, now, DEFAULT_PARAMS));
  });
});

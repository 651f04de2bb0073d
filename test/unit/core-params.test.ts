import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, InvalidParamsError, maxFailures, mergeParams, type PartialCoreParams } from '../../src/core/index.ts';

function fieldOf(partial: unknown): string {
  try {
    mergeParams(partial as PartialCoreParams);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidParamsError);
    expect((error as InvalidParamsError).code).toBe('CORE_INVALID_PARAMS');
    expect((error as InvalidParamsError).status).toBe(400);
    return (error as InvalidParamsError).field;
  }
  throw new Error('mergeParams accepted bad params');
}

describe('core params', () => {
  it("keeps the original prototype's defaults", () => {
    expect(DEFAULT_PARAMS.trust).toEqual({ initial: 5, min: 1, max: 10, reward: 0.1, penalty: 0.2 });
    expect(DEFAULT_PARAMS.validation).toEqual({ policy: 'trust-sum', threshold: 0.6 });
    expect(DEFAULT_PARAMS.scheduling).toEqual({ policy: 'heuristic', activeQueueSize: 10, stalePenalty: 10, staleCeiling: 50, inProgressBoost: 1.2 });
    expect(DEFAULT_PARAMS.taskDefaults).toEqual({ minTrust: 5, overlap: 1 });
    expect(DEFAULT_PARAMS.agents).toEqual({ heartbeatIntervalMs: 30_000, inactiveAfterMs: 120_000 });
    expect(maxFailures(DEFAULT_PARAMS)).toBe(5);
  });

  it('deep-merges a partial over the defaults without touching them', () => {
    const merged = mergeParams({ trust: { reward: 0.5 }, scheduling: { policy: 'fifo' } });
    expect(merged.trust).toEqual({ ...DEFAULT_PARAMS.trust, reward: 0.5 });
    expect(merged.scheduling.policy).toBe('fifo');
    expect(merged.scheduling.staleCeiling).toBe(50);
    expect(DEFAULT_PARAMS.trust.reward).toBe(0.1);
    expect(Object.isFrozen(merged.trust)).toBe(true);
  });

  it('names the bad field', () => {
    expect(fieldOf({ validation: { threshold: 0 } })).toBe('validation.threshold');
    expect(fieldOf({ validation: { threshold: 1.01 } })).toBe('validation.threshold');
    expect(fieldOf({ trust: { min: 6, max: 4 } })).toBe('trust.min');
    expect(fieldOf({ trust: { initial: 11 } })).toBe('trust.initial');
    expect(fieldOf({ trust: { penalty: -1 } })).toBe('trust.penalty');
    expect(fieldOf({ scheduling: { stalePenalty: 0 } })).toBe('scheduling.stalePenalty');
    expect(fieldOf({ scheduling: { activeQueueSize: 2.5 } })).toBe('scheduling.activeQueueSize');
    expect(fieldOf({ scheduling: { policy: 'random' } })).toBe('scheduling.policy');
    expect(fieldOf({ validation: { policy: 'majority' } })).toBe('validation.policy');
    expect(fieldOf({ taskDefaults: { overlap: 0 } })).toBe('taskDefaults.overlap');
    expect(fieldOf({ agents: { inactiveAfterMs: 1000 } })).toBe('agents.inactiveAfterMs');
    expect(fieldOf({ assignments: { graceMs: Number.NaN } })).toBe('assignments.graceMs');
    expect(fieldOf({ trust: { reward: '0.1' } })).toBe('trust.reward');
    expect(fieldOf({ trust: { rewrad: 0.1 } })).toBe('trust.rewrad');
    expect(fieldOf({ shceduling: {} })).toBe('shceduling');
    expect(fieldOf({ trust: 5 })).toBe('trust');
  });

  it('derives the number of failures a task survives from ceiling and penalty', () => {
    expect(maxFailures(mergeParams({ scheduling: { stalePenalty: 10, staleCeiling: 55 } }))).toBe(6);
    expect(maxFailures(mergeParams({ scheduling: { stalePenalty: 25, staleCeiling: 50 } }))).toBe(2);
  });
});

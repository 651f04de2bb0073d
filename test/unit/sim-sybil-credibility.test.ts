import { describe, expect, it } from 'vitest';
import { type SybilInput, runSybil } from '../../simulations/scenarios/sybil.ts';
import { SMALL_SYBIL_RUN } from '../support/sim.ts';

/** 20 honest agents; the attacker holds 30% of the identities at the start and mints 60 keys an hour. */
const attack: SybilInput = { ...SMALL_SYBIL_RUN, fraction: 0.3, mintPerHour: 60 };

describe('sybil scenario: credibility against the trust sum, same seed', () => {
  it('accepts none of the wrong results a trust sum accepts, with fewer executions per task', () => {
    for (const collude of [1, 0.5]) {
      const trustSum = runSybil({ ...attack, collude });
      const credibility = runSybil({ ...attack, collude, validation: 'credibility' });
      expect(trustSum.tasks.acceptedWrong).toBeGreaterThan(0);
      expect(credibility.tasks.acceptedWrong).toBe(0);
      expect(credibility.tasks.validated).toBeGreaterThanOrEqual(trustSum.tasks.validated);
      expect(credibility.executionsPerAcceptedTask).toBeLessThan(2.5);
      expect(credibility.executionsPerAcceptedTask).toBeLessThan(trustSum.executionsPerAcceptedTask);
    }
  });

  it('tests fresh keys with known-answer tasks before they vote: the attacker\'s new keys are caught and never counted', () => {
    const trustSum = runSybil(attack);
    const credibility = runSybil({ ...attack, validation: 'credibility' });
    expect(trustSum.freshIdentities.voted).toBeGreaterThan(0);
    expect(trustSum.freshIdentities.wonWrong).toBeGreaterThan(0);
    expect(credibility.spotChecks.added).toBeGreaterThan(0);
    expect(credibility.spotChecks.liarsCaught).toBeGreaterThan(credibility.identities.attackerAtStart);
    expect(credibility.freshIdentities.voted).toBe(0);
    expect(credibility.freshIdentities.wonWrong).toBe(0);
    expect(credibility.attackerEligibleAtEnd).toBe(0);
  });

  it('runs an honest network near one replica per task once agents have a record', () => {
    const honest = { ...attack, fraction: 0, mintPerHour: 0, durationS: 3600, warmupS: 1200 };
    const trustSum = runSybil(honest);
    const credibility = runSybil({ ...honest, validation: 'credibility' });
    expect(trustSum.executionsPerAcceptedTask).toBe(3);
    expect(credibility.tasks.acceptedWrong).toBe(0);
    expect(credibility.spotChecks.liarsCaught).toBe(0);
    expect(credibility.executionsPerAcceptedTask).toBeGreaterThan(1);
    expect(credibility.executionsPerAcceptedTask).toBeLessThanOrEqual(1.3);
  });

  it('is the same run for the same seed', () => {
    const input: SybilInput = { ...attack, collude: 0.5, validation: 'credibility', durationS: 900 };
    expect(runSybil(input)).toEqual(runSybil(input));
  });
});

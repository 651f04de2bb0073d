import { describe, expect, it } from 'vitest';
import { VALIDATION_POLICIES } from '../../src/core/index.ts';
import { defaults } from '../../simulations/harness/options.ts';
import { type SybilInput, runSybil, sybil } from '../../simulations/scenarios/sybil.ts';
import { SMALL_SYBIL_RUN } from '../support/sim.ts';

const base: SybilInput = SMALL_SYBIL_RUN;

describe('sybil scenario', () => {
  it('accepts no wrong result without an attacker', () => {
    const r = runSybil(base);
    expect(r.identities).toEqual({ honest: 20, attackerAtStart: 0, minted: 0 });
    expect(r.tasks.validated).toBeGreaterThan(500);
    expect(r.tasks.acceptedWrong).toBe(0);
    expect(r.executionsPerAcceptedTask).toBe(3);
  });

  it('gives the attacker its share of the identities and lets a trust sum be outvoted as that share grows', () => {
    const small = runSybil({ ...base, fraction: 0.2 });
    const large = runSybil({ ...base, fraction: 0.6 });
    expect(small.identities.attackerAtStart).toBe(5); // 5 of 25 = 0.2
    expect(large.identities.attackerAtStart).toBe(30); // 30 of 50 = 0.6
    expect(large.tasks.acceptedWrong).toBeGreaterThan(0);
    expect(large.tasks.acceptedWrongRate).toBeGreaterThan(small.tasks.acceptedWrongRate);
    // Liars lose trust when they lose a vote; those that drop below the tasks' minimum get no more work.
    expect(large.attackerEligibleAtEnd).toBeLessThan(large.identities.attackerAtStart);
  });

  it('sees freshly minted identities vote (a trust sum gives newcomers full weight at once)', () => {
    const r = runSybil({ ...base, fraction: 0.3, mintPerHour: 120 });
    expect(r.identities.minted).toBeGreaterThan(30);
    expect(r.freshIdentities.voted).toBeGreaterThan(0);
    expect(r.freshIdentities.mintToFirstVoteS).toBeGreaterThanOrEqual(0);
  });

  it('reports every validation policy the core offers, for every fraction', () => {
    const options = { ...defaults(sybil.options), fractions: [0, 0.5], duration: 600, honest: 10 };
    const out = sybil.run({ seeds: [1], options });
    const mean = (out.result as { mean: Array<{ policy: string; fraction: number }> }).mean;
    expect(mean.map((m) => [m.policy, m.fraction])).toEqual(VALIDATION_POLICIES.flatMap((p) => [[p, 0], [p, 0.5]]));
    expect(out.charts.map((c) => c.name)).toEqual(['accepted-wrong', 'executions-per-task']);
  });
});

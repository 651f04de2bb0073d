import { describe, expect, it } from 'vitest';
import { defaults } from '../../simulations/harness/options.ts';
import { type VariantReport, trustValidation } from '../../simulations/scenarios/trust-validation.ts';

/** The thesis' experiment 6.1 through the simulated hub: the numbers must be the core's consensus. */
function variants(overrides: Partial<ReturnType<typeof defaults<typeof trustValidation.options>>> = {}): VariantReport[] {
  const options = { ...defaults(trustValidation.options), ...overrides };
  return (trustValidation.run({ seeds: [1], options }).result as { variants: VariantReport[] }).variants;
}

describe('trust-validation scenario (thesis 6.1)', () => {
  const [thesis, heavier] = variants();

  it('reproduces Table 6.1: 14.0 vs 9.0, shares 0.6087 / 0.3913, "42" accepted with trust score 6.1', () => {
    const d = thesis!.firstDecision;
    expect(d.outcome).toBe('validated');
    expect(d.accepted).toBe('42');
    expect(d.trustScore).toBe(6.1);
    expect(d.score).toBe(0.6087);
    expect(d.groups.map((g) => [g.answer, g.trustSum, g.share, g.agents.length])).toEqual([
      ['42', 14, 0.6087, 2],
      ['evil', 9, 0.3913, 3],
    ]);
  });

  it('moves trust as the thesis does: honest 7.0 -> 7.1, malicious 3.0 -> 2.8', () => {
    expect(thesis!.agents.map((a) => [a.answer, a.trustBefore, a.trustAfter])).toEqual([
      ['42', 7, 7.1],
      ['42', 7, 7.1],
      ['evil', 3, 2.8],
      ['evil', 3, 2.8],
      ['evil', 3, 2.8],
    ]);
    expect(thesis!.task).toEqual({ status: 'validated', rounds: 1, decisions: 1 });
  });

  it('rejects the result when the malicious agents hold 3.5 each (14 / 24.5 = 0.571 < 0.6) and moves no trust', () => {
    const d = heavier!.firstDecision;
    expect(heavier!.maliciousTrust).toBe(3.5);
    expect(d.outcome).toBe('failed');
    expect(d.accepted).toBeNull();
    expect(d.score).toBe(0.5714);
    expect(d.groups.map((g) => [g.answer, g.trustSum])).toEqual([
      ['42', 14],
      ['evil', 10.5],
    ]);
    for (const a of heavier!.agents) expect(a.trustAfter).toBe(a.trustBefore);
    // Every retry meets the same split: the task is abandoned at the staleness ceiling (5 rounds).
    expect(heavier!.task.status).toBe('abandoned');
    expect(heavier!.task.rounds).toBe(5);
  });

  it('follows its options: a lower threshold accepts the 3.5 split', () => {
    const [v] = variants({ threshold: 0.55, 'malicious-trust': [3.5] });
    expect(v!.firstDecision.outcome).toBe('validated');
    expect(v!.firstDecision.trustScore).toBe(5.7);
    expect(v!.agents.filter((a) => a.answer === 'evil').map((a) => a.trustAfter)).toEqual([3.3, 3.3, 3.3]);
  });
});

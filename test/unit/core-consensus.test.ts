import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, InvalidVotesError, mergeParams, trustSumPolicy, validationPolicy, type Vote } from '../../src/core/index.ts';

const params = mergeParams({ validation: { threshold: 0.6 } });
const policy = trustSumPolicy(params);

function votes(...groups: Array<[digest: string | null, trust: number, count: number]>): Vote[] {
  const out: Vote[] = [];
  for (const [digest, trust, count] of groups) {
    for (let i = 0; i < count; i++) out.push({ agentId: `${digest ?? 'failure'}-${out.length}`, digest, trust });
  }
  return out;
}

describe('trust-sum consensus', () => {
  it('reproduces the thesis Table 6.1: "42" accepted with trust score 6.1', () => {
    const decision = policy.decide(votes(['42', 7.0, 2], ['evil', 3.0, 3]));
    expect(decision.outcome).toBe('validated');
    expect(decision.digest).toBe('42');
    expect(decision.groups.map((g) => [g.digest, g.weight, Number(g.share.toFixed(4))])).toEqual([
      ['42', 14.0, 0.6087],
      ['evil', 9.0, 0.3913],
    ]);
    expect(decision.score).toBeCloseTo(14 / 23, 12);
    expect(decision.trustScore).toBe(6.1);
    const after = Object.fromEntries(decision.trustChanges.map((c) => [c.agentId, [c.before, c.after]]));
    expect(after).toEqual({
      '42-0': [7.0, 7.1],
      '42-1': [7.0, 7.1],
      'evil-2': [3.0, 2.8],
      'evil-3': [3.0, 2.8],
      'evil-4': [3.0, 2.8],
    });
  });

  it('fails when the malicious three weigh 3.5 each (14 / 24.5 = 0.571 < 0.6) and moves no trust', () => {
    const decision = policy.decide(votes(['42', 7.0, 2], ['evil', 3.5, 3]));
    expect(decision.outcome).toBe('failed');
    expect(decision.digest).toBeNull();
    expect(decision.score).toBeCloseTo(0.5714, 4);
    expect(decision.groups.map((g) => g.weight)).toEqual([14, 10.5]);
    expect(decision.trustChanges).toEqual([]);
    expect(decision.reason).toMatch(/below the 60\.0% threshold/);
  });

  it('accepts exactly at the threshold', () => {
    // 6 / (6 + 4) = 0.6
    const decision = policy.decide(votes(['a', 6, 1], ['b', 4, 1]));
    expect(decision.outcome).toBe('validated');
    expect(decision.score).toBe(0.6);
  });

  it('ignores failures: they neither vote nor change trust', () => {
    const decision = policy.decide(votes(['a', 5, 2], [null, 9, 2]));
    expect(decision.outcome).toBe('validated');
    expect(decision.score).toBe(1);
    expect(decision.trustScore).toBe(10);
    expect(decision.groups).toHaveLength(1);
    expect(decision.trustChanges.map((c) => c.agentId).sort()).toEqual(['a-0', 'a-1']);
  });

  it('fails with score 0 when every replica reported a failure', () => {
    const decision = policy.decide(votes([null, 5, 3]));
    expect(decision).toMatchObject({ outcome: 'failed', digest: null, score: 0, trustScore: 0, groups: [], trustChanges: [] });
  });

  it('never accepts one of two equally heavy results, even with a low threshold', () => {
    const lenient = trustSumPolicy(mergeParams({ validation: { threshold: 0.5 } }));
    const decision = lenient.decide(votes(['a', 5, 1], ['b', 5, 1]));
    expect(decision.outcome).toBe('failed');
    expect(decision.reason).toMatch(/tie/);
  });

  it('keeps trust within [min, max]', () => {
    const decision = policy.decide([
      { agentId: 'top', digest: 'x', trust: 10 },
      { agentId: 'almost', digest: 'x', trust: 9.95 },
      { agentId: 'bottom', digest: 'y', trust: 1.1 },
    ]);
    const after = Object.fromEntries(decision.trustChanges.map((c) => [c.agentId, c.after]));
    expect(after).toEqual({ top: 10, almost: 10, bottom: 1 });
  });

  it('starts trust changes from the current trust when the context gives it', () => {
    const decision = policy.decide(votes(['42', 7.0, 2], ['evil', 3.0, 3]), { currentTrust: (id) => (id === '42-0' ? 8 : undefined) });
    const first = decision.trustChanges.find((c) => c.agentId === '42-0');
    expect(first).toEqual({ agentId: '42-0', before: 8, after: 8.1 });
  });

  it('rejects one agent voting twice and invalid trust with a typed error', () => {
    const twice = [
      { agentId: 'a', digest: 'x', trust: 5 },
      { agentId: 'a', digest: 'y', trust: 5 },
    ];
    expect(() => policy.decide(twice)).toThrow(InvalidVotesError);
    try {
      policy.decide([{ agentId: 'a', digest: 'x', trust: Number.NaN }]);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidVotesError);
      expect((error as InvalidVotesError).code).toBe('CONSENSUS_INVALID_VOTES');
    }
  });

  it('finds a second vote of one agent and groups alike among few votes and among many', () => {
    // Up to 8 votes the policy searches arrays, past that it builds hash tables: the same answers.
    for (const size of [2, 8, 9, 40]) {
      const many: Vote[] = Array.from({ length: size }, (_, i) => ({ agentId: `agent-${i}`, digest: ['b', 'a', 'c'][i % 3] as string, trust: 1 + (i % 4) }));
      expect(() => policy.decide([...many, { agentId: `agent-${size - 1}`, digest: 'a', trust: 1 }])).toThrow(InvalidVotesError);
      const decision = policy.decide(many);
      const expected = ['b', 'a', 'c']
        .map((digest) => ({ digest, voters: many.filter((v) => v.digest === digest).map((v) => v.agentId), weight: many.filter((v) => v.digest === digest).reduce((w, v) => w + v.trust, 0) }))
        .filter((g) => g.voters.length > 0)
        .sort((x, y) => y.weight - x.weight || (x.digest < y.digest ? -1 : 1));
      expect(decision.groups.map((g) => ({ digest: g.digest, voters: g.voters, weight: g.weight }))).toEqual(expected);
    }
  });

  it('is chosen by name from the params', () => {
    expect(validationPolicy(DEFAULT_PARAMS).name).toBe('trust-sum');
  });
});

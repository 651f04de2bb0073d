import { describe, expect, it } from 'vitest';
import {
  type Agent,
  type AgentStats,
  agentCredibility,
  credibilityPolicy,
  type DecisionContext,
  groupCredibility,
  DEFAULT_PARAMS,
  InvalidParamsError,
  InvalidVotesError,
  mergeParams,
  type PartialCoreParams,
  recordLogOdds,
  recordVerdict,
  validationPolicy,
  verdictOf,
  type Vote,
} from '../../src/core/index.ts';
import { makeAgent } from './core-fixtures.ts';

// growth ln 3: an agent with a record of k has odds 3^k, so every case below is hand-computable.
const params = mergeParams({
  validation: { policy: 'credibility' },
  credibility: { epsilon: 0.01, growth: Math.log(3), maxRecord: 10, witness: 0.9, initialReplicas: 1, maxReplicas: 4, audit: 0.25 },
});
const policy = credibilityPolicy(params);

function stats(consecutiveValid: number, more: Partial<AgentStats> = {}): AgentStats {
  return { valid: consecutiveValid, invalid: 0, consecutiveValid, ...more };
}

/** Agents by id with the given records; votes for them at trust 5. */
function network(records: Record<string, AgentStats>): { votes: (...pairs: Array<[id: string, digest: string | null]>) => Vote[]; context: (random?: () => number) => DecisionContext } {
  const agents = new Map<string, Agent>(Object.entries(records).map(([id, s]) => [id, makeAgent({ id, stats: s })]));
  return {
    votes: (...pairs) => pairs.map(([agentId, digest]) => ({ agentId, digest, trust: 5 })),
    context: (random) => ({ agent: (id) => agents.get(id), ...(random === undefined ? {} : { random }) }),
  };
}

describe('credibility of one agent', () => {
  it('is 1/2 for a newcomer and grows with the verified record as odds 3^k, up to maxRecord', () => {
    expect(agentCredibility(stats(0), params.credibility)).toBe(0.5);
    expect(agentCredibility(undefined, params.credibility)).toBe(0.5);
    expect(agentCredibility(stats(1), params.credibility)).toBeCloseTo(3 / 4, 12);
    expect(agentCredibility(stats(2), params.credibility)).toBeCloseTo(9 / 10, 12);
    expect(recordLogOdds(stats(50), params.credibility)).toBeCloseTo(10 * Math.log(3), 12);
  });

  it('counts only the run since the last wrong result: one wrong answer brings it back to a newcomer\'s at once', () => {
    const veteran = stats(9, { valid: 40, invalid: 0 });
    expect(agentCredibility(veteran, params.credibility)).toBeCloseTo(19_683 / 19_684, 12);
    const after = recordVerdict(veteran, 'invalid');
    expect(after).toEqual({ valid: 40, invalid: 1, consecutiveValid: 0 });
    expect(agentCredibility(after, params.credibility)).toBe(0.5);
    expect(recordVerdict(after, 'valid')).toEqual({ valid: 41, invalid: 1, consecutiveValid: 1 });
  });

  it('gives a proven liar no influence whatever its record', () => {
    expect(agentCredibility(stats(8, { spotChecksFailed: 1 }), params.credibility)).toBe(0.5);
  });
});

describe('credibility of a group (Sarmenta: W / (1 + sum W), W = product of odds)', () => {
  it('computes the hand-worked cases', () => {
    // One group of odds 81 (two agents with records 2): 81 / 82.
    expect(groupCredibility(Math.log(81), [Math.log(81)])).toBeCloseTo(81 / 82, 12);
    // 243 against 9: 243 / (1 + 243 + 9).
    expect(groupCredibility(Math.log(243), [Math.log(243), Math.log(9)])).toBeCloseTo(243 / 253, 12);
    expect(groupCredibility(Math.log(9), [Math.log(243), Math.log(9)])).toBeCloseTo(9 / 253, 12);
  });

  it('does not overflow with long records', () => {
    const huge = 6 * 1000;
    const cr = groupCredibility(huge, [huge, 10]);
    expect(Number.isFinite(cr)).toBe(true);
    expect(cr).toBeGreaterThan(0.999_999);
  });
});

describe('credibility policy', () => {
  it('is selectable by name beside trust-sum', () => {
    expect(validationPolicy(params).name).toBe('credibility');
    expect(validationPolicy(mergeParams()).name).toBe('trust-sum');
  });

  it('accepts three agreeing agents with records 2 (729 / 730 >= 0.99) and credits each of them', () => {
    const n = network({ a: stats(2), b: stats(2), c: stats(2) });
    const decision = policy.decide(n.votes(['a', '42'], ['b', '42'], ['c', '42']), n.context());
    expect(decision.outcome).toBe('validated');
    expect(decision.digest).toBe('42');
    expect(decision.score).toBeCloseTo(729 / 730, 12);
    expect(decision.trustScore).toBe(10);
    expect(decision.groups).toHaveLength(1);
    expect(decision.groups[0]?.weight).toBeCloseTo(729, 9);
    // Without any one of them the other two still give 81 / 82 >= witness 0.9: each was cross-checked.
    expect(decision.unverified).toEqual([]);
    expect(decision.trustChanges.map((c) => [c.agentId, c.after])).toEqual([['a', 5.1], ['b', 5.1], ['c', 5.1]]);
    expect(['a', 'b', 'c'].map((id) => verdictOf(decision, id))).toEqual(['valid', 'valid', 'valid']);
  });

  it('asks for one more replica while the result is not credible enough (81 / 82 < 0.99)', () => {
    const n = network({ a: stats(2), b: stats(2) });
    const decision = policy.decide(n.votes(['a', '42'], ['b', '42']), n.context());
    expect(decision.outcome).toBe('undecided');
    expect(decision.extraReplicas).toBe(1);
    expect(decision.digest).toBeNull();
    expect(decision.score).toBeCloseTo(81 / 82, 12);
    expect(decision.trustChanges).toEqual([]);
    expect(verdictOf(decision, 'a')).toBeNull();
  });

  it('gives any number of newcomers together no more weight than none: keys buy no influence', () => {
    const records = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`sybil-${i}`, stats(0)]));
    const many = mergeParams({ validation: { policy: 'credibility' }, credibility: { ...params.credibility, maxReplicas: 64 } });
    const n = network(records);
    const decision = credibilityPolicy(many).decide(n.votes(...Object.keys(records).map((id): [string, string] => [id, 'wrong'])), n.context());
    expect(decision.outcome).toBe('undecided');
    expect(decision.score).toBe(0.5);
    // Against one agent with a record of 5 (odds 243), forty newcomers change nothing: 243 / (1 + 243 + 1).
    const m = network({ ...records, veteran: stats(5) });
    const against = credibilityPolicy(many).decide(m.votes(['veteran', '42'], ...Object.keys(records).map((id): [string, string] => [id, 'wrong'])), m.context(() => 0.99));
    expect(against.groups[0]?.digest).toBe('42');
    expect(against.score).toBeCloseTo(243 / 245, 12);
  });

  it('weighs a disagreement: record 5 (243) against two records of 1 (9) is 243 / 253, undecided', () => {
    const n = network({ v: stats(5), x: stats(1), y: stats(1) });
    const decision = policy.decide(n.votes(['x', 'bad'], ['v', 'good'], ['y', 'bad']), n.context(() => 0.99));
    expect(decision.outcome).toBe('undecided');
    expect(decision.groups.map((g) => [g.digest, g.voters, Number(g.share.toFixed(6))])).toEqual([
      ['good', ['v'], Number((243 / 253).toFixed(6))],
      ['bad', ['x', 'y'], Number((9 / 253).toFixed(6))],
    ]);
  });

  it('penalizes the losers of an accepted result and resets their run', () => {
    // 243^2 against 1: 59049 / 59051 >= 0.99; without either winner, 243 / 245 >= 0.9.
    const n = network({ v: stats(5), w: stats(5), liar: stats(7) });
    const before = n.votes(['v', 'good'], ['w', 'good']);
    const decision = policy.decide([...before, { agentId: 'liar', digest: 'bad', trust: 6 }], n.context());
    expect(decision.outcome).toBe('undecided'); // the liar's record 7 (2187) still weighs: 59049 / 61237
    const fresh = network({ v: stats(5), w: stats(5), liar: stats(0) });
    const accepted = policy.decide([...before, { agentId: 'liar', digest: 'bad', trust: 6 }], fresh.context());
    expect(accepted.outcome).toBe('validated');
    expect(accepted.score).toBeCloseTo(59_049 / 59_051, 12);
    expect(accepted.unverified).toEqual([]);
    expect(accepted.trustChanges.find((c) => c.agentId === 'liar')).toEqual({ agentId: 'liar', before: 6, after: 5.8 });
    expect(verdictOf(accepted, 'liar')).toBe('invalid');
  });

  it('accepts a result resting on one credible agent only when the random cross-check spares it, and credits nobody', () => {
    // Record 5: 243 / 244 >= 0.99 alone. Audit probability max(0.25, 1/5) = 0.25.
    const n = network({ v: stats(5) });
    const votes = n.votes(['v', '42']);
    const spared = policy.decide(votes, n.context(() => 0.25));
    expect(spared.outcome).toBe('validated');
    expect(spared.score).toBeCloseTo(243 / 244, 12);
    expect(spared.unverified).toEqual(['v']);
    expect(spared.trustChanges).toEqual([]);
    expect(verdictOf(spared, 'v')).toBeNull();
    const checked = policy.decide(votes, n.context(() => 0.2499));
    expect(checked.outcome).toBe('undecided');
    expect(checked.extraReplicas).toBe(1);
    expect(checked.reason).toMatch(/cross-checked at random/);
    // Without randomness, such a result is always cross-checked.
    expect(policy.decide(votes, n.context()).outcome).toBe('undecided');
  });

  it('credits a newcomer confirmed by a credible agent, but not the credible agent (a newcomer confirms nothing)', () => {
    const n = network({ v: stats(5), newcomer: stats(0) });
    const decision = policy.decide(n.votes(['newcomer', '42'], ['v', '42']), n.context());
    expect(decision.outcome).toBe('validated');
    expect(decision.unverified).toEqual(['v']);
    expect(verdictOf(decision, 'newcomer')).toBe('valid');
    expect(decision.trustChanges.map((c) => c.agentId)).toEqual(['newcomer']);
  });

  it('fails the round once maxReplicas replicas leave it undecided, and ignores failure reports', () => {
    const n = network({ a: stats(1), b: stats(1), c: stats(0), d: stats(0) });
    const decision = policy.decide(n.votes(['a', 'x'], ['b', 'y'], ['c', 'x'], ['d', null]), n.context());
    expect(decision.outcome).toBe('failed');
    expect(decision.groups.map((g) => g.voters)).toEqual([['a', 'c'], ['b']]);
    expect(decision.reason).toMatch(/after 4 replicas/);
    expect(policy.decide([], n.context()).outcome).toBe('failed');
  });

  it('rejects an agent voting twice', () => {
    const n = network({ a: stats(1) });
    expect(() => policy.decide(n.votes(['a', 'x'], ['a', 'y']), n.context())).toThrow(InvalidVotesError);
  });
});

describe('credibility params', () => {
  it('default to epsilon 1e-4, a solo record of 14 and a probation record of 7 (odds doubling per verified result)', () => {
    const c = DEFAULT_PARAMS.credibility;
    expect(DEFAULT_PARAMS.validation.policy).toBe('trust-sum');
    expect(c.epsilon).toBe(1e-4);
    expect(agentCredibility(stats(13), c)).toBeLessThan(1 - c.epsilon);
    expect(agentCredibility(stats(14), c)).toBeGreaterThanOrEqual(1 - c.epsilon);
    expect(agentCredibility(stats(6), c)).toBeLessThan(c.witness);
    expect(agentCredibility(stats(7), c)).toBeGreaterThanOrEqual(c.witness);
  });

  it('name the bad field', () => {
    const fieldOf = (partial: unknown): string => {
      try {
        mergeParams(partial as PartialCoreParams);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidParamsError);
        return (error as InvalidParamsError).field;
      }
      throw new Error('mergeParams accepted bad params');
    };
    expect(fieldOf({ credibility: { epsilon: 0.5 } })).toBe('credibility.epsilon');
    expect(fieldOf({ credibility: { epsilon: 0 } })).toBe('credibility.epsilon');
    expect(fieldOf({ credibility: { growth: 0 } })).toBe('credibility.growth');
    expect(fieldOf({ credibility: { witness: 1 } })).toBe('credibility.witness');
    expect(fieldOf({ credibility: { maxRecord: 2.5 } })).toBe('credibility.maxRecord');
    expect(fieldOf({ credibility: { initialReplicas: 3, maxReplicas: 2 } })).toBe('credibility.maxReplicas');
    expect(fieldOf({ credibility: { audit: 1.5 } })).toBe('credibility.audit');
    expect(fieldOf({ credibility: { spotCheckRate: 1 } })).toBe('credibility.spotCheckRate');
    expect(fieldOf({ credibility: { replicas: 2 } })).toBe('credibility.replicas');
  });
});

import { describe, expect, it } from 'vitest';
import { type AgentStats, type Decision, DEFAULT_PARAMS, mergeParams, statsAfterDecision, trustSumPolicy, validationPolicy, type Vote } from '../../src/core/index.ts';
import { makeAgent } from './core-fixtures.ts';

const record = (valid: number, invalid: number, consecutiveValid: number): AgentStats => ({ valid, invalid, consecutiveValid });

function decide(votes: Vote[], policy = trustSumPolicy(DEFAULT_PARAMS)): Decision {
  return policy.decide(votes);
}

describe('statsAfterDecision', () => {
  const records: Record<string, AgentStats> = { a: record(3, 1, 3), b: record(7, 0, 7), c: record(2, 2, 0), d: record(9, 0, 9) };
  const statsOf = (id: string): AgentStats | undefined => records[id];

  it('counts agreeing voters valid and the others invalid, resetting their run, on an accepted result', () => {
    // Trust 7 + 7 against 3 + 3 (+ a failure that does not vote): "42" wins with 0.7.
    const decision = decide([
      { agentId: 'a', digest: '42', trust: 7 },
      { agentId: 'b', digest: '42', trust: 7 },
      { agentId: 'c', digest: 'evil', trust: 3 },
      { agentId: 'd', digest: 'evil', trust: 3 },
      { agentId: 'e', digest: null, trust: 9 },
    ]);
    expect(decision.outcome).toBe('validated');
    expect(statsAfterDecision(decision, statsOf)).toEqual(
      new Map([
        ['a', record(4, 1, 4)],
        ['b', record(8, 0, 8)],
        ['c', record(2, 3, 0)],
        ['d', record(9, 1, 0)],
      ]),
    );
    // The input records are values: untouched.
    expect(records.a).toEqual(record(3, 1, 3));
  });

  it('changes nobody on a failed consensus, and leaves out voters it does not know', () => {
    const tie = decide([
      { agentId: 'a', digest: '42', trust: 5 },
      { agentId: 'b', digest: 'evil', trust: 5 },
    ]);
    expect(tie.outcome).toBe('failed');
    expect(statsAfterDecision(tie, statsOf).size).toBe(0);
    const stranger = decide([{ agentId: 'stranger', digest: '42', trust: 5 }]);
    expect(stranger.outcome).toBe('validated');
    expect([...statsAfterDecision(stranger, statsOf).keys()]).toEqual([]);
  });

  it('does not credit voters whose agreement confirmed nothing (credibility: a result on one word)', () => {
    const policy = validationPolicy(mergeParams({ validation: { policy: 'credibility' }, credibility: { maxReplicas: 1 } }));
    const veteran = record(30, 0, 30);
    const decision = policy.decide([{ agentId: 'v', digest: '42', trust: 5 }], { agent: (id) => makeAgent({ id, stats: veteran }) });
    expect(decision.outcome).toBe('validated');
    expect(decision.unverified).toEqual(['v']);
    expect(statsAfterDecision(decision, () => veteran).size).toBe(0);
  });
});

// Operator-trusted agents in the pure core: the grant of a record (vouchFor), how it is lost
// (recordVerdict, judgeSpotCheck, withdrawVouch), and what it changes in the credibility policy:
// a trusted agent runs users' tasks at once and its result stands alone, never held for an audit.
import { describe, expect, it } from 'vitest';
import {
  type AgentStats,
  agentCredibility,
  auditProbability,
  credibilityPolicy,
  DEFAULT_PARAMS,
  judgeSpotCheck,
  mayRunSubmittedWork,
  mergeParams,
  onProbation,
  recordVerdict,
  spotCheckProbability,
  vouchFor,
  withdrawVouch,
} from '../../src/core/index.ts';
import { makeAgent } from './core-fixtures.ts';

// The hub's defaults: the core's, under the credibility policy.
const params = mergeParams({ validation: { policy: 'credibility' } });
const newcomer: AgentStats = { valid: 0, invalid: 0, consecutiveValid: 0 };

describe('an agent the operator vouches for', () => {
  it('starts with the longest record that counts, off probation, credible alone', () => {
    const vouched = vouchFor(newcomer, params.credibility);
    expect(vouched).toEqual({ valid: 0, invalid: 0, consecutiveValid: params.credibility.maxRecord, vouched: true });
    expect(onProbation(vouched, params)).toBe(false);
    expect(mayRunSubmittedWork(vouched, params)).toBe(true);
    expect(agentCredibility(vouched, params.credibility)).toBeGreaterThanOrEqual(1 - params.credibility.epsilon);
    // Spot-checks still test it, at the rate every agent past probation gets.
    expect(spotCheckProbability(vouched, params)).toBe(params.credibility.spotCheckRate);
    // A longer run it earned is kept; a grant is given once.
    expect(vouchFor({ valid: 30, invalid: 0, consecutiveValid: 30 }, params.credibility).consecutiveValid).toBe(30);
    expect(vouchFor(vouched, params.credibility)).toBe(vouched);
  });

  it('has its result accepted alone, never held for a cross-check, whatever the draw', () => {
    const policy = credibilityPolicy(params);
    const trusted = makeAgent({ id: 't', stats: vouchFor(newcomer, params.credibility) });
    // The same record earned by a stranger is cross-checked when the draw says so (random 0: always).
    const stranger = makeAgent({ id: 's', stats: { valid: 20, invalid: 0, consecutiveValid: 20 } });
    const alone = (agent: typeof trusted) => policy.decide([{ agentId: agent.id, digest: '42', trust: 5 }], { agent: () => agent, random: () => 0 });
    const accepted = alone(trusted);
    expect(accepted.outcome).toBe('validated');
    expect(accepted.digest).toBe('42');
    // Resting on one word, it earns the agent nothing (slow to earn, as for everyone).
    expect(accepted.unverified).toEqual(['t']);
    expect(alone(stranger).outcome).toBe('undecided');
    expect(auditProbability(trusted.stats, params)).toBe(0);
    expect(auditProbability(stranger.stats, params)).toBe(params.credibility.audit);
  });

  it('loses the grant at once, for good, with its first wrong result', () => {
    const vouched = vouchFor(newcomer, params.credibility);
    const outvoted = recordVerdict(vouched, 'invalid');
    expect(outvoted).toEqual({ valid: 0, invalid: 1, consecutiveValid: 0, vouched: false });
    expect(onProbation(outvoted, params)).toBe(true);
    expect(auditProbability(outvoted, params)).toBe(1);
    // Listed still, it is not vouched for again: the key earns its record like a newcomer's.
    expect(vouchFor(outvoted, params.credibility)).toBe(outvoted);

    const caught = judgeSpotCheck({ stats: vouched, trust: 5 }, 'a lie', 'the known answer', params);
    expect(caught.passed).toBe(false);
    expect(caught.stats.vouched).toBe(false);
    expect(caught.stats.consecutiveValid).toBe(0);
    expect(mayRunSubmittedWork(caught.stats, params)).toBe(false);
    // A proven liar is never vouched for, even on a key that never held a grant.
    const liar = { ...newcomer, spotChecksFailed: 1 };
    expect(vouchFor(liar, params.credibility)).toBe(liar);
  });

  it('loses grant and run when the operator stops vouching; a lost grant stays lost', () => {
    const vouched = vouchFor(newcomer, params.credibility);
    expect(withdrawVouch(vouched)).toEqual({ valid: 0, invalid: 0, consecutiveValid: 0 });
    const lost = recordVerdict(vouched, 'invalid');
    expect(withdrawVouch(lost)).toBe(lost);
    expect(withdrawVouch(newcomer)).toBe(newcomer);
  });

  it('leaves the records of agents nobody vouches for as they were (the simulator never vouches)', () => {
    expect(recordVerdict(newcomer, 'invalid')).toEqual({ valid: 0, invalid: 1, consecutiveValid: 0 });
    expect(Object.keys(recordVerdict({ valid: 3, invalid: 0, consecutiveValid: 3 }, 'invalid'))).not.toContain('vouched');
    expect(DEFAULT_PARAMS.validation.policy).toBe('trust-sum');
  });
});

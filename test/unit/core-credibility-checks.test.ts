import { describe, expect, it } from 'vitest';
import {
  type Agent,
  type AgentStats,
  auditProbability,
  CapacityIndex,
  credibilityPolicy,
  type Decision,
  dependentDecisions,
  drawAudit,
  extendRound,
  isProvenLiar,
  judgeSpotCheck,
  mayHoldReplica,
  mayRunSubmittedWork,
  mergeParams,
  onProbation,
  type OpenReplicas,
  planAssignments,
  replicasWanted,
  spotCheckDue,
  spotCheckProbability,
  startingReplicas,
  trustSumPolicy,
  type Vote,
} from '../../src/core/index.ts';
import { makeAgent, makeTask, seededRandom } from './core-fixtures.ts';

// Odds 3^k for a record of k; the result must reach 0.99; a newcomer's word counts from record 2 (0.9 >= 0.85).
const params = mergeParams({
  validation: { policy: 'credibility' },
  credibility: { epsilon: 0.01, growth: Math.log(3), maxRecord: 10, witness: 0.85, initialReplicas: 1, maxReplicas: 4, audit: 0.25, spotCheckRate: 0.1 },
});
const trustSum = mergeParams();

function stats(consecutiveValid: number, more: Partial<AgentStats> = {}): AgentStats {
  return { valid: consecutiveValid, invalid: 0, consecutiveValid, ...more };
}

/** Fraction of `n` draws of `draw` that came out true. */
function frequency(n: number, draw: () => boolean): number {
  let hits = 0;
  for (let i = 0; i < n; i++) if (draw()) hits++;
  return hits / n;
}

describe('spot-checks', () => {
  it('credit a right answer as a verified result', () => {
    const verdict = judgeSpotCheck({ stats: stats(3, { valid: 10, invalid: 1 }), trust: 6 }, 'known', 'known', params);
    expect(verdict).toEqual({ passed: true, stats: { valid: 11, invalid: 1, consecutiveValid: 4, spotChecksPassed: 1 }, trust: 6.1 });
  });

  it('drop a caught liar at once to the floor: no record, minimum trust, no influence, no more work', () => {
    const veteran = makeAgent({ id: 'v', stats: stats(10, { valid: 50 }), trust: 9 });
    expect(mayRunSubmittedWork(veteran.stats, params)).toBe(true);
    const verdict = judgeSpotCheck(veteran, 'wrong', 'known', params);
    expect(verdict.passed).toBe(false);
    expect(verdict.trust).toBe(params.trust.min);
    expect(verdict.stats).toEqual({ valid: 50, invalid: 1, consecutiveValid: 0, spotChecksFailed: 1 });
    expect(isProvenLiar(verdict.stats)).toBe(true);
    expect(mayRunSubmittedWork(verdict.stats, params)).toBe(false);
    expect(spotCheckProbability(verdict.stats, params)).toBe(0);
    // Even a long run of right answers afterwards gives it no influence again.
    const later = { ...verdict.stats, consecutiveValid: 10 };
    const decision = credibilityPolicy(params).decide([{ agentId: 'v', digest: 'x', trust: 1 }], { agent: () => ({ ...veteran, stats: later }), random: () => 0.99 });
    expect(decision.score).toBe(0.5);
  });

  it('keep a newcomer on probation (known-answer tasks only) until its own word reaches the witness level', () => {
    expect(onProbation(stats(0), params)).toBe(true);
    expect(onProbation(stats(1), params)).toBe(true); // 3/4 < 0.85
    expect(onProbation(stats(2), params)).toBe(false); // 9/10
    expect(spotCheckProbability(stats(0), params)).toBe(1);
    expect(spotCheckProbability(stats(2), params)).toBe(0.1);
    expect(mayRunSubmittedWork(stats(0), params)).toBe(false);
    // The thesis' rule has no probation.
    expect(onProbation(stats(0), trustSum)).toBe(false);
    expect(mayRunSubmittedWork(stats(0), trustSum)).toBe(true);
  });

  it('are due at the configured rate, drawn from the injected randomness', () => {
    const random = seededRandom(11);
    const rate = frequency(20_000, () => spotCheckDue(stats(5), random, params));
    expect(rate).toBeGreaterThan(0.09);
    expect(rate).toBeLessThan(0.11);
    expect(frequency(100, () => spotCheckDue(stats(0), random, params))).toBe(1);
    // The same seed draws the same spot-checks.
    const a = seededRandom(3);
    const b = seededRandom(3);
    const draws = (r: () => number): boolean[] => Array.from({ length: 200 }, () => spotCheckDue(stats(5), r, params));
    expect(draws(a)).toEqual(draws(b));
  });
});

describe('re-examining the decisions a caught liar carried', () => {
  const policy = credibilityPolicy(params);
  const records = new Map<string, AgentStats>([
    ['liar', stats(4)],
    ['v', stats(4)],
    ['w', stats(4)],
    ['newcomer', stats(1)],
  ]);
  const context = { agent: (id: string): Agent => makeAgent({ id, stats: records.get(id) ?? stats(0) }), random: () => 0.99 };
  const decide = (...pairs: Array<[string, string]>): Decision => policy.decide(pairs.map(([agentId, digest]): Vote => ({ agentId, digest, trust: 5 })), context);

  it('finds the accepted results that would not stand without its vote', () => {
    // 81 * 3 = 243 -> 0.9959; without the liar 3 / 4.
    const carried = decide(['liar', 'x'], ['newcomer', 'x']);
    // 81^3: without the liar 81^2 / (81^2 + 1) still >= 0.99.
    const confirmed = decide(['liar', 'y'], ['v', 'y'], ['w', 'y']);
    // The liar lost (81^2 * 3 against 81): its vote carried nothing.
    const lost = decide(['v', 'z'], ['w', 'z'], ['newcomer', 'z'], ['liar', 'bad']);
    const undecided = decide(['liar', 'u']);
    expect([carried.outcome, confirmed.outcome, lost.outcome, undecided.outcome]).toEqual(['validated', 'validated', 'validated', 'undecided']);
    const trustSumDecision = trustSumPolicy(trustSum).decide([{ agentId: 'liar', digest: 't', trust: 5 }, { agentId: 'v', digest: 't', trust: 5 }]);
    const decided = [
      { taskId: 'carried', decision: carried },
      { taskId: 'confirmed', decision: confirmed },
      { taskId: 'lost', decision: lost },
      { taskId: 'undecided', decision: undecided },
      // A decision without log-odds (the thesis' rule): any the liar voted for is re-examined.
      { taskId: 'trust-sum', decision: trustSumDecision },
    ];
    expect(dependentDecisions(decided, 'liar', params)).toEqual(['carried', 'trust-sum']);
    // v's vote was not needed beside the liar's and w's (81^2 alone: 0.99985), but it was against the liar (243 / 325).
    expect(dependentDecisions(decided, 'v', params)).toEqual(['lost', 'trust-sum']);
  });
});

describe('adaptive replication', () => {
  it('starts a credibility round with initialReplicas and a thesis round with the overlap', () => {
    const task = makeTask({ spec: { overlap: 3 } });
    expect(startingReplicas(params, task)).toBe(1);
    expect(startingReplicas(trustSum, task)).toBe(3);
    expect(replicasWanted(task)).toBe(3);
    expect(replicasWanted({ ...task, replicas: 1 })).toBe(1);
  });

  it('extends the round by the replicas an undecided decision asks for, and only then', () => {
    const task = makeTask({ status: 'in_progress', replicas: 1, spec: { overlap: 3 } });
    expect(replicasWanted(extendRound(task, { outcome: 'undecided', extraReplicas: 1 }, 1))).toBe(2);
    expect(replicasWanted(extendRound(task, { outcome: 'undecided', extraReplicas: 2 }, 3))).toBe(5);
    expect(extendRound(task, { outcome: 'validated' }, 1)).toBe(task);
  });

  it('cross-checks at random, with BOINC\'s 1/n for a record of n but never below the audit floor', () => {
    expect(auditProbability(stats(0), params)).toBe(1);
    expect(auditProbability(undefined, params)).toBe(1);
    expect(auditProbability(stats(2), params)).toBe(0.5);
    expect(auditProbability(stats(40), params)).toBe(0.25);
    expect(drawAudit(stats(40), undefined, params)).toBe(true);
  });

  it('draws the cross-checks from the injected randomness alone: reproducible by seed, unpredictable without it', () => {
    const policy = credibilityPolicy(params);
    const veteran = makeAgent({ id: 'v', stats: stats(10) });
    // 3^10 alone is credible: each of these decisions is accepted unless the draw cross-checks it.
    const checked = (random: () => number): boolean[] =>
      Array.from({ length: 4000 }, (_, i) => policy.decide([{ agentId: 'v', digest: `result-${i}`, trust: 5 }], { agent: () => veteran, random }).outcome === 'undecided');
    const first = checked(seededRandom(1));
    expect(checked(seededRandom(1))).toEqual(first);
    const other = checked(seededRandom(2));
    expect(other).not.toEqual(first);
    for (const run of [first, other]) {
      const share = run.filter(Boolean).length / run.length;
      expect(share).toBeGreaterThan(0.22);
      expect(share).toBeLessThan(0.28);
    }
    // Which tasks are checked does not follow from anything the agent sees: the two seeds agree
    // on a task no more often than independent draws would.
    const both = first.filter((c, i) => c && other[i]).length / first.length;
    expect(both).toBeGreaterThan(0.04);
    expect(both).toBeLessThan(0.09);
  });
});

describe('placement diversity', () => {
  const task = makeTask({ submitter: 'submitter-key' });

  it('never puts a replica on the submitter\'s own key or beside a replica in the same address block', () => {
    expect(mayHoldReplica(task, { id: 'submitter-key', addressBlock: '10.0.0.0/24' }, [])).toBe(false);
    expect(mayHoldReplica(task, { id: 'a', addressBlock: '10.0.0.0/24' }, [{ addressBlock: '10.0.1.0/24' }, { addressBlock: '10.0.0.0/24' }])).toBe(false);
    expect(mayHoldReplica(task, { id: 'a', addressBlock: '10.0.0.0/24' }, [{ addressBlock: '10.0.1.0/24' }, {}])).toBe(true);
    expect(mayHoldReplica(task, { id: 'a' }, [{ addressBlock: '10.0.0.0/24' }, {}])).toBe(true);
  });

  it('plugs into planAssignments: the best fits share a block, so the second replica goes elsewhere', () => {
    const agents = [
      makeAgent({ id: 'same-1', addressBlock: 'block-a', free: { cpu: 1, ramGb: 1 } }),
      makeAgent({ id: 'same-2', addressBlock: 'block-a', free: { cpu: 1, ramGb: 1 } }),
      makeAgent({ id: 'other', addressBlock: 'block-b' }),
    ];
    const byId = new Map(agents.map((a) => [a.id, a]));
    const index = (): CapacityIndex => {
      const i = new CapacityIndex();
      for (const a of agents) i.upsert(a);
      return i;
    };
    const queue = [makeTask({ id: 't', spec: { overlap: 2, cpu: 1, ramGb: 1 } })];
    const none = (): OpenReplicas => ({ agentIds: [] });
    const plain = planAssignments({ queue, index: index(), openAssignments: none, params: trustSum, now: 0 });
    expect(plain.assignments.map((a) => a.agentId)).toEqual(['same-1', 'same-2']);
    // A hook that allows everything plans exactly what no hook plans.
    expect(planAssignments({ queue, index: index(), openAssignments: none, params: trustSum, now: 0, eligible: () => true })).toEqual(plain);
    const diverse = planAssignments({
      queue,
      index: index(),
      openAssignments: none,
      params: trustSum,
      now: 0,
      eligible: (t, agentId, alongside) => mayHoldReplica(t, byId.get(agentId) as Agent, alongside.map((id) => byId.get(id) as Agent)),
    });
    expect(diverse.assignments.map((a) => a.agentId)).toEqual(['same-1', 'other']);
    // With no agent in another block, the task waits rather than doubling up in one block.
    const blocked = planAssignments({ queue, index: index(), openAssignments: none, params: trustSum, now: 0, eligible: (_t, agentId, alongside) => agentId !== 'other' && alongside.length === 0 });
    expect(blocked.assignments).toEqual([]);
    expect(blocked.waiting.map((w) => w.taskId)).toEqual(['t']);
  });
});

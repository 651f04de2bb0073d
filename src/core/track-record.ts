import type { Decision } from './consensus.ts';
import type { AgentStats } from './model.ts';

/**
 * Agents' track records (AgentStats): what every accepted decision adds to its voters', whatever
 * the validation policy. The credibility policy weighs votes by them (credibility.ts) and
 * adaptive replication reads the runs of valid results (replication.ts); the hub and the
 * simulator both keep them through statsAfterDecision.
 */

/** What a decision says of one voter's result. */
export type Verdict = 'valid' | 'invalid';

/**
 * What an accepted decision says of one voter's result: `valid` (it agreed and the agreement
 * was confirmed), `invalid` (it voted for another digest), or null: the decision is not an
 * acceptance, the voter's agreement confirmed nothing (Decision.unverified), or it did not vote.
 */
export function verdictOf(decision: Pick<Decision, 'outcome' | 'digest' | 'groups' | 'unverified'>, agentId: string): Verdict | null {
  if (decision.outcome !== 'validated' || decision.unverified?.includes(agentId) === true) return null;
  const group = decision.groups.find((g) => g.voters.includes(agentId));
  if (group === undefined) return null;
  return group.digest === decision.digest ? 'valid' : 'invalid';
}

/**
 * A track record after a verdict. Slow to earn, fast to lose: a valid result extends the run by
 * one; an invalid one ends it, so the agent's credibility falls at once to a newcomer's.
 */
export function recordVerdict(stats: AgentStats, verdict: Verdict): AgentStats {
  return verdict === 'valid' ? { ...stats, valid: stats.valid + 1, consecutiveValid: stats.consecutiveValid + 1 } : { ...stats, invalid: stats.invalid + 1, consecutiveValid: 0 };
}

/**
 * The voters' track records after `decision`: each voter with a verdict (verdictOf), its stats
 * (from `statsOf`) after it (recordVerdict). Empty unless the decision accepted a result: a
 * failed consensus proves nobody wrong. Voters `statsOf` does not know are left out.
 */
export function statsAfterDecision(decision: Pick<Decision, 'outcome' | 'digest' | 'groups' | 'unverified'>, statsOf: (agentId: string) => AgentStats | undefined): Map<string, AgentStats> {
  const after = new Map<string, AgentStats>();
  for (const group of decision.groups) {
    for (const agentId of group.voters) {
      const verdict = verdictOf(decision, agentId);
      const stats = statsOf(agentId);
      if (verdict !== null && stats !== undefined) after.set(agentId, recordVerdict(stats, verdict));
    }
  }
  return after;
}

import type { Decision } from './consensus.ts';
import { isProvenLiar } from './credibility.ts';
import type { AgentStats } from './model.ts';
import type { CredibilityParams } from './params.ts';

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
 * one; an invalid one ends it, so the agent's credibility falls at once to a newcomer's, and an
 * agent the operator vouched for loses that for good (vouchFor).
 */
export function recordVerdict(stats: AgentStats, verdict: Verdict): AgentStats {
  if (verdict === 'valid') return { ...stats, valid: stats.valid + 1, consecutiveValid: stats.consecutiveValid + 1 };
  return { ...stats, invalid: stats.invalid + 1, consecutiveValid: 0, ...(stats.vouched === true ? { vouched: false } : {}) };
}

/**
 * The record of an agent its hub's operator vouches for (the hub's trusted agents): the second
 * source of records besides known-answer tasks, for a hub that has none to offer (no internet for
 * the spot-check image) or whose own machines should not wait on probation. Sarmenta's
 * credibility is the probability that a worker's result is right given what the master knows of
 * it; an operator that runs the machine knows more than any number of spot-checks, so the agent
 * starts with the longest record that counts (credibility.maxRecord), as if it had passed that
 * many checks in a row. The grant is no exemption: spot-checks still test it, and one wrong
 * result (a lost vote, a failed spot-check) takes it away at once, for good (`vouched: false`):
 * the key earns its record again like any newcomer's. A proven liar is never vouched for.
 */
export function vouchFor(stats: AgentStats, params: CredibilityParams): AgentStats {
  if (stats.vouched !== undefined || isProvenLiar(stats)) return stats;
  return { ...stats, consecutiveValid: Math.max(stats.consecutiveValid, params.maxRecord), vouched: true };
}

/**
 * The record once the operator no longer vouches for the agent: the grant is gone, and since the
 * run cannot be told apart from it, the run too (the agent earns one again). A lost grant stays lost.
 */
export function withdrawVouch(stats: AgentStats): AgentStats {
  if (stats.vouched !== true) return stats;
  const { vouched: _granted, ...rest } = stats;
  return { ...rest, consecutiveValid: 0 };
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

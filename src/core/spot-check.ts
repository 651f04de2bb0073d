import type { Decision } from './consensus.ts';
import { agentCredibility, groupCredibility, isProvenLiar } from './credibility.ts';
import type { Agent, AgentStats } from './model.ts';
import type { CoreParams } from './params.ts';
import { recordVerdict } from './track-record.ts';
import { rewardTrust } from './trust.ts';

/**
 * Spot-checks (Sarmenta 2002): now and then the hub hands an agent that asks for work a task
 * whose answer it already knows, prepared fresh so that it looks like any other (an old task
 * handed out again can be recognised by an attacker with many keys). A right answer is a verified result; a wrong one is proof of lying: the agent's record
 * and trust drop at once to the floor, its vote weighs nothing from then on, it gets no more
 * work, and the decisions its vote carried are re-examined (dependentDecisions).
 *
 * Under the credibility policy a newcomer is on probation until its own word reaches
 * credibility.witness: it runs known-answer tasks only, so the submitted tasks never pay for
 * replicas whose votes weigh nothing, and a fresh key the attacker mints is tested before it
 * touches any real result.
 */

/** An agent whose word does not count yet: under the credibility policy, it runs known-answer tasks only. */
export function onProbation(stats: AgentStats, params: CoreParams): boolean {
  return params.validation.policy === 'credibility' && !isProvenLiar(stats) && agentCredibility(stats, params.credibility) < params.credibility.witness;
}

/** Whether an agent may run submitted tasks (not only known-answer ones): not a proven liar, not on probation. */
export function mayRunSubmittedWork(stats: AgentStats, params: CoreParams): boolean {
  return !isProvenLiar(stats) && !onProbation(stats, params);
}

/**
 * The probability that the hub answers this agent's next work request with a known-answer task:
 * 1 on probation, credibility.spotCheckRate after it, 0 for a proven liar (no more work).
 */
export function spotCheckProbability(stats: AgentStats, params: CoreParams): number {
  if (isProvenLiar(stats)) return 0;
  return onProbation(stats, params) ? 1 : params.credibility.spotCheckRate;
}

/** Draws, from `random` (uniform in [0, 1)), whether the agent's next work is a known-answer task. */
export function spotCheckDue(stats: AgentStats, random: () => number, params: CoreParams): boolean {
  return random() < spotCheckProbability(stats, params);
}

export interface SpotCheckVerdict {
  passed: boolean;
  /** The agent's record after it. */
  stats: AgentStats;
  /** The agent's trust after it: + reward when passed, trust.min when caught. */
  trust: number;
}

/** What answering the known-answer task (`known`) with `digest` does to an agent. */
export function judgeSpotCheck(agent: Pick<Agent, 'stats' | 'trust'>, digest: string, known: string, params: CoreParams): SpotCheckVerdict {
  const s = agent.stats;
  if (digest === known) {
    return {
      passed: true,
      stats: { ...recordVerdict(s, 'valid'), spotChecksPassed: (s.spotChecksPassed ?? 0) + 1 },
      trust: rewardTrust(agent.trust, params.trust),
    };
  }
  return {
    passed: false,
    stats: { ...recordVerdict(s, 'invalid'), spotChecksFailed: (s.spotChecksFailed ?? 0) + 1 },
    trust: params.trust.min,
  };
}

/** A decision kept for re-examination. */
export interface DecidedTask {
  taskId: string;
  decision: Pick<Decision, 'outcome' | 'digest' | 'groups'>;
}

/**
 * The accepted decisions that depended on `liar`'s vote: without it (a proven liar weighs
 * nothing), the accepted digest would not have reached 1 - epsilon. Those tasks must be decided
 * again with more replicas. A decision that does not carry its voters' log-odds (not made by the
 * credibility policy) counts as dependent whenever the liar voted for the accepted digest.
 */
export function dependentDecisions(decided: Iterable<DecidedTask>, liar: string, params: CoreParams): string[] {
  const target = 1 - params.credibility.epsilon;
  const out: string[] = [];
  for (const { taskId, decision } of decided) {
    if (decision.outcome !== 'validated') continue;
    const accepted = decision.groups.find((g) => g.digest === decision.digest);
    const at = accepted?.voters.indexOf(liar) ?? -1;
    if (accepted === undefined || at < 0) continue;
    const logOdds = accepted.voterLogOdds;
    if (logOdds === undefined) {
      out.push(taskId);
      continue;
    }
    const weightOf = (g: Decision['groups'][number]): number => (g.voterLogOdds ?? []).reduce((sum, l) => sum + l, 0);
    const without = weightOf(accepted) - (logOdds[at] as number);
    const all = decision.groups.map((g) => (g === accepted ? without : weightOf(g)));
    if (groupCredibility(without, all) < target) out.push(taskId);
  }
  return out;
}

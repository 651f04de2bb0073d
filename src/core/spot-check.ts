import type { Decision } from './consensus.ts';
import { groupCredibility } from './credibility.ts';
import type { Agent, AgentStats } from './model.ts';
import type { CoreParams } from './params.ts';
import { rewardTrust } from './trust.ts';

/**
 * Spot-checks (Sarmenta 2002): now and then the hub hands out a task whose answer it already
 * knows (e.g. one it validated before), indistinguishable from any other. A right answer is a
 * verified result; a wrong one is proof of lying: the agent's record and trust drop at once to
 * the floor, its vote weighs nothing from then on, and the decisions its vote carried are
 * re-examined.
 */

/** Whether the hub adds a known-answer task now: with probability credibility.spotCheckRate, drawn from `random`. */
export function spotCheckDue(random: () => number, params: CoreParams): boolean {
  return random() < params.credibility.spotCheckRate;
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
      stats: { ...s, valid: s.valid + 1, consecutiveValid: s.consecutiveValid + 1, spotChecksPassed: (s.spotChecksPassed ?? 0) + 1 },
      trust: rewardTrust(agent.trust, params.trust),
    };
  }
  return {
    passed: false,
    stats: { ...s, invalid: s.invalid + 1, consecutiveValid: 0, spotChecksFailed: (s.spotChecksFailed ?? 0) + 1 },
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

import { checkVotes, type Decision, type DecisionContext, type DecisionGroup, trustScoreOf, type ValidationPolicy } from './consensus.ts';
import type { AgentStats, Vote } from './model.ts';
import type { CoreParams, CredibilityParams } from './params.ts';
import { drawAudit } from './replication.ts';
import { penalizeTrust, rewardTrust, type TrustChange } from './trust.ts';

/**
 * Credibility-based acceptance (Sarmenta 2002; iExec PoCo's product of odds), made to resist one
 * party holding many keys (DESIGN 5).
 *
 * An agent's credibility is the probability that its next result is right, read from its
 * VERIFIED record only: the results in a row (since its last wrong one) that something else
 * confirmed. Its odds are exp(growth * record): a newcomer has odds 1 (credibility 1/2, a coin
 * flip), so its vote moves nothing, and a thousand newcomers agreeing weigh exactly as much as
 * none. Odds multiply, so the log-odds of a group is the SUM of its voters' records: influence
 * is bought with verified work, never with identities; splitting a record over many keys gives
 * the same weight as keeping it on one. (iExec gives a newcomer odds 2 and relies on stakes
 * against Sybils; with no stake, the only safe newcomer weight is none.)
 *
 * Votes are grouped by digest; a group of voters G weighs W(G) = product of their odds, and, as
 * in Sarmenta's formula with colluding bad workers, the probability that G is the right one is
 *   Cr(G) = W(G) / (1 + sum over groups W)
 * (the 1 is the chance that every group is wrong). A result is accepted when Cr >= 1 - epsilon.
 * Until then the policy asks for more replicas (outcome `undecided`), up to maxReplicas; then the
 * round fails.
 *
 * Trust is slow to earn and fast to lose: an agreeing vote counts (record + 1, trust + reward)
 * only when the rest of its group would have carried the result without it (credibility >=
 * witness), so Sybils cannot vouch for each other with no record, and a result that stands on
 * one agent earns that agent nothing. A voter of a losing group loses its whole run (record 0,
 * trust - penalty). A result credible enough on one agent's word is still cross-checked at
 * random (adaptive replication, replication.ts), and known-answer tasks catch liars at once
 * (spot-check.ts).
 */

/** An agent caught answering a known-answer task wrong (spot-check.ts): its vote weighs nothing any more. */
export function isProvenLiar(stats: AgentStats): boolean {
  return (stats.spotChecksFailed ?? 0) > 0;
}

/** Log-odds that the next result of an agent with this record is right (0 for none, or a proven liar). */
export function recordLogOdds(stats: AgentStats | undefined, params: CredibilityParams): number {
  if (stats === undefined || isProvenLiar(stats)) return 0;
  return params.growth * Math.min(stats.consecutiveValid, params.maxRecord);
}

/** The probability that the next result of an agent with this record is right: 1/2 for a newcomer. */
export function agentCredibility(stats: AgentStats | undefined, params: CredibilityParams): number {
  return 1 / (1 + Math.exp(-recordLogOdds(stats, params)));
}

/**
 * Cr of the group whose log-weight (sum of its voters' log-odds) is `target`, among groups with
 * the log-weights `all` (the target included): W / (1 + sum W), computed in log space so that
 * long records cannot overflow.
 */
export function groupCredibility(target: number, all: readonly number[]): number {
  let denominator = Math.exp(-target);
  for (const l of all) denominator += Math.exp(l - target);
  return 1 / denominator;
}

/** One group of a credibility decision: log-odds per voter, aligned with `voters`. */
interface WeightedGroup extends DecisionGroup {
  voterLogOdds: number[];
  logWeight: number;
}

/**
 * The `credibility` validation policy. `context.agent` gives the voters' records (an agent it
 * does not know is a newcomer); `context.random` draws the adaptive-replication audits (without
 * it, every result resting on one agent's word is cross-checked).
 */
export function credibilityPolicy(params: CoreParams): ValidationPolicy {
  const c = params.credibility;
  const target = 1 - c.epsilon;
  return {
    name: 'credibility',
    decide(votes, context) {
      checkVotes(votes);
      const groups = weighGroups(votes, (agentId) => context?.logOdds?.(agentId) ?? recordLogOdds(context?.agent?.(agentId)?.stats, c));
      const replicas = votes.length;
      const [best] = groups;
      if (best === undefined) return verdict('failed', groups, 0, 'no replica reported a result');
      const others = groups.slice(1).map((g) => g.logWeight);
      const score = best.share;
      const room = replicas < c.maxReplicas;

      if (score >= target) {
        // Would the rest of the group have carried the result without this voter?
        const unverified = best.voters.filter((_, i) => {
          const without = best.logWeight - (best.voterLogOdds[i] as number);
          return groupCredibility(without, [without, ...others]) < c.witness;
        });
        if (room && unverified.length === best.voters.length) {
          // The result rests on unconfirmed words: cross-check it at random, so that no agent can
          // tell which of its results are checked.
          const strongest = strongestVoter(best);
          if (drawAudit(context?.agent?.(strongest)?.stats, context?.random, params)) {
            return { ...verdict('undecided', groups, score, `right with probability ${probability(score)} on the word of ${best.voters.length === 1 ? 'one agent' : 'unconfirmed agents'}: cross-checked at random`), extraReplicas: 1 };
          }
        }
        return {
          outcome: 'validated',
          digest: best.digest,
          score,
          trustScore: trustScoreOf(score),
          groups: groups.map(publicGroup),
          trustChanges: trustChanges(votes, best, new Set(unverified), params, context),
          unverified,
          reason: `accepted: right with probability ${probability(score)} (needs ${probability(target)})`,
        };
      }
      if (room) {
        return { ...verdict('undecided', groups, score, `right with probability ${probability(score)}, needs ${probability(target)}: one more replica`), extraReplicas: 1 };
      }
      return verdict('failed', groups, score, `right with probability ${probability(score)} after ${replicas} replicas (the most a round may have), needs ${probability(target)}`);
    },
  };
}

/** Groups by digest (failures do not vote), strongest first, then by digest. */
function weighGroups(votes: readonly Vote[], logOddsOf: (agentId: string) => number): WeightedGroup[] {
  const byDigest = new Map<string, WeightedGroup>();
  for (const vote of votes) {
    if (vote.digest === null) continue;
    let group = byDigest.get(vote.digest);
    if (group === undefined) {
      group = { digest: vote.digest, weight: 0, share: 0, voters: [], voterLogOdds: [], logWeight: 0 };
      byDigest.set(vote.digest, group);
    }
    const logOdds = logOddsOf(vote.agentId);
    group.voters.push(vote.agentId);
    group.voterLogOdds.push(logOdds);
    group.logWeight += logOdds;
  }
  const groups = [...byDigest.values()].sort((a, b) => b.logWeight - a.logWeight || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const all = groups.map((g) => g.logWeight);
  for (const g of groups) {
    g.weight = Math.exp(g.logWeight);
    g.share = groupCredibility(g.logWeight, all);
  }
  return groups;
}

/** A probability for people: 0.731, or 1 - 3.2e-5 near certainty. */
function probability(x: number): string {
  return x >= 0.999 ? `1 - ${(1 - x).toExponential(1)}` : x.toFixed(3);
}

function strongestVoter(group: WeightedGroup): string {
  let best = 0;
  for (let i = 1; i < group.voters.length; i++) if ((group.voterLogOdds[i] as number) > (group.voterLogOdds[best] as number)) best = i;
  return group.voters[best] as string;
}

/** The group as a Decision carries it: weight = product of odds, share = its credibility, log-odds per voter. */
function publicGroup(g: WeightedGroup): DecisionGroup {
  return { digest: g.digest, weight: g.weight, share: g.share, voters: g.voters, voterLogOdds: g.voterLogOdds };
}

function verdict(outcome: 'failed' | 'undecided', groups: WeightedGroup[], score: number, reason: string): Decision {
  return { outcome, digest: null, score, trustScore: trustScoreOf(score), groups: groups.map(publicGroup), trustChanges: [], reason };
}

/** Verified winners gain trust.reward, losers lose trust.penalty; unverified winners keep theirs. */
function trustChanges(votes: readonly Vote[], best: WeightedGroup, unverified: ReadonlySet<string>, params: CoreParams, context: DecisionContext | undefined): TrustChange[] {
  const changes: TrustChange[] = [];
  for (const vote of votes) {
    if (vote.digest === null || unverified.has(vote.agentId)) continue;
    const before = context?.currentTrust?.(vote.agentId) ?? vote.trust;
    const after = vote.digest === best.digest ? rewardTrust(before, params.trust) : penalizeTrust(before, params.trust);
    changes.push({ agentId: vote.agentId, before, after });
  }
  return changes;
}

import { credibilityPolicy } from './credibility.ts';
import { InvalidVotesError } from './errors.ts';
import type { Agent, Task, Vote } from './model.ts';
import type { CoreParams, TrustParams } from './params.ts';
import { penalizeTrust, rewardTrust, type TrustChange } from './trust.ts';

/**
 * Deciding a task's result from its replicas' votes. A policy is a plain object so that the
 * credibility-based policy DESIGN 5 asks for can sit beside the thesis' trust sum and be chosen
 * by name (params.validation.policy); every hub can re-run a decision from the signed results.
 */

/** One group of agreeing votes. */
export interface DecisionGroup {
  digest: string;
  /** The group's weight (trust-sum: the sum of its voters' trust). */
  weight: number;
  /** weight / the weight of all groups. */
  share: number;
  voters: string[];
  /** Each voter's log-odds, aligned with `voters` (credibility policy: to re-examine a decision later). */
  voterLogOdds?: number[];
}

export interface Decision {
  /**
   * `undecided`: not accepted yet, but `extraReplicas` more replicas in this round may settle it
   * (a credibility policy); the round goes on, nothing is recorded, no trust moves.
   */
  outcome: 'validated' | 'failed' | 'undecided';
  /** The accepted digest; null when the task failed or is undecided. */
  digest: string | null;
  /** The heaviest group's share of the total weight, 0..1 (0 when nobody voted). */
  score: number;
  /** score on 0..10 with one decimal: Math.round(score * 100) / 10 (0.6087 -> 6.1). */
  trustScore: number;
  /** Heaviest first, then by digest. */
  groups: DecisionGroup[];
  /** Empty when the task failed: a failed consensus proves nobody wrong (the thesis). */
  trustChanges: TrustChange[];
  /** For people: why it was accepted or not. */
  reason: string;
  /** Undecided: replicas to add to the round before deciding again. */
  extraReplicas?: number;
  /**
   * Voters of the accepted digest whose agreement nothing else confirmed (the result stood on
   * their word): their track record (AgentStats) must not count it. Absent: every agreeing voter counts.
   */
  unverified?: string[];
}

/** What a policy may consult besides the votes. */
export interface DecisionContext {
  /** The task decided (a policy may weigh its overlap or required trust). */
  task?: Task;
  /**
   * Agents' trust NOW, which a concurrent decision may have moved since they voted: trust
   * changes start from it. Without it, they start from the trust each vote carries.
   */
  currentTrust?: (agentId: string) => number | undefined;
  /** The agents themselves, for policies that weigh track records (AgentStats). */
  agent?: (agentId: string) => Agent | undefined;
  /** Uniform in [0, 1): the random cross-checks of adaptive replication (replication.ts). */
  random?: () => number;
  /**
   * Each voter's log-odds as the decider weighed it (credibility policy), instead of reading them
   * from `agent`: how another hub replays a decision whose voters' records it cannot know.
   */
  logOdds?: (agentId: string) => number | undefined;
}

export interface ValidationPolicy {
  /** Signed into decision messages; the same name means the same rule. */
  readonly name: string;
  decide(votes: readonly Vote[], context?: DecisionContext): Decision;
}

/**
 * The thesis' rule (equations 5.2, 5.3): votes are grouped by digest; a group weighs the sum
 * of its voters' trust; score = heaviest weight / total weight. The heaviest digest is accepted
 * when score >= validation.threshold; then its voters gain trust.reward and the other voters
 * lose trust.penalty, within [trust.min, trust.max]. Otherwise the task fails and no trust moves.
 * Votes with a null digest are failures: they do not vote and their trust does not move. Two
 * heaviest groups of equal weight are never accepted (no result can be chosen over the other).
 */
export function trustSumPolicy(params: CoreParams): ValidationPolicy {
  const { threshold } = params.validation;
  const trust = params.trust;
  // Every accepted decision says it; written once per policy.
  const thresholdText = percent(threshold);
  return {
    name: 'trust-sum',
    decide(votes, context) {
      checkVotes(votes);
      const groups = groupVotes(votes);
      const total = groups.reduce((sum, g) => sum + g.weight, 0);
      if (groups.length === 0 || total <= 0) {
        return failed(groups, 0, groups.length === 0 ? 'no replica reported a result' : 'the voters carry no trust');
      }
      for (const g of groups) g.share = g.weight / total;
      const [best, second] = groups as [DecisionGroup, ...DecisionGroup[]];
      const score = best.share;
      if (second !== undefined && second.weight === best.weight) {
        return failed(groups, score, `two results tie at ${percent(score)} of the trust weight`);
      }
      if (score < threshold) {
        return failed(groups, score, `the best result has ${percent(score)} of the trust weight, below the ${thresholdText} threshold`);
      }
      return {
        outcome: 'validated',
        digest: best.digest,
        score,
        trustScore: trustScoreOf(score),
        groups,
        trustChanges: trustChanges(votes, best.digest, trust, context),
        reason: `accepted with ${percent(score)} of the trust weight (threshold ${thresholdText})`,
      };
    },
  };
}

/** The policy params.validation.policy names. */
export function validationPolicy(params: CoreParams): ValidationPolicy {
  switch (params.validation.policy) {
    case 'trust-sum':
      return trustSumPolicy(params);
    case 'credibility':
      return credibilityPolicy(params);
  }
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

/** score (0..1) as the 0..10 trust score with one decimal shown to people. */
export function trustScoreOf(score: number): number {
  return Math.round(score * 100) / 10;
}

function failed(groups: DecisionGroup[], score: number, reason: string): Decision {
  return { outcome: 'failed', digest: null, score, trustScore: trustScoreOf(score), groups, trustChanges: [], reason };
}

/** Throws InvalidVotesError for an agent voting twice or a trust that is not a finite number >= 0. */
export function checkVotes(votes: readonly Vote[]): void {
  // A round has a handful of votes: comparing each with those before it beats building a set.
  const seen: Set<string> | null = votes.length > SMALL ? new Set<string>() : null;
  for (let i = 0; i < votes.length; i++) {
    const vote = votes[i] as Vote;
    if (seen === null ? votedBefore(votes, i) : seen.has(vote.agentId)) throw new InvalidVotesError(`agent ${vote.agentId} voted twice`);
    seen?.add(vote.agentId);
    if (!Number.isFinite(vote.trust) || vote.trust < 0) throw new InvalidVotesError(`agent ${vote.agentId} has an invalid trust ${vote.trust}`);
  }
}

/** Up to this many votes, checkVotes and groupVotes search arrays instead of building hash tables. */
const SMALL = 8;

function votedBefore(votes: readonly Vote[], i: number): boolean {
  const id = (votes[i] as Vote).agentId;
  for (let j = 0; j < i; j++) if ((votes[j] as Vote).agentId === id) return true;
  return false;
}

function groupVotes(votes: readonly Vote[]): DecisionGroup[] {
  // Groups in the order their first vote came (then sorted, stably): a map for many votes, a
  // search of the few groups otherwise.
  const byDigest = votes.length > SMALL ? new Map<string, DecisionGroup>() : null;
  const groups: DecisionGroup[] = [];
  for (const vote of votes) {
    if (vote.digest === null) continue;
    let group = byDigest === null ? groupOf(groups, vote.digest) : byDigest.get(vote.digest);
    if (group === undefined) {
      // Made with its first voter: most rounds' groups hold one or two.
      group = { digest: vote.digest, weight: 0 + vote.trust, share: 0, voters: [vote.agentId] };
      byDigest?.set(vote.digest, group);
      groups.push(group);
      continue;
    }
    group.weight += vote.trust;
    group.voters.push(vote.agentId);
  }
  return groups.length < 2 ? groups : groups.sort((a, b) => b.weight - a.weight || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

function groupOf(groups: readonly DecisionGroup[], digest: string): DecisionGroup | undefined {
  for (const g of groups) if (g.digest === digest) return g;
  return undefined;
}

function trustChanges(votes: readonly Vote[], accepted: string, trust: TrustParams, context: DecisionContext | undefined): TrustChange[] {
  const changes: TrustChange[] = [];
  for (let i = 0; i < votes.length; i++) {
    const vote = votes[i] as Vote;
    if (vote.digest === null) continue;
    const before = context?.currentTrust?.(vote.agentId) ?? vote.trust;
    const after = vote.digest === accepted ? rewardTrust(before, trust) : penalizeTrust(before, trust);
    changes.push({ agentId: vote.agentId, before, after });
  }
  return changes;
}

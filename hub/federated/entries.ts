import type { MessageBody } from '../../protocol/messages.ts';
import type { Assignment, Decision, Task, Vote } from '../../src/core/index.ts';
import type { LoggedType } from '../federation/federation.ts';

/**
 * What a hub writes into its federation log about the tasks it decides (docs/FEDERATION.md,
 * "The engine in a federation"): the bodies of `task.announce`, `assignment` and `decision`
 * without their `seq`, which the log numbers when it signs them.
 */

export type Unnumbered<T extends LoggedType> = Omit<MessageBody<T>, 'seq'>;

/**
 * What the engine's outbox holds: the entries that must survive a crash. A waiting task's
 * `task.status` is only news (the bridge logs it); a takeover's claim (takeover.ts claimEntry) is a
 * `task.status` too, and goes through the outbox.
 */
type OutboxType = LoggedType;

/** One entry waiting in the engine's outbox (store sublevel `outbox`) to be signed into the log. */
export type OutboxItem = { [T in OutboxType]: { type: T; body: Unnumbered<T> } }[OutboxType];

/**
 * `decision.policy` names the validation policy of a consensus decision. A home hub also ends
 * rounds and tasks without a vote; those verdicts are decisions too, so that every hub follows
 * the task, under these reserved names (no validation policy has them):
 * - `round-failed`: the round lost its replicas (errors, expiries) without a vote: failed,
 *   retried or abandoned (staleness + 1), no trust moves;
 * - `image-invalid`: the home could not validate the task's image: the task is `invalid`.
 */
export const VERDICT_POLICIES = { roundFailed: 'round-failed', imageInvalid: 'image-invalid' } as const;

export function announceEntry(task: Task, spec: MessageBody<'task.announce'>['task']): Unnumbered<'task.announce'> {
  return { task: spec, home: task.home };
}

export function assignmentEntry(assignment: Assignment, task: Task): Unnumbered<'assignment'> {
  const { image, command, cpu, ramGb, timeoutS } = task.spec;
  return {
    assignmentId: assignment.id,
    taskId: task.id,
    agent: assignment.agentId,
    spec: { image, command, cpu, ramGb, timeoutS },
    issuedAt: assignment.issuedAt,
    deadline: assignment.deadline,
  };
}

/**
 * A consensus decision with its evidence: the signed results in the order they were voted (a
 * checker replays the vote in that order, so the floating-point sums come out identical) and every
 * voter's trust before and after (equal when it did not move), the weight each vote had.
 */
export function decisionEntry(taskId: string, policy: string, decision: Decision, reported: readonly Assignment[], votes: readonly Vote[]): Unnumbered<'decision'> {
  const moved = new Map(decision.trustChanges.map((c) => [c.agentId, c]));
  const validated = decision.outcome === 'validated';
  return {
    taskId,
    outcome: validated ? 'validated' : 'failed',
    policy,
    digest: validated ? decision.digest : null,
    score: decision.score,
    results: reported.flatMap((a) => (a.result === undefined ? [] : [a.result])),
    trust: votes.flatMap((v) => {
      if (v.digest === null) return [];
      const change = validated ? moved.get(v.agentId) : undefined;
      return [{ agent: v.agentId, before: change?.before ?? v.trust, after: change?.after ?? v.trust }];
    }),
    // What another hub cannot know (records are earned partly on spot-checks, which stay here).
    ...(decision.groups.length > 0 && decision.groups.every((g) => g.voterLogOdds !== undefined)
      ? { credibility: decision.groups.flatMap((g) => g.voters.map((agent, i) => ({ agent, logOdds: (g.voterLogOdds as number[])[i] as number }))) }
      : {}),
  };
}

/** A round that ended without a vote; the results it did get travel along for the record. */
export function roundFailedEntry(task: Task, round: readonly Assignment[]): Unnumbered<'decision'> {
  return {
    taskId: task.id,
    outcome: 'failed',
    policy: VERDICT_POLICIES.roundFailed,
    digest: null,
    score: 0,
    results: round.flatMap((a) => (a.result === undefined ? [] : [a.result])),
    trust: [],
  };
}

export function imageInvalidEntry(taskId: string): Unnumbered<'decision'> {
  return { taskId, outcome: 'failed', policy: VERDICT_POLICIES.imageInvalid, digest: null, score: 0, results: [], trust: [] };
}

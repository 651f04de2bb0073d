import { transition } from './lifecycle.ts';
import type { Agent, Assignment, AssignmentStatus, Task, Vote } from './model.ts';
import { type CoreParams, maxFailures } from './params.ts';
import { replicasWanted } from './replication.ts';

/**
 * Liveness and round bookkeeping: which agents went silent, which assignments ran out of time,
 * what a round of replicas amounts to, and what a failed round does to its task.
 */

/** Active agents whose last heartbeat is more than agents.inactiveAfterMs old at `now`. */
export function findInactiveAgents<A extends Pick<Agent, 'active' | 'lastHeartbeat'>>(agents: Iterable<A>, now: number, params: CoreParams): A[] {
  const out: A[] = [];
  const after = params.agents.inactiveAfterMs;
  // An array is walked by index: a check every few seconds over every agent allocates nothing.
  if (Array.isArray(agents)) {
    const list = agents as readonly A[];
    for (let i = 0; i < list.length; i++) {
      const agent = list[i] as A;
      if (agent.active && now - agent.lastHeartbeat > after) out.push(agent);
    }
    return out;
  }
  for (const agent of agents) {
    if (agent.active && now - agent.lastHeartbeat > after) out.push(agent);
  }
  return out;
}

/** True while an assignment still waits for its agent (assigned or running). */
export function isOpen(assignment: Pick<Assignment, 'status'>): boolean {
  return assignment.status === 'assigned' || assignment.status === 'running';
}

/** Open assignments whose deadline has passed at `now`. */
export function findExpiredAssignments<A extends Pick<Assignment, 'status' | 'deadline'>>(assignments: Iterable<A>, now: number): A[] {
  const out: A[] = [];
  if (Array.isArray(assignments)) {
    const list = assignments as readonly A[];
    for (let i = 0; i < list.length; i++) {
      const assignment = list[i] as A;
      if (isOpen(assignment) && now > assignment.deadline) out.push(assignment);
    }
    return out;
  }
  for (const assignment of assignments) {
    if (isOpen(assignment) && now > assignment.deadline) out.push(assignment);
  }
  return out;
}

/** When an assignment issued at `issuedAt` expires: the task's own timeout plus assignments.graceMs. */
export function assignmentDeadline(task: Pick<Task, 'spec'>, issuedAt: number, params: CoreParams): number {
  return issuedAt + task.spec.timeoutS * 1000 + params.assignments.graceMs;
}

/**
 * Where the current round of a task stands, from its assignments (any rounds; only those of
 * `task.round` count, cancelled ones never):
 * - `decide`: `overlap` replicas reported a digest: hand their votes to the validation policy;
 * - `waiting`: replicas still running can complete the overlap;
 * - `needs-replicas`: replicas were lost (failed, expired, or reported an error) and `missing`
 *   other agents must run it; the task stays in_progress and goes back to the backlog;
 * - `failed`: `overlap` replicas of this round failed (an error report or `failed`), as many as
 *   it needed: the task cannot be blamed on one agent any more, the round fails
 *   (afterFailedRound). So a round survives up to overlap - 1 failures, and a task that breaks
 *   every agent ends after maxFailures rounds. Expired replicas (silent agents) are replaced
 *   without failing the round, up to MAX_EXPIRIES_PER_REPLICA per replica.
 */
export type RoundOutcome =
  | { kind: 'decide'; reported: Assignment[] }
  | { kind: 'waiting'; open: number; reported: number }
  | { kind: 'needs-replicas'; missing: number; lost: number }
  | { kind: 'failed'; lost: number; reason: string };

export function roundOutcome(task: Pick<Task, 'id' | 'round' | 'spec' | 'replicas'>, assignments: Iterable<Assignment>): RoundOutcome {
  // The overlap, unless the validation policy set this round's replicas (replication.ts).
  const overlap = replicasWanted(task);
  // Made on the first reported replica: a round still running needs only the counts.
  let reported: Assignment[] | null = null;
  let open = 0;
  let failed = 0;
  let expired = 0;
  // Walked by index: called at every result and every change of a running task.
  const list: readonly Assignment[] = Array.isArray(assignments) ? assignments : [...assignments];
  for (let i = 0; i < list.length; i++) {
    const a = list[i] as Assignment;
    if (a.taskId !== task.id || a.round !== task.round) continue;
    if (isOpen(a)) open += 1;
    else if (a.status === 'reported' && typeof a.digest === 'string') {
      if (reported === null) reported = [a];
      else reported.push(a);
    } else if (a.status === 'expired') expired += 1;
    else if (isFailure(a.status)) failed += 1;
  }
  const lost = failed + expired;
  const reportedCount = reported === null ? 0 : reported.length;
  if (reportedCount >= overlap) return { kind: 'decide', reported: reported ?? [] };
  if (failed >= overlap) {
    return { kind: 'failed', lost, reason: `${failed} of ${overlap} replica${overlap === 1 ? '' : 's'} of round ${task.round} failed` };
  }
  if (expired >= overlap * MAX_EXPIRIES_PER_REPLICA) {
    return { kind: 'failed', lost, reason: `${expired} replicas of round ${task.round} expired without an answer` };
  }
  if (reportedCount + open >= overlap) return { kind: 'waiting', open, reported: reportedCount };
  return { kind: 'needs-replicas', missing: overlap - reportedCount - open, lost };
}

/**
 * How many times each replica of a round may be lost to a silent agent (expired: it went
 * inactive or missed its deadline) before the round is given up. Expiry is the agent's fault,
 * not the task's: its replica goes back to the queue with the in-progress boost and costs the
 * task no staleness, but a task no agent ever answers must still end.
 */
export const MAX_EXPIRIES_PER_REPLICA = 3;

/** A reported assignment without a digest is an error report: a failure like `failed`. */
function isFailure(status: AssignmentStatus): boolean {
  return status === 'failed' || status === 'reported';
}

/** The votes of reported assignments, each weighted by its agent's trust (`trustOf`). */
export function collectVotes(reported: Iterable<Pick<Assignment, 'agentId' | 'digest'>>, trustOf: (agentId: string) => number): Vote[] {
  // An array is mapped (an array of its size: a pushed-to empty one reserves 17 slots).
  const vote = (a: Pick<Assignment, 'agentId' | 'digest'>): Vote => ({ agentId: a.agentId, digest: a.digest ?? null, trust: trustOf(a.agentId) });
  if (Array.isArray(reported)) return (reported as readonly Pick<Assignment, 'agentId' | 'digest'>[]).map(vote);
  const votes: Vote[] = [];
  for (const a of reported) votes.push(vote(a));
  return votes;
}

/**
 * What a failed round does to its task (from in_progress, completed or failed): staleness + 1,
 * the round's assignments dropped, then back to `pending` for a retry, or `abandoned` once
 * staleness * stalePenalty >= staleCeiling. Retries end: the original retried failed
 * validations forever because that path never counted them.
 */
export function afterFailedRound(task: Task, now: number, params: CoreParams, reason?: string): Task {
  const why = reason ?? task.reason ?? 'the round failed';
  const failed = task.status === 'failed' ? task : transition(task, 'failed', now, why);
  const staleness = failed.staleness + 1;
  const counted: Task = { ...failed, staleness, assignments: [] };
  const { stalePenalty, staleCeiling } = params.scheduling;
  if (staleness * stalePenalty >= staleCeiling) {
    return transition(counted, 'abandoned', now, `abandoned after ${staleness} failed round${staleness === 1 ? '' : 's'}; last: ${why}`);
  }
  return transition(counted, 'pending', now, `retry ${staleness} of ${maxFailures(params) - 1}: ${why}`);
}

import type { Decision } from './consensus.ts';
import type { Agent, AgentStats, Task } from './model.ts';
import type { CoreParams } from './params.ts';

/**
 * How many replicas a task runs, and where. The thesis' rule runs every round with the task's
 * overlap. The credibility policy starts a round small and adds replicas while the result is not
 * credible enough: an agent with a long verified record may run a task alone (BOINC's adaptive
 * replication), but never knowingly, because results resting on one agent's word are
 * cross-checked at random.
 */

/** Replicas the task's current round needs: what the policy set (`task.replicas`), else its overlap. */
export function replicasWanted(task: Pick<Task, 'replicas' | 'spec'>): number {
  return task.replicas ?? task.spec.overlap;
}

/** Replicas a new round of `task` starts with under `params` (store it in `task.replicas`). */
export function startingReplicas(params: CoreParams, task: Pick<Task, 'spec'>): number {
  return params.validation.policy === 'credibility' ? params.credibility.initialReplicas : task.spec.overlap;
}

/**
 * The task as a new round of it begins: `replicas` set to startingReplicas, or removed when that
 * is its overlap anyway. A known-answer task (Task.spotCheck) keeps its one replica.
 */
export function withStartingReplicas(params: CoreParams, task: Task): Task {
  if (task.spotCheck !== undefined) return task;
  const replicas = startingReplicas(params, task);
  if (replicas === task.spec.overlap) {
    if (task.replicas === undefined) return task;
    const { replicas: _previous, ...rest } = task;
    return rest;
  }
  return task.replicas === replicas ? task : { ...task, replicas };
}

/**
 * The task once an `undecided` decision asked for more replicas: its round now needs the
 * replicas that reported plus `decision.extraReplicas`. The task stays in_progress; the scheduler
 * finds the extra agents.
 */
export function extendRound(task: Task, decision: Pick<Decision, 'outcome' | 'extraReplicas'>, reported: number): Task {
  if (decision.outcome !== 'undecided') return task;
  return { ...task, replicas: Math.max(replicasWanted(task), reported + Math.max(1, decision.extraReplicas ?? 1)) };
}

/**
 * The probability that a result resting on this agent's word alone is cross-checked anyway: BOINC
 * gives a host with n valid results in a row unreplicated work with probability 1 - 1/n; here it
 * is never below credibility.audit, so a patient liar is caught at a steady rate however long
 * its record. 1 for an agent with no record. 0 for one its hub's operator vouches for
 * (track-record.ts, vouchFor): the audit guards against a record earned by a stranger, and the
 * operator answers for its own machines (a hub of one trusted agent would otherwise hold every
 * audited task for a second agent that never comes); spot-checks still test it.
 */
export function auditProbability(stats: AgentStats | undefined, params: CoreParams): number {
  if (stats?.vouched === true) return 0;
  const n = stats?.consecutiveValid ?? 0;
  if (n <= 0) return 1;
  return Math.min(1, Math.max(params.credibility.audit, 1 / n));
}

/**
 * Draws whether such a result is cross-checked, from `random` (uniform in [0, 1)); the draw is
 * made after the agent reported, so it cannot know. Without randomness: always.
 */
export function drawAudit(stats: AgentStats | undefined, random: (() => number) | undefined, params: CoreParams): boolean {
  if (random === undefined) return true;
  return random() < auditProbability(stats, params);
}

/**
 * Placement diversity: may `agent` run a replica of `task` beside `holders` (the agents holding
 * its other replicas)? Never on the submitter's own key, and never two replicas in one network
 * address block, so that one party's machines cannot make up a task's replicas among themselves.
 * An agent with no known address block is not matched with anyone by block.
 */
export function mayHoldReplica(task: Pick<Task, 'submitter'>, agent: Pick<Agent, 'id' | 'addressBlock'>, holders: Iterable<Pick<Agent, 'addressBlock'>>): boolean {
  if (agent.id === task.submitter) return false;
  if (agent.addressBlock === undefined) return true;
  for (const holder of holders) if (holder.addressBlock === agent.addressBlock) return false;
  return true;
}

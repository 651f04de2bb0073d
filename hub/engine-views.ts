import { addResources, type Agent, type Assignment, explainWaiting, NO_RESOURCES, type Task } from '../src/core/index.ts';
import type { AgentView, AssignmentView, NetworkView, TaskFilter, TaskView } from './engine-types.ts';
import type { EngineState } from './engine-state.ts';

/**
 * What the engine shows of its state. Views are built field by field from the records, so a
 * field added to a record (or a credential held beside it) never leaks into an answer by accident.
 */

const DEFAULT_LIST_LIMIT = 100;

export function assignmentView(a: Assignment): AssignmentView {
  const view: AssignmentView = { id: a.id, agentId: a.agentId, round: a.round, status: a.status, issuedAt: a.issuedAt, deadline: a.deadline };
  if (a.reason !== undefined) view.reason = a.reason;
  if (a.digest !== undefined) view.digest = a.digest;
  return view;
}

/**
 * A task as people see it. A task that waits for agents says why, computed now from the
 * capacity index (explainWaiting), so the answer is never older than the question.
 */
export function taskView(state: EngineState, task: Task): TaskView {
  const view: TaskView = {
    id: task.id,
    submitter: task.submitter,
    home: task.home,
    status: task.status,
    spec: task.spec,
    submittedAt: task.submittedAt,
    transitions: task.transitions,
    staleness: task.staleness,
    round: task.round,
    assignments: state.assignmentsOf(task.id).map(assignmentView),
  };
  if (task.result !== undefined) view.result = { ...task.result, text: Buffer.from(task.result.stdout, 'base64').toString('utf8') };
  if (task.trustScore !== undefined) view.trustScore = task.trustScore;
  if (task.decider !== undefined) view.decider = task.decider;
  if (task.spotCheck !== undefined) view.kind = 'spot-check';
  if (task.decisions !== undefined && task.decisions.length > 0) view.decisions = task.decisions;
  const reason = task.reason ?? waitingReason(state, task);
  if (reason !== undefined) view.reason = reason;
  return view;
}

function waitingReason(state: EngineState, task: Task): string | undefined {
  if (!state.backlog.has(task.id)) return undefined;
  const { agentIds, excluded = [] } = state.replicas(task.id);
  const exclude = new Set([...agentIds, ...excluded]);
  // Agents the scheduler passes over for users' tasks (EngineState.mayRunSubmitted) count as unable to take it.
  let held = 0;
  for (const id of state.restricted) {
    const agent = state.agents.get(id);
    if (agent === undefined || !agent.active || exclude.has(agent.id)) continue;
    exclude.add(agent.id);
    held += 1;
  }
  const reason = explainWaiting(task, state.capacity, { holders: agentIds.length, exclude }).reason;
  const problem = state.spotCheckProblem === undefined ? '' : `; ${state.spotCheckProblem}`;
  if (held === 0) return reason + problem;
  return `${reason}; ${held} more agent${held === 1 ? '' : 's'} may not run users' tasks yet (on probation, running known-answer tasks until their record counts; caught lying; or awaiting the operator's approval)${problem}`;
}

export function agentView(agent: Agent): AgentView {
  return {
    id: agent.id,
    publicKey: agent.publicKey,
    name: agent.name,
    total: agent.total,
    free: agent.free,
    reserved: agent.reserved,
    trust: agent.trust,
    active: agent.active,
    registeredAt: agent.registeredAt,
    lastHeartbeat: agent.lastHeartbeat,
    stats: agent.stats,
    ...(agent.pending === true ? { pending: true } : {}),
  };
}

/** Newest first, at most `limit` (default 100). */
export function listTasks(state: EngineState, filter: TaskFilter): TaskView[] {
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  const kind = filter.kind ?? 'user';
  const out: TaskView[] = [];
  if (limit <= 0) return out;
  for (const id of state.newestFirst()) {
    const task = state.tasks.get(id) as Task;
    if (kind !== 'all' && (task.spotCheck !== undefined) !== (kind === 'spot-check')) continue;
    if (filter.status !== undefined && task.status !== filter.status) continue;
    if (filter.submitter !== undefined && task.submitter !== filter.submitter) continue;
    out.push(taskView(state, task));
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Resources and trust of the ACTIVE agents: what the network can do now. With `only`, just the
 * agents and tasks it picks (a federated hub's own, beside everything it knows of).
 */
export function networkView(state: EngineState, only?: { agent(agent: Agent): boolean; task(task: Task): boolean }): NetworkView {
  let active = 0;
  let known = 0;
  let trust = 0;
  let total = NO_RESOURCES;
  let free = NO_RESOURCES;
  for (const agent of state.agents.values()) {
    if (only !== undefined && !only.agent(agent)) continue;
    known += 1;
    if (!agent.active) continue;
    active += 1;
    trust += agent.trust;
    total = addResources(total, agent.total);
    const available = state.capacity.get(agent.id)?.available;
    if (available !== undefined) free = addResources(free, available);
  }
  let tasks = state.countByStatus();
  if (only !== undefined) {
    tasks = Object.fromEntries(Object.keys(tasks).map((status) => [status, 0])) as typeof tasks;
    for (const task of state.tasks.values()) if (task.spotCheck === undefined && only.task(task)) tasks[task.status] += 1;
  }
  return {
    agents: { active, inactive: known - active, total: known },
    resources: { total, free },
    averageTrust: active === 0 ? 0 : Math.round((trust / active) * 1000) / 1000,
    tasks,
  };
}

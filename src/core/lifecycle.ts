import { IllegalTransitionError } from './errors.ts';
import type { TaskSpecBody } from '../../protocol/messages.ts';
import type { Task, TaskStatus, Transition } from './model.ts';

/**
 * The task lifecycle: the thesis' Table 5.1,
 *   validating -> pending | invalid -> in_queue -> in_progress -> completed -> validated | failed,
 * plus what the thesis does without naming it:
 * - failed -> pending: a retry (health.afterFailedRound, staleness + 1);
 * - failed -> abandoned: the staleness ceiling is reached, retries end;
 * - in_progress -> failed: the round lost too many replicas to be decided;
 * - in_queue -> pending: the task left the active queue, or its assignments were lost;
 * - in_progress -> pending: every assignment of the round was lost (an agent vanished).
 * `invalid`, `validated` and `abandoned` are terminal.
 */
export const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = Object.freeze({
  validating: ['pending', 'invalid'],
  pending: ['in_queue'],
  in_queue: ['in_progress', 'pending'],
  in_progress: ['completed', 'failed', 'pending'],
  completed: ['validated', 'failed'],
  failed: ['pending', 'abandoned'],
  invalid: [],
  validated: [],
  abandoned: [],
});

/**
 * A task as it enters the lifecycle: `validating`, no staleness, no round yet. `at` is the
 * receiving hub's clock (or the simulation's), never the submitter's: nobody ages a task to jump
 * the queue.
 */
export function newTask(fields: { id: string; submitter: string; spec: TaskSpecBody; home: string; at: number }): Task {
  const { id, submitter, spec, home, at } = fields;
  return { id, submitter, spec, status: 'validating', submittedAt: at, transitions: [{ status: 'validating', at }], staleness: 0, round: 0, assignments: [], home };
}

/** True when the lifecycle allows `from -> to` (never `x -> x`). */
export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** True for statuses a task never leaves: invalid, validated, abandoned. */
export function isTerminal(status: TaskStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

/**
 * A new task in status `to`, with the transition appended to its history and `reason` set to the
 * given one (or removed: a reason explains the current status only). The input is not modified.
 * Throws IllegalTransitionError when the lifecycle does not allow the move.
 */
export function transition(task: Task, to: TaskStatus, at: number, reason?: string): Task {
  if (!canTransition(task.status, to)) throw new IllegalTransitionError(task.id, task.status, to);
  const step: Transition = reason === undefined ? { status: to, at } : { status: to, at, reason };
  const next: Task = { ...task, status: to, transitions: [...task.transitions, step] };
  if (reason !== undefined) next.reason = reason;
  // Copying without the old reason costs a slow object rest: only when there is one to drop.
  else if (task.reason !== undefined) return withoutReason(next);
  return next;
}

function withoutReason({ reason: _previous, ...rest }: Task): Task {
  return rest;
}

/**
 * The task once the scheduler gave it agents. A waiting task (pending or in_queue) starts a new
 * round: round + 1, exactly these assignments, status in_progress (through in_queue). A task
 * already in_progress adds them to its current round: they replace lost replicas.
 */
export function recordAssignments(task: Task, assignmentIds: readonly string[], at: number): Task {
  if (task.status === 'in_progress') return { ...task, assignments: [...task.assignments, ...assignmentIds] };
  // As transition(transition(task, 'in_queue'), 'in_progress') would make it, in one copy: a
  // scheduling pass starts a round for every task it places.
  if (task.status !== 'pending' && task.status !== 'in_queue') return transition(task, 'in_progress', at);
  const started: Transition = { status: 'in_progress', at };
  const transitions = task.status === 'pending' ? [...task.transitions, { status: 'in_queue', at } as Transition, started] : [...task.transitions, started];
  const next: Task = { ...task, status: 'in_progress', transitions, round: task.round + 1, assignments: [...assignmentIds] };
  return task.reason === undefined ? next : withoutReason(next);
}

import type { Task } from './model.ts';
import type { CoreParams } from './params.ts';
import { resourceWeight } from './resources.ts';

/**
 * The thesis' priority (equation 5.1): P = (A / R - S * Ps) * W, higher runs first.
 * - A: age in seconds, (now - submittedAt) / 1000. Not clamped at 0: a task stamped by a clock
 *   ahead of ours simply ranks lower until it ages, and the order stays the same at every `now`
 *   within a resource class, which the backlog's index relies on.
 * - R: cpu + (ramGb / 2), exactly as the thesis defines it (a core weighs as much as 2 GB), and
 *   never below MIN_RESOURCE_WEIGHT, so an empty request cannot divide by zero.
 * - S: staleness (failed rounds), Ps: scheduling.stalePenalty.
 * - W: scheduling.inProgressBoost for a task in status in_progress (it has running replicas and
 *   is back in the backlog for the ones it lost), else 1. The original ranked only pending tasks,
 *   so its boost never applied.
 */
export function priority(task: Task, now: number, params: CoreParams): number {
  const { stalePenalty } = params.scheduling;
  const age = (now - task.submittedAt) / 1000;
  return (age / taskWeight(task) - task.staleness * stalePenalty) * statusWeight(task, params);
}

/** No request is "free": a floor of a hundredth of a core keeps A / R finite. */
export const MIN_RESOURCE_WEIGHT = 0.01;

/** R of the priority formula: cpu + ramGb / 2, at least MIN_RESOURCE_WEIGHT (also for NaN). */
export function taskWeight(task: Task): number {
  const r = resourceWeight(task.spec);
  return r >= MIN_RESOURCE_WEIGHT ? r : MIN_RESOURCE_WEIGHT;
}

/** W of the priority formula. */
export function statusWeight(task: Task, params: CoreParams): number {
  return task.status === 'in_progress' ? params.scheduling.inProgressBoost : 1;
}

import type { TaskView } from './types.ts';

/**
 * A task's transitions only grow, so the view with fewer is the older one. A page learns of a
 * task from several channels that race (the answer to its own submission, a list read, the live
 * stream), and the older view must not overwrite the newer: a task found invalid within
 * milliseconds would otherwise stay "validating" on the page for good.
 */
function older(held: TaskView | undefined, incoming: TaskView): boolean {
  return held !== undefined && held.transitions.length > incoming.transitions.length;
}

/** `tasks` with `task` in it, unless `tasks` already holds a later view of it. */
export function withTask(tasks: Map<string, TaskView>, task: TaskView): Map<string, TaskView> {
  return older(tasks.get(task.id), task) ? tasks : new Map(tasks).set(task.id, task);
}

/** A fresh list read, keeping any later view the stream delivered while it was on its way. */
export function withTaskList(tasks: Map<string, TaskView>, list: readonly TaskView[]): Map<string, TaskView> {
  const next = new Map<string, TaskView>();
  for (const task of list) {
    const held = tasks.get(task.id);
    next.set(task.id, held !== undefined && older(held, task) ? held : task);
  }
  return next;
}

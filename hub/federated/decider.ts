import type { Task } from '../../src/core/index.ts';

/** The hub that decides a task: its home, unless another hub took it over (docs/FEDERATION.md, "When a home hub disappears"). */
export function deciderOf(task: Pick<Task, 'home' | 'decider'>): string {
  return task.decider ?? task.home;
}

/** The task with `nodeId` as its decider (its home again when it is the home). */
export function withDecider(task: Task, nodeId: string): Task {
  const { decider: _previous, ...rest } = task;
  return nodeId === task.home ? rest : { ...rest, decider: nodeId };
}

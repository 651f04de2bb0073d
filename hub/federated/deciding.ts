import { isTerminal } from '../../src/core/index.ts';
import { type RoundContext, settleRound } from '../engine-rounds.ts';
import { withDecider } from './decider.ts';
import { claimEntry } from './takeover.ts';

/**
 * The engine's steps when it starts or stops deciding tasks, shared by the hub (hub/engine.ts
 * resumeDeciding, adopt) and the simulated federated hub (simulations/federated/fed-hub.ts), so
 * that the simulator runs these very rules. Pure over the engine's state, inside the caller's
 * transaction; the image validation each step may call for is the caller's (I/O).
 */

/**
 * Deciding again (after the start's first sync, or back in a quorum): every task this hub decides
 * goes back into the backlog if it waits for agents, and each round is settled with the results
 * that arrived while decisions were held. The caller has set `state.deciding`. Returns the tasks
 * whose image is still to be validated.
 */
export function resumeRounds(ctx: RoundContext): string[] {
  const { state } = ctx;
  const validating: string[] = [];
  for (const task of [...state.tasks.values()]) {
    if (!state.decides(task)) continue;
    state.putTask(task);
    settleRound(ctx, task.id);
    if (state.tasks.get(task.id)?.status === 'validating') validating.push(task.id);
  }
  return validating;
}

/**
 * Takes `taskId` over (takeover.ts: its decider silent for a lease): this hub becomes its decider,
 * logs its claim at once (takeover.ts claimEntry, ahead of anything else it logs about the task),
 * and settles the round with the results it holds. False when there is nothing to take (unknown,
 * ended, decided here already, or this hub does not decide now). The caller validates the image
 * if the task still waits for that.
 */
export function adoptTask(ctx: RoundContext, taskId: string): boolean {
  const { state, tx } = ctx;
  const task = state.tasks.get(taskId);
  if (task === undefined || isTerminal(task.status) || !state.deciding || state.decides(task) || state.selfId === undefined) return false;
  const adopted = withDecider(task, state.selfId);
  tx.task(adopted);
  tx.claim(claimEntry(adopted));
  settleRound(ctx, taskId);
  return true;
}

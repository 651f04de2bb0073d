import { isTerminal, type Task } from '../../src/core/index.ts';
import type { ContactBook } from './contact.ts';
import type { Unnumbered } from './entries.ts';
import { deciderOf } from './decider.ts';
import { outranks } from './fence.ts';

/**
 * One decider per task, and what happens when it falls silent (docs/FEDERATION.md, "When a home
 * hub disappears"): a lease. A hub that has heard nothing from a task's decider for `leaseMs`,
 * and is the live hub with the lowest node id, takes the task over (and only while it hears a
 * quorum: fence.ts). Its assignments and decisions then come from another hub than the home;
 * every hub judges such a claim by rank (fence.ts), from the signed entries alone.
 * Pure: the contact book and the clock are passed in.
 */

export interface LeaseView {
  self: string;
  leaseMs: number;
  contacts: ContactBook;
}

/**
 * What to make of an assignment or decision that `sender` signed about `task`:
 * - `decider`: it comes from the task's decider;
 * - `takeover`: a claim by a hub that outranks the decider (fence.ts `outranks`): the sender
 *   decides the task from now on, here as on every hub;
 * - `ignore`: an entry of a hub the decider outranks (the old home's late entries, a claimant
 *   with a higher node id): it has no effect.
 *
 * Judged from the signed entry alone, never from who this hub happened to hear: every hub that
 * holds the same entries names the same decider, whatever each saw of a partition. So the claim
 * of a member is believed: the federation trusts its members to claim a task only after a lease
 * of silence (run with --peer-allow when members are not all trusted). A private-registry task is
 * never taken over (only its home holds the credentials): its claims are ignored.
 */
export function judgeClaim(task: Task, sender: string): 'decider' | 'takeover' | 'ignore' {
  const decider = deciderOf(task);
  if (sender === decider) return 'decider';
  if (task.spec.privateRegistry === true) return 'ignore';
  return outranks(task, sender, decider) ? 'takeover' : 'ignore';
}

/**
 * Whether this hub must take over `task`: its decider silent to it for a whole lease, and this hub
 * the lowest node id among the hubs it can hear that would outrank the decider (never the home,
 * and a hub below a claimant only). `decidingSince`: since when this hub has decided without a
 * break (it started and synced, or came back into a quorum). A hub that has decided for less than
 * a lease cannot tell the decider's silence from its own absence: one back from a crash or a cut
 * has heard nothing for a while, though the others, the majority, may have heard the decider
 * until a moment ago (and may hold a decision of its that this hub has not synced yet). The
 * caller also holds a quorum (fence.ts hasQuorum).
 */
export function shouldTakeOver(task: Task, live: readonly string[], now: number, decidingSince: number, view: LeaseView): boolean {
  const decider = deciderOf(task);
  if (decider === view.self || now - decidingSince < view.leaseMs || task.spec.privateRegistry === true) return false;
  if (!view.contacts.apartDuring(decider, now - view.leaseMs, now)) return false;
  const lowest = [view.self, ...live].filter((id) => id !== decider && outranks(task, id, decider)).sort()[0];
  return lowest === view.self;
}

/**
 * The takeover pass: the open tasks this hub must take over now (`shouldTakeOver` on each). Only
 * while it decides and holds a quorum (fence.ts): the caller passes both.
 */
export function orphans(tasks: Iterable<Task>, live: readonly string[], now: number, decidingSince: number, view: LeaseView, deciding: boolean, quorum: boolean): string[] {
  if (!deciding || !quorum) return [];
  const out: string[] = [];
  for (const task of tasks) if (!isTerminal(task.status) && shouldTakeOver(task, live, now, decidingSince, view)) out.push(task.id);
  return out;
}

/**
 * The claim a hub logs the moment it takes a task over (a `task.status` naming the task's status
 * and round here): a takeover is said at once, not left to the claimant's next assignment or
 * decision, which may come only when the replicas still running report. A home that returns (or
 * whose cut heals) syncs before it decides again, finds the claim and follows the claimant
 * instead of deciding the round itself with the same results.
 */
export function claimEntry(task: Task): Unnumbered<'task.status'> {
  const status = task.status === 'pending' || task.status === 'in_queue' ? task.status : 'in_progress';
  return { tasks: [{ taskId: task.id, status, round: task.round }] };
}

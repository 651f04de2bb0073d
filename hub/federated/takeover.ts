import type { Task } from '../../src/core/index.ts';
import type { ContactBook } from './contact.ts';
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
 * and a hub below a claimant only). A hub that has itself run for less than a lease cannot tell
 * silence from not having connected yet. The caller also holds a quorum (fence.ts hasQuorum).
 */
export function shouldTakeOver(task: Task, live: readonly string[], now: number, startedAt: number, view: LeaseView): boolean {
  const decider = deciderOf(task);
  if (decider === view.self || now - startedAt < view.leaseMs || task.spec.privateRegistry === true) return false;
  if (!view.contacts.apartDuring(decider, now - view.leaseMs, now)) return false;
  const lowest = [view.self, ...live].filter((id) => id !== decider && outranks(task, id, decider)).sort()[0];
  return lowest === view.self;
}

import type { Task } from '../../src/core/index.ts';
import type { ContactBook } from './contact.ts';
import { deciderOf } from './decider.ts';

/**
 * One decider per task, and what happens when it falls silent (docs/FEDERATION.md, "When a home
 * hub disappears"): a lease. A hub that has heard nothing from a task's decider for `leaseMs`,
 * and is the live hub with the lowest node id, takes the task over. Its assignments and decisions
 * then come from another hub than the home; each hub judges such a claim from what it saw itself.
 * Pure: the contact book and the clock are passed in.
 */

export interface LeaseView {
  self: string;
  leaseMs: number;
  contacts: ContactBook;
}

/**
 * What to make of an assignment or decision that `sender` signed at `ts` about `task`:
 * - `decider`: it comes from the task's decider;
 * - `takeover`: a valid claim, the sender decides the task from now on;
 * - `ignore`: a claim that loses (the old home's late entries, or a claimant with a higher id);
 * - `reject`: a claim nobody could have made honestly (the decider was heard meanwhile).
 *
 * A claim is valid when the one who judges it heard nothing, for half a lease before it, from the
 * party the claim is about: the decider, or, when the judge is the decider, the claimant (a home
 * that was down or cut off must give way). Half a lease: the claimant waited a whole one, and two
 * hubs notice a lost connection a little apart. Among valid claims the original home yields, and
 * between two claimants the lower node id wins, so both ends of a healed partition agree.
 */
export function judgeClaim(task: Task, sender: string, ts: number, view: LeaseView): 'decider' | 'takeover' | 'ignore' | 'reject' {
  const decider = deciderOf(task);
  if (sender === decider) return 'decider';
  const watched = decider === view.self ? sender : decider;
  if (!view.contacts.apartDuring(watched, ts - view.leaseMs / 2, ts)) return sender === task.home ? 'ignore' : 'reject';
  return decider === task.home || sender < decider ? 'takeover' : 'ignore';
}

/**
 * Whether this hub must take over tasks decided by `decider`: silent to it for a whole lease, and
 * this hub the lowest node id among the hubs it can hear (the silent one aside). A hub that has
 * itself run for less than a lease cannot tell silence from not having connected yet.
 */
export function shouldTakeOver(decider: string, live: readonly string[], now: number, startedAt: number, view: LeaseView): boolean {
  if (decider === view.self || now - startedAt < view.leaseMs) return false;
  if (!view.contacts.apartDuring(decider, now - view.leaseMs, now)) return false;
  const lowest = [view.self, ...live].filter((id) => id !== decider).sort()[0];
  return lowest === view.self;
}

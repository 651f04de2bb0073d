import type { MessageBody } from '../../protocol/messages.ts';
import { type Agent, clampTrust, isTerminal, type Task, type TrustParams } from '../../src/core/index.ts';
import { deciderOf } from './decider.ts';

/**
 * Fencing (docs/FEDERATION.md, "Fencing"): what keeps two hubs from deciding one task with
 * different effects when a home is cut off rather than dead. Two rules, both pure:
 *
 * 1. Quorum (prevention): a hub plans, decides and takes over tasks only while it hears a quorum
 *    of the federation's members (`federationMembers`: every hub it ever knew, never forgotten by
 *    silence, so a cut-off minority stays a minority however long the cut lasts). A home cut off
 *    from the others stops deciding at once (`fenceAction`), a whole lease before the others may
 *    take its tasks over, so at most one side of a partition decides.
 * 2. Rank (resolution, for what slips through: a decision in flight when the cut came, a partial
 *    partition where both sides have a quorum): between two hubs deciding one task, the one of
 *    higher rank wins on every hub, judged from the signed entries alone (no hub's own view of who
 *    was silent), so every hub ends with the same decider. A hub that took a task over outranks
 *    its home; between two such hubs the lower node id wins. An entry of a hub of lower rank than
 *    the task's decider is ignored; a claim of a hub of higher rank makes it the decider and voids
 *    a verdict the loser had reached on the task: its trust steps are taken back and the task is
 *    reopened, for the winner's own decision to settle.
 */

/**
 * Whether the hubs heard (this hub included) are a quorum of `members`: more than half of them, or
 * exactly half with the lowest member among them (so one of two equal halves, and only one, goes on).
 */
export function hasQuorum(members: readonly string[], heard: readonly string[]): boolean {
  const all = new Set(members);
  if (all.size === 0) return true;
  const present = new Set(heard.filter((id) => all.has(id)));
  if (present.size * 2 > all.size) return true;
  return present.size * 2 === all.size && present.has([...all].sort()[0]!);
}

/**
 * The members whose quorum a hub needs: the allow list when there is one; otherwise itself and
 * every hub it knows of (`known`: the origins of the logs it holds, which are durable, and the hubs
 * in its peer book), less those that sent it forgeries (`refused`). Silence never removes a member.
 * If it did, a minority cut off for long enough would count the others as gone and decide beside
 * the majority; and retiring silent members only while holding a quorum is not enough either:
 * members are each hub's own view, not agreed, so once a majority has retired a hub, a later cut
 * can leave a retiring hub and the others with two different member lists under which both sides
 * hold a quorum (the simulator finds it within minutes with three hubs). The price: a hub heard
 * once counts until the federation is restarted with --peer-allow naming its members, and a
 * federation that lost half its members for good stops deciding until then.
 */
export function federationMembers(self: string, known: Iterable<string>, refused: ReadonlySet<string>, allow?: readonly string[]): string[] {
  const ids = new Set([self]);
  if (allow !== undefined) {
    for (const id of allow) ids.add(id);
    return [...ids];
  }
  for (const id of known) if (!refused.has(id)) ids.add(id);
  return [...ids];
}

/**
 * What the fence does now (rule 1), run whenever connectivity may have changed: a hub that decides
 * and has lost its quorum holds at once (a decision it made out of quorum is one the others,
 * unaware, may make again once they take the task over); one that holds and is back in a quorum
 * syncs first (to learn of any claim on its tasks), then decides again.
 */
export function fenceAction(deciding: boolean, quorum: boolean): 'hold' | 'resume' | 'none' {
  if (deciding && !quorum) return 'hold';
  if (!deciding && quorum) return 'resume';
  return 'none';
}

/** Whether `a` outranks `b` as the decider of `task` (see rule 2). A hub never outranks itself. */
export function outranks(task: Pick<Task, 'home'>, a: string, b: string): boolean {
  if (a === b || a === task.home) return false;
  return b === task.home || a < b;
}

/**
 * The task as it was before the loser's verdict, for the winner to decide: a validated or
 * abandoned task back in its round (its assignments as they were closed), an invalid one back to
 * validating. Anything not terminal is returned as it is. (The lifecycle has no edge out of a
 * terminal status: a voided verdict is not a step of the task, it is taken back.)
 */
export function reopened(task: Task, claimant: string, at: number): Task {
  if (!isTerminal(task.status)) return task;
  const status = task.status === 'invalid' ? 'validating' : 'in_progress';
  const { result: _result, trustScore: _score, reason: _reason, ...rest } = task;
  return {
    ...rest,
    status,
    transitions: [...task.transitions, { status, at, reason: `the verdict of hub ${deciderOf(task).slice(0, 8)} was voided: hub ${claimant.slice(0, 8)} took the task over` }],
  };
}

/**
 * The agents as they were before `voided`'s trust steps (each voter's trust minus the step the
 * voided decision gave it, clamped). Agents not known here are left out.
 */
export function revertTrust(voided: Pick<MessageBody<'decision'>, 'outcome' | 'trust'> | undefined, agent: (id: string) => Agent | undefined, trust: TrustParams): Agent[] {
  if (voided === undefined || voided.outcome !== 'validated') return [];
  return voided.trust.flatMap((t) => {
    const a = agent(t.agent);
    if (a === undefined || t.after === t.before) return [];
    return [{ ...a, trust: clampTrust(a.trust - (t.after - t.before), trust) }];
  });
}

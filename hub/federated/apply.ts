import type { Verifier } from '../../keys/verifier.ts';
import { type Opened, open } from '../../protocol/envelope.ts';
import { DcloudError } from '../../protocol/errors.ts';
import type { MessageBody } from '../../protocol/messages.ts';
import {
  newTask,
  addResources,
  type Assignment,
  clampTrust,
  type Decision,
  type DecisionGroup,
  isOpen,
  isTerminal,
  recordAssignments,
  type Task,
  transition,
  trustScoreOf,
  type ValidationPolicy,
} from '../../src/core/index.ts';
import { assignmentIdOf, newAgentRecord } from '../engine.ts';
import { carryOut, closeAssignment, failRound, type RoundContext } from '../engine-rounds.ts';
import type { Verdict } from '../federation/federation.ts';
import { deciderOf, withDecider } from './decider.ts';
import { checkDecision } from './decision-check.ts';
import { VERDICT_POLICIES } from './entries.ts';
import { reopened, revertTrust } from './fence.ts';
import { judgeClaim } from './takeover.ts';

/**
 * How a hub follows the tasks other hubs decide: their announcements, assignments and decisions,
 * applied to its own state inside one engine transaction (engine.transact). Each function is
 * idempotent by content (a task, an assignment, a round is applied once) and answers the
 * transport's verdict; `retry` means "not yet": it depends on an entry still on its way.
 */

export type Applied = Verdict | 'retry';

/** A task announced by its home: held here as that home sees it until it is decided. */
export function applyAnnounce(ctx: RoundContext, opened: Opened<'task.announce'>, verifier: Verifier): Applied {
  let spec: Opened<'task.spec'>;
  try {
    spec = open(opened.body.task, { verifier, expect: ['task.spec'] });
  } catch (err) {
    if (err instanceof DcloudError) return 'reject'; // the submitter's envelope does not verify: forged
    throw err;
  }
  if (ctx.state.tasks.has(spec.id)) return 'ignore';
  const task = newTask({ id: spec.id, submitter: spec.nodeId, spec: spec.body, home: opened.body.home, at: opened.ts });
  ctx.tx.task(task);
  ctx.tx.specs.push({ taskId: task.id, envelope: opened.body.task });
  return 'accept';
}

const WAITING = new Set(['validating', 'pending', 'in_queue']);

/**
 * A `task.status` entry: the decider's word on tasks of its that wait for agents, each shown here
 * as there, only for the round named and only while the task still waits here (an assignment or a
 * decision, which come after it in the decider's log, moves it on). Signed by a hub that outranks
 * a task's decider (takeover.ts judgeClaim), it is first that hub's claim on the task: it becomes
 * the decider here (and a verdict of the loser's is voided: acceptDecider, with `voided`). A task
 * not known here yet is retried: its announcement is on its way (in the same log for its decider,
 * in its home's for a claimant).
 */
export function applyStatus(ctx: RoundContext, sender: string, body: MessageBody<'task.status'>, voided?: (taskId: string) => MessageBody<'decision'> | undefined): Applied {
  let changed = false;
  let unknown = false;
  for (const { taskId, status, round } of body.tasks) {
    let task = ctx.state.tasks.get(taskId);
    if (task === undefined) {
      unknown = true;
      continue;
    }
    const claim = judgeClaim(task, sender);
    if (claim === 'ignore') continue;
    if (claim === 'takeover') {
      acceptDecider(ctx, taskId, sender, voided?.(taskId));
      task = ctx.state.tasks.get(taskId) as Task;
      changed = true;
    }
    if (status === 'in_progress' || task.round !== round || !WAITING.has(task.status) || task.status === status) continue;
    let next = task.status === 'validating' ? transition(task, 'pending', ctx.now) : task;
    if (next.status !== status) next = transition(next, status, ctx.now);
    ctx.tx.task(next);
    changed = true;
  }
  if (unknown) return 'retry';
  return changed ? 'accept' : 'ignore';
}

/** Whether an assignment can be applied now: its task known, and (in a round) the round it opens not ahead of this hub. */
export function assignmentReadiness(ctx: RoundContext, body: MessageBody<'assignment'>): Applied | 'ready' {
  const task = ctx.state.tasks.get(body.taskId);
  if (task === undefined) return 'retry';
  if (ctx.state.assignments.has(body.assignmentId) || isTerminal(task.status)) return 'ignore';
  // An id of the next round while this hub still sees the current one open: the decision that
  // closed it comes first in the decider's log, and has not arrived yet.
  if (task.status === 'in_progress' && assignmentIdOf(task.id, task.round + 1, body.agent) === body.assignmentId) return 'retry';
  return 'ready';
}

/**
 * A replica the decider assigned. The agent's own hub serves it (POST /v1/work), signed by that
 * hub; every hub reserves its capacity. A private image's replica is never served here: it runs on
 * its home's agents only (with the credentials only its home holds), so it is recorded as running.
 */
export function applyAssignment(ctx: RoundContext, body: MessageBody<'assignment'>): Applied {
  const { state, tx, now } = ctx;
  const task = state.tasks.get(body.taskId) as Task;
  const waiting = task.status === 'validating' ? transition(task, 'pending', now) : task;
  const next = recordAssignments(waiting, [body.assignmentId], now);
  const reserved = { cpu: body.spec.cpu, ramGb: body.spec.ramGb };
  const status = task.spec.privateRegistry === true ? 'running' : 'assigned';
  tx.assignment({ id: body.assignmentId, taskId: task.id, agentId: body.agent, round: next.round, status, issuedAt: body.issuedAt, deadline: body.deadline, reserved });
  const agent = state.agents.get(body.agent);
  if (agent !== undefined) tx.agent({ ...agent, reserved: addResources(agent.reserved, reserved) });
  tx.task(next);
  return 'accept';
}

/**
 * From now on `nodeId` decides the task here (a claim judged by rank: takeover.ts judgeClaim). If
 * the task is terminal here by the verdict of the hub it is taken from, that verdict is voided
 * (fence.ts): the trust steps of `voided`, the loser's decision as its log holds it, are taken
 * back, and the task is reopened for the winner's own decision.
 */
export function acceptDecider(ctx: RoundContext, taskId: string, nodeId: string, voided?: MessageBody<'decision'>): void {
  const task = ctx.state.tasks.get(taskId) as Task;
  if (deciderOf(task) === nodeId) return;
  if (isTerminal(task.status)) for (const agent of revertTrust(voided, (id) => ctx.state.agents.get(id), ctx.params.trust)) ctx.tx.agent(agent);
  ctx.tx.task(withDecider(reopened(task, nodeId, ctx.now), nodeId));
}

/**
 * A decision (checked: hub/federated/decision-check.ts) carried out here as the decider did:
 * its results close their assignments, its verdict moves the task, and each voter's trust moves
 * by the step the decider gave it, from the trust this hub holds (steps commute, so hubs that
 * apply the same decisions in another order agree, clamping aside).
 */
export function applyDecision(ctx: RoundContext, body: MessageBody<'decision'>, results: ReadonlyArray<Opened<'result'>>): Applied {
  const { state, tx, now, params } = ctx;
  const task = state.tasks.get(body.taskId) as Task;
  const by = `hub ${deciderOf(task).slice(0, 8)}`;
  if (isTerminal(task.status)) return 'ignore';
  if (body.policy === VERDICT_POLICIES.imageInvalid) {
    if (task.status !== 'validating') return 'ignore';
    tx.task(transition(task, 'invalid', now, `${by} could not validate its image`));
    return 'accept';
  }
  // A decision ends the round in progress; anything else is a copy of one applied already.
  if (task.status !== 'in_progress') return 'ignore';

  const reported: Assignment[] = [];
  for (const r of results) {
    const a = state.assignments.get(r.body.assignmentId) as Assignment;
    const closed: Partial<Assignment> & Pick<Assignment, 'status'> =
      r.body.outcome === 'ok' ? { status: 'reported', digest: r.body.digest, result: r.envelope } : { status: 'failed', digest: null, reason: r.body.error ?? 'the agent reported a failure' };
    if (isOpen(a)) {
      closeAssignment(ctx, a, closed);
      tx.results.push({ assignmentId: a.id, envelope: r.envelope });
    }
    if (closed.status === 'reported') reported.push({ ...a, ...closed });
  }
  if (body.policy === VERDICT_POLICIES.roundFailed) {
    failRound(ctx, task, `round ${task.round} failed on ${by} without a vote`);
    return 'accept';
  }

  // Voters this hub never met still get their trust step: it is what makes trust federation-wide.
  for (const r of results) {
    if (!state.agents.has(r.nodeId)) {
      tx.agent({ ...newAgentRecord(r, `agent-${r.nodeId.slice(0, 8)}`, { cpu: 0, ramGb: 0 }, params.trust.initial, now), active: false, lastHeartbeat: 0 });
    }
  }
  const validated = body.outcome === 'validated';
  const groups = new Map<string, DecisionGroup>();
  for (const a of reported) {
    const digest = a.digest as string;
    const group = groups.get(digest) ?? { digest, weight: 0, share: 0, voters: [] };
    group.voters.push(a.agentId);
    groups.set(digest, group);
  }
  const decision: Decision = {
    outcome: body.outcome,
    digest: body.digest,
    score: body.score,
    trustScore: trustScoreOf(body.score),
    groups: [...groups.values()],
    trustChanges: validated
      ? body.trust.map((t) => {
          const before = state.agents.get(t.agent)?.trust ?? params.trust.initial;
          return { agentId: t.agent, before, after: clampTrust(before + (t.after - t.before), params.trust) };
        })
      : [],
    reason: `${validated ? 'accepted' : 'not accepted'} by ${by} with ${(body.score * 100).toFixed(1)}% of the deciding weight`,
  };
  carryOut(ctx, task, decision, reported);
  return 'accept';
}

/** The tasks a logged entry speaks of as their decider would: each a claim when its signer outranks their decider. */
export function claimedTasks(opened: Opened): string[] {
  switch (opened.type) {
    case 'assignment':
    case 'decision':
      return [(opened.body as { taskId: string }).taskId];
    case 'task.status':
      return (opened.body as MessageBody<'task.status'>).tasks.map((t) => t.taskId);
    default:
      return [];
  }
}

/**
 * The verdicts `opened` would void here (fence.ts rule 2): each task it claims that is terminal
 * here by the decision of a hub it outranks, with that loser. The caller reads each loser's
 * decision from its copy of the loser's log (I/O, outside the transaction) for applyLogEntry.
 */
export function voidedBy(state: RoundContext['state'], opened: Opened): Array<{ taskId: string; loser: string }> {
  return claimedTasks(opened).flatMap((taskId) => {
    const task = state.tasks.get(taskId);
    return task !== undefined && isTerminal(task.status) && judgeClaim(task, opened.nodeId) === 'takeover' ? [{ taskId, loser: deciderOf(task) }] : [];
  });
}

export interface LogEntryRules {
  verifier: Verifier;
  /** This federation's validation policy (decision-check.ts). */
  policy: ValidationPolicy;
  /** The loser's decision on a task whose verdict a claim voids (from voidedBy). */
  voided: (taskId: string) => MessageBody<'decision'> | undefined;
  /** An entry of a hub the decider outranks, ignored; a decision refused, with why. */
  note?: (what: 'ignored-claim' | 'refused-decision', detail: string) => void;
}

/**
 * One other hub's log entry applied to this hub's state, within a transaction: the whole of what
 * a hub does with an entry (hub/federation-bridge.ts, and the simulated hub of
 * simulations/federated/, call this one function). A claim is judged by rank before anything
 * else (takeover.ts judgeClaim); a decision is checked (decision-check.ts) before it is applied.
 */
export function applyLogEntry(ctx: RoundContext, opened: Opened, rules: LogEntryRules): Applied {
  switch (opened.type) {
    case 'task.announce':
      return applyAnnounce(ctx, opened as Opened<'task.announce'>, rules.verifier);
    case 'task.status':
      return applyStatus(ctx, opened.nodeId, (opened as Opened<'task.status'>).body, rules.voided);
    case 'assignment': {
      const { body } = opened as Opened<'assignment'>;
      const judged = claimOn(ctx, opened, body.taskId, rules);
      if (typeof judged === 'string') return judged;
      const { claim } = judged;
      if (claim === 'takeover') acceptDecider(ctx, body.taskId, opened.nodeId, rules.voided(body.taskId));
      const ready = assignmentReadiness(ctx, body);
      return ready === 'ready' ? applyAssignment(ctx, body) : ready;
    }
    case 'decision': {
      const { body } = opened as Opened<'decision'>;
      const judged = claimOn(ctx, opened, body.taskId, rules);
      if (typeof judged === 'string') return judged;
      const { task, claim } = judged;
      const check = checkDecision({ task, body, assignment: (id) => ctx.state.assignments.get(id), verifier: rules.verifier, params: ctx.params, policy: rules.policy });
      if (check.kind !== 'ok') {
        if (check.kind === 'reject') rules.note?.('refused-decision', check.reason);
        return check.kind;
      }
      if (claim === 'takeover') acceptDecider(ctx, body.taskId, opened.nodeId, rules.voided(body.taskId));
      return applyDecision(ctx, body, check.results);
    }
    default:
      return 'ignore';
  }
}

/** The task an assignment or decision is about and the sender's claim on it; 'retry' while the task is unknown, 'ignore' for a claim rank refuses. */
function claimOn(ctx: RoundContext, opened: Opened, taskId: string, rules: LogEntryRules): { task: Task; claim: 'decider' | 'takeover' } | 'retry' | 'ignore' {
  const task = ctx.state.tasks.get(taskId);
  if (task === undefined) return 'retry';
  const claim = judgeClaim(task, opened.nodeId);
  if (claim === 'ignore') {
    rules.note?.('ignored-claim', `${opened.type} of ${opened.nodeId} on ${taskId}`);
    return 'ignore';
  }
  return { task, claim };
}

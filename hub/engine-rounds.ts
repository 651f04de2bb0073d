import type { MessageBody } from '../protocol/messages.ts';
import {
  type Agent,
  type Assignment,
  applyTrustChanges,
  afterFailedRound,
  collectVotes,
  type CoreParams,
  type Decision,
  isOpen,
  roundOutcome,
  statsAfterDecision,
  subtractResources,
  type Task,
  transition,
  type ValidationPolicy,
} from '../src/core/index.ts';
import type { EngineState, Transaction } from './engine-state.ts';
import { decisionEntry, roundFailedEntry } from './federated/entries.ts';

/**
 * What happens to a task when one of its assignments closes (a result, a reported failure, an
 * expiry): the core's roundOutcome says where the round stands, the configured ValidationPolicy
 * decides, afterFailedRound retries or abandons. This module only carries those decisions out on
 * the engine's state, inside the caller's transaction.
 */

export interface RoundContext {
  state: EngineState;
  tx: Transaction;
  params: CoreParams;
  policy: ValidationPolicy;
  now: number;
}

/** Closes an open assignment and gives its reservation back to the agent. */
export function closeAssignment(ctx: RoundContext, assignment: Assignment, closed: Pick<Assignment, 'status'> & Partial<Assignment>): void {
  ctx.tx.assignment({ ...assignment, ...closed });
  const agent = ctx.state.agents.get(assignment.agentId);
  if (agent !== undefined) ctx.tx.agent({ ...agent, reserved: subtractResources(agent.reserved, assignment.reserved) });
}

/** Carries out what the task's current round amounts to now (only on the hub that decides it). */
export function settleRound(ctx: RoundContext, taskId: string): void {
  const { state } = ctx;
  const task = state.tasks.get(taskId);
  if (task === undefined || task.status !== 'in_progress' || !state.decides(task)) return;
  const outcome = roundOutcome(task, state.roundOf(task));
  switch (outcome.kind) {
    case 'waiting':
    case 'needs-replicas':
      // The record is unchanged; only whether it waits in the backlog may be.
      state.putTask(task);
      return;
    case 'failed':
      ctx.tx.decision(roundFailedEntry(task, state.roundOf(task)));
      failRound(ctx, task, outcome.reason);
      return;
    case 'decide':
      decide(ctx, task, outcome.reported);
      return;
  }
}

/** The round ended without a vote (its replicas failed or expired): retried or abandoned. */
export function failRound(ctx: RoundContext, task: Task, reason: string): void {
  cancelOpen(ctx, task, 'the round failed without it');
  finish(ctx, afterFailedRound(task, ctx.now, ctx.params, reason));
  dropResults(ctx, task);
}

function decide(ctx: RoundContext, task: Task, reported: Assignment[]): void {
  const { state, tx, policy } = ctx;
  const trustOf = (agentId: string): number | undefined => state.agents.get(agentId)?.trust;
  const votes = collectVotes(reported, (agentId) => trustOf(agentId) ?? 0);
  const decision = policy.decide(votes, { task, currentTrust: trustOf, agent: (agentId) => state.agents.get(agentId) });
  tx.decision(decisionEntry(task.id, policy.name, decision, reported, votes));
  carryOut(ctx, task, decision, reported);
}

/**
 * What a decision does to the task, its round and its voters. Also how a hub follows a decision
 * another hub made on a task that hub decides (hub/federated/apply.ts), once it is checked.
 */
export function carryOut(ctx: RoundContext, task: Task, decision: Decision, reported: Assignment[]): void {
  const { tx, params, now } = ctx;
  cancelOpen(ctx, task, 'the task was decided without it');
  recordVerdicts(ctx, decision);

  const completed = transition(task, 'completed', now);
  let final: Task;
  if (decision.outcome === 'validated' && decision.digest !== null) {
    final = { ...transition(completed, 'validated', now, decision.reason), result: agreedResult(reported, decision.digest), trustScore: decision.trustScore };
  } else {
    final = afterFailedRound(transition(completed, 'failed', now, decision.reason), now, params);
  }
  finish(ctx, final);
  dropResults(ctx, task);
  // The engine does not extend a round yet: an `undecided` decision (credibility policy) fails it.
  tx.decisions.push({ type: 'decision', taskId: task.id, outcome: decision.outcome === 'validated' ? 'validated' : 'failed', score: decision.score, digest: decision.digest });
}

/**
 * The signed results are in the store (results sublevel) for whoever rechecks a decision; memory
 * keeps them only while their round is open. Memory only: the records on disk are unchanged.
 */
function dropResults(ctx: RoundContext, task: Task): void {
  for (const a of ctx.state.roundOf(task)) {
    if (a.result === undefined) continue;
    const { result: _stored, ...rest } = a;
    ctx.state.putAssignment(rest);
  }
}

function finish(ctx: RoundContext, task: Task): void {
  ctx.tx.task(task);
  if (task.status === 'validated' || task.status === 'abandoned') ctx.tx.forgetCredentials.push(task.id);
}

function cancelOpen(ctx: RoundContext, task: Task, reason: string): void {
  for (const a of ctx.state.roundOf(task)) if (isOpen(a)) closeAssignment(ctx, a, { status: 'cancelled', reason });
}

/**
 * Trust moves as the policy said; each voter's track record (AgentStats, the basis of adaptive
 * replication) counts its verdict (core: statsAfterDecision).
 */
function recordVerdicts(ctx: RoundContext, decision: Decision): void {
  const { state, tx } = ctx;
  const stats = statsAfterDecision(decision, (agentId) => state.agents.get(agentId)?.stats);
  const voters = new Set([...stats.keys(), ...decision.trustChanges.map((c) => c.agentId)]);
  const agents = [...voters].map((agentId) => state.agents.get(agentId)).filter((a): a is Agent => a !== undefined);
  for (const agent of applyTrustChanges(agents, decision.trustChanges)) tx.agent({ ...agent, stats: stats.get(agent.id) ?? agent.stats });
}

/**
 * The agreed output, from a replica in the winning group. The digest covers the whole stdout: a
 * replica whose stdout is complete (not truncated; checked against its digest on arrival) is
 * preferred over one that kept only the head.
 */
function agreedResult(reported: Assignment[], digest: string): NonNullable<Task['result']> {
  let chosen: MessageBody<'result'> | undefined;
  for (const a of reported) {
    if (a.digest !== digest || a.result === undefined) continue;
    const body = (JSON.parse(a.result.payload) as { body: MessageBody<'result'> }).body;
    if (chosen === undefined || (chosen.truncated && !body.truncated)) chosen = body;
  }
  return { digest, stdout: chosen?.stdout ?? '', exitCode: chosen?.exitCode ?? null };
}

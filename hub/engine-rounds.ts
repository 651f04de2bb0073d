import { createHash } from 'node:crypto';
import type { Opened } from '../protocol/envelope.ts';
import type { MessageBody } from '../protocol/messages.ts';
import {
  addResources,
  type Agent,
  type Assignment,
  agentCredibility,
  applyTrustChanges,
  afterFailedRound,
  collectVotes,
  type CoreParams,
  type Decision,
  type DecisionVoter,
  dependentDecisions,
  extendRound,
  findExpiredAssignments,
  findInactiveAgents,
  isOpen,
  planAssignments,
  type PlannedAssignment,
  judgeSpotCheck,
  recordLogOdds,
  recordAssignments,
  roundOutcome,
  selectActiveQueue,
  statsAfterDecision,
  subtractResources,
  type Task,
  type TaskDecision,
  transition,
  type ValidationPolicy,
  type Vote,
  withStartingReplicas,
} from '../src/core/index.ts';
import type { EngineState, Transaction } from './engine-state.ts';
import { decisionEntry, roundFailedEntry } from './federated/entries.ts';

/**
 * What happens to a task when one of its assignments closes (a result, a reported failure, an
 * expiry): the core's roundOutcome says where the round stands, the configured ValidationPolicy
 * decides, afterFailedRound retries or abandons. This module only carries those decisions out on
 * the engine's state, inside the caller's transaction.
 */

/** Content id of an assignment: one per (task, round, agent); the core never gives an agent two replicas of a round. */
export function assignmentIdOf(taskId: string, round: number, agentId: string): string {
  return createHash('sha256').update(`dcloud-assignment\n${taskId}|${round}|${agentId}`).digest('hex');
}

/**
 * Writes a scheduler plan (core: planAssignments) into a transaction: an assignment per planned
 * replica, each agent's reservation, and each task's new round (core: recordAssignments).
 */
export function recordPlan(state: EngineState, tx: Transaction, planned: readonly PlannedAssignment[], now: number): void {
  for (const [taskId, replicas] of Map.groupBy(planned, (p) => p.taskId)) {
    const task = state.tasks.get(taskId) as Task;
    const round = task.status === 'in_progress' ? task.round : task.round + 1;
    const ids: string[] = [];
    for (const p of replicas) {
      const id = assignmentIdOf(taskId, round, p.agentId);
      tx.assignment({ id, taskId, agentId: p.agentId, round, status: 'assigned', issuedAt: now, deadline: p.deadline, reserved: p.reserved });
      const agent = state.agents.get(p.agentId) as Agent;
      tx.agent({ ...agent, reserved: addResources(agent.reserved, p.reserved) });
      ids.push(id);
    }
    tx.task(recordAssignments(task, ids, now));
  }
}

export interface RoundContext {
  state: EngineState;
  tx: Transaction;
  params: CoreParams;
  policy: ValidationPolicy;
  now: number;
  /** Uniform in [0, 1): the credibility policy's random cross-checks (adaptive replication). */
  random?: () => number;
}

/**
 * The health half of a scheduling pass: silent agents go inactive and their open assignments
 * expire; so do assignments past their deadline. Each task that lost a replica is settled (core:
 * roundOutcome). `heardSince` is when this hub started: after a restart every agent gets a fresh
 * grace period, since nobody heard it while the hub was down.
 */
export function checkHealth(ctx: RoundContext, heardSince: number): { deactivated: number; expired: number } {
  const { state, tx, now, params } = ctx;
  const touched = new Set<string>();
  const heard = function* () {
    for (const agent of state.agents.values()) yield { agent, active: agent.active, lastHeartbeat: Math.max(agent.lastHeartbeat, heardSince) };
  };
  const silent = findInactiveAgents(heard(), now, params);
  let expired = 0;
  const silentFor = Math.round(params.agents.inactiveAfterMs / 1000);
  for (const { agent } of silent) {
    tx.agent({ ...agent, active: false });
    for (const a of state.openAssignmentsOf(agent.id)) {
      closeAssignment(ctx, a, { status: 'expired', reason: `agent went inactive (no heartbeat for more than ${silentFor} s)` });
      touched.add(a.taskId);
      expired += 1;
    }
  }
  for (const a of findExpiredAssignments(state.openAssignments(), now)) {
    closeAssignment(ctx, a, { status: 'expired', reason: 'no result before the deadline' });
    touched.add(a.taskId);
    expired += 1;
  }
  for (const taskId of touched) settleRound(ctx, taskId);
  return { deactivated: silent.length, expired };
}

/** Which agent may take a replica of which task, beside those planned with it (core: PlanInput.eligible). */
export type Eligibility = (task: Task, agentId: string, alongside: readonly string[]) => boolean;

/**
 * The assignment half of a scheduling pass: the active queue (core: selectActiveQueue) is planned
 * onto agents (core: planAssignments, which reserves capacity as it goes); the plan becomes
 * assignments and the tasks' new status (recordPlan). The active queue's tasks that still wait
 * are `in_queue`; this hub's tasks that dropped out of it are `pending` again (another hub's task
 * waits in its decider's queue: federated/apply.ts applyStatus).
 */
export function assignPass(ctx: RoundContext, eligible?: Eligibility): { assigned: number; queued: number; waiting: number } {
  const { state, tx, now, params } = ctx;
  const queue = selectActiveQueue(state.backlog, state.capacity, params.scheduling.activeQueueSize, now, params.scheduling.policy);
  const plan = planAssignments({ queue, index: state.capacity, openAssignments: (taskId) => state.replicas(taskId), params, now, ...(eligible === undefined ? {} : { eligible }) });
  recordPlan(state, tx, plan.assignments, now);
  const inQueue = new Set(queue.map((t) => t.id));
  for (const id of [...state.inQueue]) {
    const task = state.tasks.get(id) as Task;
    if (!inQueue.has(id) && state.decides(task)) tx.task(transition(task, 'pending', now));
  }
  for (const { id } of queue) {
    const task = state.tasks.get(id) as Task;
    if (task.status === 'pending') tx.task(transition(task, 'in_queue', now));
  }
  return { assigned: plan.assignments.length, queued: queue.length, waiting: plan.waiting.length };
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
      // A known-answer task is the hub's own business: the federation never hears of it.
      if (task.spotCheck === undefined) ctx.tx.decision(roundFailedEntry(task, state.roundOf(task)));
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
  // A known-answer task is not retried: the next check is a fresh one.
  const next = task.spotCheck !== undefined ? transition(transition(task, 'failed', ctx.now, reason), 'abandoned', ctx.now, `spot-check not answered: ${reason}`) : afterFailedRound(task, ctx.now, ctx.params, reason);
  finish(ctx, withStartingReplicas(ctx.params, next));
  dropResults(ctx, task);
}

function decide(ctx: RoundContext, task: Task, reported: Assignment[]): void {
  if (task.spotCheck !== undefined) {
    judge(ctx, task, task.spotCheck.known, reported);
    return;
  }
  const { state, tx, policy } = ctx;
  const trustOf = (agentId: string): number | undefined => state.agents.get(agentId)?.trust;
  const votes = collectVotes(reported, (agentId) => trustOf(agentId) ?? 0);
  const decision = policy.decide(votes, { task, currentTrust: trustOf, agent: (agentId) => state.agents.get(agentId), ...(ctx.random === undefined ? {} : { random: ctx.random }) });
  const decided = withDecision(task, decisionRecord(ctx, task, policy.name, decision, votes));
  if (decision.outcome === 'undecided') {
    // The round goes on with one more replica (core: extendRound); the scheduler finds it an agent.
    tx.task(extendRound(decided, decision, reported.length));
    return;
  }
  tx.decision(decisionEntry(task.id, policy.name, decision, reported, votes));
  carryOut(ctx, decided, decision, reported);
}

/**
 * A known-answer task's one replica reported (core: judgeSpotCheck). A right answer is a verified
 * result; a wrong one makes the agent a proven liar: trust to the floor, no more work (its open
 * assignments are cancelled and go to others), and the accepted decisions its vote carried
 * (core: dependentDecisions) are marked disputed.
 */
function judge(ctx: RoundContext, task: Task, known: string, reported: Assignment[]): void {
  const { state, tx, params, now } = ctx;
  const replica = reported[0] as Assignment;
  const agent = state.agents.get(replica.agentId);
  if (agent === undefined) return;
  const verdict = judgeSpotCheck(agent, replica.digest as string, known, params);
  const record: TaskDecision = {
    round: task.round,
    at: now,
    policy: 'spot-check',
    outcome: verdict.passed ? 'validated' : 'failed',
    digest: verdict.passed ? known : null,
    score: verdict.passed ? 1 : 0,
    reason: verdict.passed ? 'spot-check passed: the known answer' : `spot-check failed: agent ${agent.id} answered ${String(replica.digest).slice(0, 12)}…, the known answer is ${known.slice(0, 12)}…`,
    votes: [{ digest: replica.digest as string, voters: [voterOf(ctx, agent.id, agent.trust)] }],
  };
  tx.agent({ ...agent, stats: verdict.stats, trust: verdict.trust });
  const completed = transition(withDecision(task, record), 'completed', now);
  if (verdict.passed) {
    finish(ctx, { ...transition(completed, 'validated', now, record.reason), result: agreedResult(reported, known), trustScore: 10 });
  } else {
    finish(ctx, transition(transition(completed, 'failed', now, record.reason), 'abandoned', now, record.reason));
    caughtLying(ctx, agent.id);
  }
  dropResults(ctx, task);
}

function caughtLying(ctx: RoundContext, liar: string): void {
  const { state, tx, params, now } = ctx;
  const touched = new Set<string>();
  for (const a of state.openAssignmentsOf(liar)) {
    closeAssignment(ctx, a, { status: 'cancelled', reason: 'its agent was caught lying on a spot-check' });
    touched.add(a.taskId);
  }
  for (const taskId of touched) settleRound(ctx, taskId);
  const decided: Array<{ taskId: string; decision: { outcome: 'validated'; digest: string; groups: Decision['groups'] } }> = [];
  for (const task of state.tasks.values()) {
    const last = task.decisions?.at(-1);
    if (task.status !== 'validated' || last === undefined || last.digest === null || last.disputed !== undefined) continue;
    if (!last.votes.some((g) => g.voters.some((v) => v.agentId === liar))) continue;
    const groups = last.votes.map((g) => ({
      digest: g.digest,
      weight: 0,
      share: 0,
      voters: g.voters.map((v) => v.agentId),
      ...(g.voters.every((v) => v.logOdds !== undefined) ? { voterLogOdds: g.voters.map((v) => v.logOdds as number) } : {}),
    }));
    decided.push({ taskId: task.id, decision: { outcome: 'validated', digest: last.digest, groups } });
  }
  for (const taskId of dependentDecisions(decided, liar, params)) {
    const task = state.tasks.get(taskId) as Task;
    const decisions = [...(task.decisions ?? [])];
    const last = decisions.pop() as TaskDecision;
    decisions.push({ ...last, disputed: { agentId: liar, at: now, reason: `agent ${liar} was caught lying on a spot-check; without its vote this result would not have been accepted` } });
    tx.task({ ...task, decisions });
  }
}

/** How a voter weighed when it voted: its trust, and under the credibility policy its credibility and log-odds. */
function voterOf(ctx: RoundContext, agentId: string, trust: number): DecisionVoter {
  const stats = ctx.state.agents.get(agentId)?.stats;
  const voter: DecisionVoter = { agentId, trust };
  if (ctx.params.validation.policy === 'credibility') {
    voter.credibility = agentCredibility(stats, ctx.params.credibility);
    voter.logOdds = recordLogOdds(stats, ctx.params.credibility);
  }
  return voter;
}

function decisionRecord(ctx: RoundContext, task: Task, policy: string, decision: Decision, votes: readonly Vote[]): TaskDecision {
  const trust = new Map(votes.map((v) => [v.agentId, v.trust]));
  return {
    round: task.round,
    at: ctx.now,
    policy,
    outcome: decision.outcome,
    digest: decision.digest,
    score: decision.score,
    reason: decision.reason,
    votes: decision.groups.map((g) => ({ digest: g.digest, voters: g.voters.map((agentId, i) => ({ ...voterOf(ctx, agentId, trust.get(agentId) ?? 0), ...(g.voterLogOdds === undefined ? {} : { logOdds: g.voterLogOdds[i] as number }) })) })),
  };
}

/** Decisions kept per task: enough for its view and a re-examination, bounded whatever the retries. */
const KEPT_DECISIONS = 20;

function withDecision(task: Task, record: TaskDecision): Task {
  return { ...task, decisions: [...(task.decisions ?? []), record].slice(-KEPT_DECISIONS) };
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
    final = withStartingReplicas(params, afterFailedRound(transition(completed, 'failed', now, decision.reason), now, params));
  }
  finish(ctx, final);
  dropResults(ctx, task);
  // An `undecided` decision never reaches here (decide extends the round); a remote one counts as failed.
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

/** Where a result stands against the assignment it answers (result intake: the engine's POST /v1/results and a gossiped result alike). */
export type ResultIntake =
  | { kind: 'unknown' }
  /** Signed by another agent than the assignment's, or naming another task: a forgery. */
  | { kind: 'not-yours' | 'mismatch'; assignment: Assignment }
  /** Answered already: the same answer again (`duplicate`) or another one (`conflict`). */
  | { kind: 'duplicate' | 'conflict'; assignment: Assignment }
  /** Expired or cancelled: too late. */
  | { kind: 'closed'; assignment: Assignment }
  | { kind: 'open'; assignment: Assignment };

/**
 * How a result meets its assignment. Throws the digest check's error (core checkDigest) when an
 * `ok` result's digest does not match its output. Pure over the state.
 */
export function resultIntake(state: EngineState, opened: Opened<'result'>, checkDigest: (body: MessageBody<'result'>) => void): ResultIntake {
  const body = opened.body;
  const assignment = state.assignments.get(body.assignmentId);
  if (assignment === undefined) return { kind: 'unknown' };
  if (assignment.agentId !== opened.nodeId) return { kind: 'not-yours', assignment };
  if (assignment.taskId !== body.taskId) return { kind: 'mismatch', assignment };
  const ok = body.outcome === 'ok';
  if (ok) checkDigest(body);
  if (assignment.status === 'reported' || assignment.status === 'failed') {
    const same = ok ? assignment.status === 'reported' && assignment.digest === body.digest : assignment.status === 'failed';
    return { kind: same ? 'duplicate' : 'conflict', assignment };
  }
  if (assignment.status === 'expired' || assignment.status === 'cancelled') return { kind: 'closed', assignment };
  return { kind: 'open', assignment };
}

/** An open assignment's result recorded (its signed envelope kept for whoever rechecks the decision) and its round settled. */
export function recordResultIn(ctx: RoundContext, assignment: Assignment, opened: Opened<'result'>): void {
  const body = opened.body;
  closeAssignment(
    ctx,
    assignment,
    body.outcome === 'ok' ? { status: 'reported', digest: body.digest, result: opened.envelope } : { status: 'failed', digest: null, reason: body.error ?? 'the agent reported a failure' },
  );
  ctx.tx.results.push({ assignmentId: assignment.id, envelope: opened.envelope });
  settleRound(ctx, assignment.taskId);
}

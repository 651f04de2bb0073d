import type { Resources, TaskSpecBody } from '../../protocol/messages.ts';
import {
  type Agent,
  type Assignment,
  Backlog,
  CapacityIndex,
  type CoreParams,
  type Decision,
  type RoundOutcome,
  type SchedulingPolicy,
  type Task,
  type ValidationPolicy,
  type WaitReason,
  addResources,
  afterFailedRound,
  collectVotes,
  explainWaiting,
  findExpiredAssignments,
  findInactiveAgents,
  isOpen,
  isTerminal,
  planAssignments,
  recordAssignments,
  roundOutcome,
  selectActiveQueue,
  subtractResources,
  transition,
} from '../../src/core/index.ts';

/**
 * The hub, simulated: the same state a hub keeps (tasks, agents, assignments, the backlog and the
 * capacity index) driven through the same functions of src/core a hub calls, with virtual times.
 * Only the edges are fake: no envelopes, no store, no HTTP. Every decision (who runs what, what is
 * accepted, whose trust moves, what a failed round does) is the core's.
 *
 * As the hub's loop: health (silent agents, expired assignments: checkHealth) and scheduling
 * passes (active queue -> planAssignments -> assignments handed to agents: schedule). Results
 * close assignments as they arrive -> roundOutcome -> the validation policy -> trust changes, or
 * afterFailedRound.
 */

/** What the hub tells the world; the simulated agents and the recorder listen. */
export interface HubListener {
  assigned?(assignment: Assignment, task: Task): void;
  /** An assignment closed without counting: expired, cancelled, failed. */
  closed?(assignment: Assignment, task: Task): void;
  decided?(task: Task, decision: Decision): void;
  /** A task reached validated or abandoned. */
  finished?(task: Task): void;
}

export interface SimHubOptions {
  params: CoreParams;
  scheduling: SchedulingPolicy;
  validation: ValidationPolicy;
  listener?: HubListener;
  /** Drop finished tasks and their assignments from memory (long runs); counters stay. */
  forgetFinished?: boolean;
}

export interface AgentInit {
  id: string;
  name: string;
  total: Resources;
  trust: number;
}

const NO_RESOURCES: Resources = Object.freeze({ cpu: 0, ramGb: 0 });

export class SimHub {
  readonly params: CoreParams;
  readonly scheduling: SchedulingPolicy;
  readonly validation: ValidationPolicy;
  readonly tasks = new Map<string, Task>();
  readonly agents = new Map<string, Agent>();
  readonly assignments = new Map<string, Assignment>();
  readonly index = new CapacityIndex();
  readonly backlog: Backlog;
  /** Open (assigned or running) assignments: what health checks for deadlines. */
  readonly open = new Map<string, Assignment>();
  /** Open assignments by agent: what expires when an agent goes silent. */
  readonly #openByAgent = new Map<string, Set<Assignment>>();
  /** Counters a report reads. */
  readonly counts = { submitted: 0, validated: 0, abandoned: 0, decisions: 0, failedRounds: 0, assignments: 0, expired: 0, cancelled: 0, failedReports: 0, inactiveAgents: 0 };
  readonly #listener: HubListener;
  readonly #forgetFinished: boolean;
  /** Tasks in status in_queue: the active queue of the last pass that still waits for agents. */
  readonly #inQueue = new Set<string>();
  #nextAssignment = 0;

  constructor(options: SimHubOptions) {
    this.params = options.params;
    this.scheduling = options.scheduling;
    this.validation = options.validation;
    this.backlog = new Backlog(options.params);
    this.#listener = options.listener ?? {};
    this.#forgetFinished = options.forgetFinished ?? false;
  }

  // ---- agents -------------------------------------------------------------------------------

  /** Registration: the agent is known from now on and active. */
  registerAgent(init: AgentInit, now: number): Agent {
    const agent: Agent = {
      id: init.id,
      publicKey: init.id,
      name: init.name,
      total: { ...init.total },
      // Agents lend their whole capacity; the hub's reservations account for what runs on it.
      free: { ...init.total },
      reserved: NO_RESOURCES,
      trust: init.trust,
      active: true,
      registeredAt: now,
      lastHeartbeat: now,
      stats: { valid: 0, invalid: 0, consecutiveValid: 0 },
    };
    this.agents.set(agent.id, agent);
    this.index.upsert(agent);
    return agent;
  }

  /** A heartbeat at `at`; an inactive agent becomes active again. */
  heartbeat(agentId: string, at: number): void {
    const agent = this.#agent(agentId);
    if (at > agent.lastHeartbeat) agent.lastHeartbeat = at;
    if (!agent.active) {
      agent.active = true;
      this.index.upsert(agent);
    }
  }

  // ---- tasks --------------------------------------------------------------------------------

  /** A submitted task whose image validated at once: pending, in the backlog. */
  submit(id: string, spec: TaskSpecBody, now: number): Task {
    const created: Task = { id, submitter: 'simulation', spec, status: 'validating', submittedAt: now, transitions: [{ status: 'validating', at: now }], staleness: 0, round: 0, assignments: [], home: 'sim-hub' };
    const task = this.#set(transition(created, 'pending', now));
    this.counts.submitted++;
    return task;
  }

  /** Why a task is not running, as `dcloud status` would say it. */
  explain(taskId: string): WaitReason {
    const task = this.#task(taskId);
    const current = this.#current(task);
    return explainWaiting(task, this.index, { holders: current.holders.length, exclude: new Set([...current.holders, ...current.excluded]) });
  }

  // ---- the tick -----------------------------------------------------------------------------

  /** Health: silent agents go inactive and their open assignments expire; late assignments expire. */
  checkHealth(now: number): void {
    for (const agent of findInactiveAgents(this.agents.values(), now, this.params)) {
      agent.active = false;
      this.index.upsert(agent);
      this.counts.inactiveAgents++;
      const held = this.#openByAgent.get(agent.id);
      if (held !== undefined) for (const assignment of [...held]) this.#expire(assignment, now, `agent ${agent.id} went inactive`);
    }
    // findExpiredAssignments collects before anything expires, so closing while iterating is safe.
    for (const assignment of findExpiredAssignments(this.open.values(), now)) this.#expire(assignment, now, 'no result before the deadline');
  }

  /**
   * One scheduling pass, as the hub's: the active queue is planned onto agents (reserving as it
   * goes), the plan becomes assignments (recordAssignments gives the task its round and status),
   * then the queue's tasks that still wait are in_queue and those that left it pending again.
   * Returns how many assignments it made.
   */
  schedule(now: number): number {
    const queue = selectActiveQueue(this.backlog, this.params.scheduling.activeQueueSize, now, this.scheduling);
    const plan = planAssignments({ queue, index: this.index, openAssignments: (id) => this.#openReplicas(id), params: this.params, now });
    const made: Array<[Assignment, string]> = [];
    for (const [taskId, planned] of Map.groupBy(plan.assignments, (p) => p.taskId)) {
      const task = this.#task(taskId);
      const round = task.status === 'in_progress' ? task.round : task.round + 1;
      const ids: string[] = [];
      for (const p of planned) {
        const assignment: Assignment = { id: `as${this.#nextAssignment++}`, taskId, agentId: p.agentId, round, status: 'assigned', issuedAt: now, deadline: p.deadline, reserved: p.reserved };
        const agent = this.#agent(p.agentId);
        agent.reserved = addResources(agent.reserved, p.reserved);
        this.assignments.set(assignment.id, assignment);
        this.open.set(assignment.id, assignment);
        let held = this.#openByAgent.get(agent.id);
        if (held === undefined) this.#openByAgent.set(agent.id, (held = new Set()));
        held.add(assignment);
        ids.push(assignment.id);
        made.push([assignment, taskId]);
      }
      this.#set(recordAssignments(task, ids, now));
    }
    const queued = new Set(queue.map((t) => t.id));
    for (const id of this.#inQueue) {
      const task = this.tasks.get(id);
      if (!queued.has(id) && task?.status === 'in_queue') this.#set(transition(task, 'pending', now, 'left the active queue'));
    }
    for (const id of queued) {
      const task = this.#task(id);
      if (task.status === 'pending') this.#set(transition(task, 'in_queue', now));
    }
    this.counts.assignments += made.length;
    for (const [assignment, taskId] of made) this.#listener.assigned?.(assignment, this.#task(taskId));
    return made.length;
  }

  // ---- what agents do -----------------------------------------------------------------------

  /** Assignments handed to an agent that it has not fetched yet (what its next work request gets). */
  queuedFor(agentId: string): Assignment[] {
    const out: Assignment[] = [];
    for (const a of this.#openByAgent.get(agentId) ?? []) if (a.status === 'assigned') out.push(a);
    return out;
  }

  /** The agent picked up its assignment; false when it is no longer open (expired, cancelled). */
  fetch(assignmentId: string): boolean {
    const assignment = this.assignments.get(assignmentId);
    if (assignment === undefined || assignment.status !== 'assigned') return false;
    assignment.status = 'running';
    return true;
  }

  /**
   * A result: a digest, or null for a failure the agent reports. Ignored (false) when the
   * assignment is no longer open: its time ran out, or the task was decided without it.
   */
  report(assignmentId: string, digest: string | null, now: number): boolean {
    const assignment = this.assignments.get(assignmentId);
    if (assignment === undefined || !isOpen(assignment)) return false;
    if (digest === null) {
      this.#close(assignment, 'failed', 'the agent reported a failure');
      this.counts.failedReports++;
      this.#listener.closed?.(assignment, this.#task(assignment.taskId));
    } else {
      this.#close(assignment, 'reported');
      assignment.digest = digest;
    }
    this.#settle(assignment.taskId, now);
    return true;
  }

  // ---- rounds -------------------------------------------------------------------------------

  #expire(assignment: Assignment, now: number, reason: string): void {
    this.#close(assignment, 'expired', reason);
    this.counts.expired++;
    this.#listener.closed?.(assignment, this.#task(assignment.taskId));
    this.#settle(assignment.taskId, now);
  }

  #close(assignment: Assignment, status: Assignment['status'], reason?: string): void {
    assignment.status = status;
    if (reason !== undefined) assignment.reason = reason;
    this.open.delete(assignment.id);
    this.#openByAgent.get(assignment.agentId)?.delete(assignment);
    this.index.release(assignment.agentId, assignment.reserved);
    const agent = this.agents.get(assignment.agentId);
    if (agent !== undefined) agent.reserved = subtractResources(agent.reserved, assignment.reserved);
  }

  /** What the task's current round amounts to now, and what follows from it. */
  #settle(taskId: string, now: number): void {
    const task = this.#task(taskId);
    if (task.status !== 'in_progress') return;
    const outcome: RoundOutcome = roundOutcome(task, this.#roundAssignments(task));
    switch (outcome.kind) {
      case 'waiting':
      case 'needs-replicas':
        // The record is unchanged; only whether it waits in the backlog may be.
        this.#set(task);
        return;
      case 'failed':
        this.#failRound(task, now, outcome.reason);
        return;
      case 'decide':
        this.#decide(task, outcome.reported, now);
    }
  }

  #decide(inProgress: Task, reported: Assignment[], now: number): void {
    const completed = transition(inProgress, 'completed', now);
    const votes = collectVotes(reported, (id) => this.#agent(id).trust);
    const decision = this.validation.decide(votes, { task: completed, currentTrust: (id) => this.agents.get(id)?.trust, agent: (id) => this.agents.get(id) });
    this.counts.decisions++;
    for (const change of decision.trustChanges) {
      const agent = this.#agent(change.agentId);
      // At the bounds of the trust range a change changes nothing: the index need not hear of it.
      if (agent.trust === change.after) continue;
      agent.trust = change.after;
      this.index.upsert(agent);
    }
    recordVerdicts(reported, decision, (id) => this.agents.get(id));
    this.#cancelOpen(completed);
    if (decision.outcome === 'validated') {
      const validated = transition(completed, 'validated', now, decision.reason);
      validated.result = { digest: decision.digest as string, stdout: '', exitCode: 0 };
      validated.trustScore = decision.trustScore;
      this.#set(validated);
      this.#listener.decided?.(validated, decision);
      this.counts.validated++;
      this.#finish(validated);
    } else {
      const failed = transition(completed, 'failed', now, decision.reason);
      this.#listener.decided?.(failed, decision);
      this.#failRound(failed, now, decision.reason);
    }
  }

  #failRound(task: Task, now: number, reason: string): void {
    this.counts.failedRounds++;
    this.#cancelOpen(task);
    const next = this.#set(afterFailedRound(task, now, this.params, reason));
    if (next.status === 'abandoned') {
      this.counts.abandoned++;
      this.#finish(next);
    }
  }

  #cancelOpen(task: Task): void {
    for (const id of task.assignments) {
      const assignment = this.assignments.get(id);
      if (assignment !== undefined && isOpen(assignment)) {
        this.#close(assignment, 'cancelled', 'the round was decided without it');
        this.counts.cancelled++;
        this.#listener.closed?.(assignment, task);
      }
    }
  }

  #finish(task: Task): void {
    this.#listener.finished?.(task);
    if (this.#forgetFinished && isTerminal(task.status)) {
      for (const id of task.assignments) this.assignments.delete(id);
      this.tasks.delete(task.id);
    }
  }

  // ---- lookups ------------------------------------------------------------------------------

  #roundAssignments(task: Task): Assignment[] {
    const out: Assignment[] = [];
    for (const id of task.assignments) {
      const assignment = this.assignments.get(id);
      if (assignment !== undefined) out.push(assignment);
    }
    return out;
  }

  #current(task: Task): { holders: string[]; excluded: string[] } {
    const holders: string[] = [];
    const excluded: string[] = [];
    for (const a of this.#roundAssignments(task)) {
      if (a.round !== task.round) continue;
      if (isOpen(a) || (a.status === 'reported' && typeof a.digest === 'string')) holders.push(a.agentId);
      else if (a.status !== 'cancelled') excluded.push(a.agentId);
    }
    return { holders, excluded };
  }

  #openReplicas(taskId: string): { agentIds: string[]; excluded: string[] } {
    const { holders, excluded } = this.#current(this.#task(taskId));
    return { agentIds: holders, excluded };
  }

  /** Every change of a task goes through here: the backlog holds exactly the tasks that want agents. */
  #set(task: Task): Task {
    this.tasks.set(task.id, task);
    if (task.status === 'in_queue') this.#inQueue.add(task.id);
    else this.#inQueue.delete(task.id);
    if (this.#wantsAgents(task)) this.backlog.add(task);
    else this.backlog.remove(task.id);
    return task;
  }

  /** Pending or in_queue, or in_progress with replicas to replace. */
  #wantsAgents(task: Task): boolean {
    if (task.status === 'pending' || task.status === 'in_queue') return true;
    return task.status === 'in_progress' && roundOutcome(task, this.#roundAssignments(task)).kind === 'needs-replicas';
  }

  #task(id: string): Task {
    const task = this.tasks.get(id);
    if (task === undefined) throw new Error(`simulation bug: unknown task ${id}`);
    return task;
  }

  #agent(id: string): Agent {
    const agent = this.agents.get(id);
    if (agent === undefined) throw new Error(`simulation bug: unknown agent ${id}`);
    return agent;
  }
}

/** Track records a credibility policy weighs: valid/invalid results, and valid ones in a row. */
function recordVerdicts(reported: readonly Assignment[], decision: Decision, agentOf: (id: string) => Agent | undefined): void {
  if (decision.outcome !== 'validated') return;
  for (const a of reported) {
    const agent = agentOf(a.agentId);
    if (agent === undefined) continue;
    if (a.digest === decision.digest) {
      agent.stats = { valid: agent.stats.valid + 1, invalid: agent.stats.invalid, consecutiveValid: agent.stats.consecutiveValid + 1 };
    } else {
      agent.stats = { valid: agent.stats.valid, invalid: agent.stats.invalid + 1, consecutiveValid: 0 };
    }
  }
}

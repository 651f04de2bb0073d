import type { Resources, TaskSpecBody } from '../../protocol/messages.ts';
import {
  newTask,
  type Agent,
  type AgentStats,
  type Assignment,
  Backlog,
  CapacityIndex,
  type CoreParams,
  type Decision,
  type PlannedAssignment,
  type RoundOutcome,
  type SchedulingPolicy,
  type SpotCheckVerdict,
  type Task,
  type TrustChange,
  type ValidationPolicy,
  type WaitReason,
  afterFailedRound,
  assignmentDeadline,
  collectVotes,
  explainWaiting,
  extendRound,
  findExpiredAssignments,
  findInactiveAgents,
  isOpen,
  isTerminal,
  judgeSpotCheck,
  mayHoldReplica,
  mayRunSubmittedWork,
  planAssignments,
  recordAssignments,
  roundOutcome,
  selectActiveQueue,
  withStartingReplicas,
  statsAfterDecision,
  roundResource,
  transition,
} from '../../src/core/index.ts';
import { removeFrom } from './lists.ts';

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
  /** A known-answer task was answered (spot-check.ts). */
  spotChecked?(task: Task, agentId: string, verdict: SpotCheckVerdict): void;
}

export interface SimHubOptions {
  params: CoreParams;
  scheduling: SchedulingPolicy;
  validation: ValidationPolicy;
  listener?: HubListener;
  /** Drop finished tasks and their assignments from memory (long runs); counters stay. */
  forgetFinished?: boolean;
  /** Uniform in [0, 1): what the validation policy draws its random cross-checks from (adaptive replication). */
  random?: () => number;
  /** Placement diversity (core: mayHoldReplica): no two replicas of a task in one address block. */
  diversity?: boolean;
}

export interface AgentInit {
  id: string;
  name: string;
  total: Resources;
  trust: number;
  /** The network address block it registers from (placement diversity). */
  addressBlock?: string;
}

/** An agent and its open assignments. */
interface Held {
  agent: Agent;
  /** In the order they were issued (an agent holds a few: an array beats a set). */
  open: Assignment[];
  /** Its index entry lags its record (#touch): a release or a trust change not filed yet. */
  stale: boolean;
}

const NO_REPLICAS: { holders: string[]; excluded: string[] } = Object.freeze({ holders: Object.freeze([]) as unknown as string[], excluded: Object.freeze([]) as unknown as string[] });

export class SimHub {
  readonly params: CoreParams;
  readonly scheduling: SchedulingPolicy;
  readonly validation: ValidationPolicy;
  readonly tasks = new Map<string, Task>();
  readonly agents = new Map<string, Agent>();
  /** The agents in the map's order: what health checks walk (an array's walk allocates nothing). */
  readonly #agentList: Agent[] = [];
  readonly assignments = new Map<string, Assignment>();
  readonly index = new CapacityIndex();
  readonly backlog: Backlog;
  /** Open (assigned or running) assignments: what health checks for deadlines. */
  readonly open = new Set<Assignment>();
  /** Each agent with its open assignments (what expires when it goes silent): one lookup for both. */
  readonly #held = new Map<string, Held>();
  /**
   * Agents whose index entry lags their record, filed (#flush) before anything reads the index
   * and before a call returns. A result closes an assignment and then, often, changes its
   * agent's trust: filed together, that is one move in the index instead of two. The index's
   * order depends only on what it holds, so filing later changes no decision.
   */
  readonly #stale: Held[] = [];
  /** Counters a report reads. */
  readonly counts = { submitted: 0, validated: 0, abandoned: 0, decisions: 0, undecided: 0, failedRounds: 0, assignments: 0, expired: 0, cancelled: 0, failedReports: 0, inactiveAgents: 0, spotChecks: 0, liarsCaught: 0 };
  readonly #listener: HubListener;
  readonly #forgetFinished: boolean;
  readonly #random: (() => number) | undefined;
  readonly #diversity: boolean;
  /** Known-answer tasks (spot-checks) and their answers: judged against it, not voted on. */
  readonly #known = new Map<string, string>();
  /** Tasks in status in_queue: the active queue of the last pass that still waits for agents. */
  readonly #inQueue = new Set<string>();
  #nextAssignment = 0;
  /**
   * The voters of the decision being made, and lookups that try them first (made once, not per
   * decision). Only a cache: an agent not among them is looked up.
   */
  #voters: Held[] = [];
  readonly #heldOf = (id: string): Held | undefined => {
    const voters = this.#voters;
    for (let i = 0; i < voters.length; i++) if ((voters[i] as Held).agent.id === id) return voters[i];
    return this.#held.get(id);
  };
  readonly #agentOf = (id: string): Agent | undefined => this.#heldOf(id)?.agent;
  readonly #trustOf = (id: string): number => (this.#agentOf(id) as Agent).trust;
  readonly #currentTrustOf = (id: string): number | undefined => this.#agentOf(id)?.trust;
  readonly #statsOf = (id: string): AgentStats | undefined => this.#agentOf(id)?.stats;

  constructor(options: SimHubOptions) {
    this.params = options.params;
    this.scheduling = options.scheduling;
    this.validation = options.validation;
    this.backlog = new Backlog(options.params);
    this.#listener = options.listener ?? {};
    this.#forgetFinished = options.forgetFinished ?? false;
    this.#random = options.random;
    this.#diversity = options.diversity ?? false;
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
      // Its own object: #open and #close keep it in step with the index in place.
      reserved: { cpu: 0, ramGb: 0 },
      trust: init.trust,
      active: true,
      registeredAt: now,
      lastHeartbeat: now,
      stats: { valid: 0, invalid: 0, consecutiveValid: 0 },
    };
    if (init.addressBlock !== undefined) agent.addressBlock = init.addressBlock;
    const previous = this.agents.get(agent.id);
    // As the map keeps it: a registration again takes the old one's place.
    if (previous === undefined) this.#agentList.push(agent);
    else this.#agentList[this.#agentList.indexOf(previous)] = agent;
    this.agents.set(agent.id, agent);
    this.#held.set(agent.id, { agent, open: [], stale: false });
    this.index.upsert(agent);
    return agent;
  }

  /** A heartbeat at `at` (of an agent, or of the agent registerAgent returned); an inactive agent becomes active again. */
  heartbeat(agentOrId: string | Agent, at: number): void {
    const agent = typeof agentOrId === 'string' ? this.#agent(agentOrId) : agentOrId;
    if (at > agent.lastHeartbeat) agent.lastHeartbeat = at;
    if (!agent.active) {
      agent.active = true;
      this.index.upsert(agent);
    }
  }

  // ---- tasks --------------------------------------------------------------------------------

  /** A submitted task whose image validated at once: pending, in the backlog. */
  submit(id: string, spec: TaskSpecBody, now: number): Task {
    const created = newTask({ id, submitter: 'simulation', spec, home: 'sim-hub', at: now });
    const task = this.#set(this.#startingReplicas(transition(created, 'pending', now)));
    this.counts.submitted++;
    return task;
  }

  /**
   * Hands `agentId`, as it asks for work, a known-answer task (spot-check.ts): one replica, whose
   * answer is judged against `known` instead of being voted on; not counted among the submitted
   * tasks. False (nothing happens) when the agent has no room for it now.
   */
  assignSpotCheck(agentId: string, id: string, spec: TaskSpecBody, known: string, now: number): boolean {
    this.#flush();
    const entry = this.index.get(agentId);
    if (entry === undefined || !entry.active || entry.available.cpu < spec.cpu || entry.available.ramGb < spec.ramGb) return false;
    const created: Task = { ...newTask({ id, submitter: 'simulation', spec, home: 'sim-hub', at: now }), replicas: 1 };
    this.#known.set(id, known);
    this.counts.spotChecks++;
    const pending = transition(created, 'pending', now);
    const reserved: Resources = { cpu: spec.cpu, ramGb: spec.ramGb };
    this.index.reserve(agentId, reserved);
    const assignment = this.#open(pending, agentId, 1, reserved, assignmentDeadline(pending, now, this.params), now);
    const task = this.#set(recordAssignments(pending, [assignment.id], now));
    this.counts.assignments++;
    this.#listener.assigned?.(assignment, task);
    return true;
  }

  /** Why a task is not running, as `dcloud status` would say it. */
  explain(taskId: string): WaitReason {
    this.#flush();
    const task = this.#task(taskId);
    const current = this.#current(task);
    return explainWaiting(task, this.index, { holders: current.holders.length, exclude: new Set([...current.holders, ...current.excluded]) });
  }

  // ---- the tick -----------------------------------------------------------------------------

  /** Health: silent agents go inactive and their open assignments expire; late assignments expire. */
  checkHealth(now: number): void {
    this.#flush();
    for (const agent of findInactiveAgents(this.#agentList, now, this.params)) {
      agent.active = false;
      this.index.upsert(agent);
      this.counts.inactiveAgents++;
      const held = this.#held.get(agent.id);
      if (held !== undefined) for (const assignment of held.open.slice()) this.#expire(assignment, now, `agent ${agent.id} went inactive`);
    }
    // findExpiredAssignments collects before anything expires, so closing while iterating is safe.
    for (const assignment of findExpiredAssignments(this.open.values(), now)) this.#expire(assignment, now, 'no result before the deadline');
    this.#flush();
  }

  /**
   * One scheduling pass, as the hub's: the active queue is planned onto agents (reserving as it
   * goes), the plan becomes assignments (recordAssignments gives the task its round and status),
   * then the queue's tasks that still wait are in_queue and those that left it pending again.
   * Returns how many assignments it made.
   */
  schedule(now: number): number {
    this.#flush();
    const queue = selectActiveQueue(this.backlog, this.index, this.params.scheduling.activeQueueSize, now, this.scheduling);
    const eligible = this.#diversity || this.params.validation.policy === 'credibility' ? (task: Task, agentId: string, alongside: readonly string[]) => this.#eligible(task, agentId, alongside) : undefined;
    const plan = planAssignments({ queue, index: this.index, openAssignments: (id) => this.#openReplicas(id), params: this.params, now, eligible });
    // What the listener hears of once the pass is recorded: each assignment and its task (as the
    // pass leaves it: the in_queue moves below never touch a task that got assignments).
    const made: Assignment[] = [];
    const madeFor: Task[] = [];
    // A task's planned assignments come one after the other (planAssignments plans a task at once).
    const planned = plan.assignments;
    for (let first = 0; first < planned.length; ) {
      const taskId = (planned[first] as PlannedAssignment).taskId;
      const task = this.#task(taskId);
      const round = task.status === 'in_progress' ? task.round : task.round + 1;
      const ids: string[] = [];
      let next = first;
      for (; next < planned.length && (planned[next] as PlannedAssignment).taskId === taskId; next++) {
        const p = planned[next] as PlannedAssignment;
        const assignment = this.#open(task, p.agentId, round, p.reserved, p.deadline, now);
        ids.push(assignment.id);
        made.push(assignment);
      }
      first = next;
      const recorded = this.#set(recordAssignments(task, ids, now));
      for (let i = 0; i < ids.length; i++) madeFor.push(recorded);
    }
    const queued = new Set<string>();
    for (let i = 0; i < queue.length; i++) queued.add((queue[i] as Task).id);
    for (const id of this.#inQueue) {
      const task = this.tasks.get(id);
      if (!queued.has(id) && task?.status === 'in_queue') this.#set(transition(task, 'pending', now, 'left the active queue'));
    }
    for (const id of queued) {
      const task = this.#task(id);
      if (task.status === 'pending') this.#set(transition(task, 'in_queue', now));
    }
    this.counts.assignments += made.length;
    const assigned = this.#listener.assigned;
    if (assigned !== undefined) for (let i = 0; i < made.length; i++) assigned.call(this.#listener, made[i] as Assignment, madeFor[i] as Task);
    return made.length;
  }

  /** A new open assignment, its reservation (already made in the index) added to its agent. */
  #open(task: Task, agentId: string, round: number, reserved: Resources, deadline: number, now: number): Assignment {
    const assignment: Assignment = { id: `as${this.#nextAssignment++}`, taskId: task.id, agentId, round, status: 'assigned', issuedAt: now, deadline, reserved };
    const held = this.#held.get(agentId);
    if (held === undefined) throw new Error(`simulation bug: unknown agent ${agentId}`);
    // As addResources computes it, in place: the agent's record is the hub's own.
    const total = held.agent.reserved;
    total.cpu = roundResource(total.cpu + reserved.cpu);
    total.ramGb = roundResource(total.ramGb + reserved.ramGb);
    this.assignments.set(assignment.id, assignment);
    this.open.add(assignment);
    held.open.push(assignment);
    return assignment;
  }

  // ---- what agents do -----------------------------------------------------------------------

  /** Assignments handed to an agent that it has not fetched yet (what its next work request gets). */
  queuedFor(agentId: string): Assignment[] {
    const out: Assignment[] = [];
    for (const a of this.#held.get(agentId)?.open ?? []) if (a.status === 'assigned') out.push(a);
    return out;
  }

  /**
   * The agent picked up its assignment; false when it is no longer open (expired, cancelled).
   * Given the assignment object (as `assigned` handed it out), no lookup: a closed one is never
   * open again, and only closed ones are forgotten.
   */
  fetch(assignmentOrId: string | Assignment): boolean {
    const assignment = typeof assignmentOrId === 'string' ? this.assignments.get(assignmentOrId) : assignmentOrId;
    if (assignment === undefined || assignment.status !== 'assigned') return false;
    assignment.status = 'running';
    return true;
  }

  /**
   * A result: a digest, or null for a failure the agent reports. Ignored (false) when the
   * assignment is no longer open: its time ran out, or the task was decided without it.
   */
  report(assignmentOrId: string | Assignment, digest: string | null, now: number): boolean {
    const assignment = typeof assignmentOrId === 'string' ? this.assignments.get(assignmentOrId) : assignmentOrId;
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
    this.#flush();
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
    this.open.delete(assignment);
    const held = this.#held.get(assignment.agentId);
    if (held === undefined) {
      this.index.release(assignment.agentId, assignment.reserved);
      return;
    }
    removeFrom(held.open, assignment);
    // As subtractResources computes it (and the index's release), in place; the index hears of it at the #flush.
    const total = held.agent.reserved;
    total.cpu = Math.max(0, roundResource(total.cpu - assignment.reserved.cpu));
    total.ramGb = Math.max(0, roundResource(total.ramGb - assignment.reserved.ramGb));
    this.#touch(held);
  }

  /** The agent's index entry must be filed again from its record (upsert reads Agent.reserved). */
  #touch(held: Held): void {
    if (held.stale) return;
    held.stale = true;
    this.#stale.push(held);
  }

  #flush(): void {
    const stale = this.#stale;
    for (let i = 0; i < stale.length; i++) {
      const held = stale[i] as Held;
      held.stale = false;
      this.index.upsert(held.agent);
    }
    stale.length = 0;
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
    const known = this.#known.get(inProgress.id);
    if (known !== undefined) {
      this.#judge(inProgress, reported, known, now);
      return;
    }
    // The voters, looked up once: the policy, the trust changes and the track records all ask for them.
    const voters: Held[] = [];
    for (let i = 0; i < reported.length; i++) {
      const agentId = (reported[i] as Assignment).agentId;
      const held = this.#held.get(agentId);
      if (held === undefined) throw new Error(`simulation bug: unknown agent ${agentId}`);
      voters.push(held);
    }
    this.#voters = voters;
    const find = this.#agentOf;
    const votes = collectVotes(reported, this.#trustOf);
    const context = { task: inProgress, currentTrust: this.#currentTrustOf, agent: find, random: this.#random };
    const decision = this.validation.decide(votes, context);
    if (decision.outcome === 'undecided') {
      // More replicas in the same round: the task stays in_progress and goes back to the backlog.
      this.counts.undecided++;
      this.#set(extendRound(inProgress, decision, reported.length));
      return;
    }
    const completed = transition(inProgress, 'completed', now);
    this.counts.decisions++;
    const changes = decision.trustChanges;
    for (let i = 0; i < changes.length; i++) {
      const change = changes[i] as TrustChange;
      const held = this.#heldOf(change.agentId);
      if (held === undefined) throw new Error(`simulation bug: unknown agent ${change.agentId}`);
      // At the bounds of the trust range a change changes nothing: the index need not hear of it.
      if (held.agent.trust === change.after) continue;
      held.agent.trust = change.after;
      this.#touch(held);
    }
    for (const [id, stats] of statsAfterDecision(decision, this.#statsOf)) (find(id) as Agent).stats = stats;
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

  /** A spot-check's one replica reported: judged against the known answer. */
  #judge(inProgress: Task, reported: Assignment[], known: string, now: number): void {
    const [replica] = reported;
    const agent = this.#agent((replica as Assignment).agentId);
    const verdict = judgeSpotCheck(agent, (replica as Assignment).digest as string, known, this.params);
    agent.stats = verdict.stats;
    if (agent.trust !== verdict.trust) {
      agent.trust = verdict.trust;
      this.index.upsert(agent);
    }
    if (!verdict.passed) this.counts.liarsCaught++;
    this.#known.delete(inProgress.id);
    const validated = transition(transition(inProgress, 'completed', now), 'validated', now, verdict.passed ? 'spot-check passed' : 'spot-check failed: the agent lied');
    validated.result = { digest: known, stdout: '', exitCode: 0 };
    this.#set(validated);
    this.#listener.spotChecked?.(validated, agent.id, verdict);
    this.#finish(validated);
  }

  #failRound(task: Task, now: number, reason: string): void {
    this.counts.failedRounds++;
    this.#cancelOpen(task);
    const next = this.#set(this.#startingReplicas(afterFailedRound(task, now, this.params, reason)));
    if (next.status === 'abandoned') {
      this.counts.abandoned++;
      this.#finish(next);
    }
  }

  #cancelOpen(task: Task): void {
    const ids = task.assignments;
    for (let i = 0; i < ids.length; i++) {
      const assignment = this.assignments.get(ids[i] as string);
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
    const ids = task.assignments;
    // Most rounds hold one replica: an array of exactly it (a pushed-to empty array reserves 17 slots).
    if (ids.length === 1) {
      const assignment = this.assignments.get(ids[0] as string);
      return assignment === undefined ? [] : [assignment];
    }
    const out: Assignment[] = [];
    for (let i = 0; i < ids.length; i++) {
      const assignment = this.assignments.get(ids[i] as string);
      if (assignment !== undefined) out.push(assignment);
    }
    return out;
  }

  #current(task: Task): { holders: string[]; excluded: string[] } {
    // Most tasks a pass looks at wait for their first round: nothing to collect.
    if (task.assignments.length === 0) return NO_REPLICAS;
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
    // Mostly nothing waits in_queue (a pass places what it queues): no lookup then.
    else if (this.#inQueue.size > 0) this.#inQueue.delete(task.id);
    if (this.#wantsAgents(task)) this.backlog.add(task);
    else if (this.backlog.size > 0) this.backlog.remove(task.id);
    return task;
  }

  /** Pending or in_queue, or in_progress with replicas to replace. */
  #wantsAgents(task: Task): boolean {
    if (task.status === 'pending' || task.status === 'in_queue') return true;
    return task.status === 'in_progress' && roundOutcome(task, this.#roundAssignments(task)).kind === 'needs-replicas';
  }

  /** A new round starts with the replicas the validation policy wants (credibility: few, then more). */
  #startingReplicas(task: Task): Task {
    // Known-answer tasks are the simulation's own (no Task.spotCheck): they keep their one replica.
    return this.#known.has(task.id) ? task : withStartingReplicas(this.params, task);
  }

  /**
   * May `agentId` run a replica of `task`? Under the credibility policy, submitted tasks go only
   * to agents past probation; with diversity, never two replicas in one address block.
   */
  #eligible(task: Task, agentId: string, alongside: readonly string[]): boolean {
    const agent = this.#agent(agentId);
    if (this.#known.has(task.id)) return true;
    if (!mayRunSubmittedWork(agent.stats, this.params)) return false;
    if (!this.#diversity) return true;
    const holders: Agent[] = [];
    for (const a of this.#roundAssignments(task)) if (a.round === task.round && a.status !== 'cancelled') holders.push(this.#agent(a.agentId));
    for (const id of alongside) holders.push(this.#agent(id));
    return mayHoldReplica(task, agent, holders);
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

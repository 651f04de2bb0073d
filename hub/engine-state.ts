import type { Envelope } from '../protocol/messages.ts';
import {
  type Agent,
  type Assignment,
  Backlog,
  CapacityIndex,
  type CoreParams,
  isOpen,
  mayRunSubmittedWork,
  type OpenReplicas,
  roundOutcome,
  type Task,
  type TaskStatus,
} from '../src/core/index.ts';
import type { HubEvent, RegistryAuth } from './engine-types.ts';
import { deciderOf } from './federated/decider.ts';
import { announceEntry, assignmentEntry, type OutboxItem, type Unnumbered } from './federated/entries.ts';
import type { Changes } from './store.ts';

/**
 * The engine's working memory: every task, agent and assignment, and the indexes the scheduler
 * and the agents' requests need (the core's Backlog and CapacityIndex, each agent's queue of
 * assigned work, the open assignments). All of it is rebuilt from the store on start; nothing
 * here is the source of truth, the store is.
 *
 * Records are replaced, never edited in place (the core's functions return new objects), and
 * every replacement goes through put*, which keeps the indexes in step. A task is in the backlog
 * exactly when it wants agents: pending or in_queue, or in_progress with replicas to replace.
 */

export const TASK_STATUSES: readonly TaskStatus[] = ['validating', 'pending', 'invalid', 'in_queue', 'in_progress', 'completed', 'validated', 'failed', 'abandoned'];

export class EngineState {
  readonly tasks = new Map<string, Task>();
  readonly agents = new Map<string, Agent>();
  readonly assignments = new Map<string, Assignment>();
  /** Registry credentials by task id, for the image validator and the assigned agents only. */
  readonly credentials = new Map<string, RegistryAuth>();
  readonly backlog: Backlog;
  readonly capacity = new CapacityIndex();
  /** Tasks in status in_queue: the active queue of the last pass that still waits for agents. */
  readonly inQueue = new Set<string>();
  private readonly counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  /** Known-answer tasks (Task.spotCheck) by status: counted apart, they are not users' tasks. */
  private readonly spotCheckCounts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  /**
   * Task ids by (submittedAt, id): submission order, with a tie rule that survives a restart
   * (the store gives tasks back by id). For newest-first listings.
   */
  private readonly order: string[] = [];
  private readonly byTask = new Map<string, string[]>();
  /** Open (assigned or running) assignment ids, all agents. */
  private readonly openIds = new Set<string>();
  private readonly openByAgent = new Map<string, Set<string>>();
  /** Per agent, its `assigned` assignments in the order they were issued: what requestWork hands out. */
  private readonly queues = new Map<string, string[]>();

  // --- federation (docs/FEDERATION.md, "The engine in a federation") --------------------------
  /** This hub's node id, once its key is loaded; a state without one decides every task. */
  selfId: string | undefined = undefined;
  /** Whether this hub's tasks, and the tasks it took over, are scheduled and decided now (held until a federated hub has synced). */
  deciding = true;
  /** Whether this hub is in a federation: its outbox fills, and private tasks stay on its own agents. */
  federated = false;
  /** Log entries committed but not yet signed into the federation log, by outbox key (in order). */
  readonly outbox = new Map<string, OutboxItem>();
  outboxSeq = 0;

  readonly params: CoreParams;
  /** Agents that may not run users' tasks now (mayRunSubmitted false): what a waiting task's view counts. */
  readonly restricted = new Set<string>();
  /** Why no agent can earn a record now (the spot-check image is unusable), told with every waiting task's reason. */
  spotCheckProblem?: string;

  constructor(params: CoreParams) {
    this.params = params;
    this.backlog = new Backlog(params);
  }

  /**
   * Whether the scheduler may give `agent` a user's task: approved by the operator (when asked),
   * and what the core says (mayRunSubmittedWork: not a proven liar; under the credibility policy,
   * past probation).
   */
  mayRunSubmitted(agent: Agent): boolean {
    return agent.pending !== true && mayRunSubmittedWork(agent.stats, this.params);
  }

  /** Whether this hub decides `task`: its home, unless another hub took it over (Task.decider). */
  decides(task: Task): boolean {
    return this.deciding && (this.selfId === undefined || deciderOf(task) === this.selfId);
  }

  /** A key for the next outbox entry: they are signed into the log in this order. */
  nextOutboxKey(): string {
    this.outboxSeq += 1;
    return String(this.outboxSeq).padStart(16, '0');
  }

  putTask(task: Task): void {
    const before = this.tasks.get(task.id);
    this.tasks.set(task.id, task);
    const counts = task.spotCheck === undefined ? this.counts : this.spotCheckCounts;
    if (before === undefined) this.insertInOrder(task);
    else counts[before.status] -= 1;
    counts[task.status] += 1;
    if (task.status === 'in_queue') this.inQueue.add(task.id);
    else this.inQueue.delete(task.id);
    if (this.wantsAgents(task)) this.backlog.add(task);
    else this.backlog.remove(task.id);
  }

  /** The capacity index reads the agent's reservation from the record: keep Agent.reserved right. */
  putAgent(agent: Agent): void {
    this.agents.set(agent.id, agent);
    this.capacity.upsert(agent);
    if (this.mayRunSubmitted(agent)) this.restricted.delete(agent.id);
    else this.restricted.add(agent.id);
  }

  putAssignment(assignment: Assignment): void {
    const before = this.assignments.get(assignment.id);
    this.assignments.set(assignment.id, assignment);
    if (before === undefined) {
      const list = this.byTask.get(assignment.taskId);
      if (list === undefined) this.byTask.set(assignment.taskId, [assignment.id]);
      else this.insertByIssue(list, assignment);
    }
    const agentId = assignment.agentId;
    if (isOpen(assignment)) {
      this.openIds.add(assignment.id);
      let open = this.openByAgent.get(agentId);
      if (open === undefined) this.openByAgent.set(agentId, (open = new Set()));
      open.add(assignment.id);
    } else if (before !== undefined && isOpen(before)) {
      this.openIds.delete(assignment.id);
      const open = this.openByAgent.get(agentId);
      open?.delete(assignment.id);
      if (open?.size === 0) this.openByAgent.delete(agentId);
    }
    const wasQueued = before?.status === 'assigned';
    const queued = assignment.status === 'assigned';
    if (queued && !wasQueued) {
      const queue = this.queues.get(agentId);
      if (queue === undefined) this.queues.set(agentId, [assignment.id]);
      else this.insertByIssue(queue, assignment);
    } else if (wasQueued && !queued) {
      const queue = this.queues.get(agentId);
      if (queue !== undefined) {
        // Nearly always the head: agents take their work in order.
        const i = queue.indexOf(assignment.id);
        if (i >= 0) queue.splice(i, 1);
        if (queue.length === 0) this.queues.delete(agentId);
      }
    }
  }

  /** Every assignment a task ever had, in the order they were made. */
  assignmentsOf(taskId: string): Assignment[] {
    return (this.byTask.get(taskId) ?? []).map((id) => this.assignments.get(id) as Assignment);
  }

  /** The current round's assignments. */
  roundOf(task: Task): Assignment[] {
    return this.assignmentsOf(task.id).filter((a) => a.round === task.round);
  }

  openAssignments(): Assignment[] {
    return [...this.openIds].map((id) => this.assignments.get(id) as Assignment);
  }

  openAssignmentsOf(agentId: string): Assignment[] {
    return [...(this.openByAgent.get(agentId) ?? [])].map((id) => this.assignments.get(id) as Assignment);
  }

  get openCount(): number {
    return this.openIds.size;
  }

  /** The agent's oldest assignment it has not fetched yet. */
  nextAssigned(agentId: string): Assignment | undefined {
    const id = this.queues.get(agentId)?.[0];
    return id === undefined ? undefined : this.assignments.get(id);
  }

  /**
   * What planAssignments must know of a task's current round. A task that is not in_progress
   * starts a new round when it is assigned, so it holds nothing yet.
   */
  replicas(taskId: string): OpenReplicas {
    const task = this.tasks.get(taskId);
    // Registry credentials never leave their hub: a private image runs on this hub's own agents only.
    const foreign = this.federated && task?.spec.privateRegistry === true ? [...this.agents.values()].filter((a) => a.addressBlock === undefined).map((a) => a.id) : [];
    if (task === undefined || task.status !== 'in_progress') return foreign.length === 0 ? { agentIds: [] } : { agentIds: [], excluded: foreign };
    const agentIds: string[] = [];
    const excluded: string[] = [...foreign];
    for (const a of this.roundOf(task)) {
      if (isOpen(a) || (a.status === 'reported' && typeof a.digest === 'string')) agentIds.push(a.agentId);
      else if (a.status !== 'cancelled') excluded.push(a.agentId);
    }
    return { agentIds, excluded };
  }

  /** Users' tasks by status (known-answer tasks: spotCheckCountByStatus). */
  countByStatus(): Record<TaskStatus, number> {
    return { ...this.counts };
  }

  spotCheckCountByStatus(): Record<TaskStatus, number> {
    return { ...this.spotCheckCounts };
  }

  /** Task ids, newest first. */
  *newestFirst(): Generator<string> {
    for (let i = this.order.length - 1; i >= 0; i--) yield this.order[i] as string;
  }

  /** Tasks arrive nearly in order: the insertion point is found from the end. */
  private insertInOrder(task: Task): void {
    insertSorted(this.order, task.id, (id) => this.tasks.get(id) as Task, (t) => t.submittedAt);
  }

  /** By (issuedAt, id), the order a reload gives back, so that nothing reorders across a restart. */
  private insertByIssue(list: string[], assignment: Assignment): void {
    insertSorted(list, assignment.id, (id) => this.assignments.get(id) as Assignment, (a) => a.issuedAt);
  }

  private wantsAgents(task: Task): boolean {
    // A known-answer task is handed to the agent it was made for, never scheduled.
    if (!this.decides(task) || task.spotCheck !== undefined) return false;
    if (task.status === 'pending' || task.status === 'in_queue') return true;
    if (task.status !== 'in_progress') return false;
    return roundOutcome(task, this.roundOf(task)).kind === 'needs-replicas';
  }
}

/** Inserts `id` into `list`, kept sorted by (time, id), searching from the end where new ids land. */
function insertSorted<R extends { id: string }>(list: string[], id: string, get: (id: string) => R, time: (record: R) => number): void {
  const at = time(get(id));
  let i = list.length;
  while (i > 0) {
    const previous = get(list[i - 1] as string);
    const t = time(previous);
    if (t < at || (t === at && previous.id < id)) break;
    i -= 1;
  }
  list.splice(i, 0, id);
}

/**
 * One state transition in the making: what it replaced in memory (already applied, through the
 * state's put*), to be written as one atomic batch, and the events to send once it is durable.
 */
export class Transaction {
  readonly tasks = new Map<string, Task>();
  readonly agents = new Map<string, Agent>();
  readonly assignments = new Map<string, Assignment>();
  readonly specs: Array<{ taskId: string; envelope: Envelope }> = [];
  readonly results: Array<{ assignmentId: string; envelope: Envelope }> = [];
  readonly credentials: Array<{ taskId: string; auth: RegistryAuth }> = [];
  readonly forgetCredentials: string[] = [];
  readonly decisions: Array<Extract<HubEvent, { type: 'decision' }>> = [];
  /** Decisions (and verdicts) on tasks this hub decides, for the federation log. */
  private readonly decided: Array<Unnumbered<'decision'>> = [];
  /** Takeovers made in this transition (hub/federated/takeover.ts claimEntry), for the federation log. */
  private readonly claimed: Array<Unnumbered<'task.status'>> = [];
  private readonly made: string[] = [];
  private readonly state: EngineState;

  constructor(state: EngineState) {
    this.state = state;
  }

  /** Write assignments first: whether a task wants agents depends on its assignments. */
  assignment(assignment: Assignment): void {
    if (this.state.federated && !this.state.assignments.has(assignment.id)) this.made.push(assignment.id);
    this.state.putAssignment(assignment);
    this.assignments.set(assignment.id, assignment);
  }

  /** A decision or verdict on a task this hub decides, for the federation log (nothing outside a federation). */
  decision(entry: Unnumbered<'decision'>): void {
    if (this.state.federated) this.decided.push(entry);
  }

  /** A takeover's claim, logged ahead of the claimant's assignments and decisions (nothing outside a federation). */
  claim(entry: Unnumbered<'task.status'>): void {
    if (this.state.federated) this.claimed.push(entry);
  }

  task(task: Task): void {
    this.state.putTask(task);
    this.tasks.set(task.id, task);
  }

  agent(agent: Agent): void {
    this.state.putAgent(agent);
    this.agents.set(agent.id, agent);
  }

  get empty(): boolean {
    return this.tasks.size === 0 && this.agents.size === 0 && this.assignments.size === 0 && this.forgetCredentials.length === 0 && this.decided.length === 0 && this.claimed.length === 0;
  }

  /**
   * What the federation log must learn from this transition, in order: tasks submitted here, the
   * assignments and decisions of tasks this hub decides. Written in the same batch as the state.
   */
  private outbox(): Array<{ key: string; item: OutboxItem }> {
    if (!this.state.federated) return [];
    const items: OutboxItem[] = [];
    for (const { taskId, envelope } of this.specs) {
      const task = this.state.tasks.get(taskId);
      if (task !== undefined && task.home === this.state.selfId) items.push({ type: 'task.announce', body: announceEntry(task, envelope) });
    }
    for (const body of this.claimed) items.push({ type: 'task.status', body });
    for (const id of this.made) {
      const assignment = this.state.assignments.get(id) as Assignment;
      const task = this.state.tasks.get(assignment.taskId);
      if (task !== undefined && task.spotCheck === undefined && deciderOf(task) === this.state.selfId) items.push({ type: 'assignment', body: assignmentEntry(assignment, task) });
    }
    for (const body of this.decided) items.push({ type: 'decision', body });
    return items.map((item) => ({ key: this.state.nextOutboxKey(), item }));
  }

  changes(): Changes {
    return {
      outbox: this.outbox(),
      tasks: [...this.tasks.values()],
      agents: [...this.agents.values()],
      assignments: [...this.assignments.values()],
      specs: this.specs,
      results: this.results,
      credentials: this.credentials,
      forgetCredentials: this.forgetCredentials,
    };
  }
}

import type { Resources, TaskSpecBody } from '../../protocol/messages.ts';
import type { Agent, Assignment, CoreParams, Decision, SchedulingPolicy, SpotCheckVerdict, Task, ValidationPolicy } from '../../src/core/index.ts';
import { type Behaviour, answer, isWrong } from './behaviour.ts';
import type { DurationModel } from './durations.ts';
import type { Random } from './random.ts';
import { removeFrom } from './lists.ts';
import { SimHub } from './sim-hub.ts';
import { Simulation } from './simulation.ts';

/**
 * A simulated network: one SimHub, simulated agents that come and go, fetch their assignments,
 * "run" them for a sampled duration and report, and a recorder of what happened to every task.
 * The hub runs a scheduling pass every `tickMs` of virtual time, and (with `kick`) also at once
 * when something it waits for happens (a task arrives, an agent joins, capacity frees up), as a
 * hub reacting to requests does. It checks health (silent agents, late assignments) every
 * `healthMs`.
 */

export interface WorldOptions {
  params: CoreParams;
  scheduling: SchedulingPolicy;
  validation: ValidationPolicy;
  duration: DurationModel;
  /** Randomness for run times and for agents' choices (one stream, taken by the caller). */
  rng: Random;
  /** Period of the hub's scheduling pass, virtual ms. */
  tickMs: number;
  /** Also run a pass as soon as something changed (default true). */
  kick?: boolean;
  /** Period of the hub's health check, virtual ms (default 10 s). */
  healthMs?: number;
  /** From assignment to the agent starting it: its poll interval and fetch, virtual ms (default 0). */
  fetchDelayMs?: number;
  /** Keep a log of every execution and decision (tests check capacity and overlap from it). */
  log?: boolean;
  /** Forget finished tasks (long runs keep only counters and samples). */
  forgetFinished?: boolean;
  /** Stop ticking after this long without progress while tasks still wait: they cannot run. */
  stallMs?: number;
  /** Every decision of the validation policy, as it is made. */
  onDecision?: (task: Task, decision: Decision) => void;
  /** Every task that reached validated or abandoned, with its story. */
  onFinished?: (record: TaskRecord) => void;
  /** An agent joined or reported a replica: it asks for more work (the hub may hand it a spot-check). */
  onAgentReady?: (agentId: string) => void;
  /** Every known-answer task answered (the hub's spot-checks), with the verdict on its agent. */
  onSpotCheck?: (task: Task, agentId: string, verdict: SpotCheckVerdict) => void;
  /** Randomness for the validation policy's random cross-checks (adaptive replication); a stream of its own. */
  policyRng?: Random;
  /** Placement diversity: no two replicas of a task in one address block (default false). */
  diversity?: boolean;
}

export interface AgentSpec {
  id: string;
  name: string;
  total: Resources;
  trust: number;
  behaviour: Behaviour;
  /** The network address block it registers from. */
  addressBlock?: string;
}

/** What a test needs to check invariants after the fact. */
export type LogEntry =
  | { at: number; kind: 'assign'; task: string; agent: string; round: number; cpu: number; ramGb: number }
  | { at: number; kind: 'start'; task: string; agent: string; assignment: string; cpu: number; ramGb: number }
  | { at: number; kind: 'end'; task: string; agent: string; assignment: string; cpu: number; ramGb: number; why: 'reported' | 'aborted' | 'agent-left' }
  | { at: number; kind: 'decide'; task: string; outcome: Decision['outcome']; voters: string[]; digest: string | null; score: number };

/** One task's story, in virtual ms. */
export interface TaskRecord {
  id: string;
  submittedAt: number;
  firstStartAt?: number;
  finishedAt?: number;
  status: Task['status'];
  /** Replicas that started running. */
  executions: number;
  /** Those whose result was a vote of the decision that validated the task. */
  useful: number;
  rounds: number;
  /** The accepted digest was not the correct one. */
  acceptedWrong: boolean;
  /** A known-answer task the hub added (a spot-check), not a submitted one. */
  spotCheck: boolean;
}

interface SimAgent {
  spec: AgentSpec;
  /** The hub's record of it (registerAgent): heartbeats go to it without a lookup. */
  record: Agent;
  online: boolean;
  /** Bumped at every join and leave: completions of an earlier session are void. */
  session: number;
  joinedAt: number;
  /** Running executions, in the order they started (a few: an array beats a map). */
  running: Assignment[];
  /** What was running when it left: reported as failures when it comes back, as a real agent does. */
  interrupted: Assignment[];
}

interface Tracked {
  record: TaskRecord;
  /** The digest an honest agent reports. */
  correct: string;
}

export class World {
  readonly sim = new Simulation();
  readonly hub: SimHub;
  readonly log: LogEntry[] = [];
  /** Every task still tracked (all of them unless forgetFinished), with the answer an honest agent gives: one lookup for both. */
  readonly #tracked = new Map<string, Tracked>();
  /** The entry #trackedOf found last: a decision and the task's end ask for the same one in a row. */
  #lastTracked: Tracked | undefined;
  /** Records of finished tasks, in finishing order (none kept when forgetFinished: see onFinished). */
  readonly finished: TaskRecord[] = [];
  /** Agent-side: replicas started, reported (of which failure reports), aborted, lost with their agent. */
  readonly counts = { executions: 0, reported: 0, failureReports: 0, aborted: 0, lostToDepartures: 0, joins: 0, leaves: 0 };
  readonly #agents = new Map<string, SimAgent>();
  /** The agents in the map's order: what heartbeats walk every health check (an array's walk allocates nothing). */
  readonly #agentList: SimAgent[] = [];
  readonly #options: Required<Omit<WorldOptions, 'params' | 'scheduling' | 'validation' | 'duration' | 'rng' | 'onDecision' | 'onFinished' | 'onSpotCheck' | 'policyRng' | 'diversity' | 'onAgentReady'>>;
  readonly #onDecision: ((task: Task, decision: Decision) => void) | undefined;
  readonly #onFinished: ((record: TaskRecord) => void) | undefined;
  readonly #onAgentReady: ((agentId: string) => void) | undefined;
  readonly #duration: DurationModel;
  readonly #rng: Random;
  #tickScheduledAt = Infinity;
  #kickPending = false;
  #lastProgressAt = 0;
  #nextTaskId = 0;

  constructor(options: WorldOptions) {
    this.#options = {
      tickMs: options.tickMs,
      kick: options.kick ?? true,
      healthMs: options.healthMs ?? 10_000,
      fetchDelayMs: options.fetchDelayMs ?? 0,
      log: options.log ?? false,
      forgetFinished: options.forgetFinished ?? false,
      stallMs: options.stallMs ?? 600_000,
    };
    this.#duration = options.duration;
    this.#onDecision = options.onDecision;
    this.#onFinished = options.onFinished;
    this.#onAgentReady = options.onAgentReady;
    this.#rng = options.rng;
    this.hub = new SimHub({
      params: options.params,
      scheduling: options.scheduling,
      validation: options.validation,
      forgetFinished: this.#options.forgetFinished,
      ...(options.policyRng === undefined ? {} : { random: () => (options.policyRng as Random).float() }),
      diversity: options.diversity ?? false,
      listener: {
        assigned: (assignment, task) => this.#assigned(assignment, task),
        closed: (assignment) => this.#closed(assignment),
        decided: (task, decision) => this.#decided(task, decision),
        finished: (task) => this.#finished(task),
        ...(options.onSpotCheck === undefined ? {} : { spotChecked: options.onSpotCheck }),
      },
    });
  }

  get now(): number {
    return this.sim.now;
  }

  /** The story of every task still tracked (all of them unless forgetFinished), by id: a snapshot. */
  get records(): ReadonlyMap<string, TaskRecord> {
    return new Map(Array.from(this.#tracked, ([id, t]) => [id, t.record]));
  }

  /** Scheduled events other than the hub's ticks. */
  get pendingWork(): number {
    return this.sim.pendingWork;
  }

  // ---- agents -------------------------------------------------------------------------------

  /** An agent registers now and stays online until `leave`. */
  join(spec: AgentSpec): void {
    let agent = this.#agents.get(spec.id);
    const now = this.sim.now;
    if (agent === undefined) {
      const record = this.hub.registerAgent({ id: spec.id, name: spec.name, total: spec.total, trust: spec.trust, ...(spec.addressBlock === undefined ? {} : { addressBlock: spec.addressBlock }) }, now);
      agent = { spec, record, online: true, session: 0, joinedAt: now, running: [], interrupted: [] };
      this.#agents.set(spec.id, agent);
      this.#agentList.push(agent);
    } else {
      if (agent.online) return;
      agent.online = true;
      agent.session++;
      agent.joinedAt = now;
      this.hub.heartbeat(agent.record, now);
      // The agent restarted: the work it lost is reported failed, so the hub reassigns it at once
      // (agent/report.ts, restartedReport) instead of waiting for the deadline.
      const interrupted = agent.interrupted;
      agent.interrupted = [];
      for (const assignment of interrupted) this.hub.report(assignment, null, now);
      // Work handed to it while it was away (the hub had not noticed yet): its next request gets it.
      for (const assignment of this.hub.queuedFor(spec.id)) this.#deliver(agent, assignment, (this.hub.tasks.get(assignment.taskId) as Task).spec, this.#trackedOf(assignment.taskId));
    }
    this.counts.joins++;
    this.#onAgentReady?.(spec.id);
    this.#kick();
  }

  /** The agent vanishes: it stops heartbeating and its running work never reports. */
  leave(agentId: string): void {
    const agent = this.#agents.get(agentId);
    if (agent === undefined || !agent.online) return;
    agent.online = false;
    agent.session++;
    for (const assignment of agent.running) {
      this.#logEnd(assignment, 'agent-left');
      this.counts.lostToDepartures++;
      agent.interrupted.push(assignment);
    }
    agent.running.length = 0;
    this.counts.leaves++;
  }

  // ---- tasks --------------------------------------------------------------------------------

  /** Submits a task now; `correct` is the digest an honest agent reports for it. */
  submit(spec: TaskSpecBody, correct: string, id = `task-${this.#nextTaskId++}`): string {
    this.hub.submit(id, spec, this.sim.now);
    return this.#record(id, correct, false);
  }

  /**
   * The hub hands `agentId` a known-answer task (a spot-check) that it judges against `correct`.
   * False when the agent has no room for it now.
   */
  spotCheck(agentId: string, spec: TaskSpecBody, correct: string, id = `task-${this.#nextTaskId++}`): boolean {
    this.#record(id, correct, true);
    if (this.hub.assignSpotCheck(agentId, id, spec, correct, this.sim.now)) return true;
    this.#untrack(id);
    return false;
  }

  #record(id: string, correct: string, spotCheck: boolean): string {
    if (this.#lastTracked?.record.id === id) this.#lastTracked = undefined;
    this.#tracked.set(id, { record: { id, submittedAt: this.sim.now, status: 'pending', executions: 0, useful: 0, rounds: 0, acceptedWrong: false, spotCheck }, correct });
    this.#kick();
    return id;
  }

  /** Runs `fn` at virtual time `at`; until then the world counts as busy. */
  at(at: number, fn: () => void): void {
    this.sim.work(at, fn);
  }

  // ---- running ------------------------------------------------------------------------------

  /**
   * Runs until `until` (virtual ms), until `done()` says so, or until nothing can happen any more
   * (no work scheduled, nothing running, and the waiting tasks could not be placed for stallMs).
   */
  run(options: { until?: number; done?: () => boolean; onProgress?: () => void } = {}): void {
    this.#scheduleTick(this.sim.now);
    this.sim.at(this.sim.now + this.#options.healthMs, () => this.#health());
    this.sim.run({
      ...(options.until === undefined ? {} : { until: options.until }),
      ...(options.done === undefined ? {} : { done: options.done }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress, progressEvery: 16_384 }),
    });
  }

  /** Tasks still waiting when the run ended, with the core's reason for each. */
  stillWaiting(): { id: string; code: string; reason: string }[] {
    const out: { id: string; code: string; reason: string }[] = [];
    for (const task of this.hub.tasks.values()) {
      if (task.status === 'validated' || task.status === 'abandoned' || task.status === 'invalid') continue;
      out.push({ id: task.id, ...this.hub.explain(task.id) });
    }
    return out;
  }

  /** True while anything can still happen: work scheduled, replicas running, tasks placeable. */
  #busy(now: number): boolean {
    if (this.sim.pendingWork > 0 || this.hub.open.size > 0) return true;
    return this.hub.backlog.size > 0 && now - this.#lastProgressAt < this.#options.stallMs;
  }

  #tick(): void {
    const now = this.sim.now;
    this.#tickScheduledAt = Infinity;
    this.#kickPending = false;
    const assigned = this.hub.schedule(now);
    if (assigned > 0 || this.hub.open.size > 0 || this.sim.pendingWork > 0) this.#lastProgressAt = now;
    if (this.#busy(now)) this.#scheduleTick(now + this.#options.tickMs);
  }

  #health(): void {
    const now = this.sim.now;
    this.#refreshHeartbeats(now);
    this.hub.checkHealth(now);
    if (this.#busy(now)) this.sim.at(now + this.#options.healthMs, () => this.#health());
  }

  #scheduleTick(at: number): void {
    if (at >= this.#tickScheduledAt) return;
    this.#tickScheduledAt = at;
    this.sim.at(at, () => {
      // A kick may have moved the tick earlier; the later, superseded one does nothing.
      if (this.#tickScheduledAt === this.sim.now) this.#tick();
    });
  }

  #kick(): void {
    if (!this.#options.kick || this.#kickPending) return;
    this.#kickPending = true;
    this.#scheduleTick(this.sim.now);
  }

  /**
   * Online agents heartbeat every heartbeatIntervalMs from when they joined; instead of an event
   * per heartbeat, the hub is told the latest one just before it checks health.
   */
  #refreshHeartbeats(now: number): void {
    const interval = this.hub.params.agents.heartbeatIntervalMs;
    const agents = this.#agentList;
    for (let i = 0; i < agents.length; i++) {
      const agent = agents[i] as SimAgent;
      if (!agent.online) continue;
      this.hub.heartbeat(agent.record, agent.joinedAt + Math.floor((now - agent.joinedAt) / interval) * interval);
    }
  }

  // ---- what agents do with assignments -------------------------------------------------------

  #assigned(assignment: Assignment, task: Task): void {
    const tracked = this.#trackedOf(task.id);
    if (tracked !== undefined) tracked.record.rounds = task.round;
    if (this.#options.log) this.log.push({ at: this.sim.now, kind: 'assign', task: task.id, agent: assignment.agentId, round: assignment.round, cpu: assignment.reserved.cpu, ramGb: assignment.reserved.ramGb });
    const agent = this.#agents.get(assignment.agentId);
    // An agent that left gets it if it returns before the hub notices; else the assignment expires.
    if (agent !== undefined && agent.online) this.#deliver(agent, assignment, task.spec, tracked);
  }

  /**
   * The agent fetches the assignment, runs it and reports. `tracked`: its task's entry, looked up
   * once here (an open assignment's task is still tracked: it is forgotten only once finished).
   */
  #deliver(agent: SimAgent, assignment: Assignment, spec: TaskSpecBody, tracked: Tracked | undefined): void {
    const session = agent.session;
    this.at(this.sim.now + this.#options.fetchDelayMs, () => this.#fetch(agent, session, assignment, spec, tracked));
  }

  #fetch(agent: SimAgent, session: number, assignment: Assignment, spec: TaskSpecBody, tracked: Tracked | undefined): void {
    if (agent.session !== session || !this.hub.fetch(assignment)) return;
    const now = this.sim.now;
    agent.running.push(assignment);
    this.counts.executions++;
    if (tracked !== undefined) {
      tracked.record.executions++;
      tracked.record.firstStartAt ??= now;
    }
    if (this.#options.log) this.log.push({ at: now, kind: 'start', task: assignment.taskId, agent: agent.spec.id, assignment: assignment.id, cpu: assignment.reserved.cpu, ramGb: assignment.reserved.ramGb });
    this.at(now + this.#duration(spec, this.#rng), () => this.#complete(agent, session, assignment, tracked as Tracked));
  }

  #complete(agent: SimAgent, session: number, assignment: Assignment, tracked: Tracked): void {
    if (agent.session !== session || !removeFrom(agent.running, assignment)) return;
    this.#logEnd(assignment, 'reported');
    this.counts.reported++;
    const correct = tracked.correct;
    const digest = answer(agent.spec.behaviour, assignment.taskId, correct, this.#rng);
    if (digest === null) this.counts.failureReports++;
    this.hub.report(assignment, digest, this.sim.now);
    this.#onAgentReady?.(agent.spec.id);
    this.#kick();
  }

  /** The hub gave up on an assignment (expired, cancelled): its agent stops running it. */
  #closed(assignment: Assignment): void {
    const agent = this.#agents.get(assignment.agentId);
    if (agent !== undefined && removeFrom(agent.running, assignment)) {
      this.#logEnd(assignment, 'aborted');
      this.counts.aborted++;
    }
    this.#kick();
  }

  #decided(task: Task, decision: Decision): void {
    this.#onDecision?.(task, decision);
    const tracked = this.#trackedOf(task.id);
    if (tracked !== undefined && decision.outcome === 'validated') {
      let useful = 0;
      for (const g of decision.groups) useful += g.voters.length;
      tracked.record.useful += useful;
      tracked.record.acceptedWrong = isWrong(decision.digest, tracked.correct);
    }
    if (this.#options.log) {
      const voters = decision.groups.flatMap((g) => g.voters);
      this.log.push({ at: this.sim.now, kind: 'decide', task: task.id, outcome: decision.outcome, voters, digest: decision.digest, score: decision.score });
    }
  }

  #finished(task: Task): void {
    const tracked = this.#trackedOf(task.id);
    if (tracked === undefined) return;
    const record = tracked.record;
    record.status = task.status;
    record.finishedAt = this.sim.now;
    this.#onFinished?.(record);
    if (!this.#options.forgetFinished) this.finished.push(record);
    else this.#untrack(task.id);
  }

  #trackedOf(taskId: string): Tracked | undefined {
    const last = this.#lastTracked;
    if (last !== undefined && last.record.id === taskId) return last;
    const tracked = this.#tracked.get(taskId);
    if (tracked !== undefined) this.#lastTracked = tracked;
    return tracked;
  }

  #untrack(taskId: string): void {
    this.#tracked.delete(taskId);
    if (this.#lastTracked?.record.id === taskId) this.#lastTracked = undefined;
  }

  #logEnd(assignment: Assignment, why: 'reported' | 'aborted' | 'agent-left'): void {
    if (this.#options.log) this.log.push({ at: this.sim.now, kind: 'end', task: assignment.taskId, agent: assignment.agentId, assignment: assignment.id, cpu: assignment.reserved.cpu, ramGb: assignment.reserved.ramGb, why });
  }
}

import { join } from 'node:path';
import type Dockerode from 'dockerode';
import { createSigner, loadOrCreateKeyFile, type Signer, VerifyPool } from '../keys/index.ts';
import { digestOf, type Envelope, type MessageType, type Opened, openOffThread, ReplayGuard, type Resources, seal } from '../protocol/index.ts';
import {
  newTask,
  type Agent,
  addResources,
  type Assignment,
  assignmentDeadline,
  type CoreParams,
  isProvenLiar,
  isTerminal,
  mayHoldReplica,
  mergeParams,
  NO_RESOURCES,
  type PartialCoreParams,
  spotCheckDue,
  type Task,
  type TaskStatus,
  transition,
  type ValidationPolicy,
  validationPolicy,
  vouchFor,
  withdrawVouch,
  withStartingReplicas,
} from '../src/core/index.ts';
import { addressBlock } from './engine-address.ts';
import { createRegistrationGate, type PowChallenge, type RegistrationGate } from './engine-registration.ts';
import { makeSpotCheck, type SpotCheckImageStatus, type SpotCheckImageWatch, type SpotCheckOptions, startSpotCheck, watchSpotCheckImage } from './engine-spot-check.ts';
import { assignmentIdOf, assignPass, checkHealth, recordResultIn, resultIntake, type RoundContext } from './engine-rounds.ts';
import { EngineState, Transaction } from './engine-state.ts';
import type { AgentView, HubEngine, HubEvent, NetworkView, RegistryAuth, TaskFilter, TaskView, ValidationView, WorkGrant } from './engine-types.ts';
import type { Verdict } from './federation/federation.ts';
import { adoptTask, resumeRounds } from './federated/deciding.ts';
import { imageInvalidEntry, type OutboxItem } from './federated/entries.ts';
import { agentView, listTasks, networkView, taskView } from './engine-views.ts';
import {
  AgentInactiveError,
  AgentNotRegisteredError,
  AssignmentClosedError,
  AssignmentNotFoundError,
  EngineStoppedError,
  NotYourAssignmentError,
  ResultConflictError,
  ResultInvalidError,
  ResultMismatchError,
} from './errors.ts';
import { createImageValidator, type ImageValidator } from './image-validator.ts';
import { HubStore } from './store.ts';

/**
 * The hub's engine: signed envelopes in, views and events out, every decision made by the pure
 * core (src/core) over state held in memory and made durable in LevelDB (hub/store.ts).
 *
 * Consistency. Each operation changes memory synchronously (no await in between, so nothing
 * interleaves with it), then writes everything it changed as ONE atomic batch, and answers only
 * once that batch is written. Batches reach the disk in the order memory changed. A `kill -9`
 * thus leaves on disk a prefix of the transitions, each whole: no task is lost once its
 * submission was answered, none is created twice (a task's id is its envelope's id), and every
 * assignment on disk has a deadline after which the first pass expires it.
 *
 * Scheduling passes (`tick`) run one at a time; a pass plans and reserves capacity in memory
 * before anything else can run, so two passes can never give the same capacity or the same
 * replica twice (the original's race).
 *
 * Replays. agent.register, agent.heartbeat and work.request go through a ReplayGuard. task.spec
 * and result do not: they are idempotent by content (a task's id is its envelope id; a result is
 * recorded once per assignment), so a client that retries after a lost answer gets the same
 * answer (created: false / duplicate: true) instead of an error.
 */

export interface HubEngineComponents {
  docker: Dockerode;
  /** ms since the epoch; Date.now by default. Tests drive time through it. */
  clock?: () => number;
  /** Uniform in [0, 1): spot-check and cross-check draws (credibility policy); Math.random by default. */
  random?: () => number;
  /** Where the engine reports what the operator must know (the spot-check image unusable); hub/main.ts logs it. */
  log?: (level: 'error' | 'info', message: string, fields?: Record<string, unknown>) => void;
}

export interface HubEngineOptions {
  /** Holds hub.key (the hub's identity) and db/ (LevelDB). Created with mode 0700. */
  dataDir: string;
  params?: PartialCoreParams;
  /** Interval between scheduling passes, ms. 0 runs none by itself: the caller calls tick(). */
  tickMs: number;
  /** Passphrase of hub.key, when it is (or is to be) encrypted. */
  keyPassphrase?: string;
  /** Image pulls running at once. */
  validationConcurrency: number;
  /** How old, and how far in the future, a signed envelope may be dated. */
  freshness: { maxAgeMs: number; maxSkewMs: number };
  /** How long a successful image validation is reused (default 60 s; 0: pull for every task). */
  imageCacheMs?: number;
  /**
   * In a federation (hub/federation-bridge.ts): tasks are logged for the other hubs, and nothing is
   * scheduled or decided until the bridge has synced and calls resumeDeciding().
   */
  federated?: boolean;
  /**
   * Known-answer tasks (credibility policy only): the image they run on. Without it the hub makes
   * none (and no agent can leave probation, so a credibility hub is configured with one: hub/config.ts).
   */
  spotCheck?: SpotCheckOptions & { /** How often an unusable image is validated again, ms (default 60 s). */ retryMs?: number };
  /**
   * Agents (node ids or public keys) the operator vouches for: they hold a verified record from
   * their registration (core: vouchFor), lost for good at their first wrong result.
   */
  trustedAgents?: readonly string[];
  /** Registration gates: a proof of work of `powBits` bits from new keys (0: none); operator approval of new agents. */
  registration?: { powBits?: number; approve?: boolean };
  /** Placement diversity (core: mayHoldReplica): no two replicas of a task in one address block, none on its submitter's key. */
  placementDiversity?: boolean;
}

export interface TickReport {
  /** Agents found silent for too long this pass. */
  deactivated: number;
  /** Assignments closed for lack of an answer (deadline passed or agent inactive). */
  expired: number;
  /** Assignments made this pass. */
  assigned: number;
  /** Tasks in the active queue this pass. */
  queued: number;
  /** Of those, tasks that could not get their agents (their reason is in their view). */
  waiting: number;
  /** Time the pass took, ms, including its write. */
  durationMs: number;
}

export interface EngineStats {
  ticks: number;
  tickErrors: number;
  lastTick?: TickReport;
  lastTickError?: string;
  backlog: number;
  openAssignments: number;
  validationsRunning: number;
  agents: { active: number; total: number; pending?: number };
  tasks: Record<TaskStatus, number>;
  /** Known-answer tasks by status, and agents caught lying by one (proven liars). */
  spotChecks?: { tasks: Record<TaskStatus, number>; liars: number };
}

export interface HubEngineControl extends HubEngine, FederatedEngine {
  /** One scheduling pass (health, then assignment); passes never overlap, later calls queue. */
  tick(): Promise<TickReport>;
  stats(): EngineStats;
}

/** What the engine asks of the federation bridge. */
export interface FederationLink {
  /** Signs the outbox into the federation log and gossips it; resolves when done (never rejects). */
  drain(): Promise<void>;
  /** Gossips an agent's envelope this hub accepted (registration, heartbeat, result). */
  relay(envelope: Envelope): void;
}

/**
 * The engine as the federation bridge drives it (docs/FEDERATION.md, "The engine in a
 * federation"): verified messages of other hubs and their agents go in, the outbox comes out.
 */
export interface FederatedEngine {
  attach(link: FederationLink): void;
  /** Runs `change` (synchronous: nothing interleaves) as one state transition, committed as one batch. */
  transact<T>(change: (ctx: RoundContext) => T): Promise<T>;
  /** An agent's registration or heartbeat relayed by another hub; creates agents this hub never met. */
  recordRemoteAgent(opened: Opened<'agent.register'> | Opened<'agent.heartbeat'>): Promise<Verdict>;
  /** An agent's result relayed by another hub: recorded like one posted here, refused if forged. */
  recordRemoteResult(opened: Opened<'result'>): Promise<Verdict>;
  /** Starts scheduling and deciding (a federated engine starts held), settling what came meanwhile. */
  resumeDeciding(): Promise<void>;
  /** Stops scheduling and deciding until resumeDeciding() (the bridge's quorum fence: hub/federated/fence.ts). */
  holdDeciding(): void;
  readonly deciding: boolean;
  /** Takes over a task whose decider fell silent; false when there was nothing to take. */
  adopt(taskId: string): Promise<boolean>;
  /** Outbox entries not yet in the federation log, in order. */
  pendingOutbox(): Array<{ key: string; item: OutboxItem }>;
  outboxDone(keys: readonly string[]): Promise<void>;
  /** The whole federation as this hub knows it (network() is this hub's own agents and tasks). */
  federationNetwork(): NetworkView;
}

export function createHubEngine(components: HubEngineComponents, options: HubEngineOptions): HubEngineControl {
  return new Engine(components, options);
}

export { assignmentIdOf } from './engine-rounds.ts';

class Engine implements HubEngineControl {
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly gate: RegistrationGate;
  private readonly options: HubEngineOptions;
  private readonly params: CoreParams;
  private readonly policy: ValidationPolicy;
  private readonly validator: ImageValidator;
  private readonly spotCheckImage?: SpotCheckImageWatch;
  private readonly trusted: ReadonlySet<string>;
  /** Verifies envelopes on worker threads, so the event loop keeps answering (keys/verify-pool.ts). */
  private readonly verifier = new VerifyPool();
  private readonly replay: ReplayGuard;
  private readonly listeners = new Set<(event: HubEvent) => void>();
  private readonly validations = new Set<Promise<void>>();
  private state: EngineState;
  private store?: HubStore;
  private signer?: Signer;
  private stopping = new AbortController();
  private timer?: NodeJS.Timeout;
  private ticking: Promise<unknown> = Promise.resolve();
  private tickInFlight = false;
  /** Agents cannot be blamed for heartbeats this hub was not running to receive. */
  private startedAt = 0;
  private tickCount = 0;
  private tickErrors = 0;
  private lastTick?: TickReport;
  private lastTickError?: string;
  private link?: FederationLink;

  constructor(components: HubEngineComponents, options: HubEngineOptions) {
    this.clock = components.clock ?? Date.now;
    this.random = components.random ?? Math.random;
    this.gate = createRegistrationGate({ powBits: options.registration?.powBits ?? 0 });
    this.options = options;
    this.params = mergeParams(options.params);
    this.policy = validationPolicy(this.params);
    this.state = new EngineState(this.params);
    this.replay = new ReplayGuard({ windowMs: options.freshness.maxAgeMs + options.freshness.maxSkewMs });
    this.validator = createImageValidator(
      { docker: components.docker, clock: this.clock },
      { concurrency: options.validationConcurrency, ...(options.imageCacheMs === undefined ? {} : { cacheMs: options.imageCacheMs }) },
    );
    this.trusted = new Set((options.trustedAgents ?? []).map((id) => id.toLowerCase()));
    const spotCheck = options.spotCheck;
    if (spotCheck !== undefined && this.params.validation.policy === 'credibility') {
      const log = components.log;
      this.spotCheckImage = watchSpotCheckImage(
        { validator: this.validator, clock: this.clock, onChange: (status) => this.spotCheckImageChanged(status, log) },
        { image: spotCheck.image, retryMs: spotCheck.retryMs ?? 60_000 },
      );
    }
  }

  /** Known once started (the key is loaded by start()). */
  get identity(): { nodeId: string; publicKey: string } {
    const signer = this.signer;
    if (signer === undefined) throw new EngineStoppedError();
    return { nodeId: signer.nodeId, publicKey: signer.publicKeyHex };
  }

  async start(): Promise<void> {
    if (this.store !== undefined) return;
    const { pair } = await loadOrCreateKeyFile(join(this.options.dataDir, 'hub.key'), { passphrase: this.options.keyPassphrase });
    const store = await HubStore.open(this.options.dataDir);
    const signer = createSigner(pair);
    const federated = this.options.federated === true;
    try {
      this.state = await loadState(store, this.params, (state) => {
        state.selfId = signer.nodeId;
        state.federated = federated;
        state.deciding = !federated;
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    this.signer = signer;
    this.store = store;
    this.stopping = new AbortController();
    this.startedAt = this.clock();
    await this.applyTrustedAgents();
    this.spotCheckImage?.start(this.stopping.signal);
    // Validations cut short by the last stop (or a crash) start over.
    for (const task of this.state.tasks.values()) if (task.status === 'validating' && this.state.decides(task)) this.validate(task);
    if (this.options.tickMs > 0) this.schedule();
  }

  async stop(): Promise<void> {
    const store = this.store;
    if (store === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopping.abort(new EngineStoppedError());
    await Promise.allSettled([...this.validations, this.spotCheckImage?.settled()]);
    await this.ticking.catch(() => undefined);
    this.store = undefined;
    await Promise.all([store.close(), this.verifier.close()]);
  }

  subscribe(listener: (event: HubEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // --- agents ----------------------------------------------------------------------------------

  async registerAgent(envelope: unknown, meta: { address: string }): Promise<{ agent: AgentView; created: boolean }> {
    const opened = await this.open(envelope, 'agent.register', true);
    const block = addressBlock(meta.address);
    const now = this.clock();
    const { name, resources } = opened.body;
    const before = this.state.agents.get(opened.nodeId);
    // Only a new identity pays: an agent re-registering (a restart) is known already.
    if (before === undefined) this.gate.check(opened.body.pow, opened.signer, now);
    const fresh = (): Agent => {
      const agent: Agent = { ...this.newAgent(opened, name, resources, now), addressBlock: block };
      return this.options.registration?.approve === true ? { ...agent, pending: true } : agent;
    };
    const agent: Agent = this.withTrust(before === undefined ? fresh() : { ...before, name, total: resources, addressBlock: block });
    const tx = this.begin();
    tx.agent(agent);
    await this.commit(tx);
    this.link?.relay(opened.envelope);
    return { agent: agentView(agent), created: before === undefined };
  }

  /** A proof-of-work challenge for a new agent's registration (GET /v1/agents/challenge). */
  registrationChallenge(): PowChallenge | null {
    this.running();
    return this.gate.powBits > 0 ? this.gate.challenge(this.clock()) : null;
  }

  /** The operator lets a pending agent work (only the admin route calls this). */
  async approveAgent(agentId: string): Promise<AgentView> {
    const agent = this.registered(agentId);
    if (agent.pending !== true) return agentView(agent);
    const { pending: _was, ...approved } = agent;
    const tx = this.begin();
    tx.agent(approved);
    await this.commit(tx);
    return agentView(approved);
  }

  async heartbeat(envelope: unknown): Promise<AgentView> {
    const opened = await this.open(envelope, 'agent.heartbeat', true);
    const view = await this.recordHeartbeat(opened, this.registered(opened.nodeId));
    this.link?.relay(opened.envelope);
    return view;
  }

  /** The agent with the operator's grant of a record when it is a trusted agent, without it when no longer (core: vouchFor). */
  private withTrust(agent: Agent): Agent {
    const listed = this.trusted.has(agent.id) || this.trusted.has(agent.publicKey.toLowerCase());
    const stats = listed ? vouchFor(agent.stats, this.params.credibility) : withdrawVouch(agent.stats);
    return stats === agent.stats ? agent : { ...agent, stats };
  }

  /** At start: the trusted agents already registered get their grant, those no longer listed lose it. */
  private async applyTrustedAgents(): Promise<void> {
    const tx = this.begin();
    for (const agent of this.state.agents.values()) {
      const after = this.withTrust(agent);
      if (after !== agent) tx.agent(after);
    }
    await this.commit(tx);
  }

  private spotCheckImageChanged(status: SpotCheckImageStatus, log: HubEngineComponents['log']): void {
    this.state.spotCheckProblem =
      status.status === 'unusable'
        ? `the hub cannot run spot-checks: its spot-check image ${status.image} is unusable (${status.reason ?? 'no reason given'}), so no agent can leave probation; make the image available to the hub's Docker engine, set --spot-check-image, or list the operator's agents in --trusted-agents`
        : undefined;
    if (status.status === 'unusable') log?.('error', `spot-check image ${status.image} is unusable: ${status.reason ?? 'no reason given'}; no known-answer tasks until it is (validated again every minute)`, { spotCheckImage: status.image });
    else if (status.status === 'ready') log?.('info', `spot-check image ${status.image} is ready`, { spotCheckImage: status.image });
  }

  private newAgent(opened: Opened, name: string, resources: Resources, now: number): Agent {
    return newAgentRecord(opened, name, resources, this.params.trust.initial, now);
  }

  private async recordHeartbeat(opened: Opened<'agent.heartbeat'>, before: Agent): Promise<AgentView> {
    const agent: Agent = { ...before, total: opened.body.total, free: opened.body.free, lastHeartbeat: this.clock(), active: true };
    if (this.state.agents.get(before.id) === before && before.active && before.total.cpu === agent.total.cpu && before.total.ramGb === agent.total.ramGb) {
      // Free resources and liveness change with every heartbeat but matter only while this hub
      // runs (after a restart every agent gets a fresh grace period), so they stay in memory: a
      // store write per heartbeat would cost more than verifying its signature. Any later
      // transition of the agent writes the whole record, these fields included.
      this.state.putAgent(agent);
      const view = agentView(agent);
      this.notify([{ type: 'agent', agent: view }]);
      return view;
    }
    const tx = this.begin();
    tx.agent(agent);
    await this.commit(tx);
    return agentView(agent);
  }

  async requestWork(envelope: unknown): Promise<WorkGrant | null> {
    const opened = await this.open(envelope, 'work.request', true);
    const agent = this.registered(opened.nodeId);
    if (!agent.active) throw new AgentInactiveError(agent.id);
    // Not approved yet by the operator: nothing, not even a spot-check.
    if (agent.pending === true) return null;
    const tx = this.begin();
    const next = this.spotCheckFor(agent, tx) ?? this.state.nextAssigned(agent.id);
    if (next === undefined) return null;
    const task = this.state.tasks.get(next.taskId) as Task;
    const { signer } = this.running();
    const { image, command, cpu, ramGb, timeoutS } = task.spec;
    const assignment = seal(
      'assignment',
      { assignmentId: next.id, taskId: task.id, agent: agent.id, spec: { image, command, cpu, ramGb, timeoutS }, issuedAt: next.issuedAt, deadline: next.deadline },
      signer,
      { now: this.clock() },
    );
    tx.assignment({ ...next, status: 'running' });
    await this.commit(tx);
    const auth = this.state.credentials.get(task.id);
    return auth === undefined ? { assignment } : { assignment, registryAuth: { ...auth } };
  }

  /**
   * Under the credibility policy with a spot-check image, the agent asking for work may get a
   * fresh known-answer task instead (core: spotCheckDue: always on probation, at
   * credibility.spotCheckRate after, never for a proven liar), when it has room for one. Made,
   * reserved and assigned in `tx`; undefined when none is due.
   */
  private spotCheckFor(agent: Agent, tx: Transaction): Assignment | undefined {
    const options = this.options.spotCheck;
    if (options === undefined || this.params.validation.policy !== 'credibility' || !this.state.deciding) return undefined;
    if (this.spotCheckImage?.current().status !== 'ready') return undefined;
    if (!spotCheckDue(agent.stats, this.random, this.params)) return undefined;
    const now = this.clock();
    const { task } = makeSpotCheck(options, this.identity.nodeId, now);
    const reserved: Resources = { cpu: task.spec.cpu, ramGb: task.spec.ramGb };
    const available = this.state.capacity.get(agent.id)?.available;
    if (available === undefined || available.cpu < reserved.cpu || available.ramGb < reserved.ramGb) return undefined;
    const assignment: Assignment = { id: assignmentIdOf(task.id, 1, agent.id), taskId: task.id, agentId: agent.id, round: 1, status: 'assigned', issuedAt: now, deadline: assignmentDeadline(task, now, this.params), reserved };
    tx.task(task);
    tx.assignment(assignment);
    tx.agent({ ...agent, reserved: addResources(agent.reserved, reserved) });
    tx.task(startSpotCheck(task, assignment.id, now));
    return assignment;
  }

  async submitResult(envelope: unknown): Promise<{ assignmentId: string; duplicate: boolean; task: TaskView }> {
    const opened = await this.open(envelope, 'result', false);
    const answer = await this.recordResult(opened);
    // Known-answer tasks stay this hub's: other hubs never learn which work was a test.
    if (!answer.duplicate && answer.task.kind !== 'spot-check') this.link?.relay(opened.envelope);
    return answer;
  }

  private async recordResult(opened: Opened<'result'>): Promise<{ assignmentId: string; duplicate: boolean; task: TaskView }> {
    const body = opened.body;
    // The same intake as the simulated federated hub's (engine-rounds.ts resultIntake, recordResultIn).
    const intake = resultIntake(this.state, opened, checkDigest);
    if (intake.kind === 'unknown') throw new AssignmentNotFoundError(body.assignmentId);
    const { assignment } = intake;
    const answer = (duplicate: boolean) => ({ assignmentId: assignment.id, duplicate, task: taskView(this.state, this.state.tasks.get(assignment.taskId) as Task) });
    switch (intake.kind) {
      case 'not-yours':
        throw new NotYourAssignmentError(assignment.id, opened.nodeId);
      case 'mismatch':
        throw new ResultMismatchError(assignment.id, body.taskId);
      case 'conflict':
        throw new ResultConflictError(assignment.id);
      case 'duplicate':
        return answer(true);
      case 'closed':
        throw new AssignmentClosedError(assignment.id, assignment.status);
    }
    const tx = this.begin();
    recordResultIn(this.roundContext(tx, this.clock()), assignment, opened);
    await this.commit(tx);
    return answer(false);
  }

  // --- tasks -----------------------------------------------------------------------------------

  async submitTask(envelope: unknown, registryAuth?: RegistryAuth): Promise<{ task: TaskView; created: boolean }> {
    const opened = await this.open(envelope, 'task.spec', false);
    const existing = this.state.tasks.get(opened.id);
    if (existing !== undefined) return { task: taskView(this.state, existing), created: false };
    const now = this.clock();
    // The hub's clock, not the envelope's: a submitter cannot age its task to jump the queue.
    const task = newTask({ id: opened.id, submitter: opened.nodeId, spec: opened.body, home: this.identity.nodeId, at: now });
    const tx = this.begin();
    tx.task(task);
    tx.specs.push({ taskId: task.id, envelope: opened.envelope });
    if (registryAuth !== undefined) {
      const auth = copyAuth(registryAuth);
      this.state.credentials.set(task.id, auth);
      tx.credentials.push({ taskId: task.id, auth });
    }
    await this.commit(tx);
    // A federated hub that has not synced yet validates once it decides again (resumeDeciding).
    if (this.state.decides(task)) this.validate(task);
    return { task: taskView(this.state, task), created: true };
  }

  getTask(id: string): TaskView | undefined {
    const task = this.state.tasks.get(id);
    return task === undefined ? undefined : taskView(this.state, task);
  }

  listTasks(filter: TaskFilter): TaskView[] {
    return listTasks(this.state, filter);
  }

  getAgent(id: string): AgentView | undefined {
    const agent = this.state.agents.get(id);
    return agent === undefined ? undefined : agentView(agent);
  }

  listAgents(): AgentView[] {
    return [...this.state.agents.values()].map(agentView);
  }

  network(): NetworkView {
    const validation = this.validationView();
    if (!this.state.federated) return { ...networkView(this.state), validation };
    const self = this.state.selfId;
    // Its own: the agents that registered here, the tasks submitted here.
    return { ...networkView(this.state, { agent: (a) => a.addressBlock !== undefined, task: (t) => t.home === self }), validation };
  }

  /** How this hub accepts results, and whether its sources of records work. */
  private validationView(): ValidationView {
    const image = this.spotCheckImage?.current();
    return {
      policy: this.params.validation.policy,
      ...(image === undefined ? {} : { spotCheck: image }),
      trustedAgents: this.trusted.size,
    };
  }

  // --- federation (hub/federation-bridge.ts, docs/FEDERATION.md) --------------------------------

  attach(link: FederationLink): void {
    this.link = link;
  }

  get deciding(): boolean {
    return this.state.deciding;
  }

  async transact<T>(change: (ctx: RoundContext) => T): Promise<T> {
    this.running();
    const tx = this.begin();
    const value = change(this.roundContext(tx, this.clock()));
    await this.commit(tx);
    return value;
  }

  async recordRemoteAgent(opened: Opened<'agent.register'> | Opened<'agent.heartbeat'>): Promise<Verdict> {
    this.running();
    const now = this.clock();
    const known = this.state.agents.get(opened.nodeId);
    if (opened.type === 'agent.heartbeat') {
      const { total } = (opened as Opened<'agent.heartbeat'>).body;
      await this.recordHeartbeat(opened as Opened<'agent.heartbeat'>, known ?? this.newAgent(opened, `agent-${opened.nodeId.slice(0, 8)}`, total, now));
      return 'accept';
    }
    const { name, resources } = (opened as Opened<'agent.register'>).body;
    if (known !== undefined && known.name === name && known.total.cpu === resources.cpu && known.total.ramGb === resources.ramGb) return 'ignore';
    const tx = this.begin();
    tx.agent(known === undefined ? this.newAgent(opened, name, resources, now) : { ...known, name, total: resources });
    await this.commit(tx);
    return 'accept';
  }

  async recordRemoteResult(opened: Opened<'result'>): Promise<Verdict> {
    this.running();
    try {
      return (await this.recordResult(opened)).duplicate ? 'ignore' : 'accept';
    } catch (err) {
      // Not known here, or closed already: nothing to learn. Not the assigned agent's, or not
      // consistent with its assignment or with itself: a forgery.
      if (err instanceof AssignmentNotFoundError || err instanceof AssignmentClosedError) return 'ignore';
      if (err instanceof NotYourAssignmentError || err instanceof ResultMismatchError || err instanceof ResultInvalidError || err instanceof ResultConflictError) return 'reject';
      throw err;
    }
  }

  async resumeDeciding(): Promise<void> {
    if (this.state.deciding) return;
    this.running();
    this.state.deciding = true;
    const tx = this.begin();
    const validating = resumeRounds(this.roundContext(tx, this.clock()));
    await this.commit(tx);
    for (const id of validating) this.validate(this.state.tasks.get(id) as Task);
  }

  holdDeciding(): void {
    this.state.deciding = false;
  }

  async adopt(taskId: string): Promise<boolean> {
    const tx = this.begin();
    // The same step as the simulated federated hub's (hub/federated/deciding.ts): the claim is logged with it.
    if (!adoptTask(this.roundContext(tx, this.clock()), taskId)) return false;
    await this.commit(tx);
    const current = this.state.tasks.get(taskId);
    if (current?.status === 'validating') this.validate(current);
    return true;
  }

  pendingOutbox(): Array<{ key: string; item: OutboxItem }> {
    return [...this.state.outbox].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, item]) => ({ key, item }));
  }

  async outboxDone(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) this.state.outbox.delete(key);
    await this.running().store.commit({ outboxDone: keys });
  }

  federationNetwork(): NetworkView {
    return networkView(this.state);
  }

  // --- scheduling ------------------------------------------------------------------------------

  tick(): Promise<TickReport> {
    const pass = this.ticking.catch(() => undefined).then(() => this.pass());
    this.ticking = pass;
    return pass;
  }

  stats(): EngineStats {
    let active = 0;
    let pending = 0;
    let liars = 0;
    for (const agent of this.state.agents.values()) {
      if (agent.active) active += 1;
      if (agent.pending === true) pending += 1;
      if (isProvenLiar(agent.stats)) liars += 1;
    }
    return {
      ticks: this.tickCount,
      tickErrors: this.tickErrors,
      ...(this.lastTick === undefined ? {} : { lastTick: this.lastTick }),
      ...(this.lastTickError === undefined ? {} : { lastTickError: this.lastTickError }),
      backlog: this.state.backlog.size,
      openAssignments: this.state.openCount,
      validationsRunning: this.validations.size,
      agents: { active, total: this.state.agents.size, pending },
      tasks: this.state.countByStatus(),
      spotChecks: { tasks: this.state.spotCheckCountByStatus(), liars },
    };
  }

  /** The timer's passes: never more than one waiting, whatever the load. */
  private schedule(): void {
    this.timer = setTimeout(() => {
      if (this.store === undefined) return;
      if (!this.tickInFlight) {
        this.tickInFlight = true;
        this.tick()
          .catch(() => undefined) // counted in stats by pass()
          .finally(() => {
            this.tickInFlight = false;
          });
      }
      this.schedule();
    }, this.options.tickMs);
    this.timer.unref();
  }

  private async pass(): Promise<TickReport> {
    if (this.store === undefined) throw new EngineStoppedError();
    const started = performance.now();
    try {
      const now = this.clock();
      const tx = this.begin();
      const ctx = this.roundContext(tx, now);
      const health = this.checkHealth(ctx);
      const assignment = this.assign(ctx);
      await this.commit(tx);
      this.tickCount += 1;
      this.lastTick = { ...health, ...assignment, durationMs: performance.now() - started };
      return this.lastTick;
    } catch (err) {
      this.tickErrors += 1;
      this.lastTickError = err instanceof Error ? err.message : String(err);
      throw err;
    }
  }

  /** The health half of a pass (engine-rounds.ts checkHealth); agents' grace runs from this hub's start. */
  private checkHealth(ctx: RoundContext): { deactivated: number; expired: number } {
    return checkHealth(ctx, this.startedAt);
  }

  /** The assignment half of a pass (engine-rounds.ts assignPass), with this hub's placement rules. */
  private assign(ctx: RoundContext): { assigned: number; queued: number; waiting: number } {
    const { state } = ctx;
    // Agents that may not run users' tasks (EngineState.restricted): none is the common case, and the scheduler's fast path.
    const diverse = this.options.placementDiversity === true;
    const eligible =
      state.restricted.size === 0 && !diverse
        ? undefined
        : (task: Task, agentId: string, alongside: readonly string[]) => !state.restricted.has(agentId) && (!diverse || this.diverse(task, agentId, alongside));
    return assignPass(ctx, eligible);
  }

  /** Core: mayHoldReplica, beside the agents holding the task's round and those planned with it this pass. */
  private diverse(task: Task, agentId: string, alongside: readonly string[]): boolean {
    const agent = this.state.agents.get(agentId);
    if (agent === undefined) return false;
    const holders: Agent[] = [];
    const add = (id: string) => {
      const holder = this.state.agents.get(id);
      if (holder !== undefined) holders.push(holder);
    };
    if (task.status === 'in_progress') for (const a of this.state.roundOf(task)) if (a.status !== 'cancelled') add(a.agentId);
    for (const id of alongside) add(id);
    return mayHoldReplica(task, agent, holders);
  }

  // --- image validation ------------------------------------------------------------------------

  private validate(task: Task): void {
    const signal = this.stopping.signal;
    const run = this.validator
      .validate(task.spec.image, this.state.credentials.get(task.id), signal)
      .then(async (verdict) => {
        if (signal.aborted) return; // validated again on the next start
        const current = this.state.tasks.get(task.id);
        if (current?.status !== 'validating') return;
        const tx = this.begin();
        if (verdict.ok) {
          tx.task(withStartingReplicas(this.params, transition(current, 'pending', this.clock())));
        } else {
          tx.task(transition(current, 'invalid', this.clock(), verdict.reason));
          tx.forgetCredentials.push(task.id);
          tx.decision(imageInvalidEntry(task.id));
        }
        await this.commit(tx);
      })
      .catch(() => {
        // Aborted by stop(): the task stays `validating` on disk and is validated at the next start.
      })
      .finally(() => this.validations.delete(run));
    this.validations.add(run);
  }

  // --- plumbing --------------------------------------------------------------------------------

  private running(): { store: HubStore; signer: Signer } {
    if (this.store === undefined || this.signer === undefined) throw new EngineStoppedError();
    return { store: this.store, signer: this.signer };
  }

  /** Opens what an agent or user sent; the signature is verified on the thread pool, so the event loop keeps serving. */
  private open<T extends MessageType>(envelope: unknown, type: T, guardReplay: boolean): Promise<Opened<T>> {
    this.running();
    const { maxAgeMs, maxSkewMs } = this.options.freshness;
    return openOffThread(envelope, {
      verifier: this.verifier,
      expect: [type],
      now: this.clock(),
      maxAgeMs,
      maxSkewMs,
      ...(guardReplay ? { replay: this.replay } : {}),
    });
  }

  private registered(agentId: string): Agent {
    const agent = this.state.agents.get(agentId);
    if (agent === undefined) throw new AgentNotRegisteredError(agentId);
    return agent;
  }

  private begin(): Transaction {
    return new Transaction(this.state);
  }

  private roundContext(tx: Transaction, now: number): RoundContext {
    return { state: this.state, tx, params: this.params, policy: this.policy, now, random: this.random };
  }

  /** Writes the transaction as one batch, then tells subscribers. */
  private async commit(tx: Transaction): Promise<void> {
    for (const id of tx.forgetCredentials) this.state.credentials.delete(id);
    if (tx.empty) return;
    const changes = tx.changes();
    await this.running().store.commit(changes);
    for (const { key, item } of changes.outbox ?? []) this.state.outbox.set(key, item);
    // Answered once the federation has it: a hub killed right after answering loses nothing.
    if ((changes.outbox?.length ?? 0) > 0) await this.link?.drain();
    if (this.listeners.size === 0) return;
    // A task whose assignments moved changed too, as its view shows them.
    const taskIds = new Set([...tx.tasks.keys(), ...[...tx.assignments.values()].map((a) => a.taskId)]);
    const events: HubEvent[] = [
      ...[...taskIds].flatMap((id): HubEvent[] => {
        const task = this.state.tasks.get(id);
        return task === undefined ? [] : [{ type: 'task', task: taskView(this.state, task) }];
      }),
      ...[...tx.agents.values()].map((agent): HubEvent => ({ type: 'agent', agent: agentView(this.state.agents.get(agent.id) ?? agent) })),
      ...tx.decisions,
    ];
    this.notify(events);
  }

  private notify(events: HubEvent[]): void {
    if (this.listeners.size === 0) return;
    for (const event of events) {
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          // A subscriber's failure is its own: it must not undo a committed transition.
        }
      }
    }
  }
}

/** A new agent record, active: trust starts at the initial value, its record empty. */
export function newAgentRecord(signed: Pick<Opened, 'nodeId' | 'signer'>, name: string, resources: Resources, trust: number, now: number): Agent {
  return {
    id: signed.nodeId,
    publicKey: signed.signer,
    name,
    total: resources,
    free: resources,
    reserved: NO_RESOURCES,
    trust,
    active: true,
    registeredAt: now,
    lastHeartbeat: now,
    stats: { valid: 0, invalid: 0, consecutiveValid: 0 },
  };
}

/** Rejects an `ok` result whose digest does not match the stdout and exit code it carries. */
export function checkDigest(body: Opened<'result'>['body']): void {
  if (body.digest === null || body.exitCode === null) throw new ResultInvalidError(body.assignmentId, 'an ok result needs an exit code and a digest');
  // Only a complete stdout can be checked: the digest covers all of it, the report may keep less.
  if (!body.truncated && digestOf(body.exitCode, Buffer.from(body.stdout, 'base64')) !== body.digest) {
    throw new ResultInvalidError(body.assignmentId, 'its digest does not match its stdout and exit code');
  }
}

function copyAuth(auth: RegistryAuth): RegistryAuth {
  const copy: RegistryAuth = { username: auth.username, password: auth.password };
  if (auth.serveraddress !== undefined) copy.serveraddress = auth.serveraddress;
  return copy;
}

/**
 * Rebuilds the working memory from the store. Reservations are recomputed from the open
 * assignments (the batches keep them equal; recomputing makes that an invariant of loading).
 * Results of rounds still open are read back, for the decision to come.
 */
async function loadState(store: HubStore, params: CoreParams, setup: (state: EngineState) => void): Promise<EngineState> {
  const stored = await store.load();
  const state = new EngineState(params);
  setup(state);
  for (const { key, item } of stored.outbox) state.outbox.set(key, item);
  state.outboxSeq = stored.outbox.reduce((max, { key }) => Math.max(max, Number(key)), 0);
  const reserved = new Map<string, Assignment['reserved']>();
  const byIssue = stored.assignments.sort((a, b) => a.issuedAt - b.issuedAt || (a.id < b.id ? -1 : 1));
  const tasks = new Map(stored.tasks.map((t) => [t.id, t]));
  for (const a of byIssue) {
    if (a.status === 'assigned' || a.status === 'running') reserved.set(a.agentId, addResources(reserved.get(a.agentId) ?? NO_RESOURCES, a.reserved));
    const task = tasks.get(a.taskId);
    let loaded = a;
    if (a.status === 'reported' && task !== undefined && !isTerminal(task.status) && a.round === task.round) {
      const result = await store.getResult(a.id);
      if (result !== undefined) loaded = { ...a, result };
    }
    state.putAssignment(loaded);
  }
  for (const agent of stored.agents) state.putAgent({ ...agent, reserved: reserved.get(agent.id) ?? NO_RESOURCES });
  for (const task of stored.tasks.sort((a, b) => a.submittedAt - b.submittedAt)) state.putTask(task);
  for (const [taskId, auth] of stored.credentials) state.credentials.set(taskId, auth);
  return state;
}


import type { Verifier } from '../../keys/verifier.ts';
import type { Opened } from '../../protocol/envelope.ts';
import type { MessageBody, Resources } from '../../protocol/messages.ts';
import {
  type Agent,
  type Assignment,
  type CoreParams,
  findExpiredAssignments,
  findInactiveAgents,
  isTerminal,
  newTask,
  planAssignments,
  selectActiveQueue,
  type Task,
  transition,
  type ValidationPolicy,
  withStartingReplicas,
} from '../../src/core/index.ts';
import { checkDigest, newAgentRecord } from '../../hub/engine.ts';
import { closeAssignment, recordPlan, type RoundContext, settleRound } from '../../hub/engine-rounds.ts';
import { EngineState, Transaction } from '../../hub/engine-state.ts';
import { acceptDecider, type Applied, applyAnnounce, applyAssignment, applyDecision, assignmentReadiness } from '../../hub/federated/apply.ts';
import { ContactBook } from '../../hub/federated/contact.ts';
import { deciderOf, withDecider } from '../../hub/federated/decider.ts';
import { checkDecision } from '../../hub/federated/decision-check.ts';
import type { OutboxItem } from '../../hub/federated/entries.ts';
import { judgeClaim, type LeaseView, shouldTakeOver } from '../../hub/federated/takeover.ts';

/**
 * One federated hub in virtual time: the engine's state (hub/engine-state.ts: EngineState and
 * Transaction, with its outbox) driven by the hub's real federation rules (hub/federated/: apply,
 * decision-check, takeover, contact; hub/engine-rounds.ts: settleRound) and the core. What is
 * simulated is only what the hub does with I/O: the store (records stay in memory), the
 * federation transport (log entries are handed over by simulations/federated/network.ts) and the
 * engine's plumbing (its private scheduling pass, result intake, takeover pass and resume), which
 * is mirrored here step for step from hub/engine.ts and hub/federation-bridge.ts, because those
 * are methods of I/O-bound classes that cannot be called without a store and a libp2p node.
 *
 * Log entries are not signed (the transport's signatures are not the federation's rules); the
 * envelopes inside them are real: the submitter's task spec and the agents' results, which
 * applyAnnounce and checkDecision verify.
 */

/** A log entry as the engine's onMessage sees it: who signed it, when, and its numbered body. */
export type LoggedEntry = Pick<Opened<'task.announce' | 'assignment' | 'decision'>, 'type' | 'nodeId' | 'ts' | 'id'> & {
  body: MessageBody<'task.announce'> | MessageBody<'assignment'> | MessageBody<'decision'>;
  seq: number;
};

export interface FedHubListener {
  /** An entry this hub signed into its log (to be gossiped). */
  originated(hub: FedHub, entry: LoggedEntry): void;
}

export interface FedHubOptions {
  id: string;
  params: CoreParams;
  policy: ValidationPolicy;
  verifier: Verifier;
  leaseMs: number;
  listener: FedHubListener;
}

export type ResultAnswer = 'accepted' | 'duplicate' | 'unknown' | 'closed' | 'refused';

export class FedHub {
  readonly id: string;
  readonly params: CoreParams;
  readonly policy: ValidationPolicy;
  readonly state: EngineState;
  contacts = new ContactBook();
  /** Log entries archived here, every origin, in the order they were archived. */
  readonly archive: LoggedEntry[] = [];
  readonly #archived = new Set<string>();
  readonly #verifier: Verifier;
  readonly #leaseMs: number;
  readonly #listener: FedHubListener;
  #seq = 0;
  up = true;
  startedAt = 0;
  /** Whether it synced since it (re)started (the bridge's `resumed`): decisions are held until then. */
  synced = true;
  /** Entries the engine refused or could not place yet, for the report. */
  readonly counts = { deferred: 0, rejected: 0, ignoredClaims: 0, takeovers: 0, fenced: 0 };

  constructor(options: FedHubOptions) {
    this.id = options.id;
    this.params = options.params;
    this.policy = options.policy;
    this.#verifier = options.verifier;
    this.#leaseMs = options.leaseMs;
    this.#listener = options.listener;
    this.state = new EngineState(options.params);
    this.state.selfId = options.id;
    this.state.federated = true;
  }

  get lease(): LeaseView {
    return { self: this.id, leaseMs: this.#leaseMs, contacts: this.contacts };
  }

  hasArchived(id: string): boolean {
    return this.#archived.has(id);
  }

  // ---- the engine's transactions --------------------------------------------------------------

  #transact<T>(now: number, change: (ctx: RoundContext) => T): T {
    const tx = new Transaction(this.state);
    const value = change({ state: this.state, tx, params: this.params, policy: this.policy, now });
    this.#commit(tx, now);
    return value;
  }

  /** As the engine's commit: the outbox is signed into the log (here: numbered and archived) at once. */
  #commit(tx: Transaction, now: number): void {
    if (tx.empty) return;
    for (const { item } of tx.changes().outbox ?? []) this.#originate(item, now);
  }

  #originate(item: OutboxItem, now: number): void {
    const seq = ++this.#seq;
    const entry: LoggedEntry = { type: item.type, nodeId: this.id, ts: now, id: `${this.id}/${seq}`, seq, body: { ...item.body, seq } as LoggedEntry['body'] };
    this.#archive(entry);
    this.#listener.originated(this, entry);
  }

  #archive(entry: LoggedEntry): void {
    this.#archived.add(entry.id);
    this.archive.push(entry);
  }

  // ---- HTTP edges: submissions, agents, results -------------------------------------------------

  /** POST /v1/tasks (hub/engine.ts submitTask), its image valid at once (the simulated validator). */
  submitTask(spec: Opened<'task.spec'>, now: number): Task {
    const existing = this.state.tasks.get(spec.id);
    if (existing !== undefined) return existing;
    const task = newTask({ id: spec.id, submitter: spec.nodeId, spec: spec.body, home: this.id, at: now });
    this.#transact(now, ({ tx }) => {
      tx.task(task);
      tx.specs.push({ taskId: task.id, envelope: spec.envelope });
    });
    if (this.state.decides(task)) this.#validated(task.id, now);
    return this.state.tasks.get(task.id) as Task;
  }

  #validated(taskId: string, now: number): void {
    const current = this.state.tasks.get(taskId);
    if (current?.status !== 'validating') return;
    this.#transact(now, ({ tx }) => tx.task(withStartingReplicas(this.params, transition(current, 'pending', now))));
  }

  /** An agent's register or heartbeat, over HTTP here or gossiped from another hub. */
  heartbeat(agent: { nodeId: string; signer: string; name: string; total: Resources }, now: number): void {
    const known = this.state.agents.get(agent.nodeId);
    const record: Agent = known === undefined ? newAgentRecord(agent, agent.name, agent.total, this.params.trust.initial, now) : { ...known, total: agent.total, free: agent.total, lastHeartbeat: now, active: true };
    this.state.putAgent(record);
  }

  /** POST /v1/work: the agent's oldest assignment it has not fetched, now running. */
  requestWork(agentId: string, now: number): Assignment | undefined {
    const agent = this.state.agents.get(agentId);
    if (agent === undefined || !agent.active) return undefined;
    const next = this.state.nextAssigned(agentId);
    if (next === undefined) return undefined;
    this.#transact(now, ({ tx }) => tx.assignment({ ...next, status: 'running' }));
    return next;
  }

  /** POST /v1/results, or a result gossiped from another hub (hub/engine.ts recordResult). */
  recordResult(opened: Opened<'result'>, now: number): ResultAnswer {
    const body = opened.body;
    const assignment = this.state.assignments.get(body.assignmentId);
    if (assignment === undefined) return 'unknown';
    if (assignment.agentId !== opened.nodeId || assignment.taskId !== body.taskId) return 'refused';
    const ok = body.outcome === 'ok';
    if (ok) checkDigest(body);
    if (assignment.status === 'reported' || assignment.status === 'failed') return 'duplicate';
    if (assignment.status === 'expired' || assignment.status === 'cancelled') return 'closed';
    this.#transact(now, (ctx) => {
      closeAssignment(ctx, assignment, ok ? { status: 'reported', digest: body.digest, result: opened.envelope } : { status: 'failed', digest: null, reason: body.error ?? 'the agent reported a failure' });
      ctx.tx.results.push({ assignmentId: assignment.id, envelope: opened.envelope });
      settleRound(ctx, assignment.taskId);
    });
    return 'accepted';
  }

  // ---- the scheduling pass (hub/engine.ts pass: checkHealth, then assign) ----------------------

  tick(now: number): void {
    this.#transact(now, (ctx) => {
      this.#checkHealth(ctx);
      if (this.state.deciding) this.#assign(ctx);
    });
  }

  #checkHealth(ctx: RoundContext): void {
    const { state, tx, now } = ctx;
    const touched = new Set<string>();
    const heardSince = this.startedAt;
    const heard = function* () {
      for (const agent of state.agents.values()) yield { agent, active: agent.active, lastHeartbeat: Math.max(agent.lastHeartbeat, heardSince) };
    };
    const silent = findInactiveAgents(heard(), now, this.params);
    for (const { agent } of silent) {
      tx.agent({ ...agent, active: false });
      for (const a of state.openAssignmentsOf(agent.id)) {
        closeAssignment(ctx, a, { status: 'expired', reason: 'agent went inactive' });
        touched.add(a.taskId);
      }
    }
    for (const a of findExpiredAssignments(state.openAssignments(), now)) {
      closeAssignment(ctx, a, { status: 'expired', reason: 'no result before the deadline' });
      touched.add(a.taskId);
    }
    for (const taskId of touched) settleRound(ctx, taskId);
  }

  #assign(ctx: RoundContext): void {
    const { state, tx, now, params } = ctx;
    const queue = selectActiveQueue(state.backlog, state.capacity, params.scheduling.activeQueueSize, now, params.scheduling.policy);
    // Agents that may not run users' tasks (EngineState.restricted); placement diversity is off here.
    const eligible = state.restricted.size === 0 ? undefined : (_task: Task, agentId: string) => !state.restricted.has(agentId);
    const plan = planAssignments({ queue, index: state.capacity, openAssignments: (taskId) => state.replicas(taskId), params, now, ...(eligible === undefined ? {} : { eligible }) });
    recordPlan(state, tx, plan.assignments, now);
    const inQueue = new Set(queue.map((t) => t.id));
    for (const id of [...state.inQueue]) {
      if (!inQueue.has(id)) tx.task(transition(state.tasks.get(id) as Task, 'pending', now));
    }
    for (const { id } of queue) {
      const task = state.tasks.get(id) as Task;
      if (task.status === 'pending') tx.task(transition(task, 'in_queue', now));
    }
  }

  // ---- the federation bridge (hub/federation-bridge.ts onMessage, takeOver, resume) ------------

  /**
   * A log entry from another hub, by gossip or sync. Archived unless the engine defers it
   * (EntryDeferredError: fetched again at the next sync). Returns the verdict.
   */
  receive(entry: LoggedEntry, now: number): Applied {
    if (this.#archived.has(entry.id)) return 'ignore';
    if (entry.nodeId === this.id) return 'ignore';
    const applied = this.#apply(entry, now);
    if (applied === 'retry') this.counts.deferred++;
    else {
      if (applied === 'reject') this.counts.rejected++;
      this.#archive(entry);
    }
    return applied;
  }

  #apply(entry: LoggedEntry, now: number): Applied {
    const opened = entry as unknown as Opened;
    switch (entry.type) {
      case 'task.announce':
        return this.#transact(now, (ctx) => applyAnnounce(ctx, opened as Opened<'task.announce'>, this.#verifier));
      case 'assignment': {
        const body = entry.body as MessageBody<'assignment'>;
        return this.#claimed(now, entry, body.taskId, (ctx, task, claim) => {
          if (claim === 'takeover') acceptDecider(ctx, body.taskId, entry.nodeId, this.#lastDecision(task));
          const ready = assignmentReadiness(ctx, body);
          if (ready !== 'ready') return ready;
          return applyAssignment(ctx, body);
        });
      }
      case 'decision': {
        const body = entry.body as MessageBody<'decision'>;
        return this.#claimed(now, entry, body.taskId, (ctx, task, claim) => {
          const check = checkDecision({ task, body, assignment: (id) => ctx.state.assignments.get(id), verifier: this.#verifier, params: ctx.params, policy: this.policy });
          if (check.kind !== 'ok') return check.kind;
          if (claim === 'takeover') acceptDecider(ctx, body.taskId, entry.nodeId, this.#lastDecision(task));
          return applyDecision(ctx, body, check.results);
        });
      }
    }
  }

  /** A message about a known task from a hub that may claim it; an unknown task waits, a claim that loses is counted and dropped. */
  #claimed(now: number, entry: LoggedEntry, taskId: string, change: (ctx: RoundContext, task: Task, claim: 'decider' | 'takeover') => Applied): Applied {
    return this.#transact(now, (ctx) => {
      const task = ctx.state.tasks.get(taskId);
      if (task === undefined) return 'retry';
      const claim = judgeClaim(task, entry.nodeId);
      if (claim === 'ignore') {
        this.counts.ignoredClaims++;
        return claim;
      }
      return change(ctx, task, claim);
    });
  }

  /** The decider's last decision on `task` as this hub's copy of its log holds it: what a takeover voids. */
  #lastDecision(task: Task): MessageBody<'decision'> | undefined {
    const decider = deciderOf(task);
    for (let i = this.archive.length - 1; i >= 0; i--) {
      const e = this.archive[i] as LoggedEntry;
      if (e.type === 'decision' && e.nodeId === decider && (e.body as MessageBody<'decision'>).taskId === task.id) return e.body as MessageBody<'decision'>;
    }
    return undefined;
  }

  /**
   * The bridge's quorum fence (hub/federation-bridge.ts fence, hub/federated/fence.ts rule 1), run
   * every 200 ms: out of a quorum for a quarter of a lease, this hub stops deciding; back in one, it
   * syncs first (`syncNow`: to learn of any takeover), then decides again. Only once it has resumed
   * after its start.
   */
  fence(quorum: boolean, now: number, syncNow: () => void): void {
    if (!this.synced) return;
    if (quorum) this.#outOfQuorumSince = undefined;
    else this.#outOfQuorumSince ??= now;
    if (this.state.deciding && this.#outOfQuorumSince !== undefined && now - this.#outOfQuorumSince >= this.#leaseMs / 4) {
      this.state.deciding = false;
      this.counts.fenced++;
    } else if (!this.state.deciding && quorum) {
      syncNow();
      this.resumeDeciding(now);
    }
  }

  #outOfQuorumSince: number | undefined = undefined;

  /** The bridge's takeover pass: tasks of deciders silent for a lease, when this hub is the one to take them. */
  takeOver(live: readonly string[], quorum: boolean, now: number): number {
    if (!this.state.deciding || !quorum) return 0;
    const orphans: string[] = [];
    for (const task of this.state.tasks.values()) {
      if (isTerminal(task.status) || task.spec.privateRegistry === true) continue;
      if (shouldTakeOver(task, live, now, this.startedAt, this.lease)) orphans.push(task.id);
    }
    let taken = 0;
    for (const id of orphans) if (this.#adopt(id, now)) taken++;
    this.counts.takeovers += taken;
    return taken;
  }

  /** hub/engine.ts adopt. */
  #adopt(taskId: string, now: number): boolean {
    const task = this.state.tasks.get(taskId);
    if (task === undefined || isTerminal(task.status) || !this.state.deciding || this.state.decides(task)) return false;
    this.#transact(now, (ctx) => {
      ctx.tx.task(withDecider(task, this.id));
      settleRound(ctx, taskId);
    });
    this.#validated(taskId, now);
    return true;
  }

  /** The contact book lives in memory: a restarted hub has heard nobody yet. */
  resetContacts(): void {
    this.contacts = new ContactBook();
  }

  /** A restart: state kept (the store is durable), decisions held until the first sync. */
  restart(now: number): void {
    this.up = true;
    this.startedAt = now;
    this.synced = false;
    this.#outOfQuorumSince = undefined;
    this.state.deciding = false;
  }

  /** The first sync after a start (or a lease with nobody to sync with): hub/federation-bridge.ts resumeWhenSynced. */
  firstSynced(now: number): void {
    if (this.synced) return;
    this.synced = true;
    this.resumeDeciding(now);
  }

  /** hub/engine.ts resumeDeciding. */
  resumeDeciding(now: number): void {
    if (this.state.deciding) return;
    this.state.deciding = true;
    this.#transact(now, (ctx) => {
      for (const task of [...this.state.tasks.values()]) {
        if (!this.state.decides(task)) continue;
        this.state.putTask(task);
        settleRound(ctx, task.id);
      }
    });
    for (const task of [...this.state.tasks.values()]) if (task.status === 'validating' && this.state.decides(task)) this.#validated(task.id, now);
  }
}

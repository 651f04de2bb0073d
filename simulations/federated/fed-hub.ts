import type { Verifier } from '../../keys/verifier.ts';
import type { Opened } from '../../protocol/envelope.ts';
import type { MessageBody, Resources } from '../../protocol/messages.ts';
import {
  type Agent,
  type Assignment,
  type CoreParams,
  isTerminal,
  newTask,
  type Task,
  transition,
  type ValidationPolicy,
  withStartingReplicas,
} from '../../src/core/index.ts';
import { checkDigest, newAgentRecord } from '../../hub/engine.ts';
import { assignPass, checkHealth, recordResultIn, resultIntake, type RoundContext } from '../../hub/engine-rounds.ts';
import { EngineState, Transaction } from '../../hub/engine-state.ts';
import { type Applied, applyLogEntry, voidedBy } from '../../hub/federated/apply.ts';
import { ContactBook } from '../../hub/federated/contact.ts';
import { adoptTask, resumeRounds } from '../../hub/federated/deciding.ts';
import type { OutboxItem } from '../../hub/federated/entries.ts';
import { federationMembers, fenceAction, hasQuorum } from '../../hub/federated/fence.ts';
import { type LeaseView, orphans } from '../../hub/federated/takeover.ts';

/**
 * One federated hub in virtual time: the engine's state (hub/engine-state.ts: EngineState and
 * Transaction, with its outbox) driven by the very steps the hub runs: result intake
 * (hub/engine-rounds.ts resultIntake, recordResultIn), a log entry applied (hub/federated/apply.ts
 * applyLogEntry, voidedBy), resuming and taking over (hub/federated/deciding.ts resumeRounds,
 * adoptTask), the quorum fence and its members (hub/federated/fence.ts fenceAction,
 * federationMembers, hasQuorum), the takeover pass (hub/federated/takeover.ts orphans), and the
 * core. What is simulated is only what the hub does with I/O: the store (records stay in memory),
 * the federation transport (log entries are handed over by fed-world.ts), the timers that call
 * these steps. The scheduling pass is the engine's (hub/engine-rounds.ts checkHealth and
 * assignPass), without its optional placement diversity.
 *
 * Log entries are not signed (the transport's signatures are not the federation's rules); the
 * envelopes inside them are real: the submitter's task spec and the agents' results, which
 * applyAnnounce and checkDecision verify.
 */

/** A log entry as the engine's onMessage sees it: who signed it, when, and its numbered body. */
export type LoggedEntry = Pick<Opened<'task.announce' | 'task.status' | 'assignment' | 'decision'>, 'type' | 'nodeId' | 'ts' | 'id'> & {
  body: MessageBody<'task.announce'> | MessageBody<'task.status'> | MessageBody<'assignment'> | MessageBody<'decision'>;
  seq: number;
};

export interface FedHubListener {
  /** An entry this hub signed into its log (to be gossiped); a decision with the round it ended. */
  originated(hub: FedHub, entry: LoggedEntry, round: number | undefined): void;
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
  /** The hubs it knows of (the bridge's log heads and peer book: durable, kept over a restart). */
  readonly known = new Set<string>();
  /** Log entries archived here, every origin, in the order they were archived. */
  readonly archive: LoggedEntry[] = [];
  readonly #archived = new Set<string>();
  readonly #verifier: Verifier;
  readonly #leaseMs: number;
  readonly #listener: FedHubListener;
  #seq = 0;
  up = true;
  startedAt = 0;
  /** Since when it has decided without a break (the bridge's decidingSince). */
  decidingSince = 0;
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
    const items = (tx.changes().outbox ?? []).map(({ item }) => item);
    // A transaction that ends a round and plans the next (a tick) logs the new round's assignments
    // too: the decision was about the round before the task's current one.
    const replanned = new Set(items.flatMap((i) => (i.type === 'assignment' ? [i.body.taskId] : [])));
    for (const item of items) {
      const taskId = item.type === 'decision' ? item.body.taskId : undefined;
      const round = taskId === undefined ? undefined : (this.state.tasks.get(taskId)?.round ?? 0) - (replanned.has(taskId) ? 1 : 0);
      this.#originate(item, now, round);
    }
  }

  #originate(item: OutboxItem, now: number, round: number | undefined): void {
    const seq = ++this.#seq;
    const entry: LoggedEntry = { type: item.type, nodeId: this.id, ts: now, id: `${this.id}/${seq}`, seq, body: { ...item.body, seq } as LoggedEntry['body'] };
    this.#archive(entry);
    this.#listener.originated(this, entry, round);
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

  /** POST /v1/results, or a result gossiped from another hub (hub/engine.ts recordResult: the same intake). */
  recordResult(opened: Opened<'result'>, now: number): ResultAnswer {
    const intake = resultIntake(this.state, opened, checkDigest);
    switch (intake.kind) {
      case 'unknown':
        return 'unknown';
      case 'not-yours':
      case 'mismatch':
      case 'conflict':
        return 'refused';
      case 'duplicate':
        return 'duplicate';
      case 'closed':
        return 'closed';
    }
    this.#transact(now, (ctx) => recordResultIn(ctx, intake.assignment, opened));
    return 'accepted';
  }

  // ---- the scheduling pass (hub/engine.ts pass: checkHealth, then assign) ----------------------

  tick(now: number): void {
    this.#transact(now, (ctx) => {
      checkHealth(ctx, this.startedAt);
      // Agents that may not run users' tasks (EngineState.restricted); placement diversity is off here.
      const restricted = this.state.restricted;
      if (this.state.deciding) assignPass(ctx, restricted.size === 0 ? undefined : (_task, agentId) => !restricted.has(agentId));
    });
  }

  // ---- the federation bridge (hub/federation-bridge.ts onEntries, fence, takeOver, resumeWhenSynced) ----

  /**
   * A log entry from another hub, by gossip or sync. Archived unless the engine defers it
   * (EntryDeferredError: fetched again at the next sync). Returns the verdict.
   */
  receive(entry: LoggedEntry, now: number): Applied {
    if (this.#archived.has(entry.id)) return 'ignore';
    if (entry.nodeId === this.id) return 'ignore';
    this.known.add(entry.nodeId);
    const opened = entry as unknown as Opened;
    // As the bridge: the verdicts a claim voids are read from the loser's log (here: the archive) first.
    const voided = new Map(voidedBy(this.state, opened).map(({ taskId, loser }) => [taskId, this.#lastDecision(loser, taskId)]));
    const applied = this.#transact(now, (ctx) =>
      applyLogEntry(ctx, opened, {
        verifier: this.#verifier,
        policy: this.policy,
        voided: (taskId) => voided.get(taskId),
        note: (what) => {
          if (what === 'ignored-claim') this.counts.ignoredClaims++;
        },
      }),
    );
    if (applied === 'retry') this.counts.deferred++;
    else {
      if (applied === 'reject') this.counts.rejected++;
      this.#archive(entry);
    }
    return applied;
  }

  /** `loser`'s last decision on `taskId` as this hub's copy of its log holds it: what a claim voids. */
  #lastDecision(loser: string, taskId: string): MessageBody<'decision'> | undefined {
    for (let i = this.archive.length - 1; i >= 0; i--) {
      const e = this.archive[i] as LoggedEntry;
      if (e.type === 'decision' && e.nodeId === loser && (e.body as MessageBody<'decision'>).taskId === taskId) return e.body as MessageBody<'decision'>;
    }
    return undefined;
  }

  /** Whether it hears a quorum of its members (hub/federation-bridge.ts quorum: every hub it knows of). */
  hasQuorum(live: readonly string[]): boolean {
    return hasQuorum(federationMembers(this.id, this.known, new Set()), [this.id, ...live]);
  }

  /**
   * The bridge's quorum fence (hub/federation-bridge.ts fence: fence.ts fenceAction), run after
   * each look at the peers: out of quorum it holds at once; back in one, it syncs first (`syncNow`:
   * to learn of any claim), then decides again. Only once it has resumed after its start.
   */
  fence(quorum: boolean, now: number, syncNow: () => void): void {
    if (!this.synced) return;
    const action = fenceAction(this.state.deciding, quorum);
    if (action === 'hold') {
      this.state.deciding = false;
      this.counts.fenced++;
    } else if (action === 'resume') {
      syncNow();
      this.resumeDeciding(now);
    }
  }

  /** The bridge's takeover pass (takeover.ts orphans; a sync first when there is any; then the engine's adopt for each). */
  takeOver(live: readonly string[], quorum: () => boolean, now: number, syncNow: () => void): number {
    const find = () => orphans(this.state.tasks.values(), live, now, this.decidingSince, this.lease, this.state.deciding, quorum());
    if (find().length === 0) return 0;
    syncNow();
    let taken = 0;
    for (const id of find()) if (this.#adopt(id, now)) taken++;
    this.counts.takeovers += taken;
    return taken;
  }

  /** hub/engine.ts adopt: deciding.ts adoptTask, then the image check. */
  #adopt(taskId: string, now: number): boolean {
    if (!this.#transact(now, (ctx) => adoptTask(ctx, taskId))) return false;
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
    this.state.deciding = false;
  }

  /**
   * The first sync after a start (or a lease with nobody to sync with): hub/federation-bridge.ts
   * resumeWhenSynced; it decides only with a quorum (else the fence resumes it once it has one).
   */
  firstSynced(now: number, quorum: boolean): void {
    if (this.synced) return;
    this.synced = true;
    if (quorum) this.resumeDeciding(now);
  }

  /** hub/engine.ts resumeDeciding: deciding.ts resumeRounds, then the image checks. */
  resumeDeciding(now: number): void {
    if (this.state.deciding) return;
    this.state.deciding = true;
    this.decidingSince = now;
    const validating = this.#transact(now, (ctx) => resumeRounds(ctx));
    for (const id of validating) this.#validated(id, now);
  }
}

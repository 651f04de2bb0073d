import { createSigner, keyPairFromSeed, type Signer, Verifier } from '../../keys/index.ts';
import { digestOf } from '../../protocol/digest.ts';
import { open, type Opened, seal } from '../../protocol/envelope.ts';
import type { MessageBody, Resources } from '../../protocol/messages.ts';
import { type CoreParams, isTerminal, type ValidationPolicy } from '../../src/core/index.ts';
import { VERDICT_POLICIES } from '../../hub/federated/entries.ts';
import { deciderOf } from '../../hub/federated/decider.ts';
import { Random } from '../harness/random.ts';
import { Simulation } from '../harness/simulation.ts';
import { FedHub, type LoggedEntry } from './fed-hub.ts';

/**
 * Several hubs (simulations/federated/fed-hub.ts) on a simulated network in virtual time: gossip
 * with delays and losses, anti-entropy sync between connected hubs (at every connection and every
 * sync interval), partitions and heals, hub crashes and restarts. Agents are attached to one hub
 * each; they heartbeat, fetch work, run it for a sampled time and post a real signed result.
 * An observer records every decision any hub signs and checks, after each heal, how long the
 * hubs take to agree again, and at the end whether any task was lost or decided twice.
 */

export interface FedWorldOptions {
  seed: number;
  hubs: number;
  agentsPerHub: number;
  tasks: number;
  durationS: number;
  overlap: number;
  taskMeanS: number;
  /** The tasks' timeoutS: an assignment whose result never reaches the decider expires after it. */
  timeoutS: number;
  /** Partitions per hour (Poisson), each lasting an exponential time of this mean. */
  partitionRate: number;
  partitionMeanS: number;
  /** Hub indexes cut off by every partition; empty: a random minority each time. */
  cutOff: readonly number[];
  /** Home-hub crashes per hour; down for an exponential time of this mean (0: never back). */
  crashRate: number;
  crashMeanS: number;
  gossipDelayMs: number;
  gossipLoss: number;
  leaseS: number;
  syncIntervalS: number;
  settleS: number;
  /** Fencing's quorum rule (hub/federated/fence.ts); off shows what the rank rule alone does. */
  quorum: boolean;
  params: CoreParams;
  policy: ValidationPolicy;
}

export interface HealRecord {
  kind: 'partition-healed' | 'hub-restarted';
  at: number;
  /** How long the disruption lasted, seconds. */
  lastedS: number;
  hubs: string[];
  /** Tasks decided somewhere by the heal, that every hub must come to hold the same. */
  decidedByThen: number;
  /** Seconds from the heal until every live hub held the same decisions and trust; null if never (or interrupted). */
  convergedAfterS: number | null;
  interrupted: boolean;
}

export interface DecisionRecord {
  origin: string;
  taskId: string;
  round: number;
  outcome: 'validated' | 'failed';
  policy: string;
  digest: string | null;
  at: number;
}

export interface FedSample {
  t: number;
  hubsUp: number;
  partitioned: boolean;
  decided: number;
}

const POLL_MS = 1000;
const HEARTBEAT_MS = 30_000;
const TICK_MS = 1000;
const SAMPLE_CONVERGENCE_MS = 250;
/** hub/federation-bridge.ts: the peers are looked at and the quorum fence run every CONTACT_POLL_MS. */
const FENCE_MS = 200;
/** hub/federation-bridge.ts DEFERRED_RESYNC_MS. */
const DEFERRED_RESYNC_MS = 5000;

interface SimAgent {
  signer: Signer;
  name: string;
  hub: FedHub;
  total: Resources;
  lastHeartbeat: number;
  /** Results waiting to be posted (the agent's journal). */
  outbox: Array<Opened<'result'>>;
}

const hex = (rng: Random, bytes: number): string => {
  let s = '';
  for (let i = 0; i < bytes; i++) s += rng.int(0, 255).toString(16).padStart(2, '0');
  return s;
};

export class FedWorld {
  readonly options: FedWorldOptions;
  readonly sim = new Simulation();
  readonly hubs: FedHub[] = [];
  readonly agents: SimAgent[] = [];
  readonly verifier = new Verifier();
  readonly decisions: DecisionRecord[] = [];
  readonly heals: HealRecord[] = [];
  readonly samples: FedSample[] = [];
  readonly submitted: Array<{ id: string; home: string; at: number }> = [];
  readonly counts = { partitions: 0, crashes: 0, gossipSent: 0, gossipLost: 0, syncs: 0, results: 0 };
  readonly #rng: Random;
  readonly #netRng: Random;
  readonly #agentRng: Random;
  readonly #nonceRng: Random;
  readonly #submitter: Signer;
  /** Side of the partition each hub is on (all 0: none). */
  readonly #side = new Map<string, number>();
  /** Hubs down and when they went down; down for good when their restart is never scheduled. */
  readonly #downSince = new Map<string, number>();
  #partitionStart: number | null = null;
  #disruptions = 0;
  #ending = false;

  constructor(options: FedWorldOptions) {
    this.options = options;
    const root = new Random(options.seed);
    this.#rng = root.stream();
    this.#netRng = root.stream();
    this.#agentRng = root.stream();
    this.#nonceRng = root.stream();
    const keyRng = root.stream();
    const leaseMs = options.leaseS * 1000;
    const listener = { originated: (hub: FedHub, entry: LoggedEntry, round: number | undefined) => this.#originated(hub, entry, round) };
    for (let i = 0; i < options.hubs; i++) {
      const id = `hub-${String(i).padStart(2, '0')}`;
      this.hubs.push(new FedHub({ id, params: options.params, policy: options.policy, verifier: this.verifier, leaseMs, listener }));
      this.#side.set(id, 0);
    }
    this.#submitter = createSigner(keyPairFromSeed(Buffer.from(hex(keyRng, 32), 'hex')));
    for (const hub of this.hubs) {
      for (let k = 0; k < options.agentsPerHub; k++) {
        const signer = createSigner(keyPairFromSeed(Buffer.from(hex(keyRng, 32), 'hex')));
        this.agents.push({ signer, name: `${hub.id}-agent-${k}`, hub, total: { cpu: 4, ramGb: 8 }, lastHeartbeat: -Infinity, outbox: [] });
      }
    }
  }

  // ---- network ---------------------------------------------------------------------------------

  connected(a: FedHub, b: FedHub): boolean {
    return a !== b && a.up && b.up && this.#side.get(a.id) === this.#side.get(b.id);
  }

  #peersOf(hub: FedHub): FedHub[] {
    return this.hubs.filter((h) => this.connected(hub, h));
  }

  #delay(): number {
    return Math.max(1, Math.round(this.#netRng.exponential(this.options.gossipDelayMs)));
  }

  /** Gossip: reaches each connected hub after a delay, unless lost or cut off meanwhile. */
  #gossip(from: FedHub, deliver: (to: FedHub) => void): void {
    for (const to of this.#peersOf(from)) {
      this.counts.gossipSent++;
      if (this.#netRng.chance(this.options.gossipLoss)) {
        this.counts.gossipLost++;
        continue;
      }
      this.sim.after(this.#delay(), () => {
        if (this.connected(from, to)) deliver(to);
      });
    }
  }

  #originated(hub: FedHub, entry: LoggedEntry, round: number | undefined): void {
    if (entry.type === 'decision') {
      const body = entry.body as MessageBody<'decision'>;
      this.decisions.push({ origin: hub.id, taskId: body.taskId, round: round ?? 0, outcome: body.outcome, policy: body.policy, digest: body.digest, at: this.sim.now });
    }
    this.#gossip(hub, (to) => this.#receive(to, entry));
  }

  /** An entry handed to `to`; one it defers makes it sync soon (hub/federation-bridge.ts resyncSoon). */
  #receive(to: FedHub, entry: LoggedEntry): void {
    if (to.receive(entry, this.sim.now) === 'retry') this.#resyncSoon(to);
  }

  readonly #resyncing = new Set<string>();

  #resyncSoon(hub: FedHub): void {
    if (this.#resyncing.has(hub.id)) return;
    this.#resyncing.add(hub.id);
    this.sim.after(Math.min(DEFERRED_RESYNC_MS, Math.floor((this.options.leaseS * 1000) / 4)), () => {
      this.#resyncing.delete(hub.id);
      if (hub.up) for (const peer of this.#peersOf(hub)) this.#sync(hub, peer);
    });
  }

  /** Anti-entropy: `to` fetches every entry `from` archived that it has not (#pull). */
  #sync(to: FedHub, from: FedHub): void {
    if (!this.connected(to, from)) return;
    this.#pull(to, from);
    if (to.synced) return;
    // The first sync after a start is with every hub it can reach (the bridge's syncNow), then it decides.
    for (const peer of this.#peersOf(to)) if (peer !== from) this.#pull(to, peer);
    to.firstSynced(this.sim.now, this.#quorum(to));
  }

  #pull(to: FedHub, from: FedHub): void {
    this.counts.syncs++;
    for (const entry of from.archive) if (!to.hasArchived(entry.id)) this.#receive(to, entry);
  }

  /** Contact books see every change of connectivity at once (the bridge polls every 200 ms). */
  #observe(): void {
    const now = this.sim.now;
    for (const hub of this.hubs) {
      if (!hub.up) continue;
      for (const other of this.hubs) {
        if (other === hub) continue;
        const connected = this.connected(hub, other);
        hub.contacts.observe({ nodeId: other.id, connected, lastSeen: now }, now);
        if (connected) hub.known.add(other.id);
      }
    }
  }

  /** Whether `hub` hears a quorum of its members (hub/federation-bridge.ts quorum: every hub it knows of). */
  #quorum(hub: FedHub): boolean {
    if (!this.options.quorum) return true;
    return hub.hasQuorum(this.#peersOf(hub).map((h) => h.id));
  }

  /** After connectivity changed: observe it, and sync every pair that can talk (a new connection syncs). */
  #connectivityChanged(): void {
    this.#observe();
    for (const a of this.hubs) for (const b of this.#peersOf(a)) this.sim.after(this.#delay(), () => this.#sync(a, b));
  }

  // ---- disruptions -----------------------------------------------------------------------------

  #startPartition(): void {
    if (this.#ending || this.#partitionStart !== null) return;
    const { cutOff } = this.options;
    const n = this.hubs.length;
    let cut: FedHub[];
    if (cutOff.length > 0) cut = cutOff.map((i) => this.hubs[i] as FedHub);
    else {
      const size = this.#rng.int(1, Math.max(1, Math.floor(n / 2)));
      const order = [...this.hubs];
      for (let i = order.length - 1; i > 0; i--) {
        const j = this.#rng.int(0, i);
        [order[i], order[j]] = [order[j] as FedHub, order[i] as FedHub];
      }
      cut = order.slice(0, size);
    }
    for (const h of cut) this.#side.set(h.id, 1);
    this.#partitionStart = this.sim.now;
    this.#disruptions++;
    this.counts.partitions++;
    this.#observe();
    const lasts = Math.max(1000, Math.round(this.#rng.exponential(this.options.partitionMeanS * 1000)));
    this.sim.after(lasts, () => this.#heal(cut.map((h) => h.id)));
  }

  #heal(hubs: string[]): void {
    if (this.#partitionStart === null) return;
    const lastedS = (this.sim.now - this.#partitionStart) / 1000;
    for (const id of this.#side.keys()) this.#side.set(id, 0);
    this.#partitionStart = null;
    this.#connectivityChanged();
    this.#watchConvergence('partition-healed', hubs, lastedS);
  }

  #crash(): void {
    if (this.#ending) return;
    const up = this.hubs.filter((h) => h.up);
    // Never more than a minority down: the rest must be able to take over.
    if (this.hubs.length - up.length + 1 > Math.floor((this.hubs.length - 1) / 2)) return;
    // A home hub: one with tasks it decides still open, if any.
    const homes = up.filter((h) => [...h.state.tasks.values()].some((t) => !isTerminal(t.status) && h.state.decides(t)));
    const pool = homes.length > 0 ? homes : up;
    const hub = pool[this.#rng.int(0, pool.length - 1)] as FedHub;
    hub.up = false;
    this.#downSince.set(hub.id, this.sim.now);
    this.#disruptions++;
    this.counts.crashes++;
    this.#observe();
    if (this.options.crashMeanS > 0) {
      const lasts = Math.max(1000, Math.round(this.#rng.exponential(this.options.crashMeanS * 1000)));
      this.sim.after(lasts, () => this.#restart(hub));
    }
  }

  #restart(hub: FedHub): void {
    const since = this.#downSince.get(hub.id);
    if (hub.up || since === undefined) return;
    this.#downSince.delete(hub.id);
    hub.restart(this.sim.now);
    // Its contact book lived in memory: after a restart it has heard nobody yet.
    hub.resetContacts();
    this.#connectivityChanged();
    // Nobody to sync with within a lease: it decides anyway (hub/federation-bridge.ts resumeWhenSynced).
    this.sim.after(this.options.leaseS * 1000, () => hub.up && hub.firstSynced(this.sim.now, this.#quorum(hub)));
    this.#watchConvergence('hub-restarted', [hub.id], (this.sim.now - since) / 1000);
  }

  // ---- convergence -----------------------------------------------------------------------------

  /** What a hub holds of `tasks`, and the trust of every agent: equal on every hub once converged. */
  #fingerprint(hub: FedHub, tasks: readonly string[]): string {
    const parts: string[] = [];
    for (const id of tasks) {
      const t = hub.state.tasks.get(id);
      parts.push(t === undefined ? '-' : isTerminal(t.status) ? `${t.status}:${t.result?.digest ?? ''}` : 'open');
    }
    for (const a of this.agents) parts.push((hub.state.agents.get(a.signer.nodeId)?.trust ?? this.options.params.trust.initial).toFixed(9));
    return parts.join('|');
  }

  #decidedAnywhere(): string[] {
    const ids = new Set<string>();
    for (const hub of this.hubs) {
      if (!hub.up) continue;
      for (const t of hub.state.tasks.values()) if (isTerminal(t.status)) ids.add(t.id);
    }
    return [...ids].sort();
  }

  agreed(tasks: readonly string[]): boolean {
    const live = this.hubs.filter((h) => h.up);
    const first = live[0];
    if (first === undefined) return true;
    const want = this.#fingerprint(first, tasks);
    return live.every((h) => this.#fingerprint(h, tasks) === want);
  }

  #watchConvergence(kind: HealRecord['kind'], hubs: string[], lastedS: number): void {
    const tasks = this.#decidedAnywhere();
    const record: HealRecord = { kind, at: this.sim.now, lastedS: Math.round(lastedS * 1000) / 1000, hubs, decidedByThen: tasks.length, convergedAfterS: null, interrupted: false };
    this.heals.push(record);
    const disruptions = this.#disruptions;
    const partitioned = (): boolean => this.#partitionStart !== null || this.#downSince.size > 0;
    const check = (): void => {
      if (disruptions !== this.#disruptions) {
        record.interrupted = true;
        return;
      }
      if (!partitioned() && this.agreed(tasks)) {
        record.convergedAfterS = (this.sim.now - record.at) / 1000;
        return;
      }
      if (this.sim.now - record.at < (this.options.settleS + this.options.durationS) * 1000) this.sim.after(SAMPLE_CONVERGENCE_MS, check);
    };
    check();
  }

  // ---- agents and submissions ------------------------------------------------------------------

  #nonce(): string {
    return hex(this.#nonceRng, 16);
  }

  #agentLoop(agent: SimAgent): void {
    const hub = agent.hub;
    const now = this.sim.now;
    if (hub.up) {
      if (now - agent.lastHeartbeat >= HEARTBEAT_MS) {
        agent.lastHeartbeat = now;
        const who = { nodeId: agent.signer.nodeId, signer: agent.signer.publicKeyHex, name: agent.name, total: agent.total };
        hub.heartbeat(who, now);
        this.#gossip(hub, (to) => to.heartbeat(who, this.sim.now));
      }
      while (agent.outbox.length > 0) this.#post(agent, agent.outbox.shift() as Opened<'result'>);
      for (let a = hub.requestWork(agent.signer.nodeId, now); a !== undefined; a = hub.requestWork(agent.signer.nodeId, now)) {
        const assignment = a;
        const runs = Math.max(500, Math.round(this.#agentRng.exponential(this.options.taskMeanS * 1000)));
        this.sim.after(runs, () => this.#finish(agent, assignment.id, assignment.taskId));
      }
    }
    this.sim.after(POLL_MS, () => this.#agentLoop(agent));
  }

  /** The stand-in executor's answer: deterministic per task, as an honest agent's is. */
  #finish(agent: SimAgent, assignmentId: string, taskId: string): void {
    const stdout = Buffer.from(`result-of-${taskId}\n`);
    const body: MessageBody<'result'> = {
      assignmentId,
      taskId,
      outcome: 'ok',
      exitCode: 0,
      digest: digestOf(0, stdout),
      stdout: stdout.toString('base64'),
      stderr: '',
      truncated: false,
      durationMs: 1,
    };
    const opened = open(seal('result', body, agent.signer, { now: this.sim.now, nonce: this.#nonce() }), { verifier: this.verifier, expect: ['result'] });
    agent.outbox.push(opened);
    if (agent.hub.up) while (agent.outbox.length > 0) this.#post(agent, agent.outbox.shift() as Opened<'result'>);
  }

  #post(agent: SimAgent, result: Opened<'result'>): void {
    this.counts.results++;
    const answer = agent.hub.recordResult(result, this.sim.now);
    if (answer === 'accepted') this.#gossip(agent.hub, (to) => to.recordResult(result, this.sim.now));
  }

  #submit(i: number): void {
    const up = this.hubs.filter((h) => h.up);
    if (up.length === 0) return;
    const hub = up[this.#rng.int(0, up.length - 1)] as FedHub;
    const spec = { image: 'dcloud-sim/task:1', command: ['run', String(i)], cpu: this.#rng.int(1, 2), ramGb: this.#rng.int(1, 2), minTrust: 0, overlap: this.options.overlap, timeoutS: this.options.timeoutS };
    const opened = open(seal('task.spec', spec, this.#submitter, { now: this.sim.now, nonce: this.#nonce() }), { verifier: this.verifier, expect: ['task.spec'] });
    hub.submitTask(opened, this.sim.now);
    this.submitted.push({ id: opened.id, home: hub.id, at: this.sim.now });
  }

  // ---- the run ---------------------------------------------------------------------------------

  run(progress?: (done: number, total: number) => void): void {
    const o = this.options;
    const endMs = o.durationS * 1000;
    const totalMs = endMs + o.settleS * 1000;
    for (const agent of this.agents) this.sim.at(0, () => this.#agentLoop(agent));
    this.sim.at(0, () => this.#observe());
    const tick = (hub: FedHub): void => {
      if (hub.up) hub.tick(this.sim.now);
      this.sim.after(TICK_MS, () => tick(hub));
    };
    const takeover = (hub: FedHub): void => {
      if (hub.up) {
        hub.takeOver(this.#peersOf(hub).map((h) => h.id), () => this.#quorum(hub), this.sim.now, () => {
          for (const peer of this.#peersOf(hub)) this.#pull(hub, peer);
        });
      }
      this.sim.after(Math.max(200, Math.floor((o.leaseS * 1000) / 4)), () => takeover(hub));
    };
    const sync = (): void => {
      for (const a of this.hubs) for (const b of this.#peersOf(a)) this.#sync(a, b);
      this.sim.after(o.syncIntervalS * 1000, sync);
    };
    const fence = (hub: FedHub): void => {
      if (hub.up) hub.fence(this.#quorum(hub), this.sim.now, () => {
        for (const peer of this.#peersOf(hub)) this.#sync(hub, peer);
      });
      this.sim.after(FENCE_MS, () => fence(hub));
    };
    for (const hub of this.hubs) {
      this.sim.at(1, () => tick(hub));
      this.sim.at(1, () => takeover(hub));
      this.sim.at(1, () => fence(hub));
    }
    this.sim.at(o.syncIntervalS * 1000, sync);
    // Arrivals spread over the run (Poisson), disruptions as Poisson streams too.
    const rate = o.tasks / Math.max(1, o.durationS * 0.8);
    let t = 0;
    for (let i = 0; i < o.tasks; i++) {
      t += this.#rng.exponential(1000 / rate);
      const at = Math.min(Math.round(t), Math.round(endMs * 0.8));
      this.sim.at(at, () => this.#submit(i));
    }
    const stream = (perHour: number, fn: () => void): void => {
      if (perHour <= 0) return;
      let at = 0;
      for (;;) {
        at += this.#rng.exponential(3_600_000 / perHour);
        if (at >= endMs) return;
        this.sim.at(Math.round(at), fn);
      }
    };
    stream(o.partitionRate, () => this.#startPartition());
    stream(o.crashRate, () => this.#crash());
    // The end: every partition heals and every crashed hub that comes back is back; then settle.
    this.sim.at(endMs, () => {
      this.#ending = true;
      if (this.#partitionStart !== null) this.#heal(this.hubs.filter((h) => this.#side.get(h.id) === 1).map((h) => h.id));
      if (o.crashMeanS > 0) for (const hub of this.hubs) if (!hub.up) this.#restart(hub);
    });
    const sample = (): void => {
      const decided = new Set(this.decisions.filter((d) => d.outcome === 'validated').map((d) => d.taskId)).size;
      this.samples.push({ t: Math.round(this.sim.now / 1000), hubsUp: this.hubs.filter((h) => h.up).length, partitioned: this.#partitionStart !== null, decided });
      progress?.(this.sim.now, totalMs);
      // Settled: every task ended on every live hub, and they agree; nothing more can happen.
      if (this.sim.now > endMs && this.#settled()) this.#done = true;
      else if (this.sim.now + 10_000 <= totalMs) this.sim.after(10_000, sample);
    };
    this.sim.at(0, sample);
    this.sim.run({ until: totalMs, done: () => this.#done });
  }

  #done = false;

  #settled(): boolean {
    const live = this.hubs.filter((h) => h.up);
    if (this.#downSince.size > 0 && this.options.crashMeanS > 0) return false;
    for (const { id } of this.submitted) {
      for (const h of live) {
        const t = h.state.tasks.get(id);
        if (t === undefined || !isTerminal(t.status)) return false;
      }
    }
    return this.agreed(this.submitted.map((s) => s.id));
  }

  /** Doubly decided tasks: validated twice, or one round decided by two hubs. */
  doublyDecided(): Array<{ taskId: string; decisions: DecisionRecord[] }> {
    const byTask = Map.groupBy(this.decisions, (d) => d.taskId);
    const out: Array<{ taskId: string; decisions: DecisionRecord[] }> = [];
    for (const [taskId, list] of byTask) {
      const validated = list.filter((d) => d.outcome === 'validated').length;
      const rounds = Map.groupBy(list.filter((d) => d.policy !== VERDICT_POLICIES.imageInvalid), (d) => d.round);
      const twoDeciders = [...rounds.values()].some((r) => new Set(r.map((d) => d.origin)).size > 1 || r.length > 1);
      if (validated > 1 || twoDeciders) out.push({ taskId, decisions: list });
    }
    return out;
  }

  /** After the run: tasks some live hub does not know, or that did not end; tasks whose end differs between hubs. */
  finalCheck(): { lostUnknown: string[]; lostStuck: string[]; divergent: string[]; trustSpread: number; abandoned: number; validated: number } {
    const live = this.hubs.filter((h) => h.up);
    const lostUnknown: string[] = [];
    const lostStuck: string[] = [];
    const divergent: string[] = [];
    let abandoned = 0;
    let validated = 0;
    for (const { id } of this.submitted) {
      const views = live.map((h) => h.state.tasks.get(id));
      if (views.some((t) => t === undefined)) {
        lostUnknown.push(id);
        continue;
      }
      if (views.some((t) => !isTerminal(t!.status))) {
        lostStuck.push(id);
        continue;
      }
      // Ended the same way, by the same decider, on every live hub.
      const ends = new Set(views.map((t) => `${t!.status}:${t!.result?.digest ?? ''}:${deciderOf(t!)}`));
      if (ends.size > 1) divergent.push(id);
      const status = views[0]!.status;
      if (status === 'validated') validated++;
      else if (status === 'abandoned') abandoned++;
    }
    let trustSpread = 0;
    for (const a of this.agents) {
      const ts = live.map((h) => h.state.agents.get(a.signer.nodeId)?.trust ?? this.options.params.trust.initial);
      trustSpread = Math.max(trustSpread, Math.max(...ts) - Math.min(...ts));
    }
    return { lostUnknown, lostStuck, divergent, trustSpread, abandoned, validated };
  }
}

import { existsSync } from 'node:fs';
import { peerIdFromString } from '@libp2p/peer-id';
import type { KeyPair } from '../keys/keypair.ts';
import { type Opened, open } from '../protocol/envelope.ts';
import type { Envelope, MessageBody } from '../protocol/messages.ts';
import { type CoreParams, isTerminal, type Task, validationPolicy } from '../src/core/index.ts';
import type { HubEngineControl } from './engine.ts';
import type { HubEvent, NetworkView } from './engine-types.ts';
import {
  createFederation,
  type Federation,
  type FederationLogger,
  FederationLogStore,
  BatchVerifier,
  type MessageSource,
  nodeIdOfPeer,
  type PeerView,
  type Verdict,
} from './federation/index.ts';
import { type Applied, applyLogEntry, type LogEntryRules, voidedBy } from './federated/apply.ts';
import { ContactBook } from './federated/contact.ts';
import { deciderOf } from './federated/decider.ts';
import { EntryDeferredError } from './federated/errors.ts';
import { federationMembers, fenceAction, hasQuorum } from './federated/fence.ts';
import { type LeaseView, orphans } from './federated/takeover.ts';

/**
 * The hub engine in a federation (docs/FEDERATION.md, "The engine in a federation"): wires the
 * transport (hub/federation/) to the engine. Out: the engine's outbox (tasks submitted here, the
 * assignments and decisions of the tasks this hub decides) is signed into this hub's log and
 * gossiped; agents' registrations, heartbeats and results accepted here are gossiped as they are.
 * In: every verified message of another hub or of its agents is applied to the engine, each one
 * idempotently, and an entry that depends on one not here yet is deferred to the next sync.
 * Around: the lease (hub/federated/takeover.ts): tasks whose decider fell silent are taken over.
 */

export interface FederationSettings {
  listen: string[];
  bootstrap: string[];
  peerAllow?: string[];
  announce?: string[];
  syncIntervalMs: number;
  /** How long a task's decider may be silent before the lowest live hub takes the task over. */
  leaseMs: number;
}

export interface FederationBridgeComponents {
  engine: HubEngineControl;
  /** hub.key: signs the log, and is the libp2p identity. */
  identity: KeyPair;
  dataDir: string;
  params: CoreParams;
  logger: FederationLogger;
  clock?: () => number;
}

export interface FederationPeer extends PeerView {
  /** The hub behind the peer id (null for a peer that cannot be a hub). */
  nodeId: string | null;
}

/** GET /v1/federation. */
export interface FederationView {
  peerId: string;
  nodeId: string;
  /** Full listen addresses (…/p2p/<peer id>): what another hub gives to --bootstrap. */
  multiaddrs: string[];
  peers: FederationPeer[];
  /** Contiguous head of every hub's log held here. */
  heads: Record<string, number>;
  leaseMs: number;
  /** False until this hub has synced after starting: until then it schedules and decides nothing. */
  deciding: boolean;
  /** Log entries committed here and not yet signed into the log. */
  outbox: number;
}

export interface FederationBridge {
  start(): Promise<void>;
  stop(): Promise<void>;
  info(): FederationView;
  /** The federation-wide totals of GET /v1/network. */
  totals(): NonNullable<NetworkView['federation']>;
}

/**
 * A cut switch for operators and tests: while the file this variable names exists, the hub is cut
 * off from the federation (Federation.isolate) and goes on alone, as behind a partition.
 */
export const CUT_FILE_ENV = 'DCLOUD_FEDERATION_CUT_FILE';

/** How often the peer book is read into the contact book, ms. */
const CONTACT_POLL_MS = 200;
/** How often the waiting status of the tasks this hub decides is told to the others, ms, and how many per entry at most. */
const STATUS_EVERY_MS = 250;
const STATUS_BATCH = 1000;
/**
 * After an entry was deferred (it depends on one not here yet: gossip reorders), how soon this hub
 * syncs rather than wait for the next background sync, ms at most (a quarter lease when shorter).
 * A deferred decision that waits a whole sync interval could let this hub take the task over as
 * if its decider had decided nothing.
 */
const DEFERRED_RESYNC_MS = 5000;
/** Until the first sync, how often the bridge looks for a connected hub, ms. */
const RESUME_POLL_MS = 100;

export function createFederationBridge(components: FederationBridgeComponents, settings: FederationSettings): FederationBridge {
  const { engine, logger: log } = components;
  const clock = components.clock ?? Date.now;
  // Shared with the engine's checks: what a sync page verified in bulk is not verified again there.
  const verifier = new BatchVerifier();
  const policy = validationPolicy(components.params);
  const self = engine.identity.nodeId;
  const contacts = new ContactBook();
  const lease: LeaseView = { self, leaseMs: settings.leaseMs, contacts };
  const rules: Omit<LogEntryRules, 'voided'> = {
    verifier,
    policy,
    note: (what, detail) => {
      if (what === 'refused-decision') log.warn('federation: refused a decision', { reason: detail });
    },
  };
  const nodeIds = new Map<string, string | null>();
  const timers: NodeJS.Timeout[] = [];
  let store: FederationLogStore | undefined;
  let federation: Federation | undefined;
  let draining: Promise<void> = Promise.resolve();
  let startedAt = 0;
  /** Since when this hub has decided without a break (takeover.ts shouldTakeOver). */
  let decidingSince = 0;
  let stopped = false;
  let takingOver = false;
  /** Tasks this hub decides whose waiting status changed since the last tellStatuses, and what was told of each. */
  const waitingNews = new Set<string>();
  const toldStatus = new Map<string, string>();
  let unsubscribe: (() => void) | undefined;
  let fencing = false;
  /** Set once the first sync is done: the fence holds and resumes only after that. */
  let resumed = false;
  let resync: NodeJS.Timeout | undefined;
  const allowNodes = settings.peerAllow === undefined || settings.peerAllow.length === 0 ? undefined : settings.peerAllow.flatMap((p) => nodeIdOfPeer(peerIdFromString(p)) ?? []);

  function nodeIdOfPeerId(peerId: string): string | null {
    let id = nodeIds.get(peerId);
    if (id === undefined) {
      id = nodeIdOfPeer(peerIdFromString(peerId)) ?? null;
      nodeIds.set(peerId, id);
    }
    return id;
  }

  function running(): Federation {
    if (federation === undefined) throw new Error('the federation bridge is not started');
    return federation;
  }

  // ---- out ------------------------------------------------------------------------------------

  /** Signs the outbox into the log, in order, one drain at a time. What fails stays for the next. */
  function drain(): Promise<void> {
    draining = draining.then(async () => {
      const fed = federation;
      if (fed === undefined) return;
      const done: string[] = [];
      try {
        for (const { key, item } of engine.pendingOutbox()) {
          await fed.originate(item.type, item.body as never);
          done.push(key);
        }
      } catch (err) {
        log.warn('federation: could not sign the outbox into the log; it stays for the next try', { error: (err as Error).message });
      } finally {
        await engine.outboxDone(done).catch((err: Error) => log.warn('federation: could not clear the outbox', { error: err.message }));
      }
    });
    return draining;
  }

  /**
   * Tells the others where a task this hub decides waits (`pending` or `in_queue`), so that every
   * hub shows the status its decider shows. Batched every STATUS_EVERY_MS and only the latest
   * status: a task that waits a moment only is never logged as waiting (its assignment says more).
   * News, not state: a status lost in a crash is told at the task's next change.
   */
  function noteStatus(event: HubEvent): void {
    if (event.type !== 'task') return;
    const { task } = event;
    if (task.status === 'pending' || task.status === 'in_queue') {
      if (deciderOf(task) === self && task.kind === undefined) waitingNews.add(task.id);
    } else if (isTerminal(task.status)) {
      toldStatus.delete(task.id);
    }
  }

  async function tellStatuses(): Promise<void> {
    const fed = federation;
    if (fed === undefined || waitingNews.size === 0) return;
    const ids = [...waitingNews];
    waitingNews.clear();
    const tasks: MessageBody<'task.status'>['tasks'] = [];
    for (const id of ids) {
      const task = engine.getTask(id);
      if (task === undefined || (task.status !== 'pending' && task.status !== 'in_queue') || deciderOf(task) !== self) continue;
      if (toldStatus.get(id) !== `${task.round}:${task.status}`) tasks.push({ taskId: id, status: task.status, round: task.round });
    }
    for (let i = 0; i < tasks.length; i += STATUS_BATCH) {
      const batch = tasks.slice(i, i + STATUS_BATCH);
      try {
        await fed.originate('task.status', { tasks: batch });
        for (const t of batch) toldStatus.set(t.taskId, `${t.round}:${t.status}`);
      } catch (err) {
        log.debug('federation: task statuses were not logged', { tasks: batch.length, error: (err as Error).message });
      }
    }
  }

  function relay(envelope: Envelope): void {
    federation?.publish(envelope).catch((err: Error) => log.debug('federation: an agent message was not gossiped', { error: err.message }));
  }

  // ---- in -------------------------------------------------------------------------------------

  async function onMessage(opened: Opened, from: MessageSource): Promise<Verdict> {
    if (opened.nodeId === self) return 'ignore'; // this hub's own, relayed back
    switch (opened.type) {
      case 'agent.register':
      case 'agent.heartbeat':
        return engine.recordRemoteAgent(opened as Opened<'agent.register'> | Opened<'agent.heartbeat'>);
      case 'result':
        return engine.recordRemoteResult(opened as Opened<'result'>);
      case 'task.announce':
      case 'task.status':
      case 'assignment':
      case 'decision': {
        const [outcome] = await onEntries([{ opened, from }]);
        if (outcome instanceof Error) throw outcome;
        return outcome!;
      }
      default:
        return 'ignore';
    }
  }

  /**
   * Other hubs' log entries (a sync page, or one gossiped entry), applied in order in ONE engine
   * transaction (one store batch for a whole page). Each gets its verdict, or an error: not
   * applied (deferred: it depends on an entry still on its way), to be handed over again.
   */
  async function onEntries(items: ReadonlyArray<{ opened: Opened; from: MessageSource }>): Promise<Array<Verdict | Error>> {
    // Verdicts a claim voids are read from the loser's log first: a transaction cannot wait.
    const claims = await engine.transact((ctx) => items.map(({ opened }) => voidedBy(ctx.state, opened)));
    const voided = await Promise.all(claims.map(async (list) => new Map(await Promise.all(list.map(async ({ taskId, loser }) => [taskId, await voidedDecision(loser, taskId)] as const)))));
    const applied = await engine.transact((ctx) =>
      items.map(({ opened }, i): Applied | Error => {
        if (opened.nodeId === self) return 'ignore';
        try {
          return applyLogEntry(ctx, opened, { ...rules, voided: (taskId) => voided[i]?.get(taskId) });
        } catch (err) {
          return err instanceof Error ? err : new Error(String(err));
        }
      }),
    );
    if (applied.includes('retry')) resyncSoon();
    return applied.map((outcome, i) => {
      const { opened, from } = items[i]!;
      if (outcome === 'retry') return new EntryDeferredError(`${opened.type} ${opened.id.slice(0, 16)}… from ${opened.nodeId} (via ${from.via})`);
      if (outcome === 'reject') log.warn('federation: refused an entry', { type: opened.type, signer: opened.nodeId, peer: from.peerId });
      return outcome;
    });
  }

  /** One sync soon after a deferral (DEFERRED_RESYNC_MS), however many entries were deferred meanwhile. */
  function resyncSoon(): void {
    if (resync !== undefined || stopped) return;
    resync = setTimeout(
      () => {
        resync = undefined;
        if (!stopped) void federation?.syncNow().catch(() => undefined);
      },
      Math.min(DEFERRED_RESYNC_MS, Math.floor(settings.leaseMs / 4)),
    ).unref();
  }

  /** The loser's decision on the task, from its log: the verdict a claim voids, whose trust steps are taken back. */
  async function voidedDecision(loser: string, taskId: string): Promise<MessageBody<'decision'> | undefined> {
    if (store === undefined) return undefined;
    const found = await store.findLast(loser, (p) => p.type === 'decision' && (p.body as { taskId?: unknown } | undefined)?.taskId === taskId);
    if (found === undefined) {
      log.warn('federation: a voided verdict is not in its decider\'s log here; its trust steps stay', { task: taskId, decider: loser });
      return undefined;
    }
    return open(found, { verifier, expect: ['decision'] }).body;
  }

  // ---- liveness, quorum and takeover ---------------------------------------------------------

  /**
   * The federation's members, whose quorum this hub needs to decide (fence.ts federationMembers):
   * the allow list, or every hub whose log it holds or that is in its peer book, less those that
   * sent it forgeries. Never forgotten by silence.
   */
  function members(): string[] {
    if (allowNodes !== undefined) return federationMembers(self, [], new Set(), allowNodes);
    const fed = running().info();
    const known = new Set(Object.keys(fed.heads));
    const refused = new Set<string>();
    for (const p of fed.peers) {
      const id = nodeIdOfPeerId(p.peerId);
      if (id === null || !p.hub) continue;
      if (p.rejected > 0) refused.add(id);
      else known.add(id);
    }
    return federationMembers(self, known, refused);
  }

  function quorum(): boolean {
    return hasQuorum(members(), [self, ...liveHubs()]);
  }

  /**
   * The quorum fence (fence.ts rule 1), run right after each look at the peer book: out of a
   * quorum, this hub stops deciding at once (a lease before the others may take its tasks over);
   * back in one, it syncs first (to learn of any claim on its tasks), then decides again.
   */
  async function fence(): Promise<void> {
    if (fencing || stopped || !resumed) return;
    fencing = true;
    try {
      const action = fenceAction(engine.deciding, quorum());
      if (action === 'hold') {
        engine.holdDeciding();
        log.warn('federation: out of quorum, this hub stops deciding', { members: members().length, heard: liveHubs().length + 1 });
      } else if (action === 'resume') {
        await running().syncNow({ directory: true }).catch(() => undefined);
        if (stopped || !quorum()) return;
        decidingSince = clock();
        await engine.resumeDeciding();
        log.info('federation: back in quorum, deciding again');
      }
    } catch (err) {
      log.warn('federation: quorum check failed', { error: (err as Error).message });
    } finally {
      fencing = false;
    }
  }

  function observePeers(): void {
    const now = clock();
    for (const p of running().info().peers) {
      const nodeId = nodeIdOfPeerId(p.peerId);
      if (nodeId !== null) contacts.observe({ nodeId, connected: p.status === 'connected', lastSeen: p.lastSeen }, now);
    }
  }

  function liveHubs(): string[] {
    return running()
      .info()
      .peers.filter((p) => p.hub && p.status === 'connected')
      .flatMap((p) => nodeIdOfPeerId(p.peerId) ?? []);
  }

  /**
   * Takes over the tasks of deciders silent for a lease, when this hub is the one to do it
   * (takeover.ts orphans). It syncs first when there is any: the hubs it hears may hold a decision
   * of the silent decider that gossip did not bring here, and a task decided so is not taken.
   */
  async function takeOver(): Promise<void> {
    if (takingOver || stopped || !engine.deciding) return;
    takingOver = true;
    try {
      const find = () => {
        const now = clock();
        const live = liveHubs();
        return engine.transact((ctx) => orphans(ctx.state.tasks.values(), live, now, decidingSince, lease, engine.deciding, quorum()));
      };
      if ((await find()).length === 0) return;
      await running().syncNow().catch(() => undefined);
      if (stopped) return;
      const ids = await find();
      for (const id of ids) {
        if (await engine.adopt(id)) log.info('federation: took over a task whose decider fell silent', { task: id });
      }
    } catch (err) {
      log.warn('federation: takeover pass failed', { error: (err as Error).message });
    } finally {
      takingOver = false;
    }
  }

  /** A federated engine decides nothing until this hub has synced with a hub (or waited a lease for one), and holds a quorum. */
  async function resumeWhenSynced(known: boolean): Promise<void> {
    const deadline = clock() + settings.leaseMs;
    while (known && !stopped && clock() < deadline) {
      if (liveHubs().length > 0) {
        await running().syncNow({ directory: true }).catch(() => undefined);
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, RESUME_POLL_MS));
    }
    if (stopped) return;
    resumed = true;
    // Without a quorum it stays held: the fence resumes it once it hears one (after a sync).
    if (!quorum()) {
      log.warn('federation: synced, but out of quorum: not deciding yet', { members: members().length, heard: liveHubs().length + 1 });
      return;
    }
    decidingSince = clock();
    await engine.resumeDeciding();
    log.info('federation: deciding', { afterMs: clock() - startedAt });
  }

  return {
    async start() {
      const opened = await FederationLogStore.open(components.dataDir);
      store = opened;
      federation = createFederation(
        { store: opened, verifier, identity: components.identity, onMessage, onEntries, logger: log, clock },
        {
          listen: settings.listen,
          bootstrap: settings.bootstrap,
          syncIntervalMs: settings.syncIntervalMs,
          ...(settings.peerAllow === undefined || settings.peerAllow.length === 0 ? {} : { peerAllow: settings.peerAllow }),
          ...(settings.announce === undefined ? {} : { announce: settings.announce }),
        },
      );
      engine.attach({ drain, relay });
      unsubscribe = engine.subscribe(noteStatus);
      try {
        await federation.start();
      } catch (err) {
        federation = undefined;
        await opened.close();
        throw err;
      }
      startedAt = clock();
      void drain(); // what the last run committed and could not sign
      timers.push(
        setInterval(() => {
          observePeers();
          void fence();
        }, CONTACT_POLL_MS).unref(),
      );
      timers.push(setInterval(() => void tellStatuses(), STATUS_EVERY_MS).unref());
      const cutFile = process.env[CUT_FILE_ENV];
      if (cutFile !== undefined && cutFile !== '') {
        timers.push(
          setInterval(() => {
            federation?.isolate(existsSync(cutFile)).catch((err: Error) => log.warn('federation: could not apply the cut switch', { error: err.message }));
          }, CONTACT_POLL_MS).unref(),
        );
      }
      timers.push(setInterval(() => void takeOver(), Math.max(CONTACT_POLL_MS, Math.floor(settings.leaseMs / 4))).unref());
      const known = settings.bootstrap.length > 0 || (await opened.rememberedPeers()).length > 0;
      void resumeWhenSynced(known).catch((err: Error) => log.warn('federation: could not resume deciding', { error: err.message }));
    },

    async stop() {
      stopped = true;
      clearTimeout(resync);
      unsubscribe?.();
      for (const t of timers.splice(0)) clearInterval(t);
      await draining;
      await federation?.stop();
      federation = undefined;
      await Promise.all([store?.close(), verifier.close()]);
      store = undefined;
    },

    info() {
      const fed = running().info();
      return {
        peerId: fed.peerId,
        nodeId: fed.nodeId,
        multiaddrs: fed.multiaddrs,
        peers: fed.peers.map((p) => ({ ...p, nodeId: nodeIdOfPeerId(p.peerId) })),
        heads: fed.heads,
        leaseMs: settings.leaseMs,
        deciding: engine.deciding,
        outbox: engine.pendingOutbox().length,
      };
    },

    totals() {
      const fed = running().info();
      const hubs = new Set([self, ...Object.keys(fed.heads)]);
      for (const p of fed.peers) if (p.hub) hubs.add(nodeIdOfPeerId(p.peerId) ?? p.peerId);
      return { hubs: hubs.size, ...engine.federationNetwork() };
    },
  };
}

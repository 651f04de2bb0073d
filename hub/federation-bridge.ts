import { peerIdFromString } from '@libp2p/peer-id';
import type { KeyPair } from '../keys/keypair.ts';
import { Verifier } from '../keys/verifier.ts';
import type { Opened } from '../protocol/envelope.ts';
import type { Envelope } from '../protocol/messages.ts';
import { type CoreParams, isTerminal, type Task, validationPolicy } from '../src/core/index.ts';
import type { HubEngineControl } from './engine.ts';
import type { NetworkView } from './engine-types.ts';
import {
  createFederation,
  type Federation,
  type FederationLogger,
  FederationLogStore,
  type MessageSource,
  nodeIdOfPeer,
  type PeerView,
  type Verdict,
} from './federation/index.ts';
import { acceptDecider, type Applied, applyAnnounce, applyAssignment, applyDecision, assignmentReadiness } from './federated/apply.ts';
import { ContactBook } from './federated/contact.ts';
import { deciderOf } from './federated/decider.ts';
import { checkDecision } from './federated/decision-check.ts';
import { EntryDeferredError } from './federated/errors.ts';
import { judgeClaim, type LeaseView, shouldTakeOver } from './federated/takeover.ts';

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

/** How often the peer book is read into the contact book, ms. */
const CONTACT_POLL_MS = 200;
/** Until the first sync, how often the bridge looks for a connected hub, ms. */
const RESUME_POLL_MS = 100;

export function createFederationBridge(components: FederationBridgeComponents, settings: FederationSettings): FederationBridge {
  const { engine, logger: log } = components;
  const clock = components.clock ?? Date.now;
  const verifier = new Verifier();
  const policy = validationPolicy(components.params);
  const self = engine.identity.nodeId;
  const contacts = new ContactBook();
  const lease: LeaseView = { self, leaseMs: settings.leaseMs, contacts };
  const nodeIds = new Map<string, string | null>();
  const timers: NodeJS.Timeout[] = [];
  let store: FederationLogStore | undefined;
  let federation: Federation | undefined;
  let draining: Promise<void> = Promise.resolve();
  let startedAt = 0;
  let stopped = false;
  let takingOver = false;

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

  function relay(envelope: Envelope): void {
    federation?.publish(envelope).catch((err: Error) => log.debug('federation: an agent message was not gossiped', { error: err.message }));
  }

  // ---- in -------------------------------------------------------------------------------------

  async function onMessage(opened: Opened, from: MessageSource): Promise<Verdict> {
    if (opened.nodeId === self) return 'ignore'; // this hub's own, relayed back
    let applied: Applied;
    switch (opened.type) {
      case 'agent.register':
      case 'agent.heartbeat':
        return engine.recordRemoteAgent(opened as Opened<'agent.register'> | Opened<'agent.heartbeat'>);
      case 'result':
        return engine.recordRemoteResult(opened as Opened<'result'>);
      case 'task.announce':
        applied = await engine.transact((ctx) => applyAnnounce(ctx, opened as Opened<'task.announce'>, verifier));
        break;
      case 'assignment': {
        const { body } = opened as Opened<'assignment'>;
        applied = await engine.transact((ctx) => {
          const ready = assignmentReadiness(ctx, body);
          if (ready !== 'ready') return ready;
          const claim = judgeClaim(ctx.state.tasks.get(body.taskId) as Task, opened.nodeId, opened.ts, lease);
          if (claim === 'ignore' || claim === 'reject') return claim;
          if (claim === 'takeover') acceptDecider(ctx, body.taskId, opened.nodeId);
          return applyAssignment(ctx, body);
        });
        break;
      }
      case 'decision': {
        const { body } = opened as Opened<'decision'>;
        applied = await engine.transact((ctx) => {
          const task = ctx.state.tasks.get(body.taskId);
          if (task === undefined) return 'retry';
          const claim = judgeClaim(task, opened.nodeId, opened.ts, lease);
          if (claim === 'ignore' || claim === 'reject') return claim;
          const check = checkDecision({ task, body, assignment: (id) => ctx.state.assignments.get(id), verifier, params: ctx.params, policy });
          if (check.kind !== 'ok') {
            if (check.kind === 'reject') log.warn('federation: refused a decision', { from: opened.nodeId, reason: check.reason });
            return check.kind;
          }
          if (claim === 'takeover') acceptDecider(ctx, body.taskId, opened.nodeId);
          return applyDecision(ctx, body, check.results);
        });
        break;
      }
      default:
        return 'ignore';
    }
    if (applied === 'retry') throw new EntryDeferredError(`${opened.type} ${opened.id.slice(0, 16)}… from ${opened.nodeId} (via ${from.via})`);
    if (applied === 'reject') log.warn('federation: refused an entry', { type: opened.type, signer: opened.nodeId, peer: from.peerId });
    return applied;
  }

  // ---- liveness and takeover -----------------------------------------------------------------

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

  /** Takes over the tasks of deciders silent for a lease, when this hub is the one to do it. */
  async function takeOver(): Promise<void> {
    if (takingOver || stopped || !engine.deciding) return;
    takingOver = true;
    try {
      const now = clock();
      const live = liveHubs();
      const orphans = await engine.transact((ctx) => {
        const out: string[] = [];
        for (const task of ctx.state.tasks.values()) {
          // A private image needs credentials only its home holds: it waits for its home.
          if (isTerminal(task.status) || task.spec.privateRegistry === true) continue;
          if (shouldTakeOver(deciderOf(task), live, now, startedAt, lease)) out.push(task.id);
        }
        return out;
      });
      for (const id of orphans) {
        if (await engine.adopt(id)) log.info('federation: took over a task whose decider fell silent', { task: id });
      }
    } catch (err) {
      log.warn('federation: takeover pass failed', { error: (err as Error).message });
    } finally {
      takingOver = false;
    }
  }

  /** A federated engine decides nothing until this hub has synced with a hub (or waited a lease for one). */
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
    await engine.resumeDeciding();
    log.info('federation: deciding', { afterMs: clock() - startedAt });
  }

  return {
    async start() {
      const opened = await FederationLogStore.open(components.dataDir);
      store = opened;
      federation = createFederation(
        { store: opened, verifier, identity: components.identity, onMessage, logger: log, clock },
        {
          listen: settings.listen,
          bootstrap: settings.bootstrap,
          syncIntervalMs: settings.syncIntervalMs,
          ...(settings.peerAllow === undefined || settings.peerAllow.length === 0 ? {} : { peerAllow: settings.peerAllow }),
          ...(settings.announce === undefined ? {} : { announce: settings.announce }),
        },
      );
      engine.attach({ drain, relay });
      try {
        await federation.start();
      } catch (err) {
        federation = undefined;
        await opened.close();
        throw err;
      }
      startedAt = clock();
      void drain(); // what the last run committed and could not sign
      timers.push(setInterval(observePeers, CONTACT_POLL_MS).unref());
      timers.push(setInterval(() => void takeOver(), Math.max(CONTACT_POLL_MS, Math.floor(settings.leaseMs / 4))).unref());
      const known = settings.bootstrap.length > 0 || (await opened.rememberedPeers()).length > 0;
      void resumeWhenSynced(known).catch((err: Error) => log.warn('federation: could not resume deciding', { error: err.message }));
    },

    async stop() {
      stopped = true;
      for (const t of timers.splice(0)) clearInterval(t);
      await draining;
      await federation?.stop();
      federation = undefined;
      await store?.close();
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

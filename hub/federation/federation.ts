import { type Message as GossipMessage, type SubscriptionChangeData, TopicValidatorResult } from '@libp2p/gossipsub';
import type { MetricsRegister } from '@libp2p/gossipsub/metrics';
import type { AbortOptions, IdentifyResult, PeerId, PeerInfo } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { createSigner, type KeyPair, type Signer } from '../../keys/keypair.ts';
import type { Verifier } from '../../keys/verifier.ts';
import { type Opened, open, seal } from '../../protocol/envelope.ts';
import { DcloudError } from '../../protocol/errors.ts';
import type { Envelope, MessageBody } from '../../protocol/messages.ts';
import {
  FederationNotStartedError,
  FederationOptionsError,
  LogConflictError,
  MessageTooLargeError,
  NotLoggableError,
  NotOriginError,
  SyncProtocolError,
  SyncThrottledError,
  UnroutableTypeError,
} from './errors.ts';
import { encodeGossip, readGossip } from './gossip.ts';
import { libp2pKeyOf, publicKeyHexOfPeer } from './identity.ts';
import { type LogEntry, logEntryOf } from './log-entry.ts';
import type { FederationLogStore } from './log-store.ts';
import { createNode, type FederationNode } from './node.ts';
import { PeerBook, type PeerView } from './peer-book.ts';
import { type SyncDeps, type SyncReport, serveSync, syncFrom, syncProtocol } from './sync.ts';
import { DEFAULT_SYNC_LIMITS, type SyncLimits, SyncThrottle, type ThrottleCounts } from './throttle.ts';
import { ALL_TOPICS, HUB_TYPES, type Topic, topicOf } from './topics.ts';

/** What the engine says about a message handed to it. `reject` also penalises the gossip sender. */
export type Verdict = 'accept' | 'reject' | 'ignore';

export interface MessageSource {
  /** The peer it came from (the gossip relay that delivered it, or the peer synced with). */
  peerId: string;
  via: 'gossip' | 'sync';
}

/**
 * The engine's hook: called once per new, verified message (deduplicated by content id), before
 * it is archived, so a crash in between hands it over again: it must be idempotent by `opened.id`.
 * Gossip waits for it, so it should answer within tens of milliseconds.
 */
export type OnMessage = (opened: Opened, from: MessageSource) => Verdict | Promise<Verdict>;

export interface FederationLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

/**
 * The engine's hook for many log entries at once (a sync page), in log order: one verdict each, or
 * the error it failed with (that entry is not archived and is asked for again). Optional: without
 * it each entry goes through `onMessage`.
 */
export type OnEntries = (items: ReadonlyArray<{ opened: Opened; from: MessageSource }>) => Promise<ReadonlyArray<Verdict | Error>>;

export interface FederationComponents {
  /** The hub's log of its own and every other hub's entries (FederationLogStore.open(dataDir)); the caller closes it. */
  store: FederationLogStore;
  verifier: Verifier;
  /** The hub's key (hub.key): signs its entries and sync messages, and is its libp2p identity (identity.ts). */
  identity: KeyPair;
  onMessage: OnMessage;
  onEntries?: OnEntries;
  logger?: FederationLogger;
  /** ms since the epoch; injected by tests. */
  clock?: () => number;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
}

export interface FederationOptions {
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/4001`. */
  listen: string[];
  /** Other hubs' full multiaddrs (`…/p2p/<peer id>`), dialled at start and redialled when lost. */
  bootstrap: string[];
  /** When given, the only peers this hub talks to: connections from others are refused, their gossip rejected. */
  peerAllow?: string[];
  /** Addresses to tell peers instead of the listen addresses (behind NAT or a port mapping). */
  announce?: string[];
  /** Prefix of the private protocols: `<prefix>/kad/1.0.0`, `<prefix>/sync/1.0.0`. */
  protocolPrefix?: string;
  /** Cap on one gossip message (the envelope's JSON text), bytes. Larger log entries travel by sync only. */
  maxMessageBytes?: number;
  /** How old or future-dated a gossiped envelope may be, ms. */
  freshnessMs?: number;
  /**
   * Interval of the background sync with every connected hub, ms. Sync also runs on each
   * (re)connection and on a gap seen in gossip; this bounds how late anything gossip missed arrives.
   */
  syncIntervalMs?: number;
  /** gossipsub's heartbeat (mesh maintenance, IHAVE gossip), ms. */
  gossipHeartbeatMs?: number;
  /** What this hub serves one peer over the sync protocol (DEFAULT_SYNC_LIMITS). */
  syncLimits?: SyncLimits;
  /** Receives gossipsub's own metrics (e.g. RPC bytes sent and received). */
  gossipMetrics?: MetricsRegister;
}

export interface PublishOutcome {
  /** Content id of the envelope. */
  id: string;
  topic: Topic;
  /** Peers the gossip was handed to (0 when gossip was skipped or nobody listens yet: sync delivers it later). */
  recipients: number;
  /** False when the entry was too large for gossip and travels by sync only. */
  gossiped: boolean;
  /** Its seq, when it is one of this hub's log entries. */
  seq?: number;
}

export interface FederationInfo {
  peerId: string;
  nodeId: string;
  /** Full addresses (with /p2p/<peer id>), ready for another hub's --bootstrap. */
  multiaddrs: string[];
  peers: PeerView[];
  /** Contiguous head of every origin's log held here. */
  heads: Record<string, number>;
  /** Sync requests served to each peer, and how many were held back or refused (throttle.ts). */
  syncServed: Record<string, ThrottleCounts>;
}

export type LoggedType = 'task.announce' | 'task.status' | 'decision' | 'assignment';
type Unnumbered<T extends LoggedType> = Omit<MessageBody<T>, 'seq'>;

export interface Federation {
  readonly peerId: string;
  readonly nodeId: string;
  start(options?: AbortOptions): Promise<void>;
  stop(options?: AbortOptions): Promise<void>;
  /**
   * Signs a message about this hub's own work with the next seq of its log, archives it, then
   * gossips it. The way the engine announces tasks and publishes decisions and assignments.
   */
  originate<T extends LoggedType>(type: T, body: Unnumbered<T>, options?: AbortOptions): Promise<PublishOutcome & { opened: Opened<T> }>;
  /**
   * Gossips a signed envelope on its type's topic: an agent's heartbeat, registration or result the
   * hub received, or one of its own log entries sealed elsewhere (archived first).
   */
  publish(envelope: Envelope, options?: AbortOptions): Promise<PublishOutcome>;
  /**
   * Cuts this hub off from every peer (true: connections closed, new ones refused both ways) or
   * lets it back (false: every peer redialled at once). The hub itself goes on: an operator's
   * switch, and how the tests cut a live hub off (a partition). Resolves once the cut is made.
   */
  isolate(on: boolean): Promise<void>;
  /** Runs a sync session with every connected hub now; resolves when all are done. */
  syncNow(options?: AbortOptions & { directory?: boolean }): Promise<SyncReport>;
  info(): FederationInfo;
}

const DEFAULTS = {
  protocolPrefix: '/dcloud',
  maxMessageBytes: 2 * 1024 * 1024,
  freshnessMs: 120_000,
  syncIntervalMs: 30_000,
  gossipHeartbeatMs: 1000,
};
const DIAL_TICK_MS = 250;
const DIAL_TIMEOUT_MS = 10_000;
const SEEN_IDS = 100_000;
/** Every how many background syncs the directory is asked for too (it is on every connection anyway). */
const DIRECTORY_EVERY = 10;
/**
 * After a peer's subscription arrives, how long until it is asked what it published meanwhile: it
 * may have published before it learnt of ours, and its gossip then did not come here.
 */
const SUBSCRIPTION_SETTLE_MS = 1000;

const NO_LOG: FederationLogger = { info() {}, warn() {}, debug() {} };

const P2P = 421; // multiaddr protocol code of /p2p/<peer id>

/** An address without its /p2p/ part: the peer book keys addresses by peer already. */
function bare(addr: Multiaddr): string {
  return addr.decapsulateCode(P2P).toString();
}

function positive(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new FederationOptionsError(`${name} must be a positive integer, not ${value}`);
  return value;
}

function parseAddrs(what: string, list: readonly string[]): Multiaddr[] {
  return list.map((text) => {
    try {
      return multiaddr(text);
    } catch (err) {
      throw new FederationOptionsError(`${what} address ${JSON.stringify(text)} is not a multiaddr`, { cause: err });
    }
  });
}

function parsePeerId(what: string, text: string): PeerId {
  try {
    return peerIdFromString(text);
  } catch (err) {
    throw new FederationOptionsError(`${what} ${JSON.stringify(text)} is not a peer id`, { cause: err });
  }
}

function bootstrapPeer(addr: Multiaddr): PeerId {
  const id = addr.getComponents().findLast((c) => c.code === P2P)?.value;
  if (id === undefined) throw new FederationOptionsError(`bootstrap address ${addr.toString()} has no /p2p/<peer id>: without it the peer cannot be authenticated`);
  return parsePeerId('bootstrap peer id', id);
}

/**
 * The federation transport: one libp2p node per hub (TCP, Noise, Yamux; identify, ping, gossipsub,
 * kad-dht), topic validators that verify every message alone, a per-origin log kept in LevelDB,
 * and anti-entropy sync so gossip is never the only copy. See docs/FEDERATION.md.
 */
export function createFederation(components: FederationComponents, options: FederationOptions): Federation {
  const settings = {
    protocolPrefix: options.protocolPrefix ?? DEFAULTS.protocolPrefix,
    maxMessageBytes: positive('maxMessageBytes', options.maxMessageBytes ?? DEFAULTS.maxMessageBytes),
    freshnessMs: positive('freshnessMs', options.freshnessMs ?? DEFAULTS.freshnessMs),
    syncIntervalMs: positive('syncIntervalMs', options.syncIntervalMs ?? DEFAULTS.syncIntervalMs),
    gossipHeartbeatMs: positive('gossipHeartbeatMs', options.gossipHeartbeatMs ?? DEFAULTS.gossipHeartbeatMs),
  };
  if (!/^(\/[A-Za-z0-9._-]+)+$/.test(settings.protocolPrefix)) throw new FederationOptionsError(`protocol prefix ${JSON.stringify(settings.protocolPrefix)} is not of the form /name`);
  const { store, verifier } = components;
  const log = components.logger ?? NO_LOG;
  const clock = components.clock ?? Date.now;
  const random = components.random ?? Math.random;
  const signer: Signer = createSigner(components.identity);
  const selfKeyHex = signer.publicKeyHex;
  const listen = parseAddrs('listen', options.listen);
  const announce = parseAddrs('announce', options.announce ?? []);
  const bootstrap = parseAddrs('bootstrap', options.bootstrap).map((addr) => ({ addr, peerId: bootstrapPeer(addr) }));
  const allow = options.peerAllow === undefined ? undefined : new Set(options.peerAllow.map((p) => parsePeerId('peerAllow entry', p).toString()));
  let isolated = false;
  const member = (peerId: string): boolean => allow === undefined || allow.has(peerId);
  const allowed = (peerId: string): boolean => !isolated && member(peerId);
  const SYNC = syncProtocol(settings.protocolPrefix);
  const book = new PeerBook();
  const seen = new Set<string>();
  const throttle = new SyncThrottle(options.syncLimits ?? DEFAULT_SYNC_LIMITS);
  const syncDeps: SyncDeps = { store, signer, verifier, freshnessMs: settings.freshnessMs, now: clock, throttle };

  let node: FederationNode | undefined;
  let selfPeerId = '';
  let running: AbortController | undefined;
  const timers: NodeJS.Timeout[] = [];
  const sessions = new Map<string, { again: boolean; directory: boolean; done: Promise<SyncReport> }>();

  function remember(id: string): void {
    seen.add(id);
    if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value!);
  }

  function started(): FederationNode {
    if (node === undefined || running === undefined) throw new FederationNotStartedError();
    return node;
  }

  /** Hands a new message to the engine and returns its verdict; undefined if it was already handed over. Throws what the engine throws. */
  async function deliver(opened: Opened, from: MessageSource): Promise<Verdict | undefined> {
    if (seen.has(opened.id)) return undefined;
    remember(opened.id);
    try {
      return await components.onMessage(opened, from);
    } catch (err) {
      seen.delete(opened.id); // let a later copy try again
      throw err;
    }
  }

  /** Archives an entry; an equivocating origin keeps its first entry and is reported. */
  async function archive(entry: LogEntry, from: string): Promise<void> {
    const outcome = await store.append(entry);
    if (outcome === 'conflict') log.warn('federation: an origin signed two entries with one seq; kept the first', { origin: entry.origin, seq: entry.seq, from });
  }

  // ---- gossip ---------------------------------------------------------------------------------

  async function validate(source: PeerId, msg: GossipMessage): Promise<TopicValidatorResult> {
    const sourceId = source.toString();
    // What was in flight when this hub cut itself off is nobody's fault: no penalty.
    if (isolated) return TopicValidatorResult.Ignore;
    const refuse = (reason: string): TopicValidatorResult => {
      book.rejected(sourceId);
      log.debug('federation: gossip rejected', { from: sourceId, topic: msg.topic, reason });
      return TopicValidatorResult.Reject;
    };
    if (!allowed(sourceId)) return refuse('the relay is not a member of this federation');
    if (msg.type !== 'signed') return refuse('unsigned gossip');
    // A member relayed an outsider's message: not delivered, not forwarded, the member not blamed.
    if (!allowed(msg.from.toString())) return TopicValidatorResult.Ignore;
    const reading = readGossip(msg.topic, msg.data, publicKeyHexOfPeer(msg.from), {
      verifier,
      maxMessageBytes: settings.maxMessageBytes,
      freshnessMs: settings.freshnessMs,
      now: clock(),
    });
    if (!reading.ok) return reading.result === 'reject' ? refuse(reading.reason) : TopicValidatorResult.Ignore;
    const { opened } = reading;
    let entry: LogEntry | undefined;
    if (HUB_TYPES.has(opened.type)) {
      try {
        entry = logEntryOf(opened);
      } catch (err) {
        if (err instanceof NotLoggableError) return refuse(err.message);
        throw err;
      }
      if (await store.has(entry.id)) {
        remember(entry.id);
        return TopicValidatorResult.Ignore;
      }
    }
    let verdict: Verdict | undefined;
    try {
      verdict = await deliver(opened, { peerId: sourceId, via: 'gossip' });
    } catch (err) {
      log.warn('federation: the engine failed on a gossiped message', { id: opened.id, type: opened.type, error: (err as Error).message });
      return TopicValidatorResult.Ignore;
    }
    if (verdict === undefined) return TopicValidatorResult.Ignore;
    if (entry !== undefined) {
      const gap = entry.seq > store.headOf(entry.origin) + 1;
      await archive(entry, sourceId);
      // Something before it never arrived: ask the peer that has this one.
      if (gap) void requestSync(source, false);
    }
    if (verdict === 'reject') return refuse(`the engine refused ${opened.type} ${opened.id.slice(0, 16)}…`);
    return verdict === 'accept' ? TopicValidatorResult.Accept : TopicValidatorResult.Ignore;
  }

  // ---- sync -----------------------------------------------------------------------------------

  /**
   * A verified page from a sync session, in log order: each entry handed to the engine, then the
   * page archived in one batch. An entry the engine fails on is not archived: the head stays before
   * it and the next session asks for it again. The peer is not to blame.
   */
  async function sinkPage(page: ReadonlyArray<{ opened: Opened; entry: LogEntry }>, peerId: string): Promise<number> {
    const from: MessageSource = { peerId, via: 'sync' };
    const handed: LogEntry[] = [];
    const failed = (entry: LogEntry, err: unknown): void => {
      seen.delete(entry.id); // let a later copy try again
      log.warn('federation: the engine failed on a synced entry; it will be asked for again', { id: entry.id, origin: entry.origin, seq: entry.seq, error: (err as Error).message });
    };
    if (components.onEntries === undefined) {
      for (const { opened, entry } of page) {
        try {
          await deliver(opened, from);
          handed.push(entry);
        } catch (err) {
          failed(entry, err);
        }
      }
    } else {
      // Already handed over (by gossip meanwhile): archived, not handed over again.
      const fresh = page.filter(({ opened }) => !seen.has(opened.id));
      for (const { opened } of fresh) remember(opened.id);
      let outcomes: ReadonlyArray<Verdict | Error>;
      try {
        outcomes = await components.onEntries(fresh.map(({ opened }) => ({ opened, from })));
      } catch (err) {
        outcomes = fresh.map(() => (err instanceof Error ? err : new Error(String(err))));
      }
      const failures = new Set<string>();
      fresh.forEach(({ entry }, i) => {
        const outcome = outcomes[i];
        if (outcome instanceof Error) {
          failures.add(entry.id);
          failed(entry, outcome);
        }
      });
      for (const { entry } of page) if (!failures.has(entry.id)) handed.push(entry);
    }
    const outcomes = await store.appendMany(handed);
    outcomes.forEach((outcome, i) => {
      if (outcome === 'conflict') log.warn('federation: an origin signed two entries with one seq; kept the first', { origin: handed[i]!.origin, seq: handed[i]!.seq, from: peerId });
    });
    return outcomes.filter((o) => o === 'appended').length;
  }

  /** One session per peer at a time; a request during a session runs one more afterwards. */
  function requestSync(peer: PeerId, directory: boolean): Promise<SyncReport> {
    const key = peer.toString();
    const current = sessions.get(key);
    if (current !== undefined) {
      current.again = true;
      current.directory ||= directory;
      return current.done;
    }
    const state = { again: false, directory, done: Promise.resolve({ received: 0, origins: 0 }) };
    state.done = (async () => {
      const total: SyncReport = { received: 0, origins: 0 };
      try {
        do {
          const signal = running?.signal;
          if (signal === undefined || signal.aborted) break;
          const withDirectory = state.directory;
          state.again = false;
          state.directory = false;
          try {
            const report = await syncFrom(
              (p, protocol, o) => started().dialProtocol(p, protocol, o),
              SYNC,
              peer,
              syncDeps,
              (page) => sinkPage(page, key),
              { directory: withDirectory, signal },
            );
            total.received += report.received;
            total.origins = Math.max(total.origins, report.origins);
            if (report.received > 0) log.info('federation: caught up from peer', { peer: key, received: report.received });
          } catch (err) {
            if (signal.aborted) break;
            if (err instanceof SyncProtocolError) {
              book.rejected(key);
              log.warn('federation: a peer broke the sync protocol', { peer: key, error: err.message });
            } else {
              log.debug('federation: sync session interrupted', { peer: key, error: (err as Error).message });
            }
          }
        } while (state.again);
      } finally {
        sessions.delete(key);
      }
      return total;
    })();
    sessions.set(key, state);
    return state.done;
  }

  // ---- peers ----------------------------------------------------------------------------------

  function dialDue(): void {
    const n = node;
    const signal = running?.signal;
    if (n === undefined || signal === undefined || signal.aborted) return;
    for (const id of book.due(clock())) {
      if (id === selfPeerId) continue;
      const peerId = peerIdFromString(id);
      book.dialStarted(id);
      const addrs = book.addrsOf(id).map((a) => multiaddr(a));
      void (async () => {
        if (addrs.length > 0) await n.peerStore.merge(peerId, { multiaddrs: addrs });
        await n.dial(peerId, { signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) });
      })().catch((err: Error) => {
        book.dialFailed(id, clock(), random());
        log.debug('federation: dial failed', { peer: id, error: err.message });
      });
    }
  }

  function onDiscovery(event: CustomEvent<PeerInfo>): void {
    const id = event.detail.id.toString();
    if (id === selfPeerId || !allowed(id)) return;
    book.learn(id, event.detail.multiaddrs.map(bare), clock());
  }

  function onConnect(event: CustomEvent<PeerId>): void {
    const id = event.detail.toString();
    const outbound = node?.getConnections(event.detail).find((c) => c.direction === 'outbound');
    book.connected(id, outbound === undefined ? undefined : bare(outbound.remoteAddr), clock());
  }

  function onDisconnect(event: CustomEvent<PeerId>): void {
    book.disconnected(event.detail.toString(), clock(), random());
  }

  function onIdentify(event: CustomEvent<IdentifyResult>): void {
    const { peerId, protocols, listenAddrs } = event.detail;
    if (!protocols.includes(SYNC) || !allowed(peerId.toString())) return;
    const id = peerId.toString();
    const addrs = listenAddrs.map(bare);
    book.learn(id, addrs, clock());
    book.markHub(id);
    store.rememberPeer(id, addrs).catch((err: Error) => log.warn('federation: could not remember a peer', { peer: id, error: err.message }));
    void requestSync(peerId, true);
  }

  function onSubscriptionChange(event: CustomEvent<SubscriptionChangeData>): void {
    const { peerId, subscriptions } = event.detail;
    const id = peerId.toString();
    if (!subscriptions.some((s) => s.subscribe)) return;
    const timer = setTimeout(() => {
      timers.splice(timers.indexOf(timer), 1);
      if (book.isHub(id) && book.isConnected(id)) void requestSync(peerId, false);
    }, SUBSCRIPTION_SETTLE_MS).unref();
    timers.push(timer);
  }

  // ---- the service ----------------------------------------------------------------------------

  const federation: Federation = {
    get peerId() {
      return selfPeerId;
    },
    nodeId: signer.nodeId,

    async start(opts: AbortOptions = {}) {
      if (node !== undefined) return;
      opts.signal?.throwIfAborted();
      const privateKey = await libp2pKeyOf(components.identity);
      const created = await createNode({
        privateKey,
        listen,
        announce,
        allowed,
        protocolPrefix: settings.protocolPrefix,
        maxMessageBytes: settings.maxMessageBytes,
        gossipHeartbeatMs: settings.gossipHeartbeatMs,
        gossipMetrics: options.gossipMetrics,
      });
      node = created;
      selfPeerId = created.peerId.toString();
      running = new AbortController();
      const signal = running.signal;
      try {
        for (const topic of ALL_TOPICS) created.services.pubsub.topicValidators.set(topic, validate);
        await created.handle(SYNC, (stream, connection) => {
          const peer = connection.remotePeer.toString();
          if (!allowed(peer)) {
            stream.abort(new Error('not a member of this federation'));
            return;
          }
          serveSync(stream, connection, syncDeps, signal).catch((err: Error) => {
            if (signal.aborted) return;
            if (err instanceof SyncThrottledError) {
              log.warn('federation: throttled a peer\'s sync', { peer, error: err.message });
              return;
            }
            // A bad request is the peer's fault; a dropped stream is nobody's.
            if (err instanceof DcloudError) book.rejected(peer);
            log.debug('federation: a sync session served ended early', { peer, error: err.message });
          });
        });
        created.addEventListener('peer:discovery', onDiscovery);
        created.addEventListener('peer:connect', onConnect);
        created.addEventListener('peer:disconnect', onDisconnect);
        created.addEventListener('peer:identify', onIdentify);
        created.services.pubsub.addEventListener('subscription-change', onSubscriptionChange);
        await created.start();
        for (const topic of ALL_TOPICS) created.services.pubsub.subscribe(topic);
        opts.signal?.throwIfAborted();
        const now = clock();
        for (const { addr, peerId } of bootstrap) if (peerId.toString() !== selfPeerId) book.learn(peerId.toString(), [bare(addr)], now, { bootstrap: true });
        for (const [id, addrs] of await store.rememberedPeers()) if (id !== selfPeerId && allowed(id)) book.learn(id, addrs, now, { bootstrap: true });
        dialDue();
        timers.push(setInterval(dialDue, DIAL_TICK_MS).unref());
        let round = 0;
        timers.push(
          setInterval(() => {
            void federation.syncNow({ directory: ++round % DIRECTORY_EVERY === 0 }).catch(() => undefined);
            throttle.prune(clock());
          }, settings.syncIntervalMs).unref(),
        );
        log.info('federation: started', { peerId: selfPeerId, addrs: created.getMultiaddrs().map(String) });
      } catch (err) {
        await federation.stop();
        throw err;
      }
    },

    async stop(opts: AbortOptions = {}) {
      const n = node;
      if (n === undefined) return;
      running?.abort(new FederationNotStartedError());
      for (const t of timers.splice(0)) clearTimeout(t);
      await Promise.allSettled([...sessions.values()].map((s) => s.done));
      const stopping = n.stop();
      if (opts.signal !== undefined) {
        const signal = opts.signal;
        await Promise.race([stopping, new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))]);
      } else {
        await stopping;
      }
      node = undefined;
      running = undefined;
    },

    async originate<T extends LoggedType>(type: T, body: Unnumbered<T>, opts: AbortOptions = {}) {
      started();
      opts.signal?.throwIfAborted();
      let opened: Opened<T> | undefined;
      const entry = await store.appendNext(signer.nodeId, (seq) => {
        opened = open<T>(seal(type, { ...body, seq } as MessageBody<T>, signer), { verifier, expect: [type] });
        return logEntryOf(opened);
      });
      remember(entry.id);
      const outcome = await gossip(entry.envelope, type, entry.id, entry.seq);
      return { ...outcome, opened: opened! };
    },

    async publish(envelope: Envelope, opts: AbortOptions = {}) {
      started();
      opts.signal?.throwIfAborted();
      const opened = open(envelope, { verifier, now: clock(), maxAgeMs: settings.freshnessMs, maxSkewMs: settings.freshnessMs });
      if (topicOf(opened.type) === undefined) throw new UnroutableTypeError(opened.type);
      let seq: number | undefined;
      if (HUB_TYPES.has(opened.type)) {
        if (opened.signer !== selfKeyHex) throw new NotOriginError(opened.type, opened.signer);
        const entry = logEntryOf(opened);
        const outcome = await store.append(entry, { own: true });
        if (outcome === 'conflict') throw new LogConflictError(entry.origin, entry.seq);
        seq = entry.seq;
      }
      remember(opened.id);
      return gossip(envelope, opened.type, opened.id, seq);
    },

    async isolate(on: boolean) {
      const n = started();
      if (on === isolated) return;
      isolated = on;
      if (on) {
        await Promise.allSettled(n.getConnections().map((c) => c.close()));
        log.warn('federation: cut off from every peer');
      } else {
        book.redialAll(clock());
        dialDue();
        log.info('federation: the cut is lifted, redialling');
      }
    },

    async syncNow(opts: AbortOptions & { directory?: boolean } = {}) {
      started();
      opts.signal?.throwIfAborted();
      const hubs = book.view().filter((p) => p.hub && p.status === 'connected');
      const reports = await Promise.all(hubs.map((p) => requestSync(peerIdFromString(p.peerId), opts.directory ?? true)));
      return reports.reduce((a, r) => ({ received: a.received + r.received, origins: Math.max(a.origins, r.origins) }), { received: 0, origins: 0 });
    },

    info() {
      return {
        peerId: selfPeerId,
        nodeId: signer.nodeId,
        multiaddrs: node === undefined ? [] : node.getMultiaddrs().map(String),
        peers: book.view(),
        heads: store.heads(),
        syncServed: throttle.counts(),
      };
    },
  };
  return federation;

  async function gossip(envelope: Envelope, type: Opened['type'], id: string, seq: number | undefined): Promise<PublishOutcome> {
    const topic = topicOf(type)!;
    const data = encodeGossip(envelope);
    const base = { id, topic, ...(seq === undefined ? {} : { seq }) };
    if (data.byteLength > settings.maxMessageBytes) {
      if (seq !== undefined) return { ...base, recipients: 0, gossiped: false };
      throw new MessageTooLargeError(data.byteLength, settings.maxMessageBytes);
    }
    const result = await started().services.pubsub.publish(topic, data);
    return { ...base, recipients: result.recipients.length, gossiped: true };
  }
}

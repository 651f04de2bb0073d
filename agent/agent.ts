import { hostname } from 'node:os';
import type { AgentView, WorkGrant } from '../hub/engine-types.ts';
import { nodeIdOf, type Signer } from '../keys/keypair.ts';
import { Verifier } from '../keys/verifier.ts';
import { open, type Opened, seal } from '../protocol/envelope.ts';
import { DcloudError, EnvelopeError } from '../protocol/errors.ts';
import type { Resources } from '../protocol/messages.ts';
import { failureReport, type ResultReport, restartedReport, resultReport } from './report.ts';
import { type BackoffPolicy, DEFAULT_BACKOFF, backoffDelay } from '../src/core/backoff.ts';
import { addResources, NO_RESOURCES } from '../src/core/resources.ts';
import type { Executor } from './executor.ts';
import { createHubClient, type HubClient, HubRejectedError, isTransient, normaliseHubUrl, type RegistrationPow } from './hub-client.ts';
import type { AgentState, FinishedEntry, Journal } from './journal.ts';

/**
 * The volunteer's agent: registers with each of its hubs, sends heartbeats, asks for work when it
 * has room, runs what it is given through the executor, and delivers a signed result for every
 * assignment it accepted, exactly once, across hub outages and its own crashes (agent/journal.ts).
 *
 * It trusts a hub only to hand it genuine work: an assignment must carry the signature of the
 * key that hub showed at first contact (pinned in the journal) and name this agent, or it is
 * dropped. Per hub it keeps its own registration, trust and outbox, so one broken hub never
 * stalls the others.
 */

export const AgentErrorCodes = {
  HUB_KEY_CHANGED: 'HUB_KEY_CHANGED',
  HUB_IDENTITY_MISMATCH: 'HUB_IDENTITY_MISMATCH',
  NOT_STARTED: 'AGENT_NOT_STARTED',
  UNKNOWN_HUB: 'AGENT_UNKNOWN_HUB',
} as const;

/** The hub at this URL now signs with another key than the one pinned at first contact. */
export class HubKeyChangedError extends DcloudError {
  constructor(url: string, pinned: string, shown: string) {
    super(
      AgentErrorCodes.HUB_KEY_CHANGED,
      `hub ${url} now shows key ${shown.slice(0, 16)}… but ${pinned.slice(0, 16)}… was pinned at first contact; refusing its work (remove it from the agent's state.json to trust the new key)`,
      502,
    );
    this.name = 'HubKeyChangedError';
  }
}

/** GET /v1/hub named an id that is not the id of the key it showed. */
export class HubIdentityMismatchError extends DcloudError {
  constructor(url: string) {
    super(AgentErrorCodes.HUB_IDENTITY_MISMATCH, `hub ${url} claims an id that does not belong to its public key`, 502);
    this.name = 'HubIdentityMismatchError';
  }
}

export class AgentNotStartedError extends DcloudError {
  constructor() {
    super(AgentErrorCodes.NOT_STARTED, 'the agent is not started', 503);
    this.name = 'AgentNotStartedError';
  }
}

export class UnknownHubError extends DcloudError {
  constructor(url: string) {
    super(AgentErrorCodes.UNKNOWN_HUB, `this agent does not serve hub ${url}`, 404);
    this.name = 'UnknownHubError';
  }
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Total and free capacity as the owner allows it (capped), given what our own tasks hold. */
export interface ResourceReadings {
  read(inUse: Resources): { total: Resources; free: Resources };
}

export interface AgentComponents {
  signer: Signer;
  executor: Executor;
  resources: ResourceReadings;
  journal: Journal;
  logger: Logger;
  /** Removes the containers a previous run of this agent left behind; returns how many. */
  cleanupOrphans(options: { signal?: AbortSignal }): Promise<number>;
  /** ms since the epoch. */
  now?: () => number;
  /** Uniform in [0, 1): backoff jitter. */
  random?: () => number;
}

export interface AgentOptions {
  /** Hub base URLs. */
  hubs: readonly string[];
  /** Shown on the hubs; defaults to the stored name, then the host name. */
  name?: string;
  heartbeatIntervalMs?: number;
  /** How long to wait before asking again after a hub had nothing for us. */
  pollIntervalMs?: number;
  /** Assignments run at the same time, over all hubs. */
  maxConcurrent?: number;
  backoff?: BackoffPolicy;
  /** When the owner stops the agent: kill the running task (true) or let it finish (false). */
  killOnStop?: boolean;
  /** Ask for work as soon as started (default), or wait for startWork(). */
  autoStart?: boolean;
  /** Per request to a hub, ms. */
  requestTimeoutMs?: number;
  software?: string;
  /** Caps the owner set, shown in the status. */
  caps?: Partial<Resources>;
}

export interface TaskRun {
  hub: string;
  assignmentId: string;
  taskId: string;
  image: string;
  command: string[];
  /** What the task asked for, held while it runs. */
  cpu: number;
  ramGb: number;
  startedAt: number;
}

export interface FinishedRun extends TaskRun {
  finishedAt: number;
  outcome: 'ok' | 'error';
  exitCode: number | null;
  error?: string;
  /** True once the hub acknowledged the result. */
  delivered: boolean;
}

export interface HubStatus {
  url: string;
  hubId?: string;
  registered: boolean;
  /** Our trust on that hub, from its last answer. */
  trust?: number;
  active?: boolean;
  lastHeartbeatAt?: number;
  /** Results finished and not yet acknowledged by this hub. */
  pendingResults: number;
  /** The last thing that went wrong talking to it, cleared by the next success. */
  error?: { code: string; message: string; at: number };
}

export interface AgentStatus {
  nodeId: string;
  publicKey: string;
  name: string;
  software: string;
  /** Asking for work (started by the owner), or not. */
  working: boolean;
  hubs: HubStatus[];
  running: TaskRun[];
  last: FinishedRun | null;
  resources: { total: Resources; free: Resources; caps: Partial<Resources> };
}

export interface Agent {
  readonly nodeId: string;
  /** The agent's identity, which also signs its owner's own task submissions. */
  readonly signer: Signer;
  /** Recovers the journal, removes orphan containers, registers with every hub. */
  start(): Promise<void>;
  /** Stops everything; a running task is killed and reported as failed. */
  stop(): Promise<void>;
  /** Starts asking for work and sending heartbeats. */
  startWork(): void;
  /** Stops asking for work and sending heartbeats (so hubs mark us inactive). */
  stopWork(options?: { kill?: boolean }): Promise<void>;
  /** Sets the name and (re-)registers with every hub. */
  register(name?: string, options?: { signal?: AbortSignal }): Promise<HubStatus[]>;
  status(): AgentStatus;
  /** The client of one of our hubs (the first by default), for the owner's own submissions. */
  hub(url?: string): HubClient;
}

interface Session {
  url: string;
  client: HubClient;
  /** Serves this hub (configured), or only owes it results from an earlier run. */
  serves: boolean;
  registered: boolean;
  keyRefused: boolean;
  agent?: AgentView;
  lastHeartbeatAt?: number;
  error?: { code: string; message: string; at: number };
  outbox: Map<string, FinishedEntry>;
  outboxWake: Wakeup;
  heartbeatWake: Wakeup;
  /** Woken when a registration succeeds. */
  registeredWake: Wakeup;
}

/** Wakes whoever waits in pause(); a wake with nobody waiting is dropped, so check state first. */
class Wakeup {
  private listeners = new Set<() => void>();
  wake(): void {
    const all = [...this.listeners];
    this.listeners.clear();
    for (const listener of all) listener();
  }
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Waits `ms`, or until woken; rejects with the signal's reason when it aborts. */
function pause(ms: number, signal: AbortSignal, wake?: Wakeup): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const finish = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      unsubscribe?.();
    };
    const onAbort = (): void => {
      finish();
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      finish();
      resolve();
    }, Math.min(ms, 2 ** 31 - 1));
    signal.addEventListener('abort', onAbort, { once: true });
    const unsubscribe = wake?.subscribe(() => {
      finish();
      resolve();
    });
  });
}

const FOREVER = 2 ** 31 - 1;
/** How long stop() waits for the results of the last moments to reach their hubs. */
const FLUSH_ON_STOP_MS = 2_000;
/** Assignments finished recently, remembered so a hub that hands one out twice does not get it run twice. */
const RECENT_ASSIGNMENTS = 1024;

export function createAgent(components: AgentComponents, options: AgentOptions): Agent {
  const { signer, executor, resources, journal, logger } = components;
  const now = components.now ?? Date.now;
  const random = components.random ?? Math.random;
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 30_000;
  const pollIntervalMs = options.pollIntervalMs ?? 2_000;
  const maxConcurrent = options.maxConcurrent ?? 1;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const software = options.software ?? 'dcloud-agent';
  const verifier = new Verifier({ maxKeys: 64 });
  const nodeId = signer.nodeId;

  let state: AgentState = { version: 1, hubs: {} };
  let name = options.name ?? hostname().slice(0, 64);
  const sessions = new Map<string, Session>();
  let lifecycle: AbortController | undefined;
  let work: AbortController | undefined;
  /** Kills running tasks when aborted; replaced after each use. */
  let killer = new AbortController();
  const running = new Map<string, TaskRun>();
  const tasksDone = new Set<Promise<void>>();
  let reserved = 0;
  const slotFreed = new Wakeup();
  const recent = new Set<string>();
  let last: FinishedRun | null = null;
  const loops = new Set<Promise<void>>();

  /** Capacity now; what our running tasks hold counts against the owner's caps. */
  function reading(): { total: Resources; free: Resources } {
    let inUse = NO_RESOURCES;
    for (const run of running.values()) inUse = addResources(inUse, { cpu: run.cpu, ramGb: run.ramGb });
    return resources.read(inUse);
  }

  function sessionFor(url: string, serves: boolean): Session {
    const client = createHubClient(url, options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs });
    let session = sessions.get(client.url);
    if (session === undefined) {
      session = {
        url: client.url,
        client,
        serves,
        registered: false,
        keyRefused: false,
        outbox: new Map(),
        outboxWake: new Wakeup(),
        heartbeatWake: new Wakeup(),
        registeredWake: new Wakeup(),
      };
      sessions.set(client.url, session);
    }
    session.serves ||= serves;
    return session;
  }

  function failed(session: Session, err: unknown, what: string): void {
    const code = err instanceof DcloudError ? err.code : 'AGENT_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    session.error = { code, message, at: now() };
    logger.warn(`${what} failed`, { hub: session.url, code, error: message });
  }

  function succeeded(session: Session): void {
    delete session.error;
    // The hub answers again: results waiting out a backoff need not wait any longer.
    if (session.outbox.size > 0) session.outboxWake.wake();
  }

  function spawn(loop: () => Promise<void>): void {
    const promise = loop().catch((err: unknown) => {
      if (isAbort(err)) return;
      logger.error('agent loop crashed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    });
    loops.add(promise);
    void promise.finally(() => loops.delete(promise));
  }

  // --- identity of the hub and our registration ---------------------------------------------

  async function pinHubKey(session: Session, signal: AbortSignal): Promise<void> {
    const info = await session.client.info({ signal });
    if (nodeIdOf(Buffer.from(info.publicKey, 'hex')) !== info.id) throw new HubIdentityMismatchError(session.url);
    const pinned = state.hubs[session.url];
    if (pinned === undefined) {
      state = { ...state, hubs: { ...state.hubs, [session.url]: { hubId: info.id, publicKey: info.publicKey, pinnedAt: now() } } };
      await journal.saveState(state);
      logger.info('pinned hub key', { hub: session.url, hubId: info.id });
    } else if (pinned.publicKey !== info.publicKey) {
      session.keyRefused = true;
      throw new HubKeyChangedError(session.url, pinned.publicKey, info.publicKey);
    }
  }

  async function registerWith(session: Session, signal: AbortSignal): Promise<void> {
    if (state.hubs[session.url] === undefined) await pinHubKey(session, signal);
    const { total } = reading();
    // A builder, so that the client can add a proof of work when the hub asks for one.
    const build = (pow?: RegistrationPow) => seal('agent.register', { name, resources: total, software, ...(pow === undefined ? {} : { pow }) }, signer, { now: now() });
    const { agent, created } = await session.client.register(build, { signal });
    session.registered = true;
    session.agent = agent;
    const record = state.hubs[session.url];
    if (record !== undefined && record.registeredAt === undefined) {
      state = { ...state, hubs: { ...state.hubs, [session.url]: { ...record, registeredAt: now(), trust: agent.trust } } };
      await journal.saveState(state);
    }
    succeeded(session);
    session.registeredWake.wake();
    logger.info(created ? 'registered with hub' : 'registration renewed', { hub: session.url, name, trust: agent.trust });
  }

  /** Pins the hub's key (checking it did not change) and registers, retrying until it works. */
  async function connect(session: Session, signal: AbortSignal): Promise<void> {
    for (let failures = 1; !session.registered && !session.keyRefused; failures++) {
      try {
        await pinHubKey(session, signal);
        await registerWith(session, signal);
      } catch (err) {
        if (signal.aborted) throw signal.reason;
        failed(session, err, 'registration');
        if (!session.keyRefused) await pause(backoffDelay(failures, backoff, random()), signal, session.registeredWake);
      }
    }
  }

  // --- heartbeats and work ---------------------------------------------------------------------

  async function heartbeatLoop(session: Session, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!session.registered) await connect(session, signal);
      if (session.keyRefused) return;
      if (session.registered) {
        try {
          const capacity = reading();
          const runningHere = [...running.values()].filter((r) => r.hub === session.url).map((r) => r.assignmentId);
          const envelope = seal('agent.heartbeat', { total: capacity.total, free: capacity.free, running: runningHere.slice(0, 64) }, signer, { now: now() });
          session.agent = await session.client.heartbeat(envelope, { signal });
          session.lastHeartbeatAt = now();
          succeeded(session);
        } catch (err) {
          if (signal.aborted) return;
          failed(session, err, 'heartbeat');
          if (err instanceof HubRejectedError && err.code === 'AGENT_NOT_REGISTERED') session.registered = false;
        }
      }
      await pause(heartbeatIntervalMs, signal, session.heartbeatWake);
    }
  }

  /** Gives back a slot reserved for a work request; another hub's loop may be waiting for it. */
  function release(): void {
    reserved--;
    slotFreed.wake();
  }

  async function workLoop(session: Session, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      if (session.keyRefused) return;
      if (!session.registered) {
        await pause(FOREVER, signal, session.registeredWake);
        continue;
      }
      if (running.size + reserved >= maxConcurrent) {
        await pause(FOREVER, signal, slotFreed);
        continue;
      }
      reserved++;
      let grant: WorkGrant | null;
      try {
        const envelope = seal('work.request', { free: reading().free }, signer, { now: now() });
        grant = await session.client.requestWork(envelope, { signal });
        failures = 0;
      } catch (err) {
        release();
        if (signal.aborted) return;
        failed(session, err, 'work request');
        if (err instanceof HubRejectedError && err.code === 'AGENT_INACTIVE') session.heartbeatWake.wake();
        if (err instanceof HubRejectedError && err.code === 'AGENT_NOT_REGISTERED') {
          session.registered = false;
          session.heartbeatWake.wake();
        }
        await pause(isTransient(err) ? backoffDelay(++failures, backoff, random()) : pollIntervalMs, signal);
        continue;
      }
      if (grant === null) {
        release();
        await pause(pollIntervalMs, signal);
        continue;
      }
      let accepted: Opened<'assignment'> | undefined;
      try {
        accepted = await accept(session, grant);
      } catch (err) {
        // The journal could not record it (disk full?): running it unrecorded could lose its result.
        logger.error('cannot journal an assignment; not running it', { hub: session.url, error: (err as Error).message });
        await pause(backoffDelay(++failures, backoff, random()), signal);
        continue;
      } finally {
        release();
      }
      if (accepted === undefined) continue;
      const done = execute(session, accepted, grant)
        .catch((err: unknown) => logger.error('assignment handling crashed', { error: err instanceof Error ? (err.stack ?? err.message) : String(err) }))
        .finally(() => {
          tasksDone.delete(done);
          slotFreed.wake();
        });
      tasksDone.add(done);
    }
  }

  /** Verifies an assignment and journals it; undefined (and a log line) when it is refused. */
  async function accept(session: Session, grant: WorkGrant): Promise<Opened<'assignment'> | undefined> {
    let opened: Opened<'assignment'>;
    try {
      opened = open(grant.assignment, { verifier, expect: ['assignment'] });
    } catch (err) {
      const code = err instanceof EnvelopeError ? err.code : 'ENVELOPE_MALFORMED';
      logger.warn('refused an assignment that does not verify', { hub: session.url, code, error: (err as Error).message });
      return undefined;
    }
    const pinned = state.hubs[session.url]?.publicKey;
    if (opened.signer !== pinned) {
      logger.warn('refused an assignment not signed by the hub’s pinned key', { hub: session.url, signer: opened.signer });
      return undefined;
    }
    const { body } = opened;
    if (body.agent !== nodeId) {
      logger.warn('refused an assignment addressed to another agent', { hub: session.url, assignment: body.assignmentId, agent: body.agent });
      return undefined;
    }
    if (running.has(body.assignmentId) || recent.has(body.assignmentId) || session.outbox.has(body.assignmentId)) {
      logger.warn('refused an assignment already run', { hub: session.url, assignment: body.assignmentId });
      return undefined;
    }
    const startedAt = now();
    await journal.begin({ hub: session.url, assignmentId: body.assignmentId, taskId: body.taskId, startedAt, assignment: grant.assignment });
    running.set(body.assignmentId, {
      hub: session.url,
      assignmentId: body.assignmentId,
      taskId: body.taskId,
      image: body.spec.image,
      command: [...body.spec.command],
      cpu: body.spec.cpu,
      ramGb: body.spec.ramGb,
      startedAt,
    });
    logger.info('running assignment', { hub: session.url, assignment: body.assignmentId, task: body.taskId, image: body.spec.image });
    return opened;
  }

  async function execute(session: Session, opened: Opened<'assignment'>, grant: WorkGrant): Promise<void> {
    const { assignmentId, taskId, spec } = opened.body;
    const ids = { assignmentId, taskId };
    const run = running.get(assignmentId)!;
    let report: ResultReport;
    try {
      const outcome = await executor.run(spec, {
        signal: killer.signal,
        // Credentials live in this closure only: never journaled, never logged.
        ...(grant.registryAuth === undefined ? {} : { registryAuth: grant.registryAuth }),
        labels: { 'dcloud.agent': nodeId, 'dcloud.assignment': assignmentId },
      });
      report = resultReport(ids, outcome);
    } catch (err) {
      report = failureReport(ids, err instanceof DcloudError ? err.code : 'AGENT_INTERNAL', (err as Error).message, now() - run.startedAt);
    }
    const finishedAt = now();
    const entry: Omit<FinishedEntry, 'version' | 'state'> = { hub: session.url, assignmentId, taskId, startedAt: run.startedAt, finishedAt, result: report };
    try {
      await journal.finish(entry);
    } catch (err) {
      // Still delivered from memory; a crash before that reports it as interrupted, which is true enough.
      logger.error('cannot journal a finished result', { assignment: assignmentId, error: (err as Error).message });
    }
    running.delete(assignmentId);
    remember(assignmentId);
    last = {
      ...run,
      finishedAt,
      outcome: report.outcome,
      exitCode: report.exitCode,
      ...(report.error === undefined ? {} : { error: report.error }),
      delivered: false,
    };
    logger.info('assignment finished', { hub: session.url, assignment: assignmentId, outcome: report.outcome, exitCode: report.exitCode, error: report.error });
    session.outbox.set(assignmentId, { version: 1, state: 'finished', ...entry });
    session.outboxWake.wake();
  }

  function remember(assignmentId: string): void {
    recent.add(assignmentId);
    if (recent.size > RECENT_ASSIGNMENTS) recent.delete(recent.values().next().value!);
  }

  // --- results -----------------------------------------------------------------------------------

  /** Delivers this hub's finished results, oldest first, until each is acknowledged. */
  async function outboxLoop(session: Session, signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      const next = session.outbox.values().next();
      if (next.done) {
        await pause(FOREVER, signal, session.outboxWake);
        continue;
      }
      const entry = next.value;
      try {
        // Sealed afresh on every attempt: a result kept through a long outage must not arrive stale.
        const envelope = seal('result', entry.result, signer, { now: now() });
        const ack = await session.client.submitResult(envelope, { signal });
        await settle(session, entry, ack.duplicate ? 'delivered (the hub already had it)' : 'delivered');
        failures = 0;
      } catch (err) {
        if (signal.aborted) return;
        failed(session, err, 'result delivery');
        if (err instanceof HubRejectedError && err.code === 'AGENT_NOT_REGISTERED' && session.serves) {
          // Registering again (the heartbeat loop does it) lets the result through.
          session.registered = false;
          session.heartbeatWake.wake();
        } else if (err instanceof HubRejectedError && !isTransient(err)) {
          // The hub will never take it (closed, conflicting, not ours): keeping it would block the rest.
          await settle(session, entry, `refused by the hub (${err.code})`);
          continue;
        }
        await pause(backoffDelay(++failures, backoff, random()), signal, session.outboxWake);
      }
    }
  }

  async function settle(session: Session, entry: FinishedEntry, how: string): Promise<void> {
    session.outbox.delete(entry.assignmentId);
    if (last?.assignmentId === entry.assignmentId) last = { ...last, delivered: true };
    await journal.acknowledge(entry.assignmentId);
    logger.info(`result ${how}`, { hub: session.url, assignment: entry.assignmentId, outcome: entry.result.outcome });
  }

  // --- lifecycle ------------------------------------------------------------------------------

  async function recover(): Promise<void> {
    const { entries, corrupt } = await journal.recover();
    for (const file of corrupt) logger.error('journal entry unreadable; moved aside', { file });
    for (const entry of entries) {
      const session = sessionFor(entry.hub, false);
      if (entry.state === 'finished') {
        session.outbox.set(entry.assignmentId, entry);
        continue;
      }
      const ids = { assignmentId: entry.assignmentId, taskId: entry.taskId };
      const finishedAt = now();
      const finished = { hub: entry.hub, ...ids, startedAt: entry.startedAt, finishedAt, result: restartedReport(ids, finishedAt - entry.startedAt) };
      await journal.finish(finished);
      session.outbox.set(entry.assignmentId, { version: 1, state: 'finished', ...finished });
      remember(entry.assignmentId);
      logger.warn('assignment was running when the agent stopped; reporting it as failed', { hub: entry.hub, assignment: entry.assignmentId });
    }
  }

  function startWork(): void {
    if (lifecycle === undefined) throw new AgentNotStartedError();
    if (work !== undefined) return;
    const controller = new AbortController();
    work = controller;
    const signal = AbortSignal.any([controller.signal, lifecycle.signal]);
    for (const session of sessions.values()) {
      if (!session.serves) continue;
      spawn(() => heartbeatLoop(session, signal));
      spawn(() => workLoop(session, signal));
    }
    logger.info('asking for work', { hubs: [...sessions.values()].filter((s) => s.serves).map((s) => s.url) });
  }

  async function stopWork(stopOptions: { kill?: boolean } = {}): Promise<void> {
    if (work !== undefined) {
      work.abort(new DOMException('the owner stopped the agent', 'AbortError'));
      work = undefined;
      logger.info('stopped asking for work', { running: running.size });
    }
    if (stopOptions.kill ?? options.killOnStop ?? false) {
      killer.abort(new DOMException('the owner stopped the agent', 'AbortError'));
      killer = new AbortController();
      // Killed tasks end within moments; their failures are journaled when this returns.
      await Promise.allSettled([...tasksDone]);
    }
  }

  async function register(newName?: string, callOptions: { signal?: AbortSignal } = {}): Promise<HubStatus[]> {
    if (lifecycle === undefined) throw new AgentNotStartedError();
    if (newName !== undefined && newName !== name) {
      name = newName;
      state = { ...state, name };
      await journal.saveState(state);
    }
    const signal = callOptions.signal === undefined ? lifecycle.signal : AbortSignal.any([callOptions.signal, lifecycle.signal]);
    await Promise.all(
      [...sessions.values()]
        .filter((s) => s.serves && !s.keyRefused)
        .map(async (session) => {
          try {
            await registerWith(session, signal);
          } catch (err) {
            failed(session, err, 'registration');
          }
        }),
    );
    return hubStatuses();
  }

  function hubStatuses(): HubStatus[] {
    return [...sessions.values()].map((s) => {
      const record = state.hubs[s.url];
      return {
        url: s.url,
        ...(record === undefined ? {} : { hubId: record.hubId }),
        registered: s.registered,
        ...(s.agent === undefined ? {} : { trust: s.agent.trust, active: s.agent.active }),
        ...(s.lastHeartbeatAt === undefined ? {} : { lastHeartbeatAt: s.lastHeartbeatAt }),
        pendingResults: s.outbox.size,
        ...(s.error === undefined ? {} : { error: s.error }),
      };
    });
  }

  return {
    nodeId,
    signer,
    async start() {
      if (lifecycle !== undefined) return;
      state = await journal.loadState();
      name = options.name ?? state.name ?? name;
      if (state.name !== name) {
        state = { ...state, name };
        await journal.saveState(state);
      }
      for (const url of options.hubs) sessionFor(url, true);
      await recover();
      try {
        const removed = await components.cleanupOrphans({});
        if (removed > 0) logger.warn('removed containers a previous run left behind', { removed });
      } catch (err) {
        logger.error('cannot look for orphan containers', { error: (err as Error).message });
      }
      const controller = new AbortController();
      lifecycle = controller;
      for (const session of sessions.values()) spawn(() => outboxLoop(session, controller.signal));
      if (options.autoStart ?? true) startWork();
    },
    async stop() {
      const controller = lifecycle;
      if (controller === undefined) return;
      await stopWork({ kill: true });
      await Promise.allSettled([...tasksDone]);
      // The results of the last moments: give them a short chance to reach their hubs now.
      const flushed = Promise.all(
        [...sessions.values()].map(async (s) => {
          while (s.outbox.size > 0 && !controller.signal.aborted) await pause(50, controller.signal).catch(() => {});
        }),
      );
      await Promise.race([flushed, pause(FLUSH_ON_STOP_MS, controller.signal).catch(() => {})]);
      controller.abort(new DOMException('the agent is stopping', 'AbortError'));
      lifecycle = undefined;
      await Promise.allSettled([...loops]);
    },
    startWork,
    stopWork,
    register,
    status() {
      const capacity = reading();
      return {
        nodeId,
        publicKey: signer.publicKeyHex,
        name,
        software,
        working: work !== undefined,
        hubs: hubStatuses(),
        running: [...running.values()],
        last,
        resources: { ...capacity, caps: options.caps ?? {} },
      };
    },
    hub(url) {
      if (url === undefined) {
        const first = [...sessions.values()].find((s) => s.serves);
        if (first === undefined) throw new UnknownHubError('(none configured)');
        return first.client;
      }
      const session = sessions.get(normaliseHubUrl(url));
      if (session === undefined || !session.serves) throw new UnknownHubError(url);
      return session.client;
    },
  };
}

function isAbort(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'AbortError';
}

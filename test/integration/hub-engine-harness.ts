// Drives the hub engine in-process, as its edges do: every call carries a genuinely signed
// envelope, time is a clock the test moves, and scheduling passes run when the test calls tick().
// Real LevelDB in a temp dir, real Docker for image validation.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSigner, generateKeyPair, type Signer, Verifier } from '../../keys/index.ts';
import { digestOf, type Envelope, type MessageBody, open, type Resources, seal, type TaskSpecBody } from '../../protocol/index.ts';
import type { PartialCoreParams } from '../../src/core/index.ts';
import { createHubEngine, type HubEngineControl } from '../../hub/engine.ts';
import type { RegistryAuth, TaskView, WorkGrant } from '../../hub/engine-types.ts';
import type { TaskStatus } from '../../src/core/model.ts';
import { docker, TEST_IMAGE } from '../support/env.ts';

export const FRESHNESS = { maxAgeMs: 120_000, maxSkewMs: 30_000 };

/** A clock that moves only when told to. */
export class TestClock {
  now = Date.UTC(2026, 10, 24, 12, 0, 0);

  advance(ms: number): void {
    this.now += ms;
  }

  read = (): number => this.now;
}

export interface Hub {
  engine: HubEngineControl;
  clock: TestClock;
  dataDir: string;
  /** Stops this engine and starts a new one on the same data dir (and clock). */
  restart(): Promise<Hub>;
  /** Stops the engine and removes the data dir. */
  dispose(): Promise<void>;
}

export async function startHub(options: { params?: PartialCoreParams; dataDir?: string; clock?: TestClock } = {}): Promise<Hub> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'dcloud-hub-engine-')));
  const clock = options.clock ?? new TestClock();
  const engine = createHubEngine(
    { docker: docker(), clock: clock.read },
    { dataDir, tickMs: 0, validationConcurrency: 2, freshness: FRESHNESS, ...(options.params === undefined ? {} : { params: options.params }) },
  );
  await engine.start();
  const hub: Hub = {
    engine,
    clock,
    dataDir,
    async restart() {
      await engine.stop();
      return startHub({ ...options, dataDir, clock });
    },
    async dispose() {
      await engine.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return hub;
}

export function spec(overrides: Partial<TaskSpecBody> = {}): TaskSpecBody {
  return { image: TEST_IMAGE, command: ['echo', '42'], cpu: 1, ramGb: 0.5, minTrust: 5, overlap: 1, timeoutS: 60, ...overrides };
}

/** Someone who submits tasks. */
export class Submitter {
  readonly signer: Signer = createSigner(generateKeyPair());
  private readonly hub: Hub;

  constructor(hub: Hub) {
    this.hub = hub;
  }

  envelope(body: TaskSpecBody): Envelope {
    return seal('task.spec', body, this.signer, { now: this.hub.clock.now });
  }

  /** Submits and waits until image validation has decided (pending or invalid). */
  async submit(body: TaskSpecBody, auth?: RegistryAuth): Promise<TaskView> {
    const { task } = await this.hub.engine.submitTask(this.envelope(body), auth);
    return settled(this.hub, task.id);
  }
}

/** Resolves once the task has left `validating`. */
export function settled(hub: Hub, taskId: string): Promise<TaskView> {
  return untilTask(hub, taskId, (t) => t.status !== 'validating');
}

export function untilTask(hub: Hub, taskId: string, done: (task: TaskView) => boolean): Promise<TaskView> {
  return new Promise((resolve) => {
    const check = (): boolean => {
      const task = hub.engine.getTask(taskId);
      if (task === undefined || !done(task)) return false;
      unsubscribe();
      resolve(task);
      return true;
    };
    const unsubscribe = hub.engine.subscribe((event) => {
      if (event.type === 'task' && event.task.id === taskId) check();
    });
    check();
  });
}

export interface Grant {
  grant: WorkGrant;
  body: MessageBody<'assignment'>;
}

/** An agent that signs what it sends and checks that what it gets is signed by the hub. */
export class Agent {
  readonly signer: Signer = createSigner(generateKeyPair());
  readonly name: string;
  readonly resources: Resources;
  private readonly hubs: () => Hub;
  private readonly verifier = new Verifier();

  /** `hub` is a getter so that the same agent keeps working with a restarted hub. */
  constructor(hub: () => Hub, name: string, resources: Resources = { cpu: 4, ramGb: 8 }) {
    this.hubs = hub;
    this.name = name;
    this.resources = resources;
  }

  get id(): string {
    return this.signer.nodeId;
  }

  private get hub(): Hub {
    return this.hubs();
  }

  private seal<T extends 'agent.register' | 'agent.heartbeat' | 'work.request' | 'result'>(type: T, body: MessageBody<T>): Envelope {
    return seal(type, body, this.signer, { now: this.hub.clock.now });
  }

  async register(address = '10.1.2.3') {
    return this.hub.engine.registerAgent(this.seal('agent.register', { name: this.name, resources: this.resources, software: 'test/1' }), { address });
  }

  async heartbeat(free: Resources = this.resources) {
    return this.hub.engine.heartbeat(this.seal('agent.heartbeat', { total: this.resources, free, running: [] }));
  }

  workRequest(): Envelope {
    return this.seal('work.request', { free: this.resources });
  }

  async requestWork(): Promise<Grant | null> {
    const grant = await this.hub.engine.requestWork(this.workRequest());
    if (grant === null) return null;
    const opened = open(grant.assignment, { verifier: this.verifier, expect: ['assignment'] });
    if (opened.signer !== this.hub.engine.identity.publicKey) throw new Error('assignment not signed by the hub');
    return { grant, body: opened.body };
  }

  /** Any result body, however wrong. */
  sealResult(body: MessageBody<'result'>): Envelope {
    return this.seal('result', body);
  }

  resultEnvelope({ assignmentId, taskId }: { assignmentId: string; taskId: string }, stdout: string, exitCode = 0): Envelope {
    return this.seal('result', {
      assignmentId,
      taskId,
      outcome: 'ok',
      exitCode,
      digest: digestOf(exitCode, stdout),
      stdout: Buffer.from(stdout).toString('base64'),
      stderr: '',
      truncated: false,
      durationMs: 5,
    });
  }

  failureEnvelope({ assignmentId, taskId }: { assignmentId: string; taskId: string }, error: string): Envelope {
    return this.seal('result', { assignmentId, taskId, outcome: 'error', exitCode: null, digest: null, stdout: '', stderr: '', truncated: false, durationMs: 5, error });
  }

  async report(grant: Grant, stdout: string, exitCode = 0) {
    return this.hub.engine.submitResult(this.resultEnvelope(grant.body, stdout, exitCode));
  }

  async fail(grant: Grant, error: string) {
    return this.hub.engine.submitResult(this.failureEnvelope(grant.body, error));
  }

  /** Fetches work until it gets an assignment; throws when there is none. */
  async take(): Promise<Grant> {
    const grant = await this.requestWork();
    if (grant === null) throw new Error(`agent ${this.name} has no work`);
    return grant;
  }
}

export function statuses(task: TaskView): TaskStatus[] {
  return task.transitions.map((t) => t.status);
}

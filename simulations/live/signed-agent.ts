// A scriptable agent and submitter that speaks the real protocol to a hub over HTTP: every
// request is a genuine signed envelope, every assignment is checked against the hub's key.
// Used by the hub's integration tests and benchmarks (through test/support/test-agent.ts) and by
// `dcloud sim --live` (simulations/live/); it runs no containers: the caller says what the
// "container" printed. Also a real hub process (`dcloud hub`) to run them against.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createSigner, generateKeyPair, type KeyPair, type Signer, Verifier } from '../../keys/index.ts';
import {
  canonicalJson,
  digestOf,
  type Envelope,
  type MessageBody,
  type MessageType,
  open,
  PROTOCOL_VERSION,
  seal,
  signedBytes,
  type TaskSpecBody,
} from '../../protocol/index.ts';
import type { AgentView, RegistryAuth, TaskView, WorkGrant } from '../../hub/engine-types.ts';

export interface ApiResponse<T = unknown> {
  status: number;
  body: T;
}

/** An answer the caller did not expect: carries the status and the hub's `{ error }` body. */
export class UnexpectedResponseError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(what: string, response: ApiResponse) {
    super(`${what}: HTTP ${response.status} ${JSON.stringify(response.body)}`);
    this.name = 'UnexpectedResponseError';
    this.status = response.status;
    this.body = response.body;
  }
}

/** Minimal JSON client of one hub; `url` may change (a restarted hub on another port). */
export class HubClient {
  url: string;

  constructor(url: string) {
    this.url = url;
  }

  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.url}${path}`, init);
    const text = await response.text();
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('application/json') && text !== '') parsed = JSON.parse(text);
    return { status: response.status, body: parsed as T };
  }

  get<T = unknown>(path: string): Promise<ApiResponse<T>> {
    return this.request<T>('GET', path);
  }

  post<T = unknown>(path: string, body: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>> {
    return this.request<T>('POST', path, body, headers);
  }

  async task(id: string): Promise<TaskView> {
    return expectStatus('GET task', await this.get<{ task: TaskView }>(`/v1/tasks/${id}`), 200).task;
  }

  async agent(id: string): Promise<AgentView> {
    return expectStatus('GET agent', await this.get<{ agent: AgentView }>(`/v1/agents/${id}`), 200).agent;
  }

  async hubKey(): Promise<string> {
    return expectStatus('GET hub', await this.get<{ publicKey: string }>('/v1/hub'), 200).publicKey;
  }

  /** Polls the task until `done` holds (or the deadline passes: then throws with its last state). */
  async waitForTask(id: string, done: (task: TaskView) => boolean, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<TaskView> {
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    for (;;) {
      const task = await this.task(id);
      if (done(task)) return task;
      if (Date.now() > deadline) throw new Error(`task ${id} did not get there in time; last state: ${JSON.stringify(task)}`);
      await sleep(options.intervalMs ?? 50);
    }
  }
}

export function expectStatus<T>(what: string, response: ApiResponse<T>, ...statuses: number[]): T {
  if (!statuses.includes(response.status)) throw new UnexpectedResponseError(what, response);
  return response.body;
}

/** What the pretend container printed, or the failure the agent reports instead. */
export type Outcome = { stdout: string | Uint8Array; exitCode: number } | { error: string };

export interface SignedAgentOptions {
  name?: string;
  resources?: { cpu: number; ramGb: number };
  pair?: KeyPair;
}

/** A task spec with the defaults tests mostly want: echo 42 on the local test image. */
export function taskSpec(overrides: Partial<TaskSpecBody> = {}): TaskSpecBody {
  return {
    image: 'dcloud-test/busybox:1',
    command: ['echo', '42'],
    cpu: 1,
    ramGb: 0.5,
    minTrust: 0,
    overlap: 1,
    timeoutS: 60,
    ...overrides,
  };
}

export class SignedAgent {
  readonly hub: HubClient;
  readonly signer: Signer;
  readonly name: string;
  resources: { cpu: number; ramGb: number };
  private readonly verifier = new Verifier();
  private hubPublicKey: string | undefined;

  constructor(hub: HubClient | string, options: SignedAgentOptions = {}) {
    this.hub = typeof hub === 'string' ? new HubClient(hub) : hub;
    this.signer = createSigner(options.pair ?? generateKeyPair());
    this.name = options.name ?? `test-${this.signer.nodeId.slice(0, 8)}`;
    this.resources = options.resources ?? { cpu: 4, ramGb: 8 };
  }

  get id(): string {
    return this.signer.nodeId;
  }

  /** A fresh signed envelope from this agent's key (tests tamper with it to forge bad ones). */
  seal<T extends MessageType>(type: T, body: MessageBody<T>, options: { now?: number; nonce?: string } = {}): Envelope {
    return seal(type, body, this.signer, options);
  }

  /**
   * Signs a body exactly as given, skipping the schema check `seal` makes: how a buggy or hostile
   * client produces a correctly signed envelope whose body the hub must still refuse.
   */
  sealUnchecked(type: MessageType, body: unknown, options: { now?: number } = {}): Envelope {
    const payload = canonicalJson({
      v: PROTOCOL_VERSION,
      type,
      signer: this.signer.publicKeyHex,
      ts: options.now ?? Date.now(),
      nonce: randomBytes(16).toString('hex'),
      body,
    });
    return { payload, sig: Buffer.from(this.signer.sign(signedBytes(type, payload))).toString('hex') };
  }

  registerEnvelope(): Envelope {
    return this.seal('agent.register', { name: this.name, resources: this.resources, software: 'dcloud-test-agent/1' });
  }

  heartbeatEnvelope(running: string[] = [], free = this.resources): Envelope {
    return this.seal('agent.heartbeat', { total: this.resources, free, running });
  }

  workEnvelope(free = this.resources): Envelope {
    return this.seal('work.request', { free });
  }

  async register(): Promise<AgentView> {
    return expectStatus('register', await this.hub.post<{ agent: AgentView }>('/v1/agents/register', this.registerEnvelope()), 200, 201).agent;
  }

  async heartbeat(running: string[] = []): Promise<AgentView> {
    return expectStatus('heartbeat', await this.hub.post<{ agent: AgentView }>('/v1/agents/heartbeat', this.heartbeatEnvelope(running)), 200).agent;
  }

  /** The grant, its assignment checked against the hub's key, or null on 204. */
  async requestWork(): Promise<(WorkGrant & { body: MessageBody<'assignment'> }) | null> {
    const response = await this.hub.post<WorkGrant>('/v1/work', this.workEnvelope());
    if (response.status === 204) return null;
    const grant = expectStatus('work', response, 200);
    return { ...grant, body: await this.openAssignment(grant.assignment) };
  }

  /** Verifies an assignment envelope: signed by this hub, addressed to this agent. */
  async openAssignment(envelope: Envelope): Promise<MessageBody<'assignment'>> {
    this.hubPublicKey ??= await this.hub.hubKey();
    const opened = open(envelope, { verifier: this.verifier, expect: ['assignment'] });
    if (opened.signer !== this.hubPublicKey) throw new Error(`assignment signed by ${opened.signer}, not by the hub`);
    if (opened.body.agent !== this.id) throw new Error(`assignment for ${opened.body.agent}, not for ${this.id}`);
    return opened.body;
  }

  resultEnvelope(assignment: { assignmentId: string; taskId: string }, outcome: Outcome): Envelope {
    const common = { assignmentId: assignment.assignmentId, taskId: assignment.taskId, stderr: '', truncated: false, durationMs: 5 };
    if ('error' in outcome) {
      return this.seal('result', { ...common, outcome: 'error', exitCode: null, digest: null, stdout: '', error: outcome.error });
    }
    const stdout = typeof outcome.stdout === 'string' ? Buffer.from(outcome.stdout) : Buffer.from(outcome.stdout);
    return this.seal('result', {
      ...common,
      outcome: 'ok',
      exitCode: outcome.exitCode,
      digest: digestOf(outcome.exitCode, stdout),
      stdout: stdout.toString('base64'),
    });
  }

  async postResult(assignment: { assignmentId: string; taskId: string }, outcome: Outcome): Promise<{ assignmentId: string; duplicate: boolean; task: TaskView }> {
    return expectStatus('result', await this.hub.post<{ assignmentId: string; duplicate: boolean; task: TaskView }>('/v1/results', this.resultEnvelope(assignment, outcome)), 200);
  }

  taskEnvelope(spec: TaskSpecBody): Envelope {
    return this.seal('task.spec', spec);
  }

  /** Submits as a submitter (any key may): 202 new, 200 the same envelope again. */
  async submitTask(spec: TaskSpecBody, registryAuth?: RegistryAuth): Promise<TaskView> {
    const body = registryAuth === undefined ? { task: this.taskEnvelope(spec) } : { task: this.taskEnvelope(spec), registryAuth };
    return expectStatus('submit', await this.hub.post<{ task: TaskView }>('/v1/tasks', body), 202, 200).task;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------------------------------------
// A real hub process: `node bin/dcloud.js hub`, found by the line it prints when it listens.

const BIN = fileURLToPath(new URL('../../bin/dcloud.js', import.meta.url));
/** The line `dcloud hub` prints on stdout once it accepts requests. */
export const LISTENING_LINE = /listening on (http:\/\/\S+)/;

export interface HubProcessOptions {
  dataDir: string;
  /** 0 (default) for any free port; give the old port to restart "the same" hub. */
  port?: number;
  /** More `dcloud hub` flags, e.g. ['--tick-ms', '50']. */
  args?: readonly string[];
  env?: Record<string, string>;
  /** How long to wait for the listening line. */
  startTimeoutMs?: number;
}

export interface HubProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything it wrote so far (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGTERM, then waits for the exit; returns the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
  /** SIGKILL: no cleanup, no flush, the crash the store must survive. */
  kill(): Promise<void>;
}

export async function startHubProcess(options: HubProcessOptions): Promise<HubProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'hub', '--data', options.dataDir, '--http', `127.0.0.1:${options.port ?? 0}`, '--log-level', 'warn', ...(options.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let output = '';
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hub did not print its URL within ${options.startTimeoutMs ?? 30_000} ms:\n${output}`));
    }, options.startTimeoutMs ?? 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING_LINE.exec(output);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    exited.then(
      ([code, signal]) => {
        clearTimeout(timer);
        reject(new Error(`hub exited (code ${code}, signal ${signal}) before listening:\n${output}`));
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(err); // could not even spawn
      },
    );
  });
  const port = Number(new URL(url).port);
  const waitExit = async () => (await exited)[0];
  return {
    url,
    port,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return waitExit();
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await waitExit();
    },
  };
}

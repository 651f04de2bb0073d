// The HTTP edge alone, over a fake engine: the error catalogue, schema-driven serialization,
// per-key limits and the event stream. (The real engine behind real HTTP is in
// test/integration/hub-api*.test.ts.)
import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createSigner, generateKeyPair } from '../../keys/index.ts';
import { EnvelopeError, EnvelopeErrorCodes, seal } from '../../protocol/index.ts';
import type { AgentView, HubEngine, HubEvent, NetworkView, TaskView } from '../../hub/engine-types.ts';
import { buildHubApp } from '../../hub/http/server.ts';
import { createHubMetrics } from '../../hub/http/metrics.ts';
import { signerOf } from '../../hub/http/rate-limit.ts';
import { TaskNotFoundError } from '../../hub/errors.ts';

const signer = createSigner(generateKeyPair());
const hex = (c: string, n: number) => c.repeat(n);

const agentView: AgentView = {
  id: signer.nodeId,
  publicKey: signer.publicKeyHex,
  name: 'a',
  total: { cpu: 4, ramGb: 8 },
  free: { cpu: 4, ramGb: 8 },
  reserved: { cpu: 0, ramGb: 0 },
  trust: 5,
  active: true,
  registeredAt: 1,
  lastHeartbeat: 2,
  stats: { valid: 0, invalid: 0, consecutiveValid: 0 },
};

const taskView: TaskView = {
  id: hex('a', 64),
  submitter: hex('b', 32),
  home: hex('c', 32),
  status: 'pending',
  spec: { image: 'img:1', command: ['echo', '42'], cpu: 1, ramGb: 1, minTrust: 0, overlap: 1, timeoutS: 10 },
  submittedAt: 1,
  transitions: [{ status: 'validating', at: 1 }, { status: 'pending', at: 2 }],
  staleness: 0,
  round: 0,
  assignments: [],
};

const network: NetworkView = {
  agents: { active: 1, inactive: 0, total: 1 },
  resources: { total: { cpu: 4, ramGb: 8 }, free: { cpu: 4, ramGb: 8 } },
  averageTrust: 5,
  tasks: { validating: 0, pending: 1, invalid: 0, in_queue: 0, in_progress: 0, completed: 0, validated: 0, failed: 0, abandoned: 0 },
};

/** Answers fixed views; `fail` makes the next call throw what it holds. */
function fakeEngine() {
  const listeners = new Set<(event: HubEvent) => void>();
  const engine = {
    identity: { nodeId: hex('c', 32), publicKey: hex('d', 64) },
    fail: undefined as unknown,
    async start() {},
    async stop() {},
    async registerAgent() {
      return { agent: agentView, created: true };
    },
    async heartbeat() {
      if (engine.fail !== undefined) throw engine.fail;
      return agentView;
    },
    async requestWork() {
      return null;
    },
    async submitResult() {
      throw new Error('not in this test');
    },
    async submitTask() {
      // An engine object carrying more than its view: the schema must keep it in.
      return { task: { ...taskView, registryAuth: { username: 'u', password: 'leak' } } as TaskView, created: true };
    },
    getTask: (id: string) => (id === taskView.id ? taskView : undefined),
    listTasks: () => [taskView],
    getAgent: () => undefined,
    listAgents: () => [agentView],
    network: () => network,
    stats: () => ({
      ticks: 3,
      tickErrors: 0,
      lastTick: { deactivated: 0, expired: 0, assigned: 1, queued: 1, waiting: 0, durationMs: 2 },
      backlog: 1,
      openAssignments: 0,
      validationsRunning: 0,
      agents: { active: 1, total: 1 },
      tasks: network.tasks,
    }),
    subscribe(listener: (event: HubEvent) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit: (event: HubEvent) => listeners.forEach((l) => l(event)),
    listeners,
  };
  return engine satisfies HubEngine;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function build(engine = fakeEngine(), perKey = 0) {
  const metrics = createHubMetrics(engine);
  app = await buildHubApp({
    engine,
    metrics,
    version: '0.0.0-test',
    rateLimit: { perAddress: 0, perKey, windowMs: 60_000 },
    bodyLimit: 4096,
    resultBodyLimit: 8192,
    sseKeepAliveMs: 60_000,
    log: false,
  });
  return { app, engine, metrics };
}

const heartbeat = () => seal('agent.heartbeat', { total: { cpu: 1, ramGb: 1 }, free: { cpu: 1, ramGb: 1 }, running: [] }, signer);

describe('hub HTTP edge', () => {
  it('maps engine errors to their status and code, and hides unexpected ones', async () => {
    const { app, engine } = await build();
    engine.fail = new EnvelopeError(EnvelopeErrorCodes.STALE, 'envelope dated 200000 ms ago');
    const stale = await app.inject({ method: 'POST', url: '/v1/agents/heartbeat', payload: heartbeat() });
    expect(stale.statusCode).toBe(400);
    expect(stale.json()).toEqual({ error: { code: 'ENVELOPE_STALE', message: 'envelope dated 200000 ms ago' } });

    engine.fail = new Error('disk on fire at /secret/path');
    const broken = await app.inject({ method: 'POST', url: '/v1/agents/heartbeat', payload: heartbeat() });
    expect(broken.statusCode).toBe(500);
    expect(broken.json().error.code).toBe('INTERNAL');
    expect(broken.body).not.toContain('/secret/path');

    const missing = await app.inject({ method: 'GET', url: `/v1/tasks/${hex('e', 64)}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ error: { code: new TaskNotFoundError('x').code, message: expect.stringContaining(hex('e', 64)) } });
  });

  it('answers every framework error from the catalogue', async () => {
    const { app } = await build();
    const cases: Array<[InjectOptions, number, string]> = [
      [{ method: 'POST', url: '/v1/agents/heartbeat', payload: '{"payload":', headers: { 'content-type': 'application/json' } }, 400, 'MALFORMED_JSON'],
      [{ method: 'POST', url: '/v1/agents/heartbeat', payload: { payload: 'x'.repeat(5000), sig: '0' } }, 413, 'PAYLOAD_TOO_LARGE'],
      [{ method: 'POST', url: '/v1/agents/heartbeat', payload: 'x', headers: { 'content-type': 'text/plain' } }, 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [{ method: 'POST', url: '/v1/agents/heartbeat', payload: { payload: 'abc' } }, 400, 'VALIDATION_FAILED'],
      [{ method: 'GET', url: '/nowhere' }, 404, 'NOT_FOUND'],
      [{ method: 'GET', url: '/v1/tasks?limit=many' }, 400, 'VALIDATION_FAILED'],
      [{ method: 'GET', url: '/v1/tasks/%E0%A4%A' }, 400, 'BAD_REQUEST'],
    ];
    for (const [request, status, code] of cases) {
      const response = await app.inject(request);
      expect(response.statusCode, JSON.stringify(request)).toBe(status);
      expect(response.json()).toEqual({ error: { code, message: expect.any(String) } });
    }
  });

  it('answers bytes that are not HTTP with the JSON error body', async () => {
    const { app: server } = await build();
    await server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.server.address() as AddressInfo;
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    socket.end('NOT HTTP AT ALL\r\n\r\n');
    let answer = '';
    for await (const chunk of socket) answer += chunk;
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
  });

  it('serializes through the schemas: fields outside a view never leave', async () => {
    const { app } = await build();
    const envelope = seal('task.spec', taskView.spec, signer);
    const response = await app.inject({ method: 'POST', url: '/v1/tasks', payload: { task: envelope, registryAuth: { username: 'u', password: 'leak' } } });
    expect(response.statusCode).toBe(202);
    expect(response.body).not.toContain('leak');
    expect(response.json().task).toEqual(taskView);
  });

  it('limits requests per signing key, not per address', async () => {
    const { app } = await build(fakeEngine(), 3);
    const other = createSigner(generateKeyPair());
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await app.inject({ method: 'POST', url: '/v1/agents/heartbeat', payload: heartbeat() })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const fromOther = seal('agent.heartbeat', { total: { cpu: 1, ramGb: 1 }, free: { cpu: 1, ramGb: 1 }, running: [] }, other);
    expect((await app.inject({ method: 'POST', url: '/v1/agents/heartbeat', payload: fromOther })).statusCode).toBe(200);
  });

  it('reads the signer from a canonical payload, whatever the body holds', () => {
    const envelope = seal('task.spec', { ...taskView.spec, description: `"signer":"${hex('f', 64)}"` }, signer);
    expect(signerOf(envelope)).toBe(signer.publicKeyHex);
    expect(signerOf({ payload: '{}' })).toBeUndefined();
    expect(signerOf('nope')).toBeUndefined();
  });

  it('streams events to each client, filtered by task, and forgets a client that leaves', async () => {
    const { app: server, engine } = await build();
    await server.listen({ host: '127.0.0.1', port: 0 });
    const { port } = server.server.address() as AddressInfo;
    const controller = new AbortController();
    const response = await fetch(`http://127.0.0.1:${port}/v1/events?task=${taskView.id}`, { signal: controller.signal });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) text += decoder.decode((await reader.read()).value);
    };
    await readUntil(':connected');
    expect(engine.listeners.size).toBe(1); // subscribed while someone listens
    engine.emit({ type: 'agent', agent: agentView }); // not this task: filtered out
    engine.emit({ type: 'task', task: { ...taskView, status: 'in_queue', extra: 'x' } as TaskView });
    await readUntil('in_queue');
    expect(text).not.toContain('"agent"');
    const frame = text.slice(text.indexOf('event: task'));
    expect(frame).toMatch(/^event: task\ndata: \{.*\}\n\n$/);
    const data = JSON.parse(/^data: (.*)$/m.exec(frame)![1]!);
    expect(data).toEqual({ type: 'task', task: { ...taskView, status: 'in_queue' } });
    controller.abort();
    // The hub notices the client left and lets go of the engine.
    for (let i = 0; i < 100 && engine.listeners.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(engine.listeners.size).toBe(0);
  });

  it('counts envelope rejections by code in /metrics', async () => {
    const { app, engine } = await build();
    engine.fail = new EnvelopeError(EnvelopeErrorCodes.BAD_SIGNATURE, 'forged');
    await app.inject({ method: 'POST', url: '/v1/agents/heartbeat', payload: heartbeat() });
    const metrics = await app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^dcloud_envelope_rejections_total\{code="ENVELOPE_BAD_SIGNATURE"\} 1$/m);
    expect(metrics.body).toMatch(/^dcloud_tasks\{status="pending"\} 1$/m);
    expect(metrics.body).toMatch(/^dcloud_hub_tick_duration_seconds 0\.002$/m);
    expect(metrics.body).toMatch(/^dcloud_hub_ticks_total\{outcome="ok"\} 3$/m);
  });
});

// The hub's HTTP API against a real hub process (bin/dcloud.js hub): real LevelDB, real image
// validation through Docker, test agents that sign real envelopes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestOf, envelopeId, type Envelope } from '../../protocol/index.ts';
import type { TaskView } from '../../hub/engine-types.ts';
import { OPEN_REGISTRY } from '../support/env.ts';
import { HubClient, type HubProcess, sleep, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

let dataDir: string;
let hub: HubProcess;
let client: HubClient;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'dcloud-hub-api-'));
  hub = await startHubProcess({ dataDir, args: ['--tick-ms', '50', '--validation-policy', 'trust-sum'] });
  client = new HubClient(hub.url);
});

afterAll(async () => {
  const code = await hub?.stop();
  await rm(dataDir, { recursive: true, force: true });
  // A clean SIGTERM stop exits 0.
  expect(code).toBe(0);
});

/** Task id before submission: the content id of the signed spec envelope. */
function taskIdOf(envelope: Envelope): string {
  return envelopeId('task.spec', envelope.payload);
}

/** Each agent heartbeats and asks for work until it holds an assignment for `taskId`. */
async function fetchAssignment(agent: TestAgent, taskId: string, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await agent.heartbeat();
    const grant = await agent.requestWork();
    if (grant !== null) {
      expect(grant.body.taskId).toBe(taskId);
      return grant.body;
    }
    await sleep(50);
  }
  throw new Error(`agent ${agent.id} got no assignment for ${taskId}; task: ${JSON.stringify(await client.task(taskId))}`);
}

/** A minimal server-sent-events reader over fetch: collects `event:`/`data:` frames. */
async function openEvents(path: string) {
  const controller = new AbortController();
  const response = await fetch(`${hub.url}${path}`, { signal: controller.signal });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: Array<{ event: string; data: any }> = [];
  const reading = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(frame)?.[1];
          const data = /^data: (.*)$/m.exec(frame)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch (err) {
      if ((err as Error).name !== 'AbortError') throw err;
    }
  })();
  return {
    events,
    async close() {
      controller.abort();
      await reading;
    },
  };
}

describe('hub API: the task lifecycle (thesis Table 5.1) over HTTP', () => {
  it('runs echo 42 with overlap 2 on two agents to validated, live on /v1/events', async () => {
    const submitter = new TestAgent(client, { name: 'submitter' });
    const agents = [new TestAgent(client, { name: 'alpha' }), new TestAgent(client, { name: 'beta' })];
    for (const agent of agents) {
      const view = await agent.register();
      expect(view.id).toBe(agent.id);
      expect(view.active).toBe(true);
    }
    // Registering the same key again is not an error: 200 instead of 201.
    const again = await client.post('/v1/agents/register', agents[0]!.registerEnvelope());
    expect(again.status).toBe(200);

    const envelope = submitter.taskEnvelope(taskSpec({ overlap: 2 }));
    const taskId = taskIdOf(envelope);
    const stream = await openEvents(`/v1/events?task=${taskId}`);

    const submitted = await client.post<{ task: TaskView }>('/v1/tasks', { task: envelope });
    expect(submitted.status).toBe(202);
    expect(submitted.body.task.id).toBe(taskId);
    expect(submitted.body.task.submitter).toBe(submitter.id);
    // The same envelope again: the task as it is, 200, not a second task.
    const resubmitted = await client.post<{ task: TaskView }>('/v1/tasks', { task: envelope });
    expect(resubmitted.status).toBe(200);
    expect(resubmitted.body.task.id).toBe(taskId);

    const assignments = [];
    for (const agent of agents) assignments.push(await fetchAssignment(agent, taskId));
    expect(assignments[0]!.assignmentId).not.toBe(assignments[1]!.assignmentId);
    expect((await client.task(taskId)).status).toBe('in_progress');

    const first = await agents[0]!.postResult(assignments[0]!, { stdout: '42\n', exitCode: 0 });
    expect(first.duplicate).toBe(false);
    expect(first.task.status).not.toBe('validated'); // one of two replicas is no consensus
    await agents[1]!.postResult(assignments[1]!, { stdout: '42\n', exitCode: 0 });

    const task = await client.waitForTask(taskId, (t) => t.status === 'validated');
    expect(task.result?.text).toBe('42\n');
    expect(task.result?.exitCode).toBe(0);
    expect(task.result?.digest).toBe(digestOf(0, '42\n'));
    expect(task.trustScore).toBe(10);
    const statuses = task.transitions.map((t) => t.status);
    expect(statuses).toEqual(['validating', 'pending', 'in_queue', 'in_progress', 'completed', 'validated']);
    expect(task.assignments.map((a) => a.status)).toEqual(['reported', 'reported']);
    for (const agent of agents) {
      const view = await client.agent(agent.id);
      expect(view.stats.valid).toBe(1);
      expect(view.reserved).toEqual({ cpu: 0, ramGb: 0 });
    }

    // The stream saw the same states, live, ending in a decision.
    const deadline = Date.now() + 5000;
    while (!stream.events.some((e) => e.event === 'decision') && Date.now() < deadline) await sleep(20);
    await stream.close();
    // One event per committed change: a pass that queues and assigns shows as one in_progress.
    const updates = stream.events.filter((e) => e.event === 'task').map((e) => e.data.task as TaskView);
    const seen = updates.map((t) => t.status);
    const lifecycle = ['validating', 'pending', 'in_queue', 'in_progress', 'completed', 'validated'];
    expect(seen.map((s) => lifecycle.indexOf(s))).toEqual([...seen.map((s) => lifecycle.indexOf(s))].sort((a, b) => a - b));
    expect(seen).toContain('in_progress');
    expect(seen.at(-1)).toBe('validated');
    expect(updates.at(-1)!.transitions.map((t) => t.status)).toEqual(lifecycle);
    const decision = stream.events.find((e) => e.event === 'decision');
    expect(decision?.data).toMatchObject({ type: 'decision', taskId, outcome: 'validated', digest: digestOf(0, '42\n') });
    expect(stream.events.every((e) => e.event !== 'agent')).toBe(true); // filtered to this task

    const mine = await client.get<{ tasks: TaskView[] }>(`/v1/tasks?submitter=${submitter.id}&status=validated`);
    expect(mine.status).toBe(200);
    expect(mine.body.tasks.map((t) => t.id)).toEqual([taskId]);
  });

  it('marks a task with an image that cannot be pulled invalid, with the reason', async () => {
    const submitter = new TestAgent(client);
    const task = await submitter.submitTask(taskSpec({ image: `${OPEN_REGISTRY}/dcloud/no-such-image:1` }));
    const invalid = await client.waitForTask(task.id, (t) => t.status !== 'validating');
    expect(invalid.status).toBe('invalid');
    expect(invalid.reason).toMatch(/no-such-image/);
    expect(invalid.transitions.map((t) => t.status)).toEqual(['validating', 'invalid']);
  });

  it('accepts a task larger than any agent and says why it does not run', async () => {
    const submitter = new TestAgent(client);
    const task = await submitter.submitTask(taskSpec({ cpu: 1000, ramGb: 4000 }));
    const waiting = await client.waitForTask(task.id, (t) => t.status !== 'validating' && typeof t.reason === 'string' && t.reason.length > 0);
    expect(['pending', 'in_queue']).toContain(waiting.status);
    expect(waiting.reason).toMatch(/cpu|ram|resources|agent/i);
  });

  it('answers the hub, network, health, metrics and OpenAPI endpoints', async () => {
    const info = await client.get<{ id: string; publicKey: string; version: string }>('/v1/hub');
    expect(info.status).toBe(200);
    expect(info.body.id).toMatch(/^[0-9a-f]{32}$/);
    expect(info.body.publicKey).toMatch(/^[0-9a-f]{64}$/);
    expect(info.body.version).toMatch(/^\d+\.\d+\.\d+/);

    const network = await client.get<{ agents: { total: number }; tasks: Record<string, number> }>('/v1/network');
    expect(network.status).toBe(200);
    expect(network.body.agents.total).toBeGreaterThanOrEqual(2);
    expect(network.body.tasks.validated).toBeGreaterThanOrEqual(1);

    expect((await client.get('/healthz')).body).toEqual({ status: 'ok' });

    const metrics = await client.get<string>('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/^dcloud_http_requests_total\{method="POST",route="\/v1\/tasks",status="202"\} \d+$/m);
    expect(metrics.body).toMatch(/^dcloud_tasks\{status="validated"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^dcloud_agents\{state="active"\} \d+$/m);
    expect(metrics.body).toMatch(/^dcloud_hub_ticks_total\{outcome="ok"\} [1-9]\d*$/m);
    expect(metrics.body).toMatch(/^dcloud_hub_tick_duration_seconds \d/m);

    const spec = await client.get<{ openapi: string; paths: Record<string, unknown> }>('/docs/json');
    expect(spec.status).toBe(200);
    expect(spec.body.openapi).toMatch(/^3\./);
    for (const path of ['/v1/agents/register', '/v1/agents/heartbeat', '/v1/work', '/v1/results', '/v1/tasks', '/v1/tasks/{id}', '/v1/agents/{id}', '/v1/network', '/v1/hub', '/v1/events', '/metrics', '/healthz']) {
      expect(Object.keys(spec.body.paths)).toContain(path);
    }
  });
});

// The agent's control API over real HTTP, on a real agent process working for a real hub.
import { request } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, eventually, startAgentProcess } from '../support/agent-process.ts';
import { TEST_IMAGE } from '../support/env.ts';
import { HubClient, type HubProcess, startHubProcess } from '../support/test-agent.ts';

let dir: string;
let hub: HubProcess;
let hubApi: HubClient;
let agent: AgentProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-control-api-'));
  // A short heartbeat timeout, so that a stopped agent is marked inactive within moments.
  hub = await startHubProcess({ dataDir: join(dir, 'hub'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--heartbeat-timeout-ms', '1500', '--heartbeat-interval-ms', '300'] });
  hubApi = new HubClient(hub.url);
  agent = await startAgentProcess({ hubs: [hub.url], dataDir: join(dir, 'agent'), args: ['--name', 'first-name'] });
});

afterAll(async () => {
  await agent?.stop();
  await hub?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A raw request, so the Host and Origin headers can be whatever a hostile page would send. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the agent control API', () => {
  it('reports registration, trust, resources and identity', async () => {
    const status = await eventually('registration', async () => {
      const s = await agent.status();
      return s.hubs[0]?.registered === true && s.hubs[0].trust !== undefined ? s : undefined;
    });
    expect(status.nodeId).toBe(agent.nodeId);
    expect(status.name).toBe('first-name');
    expect(status.working).toBe(true);
    expect(status.hubs).toHaveLength(1);
    expect(status.hubs[0]!.url).toBe(hub.url);
    expect(status.hubs[0]!.trust).toBe((await hubApi.agent(agent.nodeId)).trust);
    expect(status.resources.total.cpu).toBeGreaterThan(0);
    expect(status.running).toEqual([]);
  });

  it('renames the agent on its hubs', async () => {
    const { status, body } = await agent.post('/api/register', { name: 'second-name' });
    expect(status).toBe(200);
    expect(body.name).toBe('second-name');
    expect((await hubApi.agent(agent.nodeId)).name).toBe('second-name');
  });

  it('refuses a bad body with the error catalogue', async () => {
    const { status, body } = await agent.post('/api/register', { name: '' });
    expect(status).toBe(400);
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.message).toContain('name');
  });

  it('stops: no more heartbeats, so the hub marks the agent inactive; starts again: active', async () => {
    const stopped = await agent.post('/api/stop');
    expect(stopped.status).toBe(200);
    expect(stopped.body.working).toBe(false);
    await eventually('the hub to mark the agent inactive', async () => ((await hubApi.agent(agent.nodeId)).active ? undefined : true));

    const started = await agent.post('/api/start');
    expect(started.body.working).toBe(true);
    await eventually('the hub to see the agent again', async () => ((await hubApi.agent(agent.nodeId)).active ? true : undefined));
  });

  it('submits a task signed with the agent key, runs it, and lists it as the agent owner\'s', async () => {
    const submitted = await agent.post('/api/tasks', { image: TEST_IMAGE, command: ['echo', 'from the page'], minTrust: 0 });
    expect(submitted.status).toBe(202);
    expect(submitted.body.task.submitter).toBe(agent.nodeId);
    const done = await hubApi.waitForTask(submitted.body.task.id, (t) => t.status === 'validated', { timeoutMs: 30_000 });
    expect(done.result?.text).toBe('from the page\n');

    const listed = (await (await fetch(`${agent.controlUrl}/api/tasks`)).json()) as { tasks: { id: string }[] };
    expect(listed.tasks.map((t) => t.id)).toContain(done.id);
    const status = await agent.status();
    expect(status.last).toMatchObject({ taskId: done.id, outcome: 'ok', exitCode: 0, delivered: true });
  });

  it('answers only requests addressed to a loopback name from a loopback page', async () => {
    const rebound = await rawGet(`${agent.controlUrl}/api/status`, { host: 'attacker.example:7070' });
    expect(rebound.status).toBe(403);
    expect(rebound.body.error.code).toBe('FORBIDDEN_HOST');
    const crossSite = await rawGet(`${agent.controlUrl}/api/status`, { origin: 'https://attacker.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.body.error.code).toBe('FORBIDDEN_ORIGIN');
    const samePage = await rawGet(`${agent.controlUrl}/api/status`, { origin: agent.controlUrl });
    expect(samePage.status).toBe(200);
  });

  it('answers an unknown route with the catalogue\'s 404', async () => {
    const res = await fetch(`${agent.controlUrl}/api/nothing`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
  });
});

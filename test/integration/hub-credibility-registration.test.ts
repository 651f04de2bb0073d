// Registration gates through the real hub process: a proof of work new keys must pay
// (--registration-pow-bits), solved by the agent's own hub client, and the operator's approval of
// new agents (--approve-agents) through the loopback admin route and the data dir's token; and
// placement diversity (--placement-diversity) by the address block agents registered from.
import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHubClient } from '../../agent/hub-client.ts';
import type { AgentView } from '../../hub/engine-types.ts';
import { powSolves } from '../../protocol/pow.ts';
import { expectStatus, HubClient, type HubProcess, sleep, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

let dir: string;
const hubs: HubProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-hub-registration-'));
});

afterAll(async () => {
  await Promise.all(hubs.map((h) => h.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function hubWith(name: string, args: string[]): Promise<HubClient> {
  const hub = await startHubProcess({ dataDir: join(dir, name), args: ['--tick-ms', '50', ...args] });
  hubs.push(hub);
  return new HubClient(hub.url);
}

type Challenge = { challenge: string; bits: number; expiresAt: number };

function registerWith(agent: TestAgent, pow?: { challenge: string; nonce: string; bits: number }) {
  const body = { name: agent.name, resources: agent.resources, software: 'dcloud-test-agent/1', ...(pow === undefined ? {} : { pow }) };
  return agent.hub.post<{ agent: AgentView; error?: { code: string } }>('/v1/agents/register', agent.seal('agent.register', body));
}

describe('registration proof of work', () => {
  it('refuses a new key without a solution or with a wrong one, and accepts the right one', async () => {
    const hub = await hubWith('pow', ['--registration-pow-bits', '12']);
    const agent = new TestAgent(hub);

    const none = await registerWith(agent);
    expect(none.status).toBe(401);
    expect(none.body.error?.code).toBe('POW_REQUIRED');

    const { challenge, bits } = expectStatus('challenge', await hub.get<Challenge>('/v1/agents/challenge'), 200);
    expect(bits).toBe(12);
    let wrong = 0;
    while (powSolves(challenge, agent.signer.publicKeyHex, String(wrong), bits)) wrong++;
    const bad = await registerWith(agent, { challenge, nonce: String(wrong), bits });
    expect(bad.status).toBe(403);
    expect(bad.body.error?.code).toBe('POW_INVALID');

    // A challenge the hub did not make (its tag is wrong) is refused even with a "solution".
    const forged = `${challenge.slice(0, challenge.lastIndexOf('.'))}.${'0'.repeat(32)}`;
    let nonce = 0;
    while (!powSolves(forged, agent.signer.publicKeyHex, String(nonce), bits)) nonce++;
    expect((await registerWith(agent, { challenge: forged, nonce: String(nonce), bits })).body.error?.code).toBe('POW_INVALID');

    // Another key's solution does not serve this one: the hash binds the key.
    const other = new TestAgent(hub);
    let theirs = 0;
    while (!powSolves(challenge, other.signer.publicKeyHex, String(theirs), bits) || powSolves(challenge, agent.signer.publicKeyHex, String(theirs), bits)) theirs++;
    expect((await registerWith(agent, { challenge, nonce: String(theirs), bits })).status).toBe(403);

    let right = 0;
    while (!powSolves(challenge, agent.signer.publicKeyHex, String(right), bits)) right++;
    const ok = await registerWith(agent, { challenge, nonce: String(right), bits });
    expect(ok.status).toBe(201);
    // Known now: registering again (a restart of the agent) costs nothing.
    expect((await registerWith(agent)).status).toBe(200);
  });

  it('is solved by the agent\'s hub client when the hub asks', async () => {
    const hub = await hubWith('pow-client', ['--registration-pow-bits', '10']);
    const agent = new TestAgent(hub);
    const client = createHubClient(hub.url);
    const { agent: view, created } = await client.register((pow) =>
      agent.seal('agent.register', { name: 'solver', resources: agent.resources, software: 'dcloud-agent/test', ...(pow === undefined ? {} : { pow }) }),
    );
    expect(created).toBe(true);
    expect(view.id).toBe(agent.id);
  });

  it('hands out no challenge on a hub that asks for none', async () => {
    const hub = await hubWith('no-pow', []);
    const response = await hub.get<{ error: { code: string } }>('/v1/agents/challenge');
    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('POW_NOT_REQUIRED');
  });
});

describe('operator approval of new agents', () => {
  it('gives a pending agent no work until the operator approves it', async () => {
    const hub = await hubWith('approve', ['--approve-agents', '--validation-policy', 'trust-sum']);
    const agent = new TestAgent(hub);
    expect(await agent.register()).toMatchObject({ pending: true });
    const submitter = new TestAgent(hub);
    const task = await submitter.submitTask(taskSpec());
    await hub.waitForTask(task.id, (t) => t.status === 'in_queue');
    await sleep(300);
    expect(await agent.requestWork()).toBeNull();
    expect((await hub.task(task.id)).assignments).toEqual([]);

    const path = `/v1/admin/agents/${agent.id}/approve`;
    const noToken = await hub.post<{ error: { code: string } }>(path, {});
    expect(noToken.status).toBe(401);
    expect(noToken.body.error.code).toBe('UNAUTHORIZED');
    expect((await hub.post<{ error: { code: string } }>(path, {}, { authorization: `Bearer ${'0'.repeat(64)}` })).status).toBe(401);

    const token = (await readFile(join(dir, 'approve', 'admin.token'), 'utf8')).trim();
    const approved = expectStatus('approve', await hub.post<{ agent: AgentView }>(path, {}, { authorization: `Bearer ${token}` }), 200);
    expect(approved.agent.pending).toBeUndefined();

    let grant = null;
    for (let i = 0; i < 100 && grant === null; i++) {
      grant = await agent.requestWork();
      if (grant === null) await sleep(50);
    }
    expect(grant?.body.taskId).toBe(task.id);
  });

  it('has no admin route on a hub that asks for no approval', async () => {
    const hub = await hubWith('no-approve', []);
    expect((await hub.post<{ error: { code: string } }>(`/v1/admin/agents/${'a'.repeat(32)}/approve`, {})).status).toBe(404);
  });
});

describe('placement diversity', () => {
  it('never puts two replicas of a task in one address block, nor on its submitter\'s key', async () => {
    // Listening on every address: agents reach it over 127.0.0.1 (block 127.0.0.0/24) and ::1 (another block).
    const running = await startHubProcess({ dataDir: join(dir, 'diverse'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--http', '[::]:0', '--placement-diversity'] });
    hubs.push(running);
    const v4 = new HubClient(`http://127.0.0.1:${running.port}`);
    const v6 = new HubClient(`http://[::1]:${running.port}`);
    const [a, b, c] = [new TestAgent(v4, { name: 'v4-a' }), new TestAgent(v4, { name: 'v4-b' }), new TestAgent(v6, { name: 'v6-c' })];
    for (const agent of [a, b, c]) await agent.register();

    // a submits: two replicas wanted; a is the submitter, b and c are in different blocks.
    const own = await a.submitTask(taskSpec({ overlap: 2, description: 'own' }));
    const placed = await v4.waitForTask(own.id, (t) => t.assignments.length === 2);
    expect(placed.assignments.map((x) => x.agentId).sort()).toEqual([b.id, c.id].sort());

    // Another submitter, three tasks: a and b share a block, so each goes to c and one of them, never to a with b.
    const submitter = new TestAgent(v4, { name: 'submitter' });
    for (let i = 0; i < 3; i++) {
      const task = await submitter.submitTask(taskSpec({ overlap: 2, description: `pair ${i}` }));
      const view = await v4.waitForTask(task.id, (t) => t.assignments.length === 2);
      const holders = view.assignments.map((x) => x.agentId);
      expect(holders).toContain(c.id);
      expect(holders.filter((id) => id === a.id || id === b.id)).toHaveLength(1);
    }
    // Three replicas cannot be placed on two blocks: the task waits.
    const three = await submitter.submitTask(taskSpec({ overlap: 3, description: 'three' }));
    await v4.waitForTask(three.id, (t) => t.status === 'in_queue');
    await sleep(300);
    expect((await v4.task(three.id)).assignments).toEqual([]);
  });
});

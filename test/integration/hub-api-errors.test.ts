// Bad input against a real hub process: every refusal is a 4xx with the JSON error body, the hub
// keeps serving, and what it stores is unchanged.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../protocol/index.ts';
import type { TaskView } from '../../hub/engine-types.ts';
import { type ApiResponse, HubClient, type HubProcess, sleep, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

let dataDir: string;
let hub: HubProcess;
let client: HubClient;
let agent: TestAgent;
let other: TestAgent;
/** A task validated by `agent` alone, so its assignment is closed. */
let decided: TaskView;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'dcloud-hub-errors-'));
  hub = await startHubProcess({ dataDir, args: ['--tick-ms', '50', '--validation-policy', 'trust-sum'] });
  client = new HubClient(hub.url);
  agent = new TestAgent(client, { name: 'honest' });
  other = new TestAgent(client, { name: 'other' });
  await agent.register();
  const task = await new TestAgent(client).submitTask(taskSpec());
  const grant = await pollWork(agent);
  expect(grant.taskId).toBe(task.id);
  await agent.postResult(grant, { stdout: '42\n', exitCode: 0 });
  decided = await client.waitForTask(task.id, (t) => t.status === 'validated');
  // Registered only now, so the task above could only go to `agent`.
  await other.register();
});

afterAll(async () => {
  await hub?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function pollWork(who: TestAgent, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    await who.heartbeat();
    const grant = await who.requestWork();
    if (grant !== null) return grant.body;
    await sleep(50);
  }
  throw new Error(`no work for ${who.name}`);
}

/** Everything the hub would show about the state this file touches. */
async function snapshot() {
  const [network, task, a, b] = await Promise.all([
    client.get('/v1/network'),
    client.get(`/v1/tasks/${decided.id}`),
    client.get(`/v1/agents/${agent.id}`),
    client.get(`/v1/agents/${other.id}`),
  ]);
  return { network: network.body, task: task.body, agent: a.body, other: b.body };
}

/**
 * Sends a bad request and checks the contract: the status and code expected, the JSON error
 * body, a hub that still answers, and stored state as it was.
 */
async function refused(send: () => Promise<ApiResponse>, status: number, code: string): Promise<string> {
  const before = await snapshot();
  const response = await send();
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toEqual({ error: { code, message: expect.any(String) } });
  const message = (response.body as { error: { message: string } }).error.message;
  expect(message.length).toBeGreaterThan(0);
  expect((await client.get('/healthz')).status).toBe(200);
  // Heartbeat times move only with accepted heartbeats, which none of these are.
  expect(await snapshot()).toEqual(before);
  return message;
}

function flipLastHex(hex: string): string {
  return hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');
}

describe('hub API refuses bad envelopes', () => {
  it('refuses an unsigned envelope (no sig) naming the field', async () => {
    const { payload } = agent.heartbeatEnvelope();
    const message = await refused(() => client.post('/v1/agents/heartbeat', { payload }), 400, 'VALIDATION_FAILED');
    expect(message).toMatch(/sig/);
  });

  it('refuses a forged signature, an altered payload and a borrowed signer', async () => {
    const genuine = agent.heartbeatEnvelope();
    await refused(() => client.post('/v1/agents/heartbeat', { ...genuine, sig: flipLastHex(genuine.sig) }), 400, 'ENVELOPE_BAD_SIGNATURE');
    const altered = genuine.payload.replace('"cpu":4', '"cpu":3');
    expect(altered).not.toBe(genuine.payload);
    await refused(() => client.post('/v1/agents/heartbeat', { ...genuine, payload: altered }), 400, 'ENVELOPE_BAD_SIGNATURE');
    // `other` signs a heartbeat that claims to come from `agent`.
    const claimed = other.heartbeatEnvelope().payload.replace(other.signer.publicKeyHex, agent.signer.publicKeyHex);
    const forged: Envelope = { payload: claimed, sig: Buffer.from(other.signer.sign(Buffer.from(`dcloud/v1/agent.heartbeat\n${claimed}`))).toString('hex') };
    await refused(() => client.post('/v1/agents/heartbeat', forged), 400, 'ENVELOPE_BAD_SIGNATURE');
  });

  it('refuses a replayed envelope', async () => {
    const envelope = agent.heartbeatEnvelope();
    expect((await client.post('/v1/agents/heartbeat', envelope)).status).toBe(200);
    await refused(() => client.post('/v1/agents/heartbeat', envelope), 400, 'ENVELOPE_REPLAYED');
  });

  it('refuses expired and future-dated envelopes', async () => {
    const stale = agent.seal('agent.heartbeat', { total: agent.resources, free: agent.resources, running: [] }, { now: Date.now() - 10 * 60_000 });
    await refused(() => client.post('/v1/agents/heartbeat', stale), 400, 'ENVELOPE_STALE');
    const future = agent.seal('agent.heartbeat', { total: agent.resources, free: agent.resources, running: [] }, { now: Date.now() + 10 * 60_000 });
    await refused(() => client.post('/v1/agents/heartbeat', future), 400, 'ENVELOPE_FUTURE');
  });

  it('refuses an envelope of the wrong type for the route', async () => {
    await refused(() => client.post('/v1/agents/heartbeat', agent.workEnvelope()), 400, 'ENVELOPE_WRONG_TYPE');
  });

  it('refuses a heartbeat from a key that never registered', async () => {
    const stranger = new TestAgent(client);
    await refused(() => client.post('/v1/agents/heartbeat', stranger.heartbeatEnvelope()), 404, 'AGENT_NOT_REGISTERED');
  });
});

describe('hub API refuses bad results', () => {
  it('refuses a result for another agent\'s assignment', async () => {
    const assignment = decided.assignments[0]!;
    const stolen = other.resultEnvelope({ assignmentId: assignment.id, taskId: decided.id }, { stdout: 'evil\n', exitCode: 0 });
    await refused(() => client.post('/v1/results', stolen), 403, 'NOT_YOUR_ASSIGNMENT');
  });

  it('refuses a result for an unknown assignment', async () => {
    const unknown = agent.resultEnvelope({ assignmentId: randomBytes(32).toString('hex'), taskId: decided.id }, { stdout: '42\n', exitCode: 0 });
    await refused(() => client.post('/v1/results', unknown), 404, 'ASSIGNMENT_NOT_FOUND');
  });

  it('counts a duplicate result once and refuses a different second answer', async () => {
    const assignment = { assignmentId: decided.assignments[0]!.id, taskId: decided.id };
    const before = await snapshot();
    const again = await client.post<{ duplicate: boolean; task: TaskView }>('/v1/results', agent.resultEnvelope(assignment, { stdout: '42\n', exitCode: 0 }));
    expect(again.status).toBe(200);
    expect(again.body.duplicate).toBe(true);
    expect(await snapshot()).toEqual(before); // trust and stats moved once, not twice
    await refused(() => client.post('/v1/results', agent.resultEnvelope(assignment, { stdout: '43\n', exitCode: 0 })), 409, 'RESULT_CONFLICT');
  });

});

describe('hub API refuses a result that comes too late', () => {
  let quick: HubProcess;
  let quickDir: string;

  beforeAll(async () => {
    quickDir = await mkdtemp(join(tmpdir(), 'dcloud-hub-expiry-'));
    // A short heartbeat timeout: an agent that goes silent loses its assignment within seconds.
    quick = await startHubProcess({ dataDir: quickDir, args: ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--heartbeat-interval-ms', '300', '--heartbeat-timeout-ms', '1000'] });
  });

  afterAll(async () => {
    await quick?.stop();
    await rm(quickDir, { recursive: true, force: true });
  });

  it('refuses a result for an assignment that expired when its agent went silent', async () => {
    const api = new HubClient(quick.url);
    const quiet = new TestAgent(api, { name: 'quiet' });
    await quiet.register();
    const task = await new TestAgent(api).submitTask(taskSpec({ command: ['echo', 'quiet'] }));
    const grant = await pollWork(quiet);
    expect(grant.taskId).toBe(task.id);
    // No heartbeat for longer than the timeout: the agent goes inactive, its assignment expires.
    await api.waitForTask(task.id, (t) => t.assignments.some((a) => a.id === grant.assignmentId && a.status === 'expired'), { timeoutMs: 10_000 });
    const late = await api.post('/v1/results', quiet.resultEnvelope(grant, { stdout: 'quiet\n', exitCode: 0 }));
    expect(late.status).toBe(409);
    expect(late.body).toEqual({ error: { code: 'ASSIGNMENT_CLOSED', message: expect.stringMatching(/expired/) } });
    // The refused result counted for nothing.
    const after = await api.task(task.id);
    expect(after.assignments.find((a) => a.id === grant.assignmentId)?.status).toBe('expired');
    expect(after.status).not.toBe('validated');
    expect((await api.agent(quiet.id)).stats).toEqual({ valid: 0, invalid: 0, consecutiveValid: 0 });
  });
});

describe('hub API refuses bad requests', () => {
  it('answers malformed JSON with 400 MALFORMED_JSON', async () => {
    await refused(() => client.post('/v1/agents/heartbeat', '{"payload": '), 400, 'MALFORMED_JSON');
    await refused(() => client.post('/v1/tasks', ''), 400, 'MALFORMED_JSON');
  });

  it('answers wrong types and missing fields with 400 VALIDATION_FAILED naming the field', async () => {
    expect(await refused(() => client.post('/v1/agents/heartbeat', { payload: 5, sig: 'x' }), 400, 'VALIDATION_FAILED')).toMatch(/payload/);
    expect(await refused(() => client.post('/v1/tasks', { registryAuth: { username: 'u', password: 'p' } }), 400, 'VALIDATION_FAILED')).toMatch(/task/);
    const envelope = agent.taskEnvelope(taskSpec());
    expect(await refused(() => client.post('/v1/tasks', { task: envelope, registryAuth: { username: 'u' } }), 400, 'VALIDATION_FAILED')).toMatch(
      /registryAuth\/password/,
    );
    expect(await refused(() => client.post('/v1/tasks', { task: envelope, extra: 1 }), 400, 'VALIDATION_FAILED')).toMatch(/extra/);
    expect(await refused(() => client.get('/v1/tasks?limit=0'), 400, 'VALIDATION_FAILED')).toMatch(/limit/);
    expect(await refused(() => client.get('/v1/tasks?status=done'), 400, 'VALIDATION_FAILED')).toMatch(/status/);
  });

  it('never echoes registry credentials in an error', async () => {
    const password = `secret-${randomBytes(8).toString('hex')}`;
    const response = await client.post('/v1/tasks', { task: { payload: 'x', sig: 'y' }, registryAuth: { username: 'u', password } });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).not.toContain(password);
    expect(hub.output()).not.toContain(password);
  });

  it('answers bodies over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const big = { payload: 'x'.repeat(600 * 1024), sig: '0'.repeat(128) };
    await refused(() => client.post('/v1/agents/heartbeat', big), 413, 'PAYLOAD_TOO_LARGE');
    // Results may be larger (up to 2 MiB of body)...
    const assignment = { assignmentId: decided.assignments[0]!.id, taskId: decided.id };
    const stdout = 'A'.repeat(1_200_000); // valid base64, but over the 1 MiB cap of a result payload
    const result = agent.sealUnchecked('result', { ...assignment, outcome: 'ok', exitCode: 0, digest: '0'.repeat(64), stdout, stderr: '', truncated: true, durationMs: 1 });
    await refused(() => client.post('/v1/results', result), 400, 'ENVELOPE_OVERSIZED');
    // ...but not without bound.
    const huge = { payload: 'x'.repeat(3 * 1024 * 1024), sig: '0'.repeat(128) };
    await refused(() => client.post('/v1/results', huge), 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers an unsupported media type with 415 and an unknown route with 404', async () => {
    await refused(() => client.post('/v1/agents/heartbeat', 'payload=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    await refused(() => client.get('/v1/nothing-here'), 404, 'NOT_FOUND');
    await refused(() => client.get(`/v1/tasks/${'a'.repeat(64)}`), 404, 'TASK_NOT_FOUND');
    await refused(() => client.get(`/v1/agents/${'b'.repeat(32)}`), 404, 'AGENT_NOT_REGISTERED');
  });

  it('refuses a task asking for zero or negative resources, even correctly signed', async () => {
    for (const absurd of [{ cpu: 0 }, { cpu: -1 }, { ramGb: -2 }, { overlap: 0 }, { timeoutS: 0 }]) {
      const envelope = agent.sealUnchecked('task.spec', { ...taskSpec(), ...absurd });
      expect(await refused(() => client.post('/v1/tasks', { task: envelope }), 400, 'ENVELOPE_INVALID_BODY')).toMatch(
        new RegExp(Object.keys(absurd)[0]!),
      );
    }
  });
});

describe('hub API rate limits', () => {
  let limited: HubProcess;
  let limitedDir: string;

  beforeAll(async () => {
    limitedDir = await mkdtemp(join(tmpdir(), 'dcloud-hub-limits-'));
    limited = await startHubProcess({ dataDir: limitedDir, args: ['--validation-policy', 'trust-sum', '--rate-limit-key', '5', '--rate-limit-address', '40'] });
  });

  afterAll(async () => {
    await limited?.stop();
    await rm(limitedDir, { recursive: true, force: true });
  });

  it('answers 429 RATE_LIMITED per signing key, then per address', async () => {
    const api = new HubClient(limited.url);
    const busy = new TestAgent(api);
    const calm = new TestAgent(api);
    await busy.register();
    await calm.register();
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await api.post('/v1/agents/heartbeat', busy.heartbeatEnvelope())).status);
    // register + 4 heartbeats fit in 5; the fifth heartbeat is one too many for this key.
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    const limitedAnswer = await api.post('/v1/agents/heartbeat', busy.heartbeatEnvelope());
    expect(limitedAnswer.status).toBe(429);
    expect(limitedAnswer.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringMatching(/signing key/) } });
    // Another key from the same address is still served.
    expect((await api.post('/v1/agents/heartbeat', calm.heartbeatEnvelope())).status).toBe(200);

    let answer: ApiResponse = { status: 0, body: null };
    for (let i = 0; i < 40 && answer.status !== 429; i++) answer = await api.get('/v1/network');
    expect(answer.status).toBe(429);
    expect(answer.body).toEqual({ error: { code: 'RATE_LIMITED', message: expect.stringMatching(/address/) } });
  });
});

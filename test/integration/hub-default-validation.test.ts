// The hub's default validation, through real processes and the HTTP API: with no validation flag a
// hub runs the credibility policy; an agent its operator vouches for (--trusted-agents) has its
// result accepted alone on a fresh hub, and loses that standing when caught lying; a hub whose
// spot-check image cannot be pulled says so on GET /v1/network, in its log and in the reason of
// every waiting task, and hands out no known-answer task; `dcloud up` validates the README's
// `echo 42` with its one agent and no internet.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkView, TaskView } from '../../hub/engine-types.ts';
import { createSigner, generateKeyPair } from '../../keys/index.ts';
import { eventually, runDcloud } from '../support/agent-process.ts';
import { OPEN_IMAGE, OPEN_REGISTRY, TEST_IMAGE } from '../support/env.ts';
import { expectStatus, HubClient, type HubProcess, LISTENING_LINE, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

const BIN = fileURLToPath(new URL('../../bin/dcloud.js', import.meta.url));

let dir: string;
const hubs: HubProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-hub-default-validation-'));
});

afterAll(async () => {
  await Promise.all(hubs.map((h) => h.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** A hub with no --validation-policy: whatever the default is. */
async function defaultHub(name: string, args: string[]): Promise<{ hub: HubProcess; client: HubClient }> {
  const hub = await startHubProcess({ dataDir: join(dir, name), args: ['--tick-ms', '50', ...args] });
  hubs.push(hub);
  return { hub, client: new HubClient(hub.url) };
}

async function network(client: HubClient): Promise<NetworkView> {
  return expectStatus('GET /v1/network', await client.get<NetworkView>('/v1/network'), 200);
}

/** The token of a spot-check's `sh -c 'echo <token>'`, or undefined for other work. */
function spotCheckToken(command: readonly string[]): string | undefined {
  if (command[0] !== 'sh' || command[1] !== '-c') return undefined;
  return /^echo ([0-9a-f]{32})$/.exec(command[2] ?? '')?.[1];
}

/** One work request, answered as its command asks (a user task's `echo 42`), or with a lie to a spot-check when told. */
async function serve(agent: TestAgent, behaviour: { lie?: boolean } = {}): Promise<{ kind: 'spot-check' | 'task'; taskId: string } | null> {
  const grant = await agent.requestWork();
  if (grant === null) return null;
  const token = spotCheckToken(grant.body.spec.command);
  const stdout = token === undefined ? '42\n' : behaviour.lie === true ? 'not the token\n' : `${token}\n`;
  await agent.postResult(grant.body, { stdout, exitCode: 0 });
  return { kind: token === undefined ? 'task' : 'spot-check', taskId: grant.body.taskId };
}

describe('the hub\'s default validation policy', () => {
  it('is credibility: a trusted agent\'s result is accepted alone on a fresh hub, a stranger starts on probation', async () => {
    const pair = generateKeyPair();
    const trustedId = createSigner(pair).nodeId;
    const { client } = await defaultHub('trusted', ['--spot-check-image', OPEN_IMAGE, '--trusted-agents', trustedId]);
    const validation = (await network(client)).validation;
    expect(validation).toMatchObject({ policy: 'credibility', trustedAgents: 1, spotCheck: { image: OPEN_IMAGE } });
    await eventually('the spot-check image validated', async () => ((await network(client)).validation?.spotCheck?.status === 'ready' ? true : undefined));

    const trusted = new TestAgent(client, { pair });
    const registered = await trusted.register();
    expect(registered.stats).toMatchObject({ consecutiveValid: 20, vouched: true, valid: 0, invalid: 0 });
    const stranger = new TestAgent(client);
    expect((await stranger.register()).stats).toEqual({ valid: 0, invalid: 0, consecutiveValid: 0 });

    const submitted = await new TestAgent(client).submitTask(taskSpec());
    await eventually('the task pending', async () => ((await client.task(submitted.id)).status === 'validating' ? undefined : true));
    // The stranger, on probation, gets known-answer tasks only, never the user's task.
    expect((await serve(stranger))?.kind).toBe('spot-check');

    let task: TaskView | undefined;
    for (let i = 0; i < 200 && task?.status !== 'validated'; i++) {
      await serve(trusted); // a spot-check now and then (5%), the user's task when it comes
      task = await client.task(submitted.id);
      if (task.status !== 'validated') await new Promise((r) => setTimeout(r, 20));
    }
    expect(task?.status, JSON.stringify(task)).toBe('validated');
    expect(task?.result?.text).toBe('42\n');
    // One replica, on the trusted agent: accepted on its word, not held for a cross-check.
    expect(task?.assignments.map((a) => a.agentId)).toEqual([trustedId]);
    const decision = task?.decisions?.at(-1);
    expect(decision).toMatchObject({ policy: 'credibility', outcome: 'validated' });
    expect(JSON.stringify(decision)).toContain(trustedId);
    // A result resting on one word earns nothing: the grant is what it had.
    const after = await client.agent(trustedId);
    expect(after.stats.vouched).toBe(true);
    expect(after.stats.consecutiveValid).toBeGreaterThanOrEqual(20);
  });

  it('takes a trusted agent\'s standing away at once when it is caught lying on a spot-check', async () => {
    const pair = generateKeyPair();
    const trustedId = createSigner(pair).nodeId;
    const { client } = await defaultHub('liar', ['--spot-check-image', OPEN_IMAGE, '--trusted-agents', trustedId, '--credibility-spot-check-rate', '0.9']);
    await eventually('the spot-check image validated', async () => ((await network(client)).validation?.spotCheck?.status === 'ready' ? true : undefined));
    const trusted = new TestAgent(client, { pair });
    await trusted.register();
    let lied = false;
    for (let i = 0; i < 100 && !lied; i++) lied = (await serve(trusted, { lie: true }))?.kind === 'spot-check';
    expect(lied).toBe(true);
    const caught = await client.agent(trustedId);
    expect(caught.stats).toMatchObject({ vouched: false, consecutiveValid: 0, spotChecksFailed: 1 });
    // A proven liar gets no more work, whatever the operator's list says.
    const submitted = await new TestAgent(client).submitTask(taskSpec());
    await eventually('the task pending', async () => ((await client.task(submitted.id)).status === 'validating' ? undefined : true));
    await new Promise((r) => setTimeout(r, 200));
    expect(await trusted.requestWork()).toBeNull();
    expect((await client.task(submitted.id)).status).not.toBe('validated');
  });

  it('vouches for an agent listed after it registered at the next start, and withdraws when it is no longer listed', async () => {
    const pair = generateKeyPair();
    const id = createSigner(pair).nodeId;
    const dataDir = join(dir, 'relisted');
    const base = ['--tick-ms', '50', '--spot-check-image', OPEN_IMAGE];
    let hub = await startHubProcess({ dataDir, args: base });
    hubs.push(hub);
    const agent = new TestAgent(hub.url, { pair });
    expect((await agent.register()).stats.consecutiveValid).toBe(0);
    await hub.stop();
    hub = await startHubProcess({ dataDir, port: hub.port, args: [...base, '--trusted-agents', id] });
    hubs.push(hub);
    expect((await agent.hub.agent(id)).stats).toMatchObject({ consecutiveValid: 20, vouched: true });
    await hub.stop();
    hub = await startHubProcess({ dataDir, port: hub.port, args: base });
    hubs.push(hub);
    // The grant and the run with it: the record cannot be told apart from the grant.
    expect((await agent.hub.agent(id)).stats).toEqual({ valid: 0, invalid: 0, consecutiveValid: 0 });
  });

  it('says, wherever people look, that its spot-check image cannot be pulled, and hands out no known-answer task', async () => {
    const missing = `${OPEN_REGISTRY}/dcloud/no-such-image:1`;
    const { hub, client } = await defaultHub('unusable', ['--spot-check-image', missing]);
    const unusable = await eventually('the spot-check image judged', async () => {
      const spotCheck = (await network(client)).validation?.spotCheck;
      return spotCheck?.status === 'unusable' ? spotCheck : undefined;
    });
    expect(unusable.image).toBe(missing);
    expect(unusable.reason).toMatch(/no-such-image/);
    expect((await network(client)).validation?.policy).toBe('credibility');
    // The operator's log has it at error level (pino level 50).
    await eventually('the error in the log', () => (/"level":50.*spot-check image .*no-such-image.* is unusable/.test(hub.output()) ? true : undefined));

    const agent = new TestAgent(client);
    await agent.register();
    // No spot-check (its image would fail on the agent too), and no user task for an agent on probation.
    expect(await agent.requestWork()).toBeNull();
    const submitted = await new TestAgent(client).submitTask(taskSpec());
    const waiting = await eventually('the task waiting with its reason', async () => {
      const task = await client.task(submitted.id);
      return task.status === 'pending' || task.status === 'in_queue' ? task : undefined;
    });
    expect(waiting.reason).toMatch(/may not run users' tasks yet/);
    expect(waiting.reason).toMatch(/cannot run spot-checks: its spot-check image .*no-such-image.* is unusable/);
    expect(waiting.reason).toMatch(/--trusted-agents/);
  });

  it('runs with no validation flag at all: credibility, spot-checks on Docker Hub\'s busybox', async () => {
    const { client } = await defaultHub('bare', []);
    const validation = (await network(client)).validation;
    expect(validation).toMatchObject({ policy: 'credibility', trustedAgents: 0, spotCheck: { image: 'busybox:1.36' } });
  });
});

describe('dcloud up', () => {
  let up: ChildProcess | undefined;

  afterAll(async () => {
    if (up !== undefined && up.exitCode === null && up.signalCode === null) {
      up.kill('SIGTERM');
      await once(up, 'exit');
    }
  });

  it('validates the README\'s echo 42 with its one local agent, under the credibility policy, offline', async () => {
    const data = join(dir, 'up');
    up = spawn(process.execPath, [BIN, 'up', '--data', data, '--http', '127.0.0.1:0', '--no-ui'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    up.stdout!.on('data', (c: Buffer) => (output += c.toString()));
    up.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    const url = await eventually('dcloud up listening', () => LISTENING_LINE.exec(output)?.[1]);
    const client = new HubClient(url);
    const agentId = await eventually('the local agent working', () => /dcloud agent ([0-9a-f]{32}) working for/.exec(output)?.[1]);

    const run = await runDcloud(['submit', '--hub', url, '--image', TEST_IMAGE, '--key', join(dir, 'user.key'), '--wait', '--', 'echo', '42']);
    expect(run.code, `${run.stdout}\n${run.stderr}\n${output}`).toBe(0);
    expect(run.stdout).toContain('42');

    const validation = (await network(client)).validation;
    expect(validation).toMatchObject({ policy: 'credibility', trustedAgents: 1, spotCheck: { image: TEST_IMAGE, status: 'ready' } });
    const agent = await client.agent(agentId);
    expect(agent.stats.vouched).toBe(true);
    expect(output).not.toMatch(/"level":50/);
  });
});

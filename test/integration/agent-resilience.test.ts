// An agent process and a hub process, both real, through the failures the journal exists for:
// the hub gone while a task runs, and the agent killed while a task runs.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../keys/index.ts';
import { type AgentProcess, eventually, startAgentProcess } from '../support/agent-process.ts';
import { docker, TEST_IMAGE } from '../support/env.ts';
import { HubClient, type HubProcess, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

let dir: string;
const processes: Array<HubProcess | AgentProcess> = [];
const engine = docker();

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-agent-resilience-'));
});

afterEach(async () => {
  for (const p of processes.splice(0).reverse()) await p.stop();
  await rm(dir, { recursive: true, force: true });
});

async function hubProcess(port = 0): Promise<HubProcess> {
  const hub = await startHubProcess({ dataDir: join(dir, 'hub'), port, args: ['--tick-ms', '50', '--validation-policy', 'trust-sum'] });
  processes.push(hub);
  return hub;
}

async function agentProcess(hubUrl: string): Promise<AgentProcess> {
  const agent = await startAgentProcess({ hubs: [hubUrl], dataDir: join(dir, 'agent') });
  processes.push(agent);
  return agent;
}

/** A submitter with its own key (TestAgent speaks the protocol; it is not an agent here). */
function submitter(hubUrl: string): TestAgent {
  return new TestAgent(hubUrl, { pair: generateKeyPair() });
}

describe('an agent whose hub goes away', () => {
  it('keeps the finished result and delivers it when the hub is back', async () => {
    let hub = await hubProcess();
    const agent = await agentProcess(hub.url);
    const task = await submitter(hub.url).submitTask(taskSpec({ image: TEST_IMAGE, command: ['sh', '-c', 'sleep 2; echo survived'], minTrust: 0 }));
    await eventually('the task to run', async () => ((await agent.status()).running.length > 0 ? true : undefined));

    // The hub dies while the task runs.
    await hub.kill();
    const finished = await eventually('the task to finish with nobody to tell', async () => {
      const s = await agent.status();
      return s.last !== null && s.hubs[0]!.pendingResults === 1 ? s : undefined;
    });
    expect(finished.last).toMatchObject({ taskId: task.id, outcome: 'ok', delivered: false });
    expect(await readdir(join(dir, 'agent', 'journal'))).toHaveLength(1);

    // The same hub (its store, its port) comes back; the agent's retries find it.
    hub = await hubProcess(hub.port);
    const validated = await new HubClient(hub.url).waitForTask(task.id, (t) => t.status === 'validated', { timeoutMs: 30_000 });
    expect(validated.result?.text).toBe('survived\n');
    await eventually('the journal to empty', async () => ((await readdir(join(dir, 'agent', 'journal'))).length === 0 ? true : undefined));
    expect((await agent.status()).last?.delivered).toBe(true);
  });
});

describe('an agent killed in the middle of a task', () => {
  it('reports that assignment once, as a failure, after removing its container; the task is retried and validated', async () => {
    const hub = await hubProcess();
    const first = await startAgentProcess({ hubs: [hub.url], dataDir: join(dir, 'agent') });
    const task = await submitter(hub.url).submitTask(taskSpec({ image: TEST_IMAGE, command: ['sh', '-c', 'sleep 4; echo 42'], minTrust: 0 }));
    const run = await eventually('the task to run', async () => (await first.status()).running[0]);
    expect(run.taskId).toBe(task.id);
    // The agent reports the task running as soon as it takes it; kill it once its container exists.
    const byAssignment = { all: true, filters: { label: [`dcloud.assignment=${run.assignmentId}`] } };
    await eventually('the task container to be created', async () => ((await engine.listContainers(byAssignment)).length > 0 ? true : undefined));
    await first.kill();
    // Its container outlived it.
    expect(await engine.listContainers(byAssignment)).toHaveLength(1);

    const second = await agentProcess(hub.url);
    expect(second.nodeId).toBe(first.nodeId);
    const done = await new HubClient(hub.url).waitForTask(task.id, (t) => t.status === 'validated', { timeoutMs: 40_000 });
    expect(done.result?.text).toBe('42\n');

    const interrupted = done.assignments.find((a) => a.id === run.assignmentId);
    expect(interrupted).toMatchObject({ status: 'failed' });
    expect(interrupted?.reason).toContain('agent restarted during execution');
    // Reported exactly once, never run again under the same assignment.
    const log = second.output();
    expect(log.split('reporting it as failed').length - 1).toBe(1);
    expect(log.split(`"assignment":"${run.assignmentId}"`).length - 1).toBe(2); // the recovery line and the delivery line
    expect(log).toContain('removed containers a previous run left behind');
    expect(await engine.listContainers(byAssignment)).toEqual([]);
    // The retry ran as a new assignment.
    expect(done.assignments.filter((a) => a.status === 'reported').map((a) => a.id)).not.toContain(run.assignmentId);
  });
});

// End to end, all real: an agent is SIGKILLed in the middle of a task; the hub notices it went
// silent, gives its replica to the third agent, and the task still ends validated.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, eventually, runDcloud, startAgentProcess } from '../support/agent-process.ts';
import { TEST_IMAGE } from '../support/env.ts';
import { HubClient, type HubProcess, startHubProcess } from '../support/test-agent.ts';

let dir: string;
let hub: HubProcess;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-e2e-crash-'));
  // A silent agent is inactive after 1.5 s, and its open assignments are reassigned.
  hub = await startHubProcess({ dataDir: join(dir, 'hub'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--heartbeat-interval-ms', '300', '--heartbeat-timeout-ms', '1500'] });
  for (let i = 0; i < 3; i++) agents.push(await startAgentProcess({ hubs: [hub.url], dataDir: join(dir, `agent-${i}`) }));
  await eventually('three registered agents', async () => ((await Promise.all(agents.map((a) => a.status()))).every((s) => s.hubs[0]?.registered) ? true : undefined));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await hub?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('an agent killed mid-task', () => {
  it('does not stop the task from being validated, through reassignment', async () => {
    const submit = runDcloud([
      'submit', '--hub', hub.url, '--image', TEST_IMAGE, '--overlap', '2', '--wait', '--key', join(dir, 'user.key'),
      '--', 'sh', '-c', 'sleep 5; echo 42',
    ]);
    // The two agents that got a replica, once both are running it.
    const busy = await eventually('two agents running the task', async () => {
      const statuses = await Promise.all(agents.map((a) => a.status()));
      const running = agents.filter((_, i) => statuses[i]!.running.length > 0);
      return running.length === 2 ? running : undefined;
    });
    const victim = busy[0]!;
    const victimTask = (await victim.status()).running[0]!;
    await victim.kill();

    const run = await submit;
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/42\nvalidated/);

    const task = await new HubClient(hub.url).task(victimTask.taskId);
    const lost = task.assignments.find((a) => a.id === victimTask.assignmentId);
    expect(lost?.agentId).toBe(victim.nodeId);
    expect(['expired', 'failed']).toContain(lost?.status);
    const reported = task.assignments.filter((a) => a.status === 'reported');
    expect(reported).toHaveLength(2);
    expect(reported.map((a) => a.agentId)).not.toContain(victim.nodeId);
  });
});

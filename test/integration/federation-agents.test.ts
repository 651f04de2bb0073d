// The real thing across hubs: three federated hub processes, a real `dcloud agent` process attached
// to hub B only, running a real container; the task is submitted to hub A with `dcloud submit`,
// and A, B and C all show it validated with the agent's output.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, eventually, runDcloud, startAgentProcess } from '../support/agent-process.ts';
import { TEST_IMAGE } from '../support/env.ts';
import { federated, type FedHub, removeHubs, sameEverywhere, startFedHub, trustOn } from '../support/federation-hubs.ts';

const ARGS = ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--sync-interval-ms', '1000', '--heartbeat-interval-ms', '300', '--heartbeat-timeout-ms', '3000'];

let dir: string;
let A: FedHub;
let B: FedHub;
let C: FedHub;
let agent: AgentProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-fed-agents-'));
  A = await startFedHub('A', [], ARGS);
  [B, C] = await Promise.all([startFedHub('B', [A.address], ARGS), startFedHub('C', [A.address], ARGS)]);
  await federated([A, B, C]);
  agent = await startAgentProcess({ hubs: [B.process.url], dataDir: join(dir, 'agent'), args: ['--name', 'on-b'] });
  await eventually('the agent registered with B', async () => ((await agent!.status()).hubs[0]?.registered ? true : undefined));
}, 150_000);

afterAll(async () => {
  await agent?.stop();
  await removeHubs([A, B, C].filter(Boolean));
  await rm(dir, { recursive: true, force: true });
});

describe('a real agent across federated hubs', () => {
  it('runs a task submitted to A in a container on an agent attached only to B; A, B and C show it validated', async () => {
    // A and C know the agent through B's gossip only.
    for (const hub of [A, C]) await eventually(`${hub.name} knows the agent`, async () => ((await hub.client.get(`/v1/agents/${agent!.nodeId}`)).status === 200 ? true : undefined));

    const run = await runDcloud(['submit', '--hub', A.process.url, '--image', TEST_IMAGE, '--overlap', '1', '--wait', '--key', join(dir, 'user.key'), '--', 'echo', '42 across hubs']);
    expect(run.code).toBe(0);
    const [id, ...rest] = run.stdout.split('\n');
    expect(rest.join('\n')).toMatch(/^42 across hubs\nvalidated/);

    const views = await sameEverywhere(id!, [A, B, C]);
    for (const view of views) {
      expect(view.status).toBe('validated');
      expect(view.home).toBe(A.nodeId);
      expect(view.result?.text).toBe('42 across hubs\n');
      expect(view.assignments.map((a) => a.agentId)).toEqual([agent!.nodeId]);
    }
    // The agent ran it from B, the only hub it knows.
    const status = await agent!.status();
    expect(status.hubs).toHaveLength(1);
    expect(status.hubs[0]!.hubId).toBe(B.nodeId);
    // Its trust moved the same on every hub.
    const trust = await trustOn(A, [agent!.nodeId]);
    await eventually('trust the same everywhere', async () => {
      const all = await Promise.all([B, C].map((h) => trustOn(h, [agent!.nodeId])));
      return all.every((t) => JSON.stringify(t) === JSON.stringify(trust)) ? true : undefined;
    });
  }, 120_000);
});

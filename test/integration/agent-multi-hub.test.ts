// One agent process lending itself to two real hubs: a registration, a pinned key and a trust per
// hub, work from both, and one hub going down does not stall the other.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../keys/index.ts';
import { type AgentProcess, eventually, startAgentProcess } from '../support/agent-process.ts';
import { TEST_IMAGE } from '../support/env.ts';
import { HubClient, type HubProcess, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

let dir: string;
let hubs: HubProcess[];
let agent: AgentProcess;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-multi-hub-'));
  hubs = [
    await startHubProcess({ dataDir: join(dir, 'hub-a'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum'] }),
    await startHubProcess({ dataDir: join(dir, 'hub-b'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum'] }),
  ];
  agent = await startAgentProcess({ hubs: hubs.map((h) => h.url), dataDir: join(dir, 'agent') });
});

afterAll(async () => {
  await agent?.stop();
  for (const hub of hubs ?? []) await hub.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('an agent working for two hubs', () => {
  it('registers with each and pins each hub\'s own key', async () => {
    const status = await eventually('both registrations', async () => {
      const s = await agent.status();
      return s.hubs.length === 2 && s.hubs.every((h) => h.registered && h.trust !== undefined) ? s : undefined;
    });
    expect(status.hubs.map((h) => h.url).sort()).toEqual(hubs.map((h) => h.url).sort());
    const state = JSON.parse(await readFile(join(dir, 'agent', 'state.json'), 'utf8')) as { hubs: Record<string, { publicKey: string }> };
    for (const hub of hubs) expect(state.hubs[hub.url]!.publicKey).toBe(await new HubClient(hub.url).hubKey());
    for (const hub of hubs) expect((await new HubClient(hub.url).agent(agent.nodeId)).active).toBe(true);
  });

  it('runs work from both, and keeps serving one while the other is down', async () => {
    const submit = (hub: HubProcess, text: string) =>
      new TestAgent(hub.url, { pair: generateKeyPair() }).submitTask(taskSpec({ image: TEST_IMAGE, command: ['echo', text], minTrust: 0 }));
    const [a, b] = [await submit(hubs[0]!, 'from a'), await submit(hubs[1]!, 'from b')];
    expect((await new HubClient(hubs[0]!.url).waitForTask(a.id, (t) => t.status === 'validated')).result?.text).toBe('from a\n');
    expect((await new HubClient(hubs[1]!.url).waitForTask(b.id, (t) => t.status === 'validated')).result?.text).toBe('from b\n');

    await hubs[0]!.kill();
    const c = await submit(hubs[1]!, 'b alone');
    expect((await new HubClient(hubs[1]!.url).waitForTask(c.id, (t) => t.status === 'validated')).result?.text).toBe('b alone\n');
    const down = await eventually('the agent to notice', async () => (await agent.status()).hubs.find((h) => h.url === hubs[0]!.url && h.error !== undefined));
    expect(down.error!.code).toBe('HUB_UNREACHABLE');
  });
});

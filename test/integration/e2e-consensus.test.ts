// End to end, all real: a hub process, three agent processes running containers, and the user's
// `dcloud submit --wait` as a process. Three agents run `echo 42`, agree, and the task is validated.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskView } from '../../hub/engine-types.ts';
import { type AgentProcess, eventually, runDcloud, startAgentProcess } from '../support/agent-process.ts';
import { TEST_IMAGE } from '../support/env.ts';
import { HubClient, type HubProcess, startHubProcess } from '../support/test-agent.ts';

let dir: string;
let hub: HubProcess;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-e2e-consensus-'));
  hub = await startHubProcess({ dataDir: join(dir, 'hub'), args: ['--tick-ms', '50', '--validation-policy', 'trust-sum', '--heartbeat-interval-ms', '300', '--heartbeat-timeout-ms', '3000'] });
  for (let i = 0; i < 3; i++) agents.push(await startAgentProcess({ hubs: [hub.url], dataDir: join(dir, `agent-${i}`), args: ['--name', `e2e-${i}`] }));
  await eventually('three registered agents', async () => ((await Promise.all(agents.map((a) => a.status()))).every((s) => s.hubs[0]?.registered) ? true : undefined));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await hub?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('dcloud end to end', () => {
  it('runs `echo 42` on three agents and prints 42 and validated', async () => {
    const env = { XDG_CONFIG_HOME: join(dir, 'config') };
    const run = await runDcloud(['submit', '--hub', hub.url, '--image', TEST_IMAGE, '--overlap', '3', '--wait', '--', 'echo', '42'], { env });
    expect(run.stderr).toContain('created your identity');
    // It followed the task over the hub's event stream, not by polling.
    expect(run.stderr).not.toContain('polling instead');
    expect(run.code).toBe(0);
    const [id, ...rest] = run.stdout.split('\n');
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(rest.join('\n')).toMatch(/^42\nvalidated/);
    // The user's key was created where it belongs, private.
    expect((await stat(join(dir, 'config', 'dcloud', 'user.key'))).mode & 0o077).toBe(0);

    // Three different agents each ran it and reported the same digest.
    const task = await new HubClient(hub.url).task(id!);
    const reported = task.assignments.filter((a) => a.status === 'reported');
    expect(new Set(reported.map((a) => a.agentId))).toEqual(new Set(agents.map((a) => a.nodeId)));
    expect(new Set(reported.map((a) => a.digest))).toEqual(new Set([task.result!.digest]));

    // `dcloud status` shows the same task, for people and as JSON.
    const shown = await runDcloud(['status', '--hub', hub.url, id!]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('status    validated');
    const json = await runDcloud(['status', '--hub', hub.url, '--json', id!]);
    expect((JSON.parse(json.stdout) as TaskView).status).toBe('validated');
  });

  it('prints the final task as JSON with --json --wait, progress on stderr', async () => {
    const run = await runDcloud(
      ['submit', '--hub', hub.url, '--image', TEST_IMAGE, '--overlap', '2', '--wait', '--json', '--key', join(dir, 'other.key'), '--', 'sh', '-c', 'echo json'],
    );
    expect(run.code).toBe(0);
    const task = JSON.parse(run.stdout) as TaskView;
    expect(task.status).toBe('validated');
    expect(task.result?.text).toBe('json\n');
    expect(run.stderr).toMatch(/task [0-9a-f]{12}… /);
  });

  it('exits non-zero when the task cannot be validated', async () => {
    const run = await runDcloud(['submit', '--hub', hub.url, '--image', 'dcloud-test/no-such-image:1', '--wait', '--key', join(dir, 'other.key'), '--', 'true']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/invalid/);
  });
});

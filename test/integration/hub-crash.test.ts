// kill -9 the hub process at several points of its work and restart it on the same data dir:
// no task is lost, none is decided twice, nothing stays stuck, scheduling resumes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { MessageBody } from '../../protocol/index.ts';
import type { TaskView } from '../../hub/engine-types.ts';
import { HubClient, type HubProcess, sleep, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

const TASKS = 6;
const OVERLAP = 2;
const ARGS = ['--tick-ms', '50', '--validation-policy', 'trust-sum'];

let dataDir: string;
let hub: HubProcess | undefined;

afterAll(async () => {
  await hub?.kill();
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
});

/** SIGKILL, then a new process on the same data dir and port (agents keep their URL). */
async function crashAndRestart(): Promise<void> {
  const port = hub!.port;
  await hub!.kill();
  hub = await startHubProcess({ dataDir, port, args: ARGS });
}

type Assignment = MessageBody<'assignment'>;

/**
 * One agent's turn: heartbeat, post the result of what it holds (if the hub forgot the
 * assignment in a crash it says so with a 4xx, and the agent drops it), else ask for work.
 * Connection errors (the hub is down) leave the agent's state as it was.
 */
async function turn(agent: TestAgent, holding: Map<TestAgent, Assignment>, answer: boolean): Promise<void> {
  try {
    await agent.heartbeat();
    const held = holding.get(agent);
    if (held !== undefined) {
      if (!answer) return;
      // What `echo ARGS...` prints: every honest agent reports the same.
      const stdout = `${held.spec.command.slice(1).join(' ')}\n`;
      const response = await agent.hub.post('/v1/results', agent.resultEnvelope(held, { stdout, exitCode: 0 }));
      if (response.status >= 200 && response.status < 500) holding.delete(agent);
      return;
    }
    const grant = await agent.requestWork();
    if (grant !== null) holding.set(agent, grant.body);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err; // fetch failed: the hub is down
  }
}

describe('hub crash safety (SIGKILL, restart on the same data dir)', () => {
  it('loses no task, decides none twice and leaves no assignment stuck', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'dcloud-hub-crash-'));
    hub = await startHubProcess({ dataDir, args: ARGS });
    const client = new HubClient(hub.url);
    const submitter = new TestAgent(client, { name: 'submitter' });
    const agents = [0, 1, 2].map((i) => new TestAgent(client, { name: `agent-${i}` }));
    for (const agent of agents) await agent.register();

    const ids: string[] = [];
    for (let i = 0; i < TASKS; i++) ids.push((await submitter.submitTask(taskSpec({ overlap: OVERLAP, command: ['echo', `42 #${i}`] }))).id);
    // Kill 1: right after the submissions were acknowledged (validation still under way).
    await crashAndRestart();
    for (const id of ids) expect((await client.task(id)).id).toBe(id);

    const holding = new Map<TestAgent, Assignment>();
    // Let the agents fetch work, then only one answers before the next kill: mid-round.
    // The scheduler packs replicas onto agents by fit, so which agents get work is its choice;
    // with 12 replicas, at least two agents are busy.
    for (let round = 0; round < 200 && holding.size < 2; round++) {
      for (const agent of agents) await turn(agent, holding, false);
      await sleep(30);
    }
    expect(holding.size).toBeGreaterThanOrEqual(2);
    await turn([...holding.keys()][0]!, holding, true);
    // Kill 2: one replica answered, the others are out running.
    await crashAndRestart();

    // Kill 3 comes after a few more rounds; then the agents run until every task is decided.
    let kills = 2;
    const deadline = Date.now() + 45_000;
    let tasks: TaskView[] = [];
    for (let round = 0; Date.now() < deadline; round++) {
      for (const agent of agents) await turn(agent, holding, true);
      if (round === 5 && kills === 2) {
        await crashAndRestart();
        kills++;
      }
      tasks = await Promise.all(ids.map((id) => client.task(id)));
      if (tasks.every((t) => t.status === 'validated')) break;
      await sleep(30);
    }
    expect(kills).toBe(3);
    expect(tasks.map((t) => t.status)).toEqual(ids.map(() => 'validated'));

    let votes = 0;
    for (const task of tasks) {
      // Decided once: one `validated` transition, one completed round of OVERLAP agreeing replicas.
      expect(task.transitions.filter((t) => t.status === 'validated')).toHaveLength(1);
      expect(task.result?.text).toMatch(/^42 #\d\n$/);
      const reported = task.assignments.filter((a) => a.status === 'reported' && a.round === task.round);
      expect(reported).toHaveLength(OVERLAP);
      expect(new Set(reported.map((a) => a.agentId)).size).toBe(OVERLAP);
      // Nothing left open on a decided task.
      expect(task.assignments.filter((a) => a.status === 'assigned' || a.status === 'running')).toEqual([]);
      votes += reported.length;
    }
    // Each counted vote moved its agent's record exactly once; no reservation is left behind.
    let valid = 0;
    for (const agent of agents) {
      const view = await client.agent(agent.id);
      valid += view.stats.valid;
      expect(view.reserved).toEqual({ cpu: 0, ramGb: 0 });
    }
    expect(valid).toBe(votes);

    // Scheduling resumed for good: a task submitted now runs too.
    const late = await submitter.submitTask(taskSpec({ command: ['echo', 'after'] }));
    const lateHolding = new Map<TestAgent, Assignment>();
    const lateDeadline = Date.now() + 20_000;
    while ((await client.task(late.id)).status !== 'validated' && Date.now() < lateDeadline) {
      for (const agent of agents) await turn(agent, lateHolding, true);
      await sleep(30);
    }
    expect((await client.task(late.id)).status).toBe('validated');
  });
});

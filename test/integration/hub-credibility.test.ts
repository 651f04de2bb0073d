// The credibility policy through the real hub process and its HTTP API: known-answer tasks
// (spot-checks) on probation and after it, a liar caught and the acceptance its vote carried
// disputed, undecided rounds that grow by a replica, and adaptive replication letting an agent with
// a long verified record run tasks alone. The test agents sign like real agents and "run" the
// commands they are given (the spot-check's `echo <token>`, the users' `echo 42`); one real agent
// process runs the spot-checks in Docker.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskView } from '../../hub/engine-types.ts';
import { type AgentProcess, eventually, startAgentProcess } from '../support/agent-process.ts';
import { OPEN_IMAGE } from '../support/env.ts';
import { expectStatus, HubClient, type HubProcess, startHubProcess, TestAgent, taskSpec } from '../support/test-agent.ts';

let dir: string;
const hubs: HubProcess[] = [];
const agents: AgentProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-hub-credibility-'));
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await Promise.all(hubs.map((h) => h.stop()));
  await rm(dir, { recursive: true, force: true });
});

async function credibilityHub(name: string, args: string[]): Promise<HubClient> {
  const hub = await startHubProcess({
    dataDir: join(dir, name),
    args: ['--tick-ms', '50', '--validation-policy', 'credibility', '--spot-check-image', OPEN_IMAGE, ...args],
  });
  hubs.push(hub);
  return new HubClient(hub.url);
}

/** The token of a spot-check's `sh -c 'echo <token>'`, or undefined for other work. */
function spotCheckToken(command: readonly string[]): string | undefined {
  if (command[0] !== 'sh' || command[1] !== '-c') return undefined;
  return /^echo ([0-9a-f]{32})$/.exec(command[2] ?? '')?.[1];
}

interface Served {
  kind: 'spot-check' | 'task';
  taskId: string;
  task: TaskView;
}

/** One work request, answered as the command asks (or with a lie, when told to lie on spot-checks). */
async function serve(agent: TestAgent, behaviour: { lie?: boolean } = {}): Promise<Served | null> {
  const grant = await agent.requestWork();
  if (grant === null) return null;
  const token = spotCheckToken(grant.body.spec.command);
  const stdout = token === undefined ? '42\n' : behaviour.lie === true ? 'something else\n' : `${token}\n`;
  const { task } = await agent.postResult(grant.body, { stdout, exitCode: 0 });
  return { kind: token === undefined ? 'task' : 'spot-check', taskId: grant.body.taskId, task };
}

/** Answers work until the agent's verified record reaches `record`: on probation, all of it is spot-checks. */
async function earnRecord(hub: HubClient, agent: TestAgent, record: number): Promise<void> {
  for (let i = 0; i < 4 * record; i++) {
    const served = await serve(agent);
    expect(served?.kind, 'an agent on probation runs known-answer tasks only').toBe('spot-check');
    if ((await hub.agent(agent.id)).stats.consecutiveValid >= record) return;
  }
  throw new Error(`agent ${agent.id} did not reach a record of ${record}`);
}

/** Serves with every agent in turn until `done` holds for the task. */
async function serveUntil(hub: HubClient, taskId: string, workers: TestAgent[], done: (task: TaskView) => boolean): Promise<TaskView> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const task = await hub.task(taskId);
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${taskId} did not get there; last state: ${JSON.stringify(task)}`);
    for (const worker of workers) await serve(worker);
    await new Promise((r) => setTimeout(r, 30));
  }
}

describe('the credibility policy in the hub', () => {
  it('catches a lying agent with a spot-check: trust to the floor, no more work, the acceptance it carried disputed', async () => {
    // maxRecord 10: no agent is credible alone (2^10 : 1 < 1 - 1e-4), so every round needs two.
    const hub = await credibilityHub('liar', ['--credibility-max-record', '10', '--credibility-spot-check-rate', '0.5']);
    const honest = new TestAgent(hub, { name: 'honest' });
    const liar = new TestAgent(hub, { name: 'liar' });
    const submitter = new TestAgent(hub, { name: 'submitter' });
    await honest.register();
    expect((await liar.register()).trust).toBe(5);

    // A newcomer's vote weighs nothing: before probation ends it is not given a user's task.
    const early = await submitter.submitTask(taskSpec({ description: 'early' }));
    await hub.waitForTask(early.id, (t) => t.status === 'in_queue');
    await new Promise((r) => setTimeout(r, 300)); // several scheduling passes
    expect((await hub.task(early.id)).assignments).toEqual([]);
    expect((await hub.task(early.id)).reason).toMatch(/2 more agents may not run users' tasks yet \(on probation/);
    await earnRecord(hub, honest, 7);
    await earnRecord(hub, liar, 7);

    // Now both may: the first result alone is not credible enough (undecided), a second replica
    // is scheduled, and two agreeing records accept it.
    const accepted = await serveUntil(hub, early.id, [honest, liar], (t) => t.status === 'validated');
    expect(accepted.result?.text).toBe('42\n');
    const reported = accepted.assignments.filter((a) => a.status === 'reported');
    expect(new Set(reported.map((a) => a.agentId))).toEqual(new Set([honest.id, liar.id]));
    const decisions = accepted.decisions ?? [];
    expect(decisions.map((d) => d.outcome)).toEqual(['undecided', 'validated']);
    expect(decisions.every((d) => d.policy === 'credibility')).toBe(true);
    const [vote] = decisions[1]!.votes;
    expect(vote!.voters.map((v) => v.agentId).sort()).toEqual([honest.id, liar.id].sort());
    for (const voter of vote!.voters) expect(voter.credibility).toBeGreaterThanOrEqual(0.99);
    expect(decisions[1]!.score).toBeGreaterThanOrEqual(1 - 1e-4);

    // Later the liar lies on a known-answer task (it cannot tell which: it answers all but `echo 42` wrong).
    let caught: Served | null = null;
    for (let i = 0; i < 60 && caught === null; i++) {
      const served = await serve(liar, { lie: true });
      if (served?.kind === 'spot-check') caught = served;
    }
    expect(caught, 'the liar met a spot-check').not.toBeNull();
    const agent = await hub.agent(liar.id);
    expect(agent.trust).toBe(1);
    expect(agent.stats.consecutiveValid).toBe(0);
    expect((agent.stats as { spotChecksFailed?: number }).spotChecksFailed).toBe(1);

    // The spot-check is the operator's to see, not a user's task.
    const check = await hub.task(caught!.taskId);
    expect(check).toMatchObject({ kind: 'spot-check', status: 'abandoned' });
    expect(check.decisions?.[0]).toMatchObject({ policy: 'spot-check', outcome: 'failed', votes: [{ voters: [{ agentId: liar.id }] }] });
    const listed = expectStatus('list', await hub.get<{ tasks: TaskView[] }>('/v1/tasks'), 200).tasks;
    expect(listed.map((t) => t.id)).toEqual([early.id]);
    const checks = expectStatus('list', await hub.get<{ tasks: TaskView[] }>('/v1/tasks?kind=spot-check'), 200).tasks;
    expect(checks.map((t) => t.id)).toContain(caught!.taskId);
    expect(checks.every((t) => t.kind === 'spot-check')).toBe(true);
    const metrics = (await hub.get<string>('/metrics')).body;
    expect(metrics).toMatch(/^dcloud_agents_caught_lying 1$/m);
    expect(metrics).toMatch(/^dcloud_spot_checks\{status="abandoned"\} [1-9]/m);

    // The acceptance its vote carried is disputed: the honest vote alone would not have reached 1 - epsilon.
    const disputed = await hub.task(early.id);
    expect(disputed.decisions?.at(-1)?.disputed).toMatchObject({ agentId: liar.id });

    // And it gets no more work, spot-checks included; the next task goes to the honest agent and a
    // second honest one (the liar's vote no longer counts).
    const second = new TestAgent(hub, { name: 'honest-2' });
    await second.register();
    await earnRecord(hub, second, 7);
    const next = await submitter.submitTask(taskSpec({ description: 'after' }));
    const done = await serveUntil(hub, next.id, [honest, second, liar], (t) => t.status === 'validated');
    expect(done.assignments.map((a) => a.agentId)).not.toContain(liar.id);
    for (let i = 0; i < 5; i++) expect(await liar.requestWork()).toBeNull();
  });

  it('lets an agent with a long verified record run tasks alone, cross-checked at random', async () => {
    // witness 0.9999: probation lasts until a record of 14, when one agent's word is credible alone.
    const hub = await credibilityHub('adaptive', ['--credibility-witness', '0.9999', '--credibility-spot-check-rate', '0']);
    const a = new TestAgent(hub, { name: 'veteran-a' });
    const b = new TestAgent(hub, { name: 'veteran-b' });
    const submitter = new TestAgent(hub, { name: 'submitter' });
    await a.register();
    await b.register();
    await earnRecord(hub, a, 14);
    await earnRecord(hub, b, 14);

    const tasks = [];
    for (let i = 0; i < 6; i++) tasks.push(await submitter.submitTask(taskSpec({ description: `alone ${i}` })));
    const finished = [];
    for (const t of tasks) finished.push(await serveUntil(hub, t.id, [a, b], (v) => v.status === 'validated'));
    // Each is accepted; with a cross-check probability of 1/10, most rest on one agent's word.
    const alone = finished.filter((t) => t.assignments.filter((x) => x.status === 'reported').length === 1);
    expect(alone.length).toBeGreaterThan(0);
    for (const t of alone) {
      const last = t.decisions!.at(-1)!;
      expect(last).toMatchObject({ policy: 'credibility', outcome: 'validated' });
      expect(last.votes[0]!.voters).toHaveLength(1);
      expect(t.round).toBe(1);
    }
    // A result that stood on one word earned its agent nothing (records grow only from cross-checks).
    const records = [(await hub.agent(a.id)).stats.consecutiveValid, (await hub.agent(b.id)).stats.consecutiveValid];
    const crossChecked = finished.length - alone.length;
    expect(records[0]! + records[1]!).toBe(28 + 2 * crossChecked);
  });

  it('keeps track records, verdicts and spot-checks across a crash (SIGKILL) and restart', async () => {
    const dataDir = join(dir, 'restart');
    const args = ['--tick-ms', '50', '--validation-policy', 'credibility', '--spot-check-image', OPEN_IMAGE];
    let running = await startHubProcess({ dataDir, args });
    const hub = new HubClient(running.url);
    const honest = new TestAgent(hub, { name: 'honest' });
    const liar = new TestAgent(hub, { name: 'liar' });
    await honest.register();
    await liar.register();
    await earnRecord(hub, honest, 3);
    expect((await serve(liar, { lie: true }))?.kind).toBe('spot-check');
    const before = { honest: await hub.agent(honest.id), liar: await hub.agent(liar.id) };
    const checks = expectStatus('list', await hub.get<{ tasks: TaskView[] }>('/v1/tasks?kind=spot-check'), 200).tasks;
    expect(checks).toHaveLength(4);

    await running.kill();
    running = await startHubProcess({ dataDir, port: running.port, args });
    hubs.push(running);
    const after = { honest: await hub.agent(honest.id), liar: await hub.agent(liar.id) };
    expect(after.honest.stats).toEqual(before.honest.stats);
    expect(after.honest.stats).toMatchObject({ consecutiveValid: 3, spotChecksPassed: 3 });
    expect(after.liar.stats).toEqual(before.liar.stats);
    expect(after.liar.trust).toBe(1);
    const reloaded = expectStatus('list', await hub.get<{ tasks: TaskView[] }>('/v1/tasks?kind=spot-check'), 200).tasks;
    expect(reloaded.map((t) => [t.id, t.status])).toEqual(checks.map((t) => [t.id, t.status]));
    expect(expectStatus('list', await hub.get<{ tasks: TaskView[] }>('/v1/tasks'), 200).tasks).toEqual([]);
    // Still a proven liar: nothing for it; the honest agent's probation goes on where it stopped.
    expect(await liar.requestWork()).toBeNull();
    await earnRecord(hub, honest, 4);
  });

  it('runs spot-checks as real containers on a real agent', async () => {
    const hub = await credibilityHub('real-agent', []);
    const agent = await startAgentProcess({ hubs: [hub.url], dataDir: join(dir, 'real-agent-data'), args: ['--name', 'real'] });
    agents.push(agent);
    const passed = await eventually(
      'two spot-checks passed in Docker',
      async () => {
        const response = await hub.get<{ agent: { stats: { spotChecksPassed?: number } } }>(`/v1/agents/${agent.nodeId}`);
        const count = response.status === 200 ? (response.body.agent.stats.spotChecksPassed ?? 0) : 0;
        return count >= 2 ? count : undefined;
      },
      60_000,
    );
    expect(passed).toBeGreaterThanOrEqual(2);
    const checks = expectStatus('list', await hub.get<{ tasks: TaskView[] }>('/v1/tasks?kind=spot-check'), 200).tasks;
    const validated = checks.filter((t) => t.status === 'validated');
    expect(validated.length).toBeGreaterThanOrEqual(2);
    expect(validated[0]!.result?.text).toMatch(/^[0-9a-f]{32}\n$/);
    expect(validated[0]!.spec.image).toBe(OPEN_IMAGE);
  });
});

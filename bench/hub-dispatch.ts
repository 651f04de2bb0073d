import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Dockerode from 'dockerode';
import { createSigner, generateKeyPair } from '../keys/index.ts';
import { seal } from '../protocol/index.ts';
import { createHubEngine } from '../hub/engine.ts';
import { startHubProcess, TestAgent, taskSpec } from '../test/support/test-agent.ts';
import { LoadClient, statusCounts } from './http-load.ts';
import { type BenchResult, result, round } from './lib.ts';

export const description =
  'assignments handed out per second (POST /v1/work answered 200) over HTTP on loopback, 10,000 agents, 100,000 tasks in the backlog (hub in its own process)';

const FRESHNESS = { maxAgeMs: 120_000, maxSkewMs: 30_000 };

/**
 * Puts `count` pending tasks into the hub's store through the engine itself (in this process,
 * no HTTP, no scheduling passes): the same submitTask and image validation as over the API, the
 * image validated once and then served from the validation cache.
 */
async function seedTasks(dataDir: string, count: number): Promise<number> {
  const started = performance.now();
  const engine = createHubEngine({ docker: new Dockerode() }, { dataDir, tickMs: 0, validationConcurrency: 4, freshness: FRESHNESS, imageCacheMs: 3_600_000 });
  await engine.start();
  try {
    const submitter = createSigner(generateKeyPair());
    const batch = 2000;
    for (let first = 0; first < count; first += batch) {
      const envelopes = [];
      for (let i = first; i < Math.min(count, first + batch); i++) {
        envelopes.push(seal('task.spec', taskSpec({ command: ['echo', String(i)] }), submitter));
      }
      await Promise.all(envelopes.map((e) => engine.submitTask(e)));
    }
    while (engine.stats().tasks.pending < count) {
      if (engine.stats().tasks.invalid > 0) throw new Error('the benchmark image did not validate: is dcloud-test/busybox:1 present?');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } finally {
    await engine.stop();
  }
  return performance.now() - started;
}

export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      agents: { type: 'string', default: '10000' },
      tasks: { type: 'string', default: '100000' },
      connections: { type: 'string', default: '32' },
      ms: { type: 'string', default: '8000' },
      'per-agent': { type: 'string', default: '4' },
      'tick-ms': { type: 'string', default: '100' },
      'active-queue-size': { type: 'string', default: '2000' },
    },
  });
  const agentCount = Number(values.agents);
  const taskCount = Number(values.tasks);
  const connections = Number(values.connections);
  const runMs = Number(values.ms);
  const perAgent = Number(values['per-agent']);
  // The thesis' trust sum: its scripted agents take work at once (under the credibility default they would start on probation).
  const hubArgs = ['--log-level', 'error', '--validation-policy', 'trust-sum', '--tick-ms', values['tick-ms'], '--active-queue-size', values['active-queue-size']];

  const dataDir = await mkdtemp(join(tmpdir(), 'dcloud-bench-dispatch-'));
  let hub;
  let load;
  try {
    process.stderr.write(`hub-dispatch: seeding ${taskCount} tasks through the engine\n`);
    const seedMs = await seedTasks(dataDir, taskCount);
    hub = await startHubProcess({ dataDir, args: hubArgs, startTimeoutMs: 300_000 });
    load = new LoadClient(hub.url);

    process.stderr.write(`hub-dispatch: registering ${agentCount} agents at ${hub.url}\n`);
    const agents = Array.from({ length: agentCount }, (_, i) => new TestAgent(hub!.url, { name: `bench-${i}`, resources: { cpu: 4, ramGb: 8 } }));
    const registered = await load.run('/v1/agents/register', agents.map((a) => JSON.stringify(a.registerEnvelope())), { connections, ms: 600_000, okStatus: 201 });
    if ((registered.statuses.get(201) ?? 0) !== agentCount) throw new Error(`registration answered ${JSON.stringify(statusCounts(registered.statuses))}`);

    // Every agent asks in turn, as a fleet polling for work does; each request freshly signed.
    const bodies: string[] = [];
    for (let k = 0; k < perAgent; k++) for (const agent of agents) bodies.push(JSON.stringify(agent.workEnvelope()));
    process.stderr.write(`hub-dispatch: asking for work for up to ${runMs} ms over ${connections} connections\n`);
    const work = await load.run('/v1/work', bodies, { connections, ms: runMs, okStatus: 200 });
    if (work.sent === bodies.length) process.stderr.write('hub-dispatch: ran out of pre-signed requests before the time was up; raise --per-agent\n');

    return result(
      { bench: 'hub-dispatch', value: round(work.okPerSecond, 4), unit: 'assignments/s', goal: 1000 },
      {
        requestsPerSecond: Math.round(((work.sent) * 1000) / work.ms),
        statuses: statusCounts(work.statuses),
        agents: agentCount,
        backlog: taskCount,
        connections,
        ms: Math.round(work.ms),
        hubArgs: hubArgs.join(' '),
        seeding: `${taskCount} tasks submitted through the engine's submitTask in this process (no HTTP), image validated once then cached, in ${Math.round(seedMs / 1000)} s; the hub process then loaded them from LevelDB`,
      },
    );
  } finally {
    load?.close();
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveHubConfig } from '../hub/config.ts';
import type { NetworkView, TaskView } from '../hub/engine-types.ts';
import type { FederationView } from '../hub/federation-bridge.ts';
import { type RunningHub, startHub } from '../hub/main.ts';
import { generateKeyPair, nodeIdOf, saveKeyFile } from '../keys/index.ts';
import { HubClient, type HubProcess, startHubProcess, TestAgent, taskSpec } from '../test/support/test-agent.ts';
import { BenchUsageError, type BenchResult, positiveInt, result, round } from './lib.ts';

export const description =
  'a hub returning after an absence during which 1,000 tasks were decided by another hub (loopback, own process): ms from its start until it holds every task, decision and trust as the other does';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** What GET /v1/tasks lists at most: the returning hub's tasks are compared one by one up to it. */
const MAX_TASKS = 1000;
const FLAGS = ['--validation-policy', 'trust-sum', '--tick-ms', '10', '--active-queue-size', '100', '--sync-interval-ms', '1000', '--lease-ms', '600000', '--rate-limit-key', '0', '--log-level', 'warn'];

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, everyMs = 10): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`fed-catchup: timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every task's status and result digest, and the agents' trust: what the returning hub must hold as the other does. */
function fingerprint(tasks: readonly TaskView[], trust: ReadonlyArray<number | undefined>): string {
  return JSON.stringify([tasks.map((t) => `${t.id}:${t.status}:${t.result?.digest ?? ''}`).sort(), trust]);
}

async function remoteFingerprint(client: HubClient, agentIds: readonly string[]): Promise<string> {
  const { tasks } = (await client.get<{ tasks: TaskView[] }>(`/v1/tasks?limit=${MAX_TASKS}`)).body;
  return fingerprint(tasks, await Promise.all(agentIds.map(async (id) => (await client.agent(id)).trust)));
}

/**
 * Hub A (in this process) decides `tasks` tasks, overlap 2 on two agents (per task four log
 * entries, an announcement, two assignments and a decision with two signed results), while hub B
 * (its own process) is stopped. B is started again on its data dir and catches up by anti-entropy
 * sync. The absence lasts 60 s (--absence-s), or as long as A takes to decide them if that is longer.
 * Measured: from B's start (its process listening, its federation started) until it holds A's view.
 */
export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({ args: [...args], options: { tasks: { type: 'string', default: '1000' }, 'absence-s': { type: 'string', default: '60' } } });
  const count = positiveInt(values.tasks, 'tasks');
  const absenceTargetMs = positiveInt(values['absence-s'], 'absence-s') * 1000;
  if (count > MAX_TASKS) throw new BenchUsageError(`--tasks is at most ${MAX_TASKS}: the returning hub's tasks are compared through one GET /v1/tasks`);
  const dirs = await Promise.all(['a', 'b'].map((n) => mkdtemp(join(tmpdir(), `dcloud-bench-catchup-${n}-`))));
  // Of two hubs, only the lower node id decides while the other is away (hub/federated/fence.ts
  // hasQuorum): A gets the lower key.
  const keys = [generateKeyPair(), generateKeyPair()].sort((x, y) => (nodeIdOf(x.publicKey) < nodeIdOf(y.publicKey) ? -1 : 1));
  await Promise.all(dirs.map((dir, i) => saveKeyFile(join(dir, 'hub.key'), keys[i]!)));
  let a: RunningHub | undefined;
  let b: HubProcess | undefined;
  try {
    const config = resolveHubConfig({ flags: { data: dirs[0]!, http: '127.0.0.1:0', 'log-level': 'silent', 'validation-policy': 'trust-sum', 'tick-ms': '10', 'active-queue-size': '100', 'sync-interval-ms': '1000', 'lease-ms': '600000' }, env: {} });
    a = await startHub({ ...config, federation: { ...config.federation, listen: ['/ip4/127.0.0.1/tcp/0'] } });
    const hubA = a;
    const addressA = hubA.federation!.info().multiaddrs[0]!;
    const startB = () => startHubProcess({ dataDir: dirs[1]!, args: [...FLAGS, '--listen', listenB, '--bootstrap', addressA], ...(b === undefined ? {} : { port: b.port }) });
    let listenB = '/ip4/127.0.0.1/tcp/0';
    b = await startB();
    const clientB = new HubClient(b.url);
    const viewB = await until('B to sync with A and decide', async () => {
      const view = (await clientB.get<FederationView>('/v1/federation')).body;
      return view.deciding ? view : undefined;
    }, 30_000, 50);
    listenB = viewB.multiaddrs[0]!.replace(/\/p2p\/.*$/, '');

    // Two agents attached to A; B learns of them by gossip, then goes away.
    const agents = [0, 1].map((i) => new TestAgent(hubA.url, { name: `agent-${i}`, resources: { cpu: 64, ramGb: 128 } }));
    for (const agent of agents) await agent.register();
    const agentIds = agents.map((x) => x.id);
    await until('B to know the agents', async () => ((await Promise.all(agentIds.map((id) => clientB.get(`/v1/agents/${id}`)))).every((r) => r.status === 200) ? true : undefined), 10_000, 50);
    await b.stop();

    const away = performance.now();
    const submitter = new TestAgent(hubA.url, { name: 'submitter' });
    for (let i = 0; i < count; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, (_, k) => hubA.engine.submitTask(submitter.taskEnvelope(taskSpec({ overlap: 2, command: ['echo', String(i + k)] })))),
      );
    }
    let beat = 0;
    while (hubA.engine.network().tasks.validated < count) {
      if (++beat % 200 === 0) for (const agent of agents) await hubA.engine.heartbeat(agent.heartbeatEnvelope());
      let worked = false;
      for (const agent of agents) {
        const grant = await hubA.engine.requestWork(agent.workEnvelope());
        if (grant === null) continue;
        worked = true;
        const body = await agent.openAssignment(grant.assignment);
        await hubA.engine.submitResult(agent.resultEnvelope(body, { stdout: `${body.spec.command.slice(1).join(' ')}\n`, exitCode: 0 }));
      }
      if (!worked) await sleep(5);
    }
    const decidedMs = performance.now() - away;
    // The rest of the absence: A's agents keep heartbeating, nothing else happens.
    while (performance.now() - away < absenceTargetMs) {
      for (const agent of agents) await hubA.engine.heartbeat(agent.heartbeatEnvelope());
      await sleep(Math.min(1000, Math.max(0, absenceTargetMs - (performance.now() - away))));
    }
    const absenceMs = performance.now() - away;
    const entries = hubA.federation!.info().heads[hubA.id] ?? 0;
    const target = fingerprint(hubA.engine.listTasks({ limit: MAX_TASKS }), agentIds.map((id) => hubA.engine.getAgent(id)?.trust));
    process.stderr.write(`fed-catchup: A decided ${count} tasks in ${Math.round(decidedMs)} ms (${entries} log entries); B returns after ${Math.round(absenceMs)} ms away\n`);

    const spawned = performance.now();
    b = await startB();
    const returned = performance.now();
    await until(
      'B to hold what A holds',
      async () => {
        const network = (await clientB.get<NetworkView>('/v1/network')).body;
        if ((network.federation?.tasks.validated ?? 0) < count) return undefined;
        return (await remoteFingerprint(clientB, agentIds)) === target ? true : undefined;
      },
      120_000,
      50,
    );
    const convergeMs = performance.now() - returned;
    process.stderr.write(`fed-catchup: B converged ${Math.round(convergeMs)} ms after it started again (its process took ${Math.round(returned - spawned)} ms to start)\n`);
    return result(
      { bench: 'fed-catchup', value: round(convergeMs), unit: 'ms', goal: 5000, better: 'lower' },
      { tasks: count, logEntries: entries, absenceMs: round(absenceMs), decidedMs: round(decidedMs), processStartMs: round(returned - spawned), entriesPerSecond: round((entries / convergeMs) * 1000) },
    );
  } finally {
    await b?.stop();
    await a?.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

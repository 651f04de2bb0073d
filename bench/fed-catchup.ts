import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveHubConfig } from '../hub/config.ts';
import { type RunningHub, startHub } from '../hub/main.ts';
import type { HubEngine } from '../hub/engine-types.ts';
import { TestAgent, taskSpec } from '../test/support/test-agent.ts';
import { type BenchResult, positiveInt, result, round } from './lib.ts';

export const description =
  'a hub returning after an absence during which 1,000 tasks were decided by another hub (two in-process hubs on loopback): ms until it holds every task, decision and trust as the other does';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error(`fed-catchup: timed out waiting for ${what}`);
    await sleep(10);
  }
}

function hubConfig(dataDir: string, listen: string, bootstrap: string[]) {
  const config = resolveHubConfig({
    flags: { data: dataDir, http: '127.0.0.1:0', 'log-level': 'silent', 'tick-ms': '10', 'active-queue-size': '100', 'sync-interval-ms': '1000', 'lease-ms': '600000' },
    env: {},
  });
  return { ...config, federation: { ...config.federation, listen: [listen], bootstrap } };
}

/** The agents' trust and every task's status and result digest: what a hub that caught up holds like the other. */
function fingerprint(engine: HubEngine, agentIds: readonly string[]): string {
  const tasks = engine.listTasks({ limit: 1_000_000 }).map((t) => `${t.id}:${t.status}:${t.result?.digest ?? ''}`);
  return JSON.stringify([tasks.sort(), agentIds.map((id) => engine.getAgent(id)?.trust)]);
}

/**
 * Hub A decides `tasks` tasks (overlap 2, two agents: three log entries and two signed results
 * per task... an announcement, two assignments, a decision) while hub B is stopped; then B starts
 * again on its data dir and catches up by anti-entropy sync. The absence lasts as long as A takes
 * to decide them (about a minute for 1,000 on two shared cores), not longer.
 */
export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({ args: [...args], options: { tasks: { type: 'string', default: '1000' } } });
  const count = positiveInt(values.tasks, 'tasks');
  const dirs = await Promise.all(['a', 'b'].map((n) => mkdtemp(join(tmpdir(), `dcloud-bench-catchup-${n}-`))));
  const running: RunningHub[] = [];
  try {
    const a = await startHub(hubConfig(dirs[0]!, '/ip4/127.0.0.1/tcp/0', []));
    running.push(a);
    const addressA = a.federation!.info().multiaddrs[0]!;
    let b = await startHub(hubConfig(dirs[1]!, '/ip4/127.0.0.1/tcp/0', [addressA]));
    running.push(b);
    const listenB = b.federation!.info().multiaddrs[0]!.replace(/\/p2p\/.*$/, '');
    await until('B to sync with A and decide', () => b.federation!.info().deciding, 30_000);

    // Two agents attached to A; B learns of them by gossip, then goes away.
    const agents = [0, 1].map((i) => new TestAgent(a.url, { name: `agent-${i}`, resources: { cpu: 64, ramGb: 128 } }));
    for (const agent of agents) await agent.register();
    const agentIds = agents.map((x) => x.id);
    await until('B to know the agents', () => agentIds.every((id) => b.engine.getAgent(id) !== undefined), 10_000);
    await b.stop();
    running.splice(running.indexOf(b), 1);

    const away = performance.now();
    const submitter = new TestAgent(a.url, { name: 'submitter' });
    for (let i = 0; i < count; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, (_, k) => a.engine.submitTask(submitter.taskEnvelope(taskSpec({ overlap: 2, command: ['echo', String(i + k)] })))),
      );
    }
    let beat = 0;
    while (a.engine.network().tasks.validated < count) {
      if (++beat % 200 === 0) for (const agent of agents) await a.engine.heartbeat(agent.heartbeatEnvelope());
      let worked = false;
      for (const agent of agents) {
        const grant = await a.engine.requestWork(agent.workEnvelope());
        if (grant === null) continue;
        worked = true;
        const body = await agent.openAssignment(grant.assignment);
        await a.engine.submitResult(agent.resultEnvelope(body, { stdout: `${body.spec.command.slice(1).join(' ')}\n`, exitCode: 0 }));
      }
      if (!worked) await sleep(5);
    }
    const absenceMs = performance.now() - away;
    const entries = a.federation!.info().heads[a.id] ?? 0;
    const target = fingerprint(a.engine, agentIds);
    process.stderr.write(`fed-catchup: A decided ${count} tasks in ${Math.round(absenceMs)} ms (${entries} log entries); B returns\n`);

    const returned = performance.now();
    b = await startHub(hubConfig(dirs[1]!, listenB, [addressA]));
    running.push(b);
    const restarted = performance.now() - returned;
    await until('B to hold what A holds', () => b.engine.federationNetwork().tasks.validated >= count && fingerprint(b.engine, agentIds) === target, 120_000);
    const convergeMs = performance.now() - returned;
    process.stderr.write(`fed-catchup: B converged ${Math.round(convergeMs)} ms after it was started again (${Math.round(restarted)} ms of it to start)\n`);
    return result(
      { bench: 'fed-catchup', value: round(convergeMs), unit: 'ms', goal: 5000, better: 'lower' },
      { tasks: count, logEntries: entries, absenceMs: round(absenceMs), startMs: round(restarted), entriesPerSecond: round((entries / convergeMs) * 1000) },
    );
  } finally {
    for (const hub of running.reverse()) await hub.stop().catch(() => undefined);
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
}

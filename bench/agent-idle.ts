/**
 * What an idle agent costs its volunteer: a real `dcloud agent` process, registered with a real
 * hub, sending heartbeats and asking for work that never comes. CPU is read from the kernel's
 * account of the process (/proc/PID/stat: user + system time, its own and its children's) over
 * the measuring window, RSS
 * from /proc/PID/status. Value: CPU % of one core (goal < 1 %); RSS reported beside it (goal < 100 MB).
 *
 *   npm run bench -- agent-idle [--seconds 20] [--heartbeat-interval S] [--poll-interval S]
 *
 * Without the interval flags the agent runs with its defaults, i.e. as a volunteer would run it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startHubProcess } from '../test/support/test-agent.ts';
import { bundleIsCurrent } from '../bin/bundle.js';
import { type BenchResult, cpuSeconds, result, round } from './lib.ts';

export const description = 'an idle agent process (registered, heartbeating, polling): CPU % of a core and RSS';

const BIN = fileURLToPath(new URL('../bin/dcloud.js', import.meta.url));
const CONTROL_LINE = /control API on (http:\/\/\S+)/;
const RSS_GOAL_MB = 100;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}


async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]);
  return kb / 1024;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, output: { text: string }, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(output.text);
    if (match !== null) return match[1]!;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`agent did not start:\n${output.text}`);
    await sleep(50);
  }
}

export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: { seconds: { type: 'string', default: '20' }, 'heartbeat-interval': { type: 'string' }, 'poll-interval': { type: 'string' } },
  });
  const seconds = Number(values.seconds);
  if (!(seconds > 0)) throw new RangeError('--seconds must be a positive number');

  // What a user runs after `npm ci`: the bundle (scripts/build-cli.ts). From edited sources the
  // agent also carries Node's type stripper (~17 MB): say which one was measured.
  const fromBundle = bundleIsCurrent();
  if (!fromBundle) process.stderr.write('agent-idle: dist/cli is missing or older than the sources (npm run build:cli): measuring the agent run from sources\n');
  const dir = await mkdtemp(join(tmpdir(), 'dcloud-bench-agent-idle-'));
  const hub = await startHubProcess({ dataDir: join(dir, 'hub') });
  const intervals = [
    ...(values['heartbeat-interval'] === undefined ? [] : ['--heartbeat-interval', values['heartbeat-interval']]),
    ...(values['poll-interval'] === undefined ? [] : ['--poll-interval', values['poll-interval']]),
  ];
  const agent = spawn(process.execPath, [BIN, 'agent', '--hub', hub.url, '--data', join(dir, 'agent'), '--ui', '127.0.0.1:0', ...intervals], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = { text: '' };
  agent.stdout!.on('data', (c: Buffer) => (output.text += c.toString()));
  agent.stderr!.on('data', (c: Buffer) => (output.text += c.toString()));
  try {
    const control = await waitForLine(agent, CONTROL_LINE, output, 30_000);
    // Idle means registered and heartbeating: wait for the first heartbeat's answer.
    for (;;) {
      const status = (await (await fetch(`${control}/api/status`)).json()) as { hubs: { registered: boolean; lastHeartbeatAt?: number }[] };
      if (status.hubs[0]?.registered === true && status.hubs[0].lastHeartbeatAt !== undefined) break;
      await sleep(100);
    }
    await sleep(2_000); // start-up work (module loading, JIT) is not idling
    const pid = agent.pid!;
    process.stderr.write(`agent-idle: measuring pid ${pid} for ${seconds} s\n`);
    const cpuBefore = await cpuSeconds(pid);
    const began = performance.now();
    let peakRss = 0;
    while (performance.now() - began < seconds * 1000) {
      peakRss = Math.max(peakRss, await rssMb(pid));
      await sleep(500);
    }
    const cpuAfter = await cpuSeconds(pid);
    const elapsed = (performance.now() - began) / 1000;
    const ownPercent = ((cpuAfter.own - cpuBefore.own) / elapsed) * 100;
    const childrenPercent = ((cpuAfter.children - cpuBefore.children) / elapsed) * 100;
    const cpuPercent = ownPercent + childrenPercent;
    const workRequests = (output.text.match(/work request failed/g) ?? []).length;
    const line = result(
      { bench: 'agent-idle', value: round(cpuPercent, 3), unit: '% of one core', goal: 1, better: 'lower' },
      {
        ownCpuPercent: round(ownPercent, 3),
        childProcessCpuPercent: round(childrenPercent, 3),
        rssMb: round(peakRss, 3),
        rssGoalMb: RSS_GOAL_MB,
        rssOk: peakRss < RSS_GOAL_MB,
        seconds: round(elapsed, 3),
        heartbeatIntervalS: values['heartbeat-interval'] ?? 'default (30)',
        pollIntervalS: values['poll-interval'] ?? 'default (2)',
        failedWorkRequests: workRequests,
        fromBundle,
      },
    );
    // Both goals must hold: an idle agent that is cheap on CPU but fat in memory is not ok.
    return { ...line, ok: line.ok && peakRss < RSS_GOAL_MB };
  } finally {
    if (agent.exitCode === null) {
      agent.kill('SIGTERM');
      await once(agent, 'exit');
    }
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

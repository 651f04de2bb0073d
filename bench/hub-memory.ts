import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { createHubEngine } from '../hub/engine.ts';
import { seedHubStore } from './hub-seed.ts';
import { type BenchResult, positiveInt, result, round } from './lib.ts';

export const description = 'resident memory (RSS after a full GC) of a hub engine holding 10,000 agents and 100,000 backlog tasks, in MB (goal <= 300)';

interface Measurement {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  loadMs: number;
  backlog: number;
  agents: number;
}

const MB = 1024 * 1024;

/**
 * Runs in a fresh process (see run): starts an engine on the seeded data dir, collects garbage
 * and prints what the process holds, so nothing of the seeding is counted.
 */
export async function measure(dataDir: string): Promise<void> {
  const engine = createHubEngine(
    { docker: new Docker() },
    { dataDir, tickMs: 0, validationConcurrency: 1, freshness: { maxAgeMs: 120_000, maxSkewMs: 30_000 } },
  );
  const started = performance.now();
  await engine.start();
  const loadMs = performance.now() - started;
  // A full, compacting collection: what the engine's state needs, not the garbage of loading it
  // (V8 would give those pages back on its own once the process idles; here it is done at once).
  const gc = (globalThis as { gc?: (options?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void }).gc;
  gc?.({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const usage = process.memoryUsage();
  const stats = engine.stats();
  const measurement: Measurement = {
    rssMb: usage.rss / MB,
    heapUsedMb: usage.heapUsed / MB,
    heapTotalMb: usage.heapTotal / MB,
    externalMb: usage.external / MB,
    loadMs,
    backlog: stats.backlog,
    agents: stats.agents.total,
  };
  await engine.stop();
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}

function measureInChild(dataDir: string): Promise<Measurement> {
  const code = `import(${JSON.stringify(import.meta.url)}).then((m) => m.measure(${JSON.stringify(dataDir)}))`;
  const child = spawn(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (status) => {
      if (status !== 0) reject(new Error(`measuring process exited with ${status}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1) as string) as Measurement);
    });
  });
}

export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: { tasks: { type: 'string', default: '100000' }, agents: { type: 'string', default: '10000' } },
  });
  const tasks = positiveInt(values.tasks, 'tasks');
  const agents = positiveInt(values.agents, 'agents');
  const dataDir = await mkdtemp(join(tmpdir(), 'dcloud-bench-memory-'));
  try {
    process.stderr.write(`hub-memory: seeding ${tasks} tasks and ${agents} agents\n`);
    await seedHubStore(dataDir, { tasks, agents, now: Date.now() });
    const m = await measureInChild(dataDir);
    if (m.backlog !== tasks || m.agents !== agents) throw new Error(`the engine loaded ${m.backlog} tasks and ${m.agents} agents`);
    return result(
      { bench: 'hub-memory', value: round(m.rssMb, 4), unit: 'MB', goal: 300, better: 'lower' },
      { heapUsedMb: round(m.heapUsedMb, 4), heapTotalMb: round(m.heapTotalMb, 4), externalMb: round(m.externalMb, 3), loadMs: Math.round(m.loadMs), tasks, agents },
    );
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

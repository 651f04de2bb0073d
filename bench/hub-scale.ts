import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Docker from 'dockerode';
import { createHubEngine, type HubEngineControl } from '../hub/engine.ts';
import { seedHubStore } from './hub-seed.ts';
import { type BenchResult, median, positiveInt, result, round } from './lib.ts';

export const description =
  'hub scheduling pass (health + active queue + plan + batch write) with 100,000 vs 10,000 tasks in the backlog, 1,000 agents: ratio of median pass times (goal <= 1.5)';

interface Contender {
  tasks: number;
  dataDir: string;
  engine: HubEngineControl;
  clock: { now: number };
  times: number[];
  assigned: number;
}

export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      small: { type: 'string', default: '10000' },
      large: { type: 'string', default: '100000' },
      agents: { type: 'string', default: '1000' },
      ticks: { type: 'string', default: '300' },
      warmup: { type: 'string', default: '20' },
    },
  });
  const agents = positiveInt(values.agents, 'agents');
  const ticks = positiveInt(values.ticks, 'ticks');
  const warmup = positiveInt(values.warmup, 'warmup');
  const sizes = [positiveInt(values.small, 'small'), positiveInt(values.large, 'large')];
  const start = Date.UTC(2026, 10, 24, 12);
  const contenders: Contender[] = [];
  try {
    for (const tasks of sizes) {
      const dataDir = await mkdtemp(join(tmpdir(), `dcloud-bench-scale-${tasks}-`));
      process.stderr.write(`hub-scale: seeding ${tasks} tasks and ${agents} agents\n`);
      await seedHubStore(dataDir, { tasks, agents, now: start });
      const clock = { now: start };
      // tickMs 0: no timer; the benchmark runs each pass itself. No validation happens here.
      const engine = createHubEngine(
        { docker: new Docker(), clock: () => clock.now },
        { dataDir, tickMs: 0, validationConcurrency: 1, freshness: { maxAgeMs: 120_000, maxSkewMs: 30_000 } },
      );
      const loadStarted = performance.now();
      await engine.start();
      process.stderr.write(`hub-scale: engine loaded ${tasks} tasks in ${Math.round(performance.now() - loadStarted)} ms (backlog ${engine.stats().backlog})\n`);
      contenders.push({ tasks, dataDir, engine, clock, times: [], assigned: 0 });
    }

    // Alternating passes (small, large, large, small, ...), each engine's clock moving by the
    // default tick interval: a noisy neighbour slows both, not whichever ran at the time.
    for (let i = 0; i < warmup + ticks; i++) {
      const order = i % 2 === 0 ? contenders : [...contenders].reverse();
      for (const c of order) {
        c.clock.now += 500;
        const t0 = performance.now();
        const report = await c.engine.tick();
        const ms = performance.now() - t0;
        if (i >= warmup) {
          c.times.push(ms);
          c.assigned += report.assigned;
        }
      }
    }
    const [small, large] = contenders as [Contender, Contender];
    const smallMs = median(small.times);
    const largeMs = median(large.times);
    return result(
      { bench: 'hub-scale', value: round(largeMs / smallMs, 3), unit: 'ratio', goal: 1.5, better: 'lower' },
      {
        medianMs: { [small.tasks]: round(smallMs), [large.tasks]: round(largeMs) },
        p90Ms: { [small.tasks]: round(percentile(small.times, 0.9)), [large.tasks]: round(percentile(large.times, 0.9)) },
        assignedPerPass: { [small.tasks]: round(small.assigned / ticks, 3), [large.tasks]: round(large.assigned / ticks, 3) },
        agents,
        passes: ticks,
        activeQueueSize: 10,
      },
    );
  } finally {
    for (const c of contenders) {
      await c.engine.stop();
      await rm(c.dataDir, { recursive: true, force: true });
    }
  }
}

function percentile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

import { parseArgs } from 'node:util';
import { runChurn } from '../simulations/scenarios/churn.ts';
import { type BenchResult, result, round } from './lib.ts';

export const description = 'simulated task executions per wall-clock second in the churn scenario with 10,000 agents (the real core deciding)';

/**
 * Runs the churn scenario (agents coming and going, the core's scheduler, health checks and
 * trust-sum consensus on every task) for `--sim-seconds` of virtual time and divides the
 * replicas that started running by the wall-clock time of the whole run, setup included.
 */
export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      agents: { type: 'string', default: '10000' },
      'sim-seconds': { type: 'string', default: '300' },
      overlap: { type: 'string', default: '1' },
      seed: { type: 'string', default: '1' },
    },
  });
  const agents = Number(values.agents);
  const durationS = Number(values['sim-seconds']);
  const overlap = Number(values.overlap);
  const seed = Number(values.seed);
  for (const [name, v] of Object.entries({ agents, 'sim-seconds': durationS, overlap, seed })) {
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`--${name} must be a non-negative number`);
  }
  process.stderr.write(`sim-speed: churn, ${agents} agents, ${durationS} s of simulated time, overlap ${overlap}\n`);
  const started = performance.now();
  const { result: churn, world } = runChurn({
    seed,
    agents,
    durationS,
    sessions: 'exponential',
    sessionMeanS: 1800,
    sessionSigma: 1,
    offlineMeanS: 600,
    load: 0.7,
    taskMeanS: 60,
    overlap,
    flaky: 0,
    failureRate: 0,
    policy: 'heuristic',
    tickS: 1,
    activeQueue: 1000,
    kick: false,
    samples: 1,
  });
  const wallS = (performance.now() - started) / 1000;
  const executions = churn.executions.started;
  const perSecond = executions / wallS;
  process.stderr.write(`sim-speed: ${executions} executions, ${churn.tasks.validated} tasks validated, ${world.sim.events} events in ${wallS.toFixed(2)} s wall\n`);
  return result(
    { bench: 'sim-speed', value: round(perSecond), unit: 'executions/s', goal: 200_000 },
    { agents, simSeconds: durationS, executions, validated: churn.tasks.validated, events: world.sim.events, wallSeconds: round(wallS), eventsPerSecond: round(world.sim.events / wallS) },
  );
}

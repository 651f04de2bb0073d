import { parseArgs } from 'node:util';
import { runChurn } from '../simulations/scenarios/churn.ts';
import { type BenchResult, result, round } from './lib.ts';

export const description = 'simulated task executions per wall-clock second in the churn scenario with 10,000 agents (the real core deciding)';

/**
 * Runs the churn scenario (agents coming and going, the core's scheduler, health checks and
 * trust-sum consensus on every task) for `--sim-seconds` of virtual time and divides the
 * replicas that started running by the wall-clock time of the whole run, building the world
 * (registering every agent) included.
 *
 * The default run is 1,800 simulated seconds (30 minutes, about 250,000 executions), not a few
 * minutes: as any throughput benchmark, long enough that building the world does not dominate.
 * Both parts are printed: `setupSeconds` (building the world) and `steadyPerSecond` (executions
 * per wall-clock second of the run after it); `value` is the whole run, setup included.
 */
export async function run(args: readonly string[]): Promise<BenchResult> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      agents: { type: 'string', default: '10000' },
      'sim-seconds': { type: 'string', default: '1800' },
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
  let built = started;
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
    onBuilt: () => {
      built = performance.now();
    },
  });
  const ended = performance.now();
  const wallS = (ended - started) / 1000;
  const setupS = (built - started) / 1000;
  const runS = (ended - built) / 1000;
  const executions = churn.executions.started;
  process.stderr.write(`sim-speed: world built in ${(setupS * 1000).toFixed(0)} ms; ${executions} executions, ${churn.tasks.validated} tasks validated, ${world.sim.events} events in ${wallS.toFixed(2)} s wall\n`);
  return result(
    { bench: 'sim-speed', value: round(executions / wallS), unit: 'executions/s', goal: 200_000 },
    {
      agents,
      simSeconds: durationS,
      executions,
      validated: churn.tasks.validated,
      events: world.sim.events,
      wallSeconds: round(wallS),
      setupSeconds: round(setupS),
      steadyPerSecond: round(runS > 0 ? executions / runS : 0),
      eventsPerSecond: round(world.sim.events / wallS),
    },
  );
}

import { SCHEDULING_POLICIES, type SchedulingPolicy, mergeParams, validationPolicy } from '../../src/core/index.ts';
import { taskSpec } from '../../src/core/task-spec.ts';
import type { Behaviour } from '../harness/behaviour.ts';
import { type LineRow, lines } from '../harness/charts.ts';
import { exponentialDuration } from '../harness/durations.ts';
import { Random } from '../harness/random.ts';
import { defineScenario } from '../harness/scenario.ts';
import { type Summary, round, summarize } from '../harness/stats.ts';
import { World } from '../harness/world.ts';
import { agentId } from './thesis-workload.ts';

/**
 * Volunteers come and go. Each agent alternates online sessions (exponential, lognormal or fixed
 * lengths with a given mean) and offline gaps (exponential). An agent that leaves vanishes
 * mid-task: it stops heartbeating and never reports. The hub notices only through the core's
 * health functions (no heartbeat for agents.inactiveAfterMs, or a deadline passed), expires
 * the assignments and schedules the replicas again. Tasks arrive as a Poisson stream sized to
 * a target load of the capacity that is online on average.
 */

export const SESSION_MODELS = ['exponential', 'lognormal', 'fixed'] as const;
export type SessionModel = (typeof SESSION_MODELS)[number];

const options = {
  agents: { kind: 'int', min: 1, max: 1_000_000, default: 1000, description: 'agent identities (each alternates online and offline)' },
  duration: { kind: 'number', min: 1, max: 30 * 86_400, default: 3600, description: 'simulated time, seconds' },
  sessions: { kind: 'choice', choices: SESSION_MODELS, default: 'exponential', description: 'distribution of online session lengths' },
  'session-mean': { kind: 'number', min: 1, max: 30 * 86_400, default: 1800, description: 'mean online session, seconds' },
  'session-sigma': { kind: 'number', min: 0.01, max: 5, default: 1, description: 'lognormal sessions: sigma of the underlying normal' },
  'offline-mean': { kind: 'number', min: 0, max: 30 * 86_400, default: 600, description: 'mean offline gap before an agent returns, seconds (0: never returns)' },
  load: { kind: 'number', min: 0.01, max: 10, default: 0.7, description: 'task arrivals as a share of the CPU online on average' },
  'task-mean': { kind: 'number', min: 0.1, max: 86_400, default: 60, description: 'mean run time of a replica (exponential), seconds' },
  overlap: { kind: 'int', min: 1, max: 16, default: 1, description: 'replicas per task' },
  flaky: { kind: 'number', min: 0, max: 1, default: 0, description: 'share of agents that sometimes report a failure' },
  'failure-rate': { kind: 'number', min: 0, max: 1, default: 0.1, description: 'how often a flaky agent reports a failure' },
  policy: { kind: 'choice', choices: SCHEDULING_POLICIES, default: 'heuristic', description: 'scheduling policy' },
  tick: { kind: 'number', min: 0.01, max: 3600, default: 1, description: 'period of the hub\'s scheduling pass, seconds' },
  'active-queue': { kind: 'int', min: 1, max: 1_000_000, default: 1000, description: 'tasks considered per scheduling pass (the thesis used 10 for 20 agents)' },
  kick: { kind: 'flag', default: false, description: 'also run a scheduling pass at once whenever capacity frees up' },
} as const;

/** Mean CPU and RAM of an agent (U{1..4}, U{1..8}) and of a task (U{1..2}, U{1..4}). */
const AGENT_CPU = [1, 4] as const;
const AGENT_RAM = [1, 8] as const;
const TASK_CPU = [1, 2] as const;
const TASK_RAM = [1, 4] as const;
const mid = (r: readonly [number, number]): number => (r[0] + r[1]) / 2;

export interface ChurnInput {
  seed: number;
  agents: number;
  durationS: number;
  sessions: SessionModel;
  sessionMeanS: number;
  sessionSigma: number;
  offlineMeanS: number;
  load: number;
  taskMeanS: number;
  overlap: number;
  flaky: number;
  failureRate: number;
  policy: SchedulingPolicy;
  tickS: number;
  activeQueue: number;
  kick: boolean;
  /** Samples of the network over time (for the charts). */
  samples?: number;
  /** Keep the event log and every task (tests); long runs keep counters only. */
  log?: boolean;
  progress?: (doneMs: number, totalMs: number) => void;
  /** Called once the world is built (agents registered, first events scheduled), as it starts to run. */
  onBuilt?: () => void;
}

export interface ChurnSample {
  t: number;
  online: number;
  running: number;
  waiting: number;
  validated: number;
}

export interface ChurnResult {
  agents: { identities: number; meanOnline: number; joins: number; leaves: number; markedInactive: number };
  tasks: { arrivalRatePerS: number; submitted: number; validated: number; abandoned: number; unfinished: number; validatedPerHour: number };
  executions: { started: number; reported: number; lostToDepartures: number; aborted: number; failureReports: number; wasted: number; wastedShare: number; perValidatedTask: number };
  assignments: { made: number; expired: number; cancelled: number; perValidatedTask: number };
  /** Seconds, validated tasks. */
  wait: Summary | null;
  completion: Summary | null;
  samples: ChurnSample[];
}

/** A session length in ms for the chosen distribution, with the given mean. */
function sessionLength(model: SessionModel, meanS: number, sigma: number, rng: Random): number {
  switch (model) {
    case 'exponential':
      return Math.max(1, Math.round(rng.exponential(meanS) * 1000));
    case 'fixed':
      return Math.round(meanS * 1000);
    case 'lognormal':
      // mean of exp(N(mu, sigma)) is exp(mu + sigma^2 / 2): choose mu to hit the asked mean.
      return Math.max(1, Math.round(rng.lognormal(Math.log(meanS) - (sigma * sigma) / 2, sigma) * 1000));
  }
}

export function runChurn(input: ChurnInput): { result: ChurnResult; world: World } {
  const params = mergeParams({ scheduling: { policy: input.policy, activeQueueSize: input.activeQueue } });
  const root = new Random(input.seed);
  const agentRng = root.stream();
  const sessionRng = root.stream();
  const taskRng = root.stream();
  const runRng = root.stream();
  const waits: number[] = [];
  const completions: number[] = [];
  const world = new World({
    params,
    scheduling: input.policy,
    validation: validationPolicy(params),
    duration: exponentialDuration(input.taskMeanS),
    rng: runRng,
    tickMs: input.tickS * 1000,
    kick: input.kick,
    log: input.log ?? false,
    forgetFinished: input.log !== true,
    onFinished: (r) => {
      if (r.status !== 'validated' || r.firstStartAt === undefined || r.finishedAt === undefined) return;
      waits.push((r.firstStartAt - r.submittedAt) / 1000);
      completions.push((r.finishedAt - r.submittedAt) / 1000);
    },
  });
  const endMs = Math.round(input.durationS * 1000);
  const onlineShare = input.offlineMeanS === 0 ? 1 : input.sessionMeanS / (input.sessionMeanS + input.offlineMeanS);

  let online = 0;
  const cycle = (spec: Parameters<World['join']>[0]): void => {
    world.join(spec);
    online++;
    const leaveAt = world.now + sessionLength(input.sessions, input.sessionMeanS, input.sessionSigma, sessionRng);
    if (leaveAt >= endMs) return;
    world.at(leaveAt, () => {
      world.leave(spec.id);
      online--;
      if (input.offlineMeanS === 0) return;
      const back = world.now + Math.max(1, Math.round(sessionRng.exponential(input.offlineMeanS) * 1000));
      if (back < endMs) world.at(back, () => cycle(spec));
    });
  };
  for (let i = 0; i < input.agents; i++) {
    const flaky = agentRng.chance(input.flaky);
    const behaviour: Behaviour = flaky ? { kind: 'flaky', failureRate: input.failureRate } : { kind: 'honest' };
    const spec = { id: agentId(`agent-${i}`), name: `agent-${i}`, total: { cpu: agentRng.int(...AGENT_CPU), ramGb: agentRng.int(...AGENT_RAM) }, trust: params.trust.initial, behaviour };
    // Start in the steady state: online with the long-run probability, else back after a gap.
    if (sessionRng.chance(onlineShare)) cycle(spec);
    else {
      const back = Math.max(1, Math.round(sessionRng.exponential(input.offlineMeanS) * 1000));
      if (back < endMs) world.at(back, () => cycle(spec));
    }
  }

  // Poisson arrivals sized to `load` of the CPU online on average.
  const cpuOnline = input.agents * onlineShare * mid(AGENT_CPU);
  const cpuSecondsPerTask = mid(TASK_CPU) * input.taskMeanS * input.overlap;
  const rate = (input.load * cpuOnline) / cpuSecondsPerTask;
  let n = 0;
  const arrive = (): void => {
    const id = `task-${n++}`;
    const spec = taskSpec({ image: 'sim/task', command: ['run', id], cpu: taskRng.int(...TASK_CPU), ramGb: taskRng.int(...TASK_RAM), minTrust: params.taskDefaults.minTrust, overlap: input.overlap, timeoutS: 600 });
    world.submit(spec, `result-of-${id}`, id);
    const next = world.now + Math.max(1, Math.round(taskRng.exponential(1000 / rate)));
    if (next < endMs) world.at(next, arrive);
  };
  if (rate > 0) world.at(Math.max(1, Math.round(taskRng.exponential(1000 / rate))), arrive);

  const sampleCount = input.samples ?? 60;
  const samples: ChurnSample[] = [];
  let onlineIntegral = 0;
  let lastT = 0;
  let lastOnline = online;
  const sample = (): void => {
    samples.push({ t: round(world.now / 1000, 1), online, running: world.hub.open.size, waiting: world.hub.backlog.size, validated: world.hub.counts.validated });
  };
  for (let k = 1; k <= sampleCount; k++) world.at(Math.round((endMs * k) / sampleCount), sample);
  sample();

  input.onBuilt?.();
  world.run({
    until: endMs,
    onProgress: () => {
      onlineIntegral += lastOnline * (world.now - lastT);
      lastT = world.now;
      lastOnline = online;
      input.progress?.(world.now, endMs);
    },
  });
  onlineIntegral += lastOnline * (endMs - lastT);

  const hub = world.hub;
  const c = world.counts;
  const validated = hub.counts.validated;
  const wasted = c.lostToDepartures + c.aborted + c.failureReports;
  const perTask = (x: number): number => (validated === 0 ? 0 : round(x / validated, 3));
  const result: ChurnResult = {
    agents: { identities: input.agents, meanOnline: round(onlineIntegral / endMs, 1), joins: c.joins, leaves: c.leaves, markedInactive: hub.counts.inactiveAgents },
    tasks: {
      arrivalRatePerS: round(rate, 3),
      submitted: hub.counts.submitted,
      validated,
      abandoned: hub.counts.abandoned,
      unfinished: hub.counts.submitted - validated - hub.counts.abandoned,
      validatedPerHour: round((validated * 3_600_000) / endMs, 1),
    },
    executions: {
      started: c.executions,
      reported: c.reported,
      lostToDepartures: c.lostToDepartures,
      aborted: c.aborted,
      failureReports: c.failureReports,
      wasted,
      wastedShare: c.executions === 0 ? 0 : round(wasted / c.executions, 4),
      perValidatedTask: perTask(c.executions),
    },
    assignments: { made: hub.counts.assignments, expired: hub.counts.expired, cancelled: hub.counts.cancelled, perValidatedTask: perTask(hub.counts.assignments) },
    wait: summarize(waits),
    completion: summarize(completions),
    samples,
  };
  return { result, world };
}

export const churn = defineScenario({
  name: 'churn',
  description: 'agents join and leave (vanishing mid-task); expired work is reassigned through the core\'s health checks',
  options,
  run({ seeds, options: o, progress }) {
    const runs = seeds.map((seed, i) =>
      runChurn({
        seed,
        agents: o.agents,
        durationS: o.duration,
        sessions: o.sessions as SessionModel,
        sessionMeanS: o['session-mean'],
        sessionSigma: o['session-sigma'],
        offlineMeanS: o['offline-mean'],
        load: o.load,
        taskMeanS: o['task-mean'],
        overlap: o.overlap,
        flaky: o.flaky,
        failureRate: o['failure-rate'],
        policy: o.policy as SchedulingPolicy,
        tickS: o.tick,
        activeQueue: o['active-queue'],
        kick: o.kick,
        // In simulated seconds, across all seeds.
        progress: (done, total) => progress?.(Math.round((i * total + done) / 1000), Math.round((seeds.length * total) / 1000)),
      }).result,
    );
    const perSeed = runs.map((r, i) => ({ seed: seeds[i] as number, ...r }));
    const mean = (pick: (r: ChurnResult) => number | undefined): number => round(runs.reduce((a, r) => a + (pick(r) ?? 0), 0) / runs.length, 3);
    const means = {
      validatedPerHour: mean((r) => r.tasks.validatedPerHour),
      wastedShare: mean((r) => r.executions.wastedShare),
      executionsPerValidatedTask: mean((r) => r.executions.perValidatedTask),
      waitAvg: mean((r) => r.wait?.avg),
      waitP95: mean((r) => r.wait?.p95),
      completionAvg: mean((r) => r.completion?.avg),
    };
    const first = perSeed[0] as (typeof perSeed)[number];
    const rows = (pick: (s: ChurnSample) => number, series: string): LineRow[] => first.samples.map((s) => ({ x: round(s.t / 60, 2), y: pick(s), series }));
    const charts = [
      {
        name: 'network',
        spec: lines({
          title: `churn: ${o.agents} agents, sessions ${o.sessions} mean ${o['session-mean']} s, offline mean ${o['offline-mean']} s (seed ${first.seed})`,
          xTitle: 'minutes',
          yTitle: 'count',
          seriesTitle: 'series',
          rows: [...rows((s) => s.online, 'agents online'), ...rows((s) => s.running, 'replicas assigned or running'), ...rows((s) => s.waiting, 'tasks waiting')],
        }),
      },
    ];
    const result = { scenario: 'churn', seeds: [...seeds], options: { ...o }, mean: means, perSeed };
    return { result, summary: summary(o, perSeed, means), charts, text: text(perSeed, means) };
  },
});

function fmtSummary(s: Summary | null): string {
  return s === null ? 'n/a' : `${s.min.toFixed(1)} / ${s.avg.toFixed(1)} / ${s.p95.toFixed(1)} / ${s.max.toFixed(1)}`;
}

function text(perSeed: ReadonlyArray<ChurnResult & { seed: number }>, means: Record<string, number>): string {
  const out: string[] = [];
  for (const r of perSeed) {
    out.push(`seed ${r.seed}: ${r.agents.identities} agents (${r.agents.meanOnline} online on average; ${r.agents.leaves} departures, ${r.agents.markedInactive} noticed by health checks)`);
    out.push(`  tasks: ${r.tasks.submitted} submitted, ${r.tasks.validated} validated (${r.tasks.validatedPerHour}/h), ${r.tasks.abandoned} abandoned, ${r.tasks.unfinished} unfinished at the end`);
    out.push(`  executions: ${r.executions.started} started, ${r.executions.wasted} wasted (${(r.executions.wastedShare * 100).toFixed(2)}%: ${r.executions.lostToDepartures} lost with their agent, ${r.executions.aborted} aborted, ${r.executions.failureReports} failure reports); ${r.executions.perValidatedTask} per validated task`);
    out.push(`  assignments: ${r.assignments.made} made, ${r.assignments.expired} expired`);
    out.push(`  queue wait s (min / avg / p95 / max): ${fmtSummary(r.wait)}; completion: ${fmtSummary(r.completion)}`);
  }
  if (perSeed.length > 1) out.push(`mean over ${perSeed.length} seeds: ${JSON.stringify(means)}`);
  return `${out.join('\n')}\n`;
}

function summary(o: Record<string, unknown>, perSeed: ReadonlyArray<ChurnResult & { seed: number }>, means: Record<string, number>): string {
  const out = ['# churn', ''];
  out.push(
    `${String(o.agents)} agents alternate online sessions (${String(o.sessions)}, mean ${String(o['session-mean'])} s) and offline gaps (exponential, mean ${String(o['offline-mean'])} s); they leave without a word, mid-task.`,
    `Tasks (CPU U{1..2}, RAM U{1..4} GB, overlap ${String(o.overlap)}, run time exponential with mean ${String(o['task-mean'])} s) arrive as a Poisson stream at ${String(o.load)} of the CPU online on average. Agents: CPU U{1..4}, RAM U{1..8} GB. Simulated time ${String(o.duration)} s.`,
    'The hub learns of a departure only through the core\'s health functions: no heartbeat for 2 minutes, or a deadline passed. Wasted executions: replicas that ran and never counted (lost with their agent, aborted because the hub gave up on them, failure reports).',
    '',
    '![network over time](network.svg)',
    '',
    '| seed | online (avg) | submitted | validated | per hour | unfinished | executions | wasted | wasted % | per task | wait avg | wait p95 | completion avg |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of perSeed) {
    out.push(
      `| ${r.seed} | ${r.agents.meanOnline} | ${r.tasks.submitted} | ${r.tasks.validated} | ${r.tasks.validatedPerHour} | ${r.tasks.unfinished} | ${r.executions.started} | ${r.executions.wasted} | ${(r.executions.wastedShare * 100).toFixed(2)} | ${r.executions.perValidatedTask} | ${r.wait?.avg ?? 'n/a'} | ${r.wait?.p95 ?? 'n/a'} | ${r.completion?.avg ?? 'n/a'} |`,
    );
  }
  if (perSeed.length > 1) {
    out.push(`| mean | | | | ${means.validatedPerHour} | | | | ${((means.wastedShare ?? 0) * 100).toFixed(2)} | ${means.executionsPerValidatedTask} | ${means.waitAvg} | ${means.waitP95} | ${means.completionAvg} |`);
  }
  out.push('');
  return out.join('\n');
}

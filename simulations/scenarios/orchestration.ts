import type { TaskSpecBody } from '../../protocol/messages.ts';
import { SCHEDULING_POLICIES, type SchedulingPolicy, mergeParams, validationPolicy } from '../../src/core/index.ts';
import { type GroupedBarRow, groupedBars } from '../harness/charts.ts';
import { type DurationModel, fixedDuration, proportionalDuration } from '../harness/durations.ts';
import { Random } from '../harness/random.ts';
import { defineScenario } from '../harness/scenario.ts';
import { type Summary, meanOfSummaries, round, summarize } from '../harness/stats.ts';
import { type AgentSpec, World } from '../harness/world.ts';
import { thesisAgent, thesisTask, unschedulableReason } from './thesis-workload.ts';

/**
 * The thesis' experiment 6.2: N agents x M tasks, FIFO against the heuristic (and any other
 * scheduling policy the core offers), with run times fixed (N(1.0, 0.1) s) or proportional to
 * the request. All tasks arrive at t = 0, as the original script submitted them. Agents are
 * honest, so every schedulable task ends validated; the measures are the queue wait (submission
 * to the first replica starting), the completion time (submission to validated) and the
 * original's own measure, the time of validation since the scenario began.
 */

export const DURATION_MODELS = ['fixed', 'proportional'] as const;
export type DurationName = (typeof DURATION_MODELS)[number];

export const UNSCHEDULABLE_HANDLING = ['skip', 'redraw', 'submit'] as const;
export type UnschedulableHandling = (typeof UNSCHEDULABLE_HANDLING)[number];

/** Redraws of one task under --unschedulable redraw before it counts as unschedulable after all. */
const MAX_TASK_DRAWS = 1000;
/** The thesis' result we compare with (N = 20, M = 100, proportional run times), in seconds. */
export const THESIS_N20_M100_PROPORTIONAL = { heuristic: { avg: 47.1, max: 103.3 }, fifo: { avg: 55.2, max: 121.0 } } as const;

const options = {
  agents: { kind: 'int-list', min: 1, max: 100_000, default: [10, 20], description: 'N: agents, one configuration per value' },
  tasks: { kind: 'int-list', min: 1, max: 1_000_000, default: [50, 100], description: 'M: tasks, one configuration per value' },
  policies: { kind: 'choice-list', choices: SCHEDULING_POLICIES, default: SCHEDULING_POLICIES, description: 'scheduling policies compared' },
  durations: { kind: 'choice-list', choices: DURATION_MODELS, default: DURATION_MODELS, description: 'run-time models' },
  'seconds-per-unit': { kind: 'number', min: 0.01, max: 3600, default: 3, description: 'proportional model: mean run time per unit of cpu + ramGb/2, seconds' },
  'duration-cv': { kind: 'number', min: 0, max: 2, default: 0.2, description: 'proportional model: standard deviation / mean' },
  tick: { kind: 'number', min: 0.01, max: 3600, default: 1, description: 'period of the hub\'s scheduling pass, seconds' },
  'active-queue': { kind: 'int', min: 1, max: 1_000_000, default: 10, description: 'active queue size (tasks per scheduling pass)' },
  'fetch-delay': { kind: 'number', min: 0, max: 3600, default: 0, description: 'seconds from assignment to the agent starting it' },
  'arrival-rate': { kind: 'number', min: 0, max: 1_000_000, default: 0, description: 'tasks per second, Poisson arrivals (0: all at t = 0)' },
  unschedulable: {
    kind: 'choice',
    choices: UNSCHEDULABLE_HANDLING,
    default: 'skip',
    description: 'tasks no set of agents can ever run: skip (count them), redraw (until M schedulable tasks), submit (they hold active-queue places for ever)',
  },
} as const;

export interface OrchestrationRunInput {
  seed: number;
  agents: number;
  tasks: number;
  policy: SchedulingPolicy;
  duration: DurationName;
  secondsPerUnit: number;
  durationCv: number;
  tickS: number;
  activeQueue: number;
  fetchDelayS: number;
  arrivalRate: number;
  unschedulable: UnschedulableHandling;
  log?: boolean;
}

export interface OrchestrationRun {
  world: World;
  /** The agents as they joined (their trust then: it rises as they validate). */
  agents: ReadonlyArray<{ id: string; total: { cpu: number; ramGb: number }; trust: number }>;
  /**
   * Tasks no set of agents could run when they were submitted, by the core's reason code
   * (redrawn ones not counted). Honest agents gain trust, so a few could run later.
   */
  unschedulable: { count: number; byReason: Record<string, number>; handling: UnschedulableHandling; tasks: Array<{ id: string; spec: TaskSpecBody; code: string }> };
  /** Seconds. null when no task was validated. */
  wait: Summary | null;
  completion: Summary | null;
  validatedAt: Summary | null;
  validated: number;
  /** Schedulable tasks that did not end validated (should be 0 with honest agents). */
  notValidated: number;
  executions: number;
  /** Virtual seconds until the last task was validated. */
  makespan: number;
}

/** The duration model a run names; the live mode's stand-in executor draws from it too. */
export function durationModel(name: DurationName, secondsPerUnit: number, cv: number): DurationModel {
  return name === 'fixed' ? fixedDuration(1.0, 0.1, 0.1) : proportionalDuration(secondsPerUnit, cv, 0.1);
}

export type OrchestrationWorldInput = Pick<OrchestrationRunInput, 'seed' | 'agents' | 'policy' | 'duration' | 'secondsPerUnit' | 'durationCv' | 'tickS' | 'activeQueue' | 'log'> & {
  fetchDelayS?: number;
};

/** A run's world with its honest agents joined, and the streams its tasks and arrivals are drawn from. */
export interface OrchestrationWorld {
  world: World;
  agents: Array<Omit<AgentSpec, 'behaviour'>>;
  trusts: number[];
  taskRng: Random;
  arrivalRng: Random;
}

/**
 * The world and agents of one run. The live mode draws through here too, so its virtual twin sees
 * the same agents and tasks; `trust`, when given, replaces each agent's drawn trust (after the draw,
 * so the streams stay the same).
 */
export function orchestrationWorld(input: OrchestrationWorldInput, trust?: number): OrchestrationWorld {
  const params = mergeParams({ scheduling: { policy: input.policy, activeQueueSize: input.activeQueue } });
  const root = new Random(input.seed);
  // Separate streams: both policies see the very same agents, tasks and arrival times.
  const agentRng = root.stream();
  const taskRng = root.stream();
  const arrivalRng = root.stream();
  const runRng = root.stream();
  const world = new World({
    params,
    scheduling: input.policy,
    validation: validationPolicy(params),
    duration: durationModel(input.duration, input.secondsPerUnit, input.durationCv),
    rng: runRng,
    tickMs: input.tickS * 1000,
    fetchDelayMs: Math.round((input.fetchDelayS ?? 0) * 1000),
    log: input.log ?? false,
  });
  const agents = Array.from({ length: input.agents }, (_, i) => {
    const agent = thesisAgent(i, agentRng);
    return trust === undefined ? agent : { ...agent, trust };
  });
  for (const a of agents) world.join({ ...a, behaviour: { kind: 'honest' } });
  return { world, agents, trusts: agents.map((a) => a.trust), taskRng, arrivalRng };
}

/** Draws task `index` (labelled `id`), redrawn up to MAX_TASK_DRAWS times under 'redraw'; `why` is null when some agents can run it. */
export function drawTask(drawn: OrchestrationWorld, index: number, id: string, handling: UnschedulableHandling): { spec: TaskSpecBody; why: ReturnType<typeof unschedulableReason> } {
  let spec = thesisTask(index, drawn.trusts, drawn.taskRng);
  let why = unschedulableReason(id, spec, drawn.world.hub.index);
  for (let draws = 1; why !== null && handling === 'redraw' && draws < MAX_TASK_DRAWS; draws++) {
    spec = thesisTask(index, drawn.trusts, drawn.taskRng);
    why = unschedulableReason(id, spec, drawn.world.hub.index);
  }
  return { spec, why };
}

/** One configuration, one policy, one duration model, one seed. */
export function runOrchestration(input: OrchestrationRunInput): OrchestrationRun {
  const drawn = orchestrationWorld(input);
  const { world, agents, arrivalRng } = drawn;

  const byReason: Record<string, number> = {};
  const unschedulableTasks: OrchestrationRun['unschedulable']['tasks'] = [];
  let arrival = 0;
  for (let i = 0; i < input.tasks; i++) {
    const id = `task-${i}`;
    const { spec, why } = drawTask(drawn, i, id, input.unschedulable);
    if (input.arrivalRate > 0) arrival += arrivalRng.exponential(1000 / input.arrivalRate);
    if (why !== null) {
      unschedulableTasks.push({ id, spec, code: why.code });
      byReason[why.code] = (byReason[why.code] ?? 0) + 1;
      if (input.unschedulable !== 'submit') continue;
    }
    const correct = `result-of-${id}`;
    if (arrival === 0) world.submit(spec, correct, id);
    else {
      const at = Math.round(arrival);
      world.at(at, () => world.submit(spec, correct, id));
    }
  }
  world.run();

  const waits: number[] = [];
  const completions: number[] = [];
  const validatedAt: number[] = [];
  let makespan = 0;
  for (const r of world.finished) {
    if (r.status !== 'validated' || r.finishedAt === undefined || r.firstStartAt === undefined) continue;
    waits.push((r.firstStartAt - r.submittedAt) / 1000);
    completions.push((r.finishedAt - r.submittedAt) / 1000);
    validatedAt.push(r.finishedAt / 1000);
    makespan = Math.max(makespan, r.finishedAt / 1000);
  }
  const submitted = world.hub.counts.submitted;
  return {
    world,
    agents,
    unschedulable: { count: unschedulableTasks.length, byReason, handling: input.unschedulable, tasks: unschedulableTasks },
    wait: summarize(waits),
    completion: summarize(completions),
    validatedAt: summarize(validatedAt),
    validated: waits.length,
    notValidated: submitted - waits.length - (input.unschedulable === 'submit' ? unschedulableTasks.length : 0),
    executions: world.counts.executions,
    makespan: round(makespan),
  };
}

interface CellResult {
  agents: number;
  tasks: number;
  duration: DurationName;
  policy: SchedulingPolicy;
  perSeed: Array<{ seed: number; validated: number; notValidated: number; unschedulable: number; unschedulableByReason: Record<string, number>; executions: number; makespan: number; wait: Summary | null; completion: Summary | null; validatedAt: Summary | null }>;
  mean: { wait: Summary | null; completion: Summary | null; validatedAt: Summary | null; makespan: number; validated: number; unschedulable: number };
}

const configName = (agents: number, tasks: number): string => `N=${agents}, M=${tasks}`;

export const orchestration = defineScenario({
  name: 'orchestration',
  description: 'thesis experiment 6.2: N agents x M tasks, FIFO vs the heuristic, fixed or proportional run times',
  options,
  run({ seeds, options: o, progress }) {
    // The same for every cell; the report lists them in this order.
    const timing = {
      secondsPerUnit: o['seconds-per-unit'],
      durationCv: o['duration-cv'],
      tickS: o.tick,
      activeQueue: o['active-queue'],
      fetchDelayS: o['fetch-delay'],
      arrivalRate: o['arrival-rate'],
    };
    const cells: CellResult[] = [];
    const total = o.durations.length * o.agents.length * o.tasks.length * o.policies.length * seeds.length;
    let done = 0;
    for (const duration of o.durations as DurationName[]) {
      for (const agents of o.agents) {
        for (const tasks of o.tasks) {
          for (const policy of o.policies as SchedulingPolicy[]) {
            const perSeed: CellResult['perSeed'] = [];
            for (const seed of seeds) {
              const run = runOrchestration({
                seed,
                agents,
                tasks,
                policy,
                duration,
                ...timing,
                unschedulable: o.unschedulable as UnschedulableHandling,
              });
              perSeed.push({
                seed,
                validated: run.validated,
                notValidated: run.notValidated,
                unschedulable: run.unschedulable.count,
                unschedulableByReason: run.unschedulable.byReason,
                executions: run.executions,
                makespan: run.makespan,
                wait: run.wait,
                completion: run.completion,
                validatedAt: run.validatedAt,
              });
              progress?.(++done, total);
            }
            const avg = (pick: (s: CellResult['perSeed'][number]) => number): number => round(perSeed.reduce((a, s) => a + pick(s), 0) / perSeed.length, 3);
            cells.push({
              agents,
              tasks,
              duration,
              policy,
              perSeed,
              mean: {
                wait: meanOfSummaries(perSeed.map((s) => s.wait)),
                completion: meanOfSummaries(perSeed.map((s) => s.completion)),
                validatedAt: meanOfSummaries(perSeed.map((s) => s.validatedAt)),
                makespan: avg((s) => s.makespan),
                validated: avg((s) => s.validated),
                unschedulable: avg((s) => s.unschedulable),
              },
            });
          }
        }
      }
    }

    const configs = o.agents.flatMap((n) => o.tasks.map((m) => configName(n, m)));
    const charts = (o.durations as DurationName[]).flatMap((duration) => {
      const of = cells.filter((c) => c.duration === duration);
      const rows = (pick: (c: CellResult) => Summary | null): GroupedBarRow[] =>
        of.flatMap((c) => {
          const s = pick(c);
          const group = configName(c.agents, c.tasks);
          return s === null ? [] : (['min', 'avg', 'max'] as const).map((stat) => ({ group, series: c.policy, category: stat, value: s[stat] }));
        });
      const common = { groupOrder: configs, categoryOrder: ['min', 'avg', 'max'], seriesOrder: o.policies };
      const title = duration === 'fixed' ? 'fixed run times, N(1.0, 0.1) s' : `run times proportional to cpu + ram/2 (${o['seconds-per-unit']} s per unit)`;
      return [
        { name: `wait-${duration}`, spec: groupedBars({ ...common, title: `Queue wait (submission to first start): ${title}`, yTitle: 'seconds', rows: rows((c) => c.mean.wait) }) },
        { name: `validated-at-${duration}`, spec: groupedBars({ ...common, title: `Validated, seconds since the start (the thesis' measure): ${title}`, yTitle: 'seconds', rows: rows((c) => c.mean.validatedAt) }) },
      ];
    });

    const result = {
      scenario: 'orchestration',
      seeds: [...seeds],
      options: {
        agents: o.agents,
        tasks: o.tasks,
        policies: o.policies,
        durations: o.durations,
        ...timing,
        unschedulable: o.unschedulable,
      },
      thesis: { n20m100proportional: THESIS_N20_M100_PROPORTIONAL },
      results: cells,
    };
    return { result, summary: summary(cells, o['seconds-per-unit'], o['duration-cv'], seeds.length, o.unschedulable as UnschedulableHandling), charts, text: text(cells, seeds.length) };
  },
});

function cell(s: Summary | null): string {
  return s === null ? 'n/a' : `${s.min.toFixed(1)} / ${s.avg.toFixed(1)} / ${s.max.toFixed(1)}`;
}

function text(cells: readonly CellResult[], seedCount: number): string {
  const lines = [`seconds, min / avg / max${seedCount > 1 ? ` (mean over ${seedCount} seeds)` : ''}`];
  lines.push(`${'run times'.padEnd(13)}${'config'.padEnd(16)}${'policy'.padEnd(11)}${'queue wait'.padEnd(22)}${'completion'.padEnd(22)}${'validated at'.padEnd(22)}${'validated'.padEnd(11)}unschedulable`);
  for (const c of cells) {
    lines.push(`${c.duration.padEnd(13)}${configName(c.agents, c.tasks).padEnd(16)}${c.policy.padEnd(11)}${cell(c.mean.wait).padEnd(22)}${cell(c.mean.completion).padEnd(22)}${cell(c.mean.validatedAt).padEnd(22)}${String(c.mean.validated).padEnd(11)}${c.mean.unschedulable}`);
  }
  return `${lines.join('\n')}\n`;
}

const HANDLING_TEXT: Record<UnschedulableHandling, string> = {
  skip: 'are counted as unschedulable, with the core\'s reason, and not submitted',
  redraw: 'are drawn again until they can run (those still unschedulable after 1000 draws are counted and not submitted)',
  submit: 'are counted as unschedulable and submitted anyway: they wait for ever and hold places in the active queue',
};

function summary(cells: readonly CellResult[], secondsPerUnit: number, cv: number, seedCount: number, handling: UnschedulableHandling): string {
  const out = ['# orchestration (thesis experiment 6.2)', ''];
  out.push(
    'Agents: CPU U{1..4}, RAM U{1..8} GB, trust U(1, 10). Tasks: CPU U{1..6}, RAM U{1..10} GB, overlap 1..5 (weights .10/.35/.35/.15/.05), required trust U(1, 10) redrawn until at least `overlap` agents exceed it by 0.5. All agents honest.',
    `Run times: fixed N(1.0, 0.1) s (at least 0.1 s), or proportional: N(mu, ${cv} mu) with mu = ${secondsPerUnit} s x (cpu + ramGb / 2), at least 0.1 s.`,
    `Tasks that no set of agents can ever run (no agent big enough, or fewer big and trusted enough agents than the overlap count) ${HANDLING_TEXT[handling]}. The original never checked capacity: it ran such tasks on agents too small for them.`,
    `Every figure is in seconds, min / avg / max${seedCount > 1 ? `, the mean over ${seedCount} seeds` : ''}. Queue wait: submission to the first replica starting. Completion: submission to validated. Validated at: seconds since the scenario began (the thesis' own measure; with every task submitted at t = 0 it equals the completion time).`,
    '',
  );
  for (const duration of DURATION_MODELS) {
    const of = cells.filter((c) => c.duration === duration);
    if (of.length === 0) continue;
    out.push(`## ${duration === 'fixed' ? 'Fixed run times (Figure 6.5)' : 'Run times proportional to the request (Figure 6.6)'}`, '');
    out.push(`![queue wait](wait-${duration}.svg)`, '');
    out.push('| config | policy | queue wait | completion | validated at | validated | unschedulable | makespan |', '| --- | --- | --- | --- | --- | ---: | ---: | ---: |');
    for (const c of of) {
      out.push(`| ${configName(c.agents, c.tasks)} | ${c.policy} | ${cell(c.mean.wait)} | ${cell(c.mean.completion)} | ${cell(c.mean.validatedAt)} | ${c.mean.validated} | ${c.mean.unschedulable} | ${c.mean.makespan} |`);
    }
    out.push('');
  }
  const thesisRows = cells.filter((c) => c.duration === 'proportional' && c.agents === 20 && c.tasks === 100);
  if (thesisRows.length > 0) {
    out.push('## Beside the thesis (N = 20, M = 100, proportional run times)', '');
    out.push('| policy | thesis avg | thesis max | ours: validated at avg | max | ours: queue wait avg | max |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const c of thesisRows) {
      const thesis = (THESIS_N20_M100_PROPORTIONAL as Record<string, { avg: number; max: number } | undefined>)[c.policy];
      const v = c.mean.validatedAt;
      const w = c.mean.wait;
      const s1 = (x: number | undefined): string => (x === undefined ? 'n/a' : x.toFixed(1));
      out.push(`| ${c.policy} | ${s1(thesis?.avg)} | ${s1(thesis?.max)} | ${s1(v?.avg)} | ${s1(v?.max)} | ${s1(w?.avg)} | ${s1(w?.max)} |`);
    }
    out.push('', `The thesis does not publish its run-time constant; ours (${secondsPerUnit} s per unit of cpu + ramGb / 2 by default) puts the heuristic's average validation time near the thesis' range, so compare the ratio between the policies rather than absolute seconds.`, '');
  }
  return out.join('\n');
}

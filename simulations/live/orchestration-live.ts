import type { SchedulingPolicy } from '../../src/core/index.ts';
import { type GroupedBarRow, groupedBars } from '../harness/charts.ts';
import type { ScenarioOutput } from '../harness/scenario.ts';
import type { Summary } from '../harness/stats.ts';
import { type DurationName, runOrchestration, type UnschedulableHandling } from '../scenarios/orchestration.ts';
import { drawWorkload, type LiveOrchestrationCell, type OrchestrationMeasures, runLive, runTwin } from './live-orchestration.ts';
import type { LiveRunInput } from './runner.ts';

/** `dcloud sim orchestration --live`: every configuration against a real hub, beside its virtual twin. */

export const ORCHESTRATION_LIVE_DEFAULTS = { agents: [10], tasks: [20], durations: ['fixed'] };

type Live = Awaited<ReturnType<typeof runLive>>;

interface CellOutcome {
  cell: LiveOrchestrationCell;
  live: Live;
  /** The virtual run of the very workload run live (agents at trust 5.0). */
  virtual: OrchestrationMeasures;
  /** The orchestration scenario's own virtual run for the same seed (agents' trust U(1, 10)). */
  scenario: OrchestrationMeasures;
}

/** The scenario's virtual run of this configuration and seed, in the live report's terms. */
function scenarioRun(cell: LiveOrchestrationCell): OrchestrationMeasures {
  const run = runOrchestration({ ...cell, fetchDelayS: 0, arrivalRate: 0 });
  return {
    submitted: run.world.hub.counts.submitted,
    validated: run.validated,
    notValidated: run.notValidated,
    unschedulable: run.unschedulable.count,
    executions: run.executions,
    wait: run.wait,
    completion: run.completion,
    validatedAt: run.validatedAt,
    makespan: run.makespan,
  };
}

export async function runOrchestrationLive({ seed, options: o, live, progress }: LiveRunInput): Promise<ScenarioOutput> {
  const cells: LiveOrchestrationCell[] = [];
  for (const duration of o.durations as DurationName[]) {
    for (const agents of o.agents as number[]) {
      for (const tasks of o.tasks as number[]) {
        for (const policy of o.policies as SchedulingPolicy[]) {
          cells.push({
            seed,
            agents,
            tasks,
            policy,
            duration,
            secondsPerUnit: o['seconds-per-unit'] as number,
            durationCv: o['duration-cv'] as number,
            tickS: o.tick as number,
            activeQueue: o['active-queue'] as number,
            unschedulable: o.unschedulable as UnschedulableHandling,
          });
        }
      }
    }
  }
  const outcomes: CellOutcome[] = [];
  for (const [i, cell] of cells.entries()) {
    const virtual = runTwin(drawWorkload(cell));
    const liveRun = await runLive(cell, drawWorkload(cell), live, (done, total) => progress?.(i * total + done, cells.length * total));
    outcomes.push({ cell, live: liveRun, virtual, scenario: scenarioRun(cell) });
  }
  const result = {
    scenario: 'orchestration',
    mode: 'live',
    seed,
    timeScale: live.timeScale,
    hub: live.hubUrl === '' ? 'spawned: one fresh `dcloud hub` process per configuration' : live.hubUrl,
    note: 'Simulated seconds (live wall times divided by the time scale). live and virtual: the same workload, agents at the hub\'s initial trust (5.0); scenario: the virtual orchestration scenario for the same seed (agents\' trust U(1, 10)).',
    results: outcomes.map(({ cell, live: l, virtual, scenario }) => ({ ...cell, live: l, virtual, scenario })),
  };
  return { result, summary: summary(outcomes, live.timeScale), charts: charts(outcomes), text: text(outcomes) };
}

const fmt = (s: Summary | null): string => (s === null ? 'n/a' : `${s.min.toFixed(1)} / ${s.avg.toFixed(1)} / ${s.max.toFixed(1)}`);
const name = (c: LiveOrchestrationCell): string => `N=${c.agents}, M=${c.tasks}`;

function text(outcomes: readonly CellOutcome[]): string {
  const lines = ['simulated seconds, min / avg / max: live (real hub) | virtual (same workload) | virtual scenario (same seed, trust U(1, 10))'];
  for (const { cell, live, virtual, scenario } of outcomes) {
    lines.push(
      `${cell.duration} ${name(cell)} ${cell.policy}: validated ${live.validated}/${live.submitted} | ${virtual.validated}/${virtual.submitted} | ${scenario.validated}/${scenario.submitted}, unschedulable ${live.unschedulable} | ${virtual.unschedulable} | ${scenario.unschedulable}`,
      `  queue wait   ${fmt(live.wait).padEnd(24)}| ${fmt(virtual.wait).padEnd(24)}| ${fmt(scenario.wait)}`,
      `  completion   ${fmt(live.completion).padEnd(24)}| ${fmt(virtual.completion).padEnd(24)}| ${fmt(scenario.completion)}`,
      `  validated at ${fmt(live.validatedAt).padEnd(24)}| ${fmt(virtual.validatedAt).padEnd(24)}| ${fmt(scenario.validatedAt)}`,
    );
    if (live.notValidated > 0) lines.push(`  NOT VALIDATED live: ${live.notValidated} (${live.stillWaiting.map((t) => `${t.label} ${t.status}`).join(', ')})`);
  }
  return `${lines.join('\n')}\n`;
}

function summary(outcomes: readonly CellOutcome[], timeScale: number): string {
  const out = ['# orchestration, live against a real hub', ''];
  out.push(
    `The thesis' experiment 6.2 against a real \`dcloud hub\` over HTTP: simulated agents register, heartbeat, ask for work and post signed results; the stand-in executor sleeps for the replica's simulated run time x ${timeScale} and answers the task's deterministic output. Beside it, the virtual run of exactly the same workload (same seed, same agents and tasks). Figures are simulated seconds (live wall times / ${timeScale}).`,
    '',
    'A real hub starts every agent at its initial trust (5.0), so both runs do; the tasks\' required trust is drawn against it by the thesis\' rule. Tasks no set of agents can run are counted as unschedulable (the core\'s reason) and handled as `--unschedulable` says. The third row of each configuration is the virtual orchestration scenario itself for the same seed (agents\' trust U(1, 10), so other tasks can run).',
    '',
    '| run times | config | policy | side | validated | not validated | unschedulable | executions | queue wait | completion | validated at |',
    '| --- | --- | --- | --- | ---: | ---: | ---: | ---: | --- | --- | --- |',
  );
  for (const { cell, live, virtual, scenario } of outcomes) {
    for (const [side, m] of [['live', live], ['virtual', virtual], ['virtual scenario, trust U(1, 10)', scenario]] as const) {
      out.push(`| ${cell.duration} | ${name(cell)} | ${cell.policy} | ${side} | ${m.validated} | ${m.notValidated} | ${m.unschedulable} | ${m.executions} | ${fmt(m.wait)} | ${fmt(m.completion)} | ${fmt(m.validatedAt)} |`);
    }
  }
  out.push('', '![queue wait](live-wait.svg)', '', '![validated at](live-validated-at.svg)', '');
  const stuck = outcomes.filter((x) => x.live.notValidated > 0);
  if (stuck.length > 0) {
    out.push('## Not validated live', '');
    for (const { cell, live } of stuck) out.push(`- ${cell.duration} ${name(cell)} ${cell.policy}: ${live.stillWaiting.map((t) => `${t.label} (${t.status}${t.reason === undefined ? '' : `: ${t.reason}`})`).join('; ')}`);
    out.push('');
  }
  return out.join('\n');
}

function charts(outcomes: readonly CellOutcome[]): ScenarioOutput['charts'] {
  const rows = (pick: (m: OrchestrationMeasures) => Summary | null): GroupedBarRow[] =>
    outcomes.flatMap(({ cell, live, virtual }) =>
      (['live', 'virtual'] as const).flatMap((side) => {
        const s = pick(side === 'live' ? live : virtual);
        return s === null ? [] : (['min', 'avg', 'max'] as const).map((stat) => ({ group: `${name(cell)}, ${cell.duration}`, series: `${cell.policy} ${side}`, category: stat, value: s[stat] }));
      }),
    );
  const groups = [...new Set(outcomes.map(({ cell }) => `${name(cell)}, ${cell.duration}`))];
  const series = [...new Set(outcomes.flatMap(({ cell }) => [`${cell.policy} live`, `${cell.policy} virtual`]))];
  const common = { groupOrder: groups, categoryOrder: ['min', 'avg', 'max'], seriesOrder: series };
  return [
    { name: 'live-wait', spec: groupedBars({ ...common, title: 'Queue wait, live hub vs virtual run (simulated seconds)', yTitle: 'seconds', rows: rows((m) => m.wait) }) },
    { name: 'live-validated-at', spec: groupedBars({ ...common, title: 'Validated, seconds since the start: live hub vs virtual run', yTitle: 'seconds', rows: rows((m) => m.validatedAt) }) },
  ];
}

import type { TaskSpecBody } from '../../protocol/messages.ts';
import type { SchedulingPolicy } from '../../src/core/index.ts';
import type { Behaviour } from '../harness/behaviour.ts';
import { Random } from '../harness/random.ts';
import { type GroupedBarRow, groupedBars } from '../harness/charts.ts';
import type { ScenarioOutput } from '../harness/scenario.ts';
import { type Summary, round, summarize } from '../harness/stats.ts';
import { type AgentSpec, World } from '../harness/world.ts';
import { type ChurnInput, type ChurnResult, type SessionModel, runChurn } from '../scenarios/churn.ts';
import { LiveAgent } from './live-agent.ts';
import { commonHubArgs, LIVE_IMAGE, openHub, warmImage } from './hub-target.ts';
import type { LiveRunInput } from './runner.ts';
import { SignedAgent, sleep } from './signed-agent.ts';

/**
 * `dcloud sim churn --live`: the churn scenario's very schedule (who joins and leaves when, which
 * task arrives when), taken from its virtual run for the same seed, replayed against a real hub
 * in scaled wall time by simulated agents that vanish mid-task and come back; the same measures
 * from the hub's view, beside the virtual run's.
 */

export const CHURN_LIVE_DEFAULTS = { agents: 20, duration: 300, 'session-mean': 120, 'offline-mean': 60, 'task-mean': 10 };


type ScheduleEvent =
  | { at: number; kind: 'join'; agent: AgentSpec }
  | { at: number; kind: 'leave'; agentId: string }
  | { at: number; kind: 'submit'; label: string; spec: TaskSpecBody };

/**
 * Runs the virtual scenario and records its schedule as it happens: the World's join, leave and
 * submit, wrapped for the length of the run (runChurn builds its World itself; this reads what
 * it does without a copy of its drawing code).
 */
function virtualWithSchedule(input: ChurnInput): { result: ChurnResult; schedule: ScheduleEvent[] } {
  const schedule: ScheduleEvent[] = [];
  const proto = World.prototype;
  const { join, leave, submit } = proto;
  proto.join = function (this: World, spec: AgentSpec) {
    schedule.push({ at: this.now, kind: 'join', agent: spec });
    return join.call(this, spec);
  };
  proto.leave = function (this: World, agentId: string) {
    schedule.push({ at: this.now, kind: 'leave', agentId });
    return leave.call(this, agentId);
  };
  proto.submit = function (this: World, spec: TaskSpecBody, correct: string, id?: string) {
    const label = id ?? `task-${schedule.length}`;
    schedule.push({ at: this.now, kind: 'submit', label, spec });
    return submit.call(this, spec, correct, id);
  };
  try {
    return { result: runChurn(input).result, schedule };
  } finally {
    proto.join = join;
    proto.leave = leave;
    proto.submit = submit;
  }
}

interface LiveTask {
  id?: string;
  label: string;
  submittedAt: number;
  firstStartAt?: number;
}

export interface ChurnLiveMeasures {
  agents: { identities: number; joins: number; leaves: number };
  tasks: { submitted: number; validated: number; abandoned: number; unfinished: number; validatedPerHour: number };
  executions: { started: number; reported: number; lostToDepartures: number; failureReports: number; wasted: number; wastedShare: number; perValidatedTask: number };
  wait: Summary | null;
  completion: Summary | null;
  requestErrors: number;
}

export async function runChurnLive({ seed, options: o, live, progress }: LiveRunInput): Promise<ScenarioOutput> {
  const input: ChurnInput = {
    seed,
    agents: o.agents as number,
    durationS: o.duration as number,
    sessions: o.sessions as SessionModel,
    sessionMeanS: o['session-mean'] as number,
    sessionSigma: o['session-sigma'] as number,
    offlineMeanS: o['offline-mean'] as number,
    load: o.load as number,
    taskMeanS: o['task-mean'] as number,
    overlap: o.overlap as number,
    flaky: o.flaky as number,
    failureRate: o['failure-rate'] as number,
    policy: o.policy as SchedulingPolicy,
    tickS: o.tick as number,
    activeQueue: o['active-queue'] as number,
    kick: false,
  };
  const { result: virtual, schedule } = virtualWithSchedule(input);
  const liveRun = await replay(input, schedule, live.timeScale, live.hubUrl, progress);
  const result = {
    scenario: 'churn',
    mode: 'live',
    seed,
    timeScale: live.timeScale,
    hub: liveRun.hub,
    options: { ...o },
    note: 'The virtual run\'s own schedule (joins, departures, arrivals) replayed against the hub in wall time x time scale; figures in simulated seconds on both sides.',
    live: liveRun.measures,
    virtual: { agents: virtual.agents, tasks: virtual.tasks, executions: virtual.executions, wait: virtual.wait, completion: virtual.completion },
  };
  return { result, summary: summary(input, live.timeScale, liveRun.measures, virtual), charts: charts(liveRun.measures, virtual), text: text(liveRun.measures, virtual) };
}

async function replay(input: ChurnInput, schedule: readonly ScheduleEvent[], scale: number, hubUrl: string, progress?: (done: number, total: number) => void): Promise<{ hub: string; measures: ChurnLiveMeasures }> {
  const hub = await openHub({
    url: hubUrl,
    args: [...commonHubArgs(scale), '--policy', input.policy, '--active-queue-size', String(input.activeQueue), '--tick-ms', String(Math.max(10, Math.round(input.tickS * 1000 * scale)))],
  });
  const rng = new Random(input.seed).stream();
  const agents = new Map<string, LiveAgent>();
  const tasks = new Map<string, LiveTask>();
  const byId = new Map<string, LiveTask>();
  const counts = { started: 0, reported: 0, failureReports: 0, lost: 0, joins: 0, leaves: 0, requestErrors: 0 };
  const events = {
    started(taskId: string, at: number) {
      counts.started++;
      const t = byId.get(taskId);
      if (t !== undefined && t.firstStartAt === undefined) t.firstStartAt = at;
    },
    reported(_taskId: string, outcome: 'ok' | 'error', _at: number, lost: boolean) {
      // Lost work reported on return is counted where it was lost (lostToDepartures), as the virtual run does.
      if (lost) return;
      counts.reported++;
      if (outcome === 'error') counts.failureReports++;
    },
    lost() {
      counts.lost++;
    },
    failed() {
      counts.requestErrors++;
    },
  };
  const agentFor = (spec: AgentSpec): LiveAgent => {
    let agent = agents.get(spec.id);
    if (agent === undefined) {
      const behaviour: Behaviour = spec.behaviour;
      agent = new LiveAgent(hub.client, {
        name: spec.name,
        resources: spec.total,
        // The replica's run time: the scenario's model (exponential, its mean), scaled.
        runMs: () => Math.max(1, Math.round(Math.max(0.1, rng.exponential(input.taskMeanS)) * 1000 * scale)),
        fails: () => behaviour.kind === 'flaky' && rng.chance(behaviour.failureRate),
        heartbeatMs: Math.max(100, Math.round(30_000 * scale)),
        pollMs: Math.max(100, Math.round(1000 * scale)),
        events,
      });
      agents.set(spec.id, agent);
    }
    return agent;
  };
  const submitter = new SignedAgent(hub.client, { name: 'sim-submitter' });
  const pending: Array<Promise<unknown>> = [];
  const endMs = input.durationS * 1000;
  let t0 = Date.now();
  try {
    await warmImage(hub.client);
    t0 = Date.now();
    for (const [i, event] of schedule.entries()) {
      const wait = t0 + event.at * scale - Date.now();
      if (wait > 0) await sleep(wait);
      switch (event.kind) {
        case 'join':
          counts.joins++;
          pending.push(agentFor(event.agent).join());
          break;
        case 'leave':
          counts.leaves++;
          agents.get(event.agentId)?.leave();
          break;
        case 'submit': {
          const t: LiveTask = { label: event.label, submittedAt: Date.now() };
          tasks.set(event.label, t);
          const spec = { ...event.spec, image: LIVE_IMAGE, command: ['echo', event.label], timeoutS: Math.max(1, Math.round(event.spec.timeoutS * scale)) };
          pending.push(
            submitter.submitTask(spec).then(
              (view) => {
                t.id = view.id;
                byId.set(view.id, t);
              },
              () => {
                counts.requestErrors++;
              },
            ),
          );
          break;
        }
      }
      if (i % 16 === 0) progress?.(Math.round(event.at / 1000), Math.round(endMs / 1000));
    }
    const rest = t0 + endMs * scale - Date.now();
    if (rest > 0) await sleep(rest);
    await Promise.allSettled(pending);
    // The end of the scenario: where every task stands, as the hub says.
    const secs = (ms: number): number => ms / 1000 / scale;
    const waits: number[] = [];
    const completions: number[] = [];
    let validated = 0;
    let abandoned = 0;
    for (const t of tasks.values()) {
      if (t.id === undefined) continue;
      const view = await hub.client.task(t.id);
      if (view.status === 'abandoned') abandoned++;
      if (view.status !== 'validated') continue;
      validated++;
      const at = view.transitions.find((x) => x.status === 'validated')?.at;
      if (t.firstStartAt !== undefined) waits.push(secs(t.firstStartAt - t.submittedAt));
      if (at !== undefined) completions.push(secs(at - t.submittedAt));
    }
    const wasted = counts.lost + counts.failureReports;
    const perTask = (x: number): number => (validated === 0 ? 0 : round(x / validated, 3));
    return {
      hub: hub.spawned ? 'spawned' : hub.url,
      measures: {
        agents: { identities: input.agents, joins: counts.joins, leaves: counts.leaves },
        tasks: { submitted: tasks.size, validated, abandoned, unfinished: tasks.size - validated - abandoned, validatedPerHour: round((validated * 3_600_000) / endMs, 1) },
        executions: { started: counts.started, reported: counts.reported, lostToDepartures: counts.lost, failureReports: counts.failureReports, wasted, wastedShare: counts.started === 0 ? 0 : round(wasted / counts.started, 4), perValidatedTask: perTask(counts.started) },
        wait: summarize(waits),
        completion: summarize(completions),
        requestErrors: counts.requestErrors,
      },
    };
  } finally {
    await Promise.all([...agents.values()].map((a) => a.stop()));
    await hub.close();
  }
}

const fmt = (s: Summary | null): string => (s === null ? 'n/a' : `${s.min.toFixed(1)} / ${s.avg.toFixed(1)} / ${s.p95.toFixed(1)} / ${s.max.toFixed(1)}`);

function rows(l: ChurnLiveMeasures, v: ChurnResult): Array<[string, string, string]> {
  return [
    ['joins / departures', `${l.agents.joins} / ${l.agents.leaves}`, `${v.agents.joins} / ${v.agents.leaves}`],
    ['tasks submitted', String(l.tasks.submitted), String(v.tasks.submitted)],
    ['validated', String(l.tasks.validated), String(v.tasks.validated)],
    ['abandoned', String(l.tasks.abandoned), String(v.tasks.abandoned)],
    ['unfinished at the end', String(l.tasks.unfinished), String(v.tasks.unfinished)],
    ['executions started', String(l.executions.started), String(v.executions.started)],
    ['lost with their agent', String(l.executions.lostToDepartures), String(v.executions.lostToDepartures)],
    ['failure reports', String(l.executions.failureReports), String(v.executions.failureReports)],
    ['wasted share', `${(l.executions.wastedShare * 100).toFixed(2)}%`, `${(v.executions.wastedShare * 100).toFixed(2)}%`],
    ['executions per validated task', String(l.executions.perValidatedTask), String(v.executions.perValidatedTask)],
    ['queue wait s (min / avg / p95 / max)', fmt(l.wait), fmt(v.wait)],
    ['completion s (min / avg / p95 / max)', fmt(l.completion), fmt(v.completion)],
  ];
}

function text(l: ChurnLiveMeasures, v: ChurnResult): string {
  const out = [`${'measure'.padEnd(38)}${'live (real hub)'.padEnd(30)}virtual (same schedule)`];
  for (const [m, a, b] of rows(l, v)) out.push(`${m.padEnd(38)}${a.padEnd(30)}${b}`);
  if (l.requestErrors > 0) out.push(`(${l.requestErrors} requests to the hub failed)`);
  return `${out.join('\n')}\n`;
}

function summary(input: ChurnInput, scale: number, l: ChurnLiveMeasures, v: ChurnResult): string {
  const out = ['# churn, live against a real hub', ''];
  out.push(
    `${input.agents} agents, ${input.durationS} simulated s (${input.sessions} sessions, mean ${input.sessionMeanS} s; offline mean ${input.offlineMeanS} s; tasks of mean ${input.taskMeanS} s, overlap ${input.overlap}, load ${input.load}). The virtual run's schedule (joins, departures, arrivals) is replayed against a real \`dcloud hub\` at ${scale} wall s per simulated s; agents sign real envelopes, vanish mid-task and report lost work as failed when they return; the hub's heartbeat timeout, assignment grace, tick and the tasks' timeouts are scaled alike. Figures in simulated seconds.`,
    '',
    'Differences by construction: live agents poll for work (the virtual ones are handed it at once) and run times are drawn again (same model, other draws).',
    '',
    '![queue wait and completion](live-times.svg)',
    '',
    '| measure | live (real hub) | virtual (same schedule) |',
    '| --- | --- | --- |',
    ...rows(l, v).map(([m, a, b]) => `| ${m} | ${a} | ${b} |`),
    '',
  );
  if (l.requestErrors > 0) out.push(`${l.requestErrors} requests to the hub failed (network or unexpected answers).`, '');
  return out.join('\n');
}

function charts(l: ChurnLiveMeasures, v: ChurnResult): ScenarioOutput['charts'] {
  const stats = ['min', 'avg', 'p95', 'max'] as const;
  const rows: GroupedBarRow[] = (['queue wait', 'completion'] as const).flatMap((group) =>
    (['live', 'virtual'] as const).flatMap((series) => {
      const s = group === 'queue wait' ? (series === 'live' ? l.wait : v.wait) : series === 'live' ? l.completion : v.completion;
      return s === null ? [] : stats.map((category) => ({ group, series, category, value: s[category] }));
    }),
  );
  return [{ name: 'live-times', spec: groupedBars({ title: 'Churn: live hub vs virtual run (simulated seconds)', yTitle: 'seconds', rows, groupOrder: ['queue wait', 'completion'], categoryOrder: [...stats], seriesOrder: ['live', 'virtual'] }) }];
}

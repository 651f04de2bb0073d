import type { TaskSpecBody } from '../../protocol/messages.ts';
import { Random } from '../harness/random.ts';
import { type Summary, round, summarize } from '../harness/stats.ts';
import type { World } from '../harness/world.ts';
import { drawTask, durationModel, type OrchestrationRunInput, orchestrationWorld } from '../scenarios/orchestration.ts';
import { LiveAgent } from './live-agent.ts';
import { commonHubArgs, LIVE_IMAGE, openHub, warmImage } from './hub-target.ts';
import type { LiveSettings } from './options.ts';
import { SignedAgent, sleep } from './signed-agent.ts';

/**
 * The orchestration scenario (thesis 6.2) against a real hub: the same agents and tasks, drawn
 * from the same seed, registered and submitted over HTTP, run by simulated agents with a stand-in
 * executor; and beside it the virtual run of exactly that workload (its twin), so that the
 * simulator is checked against the real system.
 *
 * One difference from the virtual scenario, on both sides: a real hub gives every new agent its
 * initial trust (5.0), so the agents' trust is that, not U(1, 10), and the tasks' required trust
 * is drawn against it by the thesis' own rule (at least `overlap` agents above it by 0.5).
 */

const INITIAL_TRUST = 5;

/** A virtual run's input without arrivals, fetch delay and log: live, every task is submitted at once. */
export type LiveOrchestrationCell = Omit<OrchestrationRunInput, 'fetchDelayS' | 'arrivalRate' | 'log'>;

/** The measures of one run, live or virtual, in simulated seconds. */
export interface OrchestrationMeasures {
  submitted: number;
  validated: number;
  /** Submitted tasks that did not end validated (live: within the time limit). */
  notValidated: number;
  unschedulable: number;
  executions: number;
  wait: Summary | null;
  completion: Summary | null;
  validatedAt: Summary | null;
  makespan: number;
}

export interface Workload {
  agents: Array<{ name: string; total: { cpu: number; ramGb: number } }>;
  tasks: Array<{ label: string; spec: TaskSpecBody }>;
  unschedulable: Array<{ label: string; code: string }>;
  twin: World;
}

/** Draws the workload as runOrchestration does (same streams), agents at the hub's initial trust, into the virtual twin. */
export function drawWorkload(cell: LiveOrchestrationCell): Workload {
  // All tasks arrive at t = 0 here: the arrivals stream goes unused.
  const drawn = orchestrationWorld(cell, INITIAL_TRUST);
  const { world: twin, agents } = drawn;
  const tasks: Workload['tasks'] = [];
  const unschedulable: Workload['unschedulable'] = [];
  for (let i = 0; i < cell.tasks; i++) {
    const label = `task-${i}`;
    const { spec, why } = drawTask(drawn, i, label, cell.unschedulable);
    if (why !== null) {
      unschedulable.push({ label, code: why.code });
      if (cell.unschedulable !== 'submit') continue;
    }
    // The stand-in executor answers result-of-<label>: the last command word is the label.
    const live = { ...spec, image: LIVE_IMAGE, command: ['echo', label] };
    tasks.push({ label, spec: live });
    twin.submit(spec, `result-of-${label}`, label);
  }
  return { agents: agents.map((a) => ({ name: a.name, total: a.total })), tasks, unschedulable, twin };
}

export function runTwin(workload: Workload): OrchestrationMeasures {
  const world = workload.twin;
  world.run();
  const waits: number[] = [];
  const completions: number[] = [];
  const validatedAt: number[] = [];
  for (const r of world.finished) {
    if (r.status !== 'validated' || r.finishedAt === undefined || r.firstStartAt === undefined) continue;
    waits.push((r.firstStartAt - r.submittedAt) / 1000);
    completions.push((r.finishedAt - r.submittedAt) / 1000);
    validatedAt.push(r.finishedAt / 1000);
  }
  return {
    submitted: world.hub.counts.submitted,
    validated: waits.length,
    notValidated: world.hub.counts.submitted - waits.length,
    unschedulable: workload.unschedulable.length,
    executions: world.counts.executions,
    wait: summarize(waits),
    completion: summarize(completions),
    validatedAt: summarize(validatedAt),
    makespan: round(Math.max(0, ...validatedAt)),
  };
}

/** Where each live task stands, from the hub's own view. */
interface LiveTask {
  id: string;
  label: string;
  submittedAt: number;
  firstStartAt?: number;
  validatedAt?: number;
  status: string;
  reason?: string;
}

export async function runLive(cell: LiveOrchestrationCell, workload: Workload, live: LiveSettings, onProgress?: (done: number, total: number) => void): Promise<OrchestrationMeasures & { hub: string; spawned: boolean; stillWaiting: Array<{ label: string; status: string; reason?: string }>; requestErrors: number }> {
  const scale = live.timeScale;
  const hub = await openHub({
    url: live.hubUrl,
    args: [...commonHubArgs(scale), '--policy', cell.policy, '--active-queue-size', String(cell.activeQueue), '--tick-ms', String(Math.max(10, Math.round(cell.tickS * 1000 * scale))), '--trust-initial', String(INITIAL_TRUST)],
  });
  const durations = durationModel(cell.duration, cell.secondsPerUnit, cell.durationCv);
  const runRng = new Random(cell.seed).stream();
  const tasks = new Map<string, LiveTask>();
  let executions = 0;
  let requestErrors = 0;
  const agents = workload.agents.map(
    (a) =>
      new LiveAgent(hub.client, {
        name: a.name,
        resources: a.total,
        runMs: (body) => Math.max(1, Math.round(durations({ ...body.spec, minTrust: 0, overlap: 1 }, runRng) * scale)),
        heartbeatMs: Math.max(200, Math.round(30_000 * scale)),
        pollMs: Math.max(20, Math.round(250 * scale)),
        events: {
          started(taskId, at) {
            executions++;
            const t = tasks.get(taskId);
            if (t !== undefined && t.firstStartAt === undefined) t.firstStartAt = at;
          },
          failed() {
            requestErrors++;
          },
        },
      }),
  );
  try {
    await warmImage(hub.client);
    for (const a of agents) await a.join();
    const submitter = new SignedAgent(hub.client, { name: 'sim-submitter' });
    const t0 = Date.now();
    for (const { label, spec } of workload.tasks) {
      const at = Date.now();
      const view = await submitter.submitTask(spec);
      tasks.set(view.id, { id: view.id, label, submittedAt: at, status: view.status });
    }
    const deadline = Date.now() + live.timeoutS * 1000;
    for (;;) {
      const open = [...tasks.values()].filter((t) => t.status !== 'validated');
      for (const t of open) {
        const view = await hub.client.task(t.id);
        t.status = view.status;
        t.reason = view.reason;
        const v = view.transitions.find((x) => x.status === 'validated');
        if (v !== undefined) t.validatedAt = v.at;
      }
      onProgress?.(tasks.size - open.length, tasks.size);
      if (open.every((t) => t.status === 'validated' || isEnded(t.status)) || Date.now() > deadline) break;
      await sleep(Math.max(50, Math.round(500 * scale)));
    }
    const secs = (ms: number): number => ms / 1000 / scale;
    const waits: number[] = [];
    const completions: number[] = [];
    const validatedAt: number[] = [];
    for (const t of tasks.values()) {
      if (t.status !== 'validated' || t.validatedAt === undefined || t.firstStartAt === undefined) continue;
      waits.push(secs(t.firstStartAt - t.submittedAt));
      completions.push(secs(t.validatedAt - t.submittedAt));
      validatedAt.push(secs(t.validatedAt - t0));
    }
    const still = [...tasks.values()].filter((t) => t.status !== 'validated');
    return {
      hub: hub.url,
      spawned: hub.spawned,
      submitted: tasks.size,
      validated: waits.length,
      notValidated: still.length,
      unschedulable: workload.unschedulable.length,
      executions,
      wait: summarize(waits),
      completion: summarize(completions),
      validatedAt: summarize(validatedAt),
      makespan: round(Math.max(0, ...validatedAt)),
      stillWaiting: still.map((t) => ({ label: t.label, status: t.status, ...(t.reason === undefined ? {} : { reason: t.reason }) })),
      requestErrors,
    };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await hub.close();
  }
}

function isEnded(status: string): boolean {
  return status === 'abandoned' || status === 'invalid' || status === 'failed';
}

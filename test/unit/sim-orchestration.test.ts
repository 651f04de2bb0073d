import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../simulations/harness/world.ts';
import { type OrchestrationRun, type OrchestrationRunInput, runOrchestration } from '../../simulations/scenarios/orchestration.ts';
import { replayUsage } from '../support/sim.ts';

const base: OrchestrationRunInput = {
  seed: 7,
  agents: 10,
  tasks: 60,
  policy: 'heuristic',
  duration: 'proportional',
  secondsPerUnit: 3,
  durationCv: 0.2,
  tickS: 1,
  activeQueue: 10,
  fetchDelayS: 0,
  arrivalRate: 0,
  unschedulable: 'skip',
  log: true,
};

const runs: Array<[string, OrchestrationRun]> = [];
for (const policy of ['heuristic', 'fifo'] as const) {
  for (const duration of ['fixed', 'proportional'] as const) {
    runs.push([`${policy}/${duration}`, runOrchestration({ ...base, policy, duration })]);
  }
}
runs.push(['heuristic/redraw, Poisson arrivals, fetch delay', runOrchestration({ ...base, unschedulable: 'redraw', arrivalRate: 2, fetchDelayS: 0.5 })]);

/** Agents whose total capacity and initial trust can take `spec` (brute force, not the core's index). */
function capableAgents(run: OrchestrationRun, spec: { cpu: number; ramGb: number; minTrust: number }): number {
  let n = 0;
  for (const agent of run.agents) {
    if (agent.total.cpu >= spec.cpu && agent.total.ramGb >= spec.ramGb && agent.trust >= spec.minTrust) n++;
  }
  return n;
}

describe.each(runs)('orchestration run %s', (_name, run) => {
  const log = run.world.log;

  it('validates every schedulable task and counts the unschedulable ones', () => {
    expect(run.validated).toBeGreaterThan(0);
    expect(run.notValidated).toBe(0);
    expect(run.validated + run.unschedulable.count).toBe(base.tasks);
    expect(run.world.hub.counts.validated).toBe(run.validated);
    for (const task of run.world.hub.tasks.values()) expect(task.status).toBe('validated');
    const byReason = Object.values(run.unschedulable.byReason).reduce((a, b) => a + b, 0);
    expect(byReason).toBe(run.unschedulable.count);
  });

  it('calls a task unschedulable exactly when too few agents could run it when it was submitted', () => {
    for (const { spec } of run.unschedulable.tasks) expect(capableAgents(run, spec)).toBeLessThan(spec.overlap);
    for (const task of run.world.hub.tasks.values()) expect(capableAgents(run, task.spec)).toBeGreaterThanOrEqual(task.spec.overlap);
  });

  it('never waits a negative time, and completes after it starts', () => {
    expect(run.wait!.min).toBeGreaterThanOrEqual(0);
    for (const r of run.world.finished) {
      expect(r.firstStartAt!).toBeGreaterThanOrEqual(r.submittedAt);
      expect(r.finishedAt!).toBeGreaterThan(r.firstStartAt!);
    }
    expect(run.completion!.min).toBeGreaterThan(run.wait!.min);
  });

  it('never runs more on an agent than it has, at any instant (from the event log)', () => {
    const used = new Map<string, { cpu: number; ramGb: number }>();
    let starts = 0;
    for (const step of replayUsage(log)) {
      used.set(step.agent, step.used);
      if (step.kind === 'start') {
        starts++;
        const total = run.world.hub.agents.get(step.agent)!.total;
        expect(step.used.cpu).toBeLessThanOrEqual(total.cpu);
        expect(step.used.ramGb).toBeLessThanOrEqual(total.ramGb);
      }
    }
    expect(starts).toBe(run.executions);
    for (const u of used.values()) expect(u).toEqual({ cpu: 0, ramGb: 0 });
  });

  it('respects each task\'s overlap: that many distinct agents, never more at once, all of them voting', () => {
    const decisions = log.filter((e): e is Extract<LogEntry, { kind: 'decide' }> => e.kind === 'decide');
    expect(decisions.length).toBe(run.validated);
    for (const d of decisions) {
      const task = run.world.hub.tasks.get(d.task)!;
      expect(d.outcome).toBe('validated');
      expect(new Set(d.voters).size).toBe(task.spec.overlap);
      expect(d.voters.length).toBe(task.spec.overlap);
      const assigned = log.filter((e) => e.kind === 'assign' && e.task === d.task).map((e) => (e as { agent: string }).agent);
      expect(assigned.length).toBe(task.spec.overlap);
      expect(new Set(assigned).size).toBe(task.spec.overlap);
    }
  });
});

describe('orchestration policies', () => {
  it('see the same agents and tasks (separate random streams) and differ only in their order', () => {
    const [heuristic, fifo] = [runs[1]![1], runs[3]![1]];
    const specs = (r: OrchestrationRun) => [...r.world.hub.tasks.values()].map((t) => [t.id, t.spec]).sort();
    expect(specs(heuristic)).toEqual(specs(fifo));
    expect([...heuristic.world.hub.agents.values()].map((a) => a.total)).toEqual([...fifo.world.hub.agents.values()].map((a) => a.total));
    const startOrder = (r: OrchestrationRun) => r.world.log.filter((e) => e.kind === 'start').map((e) => (e as { task: string }).task);
    expect(startOrder(heuristic)).not.toEqual(startOrder(fifo));
  });

  it('ends a run whose remaining tasks cannot be placed, and tells why each one waits', () => {
    const stuck = runOrchestration({ ...base, policy: 'fifo', unschedulable: 'submit', log: false });
    expect(stuck.unschedulable.count).toBeGreaterThan(0);
    expect(stuck.world.pendingWork).toBe(0);
    expect(stuck.world.hub.open.size).toBe(0);
    const waiting = stuck.world.stillWaiting();
    const unschedulable = new Set(stuck.unschedulable.tasks.map((t) => t.id));
    expect(waiting.length).toBeGreaterThan(0);
    for (const w of waiting) {
      expect(w.reason).not.toBe('');
      // Nothing submitted as schedulable can turn out never to fit.
      if (w.code === 'NEVER_FITS' || w.code === 'TOO_FEW_AGENTS') expect(unschedulable.has(w.id)).toBe(true);
    }
    expect(stuck.validated + waiting.length).toBe(base.tasks);
  });
});

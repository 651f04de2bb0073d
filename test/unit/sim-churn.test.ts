import { describe, expect, it } from 'vitest';
import type { LogEntry } from '../../simulations/harness/world.ts';
import { type ChurnInput, runChurn } from '../../simulations/scenarios/churn.ts';
import { replayUsage } from '../support/sim.ts';

const base: ChurnInput = {
  seed: 4,
  agents: 200,
  durationS: 1800,
  sessions: 'exponential',
  sessionMeanS: 300,
  sessionSigma: 1,
  offlineMeanS: 300,
  load: 0.6,
  taskMeanS: 30,
  overlap: 2,
  flaky: 0.1,
  failureRate: 0.2,
  policy: 'heuristic',
  tickS: 1,
  activeQueue: 200,
  kick: false,
  log: true,
};

describe('churn scenario', () => {
  const { result, world } = runChurn(base);
  const log = world.log;
  const hub = world.hub;

  it('accounts for every task and every execution', () => {
    const t = result.tasks;
    expect(t.submitted).toBeGreaterThan(1000);
    expect(t.validated + t.abandoned + t.unfinished).toBe(t.submitted);
    const statuses = [...hub.tasks.values()].map((task) => task.status);
    expect(statuses.filter((s) => s === 'validated')).toHaveLength(t.validated);
    const e = result.executions;
    expect(e.started).toBe(log.filter((x) => x.kind === 'start').length);
    expect(e.wasted).toBe(e.lostToDepartures + e.aborted + e.failureReports);
    expect(e.failureReports).toBeGreaterThan(0);
    expect(result.wait!.min).toBeGreaterThanOrEqual(0);
  });

  it('loses replicas when agents vanish mid-task, closes them (health checks, or the agent\'s report when it returns) and runs them elsewhere', () => {
    const lost = log.filter((x): x is Extract<LogEntry, { kind: 'end' }> => x.kind === 'end' && x.why === 'agent-left');
    expect(lost.length).toBeGreaterThan(10);
    expect(result.executions.lostToDepartures).toBe(lost.length);
    // Long enough before the end for the hub to notice: 2 min without heartbeat + a health period.
    const noticeable = lost.filter((x) => x.at < base.durationS * 1000 - 200_000);
    expect(noticeable.length).toBeGreaterThan(0);
    let reassigned = 0;
    const closedBy = new Set<string>();
    for (const x of noticeable) {
      const assignment = hub.assignments.get(x.assignment)!;
      // Expired: the agent stayed away (no heartbeat for 2 minutes). Failed: it came back first
      // and reported the work it lost. Cancelled: the task was decided without it.
      expect(['expired', 'failed', 'cancelled']).toContain(assignment.status);
      closedBy.add(assignment.status);
      const task = hub.tasks.get(x.task)!;
      if (task.status !== 'validated') continue;
      const decision = log.find((d): d is Extract<LogEntry, { kind: 'decide' }> => d.kind === 'decide' && d.task === x.task && d.outcome === 'validated')!;
      const assigned = log.filter((a) => a.kind === 'assign' && a.task === x.task);
      // The task got more assignments than its overlap: the lost replica was run again.
      expect(assigned.length).toBeGreaterThan(task.spec.overlap);
      expect(decision.voters).toHaveLength(task.spec.overlap);
      reassigned++;
    }
    expect(reassigned).toBeGreaterThan(0);
    expect(closedBy).toContain('expired');
    expect(closedBy).toContain('failed');
    expect(result.agents.markedInactive).toBeGreaterThan(0);
  });

  it('never runs more on an agent than it has, even across departures and returns', () => {
    for (const { agent, used } of replayUsage(log)) {
      const total = hub.agents.get(agent)!.total;
      expect(used.cpu).toBeLessThanOrEqual(total.cpu);
      expect(used.ramGb).toBeLessThanOrEqual(total.ramGb);
      expect(used.cpu).toBeGreaterThanOrEqual(0);
    }
  });

  it('is the same run for the same seed', () => {
    const again = runChurn({ ...base, log: false });
    expect(again.result).toEqual(result);
  });

  it('runs with 10,000 agents', () => {
    const big = runChurn({ ...base, agents: 10_000, durationS: 30, taskMeanS: 10, overlap: 1, flaky: 0, activeQueue: 2000, log: false });
    expect(big.result.agents.identities).toBe(10_000);
    expect(big.world.hub.agents.size).toBeGreaterThan(4000);
    expect(big.result.executions.started).toBeGreaterThan(1000);
    expect(big.result.tasks.validated).toBeGreaterThan(500);
  });
});

import { describe, expect, it } from 'vitest';
import {
  type Agent,
  CapacityIndex,
  DEFAULT_PARAMS,
  explainWaiting,
  type OpenReplicas,
  type PlannedAssignment,
  planAssignments,
  type Task,
} from '../../src/core/index.ts';
import { makeAgent, makeTask, seededRandom } from './core-fixtures.ts';

const params = DEFAULT_PARAMS;
const none = (): OpenReplicas => ({ agentIds: [] });

function indexOf(agents: Agent[]): CapacityIndex {
  const index = new CapacityIndex();
  for (const agent of agents) index.upsert(agent);
  return index;
}

/** Open replicas as an engine would report them after recording `planned`. */
function recorded(planned: PlannedAssignment[]): (taskId: string) => OpenReplicas {
  return (taskId) => ({ agentIds: planned.filter((a) => a.taskId === taskId).map((a) => a.agentId) });
}

describe('planAssignments', () => {
  it('reserves capacity as it plans: many tasks on few agents never overbook one', () => {
    const random = seededRandom(5);
    const agents = Array.from({ length: 6 }, (_, i) =>
      makeAgent({ id: `a${i}`, total: { cpu: 1 + Math.floor(random() * 8), ramGb: 1 + Math.floor(random() * 16) }, trust: 6 }),
    );
    const tasks = Array.from({ length: 200 }, (_, i) =>
      makeTask({ id: `t${i}`, spec: { cpu: 0.5 + Math.floor(random() * 4) / 2, ramGb: 0.5 + Math.floor(random() * 6) / 2, overlap: 1 + Math.floor(random() * 3) } }),
    );
    const index = indexOf(agents);
    const plan = planAssignments({ queue: tasks, index, openAssignments: none, params, now: 0 });
    expect(plan.assignments.length).toBeGreaterThan(0);
    expect(plan.waiting.length).toBeGreaterThan(0);
    for (const agent of agents) {
      const mine = plan.assignments.filter((a) => a.agentId === agent.id);
      const cpu = mine.reduce((sum, a) => sum + a.reserved.cpu, 0);
      const ram = mine.reduce((sum, a) => sum + a.reserved.ramGb, 0);
      expect(cpu).toBeLessThanOrEqual(agent.free.cpu + 1e-9);
      expect(ram).toBeLessThanOrEqual(agent.free.ramGb + 1e-9);
      expect(index.get(agent.id)?.reserved.cpu).toBeCloseTo(cpu, 9);
    }
    // Every task got all of its replicas on distinct agents, or none (and waits with a reason).
    for (const task of tasks) {
      const replicas = plan.assignments.filter((a) => a.taskId === task.id).map((a) => a.agentId);
      const waits = plan.waiting.some((w) => w.taskId === task.id);
      expect(new Set(replicas).size).toBe(replicas.length);
      expect(replicas.length === task.spec.overlap ? !waits : replicas.length === 0 && waits).toBe(true);
    }
  });

  it('never assigns past the overlap count, counting replicas already open', () => {
    const agents = Array.from({ length: 5 }, (_, i) => makeAgent({ id: `a${i}` }));
    const task = makeTask({ id: 't', status: 'in_progress', spec: { overlap: 3 } });
    const plan = planAssignments({ queue: [task], index: indexOf(agents), openAssignments: () => ({ agentIds: ['a0', 'a1'] }), params, now: 0 });
    expect(plan.assignments).toHaveLength(1);
    expect(['a0', 'a1']).not.toContain(plan.assignments[0]?.agentId);
    const full = planAssignments({ queue: [task], index: indexOf(agents), openAssignments: () => ({ agentIds: ['a0', 'a1', 'a2'] }), params, now: 0 });
    expect(full).toEqual({ assignments: [], waiting: [] });
  });

  it('does not give a replica again to agents that lost one this round', () => {
    const agents = [makeAgent({ id: 'a0' }), makeAgent({ id: 'a1' })];
    const task = makeTask({ id: 't', status: 'in_progress' });
    const plan = planAssignments({ queue: [task], index: indexOf(agents), openAssignments: () => ({ agentIds: [], excluded: ['a0'] }), params, now: 0 });
    expect(plan.assignments.map((a) => a.agentId)).toEqual(['a1']);
  });

  it('leaves a task short of its overlap count waiting with TOO_FEW_AGENTS instead of half-assigned', () => {
    const agents = Array.from({ length: 3 }, (_, i) => makeAgent({ id: `a${i}` }));
    const index = indexOf(agents);
    const task = makeTask({ id: 't', spec: { overlap: 5 } });
    const plan = planAssignments({ queue: [task], index, openAssignments: none, params, now: 0 });
    expect(plan.assignments).toEqual([]);
    expect(plan.waiting).toEqual([{ taskId: 't', code: 'TOO_FEW_AGENTS', reason: expect.stringMatching(/^3 agents are eligible .*; overlap count needs 5$/) }]);
    for (const agent of agents) expect(index.get(agent.id)?.reserved).toEqual({ cpu: 0, ramGb: 0 });
  });

  it('cannot double-assign across two passes over the same index: the second sees the reservations', () => {
    const agents = [makeAgent({ id: 'a0', total: { cpu: 2, ramGb: 4 } }), makeAgent({ id: 'a1', total: { cpu: 2, ramGb: 4 } })];
    const index = indexOf(agents);
    const tasks = Array.from({ length: 6 }, (_, i) => makeTask({ id: `t${i}`, spec: { cpu: 1, ramGb: 1 } }));
    const first = planAssignments({ queue: tasks, index, openAssignments: none, params, now: 0 });
    expect(first.assignments).toHaveLength(4);
    const second = planAssignments({ queue: tasks, index, openAssignments: recorded(first.assignments), params, now: 1 });
    expect(second.assignments).toEqual([]);
    expect(second.waiting.map((w) => w.code)).toEqual(['NO_AGENT_CPU', 'NO_AGENT_CPU']);
    // Even when the caller forgot to record them, no agent is overbooked.
    const third = planAssignments({ queue: tasks, index, openAssignments: none, params, now: 2 });
    expect(third.assignments).toEqual([]);
  });

  it('never gives one task twice when it appears twice in the queue', () => {
    const agents = Array.from({ length: 4 }, (_, i) => makeAgent({ id: `a${i}` }));
    const task = makeTask({ id: 't', spec: { overlap: 2 } });
    const plan = planAssignments({ queue: [task, task], index: indexOf(agents), openAssignments: none, params, now: 0 });
    expect(plan.assignments).toHaveLength(2);
  });

  it('sets deadlines from the task timeout plus the grace period', () => {
    const task = makeTask({ id: 't', spec: { timeoutS: 30 } });
    const plan = planAssignments({ queue: [task], index: indexOf([makeAgent()]), openAssignments: none, params, now: 1_000 });
    expect(plan.assignments[0]?.deadline).toBe(1_000 + 30_000 + params.assignments.graceMs);
  });
});

describe('explainWaiting', () => {
  function why(task: Task, agents: Agent[], reserve: Array<[string, number, number]> = []): { code: string; reason: string } {
    const index = indexOf(agents);
    for (const [id, cpu, ramGb] of reserve) index.reserve(id, { cpu, ramGb });
    return explainWaiting(task, index);
  }

  it('says NEVER_FITS when no registered agent could ever run it, TOO_FEW_AGENTS when too few could', () => {
    const task = makeTask({ spec: { cpu: 6, ramGb: 4 } });
    expect(why(task, [makeAgent({ total: { cpu: 4, ramGb: 16 } })])).toEqual({
      code: 'NEVER_FITS',
      reason: 'no registered agent has 6 CPU cores and 4 GB RAM in total (largest: 4 CPU cores, 16 GB)',
    });
    const wide = makeTask({ spec: { cpu: 2, ramGb: 2, overlap: 3 } });
    expect(why(wide, [makeAgent({ id: 'a' }), makeAgent({ id: 'b', active: false })])).toEqual({
      code: 'TOO_FEW_AGENTS',
      reason: '1 agent is eligible (active, trust >= 5.0, 2 CPU cores and 2 GB RAM in total); overlap count needs 3',
    });
  });

  it('says NO_AGENTS when nobody is active', () => {
    expect(why(makeTask(), [makeAgent({ active: false })]).code).toBe('NO_AGENTS');
  });

  it('says NO_AGENT_TRUST with the highest trust on offer', () => {
    const task = makeTask({ spec: { minTrust: 7 } });
    expect(why(task, [makeAgent({ id: 'a', trust: 6.2 }), makeAgent({ id: 'b', trust: 9, active: false })])).toEqual({
      code: 'NO_AGENT_TRUST',
      reason: 'no active agent has trust >= 7.0 (highest: 6.2)',
    });
  });

  it('says NO_AGENT_CPU / NO_AGENT_RAM when every capable agent is too busy in that dimension', () => {
    const task = makeTask({ spec: { cpu: 6, ramGb: 4 } });
    const big = makeAgent({ id: 'big', total: { cpu: 8, ramGb: 16 } });
    expect(why(task, [big], [['big', 4, 0]])).toEqual({ code: 'NO_AGENT_CPU', reason: 'no active agent has 6 free CPU cores (largest free: 4)' });
    expect(why(task, [big], [['big', 0, 14]])).toEqual({ code: 'NO_AGENT_RAM', reason: 'no active agent has 4 GB free RAM (largest free: 2 GB)' });
  });

  it('says BUSY when capable agents exist but not enough of them are free at once', () => {
    const task = makeTask({ spec: { cpu: 2, ramGb: 2, overlap: 2 } });
    const agents = [makeAgent({ id: 'a' }), makeAgent({ id: 'b' })];
    expect(why(task, agents, [['a', 4, 0]])).toEqual({ code: 'BUSY', reason: 'eligible agents are busy: 1 can take 2 CPU cores and 2 GB RAM now, 2 needed' });
  });

  it('says QUEUED when agents could take it now', () => {
    expect(why(makeTask(), [makeAgent()]).code).toBe('QUEUED');
  });
});

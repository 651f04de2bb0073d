import { describe, expect, it } from 'vitest';
import {
  type Agent,
  Backlog,
  CapacityIndex,
  DEFAULT_PARAMS,
  explainWaiting,
  type OpenReplicas,
  type PlannedAssignment,
  planAssignments,
  selectActiveQueue,
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

describe('selectActiveQueue', () => {
  function backlogOf(tasks: Task[]): Backlog {
    const backlog = new Backlog(params);
    for (const task of tasks) backlog.add(task);
    return backlog;
  }
  const ids = (tasks: Task[]): string[] => tasks.map((t) => t.id);

  it('under FIFO, looks past a head no agent could ever run: the tasks behind it run', () => {
    const huge = makeTask({ id: 'huge', submittedAt: 0, spec: { cpu: 16, ramGb: 4 } });
    const small = Array.from({ length: 3 }, (_, i) => makeTask({ id: `s${i}`, submittedAt: 1_000 * (i + 1), spec: { cpu: 1, ramGb: 1 } }));
    const backlog = backlogOf([huge, ...small]);
    const index = indexOf([makeAgent({ id: 'a', total: { cpu: 4, ramGb: 8 } })]);

    const queue = selectActiveQueue(backlog, index, 2, 10_000, 'fifo');
    expect(ids(queue)).toEqual(['s0', 's1']);
    expect(planAssignments({ queue, index, openAssignments: none, params, now: 10_000 }).assignments.map((a) => a.taskId)).toEqual(['s0', 's1']);
    // Parked, not dropped: still held, still explained.
    expect(backlog.isParked('huge')).toBe(true);
    expect(backlog.size).toBe(4);
    expect(explainWaiting(huge, index).code).toBe('NEVER_FITS');
    // Without parking, the FIFO head would have taken a place in every pass.
    expect(ids(backlog.top(2, 10_000, 'fifo'))).toEqual(['s0', 's1']);
  });

  it('lets a parked task back, first in FIFO order, once an agent that fits it registers', () => {
    const huge = makeTask({ id: 'huge', submittedAt: 0, spec: { cpu: 16, ramGb: 4 } });
    const small = makeTask({ id: 'small', submittedAt: 1_000, spec: { cpu: 1, ramGb: 1 } });
    const backlog = backlogOf([huge, small]);
    const index = indexOf([makeAgent({ id: 'a', total: { cpu: 4, ramGb: 8 } })]);
    expect(ids(selectActiveQueue(backlog, index, 10, 2_000, 'fifo'))).toEqual(['small']);
    expect(ids(selectActiveQueue(backlog, index, 10, 3_000, 'fifo'))).toEqual(['small']);

    // An inactive big agent counts: it could come back. Its arrival lets the task back.
    index.upsert(makeAgent({ id: 'big', total: { cpu: 16, ramGb: 32 }, active: false }));
    expect(ids(selectActiveQueue(backlog, index, 10, 4_000, 'fifo'))).toEqual(['huge', 'small']);
    expect(backlog.isParked('huge')).toBe(false);
    index.upsert(makeAgent({ id: 'big', total: { cpu: 16, ramGb: 32 } }));
    const queue = selectActiveQueue(backlog, index, 10, 5_000, 'fifo');
    const plan = planAssignments({ queue, index, openAssignments: none, params, now: 5_000 });
    expect(plan.assignments.map((a) => [a.taskId, a.agentId])).toEqual([
      ['huge', 'big'],
      ['small', 'a'],
    ]);
  });

  it('parks a task that needs more replicas than agents are registered for, until enough are', () => {
    const wide = makeTask({ id: 'wide', submittedAt: 0, spec: { overlap: 3 } });
    const backlog = backlogOf([wide, makeTask({ id: 'narrow', submittedAt: 1 })]);
    const index = indexOf([makeAgent({ id: 'a' }), makeAgent({ id: 'b' })]);
    expect(ids(selectActiveQueue(backlog, index, 10, 0, 'heuristic'))).toEqual(['narrow']);
    expect(explainWaiting(wide, index).code).toBe('TOO_FEW_AGENTS');
    index.upsert(makeAgent({ id: 'c' }));
    expect(ids(selectActiveQueue(backlog, index, 10, 0, 'heuristic')).sort()).toEqual(['narrow', 'wide']);
  });

  it('parks under the heuristic too, where a big old task would top the queue', () => {
    const backlog = backlogOf([makeTask({ id: 'old-huge', submittedAt: 0, spec: { cpu: 64, ramGb: 1 } }), makeTask({ id: 'new', submittedAt: 3_599_000 })]);
    const index = indexOf([makeAgent({ id: 'a' })]);
    expect(ids(backlog.top(1, 3_600_000, 'heuristic'))).toEqual(['old-huge']);
    expect(ids(selectActiveQueue(backlog, index, 1, 3_600_000, 'heuristic'))).toEqual(['new']);
  });
});

describe('backlog parking', () => {
  it('keeps a parked task held across updates and removals, out of both orders', () => {
    const backlog = new Backlog(params);
    const a = makeTask({ id: 'a', submittedAt: 0, spec: { cpu: 8 } });
    const b = makeTask({ id: 'b', submittedAt: 1 });
    backlog.add(a);
    backlog.add(b);
    expect(backlog.park('a')).toBe(true);
    expect(backlog.park('a')).toBe(false);
    expect(backlog.park('nobody')).toBe(false);
    // The FIFO heap, built after the parking, leaves it out too.
    expect(ids(backlog.top(5, 10, 'fifo'))).toEqual(['b']);
    expect(ids(backlog.top(5, 10, 'heuristic'))).toEqual(['b']);
    expect([backlog.size, backlog.parkedCount]).toEqual([2, 1]);

    // A status change keeps it parked; the record held is the new one.
    const queued = { ...a, status: 'in_queue' as const };
    expect(backlog.update(queued)).toBe(true);
    expect(backlog.isParked('a')).toBe(true);
    expect(backlog.get('a')).toBe(queued);

    // unpark asks once per shape and lets back only what fits.
    const asked: string[] = [];
    expect(backlog.unpark((shape) => (asked.push(`${shape.cpu}/${shape.ramGb}/${shape.replicas}`), false))).toBe(0);
    expect(asked).toEqual(['8/1/1']);
    expect(backlog.unpark((shape) => shape.cpu === 8)).toBe(1);
    expect(ids(backlog.top(5, 10, 'fifo'))).toEqual(['a', 'b']);
    expect(backlog.parkedCount).toBe(0);

    backlog.park('a');
    expect(backlog.remove('a')).toBe(true);
    expect([backlog.size, backlog.parkedCount, backlog.has('a')]).toEqual([1, 0, false]);
  });

  it('judges a parked task again when its shape changes (more replicas)', () => {
    const backlog = new Backlog(params);
    const task = makeTask({ id: 't', spec: { overlap: 3 } });
    backlog.add(task);
    backlog.park('t');
    expect(backlog.update({ ...task, replicas: 1 })).toBe(true);
    expect(backlog.isParked('t')).toBe(false);
    expect(backlog.top(1, 0)[0]?.replicas).toBe(1);
  });

  function ids(tasks: Task[]): string[] {
    return tasks.map((t) => t.id);
  }
});

import { describe, expect, it } from 'vitest';
import { EngineState } from '../../hub/engine-state.ts';
import { type Assignment, DEFAULT_PARAMS } from '../../src/core/index.ts';
import { makeAgent, makeTask } from './core-fixtures.ts';

function assignment(fields: Partial<Assignment> & Pick<Assignment, 'id'>): Assignment {
  return { taskId: 't1', agentId: 'a1', round: 1, status: 'assigned', issuedAt: 1000, deadline: 100_000, reserved: { cpu: 1, ramGb: 1 }, ...fields };
}

describe('the engine state indexes', () => {
  it('hands an agent its assigned work oldest first, ties by id, whatever order it was recorded in', () => {
    const state = new EngineState(DEFAULT_PARAMS);
    state.putAssignment(assignment({ id: 'c', taskId: 't3', issuedAt: 2000 }));
    state.putAssignment(assignment({ id: 'b', taskId: 't2', issuedAt: 1000 }));
    state.putAssignment(assignment({ id: 'a', taskId: 't1', issuedAt: 1000 }));
    state.putAssignment(assignment({ id: 'x', agentId: 'a2' }));
    expect(state.nextAssigned('a1')?.id).toBe('a');
    state.putAssignment(assignment({ id: 'a', taskId: 't1', issuedAt: 1000, status: 'running' }));
    expect(state.nextAssigned('a1')?.id).toBe('b');
    state.putAssignment(assignment({ id: 'b', taskId: 't2', issuedAt: 1000, status: 'expired' }));
    expect(state.nextAssigned('a1')?.id).toBe('c');
    state.putAssignment(assignment({ id: 'c', taskId: 't3', issuedAt: 2000, status: 'cancelled' }));
    expect(state.nextAssigned('a1')).toBeUndefined();
    expect(state.nextAssigned('a2')?.id).toBe('x');
    // Open: a (running) and x (assigned).
    expect(state.openCount).toBe(2);
    expect(state.openAssignmentsOf('a1').map((a) => a.id)).toEqual(['a']);
  });

  it('keeps a task in the backlog exactly while it wants agents', () => {
    const state = new EngineState(DEFAULT_PARAMS);
    state.putTask(makeTask({ id: 't1', status: 'validating' }));
    expect(state.backlog.has('t1')).toBe(false);
    state.putTask(makeTask({ id: 't1', status: 'pending' }));
    expect(state.backlog.has('t1')).toBe(true);

    // In progress with overlap 2: both replicas open, then one expires and it wants one more agent.
    const running = makeTask({ id: 't1', status: 'in_progress', round: 1, spec: { overlap: 2 }, assignments: ['r1', 'r2'] });
    state.putAssignment(assignment({ id: 'r1', agentId: 'a1' }));
    state.putAssignment(assignment({ id: 'r2', agentId: 'a2' }));
    state.putTask(running);
    expect(state.backlog.has('t1')).toBe(false);
    expect(state.replicas('t1')).toEqual({ agentIds: ['a1', 'a2'], excluded: [] });
    state.putAssignment(assignment({ id: 'r2', agentId: 'a2', status: 'expired' }));
    state.putTask(running);
    expect(state.backlog.has('t1')).toBe(true);
    expect(state.replicas('t1')).toEqual({ agentIds: ['a1'], excluded: ['a2'] });

    state.putTask({ ...running, status: 'validated' });
    expect(state.backlog.has('t1')).toBe(false);
    expect(state.countByStatus()).toMatchObject({ validated: 1, pending: 0, in_progress: 0, validating: 0 });
  });

  it('lists tasks newest first, equal times by id, as a reload would', () => {
    const state = new EngineState(DEFAULT_PARAMS);
    for (const [id, at] of [['b', 10], ['c', 5], ['a', 10], ['d', 20]] as const) state.putTask(makeTask({ id, submittedAt: at }));
    expect([...state.newestFirst()]).toEqual(['d', 'b', 'a', 'c']);
  });

  it('reads an agent reservation from its record', () => {
    const state = new EngineState(DEFAULT_PARAMS);
    state.putAgent(makeAgent({ id: 'a1', total: { cpu: 4, ramGb: 8 }, reserved: { cpu: 3, ramGb: 1 } }));
    expect(state.capacity.get('a1')?.available).toEqual({ cpu: 1, ramGb: 7 });
    state.putAgent(makeAgent({ id: 'a1', total: { cpu: 4, ramGb: 8 }, reserved: { cpu: 0, ramGb: 0 }, active: false }));
    expect(state.capacity.candidates({ cpu: 1, ramGb: 1, minTrust: 0 }, 1)).toEqual([]);
  });
});

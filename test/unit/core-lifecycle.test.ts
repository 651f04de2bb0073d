import { describe, expect, it } from 'vitest';
import { canTransition, IllegalTransitionError, isTerminal, recordAssignments, type TaskStatus, transition } from '../../src/core/index.ts';
import { makeTask } from './core-fixtures.ts';

const ALL: TaskStatus[] = ['validating', 'pending', 'invalid', 'in_queue', 'in_progress', 'completed', 'validated', 'failed', 'abandoned'];

const ALLOWED = new Set([
  'validating>pending',
  'validating>invalid',
  'pending>in_queue',
  'in_queue>in_progress',
  'in_queue>pending',
  'in_progress>completed',
  'in_progress>failed',
  'in_progress>pending',
  'completed>validated',
  'completed>failed',
  'failed>pending',
  'failed>abandoned',
]);

describe('task lifecycle', () => {
  it('allows exactly the transitions of Table 5.1 plus retry, abandonment and lost assignments', () => {
    for (const from of ALL) {
      for (const to of ALL) expect(canTransition(from, to), `${from} -> ${to}`).toBe(ALLOWED.has(`${from}>${to}`));
    }
  });

  it('throws IllegalTransitionError (409, TASK_ILLEGAL_TRANSITION) for anything else', () => {
    const done = makeTask({ status: 'validated' });
    try {
      transition(done, 'pending', 5);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(IllegalTransitionError);
      expect(error).toMatchObject({ code: 'TASK_ILLEGAL_TRANSITION', status: 409, from: 'validated', to: 'pending', taskId: 't1' });
    }
    expect(() => transition(makeTask({ status: 'pending' }), 'completed', 1)).toThrow(IllegalTransitionError);
    expect(() => transition(makeTask({ status: 'pending' }), 'pending', 1)).toThrow(IllegalTransitionError);
  });

  it('returns a new task with the step appended and leaves the input alone', () => {
    const task = makeTask({ status: 'validating', reason: 'pulling' });
    const next = transition(task, 'invalid', 10, 'image not found');
    expect(next).not.toBe(task);
    expect(task.status).toBe('validating');
    expect(task.transitions).toHaveLength(1);
    expect(next.status).toBe('invalid');
    expect(next.reason).toBe('image not found');
    expect(next.transitions.at(-1)).toEqual({ status: 'invalid', at: 10, reason: 'image not found' });
    const cleared = transition(makeTask({ status: 'validating', reason: 'pulling' }), 'pending', 11);
    expect('reason' in cleared).toBe(false);
  });

  it('knows the terminal statuses', () => {
    expect(ALL.filter(isTerminal).sort()).toEqual(['abandoned', 'invalid', 'validated']);
  });

  it('records assignments: a new round from pending, a top-up when in progress', () => {
    const started = recordAssignments(makeTask({ status: 'pending', round: 0 }), ['x', 'y'], 7);
    expect(started).toMatchObject({ status: 'in_progress', round: 1, assignments: ['x', 'y'] });
    expect(started.transitions.slice(-2).map((t) => t.status)).toEqual(['in_queue', 'in_progress']);
    const toppedUp = recordAssignments(started, ['z'], 8);
    expect(toppedUp).toMatchObject({ status: 'in_progress', round: 1, assignments: ['x', 'y', 'z'] });
    expect(toppedUp.transitions).toHaveLength(started.transitions.length);
    expect(() => recordAssignments(makeTask({ status: 'validated' }), ['x'], 9)).toThrow(IllegalTransitionError);
  });

  it('starts a round exactly as the transitions through in_queue to in_progress would, the input untouched', () => {
    for (const task of [makeTask({ status: 'pending', round: 2, reason: 'retry 1 of 3: lost', staleness: 1 }), makeTask({ status: 'in_queue', round: 0 }), makeTask({ status: 'pending', round: 0 })]) {
      const before = structuredClone(task);
      const viaTransitions = (() => {
        const queued = task.status === 'pending' ? transition(task, 'in_queue', 11) : task;
        return { ...transition(queued, 'in_progress', 11), round: task.round + 1, assignments: ['a', 'b'] };
      })();
      const started = recordAssignments(task, ['a', 'b'], 11);
      expect(started).toStrictEqual(viaTransitions);
      expect(Object.keys(started)).toEqual(Object.keys(viaTransitions));
      expect(task).toStrictEqual(before);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { withTask, withTaskList } from '../../web/shared/task-map.ts';
import type { TaskView } from '../../web/shared/types.ts';

const view = (id: string, statuses: string[]): TaskView => ({ id, status: statuses.at(-1), transitions: statuses.map((status, at) => ({ status, at })) }) as unknown as TaskView;

describe('a page\'s map of task views', () => {
  it('keeps the later view when an older one arrives after it (a submit answered after the stream said invalid)', () => {
    const invalid = view('t1', ['submitted', 'validating', 'invalid']);
    const answer = view('t1', ['submitted', 'validating']);
    const held = withTask(new Map(), invalid);
    expect(withTask(held, answer).get('t1')).toBe(invalid);
    expect(withTask(withTask(new Map(), answer), invalid).get('t1')).toBe(invalid);
  });

  it('takes a view with as many transitions (an assignment changed, not the status)', () => {
    const first = view('t1', ['submitted', 'validating', 'pending']);
    const second = view('t1', ['submitted', 'validating', 'pending']);
    expect(withTask(withTask(new Map(), first), second).get('t1')).toBe(second);
  });

  it('replaces the map by a list read, but not a task the stream moved on meanwhile', () => {
    const moved = view('t1', ['submitted', 'validating', 'pending', 'running']);
    const gone = view('t9', ['submitted']);
    const held = withTask(withTask(new Map(), moved), gone);
    const list = [view('t1', ['submitted', 'validating', 'pending']), view('t2', ['submitted'])];
    const next = withTaskList(held, list);
    expect([...next.keys()]).toEqual(['t1', 't2']);
    expect(next.get('t1')).toBe(moved);
    expect(next.get('t2')).toBe(list[1]);
  });
});

import { describe, expect, it } from 'vitest';
import { Backlog, CapacityIndex, DEFAULT_PARAMS, priority, selectActiveQueue, type Task, type TaskStatus } from '../../src/core/index.ts';
import { makeAgent, makeTask, seededRandom } from './core-fixtures.ts';

const params = DEFAULT_PARAMS;

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)] as T;
}

/** A random task; `continuous` draws any real request (one class per task). */
function randomTask(random: () => number, id: number, continuous: boolean): Task {
  const statuses: TaskStatus[] = ['pending', 'in_queue', 'in_progress'];
  return makeTask({
    id: `t${id}`,
    submittedAt: Math.floor(random() * 3_600_000),
    staleness: Math.floor(random() * 5),
    status: pick(random, statuses),
    spec: continuous
      ? { cpu: 0.1 + random() * 8, ramGb: 0.1 + random() * 16 }
      : { cpu: pick(random, [0.5, 1, 2, 4, 8]), ramGb: pick(random, [0.5, 1, 2, 4, 16]) },
  });
}

/** Checks `top` against a full sort by priority. */
function expectSameTop(backlog: Backlog, all: Map<string, Task>, k: number, now: number): void {
  const got = backlog.top(k, now, 'heuristic');
  const score = (t: Task): number => priority(t, now, params);
  const expected = [...all.values()].sort((a, b) => score(b) - score(a));
  expect(got).toHaveLength(Math.min(k, all.size));
  expect(new Set(got.map((t) => t.id)).size).toBe(got.length);
  for (const [i, task] of got.entries()) {
    expect(all.get(task.id)).toBe(task);
    expect(score(task)).toBeCloseTo(score(expected[i] as Task), 9);
  }
  // Where the k-th and the next priority differ, the chosen SET is the brute-force one too.
  const kth = expected[got.length - 1];
  const next = expected[got.length];
  if (kth !== undefined && next !== undefined && score(kth) - score(next) > 1e-9) {
    expect(new Set(got.map((t) => t.id))).toEqual(new Set(expected.slice(0, got.length).map((t) => t.id)));
  }
}

describe('backlog', () => {
  it('orders by priority (heuristic) or by submission (fifo)', () => {
    const backlog = new Backlog(params);
    const oldBig = makeTask({ id: 'old-big', submittedAt: 0, spec: { cpu: 8, ramGb: 16 } }); // R = 16
    const newSmall = makeTask({ id: 'new-small', submittedAt: 60_000, spec: { cpu: 1, ramGb: 2 } }); // R = 2
    const stale = makeTask({ id: 'stale', submittedAt: 10_000, staleness: 3, spec: { cpu: 1, ramGb: 2 } });
    for (const t of [oldBig, newSmall, stale]) backlog.add(t);
    const now = 120_000;
    // P: old-big 120/16 = 7.5, new-small 60/2 = 30, stale 110/2 - 30 = 25
    expect(backlog.top(3, now, 'heuristic').map((t) => t.id)).toEqual(['new-small', 'stale', 'old-big']);
    expect(backlog.top(3, now, 'fifo').map((t) => t.id)).toEqual(['old-big', 'stale', 'new-small']);
    const index = new CapacityIndex();
    index.upsert(makeAgent({ id: 'big', total: { cpu: 8, ramGb: 16 } }));
    expect(selectActiveQueue(backlog, index, 2, now, 'heuristic').map((t) => t.id)).toEqual(['new-small', 'stale']);
    expect(backlog.top(0, now)).toEqual([]);
  });

  it('re-files a task when its staleness or status changes, and forgets removed tasks', () => {
    const backlog = new Backlog(params);
    const a = makeTask({ id: 'a', submittedAt: 0 });
    const b = makeTask({ id: 'b', submittedAt: 1_000 });
    backlog.add(a);
    backlog.add(b);
    expect(backlog.top(1, 100_000)[0]?.id).toBe('a');
    expect(backlog.update({ ...a, staleness: 1 })).toBe(true);
    expect(backlog.top(1, 100_000)[0]?.id).toBe('b');
    expect(backlog.update({ ...b, status: 'in_progress' })).toBe(true);
    expect(backlog.get('b')?.status).toBe('in_progress');
    expect(backlog.update(makeTask({ id: 'ghost' }))).toBe(false);
    expect(backlog.size).toBe(2);
    expect(backlog.remove('b')).toBe(true);
    expect(backlog.remove('b')).toBe(false);
    expect(backlog.top(5, 100_000).map((t) => t.id)).toEqual(['a']);
    expect(backlog.has('b')).toBe(false);
  });

  for (const continuous of [false, true]) {
    it(`gives the same top K as a brute-force sort under churn (seeded, ${continuous ? 'every request different' : 'few request classes'})`, () => {
      const random = seededRandom(continuous ? 7 : 42);
      const backlog = new Backlog(params);
      const all = new Map<string, Task>();
      let nextId = 0;
      for (let step = 0; step < 60; step++) {
        for (let i = 0; i < 40; i++) {
          const task = randomTask(random, nextId++, continuous);
          backlog.add(task);
          all.set(task.id, task);
        }
        const ids = [...all.keys()];
        for (let i = 0; i < 10 && ids.length > 0; i++) {
          const id = pick(random, ids);
          const task = all.get(id);
          if (task === undefined) continue;
          if (random() < 0.5) {
            backlog.remove(id);
            all.delete(id);
          } else {
            const changed: Task = { ...task, staleness: task.staleness + 1, status: pick(random, ['pending', 'in_progress'] as const) };
            backlog.update(changed);
            all.set(id, changed);
          }
        }
        expect(backlog.size).toBe(all.size);
        const now = 3_600_000 + step * 60_000;
        expectSameTop(backlog, all, 1 + Math.floor(random() * 30), now);
      }
      expectSameTop(backlog, all, all.size, 10_000_000);
    });
  }

  it('gives the same oldest K as a brute-force sort (fifo)', () => {
    const random = seededRandom(3);
    const backlog = new Backlog(params);
    const all: Task[] = [];
    for (let i = 0; i < 500; i++) {
      const task = randomTask(random, i, false);
      backlog.add(task);
      all.push(task);
    }
    const oldest = (held: Task[], k: number): number[] => held.map((t) => t.submittedAt).sort((a, b) => a - b).slice(0, k);
    for (const task of all.slice(0, 100)) backlog.remove(task.id);
    expect(backlog.top(50, 0, 'fifo').map((t) => t.submittedAt)).toEqual(oldest(all.slice(100), 50));
    // Changes after the FIFO order was first read are kept in it too.
    for (const task of all.slice(100, 200)) backlog.remove(task.id);
    const later = Array.from({ length: 100 }, (_, i) => randomTask(random, 1000 + i, false));
    for (const task of later) backlog.add(task);
    expect(backlog.top(80, 0, 'fifo').map((t) => t.submittedAt)).toEqual(oldest([...all.slice(200), ...later], 80));
  });
});

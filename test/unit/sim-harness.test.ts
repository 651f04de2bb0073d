import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventQueue } from '../../simulations/harness/event-queue.ts';
import { removeFrom } from '../../simulations/harness/lists.ts';
import { parseOptions } from '../../simulations/harness/options.ts';
import { writeOutputs } from '../../simulations/harness/output.ts';
import { Random } from '../../simulations/harness/random.ts';
import { Simulation } from '../../simulations/harness/simulation.ts';
import { summarize } from '../../simulations/harness/stats.ts';

describe('Random', () => {
  it('repeats itself for a seed and differs across seeds', () => {
    const draw = (seed: number) => {
      const r = new Random(seed);
      return [r.float(), r.int(1, 6), r.normal(0, 1), r.exponential(2), r.weighted(['a', 'b'], [1, 3])];
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
  });

  it('keeps streams independent: drawing more from one does not shift another', () => {
    const a = new Random(9);
    const b = new Random(9);
    const [a1, a2] = [a.stream(), a.stream()];
    const [b1, b2] = [b.stream(), b.stream()];
    for (let i = 0; i < 100; i++) a1.float();
    b1.float();
    expect([a2.float(), a2.int(0, 1000)]).toEqual([b2.float(), b2.int(0, 1000)]);
  });

  it('draws within range, with the asked moments', () => {
    const r = new Random(1);
    const n = 40_000;
    let ints = 0;
    let sum = 0;
    let sq = 0;
    let exp = 0;
    const counts = [0, 0, 0];
    let [kMin, kMax, uMin, uMax] = [Infinity, -Infinity, Infinity, -Infinity];
    for (let i = 0; i < n; i++) {
      const k = r.int(1, 4);
      kMin = Math.min(kMin, k);
      kMax = Math.max(kMax, k);
      ints += k;
      const x = r.normal(10, 2);
      sum += x;
      sq += x * x;
      exp += r.exponential(5);
      counts[r.weighted([0, 1, 2], [0.1, 0.6, 0.3])]! += 1;
      const u = r.uniform(1, 10);
      uMin = Math.min(uMin, u);
      uMax = Math.max(uMax, u);
    }
    expect([kMin, kMax]).toEqual([1, 4]);
    expect(uMin).toBeGreaterThanOrEqual(1);
    expect(uMax).toBeLessThan(10);
    expect(ints / n).toBeCloseTo(2.5, 1);
    expect(sum / n).toBeCloseTo(10, 1);
    expect(Math.sqrt(sq / n - (sum / n) ** 2)).toBeCloseTo(2, 1);
    expect(exp / n).toBeGreaterThan(4.8);
    expect(exp / n).toBeLessThan(5.2);
    expect(counts.map((c) => Math.round((c / n) * 10) / 10)).toEqual([0.1, 0.6, 0.3]);
  });
});

describe('removeFrom', () => {
  it('takes one item out, keeping the order of the rest, and says whether it was there', () => {
    const a = { n: 1 };
    const b = { n: 2 };
    const c = { n: 3 };
    const list = [a, b, c, b];
    expect(removeFrom(list, b)).toBe(true);
    expect(list).toEqual([a, c, b]);
    expect(list[2]).toBe(b);
    expect(removeFrom(list, { n: 1 })).toBe(false);
    expect(removeFrom(list, b)).toBe(true);
    expect(removeFrom(list, a)).toBe(true);
    expect(list).toEqual([c]);
    expect(removeFrom(list, c)).toBe(true);
    expect(list).toEqual([]);
    expect(removeFrom(list, c)).toBe(false);
  });
});

describe('EventQueue and Simulation', () => {
  it('pops in time order, same-time events in the order they were pushed', () => {
    const q = new EventQueue<string>();
    const r = new Random(3);
    const pushed: Array<[number, string]> = [];
    for (let i = 0; i < 500; i++) {
      const at = r.int(0, 50);
      q.push(at, `e${i}`);
      pushed.push([at, `e${i}`]);
    }
    const expected = [...pushed].sort((x, y) => x[0] - y[0]).map((p) => p[1]);
    const popped: string[] = [];
    for (let e = q.pop(); e !== undefined; e = q.pop()) popped.push(e);
    expect(popped).toEqual(expected);
  });

  it('advances a virtual clock from event to event and refuses the past', () => {
    const sim = new Simulation();
    const seen: number[] = [];
    sim.at(5000, () => {
      seen.push(sim.now);
      sim.after(250, () => seen.push(sim.now));
    });
    sim.at(10, () => seen.push(sim.now));
    sim.run();
    expect(seen).toEqual([10, 5000, 5250]);
    expect(() => sim.at(100, () => {})).toThrow(RangeError);
  });

  it('counts events scheduled as work until they have run, without changing the order', () => {
    const sim = new Simulation();
    const seen: string[] = [];
    sim.work(10, () => seen.push(`w1:${sim.pendingWork}`));
    sim.at(10, () => seen.push(`t:${sim.pendingWork}`));
    sim.work(10, () => seen.push(`w2:${sim.pendingWork}`));
    expect(sim.pendingWork).toBe(2);
    sim.run();
    expect(seen).toEqual(['w1:1', 't:1', 'w2:0']);
    expect(sim.pendingWork).toBe(0);
    expect(() => sim.work(5, () => {})).toThrow(RangeError);
  });

  it('keeps its order past the queue growing and shrinking again', () => {
    const q = new EventQueue<number>();
    const r = new Random(9);
    const live: Array<[number, number]> = [];
    let n = 0;
    const out: number[] = [];
    const expected: number[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3000; i++) {
        const at = r.int(0, 100) + round * 1000;
        q.push(at, n, (n % 2) as 0 | 1);
        live.push([at, n++]);
      }
      live.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
      for (const [, e] of live.splice(0, 2500)) expected.push(e);
      for (let i = 0; i < 2500; i++) {
        const e = q.pop() as number;
        expect(q.lastTag).toBe(e % 2);
        out.push(e);
      }
    }
    expect(out).toEqual(expected);
    expect(q.size).toBe(live.length);
  });

  it('stops at `until` with later events still pending', () => {
    const sim = new Simulation();
    let ran = 0;
    for (const t of [1, 2, 3, 40]) sim.at(t * 1000, () => ran++);
    sim.run({ until: 3000 });
    expect(ran).toBe(3);
    expect(sim.pending).toBe(1);
    expect(sim.now).toBe(3000);
  });
});

describe('option parsing', () => {
  const specs = {
    n: { kind: 'int', min: 1, max: 10, default: 2, description: '' },
    xs: { kind: 'number-list', min: 0, max: 1, default: [0.5], description: '' },
    mode: { kind: 'choice', choices: ['a', 'b'], default: 'a', description: '' },
    on: { kind: 'flag', default: false, description: '' },
  } as const;

  it('parses values, lists, choices and flags over the defaults', () => {
    expect(parseOptions(specs, [], 's')).toEqual({ n: 2, xs: [0.5], mode: 'a', on: false });
    expect(parseOptions(specs, ['--n', '7', '--xs=0,0.25', '--mode', 'b', '--on'], 's')).toEqual({ n: 7, xs: [0, 0.25], mode: 'b', on: true });
  });

  it.each([
    [['--n', '11'], 'SIM_INVALID_OPTION', /--n: expected an integer from 1 to 10/],
    [['--n', '2.5'], 'SIM_INVALID_OPTION', /--n/],
    [['--n', ''], 'SIM_INVALID_OPTION', /--n/],
    [['--xs', '0.5,0.5'], 'SIM_INVALID_OPTION', /without repeats/],
    [['--mode', 'c'], 'SIM_INVALID_OPTION', /one of a, b/],
    [['--on=yes'], 'SIM_INVALID_OPTION', /--on/],
    [['--m', '1'], 'SIM_UNKNOWN_OPTION', /unknown option --m for scenario s; its options: --n, --xs, --mode, --on/],
    [['stray'], 'SIM_UNKNOWN_OPTION', /"stray"/],
  ])('refuses %j', (argv, code, message) => {
    expect(() => parseOptions(specs, argv, 's')).toThrow(expect.objectContaining({ code, message: expect.stringMatching(message) }));
  });
});

describe('writeOutputs', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dcloud-sim-out-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves no result.json and no temporary file when one file cannot be put in place', async () => {
    const out = join(dir, 'broken');
    await mkdir(join(out, 'chart.svg'), { recursive: true }); // a folder where a file must go
    await mkdir(join(out, 'chart.svg', 'x'));
    await expect(writeOutputs(out, [{ name: 'result.json', content: '{}' }, { name: 'chart.svg', content: '<svg/>' }])).rejects.toMatchObject({ code: 'SIM_OUTPUT_UNWRITABLE' });
    expect((await readdir(out)).sort()).toEqual(['chart.svg']);
  });
});

describe('summarize', () => {
  it('gives min, average, median, p95 and max, and null for no data', () => {
    expect(summarize([3, 1, 2, 10])).toEqual({ count: 4, min: 1, avg: 4, p50: 2, p95: 10, max: 10 });
    expect(summarize([])).toBeNull();
  });
});

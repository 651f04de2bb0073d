import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { runSim } from '../../simulations/cli.ts';

function io() {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return { stdout, stderr, stdin: new PassThrough(), env: {}, out: () => out, err: () => err };
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dcloud-sim-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const small = ['orchestration', '--agents', '10', '--tasks', '40', '--durations', 'proportional'];

async function sim(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const s = io();
  const code = await runSim(args, s);
  return { code, out: s.out(), err: s.err() };
}

describe('dcloud sim: outputs', () => {
  it('writes result.json, summary.md and the charts, and prints the result with --json', async () => {
    const out = join(dir, 'orch-json');
    const run = await sim([...small, '--seed', '3', '--out', out, '--json']);
    expect(run.code).toBe(0);
    const files = (await readdir(out)).sort();
    expect(files).toEqual(['result.json', 'summary.md', 'validated-at-proportional.svg', 'wait-proportional.svg']);
    const written = await readFile(join(out, 'result.json'), 'utf8');
    expect(run.out).toBe(written);
    const result = JSON.parse(written) as { scenario: string; seeds: number[]; results: unknown[] };
    expect(result.scenario).toBe('orchestration');
    expect(result.seeds).toEqual([3]);
    expect(result.results).toHaveLength(2);
    expect(await readFile(join(out, 'wait-proportional.svg'), 'utf8')).toMatch(/^<svg[\s\S]*heuristic[\s\S]*fifo[\s\S]*<\/svg>\n$/);
    expect(await readFile(join(out, 'summary.md'), 'utf8')).toContain('| N=10, M=40 | heuristic |');
  });

  it('is deterministic: the same seed gives the same bytes, another seed other results', async () => {
    const [a, b, c] = [join(dir, 'det-a'), join(dir, 'det-b'), join(dir, 'det-c')];
    expect((await sim([...small, '--seed', '11', '--out', a])).code).toBe(0);
    expect((await sim([...small, '--seed', '11', '--out', b])).code).toBe(0);
    expect((await sim([...small, '--seed', '12', '--out', c])).code).toBe(0);
    for (const file of ['result.json', 'summary.md', 'wait-proportional.svg']) {
      expect(await readFile(join(b, file))).toEqual(await readFile(join(a, file)));
    }
    const other = await readFile(join(c, 'result.json'), 'utf8');
    expect(other).not.toBe(await readFile(join(a, 'result.json'), 'utf8'));
  });

  it('reports several seeds and their mean', async () => {
    const out = join(dir, 'seeds');
    const run = await sim([...small, '--seed', '5', '--seeds', '3', '--out', out, '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.out) as { seeds: number[]; results: Array<{ perSeed: Array<{ seed: number; wait: { avg: number } }>; mean: { wait: { avg: number } } }> };
    expect(result.seeds).toEqual([5, 6, 7]);
    const cell = result.results[0]!;
    expect(cell.perSeed.map((s) => s.seed)).toEqual([5, 6, 7]);
    const mean = cell.perSeed.reduce((a, s) => a + s.wait.avg, 0) / 3;
    expect(cell.mean.wait.avg).toBeCloseTo(mean, 2);
  });

  it('runs through the dcloud command line (trust-validation)', async () => {
    const s = io();
    const code = await main(['sim', 'trust-validation', '--out', join(dir, 'tv')], s);
    expect(code).toBe(0);
    expect(s.out()).toContain('accepted "42", trust score 6.1');
    expect(s.out()).toContain('trust sum  14.0  share 0.6087');
  });
});

describe('dcloud sim: bad input is refused before anything is written', () => {
  it.each([
    [['nonsense'], 2, /unknown scenario "nonsense"; known scenarios: trust-validation, orchestration/],
    [[], 2, /a scenario is required/],
    [['orchestration', '--agents', '0'], 2, /--agents: expected comma-separated integers from 1 to 100000/],
    [['orchestration', '--policies', 'random'], 2, /--policies: expected comma-separated, from heuristic, fifo/],
    [['orchestration', '--seed', '-1'], 2, /--seed: expected an integer from 0 to 2147483647/],
    [['orchestration', '--tick'], 2, /--tick: a value is missing/],
    [['orchestration', '--frobnicate', '3'], 2, /unknown option --frobnicate for scenario orchestration/],
    [['trust-validation', '--threshold', '1.5'], 2, /--threshold: expected a number from 0.01 to 1/],
  ])('%j exits %i', async (args, exit, message) => {
    const out = join(dir, `bad-${args.join('_') || 'none'}`);
    const run = await sim([...args, '--out', out]);
    expect(run.code).toBe(exit);
    expect(run.err).toMatch(message);
    expect(run.out).toBe('');
    await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('exits 1 with the reason when the output folder cannot be written', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'not a folder');
    const run = await sim(['trust-validation', '--out', join(file, 'out')]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/cannot write the output folder .*a-file\/out: ENOTDIR/);
    expect(await readFile(file, 'utf8')).toBe('not a folder');
  });

  it('lists the scenarios and their options on --help', async () => {
    const all = await sim(['--help']);
    expect(all.code).toBe(0);
    expect(all.out).toContain('trust-validation');
    const one = await sim(['orchestration', '--help']);
    expect(one.code).toBe(0);
    expect(one.out).toMatch(/--seconds-per-unit <value> +proportional model/);
  });
});

import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { DcloudError } from '../protocol/errors.ts';

/**
 * What every benchmark shares: the one JSON line it ends with, and fair timing loops.
 *
 * A benchmark is a module bench/<name>.ts exporting `description` (one line for the listing) and
 * `run(args)`, which returns its BenchResult; bench/run.ts prints it as the last line on stdout.
 * Progress and commentary go to stderr, so stdout stays machine-readable.
 */

export interface BenchResult {
  bench: string;
  value: number;
  unit: string;
  goal: number;
  ok: boolean;
  [detail: string]: unknown;
}

export interface Benchmark {
  /** One line shown by `npm run bench` with no name. */
  readonly description: string;
  run(args: readonly string[]): Promise<BenchResult>;
}

/**
 * Builds the result line; `ok` is derived, never hand-written. `better` says which way the goal
 * points: 'higher' (throughput, ratios) or 'lower' (latencies, costs).
 */
export function result(
  fields: { bench: string; value: number; unit: string; goal: number; better?: 'higher' | 'lower' },
  details: Record<string, unknown> = {},
): BenchResult {
  const { better = 'higher', ...line } = fields;
  const ok = better === 'higher' ? line.value >= line.goal : line.value <= line.goal;
  return { ...line, ok, ...details };
}

/** A benchmark was asked for something it cannot do (bench/run.ts exits with 2). */
export class BenchUsageError extends DcloudError {
  constructor(message: string) {
    super('BENCH_USAGE', message);
    this.name = 'BenchUsageError';
  }
}

/** Reads a command-line option that must be a positive integer. */
export function positiveInt(text: string | undefined, name: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0) throw new BenchUsageError(`--${name} must be a positive integer, not ${JSON.stringify(text)}`);
  return value;
}

/** The single line a benchmark ends with. */
export function printResult(line: BenchResult): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Rounds to `digits` significant digits, so the line stays readable. */
export function round(value: number, digits = 4): number {
  return Number(value.toPrecision(digits));
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Rate {
  ops: number;
  ms: number;
  perSecond: number;
}

/**
 * Calls `op(i)` with i = 0, 1, 2, ... for about `ms` milliseconds. The clock is read every
 * `batch` calls only, so reading it costs nothing measurable next to the work.
 */
export function timeLoop(op: (i: number) => void, ms: number, batch = 64): Rate {
  const start = performance.now();
  const end = start + ms;
  let ops = 0;
  let now = start;
  while (now < end) {
    for (let k = 0; k < batch; k++) op(ops + k);
    ops += batch;
    now = performance.now();
  }
  const elapsed = now - start;
  return { ops, ms: elapsed, perSecond: (ops * 1000) / elapsed };
}

export interface Contender {
  /** Called once before each round: fresh state (a new replay guard...). */
  setup?: () => void;
  /** The measured operation; `i` counts 0, 1, 2, ... within a round. */
  op: (i: number) => void;
}

/** CPU time this process has used (all its threads, user + system), ms. */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * Compares contenders on a shared, noisy machine. Within each round they take turns in short
 * slices of `slice` operations (A B A B ..., the first turn alternating between rounds), and each
 * slice is charged the CPU time the process used during it, not the wall time: while a
 * neighbour has the core, no contender is charged, so a burst of load from other processes
 * cannot favour one side. (Garbage collection on V8's helper threads is CPU time of this
 * process too, and is charged to the side that caused it.) Returns each contender's rate per
 * CPU second, per round; compare them round by round (e.g. the median of per-round ratios).
 */
export function interleave<K extends string>(
  contenders: Record<K, Contender>,
  options: { rounds: number; roundMs: number; warmupMs?: number; slice?: number },
): Record<K, number[]> {
  const names = Object.keys(contenders) as K[];
  const slice = options.slice ?? 32;
  const rates = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>;
  const runRound = (round: number, budgetMs: number): Record<K, { ops: number; ms: number }> => {
    const order = round % 2 === 0 ? names : [...names].reverse();
    const spent = Object.fromEntries(names.map((n) => [n, { ops: 0, ms: 0 }])) as Record<K, { ops: number; ms: number }>;
    for (const name of names) contenders[name].setup?.();
    const end = performance.now() + budgetMs;
    while (performance.now() < end) {
      for (const name of order) {
        const { op } = contenders[name];
        const s = spent[name];
        const t0 = cpuMs();
        for (let k = 0; k < slice; k++) op(s.ops + k);
        s.ms += cpuMs() - t0;
        s.ops += slice;
      }
    }
    return spent;
  };
  runRound(1, options.warmupMs ?? options.roundMs);
  for (let r = 0; r < options.rounds; r++) {
    const spent = runRound(r, options.roundMs);
    for (const name of names) rates[name].push((spent[name].ops * 1000) / spent[name].ms);
  }
  return rates;
}

let ticksPerSecond: number | undefined;

/**
 * CPU time of a process, in seconds: its own (user + system) and that of the child processes it
 * ran and waited for (a library that shells out costs the volunteer too).
 */
export async function cpuSeconds(pid: number): Promise<{ own: number; children: number; mainThread: number }> {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fieldsOf = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  const fields = fieldsOf(await readFile(`/proc/${pid}/stat`, 'utf8'));
  // The thread whose id is the process id is the one running JavaScript (Node's event loop).
  const main = fieldsOf(await readFile(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
  return {
    own: (fields[11]! + fields[12]!) / ticksPerSecond,
    children: (fields[13]! + fields[14]!) / ticksPerSecond,
    mainThread: (main[11]! + main[12]!) / ticksPerSecond,
  };
}

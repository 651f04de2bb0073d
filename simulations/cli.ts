import { join, resolve } from 'node:path';
import { PROJECT_ROOT } from '../src/paths.ts';
import { renderSvg } from './harness/charts.ts';
import { UnknownScenarioError, isSimError } from './harness/errors.ts';
import { type OptionSpecs, describeOptions, parseOptions } from './harness/options.ts';
import { ensureWritable, writeOutputs } from './harness/output.ts';
import { progressBar } from './harness/progress.ts';
import type { Scenario, ScenarioOutput } from './harness/scenario.ts';
import { InvalidOptionError } from './harness/errors.ts';
import { LIVE_OPTIONS, applyLiveDefaults, liveSettings } from './live/options.ts';
import { LIVE_RUNNERS } from './live/runner.ts';
import { SCENARIOS } from './scenarios/index.ts';

/**
 * `dcloud sim SCENARIO [--seed N] [--seeds K] [--out DIR] [--json] [scenario options]`: the
 * imperative shell around the pure scenarios. It parses and checks every option before anything
 * runs, makes sure the output folder is writable, runs, renders the charts, then writes all
 * files at once (temporary names renamed into place). Exit 0 on success, 2 on a usage error,
 * 1 when the output cannot be written.
 */

export interface SimIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
}

/** Options every scenario takes. */
export const COMMON_OPTIONS = {
  seed: { kind: 'int', min: 0, max: 2 ** 31 - 1, default: 1, description: 'seed of the run (the same seed gives the same result.json)' },
  seeds: { kind: 'int', min: 1, max: 1000, default: 1, description: 'runs with seeds seed, seed+1, ...; results report their mean too' },
  out: { kind: 'text', default: '', description: 'output folder (default simulations/out/<scenario>-<seed>)' },
  json: { kind: 'flag', default: false, description: 'print result.json on stdout instead of the text summary' },
} as const satisfies OptionSpecs;

export function usage(): string {
  const names = SCENARIOS.map((s) => `  ${s.name.padEnd(18)} ${s.description}`).join('\n');
  return `usage: dcloud sim SCENARIO [options]   (dcloud sim SCENARIO --help lists its options)\n\nscenarios:\n${names}\n\noptions of every scenario:\n${describeOptions(COMMON_OPTIONS)}\n`;
}

/** A scenario's options, with the live ones for the scenarios that also run live. */
function optionsOf(scenario: Scenario): OptionSpecs {
  return LIVE_RUNNERS[scenario.name] === undefined ? scenario.options : { ...scenario.options, ...LIVE_OPTIONS };
}

function scenarioHelp(scenario: Scenario): string {
  const live = LIVE_RUNNERS[scenario.name];
  const liveDefaults = live === undefined ? '' : `\nwith --live, unless given: ${Object.entries(live.defaults).map(([k, v]) => `--${k} ${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ')}\n`;
  return `usage: dcloud sim ${scenario.name} [options]\n\n${scenario.description}\n\noptions:\n${describeOptions(COMMON_OPTIONS)}\n${describeOptions(optionsOf(scenario))}\n${liveDefaults}`;
}

export function findScenario(name: string): Scenario {
  const scenario = SCENARIOS.find((s) => s.name === name);
  if (scenario === undefined) throw new UnknownScenarioError(name, SCENARIOS.map((s) => s.name));
  return scenario;
}

function cellCount(options: Record<string, unknown>): number {
  return ['agents', 'tasks', 'policies', 'durations'].reduce((n, k) => n * (options[k] as unknown[]).length, 1);
}

export async function runSim(argv: readonly string[], io: SimIo): Promise<number> {
  try {
    return await runChecked(argv, io);
  } catch (err) {
    if (isSimError(err)) {
      io.stderr.write(`dcloud sim: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

async function runChecked(argv: readonly string[], io: SimIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h') {
    io.stdout.write(usage());
    return 0;
  }
  if (name === undefined || name.startsWith('-')) {
    io.stderr.write(`dcloud sim: a scenario is required\n${usage()}`);
    return 2;
  }
  const scenario = findScenario(name);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(scenarioHelp(scenario));
    return 0;
  }
  const specs: OptionSpecs = { ...COMMON_OPTIONS, ...optionsOf(scenario) };
  const values = parseOptions(specs, rest, scenario.name) as Record<string, unknown>;
  const live = liveSettings(values, rest);
  const runner = LIVE_RUNNERS[scenario.name];
  if (live !== null && runner !== undefined) {
    for (const name of runner.unsupported ?? []) {
      if (rest.some((a) => a === `--${name}` || a.startsWith(`--${name}=`))) throw new InvalidOptionError(name, String(values[name]), 'not with --live');
    }
    applyLiveDefaults(values, rest, runner.defaults);
  }
  const seed = values.seed as number;
  const seedCount = values.seeds as number;
  const json = values.json as boolean;
  const outOption = values.out as string;
  const options: Record<string, unknown> = {};
  for (const key of Object.keys(scenario.options)) options[key] = values[key];
  // Options that depend on each other, as the scenario checks them (before anything is written).
  (scenario as Scenario & { check?: (options: Record<string, unknown>) => void }).check?.(options);
  if (live !== null && live.hubUrl !== '' && scenario.name === 'orchestration' && cellCount(options) > 1) {
    throw new InvalidOptionError('hub-url', live.hubUrl, 'a given hub runs one configuration: give one value each of --agents, --tasks, --policies and --durations');
  }
  const folder = `${scenario.name}${live === null ? '' : '-live'}-${seed}${seedCount > 1 ? `-x${seedCount}` : ''}`;
  const outDir = outOption === '' ? join(PROJECT_ROOT, 'simulations', 'out', folder) : resolve(outOption);
  await ensureWritable(outDir);

  const seeds = Array.from({ length: seedCount }, (_, i) => seed + i);
  const bar = progressBar({ label: scenario.name, stream: io.stderr as NodeJS.WriteStream });
  let output: ScenarioOutput;
  try {
    if (live !== null && runner !== undefined) {
      output = await runner.run({ seed, options, live, progress: bar.listener });
    } else output = scenario.run({ seeds, options: options as never, progress: bar.listener });
  } finally {
    bar.stop();
  }
  const resultJson = `${JSON.stringify(output.result, null, 2)}\n`;
  const charts = await Promise.all(output.charts.map(async (c) => ({ name: `${c.name}.svg`, content: await renderSvg(c.spec) })));
  const written = await writeOutputs(outDir, [{ name: 'summary.md', content: output.summary }, ...charts, { name: 'result.json', content: resultJson }]);

  if (json) io.stdout.write(resultJson);
  else {
    io.stdout.write(output.text);
    io.stdout.write(`\nwrote ${written.length} files to ${outDir}\n`);
  }
  return 0;
}

import type { TopLevelSpec } from 'vega-lite';
import type { OptionSpecs, OptionValues } from './options.ts';
import type { ProgressListener } from './progress.ts';

/** What every scenario run produces; the shell writes it to files or prints it. */
export interface ScenarioOutput {
  /** The body of result.json: deterministic, the same seed gives the same bytes. */
  result: Record<string, unknown>;
  /** summary.md. */
  summary: string;
  /** Charts, rendered to <name>.svg. */
  charts: ReadonlyArray<{ name: string; spec: TopLevelSpec }>;
  /** What the command prints for a person (when not --json). */
  text: string;
}

export interface RunInput<O extends OptionSpecs> {
  /** One run per seed; several seeds are summarised by their mean. */
  seeds: readonly number[];
  options: OptionValues<O>;
  progress?: ProgressListener;
}

/** A scenario: a pure computation from seeds and options to an output. No I/O, no wall clock. */
export interface Scenario<O extends OptionSpecs = OptionSpecs> {
  readonly name: string;
  /** One line for the listing. */
  readonly description: string;
  readonly options: O;
  run(input: RunInput<O>): ScenarioOutput;
}

/** Helps TypeScript keep each scenario's own option types while listing them together. */
export function defineScenario<O extends OptionSpecs>(scenario: Scenario<O>): Scenario<O> {
  return scenario;
}

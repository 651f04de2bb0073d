import type { ProgressListener } from '../harness/progress.ts';
import type { ScenarioOutput } from '../harness/scenario.ts';
import { CHURN_LIVE_DEFAULTS, runChurnLive } from './churn-live.ts';
import type { LiveSettings } from './options.ts';
import { ORCHESTRATION_LIVE_DEFAULTS, runOrchestrationLive } from './orchestration-live.ts';

/**
 * The scenarios that also run live (`--live`): each against a real hub over HTTP, reporting the
 * same measures as its virtual run and, beside them, the virtual run's for the same seed.
 */
export interface LiveRunInput {
  seed: number;
  /** The scenario's own options, parsed and checked. */
  options: Record<string, unknown>;
  live: LiveSettings;
  progress?: ProgressListener;
}

export interface LiveRunner {
  /** Sizes that keep a live run within about a minute, used where the command line gives none. */
  defaults: Record<string, unknown>;
  /** Options a live run cannot honour: giving them with --live is a usage error. */
  unsupported?: readonly string[];
  run(input: LiveRunInput): Promise<ScenarioOutput>;
}

export const LIVE_RUNNERS: Readonly<Record<string, LiveRunner>> = {
  orchestration: { defaults: ORCHESTRATION_LIVE_DEFAULTS, unsupported: ['arrival-rate', 'fetch-delay'], run: runOrchestrationLive },
  churn: { defaults: CHURN_LIVE_DEFAULTS, unsupported: ['kick'], run: runChurnLive },
};

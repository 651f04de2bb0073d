import { InvalidOptionError } from '../harness/errors.ts';
import type { OptionSpecs } from '../harness/options.ts';

/**
 * The options of a live run (`dcloud sim orchestration|churn --live`): the same scenario against a
 * real hub over HTTP. Sizes default smaller than the virtual run's, so that a live run ends within
 * a minute; any size given on the command line is taken as it is.
 */
export const LIVE_OPTIONS = {
  live: { kind: 'flag', default: false, description: 'run against a real hub over HTTP (a fresh `dcloud hub` process unless --hub-url), beside the virtual run of the same seed' },
  'hub-url': { kind: 'text', default: '', description: 'live: the hub to load, e.g. http://127.0.0.1:8080 (default: spawn one per configuration)' },
  'time-scale': { kind: 'number', min: 0.001, max: 100, default: 0.1, description: 'live: wall seconds per simulated second (run times, heartbeats, the hub\'s tick and timeouts)' },
  'live-timeout': { kind: 'number', min: 1, max: 86_400, default: 120, description: 'live: wall seconds a configuration may take before what is unfinished is reported as such' },
} as const satisfies OptionSpecs;

export interface LiveSettings {
  hubUrl: string;
  timeScale: number;
  timeoutS: number;
}

/**
 * Checks the live options against each other (before anything runs): the live-only ones need
 * --live, a hub URL must be an http(s) URL, a live run takes one seed.
 */
export function liveSettings(values: Record<string, unknown>, argv: readonly string[]): LiveSettings | null {
  const given = (name: string): boolean => argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (values.live !== true) {
    for (const name of ['hub-url', 'time-scale', 'live-timeout']) {
      if (given(name)) throw new InvalidOptionError(name, String(values[name]), 'only with --live');
    }
    return null;
  }
  const hubUrl = values['hub-url'] as string;
  if (hubUrl !== '') {
    let url: URL | undefined;
    try {
      url = new URL(hubUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new InvalidOptionError('hub-url', hubUrl, 'expected an http:// or https:// URL of a dcloud hub');
  }
  if ((values.seeds as number) !== 1) throw new InvalidOptionError('seeds', String(values.seeds), 'a live run takes one seed (--seeds 1)');
  return { hubUrl, timeScale: values['time-scale'] as number, timeoutS: values['live-timeout'] as number };
}

/** Replaces the scenario's defaults by the live ones where the command line did not give a value. */
export function applyLiveDefaults(values: Record<string, unknown>, argv: readonly string[], liveDefaults: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(liveDefaults)) {
    if (!argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`))) values[name] = value;
  }
}

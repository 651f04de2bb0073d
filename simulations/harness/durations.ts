import type { TaskSpecBody } from '../../protocol/messages.ts';
import type { Random } from './random.ts';

/** How long one replica of a task runs on an agent, in virtual ms (whole ms, at least 1). */
export type DurationModel = (spec: TaskSpecBody, rng: Random) => number;

/** Clamps a sampled duration in seconds to at least `minS` and turns it into whole ms. */
function toMs(seconds: number, minS: number): number {
  return Math.max(1, Math.round(Math.max(minS, seconds) * 1000));
}

/** The thesis' first variant: every run N(meanS, sigmaS) seconds, at least minS (1.0, 0.1, 0.1). */
export function fixedDuration(meanS = 1.0, sigmaS = 0.1, minS = 0.1): DurationModel {
  return (_spec, rng) => toMs(rng.normal(meanS, sigmaS), minS);
}

/**
 * The thesis' second variant: run times proportional to the request. The mean is
 * `secondsPerUnit * (cpu + ramGb / 2)` (the thesis' R, so a 1-core 2-GB task counts 2 units),
 * the standard deviation `cv` times the mean, at least minS. The original script's constant is
 * not in the thesis; ours is an option of the orchestration scenario (default 3 s per unit).
 */
export function proportionalDuration(secondsPerUnit: number, cv = 0.2, minS = 0.1): DurationModel {
  return (spec, rng) => {
    const mean = secondsPerUnit * (spec.cpu + spec.ramGb / 2);
    return toMs(rng.normal(mean, cv * mean), minS);
  };
}

/** Exponential run times with the given mean (churn): many short jobs, a few long ones. */
export function exponentialDuration(meanS: number, minS = 0.1): DurationModel {
  return (_spec, rng) => toMs(rng.exponential(meanS), minS);
}

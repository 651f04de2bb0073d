/**
 * Exponential backoff with jitter ("equal jitter"): the n-th consecutive failure waits between half
 * and all of min(cap, base * 2^n). The random half spreads a crowd of clients that all lost the
 * same server at the same moment, so they do not come back in lockstep; the fixed half keeps a
 * single client from hammering it. Pure: the random number is given.
 */
export interface BackoffPolicy {
  /** Delay of the first retry, ms. */
  baseMs: number;
  /** No retry waits longer than this, ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 30_000 };

/** `failures` counts consecutive failures so far (1 for the first); `random` is uniform in [0, 1). */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** exponent);
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

/** Summaries of samples as the thesis reported them (min, average, max), plus the median and p95. */
export interface Summary {
  count: number;
  min: number;
  avg: number;
  p50: number;
  p95: number;
  max: number;
}

/** Rounds for reports: results stay readable and identical across platforms' float printing. */
export function round(value: number, decimals = 3): number {
  const f = 10 ** decimals;
  return Math.round(value * f) / f;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** null when there are no samples: "no data" must not read as zero. */
export function summarize(samples: readonly number[], decimals = 3): Summary | null {
  if (samples.length === 0) return null;
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  const list = Array.from(sorted);
  return {
    count: sorted.length,
    min: round(sorted[0]!, decimals),
    avg: round(sum / sorted.length, decimals),
    p50: round(percentile(list, 50), decimals),
    p95: round(percentile(list, 95), decimals),
    max: round(sorted[sorted.length - 1]!, decimals),
  };
}

/** Mean of each field over several runs' summaries (several seeds); null when none has data. */
export function meanOfSummaries(summaries: readonly (Summary | null)[], decimals = 3): Summary | null {
  const present = summaries.filter((s): s is Summary => s !== null);
  if (present.length === 0) return null;
  const mean = (pick: (s: Summary) => number): number => round(present.reduce((a, s) => a + pick(s), 0) / present.length, decimals);
  return {
    count: round(present.reduce((a, s) => a + s.count, 0) / present.length, 1),
    min: mean((s) => s.min),
    avg: mean((s) => s.avg),
    p50: mean((s) => s.p50),
    p95: mean((s) => s.p95),
    max: mean((s) => s.max),
  };
}

// Latency histograms as the data path reports them: counts per bucket (not cumulative),
// bucket i holding samples up to latencyBoundsMs[i], the last bucket everything slower.
// Percentiles are estimated from an interval's counts (the difference of two snapshots).

/**
 * Per-bucket counts that arrived between `previous` and `now`. When a counter went
 * backwards (the balancer was restarted in between), `now` is the whole interval.
 */
export function histogramDelta(now: readonly number[], previous: readonly number[] | undefined): number[] {
  if (!previous || previous.length !== now.length) return [...now];
  const delta = now.map((count, i) => count - (previous[i] ?? 0));
  return delta.some((d) => d < 0) ? [...now] : delta;
}

/**
 * The `q`-quantile (0 < q <= 1) in milliseconds, interpolated linearly inside the bucket
 * that holds it (the first bucket starts at 0). `undefined` when there are no samples;
 * `Infinity` when it falls in the last, unbounded bucket: it is then only known to be
 * above the last bound.
 */
export function percentileMs(counts: readonly number[], boundsMs: readonly number[], q: number): number | undefined {
  const total = counts.reduce((sum, c) => sum + c, 0);
  if (total <= 0) return undefined;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i < counts.length; i += 1) {
    const count = counts[i] ?? 0;
    if (count > 0 && cumulative + count >= rank) {
      const upper = boundsMs[i];
      if (upper === undefined) return Infinity;
      const lower = i === 0 ? 0 : (boundsMs[i - 1] ?? 0);
      return lower + ((upper - lower) * Math.max(0, rank - cumulative)) / count;
    }
    cumulative += count;
  }
  return Infinity;
}

/** Sums histograms bucket by bucket (e.g. all backends' into one). */
export function sumHistograms(histograms: readonly (readonly number[])[], buckets: number): number[] {
  const sum = new Array<number>(buckets).fill(0);
  for (const h of histograms) for (let i = 0; i < buckets; i += 1) sum[i] = (sum[i] ?? 0) + (h[i] ?? 0);
  return sum;
}

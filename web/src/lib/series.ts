/** Rolling time series for live charts: append points, keep the newest `capacity`. */

export interface Rolling {
  times: number[];
  series: Record<string, Array<number | null>>;
}

export function emptyRolling(): Rolling {
  return { times: [], series: {} };
}

/**
 * Appends one point (values by series name; a series missing from the point gets null, a new
 * series is back-filled with null) and drops the oldest beyond `capacity`. Returns a new object
 * (React state) and never mutates the input.
 */
export function appendPoint(r: Rolling, time: number, values: Record<string, number | null>, capacity: number): Rolling {
  if (r.times.length && time <= r.times[r.times.length - 1]!) return r; // duplicate or out of order
  const times = [...r.times, time];
  const series: Record<string, Array<number | null>> = {};
  const names = new Set([...Object.keys(r.series), ...Object.keys(values)]);
  for (const n of names) {
    const old = r.series[n] ?? new Array<number | null>(r.times.length).fill(null);
    series[n] = [...old, values[n] ?? null];
  }
  const drop = Math.max(0, times.length - capacity);
  if (drop === 0) return { times, series };
  for (const n of Object.keys(series)) series[n] = series[n]!.slice(drop);
  return { times: times.slice(drop), series };
}

/** The `n` series with the largest sum (for charts that show the top topics). */
export function topSeries(series: Record<string, Array<number | null>>, n: number): string[] {
  return Object.entries(series)
    .map(([k, v]) => [k, v.reduce<number>((a, x) => a + (x ?? 0), 0)] as const)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([k]) => k);
}

/** Current values of a registered metric (GET /api/monitor/metrics/:name), summed by one label. */
import { api, ApiError } from './api.ts';

export interface MetricValues {
  name: string;
  type: string;
  values: Array<{ labels: Record<string, string | number>; value: number }>;
}

/** Sums of `name` by the value of `label`; a metric not registered yet counts as empty. */
export async function metricBy(name: string, label: string): Promise<Record<string, number>> {
  let m: MetricValues;
  try {
    m = await api<MetricValues>(`/api/monitor/metrics/${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'METRIC_UNKNOWN') return {};
    throw err;
  }
  const out: Record<string, number> = {};
  for (const v of m.values) {
    const k = String(v.labels[label] ?? '');
    out[k] = (out[k] ?? 0) + v.value;
  }
  return out;
}

/**
 * Throughput over time, for the overview's charts: every `intervalMs` the sampler reads the
 * registry's counters (log appends and reads per topic, Kafka bytes, HTTP requests, and the
 * counters other parts register), turns the increase since the previous sample into a rate per
 * second, and keeps a bounded ring of points. Reading counters in-process costs microseconds, so
 * the UI gets history without a Prometheus server.
 *
 * It also turns increases of failure counters (`…_errors_total`, `…_failures_total`,
 * `…_failed_total`, dead-letter counters, HTTP 5xx answers) into events in words for the failure
 * log.
 */
import type { Metric, MetricObjectWithValues, MetricValue, Registry } from 'prom-client';
import type { FailureLog } from './failures.ts';

export interface SamplerOptions {
  registry: Registry;
  failures?: FailureLog;
  /** Default 2 s. */
  intervalMs?: number;
  /** Points kept (default 900: 30 min at 2 s). */
  capacity?: number;
  /** Topics that get their own series; the rest are summed under `(other)` (default 200). */
  maxTopics?: number;
  now?: () => number;
  onSample?: (point: ThroughputPoint) => void;
}

/** Rates per second since the previous sample. */
export interface ThroughputPoint {
  time: number;
  /** Totals: `append_records`, `append_bytes`, `read_records`, `read_bytes`, `kafka_sent_bytes`, `kafka_received_bytes`, `http_requests`, and other parts' counters. */
  totals: Record<string, number>;
  /** Per topic: `{ append_records, append_bytes, read_records, read_bytes }`. */
  topics: Record<string, Record<string, number>>;
}

export interface ThroughputSeries {
  intervalMs: number;
  times: number[];
  totals: Record<string, number[]>;
  topics: Record<string, Record<string, number[]>>;
}

/** Counters shown per topic: name in the registry → series name. */
const TOPIC_COUNTERS: Record<string, string> = {
  tributary_log_appended_records_total: 'append_records',
  tributary_log_appended_bytes_total: 'append_bytes',
  tributary_log_read_records_total: 'read_records',
  tributary_log_read_bytes_total: 'read_bytes',
};

/** Counters shown as totals only. */
const TOTAL_COUNTERS: Record<string, string> = {
  tributary_kafka_sent_bytes_total: 'kafka_sent_bytes',
  tributary_kafka_received_bytes_total: 'kafka_received_bytes',
  tributary_http_requests_total: 'http_requests',
  tributary_generator_events_total: 'generator_events',
  tributary_connect_records_total: 'connect_records',
  tributary_streams_records_processed_total: 'streams_records',
  tributary_lake_sink_records_total: 'lake_sink_records',
  tributary_flow_runs_finished_total: 'flow_runs_finished',
};

/** Counters that mean something went wrong (and are reported as failures when they grow). */
export const FAILURE_COUNTER = /_(errors|failures|failed|dead_letter|dead_lettered|dlq)(_[a-z]+)?_total$/;

/** Counters of finished things with an outcome label (`state="failed"` is a failure). */
const OUTCOME_COUNTER = /_(finished|completed)_total$/;

const OTHER = '(other)';

function labelKey(labels: Record<string, string | number | undefined>): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${String(labels[k])}`)
    .join(',');
}

function human(name: string): string {
  return name.replace(/^tributary_/, '').replace(/_total$/, '').replace(/_/g, ' ');
}

export class ThroughputSampler {
  readonly intervalMs: number;
  private readonly capacity: number;
  private readonly maxTopics: number;
  private readonly now: () => number;
  private readonly points: ThroughputPoint[] = [];
  private previous: { time: number; values: Map<string, number> } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly opts: SamplerOptions) {
    this.intervalMs = opts.intervalMs ?? 2000;
    this.capacity = opts.capacity ?? 900;
    this.maxTopics = opts.maxTopics ?? 200;
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      this.running = this.sample()
        .then(() => undefined)
        .catch(() => {})
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** The newest point, if any. */
  latest(): ThroughputPoint | undefined {
    return this.points[this.points.length - 1];
  }

  /** Points newer than `since` (ms), columnar (what charts take). */
  series(since = 0): ThroughputSeries {
    const pts = this.points.filter((p) => p.time > since);
    const totalNames = new Set(pts.flatMap((p) => Object.keys(p.totals)));
    const topicNames = new Set(pts.flatMap((p) => Object.keys(p.topics)));
    const totals: Record<string, number[]> = {};
    for (const n of totalNames) totals[n] = pts.map((p) => p.totals[n] ?? 0);
    const topics: Record<string, Record<string, number[]>> = {};
    for (const t of topicNames) {
      const fields = new Set(pts.flatMap((p) => Object.keys(p.topics[t] ?? {})));
      topics[t] = {};
      for (const f of fields) topics[t]![f] = pts.map((p) => p.topics[t]?.[f] ?? 0);
    }
    return { intervalMs: this.intervalMs, times: pts.map((p) => p.time), totals, topics };
  }

  /** Reads the counters once; the first call only sets the baseline (returns null). */
  async sample(): Promise<ThroughputPoint | null> {
    const time = this.now();
    const metrics = this.opts.registry.getMetricsAsArray() as unknown as Metric[];
    const values = new Map<string, number>();
    const watched: Array<{ name: string; data: MetricObjectWithValues<MetricValue<string>> }> = [];
    for (const m of metrics) {
      const name = (m as unknown as { name: string }).name;
      if (!(name in TOPIC_COUNTERS) && !(name in TOTAL_COUNTERS) && !FAILURE_COUNTER.test(name) && !OUTCOME_COUNTER.test(name)) continue;
      const data = (await m.get()) as MetricObjectWithValues<MetricValue<string>>;
      if (String(data.type) !== 'counter') continue;
      watched.push({ name, data });
      for (const v of data.values) values.set(`${name}{${labelKey(v.labels)}}`, v.value);
    }

    const prev = this.previous;
    this.previous = { time, values };
    if (!prev) return null;
    const dt = Math.max(0.001, (time - prev.time) / 1000);
    const delta = (key: string, value: number) => Math.max(0, value - (prev.values.get(key) ?? 0));

    const point: ThroughputPoint = { time, totals: {}, topics: {} };
    const perTopic = new Map<string, Record<string, number>>();
    for (const { name, data } of watched) {
      const topicSeries = TOPIC_COUNTERS[name];
      const totalSeries = TOTAL_COUNTERS[name];
      for (const v of data.values) {
        const key = `${name}{${labelKey(v.labels)}}`;
        const d = delta(key, v.value);
        if (topicSeries) {
          const topic = String(v.labels['topic'] ?? OTHER);
          point.totals[topicSeries] = (point.totals[topicSeries] ?? 0) + d / dt;
          let t = perTopic.get(topic);
          if (!t) perTopic.set(topic, (t = {}));
          t[topicSeries] = (t[topicSeries] ?? 0) + d / dt;
        } else if (totalSeries) {
          point.totals[totalSeries] = (point.totals[totalSeries] ?? 0) + d / dt;
        }
        if (d > 0 && this.opts.failures) this.reportFailure(name, v.labels, d, time);
      }
    }
    // Bounded: the busiest topics get their own series, the rest are summed.
    const ranked = [...perTopic.entries()].sort((a, b) => (b[1]['append_records'] ?? 0) - (a[1]['append_records'] ?? 0) || a[0].localeCompare(b[0]));
    for (const [i, [topic, rates]] of ranked.entries()) {
      const target = i < this.maxTopics ? topic : OTHER;
      const into = (point.topics[target] ??= {});
      for (const [k, v] of Object.entries(rates)) into[k] = (into[k] ?? 0) + v;
    }
    for (const t of Object.values(point.topics)) for (const k of Object.keys(t)) t[k] = round(t[k]!);
    for (const k of Object.keys(point.totals)) point.totals[k] = round(point.totals[k]!);

    this.points.push(point);
    if (this.points.length > this.capacity) this.points.splice(0, this.points.length - this.capacity);
    this.opts.onSample?.(point);
    return point;
  }

  private reportFailure(name: string, labels: Record<string, string | number | undefined>, d: number, time: number): void {
    const failures = this.opts.failures!;
    if (name === 'tributary_http_requests_total') {
      const status = Number(labels['status']);
      if (!(status >= 500)) return;
      failures.add({
        time,
        severity: 'error',
        source: `http:${labels['route'] ?? '?'}`,
        message: `${d} HTTP request${d === 1 ? '' : 's'} to ${labels['method'] ?? ''} ${labels['route'] ?? '?'} failed with status ${status}`,
      });
      return;
    }
    // Counters with an outcome label: only the failed outcomes are failures.
    if (OUTCOME_COUNTER.test(name)) {
      const outcome = String(labels['state'] ?? labels['status'] ?? labels['outcome'] ?? '');
      if (outcome !== 'failed' && outcome !== 'error') return;
      failures.add({ time, severity: 'error', source: `metric:${name}`, message: `${d} ${human(name).replace(/ finished$| completed$/, '')} ended ${outcome}` });
      return;
    }
    if (!FAILURE_COUNTER.test(name)) return;
    const where = Object.entries(labels)
      .filter(([, v]) => v !== undefined && v !== '')
      .map(([k, v]) => `${k} ${String(v)}`)
      .join(', ');
    failures.add({
      time,
      severity: /dead_letter|dlq/.test(name) ? 'warning' : 'error',
      source: `metric:${name}`,
      message: `${d} new ${human(name)}${where ? ` (${where})` : ''}`,
    });
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

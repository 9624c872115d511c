/**
 * Prometheus metrics.
 *
 * One `Registry` per running instance (not prom-client's global one, so tests and several buses
 * in one process do not collide). Names follow the Prometheus conventions: our own metrics start
 * with `tributary_`, carry base units in the name (`_seconds`, `_bytes`), and counters end in
 * `_total`. The default process and Node.js metrics keep their standard names
 * (`process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, …) so stock dashboards work.
 *
 * Modules register through `counter()`, `gauge()` and `histogram()`: they check the name and
 * return the already-registered metric when called twice with the same name, so a module can
 * ask for its metrics wherever it needs them.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CounterConfiguration, GaugeConfiguration, HistogramConfiguration, Metric } from 'prom-client';

export { Registry };
export type { Counter, Gauge, Histogram };

export const METRIC_PREFIX = 'tributary_';

export interface MetricsRegistryOptions {
  /** Collect prom-client's process and Node.js metrics (default true). */
  defaultMetrics?: boolean;
  /** Labels added to every metric of this registry (e.g. `{ instance: 'a' }`). */
  labels?: Record<string, string>;
}

/**
 * Creates the metrics registry of one Tributary instance.
 *
 * @example
 * ```ts
 * const registry = createMetricsRegistry();
 * const produced = counter(registry, {
 *   name: 'tributary_log_records_appended_total',
 *   help: 'Records appended to the log.',
 *   labelNames: ['topic'],
 * });
 * produced.inc({ topic: 'orders' }, 10);
 * const text = await registry.metrics(); // Prometheus text format
 * ```
 */
export function createMetricsRegistry(opts: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (opts.labels) registry.setDefaultLabels(opts.labels);
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const UNIT_SUFFIXES_NOT_BASE = ['_milliseconds', '_ms', '_kilobytes', '_megabytes', '_minutes', '_hours'];

/** Throws when a metric name breaks the conventions above; `kind` decides the `_total` rule. */
export function checkMetricName(name: string, kind: 'counter' | 'gauge' | 'histogram'): void {
  if (!NAME.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not a valid Prometheus name`);
  if (!name.startsWith(METRIC_PREFIX)) throw new Error(`metric name ${JSON.stringify(name)} must start with "${METRIC_PREFIX}"`);
  if (kind === 'counter' && !name.endsWith('_total')) throw new Error(`counter ${JSON.stringify(name)} must end with "_total"`);
  if (kind !== 'counter' && name.endsWith('_total')) throw new Error(`${kind} ${JSON.stringify(name)} must not end with "_total" (only counters do)`);
  const bad = UNIT_SUFFIXES_NOT_BASE.find((s) => name.endsWith(s) || name.includes(`${s}_`));
  if (bad) throw new Error(`metric ${JSON.stringify(name)} uses "${bad}": use base units (_seconds, _bytes)`);
}

function existing<M extends Metric<string>>(registry: Registry, name: string, type: new (...args: never[]) => M): M | undefined {
  const found = registry.getSingleMetric(name);
  if (!found) return undefined;
  if (!(found instanceof type)) throw new Error(`metric ${JSON.stringify(name)} is already registered as another type`);
  return found;
}

/** A counter in `registry` (the existing one if the name is taken). */
export function counter<T extends string = string>(
  registry: Registry,
  config: Omit<CounterConfiguration<T>, 'registers'>,
): Counter<T> {
  checkMetricName(config.name, 'counter');
  return existing(registry, config.name, Counter<T>) ?? new Counter<T>({ ...config, registers: [registry] });
}

/** A gauge in `registry` (the existing one if the name is taken). */
export function gauge<T extends string = string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<T>, 'registers'>,
): Gauge<T> {
  checkMetricName(config.name, 'gauge');
  return existing(registry, config.name, Gauge<T>) ?? new Gauge<T>({ ...config, registers: [registry] });
}

/** A histogram in `registry` (the existing one if the name is taken). Buckets are in base units. */
export function histogram<T extends string = string>(
  registry: Registry,
  config: Omit<HistogramConfiguration<T>, 'registers'>,
): Histogram<T> {
  checkMetricName(config.name, 'histogram');
  return existing(registry, config.name, Histogram<T>) ?? new Histogram<T>({ ...config, registers: [registry] });
}

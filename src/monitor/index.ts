export {
  createMetricsRegistry,
  counter,
  gauge,
  histogram,
  checkMetricName,
  METRIC_PREFIX,
  Registry,
  type MetricsRegistryOptions,
  type Counter,
  type Gauge,
  type Histogram,
} from './metrics.ts';

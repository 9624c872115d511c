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
export { evaluatePartitionLag, evaluateGroupLag, type LagStatus, type LagSample, type PartitionLagEvaluation, type GroupLagEvaluation } from './lag/evaluate.ts';
export { estimateTimeLag, type TimeLag, type WatermarkSample } from './lag/time-lag.ts';
export { LagCollector, type LagCollectorOptions, type GroupLagReport, type PartitionLagReport, type GroupLagHistory } from './lag/collector.ts';
export { ThroughputSampler, type ThroughputPoint, type ThroughputSeries } from './sampler.ts';
export { FailureLog, type FailureEvent } from './failures.ts';
export { parseExposition, sumSamples, ExpositionParseError, type MetricFamily, type Sample, type MetricType } from './exposition.ts';
export { createMonitorPart, monitorOptionsFromEnv, MonitorError, type MonitorOptions, type MonitorPart } from './part.ts';

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkMetricName, counter, createMetricsRegistry, gauge, histogram } from '../../src/monitor/metrics.ts';

describe('metrics registry', () => {
  it('exposes the default process metrics and our own in Prometheus text', async () => {
    const registry = createMetricsRegistry();
    const c = counter(registry, { name: 'tributary_test_records_total', help: 'Records.', labelNames: ['topic'] });
    c.inc({ topic: 'orders' }, 3);
    const text = await registry.metrics();
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
    assert.match(text, /^# TYPE tributary_test_records_total counter$/m);
    assert.match(text, /^tributary_test_records_total\{topic="orders"\} 3$/m);
    assert.match(registry.contentType, /^text\/plain/);
  });

  it('returns the registered metric when asked twice for the same name', () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const a = gauge(registry, { name: 'tributary_test_open', help: 'Open things.' });
    const b = gauge(registry, { name: 'tributary_test_open', help: 'Open things.' });
    assert.equal(a, b);
    assert.throws(() => histogram(registry, { name: 'tributary_test_open', help: 'x' }), /another type/);
  });

  it('keeps registries apart', async () => {
    const r1 = createMetricsRegistry({ defaultMetrics: false });
    const r2 = createMetricsRegistry({ defaultMetrics: false });
    counter(r1, { name: 'tributary_only_in_one_total', help: 'x' }).inc();
    assert.doesNotMatch(await r2.metrics(), /tributary_only_in_one_total/);
  });

  it('enforces the naming conventions', () => {
    assert.throws(() => checkMetricName('records_total', 'counter'), /must start with "tributary_"/);
    assert.throws(() => checkMetricName('tributary_records', 'counter'), /must end with "_total"/);
    assert.throws(() => checkMetricName('tributary_open_total', 'gauge'), /must not end with "_total"/);
    assert.throws(() => checkMetricName('tributary_fetch_latency_ms', 'histogram'), /base units/);
    assert.throws(() => checkMetricName('tributary-bad', 'gauge'), /not a valid Prometheus name/);
    checkMetricName('tributary_fetch_duration_seconds', 'histogram');
    checkMetricName('tributary_log_appended_bytes_total', 'counter');
  });
});

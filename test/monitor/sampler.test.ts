import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLog } from '../../src/monitor/failures.ts';
import { counter, createMetricsRegistry } from '../../src/monitor/metrics.ts';
import { ThroughputSampler } from '../../src/monitor/sampler.ts';

describe('throughput sampler', () => {
  it('turns counter increases into rates per topic and in total', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const appended = counter(registry, { name: 'tributary_log_appended_records_total', help: 'x', labelNames: ['topic'] });
    const bytes = counter(registry, { name: 'tributary_log_appended_bytes_total', help: 'x', labelNames: ['topic'] });
    let now = 1000;
    const sampler = new ThroughputSampler({ registry, now: () => now });
    appended.inc({ topic: 'a' }, 100);
    assert.equal(await sampler.sample(), null, 'the first sample is the baseline');
    appended.inc({ topic: 'a' }, 40);
    appended.inc({ topic: 'b' }, 10);
    bytes.inc({ topic: 'a' }, 4000);
    now = 3000;
    const p = (await sampler.sample())!;
    assert.deepEqual(p.topics['a'], { append_records: 20, append_bytes: 2000 });
    assert.deepEqual(p.topics['b'], { append_records: 5 });
    assert.equal(p.totals['append_records'], 25);
    now = 5000;
    await sampler.sample();
    const s = sampler.series();
    assert.deepEqual(s.times, [3000, 5000]);
    assert.deepEqual(s.topics['a']!['append_records'], [20, 0]);
    assert.deepEqual(s.totals['append_records'], [25, 0]);
    assert.deepEqual(sampler.series(3000).times, [5000]);
  });

  it('keeps the busiest topics apart and sums the rest', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const appended = counter(registry, { name: 'tributary_log_appended_records_total', help: 'x', labelNames: ['topic'] });
    let now = 0;
    const sampler = new ThroughputSampler({ registry, now: () => now, maxTopics: 2 });
    await sampler.sample();
    for (const [t, n] of [['a', 50], ['b', 40], ['c', 3], ['d', 2]] as const) appended.inc({ topic: t }, n);
    now = 1000;
    const p = (await sampler.sample())!;
    assert.deepEqual(Object.keys(p.topics).sort(), ['(other)', 'a', 'b']);
    assert.equal(p.topics['(other)']!['append_records'], 5);
  });

  it('reports growing failure counters and HTTP 5xx answers in words', async () => {
    const registry = createMetricsRegistry({ defaultMetrics: false });
    const errors = counter(registry, { name: 'tributary_generator_errors_total', help: 'x', labelNames: ['generator'] });
    const dlq = counter(registry, { name: 'tributary_connect_dead_letter_records_total', help: 'x', labelNames: ['connector'] });
    const http = counter(registry, { name: 'tributary_http_requests_total', help: 'x', labelNames: ['method', 'route', 'status'] });
    counter(registry, { name: 'tributary_ok_things_total', help: 'x' }).inc(5);
    const runs = counter(registry, { name: 'tributary_flow_runs_finished_total', help: 'x', labelNames: ['dag', 'state'] });
    const failures = new FailureLog();
    let now = 0;
    const sampler = new ThroughputSampler({ registry, failures, now: () => now });
    errors.inc({ generator: 'shop' }, 2); // before the baseline: not reported
    await sampler.sample();
    errors.inc({ generator: 'shop' }, 3);
    dlq.inc({ connector: 'pg-sink' });
    http.inc({ method: 'POST', route: '/api/sql', status: '500' }, 2);
    http.inc({ method: 'GET', route: '/api/topics', status: '404' });
    runs.inc({ dag: 'all', state: 'success' }, 4);
    runs.inc({ dag: 'all', state: 'failed' });
    now = 2000;
    await sampler.sample();
    const events = failures.list().events;
    assert.deepEqual(
      events.map((e) => [e.severity, e.message]).sort(),
      [
        ['error', '1 flow runs ended failed'],
        ['error', '2 HTTP requests to POST /api/sql failed with status 500'],
        ['error', '3 new generator errors (generator shop)'],
        ['warning', '1 new connect dead letter records (connector pg-sink)'],
      ],
    );
    now = 4000;
    await sampler.sample();
    assert.equal(failures.list().total, 4, 'no new events without new increases');
  });
});

describe('failure log', () => {
  it('pages newest first with before=<id>', () => {
    const log = new FailureLog(100, () => 42);
    for (let i = 1; i <= 7; i++) log.add({ severity: 'error', source: 's', message: `m${i}` });
    const first = log.list({ limit: 3 });
    assert.deepEqual(first.events.map((e) => e.message), ['m7', 'm6', 'm5']);
    assert.equal(first.nextBefore, 5);
    const second = log.list({ limit: 3, before: first.nextBefore! });
    assert.deepEqual(second.events.map((e) => e.message), ['m4', 'm3', 'm2']);
    const last = log.list({ limit: 3, before: second.nextBefore! });
    assert.deepEqual(last.events.map((e) => e.message), ['m1']);
    assert.equal(last.nextBefore, null);
  });

  it('keeps at most its capacity and tells subscribers', () => {
    const log = new FailureLog(3);
    const seen: string[] = [];
    const off = log.subscribe((e) => seen.push(e.message));
    for (let i = 1; i <= 5; i++) log.add({ severity: 'info', source: 's', message: `m${i}` });
    off();
    log.add({ severity: 'info', source: 's', message: 'm6' });
    assert.equal(seen.length, 5);
    assert.deepEqual(log.list().events.map((e) => e.message), ['m6', 'm5', 'm4']);
  });
});

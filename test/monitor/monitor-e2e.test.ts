/**
 * The monitor in a real `tributary up` running the shop demo: /metrics parses strictly, the named
 * series move while the demo's traffic flows and a consumer group reads, and the monitor's API and
 * live streams answer.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseExposition, sumSamples, type MetricFamily } from '../../src/monitor/exposition.ts';
import { REPO_ROOT, startTributary, type RunningTributary } from '../helpers/tributary-process.ts';
import { readEvents } from './sse.ts';

let server: RunningTributary;

async function scrape(): Promise<Map<string, MetricFamily>> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

async function json(p: string, init?: RequestInit): Promise<any> {
  const res = await fetch(server.url + p, { ...init, headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** Polls `check` until it returns a value (bounded: fails with the last reason after `tries`). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, tries = 100, pauseMs = 200): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  throw new Error(`${what} did not happen${last ? `: ${(last as Error).message}` : ''}`);
}

before(async () => {
  server = await startTributary({
    args: ['--config', path.join(REPO_ROOT, 'examples/shop/tributary.config.ts')],
    env: { TRIBUTARY_MONITOR_SAMPLE_MS: '300', TRIBUTARY_MONITOR_LAG_INTERVAL_MS: '300', TRIBUTARY_MONITOR_LAG_WINDOW: '3' },
  });
});
after(async () => {
  const run = await server.stop();
  assert.equal(run.code, 0, run.stderr);
});

describe('monitoring a running tributary up', () => {
  it('exposes metrics that parse and move with traffic', async () => {
    const first = await scrape();
    for (const [name, type] of [
      ['tributary_log_appended_records_total', 'counter'],
      ['tributary_log_appended_bytes_total', 'counter'],
      ['tributary_log_fsync_duration_seconds', 'histogram'],
      ['tributary_http_requests_total', 'counter'],
      ['process_cpu_seconds_total', 'counter'],
    ] as const) {
      assert.equal(first.get(name)?.type, type, `${name} should be a ${type}`);
    }

    // A consumer group reads some of shop.orders and commits.
    const created = await json('/api/consumers', { method: 'POST', body: JSON.stringify({ group: 'dashboards', topics: ['shop.orders'], fromBeginning: true }) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    const polled = await eventually('records for the group', async () => {
      const r = await json(`/api/consumers/${id}/records?maxRecords=5&timeoutMs=1000`);
      return r.body.records.length > 0 ? r.body.records : undefined;
    });
    assert.ok(polled.length > 0);
    assert.equal((await json(`/api/consumers/${id}/commit`, { method: 'POST' })).status, 200);

    const moved = await eventually('the named series to move', async () => {
      const now = await scrape();
      const grew = (name: string, labels: Record<string, string> = {}, sample = name) =>
        sumSamples(now, name, labels, sample) > sumSamples(first, name, labels, sample);
      const lagSeries = now.get('tributary_consumer_group_lag_records')?.samples.filter((s) => s.labels['group'] === 'dashboards') ?? [];
      const ok =
        grew('tributary_log_appended_records_total', { topic: 'shop.orders' }) &&
        grew('tributary_log_appended_bytes_total', { topic: 'shop.orders' }) &&
        grew('tributary_log_fsync_duration_seconds', {}, 'tributary_log_fsync_duration_seconds_count') &&
        grew('tributary_log_read_records_total', { topic: 'shop.orders' }) &&
        grew('tributary_log_read_bytes_total', { topic: 'shop.orders' }) &&
        lagSeries.length >= 1 &&
        sumSamples(now, 'tributary_consumer_group_lag_records', { group: 'dashboards' }) > 0 &&
        (now.get('tributary_consumer_group_lag_seconds')?.samples.some((s) => s.labels['group'] === 'dashboards' && s.value > 0) ?? false) &&
        sumSamples(now, 'tributary_topic_partition_high_watermark', { topic: 'shop.orders' }) > 0;
      return ok ? now : undefined;
    });
    // The group reads nothing more: its lag grows while its offsets stand still → STALLED.
    const status = moved.get('tributary_consumer_group_status')!.samples.filter((s) => s.labels['group'] === 'dashboards');
    assert.deepEqual(status.map((s) => s.labels['status']).sort(), ['OK', 'STALLED', 'WARN']);
    await eventually('the group to be judged STALLED', async () => {
      const r = await json('/api/monitor/groups/dashboards');
      return r.body.status === 'STALLED' ? r.body : undefined;
    });
    const after = await scrape();
    assert.equal(sumSamples(after, 'tributary_consumer_group_status', { group: 'dashboards', status: 'STALLED' }), 1);
    const failures = await json('/api/monitor/failures');
    assert.ok(failures.body.events.some((e: { message: string }) => /consumer group dashboards is STALLED/.test(e.message)), JSON.stringify(failures.body));
    await json(`/api/consumers/${id}`, { method: 'DELETE' });
  });

  it('reports each part in /ready, the monitor included', async () => {
    const r = await json('/ready');
    assert.equal(r.status, 200);
    assert.equal(r.body.ready, true);
    for (const part of ['bus', 'http', 'generators', 'kafka', 'monitor']) assert.equal(r.body.parts[part]?.state, 'ready', `${part}: ${JSON.stringify(r.body.parts)}`);
  });

  it('serves throughput history and the overview', async () => {
    const t = await eventually('throughput samples', async () => {
      const r = await json('/api/monitor/throughput');
      return r.body.times.length >= 2 ? r.body : undefined;
    });
    assert.ok(t.topics['shop.searches'].append_records.some((v: number) => v > 0));
    const o = await json('/api/monitor/overview');
    assert.ok(o.body.throughput.totals.append_records > 0);
    assert.equal(o.body.sampleIntervalMs, 300);
    assert.deepEqual((await json('/api/monitor/throughput?sinse=1')).body.error.code, 'BAD_REQUEST');
  });

  it('streams ticks and live tails over Server-Sent Events', async () => {
    const ticks = await readEvents(`${server.url}/api/events`, (evs) => evs.filter((e) => e.event === 'tick').length >= 2);
    const tick = JSON.parse(ticks.filter((e) => e.event === 'tick')[1]!.data);
    assert.ok(tick.throughput.totals.append_records > 0);

    const tail = await readEvents(`${server.url}/api/tail/shop.orders?last=2`, (evs) => evs.some((e) => e.event === 'records'));
    assert.equal(tail[0]!.event, 'ready');
    const records = JSON.parse(tail.find((e) => e.event === 'records')!.data);
    assert.equal(records[0].topic, 'shop.orders');
    assert.equal(typeof records[0].key, 'string');
    assert.ok(Array.isArray(records[0].headers));

    const missing = await json('/api/tail/no.such.topic');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'TOPIC_UNKNOWN');
    const badPartition = await json('/api/tail/shop.orders?partition=9');
    assert.equal(badPartition.body.error.code, 'PARTITION_UNKNOWN');
  });
});

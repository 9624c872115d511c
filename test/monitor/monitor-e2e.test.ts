/**
 * The monitor in a real `tributary up` running the shop demo: /metrics parses strictly, the named
 * series move while the demo's traffic flows and a consumer group reads, and the monitor's API and
 * live streams answer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { parseExposition, sumSamples, type MetricFamily } from '../../src/monitor/exposition.ts';
import { checkMetricName } from '../../src/monitor/metrics.ts';
import { REPO_ROOT, startTributary, type RunningTributary } from '../helpers/tributary-process.ts';
import { readEvents } from './sse.ts';

let server: RunningTributary;

async function scrape(): Promise<Map<string, MetricFamily>> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = parseExposition(text);
  // An independent Prometheus text-format parser reads the same families and types.
  assert.deepEqual(
    parsePrometheusTextFormat(text).map((f) => `${f.name} ${f.type.toLowerCase()}`).sort(),
    [...families.values()].map((f) => `${f.name} ${f.type}`).sort(),
  );
  return families;
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

    // A file-source connector whose input has a good record and two bad ones (one not JSON, one
    // that fails its cast): records, errors and dead letters to count.
    const input = mkdtempSync(path.join(tmpdir(), 'tributary-monitor-e2e-'));
    writeFileSync(path.join(input, 'a.ndjson'), '{"n":1}\n{oops}\n{"n":3}\n');
    for (const name of ['e2e.file', 'e2e.file.dlq']) {
      const t = await json('/api/topics', { method: 'POST', body: JSON.stringify({ name, partitions: 1 }) });
      assert.ok(t.status === 201 || t.status === 200, JSON.stringify(t.body));
    }
    const conn = await json('/api/connectors', {
      method: 'POST',
      body: JSON.stringify({
        name: 'e2e-file',
        config: { connector: 'file-source', directory: input, topic: 'e2e.file', pollIntervalMs: 50, transforms: [{ type: 'cast', fields: { n: 'boolean' } }], errors: { tolerance: 'all', deadLetterTopic: 'e2e.file.dlq' } },
      }),
    });
    assert.equal(conn.status, 201, JSON.stringify(conn.body));

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
        sumSamples(now, 'tributary_topic_partition_high_watermark', { topic: 'shop.orders' }) > 0 &&
        // Connector and stream-app throughput, errors and dead letters.
        sumSamples(now, 'tributary_connect_records_total', { connector: 'e2e-file', direction: 'source' }) === 1 &&
        sumSamples(now, 'tributary_connect_record_errors_total', { connector: 'e2e-file' }) === 2 &&
        sumSamples(now, 'tributary_connect_dead_letter_records_total', { connector: 'e2e-file' }) === 2 &&
        grew('tributary_streams_records_processed_total');
      return ok ? now : undefined;
    });
    // Naming conventions on everything the server exposes: base units, `_total` only on counters,
    // and only labels whose values are bounded (names from the config, fixed sets, partitions).
    const BOUNDED_LABELS = new Set(['topic', 'partition', 'group', 'status', 'api', 'method', 'route', 'code', 'connector', 'direction', 'stage', 'app', 'operator', 'source', 'dag', 'state', 'pool', 'outcome', 'sink', 'generator', 'reason', 'le']);
    for (const f of moved.values()) {
      if (!f.name.startsWith('tributary_')) continue;
      assert.ok(f.type === 'counter' || f.type === 'gauge' || f.type === 'histogram', `${f.name}: ${f.type}`);
      checkMetricName(f.name, f.type as 'counter' | 'gauge' | 'histogram');
      assert.ok(f.help && f.help.length > 5, `${f.name} has no help text`);
      for (const sample of f.samples) {
        for (const label of Object.keys(sample.labels)) assert.ok(BOUNDED_LABELS.has(label), `${f.name} has the label "${label}": is it bounded?`);
        // Routes are patterns (`/api/consumers/:id/records`), never raw paths with ids in them.
        if (sample.labels['route']) assert.doesNotMatch(sample.labels['route'], /[0-9a-f]{8}-[0-9a-f]{4}|\/\d+(\/|$)/, `${f.name} route ${sample.labels['route']}`);
      }
    }

    // The group reads nothing more: its lag grows while its offsets stand still → STALLED.
    const status = moved.get('tributary_consumer_group_status')!.samples.filter((s) => s.labels['group'] === 'dashboards');
    assert.deepEqual(status.map((s) => s.labels['status']).sort(), ['OK', 'STALLED', 'WARN']);
    await eventually('the group to be judged STALLED', async () => {
      const r = await json('/api/monitor/groups/dashboards');
      return r.body.status === 'STALLED' ? r.body : undefined;
    });
    const after = await scrape();
    assert.equal(sumSamples(after, 'tributary_consumer_group_status', { group: 'dashboards', status: 'STALLED' }), 1);
    // Filtered on the server: the demo's stream apps add status changes of their own.
    const failures = await json('/api/monitor/failures?q=dashboards&severity=error');
    assert.ok(failures.body.events.some((e: { message: string }) => /consumer group dashboards is STALLED/.test(e.message)), JSON.stringify(failures.body));
    await json(`/api/consumers/${id}`, { method: 'DELETE' });
  });

  it('records DAG run durations, task queue time, schedule delay and query durations', async () => {
    const beforeAt = Date.now();
    const before = await scrape();
    const { dags } = (await json('/api/dags')).body as { dags: Array<{ dagId: string }> };
    assert.ok(dags.length > 0, 'the demo has DAGs');
    const dag = dags[0]!.dagId;
    const triggered = await json(`/api/dags/${encodeURIComponent(dag)}/runs`, { method: 'POST', body: '{}' });
    assert.equal(triggered.status, 201, JSON.stringify(triggered.body));
    // Two queries: one that reads its rows, one the gateway refuses.
    const ok = await json('/api/sql', { method: 'POST', body: JSON.stringify({ sql: 'SELECT 42 AS answer', format: 'json' }) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.rows[0].answer, 42);
    const bad = await json('/api/sql', { method: 'POST', body: JSON.stringify({ sql: 'SELEC 1', format: 'json' }) });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));

    const count = (f: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}) => sumSamples(f, name, labels, `${name}_count`);
    const now = await eventually(
      'the flow and warehouse series to move',
      async () => {
        const m = await scrape();
        return count(m, 'tributary_flow_dag_run_duration_seconds', { dag }) > count(before, 'tributary_flow_dag_run_duration_seconds', { dag }) &&
          count(m, 'tributary_flow_task_queued_duration_seconds', { dag }) > count(before, 'tributary_flow_task_queued_duration_seconds', { dag })
          ? m
          : undefined;
      },
      600,
      200,
    );
    const nowAt = Date.now();
    for (const name of ['tributary_flow_dag_run_duration_seconds', 'tributary_flow_dag_run_schedule_delay_seconds', 'tributary_flow_task_queued_duration_seconds', 'tributary_warehouse_query_duration_seconds']) {
      assert.equal(now.get(name)?.type, 'histogram', name);
    }
    assert.ok(count(now, 'tributary_warehouse_query_duration_seconds', { outcome: 'ok' }) >= count(before, 'tributary_warehouse_query_duration_seconds', { outcome: 'ok' }) + 1);
    assert.ok(count(now, 'tributary_warehouse_query_duration_seconds', { outcome: 'error' }) >= count(before, 'tributary_warehouse_query_duration_seconds', { outcome: 'error' }) + 1);
    // The run's duration is what the flow API reports for it.
    // (The sum may also hold other runs of this DAG that finished meanwhile: at least this one.)
    const run = (await json(`/api/dags/${encodeURIComponent(dag)}/runs/${encodeURIComponent(triggered.body.runId)}`)).body as { durationMs: number; state: string };
    const sum = (f: Map<string, MetricFamily>) => sumSamples(f, 'tributary_flow_dag_run_duration_seconds', { dag, state: run.state }, 'tributary_flow_dag_run_duration_seconds_sum');
    assert.ok(sum(now) - sum(before) + 0.002 >= run.durationMs / 1000, `${sum(now) - sum(before)} s recorded, the run took ${run.durationMs} ms`);
    // The demo's scheduled runs (each DAG's latest interval) report their delay once they finish:
    // judged only on runs that clearly ended between the two scrapes (a run that ended before the
    // first one may predate the monitor's hooks).
    const scheduled = await Promise.all(dags.map(async (d) => (await json(`/api/dags/${encodeURIComponent(d.dagId)}/runs?limit=50`)).body.runs as Array<{ kind: string; endedAt: string | null }>));
    const endedBetween = scheduled.flat().filter((r) => r.kind === 'scheduled' && r.endedAt !== null && Date.parse(r.endedAt) > beforeAt + 1000 && Date.parse(r.endedAt) < nowAt - 1000);
    if (endedBetween.length > 0) {
      assert.ok(count(now, 'tributary_flow_dag_run_schedule_delay_seconds') > count(before, 'tributary_flow_dag_run_schedule_delay_seconds'), `${endedBetween.length} scheduled runs ended, no schedule delay recorded`);
    }
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
    const badSeverity = await json('/api/monitor/failures?severity=error,fatal');
    assert.equal(badSeverity.status, 400);
    assert.match(badSeverity.body.error.message, /severity: expected a comma-separated list of error, warning, info, got "fatal"/);
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

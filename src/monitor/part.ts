/**
 * The monitor as a part of `tributary up`: it runs the lag collector and the throughput sampler,
 * keeps the recent failures, and serves what the web UI shows live:
 *
 *   GET /api/monitor/overview          throughput now, each group's lag status, recent failures
 *   GET /api/monitor/throughput        rates over time per topic and in total (`since`)
 *   GET /api/monitor/groups[/:id]      lag per group and partition, with history for charts
 *   GET /api/monitor/failures          recent failures, newest first, paged with `before`, filtered
 *                                      with `q` (text) and `severity` (error,warning,info)
 *   GET /api/monitor/metrics/:name     one registered metric's values by label set
 *   GET /api/events                    Server-Sent Events: `tick` (every sample), `failure`
 *   GET /api/tail/:topic               Server-Sent Events: `records` as they arrive on a topic
 *
 * Intervals come from the environment (documented in docs/http-api.md):
 * `TRIBUTARY_MONITOR_SAMPLE_MS` (throughput, default 2000), `TRIBUTARY_MONITOR_LAG_INTERVAL_MS`
 * (default 5000) and `TRIBUTARY_MONITOR_LAG_WINDOW` (samples a lag status judges, default 10).
 */
import { Hono } from 'hono';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { HttpError } from '../server/errors.ts';
import type { FeaturePart, PartContext } from '../server/parts.ts';
import { recordToJson } from '../server/records.ts';
import { boolParam, intParam, queryParams } from '../server/request.ts';
import { TributaryError } from '../util/errors.ts';
import { instrumentParts } from './feature-metrics.ts';
import { FAILURE_SEVERITIES, FailureLog, type FailureSeverity } from './failures.ts';
import { LagCollector, type GroupLagReport } from './lag/collector.ts';
import { ThroughputSampler, type ThroughputPoint } from './sampler.ts';

export interface MonitorOptions {
  sampleIntervalMs?: number;
  lagIntervalMs?: number;
  lagWindowSamples?: number;
  /** Open live tails at most (default 16); more answer 429. */
  maxTails?: number;
}

/** The monitor's error: a stable code, said in words. */
export class MonitorError extends TributaryError {
  constructor(code: 'TOO_MANY_TAILS' | 'GROUP_NOT_MONITORED' | 'METRIC_UNKNOWN', message: string) {
    super(code, message, { httpStatus: code === 'TOO_MANY_TAILS' ? 429 : 404, retriable: code === 'TOO_MANY_TAILS' });
    this.name = 'MonitorError';
  }
}

function envInt(name: string, min: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new TributaryError('CONFIG_INVALID', `environment variable ${name}: expected a whole number ≥ ${min}, got "${raw}"`);
  }
  return n;
}

/** Options from `TRIBUTARY_MONITOR_*` environment variables (a bad value fails start-up in words). */
export function monitorOptionsFromEnv(): MonitorOptions {
  const opts: MonitorOptions = {};
  const sample = envInt('TRIBUTARY_MONITOR_SAMPLE_MS', 100);
  const lag = envInt('TRIBUTARY_MONITOR_LAG_INTERVAL_MS', 100);
  const window = envInt('TRIBUTARY_MONITOR_LAG_WINDOW', 2);
  if (sample !== undefined) opts.sampleIntervalMs = sample;
  if (lag !== undefined) opts.lagIntervalMs = lag;
  if (window !== undefined) opts.lagWindowSamples = window;
  return opts;
}

function groupSummary(r: GroupLagReport) {
  const { partitions, ...rest } = r;
  return { ...rest, partitions: partitions.length };
}

export interface MonitorPart extends FeaturePart {
  collector: LagCollector;
  sampler: ThroughputSampler;
  failures: FailureLog;
}

/**
 * Creates the monitor part (the factory `tributary up` runs).
 *
 * @example
 * ```ts
 * PART_FACTORIES.push((ctx) => createMonitorPart(ctx, monitorOptionsFromEnv()));
 * ```
 */
export async function createMonitorPart(ctx: PartContext, opts: MonitorOptions = monitorOptionsFromEnv()): Promise<MonitorPart> {
  const { bus, registry, logger } = ctx;
  const failures = new FailureLog();
  /** Every open SSE response (ended when the part stops); `listeners` get ticks and failures. */
  const streams = new Set<SSEStreamingApi>();
  const listeners = new Set<SSEStreamingApi>();
  let stopping = false;

  const collector = new LagCollector({
    admin: () => bus.admin(),
    registry,
    logger,
    ...(opts.lagIntervalMs !== undefined ? { intervalMs: opts.lagIntervalMs } : {}),
    ...(opts.lagWindowSamples !== undefined ? { windowSamples: opts.lagWindowSamples } : {}),
    onStatusChange: (ch) => {
      failures.add({
        time: ch.time,
        severity: ch.to === 'STALLED' ? 'error' : ch.to === 'WARN' ? 'warning' : 'info',
        source: `group:${ch.groupId}`,
        message: `consumer group ${ch.groupId} is ${ch.to}${ch.from ? ` (was ${ch.from})` : ''}: ${ch.reason}`,
      });
    },
  });

  const partStates = new Map<string, string>();
  const watchParts = () => {
    for (const [name, part] of ctx.parts) {
      if (part.name === 'monitor') continue;
      const s = part.status?.();
      if (!s) continue;
      const before = partStates.get(name);
      partStates.set(name, s.state);
      if (s.state === 'failed' && before !== 'failed') {
        failures.add({ severity: 'error', source: `part:${name}`, message: `${name} failed${s.detail ? `: ${s.detail}` : ''}` });
      }
    }
  };

  const broadcast = (event: string, data: unknown) => {
    const text = JSON.stringify(data);
    for (const s of listeners) void s.writeSSE({ event, data: text }).catch(() => listeners.delete(s));
  };
  const tickPayload = (point: ThroughputPoint | undefined) => ({
    time: point?.time ?? Date.now(),
    throughput: point ?? null,
    groups: collector.reports().map(groupSummary),
  });

  const sampler = new ThroughputSampler({
    registry,
    failures,
    ...(opts.sampleIntervalMs !== undefined ? { intervalMs: opts.sampleIntervalMs } : {}),
    onSample: (point) => {
      watchParts();
      broadcast('tick', tickPayload(point));
    },
  });
  failures.subscribe((e) => broadcast('failure', e));

  /** Keeps an SSE response open until the client leaves or the part stops; heartbeats keep proxies from closing it. */
  const holdOpen = async (stream: SSEStreamingApi) => {
    streams.add(stream);
    listeners.add(stream);
    let done = false;
    stream.onAbort(() => {
      done = true;
    });
    try {
      for (let beat = 1; !done && !stopping && !stream.aborted; beat++) {
        await stream.sleep(1000);
        if (beat % 15 === 0) await stream.write(': keep-alive\n\n');
      }
    } finally {
      streams.delete(stream);
      listeners.delete(stream);
    }
  };

  const monitor = new Hono();
  monitor.get('/overview', (c) => {
    queryParams(c, []);
    return c.json({
      time: Date.now(),
      sampleIntervalMs: sampler.intervalMs,
      lagIntervalMs: collector.intervalMs,
      lagWindowSamples: collector.windowSamples,
      throughput: sampler.latest() ?? null,
      groups: collector.reports().map(groupSummary),
      failures: failures.list({ limit: 10 }).events,
      collector: collector.health(),
    });
  });
  monitor.get('/throughput', (c) => {
    const q = queryParams(c, ['since']);
    return c.json(sampler.series(intParam(q, 'since', { min: 0, default: 0 })));
  });
  monitor.get('/groups', (c) => {
    queryParams(c, []);
    return c.json({ groups: collector.reports().map(groupSummary), lagIntervalMs: collector.intervalMs, lagWindowSamples: collector.windowSamples });
  });
  monitor.get('/groups/:id', (c) => {
    const q = queryParams(c, ['history']);
    const id = c.req.param('id');
    const report = collector.report(id);
    if (!report) {
      throw new MonitorError(
        'GROUP_NOT_MONITORED',
        `no lag data for consumer group ${id}: it has no committed offsets yet, or the collector has not run since it appeared (it runs every ${collector.intervalMs / 1000} s)`,
      );
    }
    return c.json({ ...report, history: boolParam(q, 'history', true) ? collector.history(id) : undefined });
  });
  // One metric's current values by label set, for views that show a part's counters
  // (connector records and dead letters, …) without parsing /metrics in the browser.
  monitor.get('/metrics/:name', async (c) => {
    queryParams(c, []);
    const name = c.req.param('name');
    const metric = registry.getSingleMetric(name);
    if (!metric) throw new MonitorError('METRIC_UNKNOWN', `no metric named ${name} is registered (yet): the part that registers it may not run on this server`);
    const data = await metric.get();
    return c.json({ name, type: String(data.type), help: data.help, values: data.values.map((v) => {
        const sample = (v as { metricName?: string }).metricName;
        return { labels: v.labels, value: v.value, ...(sample && sample !== name ? { sample } : {}) };
      }) });
  });
  monitor.get('/failures', (c) => {
    const q = queryParams(c, ['limit', 'before', 'q', 'severity']);
    const before = intParam(q, 'before', { min: 1 });
    let severities: FailureSeverity[] | undefined;
    if (q['severity'] !== undefined) {
      severities = q['severity'].split(',').map((s) => s.trim()) as FailureSeverity[];
      const bad = severities.find((s) => !FAILURE_SEVERITIES.includes(s));
      if (bad !== undefined) throw new HttpError('BAD_REQUEST', `severity: expected a comma-separated list of ${FAILURE_SEVERITIES.join(', ')}, got ${JSON.stringify(bad)}`);
    }
    return c.json(
      failures.list({
        limit: intParam(q, 'limit', { min: 1, max: 500, default: 50 }),
        ...(before !== undefined ? { before } : {}),
        ...(q['q'] ? { q: q['q'] } : {}),
        ...(severities ? { severities } : {}),
      }),
    );
  });

  const events = new Hono();
  events.get('/', (c) => {
    queryParams(c, []);
    return streamSSE(c, async (stream) => {
      await stream.writeSSE({ event: 'tick', data: JSON.stringify(tickPayload(sampler.latest())) });
      await holdOpen(stream);
    });
  });

  const maxTails = opts.maxTails ?? 16;
  let openTails = 0;
  const tail = new Hono();
  tail.get('/:topic', async (c) => {
    const q = queryParams(c, ['partition', 'last']);
    const topic = c.req.param('topic');
    const described = await bus.admin().describeTopic(topic); // TOPIC_UNKNOWN (404) in words when missing
    const partition = intParam(q, 'partition', { min: 0 });
    if (partition !== undefined && partition >= described.partitions.length) {
      throw new HttpError('PARTITION_UNKNOWN', `topic ${topic} has partitions 0–${described.partitions.length - 1}, not ${partition}`);
    }
    const last = intParam(q, 'last', { min: 0, max: 1000, default: 20 });
    if (openTails >= maxTails) {
      throw new MonitorError('TOO_MANY_TAILS', `${maxTails} live tails are open already: close a tail (another browser tab) and retry`);
    }
    openTails++;
    const parts = described.partitions.filter((p) => partition === undefined || p.partition === partition);
    return streamSSE(c, async (stream) => {
      const consumer = bus.consumer({ clientId: `tail-${topic}` });
      try {
        consumer.assign(parts.map((p) => ({ topic, partition: p.partition, offset: Math.max(p.logStartOffset, p.highWatermark - last) })));
        await stream.writeSSE({ event: 'ready', data: JSON.stringify({ topic, partitions: parts.map((p) => p.partition) }) });
        let done = false;
        stream.onAbort(() => {
          done = true;
        });
        streams.add(stream);
        while (!done && !stopping && !stream.aborted) {
          const records = await consumer.poll({ timeoutMs: 500, maxRecords: 200 });
          if (records.length > 0) await stream.writeSSE({ event: 'records', data: JSON.stringify(records.map((r) => recordToJson(r, false))) });
        }
      } catch (err) {
        const e = err instanceof TributaryError ? err : new TributaryError('INTERNAL', err instanceof Error ? err.message : String(err));
        logger.warn({ err, topic }, 'live tail failed');
        if (!stream.aborted) await stream.writeSSE({ event: 'tail-error', data: JSON.stringify({ error: e.toJSON() }) }).catch(() => {});
      } finally {
        streams.delete(stream);
        openTails--;
        await consumer.close().catch(() => {});
      }
    });
  });

  let detachFeatures: () => void = () => {};
  return {
    name: 'monitor',
    collector,
    sampler,
    failures,
    routes: [
      { path: 'monitor', app: monitor },
      { path: 'events', app: events },
      { path: 'tail', app: tail },
    ],
    async start() {
      // Every part exists by now (ctx.parts is the process's map of them): record the flow and
      // warehouse series those parts do not record themselves.
      detachFeatures = instrumentParts(ctx.parts, registry, logger);
      collector.start();
      sampler.start();
    },
    async stop() {
      stopping = true;
      detachFeatures();
      for (const s of streams) s.abort();
      await Promise.all([collector.stop(), sampler.stop()]);
    },
    status() {
      const h = collector.health();
      if (h.lastError && (h.lastRoundAt === null || h.lastError.time > h.lastRoundAt)) {
        return { state: 'ready', detail: `lag collection failing: ${h.lastError.message}` };
      }
      return { state: 'ready', detail: `lag every ${collector.intervalMs / 1000} s, throughput every ${sampler.intervalMs / 1000} s` };
    },
  };
}

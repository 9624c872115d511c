/**
 * Consumer-group lag, collected over the bus admin API (so it works on the embedded log and on an
 * external Kafka cluster alike).
 *
 * Every `intervalMs` one round lists the topics (high watermarks) and the groups (committed
 * offsets), keeps a bounded history per partition, judges each group's trend
 * (`evaluate.ts`), estimates lag in seconds (`time-lag.ts`) and sets the Prometheus gauges.
 * A scrape then only serialises gauges: its cost does not depend on the bus.
 *
 * Label cardinality is bounded: at most `maxGroups` groups and `maxPartitionSeries`
 * group-partitions (and as many topic-partitions) get series; what does not fit is counted in
 * `tributary_monitor_series_dropped` instead. Series of groups and topics that disappear are
 * removed.
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { BusAdmin, GroupDescription } from '../../bus/types.ts';
import type { TopicDescription } from '../../log/types.ts';
import { counter, gauge, histogram } from '../metrics.ts';
import { evaluateGroupLag, lagOf, type LagSample, type LagStatus, type PartitionLagEvaluation } from './evaluate.ts';
import { estimateTimeLag, type WatermarkSample } from './time-lag.ts';

export interface LagCollectorOptions {
  admin: () => BusAdmin;
  registry?: Registry;
  logger?: Logger;
  /** Time between rounds (default 5 s). */
  intervalMs?: number;
  /** Samples a status judges (Burrow's window; default 10, i.e. 50 s at the default interval). */
  windowSamples?: number;
  /** Samples kept per partition for charts and time lag (default 360: 30 min at 5 s). */
  historySamples?: number;
  maxGroups?: number;
  maxPartitionSeries?: number;
  /** Clock (tests). */
  now?: () => number;
  /** Called when a group's status changes (not on its first evaluation when it is OK). */
  onStatusChange?: (change: GroupStatusChange) => void;
}

export interface GroupStatusChange {
  groupId: string;
  from: LagStatus | null;
  to: LagStatus;
  reason: string;
  time: number;
}

export interface PartitionLagReport {
  topic: string;
  partition: number;
  committedOffset: number | null;
  highWatermark: number;
  lag: number | null;
  lagSeconds: number | null;
  /** The real time lag is at least `lagSeconds` (the committed offset predates the history). */
  lagSecondsLowerBound: boolean;
  status: LagStatus;
  reason: string;
}

export interface GroupLagReport {
  groupId: string;
  state: string;
  members: number;
  status: LagStatus;
  reason: string;
  /** False while some partition has too few samples for a trend. */
  complete: boolean;
  totalLag: number;
  maxLagSeconds: number;
  partitions: PartitionLagReport[];
  updatedAt: number;
}

export interface GroupLagHistory {
  groupId: string;
  times: number[];
  totalLag: number[];
  /** Per `topic/partition`: lag in records per sample time (null where unknown). */
  partitions: Record<string, Array<number | null>>;
}

interface PartitionTrack {
  samples: LagSample[];
}

interface GroupTrack {
  partitions: Map<string, PartitionTrack>;
  report: GroupLagReport | null;
  times: number[];
  totals: number[];
}

const SEP = '\u0000';
const pkey = (topic: string, partition: number) => `${topic}${SEP}${partition}`;
const display = (key: string) => key.replace(SEP, '/');

export class LagCollector {
  readonly intervalMs: number;
  readonly windowSamples: number;
  readonly historySamples: number;
  private readonly maxGroups: number;
  private readonly maxPartitionSeries: number;
  private readonly now: () => number;
  private readonly watermarks = new Map<string, WatermarkSample[]>();
  private readonly groups = new Map<string, GroupTrack>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private lastError: { time: number; message: string } | null = null;
  private lastRoundAt: number | null = null;
  private readonly metrics: ReturnType<typeof createLagMetrics> | null;
  private exportedGroupSeries = new Set<string>();
  private exportedTopicSeries = new Set<string>();

  constructor(private readonly opts: LagCollectorOptions) {
    this.intervalMs = opts.intervalMs ?? 5000;
    this.windowSamples = Math.max(2, opts.windowSamples ?? 10);
    this.historySamples = Math.max(this.windowSamples, opts.historySamples ?? 360);
    this.maxGroups = opts.maxGroups ?? 500;
    this.maxPartitionSeries = opts.maxPartitionSeries ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.metrics = opts.registry ? createLagMetrics(opts.registry) : null;
  }

  /** Runs a round now and then every `intervalMs` until `stop()`. */
  start(): void {
    if (this.timer || this.stopped) return;
    const tick = () => {
      this.running = this.collect()
        .catch(() => {}) // recorded in lastError and the error counter by collect()
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

  /** The collector's own health: when it last completed a round and its last error. */
  health(): { lastRoundAt: number | null; lastError: { time: number; message: string } | null } {
    return { lastRoundAt: this.lastRoundAt, lastError: this.lastError };
  }

  /** One round: topics, groups, statuses, gauges. Rejects (and records the error) when the bus fails. */
  async collect(): Promise<void> {
    const endTimer = this.metrics?.duration.startTimer();
    try {
      const admin = this.opts.admin();
      const topics = await admin.listTopics({ includeInternal: false });
      const now = this.now();
      this.recordWatermarks(topics, now);
      const summaries = (await admin.listGroups()).sort((a, b) => a.groupId.localeCompare(b.groupId));
      const kept = summaries.slice(0, this.maxGroups);
      const descriptions: GroupDescription[] = [];
      for (const s of kept) {
        try {
          descriptions.push(await admin.describeGroup(s.groupId));
        } catch (err) {
          // A group that vanished between the list and the describe is simply gone.
          if ((err as { code?: string }).code !== 'GROUP_NOT_FOUND') throw err;
        }
      }
      this.recordGroups(descriptions, now);
      this.export(topics, summaries.length - kept.length);
      this.lastRoundAt = now;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.lastError = { time: this.now(), message };
      this.metrics?.errors.inc();
      this.opts.logger?.warn({ err }, 'consumer lag collection failed');
      throw err;
    } finally {
      endTimer?.();
    }
  }

  /** Every group's latest report, sorted by group id. */
  reports(): GroupLagReport[] {
    return [...this.groups.values()].map((g) => g.report).filter((r): r is GroupLagReport => r !== null).sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  report(groupId: string): GroupLagReport | undefined {
    return this.groups.get(groupId)?.report ?? undefined;
  }

  history(groupId: string): GroupLagHistory | undefined {
    const g = this.groups.get(groupId);
    if (!g) return undefined;
    const partitions: Record<string, Array<number | null>> = {};
    for (const [key, track] of g.partitions) {
      const byTime = new Map(track.samples.map((s) => [s.time, lagOf(s)]));
      partitions[display(key)] = g.times.map((t) => byTime.get(t) ?? null);
    }
    return { groupId, times: [...g.times], totalLag: [...g.totals], partitions };
  }

  private recordWatermarks(topics: TopicDescription[], now: number): void {
    const seen = new Set<string>();
    for (const t of topics) {
      for (const p of t.partitions) {
        const key = pkey(t.name, p.partition);
        seen.add(key);
        let h = this.watermarks.get(key);
        if (!h) this.watermarks.set(key, (h = []));
        h.push({ time: now, highWatermark: p.highWatermark });
        if (h.length > this.historySamples) h.splice(0, h.length - this.historySamples);
      }
    }
    for (const key of this.watermarks.keys()) if (!seen.has(key)) this.watermarks.delete(key);
  }

  private recordGroups(descriptions: GroupDescription[], now: number): void {
    const seen = new Set<string>();
    for (const d of descriptions) {
      seen.add(d.groupId);
      let g = this.groups.get(d.groupId);
      if (!g) this.groups.set(d.groupId, (g = { partitions: new Map(), report: null, times: [], totals: [] }));
      const present = new Set<string>();
      for (const o of d.offsets) {
        const key = pkey(o.topic, o.partition);
        present.add(key);
        const hw = this.watermarks.get(key);
        const highWatermark = hw?.[hw.length - 1]?.highWatermark ?? o.logEndOffset;
        let track = g.partitions.get(key);
        if (!track) g.partitions.set(key, (track = { samples: [] }));
        track.samples.push({ time: now, committedOffset: o.committedOffset, highWatermark });
        if (track.samples.length > this.historySamples) track.samples.splice(0, track.samples.length - this.historySamples);
      }
      for (const key of g.partitions.keys()) if (!present.has(key)) g.partitions.delete(key);

      const windows = new Map<string, LagSample[]>();
      for (const [key, track] of g.partitions) windows.set(display(key), track.samples.slice(-this.windowSamples));
      const ev = evaluateGroupLag(windows, { minSamples: this.windowSamples }); // a full window, as Burrow
      const partitions: PartitionLagReport[] = [];
      let totalLag = 0;
      let maxLagSeconds = 0;
      for (const [key, track] of g.partitions) {
        const last = track.samples[track.samples.length - 1]!;
        const pe = ev.partitions.get(display(key)) as PartitionLagEvaluation;
        const lag = lagOf(last);
        const tl = last.committedOffset === null ? null : estimateTimeLag(this.watermarks.get(key) ?? [], last.committedOffset, now);
        const [topic, partition] = key.split(SEP) as [string, string];
        partitions.push({
          topic,
          partition: Number(partition),
          committedOffset: last.committedOffset,
          highWatermark: last.highWatermark,
          lag,
          lagSeconds: tl ? round3(tl.seconds) : null,
          lagSecondsLowerBound: tl?.lowerBound ?? false,
          status: pe.status,
          reason: pe.reason,
        });
        totalLag += lag ?? 0;
        if (tl) maxLagSeconds = Math.max(maxLagSeconds, tl.seconds);
      }
      partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
      const previous = g.report?.status ?? null;
      g.report = {
        groupId: d.groupId,
        state: d.state,
        members: d.memberDetails.length,
        status: ev.status,
        reason: ev.reason,
        complete: ev.complete,
        totalLag,
        maxLagSeconds: round3(maxLagSeconds),
        partitions,
        updatedAt: now,
      };
      g.times.push(now);
      g.totals.push(totalLag);
      if (g.times.length > this.historySamples) {
        g.times.splice(0, g.times.length - this.historySamples);
        g.totals.splice(0, g.totals.length - this.historySamples);
      }
      if (previous !== ev.status && !(previous === null && ev.status === 'OK')) {
        this.opts.onStatusChange?.({ groupId: d.groupId, from: previous, to: ev.status, reason: ev.reason, time: now });
      }
    }
    for (const id of this.groups.keys()) if (!seen.has(id)) this.groups.delete(id);
  }

  private export(topics: TopicDescription[], groupsDropped: number): void {
    const m = this.metrics;
    if (!m) return;
    let dropped = groupsDropped;
    const topicSeries = new Set<string>();
    for (const t of topics) {
      for (const p of t.partitions) {
        if (topicSeries.size >= this.maxPartitionSeries) {
          dropped++;
          continue;
        }
        const labels = { topic: t.name, partition: String(p.partition) };
        topicSeries.add(JSON.stringify(labels));
        m.highWatermark.set(labels, p.highWatermark);
        m.logStartOffset.set(labels, p.logStartOffset);
        m.sizeBytes.set(labels, p.sizeBytes);
      }
    }
    for (const key of this.exportedTopicSeries) {
      if (topicSeries.has(key)) continue;
      const labels = JSON.parse(key) as Record<string, string>;
      m.highWatermark.remove(labels);
      m.logStartOffset.remove(labels);
      m.sizeBytes.remove(labels);
    }
    this.exportedTopicSeries = topicSeries;

    const groupSeries = new Set<string>();
    const statusSeries = new Set<string>();
    for (const r of this.reports()) {
      for (const status of ['OK', 'WARN', 'STALLED'] as const) {
        const labels = { group: r.groupId, status };
        statusSeries.add(JSON.stringify(labels));
        m.status.set(labels, r.status === status ? 1 : 0);
      }
      for (const p of r.partitions) {
        if (p.lag === null) continue;
        if (groupSeries.size >= this.maxPartitionSeries) {
          dropped++;
          continue;
        }
        const labels = { group: r.groupId, topic: p.topic, partition: String(p.partition) };
        groupSeries.add(JSON.stringify(labels));
        m.lagRecords.set(labels, p.lag);
        m.lagSeconds.set(labels, p.lagSeconds ?? 0);
      }
    }
    for (const key of this.exportedGroupSeries) {
      if (groupSeries.has(key) || statusSeries.has(key)) continue;
      const labels = JSON.parse(key) as Record<string, string>;
      if ('status' in labels) m.status.remove(labels);
      else {
        m.lagRecords.remove(labels);
        m.lagSeconds.remove(labels);
      }
    }
    this.exportedGroupSeries = new Set([...groupSeries, ...statusSeries]);
    m.dropped.set(dropped);
  }
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

function createLagMetrics(registry: Registry) {
  return {
    lagRecords: gauge(registry, {
      name: 'tributary_consumer_group_lag_records',
      help: 'Records between the committed offset of a consumer group and the high watermark, per partition.',
      labelNames: ['group', 'topic', 'partition'],
    }),
    lagSeconds: gauge(registry, {
      name: 'tributary_consumer_group_lag_seconds',
      help: 'Age of the oldest record a consumer group has not committed yet, per partition (estimated from the high-watermark history).',
      labelNames: ['group', 'topic', 'partition'],
    }),
    status: gauge(registry, {
      name: 'tributary_consumer_group_status',
      help: 'Lag status of a consumer group from its trend over a sliding window: 1 for the current status (OK, WARN or STALLED), 0 for the others.',
      labelNames: ['group', 'status'],
    }),
    highWatermark: gauge(registry, {
      name: 'tributary_topic_partition_high_watermark',
      help: 'High watermark of a topic partition (offsets below it are visible to consumers).',
      labelNames: ['topic', 'partition'],
    }),
    logStartOffset: gauge(registry, {
      name: 'tributary_topic_partition_log_start_offset',
      help: 'Oldest offset a topic partition still keeps.',
      labelNames: ['topic', 'partition'],
    }),
    sizeBytes: gauge(registry, {
      name: 'tributary_topic_partition_size_bytes',
      help: 'Bytes a topic partition occupies in the log.',
      labelNames: ['topic', 'partition'],
    }),
    dropped: gauge(registry, {
      name: 'tributary_monitor_series_dropped',
      help: 'Groups and partitions left out of the lag and partition metrics because the label limits were reached.',
    }),
    errors: counter(registry, {
      name: 'tributary_monitor_lag_collection_errors_total',
      help: 'Lag collection rounds that failed (the bus could not be asked).',
    }),
    duration: histogram(registry, {
      name: 'tributary_monitor_lag_collection_duration_seconds',
      help: 'Time one lag collection round took.',
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    }),
  };
}

/**
 * One task: one partition of one sub-topology (pure: no I/O; the runner or the test driver feeds
 * it records and the wall clock, and takes what it produced).
 *
 * A task decodes each consumed record with its source's serdes, takes its event time, advances
 * the watermark (closing windows), and pushes the record through the processors. Everything the
 * task writes — outputs, internal topics, side outputs, dead letters — is buffered; at commit
 * `drain()` hands over the buffer plus the changelog records of every store changed since the
 * last commit (latest value per key) and the task's watermark state, to be written in one
 * transaction with the input offsets.
 *
 * Bad input: a record whose key/value does not deserialize, whose event time is not a usable
 * number or lies too far in the future, or for which a user function throws goes to the
 * dead-letter topic with headers naming the error (`onError: 'dead-letter'`), or stops the task
 * (`onError: 'stop'`, the error is rethrown as APP_STOPPED). Effects of the failed record on
 * operators before the one that threw stay (as in Kafka Streams).
 */
import type { ProducerRecord } from '../../bus/types.ts';
import type { RecordHeader } from '../../log/types.ts';
import { StreamsError, errorMessage } from '../errors.ts';
import { AUTO_TYPE_HEADER, Serdes, encodeInternal, type Serde } from '../serdes.ts';
import { KeyValueStore, WindowedStore, type StateStore } from '../state/stores.ts';
import type { GraphNode, Processor, ProcessorContext, Rec, SendOptions, SubTopology, Topology } from '../topology.ts';
import { WatermarkTracker, type WatermarkState } from '../watermarks.ts';

export interface RawRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export type ErrorPolicy = 'dead-letter' | 'stop';

export interface TaskOptions {
  /** Wall clock (ms). */
  now: () => number;
  onError: ErrorPolicy;
  deadLetterTopic: string;
  watermarkTopic: string;
  /** Silence after which a partition stops holding the watermark back, and then the watermark follows the wall clock. */
  idleMs: number;
  /** Event times further than this ahead of the wall clock are rejected (dead letter). */
  maxFutureMs: number;
  /** Event times further than this behind the wall clock are rejected (dead letter); Infinity: no limit. */
  maxPastMs?: number;
  /** Restored watermark state of this task. */
  watermarks?: WatermarkState;
  /** Tasks per sub-topology: records of internal topics are tracked per writing task (see `channels`). */
  taskCounts?: Map<number, number>;
  hooks?: TaskHooks;
}

export interface TaskHooks {
  late?(task: StreamTask, node: string, topic: string): void;
  deadLetter?(task: StreamTask, err: StreamsError, raw: RawRecord): void;
}

const AUTO = Serdes.auto();
/** Header of internal-topic records naming the task that wrote them (its watermark channel). */
const WRITER_HEADER = 'tributary.writer';
/** Header of a watermark marker (no key, no value): `<1 idle | 0>:<watermark or empty>`. */
export const WATERMARK_HEADER = 'tributary.watermark';

/** Whether an internal-topic record is a watermark marker rather than data. */
export function isWatermarkMarker(headers: readonly RecordHeader[]): boolean {
  return headers.length > 0 && headers.some((h) => h.key === WATERMARK_HEADER);
}

export const DLQ_HEADERS = {
  code: 'tributary.error.code',
  message: 'tributary.error.message',
  operator: 'tributary.error.operator',
  topic: 'tributary.source.topic',
  partition: 'tributary.source.partition',
  offset: 'tributary.source.offset',
} as const;

export class StreamTask {
  readonly id: string;
  readonly stores = new Map<string, StateStore>();
  private readonly processors = new Map<number, Processor>();
  private readonly sources = new Map<string, { node: GraphNode; proc: Processor }>();
  private readonly withWatermark: Processor[] = [];
  private readonly out = new Map<string, ProducerRecord[]>();
  private buffered = 0;
  private readonly tracker: WatermarkTracker;
  private wm = -Infinity;
  private wmDirty = false;
  private current = '';
  private readonly writerId: Buffer;
  /** Records processed, dead-lettered and late since the task started. */
  readonly counts = { processed: 0, deadLettered: 0, late: 0 };
  /** Latest input offset + 1 per source partition (`topic:partition`). */
  readonly positions = new Map<string, { topic: string; partition: number; offset: number }>();
  private lastPos: { topic: string; partition: number; offset: number } | null = null;
  private readonly channelCache = new Map<string, Map<string, string>>();
  /** Internal topics this task writes and their partition counts: each gets watermark markers. */
  private readonly markerTopics: Array<{ topic: string; partitions: number }> = [];
  private sentMark: { wm: number; idle: boolean; at: number } = { wm: -Infinity, idle: false, at: -Infinity };

  constructor(
    readonly topology: Topology,
    readonly sub: SubTopology,
    readonly partition: number,
    private readonly opts: TaskOptions,
  ) {
    this.id = `${sub.id}_${partition}`;
    this.writerId = Buffer.from(this.id);
    for (const name of sub.stores) {
      const spec = topology.stores.get(name)!;
      this.stores.set(name, spec.kind === 'kv' ? new KeyValueStore(name, partition, spec.valueSerde) : new WindowedStore(name, partition, spec.valueSerde));
    }
    this.tracker = new WatermarkTracker(this.channels(opts.taskCounts), opts.idleMs, opts.now(), opts.watermarks);
    this.wm = this.tracker.watermark;
    const written = new Set(sub.nodes.flatMap((i) => topology.nodes[i]!.sinks ?? []).filter((t) => topology.internalTopics.has(t)));
    for (const topic of written) {
      const reader = topology.subtopologies.find((s) => s.sourceTopics.includes(topic));
      const partitions = reader ? opts.taskCounts?.get(reader.id) : undefined;
      if (partitions) this.markerTopics.push({ topic, partitions });
    }
    for (const id of sub.nodes) {
      const node = topology.nodes[id]!;
      const proc = node.create(this.contextFor(node));
      this.processors.set(id, proc);
      if (proc.onWatermark) this.withWatermark.push(proc);
      for (const t of node.sources?.keys() ?? []) this.sources.set(t, { node, proc });
    }
  }

  /**
   * Watermark channels: one per input partition, and for an internal topic one per task that
   * writes it (records carry the writer in a header). A repartition topic interleaves the
   * outputs of several upstream tasks that progress at their own pace; taking the smallest of
   * their watermarks (as Flink does per input channel) keeps a fast upstream task from making
   * a slow one's records late.
   */
  private channels(taskCounts: Map<number, number> | undefined): string[] {
    const out: string[] = [];
    for (const t of this.sub.sourceTopics) {
      const writer = this.topology.internalTopics.has(t) ? this.topology.subtopologies.find((s) => s.nodes.some((i) => this.topology.nodes[i]!.sinks?.includes(t))) : undefined;
      const n = writer ? taskCounts?.get(writer.id) : undefined;
      if (writer && n) for (let u = 0; u < n; u++) out.push(`${t}:${this.partition}/${writer.id}_${u}`);
      else out.push(`${t}:${this.partition}`);
    }
    return out;
  }

  /** Source partitions of this task. */
  inputs(): Array<{ topic: string; partition: number }> {
    return this.sub.sourceTopics.map((topic) => ({ topic, partition: this.partition }));
  }

  get hasState(): boolean {
    return this.stores.size > 0;
  }

  get watermark(): number {
    return this.wm;
  }

  /** Call after restoring the stores and before the first record. */
  init(): void {
    for (const p of this.processors.values()) p.init?.();
  }

  private contextFor(node: GraphNode): ProcessorContext {
    const task = this;
    const children: Array<{ id: number; name: string }> = node.children.map((c) => ({ id: c, name: this.topology.nodes[c]!.name }));
    const procs = () => children.map((c) => this.processors.get(c.id)!);
    let cached: Processor[] | null = null;
    return {
      appId: this.topology.appId,
      partition: this.partition,
      nodeName: node.name,
      watermark: () => task.wm,
      forward(rec: Rec) {
        cached ??= procs();
        for (let i = 0; i < cached.length; i++) {
          task.current = children[i]!.name;
          cached[i]!.process(rec, node.id);
        }
      },
      forwardTo(i: number, rec: Rec) {
        cached ??= procs();
        task.current = children[i]!.name;
        cached[i]!.process(rec, node.id);
      },
      store<S extends StateStore>(name: string): S {
        const s = task.stores.get(name);
        if (!s) throw new StreamsError('STORE_NOT_FOUND', `operator ${node.name} uses store ${name}, which its sub-topology does not hold`);
        return s as S;
      },
      send(topic: string, rec: Rec, o?: SendOptions) {
        task.send(topic, rec, o);
      },
      late(rec: Rec, topic: string) {
        task.counts.late++;
        task.opts.hooks?.late?.(task, node.name, topic);
        task.send(topic, rec, {});
      },
    };
  }

  private send(topic: string, rec: Rec, o: SendOptions = {}): void {
    let pr: ProducerRecord;
    if (o.internal) {
      const enc = encodeInternal(rec.key, rec.value);
      enc.headers.push({ key: WRITER_HEADER, value: this.writerId });
      pr = { key: enc.key, value: enc.value, headers: enc.headers, timestamp: rec.ts };
    } else {
      const ks = (o.keySerde ?? AUTO) as Serde<unknown>;
      const vs = (o.valueSerde ?? AUTO) as Serde<unknown>;
      pr = { key: ks.serialize(rec.key), value: vs.serialize(rec.value), timestamp: rec.ts, ...(rec.headers?.length ? { headers: rec.headers } : {}) };
    }
    if (o.partition !== undefined) pr.partition = o.partition;
    this.push(topic, pr);
  }

  private push(topic: string, pr: ProducerRecord): void {
    let list = this.out.get(topic);
    if (!list) {
      list = [];
      this.out.set(topic, list);
    }
    list.push(pr);
    this.buffered++;
  }

  /** Records buffered since the last drain. */
  get pending(): number {
    return this.buffered;
  }

  /** Processes one consumed record (it must belong to one of this task's partitions). */
  process(raw: RawRecord): void {
    const src = this.sources.get(raw.topic);
    if (!src) throw new StreamsError('TOPOLOGY_INVALID', `task ${this.id} got a record of ${raw.topic}, which it does not read`);
    // (The runner clears `positions` at commit; the last position object is reused until then.)
    let pos = this.lastPos;
    if (pos === null || pos.topic !== raw.topic || pos.partition !== raw.partition || this.positions.size === 0) {
      const k = `${raw.topic}:${raw.partition}`;
      pos = this.positions.get(k) ?? null;
      if (!pos) this.positions.set(k, (pos = { topic: raw.topic, partition: raw.partition, offset: 0 }));
      this.lastPos = pos;
    }
    pos.offset = raw.offset + 1;
    if (raw.headers.length) {
      const mark = raw.headers.find((h) => h.key === WATERMARK_HEADER)?.value;
      if (mark) return this.onMarker(raw, mark);
    }
    this.counts.processed++;
    const raws = src.node.sources!.get(raw.topic)!;
    let key: unknown;
    let value: unknown;
    this.current = src.node.name;
    try {
      ({ key, value } = raws.decode(raw.key, raw.value, raw.headers));
    } catch (err) {
      return this.fail(new StreamsError('DESERIALIZATION_FAILED', `${raw.topic}-${raw.partition}@${raw.offset}: ${errorMessage(err)}`, { cause: err }), raw);
    }
    let ts: number;
    try {
      ts = raws.timestamp(key, value, raw.timestamp);
    } catch (err) {
      return this.fail(new StreamsError('USER_FUNCTION_FAILED', `timestamp extractor of ${src.node.name} threw: ${errorMessage(err)}`, { cause: err }), raw);
    }
    const now = this.opts.now();
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) {
      return this.fail(new StreamsError('TIMESTAMP_INVALID', `${raw.topic}-${raw.partition}@${raw.offset}: event time ${String(ts)} is not a time (ms since the epoch ≥ 0)`), raw);
    }
    if (ts > now + this.opts.maxFutureMs) {
      return this.fail(
        new StreamsError('TIMESTAMP_INVALID', `${raw.topic}-${raw.partition}@${raw.offset}: event time ${new Date(ts).toISOString()} is more than ${this.opts.maxFutureMs} ms ahead of the clock; it would close every open window`),
        raw,
      );
    }
    if (this.opts.maxPastMs !== undefined && ts < now - this.opts.maxPastMs) {
      return this.fail(
        new StreamsError('TIMESTAMP_INVALID', `${raw.topic}-${raw.partition}@${raw.offset}: event time ${new Date(ts).toISOString()} is more than ${this.opts.maxPastMs} ms behind the clock (maxPastMs); raise maxPastMs to accept older records`),
        raw,
      );
    }
    try {
      const writer = raw.headers.length ? raw.headers.find((h) => h.key === WRITER_HEADER)?.value : undefined;
      const wm = this.tracker.observe(this.channelOf(raw.topic, raw.partition, writer), ts, now);
      this.wmDirty = true;
      if (wm > this.wm) this.advanceTo(wm);
      this.current = src.node.name;
      const headers = raw.headers.length ? raw.headers.filter((h) => h.key !== AUTO_TYPE_HEADER && h.key !== WRITER_HEADER) : raw.headers;
      src.proc.process({ key, value, ts, ...(headers.length ? { headers } : {}) }, -1);
    } catch (err) {
      if (err instanceof StreamsError && (err.code === 'STORE_NOT_FOUND' || err.code === 'TOPOLOGY_INVALID')) throw err;
      const e = err instanceof StreamsError ? err : new StreamsError('USER_FUNCTION_FAILED', `operator ${this.current} threw on ${raw.topic}-${raw.partition}@${raw.offset}: ${errorMessage(err)}`, { cause: err });
      return this.fail(e, raw);
    }
  }

  private onMarker(raw: RawRecord, mark: Buffer): void {
    const text = mark.toString();
    const sep = text.indexOf(':');
    const wmText = text.slice(sep + 1);
    const writer = raw.headers.find((h) => h.key === WRITER_HEADER)?.value;
    if (!writer || sep < 0) return;
    const wm = this.tracker.mark(this.channelOf(raw.topic, raw.partition, writer), wmText === '' ? null : Number(wmText), text.slice(0, sep) === '1', this.opts.now());
    this.wmDirty = true;
    if (wm > this.wm) {
      try {
        this.advanceTo(wm);
      } catch (err) {
        throw new StreamsError('APP_STOPPED', `task ${this.id}: operator ${this.current} threw while closing windows: ${errorMessage(err)}`, { cause: err });
      }
    }
  }

  /** Whether the next drain sends watermark markers downstream (the watermark or idleness changed). */
  get markerDue(): boolean {
    if (this.markerTopics.length === 0) return false;
    if (this.tracker.idle !== this.sentMark.idle) return true;
    // Repeated now and then, so a downstream task that restarted (its idle flags are not kept) hears it again.
    if (this.opts.now() - this.sentMark.at >= this.opts.idleMs) return true;
    if (!(this.wm > this.sentMark.wm)) return false;
    // An idle task's watermark follows the wall clock: pass it on in steps, not at every commit.
    return !this.sentMark.idle || this.sentMark.wm === -Infinity || this.wm - this.sentMark.wm >= Math.max(1, this.opts.idleMs / 5);
  }

  /** Watermark channel of a record (cached: the same few strings for every record). */
  private channelOf(topic: string, partition: number, writer: Buffer | null | undefined): string {
    let byWriter = this.channelCache.get(topic);
    if (!byWriter) this.channelCache.set(topic, (byWriter = new Map()));
    const w = writer ? writer.toString('latin1') : '';
    const k = `${partition}/${w}`;
    let ch = byWriter.get(k);
    if (ch === undefined) byWriter.set(k, (ch = writer ? `${topic}:${partition}/${writer.toString()}` : `${topic}:${partition}`));
    return ch;
  }

  private advanceTo(wm: number): void {
    this.wm = wm;
    for (const p of this.withWatermark) p.onWatermark!(wm);
  }

  /**
   * Lets wall-clock time pass: idle channels release the watermark, windows may close.
   * `starving`: the task's last poll brought it no records (see watermarks.ts).
   */
  punctuate(starving = true): void {
    const wm = this.tracker.advance(this.opts.now(), starving);
    if (wm > this.wm) {
      // (Not persisted: an idle advance is re-derived from the wall clock after a restart.)
      try {
        this.advanceTo(wm);
      } catch (err) {
        throw new StreamsError('APP_STOPPED', `task ${this.id}: operator ${this.current} threw while closing windows: ${errorMessage(err)}`, { cause: err });
      }
    }
  }

  private fail(err: StreamsError, raw: RawRecord): void {
    if (this.opts.onError === 'stop') {
      throw new StreamsError('APP_STOPPED', `task ${this.id} stopped (onError: 'stop'): ${err.message}`, { cause: err });
    }
    this.counts.deadLettered++;
    this.opts.hooks?.deadLetter?.(this, err, raw);
    const h = (k: string, v: string): RecordHeader => ({ key: k, value: Buffer.from(v) });
    this.push(this.opts.deadLetterTopic, {
      key: raw.key,
      value: raw.value,
      timestamp: raw.timestamp,
      headers: [
        ...raw.headers,
        h(DLQ_HEADERS.code, err.code),
        h(DLQ_HEADERS.message, err.message.slice(0, 2000)),
        h(DLQ_HEADERS.operator, this.current),
        h(DLQ_HEADERS.topic, raw.topic),
        h(DLQ_HEADERS.partition, String(raw.partition)),
        h(DLQ_HEADERS.offset, String(raw.offset)),
      ],
    });
  }

  /** Watermark-state key of this task in the app's watermark topic (stable across topology changes of other parts). */
  get watermarkKey(): string {
    return `${this.sub.sourceTopics.join(',')}#${this.partition}`;
  }

  /**
   * Everything to write at commit: buffered records plus changelog records and the watermark
   * state. Returns them by topic and clears the buffers.
   */
  drain(): Map<string, ProducerRecord[]> {
    for (const [name, store] of this.stores) {
      const entries = store.drainDirty();
      if (entries.length === 0) continue;
      const topic = this.topology.stores.get(name)!.changelogTopic;
      for (const e of entries) this.push(topic, { key: e.key, value: e.value, partition: this.partition });
    }
    if (this.markerDue) {
      const idle = this.tracker.idle;
      const wm = this.wm;
      this.sentMark = { wm, idle, at: this.opts.now() };
      const value = Buffer.from(`${idle ? 1 : 0}:${Number.isFinite(wm) ? wm : ''}`);
      const ts = Number.isFinite(wm) && wm >= 0 ? wm : 0;
      for (const { topic, partitions } of this.markerTopics) {
        for (let p = 0; p < partitions; p++) {
          this.push(topic, { key: null, value: null, partition: p, timestamp: ts, headers: [{ key: WRITER_HEADER, value: this.writerId }, { key: WATERMARK_HEADER, value }] });
        }
      }
    }
    if (this.wmDirty && this.hasState) {
      this.wmDirty = false;
      this.push(this.opts.watermarkTopic, { key: Buffer.from(this.watermarkKey), value: Buffer.from(JSON.stringify(this.tracker.state())), partition: 0 });
    }
    const out = new Map(this.out);
    this.out.clear();
    this.buffered = 0;
    return out;
  }

  /** Changelog topic → store, for restoration. */
  changelogs(): Array<{ topic: string; store: StateStore }> {
    return [...this.stores.values()].map((store) => ({ topic: this.topology.stores.get(store.name)!.changelogTopic, store }));
  }
}

/**
 * A topology test driver: runs a topology's tasks in this process without a bus. Pipe records
 * into input topics, read what the topology wrote, advance the wall clock. Records are
 * partitioned as producers would (murmur2 of the key bytes); internal topics are delivered to
 * their readers at once; every piped record is committed by itself (its changelog records are
 * visible through `changelog()`).
 *
 * @example
 * ```ts
 * const driver = new TopologyTestDriver(builder.build(), { wallClock: 0 });
 * driver.pipe('clicks', 'u1', { page: '/a' }, 1_000);
 * driver.read('page-counts'); // [{ key: …, value: …, ts: … }]
 * ```
 */
import { partitionForKey } from '../bus/partitioner.ts';
import type { ProducerRecord } from '../bus/types.ts';
import type { RecordHeader } from '../log/types.ts';
import { StreamsError } from './errors.ts';
import { Serdes, decodeInternal, type Serde } from './serdes.ts';
import { resolvePartitions, type Topology } from './topology.ts';
import { StreamTask, isWatermarkMarker, type ErrorPolicy, type RawRecord } from './runtime/task.ts';
import type { StateStore } from './state/stores.ts';

export interface TestDriverOptions {
  /** Partitions per topic (default 1 for every topic). */
  partitions?: Record<string, number>;
  /** Initial wall-clock time (default 0). */
  wallClock?: number;
  idleMs?: number;
  maxFutureMs?: number;
  /** Default: no limit. */
  maxPastMs?: number;
  onError?: ErrorPolicy;
}

export interface OutputRecord<K = unknown, V = unknown> {
  key: K;
  value: V;
  ts: number;
  partition: number;
  headers: RecordHeader[];
}

export class TopologyTestDriver {
  private wall: number;
  private readonly tasks = new Map<string, StreamTask>();
  private readonly readers = new Map<string, number>();
  private readonly counts: Map<string, number>;
  private readonly outputs = new Map<string, RawRecord[]>();
  private readonly offsets = new Map<string, number>();
  private readonly queue: RawRecord[] = [];
  readonly deadLetterTopic: string;

  constructor(
    readonly topology: Topology,
    private readonly opts: TestDriverOptions = {},
  ) {
    this.wall = opts.wallClock ?? 0;
    this.deadLetterTopic = `${topology.appId}-dlq`;
    const known = new Map<string, number>();
    for (const s of topology.subtopologies) for (const t of s.sourceTopics) if (!topology.internalTopics.has(t)) known.set(t, opts.partitions?.[t] ?? 1);
    const { topics, tasks } = resolvePartitions(topology, known);
    this.counts = topics;
    for (const s of topology.subtopologies) {
      for (const t of s.sourceTopics) this.readers.set(t, s.id);
      for (let p = 0; p < tasks.get(s.id)!; p++) {
        const task = new StreamTask(topology, s, p, {
          now: () => this.wall,
          onError: opts.onError ?? 'dead-letter',
          deadLetterTopic: this.deadLetterTopic,
          watermarkTopic: `${topology.appId}-watermarks`,
          idleMs: opts.idleMs ?? 30_000,
          maxFutureMs: opts.maxFutureMs ?? 24 * 3600_000,
          maxPastMs: opts.maxPastMs ?? Infinity,
          taskCounts: tasks,
        });
        task.init();
        this.tasks.set(`${s.id}_${p}`, task);
      }
    }
  }

  private partitionsOf(topic: string): number {
    return this.counts.get(topic) ?? this.opts.partitions?.[topic] ?? 1;
  }

  /** Pipes one record: key and value are serialized with the given serdes (default: auto — strings as UTF-8, objects as JSON). */
  pipe<K, V>(topic: string, key: K, value: V, ts: number, serdes: { key?: Serde<K>; value?: Serde<V>; headers?: RecordHeader[] } = {}): void {
    const kb = (serdes.key ?? (Serdes.auto() as Serde<K>)).serialize(key);
    const vb = (serdes.value ?? (Serdes.auto() as Serde<V>)).serialize(value);
    this.pipeRaw(topic, kb, vb, ts, serdes.headers ?? []);
  }

  pipeRaw(topic: string, key: Buffer | null, value: Buffer | null, ts: number, headers: RecordHeader[] = [], partition?: number): void {
    this.enqueue(topic, { key, value, timestamp: ts, headers, ...(partition !== undefined ? { partition } : {}) });
    this.run();
  }

  /** Moves the wall clock forward; idle watermarks advance and windows may close. */
  advanceWallClock(ms: number): void {
    this.wall += ms;
    for (const t of this.tasks.values()) {
      t.punctuate();
      this.collect(t);
    }
    this.run();
  }

  get wallClock(): number {
    return this.wall;
  }

  private enqueue(topic: string, r: ProducerRecord): void {
    const n = this.partitionsOf(topic);
    const p = r.partition ?? (r.key ? partitionForKey(r.key, n) : 0);
    const tp = `${topic}:${p}`;
    const offset = this.offsets.get(tp) ?? 0;
    this.offsets.set(tp, offset + 1);
    const raw: RawRecord = { topic, partition: p, offset, timestamp: r.timestamp ?? this.wall, key: r.key ?? null, value: r.value, headers: r.headers ?? [] };
    if (this.readers.has(topic)) this.queue.push(raw);
    let list = this.outputs.get(topic);
    if (!list) this.outputs.set(topic, (list = []));
    list.push(raw);
  }

  private run(): void {
    for (let raw = this.queue.shift(); raw; raw = this.queue.shift()) {
      const sub = this.readers.get(raw.topic)!;
      const task = this.tasks.get(`${sub}_${raw.partition}`);
      if (!task) throw new StreamsError('TOPOLOGY_INVALID', `no task reads ${raw.topic}-${raw.partition}`);
      task.process(raw);
      this.collect(task);
    }
  }

  private collect(task: StreamTask): void {
    for (const [topic, records] of task.drain()) for (const r of records) this.enqueue(topic, r);
  }

  /** Raw records written to a topic so far (inputs included). */
  readRaw(topic: string): RawRecord[] {
    return this.outputs.get(topic) ?? [];
  }

  /**
   * Records written to a topic, decoded: internal topics as written; others with the given serdes
   * (default: key as string, value as JSON). Watermark markers on internal topics are left out.
   */
  read<K = unknown, V = unknown>(topic: string, serdes: { key?: Serde<K>; value?: Serde<V> } = {}): Array<OutputRecord<K, V>> {
    const internal = this.topology.internalTopics.has(topic);
    const ks = (serdes.key ?? Serdes.string()) as Serde<unknown>;
    const vs = (serdes.value ?? Serdes.json()) as Serde<unknown>;
    return this.readRaw(topic).filter((r) => !internal || !isWatermarkMarker(r.headers)).map((r) => {
      const d = internal ? decodeInternal(r.key, r.value, r.headers) : { key: ks.deserialize(r.key), value: vs.deserialize(r.value) };
      return { key: d.key as K, value: d.value as V, ts: r.timestamp, partition: r.partition, headers: r.headers };
    });
  }

  /** The store of a task (partition 0 by default). */
  store<S extends StateStore = StateStore>(name: string, partition = 0): S {
    for (const t of this.tasks.values()) {
      if (t.partition === partition && t.stores.has(name)) return t.stores.get(name) as S;
    }
    throw new StreamsError('STORE_NOT_FOUND', `no store ${name} for partition ${partition}`);
  }

  /** Changelog records written for a store. */
  changelog(store: string): RawRecord[] {
    const spec = this.topology.stores.get(store);
    if (!spec) throw new StreamsError('STORE_NOT_FOUND', `no store ${store}`);
    return this.readRaw(spec.changelogTopic);
  }

  taskList(): StreamTask[] {
    return [...this.tasks.values()];
  }
}

/**
 * The processor graph a DSL program builds, and its compilation into sub-topologies.
 *
 * A node is one operator: it has parents and children, names the stores it uses and the
 * topics it reads or writes, and creates its processor for each task. Sub-topologies are the
 * connected parts of the graph once it is cut at internal topics (repartition, foreign-key
 * subscription/response), with nodes sharing a store kept together; each sub-topology runs as
 * one task per partition of its source topics.
 */
import type { RecordHeader } from '../log/types.ts';
import { StreamsError } from './errors.ts';
import type { Serde } from './serdes.ts';
import type { StateStore, StoreKind } from './state/stores.ts';

/** A record flowing between processors (values of table streams are `Change`s). */
export interface Rec {
  key: unknown;
  value: unknown;
  ts: number;
  headers?: RecordHeader[];
}

/** What a table operator forwards: the new and the previous value of a key (null = absent). */
export interface Change<V = unknown> {
  newValue: V | null;
  oldValue: V | null;
}

export interface SendOptions {
  /** Internal topics use the self-describing encoding (see serdes.ts). */
  internal?: boolean;
  keySerde?: Serde<unknown>;
  valueSerde?: Serde<unknown>;
  partition?: number;
}

/** What a processor can do; one context per (task, node). */
export interface ProcessorContext {
  readonly appId: string;
  readonly partition: number;
  readonly nodeName: string;
  /** The task's watermark (largest event time minus disorder, see watermarks.ts). */
  watermark(): number;
  forward(rec: Rec): void;
  /** Forwards to one child only (branch). */
  forwardTo(childIndex: number, rec: Rec): void;
  store<S extends StateStore>(name: string): S;
  send(topic: string, rec: Rec, opts?: SendOptions): void;
  /** A record that arrived after its window closed: counted, and written to the side output. */
  late(rec: Rec, topic: string): void;
}

export interface Processor {
  process(rec: Rec, fromNode: number): void;
  /** Called when the task's watermark advanced (windows close here). */
  onWatermark?(watermark: number): void;
  /** Called after the task's stores were restored (rebuild indexes such as close-time heaps). */
  init?(): void;
}

export type NodeKind =
  | 'source'
  | 'internal-source'
  | 'sink'
  | 'internal-sink'
  | 'filter'
  | 'map'
  | 'map-values'
  | 'flat-map'
  | 'select-key'
  | 'peek'
  | 'branch'
  | 'merge'
  | 'aggregate'
  | 'windowed-aggregate'
  | 'session-aggregate'
  | 'sliding-aggregate'
  | 'to-table'
  | 'table-source'
  | 'table-filter'
  | 'table-map-values'
  | 'to-stream'
  | 'stream-stream-join'
  | 'stream-table-join'
  | 'table-table-join'
  | 'fk-join';

export interface RawSource {
  /** Decodes a consumed record; throws on bad bytes (the task sends it to the dead-letter topic). */
  decode(key: Buffer | null, value: Buffer | null, headers: RecordHeader[]): { key: unknown; value: unknown };
  /** Event time of a decoded record (default: the record's timestamp). */
  timestamp(key: unknown, value: unknown, recordTimestamp: number): number;
}

export interface GraphNode {
  id: number;
  name: string;
  kind: NodeKind;
  parents: number[];
  children: number[];
  stores: string[];
  /** Topics read (sources) with their decoders. */
  sources?: Map<string, RawSource>;
  /** Topics written (sinks, side outputs), for describe(). */
  sinks?: string[];
  detail?: string;
  create(ctx: ProcessorContext): Processor;
}

export interface StoreSpec {
  name: string;
  kind: StoreKind;
  valueSerde: Serde<unknown>;
  changelogTopic: string;
  /** What it holds, for describe(). */
  detail: string;
}

export type InternalTopicRole = 'repartition' | 'fk-subscription' | 'fk-response';

export interface InternalTopicSpec {
  name: string;
  role: InternalTopicRole;
  /** Explicit partition count; otherwise inferred (see `resolvePartitions`). */
  partitions?: number;
}

export interface SubTopology {
  id: number;
  nodes: number[];
  /** User and internal topics read, sorted. */
  sourceTopics: string[];
  stores: string[];
}

export interface Topology {
  appId: string;
  nodes: GraphNode[];
  stores: Map<string, StoreSpec>;
  internalTopics: Map<string, InternalTopicSpec>;
  subtopologies: SubTopology[];
  /** Side-output topics (late records) named by operators. */
  sideOutputs: string[];
}

export interface TopologyDescription {
  appId: string;
  subtopologies: Array<{
    id: number;
    sourceTopics: string[];
    sinkTopics: string[];
    stores: string[];
    nodes: Array<{ name: string; kind: NodeKind; children: string[]; stores: string[]; topics: string[]; detail?: string }>;
  }>;
  stores: Array<{ name: string; kind: StoreKind; changelogTopic: string; detail: string }>;
  internalTopics: Array<{ name: string; role: InternalTopicRole | 'changelog' }>;
}

/** Groups nodes into sub-topologies and checks the graph. */
export function compileTopology(appId: string, nodes: GraphNode[], stores: Map<string, StoreSpec>, internalTopics: Map<string, InternalTopicSpec>, sideOutputs: string[]): Topology {
  if (nodes.length === 0) throw new StreamsError('TOPOLOGY_INVALID', `app ${appId}: the topology is empty: read a topic with builder.stream(…) or builder.table(…)`);
  const parent = nodes.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i]!)));
  const union = (a: number, b: number) => {
    const ra = find(a);
    const rb = find(b);
    if (ra !== rb) parent[ra] = rb;
  };
  const storeOwner = new Map<string, number>();
  for (const n of nodes) {
    for (const c of n.children) union(n.id, c);
    for (const s of n.stores) {
      const o = storeOwner.get(s);
      if (o === undefined) storeOwner.set(s, n.id);
      else union(o, n.id);
    }
  }
  const topicReaders = new Map<string, string>();
  for (const n of nodes) {
    for (const t of n.sources?.keys() ?? []) {
      const had = topicReaders.get(t);
      if (had) throw new StreamsError('TOPOLOGY_INVALID', `app ${appId}: topic ${t} is read twice (by ${had} and ${n.name}); read it once and reuse the stream`);
      topicReaders.set(t, n.name);
    }
  }
  const groups = new Map<number, number[]>();
  for (const n of nodes) {
    const r = find(n.id);
    groups.set(r, [...(groups.get(r) ?? []), n.id]);
  }
  const subtopologies: SubTopology[] = [];
  for (const ids of [...groups.values()].sort((a, b) => a[0]! - b[0]!)) {
    const sourceTopics = ids.flatMap((i) => [...(nodes[i]!.sources?.keys() ?? [])]).sort();
    const storesOf = [...new Set(ids.flatMap((i) => nodes[i]!.stores))].sort();
    if (sourceTopics.length === 0) {
      throw new StreamsError('TOPOLOGY_INVALID', `app ${appId}: operators ${ids.map((i) => nodes[i]!.name).join(', ')} read no topic`);
    }
    subtopologies.push({ id: subtopologies.length, nodes: ids, sourceTopics, stores: storesOf });
  }
  return { appId, nodes, stores, internalTopics, subtopologies, sideOutputs };
}

export function describeTopology(t: Topology): TopologyDescription {
  const nameOf = (id: number) => t.nodes[id]!.name;
  return {
    appId: t.appId,
    subtopologies: t.subtopologies.map((s) => ({
      id: s.id,
      sourceTopics: s.sourceTopics,
      sinkTopics: [...new Set(s.nodes.flatMap((i) => t.nodes[i]!.sinks ?? []))].sort(),
      stores: s.stores,
      nodes: s.nodes.map((i) => {
        const n = t.nodes[i]!;
        return {
          name: n.name,
          kind: n.kind,
          children: n.children.map(nameOf),
          stores: n.stores,
          topics: [...(n.sources?.keys() ?? []), ...(n.sinks ?? [])],
          ...(n.detail ? { detail: n.detail } : {}),
        };
      }),
    })),
    stores: [...t.stores.values()].map((s) => ({ name: s.name, kind: s.kind, changelogTopic: s.changelogTopic, detail: s.detail })),
    internalTopics: [
      ...[...t.internalTopics.values()].map((i) => ({ name: i.name, role: i.role })),
      ...[...t.stores.values()].map((s) => ({ name: s.changelogTopic, role: 'changelog' as const })),
    ],
  };
}

/**
 * Partition counts of every source topic and internal topic. An internal topic without an
 * explicit count takes the largest count among the other topics its reading sub-topology
 * reads (so it is co-partitioned with them), else the largest among the topics of the
 * sub-topology writing it. Sub-topologies whose sources disagree are an error.
 */
export function resolvePartitions(t: Topology, known: Map<string, number>): { topics: Map<string, number>; tasks: Map<number, number> } {
  const counts = new Map(known);
  for (const spec of t.internalTopics.values()) if (spec.partitions) counts.set(spec.name, spec.partitions);
  const writers = new Map<string, number>();
  for (const s of t.subtopologies) for (const i of s.nodes) for (const topic of t.nodes[i]!.sinks ?? []) if (t.internalTopics.has(topic)) writers.set(topic, s.id);
  for (let round = 0; round < t.subtopologies.length * 2 + 2; round++) {
    let changed = false;
    for (const spec of t.internalTopics.values()) {
      if (counts.has(spec.name)) continue;
      const reader = t.subtopologies.find((s) => s.sourceTopics.includes(spec.name));
      const others = (reader?.sourceTopics ?? []).filter((x) => x !== spec.name && counts.has(x)).map((x) => counts.get(x)!);
      let n = others.length ? Math.max(...others) : undefined;
      if (n === undefined) {
        const w = writers.get(spec.name);
        const up = w === undefined ? [] : t.subtopologies[w]!.sourceTopics.filter((x) => counts.has(x)).map((x) => counts.get(x)!);
        if (up.length) n = Math.max(...up);
      }
      if (n !== undefined) {
        counts.set(spec.name, n);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const tasks = new Map<number, number>();
  for (const s of t.subtopologies) {
    const ns = s.sourceTopics.map((x) => {
      const n = counts.get(x);
      if (n === undefined) throw new StreamsError('SOURCE_TOPIC_MISSING', `app ${t.appId}: cannot tell the partition count of ${x}`);
      return n;
    });
    const distinct = [...new Set(ns)];
    if (distinct.length > 1) {
      throw new StreamsError(
        'COPARTITION_MISMATCH',
        `app ${t.appId}: ${s.sourceTopics.map((x, i) => `${x} (${ns[i]})`).join(', ')} are read by one task and must have the same number of partitions: repartition one side or recreate the topic`,
      );
    }
    tasks.set(s.id, distinct[0]!);
  }
  return { topics: counts, tasks };
}

/**
 * The typed DSL: `StreamsBuilder` → `KStream` / `KTable` / grouped and windowed streams.
 *
 * Every operator adds one node to the graph (topology.ts). Stateful operators (aggregations,
 * tables, joins) and operators that create internal topics must be given a `name`: stores
 * (`<name>`), changelogs (`<app>-<name>-changelog`) and internal topics
 * (`<app>-<name>-repartition`, …) are named from it, so changing other parts of a topology
 * never orphans state. A key-changing operator (map, flatMap, selectKey) followed by a
 * key-based one (grouping, joins, toTable) repartitions through an internal topic first.
 *
 * @example
 * ```ts
 * const b = new StreamsBuilder('clicks-app');
 * b.stream<string, Click>('clicks')
 *   .groupBy((k, v) => v.page, { name: 'by-page' })
 *   .windowedBy(TimeWindows.tumbling(60_000).grace(5_000))
 *   .count({ name: 'page-counts', emit: 'final' })
 *   .toStream()
 *   .to('page-counts-per-minute');
 * ```
 */
import { StreamsError } from '../errors.ts';
import { Serdes, decodeInternal, type Serde } from '../serdes.ts';
import {
  compileTopology,
  type GraphNode,
  type InternalTopicRole,
  type InternalTopicSpec,
  type NodeKind,
  type RawSource,
  type StoreSpec,
  type Topology,
} from '../topology.ts';
import type { StoreKind } from '../state/stores.ts';
import * as P from '../processors/stateless.ts';
import { sessionAggProc, slidingWindowAggProc, timeWindowAggProc } from '../processors/windowed.ts';
import { fkLeftProc, fkResponseProc, fkRightProc, streamStreamJoinProc, streamTableJoinProc, tableTableJoinProc, type JoinKind } from '../processors/joins.ts';
import { JoinWindows, SessionWindows, SlidingWindows, TimeWindows, type EmitMode, type Windowed } from '../windows.ts';

export interface Named {
  /** Operator name (shown by `streams describe`); generated when omitted. */
  name?: string;
}

export interface StatefulNamed {
  /** Names the operator's store, changelog and internal topics. Required: renaming it orphans state. */
  name: string;
}

export interface SourceOptions<K, V> extends Named {
  /** Key serde (default: string). */
  key?: Serde<K>;
  /** Value serde (default: JSON). */
  value?: Serde<V>;
  /** Event time of a record (default: the record's timestamp). */
  timestamp?: (value: V, key: K, recordTimestamp: number) => number;
}

export interface TableOptions<K, V> extends Omit<SourceOptions<K, V>, 'name'>, StatefulNamed {}

export interface SinkOptions<K, V> extends Named {
  /** Default: `auto` (strings as UTF-8, Buffers raw, others JSON). */
  key?: Serde<K>;
  value?: Serde<V>;
}

export interface StoreOptions<A> extends StatefulNamed {
  /** Serde of the stored values in the changelog (default JSON). */
  valueSerde?: Serde<A>;
}

export interface WindowedAggOptions<A> extends StoreOptions<A> {
  /** `update` (default): every change is emitted; `final`: one result per window when it closes. */
  emit?: EmitMode;
  /** Side output for late records (default `<app>-<name>-late`). */
  lateTopic?: string;
}

export interface JoinOptions extends StatefulNamed {
  /** Side output for late records of windowed joins (default `<app>-<name>-late`). */
  lateTopic?: string;
}

export interface MaterializeOptions extends Named {
  /** Keep the result in a queryable store named `name` (needed to join a derived table). */
  materialized?: boolean;
}

type AnyFn = (...args: never[]) => unknown;

const NAME_PATTERN = /^[a-zA-Z0-9._-]{1,100}$/;

export class StreamsBuilder {
  /** @internal */ readonly nodes: GraphNode[] = [];
  /** @internal */ readonly stores = new Map<string, StoreSpec>();
  /** @internal */ readonly internalTopics = new Map<string, InternalTopicSpec>();
  /** @internal */ readonly sideOutputs = new Set<string>();
  private readonly names = new Set<string>();

  constructor(readonly appId: string) {
    if (!NAME_PATTERN.test(appId)) throw new StreamsError('TOPOLOGY_INVALID', `app id ${JSON.stringify(appId)}: use 1–100 of the characters a-z A-Z 0-9 . _ -`);
  }

  /** @internal */
  checkName(op: string, name: unknown, required: boolean): string | undefined {
    if (name === undefined || name === null || name === '') {
      if (required) {
        throw new StreamsError(
          'TOPOLOGY_INVALID',
          `app ${this.appId}: ${op} is stateful (or creates an internal topic) and needs a name: pass { name: '…' } — its store, changelog and internal topics are named after it, so a later change of the topology keeps its state`,
        );
      }
      return undefined;
    }
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new StreamsError('TOPOLOGY_INVALID', `app ${this.appId}: ${op}: name ${JSON.stringify(name)} must be 1–100 of the characters a-z A-Z 0-9 . _ -`);
    }
    if (this.names.has(name)) throw new StreamsError('TOPOLOGY_INVALID', `app ${this.appId}: the name ${JSON.stringify(name)} is used twice (${op}); operator names must be unique`);
    this.names.add(name);
    return name;
  }

  /** @internal */
  add(spec: { kind: NodeKind; name?: string | undefined; parents: number[]; stores?: string[]; sources?: Map<string, RawSource>; sinks?: string[]; detail?: string; create: GraphNode['create'] }): number {
    const id = this.nodes.length;
    let name = spec.name;
    if (!name) {
      name = `${spec.kind}-${id}`;
      while (this.names.has(name)) name += '_';
      this.names.add(name);
    }
    const node: GraphNode = {
      id,
      name,
      kind: spec.kind,
      parents: spec.parents,
      children: [],
      stores: spec.stores ?? [],
      ...(spec.sources ? { sources: spec.sources } : {}),
      ...(spec.sinks ? { sinks: spec.sinks } : {}),
      ...(spec.detail ? { detail: spec.detail } : {}),
      create: spec.create,
    };
    this.nodes.push(node);
    for (const p of spec.parents) this.nodes[p]!.children.push(id);
    return id;
  }

  /** @internal */
  addStore(name: string, kind: StoreKind, detail: string, valueSerde?: Serde<unknown>): void {
    if (this.stores.has(name)) throw new StreamsError('TOPOLOGY_INVALID', `app ${this.appId}: store ${name} is defined twice`);
    this.stores.set(name, { name, kind, detail, valueSerde: valueSerde ?? Serdes.json(), changelogTopic: `${this.appId}-${name}-changelog` });
  }

  /** @internal */
  internalTopic(name: string, role: InternalTopicRole, partitions?: number): string {
    const suffix = role === 'repartition' ? 'repartition' : role;
    const topic = `${this.appId}-${name}-${suffix}`;
    this.internalTopics.set(topic, { name: topic, role, ...(partitions ? { partitions } : {}) });
    return topic;
  }

  /** @internal A source node reading an internal topic. */
  internalSource(topic: string, name: string): number {
    const raw: RawSource = { decode: decodeInternal, timestamp: (_k, _v, ts) => ts };
    return this.add({ kind: 'internal-source', name, parents: [], sources: new Map([[topic, raw]]), create: P.passProc });
  }

  /** A stream of the records of one or more topics. */
  stream<K = string, V = unknown>(topics: string | string[], opts: SourceOptions<K, V> = {}): KStream<K, V> {
    const list = Array.isArray(topics) ? topics : [topics];
    if (list.length === 0) throw new StreamsError('TOPOLOGY_INVALID', `app ${this.appId}: stream() needs at least one topic`);
    const name = this.checkName('stream()', opts.name, false);
    const raw = sourceDecoder(opts);
    const id = this.add({ kind: 'source', name, parents: [], sources: new Map(list.map((t) => [t, raw])), detail: `key ${raw.keyName}, value ${raw.valueName}`, create: P.passProc });
    return new KStream<K, V>(this, id, false);
  }

  /** A table whose rows are the latest value per key of a topic (null values delete), kept in store `name`. */
  table<K = string, V = unknown>(topic: string, opts: TableOptions<K, V>): KTable<K, V> {
    const name = this.checkName('table()', opts?.name, true)!;
    const raw = sourceDecoder(opts);
    const src = this.add({ kind: 'source', name: `${name}-source`, parents: [], sources: new Map([[topic, raw]]), detail: `key ${raw.keyName}, value ${raw.valueName}`, create: P.passProc });
    this.addStore(name, 'kv', `table of ${topic}`);
    const id = this.add({ kind: 'table-source', name, parents: [src], stores: [name], create: P.toTableProc(name) });
    return new KTable<K, V>(this, id, name);
  }

  /** Checks and freezes the topology. */
  build(): Topology {
    return compileTopology(this.appId, this.nodes, this.stores, this.internalTopics, [...this.sideOutputs]);
  }
}

function isTable(x: unknown): x is KTable<unknown, unknown> {
  return !!x && typeof x === 'object' && (x as { isTable?: unknown }).isTable === true;
}

function sourceDecoder<K, V>(opts: SourceOptions<K, V>): RawSource & { keyName: string; valueName: string } {
  const ks = (opts.key ?? Serdes.string()) as Serde<unknown>;
  const vs = (opts.value ?? Serdes.json()) as Serde<unknown>;
  const ts = opts.timestamp as ((v: unknown, k: unknown, t: number) => number) | undefined;
  return {
    keyName: ks.name,
    valueName: vs.name,
    decode: (k, v) => ({ key: ks.deserialize(k), value: vs.deserialize(v) }),
    timestamp: ts ? (k, v, t) => ts(v, k, t) : (_k, _v, t) => t,
  };
}

export class KStream<K, V> {
  constructor(
    /** @internal */ readonly builder: StreamsBuilder,
    /** @internal */ readonly node: number,
    /** @internal */ readonly keyChanged: boolean,
  ) {}

  private next<K2, V2>(kind: NodeKind, opts: Named | undefined, create: GraphNode['create'], keyChanged = this.keyChanged, detail?: string): KStream<K2, V2> {
    const name = this.builder.checkName(`${kind}()`, opts?.name, false);
    const id = this.builder.add({ kind, name, parents: [this.node], create, ...(detail ? { detail } : {}) });
    return new KStream<K2, V2>(this.builder, id, keyChanged);
  }

  filter(predicate: (key: K, value: V) => boolean, opts?: Named): KStream<K, V> {
    return this.next('filter', opts, P.filterProc(predicate as AnyFn as (k: unknown, v: unknown) => boolean, false));
  }

  filterNot(predicate: (key: K, value: V) => boolean, opts?: Named): KStream<K, V> {
    return this.next('filter', opts, P.filterProc(predicate as AnyFn as (k: unknown, v: unknown) => boolean, true));
  }

  /** New key and value (repartitions before the next key-based operator). */
  map<K2, V2>(mapper: (key: K, value: V) => [K2, V2], opts?: Named): KStream<K2, V2> {
    return this.next('map', opts, P.mapProc(mapper as AnyFn as (k: unknown, v: unknown) => [unknown, unknown]), true);
  }

  mapValues<V2>(mapper: (value: V, key: K) => V2, opts?: Named): KStream<K, V2> {
    return this.next('map-values', opts, P.mapValuesProc(mapper as AnyFn as (v: unknown, k: unknown) => unknown));
  }

  flatMap<K2, V2>(mapper: (key: K, value: V) => Iterable<[K2, V2]>, opts?: Named): KStream<K2, V2> {
    return this.next('flat-map', opts, P.flatMapProc(mapper as AnyFn as (k: unknown, v: unknown) => Iterable<[unknown, unknown]>), true);
  }

  flatMapValues<V2>(mapper: (value: V, key: K) => Iterable<V2>, opts?: Named): KStream<K, V2> {
    return this.next('flat-map', opts, P.flatMapValuesProc(mapper as AnyFn as (v: unknown, k: unknown) => Iterable<unknown>));
  }

  /** New key, same value (repartitions before the next key-based operator). */
  selectKey<K2>(mapper: (key: K, value: V) => K2, opts?: Named): KStream<K2, V> {
    return this.next('select-key', opts, P.selectKeyProc(mapper as AnyFn as (k: unknown, v: unknown) => unknown), true);
  }

  peek(action: (key: K, value: V) => void, opts?: Named): KStream<K, V> {
    return this.next('peek', opts, P.peekProc(action as AnyFn as (k: unknown, v: unknown) => void));
  }

  /** One stream per predicate; a record goes to the first whose predicate holds (else it is dropped). */
  branch(...predicates: Array<(key: K, value: V) => boolean>): Array<KStream<K, V>> {
    if (predicates.length === 0) throw new StreamsError('TOPOLOGY_INVALID', 'branch() needs at least one predicate');
    const id = this.builder.add({ kind: 'branch', parents: [this.node], create: P.branchProc(predicates as Array<(k: unknown, v: unknown) => boolean>) });
    return predicates.map((_, i) => {
      const child = this.builder.add({ kind: 'filter', name: `${this.builder.nodes[id]!.name}-${i}`, parents: [id], create: P.passProc });
      return new KStream<K, V>(this.builder, child, this.keyChanged);
    });
  }

  merge(other: KStream<K, V>, opts?: Named): KStream<K, V> {
    const name = this.builder.checkName('merge()', opts?.name, false);
    const id = this.builder.add({ kind: 'merge', name, parents: [this.node, other.node], create: P.passProc });
    return new KStream<K, V>(this.builder, id, this.keyChanged || other.keyChanged);
  }

  /** Writes to a topic (or a topic chosen per record). */
  to(topic: string | ((key: K, value: V) => string), opts: SinkOptions<K, V> = {}): void {
    const name = this.builder.checkName('to()', opts.name, false);
    const send = {
      ...(opts.key ? { keySerde: opts.key as Serde<unknown> } : {}),
      ...(opts.value ? { valueSerde: opts.value as Serde<unknown> } : {}),
    };
    if (typeof topic === 'string') this.builder.add({ kind: 'sink', name, parents: [this.node], sinks: [topic], create: P.sinkProc(topic, send) });
    else this.builder.add({ kind: 'sink', name, parents: [this.node], detail: 'topic chosen per record', create: P.dynamicSinkProc(topic as (k: unknown, v: unknown) => string, send) });
  }

  /** Repartitions through `<app>-<name>-repartition` now (automatic before key-based operators). */
  repartition(opts: StatefulNamed & { partitions?: number }): KStream<K, V> {
    const name = this.builder.checkName('repartition()', opts?.name, true)!;
    return this.through(name, opts.partitions, true);
  }

  /** @internal */
  through(name: string, partitions?: number, force = false): KStream<K, V> {
    if (!this.keyChanged && !force) return this;
    const topic = this.builder.internalTopic(name, 'repartition', partitions);
    this.builder.add({ kind: 'internal-sink', name: `${name}-repartition-sink`, parents: [this.node], sinks: [topic], create: P.sinkProc(topic, { internal: true }) });
    const src = this.builder.internalSource(topic, `${name}-repartition-source`);
    return new KStream<K, V>(this.builder, src, false);
  }

  groupByKey(opts?: Named): KGroupedStream<K, V> {
    const name = opts?.name ? this.builder.checkName('groupByKey()', opts.name, false) : undefined;
    return new KGroupedStream<K, V>(this, name);
  }

  /** Groups by a new key: always repartitions through `<app>-<name>-repartition`. */
  groupBy<K2>(selector: (key: K, value: V) => K2, opts: StatefulNamed): KGroupedStream<K2, V> {
    const name = this.builder.checkName('groupBy()', opts?.name, true)!;
    const keyed = this.selectKey(selector, { name: `${name}-select-key` });
    return new KGroupedStream<K2, V>(keyed, name);
  }

  /** The latest value per key as a table kept in store `name`. */
  toTable(opts: StatefulNamed): KTable<K, V> {
    const name = this.builder.checkName('toTable()', opts?.name, true)!;
    const src = this.through(name);
    this.builder.addStore(name, 'kv', 'latest value per key');
    const id = this.builder.add({ kind: 'to-table', name, parents: [src.node], stores: [name], create: P.toTableProc(name) });
    return new KTable<K, V>(this.builder, id, name);
  }

  /** Inner join: with another stream (records at most `window` apart) or with a table (its current row). */
  join<V2, R>(other: KStream<K, V2>, joiner: (left: V, right: V2, key: K) => R, window: JoinWindows, opts: JoinOptions): KStream<K, R>;
  join<V2, R>(table: KTable<K, V2>, joiner: (value: V, row: V2, key: K) => R, opts: JoinOptions): KStream<K, R>;
  join(other: KStream<K, unknown> | KTable<K, unknown>, joiner: AnyFn, a: JoinWindows | JoinOptions, b?: JoinOptions): KStream<K, unknown> {
    return this.joinAny('inner', other, joiner, a, b);
  }

  /** Left join: every left record appears, with null when nothing matched (emitted once its window passed). */
  leftJoin<V2, R>(other: KStream<K, V2>, joiner: (left: V, right: V2 | null, key: K) => R, window: JoinWindows, opts: JoinOptions): KStream<K, R>;
  leftJoin<V2, R>(table: KTable<K, V2>, joiner: (value: V, row: V2 | null, key: K) => R, opts: JoinOptions): KStream<K, R>;
  leftJoin(other: KStream<K, unknown> | KTable<K, unknown>, joiner: AnyFn, a: JoinWindows | JoinOptions, b?: JoinOptions): KStream<K, unknown> {
    return this.joinAny('left', other, joiner, a, b);
  }

  /** Outer join of two streams: unmatched records of either side appear with null for the other. */
  outerJoin<V2, R>(other: KStream<K, V2>, joiner: (left: V | null, right: V2 | null, key: K) => R, window: JoinWindows, opts: JoinOptions): KStream<K, R> {
    return this.joinAny('outer', other, joiner as AnyFn, window, opts) as KStream<K, R>;
  }

  private joinAny(kind: JoinKind, other: KStream<K, unknown> | KTable<K, unknown>, joiner: AnyFn, a: JoinWindows | JoinOptions, b?: JoinOptions): KStream<K, unknown> {
    const j = joiner as unknown as (x: unknown, y: unknown, k: unknown) => unknown;
    if (isTable(other)) {
      const opts = a as JoinOptions;
      const name = this.builder.checkName(`stream–table ${kind} join`, opts?.name, true)!;
      if (kind === 'outer') throw new StreamsError('TOPOLOGY_INVALID', `${name}: a stream–table join is inner or left`);
      const store = other.requireStore(`${name} (stream–table join)`);
      const left = this.through(name);
      const id = this.builder.add({
        kind: 'stream-table-join',
        name,
        parents: [left.node],
        stores: [store],
        detail: `${kind} join with table ${store}`,
        create: streamTableJoinProc({ kind, tableStore: store, joiner: j, streamNode: left.node }),
      });
      return new KStream(this.builder, id, false);
    }
    if (!a || typeof a !== 'object' || !('spec' in a) || !('before' in (a as JoinWindows).spec)) throw new StreamsError('TOPOLOGY_INVALID', 'a stream–stream join needs JoinWindows.of(ms) as third argument');
    const opts = b!;
    const name = this.builder.checkName(`stream–stream ${kind} join`, opts?.name, true)!;
    if (other.node === this.node) throw new StreamsError('TOPOLOGY_INVALID', `${name}: a stream cannot be joined with itself directly; derive one side (e.g. with mapValues) first`);
    const left = this.through(`${name}-left`);
    const right = other.through(`${name}-right`);
    const leftStore = `${name}-left-buffer`;
    const rightStore = `${name}-right-buffer`;
    this.builder.addStore(leftStore, 'windowed', 'left records awaiting matches');
    this.builder.addStore(rightStore, 'windowed', 'right records awaiting matches');
    const lateTopic = opts.lateTopic ?? `${this.builder.appId}-${name}-late`;
    this.builder.sideOutputs.add(lateTopic);
    const w = (a as JoinWindows).spec;
    const id = this.builder.add({
      kind: 'stream-stream-join',
      name,
      parents: [left.node, right.node],
      stores: [leftStore, rightStore],
      sinks: [lateTopic],
      detail: `${kind} join, window -${w.before}/+${w.after} ms, grace ${w.grace} ms`,
      create: streamStreamJoinProc({ kind, before: w.before, after: w.after, grace: w.grace, leftStore, rightStore, leftNode: left.node, lateTopic, joiner: j }),
    });
    return new KStream(this.builder, id, false);
  }
}

export class KGroupedStream<K, V> {
  constructor(
    private readonly stream: KStream<K, V>,
    private readonly repartitionName: string | undefined,
  ) {}

  private source(opName: string): KStream<K, V> {
    return this.stream.through(this.repartitionName ?? opName);
  }

  private aggNode<A>(opName: string, what: string, init: () => A, agg: (k: K, v: V, a: A) => A, opts: StoreOptions<A>): KTable<K, A> {
    const b = this.stream.builder;
    const name = b.checkName(`${opName}()`, opts?.name, true)!;
    const src = this.source(name);
    b.addStore(name, 'kv', what, opts.valueSerde as Serde<unknown> | undefined);
    const id = b.add({ kind: 'aggregate', name, parents: [src.node], stores: [name], detail: what, create: P.aggregateProc(name, init, agg as P.Aggregator) });
    return new KTable<K, A>(b, id, name);
  }

  count(opts: StoreOptions<number>): KTable<K, number> {
    return this.aggNode<number>('count', 'count per key', () => 0, (_k, _v, a) => a + 1, opts);
  }

  reduce(reducer: (agg: V, value: V) => V, opts: StoreOptions<V>): KTable<K, V> {
    const NONE = Symbol('none');
    return this.aggNode<V>('reduce', 'reduce per key', () => NONE as unknown as V, (_k, v, a) => ((a as unknown) === NONE ? v : reducer(a, v)), opts);
  }

  aggregate<A>(initializer: () => A, aggregator: (key: K, value: V, agg: A) => A, opts: StoreOptions<A>): KTable<K, A> {
    return this.aggNode<A>('aggregate', 'aggregate per key', initializer, aggregator, opts);
  }

  windowedBy(windows: TimeWindows | SlidingWindows): TimeWindowedKStream<K, V>;
  windowedBy(windows: SessionWindows): SessionWindowedKStream<K, V>;
  windowedBy(windows: TimeWindows | SlidingWindows | SessionWindows): TimeWindowedKStream<K, V> | SessionWindowedKStream<K, V> {
    // (Kinds are compared by value: an app module loaded separately has its own copies of these classes.)
    if (windows.spec.kind === 'session') return new SessionWindowedKStream<K, V>(this.stream.builder, (n) => this.source(n), windows as SessionWindows);
    return new TimeWindowedKStream<K, V>(this.stream.builder, (n) => this.source(n), windows as TimeWindows | SlidingWindows);
  }
}

export class TimeWindowedKStream<K, V> {
  constructor(
    private readonly builder: StreamsBuilder,
    private readonly source: (name: string) => KStream<K, V>,
    private readonly windows: TimeWindows | SlidingWindows,
  ) {}

  count(opts: WindowedAggOptions<number>): KTable<Windowed<K>, number> {
    return this.aggregate(() => 0, (_k, _v, a) => a + 1, opts);
  }

  reduce(reducer: (agg: V, value: V) => V, opts: WindowedAggOptions<V>): KTable<Windowed<K>, V> {
    const NONE = null as unknown as V;
    return this.aggregate<V>(() => NONE, (_k, v, a) => (a === null ? v : reducer(a, v)), opts);
  }

  aggregate<A>(initializer: () => A, aggregator: (key: K, value: V, agg: A) => A, opts: WindowedAggOptions<A>): KTable<Windowed<K>, A> {
    const b = this.builder;
    const name = b.checkName('windowed aggregation', opts?.name, true)!;
    const src = this.source(name);
    const spec = this.windows.spec;
    const emit = opts.emit ?? 'update';
    const lateTopic = opts.lateTopic ?? `${b.appId}-${name}-late`;
    b.sideOutputs.add(lateTopic);
    const base = { store: name, emit, lateTopic, init: initializer as () => unknown, agg: aggregator as P.Aggregator };
    const describe = spec.kind === 'hopping' ? `hopping ${spec.size}/${spec.advance} ms` : `${spec.kind} ${spec.size} ms`;
    b.addStore(name, 'windowed', `${describe} windows`, opts.valueSerde as Serde<unknown> | undefined);
    let id: number;
    if (spec.kind === 'sliding') {
      const bufferStore = `${name}-records`;
      b.addStore(bufferStore, 'windowed', 'records of open sliding windows');
      id = b.add({ kind: 'sliding-aggregate', name, parents: [src.node], stores: [name, bufferStore], sinks: [lateTopic], detail: `${describe}, grace ${spec.grace} ms, emit ${emit}`, create: slidingWindowAggProc(spec, { ...base, bufferStore }) });
    } else {
      id = b.add({ kind: 'windowed-aggregate', name, parents: [src.node], stores: [name], sinks: [lateTopic], detail: `${describe}, grace ${spec.grace} ms, emit ${emit}`, create: timeWindowAggProc(spec, base) });
    }
    return new KTable<Windowed<K>, A>(b, id, name);
  }
}

export class SessionWindowedKStream<K, V> {
  constructor(
    private readonly builder: StreamsBuilder,
    private readonly source: (name: string) => KStream<K, V>,
    private readonly windows: SessionWindows,
  ) {}

  count(opts: WindowedAggOptions<number>): KTable<Windowed<K>, number> {
    return this.aggregate(() => 0, (_k, _v, a) => a + 1, (_k, a, b) => a + b, opts);
  }

  reduce(reducer: (agg: V, value: V) => V, opts: WindowedAggOptions<V>): KTable<Windowed<K>, V> {
    return this.aggregate<V>(() => null as unknown as V, (_k, v, a) => (a === null ? v : reducer(a, v)), (_k, a, b) => reducer(a, b), opts);
  }

  /** `merger` combines two sessions' aggregates when a record bridges them. */
  aggregate<A>(initializer: () => A, aggregator: (key: K, value: V, agg: A) => A, merger: (key: K, a: A, b: A) => A, opts: WindowedAggOptions<A>): KTable<Windowed<K>, A> {
    const b = this.builder;
    const name = b.checkName('session aggregation', opts?.name, true)!;
    const src = this.source(name);
    const spec = this.windows.spec;
    const emit = opts.emit ?? 'update';
    const lateTopic = opts.lateTopic ?? `${b.appId}-${name}-late`;
    b.sideOutputs.add(lateTopic);
    b.addStore(name, 'windowed', `sessions, gap ${spec.gap} ms`, opts.valueSerde as Serde<unknown> | undefined);
    const id = b.add({
      kind: 'session-aggregate',
      name,
      parents: [src.node],
      stores: [name],
      sinks: [lateTopic],
      detail: `session gap ${spec.gap} ms, grace ${spec.grace} ms, emit ${emit}`,
      create: sessionAggProc(spec, { store: name, emit, lateTopic, init: initializer as () => unknown, agg: aggregator as P.Aggregator, merge: merger as (k: unknown, a: unknown, b: unknown) => unknown }),
    });
    return new KTable<Windowed<K>, A>(b, id, name);
  }
}

export class KTable<K, V> {
  /** @internal */ readonly isTable = true;
  constructor(
    /** @internal */ readonly builder: StreamsBuilder,
    /** @internal */ readonly node: number,
    /** The queryable store holding this table, or null when it is computed on the fly. */
    readonly storeName: string | null,
  ) {}

  /** @internal */
  requireStore(what: string): string {
    if (!this.storeName) {
      throw new StreamsError('TOPOLOGY_INVALID', `${what} needs a materialized table: give the table operator { name, materialized: true } (or join a table read with builder.table)`);
    }
    return this.storeName;
  }

  private derive<V2>(kind: NodeKind, opts: MaterializeOptions | undefined, make: (store: string | null) => GraphNode['create']): KTable<K, V2> {
    const b = this.builder;
    const name = b.checkName(`table ${kind}()`, opts?.name, !!opts?.materialized);
    const store = opts?.materialized ? name! : null;
    if (store) b.addStore(store, 'kv', `table ${kind}`);
    const id = b.add({ kind, name, parents: [this.node], stores: store ? [store] : [], create: make(store) });
    return new KTable<K, V2>(b, id, store);
  }

  filter(predicate: (key: K, value: V) => boolean, opts?: MaterializeOptions): KTable<K, V> {
    return this.derive('table-filter', opts, (s) => P.tableFilterProc(predicate as AnyFn as (k: unknown, v: unknown) => boolean, false, s));
  }

  filterNot(predicate: (key: K, value: V) => boolean, opts?: MaterializeOptions): KTable<K, V> {
    return this.derive('table-filter', opts, (s) => P.tableFilterProc(predicate as AnyFn as (k: unknown, v: unknown) => boolean, true, s));
  }

  mapValues<V2>(mapper: (value: V, key: K) => V2, opts?: MaterializeOptions): KTable<K, V2> {
    return this.derive('table-map-values', opts, (s) => P.tableMapValuesProc(mapper as AnyFn as (v: unknown, k: unknown) => unknown, s));
  }

  /** The table's changes as a stream: each update's new value (null for a deleted row). */
  toStream<K2 = K>(keyMapper?: (key: K, value: V | null) => K2, opts?: Named): KStream<K2, V | null> {
    const name = this.builder.checkName('toStream()', opts?.name, false);
    const id = this.builder.add({ kind: 'to-stream', name, parents: [this.node], create: P.toStreamProc(keyMapper as ((k: unknown, v: unknown) => unknown) | undefined) });
    return new KStream<K2, V | null>(this.builder, id, !!keyMapper);
  }

  join<V2, R>(other: KTable<K, V2>, joiner: (left: V, right: V2, key: K) => R, opts: StatefulNamed): KTable<K, R> {
    return this.tableJoin('inner', other, joiner as AnyFn, opts);
  }

  leftJoin<V2, R>(other: KTable<K, V2>, joiner: (left: V, right: V2 | null, key: K) => R, opts: StatefulNamed): KTable<K, R> {
    return this.tableJoin('left', other, joiner as AnyFn, opts);
  }

  outerJoin<V2, R>(other: KTable<K, V2>, joiner: (left: V | null, right: V2 | null, key: K) => R, opts: StatefulNamed): KTable<K, R> {
    return this.tableJoin('outer', other, joiner as AnyFn, opts);
  }

  private tableJoin<R>(kind: JoinKind, other: KTable<K, unknown>, joiner: AnyFn, opts: StatefulNamed): KTable<K, R> {
    const b = this.builder;
    const name = b.checkName(`table–table ${kind} join`, opts?.name, true)!;
    const leftStore = this.requireStore(`${name} (table–table join, left side)`);
    const rightStore = other.requireStore(`${name} (table–table join, right side)`);
    b.addStore(name, 'kv', `${kind} join of ${leftStore} and ${rightStore}`);
    const id = b.add({
      kind: 'table-table-join',
      name,
      parents: [this.node, other.node],
      stores: [leftStore, rightStore, name],
      detail: `${kind} join`,
      create: tableTableJoinProc({ kind, leftStore, rightStore, resultStore: name, leftNode: this.node, joiner: joiner as unknown as (l: unknown, r: unknown, k: unknown) => unknown }),
    });
    return new KTable<K, R>(b, id, name);
  }

  /** Joins each row with the row of `other` whose key is `foreignKey(value)` (inner). */
  joinOnForeignKey<FK, V2, R>(other: KTable<FK, V2>, foreignKey: (value: V) => FK | null, joiner: (left: V, right: V2) => R, opts: StatefulNamed): KTable<K, R> {
    return this.fkJoin('inner', other, foreignKey as AnyFn, joiner as AnyFn, opts);
  }

  /** Like `joinOnForeignKey`, keeping rows without a match (right side null). */
  leftJoinOnForeignKey<FK, V2, R>(other: KTable<FK, V2>, foreignKey: (value: V) => FK | null, joiner: (left: V, right: V2 | null) => R, opts: StatefulNamed): KTable<K, R> {
    return this.fkJoin('left', other, foreignKey as AnyFn, joiner as AnyFn, opts);
  }

  private fkJoin<R>(kind: 'inner' | 'left', other: KTable<unknown, unknown>, fkFn: AnyFn, joinerFn: AnyFn, opts: StatefulNamed): KTable<K, R> {
    const b = this.builder;
    const name = b.checkName(`foreign-key ${kind} join`, opts?.name, true)!;
    const leftStore = this.requireStore(`${name} (foreign-key join, left side)`);
    const rightStore = other.requireStore(`${name} (foreign-key join, right side)`);
    const fk = fkFn as unknown as (v: unknown) => unknown;
    const joiner = joinerFn as unknown as (l: unknown, r: unknown) => unknown;
    const subTopic = b.internalTopic(name, 'fk-subscription');
    const respTopic = b.internalTopic(name, 'fk-response');
    const subStore = `${name}-subscriptions`;
    b.addStore(name, 'kv', `foreign-key ${kind} join of ${leftStore} with ${rightStore}`);
    b.addStore(subStore, 'windowed', 'left keys subscribed per foreign key');
    const leftNode = b.add({ kind: 'fk-join', name: `${name}-subscribe`, parents: [this.node], stores: [name], sinks: [subTopic], create: fkLeftProc({ kind, fk, subscriptionTopic: subTopic, resultStore: name, joiner }) });
    const subSrc = b.internalSource(subTopic, `${name}-fk-subscription-source`);
    b.add({ kind: 'fk-join', name: `${name}-respond`, parents: [subSrc, other.node], stores: [subStore, rightStore], sinks: [respTopic], create: fkRightProc({ subscriptionStore: subStore, rightStore, responseTopic: respTopic, subscriptionNode: subSrc }) });
    const respSrc = b.internalSource(respTopic, `${name}-fk-response-source`);
    const respNode = b.add({ kind: 'fk-join', name: `${name}-resolve`, parents: [respSrc], stores: [leftStore, name], create: fkResponseProc({ kind, fk, leftStore, resultStore: name, joiner }) });
    const id = b.add({ kind: 'merge', name, parents: [leftNode, respNode], stores: [], create: P.passProc, detail: `foreign-key ${kind} join` });
    return new KTable<K, R>(b, id, name);
  }
}

export type { Windowed, EmitMode, StoreKind };

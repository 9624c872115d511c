/**
 * The lake sink: drains topics into a lake table, exactly once.
 *
 * Design note. The sink reads every partition of its topics with `assign()` at the positions
 * stored in the manifest (not at group offsets: the group commit only shows lag), checks each
 * JSON record against the table schema (declared, or inferred and evolved as new fields appear)
 * — a byte-level scan (`schema/json-scan.ts`) accepts the records that certainly fit, JSON.parse
 * and the row checker decide the others and give the reasons —, derives its partition (`dt`/`hr` from the record timestamp or a JSON field)
 * and appends its raw bytes to that partition's buffer of JSON lines. A roll — a buffer at
 * `rollBytes`, or `rollMs` after the first buffered record, or `stop()` — turns every buffer
 * into one Parquet file (DuckDB `read_json` with the exact column types → COPY), and commits
 * all the files together with the next position of every partition in one manifest
 * transaction. After a crash the sink resumes from the positions of its last commit, so every
 * record of the drained offsets is in the table exactly once; records read after that commit
 * are simply read again. The previous positions travel with each commit and are checked, so a
 * second instance of the same sink cannot commit over the first (LAKE_COMMIT_CONFLICT).
 *
 * Records that do not fit (not JSON, not an object, a field of the wrong type, a missing
 * NOT NULL field, an unusable event time, a field DuckDB still rejects) go to the dead-letter
 * topic with the reason in the `lake.error` header, acknowledged before the commit that moves
 * past them (at least once: a crash may dead-letter a record twice, never lose it).
 *
 * States: idle → running (poll, buffer, roll) → stopping (final roll) → stopped; a failure of a
 * commit stops the loop in `failed` with the error in `status()` and the buffered records
 * uncommitted (they are read again after a restart).
 */
import * as nodeFs from 'node:fs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Bus, BusConsumer, BusProducer, ConsumedRecord, ProducerRecord } from '../../bus/types.ts';
import { counter } from '../../monitor/metrics.ts';
import { LakeError } from '../errors.ts';
import type { Lake, WrittenFile } from '../lake.ts';
import { formatTableName, parseTableName } from '../names.ts';
import { EventTimePartitioner, timePartitioning } from '../partition.ts';
import { CHUNK_BYTES, ChunkPool, PART_COLUMN, RollBuffer } from './roll-buffer.ts';
import { unifyTypes } from '../schema/column-types.ts';
import { normalizeColumns } from '../schema/evolution.ts';
import { FastRowScanner, MISS, NO_EVENT_TIME } from '../schema/json-scan.ts';
import { compileRowChecker, inferColumns, parseIsoTimestamp, typeOfJsonValue, type RowCheckResult } from '../schema/json-rows.ts';
import type { Column, ColumnSpec, PartitionField, PartitionValues, TableInfo, TableName, TableRef } from '../types.ts';

export interface LakeSinkOptions {
  bus: Bus;
  lake: Lake;
  /** Stable name: positions are stored under it (default: the table's `zone.name`). */
  name?: string;
  topics: string[];
  /** `raw.orders` (or a name plus `zone`). */
  table: TableName;
  zone?: TableRef['zone'];
  /** Event-time partitioning: `hour` → dt=YYYY-MM-DD/hr=HH (default), `day` → dt=…, `none`. */
  partitionBy?: 'hour' | 'day' | 'none';
  /** Event time: the record timestamp (default) or a JSON field holding an ISO-8601 string or epoch milliseconds. */
  eventTime?: 'timestamp' | { field: string };
  /** Declared columns (records with other fields are dead-lettered), or `infer` (default: columns follow the records). */
  schema?: 'infer' | ColumnSpec[];
  /** Roll when a partition's buffer reaches this many bytes of JSON (default 64 MiB). */
  rollBytes?: number;
  /** Roll this long after the first buffered record (default 60 s). */
  rollMs?: number;
  /** Dead-letter topic (default `<name>.dlq`). */
  deadLetterTopic?: string;
  /** Add `_topic`, `_partition`, `_offset`, `_timestamp` columns (default false). */
  metadataColumns?: boolean;
  /** Records per poll (default 10 000). */
  maxPollRecords?: number;
  logger?: Logger;
  registry?: Registry;
}

export interface LakeSinkStatus {
  name: string;
  table: string;
  state: 'idle' | 'running' | 'stopping' | 'stopped' | 'failed';
  /** Records committed to the table since start. */
  committedRecords: number;
  deadLettered: number;
  commits: number;
  bufferedRecords: number;
  lastSnapshot: number | null;
  lastError: string | null;
  positions: Array<{ topic: string; partition: number; offset: number }>;
}

const METADATA_COLUMNS: ColumnSpec[] = [
  { name: '_topic', type: 'string', nullable: false },
  { name: '_partition', type: 'int32', nullable: false },
  { name: '_offset', type: 'int64', nullable: false },
  { name: '_timestamp', type: 'timestamp', nullable: false },
];

export class LakeSink {
  readonly name: string;
  readonly ref: TableRef;
  readonly deadLetterTopic: string;
  private readonly o: LakeSinkOptions;
  private readonly rollBytes: number;
  private readonly rollMs: number;
  private readonly metadata: boolean;
  private readonly infer: boolean;
  private columns: Column[] = [];
  private checker: (row: unknown) => RowCheckResult = () => ({ problem: null, extra: null });
  /** Accepts records that certainly fit without JSON.parse (see schema/json-scan.ts). */
  private fast = new FastRowScanner([], null);
  private partitionSpec: PartitionField[] = [];
  private partitioner: EventTimePartitioner | null = null;
  private tableExists = false;
  /** Inferred columns may still widen (nothing was handed to a commit yet). */
  private schemaFrozen = false;
  private consumer: BusConsumer | null = null;
  private producer: BusProducer | null = null;
  private next = new Map<string, { topic: string; partition: number; offset: number }>();
  private committed = new Map<string, number | null>();
  /** Positions of the last batch handed to a commit (committed, or in flight). */
  private handedOff = new Map<string, number | null>();
  private inflight: Promise<void> | null = null;
  private failure: unknown = null;
  /** Line chunks reused from roll to roll (see RollBuffer). */
  private readonly pool: ChunkPool;
  private roller: RollBuffer;
  private bufferedRecords = 0;
  private firstBufferedAt = 0;
  private pendingDlq: Array<Promise<unknown>> = [];
  private loop: Promise<void> | null = null;
  private stopping = false;
  private state: LakeSinkStatus['state'] = 'idle';
  private lastError: string | null = null;
  private lastSnapshot: number | null = null;
  private committedRecords = 0;
  private deadLettered = 0;
  private commits = 0;
  private readonly metrics;

  constructor(opts: LakeSinkOptions) {
    this.o = opts;
    const ref = typeof opts.table === 'string' && !opts.table.includes('.') ? parseTableName(`${opts.zone ?? 'raw'}.${opts.table}`) : parseTableName(opts.table);
    this.ref = ref;
    this.name = opts.name ?? formatTableName(ref);
    if (!Array.isArray(opts.topics) || opts.topics.length === 0) throw new LakeError('LAKE_SINK_ERROR', `sink ${this.name}: topics must list at least one topic`);
    this.deadLetterTopic = opts.deadLetterTopic ?? `${this.name}.dlq`;
    if (opts.topics.includes(this.deadLetterTopic)) throw new LakeError('LAKE_SINK_ERROR', `sink ${this.name}: the dead-letter topic cannot be one of its input topics`);
    this.rollBytes = opts.rollBytes ?? 64 * 1024 * 1024;
    this.rollMs = opts.rollMs ?? 60_000;
    // Keeps at most what the next roll can fill (2 × rollBytes, see isFull), and never more than 256 MiB.
    const chunkBytes = Math.min(CHUNK_BYTES, Math.max(64 * 1024, this.rollBytes));
    this.pool = new ChunkPool(chunkBytes, Math.min(Math.ceil(256 * 1024 ** 2 / chunkBytes), 2 * Math.ceil(this.rollBytes / chunkBytes) + 2));
    this.roller = new RollBuffer(this.pool);
    this.metadata = opts.metadataColumns ?? false;
    this.infer = opts.schema === undefined || opts.schema === 'infer';
    this.metrics = opts.registry
      ? {
          records: counter(opts.registry, { name: 'tributary_lake_sink_records_total', help: 'Records the lake sink committed to its table.', labelNames: ['sink'] }),
          dlq: counter(opts.registry, { name: 'tributary_lake_sink_dead_lettered_total', help: 'Records the lake sink sent to its dead-letter topic.', labelNames: ['sink'] }),
          commits: counter(opts.registry, { name: 'tributary_lake_sink_commits_total', help: 'Lake snapshots committed by the sink.', labelNames: ['sink'] }),
        }
      : null;
  }

  status(): LakeSinkStatus {
    return {
      name: this.name,
      table: formatTableName(this.ref),
      state: this.state,
      committedRecords: this.committedRecords,
      deadLettered: this.deadLettered,
      commits: this.commits,
      bufferedRecords: this.bufferedRecords,
      lastSnapshot: this.lastSnapshot,
      lastError: this.lastError,
      positions: [...this.next.values()].map((p) => ({ ...p })),
    };
  }

  /** Prepares the table and positions and starts draining in the background. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new LakeError('LAKE_SINK_ERROR', `sink ${this.name} was already started`);
    const { lake, bus } = this.o;
    // A previous run of this sink may have crashed between writing files and committing them.
    await lake.abandonPending(`sink:${this.name}`);
    let table: TableInfo | null = null;
    try {
      table = await lake.table(this.ref);
    } catch (err) {
      if (!(err instanceof LakeError && err.code === 'LAKE_TABLE_UNKNOWN')) throw err;
    }
    const eventField = typeof this.o.eventTime === 'object' ? this.o.eventTime.field : undefined;
    if (table) {
      this.tableExists = true;
      this.schemaFrozen = true;
      this.columns = table.schema.columns;
      this.partitionSpec = table.partitionBy;
    } else {
      const declared = this.infer ? [] : normalizeColumns(this.o.schema as ColumnSpec[]);
      const cols = [...(this.metadata ? METADATA_COLUMNS : []), ...declared];
      this.columns = cols.map((c, i) => ({ id: i + 1, name: c.name, type: c.type, nullable: c.nullable ?? true }));
      const srcCol = eventField ? this.columns.find((c) => c.name === eventField && c.type === 'timestamp') : undefined;
      this.partitionSpec = timePartitioning(this.o.partitionBy ?? 'hour', srcCol?.name);
      if (!this.infer) {
        await lake.createTable(this.ref, { columns: cols, partitionBy: this.partitionSpec, ifNotExists: true, writer: `sink:${this.name}` });
        this.tableExists = true;
      }
    }
    this.partitioner = new EventTimePartitioner(this.partitionSpec);
    this.recompile();

    const stored = await lake.sinkPositions(this.name);
    for (const s of stored) {
      this.committed.set(key(s.topic, s.partition), s.offset);
      this.handedOff.set(key(s.topic, s.partition), s.offset);
    }
    const assignments: Array<{ topic: string; partition: number; offset?: number }> = [];
    for (const topic of this.o.topics) {
      const d = await bus.admin().describeTopic(topic);
      for (const p of d.partitions) {
        const k = key(topic, p.partition);
        const at = this.committed.get(k);
        if (!this.committed.has(k)) this.committed.set(k, null);
        if (!this.handedOff.has(k)) this.handedOff.set(k, null);
        this.next.set(k, { topic, partition: p.partition, offset: at ?? p.logStartOffset });
        assignments.push({ topic, partition: p.partition, offset: at ?? p.logStartOffset });
      }
    }
    const admin = bus.admin();
    try {
      await admin.describeTopic(this.deadLetterTopic);
    } catch {
      try {
        await admin.createTopic(this.deadLetterTopic, {});
      } catch (err) {
        if ((err as { code?: string }).code !== 'TOPIC_EXISTS') throw err;
      }
    }
    this.consumer = bus.consumer({ groupId: `lake-sink.${this.name}`, fromBeginning: true, maxPollRecords: this.o.maxPollRecords ?? 10_000 });
    this.consumer.assign(assignments);
    this.producer = bus.producer({ lingerMs: 5 });
    this.state = 'running';
    this.loop = this.run().catch((err) => {
      this.state = 'failed';
      this.lastError = (err as Error).message;
      this.o.logger?.error({ err, sink: this.name }, 'lake sink stopped on an error; it resumes from its last commit after a restart');
    });
  }

  /** Commits what is buffered and stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.loop) await this.loop;
    if (this.state === 'running' || this.state === 'stopping') this.state = 'stopped';
    await this.consumer?.close().catch(() => {});
    await this.producer?.close().catch(() => {});
    this.pool.clear();
  }

  /** Rolls now (tests, and `flush` before a planned shutdown). Resolves after the commit. */
  private rollRequested: (() => void)[] = [];
  flush(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    return new Promise((resolve) => this.rollRequested.push(resolve));
  }

  private async run(): Promise<void> {
    const consumer = this.consumer!;
    while (!this.stopping) {
      const waiting = this.firstBufferedAt > 0;
      const timeout = waiting ? Math.max(1, Math.min(200, this.firstBufferedAt + this.rollMs - Date.now())) : 200;
      const records = await consumer.poll({ timeoutMs: timeout });
      if (records.length > 0) await this.accept(records);
      const due = this.firstBufferedAt > 0 && Date.now() - this.firstBufferedAt >= this.rollMs;
      const full = this.isFull();
      if (due || full || this.rollRequested.length > 0) await this.roll();
      if (this.rollRequested.length > 0) {
        await this.settle();
        for (const r of this.rollRequested.splice(0)) r();
      }
    }
    this.state = 'stopping';
    await this.roll();
    await this.settle();
  }

  /** A partition's file reached rollBytes, or everything buffered reached twice that (bounds memory). */
  private isFull(): boolean {
    return this.roller.largest >= this.rollBytes || this.roller.bytes >= 2 * this.rollBytes;
  }

  private recompile(): void {
    // Metadata columns are added by the sink, not looked for in the records.
    const own = this.metadata ? new Set(METADATA_COLUMNS.map((m) => m.name)) : new Set<string>();
    const fields = this.columns.filter((c) => !own.has(c.name));
    this.checker = compileRowChecker(fields, { rejectExtra: !this.infer });
    this.fast = new FastRowScanner(fields, typeof this.o.eventTime === 'object' ? this.o.eventTime.field : null);
  }

  private async accept(records: ConsumedRecord[]): Promise<void> {
    if (this.infer && this.columns.length === (this.metadata ? METADATA_COLUMNS.length : 0)) this.inferFrom(records);
    let pos: { topic: string; partition: number; offset: number } | undefined;
    for (const r of records) {
      // Polls return runs of one partition: look its position up once per run.
      if (!pos || pos.partition !== r.partition || pos.topic !== r.topic) {
        const k = key(r.topic, r.partition);
        pos = this.next.get(k);
        if (!pos) this.next.set(k, (pos = { topic: r.topic, partition: r.partition, offset: r.offset }));
      }
      if (r.offset < pos.offset) continue; // read again after a seek: already handled
      this.handle(r);
      pos.offset = r.offset + 1;
      // The roll clock starts with the first record since the last commit, buffered or dead-lettered.
      if (this.firstBufferedAt === 0) this.firstBufferedAt = Date.now();
      // A full file rolls at once, at a record boundary: the positions cover exactly what was buffered.
      if (this.isFull()) await this.roll();
    }
  }

  /** Initial columns from the first batch, so a field holding integers and fractions starts as float64. */
  private inferFrom(records: ConsumedRecord[]): void {
    const rows: unknown[] = [];
    for (const r of records.slice(0, 1000)) {
      if (!r.value) continue;
      try {
        rows.push(JSON.parse(r.value.toString('utf8')));
      } catch {
        // dead-lettered when handled
      }
    }
    const reserved = new Set(METADATA_COLUMNS.map((m) => m.name));
    const inferred = inferColumns(rows).filter((c) => !(this.metadata && reserved.has(c.name)));
    if (inferred.length === 0) return;
    this.addColumns(inferred);
  }

  private addColumns(specs: ColumnSpec[]): void {
    const partitionNames = this.partitionSpec.map((p) => p.name);
    const fresh = specs.filter((s) => !this.columns.some((c) => c.name.toLowerCase() === s.name.toLowerCase()) && !partitionNames.includes(s.name));
    if (fresh.length === 0) return;
    let id = this.columns.reduce((m, c) => Math.max(m, c.id), 0) + 1;
    for (const s of fresh) this.columns.push({ id: id++, name: s.name, type: s.type, nullable: true });
    if (!this.tableExists) {
      const eventField = typeof this.o.eventTime === 'object' ? this.o.eventTime.field : undefined;
      const srcCol = eventField ? this.columns.find((c) => c.name === eventField && c.type === 'timestamp') : undefined;
      this.partitionSpec = timePartitioning(this.o.partitionBy ?? 'hour', srcCol?.name);
      this.partitioner = new EventTimePartitioner(this.partitionSpec);
    }
    this.recompile();
  }

  private handle(r: ConsumedRecord): void {
    const value = r.value;
    if (value === null) return this.deadLetter(r, 'the record has no value (null)');
    const fastTime = this.fast.check(value);
    if (fastTime !== MISS) {
      // Fits for certain (the full path below would accept it with the same event time).
      let part: { values: PartitionValues; key: string };
      try {
        part = this.partitioner!.valuesFor(fastTime === NO_EVENT_TIME ? r.timestamp : fastTime);
      } catch (err) {
        return this.deadLetter(r, (err as Error).message);
      }
      this.roller.add(r, value, part.key, part.values, this.metadata ? this.metaFields(r) : undefined, this.fast.breaks);
      this.bufferedRecords++;
      return;
    }
    let row: unknown;
    const text = value.toString('utf8');
    try {
      row = JSON.parse(text);
    } catch (err) {
      return this.deadLetter(r, `not valid JSON: ${(err as Error).message}`);
    }
    let check = this.checker(row);
    if (check.problem === null && check.extra && this.infer) {
      const obj = row as Record<string, unknown>;
      const add: ColumnSpec[] = [];
      for (const f of check.extra) {
        const t = typeOfJsonValue(obj[f]);
        if (t === null) continue; // only null so far: the column appears when a value does
        add.push({ name: f, type: t, nullable: true });
      }
      if (add.length) {
        try {
          this.addColumns(add);
        } catch (err) {
          return this.deadLetter(r, (err as Error).message);
        }
        check = this.checker(row);
      }
    }
    if (check.problem !== null && this.infer && !this.schemaFrozen && this.widenProvisional(row)) check = this.checker(row);
    if (check.problem !== null) return this.deadLetter(r, check.problem);
    if (this.metadata && this.hasReserved(row as Record<string, unknown>)) {
      return this.deadLetter(r, 'fields _topic, _partition, _offset and _timestamp are reserved for the sink\'s metadata columns');
    }

    let time = r.timestamp;
    if (typeof this.o.eventTime === 'object') {
      const v = (row as Record<string, unknown>)[this.o.eventTime.field];
      time = typeof v === 'number' ? v : typeof v === 'string' ? parseIsoTimestamp(v) : NaN;
      if (!Number.isFinite(time)) {
        return this.deadLetter(r, `event time field ${JSON.stringify(this.o.eventTime.field)}: expected an ISO-8601 timestamp or epoch milliseconds, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
      }
    }
    let part: { values: PartitionValues; key: string };
    try {
      part = this.partitioner!.valuesFor(time);
    } catch (err) {
      return this.deadLetter(r, (err as Error).message);
    }
    this.roller.add(r, value, part.key, part.values, this.metadata ? this.metaFields(r) : undefined, text.indexOf('\n') >= 0 || text.indexOf('\r') >= 0);
    this.bufferedRecords++;
  }

  /** Reads one record again from its topic (a record the Parquet writer rejected, to dead-letter it whole). */
  private async reread(src: { topic: string; partition: number; offset: number }): Promise<ConsumedRecord> {
    const c = this.o.bus.consumer();
    try {
      c.assign([{ topic: src.topic, partition: src.partition, offset: src.offset }]);
      for (let i = 0; i < 50; i++) {
        const found = (await c.poll({ timeoutMs: 100, maxRecords: 1 })).find((r) => r.offset === src.offset);
        if (found) return found;
      }
      throw new LakeError('LAKE_SINK_ERROR', `sink ${this.name}: cannot read ${src.topic}[${src.partition}]@${src.offset} again to dead-letter it`);
    } finally {
      await c.close();
    }
  }

  /**
   * Until the first files are handed to a commit, inferred columns are provisional: a value of
   * another type widens the column as inference would have (an integer column seeing 2.5
   * becomes float64), instead of dead-lettering the record. Returns whether anything changed.
   */
  private widenProvisional(row: unknown): boolean {
    if (typeof row !== 'object' || row === null || Array.isArray(row)) return false;
    let changed = false;
    for (const c of this.columns) {
      const v = (row as Record<string, unknown>)[c.name];
      const t = typeOfJsonValue(v);
      if (t === null || t === c.type) continue;
      const u = unifyTypes(c.type, t) ?? 'json';
      if (u !== c.type) {
        c.type = u;
        changed = true;
      }
    }
    if (changed) this.recompile();
    return changed;
  }

  private hasReserved(row: Record<string, unknown>): boolean {
    return '_topic' in row || '_partition' in row || '_offset' in row || '_timestamp' in row;
  }

  private metaFields(r: ConsumedRecord): string {
    return `"_topic":${JSON.stringify(r.topic)},"_partition":${r.partition},"_offset":${r.offset},"_timestamp":"${new Date(r.timestamp).toISOString()}"`;
  }

  private deadLetter(r: ConsumedRecord, reason: string, into: Array<Promise<unknown>> = this.pendingDlq): void {
    this.deadLettered++;
    this.metrics?.dlq.inc({ sink: this.name });
    const rec: ProducerRecord = {
      key: r.key,
      value: r.value,
      timestamp: r.timestamp,
      headers: [
        ...r.headers,
        { key: 'lake.error', value: Buffer.from(reason) },
        { key: 'lake.sink', value: Buffer.from(this.name) },
        { key: 'lake.source.topic', value: Buffer.from(r.topic) },
        { key: 'lake.source.partition', value: Buffer.from(String(r.partition)) },
        { key: 'lake.source.offset', value: Buffer.from(String(r.offset)) },
      ],
    };
    const sent = this.producer!.send(this.deadLetterTopic, [rec]);
    sent.catch(() => {}); // awaited (and its error raised) by the commit that moves past it
    into.push(sent);
  }

  /**
   * Hands every buffer and the current positions to a background commit and returns as soon as
   * the previous one finished, so reading the next batch overlaps writing this one. Commits
   * stay in order, each naming the positions the one before it committed as `previous`.
   */
  private async roll(): Promise<void> {
    const positions = [...this.next.values()].filter((p) => this.handedOff.get(key(p.topic, p.partition)) !== p.offset).map((p) => ({ ...p }));
    await this.settle(); // one commit in flight at most (bounds memory; earlier failures surface here)
    if (this.bufferedRecords === 0 && positions.length === 0 && this.pendingDlq.length === 0) return;
    const batch: Batch = {
      roll: this.roller,
      records: this.bufferedRecords,
      positions,
      previous: positions.map((p) => ({ topic: p.topic, partition: p.partition, offset: this.handedOff.get(key(p.topic, p.partition)) ?? null })),
      dlq: this.pendingDlq.splice(0),
      columns: this.columns.map((c) => ({ ...c })),
      partitionBy: this.partitionSpec,
      dirs: [],
    };
    for (const p of positions) this.handedOff.set(key(p.topic, p.partition), p.offset);
    if (this.roller.size > 0) this.schemaFrozen = true;
    this.roller = new RollBuffer(this.pool);
    this.bufferedRecords = 0;
    this.firstBufferedAt = 0;
    // A failure is kept and raised by the next roll or by stop(): nothing after it may commit.
    const job: Promise<void> = this.commitBatch(batch).then(
      () => {
        if (this.inflight === job) this.inflight = null;
      },
      (err: unknown) => {
        this.failure ??= err;
        if (this.inflight === job) this.inflight = null;
      },
    );
    this.inflight = job;
  }

  /** Waits for the commit in flight, rethrowing a failure of any earlier one. */
  private async settle(): Promise<void> {
    if (this.inflight) await this.inflight;
    if (this.failure !== null) throw this.failure;
  }

  /** Writes a batch's buffers as Parquet files and commits them with its positions (see the design note). */
  private async commitBatch(b: Batch): Promise<void> {
    const files: WrittenFile[] = [];
    try {
      if (b.roll.size > 0) files.push(...(await this.writeRoll(b, 0, b.roll.size)));
      // Dead letters must be acknowledged before the commit moves past their records.
      await Promise.all(b.dlq);
      const sink = { sink: this.name, positions: b.positions, previous: b.previous };
      if (files.length > 0) {
        const res = await this.o.lake.commitWritten(this.ref, files, {
          kind: 'append',
          writer: `sink:${this.name}`,
          createTable: { partitionBy: b.partitionBy },
          evolveSchema: this.infer,
          sink,
        });
        this.tableExists = true;
        this.lastSnapshot = res.snapshot.id;
        this.commits++;
        this.metrics?.commits.inc({ sink: this.name });
        const rows = res.files.reduce((s, f) => s + f.rows, 0);
        this.committedRecords += rows;
        this.metrics?.records.inc({ sink: this.name }, rows);
      } else if (b.positions.length > 0) {
        await this.o.lake.manifest.saveSinkPositions(sink);
      }
      for (const p of b.positions) this.committed.set(key(p.topic, p.partition), p.offset);
      this.lastError = null;
      // Group offsets only make the lag visible (`tributary groups describe`); the manifest is the truth.
      if (b.positions.length) await this.consumer!.commit(b.positions).catch(() => {});
      this.o.logger?.debug({ sink: this.name, records: b.records, files: files.length }, 'lake sink committed');
    } finally {
      for (const f of files) nodeFs.rmSync(f.localPath, { force: true });
      for (const d of b.dirs) nodeFs.rmSync(d, { recursive: true, force: true });
      b.roll.release();
    }
  }

  /**
   * Records `from`…`to` of a roll as one Parquet file per partition (one DuckDB COPY). Records
   * DuckDB rejects although they passed the sink's checks are isolated by halving and
   * dead-lettered with DuckDB's message.
   */
  private async writeRoll(batch: Batch, from: number, to: number): Promise<WrittenFile[]> {
    const lake = this.o.lake;
    const roll = batch.roll;
    const json = lake.stagingPath('json');
    const outDir = lake.stagingPath('dir');
    try {
      // Off the event loop (libuv's pool): the next roll is being read meanwhile.
      await nodeFs.promises.writeFile(json, roll.slices(from, to));
      const written = await lake.duck.writeJsonLinesPartitioned(json, batch.columns, PART_COLUMN, outDir);
      const total = written.reduce((s, w) => s + w.info.rows, 0);
      if (total !== to - from) throw new LakeError('LAKE_SINK_ERROR', `sink ${this.name}: DuckDB wrote ${total} rows for ${to - from} records`);
      // Files move out of outDir into the store; the folder itself is removed below.
      return written.map((w) => ({ localPath: w.path, partition: roll.partitions[w.part]!.values, info: w.info }));
    } catch (err) {
      nodeFs.rmSync(outDir, { recursive: true, force: true });
      if (!(err instanceof LakeError && err.code === 'LAKE_DATA_INVALID')) throw err;
      if (to - from === 1) {
        this.deadLetter(await this.reread(roll.source(from)), `rejected by the Parquet writer: ${err.message}`, batch.dlq);
        return [];
      }
      const half = from + Math.ceil((to - from) / 2);
      return [...(await this.writeRoll(batch, from, half)), ...(await this.writeRoll(batch, half, to))];
    } finally {
      nodeFs.rmSync(json, { force: true });
      batch.dirs.push(outDir);
    }
  }
}

interface Batch {
  roll: RollBuffer;
  /** Staging folders DuckDB wrote into (removed after the commit). */
  dirs: string[];
  records: number;
  positions: Array<{ topic: string; partition: number; offset: number }>;
  previous: Array<{ topic: string; partition: number; offset: number | null }>;
  dlq: Array<Promise<unknown>>;
  columns: Column[];
  partitionBy: PartitionField[];
}

function key(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

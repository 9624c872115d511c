/**
 * The connector plugin contract: what a user implements to bring data in (a source) or take it
 * out (a sink). Small on purpose — a source is `poll()`, a sink is `put()` — and the runtime
 * does the rest: tasks and parallelism, offsets, status, pause/resume/restart, converters,
 * transforms, retries with backoff, dead-letter topics, governance checks and metrics.
 *
 * @example A source that counts (a whole connector):
 * ```ts
 * import { defineSourcePlugin } from 'tributary';
 * import { z } from 'zod';
 * export const counter = defineSourcePlugin({
 *   name: 'counter',
 *   description: 'emits 0, 1, 2, … to one topic',
 *   fields: { topic: z.string(), intervalMs: z.number().default(1000) },
 *   createTask: (config, _task, ctx) => {
 *     let n = Number(ctx.offset({ counter: 'n' })?.['next'] ?? 0);
 *     return {
 *       async poll(signal) {
 *         await ctx.sleep(config.intervalMs, signal);
 *         const value = n++;
 *         return [{ topic: config.topic, value, sourcePartition: { counter: 'n' }, sourceOffset: { next: n } }];
 *       },
 *       async stop() {},
 *     };
 *   },
 * });
 * // tributary.config.ts: connect: { plugins: [counter], connectors: { c: { connector: 'counter', topic: 'numbers' } } }
 * ```
 */
import type { Logger } from 'pino';
import type { z } from 'zod';
import type { TopicPartition, TopicPartitionOffset } from '../bus/types.ts';
import type { Problem } from '../util/schema.ts';

/** A field type of a record schema (Kafka Connect's primitive types, plus logical ones). */
export type FieldType =
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float32'
  | 'float64'
  | 'decimal'
  | 'boolean'
  | 'string'
  | 'bytes'
  | 'timestamp'
  | 'date'
  | 'time'
  | 'json'
  | 'array'
  | 'uuid';

export interface FieldSchema {
  field: string;
  type: FieldType;
  optional?: boolean;
}

/**
 * The schema of a record value or key: a struct of typed fields. Travels inside the value when
 * the JSON converter has `schemas: true` (`{ "schema": …, "payload": … }`, as Kafka Connect's
 * JsonConverter does), so a sink can create its table with the right column types.
 */
export interface RecordSchema {
  type: 'struct';
  name?: string;
  fields: FieldSchema[];
}

export interface ConnectHeader {
  key: string;
  value: string | Buffer | null;
}

/** What transforms see and change: one record on its way in or out. */
export interface ConnectRecord {
  topic: string;
  /** Explicit partition; otherwise the key decides. */
  partition?: number;
  key: unknown;
  value: unknown;
  keySchema?: RecordSchema;
  valueSchema?: RecordSchema;
  headers: ConnectHeader[];
  /** Milliseconds since the epoch. */
  timestamp?: number;
}

export type JsonObject = Record<string, unknown>;

/** Result of producing one source record, handed to `SourceRecord.onResult`. */
export type RecordResult =
  | { ok: true; topic: string; partition: number; offset: number }
  | { ok: false; error: Error };

/** A record a source task returns from `poll()`. */
export interface SourceRecord {
  /** Defaults to the connector's `topic` setting when it has one. */
  topic?: string;
  partition?: number;
  key?: unknown;
  value: unknown;
  keySchema?: RecordSchema;
  valueSchema?: RecordSchema;
  headers?: ConnectHeader[];
  timestamp?: number;
  /** Where the record came from (a file, a table, a replication slot); offsets are kept per source partition. */
  sourcePartition?: JsonObject;
  /** How far this record got in its source partition; stored once the record is durable. */
  sourceOffset?: JsonObject;
  /**
   * Per-record outcome, for sources that answer someone (HTTP ingest). A record with this
   * callback never fails its task: its error goes to the callback instead.
   */
  onResult?: (result: RecordResult) => void;
  /** Only moves the source offset (e.g. the end of a transaction); nothing is written. */
  offsetOnly?: boolean;
  /** The source could not read this record (malformed input): handled per `errors.tolerance`, `value` is the raw input. */
  error?: Error;
}

/** A record a sink task receives in `put()`. */
export interface SinkRecord extends ConnectRecord {
  partition: number;
  offset: number;
  timestamp: number;
  /** The bytes as they are in the log. */
  raw: { key: Buffer | null; value: Buffer | null };
}

export interface TaskContextBase {
  connector: string;
  taskId: number;
  logger: Logger;
  /** Aborted when the task must stop. */
  signal: AbortSignal;
  /** Resolves after `ms`, or early when `signal` (default: the task's) aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface SourceTaskContext extends TaskContextBase {
  /** The last stored offset of a source partition (null when none). */
  offset(sourcePartition: JsonObject): JsonObject | null;
  /** Every stored offset of this connector. */
  offsets(): Array<{ partition: JsonObject; offset: JsonObject }>;
}

export interface SinkTaskContext extends TaskContextBase {
  /**
   * Reports a record the sink could not write (Kafka Connect's ErrantRecordReporter): it goes to
   * the dead-letter topic with `errors.tolerance: all`, and fails the task with `none`.
   */
  report(record: SinkRecord, error: Error): Promise<void>;
}

export interface SourceTask {
  start?(): Promise<void>;
  /**
   * Returns the next records, waiting while there are none (return `[]` after a while so the
   * runtime can check for pause and stop; return promptly when `signal` aborts).
   * Throw a RetriableError for conditions that may pass; anything else fails the task.
   */
  poll(signal: AbortSignal): Promise<SourceRecord[]>;
  /** Called after the offsets of every record polled so far are stored (e.g. confirm a replication position). */
  commit?(): Promise<void>;
  stop(): Promise<void>;
}

export interface SinkTask {
  start?(): Promise<void>;
  /**
   * Newly assigned partitions. A sink that keeps its offsets with the data (exactly once)
   * returns where to resume; the runtime seeks there.
   */
  open?(partitions: TopicPartition[]): Promise<TopicPartitionOffset[]>;
  /** Writes the records (or buffers them until `flush`). Throw a RetriableError to have the same records put again after a backoff. */
  put(records: SinkRecord[]): Promise<void>;
  /** Makes everything put so far durable; the runtime commits the consumer offsets after it. */
  flush?(): Promise<void>;
  /** Partitions taken away by a rebalance. */
  close?(partitions: TopicPartition[]): Promise<void>;
  stop(): Promise<void>;
}

type Shape = Record<string, z.ZodType>;

interface PluginBase<S extends Shape> {
  /** The name configs use (`connector: 'file-source'`). */
  name: string;
  description: string;
  /** The plugin's own settings (zod schemas); merged with the common settings into one strict object. */
  fields: S;
  /** Extra checks after the schema (e.g. can the database be reached); each problem names a field. */
  validate?(config: z.output<z.ZodObject<S>> & CommonConfig): Promise<Problem[]> | Problem[];
  /** Splits the work into at most `maxTasks` task settings (default: one task, `{}`). */
  taskConfigs?(config: z.output<z.ZodObject<S>> & CommonConfig, maxTasks: number): JsonObject[] | Promise<JsonObject[]>;
  /** Called by `DELETE /connectors/<n>/offsets` for offsets the plugin keeps outside the runtime. */
  resetOffsets?(config: z.output<z.ZodObject<S>> & CommonConfig, ctx: { connector: string; logger: Logger }): Promise<void>;
  /** Offsets the plugin keeps outside the runtime (exactly-once sinks), shown by `GET …/offsets`. */
  listOffsets?(config: z.output<z.ZodObject<S>> & CommonConfig, ctx: { connector: string }): Promise<Array<{ partition: JsonObject; offset: JsonObject }>>;
}

export interface SourcePlugin<S extends Shape = Shape> extends PluginBase<S> {
  kind: 'source';
  /**
   * Exactly once: every record carries its source offset in a header, and on start the runtime
   * recovers offsets that were written to the log but not yet stored (sources with replayable,
   * deterministic positions such as files).
   */
  exactlyOnce?: boolean;
  createTask(config: z.output<z.ZodObject<S>> & CommonConfig, task: JsonObject, ctx: SourceTaskContext): SourceTask;
}

export interface SinkPlugin<S extends Shape = Shape> extends PluginBase<S> {
  kind: 'sink';
  createTask(config: z.output<z.ZodObject<S>> & CommonConfig, task: JsonObject, ctx: SinkTaskContext): SinkTask;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ConnectorPlugin = SourcePlugin<any> | SinkPlugin<any>;

/** Declares a source plugin with its settings typed from `fields`. */
export function defineSourcePlugin<S extends Shape>(plugin: Omit<SourcePlugin<S>, 'kind'>): SourcePlugin<S> {
  return { ...plugin, kind: 'source' };
}

/** Declares a sink plugin with its settings typed from `fields`. */
export function defineSinkPlugin<S extends Shape>(plugin: Omit<SinkPlugin<S>, 'kind'>): SinkPlugin<S> {
  return { ...plugin, kind: 'sink' };
}

export type ConverterKind = 'json' | 'string' | 'bytes';
export type Tolerance = 'none' | 'all';

/** Error handling of a connector (Kafka Connect's `errors.*`). */
export interface ErrorsConfig {
  /** `none`: the first bad record fails the task. `all`: bad records are skipped (and dead-lettered when a topic is set). */
  tolerance: Tolerance;
  /** How long retriable failures are retried, with exponential backoff; -1 = forever (default). */
  retryTimeoutMs: number;
  /** Longest wait between two retries (default 30 s). */
  retryMaxDelayMs: number;
  /** Dead-letter topic for records that failed (with the error, connector and original offset in headers). */
  deadLetterTopic: string | null;
  /** Log every failed record (default true). */
  log: boolean;
}

/** Settings every connector has, whatever its plugin. */
export interface CommonConfig {
  connector: string;
  tasksMax: number;
  keyConverter: ConverterKind;
  valueConverter: ConverterKind;
  /** JSON converter: wrap/unwrap values as `{ schema, payload }` (Kafka Connect's `schemas.enable`). */
  schemas: boolean;
  transforms: TransformSpec[];
  errors: ErrorsConfig;
  /** The principal the connector acts as in governance checks (default `Service:connect`). */
  principal: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

/** A user function transform: return the record (changed or not), or null to drop it. */
export type TransformFn = (record: ConnectRecord) => ConnectRecord | null | Promise<ConnectRecord | null>;

export type TransformSpec = Record<string, unknown> & { type: string };

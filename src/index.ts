/**
 * Tributary's public API: everything a project or a script imports from `tributary`.
 *
 * @example
 * ```ts
 * // tributary.config.ts
 * import { defineConfig } from 'tributary';
 * export default defineConfig({ topics: { orders: { partitions: 6 } } });
 * ```
 */
export { defineConfig, loadConfig, validateConfig, resolveConfig, ConfigSourceError } from './config/index.ts';
export type {
  TributaryConfig,
  ResolvedConfig,
  BrokerConfig,
  ListenerConfig,
  GeneratorConfig,
  ShopGeneratorConfig,
  LogLevel,
  ConfigOverrides,
  ConfigProblem,
} from './config/index.ts';

export { TributaryError, ConfigError, isTributaryError } from './util/errors.ts';
export { LogError, type LogErrorCode } from './log/errors.ts';
export { HttpError } from './server/errors.ts';

export { DEFAULT_TOPIC_CONFIG } from './log/types.ts';
export type {
  TopicConfig,
  TopicDescription,
  PartitionDescription,
  CleanupPolicy,
  AckPolicy,
  RecordHeader,
  LogRecord,
} from './log/types.ts';
export { openEmbeddedBus, EmbeddedBus, type EmbeddedBusOptions } from './bus/index.ts';
export type {
  Bus,
  BusAdmin,
  BusProducer,
  BusConsumer,
  BusShareConsumer,
  ProducerRecord,
  RecordMetadata,
  ConsumedRecord,
  ConsumerOptions,
  ProducerOptions,
  ShareConsumerOptions,
  SharedRecord,
  GroupDescription,
  GroupSummary,
  TopicPartition,
  TopicPartitionOffset,
} from './bus/types.ts';

export { createMetricsRegistry, counter, gauge, histogram } from './monitor/metrics.ts';
export { createHttpApp, startHttpServer, type HttpApp, type HttpAppOptions, type RunningHttpServer } from './server/index.ts';
export { startTributary, type TributaryInstance } from './server/instance.ts';
export { ShopGenerator, ShopEventStream, shopTopics, createGenerator } from './connect/generator/index.ts';
export {
  defineSourcePlugin,
  defineSinkPlugin,
  ConnectRuntime,
  ConnectError,
  RetriableError,
  compileTransforms,
  type SourcePlugin,
  type SinkPlugin,
  type SourceTask,
  type SinkTask,
  type SourceRecord,
  type SinkRecord,
  type ConnectRecord,
  type ConnectConfig,
  type ConnectorDeclaration,
  type TransformFn,
} from './connect/index.ts';

export { defineStreamApp, runStreamApp, type StreamAppDefinition } from './streams/app.ts';
export {
  StreamsBuilder,
  KStream,
  KTable,
  TimeWindows,
  SlidingWindows,
  SessionWindows,
  JoinWindows,
  Serdes,
  StreamsError,
  TopologyTestDriver,
  type Serde,
  type Windowed,
  type Change,
} from './streams/index.ts';

export {
  defineDag,
  runDag,
  sensors,
  FlowError,
  DagLoadError,
  type Dag,
  type DagOptions,
  type DagNode,
  type TaskHandle,
  type TaskContext,
  type TaskOptions,
  type TriggerRule,
  type RunDagOptions,
  type RunDagResult,
  type TaskResult,
  type TaskState,
  type RunState,
  type LakeProbe,
} from './flow/index.ts';
export type { DatasetEventHook } from './flow/part.ts';
export type { TopicAccess, TopicRecord, SqlParams, SqlOptions, TaskModels } from './flow/define/types.ts';
export {
  openLake,
  Lake,
  LakeError,
  LakeSink,
  scanSql,
  type LakeOptions,
  type LakeErrorCode,
  type LakeSinkOptions,
  type TableInfo,
  type TableScan,
  type Snapshot,
  type DataFile,
  type ColumnSpec,
  type ColumnType,
  type PartitionField,
  type Zone,
} from './lake/index.ts';
export type { LakeConfig, LakeSinkConfig } from './lake/config.ts';

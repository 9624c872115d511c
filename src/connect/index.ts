/**
 * Connectors: getting data in and out (Kafka Connect's model). The runtime runs source and sink
 * plugins as tasks with offsets, status, pause/resume/restart, transforms, retries and
 * dead-letter topics; the built-ins are HTTP ingest, files (NDJSON/CSV), PostgreSQL (table copy,
 * CDC, exactly-once sink), webhooks and the shop generator.
 */
export * from './types.ts';
export { ConnectError, RetriableError, type ConnectErrorCode } from './errors.ts';
export { ConnectRuntime, type ConnectRuntimeOptions, type ConnectorStatus, type ConnectorInfo, type ConnectorState, type TargetState } from './runtime/runtime.ts';
export { checkConnectorConfig, parseConnectorConfig, COMMON_FIELDS, SINK_FIELDS } from './config.ts';
export { compileTransforms, validateTransforms, TransformChain, TRANSFORM_TYPES, type TransformConfig, type Predicate } from './transforms/index.ts';
export { createConverter, type Converter } from './runtime/converters.ts';
export { readDeadLetterHeaders, DLQ_HEADER_PREFIX } from './runtime/dead-letter.ts';
export { builtinPlugins, IngestRouter, fileSourcePlugin, fileSinkPlugin, generatorSourcePlugin, webhookSinkPlugin, postgresSourcePlugin, postgresSinkPlugin } from './plugins/index.ts';
export { createConnectPart } from './part.ts';
export type { ConnectConfig, ConnectorDeclaration } from './settings.ts';
export { createGenerator, ShopGenerator, type Generator } from './generator/index.ts';

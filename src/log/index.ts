/** The durable log: topics, partitions, segments, consumer groups and share groups. */
export { Log, type LogOptions } from './log.ts';
export * from './types.ts';
export { LogError, KafkaErrorCode } from './errors.ts';
export { createLogMetrics, noopLogMetrics, type LogMetrics } from './metrics.ts';
export { PartitionLog } from './partition/partition-log.ts';
export * as recordBatch from './batch/record-batch.ts';
export { Compression, registerCodec, type Codec } from './batch/compression.ts';
export { crc32c } from './batch/crc32c.ts';
export { topicConfigFromStrings, resolveTopicConfig, validateTopicName, kafkaTopicConfigNames, partialTopicConfigSchema } from './topic-config.ts';
export { GroupCoordinator, GroupErrorCode, type GroupState } from './groups/group-coordinator.ts';
export { OffsetStore, OFFSETS_TOPIC } from './groups/offset-store.ts';
export * as consumerProtocol from './groups/consumer-protocol.ts';
export { ShareCoordinator, SHARE_STATE_TOPIC, type ShareGroupConfig } from './share/share-coordinator.ts';
export type { FileSystem, FileHandle } from './fs/file-system.ts';
export { NodeFileSystem } from './fs/node-file-system.ts';

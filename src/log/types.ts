/** Public shapes of the log: topic configuration, records, descriptions. */

export type CleanupPolicy = 'delete' | 'compact' | 'compact,delete';
/**
 * `fsync`: an append is acknowledged only after the bytes are on disk (group commit).
 * `relaxed`: acknowledged once written to the page cache; flushed every `flushIntervalMs`.
 * Relaxed must be chosen explicitly per topic: a crash of the machine can lose acknowledged
 * records written in the last interval.
 */
export type AckPolicy = 'fsync' | 'relaxed';

export interface TopicConfig {
  partitions: number;
  /** Delete closed segments whose newest record is older than this; null keeps forever. */
  retentionMs: number | null;
  /** Delete oldest closed segments while a partition is larger than this; null = no limit. */
  retentionBytes: number | null;
  segmentBytes: number;
  /** Roll the active segment after this long even when not full; null = only by size. */
  segmentMs: number | null;
  /** Largest record batch accepted (Kafka's max.message.bytes). */
  maxRecordBytes: number;
  cleanupPolicy: CleanupPolicy;
  /** How long a tombstone (null value) survives compaction, so consumers can see the delete. */
  deleteRetentionMs: number;
  /** A record is not compacted until it is at least this old. */
  minCompactionLagMs: number;
  ackPolicy: AckPolicy;
  /** For `relaxed` topics: how often the background flusher fsyncs. */
  flushIntervalMs: number;
}

export const DEFAULT_TOPIC_CONFIG: TopicConfig = {
  partitions: 1,
  retentionMs: 7 * 24 * 3600 * 1000,
  retentionBytes: null,
  segmentBytes: 128 * 1024 * 1024,
  segmentMs: 7 * 24 * 3600 * 1000,
  maxRecordBytes: 1024 * 1024 + 12,
  cleanupPolicy: 'delete',
  deleteRetentionMs: 24 * 3600 * 1000,
  minCompactionLagMs: 0,
  ackPolicy: 'fsync',
  flushIntervalMs: 1000,
};

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

/** A record as a producer hands it to the log. */
export interface ProduceRecord {
  key?: Buffer | null;
  value: Buffer | null;
  headers?: RecordHeader[];
  /** Milliseconds since the epoch; defaults to the append time. */
  timestamp?: number;
}

/** A record as read back from the log. */
export interface LogRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface PartitionDescription {
  partition: number;
  logStartOffset: number;
  /** Next offset to be assigned. */
  logEndOffset: number;
  /** Offsets below this are durable and visible to consumers. */
  highWatermark: number;
  sizeBytes: number;
  segments: number;
}

export interface TopicDescription {
  name: string;
  internal: boolean;
  config: TopicConfig;
  partitions: PartitionDescription[];
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** Broker time at append (ms). */
  logAppendTime: number;
}

export interface ReadResult {
  /** Whole record batches (Kafka record batch v2 bytes), starting with the batch holding the requested offset. */
  batches: Buffer;
  highWatermark: number;
  logStartOffset: number;
}

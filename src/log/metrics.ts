/** The log's Prometheus metrics (no-ops when no registry is given). */
import { Counter, Histogram, type Registry } from 'prom-client';

export interface LogMetrics {
  appended(topic: string, records: number, bytes: number): void;
  read(topic: string, records: number, bytes: number): void;
  fsync(seconds: number): void;
  segmentsDeleted(topic: string, n: number): void;
  compacted(topic: string, recordsRemoved: number): void;
}

export const noopLogMetrics: LogMetrics = {
  appended() {},
  read() {},
  fsync() {},
  segmentsDeleted() {},
  compacted() {},
};

export function createLogMetrics(registry: Registry): LogMetrics {
  const appendedRecords = new Counter({
    name: 'tributary_log_appended_records_total',
    help: 'Records appended to the log',
    labelNames: ['topic'],
    registers: [registry],
  });
  const appendedBytes = new Counter({
    name: 'tributary_log_appended_bytes_total',
    help: 'Bytes of record batches appended to the log',
    labelNames: ['topic'],
    registers: [registry],
  });
  const readRecords = new Counter({
    name: 'tributary_log_read_records_total',
    help: 'Records read from the log by in-process consumers',
    labelNames: ['topic'],
    registers: [registry],
  });
  const readBytes = new Counter({
    name: 'tributary_log_read_bytes_total',
    help: 'Bytes of record batches read from the log',
    labelNames: ['topic'],
    registers: [registry],
  });
  const fsyncSeconds = new Histogram({
    name: 'tributary_log_fsync_duration_seconds',
    help: 'Duration of one group commit (fdatasync of the partition files, and the directory when needed)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const deletedSegments = new Counter({
    name: 'tributary_log_segments_deleted_total',
    help: 'Segments deleted by retention or DeleteRecords',
    labelNames: ['topic'],
    registers: [registry],
  });
  const compactedRecords = new Counter({
    name: 'tributary_log_compaction_removed_records_total',
    help: 'Records removed by log compaction',
    labelNames: ['topic'],
    registers: [registry],
  });
  return {
    appended(topic, records, bytes) {
      appendedRecords.inc({ topic }, records);
      appendedBytes.inc({ topic }, bytes);
    },
    read(topic, records, bytes) {
      readRecords.inc({ topic }, records);
      readBytes.inc({ topic }, bytes);
    },
    fsync(seconds) {
      fsyncSeconds.observe(seconds);
    },
    segmentsDeleted(topic, n) {
      deletedSegments.inc({ topic }, n);
    },
    compacted(topic, n) {
      compactedRecords.inc({ topic }, n);
    },
  };
}

import { TributaryError } from '../util/errors.ts';

/** Kafka protocol error codes used by the log; the Kafka server forwards them unchanged. */
export const KafkaErrorCode = {
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  MESSAGE_TOO_LARGE: 10,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_CONFIG: 40,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  INVALID_PRODUCER_EPOCH: 47,
  KAFKA_STORAGE_ERROR: 56,
  INVALID_RECORD: 87,
} as const;

export type LogErrorCode =
  | 'TOPIC_NAME_INVALID'
  | 'TOPIC_EXISTS'
  | 'TOPIC_UNKNOWN'
  | 'PARTITION_UNKNOWN'
  | 'PARTITIONS_INVALID'
  | 'TOPIC_CONFIG_INVALID'
  | 'RECORD_TOO_LARGE'
  | 'BATCH_INVALID'
  | 'OFFSET_OUT_OF_RANGE'
  | 'DATA_DIR_LOCKED'
  | 'DISK_FULL'
  | 'STORAGE_ERROR'
  | 'LOG_CLOSED'
  | 'OUT_OF_ORDER_SEQUENCE'
  | 'PRODUCER_FENCED';

const kafkaCodes: Record<LogErrorCode, number> = {
  TOPIC_NAME_INVALID: KafkaErrorCode.INVALID_TOPIC_EXCEPTION,
  TOPIC_EXISTS: KafkaErrorCode.TOPIC_ALREADY_EXISTS,
  TOPIC_UNKNOWN: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  PARTITION_UNKNOWN: KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  PARTITIONS_INVALID: KafkaErrorCode.INVALID_PARTITIONS,
  TOPIC_CONFIG_INVALID: KafkaErrorCode.INVALID_CONFIG,
  RECORD_TOO_LARGE: KafkaErrorCode.MESSAGE_TOO_LARGE,
  BATCH_INVALID: KafkaErrorCode.CORRUPT_MESSAGE,
  OFFSET_OUT_OF_RANGE: KafkaErrorCode.OFFSET_OUT_OF_RANGE,
  DATA_DIR_LOCKED: KafkaErrorCode.KAFKA_STORAGE_ERROR,
  DISK_FULL: KafkaErrorCode.KAFKA_STORAGE_ERROR,
  STORAGE_ERROR: KafkaErrorCode.KAFKA_STORAGE_ERROR,
  LOG_CLOSED: KafkaErrorCode.KAFKA_STORAGE_ERROR,
  OUT_OF_ORDER_SEQUENCE: KafkaErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  PRODUCER_FENCED: KafkaErrorCode.INVALID_PRODUCER_EPOCH,
};

const httpStatus: Partial<Record<LogErrorCode, number>> = {
  TOPIC_UNKNOWN: 404,
  PARTITION_UNKNOWN: 404,
  TOPIC_EXISTS: 409,
  RECORD_TOO_LARGE: 413,
  DISK_FULL: 507,
  STORAGE_ERROR: 500,
  LOG_CLOSED: 503,
  DATA_DIR_LOCKED: 409,
};

const retriable = new Set<LogErrorCode>(['DISK_FULL', 'LOG_CLOSED', 'STORAGE_ERROR']);

export class LogError extends TributaryError {
  declare readonly code: LogErrorCode;
  constructor(code: LogErrorCode, message: string, cause?: unknown) {
    super(code, message, {
      kafkaCode: kafkaCodes[code],
      retriable: retriable.has(code),
      httpStatus: httpStatus[code] ?? 400,
      cause,
    });
    this.name = 'LogError';
  }
}

/** Turns an I/O error from the file system into a LogError that names the file. */
export function storageError(err: unknown, what: string): LogError {
  const e = err as NodeJS.ErrnoException;
  if (e && (e.code === 'ENOSPC' || e.code === 'EDQUOT')) {
    return new LogError('DISK_FULL', `disk full while ${what}: free space on the data directory's disk, then retry`, err);
  }
  if (e instanceof LogError) return e;
  return new LogError('STORAGE_ERROR', `I/O error while ${what}: ${e?.message ?? String(err)}`, err);
}

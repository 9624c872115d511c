/**
 * Errors of the client side of the Kafka protocol: what the client library throws (its
 * `PLT_KFK_*` errors, nested in retry aggregates) becomes one of our typed errors. A Kafka error
 * code that means the same as a log condition becomes that LogError (unknown topic →
 * TOPIC_UNKNOWN, …), so code that handles the embedded bus's errors handles these unchanged;
 * the rest becomes a KafkaClientError that keeps the Kafka code.
 */
import { LogError, type LogErrorCode } from '../../log/errors.ts';
import { TributaryError } from '../../util/errors.ts';

export type KafkaClientErrorCode =
  /** No broker answered (connection refused, timeout, closed). */
  | 'BROKER_UNAVAILABLE'
  | 'AUTHENTICATION_FAILED'
  | 'NOT_AUTHORIZED'
  /** The cluster lacks a feature (API version, share groups, …). */
  | 'UNSUPPORTED'
  /** Any other error code a broker answered with (`kafkaCode` holds it). */
  | 'KAFKA_ERROR';

export class KafkaClientError extends TributaryError {
  declare readonly code: KafkaClientErrorCode;
  constructor(code: KafkaClientErrorCode, message: string, opts: { kafkaCode?: number; retriable?: boolean; cause?: unknown } = {}) {
    const httpStatus = code === 'BROKER_UNAVAILABLE' ? 503 : code === 'NOT_AUTHORIZED' ? 403 : code === 'AUTHENTICATION_FAILED' ? 401 : code === 'UNSUPPORTED' ? 501 : 502;
    super(code, message, { ...opts, httpStatus });
    this.name = 'KafkaClientError';
  }
}

/** Kafka protocol error codes the client side looks at. */
export const KafkaCode = {
  UNKNOWN_SERVER_ERROR: -1,
  NONE: 0,
  OFFSET_OUT_OF_RANGE: 1,
  CORRUPT_MESSAGE: 2,
  UNKNOWN_TOPIC_OR_PARTITION: 3,
  LEADER_NOT_AVAILABLE: 5,
  NOT_LEADER_OR_FOLLOWER: 6,
  REQUEST_TIMED_OUT: 7,
  MESSAGE_TOO_LARGE: 10,
  COORDINATOR_LOAD_IN_PROGRESS: 14,
  COORDINATOR_NOT_AVAILABLE: 15,
  NOT_COORDINATOR: 16,
  INVALID_TOPIC_EXCEPTION: 17,
  RECORD_LIST_TOO_LARGE: 18,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  INVALID_GROUP_ID: 24,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  TOPIC_AUTHORIZATION_FAILED: 29,
  GROUP_AUTHORIZATION_FAILED: 30,
  CLUSTER_AUTHORIZATION_FAILED: 31,
  UNSUPPORTED_SASL_MECHANISM: 33,
  UNSUPPORTED_VERSION: 35,
  TOPIC_ALREADY_EXISTS: 36,
  INVALID_PARTITIONS: 37,
  INVALID_REPLICATION_FACTOR: 38,
  INVALID_CONFIG: 40,
  NOT_CONTROLLER: 41,
  OUT_OF_ORDER_SEQUENCE_NUMBER: 45,
  INVALID_PRODUCER_EPOCH: 47,
  KAFKA_STORAGE_ERROR: 56,
  SASL_AUTHENTICATION_FAILED: 58,
  NON_EMPTY_GROUP: 68,
  GROUP_ID_NOT_FOUND: 69,
  FENCED_LEADER_EPOCH: 74,
  UNKNOWN_LEADER_EPOCH: 75,
  MEMBER_ID_REQUIRED: 79,
  FENCED_INSTANCE_ID: 82,
  INVALID_RECORD: 87,
  UNKNOWN_TOPIC_ID: 100,
} as const;

const asLogError: Record<number, LogErrorCode> = {
  [KafkaCode.OFFSET_OUT_OF_RANGE]: 'OFFSET_OUT_OF_RANGE',
  [KafkaCode.CORRUPT_MESSAGE]: 'BATCH_INVALID',
  [KafkaCode.INVALID_RECORD]: 'BATCH_INVALID',
  [KafkaCode.UNKNOWN_TOPIC_OR_PARTITION]: 'TOPIC_UNKNOWN',
  [KafkaCode.UNKNOWN_TOPIC_ID]: 'TOPIC_UNKNOWN',
  [KafkaCode.MESSAGE_TOO_LARGE]: 'RECORD_TOO_LARGE',
  [KafkaCode.RECORD_LIST_TOO_LARGE]: 'RECORD_TOO_LARGE',
  [KafkaCode.INVALID_TOPIC_EXCEPTION]: 'TOPIC_NAME_INVALID',
  [KafkaCode.TOPIC_ALREADY_EXISTS]: 'TOPIC_EXISTS',
  [KafkaCode.INVALID_PARTITIONS]: 'PARTITIONS_INVALID',
  [KafkaCode.INVALID_REPLICATION_FACTOR]: 'TOPIC_CONFIG_INVALID',
  [KafkaCode.INVALID_CONFIG]: 'TOPIC_CONFIG_INVALID',
  [KafkaCode.OUT_OF_ORDER_SEQUENCE_NUMBER]: 'OUT_OF_ORDER_SEQUENCE',
  [KafkaCode.INVALID_PRODUCER_EPOCH]: 'PRODUCER_FENCED',
  [KafkaCode.KAFKA_STORAGE_ERROR]: 'STORAGE_ERROR',
};

const authorization = new Set<number>([KafkaCode.TOPIC_AUTHORIZATION_FAILED, KafkaCode.GROUP_AUTHORIZATION_FAILED, KafkaCode.CLUSTER_AUTHORIZATION_FAILED, 53]);

/** Retriable per Kafka (the condition may clear by itself: leader moves, coordinator loads, …). */
const retriableCodes = new Set<number>([
  KafkaCode.LEADER_NOT_AVAILABLE,
  KafkaCode.NOT_LEADER_OR_FOLLOWER,
  KafkaCode.REQUEST_TIMED_OUT,
  KafkaCode.COORDINATOR_LOAD_IN_PROGRESS,
  KafkaCode.COORDINATOR_NOT_AVAILABLE,
  KafkaCode.NOT_COORDINATOR,
  KafkaCode.NOT_CONTROLLER,
  KafkaCode.REBALANCE_IN_PROGRESS,
  KafkaCode.KAFKA_STORAGE_ERROR,
  KafkaCode.FENCED_LEADER_EPOCH,
  KafkaCode.UNKNOWN_LEADER_EPOCH,
]);

interface LibraryError {
  code?: string;
  message?: string;
  apiCode?: number;
  apiId?: string;
  serverErrorMessage?: string | null;
  errors?: unknown[];
  cause?: unknown;
}

/** Depth-first walk of the library's error and the errors nested in it (retry aggregates, causes). */
function* nested(err: unknown, depth = 0): Generator<LibraryError> {
  if (!err || typeof err !== 'object' || depth > 8) return;
  const e = err as LibraryError;
  yield e;
  if (Array.isArray(e.errors)) for (const inner of e.errors) yield* nested(inner, depth + 1);
  if (e.cause) yield* nested(e.cause, depth + 1);
}

/** The Kafka error code inside a library error (the last one, when retries collected several). */
export function kafkaCodeOf(err: unknown): number | undefined {
  let found: number | undefined;
  for (const e of nested(err)) if (typeof e.apiCode === 'number' && e.apiCode !== 0) found = e.apiCode;
  return found;
}

function serverMessageOf(err: unknown): string | undefined {
  for (const e of nested(err)) if (typeof e.serverErrorMessage === 'string' && e.serverErrorMessage) return e.serverErrorMessage;
  return undefined;
}

function isNetworkError(err: unknown): boolean {
  for (const e of nested(err)) {
    if (e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT') return true;
    if (e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH' || e.code === 'ENOTFOUND' || e.code === 'EPIPE') return true;
  }
  return false;
}

function isAuthenticationError(err: unknown): boolean {
  for (const e of nested(err)) if (e.code === 'PLT_KFK_AUTHENTICATION') return true;
  return false;
}

/** The error for a Kafka error code (from a response we inspected ourselves). */
export function errorForKafkaCode(code: number, what: string, detail?: string | null): TributaryError {
  const suffix = detail ? `: ${detail}` : '';
  const logCode = asLogError[code];
  if (logCode) return new LogError(logCode, `${what} failed${suffix || ` (${describeLogCode(logCode)})`}`);
  if (authorization.has(code)) return new KafkaClientError('NOT_AUTHORIZED', `${what} was refused by the cluster's ACLs (Kafka error ${code})${suffix}: grant the principal the needed operation`, { kafkaCode: code });
  if (code === KafkaCode.SASL_AUTHENTICATION_FAILED || code === KafkaCode.UNSUPPORTED_SASL_MECHANISM) {
    return new KafkaClientError('AUTHENTICATION_FAILED', `${what}: SASL authentication failed (Kafka error ${code})${suffix}: check broker.external.sasl`, { kafkaCode: code });
  }
  if (code === KafkaCode.UNSUPPORTED_VERSION) return new KafkaClientError('UNSUPPORTED', `${what}: the cluster does not support a needed protocol version${suffix}`, { kafkaCode: code });
  return new KafkaClientError('KAFKA_ERROR', `${what} failed with Kafka error ${code}${suffix}`, { kafkaCode: code, retriable: retriableCodes.has(code) });
}

function describeLogCode(code: LogErrorCode): string {
  switch (code) {
    case 'TOPIC_UNKNOWN':
      return 'unknown topic or partition';
    case 'TOPIC_EXISTS':
      return 'the topic already exists';
    case 'RECORD_TOO_LARGE':
      return 'larger than the topic accepts (max.message.bytes)';
    default:
      return code.toLowerCase().replace(/_/g, ' ');
  }
}

/**
 * Turns anything the client library threw into a typed error. Typed errors pass through.
 * `what` says what was being done ("producing to orders").
 */
export function translateKafkaError(err: unknown, what: string): TributaryError {
  if (err instanceof TributaryError) return err;
  const code = kafkaCodeOf(err);
  if (code !== undefined) return errorForKafkaCode(code, what, serverMessageOf(err));
  const message = err instanceof Error ? err.message : String(err);
  if (isAuthenticationError(err)) return new KafkaClientError('AUTHENTICATION_FAILED', `${what}: authentication failed: ${message}: check broker.external.sasl`, { cause: err });
  if (isNetworkError(err)) {
    return new KafkaClientError('BROKER_UNAVAILABLE', `${what}: no broker of the external cluster answered (${innermostMessage(err)}): check broker.external.brokers and that the cluster is up`, { retriable: true, cause: err });
  }
  for (const e of nested(err)) {
    if (e.code === 'PLT_KFK_UNSUPPORTED_API' || e.code === 'PLT_KFK_UNSUPPORTED') return new KafkaClientError('UNSUPPORTED', `${what}: ${e.message ?? 'unsupported by the cluster'}`, { cause: err });
  }
  return new KafkaClientError('KAFKA_ERROR', `${what} failed: ${innermostMessage(err)}`, { cause: err });
}

function innermostMessage(err: unknown): string {
  let last: string | undefined;
  for (const e of nested(err)) if (e.message) last = e.message;
  return last ?? String(err);
}
